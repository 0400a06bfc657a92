//! A block, and the list of blocks.

use super::*;
use alloy_consensus::Transaction as _;

/// Transactions listed on a block's page.
const MAX_BLOCK_TXS: usize = 500;

pub fn parse_height(s: &str) -> Result<u64, PageError> {
    let s = s.trim();
    let parsed = match s.strip_prefix("0x") {
        Some(hex) if hex.len() <= 16 => u64::from_str_radix(hex, 16).ok(),
        Some(_) => None,
        None if s.len() <= 20 => s.parse().ok(),
        None => None,
    };
    parsed.ok_or_else(|| PageError::BadRequest(format!("{:?} is not a block number", clip(s, 80))))
}

pub fn parse_hash(s: &str) -> Result<B256, PageError> {
    let s = s.trim();
    if s.len() != 66 || !s.starts_with("0x") {
        return Err(PageError::BadRequest(format!(
            "{:?} is not a 32-byte hash (0x and 64 hex digits)",
            clip(s, 80)
        )));
    }
    s.parse()
        .map_err(|_| PageError::BadRequest(format!("{:?} is not valid hex", clip(s, 80))))
}

pub async fn page(state: &AppState, id: &str) -> PageResult {
    let id_json = if id.len() == 66 {
        serde_json::json!(format!("{:#x}", parse_hash(id)?))
    } else {
        serde_json::json!(format!("{:#x}", parse_height(id)?))
    };
    let Some(block) = state.rpc.block_header(id_json).await? else {
        return Err(PageError::NotFound(format!(
            "block {} is not finalized (or does not exist)",
            clip(id, 80)
        )));
    };
    let h = &block.header;
    // Only the transactions listed are fetched, never a whole large block.
    let hashes: Vec<B256> = block.transactions.hashes().take(MAX_BLOCK_TXS).collect();
    let txs: Vec<_> = state
        .rpc
        .transactions(&hashes)
        .await?
        .into_iter()
        .flatten()
        .collect();
    let count = block.transactions.len();
    let body = html! {
        h1 { "Block " (group(&h.number.to_string())) }
        nav class="pager" aria-label="Neighbouring blocks" {
            @if h.number > 0 { a rel="prev" href={(state.base) "/block/" (h.number - 1)} { "← Block " (h.number - 1) } }
            a rel="next" href={(state.base) "/block/" (h.number + 1)} { "Block " (h.number + 1) " →" }
        }
        (facts(vec![
            ("Hash", mono(format!("{:#x}", h.hash))),
            ("Parent", html! { a class="mono" href={(state.base) "/block/" (format!("{:#x}", h.parent_hash))} { (format!("{:#x}", h.parent_hash)) } }),
            ("Time", text(utc(h.timestamp))),
            ("Proposer (fee recipient)", addr_link(state, &h.beneficiary)),
            ("Transactions", text(count.to_string())),
            ("Gas used", text(format!("{} of {}", group(&h.gas_used.to_string()), group(&h.gas_limit.to_string())))),
            ("Base fee", text(h.base_fee_per_gas.map_or("—".to_string(), |f| format!("{} wei", group(&f.to_string()))))),
            ("State root", mono(format!("{:#x}", h.state_root))),
            ("Transactions root", mono(format!("{:#x}", h.transactions_root))),
            ("Receipts root", mono(format!("{:#x}", h.receipts_root))),
        ]))
        h2 { "Transactions" }
        @if txs.is_empty() { p class="muted" { "No transactions." } }
        @else {
            table class="list" {
                thead { tr { th scope="col" { "#" } th scope="col" { "Hash" } th scope="col" { "From" } th scope="col" { "To" } th scope="col" { "Call" } th scope="col" { "Value" } } }
                tbody {
                    @for (i, t) in txs.iter().enumerate() {
                        tr {
                            td { (i) }
                            td { (tx_link(state, t.inner.tx_hash())) }
                            td { (addr_link(state, &t.inner.signer())) }
                            td { @match t.to() { Some(to) => (addr_link(state, &to)), None => "contract creation" } }
                            td { (crate::decode::decode_call(t.to().as_ref(), t.input()).map_or("—".to_string(), |d| clip(&d.name, 40))) }
                            td { (lazai(t.value())) }
                        }
                    }
                }
            }
            @if count > MAX_BLOCK_TXS { p class="muted" { "The first " (MAX_BLOCK_TXS) " of " (count) " transactions." } }
        }
    };
    Ok(layout(state, &format!("Block {}", h.number), body))
}

pub async fn list(state: &AppState, before: Option<&str>) -> PageResult {
    let before = before.map(parse_height).transpose()?;
    let blocks = state.index.latest_blocks(before, PAGE_ROWS)?;
    let body = html! {
        h1 { "Blocks" }
        (index_lag(state))
        (super::home::blocks_table(state, &blocks, before.is_none()))
        @if let Some(last) = blocks.last() {
            @if last.height > 0 {
                nav class="pager" aria-label="Older blocks" { a href={(state.base) "/blocks?before=" (last.height)} { "Older blocks →" } }
            }
        }
    };
    Ok(layout(state, "Blocks", body))
}
