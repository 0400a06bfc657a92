//! `lazai-bench state`: the chain at growing state sizes. For each size, a one-validator chain
//! whose genesis state holds that many extra accounts (written into the data dir the way a node
//! initialises genesis: entries flat, the trie's nodes by hash) is started as a `lazai node`
//! process, and the benchmark measures its start-up time, its resident memory idle and after
//! the load, and finalized transfers per second for the same load at every size. Then, with
//! the node stopped, it commits blocks of `--changes` changed entries (half rewritten accounts,
//! half new) straight to the store as the node does, timing the reads and writes of execution
//! (with the trie prefetch thread running), the root fold (what proposing and verifying a block
//! pay on top of execution), the write (what finalizing pays: the block and its state changes as
//! one journal record, durable) and the store's background apply of those changes to the state
//! tables (timed from the write's start; what bounds such blocks back to back). The figures are
//! the medians of `--blocks` blocks committed after `--warmup` others, as on a node that has run
//! a while; the warm-up blocks' root is reported as the cold one.

use crate::args::LoadArgs;
use crate::load::{Workload, collect, rpc_feed, submit};
use crate::processes::{bench_plan, start_validators, stop_all};
use alloy_primitives::{Address, B256, Bytes, U256, keccak256};
use anyhow::{Context as _, Result, anyhow};
use clap::Args;
use lazai_cli::devnet::cluster;
use lazai_ledger::{Account, State, account_key, trie};
use lazai_node::{Prefetcher, StoreSource, genesis_document};
use lazai_storage::{StateWrites, Store};
use lazai_types::{Block, Genesis, Header};
use rayon::prelude::*;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

#[derive(Args, Debug, Clone)]
pub struct StateArgs {
    /// State sizes to measure: accounts in the genesis state besides the load's senders.
    #[arg(long, value_delimiter = ',', default_values_t = [10_000u64, 1_000_000, 10_000_000])]
    pub sizes: Vec<u64>,
    /// Entries each committed block changes (half existing accounts rewritten, half new).
    #[arg(long, default_value_t = 10_000)]
    pub changes: usize,
    /// Blocks committed per size after the warm-up; the median is reported.
    #[arg(long, default_value_t = 5)]
    pub blocks: usize,
    /// Blocks committed first, as a node that has run a while has (its cache of the trie's
    /// upper levels filled by the blocks that rewrote them); they rewrite existing accounts only,
    /// so the state keeps its size, and their median root is reported as the cold one.
    #[arg(long, default_value_t = 30)]
    pub warmup: usize,
    /// The node's log filter (its `node.log`); `info,lazai_node::chain=debug` logs each block's
    /// execution time, write time and write-set size.
    #[arg(long, default_value = "warn")]
    pub node_log: String,
    /// Keep each size's data dir (database, cluster files, `node.log`) instead of deleting it.
    #[arg(long)]
    pub keep: bool,
    /// Measure only the block commits (no node process: start-up, memory and throughput are
    /// not measured). The load's senders are still funded in genesis, so a small `--txs` saves
    /// signing time.
    #[arg(long)]
    pub commit_only: bool,
    /// Use the data dir an earlier run kept (`--keep`) instead of seeding a new one (one size;
    /// the blocks committed before stay on it).
    #[arg(long, value_name = "DIR")]
    pub seeded: Option<std::path::PathBuf>,
    /// The store's cache of the trie's upper levels, in MiB (0: they share the other nodes'
    /// cache, as before it had one).
    #[arg(long, default_value_t = lazai_storage::DEFAULT_UPPER_CACHE_BYTES >> 20)]
    pub upper_cache_mib: usize,
    /// The store's cache of the other trie nodes, in MiB.
    #[arg(long, default_value_t = lazai_storage::DEFAULT_NODE_CACHE_BYTES >> 20)]
    pub node_cache_mib: usize,
    /// The database file's page cache, in MiB.
    #[arg(long, default_value_t = lazai_storage::DEFAULT_CACHE_BYTES >> 20)]
    pub db_cache_mib: usize,
    /// Wait this long between a block's execution and its root fold, as a block whose
    /// transactions take that long to execute gives the prefetch thread (this benchmark's
    /// execution only reads and writes the entries; 10k transfers execute for ~0.3 s in a node).
    #[arg(long, default_value_t = 0)]
    pub settle_ms: u64,
    /// Commit without the trie prefetch thread (the root fold then reads every node it needs
    /// itself, as a node did before it had one).
    #[arg(long)]
    pub no_prefetch: bool,
    /// Spread each block's writes over at least this long, the thread busy meanwhile, as a
    /// node's execution keeps one core busy for the block's transactions (10k transfers
    /// execute for ~0.3 s in a node; 0: as fast as the reads go).
    #[arg(long, default_value_t = 0)]
    pub exec_ms: u64,
    /// Fold the root only after execution, in one go (without folding every
    /// `FOLD_AHEAD_KEYS` written keys on another thread while execution goes on, as a node
    /// does).
    #[arg(long)]
    pub no_fold_ahead: bool,
    /// Commit without passing the changed entries' old values to the root fold (it then loads
    /// the leaf of every key it rewrites).
    #[arg(long)]
    pub no_old_values: bool,
    #[command(flatten)]
    pub load: LoadArgs,
}

/// One size's figures.
struct Row {
    entries: u64,
    seed: Duration,
    db_bytes: u64,
    startup: Duration,
    rss_idle_kib: u64,
    rss_load_kib: u64,
    tps: f64,
    commit: Commit,
}

/// The median cost of committing one block of changes, by phase.
#[derive(Clone, Copy, Default)]
struct Commit {
    /// Reading each changed entry and writing its new value, as execution does (the prefetch
    /// thread loads the keys' trie paths meanwhile, and all but the last keys are folded on
    /// another thread unless `--no-fold-ahead`).
    exec: Duration,
    /// Folding the changes into the state root, after `exec`: what is left of the fold when
    /// execution ends.
    root: Duration,
    /// `root` over the warm-up blocks.
    root_cold: Duration,
    /// Writing the block and its state changes to disk (the journal record; durable when it
    /// returns).
    write: Duration,
    /// Applying the state changes to the state tables, on the store's apply thread after the
    /// write: what bounds a run of such blocks back to back.
    apply: Duration,
}

pub fn run(args: StateArgs) -> Result<()> {
    if args.seeded.is_some() && args.sizes.len() != 1 {
        return Err(anyhow!(
            "--seeded reuses one data dir: give the one size it was seeded with (--sizes N)"
        ));
    }
    let work = Workload::sign(&args.load)?;
    let mut rows = Vec::new();
    for &size in &args.sizes {
        let row = one_size(size, &args, &work)?;
        println!(
            "{} entries: seeded in {:.1} s ({} MiB on disk), start-up {} ms, RSS idle {} MiB / after load {} MiB, {:.0} transfers/s, commit of {} changes: execution {:.1} ms, root {:.1} ms (cold {:.1} ms), write {:.1} ms (commit {:.1} ms; execution + commit {:.1} ms), background apply {:.1} ms",
            row.entries,
            row.seed.as_secs_f64(),
            row.db_bytes >> 20,
            row.startup.as_millis(),
            row.rss_idle_kib >> 10,
            row.rss_load_kib >> 10,
            row.tps,
            args.changes,
            ms(row.commit.exec),
            ms(row.commit.root),
            ms(row.commit.root_cold),
            ms(row.commit.write),
            ms(row.commit.root + row.commit.write),
            ms(row.commit.exec + row.commit.root + row.commit.write),
            ms(row.commit.apply),
        );
        rows.push(row);
    }
    println!();
    println!(
        "| state entries | start-up | RSS idle | RSS after load | finalized transfers/s | execution of {} changes | root | write of the block | commit (root + write) | background apply | on disk |",
        args.changes
    );
    println!("|---|---|---|---|---|---|---|---|---|---|---|");
    for r in &rows {
        println!(
            "| {} | {} ms | {} MiB | {} MiB | {:.0} | {:.1} ms | {:.1} ms | {:.1} ms | {:.1} ms | {:.1} ms | {} MiB |",
            r.entries,
            r.startup.as_millis(),
            r.rss_idle_kib >> 10,
            r.rss_load_kib >> 10,
            r.tps,
            ms(r.commit.exec),
            ms(r.commit.root),
            ms(r.commit.write),
            ms(r.commit.root + r.commit.write),
            ms(r.commit.apply),
            r.db_bytes >> 20
        );
    }
    if let (Some(first), Some(last)) = (rows.first(), rows.last())
        && !args.commit_only
    {
        println!(
            "throughput at {} entries is {:.2}x throughput at {}",
            last.entries,
            last.tps / first.tps.max(1e-9),
            first.entries
        );
    }
    Ok(())
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

/// The `i`-th filler account.
fn filler(i: u64) -> Address {
    Address::from_word(keccak256(format!("lazai-bench-state-{i}")))
}

fn account_value(nonce: u64, balance: u64) -> Bytes {
    let mut raw = Vec::new();
    alloy_rlp::Encodable::encode(
        &Account {
            nonce,
            balance: U256::from(balance),
        },
        &mut raw,
    );
    raw.into()
}

/// Writes `genesis` with `size` extra accounts into a fresh database at `db`.
fn seed(genesis: &Genesis, size: u64, db: &Path) -> Result<()> {
    let base = lazai_ledger::genesis_state(genesis)?;
    let mut entries: Vec<(B256, Bytes)> = base
        .writes()
        .filter_map(|(k, v)| v.map(|v| (*k, v.clone())))
        .collect();
    let value = account_value(0, 1);
    entries.par_extend(
        (0..size)
            .into_par_iter()
            .map(|i| (account_key(&filler(i)), value.clone())),
    );
    let built = trie::build(entries.iter().map(|(k, v)| (k, v.as_ref())))?;
    let block = genesis.block(built.root);
    std::fs::create_dir_all(db.parent().context("db dir")?)?;
    let store = Store::open(db)?;
    store.init_genesis(
        &block,
        genesis_document(genesis),
        StateWrites {
            entries: entries.iter().map(|(k, v)| (k, Some(v))),
            nodes: &built.created,
            stale: &[],
            upper: &[],
        },
    )?;
    Ok(())
}

fn rss_kib(pid: u32, field: &str) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with(field))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse().ok())
        })
        .unwrap_or(0)
}

fn one_size(size: u64, args: &StateArgs, work: &Workload) -> Result<Row> {
    let dir = tempfile::Builder::new()
        .prefix("lazai-bench-state-")
        .tempdir()?;
    let seeded = args.seeded.clone();
    if let Some(dir) = &seeded
        && !dir.join("genesis.json").is_file()
    {
        return Err(anyhow!(
            "{} is not a data dir kept by `lazai-bench state --keep` (no genesis.json)",
            dir.display()
        ));
    }
    let root = seeded.clone().unwrap_or_else(|| dir.path().to_path_buf());
    let plan = bench_plan(1, work, args.load.block_time)?;
    let layout = cluster::init_or_load(&root, &plan)?;
    let spec = layout.nodes[0].clone();
    let config = lazai_cli::node::NodeConfig::load(&spec.config)?;
    let base = spec.config.parent().context("node dir")?;
    let db = base.join(&config.data_dir).join("chain").join("chain.redb");
    if seeded.is_some() && !db.is_file() {
        return Err(anyhow!(
            "the kept data dir has no database at {}",
            db.display()
        ));
    }
    let started = Instant::now();
    if seeded.is_none() {
        eprintln!("seeding a genesis state of {size} accounts ...");
        seed(&layout.genesis, size, &db)?;
    }
    let seed_time = started.elapsed();
    // Allocated, not the file's length: the database grows its file ahead, sparsely.
    let db_bytes = std::fs::metadata(&db)
        .map(|m| std::os::unix::fs::MetadataExt::blocks(&m) * 512)
        .unwrap_or(0);

    let (startup, rss_idle_kib, rss_load_kib, tps) = if args.commit_only {
        Default::default()
    } else {
        run_node(&layout, &root, args, work)?
    };
    let commit = commit_cost(&db, size, args)?;
    if args.keep && seeded.is_none() {
        eprintln!("kept {}", dir.keep().display());
    }
    Ok(Row {
        entries: size,
        seed: seed_time,
        db_bytes,
        startup,
        rss_idle_kib,
        rss_load_kib,
        tps,
        commit,
    })
}

/// Runs the seeded chain as a node process under the load: its start-up time, resident memory
/// idle and after the load (KiB), and finalized transfers per second.
fn run_node(
    layout: &cluster::ClusterLayout,
    dir: &Path,
    args: &StateArgs,
    work: &Workload,
) -> Result<(Duration, u64, u64, f64)> {
    let spec = layout.nodes[0].clone();
    let started = Instant::now();
    let (mut cluster, runtime) = start_validators(&layout.nodes, dir, &args.node_log)?;
    let pid = cluster.nodes()[0].pid();
    let load = args.load.clone();
    let outcome = runtime.block_on(async {
        let client = cluster::http_client()?;
        let url = spec.rpc_url();
        let startup = loop {
            if cluster::block_number(&client, &url).await.is_ok() {
                break started.elapsed();
            }
            if started.elapsed() > Duration::from_secs(300) {
                return Err(anyhow!("the node did not answer within 300 s"));
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        };
        while cluster::block_number(&client, &url).await? < 3 {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
        let idle = rss_kib(pid, "VmRSS:");
        let mut feed = rpc_feed(&spec).await?;
        let sub = submit(&url, work, &load).await?;
        let expected = work.total - sub.rejected;
        let fin = collect(&mut feed, &sub, expected, Duration::from_secs(load.timeout)).await?;
        let elapsed = fin.last - sub.start;
        let tps = fin.latencies.len() as f64 / elapsed.as_secs_f64().max(1e-9);
        Ok::<_, anyhow::Error>((startup, idle, rss_kib(pid, "VmRSS:"), tps))
    });
    drop(runtime);
    stop_all(&mut cluster);
    outcome
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v.get(v.len() / 2).copied().unwrap_or_default()
}

/// Commits `args.blocks` blocks of `args.changes` changed entries on top of the stopped node's
/// head, as the node does: each changed entry is read, then written (with the prefetch thread
/// loading the written keys' trie paths meanwhile, unless `--no-prefetch`), the root is folded,
/// and the block written. The median of each phase.
fn commit_cost(db: &Path, size: u64, args: &StateArgs) -> Result<Commit> {
    let store = Store::open_with(
        db,
        lazai_storage::Options {
            upper_cache_bytes: args.upper_cache_mib << 20,
            node_cache_bytes: args.node_cache_mib << 20,
            cache_bytes: args.db_cache_mib << 20,
            ..Default::default()
        },
    )?;
    lazai_node::recover_state(&store)?;
    let head = store.head()?.context("head")?;
    let mut parent = store.header(head)?.context("head header")?;
    let prefetcher = (!args.no_prefetch).then(Prefetcher::spawn).transpose()?;
    let (mut execs, mut roots, mut writes, mut applies) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    let mut cold = Vec::new();
    for b in 0..(args.warmup + args.blocks) as u64 {
        if b == args.warmup as u64 {
            cold = std::mem::take(&mut roots);
            execs.clear();
            writes.clear();
            applies.clear();
        }
        let mut source = StoreSource::new(store.snapshot()?, parent.state_root);
        if args.no_old_values {
            source = source.forgetting();
        }
        if let Some(prefetcher) = &prefetcher {
            source = source.with_prefetcher(prefetcher.clone());
        }
        let mut state = State::at(Arc::new(source), parent.state_root);
        state.prefetch_writes(true);
        let t = Instant::now();
        for j in 0..args.changes as u64 {
            let seed = keccak256(format!("{b}-{j}"));
            // Warm-up blocks only rewrite, so the state keeps its size.
            let address = if (j % 2 == 0 || b < args.warmup as u64) && size > 0 {
                filler(u64::from_be_bytes(seed[..8].try_into().expect("8")) % size)
            } else {
                Address::from_word(seed)
            };
            let key = account_key(&address);
            let nonce = state.get(&key).map_or(0, |_| b + 1);
            state.set(key, account_value(nonce, 1 + j));
            if !args.no_fold_ahead {
                state.fold_ahead();
            }
            let due = Duration::from_millis(args.exec_ms).saturating_mul(j as u32 + 1)
                / args.changes.max(1) as u32;
            while t.elapsed() < due {
                std::hint::spin_loop();
            }
        }
        execs.push(t.elapsed());
        std::thread::sleep(Duration::from_millis(args.settle_ms));
        let t = Instant::now();
        let root = state.commit_root();
        roots.push(t.elapsed());
        let changes = state.take_changes();
        let header = Header {
            parent_hash: parent.hash(),
            height: parent.height + 1,
            timestamp_ms: parent.timestamp_ms + 1,
            state_root: root,
            ..parent.clone()
        };
        let block = Block {
            header: header.clone(),
            transactions: Vec::new(),
            evidence: Vec::new(),
        };
        let t = Instant::now();
        store.commit_block(&block, &[], lazai_node::state_writes(&changes))?;
        writes.push(t.elapsed());
        // Each block starts with the apply thread idle; its time is reported apart.
        store.wait_applied()?;
        applies.push(t.elapsed());
        parent = header;
    }
    Ok(Commit {
        exec: median(execs),
        root: median(roots),
        write: median(writes),
        apply: median(applies),
        root_cold: median(cold),
    })
}
