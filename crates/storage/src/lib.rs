//! Crash-safe persistence of finalized blocks, receipts, transaction and hash indexes, and the
//! world state, in one embedded `redb` database.
//!
//! Each finalized block is committed in a single write transaction (block, receipts, indexes,
//! state write set, trie nodes and the new head together), so after a crash — SIGKILL included —
//! the database holds exactly the blocks up to some height `h` and the state after `h`, never half
//! of a block.
//!
//! The state is kept twice, for two kinds of reads: `state` holds the finalized head's entries
//! flat (one lookup per read, what execution needs), and `trie_nodes` holds the nodes of the state
//! trie by hash (what roots, proofs and reads of past blocks need). A block retires the nodes its
//! writes replaced: they are listed under its height in `stale_nodes` and deleted once no block of
//! the history window needs them (never, in an archive node).

use alloy_rlp::{Decodable, Encodable};
use lazai_types::{B256, Block, Bytes, Header, Receipt};
use redb::{Database, Durability, ReadableDatabase, ReadableTable, TableDefinition};
use std::path::Path;

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
/// The cache of state trie nodes, shared by every view of the store.
pub const DEFAULT_NODE_CACHE_BYTES: usize = 64 << 20;

/// Recently read or written trie nodes by hash. A node's hash names its content forever, so an
/// entry can never be stale: the cache is shared by every snapshot, old and new, and only its
/// size is bounded (least recently used out first).
struct NodeCache {
    inner: parking_lot::Mutex<(lru::LruCache<B256, Bytes>, usize)>,
    budget: usize,
}

impl NodeCache {
    /// What an entry counts against the budget: its bytes and a share for the key and links.
    fn cost(raw: &Bytes) -> usize {
        raw.len() + 64
    }

    fn new(budget: usize) -> Self {
        Self {
            inner: parking_lot::Mutex::new((lru::LruCache::unbounded(), 0)),
            budget,
        }
    }

    fn get(&self, hash: &B256) -> Option<Bytes> {
        self.inner.lock().0.get(hash).cloned()
    }

    fn remove(&self, hash: &B256) {
        let mut guard = self.inner.lock();
        let (lru, bytes) = &mut *guard;
        if let Some(old) = lru.pop(hash) {
            *bytes -= Self::cost(&old);
        }
    }

    fn insert(&self, hash: B256, raw: Bytes) {
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

/// How a store is opened.
#[derive(Clone, Copy, Debug)]
pub struct Options {
    pub history: History,
    /// The database file's page cache.
    pub cache_bytes: usize,
    /// The trie node cache.
    pub node_cache_bytes: usize,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            history: DEFAULT_HISTORY,
            cache_bytes: DEFAULT_CACHE_BYTES,
            node_cache_bytes: DEFAULT_NODE_CACHE_BYTES,
        }
    }
}

/// The node's database.
pub struct Store {
    db: Database,
    options: Options,
    nodes: std::sync::Arc<NodeCache>,
}

/// What a block wrote to the state: entries (`None` deletes), trie nodes created, nodes retired.
pub struct StateWrites<'a, I> {
    pub entries: I,
    pub nodes: &'a [(B256, Bytes)],
    pub stale: &'a [B256],
}

/// A consistent read-only view of the store at one moment: the finalized state then, and every
/// trie node still kept. Cheap to hold; it pins that version of the file until dropped.
pub struct Snapshot {
    /// The finalized height the snapshot holds.
    pub head: u64,
    state: redb::ReadOnlyTable<&'static [u8; 32], &'static [u8]>,
    nodes: redb::ReadOnlyTable<&'static [u8; 32], &'static [u8]>,
    cache: std::sync::Arc<NodeCache>,
}

impl Snapshot {
    /// A finalized-head entry.
    pub fn entry(&self, key: &B256) -> Result<Option<Bytes>> {
        Ok(self
            .state
            .get(&key.0)
            .map_err(db_err)?
            .map(|v| Bytes::copy_from_slice(v.value())))
    }

    /// Whether the shared node cache holds `hash` (reading it would not touch the disk).
    pub fn is_cached(&self, hash: &B256) -> bool {
        self.cache.inner.lock().0.contains(hash)
    }

    /// A trie node's RLP.
    pub fn node(&self, hash: &B256) -> Result<Option<Bytes>> {
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
        self.cache.insert(*hash, raw.clone());
        Ok(Some(raw))
    }
}

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

    /// Opens (or creates) the database file.
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
            tx.open_table(BLOCKS).map_err(db_err)?;
            tx.open_table(HEADERS).map_err(db_err)?;
            tx.open_table(HASHES).map_err(db_err)?;
            tx.open_table(RECEIPTS).map_err(db_err)?;
            tx.open_table(TXS).map_err(db_err)?;
            tx.open_table(STATE).map_err(db_err)?;
        }
        tx.commit().map_err(db_err)?;
        Ok(Self {
            db,
            options,
            nodes: std::sync::Arc::new(NodeCache::new(options.node_cache_bytes)),
        })
    }

    /// The history this store keeps.
    pub fn history(&self) -> History {
        self.options.history
    }

    /// A consistent view of the store as it is now.
    pub fn snapshot(&self) -> Result<Snapshot> {
        let tx = self.db.begin_read().map_err(db_err)?;
        let meta = tx.open_table(META).map_err(db_err)?;
        let head = match meta.get(HEAD_KEY).map_err(db_err)? {
            Some(v) => u64::from_be_bytes(v.value().try_into().map_err(|_| Error::Corrupt {
                table: "meta",
                reason: "head is not 8 bytes".into(),
            })?),
            None => 0,
        };
        Ok(Snapshot {
            head,
            state: tx.open_table(STATE).map_err(db_err)?,
            nodes: tx.open_table(NODES).map_err(db_err)?,
            cache: self.nodes.clone(),
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
        self.write_block(genesis, &[], state, Some(document))?;
        Ok(true)
    }

    /// The hash of the genesis document this data dir was created from.
    pub fn genesis_document(&self) -> Result<Option<B256>> {
        let tx = self.db.begin_read().map_err(db_err)?;
        let meta = tx.open_table(META).map_err(db_err)?;
        Ok(meta
            .get(GENESIS_DOC_KEY)
            .map_err(db_err)?
            .map(|v| B256::from_slice(v.value())))
    }

    /// Height of the last committed block (`None` before genesis).
    pub fn head(&self) -> Result<Option<u64>> {
        let tx = self.db.begin_read().map_err(db_err)?;
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

    /// Commits a finalized block with its receipts and state write set, atomically.
    pub fn commit_block<'a>(
        &self,
        block: &Block,
        receipts: &[Receipt],
        changes: StateWrites<'a, impl IntoIterator<Item = (&'a B256, Option<&'a Bytes>)>>,
    ) -> Result<()> {
        let head = self.head()?.unwrap_or(0);
        if block.height() != head + 1 {
            return Err(Error::NotNext {
                head,
                got: block.height(),
            });
        }
        self.write_block(block, receipts, changes, None)
    }

    fn write_block<'a>(
        &self,
        block: &Block,
        receipts: &[Receipt],
        changes: StateWrites<'a, impl IntoIterator<Item = (&'a B256, Option<&'a Bytes>)>>,
        genesis_document: Option<B256>,
    ) -> Result<()> {
        let hash = block.hash();
        let height = block.height();
        let mut tx = self.db.begin_write().map_err(db_err)?;
        tx.set_durability(Durability::Immediate).map_err(db_err)?;
        {
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
            let mut state = tx.open_table(STATE).map_err(db_err)?;
            for (k, v) in changes.entries {
                match v {
                    Some(v) if !v.is_empty() => {
                        state.insert(&k.0, v.as_ref()).map_err(db_err)?;
                    }
                    _ => {
                        state.remove(&k.0).map_err(db_err)?;
                    }
                }
            }
            write_nodes(
                &tx,
                height,
                changes.nodes,
                changes.stale,
                self.options.history,
                &self.nodes,
            )?;
            // The next block reads the top of these paths again.
            for (hash, raw) in changes.nodes {
                self.nodes.insert(*hash, raw.clone());
            }
            let mut meta = tx.open_table(META).map_err(db_err)?;
            meta.insert(HEAD_KEY, height.to_be_bytes().as_slice())
                .map_err(db_err)?;
            if let Some(document) = genesis_document {
                meta.insert(GENESIS_KEY, hash.as_slice()).map_err(db_err)?;
                meta.insert(GENESIS_DOC_KEY, document.as_slice())
                    .map_err(db_err)?;
            }
        }
        tx.commit().map_err(db_err)
    }

    pub fn block(&self, height: u64) -> Result<Option<Block>> {
        let tx = self.db.begin_read().map_err(db_err)?;
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
        let tx = self.db.begin_read().map_err(db_err)?;
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
        let tx = self.db.begin_read().map_err(db_err)?;
        let table = tx.open_table(HASHES).map_err(db_err)?;
        Ok(table.get(&hash.0).map_err(db_err)?.map(|v| v.value()))
    }

    pub fn receipts(&self, height: u64) -> Result<Vec<Receipt>> {
        let tx = self.db.begin_read().map_err(db_err)?;
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
        let tx = self.db.begin_read().map_err(db_err)?;
        let table = tx.open_table(TXS).map_err(db_err)?;
        Ok(table.get(&hash.0).map_err(db_err)?.map(|v| {
            let (height, index) = v.value();
            TxLocation { height, index }
        }))
    }
}

/// Stores a block's new trie nodes, lists the ones it retired, and deletes the retired nodes no
/// block of the history window reads any more.
///
/// A node retired at height `s` is part of the state of every block before `s`; with a window of
/// the last `n` blocks ending at `height`, the oldest state served is `height - n + 1`, so the
/// nodes retired at `s <= height - n + 1` go. A node can be created again after it was retired
/// (a value written back): its record then carries the later height and the old list spares it.
fn write_nodes(
    tx: &redb::WriteTransaction,
    height: u64,
    created: &[(B256, Bytes)],
    stale: &[B256],
    history: History,
    cache: &NodeCache,
) -> Result<()> {
    let mut nodes = tx.open_table(NODES).map_err(db_err)?;
    let mut record = Vec::with_capacity(600);
    for (hash, raw) in created {
        record.clear();
        record.extend_from_slice(&height.to_be_bytes());
        record.extend_from_slice(raw);
        nodes.insert(&hash.0, record.as_slice()).map_err(db_err)?;
    }
    let History::Recent(window) = history else {
        return Ok(());
    };
    let mut lists = tx.open_table(STALE).map_err(db_err)?;
    if !stale.is_empty() {
        let list: Vec<u8> = stale.iter().flat_map(|h| h.0).collect();
        lists.insert(height, list.as_slice()).map_err(db_err)?;
    }
    let Some(cutoff) = (height + 1).checked_sub(window.max(1)) else {
        return Ok(());
    };
    let due: Vec<(u64, Vec<u8>)> = lists
        .extract_from_if(..=cutoff, |_, _| true)
        .map_err(db_err)?
        .map(|row| row.map(|(k, v)| (k.value(), v.value().to_vec())))
        .collect::<std::result::Result<_, _>>()
        .map_err(db_err)?;
    for (retired_at, list) in due {
        for hash in list.chunks_exact(32) {
            let hash: &[u8; 32] = hash.try_into().expect("chunks of 32");
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
        }
    }
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
}
