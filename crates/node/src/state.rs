//! The ledger's view of the state on disk: the finalized head's entries read flat, and the state
//! of a recent block read through its trie.

use lazai_ledger::{StateSource, trie};
use lazai_storage::Snapshot;
use lazai_types::{B256, Bytes};
use tracing::error;

/// Stops the node on a failing disk: a state read that cannot be answered must not pass for an
/// absent entry (the node would compute another root than its peers).
fn fatal(what: &str, e: lazai_storage::Error) -> ! {
    error!(%e, "state read failed: {what}; stopping");
    panic!("state read failed: {what}: {e}");
}

/// The finalized head's state, as a snapshot of the store taken when it was committed.
pub struct StoreSource(pub Snapshot);

impl StateSource for StoreSource {
    fn entry(&self, key: &B256) -> Option<Bytes> {
        self.0.entry(key).unwrap_or_else(|e| fatal("entry", e))
    }

    fn node(&self, hash: &B256) -> Option<Bytes> {
        self.0.node(hash).unwrap_or_else(|e| fatal("trie node", e))
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
