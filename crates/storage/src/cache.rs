//! The store's cache of trie nodes.

use super::*;

/// Trie nodes by hash, least recently used out first past a budget.
pub(crate) struct Segment {
    pub(crate) inner: Mutex<(lru::LruCache<B256, Bytes>, usize)>,
    pub(crate) budget: usize,
}

impl Segment {
    /// What an entry counts against the budget: its bytes and a share for the key and links.
    pub(crate) fn cost(raw: &Bytes) -> usize {
        raw.len() + 64
    }

    pub(crate) fn new(budget: usize) -> Self {
        Self {
            inner: Mutex::new((lru::LruCache::unbounded(), 0)),
            budget,
        }
    }

    pub(crate) fn get(&self, hash: &B256) -> Option<Bytes> {
        self.inner.lock().0.get(hash).cloned()
    }

    pub(crate) fn contains(&self, hash: &B256) -> bool {
        self.inner.lock().0.contains(hash)
    }

    pub(crate) fn remove(&self, hash: &B256) {
        let mut guard = self.inner.lock();
        let (lru, bytes) = &mut *guard;
        if let Some(old) = lru.pop(hash) {
            *bytes -= Self::cost(&old);
        }
    }

    pub(crate) fn insert(&self, hash: B256, raw: Bytes) {
        if self.budget == 0 {
            return;
        }
        let mut guard = self.inner.lock();
        let (lru, bytes) = &mut *guard;
        let size = Self::cost(&raw);
        if let Some(old) = lru.put(hash, raw) {
            *bytes -= Self::cost(&old);
        }
        *bytes += size;
        while *bytes > self.budget {
            match lru.pop_lru() {
                Some((_, old)) => *bytes -= Self::cost(&old),
                None => break,
            }
        }
    }
}

/// Trie nodes kept in memory. A node's hash names its content forever, so an entry can never be
/// stale: the cache is shared by every snapshot, old and new, and only its size is bounded.
///
/// Two segments, because two kinds of nodes are reused differently. A block's changes pass
/// through the trie's upper levels every time, but each pass replaces the nodes it passes (a new
/// child hash is a new node), so what the next pass reads is the version the last block
/// *created*, often many blocks later: at 10M entries a level-4 node is rewritten about every
/// 7 blocks of 10k changes, while the ~60k other nodes each such block reads and creates would
/// have pushed it out of one shared LRU long before. So the upper levels a finalized block
/// creates go to `upper` (and the versions it replaces leave it), every other node read or
/// written goes to `lower`.
pub(crate) struct NodeCache {
    pub(crate) lower: Segment,
    pub(crate) upper: Segment,
}

impl NodeCache {
    pub(crate) fn new(lower: usize, upper: usize) -> Self {
        Self {
            lower: Segment::new(lower),
            upper: Segment::new(upper),
        }
    }

    pub(crate) fn get(&self, hash: &B256) -> Option<Bytes> {
        self.upper.get(hash).or_else(|| self.lower.get(hash))
    }

    pub(crate) fn contains(&self, hash: &B256) -> bool {
        self.upper.contains(hash) || self.lower.contains(hash)
    }

    pub(crate) fn remove(&self, hash: &B256) {
        self.upper.remove(hash);
        self.lower.remove(hash);
    }
}
