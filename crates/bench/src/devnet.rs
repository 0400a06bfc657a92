//! A one-validator devnet in this process, for the benchmarks that measure through a node.

use anyhow::Result;
use lazai_consensus::runtime::{Runner as _, tokio as cw_tokio};
use lazai_node::{NodeSettings, dev_account, devnet_genesis, start_devnet};
use lazai_types::{DEVNET_CHAIN_ID, lazai};
use std::future::Future;
use std::path::PathBuf;
use std::time::Duration;

/// Runs `bench(rpc, dir)` against a fresh devnet (blocks every `block`; dev accounts
/// `0..accounts` funded with 1,000,000 LAZAI each) in a temporary directory named after `name`.
pub(crate) fn with_devnet<F, Fut>(
    name: &str,
    accounts: u32,
    block: Duration,
    bench: F,
) -> Result<()>
where
    F: FnOnce(String, PathBuf) -> Fut + Send + 'static,
    Fut: Future<Output = Result<()>> + Send,
{
    let dir = tempfile::Builder::new()
        .prefix(&format!("lazai-bench-{name}-"))
        .tempdir()?;
    let funded = (0..accounts)
        .map(|i| dev_account(i).map(|a| a.address()))
        .collect::<Result<Vec<_>, _>>()?;
    let settings = NodeSettings::new(
        devnet_genesis(DEVNET_CHAIN_ID, 1, &funded, lazai(1_000_000), 1_000_000_000),
        dir.path().join("chain"),
        "127.0.0.1:0".parse()?,
        block,
    );
    let p2p = lazai_cli::devnet::cluster::free_port_run(1)?;
    let keys = vec![lazai_consensus::devnet_key(0)];
    let root = dir.path().to_path_buf();
    cw_tokio::Runner::new(settings.runtime()).start(|context| async move {
        let devnet = start_devnet(context, settings, keys, p2p).await?;
        bench(format!("http://{}", devnet.rpc_addr()), root).await
    })
}
