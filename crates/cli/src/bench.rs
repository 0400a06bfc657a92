//! `lazai bench`: signed transfers through the full path — JSON-RPC ingest, mempool,
//! consensus, execution, commit — with finalized throughput and submit-to-finalized latency.
//!
//! `transfers` runs an in-process devnet and also measures the single-core and all-core
//! sender-recovery rate, the physical ceiling of this path. `cluster` runs one `lazai node`
//! process per validator and submits everything to validator 0's JSON-RPC. `catchup` measures
//! how fast a fresh full node process follows a chain it is far behind. `dat` measures the
//! DataAnchoringToken module's operations in an in-process devnet and its settlement and claim
//! cost against a class's number of holders.

use crate::cluster::{self, Agreement, Cluster, ClusterPlan, NodeSpec};
use alloy::providers::{Provider as _, ProviderBuilder, WsConnect};
use alloy::pubsub::Subscription;
use alloy::transports::http::reqwest;
use alloy_consensus::{SignableTransaction, TxEip1559, TxEnvelope};
use alloy_eips::eip2718::Encodable2718;
use alloy_primitives::{Address, B256, Bytes, TxKind, U256, keccak256};
use alloy_signer::SignerSync;
use alloy_signer_local::PrivateKeySigner;
use anyhow::{Context as _, Result, anyhow, bail};
use clap::{Args, Subcommand};
use lazai_consensus::runtime::{Runner as _, tokio as cw_tokio};
use lazai_node::{Chain, NodeSettings, devnet_genesis, start_devnet};
use lazai_types::{DEVNET_CHAIN_ID, lazai};
use rayon::prelude::*;
use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};
use tokio::sync::{broadcast, mpsc};

mod attest;
mod dat;
mod data;
pub mod inference;

pub use dat::{DatArgs, DatReport, HolderFigures, KindFigures, run_dat};

#[derive(Subcommand, Debug)]
pub enum BenchCommand {
    /// Push signed LAZAI transfers through RPC → mempool → consensus → execution → commit.
    Transfers(TransfersArgs),
    /// The same load against a local cluster of `lazai node` processes (one per validator),
    /// all submitted to validator 0.
    Cluster(ClusterArgs),
    /// How long a full node that is --blocks blocks behind takes to catch up: validator
    /// processes build the chain, then a fresh full node process starts and fetches and
    /// verifies every finalized block over p2p until it reaches the validators' height.
    Catchup(CatchupArgs),
    /// DataAnchoringToken operations per second by kind (mint, transferValue, recordUsage,
    /// settleRevenueETH, claim) executed in an in-process devnet, and settlement and claim gas
    /// and execution time in classes of 1, 100 and --holders holders.
    Dat(DatArgs),
    /// Data contribution throughput: encrypt+commit and the whole `lazai data contribute` on a
    /// generated CSV file (optionally beside `age` and `gpg`), and the worker's verification
    /// in rows per second.
    Data(data::DataArgs),
    /// TEE evidence verifications per second for each platform (the vendor samples and dev
    /// quotes), alone and as `submitAttestation` transactions executed by the ledger, with
    /// the gas each pays.
    Attest(attest::AttestArgs),
    /// Inference calls per second through the worker's metered endpoint, with metering on and
    /// off, and the on-chain gas of recording usage per call (batched and unbatched).
    Inference(inference::InferenceArgs),
}

/// The transfer load and how it is submitted.
#[derive(Args, Debug, Clone)]
pub struct LoadArgs {
    /// Transfers to send.
    #[arg(long, default_value_t = 60_000)]
    pub txs: usize,
    /// Distinct funded senders (each sends about txs/senders transfers in nonce order).
    #[arg(long, default_value_t = 3_000)]
    pub senders: usize,
    /// `eth_sendRawTransaction` calls per JSON-RPC batch request.
    #[arg(long, default_value_t = 500)]
    pub batch: usize,
    /// Concurrent HTTP connections submitting batches.
    #[arg(long, default_value_t = 4)]
    pub connections: usize,
    /// Target block time in milliseconds.
    #[arg(long, default_value_t = 250)]
    pub block_time: u64,
    /// Give up waiting for finality after this many seconds.
    #[arg(long, default_value_t = 180)]
    pub timeout: u64,
}

#[derive(Args, Debug, Clone)]
pub struct TransfersArgs {
    /// Validators in the in-process devnet (run it with 1 and with 4).
    #[arg(long, default_value_t = 1)]
    pub validators: usize,
    #[command(flatten)]
    pub load: LoadArgs,
}

#[derive(Args, Debug, Clone)]
pub struct ClusterArgs {
    /// Validator processes.
    #[arg(long, default_value_t = 4)]
    pub validators: usize,
    #[command(flatten)]
    pub load: LoadArgs,
}

#[derive(Args, Debug, Clone)]
pub struct CatchupArgs {
    /// Height the validators build before the full node starts: the blocks it is behind.
    #[arg(long, default_value_t = 10_000)]
    pub blocks: u64,
    /// Target block time in milliseconds.
    #[arg(long, default_value_t = 20)]
    pub block_time_ms: u64,
    /// Validator processes.
    #[arg(long, default_value_t = 4)]
    pub validators: usize,
    /// Transfers sent to validator 0 while the chain is built, in rounds of one per sender
    /// (100 senders) a second, so the blocks the full node executes are not all empty.
    #[arg(long, default_value_t = 10_000)]
    pub txs: usize,
    /// Give up on building the chain, and on catching up, after this many seconds each.
    #[arg(long, default_value_t = 1_800)]
    pub timeout: u64,
}

pub fn run(cmd: BenchCommand, log_filter: &str) -> Result<()> {
    match cmd {
        BenchCommand::Transfers(args) => transfers(args),
        BenchCommand::Cluster(args) => cluster(args, log_filter),
        BenchCommand::Catchup(args) => catchup(args, log_filter),
        BenchCommand::Dat(args) => run_dat(args).map(|_| ()),
        BenchCommand::Data(args) => data::run(args),
        BenchCommand::Attest(args) => attest::run(args),
        BenchCommand::Inference(args) => inference::run(args),
    }
}

fn sender_key(i: usize) -> Result<PrivateKeySigner> {
    let seed = keccak256(format!("lazai-bench-sender-{i}"));
    PrivateKeySigner::from_slice(seed.as_slice()).context("bench key")
}

fn sign_transfer(signer: &PrivateKeySigner, nonce: u64, to: Address) -> Result<Bytes> {
    let tx = TxEip1559 {
        chain_id: DEVNET_CHAIN_ID,
        nonce,
        gas_limit: 21_000,
        max_fee_per_gas: 10_000_000_000,
        max_priority_fee_per_gas: 1_000_000_000,
        to: TxKind::Call(to),
        value: U256::from(1_000 + nonce),
        input: Bytes::new(),
        access_list: Default::default(),
    };
    let sig = signer.sign_hash_sync(&tx.signature_hash())?;
    Ok(TxEnvelope::from(tx.into_signed(sig)).encoded_2718().into())
}

/// Signed transfers from funded bench senders, ready to submit.
struct Workload {
    /// The senders (fund them at genesis).
    senders: Vec<Address>,
    /// Each sender's transfers, in nonce order from nonce 0.
    signed: Vec<Vec<Bytes>>,
    total: usize,
}

impl Workload {
    /// `load.txs` transfers spread over `load.senders` senders.
    fn sign(load: &LoadArgs) -> Result<Self> {
        if load.senders == 0 || load.txs < load.senders || load.batch == 0 || load.connections == 0
        {
            bail!("need senders > 0, txs >= senders, batch > 0, connections > 0");
        }
        eprintln!(
            "signing {} transfers from {} senders ...",
            load.txs, load.senders
        );
        let keys: Vec<PrivateKeySigner> =
            (0..load.senders).map(sender_key).collect::<Result<_>>()?;
        let recipients: Vec<Address> = (0..256u64)
            .map(|i| Address::from_word(keccak256(i.to_be_bytes())))
            .collect();
        let (each, extra) = (load.txs / load.senders, load.txs % load.senders);
        let signed: Vec<Vec<Bytes>> = keys
            .par_iter()
            .enumerate()
            .map(|(i, s)| {
                let count = each + usize::from(i < extra);
                (0..count as u64)
                    .map(|n| sign_transfer(s, n, recipients[(i + n as usize) % recipients.len()]))
                    .collect()
            })
            .collect::<Result<_>>()?;
        Ok(Self {
            senders: keys.iter().map(|s| s.address()).collect(),
            signed,
            total: load.txs,
        })
    }

    /// Round `n` alone: each sender's transfer with nonce `n`, if it has one.
    fn round(&self, n: usize) -> Self {
        let signed: Vec<Vec<Bytes>> = self
            .signed
            .iter()
            .map(|txs| txs.get(n).cloned().into_iter().collect())
            .collect();
        Self {
            senders: self.senders.clone(),
            total: signed.iter().map(Vec::len).sum(),
            signed,
        }
    }

    /// The number of rounds: the most transfers any sender sends.
    fn rounds(&self) -> usize {
        self.signed.iter().map(Vec::len).max().unwrap_or(0)
    }

    /// Streams, one per connection: stream c carries the senders i with i % conns == c,
    /// round-major (every sender's nonce 0, then nonce 1, ...), so nonces arrive in order and
    /// any `batch_len(conns)` consecutive entries hold at most one transaction per sender
    /// (calls in a batch run concurrently).
    fn streams(&self, conns: usize) -> Vec<Vec<(B256, Bytes)>> {
        let mut streams: Vec<Vec<(B256, Bytes)>> = vec![Vec::new(); conns];
        let rounds = self.signed.iter().map(Vec::len).max().unwrap_or(0);
        for n in 0..rounds {
            for (i, txs) in self.signed.iter().enumerate() {
                if let Some(raw) = txs.get(n) {
                    streams[i % conns].push((keccak256(raw), raw.clone()));
                }
            }
        }
        streams
    }
}

/// Sender recovery over `raws`, on one core and on all cores: transactions per second.
fn recovery_rates(raws: &[Bytes]) -> (f64, f64) {
    let sample = &raws[..raws.len().min(20_000)];
    let start = Instant::now();
    let ok = sample
        .iter()
        .filter(|r| lazai_ledger::decode_and_recover(r, DEVNET_CHAIN_ID).is_ok())
        .count();
    let single = ok as f64 / start.elapsed().as_secs_f64();
    let start = Instant::now();
    let ok = lazai_ledger::decode_and_recover_many(sample, DEVNET_CHAIN_ID)
        .iter()
        .filter(|r| r.is_ok())
        .count();
    let parallel = ok as f64 / start.elapsed().as_secs_f64();
    (single, parallel)
}

fn free_port_base(count: usize) -> Result<u16> {
    cluster::free_port_run(count)
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let idx = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[idx.min(sorted.len() - 1)]
}

/// What [`submit`] did.
struct Submission {
    /// When each transaction's batch was sent.
    sent: HashMap<B256, Instant>,
    start: Instant,
    /// Time to submit everything.
    ingest: Duration,
    rejected: usize,
}

/// Submits the workload to `url` as JSON-RPC batches of `eth_sendRawTransaction` over
/// `load.connections` concurrent connections.
async fn submit(url: &str, work: &Workload, load: &LoadArgs) -> Result<Submission> {
    let conns = load.connections.min(work.senders.len());
    // Every connection carries at least `senders / conns` senders per round.
    let batch = load.batch.min(work.senders.len() / conns).max(1);
    let sent: Arc<parking_lot::Mutex<HashMap<B256, Instant>>> = Default::default();
    let start = Instant::now();
    let client = reqwest::Client::new();
    let mut tasks = Vec::new();
    for stream in work.streams(conns) {
        let (client, url, sent) = (client.clone(), url.to_string(), sent.clone());
        tasks.push(tokio::spawn(async move {
            let mut rejected = 0usize;
            let mut first_error = None;
            for chunk in stream.chunks(batch) {
                let body: Vec<_> = chunk
                    .iter()
                    .enumerate()
                    .map(|(id, (_, raw))| serde_json::json!({"jsonrpc":"2.0","id":id,"method":"eth_sendRawTransaction","params":[raw]}))
                    .collect();
                let now = Instant::now();
                sent.lock().extend(chunk.iter().map(|(h, _)| (*h, now)));
                let resp = client
                    .post(&url)
                    .header("content-type", "application/json")
                    .body(serde_json::to_vec(&body)?)
                    .send()
                    .await?
                    .bytes()
                    .await?;
                let replies: Vec<serde_json::Value> =
                    serde_json::from_slice(&resp).context("batch reply")?;
                for r in replies {
                    if let Some(e) = r.get("error") {
                        rejected += 1;
                        first_error.get_or_insert_with(|| e.to_string());
                    }
                }
            }
            Ok::<_, anyhow::Error>((rejected, first_error))
        }));
    }
    let mut rejected = 0;
    for t in tasks {
        let (r, e) = t.await??;
        rejected += r;
        if let Some(e) = e {
            eprintln!("a submission was rejected: {e}");
        }
    }
    let ingest = start.elapsed();
    let sent = std::mem::take(&mut *sent.lock());
    Ok(Submission {
        sent,
        start,
        ingest,
        rejected,
    })
}

/// The transactions of one finalized block, and when this process learned it was final.
struct FinalizedTxs {
    at: Instant,
    hashes: Vec<B256>,
}

/// Finalized blocks in height order, timestamped as they arrive.
type FinalizedFeed = mpsc::UnboundedReceiver<Result<FinalizedTxs>>;

/// The finalized blocks of an in-process chain.
fn chain_feed(chain: &Chain) -> FinalizedFeed {
    let mut blocks = chain.subscribe();
    let (tx, rx) = mpsc::unbounded_channel();
    tokio::spawn(async move {
        loop {
            let item = match blocks.recv().await {
                Ok(ev) => Ok(FinalizedTxs {
                    at: Instant::now(),
                    hashes: ev.receipts.iter().map(|r| r.tx_hash).collect(),
                }),
                Err(broadcast::error::RecvError::Lagged(n)) => {
                    Err(anyhow!("lagged {n} blocks behind"))
                }
                Err(broadcast::error::RecvError::Closed) => Err(anyhow!("finalized stream ended")),
            };
            let stop = item.is_err();
            if tx.send(item).is_err() || stop {
                return;
            }
        }
    });
    rx
}

/// The finalized blocks of a node, from its `newHeads` WebSocket subscription (each timestamped
/// when its header arrives) and `eth_getBlockByNumber` (for the transaction hashes). Starts
/// after the node's current height.
async fn rpc_feed(node: &NodeSpec) -> Result<FinalizedFeed> {
    let provider = ProviderBuilder::new()
        .connect_ws(WsConnect::new(node.ws_url()))
        .await
        .with_context(|| format!("connect to {}", node.ws_url()))?;
    let mut heads: Subscription<serde_json::Value> = provider
        .subscribe(("newHeads",))
        .await
        .context("subscribe to newHeads")?;
    let client = cluster::http_client()?;
    let url = node.rpc_url();
    let mut next = cluster::block_number(&client, &url).await? + 1;
    let (head_tx, mut head_rx) = mpsc::unbounded_channel::<(Instant, u64)>();
    tokio::spawn(async move {
        let _connection = provider;
        loop {
            match heads.recv().await {
                Ok(head) => {
                    let at = Instant::now();
                    let Some(n) = head.get("number").and_then(cluster::parse_quantity) else {
                        continue;
                    };
                    if head_tx.send((at, n)).is_err() {
                        return;
                    }
                }
                // Missed heads are fetched by height below.
                Err(broadcast::error::RecvError::Lagged(_)) => continue,
                Err(broadcast::error::RecvError::Closed) => return,
            }
        }
    });
    let (tx, rx) = mpsc::unbounded_channel();
    tokio::spawn(async move {
        while let Some((at, n)) = head_rx.recv().await {
            while next <= n {
                let item = block_tx_hashes(&client, &url, next)
                    .await
                    .map(|hashes| FinalizedTxs { at, hashes });
                let stop = item.is_err();
                if tx.send(item).is_err() || stop {
                    return;
                }
                next += 1;
            }
        }
        let _ = tx.send(Err(anyhow!("the newHeads subscription ended")));
    });
    Ok(rx)
}

async fn block_tx_hashes(client: &reqwest::Client, url: &str, height: u64) -> Result<Vec<B256>> {
    let block = cluster::block_by_number(client, url, height).await?;
    block
        .get("transactions")
        .and_then(|t| t.as_array())
        .with_context(|| format!("block {height} has no transaction list"))?
        .iter()
        .map(|h| {
            h.as_str()
                .and_then(|h| h.parse().ok())
                .with_context(|| format!("block {height}: bad transaction hash {h}"))
        })
        .collect()
}

/// Submit-to-finalized latencies of the submitted transactions.
struct Finality {
    latencies: Vec<Duration>,
    /// Blocks that carried submitted transactions.
    blocks: usize,
    /// Blocks finalized from the first submission to the last finalized transaction.
    blocks_seen: usize,
    /// When the last submitted transaction was finalized.
    last: Instant,
}

/// Follows `feed` until `expected` submitted transactions are final or `timeout` passes.
async fn collect(
    feed: &mut FinalizedFeed,
    sub: &Submission,
    expected: usize,
    timeout: Duration,
) -> Result<Finality> {
    let mut fin = Finality {
        latencies: Vec::with_capacity(expected),
        blocks: 0,
        blocks_seen: 0,
        last: sub.start,
    };
    let deadline = tokio::time::Instant::now() + timeout;
    while fin.latencies.len() < expected {
        let ev = match tokio::time::timeout_at(deadline, feed.recv()).await {
            Ok(Some(ev)) => ev?,
            Ok(None) => bail!("finalized block feed ended"),
            Err(_) => break,
        };
        if ev.at >= sub.start {
            fin.blocks_seen += 1;
        }
        let before = fin.latencies.len();
        fin.latencies.extend(
            ev.hashes
                .iter()
                .filter_map(|h| sub.sent.get(h))
                .map(|t| ev.at.saturating_duration_since(*t)),
        );
        if fin.latencies.len() > before {
            fin.blocks += 1;
            fin.last = ev.at;
        }
    }
    fin.latencies.sort_unstable();
    Ok(fin)
}

/// Prints the run's figures; fails if some accepted transfer did not finalize.
fn report(label: &str, total: usize, sub: &Submission, fin: &Finality, timeout: u64) -> Result<()> {
    let done = fin.latencies.len();
    println!(
        "{label}  transfers {total}  rejected {}  finalized {done}  blocks {} (of {} finalized)  avg {:.0} tx/block",
        sub.rejected,
        fin.blocks,
        fin.blocks_seen,
        done as f64 / fin.blocks.max(1) as f64
    );
    println!(
        "ingest: {:.0} tx/s over RPC ({:.2} s)",
        total as f64 / sub.ingest.as_secs_f64(),
        sub.ingest.as_secs_f64()
    );
    let elapsed = fin.last - sub.start;
    println!(
        "finalized: {:.0} tx/s ({} in {:.2} s)  submit→finalized p50 {} ms  p99 {} ms",
        done as f64 / elapsed.as_secs_f64().max(1e-9),
        done,
        elapsed.as_secs_f64(),
        percentile(&fin.latencies, 0.50).as_millis(),
        percentile(&fin.latencies, 0.99).as_millis()
    );
    if done < total - sub.rejected {
        bail!(
            "only {done} of {} transfers finalized within {timeout} s",
            total - sub.rejected,
        );
    }
    Ok(())
}

fn transfers(args: TransfersArgs) -> Result<()> {
    let work = Workload::sign(&args.load)?;
    let all: Vec<Bytes> = work.signed.iter().flatten().cloned().collect();
    let (single, parallel) = recovery_rates(&all);
    drop(all);
    println!(
        "sender recovery: {single:.0} tx/s on one core, {parallel:.0} tx/s on {} cores",
        rayon::current_num_threads()
    );

    let genesis = devnet_genesis(
        DEVNET_CHAIN_ID,
        args.validators,
        &work.senders,
        lazai(1_000),
        2_000_000_000,
    );
    let dir = tempfile::Builder::new().prefix("lazai-bench-").tempdir()?;
    let mut settings = NodeSettings::new(
        genesis,
        dir.path().to_path_buf(),
        "127.0.0.1:0".parse()?,
        Duration::from_millis(args.load.block_time),
    );
    settings.rpc.max_batch_len = args.load.batch.max(1000) as u32;
    let keys: Vec<_> = (0..args.validators)
        .map(lazai_consensus::devnet_key)
        .collect();
    let p2p = free_port_base(args.validators)?;
    let runtime = settings.runtime().with_worker_threads(2);
    let load = args.load.clone();
    let (sub, fin, roots) = cw_tokio::Runner::new(runtime).start(|context| async move {
        let devnet = start_devnet(context, settings, keys, p2p).await?;
        let url = format!("http://{}", devnet.rpc_addr());
        let mut feed = chain_feed(devnet.nodes[0].chain());
        let sub = submit(&url, &work, &load).await?;
        let expected = work.total - sub.rejected;
        let fin = collect(&mut feed, &sub, expected, Duration::from_secs(load.timeout)).await?;
        let roots: Vec<_> = devnet
            .nodes
            .iter()
            .map(|n| n.chain().state_root())
            .collect();
        Ok::<_, anyhow::Error>((sub, fin, roots))
    })?;
    if roots.windows(2).any(|w| w[0] != w[1]) {
        println!("note: validators were at different heights when the run ended");
    }
    report(
        &format!("validators {}", args.validators),
        args.load.txs,
        &sub,
        &fin,
        args.load.timeout,
    )
}

/// Stops every process of `cluster`, reporting any that did not exit cleanly.
fn stop_all(cluster: &mut Cluster) {
    for (name, status) in cluster.stop(Duration::from_secs(10)) {
        match status {
            Ok(s) if s.success() => {}
            Ok(s) => eprintln!("{name} stopped: {s}"),
            Err(e) => eprintln!("{name}: {e:#}"),
        }
    }
}

/// The largest JSON-RPC batch a `lazai node` accepts.
const NODE_MAX_BATCH: usize = 1000;

fn cluster(args: ClusterArgs, log_filter: &str) -> Result<()> {
    if args.validators == 0 || args.validators > 64 {
        bail!("--validators must be between 1 and 64");
    }
    if args.load.batch > NODE_MAX_BATCH {
        bail!("--batch is at most {NODE_MAX_BATCH} (a node's JSON-RPC batch limit)");
    }
    let work = Workload::sign(&args.load)?;
    let dir = tempfile::Builder::new()
        .prefix("lazai-bench-cluster-")
        .tempdir()?;
    let plan = ClusterPlan {
        chain_id: DEVNET_CHAIN_ID,
        validators: cluster::free_loopback_addrs(args.validators)?,
        full_nodes: Vec::new(),
        accounts: work.senders.clone(),
        balance: lazai(1_000),
        gas_limit: 2_000_000_000,
        block_time_ms: args.load.block_time,
    };
    let layout = cluster::init_or_load(dir.path(), &plan)?;
    let (mut cluster, runtime) = start_validators(&layout.nodes, dir.path(), log_filter)?;
    let target = &layout.nodes[0];
    let outcome = runtime.block_on(async {
        cluster.wait_finalizing(Duration::from_secs(120)).await?;
        eprintln!(
            "finalizing; submitting to {} at {}",
            target.name,
            target.rpc_url()
        );
        let mut feed = rpc_feed(target).await?;
        let run = async {
            let sub = submit(&target.rpc_url(), &work, &args.load).await?;
            let expected = work.total - sub.rejected;
            let timeout = Duration::from_secs(args.load.timeout);
            let fin = collect(&mut feed, &sub, expected, timeout).await?;
            Ok::<_, anyhow::Error>((sub, fin))
        };
        let (sub, fin) = tokio::select! {
            r = run => r?,
            exit = cluster.watch() => return Err(anyhow::Error::new(exit)),
            s = crate::shutdown_signal() => return Err(anyhow!("{}: stopped", s?)),
        };
        let agreement = cluster::agreement(&layout.nodes).await;
        Ok((sub, fin, agreement))
    });
    drop(runtime);
    stop_all(&mut cluster);
    let (sub, fin, agreement) = outcome?;
    match agreement {
        Ok(a) => println!(
            "all {} nodes at height ≥ {} agree on block {} (state root {})",
            layout.nodes.len(),
            a.height,
            a.hash,
            a.state_root
        ),
        Err(e) => println!("note: {e:#}"),
    }
    report(
        &format!("validator processes {}", args.validators),
        args.load.txs,
        &sub,
        &fin,
        args.load.timeout,
    )
}

/// Starts `nodes` as processes of this executable (cluster files in `dir`) and the runtime
/// that drives the benchmark against them.
fn start_validators(
    nodes: &[cluster::NodeSpec],
    dir: &std::path::Path,
    log_filter: &str,
) -> Result<(Cluster, tokio::runtime::Runtime)> {
    let exe = std::env::current_exe().context("locate the lazai executable")?;
    let cluster = Cluster::start(&exe, nodes, log_filter)?;
    eprintln!(
        "started {} validator processes of {} in {}",
        nodes.len(),
        exe.display(),
        dir.display()
    );
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    Ok((cluster, runtime))
}

/// Senders of the transfers `bench catchup` sends while the chain is built.
const CATCHUP_SENDERS: usize = 100;

/// How often [`wait_for_height`] asks a node for its height.
const HEIGHT_POLL: Duration = Duration::from_millis(25);

/// How often [`wait_for_height`] prints progress.
const PROGRESS_EVERY: Duration = Duration::from_secs(5);

/// When a node reached a height.
struct Reached {
    height: u64,
    at: Instant,
    /// When the node first answered `eth_blockNumber`, and the height it reported.
    first_answer: (Instant, u64),
}

/// Polls `node`'s finalized height until it is at least `target`, printing its height every
/// few seconds. Fails when a process of `cluster` exits or after `timeout`.
async fn wait_for_height(
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
struct Trickled {
    sent: AtomicUsize,
    rejected: AtomicUsize,
}

/// Submits `work` to `url` one round a second, counting into `count`.
async fn trickle(url: String, work: Workload, load: LoadArgs, count: Arc<Trickled>) {
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
struct Catchup {
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

async fn measure_catchup(
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

fn catchup(args: CatchupArgs, log_filter: &str) -> Result<()> {
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
            s = crate::shutdown_signal() => Err(anyhow!("{}: stopped", s?)),
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
