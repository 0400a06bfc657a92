//! Errors: the server's own ([`RpcError`]) and the JSON-RPC error objects that methods return
//! ([`EthError`]).
//!
//! Codes follow geth so that wallets and libraries recognise them:
//! - `3` for a reverted `eth_call` / `eth_estimateGas`, with the revert data as hex in `data`
//!   and `"execution reverted: <reason>"` when the data is a Solidity `Error(string)`;
//! - `-32000` for refused transactions and failed executions, with geth's message texts;
//! - `-32602` for parameters that parse but make no sense (the server itself answers
//!   `-32602` for parameters that do not parse and `-32601` for unknown methods);
//! - `-32005` when a query exceeds a server limit (block range, result count, filters).

use crate::api::SubmitError;
use alloy_primitives::Bytes;
use alloy_sol_types::{Revert, SolError};
use jsonrpsee::types::ErrorObjectOwned;
use lazai_ledger::TxError;
use std::net::SocketAddr;

/// `eth_call` / `eth_estimateGas` reverted.
pub const EXECUTION_REVERTED_CODE: i32 = 3;
/// Generic server-side failure (geth's code for refused transactions and failed calls).
pub const SERVER_ERROR_CODE: i32 = -32000;
/// The request exceeds a limit of this server.
pub const LIMIT_EXCEEDED_CODE: i32 = -32005;
/// EIP-1474's "method not supported".
pub const METHOD_NOT_SUPPORTED_CODE: i32 = -32004;
/// Parameters are well-formed JSON but invalid.
pub const INVALID_PARAMS_CODE: i32 = -32602;
/// The server failed for a reason unrelated to the request.
pub const INTERNAL_ERROR_CODE: i32 = -32603;

/// Why the RPC server could not start or stop.
#[derive(Debug, thiserror::Error)]
pub enum RpcError {
    #[error("cannot bind the rpc server to {addr}: {source}")]
    Bind {
        addr: SocketAddr,
        source: std::io::Error,
    },
    #[error("cannot read the rpc server's local address: {0}")]
    LocalAddr(std::io::Error),
    #[error("cannot register rpc methods: {0}")]
    Register(String),
    #[error("the rpc server has already stopped")]
    AlreadyStopped,
    #[error("cannot serve pages at {0}")]
    Mount(String),
}

/// A failed method call; converts into the JSON-RPC error object the client receives.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EthError {
    /// Parameters parsed but are not acceptable.
    #[error("{0}")]
    InvalidParams(String),
    /// The mempool refused a transaction.
    #[error(transparent)]
    Submit(#[from] SubmitError),
    /// A call could not run (e.g. no module at the target address).
    #[error(transparent)]
    Tx(#[from] TxError),
    /// The call reverted with this data.
    #[error("{}", revert_message(.0))]
    Reverted(Bytes),
    /// `eth_call` ran out of gas.
    #[error("out of gas")]
    OutOfGas,
    /// `eth_estimateGas`: the call needs more gas than it may use.
    #[error("gas required exceeds allowance ({0})")]
    GasAllowance(u64),
    /// A state query named a block whose state this node no longer keeps.
    #[error(
        "historical state is not available: block {requested} is older than the last {window} \
         blocks this node keeps (finalized head {finalized}); ask an archive node (--archive)"
    )]
    HistoricalState {
        requested: u64,
        finalized: u64,
        window: u64,
    },
    /// The block a query names does not exist (yet).
    #[error("header not found")]
    UnknownBlock,
    /// `eth_getLogs` spans more blocks than allowed.
    #[error("query exceeds max block range {0}")]
    RangeTooLarge(u64),
    /// `eth_getLogs` matched more logs than allowed.
    #[error("query returned more than {0} results; narrow the block range or the filter")]
    TooManyLogs(usize),
    /// No filter has this id (never installed, uninstalled or expired).
    #[error("filter not found")]
    FilterNotFound,
    /// Installing one more filter would exceed a limit; the text names which.
    #[error("too many filters: {0}")]
    TooManyFilters(String),
    /// A worker task failed; never the client's fault.
    #[error("internal error: {0}")]
    Internal(String),
    /// A method this chain cannot honour (the message says why).
    #[error("{0}")]
    Unsupported(String),
}

impl EthError {
    /// The JSON-RPC error code of this error.
    pub fn code(&self) -> i32 {
        match self {
            EthError::InvalidParams(_) | EthError::Tx(TxError::StateOverride(_)) => {
                INVALID_PARAMS_CODE
            }
            EthError::Reverted(_) => EXECUTION_REVERTED_CODE,
            EthError::RangeTooLarge(_) | EthError::TooManyLogs(_) | EthError::TooManyFilters(_) => {
                LIMIT_EXCEEDED_CODE
            }
            EthError::Internal(_) => INTERNAL_ERROR_CODE,
            EthError::Unsupported(_) => METHOD_NOT_SUPPORTED_CODE,
            EthError::Submit(_)
            | EthError::Tx(_)
            | EthError::OutOfGas
            | EthError::GasAllowance(_)
            | EthError::HistoricalState { .. }
            | EthError::UnknownBlock
            | EthError::FilterNotFound => SERVER_ERROR_CODE,
        }
    }
}

impl From<EthError> for ErrorObjectOwned {
    fn from(err: EthError) -> Self {
        let message = err.to_string();
        match err {
            EthError::Reverted(data) => {
                ErrorObjectOwned::owned(EXECUTION_REVERTED_CODE, message, Some(data))
            }
            other => ErrorObjectOwned::owned(other.code(), message, None::<()>),
        }
    }
}

/// `"execution reverted"`, plus `": <reason>"` when `data` is a Solidity `Error(string)`.
pub fn revert_message(data: &[u8]) -> String {
    match Revert::abi_decode(data) {
        Ok(revert) => format!("execution reverted: {}", revert.reason),
        Err(_) => "execution reverted".to_owned(),
    }
}

/// The error object of a refused submission (`eth_sendRawTransaction` and its bulk forms).
pub fn submit_error(err: SubmitError) -> ErrorObjectOwned {
    EthError::Submit(err).into()
}

/// A blocking-pool task that panicked or was cancelled.
pub(crate) fn join_error(err: tokio::task::JoinError) -> EthError {
    tracing::error!(error = %err, "rpc worker task failed");
    EthError::Internal("worker task failed".to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn revert_reason_is_decoded_from_error_string() {
        let data = Revert::from("not enough stake").abi_encode();
        assert_eq!(
            revert_message(&data),
            "execution reverted: not enough stake"
        );
        assert_eq!(
            revert_message(&[0xde, 0xad, 0xbe, 0xef]),
            "execution reverted"
        );
        assert_eq!(revert_message(&[]), "execution reverted");
    }

    #[test]
    fn revert_error_carries_hex_data() {
        let data = Bytes::from(Revert::from("no").abi_encode());
        let obj: ErrorObjectOwned = EthError::Reverted(data.clone()).into();
        assert_eq!(obj.code(), 3);
        assert_eq!(obj.message(), "execution reverted: no");
        let raw = obj.data().map(|d| d.get().to_owned());
        assert_eq!(raw, Some(format!("\"{data}\"")));
    }

    #[test]
    fn submit_errors_use_server_error_code_and_geth_text() {
        let obj = submit_error(SubmitError::AlreadyKnown);
        assert_eq!(obj.code(), -32000);
        assert_eq!(obj.message(), "already known");
        let obj = submit_error(SubmitError::Invalid(TxError::NonceTooLow {
            expected: 5,
            got: 1,
        }));
        assert!(obj.message().starts_with("nonce too low"));
    }
}
