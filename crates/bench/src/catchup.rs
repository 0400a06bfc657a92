//! `lazai-bench catchup`: how fast a node that was down catches up with a cluster under load.

use super::load::{Workload, submit};
use crate::args::{CatchupArgs, LoadArgs};
use crate::processes::{start_validators, stop_all};
use anyhow::Context as _;
use anyhow::{Result, anyhow, bail};
use lazai_cli::devnet::cluster;
use lazai_cli::devnet::cluster::{Agreement, Cluster, ClusterPlan, NodeSpec};
use lazai_types::{DEVNET_CHAIN_ID, lazai};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

/// Senders of the transfers `bench catchup` sends while the chain is built.
pub(super) const CATCHUP_SENDERS: usize = 100;

/// How often [`wait_for_height`] asks a node for its height.
pub(super) const HEIGHT_POLL: Duration = Duration::from_millis(25);

/// How often [`wait_for_height`] prints progress.
pub(super) const PROGRESS_EVERY: Duration = Duration::from_secs(5);

/// When a node reached a height.
pub(super) struct Reached {
    height: u64,
    at: Instant,
    /// When the node first answered `eth_blockNumber`, and the height it reported.
    first_answer: (Instant, u64),
}

/// Polls `node`'s finalized height until it is at least `target`, printing its height every
/// few seconds. Fails when a process of `cluster` exits or after `timeout`.
pub(super) async fn wait_for_height(
    cluster: &mut Cluster,
    node: &NodeSpec,
    target: u64,
    timeout: Duration,
) -> Result<Reached> {
    let client = cluster::http_client()?;
    let url = node.rpc_url();
    let start = Instant::now();
    let deadline = start + timeout;
    let mut first_answer = None;
    let mut last: Option<u64> = None;
    // The last progress line: when, and the height it reported.
    let mut progress = (start, None);
    loop {
        cluster.check()?;
        let height = cluster::block_number(&client, &url).await.ok();
        let now = Instant::now();
        if let Some(h) = height {
            let first = *first_answer.get_or_insert((now, h));
            last = Some(h);
            if h >= target {
                return Ok(Reached {
                    height: h,
                    at: now,
                    first_answer: first,
                });
            }
        }
        if now >= progress.0 + PROGRESS_EVERY {
            match (last, progress.1.or(first_answer)) {
                (Some(h), Some((since, from))) => eprintln!(
                    "  {} at height {h} of {target} ({:.0} blocks/s)",
                    node.name,
                    h.saturating_sub(from) as f64 / (now - since).as_secs_f64().max(1e-9)
                ),
                _ => eprintln!("  {} not answering yet", node.name),
            }
            progress = (now, last.map(|h| (now, h)));
        }
        if now >= deadline {
            bail!(
                "{} did not reach height {target} within {} s ({})",
                node.name,
                timeout.as_secs(),
                match last {
                    Some(h) => format!("at height {h}"),
                    None => "never answered".to_string(),
                }
            );
        }
        tokio::time::sleep(HEIGHT_POLL).await;
    }
}

/// Transfers [`trickle`] has sent, and how many of them were rejected.
#[derive(Default)]
pub(super) struct Trickled {
    sent: AtomicUsize,
    rejected: AtomicUsize,
}

/// Submits `work` to `url` one round a second, counting into `count`.
pub(super) async fn trickle(url: String, work: Workload, load: LoadArgs, count: Arc<Trickled>) {
    for n in 0..work.rounds() {
        let round = work.round(n);
        match submit(&url, &round, &load).await {
            Ok(sub) => {
                count.sent.fetch_add(round.total, Ordering::Relaxed);
                count.rejected.fetch_add(sub.rejected, Ordering::Relaxed);
            }
            Err(e) => {
                eprintln!("note: stopped sending transfers: {e:#}");
                return;
            }
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
}

/// What `bench catchup` measured.
pub(super) struct Catchup {
    /// Validator 0's height when the validators first finalized, and when.
    first: (u64, Instant),
    /// Validator 0's height when the full node started: the blocks it was behind.
    tip: u64,
    /// When validator 0 reported `tip`.
    built: Instant,
    /// Transfers sent while building, and how many of them were rejected.
    transfers: (usize, usize),
    spawned: Instant,
    /// When the full node reached `tip`.
    reached: Reached,
    /// Validator 0's height when the full node reached `tip`.
    tip_then: u64,
    /// The block both have at `tip`.
    agreement: Agreement,
}

pub(super) async fn measure_catchup(
    cluster: &mut Cluster,
    validator: &NodeSpec,
    full: &NodeSpec,
    work: Option<Workload>,
    load: LoadArgs,
    args: &CatchupArgs,
) -> Result<Catchup> {
    let timeout = Duration::from_secs(args.timeout);
    let height = cluster.wait_finalizing(Duration::from_secs(120)).await?;
    let first = (height, Instant::now());
    eprintln!(
        "finalizing; building {} blocks at {} ms per block",
        args.blocks, args.block_time_ms
    );
    let count = Arc::new(Trickled::default());
    let sender = work.map(|w| {
        eprintln!(
            "sending {} transfers to {} in rounds of {} a second",
            w.total,
            validator.name,
            w.senders.len()
        );
        tokio::spawn(trickle(validator.rpc_url(), w, load, count.clone()))
    });
    let built = wait_for_height(cluster, validator, args.blocks, timeout).await;
    if let Some(task) = sender {
        task.abort();
    }
    let built = built?;
    let transfers = (
        count.sent.load(Ordering::Relaxed),
        count.rejected.load(Ordering::Relaxed),
    );
    let tip = built.height;
    eprintln!(
        "validators at height {tip}; starting {} from genesis",
        full.name
    );
    let spawned = Instant::now();
    cluster.spawn(full)?;
    let reached = wait_for_height(cluster, full, tip, timeout).await?;
    let client = cluster::http_client()?;
    let tip_then = cluster::block_number(&client, &validator.rpc_url()).await?;
    let agreement = cluster::agreement_at(&[validator.clone(), full.clone()], tip).await?;
    Ok(Catchup {
        first,
        tip,
        built: built.at,
        transfers,
        spawned,
        reached,
        tip_then,
        agreement,
    })
}

pub(super) fn catchup(args: CatchupArgs, log_filter: &str) -> Result<()> {
    if args.validators == 0 || args.validators > 64 {
        bail!("--validators must be between 1 and 64");
    }
    if args.block_time_ms == 0 || args.block_time_ms > 60_000 {
        bail!("--block-time-ms must be between 1 and 60000");
    }
    if args.blocks == 0 {
        bail!("--blocks must be at least 1");
    }
    let senders = CATCHUP_SENDERS.min(args.txs);
    let load = LoadArgs {
        txs: args.txs,
        senders,
        batch: senders.max(1),
        connections: 1,
        block_time: args.block_time_ms,
        timeout: args.timeout,
    };
    let work = if args.txs > 0 {
        Some(Workload::sign(&load)?)
    } else {
        None
    };
    let dir = tempfile::Builder::new()
        .prefix("lazai-bench-catchup-")
        .tempdir()?;
    let mut validators = cluster::free_loopback_addrs(args.validators + 1)?;
    let full_nodes = validators.split_off(args.validators);
    let plan = ClusterPlan {
        chain_id: DEVNET_CHAIN_ID,
        validators,
        full_nodes,
        accounts: work.as_ref().map(|w| w.senders.clone()).unwrap_or_default(),
        balance: lazai(1_000),
        gas_limit: 2_000_000_000,
        block_time_ms: args.block_time_ms,
    };
    let layout = cluster::init_or_load(dir.path(), &plan)?;
    let (validators, full) = layout.nodes.split_at(args.validators);
    let full = full
        .first()
        .context("the cluster directory has no full node")?;
    let (mut cluster, runtime) = start_validators(validators, dir.path(), log_filter)?;
    let outcome = runtime.block_on(async {
        tokio::select! {
            r = measure_catchup(&mut cluster, &validators[0], full, work, load, &args) => r,
            s = lazai_cli::shutdown_signal() => Err(anyhow!("{}: stopped", s?)),
        }
    });
    drop(runtime);
    stop_all(&mut cluster);
    let run = outcome?;

    let build = run.built - run.first.1;
    let built_blocks = run.tip.saturating_sub(run.first.0);
    println!(
        "build: {} validators, block time {} ms: {built_blocks} blocks in {:.1} s ({:.1} blocks/s); {} transfers sent, {} rejected",
        args.validators,
        args.block_time_ms,
        build.as_secs_f64(),
        built_blocks as f64 / build.as_secs_f64().max(1e-9),
        run.transfers.0,
        run.transfers.1
    );
    let wall = run.reached.at - run.spawned;
    let (answered, answered_height) = run.reached.first_answer;
    let syncing = run.reached.at - answered;
    println!(
        "catch-up: {} was {} blocks behind; reached height {} in {:.2} s ({:.0} blocks/s)",
        full.name,
        run.tip,
        run.reached.height,
        wall.as_secs_f64(),
        run.tip as f64 / wall.as_secs_f64().max(1e-9),
    );
    println!(
        "  its RPC first answered {:.2} s after start, at height {answered_height}; {:.0} blocks/s from then",
        (answered - run.spawned).as_secs_f64(),
        run.reached.height.saturating_sub(answered_height) as f64 / syncing.as_secs_f64().max(1e-9)
    );
    println!(
        "validators were at height {} when {} caught up",
        run.tip_then, full.name
    );
    println!(
        "block {}: hash {} state root {} on {} and {}: state root matches",
        run.agreement.height,
        run.agreement.hash,
        run.agreement.state_root,
        validators[0].name,
        full.name
    );
    Ok(())
}
