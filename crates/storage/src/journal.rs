//! Finalized state changes between their block's commit and the state tables: the journal
//! record, the in-memory copy snapshots read, and the apply thread.

use super::*;

/// The blocks whose state changes are committed to the journal but not yet applied.
#[derive(Default)]
pub(crate) struct Journal {
    /// Oldest first. A record is pushed before its block's transaction commits (see
    /// [`Store::snapshot`]) and removed once applied.
    pub(crate) pending: Vec<Arc<Pending>>,
    /// Counts pushes, so a snapshot can tell whether one raced with it.
    pub(crate) pushed: u64,
    /// The highest height whose block transaction committed: records above it are not durable
    /// yet and are not applied.
    pub(crate) committed: u64,
    /// Records found on disk at open whose trie nodes [`Store::recover`] has not re-derived.
    pub(crate) unrecovered: Vec<(u64, Entries)>,
    pub(crate) failed: Option<String>,
    pub(crate) stop: bool,
    /// Holds the apply thread (and lets a drop leave the journal as a crash would).
    #[cfg(any(test, feature = "testing"))]
    pub(crate) paused: bool,
}

pub(crate) type Entries = Vec<(B256, Option<Bytes>)>;

/// One block's state changes, in memory until applied.
pub(crate) struct Pending {
    pub(crate) height: u64,
    /// Sorted by key; `None` deletes.
    pub(crate) entries: Entries,
    /// Sorted by hash.
    pub(crate) nodes: Vec<(B256, Bytes)>,
    pub(crate) stale: Vec<B256>,
    /// Sorted; see [`StateWrites::upper`].
    pub(crate) upper: Vec<B256>,
}

impl Pending {
    pub(crate) fn new(
        height: u64,
        mut entries: Entries,
        mut nodes: Vec<(B256, Bytes)>,
        stale: Vec<B256>,
        mut upper: Vec<B256>,
    ) -> Self {
        // The last write of a key wins: reversed, a stable sort keeps it first among its equals.
        entries.reverse();
        entries.sort_by_key(|(k, _)| *k);
        entries.dedup_by_key(|(k, _)| *k);
        nodes.sort_unstable_by_key(|(h, _)| *h);
        upper.sort_unstable();
        Self {
            height,
            entries,
            nodes,
            stale,
            upper,
        }
    }

    pub(crate) fn entry(&self, key: &B256) -> Option<Option<Bytes>> {
        self.entries
            .binary_search_by_key(key, |(k, _)| *k)
            .ok()
            .map(|i| self.entries[i].1.clone())
    }

    pub(crate) fn node(&self, hash: &B256) -> Option<Bytes> {
        self.nodes
            .binary_search_by_key(hash, |(h, _)| *h)
            .ok()
            .map(|i| self.nodes[i].1.clone())
    }
}

/// A trie node's record: the height it was (last) created at, 8 bytes big-endian, then its RLP.
pub(crate) fn insert_node(
    nodes: &mut redb::Table<&'static [u8; 32], &'static [u8]>,
    height: u64,
    hash: &B256,
    raw: &[u8],
) -> Result<()> {
    let mut record = Vec::with_capacity(8 + raw.len());
    record.extend_from_slice(&height.to_be_bytes());
    record.extend_from_slice(raw);
    nodes.insert(&hash.0, record.as_slice()).map_err(db_err)?;
    Ok(())
}

/// A journal record: per entry, its key (32 bytes), then `0` for a deletion or `1`, the value's
/// length (4 bytes big-endian) and the value.
pub(crate) fn encode_entries(entries: &[(B256, Option<Bytes>)]) -> Vec<u8> {
    let size = entries
        .iter()
        .map(|(_, v)| 37 + v.as_ref().map_or(0, |v| v.len()))
        .sum();
    let mut out = Vec::with_capacity(size);
    for (k, v) in entries {
        out.extend_from_slice(k.as_slice());
        match v {
            None => out.push(0),
            Some(v) => {
                out.push(1);
                out.extend_from_slice(&(v.len() as u32).to_be_bytes());
                out.extend_from_slice(v);
            }
        }
    }
    out
}

pub(crate) fn decode_entries(mut raw: &[u8]) -> Result<Entries> {
    let corrupt = |reason: &str| Error::Corrupt {
        table: "state_journal",
        reason: reason.into(),
    };
    let mut entries = Vec::new();
    while !raw.is_empty() {
        let (key, rest) = raw
            .split_first_chunk::<33>()
            .ok_or_else(|| corrupt("a truncated key"))?;
        let value = match key[32] {
            0 => {
                raw = rest;
                None
            }
            1 => {
                let (len, rest) = rest
                    .split_first_chunk::<4>()
                    .ok_or_else(|| corrupt("a truncated length"))?;
                let len = u32::from_be_bytes(*len) as usize;
                if rest.len() < len {
                    return Err(corrupt("a truncated value"));
                }
                let (value, rest) = rest.split_at(len);
                raw = rest;
                Some(Bytes::copy_from_slice(value))
            }
            _ => return Err(corrupt("an unknown entry tag")),
        };
        entries.push((B256::from_slice(&key[..32]), value));
    }
    Ok(entries)
}

/// Deletes a node retired at `retired_at`, unless it was created again later.
pub(crate) fn prune_node(
    nodes: &mut redb::Table<&'static [u8; 32], &'static [u8]>,
    cache: &NodeCache,
    retired_at: u64,
    hash: &[u8; 32],
) -> Result<()> {
    let reborn = match nodes.remove(hash).map_err(db_err)? {
        Some(old) => {
            let raw = old.value();
            let born = raw
                .get(..8)
                .map(|b| u64::from_be_bytes(b.try_into().expect("8 bytes")))
                .unwrap_or(0);
            (born > retired_at).then(|| raw.to_vec())
        }
        None => None,
    };
    match reborn {
        Some(raw) => {
            nodes.insert(hash, raw.as_slice()).map_err(db_err)?;
        }
        None => cache.remove(&B256::from(*hash)),
    }
    Ok(())
}

/// The apply thread: applies committed journal records oldest first, until the store is
/// dropped (it applies what is left first) or a write fails (every later commit then fails).
pub(crate) fn apply_loop(shared: &Shared) {
    loop {
        let next = {
            let mut journal = shared.journal.lock();
            loop {
                if journal.failed.is_some() {
                    return;
                }
                #[cfg(any(test, feature = "testing"))]
                if journal.paused {
                    if journal.stop {
                        return;
                    }
                    shared.changed.wait(&mut journal);
                    continue;
                }
                if let Some(p) = journal.pending.first()
                    && p.height <= journal.committed
                {
                    break p.clone();
                }
                if journal.stop {
                    return;
                }
                shared.changed.wait(&mut journal);
            }
        };
        cache_nodes(shared, &next);
        let applied = apply(shared, &next);
        let mut journal = shared.journal.lock();
        match applied {
            Ok(()) => {
                journal.pending.retain(|p| !Arc::ptr_eq(p, &next));
            }
            Err(e) => {
                tracing::error!(height = next.height, %e, "cannot apply a finalized block's state changes");
                journal.failed = Some(format!("block {}: {e}", next.height));
            }
        }
        shared.changed.notify_all();
    }
}

/// Puts a committed block's new nodes in the node cache and takes out the upper-level ones it
/// replaced: the next blocks read these paths again, the upper levels surely, the rest maybe.
/// Done by the apply thread, before the record leaves `pending` (which answers reads until
/// then), so the committing thread does not wait for it.
fn cache_nodes(shared: &Shared, p: &Pending) {
    let cache = &shared.nodes;
    for hash in &p.stale {
        cache.upper.remove(hash);
    }
    for (hash, raw) in &p.nodes {
        if cache.upper.budget > 0 && p.upper.binary_search(hash).is_ok() {
            cache.upper.insert(*hash, raw.clone());
        } else {
            cache.lower.insert(*hash, raw.clone());
        }
    }
}

/// A `stale_nodes` row: the height that retired the nodes, and their hashes concatenated.
pub(crate) type RetiredList = (u64, Vec<u8>);

/// Where the apply of one record stands.
pub(crate) enum Stage {
    Entries(usize),
    Nodes(usize),
    /// The retired-node lists due, and how many of their hashes are done.
    Prune(Option<(Vec<RetiredList>, usize)>),
    Done,
}

/// Applies one journal record to the tables in transactions of at most [`APPLY_CHUNK`] writes:
/// its entries, its trie nodes, its list of retired nodes, and the deletion of the retired nodes
/// no block of the history window reads any more; the last transaction removes the record.
/// Every step can run twice (a crash between two transactions re-applies the record), so all of
/// them are idempotent.
///
/// A node retired at height `s` is part of the state of every block before `s`; with a window of
/// the last `n` blocks ending at `height`, the oldest state served is `height - n + 1`, so the
/// nodes retired at `s <= height - n + 1` go, but never the parent's (`s <= height - 1`): a
/// restart re-derives this record's nodes from its parent's trie. A node can be created again
/// after it was retired (a value written back): its record then carries the later height and
/// the old list spares it.
pub(crate) fn apply(shared: &Shared, p: &Pending) -> Result<()> {
    let mut stage = Stage::Entries(0);
    loop {
        let writer = shared.writer.lock();
        let mut tx = shared.db.begin_write().map_err(db_err)?;
        // Durable on its own, so the next block's commit does not flush this one's pages.
        tx.set_durability(Durability::Immediate).map_err(db_err)?;
        let mut budget = APPLY_CHUNK;
        {
            let mut state = tx.open_table(STATE).map_err(db_err)?;
            let mut nodes = tx.open_table(NODES).map_err(db_err)?;
            let mut lists = tx.open_table(STALE).map_err(db_err)?;
            let mut journal = tx.open_table(JOURNAL).map_err(db_err)?;
            while budget > 0 {
                stage = match stage {
                    Stage::Entries(i) => {
                        let end = (i + budget).min(p.entries.len());
                        for (k, v) in &p.entries[i..end] {
                            match v {
                                Some(v) => state.insert(&k.0, v.as_ref()).map_err(db_err)?,
                                None => state.remove(&k.0).map_err(db_err)?,
                            };
                        }
                        budget -= end - i;
                        if end == p.entries.len() {
                            Stage::Nodes(0)
                        } else {
                            Stage::Entries(end)
                        }
                    }
                    Stage::Nodes(i) => {
                        let end = (i + budget).min(p.nodes.len());
                        for (hash, raw) in &p.nodes[i..end] {
                            insert_node(&mut nodes, p.height, hash, raw)?;
                        }
                        budget -= end - i;
                        if end == p.nodes.len() {
                            Stage::Prune(None)
                        } else {
                            Stage::Nodes(end)
                        }
                    }
                    Stage::Prune(None) => {
                        let History::Recent(window) = shared.options.history else {
                            journal.remove(p.height).map_err(db_err)?;
                            stage = Stage::Done;
                            continue;
                        };
                        if !p.stale.is_empty() {
                            let list: Vec<u8> = p.stale.iter().flat_map(|h| h.0).collect();
                            lists.insert(p.height, list.as_slice()).map_err(db_err)?;
                        }
                        let cutoff = (p.height + 1)
                            .checked_sub(window.max(1))
                            .map(|c| c.min(p.height - 1));
                        let due = match cutoff {
                            Some(cutoff) => lists
                                .range(..=cutoff)
                                .map_err(db_err)?
                                .map(|row| row.map(|(k, v)| (k.value(), v.value().to_vec())))
                                .collect::<std::result::Result<Vec<_>, _>>()
                                .map_err(db_err)?,
                            None => Vec::new(),
                        };
                        budget -= 1;
                        Stage::Prune(Some((due, 0)))
                    }
                    Stage::Prune(Some((due, done))) => {
                        let all: usize = due.iter().map(|(_, l)| l.len() / 32).sum();
                        let end = (done + budget).min(all);
                        let mut at = 0;
                        for (retired_at, list) in &due {
                            for hash in list.chunks_exact(32) {
                                if at >= done && at < end {
                                    let hash: &[u8; 32] = hash.try_into().expect("chunks of 32");
                                    prune_node(&mut nodes, &shared.nodes, *retired_at, hash)?;
                                }
                                at += 1;
                            }
                        }
                        budget -= end - done;
                        if end == all {
                            for (retired_at, _) in &due {
                                lists.remove(*retired_at).map_err(db_err)?;
                            }
                            journal.remove(p.height).map_err(db_err)?;
                            Stage::Done
                        } else {
                            Stage::Prune(Some((due, end)))
                        }
                    }
                    Stage::Done => break,
                };
            }
        }
        tx.commit().map_err(db_err)?;
        parking_lot::MutexGuard::unlock_fair(writer);
        if matches!(stage, Stage::Done) {
            return Ok(());
        }
    }
}
