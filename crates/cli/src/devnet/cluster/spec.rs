//! One node of a cluster: where its files are and how to reach it.

use crate::node::NodeConfig;
use anyhow::Result;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

/// The shared genesis, in the cluster directory.
pub const GENESIS_FILE: &str = "genesis.json";
/// A node's config, in its directory.
pub const CONFIG_FILE: &str = "node.toml";
/// A node's stdout and stderr, in its directory (appended to on every start).
pub const LOG_FILE: &str = "node.log";
/// A validator's consensus key, in its directory.
pub const KEY_FILE: &str = "validator.key";

/// One node process: its config file, its addresses (from the config) and its log file.
#[derive(Clone, Debug)]
pub struct NodeSpec {
    pub name: String,
    pub config: PathBuf,
    pub rpc_addr: SocketAddr,
    pub p2p_addr: SocketAddr,
    pub log: PathBuf,
}

impl NodeSpec {
    /// The node of `<dir>/node.toml`, named after `dir`, logging to `<dir>/node.log`.
    pub fn load(dir: &Path) -> Result<Self> {
        let config_path = dir.join(CONFIG_FILE);
        let config = NodeConfig::load(&config_path)?;
        let name = dir
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| dir.display().to_string());
        Ok(Self {
            name,
            config: config_path,
            rpc_addr: config.rpc_addr,
            p2p_addr: config.p2p_addr,
            log: dir.join(LOG_FILE),
        })
    }

    /// The HTTP JSON-RPC URL.
    pub fn rpc_url(&self) -> String {
        format!("http://{}", self.rpc_addr)
    }

    /// The WebSocket JSON-RPC URL (same port).
    pub fn ws_url(&self) -> String {
        format!("ws://{}", self.rpc_addr)
    }
}
