//! Crash-safe persistence of finalized blocks, receipts, transaction and hash indexes, and the
//! world state, in one embedded `redb` database.
//!
//! Each finalized block is committed in a single write transaction (block, receipts, indexes,
//! the block's state changes as one record of the `state_journal` table, and the new head
//! together), so after a crash — SIGKILL included — the database holds exactly the blocks up to
//! some height `h` and the state after `h`, never half of a block.
//!
//! A block's state changes land in the `state` and `trie_nodes` tables later, on the store's
//! `state-apply` thread, in small write transactions: a changed entry or a trie node is a write
//! to a random page of a large table, so applying 10k changes to a state of millions of entries
//! dirties tens of thousands of pages, while the journal record is one sequential value. Until a
//! record is applied, its changes (and the trie nodes the block created, which the record does
//! not hold) stay in memory and every [`Snapshot`] reads them first. After a crash, the records
//! not yet applied are read back and their trie nodes re-derived by folding the record into its
//! parent's trie ([`Store::recover`]): the fold must give the root the block's header holds.
//!
//! The state is kept twice, for two kinds of reads: `state` holds the finalized head's entries
//! flat (one lookup per read, what execution needs), and `trie_nodes` holds the nodes of the state
//! trie by hash (what roots, proofs and reads of past blocks need). A block retires the nodes its
//! writes replaced: they are listed under its height in `stale_nodes` and deleted once no block of
//! the history window needs them (never, in an archive node).

use alloy_rlp::{Decodable, Encodable};
use lazai_types::{B256, Block, Bytes, Header, Receipt};
use parking_lot::{Condvar, Mutex};
use redb::{Database, Durability, ReadableDatabase, ReadableTable, TableDefinition};
use std::path::Path;
use std::sync::Arc;

mod cache;
mod journal;
mod snapshot;

use cache::NodeCache;
use journal::{Entries, Journal, Pending, apply_loop, decode_entries, encode_entries, insert_node};
pub use snapshot::Snapshot;

const META: TableDefinition<&str, &[u8]> = TableDefinition::new("meta");
const BLOCKS: TableDefinition<u64, &[u8]> = TableDefinition::new("blocks");
const HEADERS: TableDefinition<u64, &[u8]> = TableDefinition::new("headers");
const HASHES: TableDefinition<&[u8; 32], u64> = TableDefinition::new("block_hashes");
const RECEIPTS: TableDefinition<u64, &[u8]> = TableDefinition::new("receipts");
const TXS: TableDefinition<&[u8; 32], (u64, u32)> = TableDefinition::new("tx_index");
const STATE: TableDefinition<&[u8; 32], &[u8]> = TableDefinition::new("state");
/// Trie node by hash: the height it was (last) created at, 8 bytes big-endian, then its RLP.
const NODES: TableDefinition<&[u8; 32], &[u8]> = TableDefinition::new("trie_nodes");
/// The hashes (32 bytes each, concatenated) of the nodes a block retired, by its height.
const STALE: TableDefinition<u64, &[u8]> = TableDefinition::new("stale_nodes");
/// A finalized block's state changes not yet applied to `state` and `trie_nodes`, by height
/// (see [`encode_entries`]).
const JOURNAL: TableDefinition<u64, &[u8]> = TableDefinition::new("state_journal");

/// Blocks whose state changes may wait in the journal; a commit past that waits for the apply
/// thread (the restart after a crash re-derives at most this many blocks' trie nodes).
pub const MAX_UNAPPLIED: usize = 4;
/// Table writes per apply transaction: a block commit waits at most for one such transaction.
const APPLY_CHUNK: usize = 4_096;

/// The layout this code reads and writes; a data dir with another one is refused.
const SCHEMA: u64 = 2;
const SCHEMA_KEY: &str = "schema";

const HEAD_KEY: &str = "head";
const GENESIS_KEY: &str = "genesis_hash";
const GENESIS_DOC_KEY: &str = "genesis_document";

/// Storage errors.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("database: {0}")]
    Database(String),
    #[error("corrupt record in {table}: {reason}")]
    Corrupt { table: &'static str, reason: String },
    #[error("data dir holds another chain: genesis document {stored}, expected {expected}")]
    GenesisMismatch { stored: B256, expected: B256 },
    #[error("block {got} does not extend head {head}")]
    NotNext { head: u64, got: u64 },
    #[error(
        "the state changes of {blocks} finalized block(s) are not applied yet; recover them \
         first (Store::recover)"
    )]
    Recovering { blocks: usize },
    #[error("applying finalized state changes failed: {0}")]
    Apply(String),
    #[error(
        "data dir was written by another version of lazai (state layout {found}, this one reads \
         {SCHEMA}); start from an empty data dir"
    )]
    Schema { found: u64 },
}

pub type Result<T> = std::result::Result<T, Error>;

fn db_err(e: impl std::fmt::Display) -> Error {
    Error::Database(e.to_string())
}

/// How much state history a store keeps.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum History {
    /// The state of the last `n` finalized blocks (at least 1: the head).
    Recent(u64),
    /// Every block's state.
    Archive,
}

/// Geth's default: the state of the last 128 blocks.
pub const DEFAULT_HISTORY: History = History::Recent(128);
/// The page cache of the database file.
pub const DEFAULT_CACHE_BYTES: usize = 32 << 20;
/// The cache of recently used state trie nodes, shared by every view of the store.
pub const DEFAULT_NODE_CACHE_BYTES: usize = 64 << 20;
/// The cache of the trie's upper levels (at most ~70k nodes, ~45 MiB, whatever the state's size).
pub const DEFAULT_UPPER_CACHE_BYTES: usize = 64 << 20;

/// How a store is opened.
#[derive(Clone, Copy, Debug)]
pub struct Options {
    pub history: History,
    /// The database file's page cache.
    pub cache_bytes: usize,
    /// The cache of recently used trie nodes.
    pub node_cache_bytes: usize,
    /// The cache of the trie's upper levels (0: they share the other nodes' cache).
    pub upper_cache_bytes: usize,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            history: DEFAULT_HISTORY,
            cache_bytes: DEFAULT_CACHE_BYTES,
            node_cache_bytes: DEFAULT_NODE_CACHE_BYTES,
            upper_cache_bytes: DEFAULT_UPPER_CACHE_BYTES,
        }
    }
}

/// The node's database.
pub struct Store {
    shared: Arc<Shared>,
    applier: Option<std::thread::JoinHandle<()>>,
}

/// What the store's handle and its apply thread share.
struct Shared {
    db: Database,
    options: Options,
    nodes: Arc<NodeCache>,
    journal: Mutex<Journal>,
    /// Signalled when the journal changes (a record committed, applied, or the apply failed).
    changed: Condvar,
    /// Taken for every write transaction, and handed on fairly by the apply thread, so a block
    /// commit waits for at most one apply transaction.
    writer: Mutex<()>,
}

/// What a block wrote to the state: entries (`None` deletes), trie nodes created, nodes retired.
pub struct StateWrites<'a, I> {
    pub entries: I,
    pub nodes: &'a [(B256, Bytes)],
    pub stale: &'a [B256],
    /// The nodes of `nodes` in the trie's upper levels, which the node cache keeps apart.
    pub upper: &'a [B256],
}

/// How a block's state changes re-derive their trie nodes after a crash: given a snapshot that
/// holds the parent's trie, the parent's root and the changes, the new root, the trie nodes the
/// fold created and the ones it retired.
pub type Refold<'a> = dyn FnMut(
        Snapshot,
        B256,
        &[(B256, Option<Bytes>)],
    ) -> std::result::Result<(B256, Vec<(B256, Bytes)>, Vec<B256>), String>
    + 'a;

/// Where a transaction was finalized.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TxLocation {
    pub height: u64,
    pub index: u32,
}

impl Store {
    /// Opens (or creates) the database file with the default history and cache.
    pub fn open(path: &Path) -> Result<Self> {
        Self::open_with(path, Options::default())
    }

    /// Opens (or creates) the database file. When the last run stopped with state changes not
    /// yet applied, [`Store::recover`] must re-derive them before [`Store::snapshot`] answers.
    pub fn open_with(path: &Path, options: Options) -> Result<Self> {
        let db = Database::builder()
            .set_cache_size(options.cache_bytes)
            .create(path)
            .map_err(db_err)?;
        let tx = db.begin_write().map_err(db_err)?;
        {
            let mut meta = tx.open_table(META).map_err(db_err)?;
            let found = match meta.get(SCHEMA_KEY).map_err(db_err)? {
                Some(v) => Some(u64::from_be_bytes(v.value().try_into().map_err(|_| {
                    Error::Corrupt {
                        table: "meta",
                        reason: "schema is not 8 bytes".into(),
                    }
                })?)),
                None => None,
            };
            match found {
                Some(SCHEMA) => {}
                Some(other) => return Err(Error::Schema { found: other }),
                None if meta.get(HEAD_KEY).map_err(db_err)?.is_some() => {
                    return Err(Error::Schema { found: 1 });
                }
                None => {
                    meta.insert(SCHEMA_KEY, SCHEMA.to_be_bytes().as_slice())
                        .map_err(db_err)?;
                }
            }
            tx.open_table(NODES).map_err(db_err)?;
            tx.open_table(STALE).map_err(db_err)?;
            tx.open_table(JOURNAL).map_err(db_err)?;
            tx.open_table(BLOCKS).map_err(db_err)?;
            tx.open_table(HEADERS).map_err(db_err)?;
            tx.open_table(HASHES).map_err(db_err)?;
            tx.open_table(RECEIPTS).map_err(db_err)?;
            tx.open_table(TXS).map_err(db_err)?;
            tx.open_table(STATE).map_err(db_err)?;
        }
        tx.commit().map_err(db_err)?;
        let unrecovered = {
            let tx = db.begin_read().map_err(db_err)?;
            let journal = tx.open_table(JOURNAL).map_err(db_err)?;
            let mut records = Vec::new();
            for row in journal.iter().map_err(db_err)? {
                let (height, raw) = row.map_err(db_err)?;
                records.push((height.value(), decode_entries(raw.value())?));
            }
            records
        };
        let committed = unrecovered.last().map_or(0, |(h, _)| *h);
        let shared = Arc::new(Shared {
            db,
            options,
            nodes: Arc::new(NodeCache::new(
                options.node_cache_bytes,
                options.upper_cache_bytes,
            )),
            journal: Mutex::new(Journal {
                unrecovered,
                committed,
                ..Journal::default()
            }),
            changed: Condvar::new(),
            writer: Mutex::new(()),
        });
        let applier = {
            let shared = shared.clone();
            std::thread::Builder::new()
                .name("state-apply".into())
                .spawn(move || apply_loop(&shared))
                .map_err(|e| Error::Database(format!("cannot start the state-apply thread: {e}")))?
        };
        Ok(Self {
            shared,
            applier: Some(applier),
        })
    }

    /// The history this store keeps.
    pub fn history(&self) -> History {
        self.shared.options.history
    }

    /// The blocks whose state changes wait for [`Store::recover`].
    pub fn unrecovered(&self) -> usize {
        self.shared.journal.lock().unrecovered.len()
    }

    /// Re-derives the trie nodes of the blocks whose state changes were committed but not
    /// applied when the store was last closed (a crash), oldest first, with `refold`; each
    /// fold must give the root its block's header holds. Returns how many blocks it recovered.
    pub fn recover(&self, refold: &mut Refold<'_>) -> Result<usize> {
        let mut count = 0;
        loop {
            let Some((height, entries)) = self.shared.journal.lock().unrecovered.first().cloned()
            else {
                return Ok(count);
            };
            let root_at = |h: u64| -> Result<B256> {
                Ok(self
                    .header(h)?
                    .ok_or(Error::Corrupt {
                        table: "headers",
                        reason: format!("no header at {h}, whose state changes are journaled"),
                    })?
                    .state_root)
            };
            let parent = root_at(height.checked_sub(1).ok_or(Error::Corrupt {
                table: "state_journal",
                reason: "a record at height 0".into(),
            })?)?;
            let expected = root_at(height)?;
            let snapshot = self.snapshot_unchecked()?;
            let (root, nodes, stale) =
                refold(snapshot, parent, &entries).map_err(|reason| Error::Corrupt {
                    table: "state_journal",
                    reason: format!("block {height}'s changes do not fold: {reason}"),
                })?;
            if root != expected {
                return Err(Error::Corrupt {
                    table: "state_journal",
                    reason: format!(
                        "block {height}'s changes fold to root {root}, its header holds {expected}"
                    ),
                });
            }
            let mut journal = self.shared.journal.lock();
            journal.unrecovered.remove(0);
            journal.pending.push(Arc::new(Pending::new(
                height,
                entries,
                nodes,
                stale,
                Vec::new(),
            )));
            journal.pushed += 1;
            self.shared.changed.notify_all();
            count += 1;
        }
    }

    /// Holds (or releases) the apply thread; a store dropped while held leaves its journal as a
    /// crash would. For tests of recovery.
    #[cfg(any(test, feature = "testing"))]
    pub fn hold_apply(&self, held: bool) {
        self.shared.journal.lock().paused = held;
        self.shared.changed.notify_all();
    }

    /// Waits until every committed block's state changes are applied to the tables.
    pub fn wait_applied(&self) -> Result<()> {
        let mut journal = self.shared.journal.lock();
        loop {
            if let Some(e) = &journal.failed {
                return Err(Error::Apply(e.clone()));
            }
            if journal.pending.is_empty() {
                return Ok(());
            }
            self.shared.changed.wait(&mut journal);
        }
    }

    /// A consistent view of the store as it is now.
    pub fn snapshot(&self) -> Result<Snapshot> {
        let blocks = self.unrecovered();
        if blocks > 0 {
            return Err(Error::Recovering { blocks });
        }
        self.snapshot_unchecked()
    }

    fn snapshot_unchecked(&self) -> Result<Snapshot> {
        // Records are pushed before their block commits and removed after they are applied, so
        // a list taken before the read transaction, with no push in between, holds every change
        // the transaction's tables lack (and maybe some they already hold, which read the same).
        let (pending, tx) = loop {
            let (pushed, pending) = {
                let journal = self.shared.journal.lock();
                (journal.pushed, journal.pending.clone())
            };
            let tx = self.shared.db.begin_read().map_err(db_err)?;
            if self.shared.journal.lock().pushed == pushed {
                break (pending, tx);
            }
        };
        let meta = tx.open_table(META).map_err(db_err)?;
        let head = match meta.get(HEAD_KEY).map_err(db_err)? {
            Some(v) => u64::from_be_bytes(v.value().try_into().map_err(|_| Error::Corrupt {
                table: "meta",
                reason: "head is not 8 bytes".into(),
            })?),
            None => 0,
        };
        let pending = pending.into_iter().filter(|p| p.height <= head).collect();
        Ok(Snapshot {
            head,
            state: tx.open_table(STATE).map_err(db_err)?,
            nodes: tx.open_table(NODES).map_err(db_err)?,
            pending,
            cache: self.shared.nodes.clone(),
        })
    }

    /// Writes the genesis block and state on first start; on later starts checks that the data
    /// dir belongs to the same chain, by the hash of the genesis document it was created from
    /// (`document`), so a restart never rebuilds the genesis state. Returns `true` when it
    /// initialised.
    pub fn init_genesis<'a>(
        &self,
        genesis: &Block,
        document: B256,
        state: StateWrites<'a, impl IntoIterator<Item = (&'a B256, Option<&'a Bytes>)>>,
    ) -> Result<bool> {
        if let Some(stored) = self.genesis_document()? {
            if stored != document {
                return Err(Error::GenesisMismatch {
                    stored,
                    expected: document,
                });
            }
            return Ok(false);
        }
        let _writer = self.shared.writer.lock();
        let hash = genesis.hash();
        let mut tx = self.shared.db.begin_write().map_err(db_err)?;
        tx.set_durability(Durability::Immediate).map_err(db_err)?;
        write_block_records(&tx, genesis, &[])?;
        {
            let mut table = tx.open_table(STATE).map_err(db_err)?;
            for (k, v) in state.entries {
                if let Some(v) = v.filter(|v| !v.is_empty()) {
                    table.insert(&k.0, v.as_ref()).map_err(db_err)?;
                }
            }
            let mut nodes = tx.open_table(NODES).map_err(db_err)?;
            for (hash, raw) in state.nodes {
                insert_node(&mut nodes, 0, hash, raw)?;
            }
            let mut meta = tx.open_table(META).map_err(db_err)?;
            meta.insert(GENESIS_KEY, hash.as_slice()).map_err(db_err)?;
            meta.insert(GENESIS_DOC_KEY, document.as_slice())
                .map_err(db_err)?;
        }
        tx.commit().map_err(db_err)?;
        Ok(true)
    }

    /// The hash of the genesis document this data dir was created from.
    pub fn genesis_document(&self) -> Result<Option<B256>> {
        let tx = self.shared.db.begin_read().map_err(db_err)?;
        let meta = tx.open_table(META).map_err(db_err)?;
        Ok(meta
            .get(GENESIS_DOC_KEY)
            .map_err(db_err)?
            .map(|v| B256::from_slice(v.value())))
    }

    /// Height of the last committed block (`None` before genesis).
    pub fn head(&self) -> Result<Option<u64>> {
        let tx = self.shared.db.begin_read().map_err(db_err)?;
        let meta = tx.open_table(META).map_err(db_err)?;
        let Some(v) = meta.get(HEAD_KEY).map_err(db_err)? else {
            return Ok(None);
        };
        let bytes: [u8; 8] = v.value().try_into().map_err(|_| Error::Corrupt {
            table: "meta",
            reason: "head is not 8 bytes".into(),
        })?;
        Ok(Some(u64::from_be_bytes(bytes)))
    }

    /// Commits a finalized block with its receipts and state write set, atomically: the state
    /// changes go to the journal, and reach the state tables on the apply thread.
    pub fn commit_block<'a>(
        &self,
        block: &Block,
        receipts: &[Receipt],
        changes: StateWrites<'a, impl IntoIterator<Item = (&'a B256, Option<&'a Bytes>)>>,
    ) -> Result<()> {
        let head = self.head()?.unwrap_or(0);
        let height = block.height();
        if height != head + 1 {
            return Err(Error::NotNext { head, got: height });
        }
        let entries: Entries = changes
            .entries
            .into_iter()
            .map(|(k, v)| (*k, v.filter(|v| !v.is_empty()).cloned()))
            .collect();
        let pending = Arc::new(Pending::new(
            height,
            entries,
            changes.nodes.to_vec(),
            changes.stale.to_vec(),
            changes.upper.to_vec(),
        ));
        {
            let mut journal = self.shared.journal.lock();
            loop {
                if let Some(e) = &journal.failed {
                    return Err(Error::Apply(e.clone()));
                }
                if !journal.unrecovered.is_empty() {
                    return Err(Error::Recovering {
                        blocks: journal.unrecovered.len(),
                    });
                }
                if journal.pending.len() < MAX_UNAPPLIED {
                    break;
                }
                self.shared.changed.wait(&mut journal);
            }
            journal.pending.push(pending.clone());
            journal.pushed += 1;
        }
        let written = self.write_journaled(block, receipts, &pending);
        let mut journal = self.shared.journal.lock();
        match &written {
            Ok(()) => journal.committed = height,
            Err(_) => journal.pending.retain(|p| !Arc::ptr_eq(p, &pending)),
        }
        self.shared.changed.notify_all();
        written
    }

    fn write_journaled(
        &self,
        block: &Block,
        receipts: &[Receipt],
        pending: &Pending,
    ) -> Result<()> {
        let _writer = self.shared.writer.lock();
        let mut tx = self.shared.db.begin_write().map_err(db_err)?;
        tx.set_durability(Durability::Immediate).map_err(db_err)?;
        write_block_records(&tx, block, receipts)?;
        {
            let mut journal = tx.open_table(JOURNAL).map_err(db_err)?;
            journal
                .insert(block.height(), encode_entries(&pending.entries).as_slice())
                .map_err(db_err)?;
        }
        tx.commit().map_err(db_err)?;
        // Until its record is applied the block's nodes are read from `pending`; the apply
        // thread moves them to the node cache first (`journal::cache_nodes`).
        Ok(())
    }

    pub fn block(&self, height: u64) -> Result<Option<Block>> {
        let tx = self.shared.db.begin_read().map_err(db_err)?;
        let table = tx.open_table(BLOCKS).map_err(db_err)?;
        let Some(v) = table.get(height).map_err(db_err)? else {
            return Ok(None);
        };
        Block::from_bytes(v.value())
            .map(Some)
            .map_err(|e| Error::Corrupt {
                table: "blocks",
                reason: e.to_string(),
            })
    }

    /// A committed block's header alone (cheaper than the whole block).
    pub fn header(&self, height: u64) -> Result<Option<Header>> {
        let tx = self.shared.db.begin_read().map_err(db_err)?;
        let table = tx.open_table(HEADERS).map_err(db_err)?;
        let Some(v) = table.get(height).map_err(db_err)? else {
            return Ok(None);
        };
        let mut slice = v.value();
        Header::decode(&mut slice)
            .map(Some)
            .map_err(|e| Error::Corrupt {
                table: "headers",
                reason: e.to_string(),
            })
    }

    pub fn height_of(&self, hash: &B256) -> Result<Option<u64>> {
        let tx = self.shared.db.begin_read().map_err(db_err)?;
        let table = tx.open_table(HASHES).map_err(db_err)?;
        Ok(table.get(&hash.0).map_err(db_err)?.map(|v| v.value()))
    }

    pub fn receipts(&self, height: u64) -> Result<Vec<Receipt>> {
        let tx = self.shared.db.begin_read().map_err(db_err)?;
        let table = tx.open_table(RECEIPTS).map_err(db_err)?;
        let Some(v) = table.get(height).map_err(db_err)? else {
            return Ok(Vec::new());
        };
        let mut slice = v.value();
        Vec::<Receipt>::decode(&mut slice).map_err(|e| Error::Corrupt {
            table: "receipts",
            reason: e.to_string(),
        })
    }

    pub fn tx_location(&self, hash: &B256) -> Result<Option<TxLocation>> {
        let tx = self.shared.db.begin_read().map_err(db_err)?;
        let table = tx.open_table(TXS).map_err(db_err)?;
        Ok(table.get(&hash.0).map_err(db_err)?.map(|v| {
            let (height, index) = v.value();
            TxLocation { height, index }
        }))
    }
}

impl Drop for Store {
    /// Applies what the journal still holds (so a clean restart has nothing to recover), then
    /// stops the apply thread.
    fn drop(&mut self) {
        self.shared.journal.lock().stop = true;
        self.shared.changed.notify_all();
        if let Some(applier) = self.applier.take() {
            let _ = applier.join();
        }
    }
}

/// A block's records besides its state: the block, header, hash, receipts, transaction index and
/// the new head.
fn write_block_records(
    tx: &redb::WriteTransaction,
    block: &Block,
    receipts: &[Receipt],
) -> Result<()> {
    let hash = block.hash();
    let height = block.height();
    let mut blocks = tx.open_table(BLOCKS).map_err(db_err)?;
    blocks
        .insert(height, block.to_bytes().as_slice())
        .map_err(db_err)?;
    let mut header = Vec::with_capacity(600);
    block.header.encode(&mut header);
    let mut headers = tx.open_table(HEADERS).map_err(db_err)?;
    headers.insert(height, header.as_slice()).map_err(db_err)?;
    let mut hashes = tx.open_table(HASHES).map_err(db_err)?;
    hashes.insert(&hash.0, height).map_err(db_err)?;
    let mut encoded = Vec::new();
    receipts.to_vec().encode(&mut encoded);
    let mut rtable = tx.open_table(RECEIPTS).map_err(db_err)?;
    rtable.insert(height, encoded.as_slice()).map_err(db_err)?;
    let mut txs = tx.open_table(TXS).map_err(db_err)?;
    for (index, r) in receipts.iter().enumerate() {
        txs.insert(&r.tx_hash.0, (height, index as u32))
            .map_err(db_err)?;
    }
    let mut meta = tx.open_table(META).map_err(db_err)?;
    meta.insert(HEAD_KEY, height.to_be_bytes().as_slice())
        .map_err(db_err)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use lazai_types::Header;

    fn block(height: u64) -> Block {
        Block {
            header: Header {
                height,
                ..Default::default()
            },
            transactions: vec![],
            evidence: vec![],
        }
    }

    const DOC: B256 = B256::repeat_byte(0xd0);

    type Entries<'a> = std::iter::Map<
        std::slice::Iter<'a, (B256, Option<Bytes>)>,
        fn(&'a (B256, Option<Bytes>)) -> (&'a B256, Option<&'a Bytes>),
    >;

    fn writes<'a>(
        entries: &'a [(B256, Option<Bytes>)],
        nodes: &'a [(B256, Bytes)],
        stale: &'a [B256],
    ) -> StateWrites<'a, Entries<'a>> {
        StateWrites {
            entries: entries.iter().map(|(k, v)| (k, v.as_ref())),
            nodes,
            stale,
            upper: &[],
        }
    }

    #[test]
    fn commits_are_ordered_and_reopen_intact() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("chain.redb");
        let k = B256::repeat_byte(1);
        let v = Bytes::from_static(b"v");
        {
            let store = Store::open(&path).expect("open");
            let genesis = [(k, Some(v.clone()))];
            assert!(
                store
                    .init_genesis(&block(0), DOC, writes(&genesis, &[], &[]))
                    .expect("genesis")
            );
            assert_eq!(
                store.snapshot().expect("snap").entry(&k).expect("read"),
                Some(v)
            );
            assert!(matches!(
                store.commit_block(&block(2), &[], writes(&[], &[], &[])),
                Err(Error::NotNext { .. })
            ));
            store
                .commit_block(&block(1), &[], writes(&[(k, None)], &[], &[]))
                .expect("commit");
        }
        let store = Store::open(&path).expect("reopen");
        assert!(
            !store
                .init_genesis(&block(0), DOC, writes(&[], &[], &[]))
                .expect("same genesis")
        );
        assert_eq!(store.head().expect("head"), Some(1));
        let snapshot = store.snapshot().expect("snap");
        assert_eq!(snapshot.head, 1);
        assert_eq!(snapshot.entry(&k).expect("read"), None);
        assert_eq!(store.block(1).expect("read").expect("present"), block(1));
        assert_eq!(
            store.header(1).expect("read").expect("present"),
            block(1).header
        );
        assert_eq!(store.height_of(&block(1).hash()).expect("read"), Some(1));
        let mut other = block(0);
        other.header.timestamp_ms = 5;
        assert!(matches!(
            store.init_genesis(&other, B256::repeat_byte(0xee), writes(&[], &[], &[])),
            Err(Error::GenesisMismatch { .. })
        ));
    }

    /// Retired nodes outlive their block by the history window exactly, a node created again
    /// after it was retired survives its old retirement, and an archive keeps everything.
    #[test]
    fn retired_nodes_go_when_the_window_passes() {
        for history in [History::Recent(3), History::Archive] {
            let dir = tempfile::tempdir().expect("tempdir");
            let options = Options {
                history,
                ..Options::default()
            };
            let store = Store::open_with(&dir.path().join("c.redb"), options).expect("open");
            let a = (B256::repeat_byte(0xa), Bytes::from_static(b"node a"));
            let b = (B256::repeat_byte(0xb), Bytes::from_static(b"node b"));
            let genesis_nodes = [a.clone(), b.clone()];
            store
                .init_genesis(&block(0), DOC, writes(&[], &genesis_nodes, &[]))
                .expect("genesis");
            // Block 1 retires both; block 2 creates `b` again.
            store
                .commit_block(&block(1), &[], writes(&[], &[], &[a.0, b.0]))
                .expect("1");
            store
                .commit_block(&block(2), &[], writes(&[], std::slice::from_ref(&b), &[]))
                .expect("2");
            // Nodes retired at 1 are block 0's: a window of 3 at head 2 still serves block 0.
            let kept = store.snapshot().expect("snap").node(&a.0).expect("read");
            assert_eq!(kept, Some(a.1.clone()));
            // At head 3 it serves 1..=3 only.
            store
                .commit_block(&block(3), &[], writes(&[], &[], &[]))
                .expect("3");
            store.wait_applied().expect("applied");
            let snap = store.snapshot().expect("snap");
            let node = |h: &B256| snap.node(h).expect("read");
            match history {
                History::Recent(_) => {
                    assert_eq!(node(&a.0), None, "retired at 1, block 0 out of the window");
                    assert_eq!(node(&b.0), Some(b.1.clone()), "created again at 2");
                }
                History::Archive => {
                    assert_eq!(node(&a.0), Some(a.1.clone()));
                    assert_eq!(node(&b.0), Some(b.1.clone()));
                }
            }
        }
    }

    fn table_entry(store: &Store, key: &B256) -> Option<Vec<u8>> {
        let tx = store.shared.db.begin_read().expect("read");
        let table = tx.open_table(STATE).expect("table");
        table.get(&key.0).expect("get").map(|v| v.value().to_vec())
    }

    /// A committed block's state changes are read from memory until the apply thread writes
    /// them to the tables; a store closed before that (as by a crash) refuses snapshots and
    /// commits until `recover` re-derives the block's trie nodes to the root its header holds,
    /// and then applies them.
    #[test]
    fn unapplied_changes_are_read_from_memory_and_recovered_after_a_crash() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("chain.redb");
        let (k1, k2) = (B256::repeat_byte(1), B256::repeat_byte(2));
        let node = (
            B256::repeat_byte(0xa1),
            Bytes::from_static(b"node of block 1"),
        );
        let root = B256::repeat_byte(0x55);
        let mut one = block(1);
        one.header.state_root = root;
        let changes = [(k1, Some(Bytes::from_static(b"new"))), (k2, None)];
        {
            let store = Store::open(&path).expect("open");
            let genesis = [(k2, Some(Bytes::from_static(b"old")))];
            store
                .init_genesis(&block(0), DOC, writes(&genesis, &[], &[]))
                .expect("genesis");
            store.hold_apply(true);
            store
                .commit_block(
                    &one,
                    &[],
                    writes(&changes, std::slice::from_ref(&node), &[]),
                )
                .expect("commit");
            let snap = store.snapshot().expect("snapshot");
            assert_eq!(snap.head, 1);
            assert_eq!(
                snap.entry(&k1).expect("read"),
                Some(Bytes::from_static(b"new"))
            );
            assert_eq!(snap.entry(&k2).expect("read"), None, "deleted by block 1");
            assert_eq!(snap.node(&node.0).expect("read"), Some(node.1.clone()));
            assert_eq!(table_entry(&store, &k1), None, "not applied yet");
            assert_eq!(table_entry(&store, &k2), Some(b"old".to_vec()));
        }
        let store = Store::open(&path).expect("reopen");
        store.hold_apply(true);
        assert_eq!(store.unrecovered(), 1);
        assert!(matches!(
            store.snapshot(),
            Err(Error::Recovering { blocks: 1 })
        ));
        assert!(matches!(
            store.commit_block(&block(2), &[], writes(&[], &[], &[])),
            Err(Error::Recovering { .. })
        ));
        // The refold gets the parent's root and the block's changes, as committed.
        let mut seen = Vec::new();
        let wrong =
            store.recover(&mut |_snap: Snapshot,
                                parent: B256,
                                entries: &[(B256, Option<Bytes>)]| {
                seen.push((parent, entries.to_vec()));
                Ok((B256::repeat_byte(0x66), vec![node.clone()], vec![]))
            });
        assert!(
            matches!(
                wrong,
                Err(Error::Corrupt {
                    table: "state_journal",
                    ..
                })
            ),
            "{wrong:?}"
        );
        assert_eq!(store.unrecovered(), 1, "a failed recovery keeps the record");
        assert_eq!(seen, vec![(B256::ZERO, changes.to_vec())]);
        drop(store);

        let store = Store::open(&path).expect("reopen");
        let recovered = store
            .recover(
                &mut |_snap: Snapshot, _parent: B256, _entries: &[(B256, Option<Bytes>)]| {
                    Ok((root, vec![node.clone()], vec![]))
                },
            )
            .expect("recover");
        assert_eq!(recovered, 1);
        let snap = store.snapshot().expect("snapshot");
        assert_eq!(
            snap.entry(&k1).expect("read"),
            Some(Bytes::from_static(b"new"))
        );
        assert_eq!(snap.node(&node.0).expect("read"), Some(node.1.clone()));
        store.wait_applied().expect("applied");
        assert_eq!(table_entry(&store, &k1), Some(b"new".to_vec()));
        assert_eq!(table_entry(&store, &k2), None);
        store
            .commit_block(&block(2), &[], writes(&[], &[], &[]))
            .expect("commits again");
        drop(store);
        let store = Store::open(&path).expect("reopen");
        assert_eq!(store.unrecovered(), 0, "a clean close applies everything");
        assert_eq!(table_entry(&store, &k1), Some(b"new".to_vec()));
    }

    /// A journal record survives encoding; a truncated or mistagged one is refused.
    #[test]
    fn journal_records_round_trip_and_garbage_is_refused() {
        let entries = vec![
            (B256::repeat_byte(1), Some(Bytes::from_static(b"value"))),
            (B256::repeat_byte(2), None),
            (B256::repeat_byte(3), Some(Bytes::new())),
        ];
        let raw = encode_entries(&entries);
        assert_eq!(decode_entries(&raw).expect("decode"), entries);
        for cut in [1, 32, 33, 35, 38, raw.len() - 1] {
            assert!(decode_entries(&raw[..cut]).is_err(), "cut at {cut}");
        }
        let mut bad = raw.clone();
        bad[32] = 7;
        assert!(decode_entries(&bad).is_err());
    }

    /// The upper-level nodes a block creates stay cached while many more other nodes pass
    /// through the cache, and leave it when a later block replaces them.
    #[test]
    fn upper_levels_outlive_the_traffic_of_lower_nodes() {
        let dir = tempfile::tempdir().expect("tempdir");
        let options = Options {
            node_cache_bytes: 10 << 10,
            upper_cache_bytes: 10 << 10,
            ..Options::default()
        };
        let store = Store::open_with(&dir.path().join("c.redb"), options).expect("open");
        store
            .init_genesis(&block(0), DOC, writes(&[], &[], &[]))
            .expect("genesis");
        let node = |i: u32| {
            (
                lazai_types::keccak256(i.to_be_bytes()),
                Bytes::from(vec![i as u8; 200]),
            )
        };
        let upper = node(0);
        let lower: Vec<(B256, Bytes)> = (1..=100).map(node).collect();
        let mut created = lower.clone();
        created.push(upper.clone());
        let commit = |height: u64, nodes: &[(B256, Bytes)], stale: &[B256], upper: &[B256]| {
            store
                .commit_block(
                    &block(height),
                    &[],
                    StateWrites {
                        entries: std::iter::empty(),
                        nodes,
                        stale,
                        upper,
                    },
                )
                .expect("commit");
        };
        commit(1, &created, &[], &[upper.0]);
        // The apply thread caches a block's nodes.
        store.wait_applied().expect("applied");
        let snap = store.snapshot().expect("snapshot");
        assert!(snap.is_cached(&upper.0), "kept apart");
        assert!(!snap.is_cached(&lower[0].0), "pushed out by the others");
        assert!(snap.is_cached(&lower[99].0));
        // Reading many other nodes does not push it out either.
        for (hash, _) in &lower {
            let _ = store
                .snapshot()
                .expect("snapshot")
                .node(hash)
                .expect("read");
        }
        assert!(snap.is_cached(&upper.0));
        commit(2, &[], &[upper.0], &[]);
        store.wait_applied().expect("applied");
        assert!(
            !store.snapshot().expect("snapshot").is_cached(&upper.0),
            "replaced"
        );
    }
}
