//! LazChain primitive types: block headers, blocks, receipts, genesis and their canonical encodings.
//!
//! Everything here is plain data with a canonical RLP encoding. Hashes that appear on the
//! Ethereum surface (block hash, transactions root, receipts root) are computed the way Ethereum
//! computes them, so ordinary clients can check them.

mod block;
mod dev;
mod genesis;
mod receipt;

pub use alloy_primitives::{
    Address, B256, Bloom, Bytes, Log, LogData, U256, address, b256, keccak256,
};
pub use block::{Block, FinalizedBlock, Header, MAX_BLOCK_BYTES, MAX_TX_BYTES, NotAChild};
pub use dev::DevControls;
pub use genesis::{
    DEFAULT_EPOCH_LENGTH, DEFAULT_GENESIS_STAKE, DEFAULT_MAX_VALIDATORS,
    DEFAULT_MIN_VALIDATOR_STAKE, DEFAULT_SLASH_BPS, DEFAULT_UNBONDING_DELAY, Genesis,
    GenesisAccount, GenesisCall, GenesisError, GenesisValidator, MAX_BPS, StakingParams,
    decode_hex32,
};
pub use receipt::{Receipt, logs_bloom};

/// LazAI devnet chain id, as LazAI's SDK names it.
pub const DEVNET_CHAIN_ID: u64 = 133_718;

/// One LAZAI in wei (the native coin has 18 decimals).
pub const LAZAI: u128 = 1_000_000_000_000_000_000;

/// Converts a whole number of LAZAI to wei.
pub fn lazai(whole: u64) -> U256 {
    U256::from(whole) * U256::from(LAZAI)
}
