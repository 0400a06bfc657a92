//! Validator processes for the cluster and catch-up benchmarks.

use anyhow::{Context as _, Result};
use lazai_cli::devnet::cluster::{Cluster, NodeSpec};
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
