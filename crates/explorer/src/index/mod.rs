//! The explorer's own index (redb): what JSON-RPC cannot answer directly — an address's
//! transactions, a class's holders, an object's history, an iDAO's flows, models, tasks and
//! workers — built from finalized blocks and their logs.
//!
//! Every table is keyed by big-endian bytes so that a prefix is one object and key order is
//! chain order; lists are read newest first from a cursor, so no page costs more than its rows.
//! A batch of blocks is written in one transaction together with the new indexed height: a
//! crash leaves the index at a block boundary, and indexing resumes after it.

mod extract;

pub use extract::{BlockEntries, IndexLog, IndexReceipt, ObjectLog, extract};

use alloy_primitives::{Address, B256, U256};
use redb::{Database, ReadableDatabase, ReadableTable, TableDefinition};
use std::path::Path;

/// LazAI's objects, as the index names them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[repr(u8)]
pub enum Kind {
    Idao = 1,
    Class = 2,
    Token = 3,
    Flow = 4,
    Model = 5,
    Task = 6,
    /// A worker (an address) attested for an iDAO; only as a child.
    Worker = 7,
}

impl Kind {
    pub fn from_u8(v: u8) -> Option<Kind> {
        Some(match v {
            1 => Kind::Idao,
            2 => Kind::Class,
            3 => Kind::Token,
            4 => Kind::Flow,
            5 => Kind::Model,
            6 => Kind::Task,
            7 => Kind::Worker,
            _ => return None,
        })
    }
}

const META: TableDefinition<&str, &[u8]> = TableDefinition::new("meta");
/// height → [`BlockSummary`].
const BLOCKS: TableDefinition<u64, &[u8]> = TableDefinition::new("blocks");
/// height → transaction count, for blocks with transactions only.
const TX_BLOCKS: TableDefinition<u64, u32> = TableDefinition::new("tx_blocks");
/// address ++ height → the address's transactions in that block, in order, each as
/// tx index (4 bytes, big-endian) ++ tx hash: one entry per address and block, so a block of
/// many transfers from few senders is a few writes.
const ADDRESS_TXS: TableDefinition<&[u8], &[u8]> = TableDefinition::new("address_block_txs");
/// The first layout's address table (one entry per transaction), dropped on open.
const LEGACY_ADDRESS_TXS: TableDefinition<&[u8], &[u8]> = TableDefinition::new("address_txs");
/// class ++ holder → first height seen.
const HOLDERS: TableDefinition<&[u8], u64> = TableDefinition::new("holders");
/// holder ++ class → first height seen.
const HELD: TableDefinition<&[u8], u64> = TableDefinition::new("held");
/// token → class.
const TOKEN_CLASS: TableDefinition<&[u8], &[u8]> = TableDefinition::new("token_class");
/// kind ++ id ++ height ++ tx index ++ log index → [`ObjectLog`].
const OBJECT_LOGS: TableDefinition<&[u8], &[u8]> = TableDefinition::new("object_logs");
/// parent kind ++ parent id ++ child kind ++ child id → first height seen.
const CHILDREN: TableDefinition<&[u8], u64> = TableDefinition::new("children");

const HEIGHT_KEY: &str = "height";
const GENESIS_KEY: &str = "genesis";
const LAYOUT_KEY: &str = "layout";
/// The tables' layout; an index of another layout is emptied on open and rebuilt.
const LAYOUT: u32 = 2;
/// Bytes of one transaction in an [`ADDRESS_TXS`] value.
const ADDRESS_TX_LEN: usize = 4 + 32;

/// What the index keeps of a block (the home page's list and tx/s read it without the node).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BlockSummary {
    pub height: u64,
    pub hash: B256,
    pub timestamp: u64,
    pub tx_count: u32,
    pub gas_used: u64,
    pub proposer: Address,
}

impl BlockSummary {
    const LEN: usize = 32 + 8 + 4 + 8 + 20;

    fn encode(&self) -> [u8; Self::LEN] {
        let mut out = [0u8; Self::LEN];
        out[..32].copy_from_slice(self.hash.as_slice());
        out[32..40].copy_from_slice(&self.timestamp.to_be_bytes());
        out[40..44].copy_from_slice(&self.tx_count.to_be_bytes());
        out[44..52].copy_from_slice(&self.gas_used.to_be_bytes());
        out[52..].copy_from_slice(self.proposer.as_slice());
        out
    }

    fn decode(height: u64, bytes: &[u8]) -> Option<Self> {
        if bytes.len() != Self::LEN {
            return None;
        }
        Some(Self {
            height,
            hash: B256::from_slice(&bytes[..32]),
            timestamp: u64::from_be_bytes(bytes[32..40].try_into().ok()?),
            tx_count: u32::from_be_bytes(bytes[40..44].try_into().ok()?),
            gas_used: u64::from_be_bytes(bytes[44..52].try_into().ok()?),
            proposer: Address::from_slice(&bytes[52..]),
        })
    }
}

/// A transaction's place: height and index in its block.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct TxPos {
    pub height: u64,
    pub index: u32,
}

#[derive(Debug, thiserror::Error)]
pub enum IndexError {
    #[error("explorer index: {0}")]
    Db(String),
    #[error("explorer index: the node's chain changed: {0}")]
    ChainChanged(String),
    #[error("explorer index at {path}: {reason}")]
    Open { path: String, reason: String },
}

macro_rules! db_err {
    ($($t:ty),*) => {$(
        impl From<$t> for IndexError {
            fn from(e: $t) -> Self {
                IndexError::Db(e.to_string())
            }
        }
    )*};
}
db_err!(
    redb::Error,
    redb::TransactionError,
    redb::TableError,
    redb::StorageError,
    redb::CommitError
);

pub type IndexResult<T> = Result<T, IndexError>;

/// The index database.
pub struct Index {
    db: Database,
}

fn word(v: U256) -> [u8; 32] {
    v.to_be_bytes()
}

fn object_prefix(kind: Kind, id: U256) -> Vec<u8> {
    let mut k = Vec::with_capacity(33 + 16);
    k.push(kind as u8);
    k.extend_from_slice(&word(id));
    k
}

/// The smallest key after every key that starts with `prefix`.
fn prefix_end(prefix: &[u8]) -> Vec<u8> {
    let mut end = prefix.to_vec();
    while let Some(last) = end.pop() {
        if last < 0xff {
            end.push(last + 1);
            return end;
        }
    }
    vec![0xff; prefix.len() + 1]
}

fn pos_bytes(pos: TxPos) -> [u8; 12] {
    let mut out = [0u8; 12];
    out[..8].copy_from_slice(&pos.height.to_be_bytes());
    out[8..].copy_from_slice(&pos.index.to_be_bytes());
    out
}

fn pos_from(bytes: &[u8]) -> Option<TxPos> {
    Some(TxPos {
        height: u64::from_be_bytes(bytes.get(..8)?.try_into().ok()?),
        index: u32::from_be_bytes(bytes.get(8..12)?.try_into().ok()?),
    })
}

/// Creates every table (opening one in a write transaction creates it).
fn create_tables(tx: &redb::WriteTransaction) -> IndexResult<()> {
    tx.open_table(META)?;
    tx.open_table(BLOCKS)?;
    tx.open_table(TX_BLOCKS)?;
    tx.open_table(ADDRESS_TXS)?;
    tx.open_table(HOLDERS)?;
    tx.open_table(HELD)?;
    tx.open_table(TOKEN_CLASS)?;
    tx.open_table(OBJECT_LOGS)?;
    tx.open_table(CHILDREN)?;
    Ok(())
}

/// Drops every table (and the first layout's address table).
fn delete_tables(tx: &redb::WriteTransaction) -> IndexResult<()> {
    tx.delete_table(META)?;
    tx.delete_table(BLOCKS)?;
    tx.delete_table(TX_BLOCKS)?;
    tx.delete_table(ADDRESS_TXS)?;
    tx.delete_table(LEGACY_ADDRESS_TXS)?;
    tx.delete_table(HOLDERS)?;
    tx.delete_table(HELD)?;
    tx.delete_table(TOKEN_CLASS)?;
    tx.delete_table(OBJECT_LOGS)?;
    tx.delete_table(CHILDREN)?;
    Ok(())
}

/// An [`ADDRESS_TXS`] key.
fn address_block_key(address: &Address, height: u64) -> [u8; 28] {
    let mut key = [0u8; 28];
    key[..20].copy_from_slice(address.as_slice());
    key[20..].copy_from_slice(&height.to_be_bytes());
    key
}

/// A block's [`ADDRESS_TXS`] entries: its (address, position, hash) triples grouped by address,
/// each group in transaction order.
fn address_block_entries(block: &BlockEntries) -> Vec<([u8; 28], Vec<u8>)> {
    let mut txs: Vec<&(Address, TxPos, B256)> = block.address_txs.iter().collect();
    // Stable: each address keeps its transactions in block order.
    txs.sort_by_key(|(address, _, _)| *address);
    let mut out: Vec<([u8; 28], Vec<u8>)> = Vec::new();
    for (address, pos, hash) in txs {
        let key = address_block_key(address, pos.height);
        if out.last().is_none_or(|(k, _)| *k != key) {
            out.push((key, Vec::with_capacity(ADDRESS_TX_LEN)));
        }
        if let Some((_, value)) = out.last_mut() {
            value.extend_from_slice(&pos.index.to_be_bytes());
            value.extend_from_slice(hash.as_slice());
        }
    }
    out
}

impl Index {
    /// Opens (or creates) the index in `dir`.
    pub fn open(dir: &Path) -> IndexResult<Self> {
        std::fs::create_dir_all(dir).map_err(|e| IndexError::Open {
            path: dir.display().to_string(),
            reason: e.to_string(),
        })?;
        let path = dir.join("index.redb");
        let db = Database::create(&path).map_err(|e| IndexError::Open {
            path: path.display().to_string(),
            reason: e.to_string(),
        })?;
        let tx = db.begin_write()?;
        create_tables(&tx)?;
        let layout = tx
            .open_table(META)?
            .get(LAYOUT_KEY)?
            .and_then(|v| v.value().try_into().ok().map(u32::from_be_bytes));
        if layout != Some(LAYOUT) {
            if layout.is_some() || tx.open_table(META)?.get(HEIGHT_KEY)?.is_some() {
                tracing::info!(
                    path = %path.display(),
                    "explorer index: written by another version; rebuilding"
                );
            }
            delete_tables(&tx)?;
            create_tables(&tx)?;
            tx.open_table(META)?
                .insert(LAYOUT_KEY, LAYOUT.to_be_bytes().as_slice())?;
        }
        tx.commit()?;
        Ok(Self { db })
    }

    /// The highest indexed block, `None` before the first.
    pub fn height(&self) -> IndexResult<Option<u64>> {
        let tx = self.db.begin_read()?;
        let meta = tx.open_table(META)?;
        Ok(meta
            .get(HEIGHT_KEY)?
            .and_then(|v| v.value().try_into().ok().map(u64::from_be_bytes)))
    }

    /// The genesis hash the index was built from.
    pub fn genesis(&self) -> IndexResult<Option<B256>> {
        let tx = self.db.begin_read()?;
        let meta = tx.open_table(META)?;
        Ok(meta
            .get(GENESIS_KEY)?
            .filter(|v| v.value().len() == 32)
            .map(|v| B256::from_slice(v.value())))
    }

    /// Empties every table and records `genesis`: the index now follows that chain.
    pub fn reset(&self, genesis: B256) -> IndexResult<()> {
        let tx = self.db.begin_write()?;
        delete_tables(&tx)?;
        create_tables(&tx)?;
        {
            let mut meta = tx.open_table(META)?;
            meta.insert(LAYOUT_KEY, LAYOUT.to_be_bytes().as_slice())?;
            meta.insert(GENESIS_KEY, genesis.as_slice())?;
        }
        tx.commit()?;
        Ok(())
    }

    /// Writes consecutive blocks' entries and moves the indexed height to the last of them, in
    /// one transaction, for the chain whose block 0 is `genesis`. Blocks at or below the indexed
    /// height are skipped (a repeated batch changes nothing); a gap, a block whose parent is not
    /// the indexed block, or an index of another genesis is refused with nothing written.
    pub fn apply(&self, genesis: B256, blocks: &[BlockEntries]) -> IndexResult<()> {
        let Some(last) = blocks.last() else {
            return Ok(());
        };
        let tx = self.db.begin_write()?;
        {
            let mut meta = tx.open_table(META)?;
            let stored = meta
                .get(GENESIS_KEY)?
                .filter(|v| v.value().len() == 32)
                .map(|v| B256::from_slice(v.value()));
            if stored != Some(genesis) {
                return Err(IndexError::ChainChanged(
                    "the index was built from another genesis".into(),
                ));
            }
            let current = meta
                .get(HEIGHT_KEY)?
                .and_then(|v| v.value().try_into().ok().map(u64::from_be_bytes));
            let mut summaries = tx.open_table(BLOCKS)?;
            let mut tx_blocks = tx.open_table(TX_BLOCKS)?;
            let mut address_txs = tx.open_table(ADDRESS_TXS)?;
            let mut holders = tx.open_table(HOLDERS)?;
            let mut held = tx.open_table(HELD)?;
            let mut token_class = tx.open_table(TOKEN_CLASS)?;
            let mut object_logs = tx.open_table(OBJECT_LOGS)?;
            let mut children = tx.open_table(CHILDREN)?;
            let mut expected = current.map_or(0, |h| h + 1);
            // Written after the loop in key order: one pass over each address's leaf.
            let mut address_entries: Vec<([u8; 28], Vec<u8>)> = Vec::new();
            for block in blocks {
                let h = block.summary.height;
                if current.is_some_and(|c| h <= c) {
                    continue;
                }
                if h != expected {
                    return Err(IndexError::Db(format!(
                        "block {h} does not follow the indexed height (expected {expected})"
                    )));
                }
                expected = h + 1;
                if h > 0 {
                    let parent = summaries
                        .get(h - 1)?
                        .and_then(|v| BlockSummary::decode(h - 1, v.value()));
                    if parent.is_some_and(|p| p.hash != block.parent) {
                        return Err(IndexError::ChainChanged(format!(
                            "block {h} does not extend the indexed block {}",
                            h - 1
                        )));
                    }
                }
                summaries.insert(h, block.summary.encode().as_slice())?;
                if block.summary.tx_count > 0 {
                    tx_blocks.insert(h, block.summary.tx_count)?;
                }
                address_entries.extend(address_block_entries(block));
                for (token, class) in &block.token_classes {
                    token_class.insert(word(*token).as_slice(), word(*class).as_slice())?;
                }
                let mut holdings = block.holdings.clone();
                for (token, holder) in &block.token_moves {
                    let class = match block.token_classes.iter().find(|(t, _)| t == token) {
                        Some((_, c)) => Some(*c),
                        None => token_class
                            .get(word(*token).as_slice())?
                            .map(|v| U256::from_be_slice(v.value())),
                    };
                    if let Some(class) = class {
                        holdings.push((class, *holder));
                    }
                }
                for (class, holder) in holdings {
                    let mut key = word(class).to_vec();
                    key.extend_from_slice(holder.as_slice());
                    if holders.get(key.as_slice())?.is_none() {
                        holders.insert(key.as_slice(), h)?;
                    }
                    let mut key = holder.to_vec();
                    key.extend_from_slice(&word(class));
                    if held.get(key.as_slice())?.is_none() {
                        held.insert(key.as_slice(), h)?;
                    }
                }
                for log in &block.object_logs {
                    let mut key = object_prefix(log.kind, log.id);
                    key.extend_from_slice(&pos_bytes(log.pos));
                    key.extend_from_slice(&log.log_index.to_be_bytes());
                    object_logs.insert(key.as_slice(), log.encode().as_slice())?;
                }
                for (parent_kind, parent, child_kind, child) in &block.children {
                    let mut key = object_prefix(*parent_kind, *parent);
                    key.push(*child_kind as u8);
                    key.extend_from_slice(&word(*child));
                    if children.get(key.as_slice())?.is_none() {
                        children.insert(key.as_slice(), h)?;
                    }
                }
            }
            address_entries.sort_unstable_by_key(|(key, _)| *key);
            for (key, value) in &address_entries {
                address_txs.insert(key.as_slice(), value.as_slice())?;
            }
            meta.insert(
                HEIGHT_KEY,
                last.summary
                    .height
                    .max(current.unwrap_or(0))
                    .to_be_bytes()
                    .as_slice(),
            )?;
        }
        tx.commit()?;
        Ok(())
    }

    pub fn block(&self, height: u64) -> IndexResult<Option<BlockSummary>> {
        let tx = self.db.begin_read()?;
        let table = tx.open_table(BLOCKS)?;
        Ok(table
            .get(height)?
            .and_then(|v| BlockSummary::decode(height, v.value())))
    }

    /// Up to `limit` block summaries, newest first, below `before` (all when `None`).
    pub fn latest_blocks(
        &self,
        before: Option<u64>,
        limit: usize,
    ) -> IndexResult<Vec<BlockSummary>> {
        let tx = self.db.begin_read()?;
        let table = tx.open_table(BLOCKS)?;
        let end = before.unwrap_or(u64::MAX);
        let mut out = Vec::new();
        for entry in table.range(..end)?.rev().take(limit) {
            let (k, v) = entry?;
            if let Some(s) = BlockSummary::decode(k.value(), v.value()) {
                out.push(s);
            }
        }
        Ok(out)
    }

    /// The newest `limit` blocks that hold transactions, with their transaction counts.
    pub fn latest_tx_blocks(&self, limit: usize) -> IndexResult<Vec<(u64, u32)>> {
        let tx = self.db.begin_read()?;
        let table = tx.open_table(TX_BLOCKS)?;
        let mut out = Vec::new();
        for entry in table.iter()?.rev().take(limit) {
            let (h, n) = entry?;
            out.push((h.value(), n.value()));
        }
        Ok(out)
    }

    /// An address's transactions, newest first, before `before` (all when `None`).
    pub fn address_txs(
        &self,
        address: Address,
        before: Option<TxPos>,
        limit: usize,
    ) -> IndexResult<Vec<(TxPos, B256)>> {
        let tx = self.db.begin_read()?;
        let table = tx.open_table(ADDRESS_TXS)?;
        let start = address_block_key(&address, 0);
        let end = match before {
            // The cursor's own block is read too (its earlier transactions).
            Some(pos) => match pos.height.checked_add(1) {
                Some(h) => address_block_key(&address, h).to_vec(),
                None => prefix_end(address.as_slice()),
            },
            None => prefix_end(address.as_slice()),
        };
        let mut out = Vec::new();
        for entry in table.range(start.as_slice()..end.as_slice())?.rev() {
            if out.len() >= limit {
                break;
            }
            let (k, v) = entry?;
            let Some(height) = k
                .value()
                .get(20..28)
                .and_then(|b| b.try_into().ok())
                .map(u64::from_be_bytes)
            else {
                continue;
            };
            for tx in v.value().chunks_exact(ADDRESS_TX_LEN).rev() {
                let pos = TxPos {
                    height,
                    index: u32::from_be_bytes([tx[0], tx[1], tx[2], tx[3]]),
                };
                if before.is_some_and(|b| pos >= b) {
                    continue;
                }
                out.push((pos, B256::from_slice(&tx[4..])));
                if out.len() >= limit {
                    break;
                }
            }
        }
        Ok(out)
    }

    /// A class's holders (every address that ever received one of its tokens), in address
    /// order after `after`.
    pub fn holders(
        &self,
        class: U256,
        after: Option<Address>,
        limit: usize,
    ) -> IndexResult<Vec<Address>> {
        let tx = self.db.begin_read()?;
        let table = tx.open_table(HOLDERS)?;
        let prefix = word(class);
        let mut start = prefix.to_vec();
        if let Some(a) = after {
            start.extend_from_slice(a.as_slice());
            start.push(0);
        }
        let end = prefix_end(&prefix);
        let mut out = Vec::new();
        for entry in table.range(start.as_slice()..end.as_slice())?.take(limit) {
            let (k, _) = entry?;
            out.push(Address::from_slice(&k.value()[32..]));
        }
        Ok(out)
    }

    /// The classes an address ever held, in class order.
    pub fn held_classes(&self, holder: Address, limit: usize) -> IndexResult<Vec<U256>> {
        let tx = self.db.begin_read()?;
        let table = tx.open_table(HELD)?;
        let end = prefix_end(holder.as_slice());
        let mut out = Vec::new();
        for entry in table.range(holder.as_slice()..end.as_slice())?.take(limit) {
            let (k, _) = entry?;
            out.push(U256::from_be_slice(&k.value()[20..]));
        }
        Ok(out)
    }

    /// The class a token was minted in.
    pub fn token_class(&self, token: U256) -> IndexResult<Option<U256>> {
        let tx = self.db.begin_read()?;
        let table = tx.open_table(TOKEN_CLASS)?;
        Ok(table
            .get(word(token).as_slice())?
            .map(|v| U256::from_be_slice(v.value())))
    }

    /// The logs that name an object, newest first, before `before`.
    pub fn object_logs(
        &self,
        kind: Kind,
        id: U256,
        before: Option<TxPos>,
        limit: usize,
    ) -> IndexResult<Vec<ObjectLog>> {
        let tx = self.db.begin_read()?;
        let table = tx.open_table(OBJECT_LOGS)?;
        let prefix = object_prefix(kind, id);
        let end = match before {
            Some(pos) => {
                let mut k = prefix.clone();
                k.extend_from_slice(&pos_bytes(pos));
                k
            }
            None => prefix_end(&prefix),
        };
        let mut out = Vec::new();
        for entry in table
            .range(prefix.as_slice()..end.as_slice())?
            .rev()
            .take(limit)
        {
            let (k, v) = entry?;
            let key = k.value();
            let Some(pos) = pos_from(&key[33..]) else {
                continue;
            };
            let log_index = key
                .get(45..49)
                .and_then(|b| b.try_into().ok())
                .map_or(0, u32::from_be_bytes);
            if let Some(log) = ObjectLog::decode(kind, id, pos, log_index, v.value()) {
                out.push(log);
            }
        }
        Ok(out)
    }

    /// An object's children of one kind (an iDAO's flows, models, tasks, workers), newest id
    /// first.
    pub fn children(
        &self,
        kind: Kind,
        id: U256,
        child: Kind,
        limit: usize,
    ) -> IndexResult<Vec<U256>> {
        let tx = self.db.begin_read()?;
        let table = tx.open_table(CHILDREN)?;
        let mut prefix = object_prefix(kind, id);
        prefix.push(child as u8);
        let end = prefix_end(&prefix);
        let mut out = Vec::new();
        for entry in table
            .range(prefix.as_slice()..end.as_slice())?
            .rev()
            .take(limit)
        {
            let (k, _) = entry?;
            out.push(U256::from_be_slice(&k.value()[34..]));
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefix_end_is_the_first_key_after_the_prefix() {
        assert_eq!(prefix_end(&[1, 2]), vec![1, 3]);
        assert_eq!(prefix_end(&[1, 0xff]), vec![2]);
        assert_eq!(prefix_end(&[0xff, 0xff]), vec![0xff, 0xff, 0xff]);
    }

    #[test]
    fn a_block_summary_round_trips() {
        let s = BlockSummary {
            height: 9,
            hash: B256::repeat_byte(7),
            timestamp: 1_700_000_000,
            tx_count: 3,
            gas_used: 63_000,
            proposer: Address::repeat_byte(1),
        };
        assert_eq!(BlockSummary::decode(9, &s.encode()), Some(s));
        assert_eq!(BlockSummary::decode(9, &s.encode()[1..]), None);
    }
}
