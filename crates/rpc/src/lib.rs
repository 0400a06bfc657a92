//! Ethereum JSON-RPC (`eth_*`, `net_*`, `web3_*`, `txpool_*`, `debug_trace*`) and the `lazai_*` namespace over HTTP and
//! WebSocket on one port.
//!
//! The server depends on the node only through [`ChainApi`]. Start it with [`start`]:
//!
//! ```no_run
//! # async fn run<A: lazai_rpc::ChainApi>(api: std::sync::Arc<A>) -> Result<(), lazai_rpc::RpcError> {
//! let handle = lazai_rpc::start(api, lazai_rpc::RpcConfig::default()).await?;
//! println!("listening on {}", handle.local_addr());
//! handle.stop()?;
//! handle.stopped().await;
//! # Ok(())
//! # }
//! ```
//!
//! Everything served is finalized: "latest", "safe", "finalized" and "pending" all name the
//! finalized head, and state is answered for the head only (see [`blocks`]).

mod api;
mod batch;
pub mod blocks;
pub mod convert;
pub mod debug;
pub mod dev;
pub mod devctl;
pub mod error;
pub mod eth;
pub mod fees;
pub mod filters;
pub mod ids;
pub mod lazai;
pub mod logs;
pub mod net_web3;
mod request_ids;
mod server;
pub mod subscriptions;
pub mod txpool;

pub use api::{
    CallRequest, ChainApi, FinalizedBlock, NodeStatus, PoolView, ProvenEntry, StateAt, SubmitError,
    TxInBlock, TxLookup, ValidatorStatus,
};
pub use error::{EthError, RpcError};
pub use filters::FilterConfig;
pub use lazai::{SlotProof, StateProof, SubmitFailure, SubmitResult, proof_keys, state_proof};
pub use server::{DEFAULT_PORT, RpcConfig, RpcHandle, rpc_module, start};
