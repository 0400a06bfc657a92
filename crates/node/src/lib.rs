//! LazChain node assembly: the chain (finalized state and unfinalized candidates), the
//! mempool, consensus, storage and the RPC server.

mod api;
mod chain;
mod devnet;
mod ingress;
mod launch;
mod mempool;
pub mod ports;
mod state;

pub use api::{NodeApi, SUGGESTED_TIP};
pub use chain::{Chain, ChainConfig, ChainError, StateAtError, genesis_document};
pub use devnet::{
    DEV_MNEMONIC, DEVNET_BASE_FEE, DEVNET_FLOW_DEADLINE_BLOCKS, DEVNET_IDAO_SCHEMA,
    DEVNET_OPERATOR_INDEX, DEVNET_USAGE_QUOTA, DEVNET_WORKER_INDEX, dev_account, devnet_genesis,
    devnet_worker_secret, with_default_idao,
};
pub use launch::{
    DEFAULT_MAX_BLOCK_TXS, Devnet, LaunchError, NodeSettings, Validator, commonware_runtime_bounds,
    default_fee_recipient, start_devnet, start_node,
};
pub use lazai_storage::{DEFAULT_HISTORY, History};
pub use mempool::{AdmitError, Mempool, MempoolConfig};
pub use state::{Prefetcher, StoreSource, recover_state, state_writes};
