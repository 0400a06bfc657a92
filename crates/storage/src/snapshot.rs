//! Read-only views of the store.

use super::*;

/// A consistent read-only view of the store at one moment: the finalized state then, and every
/// trie node still kept. Cheap to hold; it pins that version of the file until dropped.
pub struct Snapshot {
    /// The finalized height the snapshot holds.
    pub head: u64,
    pub(crate) state: redb::ReadOnlyTable<&'static [u8; 32], &'static [u8]>,
    pub(crate) nodes: redb::ReadOnlyTable<&'static [u8; 32], &'static [u8]>,
    /// Committed state changes the tables may not hold yet, oldest first.
    pub(crate) pending: Vec<Arc<Pending>>,
    pub(crate) cache: Arc<NodeCache>,
}

impl Snapshot {
    /// A finalized-head entry.
    pub fn entry(&self, key: &B256) -> Result<Option<Bytes>> {
        for p in self.pending.iter().rev() {
            if let Some(v) = p.entry(key) {
                return Ok(v);
            }
        }
        Ok(self
            .state
            .get(&key.0)
            .map_err(db_err)?
            .map(|v| Bytes::copy_from_slice(v.value())))
    }

    /// Whether the shared node cache holds `hash` (reading it would not touch the disk).
    pub fn is_cached(&self, hash: &B256) -> bool {
        self.cache.contains(hash)
    }

    /// A trie node's RLP.
    pub fn node(&self, hash: &B256) -> Result<Option<Bytes>> {
        for p in self.pending.iter().rev() {
            if let Some(raw) = p.node(hash) {
                return Ok(Some(raw));
            }
        }
        if let Some(raw) = self.cache.get(hash) {
            return Ok(Some(raw));
        }
        let Some(v) = self.nodes.get(&hash.0).map_err(db_err)? else {
            return Ok(None);
        };
        let raw = v.value();
        if raw.len() < 8 {
            return Err(Error::Corrupt {
                table: "trie_nodes",
                reason: format!("node {hash} is {} bytes", raw.len()),
            });
        }
        let raw = Bytes::copy_from_slice(&raw[8..]);
        self.cache.lower.insert(*hash, raw.clone());
        Ok(Some(raw))
    }
}
