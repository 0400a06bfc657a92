//! The node's answers to the RPC server: reads of finalized blocks and state, calls, and
//! admission of transactions into the mempool.

use crate::chain::{Chain, StateAtError, TraceFailure};
use crate::ingress::Ingress;
use crate::mempool::AdmitError;
use alloy_rpc_types_trace::geth::{GethDebugTracingOptions, GethTrace};
use futures::channel::mpsc::UnboundedSender;
use lazai_consensus::StatusHandle;
use lazai_ledger::AccessList;
use lazai_ledger::evm::TraceError;
use lazai_ledger::{Account, BlockEnv, CallOutcome, CallParams, State, decode_with_sender};
use lazai_rpc::{
    CallRequest, ChainApi, EthError, FinalizedBlock, NodeStatus, ProvenEntry, StateAt, SubmitError,
    TxInBlock, TxLookup, ValidatorStatus,
};
use lazai_types::{Address, B256, Block, Bytes, Header, Receipt, U256};
use parking_lot::RwLock;
use std::sync::Arc;
use tokio::sync::broadcast;

/// The suggested priority fee: 1 gwei, as Ethereum devnets suggest.
pub const SUGGESTED_TIP: u128 = 1_000_000_000;

/// What the RPC sees of a node: its chain plus consensus facts for `lazai_status`.
#[derive(Clone)]
pub struct NodeApi {
    ingress: Ingress,
    validators: Arc<RwLock<Vec<ValidatorStatus>>>,
    consensus: Option<StatusHandle>,
}

impl NodeApi {
    /// The state a read names.
    fn state(&self, at: StateAt) -> Result<State, EthError> {
        match at {
            StateAt::Head => Ok(self.chain().head().state),
            StateAt::Block(height) => self.chain().state_at(height).map_err(state_error),
        }
    }

    /// A state and the environment of a block on top of it, for calls.
    fn call_state(&self, at: StateAt) -> Result<(State, BlockEnv), EthError> {
        match at {
            StateAt::Head => Ok(self.ingress.next_block()),
            StateAt::Block(height) => {
                let state = self.state(at)?;
                let header = self.chain().header(height).ok_or(EthError::UnknownBlock)?;
                let env = self
                    .chain()
                    .child_env(&header, header.timestamp_ms + 1, Address::ZERO);
                Ok((state, env))
            }
        }
    }
}

/// A call request as the ledger runs it (gas defaults to, and is capped at, the block's limit).
fn call_params(request: &CallRequest, env: &BlockEnv) -> CallParams {
    CallParams {
        from: request.from.unwrap_or_default(),
        to: request.to,
        value: request.value.unwrap_or(U256::ZERO),
        input: request.input.clone(),
        gas_limit: request.gas.unwrap_or(env.gas_limit).min(env.gas_limit),
        access_list: request.access_list.clone(),
        overrides: request.overrides.clone(),
    }
}

fn trace_error(e: TraceError) -> EthError {
    match e {
        TraceError::Invalid(e) => EthError::Tx(e),
        TraceError::Tracer(reason) => EthError::InvalidParams(reason),
    }
}

fn state_error(e: StateAtError) -> EthError {
    match e {
        StateAtError::Unknown { .. } => EthError::UnknownBlock,
        StateAtError::Pruned {
            requested,
            finalized,
            window,
        } => EthError::HistoricalState {
            requested,
            finalized,
            window,
        },
        StateAtError::Storage(reason) => EthError::Internal(reason),
    }
}

/// The mempool's refusals as the RPC crate names them (it maps each to its JSON-RPC error).
impl From<AdmitError> for SubmitError {
    fn from(err: AdmitError) -> Self {
        match err {
            AdmitError::Invalid(e) => SubmitError::Invalid(e),
            AdmitError::AlreadyKnown => SubmitError::AlreadyKnown,
            AdmitError::ReplacementUnderpriced => SubmitError::ReplacementUnderpriced,
            AdmitError::PoolFull => SubmitError::PoolFull,
            AdmitError::SenderLimit(sender) => SubmitError::SenderLimit(sender),
        }
    }
}

impl NodeApi {
    /// `consensus` is the status of this node's consensus engine (peers), when it runs one.
    pub fn new(
        chain: Chain,
        validators: Vec<ValidatorStatus>,
        consensus: Option<StatusHandle>,
    ) -> Self {
        Self {
            ingress: Ingress::new(chain),
            validators: Arc::new(RwLock::new(validators)),
            consensus,
        }
    }

    /// Sends every transaction this node admits from RPC to `gossip`.
    pub fn with_gossip(mut self, gossip: UnboundedSender<Bytes>) -> Self {
        self.ingress.set_gossip(gossip);
        self
    }

    /// Reports `consensus`'s status (epoch, validator set, peers) in `lazai_status`.
    pub fn with_consensus(mut self, consensus: StatusHandle) -> Self {
        self.consensus = Some(consensus);
        self
    }

    /// Admits transactions a peer gossiped. They are not gossiped again (every node sends to
    /// all of its peers); invalid or already-known ones are dropped quietly.
    pub fn receive_gossip(&self, raws: Vec<Bytes>) {
        self.ingress.receive_gossip(raws);
    }

    /// The running epoch's validators (from consensus), named after genesis where they match;
    /// the genesis set when no consensus runs here.
    fn current_validators(&self) -> Vec<ValidatorStatus> {
        let genesis = self.validators.read().clone();
        let Some(consensus) = &self.consensus else {
            return genesis;
        };
        let current = consensus.validators();
        if current.is_empty() {
            return genesis;
        }
        current
            .into_iter()
            .map(|v| {
                let key = lazai_consensus::keys::public_key_to_hex(&v.key);
                let name = genesis
                    .iter()
                    .find(|g| {
                        g.consensus_key
                            .trim_start_matches("0x")
                            .eq_ignore_ascii_case(&key)
                    })
                    .map(|g| g.name.clone())
                    .unwrap_or_default();
                ValidatorStatus {
                    name,
                    address: v.fee_recipient,
                    consensus_key: key,
                    stake: v.stake,
                }
            })
            .collect()
    }

    pub fn chain(&self) -> &Chain {
        self.ingress.chain()
    }
}

impl ChainApi for NodeApi {
    fn chain_id(&self) -> u64 {
        self.chain().genesis().chain_id
    }

    fn client_version(&self) -> String {
        format!("lazai/v{}/rust", env!("CARGO_PKG_VERSION"))
    }

    fn finalized_height(&self) -> u64 {
        self.chain().finalized_height()
    }

    fn block_by_height(&self, height: u64) -> Option<Arc<Block>> {
        self.chain().block(height)
    }

    fn block_by_hash(&self, hash: &B256) -> Option<Arc<Block>> {
        self.chain().block_by_hash(hash)
    }

    fn receipts(&self, height: u64) -> Option<Arc<Vec<Receipt>>> {
        self.chain().receipts(height)
    }

    fn header_by_height(&self, height: u64) -> Option<Header> {
        self.chain().header(height)
    }

    fn transaction(&self, hash: &B256) -> Option<TxLookup> {
        // The finalized view wins: a pooled copy may linger for a moment after finalization.
        let Some(loc) = self.chain().tx_location(hash) else {
            let tx = self.chain().mempool().get(hash)?;
            return Some(TxLookup { tx, location: None });
        };
        let block = self.block_by_height(loc.height)?;
        let raw = block.transactions.get(loc.index as usize)?;
        // The receipt records the sender, so the signature is not recovered again.
        let sender = self.receipts(loc.height)?.get(loc.index as usize)?.from;
        let tx = decode_with_sender(raw, self.chain_id(), sender).ok()?;
        Some(TxLookup {
            tx: Arc::new(tx),
            location: Some(TxInBlock {
                block_hash: block.hash(),
                height: loc.height,
                index: loc.index,
            }),
        })
    }

    fn account(&self, address: &Address, at: StateAt, pending: bool) -> Result<Account, EthError> {
        let mut account = self.state(at)?.account(address);
        if pending && at == StateAt::Head {
            account.nonce = self.chain().mempool().pending_nonce(address, account.nonce);
        }
        Ok(account)
    }

    fn code(&self, address: &Address, at: StateAt) -> Result<Bytes, EthError> {
        let modules = &self.chain().ledger().modules;
        if modules.get(address).is_some() {
            return Ok(modules.code(address));
        }
        Ok(self.state(at)?.code(address))
    }

    fn pool(&self, from: Option<Address>, max: usize) -> lazai_rpc::PoolView {
        let state = self.chain().head().state;
        self.chain()
            .mempool()
            .view(|sender| state.nonce(sender), from, max)
    }

    fn storage(&self, address: &Address, slot: &B256, at: StateAt) -> Result<B256, EthError> {
        Ok(B256::from(self.state(at)?.storage(address, slot)))
    }

    fn call(&self, request: &CallRequest, at: StateAt) -> Result<CallOutcome, EthError> {
        let (state, env) = self.call_state(at)?;
        let params = call_params(request, &env);
        Ok(self.chain().ledger().call(&state, &env, &params)?)
    }

    fn trace_transaction(
        &self,
        hash: &B256,
        opts: &GethDebugTracingOptions,
    ) -> Result<GethTrace, EthError> {
        let location = self
            .chain()
            .tx_location(hash)
            .ok_or_else(|| EthError::InvalidParams(format!("transaction {hash} not found")))?;
        self.chain()
            .trace_transaction(location.height, location.index as usize, opts)
            .map_err(|e| match e {
                TraceFailure::State(e) => state_error(e),
                TraceFailure::Trace(e) => trace_error(e),
                TraceFailure::Genesis | TraceFailure::Missing => {
                    EthError::InvalidParams(format!("transaction {hash} not found"))
                }
                TraceFailure::Replay(reason) => EthError::Internal(reason),
            })
    }

    fn create_access_list(
        &self,
        request: &CallRequest,
        at: StateAt,
    ) -> Result<(AccessList, CallOutcome), EthError> {
        let (state, env) = self.call_state(at)?;
        let params = call_params(request, &env);
        Ok(self
            .chain()
            .ledger()
            .create_access_list(&state, &env, &params)?)
    }

    fn trace_call(
        &self,
        request: &CallRequest,
        at: StateAt,
        opts: &GethDebugTracingOptions,
    ) -> Result<GethTrace, EthError> {
        let (state, env) = self.call_state(at)?;
        let params = call_params(request, &env);
        self.chain()
            .ledger()
            .trace_call(&state, &env, &params, opts)
            .map_err(trace_error)
    }

    fn prove(&self, keys: &[B256], at: StateAt) -> Result<(u64, B256, Vec<ProvenEntry>), EthError> {
        let (height, state) = match at {
            StateAt::Head => {
                let head = self.chain().head();
                (head.block.height(), head.state)
            }
            StateAt::Block(h) => (h, self.state(at)?),
        };
        let root = state.root();
        let entries = keys
            .iter()
            .map(|key| {
                let proof = state
                    .proof(key)
                    .map_err(|e| EthError::Internal(e.to_string()))?;
                Ok(ProvenEntry {
                    key: *key,
                    value: state.get(key),
                    proof,
                })
            })
            .collect::<Result<_, EthError>>()?;
        Ok((height, root, entries))
    }

    fn next_base_fee(&self) -> u64 {
        self.ingress.next_block().1.base_fee
    }

    fn suggested_priority_fee(&self) -> u128 {
        SUGGESTED_TIP
    }

    fn gas_limit(&self) -> u64 {
        self.chain().genesis().gas_limit
    }

    fn submit(&self, raw: Bytes) -> Result<B256, SubmitError> {
        Ok(self.ingress.submit(&raw)?)
    }

    fn submit_many(&self, raws: Vec<Bytes>) -> Vec<Result<B256, SubmitError>> {
        self.ingress
            .submit_many(&raws)
            .into_iter()
            .map(|r| r.map_err(SubmitError::from))
            .collect()
    }

    fn subscribe(&self) -> broadcast::Receiver<FinalizedBlock> {
        self.chain().subscribe()
    }

    fn pending_transactions(&self) -> broadcast::Receiver<B256> {
        self.chain().mempool().subscribe_admitted()
    }

    fn status(&self) -> NodeStatus {
        let head = self.chain().head();
        NodeStatus {
            chain_id: self.chain_id(),
            height: head.block.height(),
            finalized_height: head.block.height(),
            finalized_hash: head.hash,
            state_root: head.block.header.state_root,
            epoch: self.consensus.as_ref().map_or(0, StatusHandle::epoch),
            validators: self.current_validators(),
            peers: self
                .consensus
                .as_ref()
                .map_or(0, |c| c.active_peers() as u64),
            mempool_size: self.chain().mempool().len() as u64,
            client_version: self.client_version(),
        }
    }
}
