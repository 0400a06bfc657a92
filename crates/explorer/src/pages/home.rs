//! The home page: the head and its finality, validators with stake, tx/s, the latest blocks and
//! transactions (kept live by the script, through `/api/head`), and LazAI's newest objects.

use super::*;
use crate::index::BlockSummary;
use alloy_consensus::Transaction as _;
use alloy_primitives::U256;
use lazai_abi as abi;
use serde::{Deserialize, Serialize};
use std::sync::Arc;

/// `lazai_status` as the explorer reads it.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NodeStatus {
    pub chain_id: u64,
    pub finalized_height: u64,
    pub finalized_hash: B256,
    pub epoch: u64,
    #[serde(default)]
    pub validators: Vec<ValidatorStatus>,
    #[serde(default)]
    pub peers: u64,
    #[serde(default)]
    pub mempool_size: u64,
    #[serde(default)]
    pub client_version: String,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ValidatorStatus {
    pub name: String,
    pub address: Address,
    pub stake: U256,
}

/// What `/api/head` answers (the live script's feed).
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct HeadFeed {
    pub height: Option<u64>,
    pub indexed: Option<u64>,
    pub tx_per_sec: String,
    pub blocks: Vec<FeedBlock>,
    /// `None` when the node could not be asked and nothing was read before.
    pub txs: Option<Vec<FeedTx>>,
}

/// One of the newest transactions, as the home page lists it.
#[derive(Clone, Debug)]
pub struct LatestTx {
    pub hash: B256,
    pub from: Address,
    /// `None` for a contract creation.
    pub to: Option<Address>,
    /// The decoded call's function name, `—` when it is not a known call.
    pub call: String,
}

/// A [`LatestTx`] in the live feed: full hex for the links, and the labels the page shows.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct FeedTx {
    pub hash: String,
    pub hash_label: String,
    pub from: String,
    pub from_label: String,
    pub to: Option<String>,
    pub to_label: Option<String>,
    pub call: String,
}

impl From<&LatestTx> for FeedTx {
    fn from(t: &LatestTx) -> Self {
        Self {
            hash: format!("{:#x}", t.hash),
            hash_label: short(&t.hash),
            from: t.from.to_checksum(None),
            from_label: addr_label(&t.from),
            to: t.to.map(|a| a.to_checksum(None)),
            to_label: t.to.as_ref().map(addr_label),
            call: t.call.clone(),
        }
    }
}

#[derive(Debug, Serialize)]
pub struct FeedBlock {
    pub height: u64,
    pub hash: String,
    pub txs: u32,
    pub time: String,
}

/// Transactions per second over the last `n` indexed blocks, as text with one decimal.
fn tx_rate(blocks: &[BlockSummary]) -> String {
    if blocks.len() < 2 {
        return "0.0".into();
    }
    let newest = blocks[0].timestamp;
    let oldest = blocks[blocks.len() - 1].timestamp;
    // Transactions after the oldest block, over the seconds since it.
    let txs: u64 = blocks[..blocks.len() - 1]
        .iter()
        .map(|b| u64::from(b.tx_count))
        .sum();
    let secs = newest.saturating_sub(oldest).max(1);
    let tenths = txs * 10 / secs;
    format!("{}.{}", tenths / 10, tenths % 10)
}

pub async fn head_feed(state: &AppState) -> HeadFeed {
    let blocks = state.index.latest_blocks(None, 30).unwrap_or_default();
    let txs = latest_txs(state)
        .await
        .map(|list| list.iter().map(FeedTx::from).collect());
    HeadFeed {
        txs,
        height: state.status.node_height(),
        indexed: state.index.height().ok().flatten(),
        tx_per_sec: tx_rate(&blocks),
        blocks: blocks
            .iter()
            .take(10)
            .map(|b| FeedBlock {
                height: b.height,
                hash: format!("{:#x}", b.hash),
                txs: b.tx_count,
                time: utc(b.timestamp),
            })
            .collect(),
    }
}

pub fn blocks_table(state: &AppState, blocks: &[BlockSummary], live: bool) -> Markup {
    html! {
        table class="list" {
            caption class="visually-hidden" { "Blocks" }
            thead { tr { th scope="col" { "Block" } th scope="col" { "Hash" } th scope="col" { "Txs" } th scope="col" { "Gas used" } th scope="col" { "Time" } } }
            tbody data-live=[live.then_some("blocks")] {
                @for b in blocks {
                    tr {
                        td { (block_link(state, b.height)) }
                        td class="mono" { (short(&b.hash)) }
                        td { (b.tx_count) }
                        td { (group(&b.gas_used.to_string())) }
                        td { (utc(b.timestamp)) }
                    }
                }
            }
        }
    }
}

/// The ten newest transactions, by position (blocks with transactions come from the index,
/// so no whole block is fetched).
async fn latest_transactions(state: &AppState) -> Result<Vec<LatestTx>, PageError> {
    let mut wanted = Vec::new();
    for (height, count) in state.index.latest_tx_blocks(10)? {
        for i in (0..count).rev() {
            if wanted.len() == 10 {
                break;
            }
            wanted.push(serde_json::json!([
                format!("{height:#x}"),
                format!("{i:#x}")
            ]));
        }
    }
    let txs = state
        .rpc
        .batch::<Option<alloy_rpc_types_eth::Transaction>>(
            "eth_getTransactionByBlockNumberAndIndex",
            wanted,
        )
        .await?;
    Ok(txs
        .into_iter()
        .filter_map(|t| t.ok().flatten())
        .map(|t| LatestTx {
            hash: *t.inner.tx_hash(),
            from: t.inner.signer(),
            to: t.to(),
            call: crate::decode::decode_call(t.to().as_ref(), t.input())
                .map_or("—".to_string(), |d| clip(&d.name, 40)),
        })
        .collect())
}

/// The newest transactions as of the indexed height: read from the node once per indexed
/// height and shared by every page view and live feed (so open pages polling the feed cost
/// the node one read per new block, not one per viewer). When the node cannot answer, the
/// list read last, if any.
pub async fn latest_txs(state: &AppState) -> Option<Arc<Vec<LatestTx>>> {
    let indexed = state.index.height().ok().flatten();
    let cached = state.latest_txs.lock().ok().and_then(|c| c.clone());
    if let Some((height, list)) = &cached
        && Some(*height) == indexed
    {
        return Some(list.clone());
    }
    match latest_transactions(state).await {
        Ok(list) => {
            let list = Arc::new(list);
            if let (Some(height), Ok(mut cache)) = (indexed, state.latest_txs.lock()) {
                *cache = Some((height, list.clone()));
            }
            Some(list)
        }
        Err(_) => cached.map(|(_, list)| list),
    }
}

/// The newest `n` ids below `count` (ids start at 1).
fn newest(count: U256, n: u64) -> Vec<U256> {
    let count = count.saturating_to::<u64>();
    (count.saturating_sub(n) + 1..=count)
        .rev()
        .map(U256::from)
        .collect()
}

pub async fn page(state: &AppState) -> PageResult {
    let status: NodeStatus = state
        .rpc
        .request("lazai_status", serde_json::json!([]))
        .await?;
    let blocks = state.index.latest_blocks(None, 30)?;
    // The list is an extra: a node that cannot answer it leaves it out, not the page.
    let txs = latest_txs(state).await.unwrap_or_default();
    let rpc = &state.rpc;
    let (idaos, classes, flows, models, tasks) = tokio::join!(
        rpc.view(
            abi::IDAO_REGISTRY_ADDRESS,
            abi::IIdaoRegistry::idaoCountCall {}
        ),
        rpc.view(
            abi::DAT_ADDRESS,
            abi::IDataAnchoringToken::classCountCall {}
        ),
        rpc.view(abi::VSC_ADDRESS, abi::IVsc::flowCountCall {}),
        rpc.view(
            abi::MODEL_REGISTRY_ADDRESS,
            abi::IModelRegistry::modelCountCall {}
        ),
        rpc.view(abi::VERIFIER_ADDRESS, abi::IVerifier::tasksCountCall {}),
    );
    let counts = [
        ("iDAOs", "idao", idaos.unwrap_or_default()),
        ("DAT classes", "class", classes.unwrap_or_default()),
        ("Flows", "flow", flows.unwrap_or_default()),
        ("Models", "model", models.unwrap_or_default()),
        ("Verification tasks", "task", tasks.unwrap_or_default()),
    ];
    let total_stake = status
        .validators
        .iter()
        .fold(U256::ZERO, |a, v| a.saturating_add(v.stake));
    let body = html! {
        h1 { "LazChain " span class="muted" { "chain " (status.chain_id) } }
        (index_lag(state))
        section class="cards" aria-label="Chain head" {
            div class="card" { h2 { "Finalized head" } p class="big" data-live="head" { (status.finalized_height) } p class="mono small" { (short(&status.finalized_hash)) } p class="small" { "final at once (BFT): no reorgs" } }
            div class="card" { h2 { "Tx/s" } p class="big" data-live="tps" { (tx_rate(&blocks)) } p class="small" { "over the last 30 blocks" } }
            div class="card" { h2 { "Epoch" } p class="big" { (status.epoch) } p class="small" { (status.peers) " peers · " (status.mempool_size) " pending" } }
            div class="card" { h2 { "Validators" } p class="big" { (status.validators.len()) } p class="small" { (lazai(total_stake)) " staked" } }
        }
        section aria-labelledby="validators" {
            h2 id="validators" { "Validators" }
            table class="list" {
                thead { tr { th scope="col" { "Name" } th scope="col" { "Fee recipient" } th scope="col" { "Stake" } th scope="col" { "Share" } } }
                tbody {
                    @for v in &status.validators {
                        tr {
                            td { (clip(&v.name, 60)) }
                            td { (addr_link(state, &v.address)) }
                            td { (lazai(v.stake)) }
                            td { (percent(v.stake, total_stake)) }
                        }
                    }
                }
            }
        }
        div class="two" {
            section aria-labelledby="latest-blocks" {
                h2 id="latest-blocks" { "Latest blocks" }
                (blocks_table(state, &blocks[..blocks.len().min(10)], true))
                p { a href={(state.base) "/blocks"} { "All blocks" } }
            }
            section aria-labelledby="latest-txs" {
                h2 id="latest-txs" { "Latest transactions" }
                table class="list" {
                    caption class="visually-hidden" { "Latest transactions" }
                    thead { tr { th scope="col" { "Hash" } th scope="col" { "From" } th scope="col" { "To" } th scope="col" { "Call" } } }
                    tbody data-live="txs" {
                        @if txs.is_empty() { tr { td colspan="4" class="muted" { "No transactions yet." } } }
                        @for t in txs.iter() {
                            tr {
                                td { (tx_link(state, &t.hash)) }
                                td { (addr_link(state, &t.from)) }
                                td { @match &t.to { Some(to) => (addr_link(state, to)), None => "contract creation" } }
                                td { (t.call) }
                            }
                        }
                    }
                }
            }
        }
        section aria-labelledby="objects" {
            h2 id="objects" { "LazAI objects" }
            div class="cards" {
                @for (label, kind, count) in &counts {
                    div class="card" {
                        h3 { (label) }
                        p class="big" { (count) }
                        ul class="inline" {
                            @for id in newest(*count, 5) { li { (object_link(state, kind, id)) } }
                        }
                    }
                }
            }
        }
    };
    Ok(layout(state, "Home", body))
}

/// `part` of `whole` as a percentage with one decimal.
pub fn percent(part: U256, whole: U256) -> String {
    if whole.is_zero() {
        return "—".into();
    }
    let tenths = (part.saturating_mul(U256::from(1000)) / whole).saturating_to::<u64>();
    format!("{}.{}%", tenths / 10, tenths % 10)
}
