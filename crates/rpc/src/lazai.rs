//! The `lazai_*` namespace: node status and bulk transaction submission.

use crate::api::{ChainApi, NodeStatus};
use crate::error::{SERVER_ERROR_CODE, join_error};
use alloy_primitives::{B256, Bytes};
use jsonrpsee::core::{RpcResult, async_trait};
use jsonrpsee::proc_macros::rpc;
use serde::{Deserialize, Serialize};
use std::sync::Arc;

/// The outcome of one transaction of `lazai_sendRawTransactions`: exactly one of `hash` and
/// `error` is present.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SubmitResult {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hash: Option<B256>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<SubmitFailure>,
}

/// Why one transaction of a bulk submission was refused; `code` and `message` are those
/// `eth_sendRawTransaction` would have answered.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SubmitFailure {
    pub code: i32,
    pub message: String,
}

/// LazChain's own methods.
#[rpc(server, namespace = "lazai")]
pub trait LazaiApi {
    /// Height, validators, peers and mempool size of this node.
    #[method(name = "status")]
    fn status(&self) -> RpcResult<NodeStatus>;
    /// The node's version string.
    #[method(name = "clientVersion")]
    fn client_version(&self) -> RpcResult<String>;
    /// Admits many signed transactions at once, recovering their signatures in parallel.
    ///
    /// Transactions are admitted in the given order, so consecutive nonces of one sender may
    /// share a call. Returns one result per transaction, in input order; a refused
    /// transaction does not stop the others.
    #[method(name = "sendRawTransactions")]
    async fn send_raw_transactions(&self, raws: Vec<Bytes>) -> RpcResult<Vec<SubmitResult>>;
}

/// The `lazai_*` handler over a [`ChainApi`].
pub struct LazaiRpc<A> {
    api: Arc<A>,
}

impl<A: ChainApi> LazaiRpc<A> {
    pub fn new(api: Arc<A>) -> Self {
        Self { api }
    }
}

#[async_trait]
impl<A: ChainApi> LazaiApiServer for LazaiRpc<A> {
    fn status(&self) -> RpcResult<NodeStatus> {
        Ok(self.api.status())
    }

    fn client_version(&self) -> RpcResult<String> {
        Ok(self.api.client_version())
    }

    async fn send_raw_transactions(&self, raws: Vec<Bytes>) -> RpcResult<Vec<SubmitResult>> {
        if raws.is_empty() {
            return Ok(Vec::new());
        }
        let api = self.api.clone();
        let count = raws.len();
        let results = tokio::task::spawn_blocking(move || api.submit_many(raws))
            .await
            .map_err(join_error)?;
        let out: Vec<SubmitResult> = results
            .into_iter()
            .map(|result| match result {
                Ok(hash) => SubmitResult {
                    hash: Some(hash),
                    error: None,
                },
                Err(error) => SubmitResult {
                    hash: None,
                    error: Some(SubmitFailure {
                        code: SERVER_ERROR_CODE,
                        message: error.to_string(),
                    }),
                },
            })
            .collect();
        let admitted = out.iter().filter(|r| r.hash.is_some()).count();
        tracing::debug!(count, admitted, "bulk submission");
        Ok(out)
    }
}
