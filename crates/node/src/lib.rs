//! LazChain node assembly: the chain (finalized state and unfinalized candidates), the
//! mempool, consensus, storage and the RPC server.

mod api;
mod chain;
mod mempool;

pub use api::{NodeApi, SUGGESTED_TIP};
pub use chain::{Chain, ChainConfig, ChainError};
pub use mempool::{Mempool, MempoolConfig};
