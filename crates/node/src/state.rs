//! The ledger's view of the state on disk: the finalized head's entries read flat, and the state
//! of a recent block read through its trie.

use lazai_ledger::{StateSource, trie};
use lazai_storage::Snapshot;
use lazai_types::{B256, Bytes};
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
}

/// A snapshot of the store and the root of the state it holds.
struct Finalized {
    snapshot: Snapshot,
    root: B256,
}

impl StoreSource {
    /// The state `snapshot` holds, whose trie has root `root`.
    pub fn new(snapshot: Snapshot, root: B256) -> Self {
        Self {
            head: Arc::new(Finalized { snapshot, root }),
            prefetcher: None,
        }
    }

    /// Passes write hints on to `prefetcher`.
    pub fn with_prefetcher(mut self, prefetcher: Prefetcher) -> Self {
        self.prefetcher = Some(prefetcher);
        self
    }
}

impl StateSource for StoreSource {
    fn entry(&self, key: &B256) -> Option<Bytes> {
        self.head
            .snapshot
            .entry(key)
            .unwrap_or_else(|e| fatal("entry", e))
    }

    fn node(&self, hash: &B256) -> Option<Bytes> {
        self.head
            .snapshot
            .node(hash)
            .unwrap_or_else(|e| fatal("trie node", e))
    }

    fn prefetch(&self, key: &B256) {
        if let Some(prefetcher) = &self.prefetcher {
            prefetcher.request(&self.head, key);
        }
    }
}

/// Hints waiting for the prefetch thread at most; past that, hints are dropped (the root fold
/// loads what was not prefetched itself).
const PREFETCH_QUEUE: usize = 1 << 16;

/// Loads the trie paths of the keys a block writes on a thread of its own while the block
/// executes, into the store's shared node cache, so the root fold that ends the block finds its
/// nodes in memory instead of reading them one by one from disk. Paths are walked in the
/// finalized head's trie: the nodes below what unfinalized blocks rewrote are the same.
/// Best effort: a full queue drops hints, a failing read is left for the fold to report.
#[derive(Clone)]
pub struct Prefetcher {
    jobs: std::sync::mpsc::SyncSender<(Weak<Finalized>, B256)>,
}

impl Prefetcher {
    /// Starts the prefetch thread; it stops when the last `Prefetcher` clone is dropped.
    pub fn spawn() -> std::io::Result<Self> {
        let (jobs, queue) =
            std::sync::mpsc::sync_channel::<(Weak<Finalized>, B256)>(PREFETCH_QUEUE);
        std::thread::Builder::new()
            .name("trie-prefetch".into())
            .spawn(move || {
                while let Ok((head, key)) = queue.recv() {
                    // A state nobody reads any more (a newer head replaced it) is not walked.
                    let Some(head) = head.upgrade() else {
                        continue;
                    };
                    let load = |h: &B256| head.snapshot.node(h).ok().flatten();
                    let _ = trie::get(head.root, &key, &load);
                }
            })?;
        Ok(Self { jobs })
    }

    fn request(&self, head: &Arc<Finalized>, key: &B256) {
        let _ = self.jobs.try_send((Arc::downgrade(head), *key));
    }
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

    /// A hint for a key makes the prefetch thread load every stored node on the key's path into
    /// the store's node cache, which starts cold after a reopen.
    #[test]
    fn a_hint_loads_the_keys_path_into_the_node_cache() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("chain.redb");
        let entries: Vec<(B256, Bytes)> = (0..2_000u32)
            .map(|i| {
                let key = lazai_types::keccak256(i.to_be_bytes());
                (key, Bytes::from(vec![7u8; 40]))
            })
            .collect();
        let built = trie::build(entries.iter().map(|(k, v)| (k, v.as_ref()))).expect("build");
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
        {
            let store = Store::open(&path).expect("open");
            let genesis = Block {
                header: Header::default(),
                transactions: vec![],
                evidence: vec![],
            };
            store
                .init_genesis(
                    &genesis,
                    B256::repeat_byte(1),
                    StateWrites {
                        entries: entries.iter().map(|(k, v)| (k, Some(v))),
                        nodes: &built.created,
                        stale: &[],
                    },
                )
                .expect("genesis");
        }
        let store = Store::open(&path).expect("reopen");
        let snapshot = store.snapshot().expect("snapshot");
        assert!(path_nodes.iter().all(|h| !snapshot.is_cached(h)), "cold");
        let source = StoreSource::new(store.snapshot().expect("snapshot"), built.root)
            .with_prefetcher(Prefetcher::spawn().expect("thread"));
        source.prefetch(&key);
        let started = Instant::now();
        while !path_nodes.iter().all(|h| snapshot.is_cached(h)) {
            assert!(
                started.elapsed() < Duration::from_secs(30),
                "the path was not prefetched"
            );
            std::thread::sleep(Duration::from_millis(5));
        }
    }
}
