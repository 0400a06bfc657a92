//! Crash-safe persistence of finalized blocks, receipts, transaction and hash indexes, and the
//! world state, in one embedded `redb` database.
//!
//! Each finalized block is committed in a single write transaction (block, receipts, indexes,
//! state write set and the new head together), so after a crash — SIGKILL included — the
//! database holds exactly the blocks up to some height `h` and the state after `h`, never half
//! of a block.

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

const HEAD_KEY: &str = "head";
const GENESIS_KEY: &str = "genesis_hash";

/// Storage errors.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("database: {0}")]
    Database(String),
    #[error("corrupt record in {table}: {reason}")]
    Corrupt { table: &'static str, reason: String },
    #[error("data dir holds another chain: genesis {stored}, expected {expected}")]
    GenesisMismatch { stored: B256, expected: B256 },
    #[error("block {got} does not extend head {head}")]
    NotNext { head: u64, got: u64 },
}

pub type Result<T> = std::result::Result<T, Error>;

fn db_err(e: impl std::fmt::Display) -> Error {
    Error::Database(e.to_string())
}

/// The node's database.
pub struct Store {
    db: Database,
}

/// Where a transaction was finalized.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TxLocation {
    pub height: u64,
    pub index: u32,
}

impl Store {
    /// Opens (or creates) the database file.
    pub fn open(path: &Path) -> Result<Self> {
        let db = Database::create(path).map_err(db_err)?;
        let tx = db.begin_write().map_err(db_err)?;
        {
            tx.open_table(META).map_err(db_err)?;
            tx.open_table(BLOCKS).map_err(db_err)?;
            tx.open_table(HEADERS).map_err(db_err)?;
            tx.open_table(HASHES).map_err(db_err)?;
            tx.open_table(RECEIPTS).map_err(db_err)?;
            tx.open_table(TXS).map_err(db_err)?;
            tx.open_table(STATE).map_err(db_err)?;
        }
        tx.commit().map_err(db_err)?;
        Ok(Self { db })
    }

    /// Writes the genesis block and state on first start; on later starts checks that the data
    /// dir belongs to the same chain. Returns `true` when it initialised.
    pub fn init_genesis<'a>(
        &self,
        genesis: &Block,
        state: impl IntoIterator<Item = (&'a B256, &'a Bytes)>,
    ) -> Result<bool> {
        let expected = genesis.hash();
        if let Some(stored) = self.genesis_hash()? {
            if stored != expected {
                return Err(Error::GenesisMismatch { stored, expected });
            }
            return Ok(false);
        }
        let changes: Vec<(B256, Option<Bytes>)> = state
            .into_iter()
            .map(|(k, v)| (*k, Some(v.clone())))
            .collect();
        self.write_block(
            genesis,
            &[],
            changes.iter().map(|(k, v)| (k, v.as_ref())),
            true,
        )?;
        Ok(true)
    }

    fn genesis_hash(&self) -> Result<Option<B256>> {
        let tx = self.db.begin_read().map_err(db_err)?;
        let meta = tx.open_table(META).map_err(db_err)?;
        Ok(meta
            .get(GENESIS_KEY)
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
        changes: impl IntoIterator<Item = (&'a B256, Option<&'a Bytes>)>,
    ) -> Result<()> {
        let head = self.head()?.unwrap_or(0);
        if block.height() != head + 1 {
            return Err(Error::NotNext {
                head,
                got: block.height(),
            });
        }
        self.write_block(block, receipts, changes, false)
    }

    fn write_block<'a>(
        &self,
        block: &Block,
        receipts: &[Receipt],
        changes: impl IntoIterator<Item = (&'a B256, Option<&'a Bytes>)>,
        genesis: bool,
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
            for (k, v) in changes {
                match v {
                    Some(v) if !v.is_empty() => {
                        state.insert(&k.0, v.as_ref()).map_err(db_err)?;
                    }
                    _ => {
                        state.remove(&k.0).map_err(db_err)?;
                    }
                }
            }
            let mut meta = tx.open_table(META).map_err(db_err)?;
            meta.insert(HEAD_KEY, height.to_be_bytes().as_slice())
                .map_err(db_err)?;
            if genesis {
                meta.insert(GENESIS_KEY, hash.as_slice()).map_err(db_err)?;
            }
        }
        tx.commit().map_err(db_err)
    }

    /// Every state entry, in key order.
    pub fn load_state(&self) -> Result<Vec<(B256, Bytes)>> {
        let tx = self.db.begin_read().map_err(db_err)?;
        let table = tx.open_table(STATE).map_err(db_err)?;
        let mut out = Vec::new();
        for row in table.iter().map_err(db_err)? {
            let (k, v) = row.map_err(db_err)?;
            out.push((B256::from(*k.value()), Bytes::copy_from_slice(v.value())));
        }
        Ok(out)
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

    #[test]
    fn commits_are_ordered_and_reopen_intact() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("chain.redb");
        let k = B256::repeat_byte(1);
        let v = Bytes::from_static(b"v");
        {
            let store = Store::open(&path).expect("open");
            assert!(store.init_genesis(&block(0), [(&k, &v)]).expect("genesis"));
            assert!(matches!(
                store.commit_block(&block(2), &[], []),
                Err(Error::NotNext { .. })
            ));
            store
                .commit_block(&block(1), &[], [(&k, None)])
                .expect("commit");
        }
        let store = Store::open(&path).expect("reopen");
        assert!(!store.init_genesis(&block(0), []).expect("same genesis"));
        assert_eq!(store.head().expect("head"), Some(1));
        assert!(store.load_state().expect("state").is_empty());
        assert_eq!(store.block(1).expect("read").expect("present"), block(1));
        assert_eq!(
            store.header(1).expect("read").expect("present"),
            block(1).header
        );
        assert_eq!(store.height_of(&block(1).hash()).expect("read"), Some(1));
        let mut other = block(0);
        other.header.timestamp_ms = 5;
        assert!(matches!(
            store.init_genesis(&other, []),
            Err(Error::GenesisMismatch { .. })
        ));
    }
}
