//! What the index keeps of one block, taken from the block and its receipts alone (pure: the
//! same block always gives the same entries).

use super::{BlockSummary, Kind, TxPos};
use crate::decode;
use crate::source::SourceBlock;
use alloy_primitives::{Address, B256, Log, U256};
use alloy_primitives::{Bytes, U64};
use lazai_abi as abi;

/// Log data kept in the index up to this size; a larger log is kept without its data (its page
/// shows it from the node).
pub const MAX_LOG_DATA: usize = 16 * 1024;

/// What the index reads of a receipt (the rest — bloom, gas, status — is skipped unparsed).
#[derive(Clone, Debug, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct IndexReceipt {
    pub transaction_hash: B256,
    #[serde(default)]
    pub transaction_index: Option<U64>,
    pub from: Address,
    #[serde(default)]
    pub to: Option<Address>,
    #[serde(default)]
    pub contract_address: Option<Address>,
    #[serde(default)]
    pub logs: Vec<IndexLog>,
}

/// What the index reads of a log.
#[derive(Clone, Debug, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct IndexLog {
    pub address: Address,
    #[serde(default)]
    pub topics: Vec<B256>,
    #[serde(default)]
    pub data: Bytes,
    #[serde(default)]
    pub log_index: Option<U64>,
}

/// A log that names an object, as the index keeps it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ObjectLog {
    pub kind: Kind,
    pub id: U256,
    pub pos: TxPos,
    pub log_index: u32,
    pub tx_hash: B256,
    pub address: Address,
    pub topics: Vec<B256>,
    pub data: Vec<u8>,
    /// The data was over [`MAX_LOG_DATA`] and is not kept.
    pub truncated: bool,
}

impl ObjectLog {
    pub(super) fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(54 + 32 * self.topics.len() + self.data.len());
        out.extend_from_slice(self.tx_hash.as_slice());
        out.extend_from_slice(self.address.as_slice());
        out.push(self.truncated as u8);
        out.push(self.topics.len() as u8);
        for t in &self.topics {
            out.extend_from_slice(t.as_slice());
        }
        out.extend_from_slice(&self.data);
        out
    }

    pub(super) fn decode(
        kind: Kind,
        id: U256,
        pos: TxPos,
        log_index: u32,
        bytes: &[u8],
    ) -> Option<Self> {
        let tx_hash = B256::from_slice(bytes.get(..32)?);
        let address = Address::from_slice(bytes.get(32..52)?);
        let truncated = *bytes.get(52)? != 0;
        let n = *bytes.get(53)? as usize;
        let mut topics = Vec::with_capacity(n);
        let mut at = 54;
        for _ in 0..n {
            topics.push(B256::from_slice(bytes.get(at..at + 32)?));
            at += 32;
        }
        Some(Self {
            kind,
            id,
            pos,
            log_index,
            tx_hash,
            address,
            topics,
            data: bytes.get(at..)?.to_vec(),
            truncated,
        })
    }
}

/// One block's index entries.
#[derive(Clone, Debug)]
pub struct BlockEntries {
    pub summary: BlockSummary,
    /// The parent's hash (the index checks each block follows the one before).
    pub parent: B256,
    pub address_txs: Vec<(Address, TxPos, B256)>,
    /// (class, holder) pairs seen receiving DATs.
    pub holdings: Vec<(U256, Address)>,
    /// (token, class) for tokens minted here.
    pub token_classes: Vec<(U256, U256)>,
    /// (token, new owner) for whole-token moves (their class is looked up).
    pub token_moves: Vec<(U256, Address)>,
    pub object_logs: Vec<ObjectLog>,
    /// (parent kind, parent id, child kind, child id).
    pub children: Vec<(Kind, U256, Kind, U256)>,
}

impl BlockEntries {
    /// A block with nothing but its summary.
    pub fn new(summary: BlockSummary, parent: B256) -> Self {
        Self {
            summary,
            parent,
            address_txs: Vec::new(),
            holdings: Vec::new(),
            token_classes: Vec::new(),
            token_moves: Vec::new(),
            object_logs: Vec::new(),
            children: Vec::new(),
        }
    }
}

/// The object kind an indexed event parameter names.
fn param_kind(name: &str) -> Option<Kind> {
    Some(match name {
        "idaoId" => Kind::Idao,
        "classId" => Kind::Class,
        "tokenId" | "fromTokenId" | "toTokenId" => Kind::Token,
        "flowId" => Kind::Flow,
        "modelId" => Kind::Model,
        "taskId" => Kind::Task,
        _ => return None,
    })
}

fn topic_address(topic: Option<&B256>) -> Option<Address> {
    topic.map(|t| Address::from_slice(&t[12..]))
}

/// The index entries of a block, from its summary and receipts.
pub fn extract(block: &SourceBlock) -> BlockEntries {
    let height = block.summary.height;
    let mut entries = BlockEntries::new(block.summary, block.parent);
    let mut touched: Vec<Address> = Vec::new();
    for (i, receipt) in block.receipts.iter().enumerate() {
        let pos = TxPos {
            height,
            index: receipt
                .transaction_index
                .map_or(i as u32, |x| x.to::<u32>()),
        };
        let hash = receipt.transaction_hash;
        touched.clear();
        touched.push(receipt.from);
        touched.extend(receipt.to);
        touched.extend(receipt.contract_address);
        for (position, log) in receipt.logs.iter().enumerate() {
            let log_index = log.log_index.map_or(position as u32, |x| x.to::<u32>());
            let log = Log::new_unchecked(log.address, log.topics.clone(), log.data.clone());
            touched.extend(log_addresses(&log));
            object_entries(&mut entries, &log, pos, log_index, hash);
        }
        touched.sort();
        touched.dedup();
        for &address in &touched {
            entries.address_txs.push((address, pos, hash));
        }
    }
    entries
}

/// Addresses in a known event's indexed parameters (a DAT's recipient, a node, a buyer).
fn log_addresses(log: &Log) -> Vec<Address> {
    let Some(decoded) = decode::decode_log(log.topics(), &log.data.data) else {
        return Vec::new();
    };
    decoded
        .args
        .iter()
        .filter(|a| a.indexed)
        .filter_map(|a| a.value.as_address())
        .filter(|a| !a.is_zero())
        .collect()
}

fn object_entries(
    entries: &mut BlockEntries,
    log: &Log,
    pos: TxPos,
    log_index: u32,
    tx_hash: B256,
) {
    let topics = log.topics();
    let Some(module) = decode::module(&log.address) else {
        return;
    };
    let Some(event) = topics
        .first()
        .and_then(|t0| module.abi.events().find(|e| e.selector() == *t0))
    else {
        return;
    };
    let data = &log.data.data;
    let truncated = data.len() > MAX_LOG_DATA;
    let mut named: Vec<(Kind, U256)> = Vec::new();
    let mut topic = 1;
    for p in &event.inputs {
        if !p.indexed {
            continue;
        }
        if let (Some(kind), Some(t)) = (param_kind(&p.name), topics.get(topic)) {
            named.push((kind, U256::from_be_bytes(t.0)));
        }
        topic += 1;
    }
    for (kind, id) in &named {
        entries.object_logs.push(ObjectLog {
            kind: *kind,
            id: *id,
            pos,
            log_index,
            tx_hash,
            address: log.address,
            topics: topics.to_vec(),
            data: if truncated { Vec::new() } else { data.to_vec() },
            truncated,
        });
    }
    // An iDAO's flows, models and tasks, from events that name both.
    if let Some((_, idao)) = named.iter().find(|(k, _)| *k == Kind::Idao) {
        for (kind, id) in &named {
            if matches!(kind, Kind::Flow | Kind::Model | Kind::Task) {
                entries.children.push((Kind::Idao, *idao, *kind, *id));
            }
        }
    }
    if log.address == abi::IDAO_REGISTRY_ADDRESS
        && event.name == "NodeAttested"
        && let (Some((_, idao)), Some(node)) = (named.first(), topic_address(topics.get(2)))
    {
        entries.children.push((
            Kind::Idao,
            *idao,
            Kind::Worker,
            U256::from_be_slice(node.as_slice()),
        ));
    }
    if log.address != abi::DAT_ADDRESS {
        return;
    }
    match event.name.as_str() {
        "Minted" => {
            if let (Some(t), Some(c), Some(to)) =
                (topics.get(1), topics.get(2), topic_address(topics.get(3)))
            {
                let (token, class) = (U256::from_be_bytes(t.0), U256::from_be_bytes(c.0));
                entries.token_classes.push((token, class));
                entries.holdings.push((class, to));
            }
        }
        "TransferToken" => {
            if let (Some(t), Some(to)) = (
                topics.get(1),
                topic_address(topics.get(3)).filter(|a| !a.is_zero()),
            ) {
                entries.token_moves.push((U256::from_be_bytes(t.0), to));
            }
        }
        "TransferSingle" | "TransferBatch" => {
            let Some(to) = topic_address(topics.get(3)).filter(|a| !a.is_zero()) else {
                return;
            };
            let Some(decoded) = decode::decode_log(topics, data) else {
                return;
            };
            let ids = decoded
                .args
                .iter()
                .find(|a| a.name == "id" || a.name == "ids");
            match ids.map(|a| &a.value) {
                Some(alloy_dyn_abi::DynSolValue::Uint(id, _)) => entries.holdings.push((*id, to)),
                Some(alloy_dyn_abi::DynSolValue::Array(ids)) => {
                    for id in ids.iter().filter_map(|v| v.as_uint()).take(abi::MAX_BATCH) {
                        entries.holdings.push((id.0, to));
                    }
                }
                _ => {}
            }
        }
        _ => {}
    }
}
