//! World state: one authenticated key-value map over accounts and module storage.
//!
//! Keys are 32-byte hashes (`keccak256(domain || preimage)`, see `lazai_abi::state`), and the
//! state root is the root of an Ethereum Merkle-Patricia trie over every entry (`trie.rs`).
//!
//! A `State` is a view: a [`StateSource`] (the finalized state on disk, a past block's trie, or
//! nothing) under an overlay of the writes made since, kept in persistent `imbl` maps so a clone
//! is O(1) and shares structure. That lets the node keep the post-state of every unfinalized block
//! and lets a reverted call be discarded for free. The trie is folded incrementally: only the
//! keys written since the last root are re-hashed, along their paths.

pub mod trie;

use alloy_primitives::{Address, B256, Bytes, U256};
use alloy_rlp::{Decodable, Encodable};
use alloy_trie::EMPTY_ROOT_HASH;
pub use lazai_abi::state::{
    Account, account_key, code_hash_key, code_key, meta_key, module_key, storage_key,
};
use std::collections::BTreeMap;
use std::sync::{Arc, Condvar, Mutex};
pub use trie::{TrieError, TrieUpdate};

/// How many keys written since the last fold make [`State::fold_ahead`] start folding them on
/// another thread: enough that a fold's fixed cost (the trie's top levels, hashed again each
/// time) stays small, few enough that the fold left when a block's execution ends is short.
pub const FOLD_AHEAD_KEYS: usize = 1024;

/// Where a state's unwritten entries and stored trie nodes come from.
///
/// A source answers for one fixed state (a snapshot): the node's finalized head, a recent block,
/// or nothing. A source that cannot read (a failing disk) must not answer `None` as if the entry
/// were absent; it stops the process, which is what a validator with a broken disk must do.
pub trait StateSource: Send + Sync {
    /// The value of an entry, `None` when absent.
    fn entry(&self, key: &B256) -> Option<Bytes>;
    /// A stored trie node by its hash.
    fn node(&self, hash: &B256) -> Option<Bytes>;
    /// A hint that `key`, whose value in this source's trie is `old` when known, is about to be
    /// written: a source on disk may start loading the trie nodes on its path, so that the next
    /// root fold finds them in memory. It must not block.
    fn prefetch(&self, _key: &B256, _old: Option<&Bytes>) {}
    /// A root fold of the keys written so far starts: hints not acted on yet are not worth
    /// loading any more (the fold loads what it needs itself, and would share the cores).
    fn folding(&self) {}
    /// An entry's value if the source holds it in memory (`Some(None)`: known absent); never
    /// reads the disk. A root fold passes it on as the key's old value ([`trie::Change::old`]).
    fn known_entry(&self, _key: &B256) -> Option<Option<Bytes>> {
        None
    }
}

/// How many recent block hashes the state keeps (the EVM's `BLOCKHASH` window).
pub const BLOCK_HASH_WINDOW: u64 = 256;

fn block_hash_key(height: u64) -> B256 {
    meta_key(&format!("block_hash/{}", height % BLOCK_HASH_WINDOW))
}

/// The source of a state built from nothing (genesis, tests).
struct NoSource;

impl StateSource for NoSource {
    fn entry(&self, _: &B256) -> Option<Bytes> {
        None
    }
    fn node(&self, _: &B256) -> Option<Bytes> {
        None
    }
}

/// What a block (or genesis) wrote: its entries (`None` = deleted), the trie nodes it created and
/// the stored nodes it retired. Nodes are sorted by hash, so two executions compare equal.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Changes {
    pub entries: BTreeMap<B256, Option<Bytes>>,
    pub nodes: Vec<(B256, Bytes)>,
    pub stale: Vec<B256>,
    /// The nodes of `nodes` in the trie's upper levels ([`trie::UPPER_DEPTH`]), sorted: what a
    /// node cache should keep.
    pub upper: Vec<B256>,
}

/// The world state as seen by one block.
#[derive(Clone)]
pub struct State {
    source: Arc<dyn StateSource>,
    /// Entries written since `source`'s state (`None` = deleted).
    writes: imbl::OrdMap<B256, Option<Bytes>>,
    /// Trie nodes created since `source`'s state and still in this state's trie.
    nodes: imbl::HashMap<B256, Bytes>,
    /// The root over `source` and `writes`, `dirty` keys aside.
    root: B256,
    /// Keys written since the root was last folded.
    dirty: imbl::OrdSet<B256>,
    /// The values `dirty` keys held at the last fold, where known without a read: what lets
    /// the fold recognise their leaves instead of loading them.
    before: imbl::HashMap<B256, Bytes>,
    /// Keys written since the last `take_changes`, so a block's write set is known exactly.
    touched: imbl::OrdSet<B256>,
    /// Trie nodes created and retired since the last `take_changes`.
    created: imbl::HashMap<B256, Bytes>,
    retired: imbl::OrdSet<B256>,
    /// The nodes of `created` in the trie's upper levels.
    upper: imbl::OrdSet<B256>,
    /// Whether a key's first write since the last fold is passed on to the source as a
    /// [`StateSource::prefetch`] hint (on while a block executes).
    prefetch: bool,
    /// A fold of earlier writes running on another thread ([`State::fold_ahead`]). Until it is
    /// adopted, `root`, `nodes`, `created`, `retired` and `upper` are those from before it, and
    /// `dirty` and `before` hold only the keys written since it started.
    ahead: Option<Arc<Ahead>>,
}

/// A fold [`State::fold_ahead`] started: the state it folds, handed back once done.
#[derive(Default)]
struct Ahead {
    outcome: Mutex<Option<Outcome>>,
    ready: Condvar,
}

enum Outcome {
    /// The state, folded.
    Folded(State),
    /// The fold met a missing or corrupt stored node: the state as it was given.
    Failed(State),
    /// The fold panicked (a source that cannot read stops the process).
    Panicked,
}

impl Ahead {
    fn is_done(&self) -> bool {
        self.outcome
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .is_some()
    }

    fn finish(&self, outcome: Outcome) {
        *self.outcome.lock().unwrap_or_else(|e| e.into_inner()) = Some(outcome);
        self.ready.notify_all();
    }

    /// Waits for the fold: the state it was given and whether it is folded (the state is
    /// shared, so a clone is cheap).
    fn wait(&self) -> (State, bool) {
        let mut outcome = self.outcome.lock().unwrap_or_else(|e| e.into_inner());
        loop {
            match &*outcome {
                Some(Outcome::Folded(state)) => return (state.clone(), true),
                Some(Outcome::Failed(state)) => return (state.clone(), false),
                Some(Outcome::Panicked) => panic!("the state root fold thread panicked"),
                None => {
                    outcome = self.ready.wait(outcome).unwrap_or_else(|e| e.into_inner());
                }
            }
        }
    }
}

impl Default for State {
    fn default() -> Self {
        Self::at(Arc::new(NoSource), EMPTY_ROOT_HASH)
    }
}

impl std::fmt::Debug for State {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("State")
            .field("root", &self.root)
            .field("writes", &self.writes.len())
            .field("dirty", &self.dirty.len())
            .finish()
    }
}

impl State {
    /// The state `source` holds, whose trie has root `root`.
    pub fn at(source: Arc<dyn StateSource>, root: B256) -> Self {
        Self {
            source,
            writes: imbl::OrdMap::new(),
            nodes: imbl::HashMap::new(),
            root,
            dirty: imbl::OrdSet::new(),
            before: imbl::HashMap::new(),
            touched: imbl::OrdSet::new(),
            created: imbl::HashMap::new(),
            retired: imbl::OrdSet::new(),
            upper: imbl::OrdSet::new(),
            prefetch: false,
            ahead: None,
        }
    }

    /// Turns the [`StateSource::prefetch`] hints on or off: a block's execution turns them on
    /// so the source loads the trie paths of the keys it writes while it runs.
    pub fn prefetch_writes(&mut self, on: bool) {
        self.prefetch = on;
    }

    /// Builds a state from entries alone (with no source behind it).
    pub fn from_entries(entries: impl IntoIterator<Item = (B256, Bytes)>) -> Self {
        let mut state = Self::default();
        for (k, v) in entries {
            state.set(k, v);
        }
        state.commit_root();
        let _ = state.take_changes();
        state
    }

    /// Raw read.
    pub fn get(&self, key: &B256) -> Option<Bytes> {
        match self.writes.get(key) {
            Some(v) => v.clone(),
            None => self.source.entry(key),
        }
    }

    /// Raw write; an empty value deletes the entry (empty values are never stored).
    pub fn set(&mut self, key: B256, value: Bytes) {
        self.touched.insert(key);
        if self.dirty.insert(key).is_none() {
            let old = match self.writes.get(&key) {
                Some(v) => v.clone(),
                None => self.source.known_entry(&key).flatten(),
            };
            if self.prefetch {
                self.source.prefetch(&key, old.as_ref());
            }
            if let Some(old) = old {
                self.before.insert(key, old);
            }
        }
        self.writes
            .insert(key, if value.is_empty() { None } else { Some(value) });
    }

    pub fn account(&self, address: &Address) -> Account {
        self.get(&account_key(address))
            .and_then(|raw| Account::decode(&mut raw.as_ref()).ok())
            .unwrap_or_default()
    }

    pub fn set_account(&mut self, address: &Address, account: Account) {
        let key = account_key(address);
        if account.is_empty() {
            self.set(key, Bytes::new());
        } else {
            let mut buf = Vec::with_capacity(48);
            account.encode(&mut buf);
            self.set(key, buf.into());
        }
    }

    pub fn balance(&self, address: &Address) -> U256 {
        self.account(address).balance
    }

    pub fn nonce(&self, address: &Address) -> u64 {
        self.account(address).nonce
    }

    /// Reads a module slot; empty when unset.
    pub fn module_get(&self, module: &Address, slot: &[u8]) -> Bytes {
        self.get(&module_key(module, slot)).unwrap_or_default()
    }

    pub fn module_set(&mut self, module: &Address, slot: &[u8], value: Bytes) {
        self.set(module_key(module, slot), value);
    }

    /// The keccak256 of a contract's code; `None` for an account without code.
    pub fn code_hash(&self, address: &Address) -> Option<B256> {
        self.get(&code_hash_key(address))
            .filter(|raw| raw.len() == 32)
            .map(|raw| B256::from_slice(&raw))
    }

    /// A contract's code (empty for an account without code).
    pub fn code(&self, address: &Address) -> Bytes {
        self.code_hash(address)
            .map(|hash| self.code_by_hash(&hash))
            .unwrap_or_default()
    }

    /// Code by its hash (empty when no contract has it).
    pub fn code_by_hash(&self, hash: &B256) -> Bytes {
        self.get(&code_key(hash)).unwrap_or_default()
    }

    /// Gives `address` this code (empty code removes it). The code is stored once per hash.
    pub fn set_code(&mut self, address: &Address, code: Bytes) {
        if code.is_empty() {
            self.set(code_hash_key(address), Bytes::new());
            return;
        }
        let hash = alloy_primitives::keccak256(&code);
        let key = code_key(&hash);
        if self.get(&key).is_none() {
            self.set(key, code);
        }
        self.set(
            code_hash_key(address),
            Bytes::copy_from_slice(hash.as_slice()),
        );
    }

    /// An EVM contract's storage word (zero when unset).
    pub fn storage(&self, address: &Address, slot: &B256) -> U256 {
        self.get(&storage_key(address, slot))
            .filter(|raw| raw.len() <= 32)
            .map(|raw| U256::from_be_slice(&raw))
            .unwrap_or_default()
    }

    /// Writes an EVM contract's storage word; zero deletes it.
    pub fn set_storage(&mut self, address: &Address, slot: &B256, value: U256) {
        self.set(
            storage_key(address, slot),
            value.to_be_bytes_trimmed_vec().into(),
        );
    }

    /// Remembers the hash of block `height` for the EVM's `BLOCKHASH` (the last
    /// [`BLOCK_HASH_WINDOW`] blocks, in a ring of slots).
    pub fn record_block_hash(&mut self, height: u64, hash: B256) {
        let mut value = Vec::with_capacity(40);
        value.extend_from_slice(&height.to_be_bytes());
        value.extend_from_slice(hash.as_slice());
        self.set(block_hash_key(height), value.into());
    }

    /// The hash of block `height` if it is among the last [`BLOCK_HASH_WINDOW`] recorded.
    pub fn block_hash(&self, height: u64) -> Option<B256> {
        let raw = self.get(&block_hash_key(height))?;
        (raw.len() == 40 && raw[..8] == height.to_be_bytes()).then(|| B256::from_slice(&raw[8..]))
    }

    /// Total base fees burned since genesis (kept in state so supply is auditable).
    pub fn burned(&self) -> U256 {
        self.get(&meta_key("burned"))
            .map(|raw| U256::from_be_slice(&raw))
            .unwrap_or_default()
    }

    pub fn add_burned(&mut self, amount: U256) {
        let total = self.burned().saturating_add(amount);
        self.set(meta_key("burned"), total.to_be_bytes_trimmed_vec().into());
    }

    /// The authenticated commitment over every entry: a Merkle-Patricia root whose leaves are
    /// the hashed keys and the RLP-encoded values. Empty state has Ethereum's empty root.
    ///
    /// Costs the keys written since the last fold times the trie's depth; [`State::commit_root`]
    /// keeps the work.
    pub fn root(&self) -> B256 {
        if self.dirty.is_empty() && self.ahead.is_none() {
            return self.root;
        }
        self.clone().commit_root()
    }

    /// Starts folding the keys written so far on another thread once there are
    /// [`FOLD_AHEAD_KEYS`] of them, so that most of a block's root is folded while its
    /// transactions still execute and the fold left at its end is short. While one such fold
    /// runs, later writes wait for the next (it never blocks): slow folds take bigger batches.
    ///
    /// Where the folds fall thus depends on timing, but nothing they produce does: the root is
    /// the trie's over the entries, and the nodes [`State::take_changes`] lists as created and
    /// retired are the difference between the trie before the block and after it, however its
    /// writes were grouped. Call it between transactions; every reader of the trie (the root,
    /// proofs, the changes) first waits for a running fold and takes its result over.
    pub fn fold_ahead(&mut self) {
        self.fold_ahead_from(FOLD_AHEAD_KEYS);
    }

    fn fold_ahead_from(&mut self, keys: usize) {
        if self.dirty.len() < keys.max(1) {
            return;
        }
        match &self.ahead {
            Some(ahead) if !ahead.is_done() => return,
            _ => self.adopt(),
        }
        let mut snapshot = self.clone();
        let ahead = Arc::new(Ahead::default());
        let done = ahead.clone();
        let spawned = std::thread::Builder::new()
            .name("state-fold".into())
            .spawn(move || {
                let folded = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                    snapshot.try_commit_root().is_ok()
                }));
                done.finish(match folded {
                    Ok(true) => Outcome::Folded(snapshot),
                    Ok(false) => Outcome::Failed(snapshot),
                    Err(_) => Outcome::Panicked,
                });
            });
        // Without a thread, the keys simply stay for the next fold.
        if spawned.is_ok() {
            self.dirty = imbl::OrdSet::new();
            self.before = imbl::HashMap::new();
            self.ahead = Some(ahead);
        }
    }

    /// Takes over the result of a fold running ahead, waiting for it. A fold that failed gives
    /// its keys back to `dirty`, so the next fold meets (and reports) the same error.
    fn adopt(&mut self) {
        let Some(ahead) = self.ahead.take() else {
            return;
        };
        match ahead.wait() {
            (folded, true) => {
                self.root = folded.root;
                self.nodes = folded.nodes;
                self.created = folded.created;
                self.retired = folded.retired;
                self.upper = folded.upper;
            }
            (unfolded, false) => {
                self.dirty = unfolded.dirty.union(std::mem::take(&mut self.dirty));
                // A key written both before and after the fold started held, at the last fold,
                // the value the failed fold was given.
                self.before = unfolded.before.union(std::mem::take(&mut self.before));
            }
        }
    }

    /// Folds the keys written since the last fold into the trie and returns the root.
    ///
    /// # Panics
    /// When the state's source lacks a trie node it must hold (a corrupt data dir): the node
    /// cannot execute blocks on such a state.
    pub fn commit_root(&mut self) -> B256 {
        if let Err(e) = self.try_commit_root() {
            panic!("cannot compute the state root: {e}; the data dir is corrupt");
        }
        self.root
    }

    /// [`State::commit_root`], with the error of a missing or corrupt stored node.
    pub fn try_commit_root(&mut self) -> Result<B256, TrieError> {
        self.adopt();
        if self.dirty.is_empty() {
            return Ok(self.root);
        }
        if self.prefetch {
            self.source.folding();
        }
        let changes: Vec<(B256, Option<Bytes>, Option<&Bytes>)> = self
            .dirty
            .iter()
            .map(|k| {
                (
                    *k,
                    self.writes.get(k).cloned().flatten(),
                    self.before.get(k),
                )
            })
            .collect();
        let update = {
            let nodes = &self.nodes;
            let source = &self.source;
            let load = |h: &B256| nodes.get(h).cloned().or_else(|| source.node(h));
            trie::update_known(
                self.root,
                changes.iter().map(|(key, value, old)| trie::Change {
                    key,
                    value: value.as_ref().map(|b| b.as_ref()),
                    old: old.map(|b| b.as_ref()),
                }),
                &load,
            )?
        };
        // The node map and the write set's bookkeeping are apart: two threads. A stale node
        // is mostly one this state never held (read from the source): look before removing,
        // which would copy a shared map's path even for an absent key.
        let TrieUpdate { created, stale, .. } = &update;
        let mut nodes = std::mem::take(&mut self.nodes);
        let (mut upper, mut born, mut retired) = (
            std::mem::take(&mut self.upper),
            std::mem::take(&mut self.created),
            std::mem::take(&mut self.retired),
        );
        rayon::join(
            || {
                for hash in stale {
                    if nodes.contains_key(hash) {
                        nodes.remove(hash);
                    }
                }
                for (hash, raw) in created {
                    nodes.insert(*hash, raw.clone());
                }
            },
            || {
                for hash in stale {
                    if upper.contains(hash) {
                        upper.remove(hash);
                    }
                    // Created since the last `take_changes`: it never reached the store.
                    if born.contains_key(hash) {
                        born.remove(hash);
                    } else {
                        retired.insert(*hash);
                    }
                }
                for (hash, raw) in created {
                    // Retired earlier since the last `take_changes` and made again: the store
                    // still holds it, and it is not new (a later fold may retire it again).
                    if retired.contains(hash) {
                        retired.remove(hash);
                    } else {
                        born.insert(*hash, raw.clone());
                    }
                }
                upper.extend(
                    update
                        .upper
                        .iter()
                        .filter(|hash| born.contains_key(*hash))
                        .copied(),
                );
            },
        );
        (self.nodes, self.upper, self.created, self.retired) = (nodes, upper, born, retired);
        self.root = update.root;
        self.dirty = imbl::OrdSet::new();
        self.before = imbl::HashMap::new();
        Ok(self.root)
    }

    /// The write set since the last call: every touched key with its current value, and the trie
    /// nodes created and retired. Fold the root first ([`State::commit_root`]) so the nodes are
    /// those of the state's current root.
    pub fn take_changes(&mut self) -> Changes {
        self.adopt();
        let touched = std::mem::take(&mut self.touched);
        let entries = touched
            .into_iter()
            .map(|k| {
                let v = self.writes.get(&k).cloned().flatten();
                (k, v)
            })
            .collect();
        let mut nodes: Vec<(B256, Bytes)> = std::mem::take(&mut self.created).into_iter().collect();
        nodes.sort_unstable_by_key(|(h, _)| *h);
        let stale = std::mem::take(&mut self.retired).into_iter().collect();
        let upper = std::mem::take(&mut self.upper).into_iter().collect();
        Changes {
            entries,
            nodes,
            stale,
            upper,
        }
    }

    /// Every entry written since the source's state, in key order (`None` = deleted): for a
    /// state built from nothing, the whole state.
    pub fn writes(&self) -> impl Iterator<Item = (&B256, Option<&Bytes>)> {
        self.writes.iter().map(|(k, v)| (k, v.as_ref()))
    }

    /// The trie nodes created since the source's state that this state's trie holds (fold the
    /// root first): for a state built from nothing, its whole trie.
    pub fn nodes(&self) -> impl Iterator<Item = (&B256, &Bytes)> {
        self.nodes.iter()
    }

    /// An Ethereum-style proof of `key` against this state's root: the trie nodes on its path.
    pub fn proof(&self, key: &B256) -> Result<Vec<Bytes>, TrieError> {
        let mut folded = self.clone();
        let root = folded.try_commit_root()?;
        let nodes = &folded.nodes;
        let source = &folded.source;
        let load = |h: &B256| nodes.get(h).cloned().or_else(|| source.node(h));
        trie::proof(root, key, &load)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloy_primitives::keccak256;
    use proptest::prelude::*;
    use std::collections::HashMap;
    use std::sync::RwLock;

    /// A store as the node keeps one: entries flat, trie nodes by hash; `persist` applies a
    /// block's changes and deletes the nodes it retired at once (a history window of one block).
    /// With `remember`, it answers `known_entry` as a node's head does for the entries it read.
    #[derive(Default)]
    struct MapSource {
        entries: RwLock<HashMap<B256, Bytes>>,
        nodes: RwLock<HashMap<B256, Bytes>>,
        remember: bool,
        node_loads: std::sync::atomic::AtomicUsize,
        folds: std::sync::atomic::AtomicUsize,
    }

    impl StateSource for MapSource {
        fn entry(&self, key: &B256) -> Option<Bytes> {
            self.entries.read().expect("test store").get(key).cloned()
        }
        fn node(&self, hash: &B256) -> Option<Bytes> {
            self.node_loads
                .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            self.nodes.read().expect("test store").get(hash).cloned()
        }
        fn known_entry(&self, key: &B256) -> Option<Option<Bytes>> {
            self.remember.then(|| self.entry(key))
        }
        fn folding(&self) {
            self.folds
                .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        }
    }

    /// A block that hints its writes tells its source when their root fold starts (so hints
    /// not acted on yet can be dropped); a fold with nothing to fold, or without hints, does not.
    #[test]
    fn a_fold_of_hinted_writes_tells_the_source() {
        let source = Arc::new(MapSource::default());
        let folds = || source.folds.load(std::sync::atomic::Ordering::Relaxed);
        let mut state = State::at(source.clone(), EMPTY_ROOT_HASH);
        state.set(k(1), Bytes::from_static(b"one"));
        state.commit_root();
        assert_eq!(folds(), 0, "no hints given");
        state.prefetch_writes(true);
        state.commit_root();
        assert_eq!(folds(), 0, "nothing to fold");
        state.set(k(2), Bytes::from_static(b"two"));
        state.commit_root();
        assert_eq!(folds(), 1);
    }

    impl MapSource {
        fn persist(&self, changes: &Changes) {
            let mut entries = self.entries.write().expect("test store");
            for (k, v) in &changes.entries {
                match v {
                    Some(v) => entries.insert(*k, v.clone()),
                    None => entries.remove(k),
                };
            }
            let mut nodes = self.nodes.write().expect("test store");
            for h in &changes.stale {
                nodes.remove(h);
            }
            nodes.extend(changes.nodes.iter().cloned());
        }
    }

    fn k(i: u16) -> B256 {
        keccak256(i.to_be_bytes())
    }

    /// The old values a source knows reach the root fold, which then loads the rewritten keys'
    /// leaves no more (they sit deep under shared key prefixes here): the same root with fewer
    /// loads, a key written twice before a fold and a key rewritten after one included.
    #[test]
    fn known_old_values_spare_leaf_loads() {
        let deep = |i: u16| {
            let mut key = k(i);
            key[..3].copy_from_slice(&[0xab, 0xcd, (i % 3) as u8]);
            key
        };
        let mut model: BTreeMap<B256, Bytes> = (0..3000u16)
            .map(|i| (deep(i), Bytes::from(vec![(i % 200) as u8 + 1; 30])))
            .collect();
        let genesis = State::from_entries(model.clone());
        let sources = [false, true].map(|remember| {
            let source = MapSource {
                remember,
                ..MapSource::default()
            };
            source
                .entries
                .write()
                .expect("test store")
                .extend(model.clone());
            let nodes = genesis.nodes().map(|(h, raw)| (*h, raw.clone()));
            source.nodes.write().expect("test store").extend(nodes);
            Arc::new(source)
        });
        let mut roots = Vec::new();
        for source in &sources {
            let mut state = State::at(source.clone(), genesis.root());
            for i in (0..3000u16).step_by(4) {
                let old = state.get(&deep(i)).expect("present");
                state.set(deep(i), Bytes::from(vec![old[0], 2]));
                state.set(deep(i), Bytes::from(vec![old[0], 3]));
            }
            let first = state.commit_root();
            state.set(deep(8), Bytes::from(vec![4; 20]));
            roots.push((first, state.commit_root()));
        }
        for i in (0..3000u16).step_by(4) {
            let v = model[&deep(i)][0];
            model.insert(deep(i), Bytes::from(vec![v, 3]));
        }
        let first = scratch_root(&model);
        model.insert(deep(8), Bytes::from(vec![4; 20]));
        assert_eq!(roots, vec![(first, scratch_root(&model)); 2]);
        let [plain, known] =
            sources.map(|s| s.node_loads.load(std::sync::atomic::Ordering::Relaxed));
        assert!(
            plain >= known + 750,
            "the 750 rewritten leaves are not loaded: {plain} vs {known} loads"
        );
    }

    /// The root of `model` computed from nothing, by alloy-trie's `HashBuilder`.
    fn scratch_root(model: &BTreeMap<B256, Bytes>) -> B256 {
        let mut hb = alloy_trie::HashBuilder::default();
        for (k, v) in model {
            hb.add_leaf(alloy_trie::Nibbles::unpack(k), &trie::leaf_value(v));
        }
        hb.root()
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(48))]

        /// Blocks of random writes and deletes, each persisted to a store (retired nodes deleted
        /// at once) and the next one executed on a fresh view of it: every root equals the root
        /// computed from nothing over the same entries, and reads see exactly the model. With
        /// `ahead`, the root is folded on another thread every `ahead` written keys
        /// ([`State::fold_ahead`]), as a block's execution does.
        #[test]
        fn roots_over_a_store_equal_a_recomputation(
            blocks in prop::collection::vec(
                prop::collection::vec((0u16..300, prop::collection::vec(any::<u8>(), 0..24)), 1..60),
                1..10,
            ),
            ahead in prop::option::of(1usize..16),
        ) {
            let source = Arc::new(MapSource::default());
            let mut model: BTreeMap<B256, Bytes> = BTreeMap::new();
            let mut root = EMPTY_ROOT_HASH;
            for block in blocks {
                let mut state = State::at(source.clone(), root);
                let mut plain = state.clone();
                for (i, v) in block {
                    let v = Bytes::from(v);
                    state.set(k(i), v.clone());
                    plain.set(k(i), v.clone());
                    if let Some(keys) = ahead {
                        state.fold_ahead_from(keys);
                    }
                    if v.is_empty() { model.remove(&k(i)); } else { model.insert(k(i), v); }
                }
                root = state.commit_root();
                prop_assert_eq!(root, scratch_root(&model));
                let changes = state.take_changes();
                plain.commit_root();
                prop_assert_eq!(&changes, &plain.take_changes(), "the same changes as one fold");
                source.persist(&changes);
                let fresh = State::at(source.clone(), root);
                for i in 0u16..300 {
                    prop_assert_eq!(fresh.get(&k(i)), model.get(&k(i)).cloned());
                }
            }
            // Nothing stale was left behind: the store holds exactly the trie's nodes.
            assert_store_holds_the_trie(&source, &model);
        }
    }

    /// The nodes the store holds are exactly those of the trie over `model`.
    fn assert_store_holds_the_trie(source: &MapSource, model: &BTreeMap<B256, Bytes>) {
        let live = State::from_entries(model.iter().map(|(k, v)| (*k, v.clone())));
        let expected: std::collections::HashSet<B256> = live.nodes().map(|(h, _)| *h).collect();
        let stored: std::collections::HashSet<B256> = source
            .nodes
            .read()
            .expect("test store")
            .keys()
            .copied()
            .collect();
        let leaked: Vec<_> = stored.difference(&expected).collect();
        let lost: Vec<_> = expected.difference(&stored).collect();
        assert!(
            leaked.is_empty() && lost.is_empty(),
            "stale nodes stored: {leaked:?}; trie nodes missing: {lost:?}"
        );
    }

    /// A store holding `model` as one committed block, and its root.
    fn stored(model: &BTreeMap<B256, Bytes>) -> (Arc<MapSource>, B256) {
        let source = Arc::new(MapSource::default());
        let mut state = State::at(source.clone(), EMPTY_ROOT_HASH);
        for (key, v) in model {
            state.set(*key, v.clone());
        }
        let root = state.commit_root();
        source.persist(&state.take_changes());
        (source, root)
    }

    /// A key rewritten with its own value (or an absent key deleted) re-encodes its path
    /// unchanged; a later fold of the same block that changes a neighbour retires those nodes.
    /// They are retired from the store, not forgotten as nodes created by the block.
    #[test]
    fn an_unchanged_path_folded_twice_in_a_block_leaves_no_stale_node() {
        let mut model: BTreeMap<B256, Bytes> =
            (0..50).map(|i| (k(i), Bytes::from(vec![7; 4]))).collect();
        let (source, root) = stored(&model);
        let mut state = State::at(source.clone(), root);
        state.set(k(3), Bytes::from(vec![7; 4]));
        state.set(k(999), Bytes::new());
        state.commit_root();
        state.set(k(3), Bytes::from_static(b"changed"));
        state.set(k(999), Bytes::from_static(b"new"));
        model.insert(k(3), Bytes::from_static(b"changed"));
        model.insert(k(999), Bytes::from_static(b"new"));
        assert_eq!(state.commit_root(), scratch_root(&model));
        source.persist(&state.take_changes());
        assert_store_holds_the_trie(&source, &model);
    }

    /// A stored leaf retired by one fold of a block (a key added beside it pushes it down), made
    /// again by the next (that key deleted) and retired by a third (its own key changed) is
    /// retired from the store.
    #[test]
    fn a_node_retired_remade_and_retired_in_one_block_leaves_the_store() {
        let (a, b) = (k(1), k(2));
        let c = (100..u16::MAX)
            .map(k)
            .find(|c| c[0] >> 4 == a[0] >> 4 && c[0] >> 4 != b[0] >> 4)
            .expect("a key beside a");
        let mut model: BTreeMap<B256, Bytes> =
            [(a, Bytes::from(vec![1; 40])), (b, Bytes::from(vec![2; 40]))].into();
        let (source, root) = stored(&model);
        let mut state = State::at(source.clone(), root);
        state.set(c, Bytes::from(vec![3; 40]));
        state.commit_root();
        state.set(c, Bytes::new());
        assert_eq!(
            state.commit_root(),
            root,
            "the trie is the stored one again"
        );
        state.set(a, Bytes::from(vec![4; 40]));
        model.insert(a, Bytes::from(vec![4; 40]));
        assert_eq!(state.commit_root(), scratch_root(&model));
        source.persist(&state.take_changes());
        assert_store_holds_the_trie(&source, &model);
    }

    /// A fold running ahead is adopted by every state that continues the one that started it:
    /// two forks taken while it runs each get its result under their own later writes.
    #[test]
    fn forks_of_a_state_folding_ahead_are_isolated() {
        let source = Arc::new(MapSource::default());
        let mut state = State::at(source.clone(), EMPTY_ROOT_HASH);
        let mut model = BTreeMap::new();
        for i in 0..200 {
            state.set(k(i), Bytes::from(vec![1; 8]));
            model.insert(k(i), Bytes::from(vec![1; 8]));
        }
        state.fold_ahead_from(100);
        assert!(state.ahead.is_some(), "a fold runs ahead");
        let (mut a, mut b) = (state.clone(), state);
        a.set(k(5), Bytes::from_static(b"a"));
        b.set(k(5), Bytes::new());
        b.set(k(700), Bytes::from_static(b"b"));
        let (mut model_a, mut model_b) = (model.clone(), model);
        model_a.insert(k(5), Bytes::from_static(b"a"));
        model_b.remove(&k(5));
        model_b.insert(k(700), Bytes::from_static(b"b"));
        assert_eq!(
            b.root(),
            scratch_root(&model_b),
            "root() of a state folding ahead"
        );
        assert_eq!(a.commit_root(), scratch_root(&model_a));
        assert_eq!(b.commit_root(), scratch_root(&model_b));
        assert_eq!(a.get(&k(700)), None);
        source.persist(&b.take_changes());
        assert_store_holds_the_trie(&source, &model_b);
    }

    /// A fold running ahead that meets a missing stored node does not lose its keys: the next
    /// fold reports the error, and once the node is back the root is right.
    #[test]
    fn a_failed_fold_ahead_gives_its_keys_back() {
        let mut model: BTreeMap<B256, Bytes> =
            (0..100).map(|i| (k(i), Bytes::from(vec![3; 8]))).collect();
        let (source, root) = stored(&model);
        let (hash, raw) = source
            .nodes
            .write()
            .expect("test store")
            .remove_entry(&root)
            .expect("the root node");
        let mut state = State::at(source.clone(), root);
        state.set(k(1), Bytes::from_static(b"x"));
        state.fold_ahead_from(1);
        state.set(k(2), Bytes::from_static(b"y"));
        assert_eq!(state.try_commit_root(), Err(TrieError::MissingNode(hash)));
        source.nodes.write().expect("test store").insert(hash, raw);
        model.insert(k(1), Bytes::from_static(b"x"));
        model.insert(k(2), Bytes::from_static(b"y"));
        assert_eq!(state.try_commit_root(), Ok(scratch_root(&model)));
    }

    /// Two children of one parent (speculative execution of competing blocks) do not see each
    /// other's writes, each root is its own entries' root, and the parent is untouched.
    #[test]
    fn forks_of_one_parent_are_isolated() {
        let source = Arc::new(MapSource::default());
        let mut base = State::at(source.clone(), EMPTY_ROOT_HASH);
        for i in 0..100 {
            base.set(k(i), Bytes::from(vec![1; 8]));
        }
        let root = base.commit_root();
        source.persist(&base.take_changes());
        let mut parent = State::at(source.clone(), root);
        parent.set(k(1), Bytes::from_static(b"parent"));
        let parent_root = parent.commit_root();
        let mut a = parent.clone();
        let mut b = parent.clone();
        a.set(k(2), Bytes::from_static(b"a"));
        a.set(k(500), Bytes::from_static(b"only a"));
        b.set(k(2), Bytes::from_static(b"b"));
        b.set(k(3), Bytes::new());
        let (ra, rb) = (a.commit_root(), b.commit_root());
        assert_ne!(ra, rb);
        assert_eq!(a.get(&k(2)), Some(Bytes::from_static(b"a")));
        assert_eq!(b.get(&k(2)), Some(Bytes::from_static(b"b")));
        assert_eq!(b.get(&k(500)), None, "b sees nothing of a");
        assert!(a.get(&k(3)).is_some(), "a sees nothing of b");
        assert_eq!(parent.root(), parent_root);
        assert_eq!(parent.get(&k(2)), Some(Bytes::from(vec![1u8; 8])));
        let mut model: BTreeMap<B256, Bytes> =
            (0..100).map(|i| (k(i), Bytes::from(vec![1; 8]))).collect();
        model.insert(k(1), Bytes::from_static(b"parent"));
        let mut model_a = model.clone();
        model_a.insert(k(2), Bytes::from_static(b"a"));
        model_a.insert(k(500), Bytes::from_static(b"only a"));
        let mut model_b = model;
        model_b.insert(k(2), Bytes::from_static(b"b"));
        model_b.remove(&k(3));
        assert_eq!(ra, scratch_root(&model_a));
        assert_eq!(rb, scratch_root(&model_b));
        // Grandchildren build on an unfinalized parent's nodes, which are not stored yet.
        let mut a2 = a.clone();
        a2.set(k(4), Bytes::from_static(b"a2"));
        model_a.insert(k(4), Bytes::from_static(b"a2"));
        assert_eq!(a2.commit_root(), scratch_root(&model_a));
        // Proofs against each fork's root verify with alloy-trie's verifier.
        for (state, root, key, value) in [
            (&a2, a2.root(), k(500), Some(&b"only a"[..])),
            (&b, rb, k(500), None),
            (&b, rb, k(3), None),
            (&b, rb, k(2), Some(&b"b"[..])),
        ] {
            let proof = state.proof(&key).expect("proof");
            let expected = value.map(trie::leaf_value);
            alloy_trie::proof::verify_proof(
                root,
                alloy_trie::Nibbles::unpack(key),
                expected,
                &proof,
            )
            .expect("verifies");
        }
    }

    #[test]
    fn root_depends_on_every_entry_and_ignores_history() {
        let a = Address::repeat_byte(1);
        let mut s1 = State::default();
        assert_eq!(s1.root(), EMPTY_ROOT_HASH);
        s1.set_account(
            &a,
            Account {
                nonce: 1,
                balance: U256::from(5),
            },
        );
        let r1 = s1.root();
        let mut s2 = s1.clone();
        s2.module_set(&a, b"x", Bytes::from_static(b"1"));
        assert_ne!(s2.root(), r1);
        s2.module_set(&a, b"x", Bytes::new());
        assert_eq!(s2.root(), r1, "deleting restores the same root");
        assert_eq!(s1.account(&a).nonce, 1);
    }

    #[test]
    fn empty_accounts_are_not_stored() {
        let mut s = State::default();
        s.set_account(&Address::ZERO, Account::default());
        assert_eq!(s.root(), EMPTY_ROOT_HASH);
        assert!(s.get(&account_key(&Address::ZERO)).is_none());
    }
}
