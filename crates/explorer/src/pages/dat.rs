//! A DAT class (holders with shares, usage, revenue settled / claimed / dust, revenue over
//! time) and a DAT token (owner, quota, share, expiry, pending revenue, history).

use super::idao::parse_id;
use super::*;
use crate::decode::decode_log;
use crate::index::{Kind, ObjectLog};
use lazai_abi as abi;

/// One holder row of a class.
struct Holder {
    address: Address,
    balance: U256,
    token: Option<abi::IDataAnchoringToken::DatToken>,
}

pub async fn class_page(state: &AppState, id: &str, after: Option<&str>) -> PageResult {
    let id = parse_id(id)?;
    let after = after.map(super::address::parse_address).transpose()?;
    let rpc = &state.rpc;
    let class = not_found_on_revert(
        rpc.view(
            abi::DAT_ADDRESS,
            abi::IDataAnchoringToken::classInfoCall { classId: id },
        )
        .await,
        || format!("no DAT class {id}"),
    )?;
    let (revenue, model) = tokio::join!(
        rpc.view(
            abi::DAT_ADDRESS,
            abi::IDataAnchoringToken::classRevenueCall {
                classId: id,
                asset: abi::NATIVE_ASSET
            }
        ),
        rpc.view(
            abi::MODEL_REGISTRY_ADDRESS,
            abi::IModelRegistry::modelOfClassCall { classId: id }
        ),
    );
    let holders = state.index.holders(id, after, PAGE_ROWS)?;
    let balance_calls: Vec<_> = holders
        .iter()
        .map(|h| abi::IDataAnchoringToken::balanceOfCall { account: *h, id })
        .collect();
    let holding_calls: Vec<_> = holders
        .iter()
        .map(|h| abi::IDataAnchoringToken::holdingOfCall {
            classId: id,
            owner: *h,
        })
        .collect();
    let (balances, holdings) = tokio::try_join!(
        rpc.views(abi::DAT_ADDRESS, &balance_calls),
        rpc.views(abi::DAT_ADDRESS, &holding_calls)
    )?;
    let token_ids: Vec<U256> = holdings
        .into_iter()
        .map(|t| t.unwrap_or_default())
        .collect();
    let info_calls: Vec<_> = token_ids
        .iter()
        .filter(|t| !t.is_zero())
        .map(|t| abi::IDataAnchoringToken::tokenInfoCall { tokenId: *t })
        .collect();
    let mut infos = rpc.views(abi::DAT_ADDRESS, &info_calls).await?.into_iter();
    let rows: Vec<Holder> = holders
        .iter()
        .zip(balances)
        .zip(&token_ids)
        .map(|((address, balance), token)| Holder {
            address: *address,
            balance: balance.unwrap_or_default(),
            token: if token.is_zero() {
                None
            } else {
                infos.next().and_then(Result::ok)
            },
        })
        .collect();
    let logs = state.index.object_logs(Kind::Class, id, None, 500)?;
    let settlements = revenue_points(&logs);
    let model = model.ok().filter(|m| !m.is_zero());
    let body = html! {
        h1 { "DAT class " (id) }
        (index_lag(state))
        (facts(vec![
            ("Kind", text(if class.fungible { "fungible (ERC-1155: balance is the revenue weight)" } else { "semi-fungible (ERC-8028)" })),
            ("Verified", if class.verified { badge("verified", "ok") } else { badge("not verified", "warn") }),
            ("Creator", addr_link(state, &class.creator)),
            ("Metadata URI", mono(class.metadataURI.clone())),
            ("Policy URI", mono(class.policyURI.clone())),
            ("Integrity hash", mono(format!("{:#x}", class.integrityHash))),
            ("Tokens", text(class.tokenCount.to_string())),
            ("Total value (usage)", text(format!("{} (unit decimals {})", group(&class.totalValue.to_string()), class.unitDecimals))),
            ("Total share", text(class.totalShare.to_string())),
            ("Created", text(utc(class.createdAt))),
            ("Model", match model { Some(m) => object_link(state, "model", m), None => text("—") }),
        ]))
        h2 { "Revenue" }
        @match &revenue {
            Ok(r) => (facts(vec![
                ("Settled", text(lazai(r.settled))),
                ("Claimed", text(lazai(r.claimed))),
                ("Unclaimed", text(lazai(r.settled.saturating_sub(r.claimed)))),
                ("Dust carried to the next settlement", text(format!("{} wei", r.carry))),
            ])),
            Err(e) => p class="error" { (e.to_string()) },
        }
        @if !settlements.is_empty() {
            figure {
                (crate::svg::revenue_chart(&settlements))
                figcaption { "Revenue settled over time: the last " (settlements.len()) " settlements indexed (bars per settlement, the line cumulative); the totals above are the chain's." }
            }
        }
        h2 { "Holders" }
        @if rows.is_empty() { p class="muted" { "None indexed." } }
        @else {
            table class="list" {
                thead { tr { th scope="col" { "Holder" } th scope="col" { "Token" } th scope="col" { "Balance" } th scope="col" { "Share" } th scope="col" { "Expiry" } } }
                tbody {
                    @for h in &rows {
                        tr {
                            td { (addr_link(state, &h.address)) }
                            td { @match &h.token { Some(t) => (object_link(state, "token", t.id)), None => "—" } }
                            td { (group(&h.balance.to_string())) }
                            td { @match &h.token {
                                Some(t) => (super::home::percent(t.shareRatio, class.totalShare)),
                                None => (super::home::percent(h.balance, class.totalShare)),
                            } }
                            td { @match &h.token {
                                Some(t) if t.expired => (badge("expired", "bad")),
                                Some(t) if t.expireAt > 0 => (utc(t.expireAt)),
                                _ => "never",
                            } }
                        }
                    }
                }
            }
            @if rows.len() == PAGE_ROWS {
                @if let Some(last) = rows.last() {
                    nav class="pager" aria-label="More holders" { a href={(state.base) "/class/" (id) "?after=" (last.address.to_checksum(None))} { "More holders →" } }
                }
            }
        }
        h2 { "History" }
        (history(state, &logs))
    };
    Ok(layout(state, &format!("DAT class {id}"), body))
}

/// (height, amount) of each `RevenueSettled`, oldest first.
fn revenue_points(logs: &[ObjectLog]) -> Vec<(u64, U256)> {
    let mut points: Vec<(u64, U256)> = logs
        .iter()
        .filter_map(|l| {
            let d = decode_log(&l.topics, &l.data)?;
            (d.name == "RevenueSettled").then_some(())?;
            let amount = d
                .args
                .iter()
                .find(|a| a.name == "amount")?
                .value
                .as_uint()?
                .0;
            Some((l.pos.height, amount))
        })
        .collect();
    points.reverse();
    points
}

/// An object's indexed events, newest first.
pub fn history(state: &AppState, logs: &[ObjectLog]) -> Markup {
    html! {
        @if logs.is_empty() { p class="muted" { "No events indexed." } }
        @else {
            table class="list" {
                thead { tr { th scope="col" { "Block" } th scope="col" { "Transaction" } th scope="col" { "Event" } } }
                tbody {
                    @for l in logs.iter().take(PAGE_ROWS) {
                        tr {
                            td { (block_link(state, l.pos.height)) }
                            td { (tx_link(state, &l.tx_hash)) }
                            td { @match decode_log(&l.topics, &l.data) {
                                Some(d) => (decoded(state, &d)),
                                None => @if l.truncated { "(large event: open the transaction)" } @else { "(unknown event)" },
                            } }
                        }
                    }
                }
            }
        }
    }
}

pub async fn token_page(state: &AppState, id: &str) -> PageResult {
    let id = parse_id(id)?;
    let rpc = &state.rpc;
    let token = not_found_on_revert(
        rpc.view(
            abi::DAT_ADDRESS,
            abi::IDataAnchoringToken::tokenInfoCall { tokenId: id },
        )
        .await,
        || format!("no DAT token {id}"),
    )?;
    let (pending, class, calls) = tokio::join!(
        rpc.view(
            abi::DAT_ADDRESS,
            abi::IDataAnchoringToken::pendingRevenueCall {
                tokenId: id,
                asset: abi::NATIVE_ASSET
            }
        ),
        rpc.view(
            abi::DAT_ADDRESS,
            abi::IDataAnchoringToken::classInfoCall {
                classId: token.classId
            }
        ),
        rpc.view(
            abi::DAT_ADDRESS,
            abi::IDataAnchoringToken::usageOfCall {
                tokenId: id,
                metricType: abi::calls_metric()
            }
        ),
    );
    let logs = state.index.object_logs(Kind::Token, id, None, PAGE_ROWS)?;
    let total_share = class.as_ref().map_or(U256::ZERO, |c| c.totalShare);
    let body = html! {
        h1 { "DAT token " (id) }
        (facts(vec![
            ("Class", object_link(state, "class", token.classId)),
            ("Owner", addr_link(state, &token.owner)),
            ("Remaining usage (value)", text(group(&token.value.to_string()))),
            ("Calls used", text(calls.map_or("—".to_string(), |c| c.to_string()))),
            ("Share", text(format!("{} ({})", token.shareRatio, super::home::percent(token.shareRatio, total_share)))),
            ("Pending revenue", text(pending.map_or("—".to_string(), lazai))),
            ("Expiry", if token.expired { badge("expired", "bad") } else if token.expireAt == 0 { text("never") } else { text(utc(token.expireAt)) }),
            ("Minted", text(utc(token.mintedAt))),
        ]))
        h2 { "History" }
        (history(state, &logs))
    };
    Ok(layout(state, &format!("DAT token {id}"), body))
}
