//! The chain: finalized state, post-states of unfinalized blocks, and the `Executor` that
//! consensus drives (propose, verify, finalize).
//!
//! Headers commit to their own post-state. A proposer executes its block on the parent's
//! post-state, which may not be finalized yet; every block this node builds or verifies keeps
//! its post-state here (structurally shared, so a copy costs O(1)) until a descendant is
//! finalized. Finalization commits the block, its receipts and its state changes (one journal
//! record, which the store applies to its state tables afterwards) to disk in one transaction,
//! then swaps the in-memory head for a view of the disk: the head's state is never held in
//! memory, only the writes of blocks not yet finalized (and of finalized ones not yet applied).

use crate::mempool::Mempool;
use crate::state::{PastSource, Prefetcher, StoreSource};
use lazai_consensus::{Executor, Validator, ValidatorSet};
use lazai_ledger::staking::Equivocation;
use lazai_ledger::{BlockEnv, ExecutedBlock, Ledger, RecoveredTx, State, decode_and_recover, gas};
use lazai_storage::{History, Options, StateWrites, Store, TxLocation};
use lazai_types::{
    Address, B256, Block, Bytes, FinalizedBlock, Genesis, Header, Receipt, keccak256,
};
use parking_lot::{Mutex, RwLock};
use rayon::prelude::*;
use std::collections::{BTreeMap, HashMap};
use std::net::{SocketAddr, ToSocketAddrs};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;
use tokio::sync::broadcast;
use tracing::{debug, error, info, warn};

mod open;
mod trace;
pub use trace::TraceFailure;

/// How many recent finalized blocks (with receipts) stay in memory for RPC.
const RECENT_BLOCKS: usize = 64;

/// Errors opening a chain.
#[derive(Debug, thiserror::Error)]
pub enum ChainError {
    #[error("storage: {0}")]
    Storage(#[from] lazai_storage::Error),
    #[error("genesis: {0}")]
    Genesis(#[from] lazai_types::GenesisError),
    #[error("database head {height} is missing its block")]
    MissingHead { height: u64 },
    #[error(
        "block {height} commits to state root {root}, which the data dir does not hold; the data dir is corrupt"
    )]
    MissingState { height: u64, root: B256 },
    #[error("cannot start the trie prefetch thread: {0}")]
    Prefetch(std::io::Error),
}

/// Why the state of a block cannot be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StateAtError {
    #[error("block {requested} is not finalized yet (finalized head {finalized})")]
    Unknown { requested: u64, finalized: u64 },
    #[error(
        "the state of block {requested} is no longer kept: this node keeps the last {window} blocks' state (finalized head {finalized}); run an archive node (--archive) for older blocks"
    )]
    Pruned {
        requested: u64,
        finalized: u64,
        window: u64,
    },
    #[error("storage: {0}")]
    Storage(String),
}

/// Chain parameters that are local choices, not consensus rules.
#[derive(Clone, Debug)]
pub struct ChainConfig {
    pub genesis: Genesis,
    /// The database file.
    pub db_path: PathBuf,
    /// Most transactions a block built here carries.
    pub max_block_txs: usize,
    /// Most transaction bytes a block built here carries.
    pub max_block_tx_bytes: usize,
    /// How many finalized blocks' state stay readable.
    pub history: History,
    /// The database's page cache.
    pub db_cache_bytes: usize,
}

/// The finalized head and its state.
#[derive(Clone)]
pub(crate) struct Head {
    pub block: Arc<Block>,
    pub hash: B256,
    pub state: State,
}

/// A block this node built or verified but that is not finalized yet.
struct Candidate {
    height: u64,
    executed: ExecutedBlock,
}

struct Inner {
    ledger: Ledger,
    genesis: Genesis,
    genesis_block: Block,
    store: Store,
    mempool: Arc<Mempool>,
    head: RwLock<Head>,
    candidates: Mutex<HashMap<B256, Arc<Candidate>>>,
    recent: Mutex<BTreeMap<u64, FinalizedBlock>>,
    events: broadcast::Sender<FinalizedBlock>,
    max_block_txs: usize,
    max_block_tx_bytes: usize,
    /// Loads the trie paths of the keys blocks write while they execute.
    prefetcher: Prefetcher,
}

/// A handle to the chain; cheap to clone.
#[derive(Clone)]
pub struct Chain {
    inner: Arc<Inner>,
}

/// The hash a data dir records of the genesis document it was made from (its canonical JSON).
pub fn genesis_document(genesis: &Genesis) -> B256 {
    keccak256(serde_json::to_vec(genesis).expect("a genesis serializes"))
}

impl Chain {
    pub(crate) fn head(&self) -> Head {
        self.inner.head.read().clone()
    }

    /// The state after finalized block `height`: the head's, or an earlier one's while it is in
    /// the history window.
    pub fn state_at(&self, height: u64) -> Result<State, StateAtError> {
        let head = self.head();
        let finalized = head.block.height();
        if height == finalized {
            return Ok(head.state);
        }
        if height > finalized {
            return Err(StateAtError::Unknown {
                requested: height,
                finalized,
            });
        }
        let storage = |e: lazai_storage::Error| StateAtError::Storage(e.to_string());
        // The window is checked against the snapshot's own head, so a block committed meanwhile
        // cannot prune what this read needs.
        let snapshot = self.inner.store.snapshot().map_err(storage)?;
        let finalized = snapshot.head;
        if let History::Recent(window) = self.inner.store.history()
            && finalized - height >= window
        {
            return Err(StateAtError::Pruned {
                requested: height,
                finalized,
                window,
            });
        }
        let header =
            self.inner
                .store
                .header(height)
                .map_err(storage)?
                .ok_or(StateAtError::Unknown {
                    requested: height,
                    finalized,
                })?;
        let root = header.state_root;
        Ok(State::at(Arc::new(PastSource { snapshot, root }), root))
    }

    pub fn finalized_height(&self) -> u64 {
        self.inner.head.read().block.height()
    }

    pub fn state_root(&self) -> B256 {
        self.inner.head.read().block.header.state_root
    }

    /// Finalized blocks as they commit.
    pub fn subscribe(&self) -> broadcast::Receiver<FinalizedBlock> {
        self.inner.events.subscribe()
    }

    pub fn mempool(&self) -> &Arc<Mempool> {
        &self.inner.mempool
    }

    pub fn ledger(&self) -> &Ledger {
        &self.inner.ledger
    }

    pub fn genesis(&self) -> &Genesis {
        &self.inner.genesis
    }

    /// A recent finalized block with its receipts, if it is still kept in memory.
    fn recent(&self, height: u64) -> Option<FinalizedBlock> {
        self.inner.recent.lock().get(&height).cloned()
    }

    /// A finalized block by height: from memory when recent, else from disk.
    pub fn block(&self, height: u64) -> Option<Arc<Block>> {
        if let Some(b) = self.recent(height) {
            return Some(b.block);
        }
        if height > self.finalized_height() {
            return None;
        }
        self.inner.store.block(height).ok().flatten().map(Arc::new)
    }

    /// A finalized block by hash.
    pub fn block_by_hash(&self, hash: &B256) -> Option<Arc<Block>> {
        let height = self.inner.store.height_of(hash).ok().flatten()?;
        self.block(height)
    }

    /// The header of a finalized block, without loading its transactions from disk.
    pub fn header(&self, height: u64) -> Option<Header> {
        if let Some(b) = self.recent(height) {
            return Some(b.block.header.clone());
        }
        self.inner.store.header(height).ok().flatten()
    }

    /// Receipts of a finalized block, in transaction order.
    pub fn receipts(&self, height: u64) -> Option<Arc<Vec<Receipt>>> {
        if let Some(b) = self.recent(height) {
            return Some(b.receipts);
        }
        if self
            .inner
            .store
            .head()
            .ok()
            .flatten()
            .is_none_or(|head| height > head)
        {
            return None;
        }
        self.inner.store.receipts(height).ok().map(Arc::new)
    }

    /// Where a finalized transaction is (block height and index).
    pub fn tx_location(&self, hash: &B256) -> Option<TxLocation> {
        self.inner.store.tx_location(hash).ok().flatten()
    }

    /// The environment of a child of `parent`.
    pub(crate) fn child_env(
        &self,
        parent: &Header,
        timestamp_ms: u64,
        proposer: Address,
    ) -> BlockEnv {
        let g = &self.inner.genesis;
        BlockEnv {
            chain_id: g.chain_id,
            height: parent.height + 1,
            parent_hash: parent.hash(),
            timestamp_ms,
            proposer,
            base_fee: gas::next_base_fee(
                parent.base_fee,
                parent.gas_used,
                g.gas_limit,
                g.min_base_fee,
            ),
            gas_limit: g.gas_limit,
            evidence: Vec::new(),
        }
    }

    /// The post-state of a block this node knows: a candidate or the finalized head. Candidates
    /// are looked up first: `commit` installs the new head before it drops the candidate, so a
    /// block being finalized concurrently is always found in one of the two.
    fn post_state(&self, hash: &B256) -> Option<State> {
        if let Some(c) = self.inner.candidates.lock().get(hash) {
            return Some(c.executed.state.clone());
        }
        let head = self.inner.head.read();
        (head.hash == *hash).then(|| head.state.clone())
    }

    fn header_for(parent: &Header, env: &BlockEnv, block: &Block, exec: &ExecutedBlock) -> Header {
        Header {
            parent_hash: parent.hash(),
            height: env.height,
            timestamp_ms: env.timestamp_ms,
            proposer: env.proposer,
            transactions_root: block.compute_transactions_root(),
            receipts_root: exec.receipts_root,
            state_root: exec.state_root,
            logs_bloom: exec.logs_bloom,
            base_fee: env.base_fee,
            gas_limit: env.gas_limit,
            gas_used: exec.gas_used,
            evidence_root: block.compute_evidence_root(),
        }
    }

    /// The ledger's view of a block's evidence items; `None` if one is malformed.
    fn equivocations(items: &[Bytes]) -> Option<Vec<Equivocation>> {
        items
            .iter()
            .map(|item| {
                lazai_consensus::evidence::Evidence::parse(item).map(|e| Equivocation {
                    consensus_key: e.key,
                    epoch: e.epoch,
                    view: e.view,
                    kind: e.kind,
                })
            })
            .collect()
    }

    /// Recovers a block's transactions, reusing the mempool's recovered copies.
    fn recover(&self, block: &Block) -> Option<Vec<Arc<RecoveredTx>>> {
        let chain_id = self.inner.genesis.chain_id;
        let mempool = &self.inner.mempool;
        block
            .transactions
            .par_iter()
            .map(|raw| match mempool.get(&keccak256(raw)) {
                Some(tx) => Some(tx),
                None => match decode_and_recover(raw, chain_id) {
                    Ok(tx) => Some(Arc::new(tx)),
                    Err(e) => {
                        debug!(?e, "undecodable transaction in block");
                        None
                    }
                },
            })
            .collect()
    }

    /// Re-executes `block` on `parent_state` and checks every header field it commits to.
    fn execute_and_check(
        &self,
        parent: &Header,
        parent_state: &State,
        block: &Block,
    ) -> Result<ExecutedBlock, String> {
        let h = &block.header;
        h.check_child_of(parent).map_err(|e| e.to_string())?;
        let mut env = self.child_env(parent, h.timestamp_ms, h.proposer);
        env.evidence = Self::equivocations(&block.evidence).ok_or("malformed evidence")?;
        if h.base_fee != env.base_fee || h.gas_limit != env.gas_limit {
            return Err(format!(
                "base fee {} / gas limit {} differ from the rule's {} / {}",
                h.base_fee, h.gas_limit, env.base_fee, env.gas_limit
            ));
        }
        let txs = self.recover(block).ok_or("a transaction does not decode")?;
        let executed = self
            .inner
            .ledger
            .execute_block(parent_state, &env, txs)
            .map_err(|e| e.to_string())?;
        let expected = Self::header_for(parent, &env, block, &executed);
        if expected != *h {
            return Err(format!(
                "header mismatch: state root {} vs {}, receipts root {} vs {}, gas used {} vs {}",
                h.state_root,
                expected.state_root,
                h.receipts_root,
                expected.receipts_root,
                h.gas_used,
                expected.gas_used
            ));
        }
        Ok(executed)
    }

    fn remember(&self, hash: B256, height: u64, executed: ExecutedBlock) {
        self.inner
            .candidates
            .lock()
            .insert(hash, Arc::new(Candidate { height, executed }));
    }

    /// Commits the next finalized block. Returns an error string on an inconsistency that
    /// must stop the node (a finalized block this node finds invalid, or a failing disk).
    fn commit(&self, block: &Block) -> Result<(), String> {
        let hash = block.hash();
        let head = self.head();
        if block.height() <= head.block.height() {
            return Ok(());
        }
        if let Err(reason) = block
            .header
            .check_child_of_hash(&head.block.header, head.hash)
        {
            return Err(format!(
                "finalized block {} at {} does not extend head {}: {reason}",
                hash,
                block.height(),
                head.hash
            ));
        }
        let cached = self.inner.candidates.lock().get(&hash).cloned();
        let executed = match cached {
            Some(c) => c.executed.clone(),
            None => self.execute_and_check(&head.block.header, &head.state, block)?,
        };
        let changes = &executed.changes;
        let writes = crate::state::state_writes(changes);
        let started = Instant::now();
        self.inner
            .store
            .commit_block(block, &executed.receipts, writes)
            .map_err(|e| format!("cannot persist block {}: {e}", block.height()))?;
        debug!(height = block.height(), entries = changes.entries.len(), nodes = changes.nodes.len(), stale = changes.stale.len(), elapsed = ?started.elapsed(), "persisted");
        // The new head reads the disk: the block's writes leave memory with it.
        let snapshot = self
            .inner
            .store
            .snapshot()
            .map_err(|e| format!("cannot read block {} back: {e}", block.height()))?;
        let source = StoreSource::new(snapshot, executed.state_root)
            .with_prefetcher(self.inner.prefetcher.clone());
        let state = State::at(Arc::new(source), executed.state_root);
        let block = Arc::new(block.clone());
        let receipts = Arc::new(executed.receipts.clone());
        let height = block.height();
        let event = FinalizedBlock {
            block: block.clone(),
            hash,
            receipts,
        };
        {
            let mut recent = self.inner.recent.lock();
            recent.insert(height, event.clone());
            while recent.len() > RECENT_BLOCKS {
                recent.pop_first();
            }
        }
        // The head swap happens under the mempool's lock, so no admission sees the new nonces
        // with the old pool or the old nonces with the pruned pool.
        let head = Head {
            block,
            hash,
            state: state.clone(),
        };
        self.inner
            .mempool
            .finalize(&executed.transactions, &state, || {
                *self.inner.head.write() = head;
            });
        self.inner
            .candidates
            .lock()
            .retain(|_, c| c.height > height);
        let _ = self.inner.events.send(event);
        debug!(height, %hash, txs = executed.transactions.len(), gas_used = executed.gas_used, "finalized");
        Ok(())
    }
}

impl Executor for Chain {
    fn genesis(&self) -> Block {
        self.inner.genesis_block.clone()
    }

    fn propose(
        &self,
        parent: &Block,
        timestamp_ms: u64,
        proposer: Address,
        evidence: Vec<Bytes>,
    ) -> Option<Block> {
        let parent_hash = parent.hash();
        let Some(state) = self.post_state(&parent_hash) else {
            warn!(height = parent.height(), %parent_hash, "cannot propose: parent state unknown");
            return None;
        };
        let mut env = self.child_env(&parent.header, timestamp_ms, proposer);
        let Some(equivocations) = Self::equivocations(&evidence) else {
            warn!("cannot propose: malformed evidence");
            return None;
        };
        env.evidence = equivocations;
        let candidates = self
            .inner
            .mempool
            .candidates(|a| state.nonce(a), self.inner.max_block_txs);
        let mut bytes = 0usize;
        let budget = self.inner.max_block_tx_bytes;
        let candidates = candidates.into_iter().take_while(|tx| {
            bytes += tx.raw.len();
            bytes <= budget
        });
        let started = Instant::now();
        let (executed, skipped) = self.inner.ledger.build_block(&state, &env, candidates);
        if !skipped.is_empty() {
            debug!(skipped = skipped.len(), first = %skipped[0].1, "skipped transactions while building");
        }
        let mut block = Block {
            header: Header::default(),
            transactions: executed
                .transactions
                .iter()
                .map(|tx| tx.raw.clone())
                .collect(),
            evidence,
        };
        block.header = Self::header_for(&parent.header, &env, &block, &executed);
        let hash = block.hash();
        debug!(height = env.height, %hash, txs = block.transactions.len(), changed = executed.changes.entries.len(), elapsed = ?started.elapsed(), "proposed");
        self.remember(hash, env.height, executed);
        Some(block)
    }

    fn verify(&self, parent: &Block, block: &Block) -> bool {
        let hash = block.hash();
        if self.inner.candidates.lock().contains_key(&hash) {
            return true;
        }
        let Some(state) = self.post_state(&parent.hash()) else {
            warn!(height = block.height(), %hash, "cannot verify: parent state unknown");
            return false;
        };
        match self.execute_and_check(&parent.header, &state, block) {
            Ok(executed) => {
                self.remember(hash, block.height(), executed);
                true
            }
            Err(reason) => {
                warn!(height = block.height(), %hash, %reason, "rejected proposal");
                false
            }
        }
    }

    fn knows(&self, hash: &B256) -> bool {
        self.inner.candidates.lock().contains_key(hash)
    }

    fn finalized(&self, block: &Block) {
        if let Err(reason) = self.commit(block) {
            error!(height = block.height(), %reason, "cannot apply finalized block; halting this node's chain");
            panic!("cannot apply finalized block {}: {reason}", block.height());
        }
    }

    fn last_finalized_height(&self) -> u64 {
        self.finalized_height()
    }

    fn has_pending(&self) -> bool {
        !self.inner.mempool.is_empty()
    }

    fn validator_set(&self) -> Option<ValidatorSet> {
        let head = self.head();
        let (epoch, elected) = lazai_ledger::staking::validator_set(&head.state);
        let epoch_length = self.inner.genesis.staking.epoch_length;
        // The epoch starts after the last block of the previous one (genesis for epoch 0).
        let boundary = match epoch
            .checked_mul(epoch_length)
            .and_then(|h| h.checked_sub(1))
        {
            None => self.inner.genesis_block.hash(),
            Some(height) if height == head.block.height() => head.hash,
            Some(height) => match self.inner.store.header(height) {
                Ok(Some(header)) => header.hash(),
                other => {
                    error!(epoch, height, result = ?other.map(|h| h.is_some()), "boundary block of the current epoch is missing");
                    return None;
                }
            },
        };
        let validators = elected
            .iter()
            .filter_map(|v| {
                let key = match lazai_consensus::keys::public_key_from_bytes(&v.consensus_key) {
                    Ok(key) => key,
                    Err(e) => {
                        warn!(idao = %v.idao_id, error = %e, "elected validator has an invalid consensus key; skipping");
                        return None;
                    }
                };
                Some(Validator {
                    key,
                    fee_recipient: v.owner,
                    stake: v.stake,
                    p2p_addr: resolve_p2p(&v.p2p_address),
                })
            })
            .collect();
        Some(ValidatorSet {
            epoch,
            validators,
            boundary,
        })
    }
}

/// A published `host:port` as a socket address (names are resolved once per epoch).
fn resolve_p2p(addr: &str) -> Option<SocketAddr> {
    if addr.is_empty() {
        return None;
    }
    if let Ok(addr) = addr.parse() {
        return Some(addr);
    }
    match addr.to_socket_addrs() {
        Ok(mut addrs) => addrs.next(),
        Err(e) => {
            warn!(addr, error = %e, "cannot resolve a validator's p2p address");
            None
        }
    }
}
