//! `lazai-bench`: benchmarks of LazChain, apart from the production `lazai` binary. Signed
//! transfers through the full path — JSON-RPC ingest, mempool, consensus, execution, commit —
//! with finalized throughput and submit-to-finalized latency, and the DAT, attestation, data
//! contribution and inference figures the README quotes.
//!
//! `transfers` runs an in-process devnet and also measures the single-core and all-core
//! sender-recovery rate, the physical ceiling of this path. `cluster` runs one `lazai node`
//! process per validator and submits everything to validator 0's JSON-RPC. `catchup` measures
//! how fast a fresh full node process follows a chain it is far behind. `dat` measures the
//! DataAnchoringToken module's operations in an in-process devnet and its settlement and claim
//! cost against a class's number of holders.

use alloy_primitives::Bytes;
use anyhow::{Result, anyhow, bail};
use clap::Subcommand;
use lazai_cli::devnet::cluster;
use lazai_consensus::runtime::{Runner as _, tokio as cw_tokio};
use lazai_node::start_devnet;
use std::time::Duration;

mod args;
mod attest;
mod catchup;
mod dat;
mod data;
mod devnet;
mod evm;
mod explorer;
pub mod inference;
mod load;
pub mod optimistic;
mod processes;
mod state;
pub mod zk;

pub use args::{CatchupArgs, ClusterArgs, LoadArgs, TransfersArgs};
use catchup::catchup;
pub use dat::{DatArgs, DatReport, HolderFigures, KindFigures, run_dat};
use load::{Workload, chain_feed, collect, recovery_rates, report, rpc_feed, submit};
use processes::{bench_plan, start_validators, stop_all};

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
    /// Proof of inference: constraints, setup and prove time, native verification time,
    /// verification gas and peak memory for the demo's wine model, a 784-56-10 MLP and the
    /// largest dense MLP proved within --budget-secs.
    Zk(zk::ZkArgs),
    /// Optimistic results and the fraud-proof game: gas of the post, each move and the
    /// one-step proof, moves of a full dispute, wall time to final and to proven fraud, for
    /// the demo's model and a 4.2M-parameter MLP; one-step gas up to 4,096-wide layers.
    Optimistic(optimistic::OptimisticArgs),
    /// The chain at 10k, 1M and 10M state entries: node start-up time, resident memory and
    /// finalized transfers/s for the same load at each size, and the time to commit a block of
    /// --changes changed entries (root, then write).
    State(state::StateArgs),
    /// ERC-20 transfers (a compiled Solidity token) finalized through the whole node beside
    /// native transfers in the same run, and the EVM's execution rate alone (Mgas/s).
    Evm(evm::EvmArgs),
    /// The web explorer: page latency p50/p99 per page type on the demo's chain and on it
    /// after --transfers more transactions, and index catch-up in blocks/s against the chain's
    /// block production, reading the node in process (as devnets and nodes serve it) and over
    /// JSON-RPC (as `lazai explorer` does).
    Explorer(explorer::ExplorerArgs),
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
        BenchCommand::Zk(args) => zk::run(args),
        BenchCommand::Optimistic(args) => optimistic::run(args),
        BenchCommand::State(args) => state::run(args),
        BenchCommand::Evm(args) => evm::run(args),
        BenchCommand::Explorer(args) => explorer::run(args),
    }
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

    let net = devnet::load_devnet("transfers", &work.senders, args.validators, &args.load)?;
    let runtime = net.runtime();
    let devnet::LoadDevnet {
        settings,
        keys,
        p2p,
        dir: _dir,
    } = net;
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
    let plan = bench_plan(args.validators, &work, args.load.block_time)?;
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
            s = lazai_cli::shutdown_signal() => return Err(anyhow!("{}: stopped", s?)),
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
