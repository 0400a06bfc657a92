//! An address: balance, transactions (from the index), DATs held with pending revenue, and a
//! contract's code.

use super::*;
use crate::index::TxPos;
use lazai_abi as abi;

pub fn parse_address(s: &str) -> Result<Address, PageError> {
    let s = s.trim();
    if s.len() != 42 || !s.starts_with("0x") {
        return Err(PageError::BadRequest(format!(
            "{:?} is not an address (0x and 40 hex digits)",
            clip(s, 80)
        )));
    }
    s.parse()
        .map_err(|_| PageError::BadRequest(format!("{:?} is not valid hex", clip(s, 80))))
}

/// A list cursor `height.index`.
pub fn parse_pos(s: &str) -> Result<TxPos, PageError> {
    let bad = || PageError::BadRequest(format!("{:?} is not a list position", clip(s, 40)));
    let (h, i) = s.split_once('.').ok_or_else(bad)?;
    Ok(TxPos {
        height: h.parse().map_err(|_| bad())?,
        index: i.parse().map_err(|_| bad())?,
    })
}

/// One DAT holding of an address.
struct Holding {
    class: U256,
    balance: U256,
    token: U256,
    pending: U256,
}

async fn holdings(state: &AppState, address: Address) -> Result<Vec<Holding>, PageError> {
    let classes = state.index.held_classes(address, PAGE_ROWS)?;
    let rpc = &state.rpc;
    let balances: Vec<_> = classes
        .iter()
        .map(|c| abi::IDataAnchoringToken::balanceOfCall {
            account: address,
            id: *c,
        })
        .collect();
    let tokens: Vec<_> = classes
        .iter()
        .map(|c| abi::IDataAnchoringToken::holdingOfCall {
            classId: *c,
            owner: address,
        })
        .collect();
    let (balances, tokens) = tokio::try_join!(
        rpc.views(abi::DAT_ADDRESS, &balances),
        rpc.views(abi::DAT_ADDRESS, &tokens)
    )?;
    let tokens: Vec<U256> = tokens.into_iter().map(|t| t.unwrap_or_default()).collect();
    let pending_calls: Vec<_> = tokens
        .iter()
        .map(|t| abi::IDataAnchoringToken::pendingRevenueCall {
            tokenId: *t,
            asset: abi::NATIVE_ASSET,
        })
        .collect();
    let pending = rpc.views(abi::DAT_ADDRESS, &pending_calls).await?;
    Ok(classes
        .into_iter()
        .zip(balances)
        .zip(tokens)
        .zip(pending)
        .map(|(((class, balance), token), pending)| Holding {
            class,
            balance: balance.unwrap_or_default(),
            token,
            pending: if token.is_zero() {
                U256::ZERO
            } else {
                pending.unwrap_or_default()
            },
        })
        .collect())
}

pub async fn page(state: &AppState, address: &str, before: Option<&str>) -> PageResult {
    let address = parse_address(address)?;
    let before = before.map(parse_pos).transpose()?;
    let (balance, nonce, code) = tokio::try_join!(
        state.rpc.balance(address),
        state.rpc.nonce(address),
        state.rpc.code(address)
    )?;
    let txs = state.index.address_txs(address, before, PAGE_ROWS)?;
    let held = holdings(state, address).await?;
    let total_pending = held
        .iter()
        .fold(U256::ZERO, |a, h| a.saturating_add(h.pending));
    let module = crate::decode::module(&address);
    let kind = match (module, code.is_empty()) {
        (Some(m), _) => format!("native module {}", m.name),
        (None, false) => "contract".to_string(),
        (None, true) => "account".to_string(),
    };
    let body = html! {
        h1 { "Address" }
        p class="mono wrap" { (address.to_checksum(None)) }
        (facts(vec![
            ("Kind", text(kind)),
            ("Balance", text(lazai(balance))),
            ("Nonce", text(nonce.to_string())),
            ("Pending DAT revenue", text(lazai(total_pending))),
        ]))
        (index_lag(state))
        h2 { "DATs held" }
        @if held.is_empty() { p class="muted" { "None." } }
        @else {
            table class="list" {
                thead { tr { th scope="col" { "Class" } th scope="col" { "Token" } th scope="col" { "Balance" } th scope="col" { "Pending revenue" } } }
                tbody {
                    @for h in &held {
                        tr {
                            td { (object_link(state, "class", h.class)) }
                            td { @if h.token.is_zero() { "—" } @else { (object_link(state, "token", h.token)) } }
                            td { (group(&h.balance.to_string())) }
                            td { (lazai(h.pending)) }
                        }
                    }
                }
            }
        }
        h2 { "Transactions" }
        @if txs.is_empty() { p class="muted" { "None indexed." } }
        @else {
            table class="list" {
                thead { tr { th scope="col" { "Block" } th scope="col" { "Hash" } } }
                tbody {
                    @for (pos, hash) in &txs {
                        tr { td { (block_link(state, pos.height)) } td { (tx_link(state, hash)) } }
                    }
                }
            }
            @if txs.len() == PAGE_ROWS {
                @if let Some((pos, _)) = txs.last() {
                    nav class="pager" aria-label="Older transactions" {
                        a href={(state.base) "/address/" (address.to_checksum(None)) "?before=" (pos.height) "." (pos.index)} { "Older →" }
                    }
                }
            }
        }
        @if !code.is_empty() && module.is_none() {
            h2 { "Code (" (code.len()) " bytes)" }
            pre class="code" { (hex_clip(&code)) }
        }
    };
    Ok(layout(
        state,
        &format!("Address {}", short_addr(&address)),
        body,
    ))
}
