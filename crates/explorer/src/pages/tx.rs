//! A transaction: its module call decoded by ABI, its events decoded, its revert reason by
//! custom-error name, and the EVM call tree from the node's call tracer.

use super::*;
use crate::decode::{decode_call, decode_log, decode_output, decode_revert};
use alloy_consensus::Transaction as _;
use alloy_primitives::Bytes;
use serde_json::Value;

/// Frames of a call tree shown.
const MAX_FRAMES: usize = 200;
/// Depth of a call tree shown.
const MAX_DEPTH: usize = 16;

pub async fn page(state: &AppState, hash: &str) -> PageResult {
    let hash = super::block::parse_hash(hash)?;
    let (tx, receipt) = tokio::try_join!(state.rpc.transaction(hash), state.rpc.receipt(hash))?;
    let Some(tx) = tx else {
        return Err(PageError::NotFound(format!("no transaction {hash:#x}")));
    };
    let to = tx.to();
    let input = tx.input().clone();
    // The tracer re-runs the transaction in its block; a plain transfer has no tree to show,
    // and a node that does not trace leaves it out.
    let trace = match &receipt {
        Some(_) if !input.is_empty() || to.is_none() => state.rpc.call_trace(hash).await.ok(),
        _ => None,
    };
    let call = decode_call(to.as_ref(), &input);
    let revert = trace.as_ref().and_then(revert_reason);
    let status = match &receipt {
        None => badge("pending", "warn"),
        Some(r) if r.status() => badge("success", "ok"),
        Some(_) => badge("reverted", "bad"),
    };
    let fee = receipt
        .as_ref()
        .map(|r| U256::from(r.gas_used) * U256::from(r.effective_gas_price));
    let body = html! {
        h1 { "Transaction" }
        p class="mono wrap" { (format!("{hash:#x}")) }
        (facts(vec![
            ("Status", status),
            ("Block", match &receipt {
                Some(r) => html! { (block_link(state, r.block_number.unwrap_or_default())) " · index " (r.transaction_index.unwrap_or_default()) },
                None => text("waiting in the mempool"),
            }),
            ("From", addr_link(state, &tx.inner.signer())),
            ("To", match to {
                Some(a) => addr_link(state, &a),
                None => match receipt.as_ref().and_then(|r| r.contract_address) {
                    Some(c) => html! { "created " (addr_link(state, &c)) },
                    None => text("contract creation"),
                },
            }),
            ("Value", text(lazai(tx.value()))),
            ("Nonce", text(tx.nonce().to_string())),
            ("Gas", text(match &receipt {
                Some(r) => format!("{} used of {}", group(&r.gas_used.to_string()), group(&tx.gas_limit().to_string())),
                None => format!("limit {}", group(&tx.gas_limit().to_string())),
            })),
            ("Fee", text(fee.map_or("—".to_string(), lazai))),
        ]))
        @if let Some(reason) = &revert {
            h2 { "Revert reason" }
            p class="error mono wrap" { (clip(reason, 1000)) }
        }
        h2 { "Call" }
        @match &call {
            Some(d) => (decoded(state, d)),
            None => @if input.is_empty() { p class="muted" { "A plain transfer (no input)." } } @else { p class="mono wrap" { (hex_clip(&input)) } },
        }
        @if let Some(r) = &receipt {
            h2 { "Events (" (r.inner.logs().len()) ")" }
            @if r.inner.logs().is_empty() { p class="muted" { "None." } }
            ol class="events" {
                @for log in r.inner.logs().iter().take(PAGE_ROWS * 4) {
                    li {
                        (addr_link(state, &log.address()))
                        " "
                        @match decode_log(log.topics(), &log.data().data) {
                            Some(d) => (decoded(state, &d)),
                            None => span class="mono wrap" { (format!("topics {:?}", log.topics())) " data " (hex_clip(&log.data().data)) },
                        }
                    }
                }
            }
        }
        @if let Some(tree) = &trace {
            h2 { "Call tree" }
            ul class="tree" { (frame(state, tree, 0, &mut 0)) }
        }
    };
    Ok(layout(
        state,
        &format!("Transaction {}", short(&hash)),
        body,
    ))
}

/// The revert reason of a call tracer's root frame (or of its deepest failing frame).
fn revert_reason(tree: &Value) -> Option<String> {
    let error = tree.get("error").and_then(Value::as_str)?;
    let output = tree
        .get("output")
        .and_then(Value::as_str)
        .and_then(|o| o.parse::<Bytes>().ok())
        .unwrap_or_default();
    if let Some(named) = decode_revert(&output) {
        return Some(named);
    }
    if let Some(reason) = tree.get("revertReason").and_then(Value::as_str) {
        return Some(reason.to_string());
    }
    Some(error.to_string())
}

fn field<'a>(v: &'a Value, key: &str) -> &'a str {
    v.get(key).and_then(Value::as_str).unwrap_or("")
}

fn frame(state: &AppState, f: &Value, depth: usize, shown: &mut usize) -> Markup {
    *shown += 1;
    let to: Option<Address> = field(f, "to").parse().ok();
    let from: Option<Address> = field(f, "from").parse().ok();
    let input: Bytes = field(f, "input").parse().unwrap_or_default();
    let output: Bytes = field(f, "output").parse().unwrap_or_default();
    let gas_used =
        u64::from_str_radix(field(f, "gasUsed").trim_start_matches("0x"), 16).unwrap_or(0);
    let value = field(f, "value").parse::<U256>().unwrap_or_default();
    let call = decode_call(to.as_ref(), &input);
    let failed = f.get("error").is_some();
    let calls: &[Value] = f
        .get("calls")
        .and_then(Value::as_array)
        .map_or(&[], |v| v.as_slice());
    html! {
        li class=[failed.then_some("failed")] {
            span class="badge" { (clip(field(f, "type"), 16)) }
            " "
            @if let Some(a) = from { (addr_link(state, &a)) } " → "
            @if let Some(a) = to { (addr_link(state, &a)) }
            " "
            @match &call {
                Some(d) => span class="fn" { (clip(&d.name, 60)) "(" @for (i, a) in d.args.iter().enumerate() { @if i > 0 { ", " } (value_short(&a.value)) } ")" },
                None => @if !input.is_empty() { span class="mono" { (hex_clip(&input[..input.len().min(36)])) } },
            }
            @if !value.is_zero() { " · " (lazai(value)) }
            " · " (group(&gas_used.to_string())) " gas"
            @if failed {
                " · " span class="error" { (clip(&decode_revert(&output).unwrap_or_else(|| field(f, "error").to_string()), 300)) }
            } @else if let Some(out) = decode_output(to.as_ref(), &input, &output) {
                @if !out.is_empty() { " → " @for (i, a) in out.iter().enumerate() { @if i > 0 { ", " } (value_short(&a.value)) } }
            }
            @if !calls.is_empty() && depth < MAX_DEPTH {
                ul {
                    @for c in calls {
                        @if *shown < MAX_FRAMES { (frame(state, c, depth + 1, shown)) }
                    }
                }
            }
        }
    }
}

fn value_short(v: &alloy_dyn_abi::DynSolValue) -> String {
    clip(&plain(v), 40)
}
