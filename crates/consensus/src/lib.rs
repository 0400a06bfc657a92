//! Binds the LazChain ledger to commonware Simplex consensus with marshal.
//!
//! Blocks are ordered by Simplex (ed25519 votes; one instance per epoch over the validator set
//! the chain's state elected for it, or a static set on chains without epochs) and delivered in order by marshal (standard mode, inline verification): full blocks are
//! broadcast to every validator, verified through the [`Executor`] before voting, and every
//! finalized block is handed to [`Executor::finalized`] exactly in height order.
//!
//! Entry points:
//! - [`Engine`] + [`run_authenticated`]: one validator over real authenticated p2p.
//! - [`start_validator`] / [`start_local_network`]: validators as tasks of a runtime, e.g. a
//!   devnet of N validators on loopback in one process.
//! - [`Engine::run`] with [`register_simulated`]: deterministic tests on the p2p simulator.
//!
//! The consensus digest of a block is its LazChain hash (keccak256 of the header RLP).

mod application;
mod block;
mod config;
mod devnet;
mod digest;
mod engine;
mod epochs;
mod error;
pub mod evidence;
mod executor;
mod finalizer;
pub mod keys;
mod network;
mod orchestrator;
mod scheme;
mod shared;
mod status;

pub use block::{BlockCodecConfig, ConsensusBlock};
pub use config::{DEFAULT_BLOCK_TIME, DEFAULT_MAX_FUTURE_DRIFT, EngineConfig, Timeouts, namespace};
pub use devnet::{
    DevnetConfig, LocalValidator, ValidatorHandle, devnet_key, devnet_participants,
    devnet_validators, start_local_network, start_validator,
};
pub use digest::BlockDigest;
pub use engine::{Channels, Engine, PeerTracker, channel, max_message_size};
pub use error::Error;
pub use executor::{Executor, Validator, ValidatorSet};
pub use network::{
    Gossip, GossipInbound, MAX_GOSSIP_BYTES, MAX_GOSSIP_TXS, P2pConfig, SimulatedChannels,
    decode_gossip, encode_gossip, register_simulated, run_authenticated, run_simulated,
};
pub use scheme::{ConsensusContext, SigningScheme};
pub use status::{ACTIVE_PEER_WINDOW, Status, StatusHandle};

/// The commonware runtimes the engine runs on (re-exported so the node and tests use the same
/// version).
pub use commonware_runtime as runtime;
