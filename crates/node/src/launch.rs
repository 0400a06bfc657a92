//! Starting nodes: a devnet of N validators in one process, or one validator from a config
//! file. Both run every validator through the same consensus engine over real authenticated
//! p2p on the configured addresses, and serve JSON-RPC from one node's chain.

use crate::api::NodeApi;
use crate::chain::{Chain, ChainConfig, ChainError};
use crate::mempool::{Mempool, MempoolConfig};
use lazai_consensus::keys::{self, PrivateKey};
use lazai_consensus::{
    EngineConfig, Gossip, LocalValidator, P2pConfig, ValidatorHandle, start_local_network,
    start_validator,
};
use lazai_rpc::{RpcConfig, RpcHandle, ValidatorStatus};
use lazai_types::{Address, Genesis, keccak256};
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;
use tracing::info;

/// Most transactions a block built by this node carries. Bounded so that a validator that has
/// not seen them yet (they reached the proposer before their gossip reached it) can still
/// recover their signatures and execute them inside one view's timeout on modest hardware.
pub const DEFAULT_MAX_BLOCK_TXS: usize = 10_000;
/// Gossiped transaction batches waiting for admission before new ones are dropped.
const GOSSIP_QUEUE: usize = 256;
/// Most transaction bytes a block built by this node carries (leaves room for the header).
pub const DEFAULT_MAX_BLOCK_TX_BYTES: usize = 12 * 1024 * 1024;

/// Errors starting a node.
#[derive(Debug, thiserror::Error)]
pub enum LaunchError {
    #[error(transparent)]
    Chain(#[from] ChainError),
    #[error("consensus: {0}")]
    Consensus(#[from] lazai_consensus::Error),
    #[error("rpc: {0}")]
    Rpc(String),
    #[error("{0}")]
    Config(String),
    #[error("io: {0}")]
    Io(#[from] std::io::Error),
    /// The p2p listen address cannot be bound (`source.kind()` is `AddrInUse` when another
    /// process holds it).
    #[error("p2p address {addr}: {source}")]
    P2pBind {
        addr: SocketAddr,
        source: std::io::Error,
    },
}

impl LaunchError {
    /// The p2p address that is already in use, if that is why the node did not start.
    pub fn p2p_addr_in_use(&self) -> Option<SocketAddr> {
        match self {
            Self::P2pBind { addr, source } if source.kind() == std::io::ErrorKind::AddrInUse => {
                Some(*addr)
            }
            _ => None,
        }
    }
}

/// Checks that `addr` can be bound now. The p2p listener binds it later inside a spawned
/// task, where a failure could only abort the process after the RPC server had started;
/// probing first turns a taken port into an error before anything runs.
fn probe_p2p(addr: SocketAddr) -> Result<(), LaunchError> {
    std::net::TcpListener::bind(addr)
        .map(drop)
        .map_err(|source| LaunchError::P2pBind { addr, source })
}

/// The fee recipient of a validator that did not name one: the last 20 bytes of the keccak
/// hash of its consensus key, so every validator's fees land in a distinct account.
pub fn default_fee_recipient(consensus_key: &keys::PublicKey) -> Address {
    Address::from_slice(&keccak256(consensus_key.as_ref())[12..])
}

/// Settings shared by devnets and config-file nodes.
#[derive(Clone, Debug)]
pub struct NodeSettings {
    pub genesis: Genesis,
    /// Where each validator's chain database lives (`<data_dir>/<name>/chain.redb`).
    pub data_dir: PathBuf,
    pub rpc: RpcConfig,
    pub block_time: Duration,
    pub mempool: MempoolConfig,
    pub max_block_txs: usize,
    /// Non-validating nodes (key, address) allowed to connect and follow this one.
    pub observers: Vec<(keys::PublicKey, SocketAddr)>,
    /// How many finalized blocks' state stay readable (RPC reads at a block, proofs).
    pub history: lazai_storage::History,
    /// An in-process devnet's controls (blocks on demand when `block_time` is zero, a movable
    /// clock, `evm_mine` and friends over RPC); `None` for every real node.
    pub dev: Option<lazai_types::DevControls>,
}

impl NodeSettings {
    /// Settings with the default mempool and block limits.
    pub fn new(
        genesis: Genesis,
        data_dir: PathBuf,
        rpc_addr: SocketAddr,
        block_time: Duration,
    ) -> Self {
        Self {
            genesis,
            data_dir,
            rpc: RpcConfig {
                addr: rpc_addr,
                ..RpcConfig::default()
            },
            block_time,
            mempool: MempoolConfig::default(),
            max_block_txs: DEFAULT_MAX_BLOCK_TXS,
            observers: Vec::new(),
            history: lazai_storage::DEFAULT_HISTORY,
            dev: None,
        }
    }

    /// The commonware tokio runtime for these settings: consensus storage under
    /// `<data_dir>/consensus`, one worker thread per core (at least two).
    pub fn runtime(&self) -> lazai_consensus::runtime::tokio::Config {
        let threads = std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(2)
            .max(2);
        lazai_consensus::runtime::tokio::Config::new()
            .with_storage_directory(self.data_dir.join("consensus"))
            .with_worker_threads(threads)
    }
}

/// A running devnet.
pub struct Devnet {
    /// The JSON-RPC server (serving validator 0's chain).
    pub rpc: RpcHandle,
    /// A second JSON-RPC server on the same chain, on an ephemeral 127.0.0.1 port, for the
    /// services running in the devnet's own process: its connections do not count against
    /// the public server's limit, so a public server full of clients does not starve them.
    pub internal_rpc: RpcHandle,
    /// Every validator's API, in genesis order.
    pub nodes: Vec<NodeApi>,
    pub validators: Vec<ValidatorHandle>,
}

impl Devnet {
    pub fn rpc_addr(&self) -> SocketAddr {
        self.rpc.local_addr()
    }

    /// The address of [`Devnet::internal_rpc`].
    pub fn internal_rpc_addr(&self) -> SocketAddr {
        self.internal_rpc.local_addr()
    }
}

fn validator_statuses(genesis: &Genesis) -> Vec<ValidatorStatus> {
    genesis
        .validators
        .iter()
        .map(|v| ValidatorStatus {
            name: v.name.clone(),
            address: v.fee_recipient,
            consensus_key: v.consensus_key.clone(),
            stake: v.stake,
        })
        .collect()
}

fn open_chain(
    settings: &NodeSettings,
    name: &str,
    mempool: Arc<Mempool>,
) -> Result<Chain, LaunchError> {
    let dir = settings.data_dir.join(name);
    std::fs::create_dir_all(&dir)?;
    Ok(Chain::open(
        ChainConfig {
            genesis: settings.genesis.clone(),
            db_path: dir.join("chain.redb"),
            max_block_txs: settings.max_block_txs,
            max_block_tx_bytes: DEFAULT_MAX_BLOCK_TX_BYTES,
            history: settings.history,
            db_cache_bytes: lazai_storage::DEFAULT_CACHE_BYTES,
        },
        mempool,
    )?)
}

/// The engine configuration of a node with `signer`: genesis validator `index`, or a node
/// outside the genesis set (`None`: a full node, or a validator elected later).
fn engine_config(
    settings: &NodeSettings,
    signer: PrivateKey,
    index: Option<usize>,
) -> Result<EngineConfig, LaunchError> {
    let participants = keys::genesis_participants(&settings.genesis)?;
    let fee_recipient = match index {
        Some(i) => settings.genesis.validators[i].fee_recipient,
        None => default_fee_recipient(&keys::public_key(&signer)),
    };
    let mut config = EngineConfig::new(
        signer,
        fee_recipient,
        participants,
        settings.genesis.chain_id,
    );
    config.block_time = settings.block_time;
    config.dev = settings.dev.clone();
    config.epoch_length = std::num::NonZeroU64::new(settings.genesis.staking.epoch_length);
    config.max_validators = config
        .participants
        .len()
        .max(settings.genesis.staking.max_validators as usize);
    config.partition_prefix = match index {
        Some(i) => format!("v{i}"),
        None => "node".to_string(),
    };
    config.validate()?;
    Ok(config)
}

/// Starts every validator of `settings.genesis` in this process, with the given private keys
/// (genesis order) and p2p ports `p2p_base_port + i` on 127.0.0.1. The validators share one
/// mempool (they share a process); each keeps its own chain state and database.
pub async fn start_devnet<E>(
    context: E,
    settings: NodeSettings,
    signers: Vec<PrivateKey>,
    p2p_base_port: u16,
) -> Result<Devnet, LaunchError>
where
    E: commonware_runtime_bounds::Context,
{
    if signers.len() != settings.genesis.validators.len() {
        return Err(LaunchError::Config(format!(
            "{} keys for {} genesis validators",
            signers.len(),
            settings.genesis.validators.len()
        )));
    }
    let mempool = Arc::new(Mempool::new(settings.mempool.clone()));
    let mut locals = Vec::new();
    let mut chains = Vec::new();
    for (i, signer) in signers.into_iter().enumerate() {
        let chain = open_chain(&settings, &format!("v{i}"), mempool.clone())?;
        let port = p2p_base_port
            .checked_add(i as u16)
            .ok_or_else(|| LaunchError::Config("p2p port overflow".into()))?;
        let p2p_addr = SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), port);
        probe_p2p(p2p_addr)?;
        locals.push(LocalValidator {
            config: engine_config(&settings, signer, Some(i))?,
            p2p_addr,
            executor: chain.clone(),
        });
        chains.push(chain);
    }
    let validators = start_local_network(context, locals)?;
    let statuses = validator_statuses(&settings.genesis);
    let nodes: Vec<NodeApi> = chains
        .into_iter()
        .zip(&validators)
        .map(|(chain, v)| NodeApi::new(chain, statuses.clone(), Some(v.status.clone())))
        .collect();
    let public = RpcConfig {
        dev_controls: settings.dev.clone(),
        ..settings.rpc.clone()
    };
    let rpc = lazai_rpc::start(Arc::new(nodes[0].clone()), public.clone())
        .await
        .map_err(|e| LaunchError::Rpc(e.to_string()))?;
    let internal = RpcConfig {
        addr: SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), 0),
        max_connections: RpcConfig::default().max_connections,
        ..public
    };
    let internal_rpc = lazai_rpc::start(Arc::new(nodes[0].clone()), internal)
        .await
        .map_err(|e| LaunchError::Rpc(e.to_string()))?;
    info!(rpc = %rpc.local_addr(), internal_rpc = %internal_rpc.local_addr(),
        validators = nodes.len(), "devnet running");
    Ok(Devnet {
        rpc,
        internal_rpc,
        nodes,
        validators,
    })
}

/// A single node started from a config file.
pub struct Validator {
    pub rpc: RpcHandle,
    pub node: NodeApi,
    pub handle: ValidatorHandle,
}

/// Starts one node. With a genesis validator's key it validates from the first block; with any
/// other key it follows the chain as a full node (verifying every certificate, serving RPC and
/// forwarding transactions to the validators), and it starts voting in any epoch whose
/// stake-elected set includes its key. Genesis validators' `p2p_addr`s are the bootstrap
/// addresses; a validator elected later is dialed at the address it registered on chain.
pub async fn start_node<E>(
    context: E,
    settings: NodeSettings,
    signer: PrivateKey,
    p2p_listen: SocketAddr,
) -> Result<Validator, LaunchError>
where
    E: commonware_runtime_bounds::Context,
{
    let me = keys::public_key_to_hex(&keys::public_key(&signer));
    let index = settings.genesis.validators.iter().position(|v| {
        v.consensus_key
            .trim_start_matches("0x")
            .eq_ignore_ascii_case(&me)
    });
    let mut peers = Vec::new();
    for v in &settings.genesis.validators {
        let Some(addr) = v.p2p_addr.as_deref() else {
            continue;
        };
        let addr: SocketAddr = addr.parse().map_err(|e| {
            LaunchError::Config(format!("validator {} p2p_addr {addr:?}: {e}", v.name))
        })?;
        peers.push((keys::public_key_from_hex(&v.consensus_key)?, addr));
    }
    if peers
        .iter()
        .all(|(key, _)| keys::public_key_to_hex(key) == me)
        && settings.genesis.validators.len() > 1
    {
        return Err(LaunchError::Config(
            "no genesis validator lists a p2p_addr to connect to".into(),
        ));
    }
    probe_p2p(p2p_listen)?;
    let mempool = Arc::new(Mempool::new(settings.mempool.clone()));
    let chain = open_chain(&settings, "chain", mempool)?;
    let config = engine_config(&settings, signer, index)?;
    let local = p2p_listen.ip().is_loopback() || peers.iter().all(|(_, a)| !is_global(a));
    let (gossip_out, outbound) = futures::channel::mpsc::unbounded();
    let node = NodeApi::new(chain.clone(), validator_statuses(&settings.genesis), None)
        .with_gossip(gossip_out);
    // Gossiped batches are admitted one at a time, in arrival order: a sender's transactions
    // arrive in nonce order, and admitting two batches concurrently could open a nonce gap that
    // makes the mempool refuse the rest of that sender's run. (Each batch still recovers its
    // signatures in parallel.)
    let (admit_tx, admit_rx) =
        std::sync::mpsc::sync_channel::<Vec<lazai_types::Bytes>>(GOSSIP_QUEUE);
    let receiver = node.clone();
    std::thread::Builder::new()
        .name("gossip-admission".into())
        .spawn(move || {
            while let Ok(txs) = admit_rx.recv() {
                receiver.receive_gossip(txs);
            }
        })?;
    let gossip = Gossip {
        outbound,
        inbound: Arc::new(move |peer, txs| {
            if admit_tx.try_send(txs).is_err() {
                tracing::debug!(%peer, "gossip admission queue full; dropping a batch");
            }
        }),
    };
    let handle = start_validator(
        context,
        config,
        P2pConfig {
            listen: p2p_listen,
            peers,
            observers: settings.observers.clone(),
            local,
        },
        chain.clone(),
        Some(gossip),
    )?;
    let node = node.with_consensus(handle.status.clone());
    let rpc = lazai_rpc::start(Arc::new(node.clone()), settings.rpc.clone())
        .await
        .map_err(|e| LaunchError::Rpc(e.to_string()))?;
    match index {
        Some(index) => {
            info!(rpc = %rpc.local_addr(), p2p = %p2p_listen, index, "genesis validator running")
        }
        None => info!(
            rpc = %rpc.local_addr(),
            p2p = %p2p_listen,
            key = %me,
            "node running (full node until elected into an epoch's validator set)"
        ),
    }
    Ok(Validator { rpc, node, handle })
}

fn is_global(addr: &SocketAddr) -> bool {
    match addr.ip() {
        IpAddr::V4(ip) => !(ip.is_private() || ip.is_loopback() || ip.is_link_local()),
        IpAddr::V6(ip) => !ip.is_loopback(),
    }
}

/// The runtime capabilities a node needs (the commonware runtime's context traits).
pub mod commonware_runtime_bounds {
    use lazai_consensus::runtime::{Clock, Metrics, Network, Resolver, Spawner, Storage};

    /// A runtime context that can run validators.
    pub trait Context:
        Spawner
        + Metrics
        + Clock
        + Storage
        + Network
        + Resolver
        + rand_core::CryptoRng
        + Send
        + 'static
    {
    }
    impl<T> Context for T where
        T: Spawner
            + Metrics
            + Clock
            + Storage
            + Network
            + Resolver
            + rand_core::CryptoRng
            + Send
            + 'static
    {
    }
}
