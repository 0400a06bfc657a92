//! The store's cache of trie nodes.

use super::*;
use alloy_primitives::map::FbBuildHasher;

/// Trie nodes by hash, least recently used out first past a budget.
///
/// Split into shards by the hash's first byte, each with its own lock and an equal share of the
/// budget, so the threads of a root fold and the prefetch thread rarely wait on each other. A
/// budget under [`SHARD_BYTES`] per shard has fewer shards (one under 2 MiB: a plain LRU).
pub(crate) struct Segment {
    shards: Box<[Mutex<Shard>]>,
    pub(crate) budget: usize,
}

/// One shard: its LRU and the bytes it holds. Keys are hashes, so a fixed-size hasher serves.
struct Shard {
    lru: lru::LruCache<B256, Bytes, FbBuildHasher<32>>,
    bytes: usize,
    budget: usize,
}

/// At most this many shards per segment, each with at least [`SHARD_BYTES`] of budget.
const MAX_SHARDS: usize = 16;
const SHARD_BYTES: usize = 1 << 20;

impl Segment {
    /// What an entry counts against the budget: its bytes and a share for the key and links.
    pub(crate) fn cost(raw: &Bytes) -> usize {
        raw.len() + 64
    }

    pub(crate) fn new(budget: usize) -> Self {
        let shards = (budget / SHARD_BYTES).clamp(1, MAX_SHARDS);
        Self {
            shards: (0..shards)
                .map(|_| {
                    Mutex::new(Shard {
                        lru: lru::LruCache::unbounded_with_hasher(FbBuildHasher::default()),
                        bytes: 0,
                        budget: budget / shards,
                    })
                })
                .collect(),
            budget,
        }
    }

    fn shard(&self, hash: &B256) -> &Mutex<Shard> {
        &self.shards[hash[0] as usize % self.shards.len()]
    }

    pub(crate) fn get(&self, hash: &B256) -> Option<Bytes> {
        self.shard(hash).lock().lru.get(hash).cloned()
    }

    pub(crate) fn contains(&self, hash: &B256) -> bool {
        self.shard(hash).lock().lru.contains(hash)
    }

    pub(crate) fn remove(&self, hash: &B256) {
        let mut shard = self.shard(hash).lock();
        if let Some(old) = shard.lru.pop(hash) {
            shard.bytes -= Self::cost(&old);
        }
    }

    pub(crate) fn insert(&self, hash: B256, raw: Bytes) {
        if self.budget == 0 {
            return;
        }
        let size = Self::cost(&raw);
        let mut guard = self.shard(&hash).lock();
        let shard = &mut *guard;
        if let Some(old) = shard.lru.put(hash, raw) {
            shard.bytes -= Self::cost(&old);
        }
        shard.bytes += size;
        while shard.bytes > shard.budget {
            match shard.lru.pop_lru() {
                Some((_, old)) => shard.bytes -= Self::cost(&old),
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
