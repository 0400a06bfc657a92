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
    with_devnet_node(name, accounts, block, move |rpc, dir, _node| {
        bench(rpc, dir)
    })
}

/// [`with_devnet`], handing the bench the validator's own API too (for what runs inside the
/// node, like the explorer's in-process block source).
pub(crate) fn with_devnet_node<F, Fut>(
    name: &str,
    accounts: u32,
    block: Duration,
    bench: F,
) -> Result<()>
where
    F: FnOnce(String, PathBuf, lazai_node::NodeApi) -> Fut + Send + 'static,
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
        let node = devnet.nodes[0].clone();
        bench(format!("http://{}", devnet.rpc_addr()), root, node).await
    })
}

/// An in-process devnet for a load run, ready to start (see [`load_devnet`]).
pub(crate) struct LoadDevnet {
    pub(crate) settings: NodeSettings,
    pub(crate) keys: Vec<lazai_consensus::keys::PrivateKey>,
    pub(crate) p2p: u16,
    /// The chain's temporary directory; removed when this is dropped.
    pub(crate) dir: tempfile::TempDir,
}

impl LoadDevnet {
    /// The runtime a load run uses: the settings' with two worker threads.
    pub(crate) fn runtime(&self) -> cw_tokio::Config {
        self.settings.runtime().with_worker_threads(2)
    }
}

/// `validators` validators in this process for `load`: `senders` funded with 1,000 LAZAI each,
/// a 2-billion block gas limit, the load's block time, RPC batches as large as its batches.
pub(crate) fn load_devnet(
    name: &str,
    senders: &[alloy_primitives::Address],
    validators: usize,
    load: &crate::args::LoadArgs,
) -> Result<LoadDevnet> {
    let genesis = devnet_genesis(
        DEVNET_CHAIN_ID,
        validators,
        senders,
        lazai(1_000),
        2_000_000_000,
    );
    let dir = tempfile::Builder::new()
        .prefix(&format!("lazai-bench-{name}-"))
        .tempdir()?;
    let mut settings = NodeSettings::new(
        genesis,
        dir.path().to_path_buf(),
        "127.0.0.1:0".parse()?,
        Duration::from_millis(load.block_time),
    );
    settings.rpc.max_batch_len = load.batch.max(1000) as u32;
    Ok(LoadDevnet {
        settings,
        keys: (0..validators).map(lazai_consensus::devnet_key).collect(),
        p2p: lazai_cli::devnet::cluster::free_port_run(validators)?,
        dir,
    })
}
