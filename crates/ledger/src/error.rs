//! Ledger errors: why a transaction cannot be included, and why a block is invalid.

use alloy_primitives::{B256, U256};

/// Why a transaction is not valid against a state (it cannot be included in a block).
///
/// Each variant maps to a distinct JSON-RPC error message on the Ethereum surface.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TxError {
    #[error("transaction too large: {size} bytes, the limit is {max}")]
    Oversized { size: usize, max: usize },
    #[error("invalid transaction encoding: {0}")]
    Decode(String),
    #[error("transaction type {0} is not supported (legacy, EIP-2930 and EIP-1559 are)")]
    UnsupportedType(u8),
    #[error("only replay-protected (EIP-155) transactions are accepted")]
    MissingChainId,
    #[error("invalid chain id: expected {expected}, got {got}")]
    WrongChainId { expected: u64, got: u64 },
    #[error("invalid signature (bad or malleable high-s signature)")]
    BadSignature,
    #[error("max priority fee per gas higher than max fee per gas")]
    TipAboveFeeCap,
    #[error("nonce too low: next nonce {expected}, tx nonce {got}")]
    NonceTooLow { expected: u64, got: u64 },
    #[error("nonce too high: next nonce {expected}, tx nonce {got}")]
    NonceTooHigh { expected: u64, got: u64 },
    #[error("max fee per gas less than block base fee: maxFeePerGas {fee_cap}, baseFee {base_fee}")]
    FeeCapTooLow { fee_cap: u128, base_fee: u64 },
    #[error("intrinsic gas too low: have {have}, want {want}")]
    IntrinsicGas { have: u64, want: u64 },
    #[error("exceeds block gas limit: tx gas {gas}, gas left in block {left}")]
    GasLimitExceeded { gas: u64, left: u64 },
    #[error("insufficient funds for gas * price + value: balance {balance}, cost {cost}")]
    InsufficientFunds { balance: U256, cost: U256 },
    #[error("max initcode size exceeded: the limit is {max} bytes")]
    InitcodeTooLarge { max: usize },
    /// The EVM refused the transaction for a reason the variants above do not name.
    #[error("{0}")]
    Evm(String),
    /// A read-only call's state override that cannot be honoured.
    #[error("invalid state override: {0}")]
    StateOverride(String),
}

/// Why a proposed block is invalid.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BlockError {
    #[error("transaction {index} ({hash}) invalid: {error}")]
    InvalidTx {
        index: usize,
        hash: B256,
        error: TxError,
    },
    #[error("transaction {index} could not be decoded: {error}")]
    UndecodableTx { index: usize, error: TxError },
    #[error("block gas used {used} exceeds gas limit {limit}")]
    GasLimit { used: u64, limit: u64 },
    #[error("header field {field} mismatch: header {header}, computed {computed}")]
    HeaderMismatch {
        field: &'static str,
        header: String,
        computed: String,
    },
}
