//! LazChain node assembly: the chain (finalized state and unfinalized candidates), the
//! mempool, consensus, storage and the RPC server.

mod api;
mod chain;
mod devnet;
mod launch;
mod mempool;

pub use api::{NodeApi, SUGGESTED_TIP};
pub use chain::{Chain, ChainConfig, ChainError};
pub use devnet::{DEV_MNEMONIC, DEVNET_BASE_FEE, dev_account, devnet_genesis};
pub use launch::{
    DEFAULT_MAX_BLOCK_TXS, Devnet, LaunchError, NodeSettings, Validator, commonware_runtime_bounds,
    default_fee_recipient, start_devnet, start_node,
};
pub use mempool::{Mempool, MempoolConfig};
