//! `lazai node --config FILE`: one node of a multi-machine network — a validator when its key
//! is in the genesis set (or is elected later by stake), a non-validating full node otherwise.

use anyhow::{Context as _, Result};
use clap::Args;
use lazai_consensus::runtime::{Runner as _, tokio as cw_tokio};
use lazai_node::{NodeSettings, start_node};
use lazai_types::Genesis;
use serde::{Deserialize, Serialize};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

#[derive(Args, Debug)]
pub struct NodeArgs {
    /// Node config file (TOML; see the example in `lazai node --help`). Relative paths in it are
    /// relative to the file. A node whose key is a genesis validator's validates; any other key
    /// runs a full node that follows the chain, serves RPC and forwards transactions.
    #[arg(long)]
    config: PathBuf,
    #[command(flatten)]
    history: crate::kit::args::HistoryArgs,
}

/// The node config file.
///
/// ```toml
/// genesis = "genesis.json"
/// key = "validator.key"
/// data_dir = "data"
/// rpc_addr = "127.0.0.1:8545"
/// p2p_addr = "0.0.0.0:30300"
/// block_time_ms = 500
/// explorer = true          # serve the web explorer at http://RPC_ADDR/explorer (optional)
///
/// # Full nodes allowed to connect to this validator and follow it (optional).
/// [[observers]]
/// key = "9c1f…"            # the full node's public key (`lazai keys show`)
/// addr = "10.0.0.9:30300"
/// ```
#[derive(Serialize, Deserialize, Debug, Clone)]
#[serde(deny_unknown_fields)]
pub struct NodeConfig {
    pub genesis: PathBuf,
    pub key: PathBuf,
    pub data_dir: PathBuf,
    #[serde(default = "default_rpc")]
    pub rpc_addr: SocketAddr,
    pub p2p_addr: SocketAddr,
    #[serde(default = "default_block_time")]
    pub block_time_ms: u64,
    /// Full nodes allowed to connect to this node and receive consensus traffic.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub observers: Vec<Observer>,
    /// Serve the web explorer on the RPC port at `/explorer`, indexing into
    /// `DATA_DIR/explorer` (off unless set).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub explorer: bool,
}

/// A full node a validator lets follow it.
#[derive(Serialize, Deserialize, Debug, Clone)]
#[serde(deny_unknown_fields)]
pub struct Observer {
    /// Hex of its ed25519 public key.
    pub key: String,
    /// Its p2p address.
    pub addr: SocketAddr,
}

fn default_rpc() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], 8545))
}

fn default_block_time() -> u64 {
    500
}

fn resolve(base: &Path, p: &Path) -> PathBuf {
    if p.is_absolute() {
        p.to_path_buf()
    } else {
        base.join(p)
    }
}

impl NodeConfig {
    /// Reads and parses a config file.
    pub fn load(path: &Path) -> Result<Self> {
        let text =
            std::fs::read_to_string(path).with_context(|| format!("read {}", path.display()))?;
        toml::from_str(&text).with_context(|| format!("parse {}", path.display()))
    }

    /// Writes this config to `path`.
    pub fn store(&self, path: &Path) -> Result<()> {
        std::fs::write(path, toml::to_string(self)?)
            .with_context(|| format!("write {}", path.display()))
    }
}

pub fn run(args: NodeArgs) -> Result<()> {
    let config = NodeConfig::load(&args.config)?;
    let base = args.config.parent().unwrap_or(Path::new("."));
    let genesis_path = resolve(base, &config.genesis);
    let genesis_text = std::fs::read_to_string(&genesis_path)
        .with_context(|| format!("read {}", genesis_path.display()))?;
    let genesis = Genesis::parse(&genesis_text)
        .with_context(|| format!("genesis {}", genesis_path.display()))?;
    let key = crate::keys::read_key(&resolve(base, &config.key))?;
    let data_dir = resolve(base, &config.data_dir);
    let mut settings = NodeSettings::new(
        genesis,
        data_dir.clone(),
        config.rpc_addr,
        Duration::from_millis(config.block_time_ms.clamp(1, 60_000)),
    );
    settings.history = args.history.history();
    for observer in &config.observers {
        let key = lazai_consensus::keys::public_key_from_hex(&observer.key).with_context(|| {
            format!(
                "observer key {:?} in {}",
                observer.key,
                args.config.display()
            )
        })?;
        settings.observers.push((key, observer.addr));
    }
    let runtime = settings.runtime();
    cw_tokio::Runner::new(runtime).start(|context| async move {
        let node = start_node(context, settings, key, config.p2p_addr)
            .await
            .map_err(|e| match e.p2p_addr_in_use() {
                Some(addr) => anyhow::anyhow!(
                    "p2p address {addr} is in use; change p2p_addr in {}",
                    args.config.display()
                ),
                None => e.into(),
            })?;
        println!(
            "node running: rpc http://{} p2p {}",
            node.rpc.local_addr(),
            config.p2p_addr
        );
        let explorer = if config.explorer {
            let own = crate::explorer::loopback_url(node.rpc.local_addr());
            let explorer = crate::explorer::mount_on(
                &node.rpc,
                &own,
                std::sync::Arc::new(node.node.clone()),
                &data_dir,
            )?;
            println!("explorer: {own}{}", lazai_explorer::BASE_PATH);
            Some(explorer)
        } else {
            None
        };
        let signal = crate::kit::signal::shutdown_signal().await?;
        eprintln!("{signal}: shutting down");
        drop(explorer);
        Ok::<_, anyhow::Error>(())
    })
}
