//! A local network of `lazai node` processes on one machine.
//!
//! A cluster directory holds the shared `genesis.json` and one directory per node
//! (`validator-0`, `validator-1`, ...) with the node's `node.toml`, its key file, its `data`
//! directory and its `node.log`. [`init_or_load`] creates one (fresh keys, a genesis naming
//! every validator's p2p address, one config per node) or reads an existing one, and
//! [`Cluster`] runs one `lazai node --config <dir>/node.toml` process per node. Everything
//! about running a process goes through a [`NodeSpec`] (a config file and where the output
//! goes), so nodes of any role run the same way.

mod process;
mod rpc;
mod spec;

pub use self::process::{Cluster, Event, NodeExit, NodeProcess, RestartPolicy, tail};
pub use self::rpc::{
    Agreement, agreement, agreement_at, block_by_number, block_number, http_client, parse_quantity,
    rpc_call,
};
pub use self::spec::{CONFIG_FILE, GENESIS_FILE, KEY_FILE, LOG_FILE, NodeSpec};
pub use lazai_node::ports::{free_port_run, free_ports};

use crate::node::NodeConfig;
use anyhow::{Context as _, Result, bail};
use lazai_node::devnet_genesis;
use lazai_types::{Address, Genesis, U256};
use std::net::{Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};

/// Port offset between a node's RPC port and its p2p port under [`loopback_addrs`].
pub const P2P_PORT_OFFSET: u16 = 100;

/// What a new cluster directory is created with.
#[derive(Clone, Debug)]
pub struct ClusterPlan {
    pub chain_id: u64,
    /// `(rpc, p2p)` listen addresses of each validator, in genesis order.
    pub validators: Vec<(SocketAddr, SocketAddr)>,
    /// `(rpc, p2p)` listen addresses of non-validating full nodes (`full-node-<i>`), which
    /// every validator lets follow it.
    pub full_nodes: Vec<(SocketAddr, SocketAddr)>,
    /// Accounts funded at genesis (the first is governance).
    pub accounts: Vec<Address>,
    /// Balance of each account, in wei.
    pub balance: U256,
    pub gas_limit: u64,
    pub block_time_ms: u64,
}

/// `count` nodes on 127.0.0.1: node i serves RPC on `base + i` and p2p on
/// `base + P2P_PORT_OFFSET + i`.
pub fn loopback_addrs(base: u16, count: usize) -> Result<Vec<(SocketAddr, SocketAddr)>> {
    (0..count)
        .map(|i| {
            let rpc = u16::try_from(i).ok().and_then(|i| base.checked_add(i));
            let p2p = rpc.and_then(|p| p.checked_add(P2P_PORT_OFFSET));
            match (rpc, p2p) {
                (Some(rpc), Some(p2p)) => Ok((loopback(rpc), loopback(p2p))),
                _ => bail!("base port {base} leaves no room for {count} nodes"),
            }
        })
        .collect()
}

/// `count` nodes on 127.0.0.1 with RPC and p2p ports that were free a moment ago.
pub fn free_loopback_addrs(count: usize) -> Result<Vec<(SocketAddr, SocketAddr)>> {
    let ports = free_ports(count * 2)?;
    Ok(ports
        .chunks(2)
        .map(|p| (loopback(p[0]), loopback(p[1])))
        .collect())
}

fn loopback(port: u16) -> SocketAddr {
    SocketAddr::from((Ipv4Addr::LOCALHOST, port))
}

/// A cluster directory and its nodes.
#[derive(Clone, Debug)]
pub struct ClusterLayout {
    pub dir: PathBuf,
    pub genesis: Genesis,
    /// The validators in genesis order, then any other node directories by name.
    pub nodes: Vec<NodeSpec>,
    /// Whether [`init_or_load`] created the directory's files (rather than reusing them).
    pub created: bool,
}

fn validator_dir(dir: &Path, i: usize) -> PathBuf {
    dir.join(format!("validator-{i}"))
}

fn full_node_dir(dir: &Path, i: usize) -> PathBuf {
    dir.join(format!("full-node-{i}"))
}

/// Reuses the cluster in `dir` if it has a genesis, otherwise creates one from `plan`: a new
/// key, config and log location per validator, and a genesis that funds `plan.accounts`
/// like the in-process devnet does. The genesis is written last, so an interrupted creation
/// is simply redone.
pub fn init_or_load(dir: &Path, plan: &ClusterPlan) -> Result<ClusterLayout> {
    if dir.join(GENESIS_FILE).exists() {
        let layout = load(dir)?;
        if layout.genesis.validators.len() != plan.validators.len() {
            bail!(
                "{} was created with {} validators; start it with --validators {} or use another directory",
                dir.display(),
                layout.genesis.validators.len(),
                layout.genesis.validators.len()
            );
        }
        return Ok(layout);
    }
    create(dir, plan)
}

/// Creates `node_dir` with a new key file and a config listening on `(rpc, p2p)` that accepts
/// `observers`; returns the node's public key.
fn write_node(
    node_dir: &Path,
    (rpc_addr, p2p_addr): (SocketAddr, SocketAddr),
    plan: &ClusterPlan,
    observers: &[crate::node::Observer],
) -> Result<lazai_consensus::keys::PublicKey> {
    std::fs::create_dir_all(node_dir).with_context(|| format!("create {}", node_dir.display()))?;
    let public = crate::keys::generate_key_file(&node_dir.join(KEY_FILE))?;
    NodeConfig {
        genesis: Path::new("..").join(GENESIS_FILE),
        key: KEY_FILE.into(),
        data_dir: "data".into(),
        rpc_addr,
        p2p_addr,
        block_time_ms: plan.block_time_ms,
        observers: observers.to_vec(),
        explorer: true,
    }
    .store(&node_dir.join(CONFIG_FILE))?;
    Ok(public)
}

fn create(dir: &Path, plan: &ClusterPlan) -> Result<ClusterLayout> {
    if plan.validators.is_empty() {
        bail!("a cluster needs at least one validator");
    }
    let mut genesis = devnet_genesis(
        plan.chain_id,
        0,
        &plan.accounts,
        plan.balance,
        plan.gas_limit,
    );
    // Full nodes first: every validator's config lists them as observers.
    let mut observers = Vec::new();
    for (i, (rpc_addr, p2p_addr)) in plan.full_nodes.iter().enumerate() {
        let public = write_node(&full_node_dir(dir, i), (*rpc_addr, *p2p_addr), plan, &[])?;
        observers.push(crate::node::Observer {
            key: lazai_consensus::keys::public_key_to_hex(&public),
            addr: *p2p_addr,
        });
    }
    for (i, (rpc_addr, p2p_addr)) in plan.validators.iter().enumerate() {
        let public = write_node(
            &validator_dir(dir, i),
            (*rpc_addr, *p2p_addr),
            plan,
            &observers,
        )?;
        genesis
            .validators
            .push(crate::genesis::genesis_validator(i, &public, *p2p_addr));
    }
    if let Err(e) = genesis.validate() {
        bail!("invalid genesis: {e}");
    }
    let path = dir.join(GENESIS_FILE);
    std::fs::write(&path, serde_json::to_string_pretty(&genesis)?)
        .with_context(|| format!("write {}", path.display()))?;
    let mut layout = load(dir)?;
    layout.created = true;
    Ok(layout)
}

/// Reads the cluster in `dir`: its genesis, its validators' directories and any other
/// directory holding a node config.
pub fn load(dir: &Path) -> Result<ClusterLayout> {
    let path = dir.join(GENESIS_FILE);
    let text =
        std::fs::read_to_string(&path).with_context(|| format!("read {}", path.display()))?;
    let genesis = Genesis::parse(&text).with_context(|| format!("parse {}", path.display()))?;
    let mut nodes = Vec::new();
    let mut validator_dirs = Vec::new();
    for i in 0..genesis.validators.len() {
        let node_dir = validator_dir(dir, i);
        if !node_dir.join(CONFIG_FILE).exists() {
            bail!(
                "{} has a genesis but no {}; it is not a cluster directory (made by `lazai devnet --processes`)",
                dir.display(),
                node_dir.join(CONFIG_FILE).display()
            );
        }
        nodes.push(NodeSpec::load(&node_dir)?);
        validator_dirs.push(node_dir);
    }
    let mut others: Vec<PathBuf> = std::fs::read_dir(dir)
        .with_context(|| format!("read {}", dir.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.join(CONFIG_FILE).is_file() && !validator_dirs.contains(p))
        .collect();
    others.sort();
    for d in others {
        nodes.push(NodeSpec::load(&d)?);
    }
    Ok(ClusterLayout {
        dir: dir.to_path_buf(),
        genesis,
        nodes,
        created: false,
    })
}

/// Prints one line per node: name, RPC URL, p2p address, log file.
pub fn print_table(nodes: &[NodeSpec]) {
    let width = nodes.iter().map(|n| n.name.len()).max().unwrap_or(4).max(4);
    println!("{:<width$}  {:<26}  {:<21}  log", "name", "rpc", "p2p");
    for n in nodes {
        println!(
            "{:<width$}  {:<26}  {:<21}  {}",
            n.name,
            n.rpc_url(),
            n.p2p_addr,
            n.log.display()
        );
    }
}
