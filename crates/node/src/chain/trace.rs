//! `debug_traceTransaction` on the node: a finalized block re-run up to one of its
//! transactions, which is then traced.

use super::{Chain, StateAtError};
use alloy_rpc_types_trace::geth::{GethDebugTracingOptions, GethTrace};

/// Why a finalized transaction could not be traced.
#[derive(Debug)]
pub enum TraceFailure {
    /// The genesis block has no transactions.
    Genesis,
    /// The block's parent state is not kept (or the store failed).
    State(StateAtError),
    /// The block, its parent or the transaction is not in the store.
    Missing,
    /// Re-running the block before the transaction failed: the store does not match the chain.
    Replay(String),
    /// The tracer refused.
    Trace(lazai_ledger::evm::TraceError),
}

impl Chain {
    /// Re-runs finalized block `height` up to its transaction `index` and traces that one
    /// (`debug_traceTransaction`); needs the parent's state, so the block must be within the
    /// history this node keeps.
    pub(crate) fn trace_transaction(
        &self,
        height: u64,
        index: usize,
        opts: &GethDebugTracingOptions,
    ) -> Result<GethTrace, TraceFailure> {
        let parent_height = height.checked_sub(1).ok_or(TraceFailure::Genesis)?;
        let parent_state = self.state_at(parent_height).map_err(TraceFailure::State)?;
        let parent = self.header(parent_height).ok_or(TraceFailure::Missing)?;
        let block = self.block(height).ok_or(TraceFailure::Missing)?;
        let mut env = self.child_env(&parent, block.header.timestamp_ms, block.header.proposer);
        env.evidence = Self::equivocations(&block.evidence).ok_or(TraceFailure::Missing)?;
        let txs = self.recover(&block).ok_or(TraceFailure::Missing)?;
        let tx = txs.get(index).ok_or(TraceFailure::Missing)?.clone();
        let ledger = self.ledger();
        let (mut state, cumulative) = ledger
            .state_before(&parent_state, &env, &txs, index)
            .map_err(|e| TraceFailure::Replay(e.to_string()))?;
        ledger
            .trace_transaction(&mut state, &env, &tx, cumulative, opts)
            .map_err(TraceFailure::Trace)
    }
}
