//! The ledger's view of the state on disk: the finalized head's entries read flat, and the state
//! of a recent block read through its trie.

use lazai_ledger::{State, StateSource, trie};
use lazai_storage::{Snapshot, StateWrites, Store};
use lazai_types::{B256, Bytes};
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Weak};
use tracing::error;

/// Stops the node on a failing disk: a state read that cannot be answered must not pass for an
/// absent entry (the node would compute another root than its peers).
fn fatal(what: &str, e: lazai_storage::Error) -> ! {
    error!(%e, "state read failed: {what}; stopping");
    panic!("state read failed: {what}: {e}");
}

/// The finalized head's state, as a snapshot of the store taken when it was committed.
pub struct StoreSource {
    head: Arc<Finalized>,
    prefetcher: Option<Prefetcher>,
    /// Whether entries read are remembered and offered as old values (on by default).
    remember: bool,
}

/// A snapshot of the store and the root of the state it holds.
struct Finalized {
    snapshot: Snapshot,
    root: B256,
    /// Entries read so far: a block reads the entries it writes, and its root fold uses their
    /// old values (see [`StateSource::known_entry`]).
    read: parking_lot::Mutex<Remembered>,
    /// How many root folds have started on this head: a prefetch hint given before the
    /// latest one started is dropped (see [`StateSource::folding`]).
    folds: AtomicU64,
}

/// How many entries, and how many bytes of them, a finalized head remembers having read at
/// most (a head lives until the next block is finalized; past either bound, reads are not
/// remembered: RPC reads of large entries cannot make a head hold more).
const REMEMBERED_ENTRIES: usize = 1 << 16;
const REMEMBERED_BYTES: usize = 16 << 20;

/// The entries a head has read, within [`REMEMBERED_ENTRIES`] and [`REMEMBERED_BYTES`].
#[derive(Default)]
struct Remembered {
    entries: HashMap<B256, Option<Bytes>>,
    bytes: usize,
}

impl Remembered {
    fn get(&self, key: &B256) -> Option<Option<Bytes>> {
        self.entries.get(key).cloned()
    }

    fn insert(&mut self, key: B256, value: &Option<Bytes>) {
        // The key, the map's slot and the value's handle: ~96 bytes besides the value.
        let bytes = 96 + value.as_ref().map_or(0, |v| v.len());
        if self.entries.len() < REMEMBERED_ENTRIES
            && self.bytes + bytes <= REMEMBERED_BYTES
            && self.entries.insert(key, value.clone()).is_none()
        {
            self.bytes += bytes;
        }
    }
}

impl StoreSource {
    /// The state `snapshot` holds, whose trie has root `root`.
    pub fn new(snapshot: Snapshot, root: B256) -> Self {
        Self {
            head: Arc::new(Finalized {
                snapshot,
                root,
                read: parking_lot::Mutex::default(),
                folds: AtomicU64::new(0),
            }),
            prefetcher: None,
            remember: true,
        }
    }

    /// Stops remembering the entries read, so root folds load every leaf they replace (what a
    /// benchmark compares against).
    pub fn forgetting(mut self) -> Self {
        self.remember = false;
        self
    }

    /// Passes write hints on to `prefetcher`.
    pub fn with_prefetcher(mut self, prefetcher: Prefetcher) -> Self {
        self.prefetcher = Some(prefetcher);
        self
    }
}

impl StateSource for StoreSource {
    fn entry(&self, key: &B256) -> Option<Bytes> {
        let read = || {
            self.head
                .snapshot
                .entry(key)
                .unwrap_or_else(|e| fatal("entry", e))
        };
        if !self.remember {
            return read();
        }
        if let Some(known) = self.head.read.lock().get(key) {
            return known;
        }
        let value = read();
        self.head.read.lock().insert(*key, &value);
        value
    }

    fn known_entry(&self, key: &B256) -> Option<Option<Bytes>> {
        if !self.remember {
            return None;
        }
        self.head.read.lock().get(key)
    }

    fn node(&self, hash: &B256) -> Option<Bytes> {
        self.head
            .snapshot
            .node(hash)
            .unwrap_or_else(|e| fatal("trie node", e))
    }

    fn prefetch(&self, key: &B256, old: Option<&Bytes>) {
        if let Some(prefetcher) = &self.prefetcher {
            prefetcher.request(&self.head, key, old);
        }
    }

    fn folding(&self) {
        self.head.folds.fetch_add(1, Ordering::Relaxed);
    }
}

/// A block's state changes as the store writes them.
pub fn state_writes(
    changes: &lazai_ledger::Changes,
) -> StateWrites<'_, impl Iterator<Item = (&B256, Option<&Bytes>)>> {
    StateWrites {
        entries: changes.entries.iter().map(|(k, v)| (k, v.as_ref())),
        nodes: &changes.nodes,
        stale: &changes.stale,
        upper: &changes.upper,
    }
}

/// Re-derives the trie nodes of the blocks whose state changes `store` had committed but not
/// applied when it was last closed (a crash): each block's changes are folded into its parent's
/// trie, and must give the root its header holds. Returns how many blocks it recovered.
pub fn recover_state(store: &Store) -> Result<usize, lazai_storage::Error> {
    store.recover(&mut |snapshot, parent, entries| {
        let mut state = State::at(Arc::new(StoreSource::new(snapshot, parent)), parent);
        for (key, value) in entries {
            state.set(*key, value.clone().unwrap_or_default());
        }
        let root = state.try_commit_root().map_err(|e| e.to_string())?;
        let changes = state.take_changes();
        Ok((root, changes.nodes, changes.stale))
    })
}

/// Hints waiting for the prefetch thread at most; past that, hints are dropped (the root fold
/// loads what was not prefetched itself).
const PREFETCH_QUEUE: usize = 1 << 16;

/// Loads the trie paths of the keys a block writes on a thread of its own while the block
/// executes, into the store's shared node cache, so the root fold that ends the block finds its
/// nodes in memory instead of reading them one by one from disk. Paths are walked in the
/// finalized head's trie: the nodes below what unfinalized blocks rewrote are the same.
/// A key's leaf, recognised by the hash of its old value when the hint carries it, is not
/// loaded: the fold will not load it either. Best effort: a full queue drops hints, a failing
/// read is left for the fold to report. Once a root fold starts on a head, the hints given
/// before it are dropped: the fold loads what it needs itself, and the thread would only take
/// its cores.
#[derive(Clone)]
pub struct Prefetcher {
    jobs: std::sync::mpsc::SyncSender<Hint>,
}

/// A key to prefetch in a head's trie (with the count of folds started on it when the hint
/// was given), with its value there when known.
type Hint = (Weak<Finalized>, u64, B256, Option<Bytes>);

impl Prefetcher {
    /// Starts the prefetch thread; it stops when the last `Prefetcher` clone is dropped.
    pub fn spawn() -> std::io::Result<Self> {
        let (jobs, queue) = std::sync::mpsc::sync_channel::<Hint>(PREFETCH_QUEUE);
        std::thread::Builder::new()
            .name("trie-prefetch".into())
            .spawn(move || {
                while let Ok(hint) = queue.recv() {
                    walk_hint(hint);
                }
            })?;
        Ok(Self { jobs })
    }

    fn request(&self, head: &Arc<Finalized>, key: &B256, old: Option<&Bytes>) {
        let _ = self.jobs.try_send(hint(head, key, old));
    }
}

fn hint(head: &Arc<Finalized>, key: &B256, old: Option<&Bytes>) -> Hint {
    (
        Arc::downgrade(head),
        head.folds.load(Ordering::Relaxed),
        *key,
        old.cloned(),
    )
}

/// Loads a hint's path into the node cache; whether it did. A state nobody reads any more (a
/// newer head replaced it) is not walked, nor a key whose root fold has started.
fn walk_hint((head, folds, key, old): Hint) -> bool {
    let Some(head) = head.upgrade() else {
        return false;
    };
    if head.folds.load(Ordering::Relaxed) != folds {
        return false;
    }
    let load = |h: &B256| head.snapshot.node(h).ok().flatten();
    let _ = trie::load_path(head.root, &key, old.as_ref().map(|b| b.as_ref()), &load);
    true
}

/// The state of an earlier block in the history window: its entries are found by walking the
/// trie from that block's root (the nodes it needs are kept until the block leaves the window).
pub(crate) struct PastSource {
    pub snapshot: Snapshot,
    pub root: B256,
}

impl StateSource for PastSource {
    fn entry(&self, key: &B256) -> Option<Bytes> {
        let load = |h: &B256| self.node(h);
        match trie::get(self.root, key, &load) {
            Ok(v) => v,
            Err(e) => {
                error!(%e, root = %self.root, "past state is missing a trie node");
                panic!("past state {} is missing a trie node: {e}", self.root)
            }
        }
    }

    fn node(&self, hash: &B256) -> Option<Bytes> {
        self.snapshot
            .node(hash)
            .unwrap_or_else(|e| fatal("trie node", e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use lazai_storage::{StateWrites, Store};
    use lazai_types::{Block, Header};
    use std::collections::HashMap;
    use std::time::{Duration, Instant};

    /// A new store at `path` whose genesis (`header`) holds `entries`, with their trie's nodes.
    fn genesis_store(
        path: &std::path::Path,
        header: Header,
        entries: &[(B256, Bytes)],
        nodes: &[(B256, Bytes)],
    ) -> Store {
        let store = Store::open(path).expect("open");
        let genesis = Block {
            header,
            transactions: vec![],
            evidence: vec![],
        };
        store
            .init_genesis(
                &genesis,
                B256::repeat_byte(1),
                StateWrites {
                    entries: entries.iter().map(|(k, v)| (k, Some(v))),
                    nodes,
                    stale: &[],
                    upper: &[],
                },
            )
            .expect("genesis");
        store
    }

    /// A store at `path` whose genesis holds `n` entries with their trie's nodes, reopened (so
    /// its node cache is cold), with the entries and the trie.
    fn trie_store(path: &std::path::Path, n: u32) -> (Store, Vec<(B256, Bytes)>, trie::TrieUpdate) {
        let entries: Vec<(B256, Bytes)> = (0..n)
            .map(|i| {
                let key = lazai_types::keccak256(i.to_be_bytes());
                (key, Bytes::from(vec![7u8; 40]))
            })
            .collect();
        let built = trie::build(entries.iter().map(|(k, v)| (k, v.as_ref()))).expect("build");
        drop(genesis_store(
            path,
            Header::default(),
            &entries,
            &built.created,
        ));
        (Store::open(path).expect("reopen"), entries, built)
    }

    /// A hint for a key makes the prefetch thread load every stored node on the key's path into
    /// the store's node cache, which starts cold after a reopen.
    #[test]
    fn a_hint_loads_the_keys_path_into_the_node_cache() {
        let dir = tempfile::tempdir().expect("tempdir");
        let (store, entries, built) = trie_store(&dir.path().join("chain.redb"), 2_000);
        let key = entries[1_234].0;
        let all: HashMap<B256, Bytes> = built.created.iter().cloned().collect();
        let path_nodes: Vec<B256> = trie::proof(built.root, &key, &|h: &B256| all.get(h).cloned())
            .expect("proof")
            .iter()
            .map(lazai_types::keccak256)
            .collect();
        assert!(
            path_nodes.len() >= 3,
            "a path through branches: {path_nodes:?}"
        );
        let snapshot = store.snapshot().expect("snapshot");
        assert!(path_nodes.iter().all(|h| !snapshot.is_cached(h)), "cold");
        let source = StoreSource::new(store.snapshot().expect("snapshot"), built.root)
            .with_prefetcher(Prefetcher::spawn().expect("thread"));
        source.prefetch(&key, None);
        let started = Instant::now();
        while !path_nodes.iter().all(|h| snapshot.is_cached(h)) {
            assert!(
                started.elapsed() < Duration::from_secs(30),
                "the path was not prefetched"
            );
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    /// A hint given before a root fold started on its head is dropped; one given after, or on
    /// another head, is walked.
    #[test]
    fn a_fold_drops_the_hints_given_before_it() {
        let dir = tempfile::tempdir().expect("tempdir");
        let (store, entries, built) = trie_store(&dir.path().join("chain.redb"), 500);
        let root_node = |s: &Snapshot| s.is_cached(&built.root);
        let source = StoreSource::new(store.snapshot().expect("snapshot"), built.root);
        let other = StoreSource::new(store.snapshot().expect("snapshot"), built.root);
        let key = entries[7].0;
        let before = hint(&source.head, &key, None);
        let on_other = hint(&other.head, &key, None);
        source.folding();
        assert!(!walk_hint(before), "given before the fold");
        assert!(
            !root_node(&store.snapshot().expect("snapshot")),
            "nothing loaded"
        );
        assert!(walk_hint(on_other), "another head's fold has not started");
        assert!(
            root_node(&store.snapshot().expect("snapshot")),
            "its path loaded"
        );
        assert!(
            walk_hint(hint(&source.head, &key, None)),
            "given after the fold"
        );
        let gone = hint(&source.head, &key, None);
        drop(source);
        assert!(!walk_hint(gone), "a head nobody reads any more");
    }

    /// A head remembers the entries it read, as old values for the next root fold, up to its
    /// byte budget: reads of large entries past it are answered but not remembered.
    #[test]
    fn a_head_remembers_what_it_read_within_its_budget() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("chain.redb");
        let key = |i: u32| lazai_types::keccak256(i.to_be_bytes());
        let big = Bytes::from(vec![3u8; 1 << 20]);
        let mut entries: Vec<(B256, Bytes)> = vec![(key(0), Bytes::from(vec![1u8; 40]))];
        entries.extend((1..=20u32).map(|i| (key(i), big.clone())));
        let built = trie::build(entries.iter().map(|(k, v)| (k, v.as_ref()))).expect("build");
        let store = genesis_store(&path, Header::default(), &entries, &built.created);
        let source = StoreSource::new(store.snapshot().expect("snapshot"), built.root);
        assert_eq!(source.known_entry(&key(0)), None, "nothing read yet");
        assert_eq!(source.entry(&key(0)), Some(entries[0].1.clone()));
        assert_eq!(
            source.known_entry(&key(0)),
            Some(Some(entries[0].1.clone()))
        );
        assert_eq!(source.entry(&key(99)), None);
        assert_eq!(source.known_entry(&key(99)), Some(None), "known absent");
        for i in 1..=20u32 {
            assert_eq!(source.entry(&key(i)).as_ref(), Some(&big), "answered");
        }
        let remembered = (1..=20u32)
            .filter(|i| source.known_entry(&key(*i)).is_some())
            .count();
        assert_eq!(
            remembered, 15,
            "16 MiB hold 15 entries of 1 MiB beside the small ones"
        );
        assert!(source.head.read.lock().bytes <= REMEMBERED_BYTES);
        let forgetting =
            StoreSource::new(store.snapshot().expect("snapshot"), built.root).forgetting();
        assert_eq!(forgetting.entry(&key(0)), Some(entries[0].1.clone()));
        assert_eq!(forgetting.known_entry(&key(0)), None);
    }

    /// After a crash that left finalized blocks' state changes in the journal, unapplied,
    /// `recover_state` re-derives their trie nodes by folding them into their parents' tries:
    /// the head's entries read the same flat and through its trie, and once applied the tables
    /// hold them after a clean reopen.
    #[test]
    fn a_crash_with_unapplied_blocks_recovers_the_same_state() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("chain.redb");
        let key = |i: u32| lazai_types::keccak256(i.to_be_bytes());
        let genesis_entries: Vec<(B256, Bytes)> = (0..2_000u32)
            .map(|i| (key(i), Bytes::from(vec![7u8; 40])))
            .collect();
        let built =
            trie::build(genesis_entries.iter().map(|(k, v)| (k, v.as_ref()))).expect("build");
        let mut parent = Header {
            state_root: built.root,
            ..Header::default()
        };
        let mut last: HashMap<B256, Option<Bytes>> = genesis_entries
            .iter()
            .map(|(k, v)| (*k, Some(v.clone())))
            .collect();
        {
            let store = genesis_store(&path, parent.clone(), &genesis_entries, &built.created);
            for b in 1..=3u32 {
                if b == 2 {
                    // Blocks 2 and 3 stay in the journal, as if the node died right after them.
                    store.hold_apply(true);
                }
                let source =
                    StoreSource::new(store.snapshot().expect("snapshot"), parent.state_root);
                let mut state = State::at(Arc::new(source), parent.state_root);
                for j in 0..60u32 {
                    // Rewrites of genesis keys, new keys, and one deletion per block.
                    let k = if j % 2 == 0 {
                        key(b * 100 + j)
                    } else {
                        key(10_000 * b + j)
                    };
                    let v = Bytes::from(format!("block {b} entry {j}").into_bytes());
                    state.set(k, v.clone());
                    last.insert(k, Some(v));
                }
                state.set(key(b), Bytes::new());
                last.insert(key(b), None);
                let root = state.commit_root();
                let changes = state.take_changes();
                let header = Header {
                    height: u64::from(b),
                    parent_hash: parent.hash(),
                    state_root: root,
                    ..Header::default()
                };
                let block = Block {
                    header: header.clone(),
                    transactions: vec![],
                    evidence: vec![],
                };
                store
                    .commit_block(&block, &[], state_writes(&changes))
                    .expect("commit");
                parent = header;
            }
        }
        let check = |store: &Store| {
            let snapshot = store.snapshot().expect("snapshot");
            assert_eq!(snapshot.head, 3);
            let load = |h: &B256| snapshot.node(h).expect("node");
            for (k, v) in &last {
                assert_eq!(&snapshot.entry(k).expect("entry"), v, "flat read of {k}");
                assert_eq!(
                    &trie::get(parent.state_root, k, &load).expect("walk"),
                    v,
                    "trie read of {k}"
                );
            }
        };
        let store = Store::open(&path).expect("reopen after the crash");
        assert_eq!(store.unrecovered(), 2);
        assert!(store.snapshot().is_err(), "no reads before recovery");
        assert_eq!(recover_state(&store).expect("recover"), 2);
        check(&store);
        store.wait_applied().expect("applied");
        drop(store);
        let store = Store::open(&path).expect("clean reopen");
        assert_eq!(store.unrecovered(), 0);
        check(&store);
    }
}
