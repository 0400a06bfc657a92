//! The read/submit API the RPC server needs from a node. The server depends on this trait
//! only, never on the node's storage or consensus.

use lazai_ledger::{Account, CallOutcome, RecoveredTx, TxError};
pub use lazai_types::FinalizedBlock;
use lazai_types::{Address, B256, Block, Bytes, Header, Receipt, U256};
use std::sync::Arc;

/// Where a known transaction is.
#[derive(Clone, Debug)]
pub struct TxLookup {
    pub tx: Arc<RecoveredTx>,
    /// `None` while it waits in the mempool.
    pub location: Option<TxInBlock>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TxInBlock {
    pub block_hash: B256,
    pub height: u64,
    pub index: u32,
}

/// The state a read names: the finalized head's, or an earlier finalized block's (served while
/// it is in the node's history window, [`crate::EthError::HistoricalState`] after).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StateAt {
    Head,
    Block(u64),
}

/// One entry of a state proof: the key, its value (`None` when absent) and the trie nodes from
/// the root to it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProvenEntry {
    pub key: B256,
    pub value: Option<Bytes>,
    pub proof: Vec<Bytes>,
}

/// The mempool as `txpool_*` reports it: each sender's gap-free run from its finalized nonce is
/// pending, the rest queued. The counts are exact; the lists name at most the number asked for,
/// pending first.
#[derive(Clone, Debug, Default)]
pub struct PoolView {
    pub pending: usize,
    pub queued: usize,
    pub listed_pending: Vec<Arc<lazai_ledger::RecoveredTx>>,
    pub listed_queued: Vec<Arc<lazai_ledger::RecoveredTx>>,
}

/// Parameters of `eth_call` / `eth_estimateGas` after the RPC layer has parsed them.
#[derive(Clone, Debug, Default)]
pub struct CallRequest {
    pub from: Option<Address>,
    pub to: Option<Address>,
    pub value: Option<U256>,
    pub input: Bytes,
    /// Defaults to the block gas limit.
    pub gas: Option<u64>,
    /// Counted and warmed as a transaction's would be.
    pub access_list: alloy_eips::eip2930::AccessList,
    /// geth's state override set, applied before the call runs.
    pub overrides: alloy_rpc_types_eth::state::StateOverride,
}

/// Why a submitted transaction was refused; [`crate::error::submit_error`] maps each variant to
/// its JSON-RPC error.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SubmitError {
    #[error(transparent)]
    Invalid(#[from] TxError),
    #[error("already known")]
    AlreadyKnown,
    #[error("replacement transaction underpriced")]
    ReplacementUnderpriced,
    #[error("txpool is full")]
    PoolFull,
    #[error("too many pending transactions for sender {0}")]
    SenderLimit(Address),
}

/// A validator as `lazai_status` reports it.
#[derive(Clone, Debug, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ValidatorStatus {
    pub name: String,
    /// Fee recipient.
    pub address: Address,
    /// Hex of the ed25519 consensus public key.
    pub consensus_key: String,
    pub stake: U256,
}

/// What `lazai_status` returns.
#[derive(Clone, Debug, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct NodeStatus {
    pub chain_id: u64,
    /// Highest block this node knows of (finalized, since RPC serves finalized state).
    pub height: u64,
    pub finalized_height: u64,
    pub finalized_hash: B256,
    pub state_root: B256,
    pub epoch: u64,
    pub validators: Vec<ValidatorStatus>,
    /// Connected consensus peers.
    pub peers: u64,
    pub mempool_size: u64,
    pub client_version: String,
}

/// What the RPC server asks of the node. "Latest" always means the last finalized block.
///
/// The server calls these from async tasks. `submit`, `submit_many`, `call`, and the range
/// scans of `eth_getLogs` / `eth_feeHistory` (`header_by_height`, `block_by_height`,
/// `receipts`) run on tokio's blocking pool; every other method is called inline on a runtime
/// worker and must return quickly (an in-memory read or a short storage lookup, never a wait
/// on consensus).
pub trait ChainApi: Send + Sync + 'static {
    fn chain_id(&self) -> u64;
    fn client_version(&self) -> String;
    fn finalized_height(&self) -> u64;
    /// A finalized block by height.
    fn block_by_height(&self, height: u64) -> Option<Arc<Block>>;
    /// The header of a finalized block by height.
    ///
    /// `eth_getLogs` calls this once per block of the queried range (up to
    /// `RpcConfig::max_log_range` times per request) to test the header bloom before it
    /// fetches receipts, so a node that can read a header without its transactions should
    /// override the default, which loads the whole block.
    fn header_by_height(&self, height: u64) -> Option<Header> {
        self.block_by_height(height)
            .map(|block| block.header.clone())
    }
    /// A finalized block by hash.
    fn block_by_hash(&self, hash: &B256) -> Option<Arc<Block>>;
    /// Receipts of a finalized block, in transaction order.
    fn receipts(&self, height: u64) -> Option<Arc<Vec<Receipt>>>;
    /// A transaction that is finalized or waiting in the mempool.
    fn transaction(&self, hash: &B256) -> Option<TxLookup>;
    /// An account at a finalized block; with `pending` (head only), the nonce also counts the
    /// sender's transactions waiting in the mempool.
    fn account(
        &self,
        address: &Address,
        at: StateAt,
        pending: bool,
    ) -> Result<Account, crate::EthError>;
    /// `eth_getCode` at a finalized block: a contract's code, a native module's marker (the
    /// `INVALID` opcode and its name), empty for any other account.
    fn code(&self, address: &Address, at: StateAt) -> Result<Bytes, crate::EthError>;
    /// `eth_getStorageAt`: a contract's storage word at a finalized block (zero when unset, and
    /// for native modules, whose storage is keyed by name; see `lazai_getProof`).
    fn storage(&self, address: &Address, slot: &B256, at: StateAt)
    -> Result<B256, crate::EthError>;
    /// Runs a read-only call on a finalized block's state (in the environment of a block on top
    /// of it).
    fn call(&self, request: &CallRequest, at: StateAt) -> Result<CallOutcome, crate::EthError>;
    /// Proofs of state entries against the `stateRoot` of the block `at` names (returned with
    /// that block's height and root).
    fn prove(
        &self,
        keys: &[B256],
        at: StateAt,
    ) -> Result<(u64, B256, Vec<ProvenEntry>), crate::EthError>;
    /// Base fee the next block will charge.
    fn next_base_fee(&self) -> u64;
    /// Suggested priority fee (wei per gas).
    fn suggested_priority_fee(&self) -> u128;
    /// Block gas limit.
    fn gas_limit(&self) -> u64;
    /// Validates and admits one signed transaction (EIP-2718 bytes) to the mempool.
    fn submit(&self, raw: Bytes) -> Result<B256, SubmitError>;
    /// Admits many at once (signatures are recovered in parallel); results in input order.
    fn submit_many(&self, raws: Vec<Bytes>) -> Vec<Result<B256, SubmitError>>;
    /// Finalized blocks as they commit.
    fn subscribe(&self) -> tokio::sync::broadcast::Receiver<FinalizedBlock>;
    /// Hashes of transactions as the mempool admits them (from RPC or from peers), in
    /// admission order; feeds `newPendingTransactions` subscriptions and pending-transaction
    /// filters. A node without a mempool keeps the default, a stream that ends at once.
    fn pending_transactions(&self) -> tokio::sync::broadcast::Receiver<B256> {
        tokio::sync::broadcast::channel(1).1
    }
    /// `debug_traceTransaction`: a finalized transaction re-run in its block under a tracer.
    fn trace_transaction(
        &self,
        hash: &B256,
        opts: &alloy_rpc_types_trace::geth::GethDebugTracingOptions,
    ) -> Result<alloy_rpc_types_trace::geth::GethTrace, crate::EthError> {
        let _ = (hash, opts);
        Err(crate::EthError::InvalidParams(
            "tracing is not served by this node".into(),
        ))
    }
    /// `eth_createAccessList`: the accounts and slots the call touches, with the outcome of the
    /// call given that list.
    fn create_access_list(
        &self,
        request: &CallRequest,
        at: StateAt,
    ) -> Result<(alloy_eips::eip2930::AccessList, lazai_ledger::CallOutcome), crate::EthError> {
        let _ = (request, at);
        Err(crate::EthError::InvalidParams(
            "eth_createAccessList is not served by this node".into(),
        ))
    }
    /// `debug_traceCall`: a call on a finalized block's state under a tracer.
    fn trace_call(
        &self,
        request: &CallRequest,
        at: StateAt,
        opts: &alloy_rpc_types_trace::geth::GethDebugTracingOptions,
    ) -> Result<alloy_rpc_types_trace::geth::GethTrace, crate::EthError> {
        let _ = (request, at, opts);
        Err(crate::EthError::InvalidParams(
            "tracing is not served by this node".into(),
        ))
    }
    /// The mempool's transactions (only `from`'s when given), at most `max` listed. A node
    /// without a mempool keeps the default, an empty pool.
    fn pool(&self, from: Option<Address>, max: usize) -> PoolView {
        let _ = (from, max);
        PoolView::default()
    }
    fn status(&self) -> NodeStatus;
}
