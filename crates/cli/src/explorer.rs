//! `lazai explorer`: the web explorer beside any node, and the explorer a devnet serves on its
//! own RPC port.

use anyhow::{Context as _, Result, bail};
use clap::Args;
use lazai_explorer::{BASE_PATH, Explorer, ExplorerConfig};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

#[derive(Args, Debug)]
pub struct ExplorerArgs {
    /// JSON-RPC URL of the node to explore (any LazChain node: a validator, a full node, a
    /// devnet).
    #[arg(long, default_value = "http://127.0.0.1:8545")]
    rpc: String,
    /// Where to serve the pages (open http://ADDR/explorer).
    #[arg(long, default_value = "127.0.0.1:8080")]
    listen: SocketAddr,
    /// Directory of the explorer's index (an address's transactions, a class's holders, ...).
    /// Keep it to resume indexing where it stopped; without it a temporary directory is used
    /// and the index is rebuilt from block 0 at every start.
    #[arg(long)]
    data_dir: Option<PathBuf>,
    /// Seconds one request to the node may take before the page says the node is not
    /// answering.
    #[arg(long, default_value_t = 5)]
    rpc_timeout: u64,
}

pub fn run(args: ExplorerArgs) -> Result<()> {
    if !(args.rpc.starts_with("http://") || args.rpc.starts_with("https://")) {
        bail!(
            "--rpc must be an http:// or https:// URL, not {:?}",
            args.rpc
        );
    }
    if args.rpc_timeout == 0 || args.rpc_timeout > 600 {
        bail!("--rpc-timeout must be between 1 and 600 seconds");
    }
    let temp = tempfile::Builder::new()
        .prefix("lazai-explorer-")
        .tempdir()?;
    let dir = args
        .data_dir
        .clone()
        .unwrap_or_else(|| temp.path().to_path_buf());
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async {
        let mut config = ExplorerConfig::new(&args.rpc, &dir);
        config.rpc_timeout = Duration::from_secs(args.rpc_timeout);
        config.page_timeout = Duration::from_secs(args.rpc_timeout * 2);
        let explorer = Explorer::start(config)
            .with_context(|| format!("open the explorer's index in {}", dir.display()))?;
        let shutdown = async {
            if let Ok(signal) = crate::kit::signal::shutdown_signal().await {
                eprintln!("{signal}: shutting down");
            }
        };
        explorer
            .serve(args.listen, shutdown, |addr| {
                println!(
                    "LazAI explorer at http://{addr}{BASE_PATH} reading {}",
                    args.rpc
                );
                println!("Index: {}", dir.display());
            })
            .await?;
        Ok::<_, anyhow::Error>(())
    })?;
    drop(temp);
    Ok(())
}

/// `http://ADDR` for a listener's address, with an unspecified IP (`0.0.0.0`, `::`) replaced by
/// loopback: the URL this host reaches it at.
pub fn loopback_url(addr: SocketAddr) -> String {
    let mut addr = addr;
    if addr.ip().is_unspecified() {
        addr.set_ip(if addr.is_ipv4() {
            std::net::Ipv4Addr::LOCALHOST.into()
        } else {
            std::net::Ipv6Addr::LOCALHOST.into()
        });
    }
    format!("http://{addr}")
}

/// Starts an explorer that reads `rpc_url` and indexes into `data_dir/explorer`, and mounts
/// its pages at [`BASE_PATH`] on `server`. The caller keeps the explorer alive.
pub fn mount_on(server: &lazai_rpc::RpcHandle, rpc_url: &str, data_dir: &Path) -> Result<Explorer> {
    let explorer = Explorer::start(ExplorerConfig::new(rpc_url, data_dir.join("explorer")))
        .context("start the explorer")?;
    server.mount(BASE_PATH, explorer.router())?;
    Ok(explorer)
}
