//! The `debug_*` tracing methods: `debug_traceTransaction` re-runs a finalized transaction's
//! block up to it and traces it; `debug_traceCall` traces a call on a kept block's state. The
//! tracers served are geth's default struct logger, `callTracer` and `noopTracer`; a module call
//! or plain transfer (which do not run in the EVM) is one frame with no opcode steps.

use crate::api::ChainApi;
use crate::blocks::state_block;
use crate::error::{EthError, join_error};
use crate::eth::call_request;
use alloy_eips::BlockId;
use alloy_primitives::B256;
use alloy_rpc_types_eth::TransactionRequest;
use alloy_rpc_types_trace::geth::{
    GethDebugTracingCallOptions, GethDebugTracingOptions, GethTrace,
};
use jsonrpsee::core::{RpcResult, async_trait};
use jsonrpsee::proc_macros::rpc;
use std::sync::Arc;

#[rpc(server, namespace = "debug")]
pub trait DebugApi {
    /// A finalized transaction, traced as it ran in its block.
    #[method(name = "traceTransaction")]
    async fn trace_transaction(
        &self,
        hash: B256,
        opts: Option<GethDebugTracingOptions>,
    ) -> RpcResult<GethTrace>;
    /// A call on the state of a kept block, traced (with `eth_call`'s state overrides; block
    /// overrides are refused).
    #[method(name = "traceCall")]
    async fn trace_call(
        &self,
        request: TransactionRequest,
        block: Option<BlockId>,
        opts: Option<GethDebugTracingCallOptions>,
    ) -> RpcResult<GethTrace>;
}

/// The `debug_*` handler over a [`ChainApi`].
pub struct DebugRpc<A> {
    api: Arc<A>,
}

impl<A: ChainApi> DebugRpc<A> {
    pub fn new(api: Arc<A>) -> Self {
        Self { api }
    }
}

#[async_trait]
impl<A: ChainApi> DebugApiServer for DebugRpc<A> {
    async fn trace_transaction(
        &self,
        hash: B256,
        opts: Option<GethDebugTracingOptions>,
    ) -> RpcResult<GethTrace> {
        let api = self.api.clone();
        let opts = opts.unwrap_or_default();
        let trace = tokio::task::spawn_blocking(move || api.trace_transaction(&hash, &opts))
            .await
            .map_err(join_error)??;
        Ok(trace)
    }

    async fn trace_call(
        &self,
        request: TransactionRequest,
        block: Option<BlockId>,
        opts: Option<GethDebugTracingCallOptions>,
    ) -> RpcResult<GethTrace> {
        let opts = opts.unwrap_or_default();
        if opts.block_overrides.is_some() {
            return Err(EthError::InvalidParams(
                "block overrides are not supported by this node: blocks are made by consensus"
                    .into(),
            )
            .into());
        }
        let (at, _) = state_block(&*self.api, block)?;
        let request = call_request(&*self.api, request, opts.state_overrides)?;
        let api = self.api.clone();
        let trace = tokio::task::spawn_blocking(move || {
            api.trace_call(&request, at, &opts.tracing_options)
        })
        .await
        .map_err(join_error)??;
        Ok(trace)
    }
}
