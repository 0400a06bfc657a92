//! Validator processes for the cluster and catch-up benchmarks.

use crate::load::Workload;
use anyhow::{Context as _, Result};
use lazai_cli::devnet::cluster::{Cluster, ClusterPlan, NodeSpec, free_loopback_addrs};
use lazai_types::{DEVNET_CHAIN_ID, lazai};
use std::time::Duration;

/// Stops every process of `cluster`, reporting any that did not exit cleanly.
pub(crate) fn stop_all(cluster: &mut Cluster) {
    for (name, status) in cluster.stop(Duration::from_secs(10)) {
        match status {
            Ok(s) if s.success() => {}
            Ok(s) => eprintln!("{name} stopped: {s}"),
            Err(e) => eprintln!("{name}: {e:#}"),
        }
    }
}

/// Starts `nodes` as processes of this executable (its hidden `node` subcommand is `lazai
/// node`; cluster files in `dir`) and the runtime that drives the benchmark against them.
pub(crate) fn start_validators(
    nodes: &[NodeSpec],
    dir: &std::path::Path,
    log_filter: &str,
) -> Result<(Cluster, tokio::runtime::Runtime)> {
    let exe = std::env::current_exe().context("locate the lazai-bench executable")?;
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

/// A cluster of `validators` validator processes on loopback whose genesis funds the load's
/// senders with 1,000 LAZAI each.
pub(crate) fn bench_plan(
    validators: usize,
    work: &Workload,
    block_time_ms: u64,
) -> Result<ClusterPlan> {
    Ok(ClusterPlan {
        chain_id: DEVNET_CHAIN_ID,
        validators: free_loopback_addrs(validators)?,
        full_nodes: Vec::new(),
        accounts: work.senders.clone(),
        balance: lazai(1_000),
        gas_limit: 2_000_000_000,
        block_time_ms,
    })
}
