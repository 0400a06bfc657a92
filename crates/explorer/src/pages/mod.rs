//! The pages: one module per page type, sharing the layout, links and formatting here.
//!
//! Every string from the chain (names, URIs, schemas, revert reasons) goes into the HTML
//! through maud's escaping and is clipped; links are built from numbers, hashes and addresses
//! only, never from chain strings. Every list is one bounded page with a cursor to the next.

pub mod address;
pub mod block;
pub mod dat;
pub mod flow;
pub mod home;
pub mod idao;
pub mod model;
pub mod search;
pub mod task;
pub mod tx;

use crate::AppState;
use crate::decode::{Arg, Decoded, plain};
use crate::index::IndexError;
use crate::rpc::SourceError;
use alloy_dyn_abi::DynSolValue;
use alloy_primitives::{Address, B256, U256};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use maud::{DOCTYPE, Markup, html};

/// Rows on one page of a list.
pub const PAGE_ROWS: usize = 50;
/// Characters of a chain string shown before it is clipped.
pub const MAX_TEXT: usize = 300;
/// Bytes of hex data shown before it is clipped.
pub const MAX_HEX_BYTES: usize = 512;

/// Why a page cannot be shown.
#[derive(Debug, thiserror::Error)]
pub enum PageError {
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    BadRequest(String),
    #[error(transparent)]
    Source(#[from] SourceError),
    #[error(transparent)]
    Index(#[from] IndexError),
    #[error("the page took longer than {0} s to build; the node may be overloaded")]
    Timeout(u64),
    #[error("the explorer is busy with other pages; try again in a moment")]
    Busy,
}

pub type PageResult = Result<Markup, PageError>;

impl PageError {
    pub fn status(&self) -> StatusCode {
        match self {
            PageError::NotFound(_) => StatusCode::NOT_FOUND,
            PageError::BadRequest(_) => StatusCode::BAD_REQUEST,
            PageError::Source(e) if e.is_unavailable() => StatusCode::SERVICE_UNAVAILABLE,
            PageError::Timeout(_) => StatusCode::GATEWAY_TIMEOUT,
            PageError::Busy => StatusCode::SERVICE_UNAVAILABLE,
            _ => StatusCode::BAD_GATEWAY,
        }
    }
}

/// A revert of a view means the object asked for does not exist.
pub fn not_found_on_revert<T>(
    result: Result<T, SourceError>,
    what: impl FnOnce() -> String,
) -> Result<T, PageError> {
    result.map_err(|e| {
        if e.is_revert() {
            PageError::NotFound(what())
        } else {
            PageError::Source(e)
        }
    })
}

/// The whole page around `body`.
pub fn layout(state: &AppState, title: &str, body: Markup) -> Markup {
    let base = &state.base;
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (clip(title, 120)) " · LazAI explorer" }
                link rel="stylesheet" href={(base) "/assets/style.css"};
                link rel="icon" href={(base) "/assets/icon.svg"} type="image/svg+xml";
            }
            body data-base=(base) {
                a class="skip" href="#main" { "Skip to content" }
                header class="top" {
                    a class="brand" href=(base) { "LazAI explorer" }
                    form class="search" role="search" action={(base) "/search"} method="get" {
                        label for="q" class="visually-hidden" { "Search" }
                        input id="q" name="q" type="search" maxlength="200"
                            placeholder="Block, tx hash, address, idao 1, class 2, flow 3…";
                        button type="submit" { "Search" }
                    }
                }
                main id="main" { (body) }
                footer {
                    "Reading " span class="mono" { (clip(state.rpc.url(), 100)) }
                    " · head " span data-live="head" { (state.status.node_height().map_or("?".to_string(), |h| h.to_string())) }
                }
                script src={(base) "/assets/live.js"} defer {}
            }
        }
    }
}

/// The page shown instead of one that failed.
pub fn error_page(state: &AppState, error: &PageError) -> Response {
    let (title, advice) = match error {
        PageError::NotFound(_) => ("Not found", "Check the id, or search for it."),
        PageError::BadRequest(_) => ("Bad request", "Check the link or the search text."),
        PageError::Source(e) if e.is_unavailable() => (
            "The node is not answering",
            "The explorer reads everything from the node; try again when it is back.",
        ),
        PageError::Timeout(_) => ("Too slow", "Try again in a moment."),
        PageError::Busy => ("Busy", "Try again in a moment."),
        _ => (
            "The node's answer was unusable",
            "Try again; if it persists, check the node's logs.",
        ),
    };
    let body = html! {
        h1 { (title) }
        p class="error" { (clip(&error.to_string(), 1000)) }
        p { (advice) " " a href=(state.base) { "Back to the home page" } }
    };
    (error.status(), maud_response(layout(state, title, body))).into_response()
}

fn maud_response(markup: Markup) -> Response {
    (
        [(axum::http::header::CONTENT_TYPE, "text/html; charset=utf-8")],
        markup.into_string(),
    )
        .into_response()
}

/// A page's response.
pub fn respond(state: &AppState, result: PageResult) -> Response {
    match result {
        Ok(markup) => maud_response(markup),
        Err(error) => error_page(state, &error),
    }
}

/// Whether `c` would reorder or hide text around it: bidirectional overrides, embeddings,
/// isolates and marks (the "Trojan Source" characters), zero-width characters, and control
/// characters other than tab and newline.
fn is_deceptive(c: char) -> bool {
    matches!(c,
        '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}' | '\u{200B}'..='\u{200F}'
        | '\u{061C}' | '\u{2060}' | '\u{FEFF}')
        || (c.is_control() && c != '\t' && c != '\n')
}

/// A chain string as a page shows it: shortened to `max` characters, with an ellipsis when
/// cut, and every character that could reorder or hide text (see [`is_deceptive`]) shown as
/// its code point, `[U+202E]`, so an iDAO's name cannot make itself read as another's.
pub fn clip(s: &str, max: usize) -> String {
    let mut out = String::with_capacity(s.len().min(max * 4));
    for (i, c) in s.chars().enumerate() {
        if i == max {
            out.push('…');
            break;
        }
        if is_deceptive(c) {
            out.push_str(&format!("[U+{:04X}]", c as u32));
        } else {
            out.push(c);
        }
    }
    out
}

/// Hex of `bytes`, clipped to [`MAX_HEX_BYTES`].
pub fn hex_clip(bytes: &[u8]) -> String {
    if bytes.len() <= MAX_HEX_BYTES {
        format!("0x{}", hex::encode(bytes))
    } else {
        format!(
            "0x{}… ({} bytes)",
            hex::encode(&bytes[..MAX_HEX_BYTES]),
            bytes.len()
        )
    }
}

pub fn short(hash: &B256) -> String {
    let s = format!("{hash:#x}");
    format!("{}…{}", &s[..10], &s[s.len() - 6..])
}

pub fn short_addr(a: &Address) -> String {
    let s = a.to_checksum(None);
    format!("{}…{}", &s[..8], &s[s.len() - 4..])
}

/// Wei as LAZAI with up to six decimals (display only).
pub fn lazai(wei: U256) -> String {
    let unit = U256::from(10u64).pow(U256::from(18));
    let whole = wei / unit;
    let frac = wei % unit;
    let micro = (frac / U256::from(1_000_000_000_000u64)).to::<u64>();
    let mut s = group(&whole.to_string());
    if micro > 0 {
        let f = format!("{micro:06}");
        s.push('.');
        s.push_str(f.trim_end_matches('0'));
    } else if !frac.is_zero() {
        s.push_str(".000000…");
    }
    s.push_str(" LAZAI");
    s
}

/// Digits grouped by thousands.
pub fn group(digits: &str) -> String {
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// A Unix time as UTC (`2026-12-07 05:30:00`).
pub fn utc(secs: u64) -> String {
    // Past the year 9999: a "never" sentinel, not a date.
    if secs > 253_402_300_799 {
        return "never".into();
    }
    let days = (secs / 86_400) as i64;
    let rem = secs % 86_400;
    // Civil from days (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = if m <= 2 { y + 1 } else { y };
    format!(
        "{y:04}-{m:02}-{d:02} {:02}:{:02}:{:02} UTC",
        rem / 3600,
        (rem % 3600) / 60,
        rem % 60
    )
}

pub fn block_link(state: &AppState, height: u64) -> Markup {
    html! { a href={(state.base) "/block/" (height)} { (group(&height.to_string())) } }
}

pub fn tx_link(state: &AppState, hash: &B256) -> Markup {
    html! { a class="mono" href={(state.base) "/tx/" (format!("{hash:#x}"))} title=(format!("{hash:#x}")) { (short(hash)) } }
}

/// What a page shows for an address: a native module's name, or the shortened address.
pub fn addr_label(a: &Address) -> String {
    crate::decode::module(a).map_or_else(|| short_addr(a), |m| m.name.to_string())
}

pub fn addr_link(state: &AppState, a: &Address) -> Markup {
    let full = a.to_checksum(None);
    html! { a class="mono" href={(state.base) "/address/" (full)} title=(full) { (addr_label(a)) } }
}

/// A link to one of LazAI's objects (`idao`, `class`, `token`, `flow`, `model`, `task`).
pub fn object_link(state: &AppState, kind: &str, id: U256) -> Markup {
    html! { a href={(state.base) "/" (kind) "/" (id)} { (kind) " " (id) } }
}

/// A decoded value; addresses and LazAI ids become links.
pub fn value(state: &AppState, name: &str, v: &DynSolValue) -> Markup {
    let kind = match name {
        "idaoId" => Some("idao"),
        "classId" | "fromClassId" | "toClassId" => Some("class"),
        "tokenId" | "fromTokenId" | "toTokenId" => Some("token"),
        "flowId" => Some("flow"),
        "modelId" => Some("model"),
        "taskId" => Some("task"),
        _ => None,
    };
    match v {
        DynSolValue::Address(a) => addr_link(state, a),
        DynSolValue::Uint(u, _) if kind.is_some() => object_link(state, kind.unwrap_or("idao"), *u),
        DynSolValue::String(s) => html! { span class="str" { "\"" (clip(s, MAX_TEXT)) "\"" } },
        DynSolValue::Bytes(b) => html! { span class="mono wrap" { (hex_clip(b)) } },
        DynSolValue::Array(items) | DynSolValue::FixedArray(items) | DynSolValue::Tuple(items) => {
            html! {
                "[" @for (i, item) in items.iter().take(64).enumerate() {
                    @if i > 0 { ", " }
                    (value(state, "", item))
                }
                @if items.len() > 64 { ", … (" (items.len()) " items)" }
                "]"
            }
        }
        other => html! { span class="mono wrap" { (clip(&plain(other), MAX_TEXT)) } },
    }
}

/// A decoded call or event as a definition list.
pub fn decoded(state: &AppState, d: &Decoded) -> Markup {
    html! {
        div class="decoded" {
            span class="fn" { (clip(&d.name, 80)) }
            @if !d.args.is_empty() {
                dl class="args" {
                    @for a in &d.args { (arg(state, a)) }
                }
            }
        }
    }
}

fn arg(state: &AppState, a: &Arg) -> Markup {
    html! {
        dt { (clip(&a.name, 60)) " " span class="ty" { (clip(&a.ty, 60)) } }
        dd { (value(state, &a.name, &a.value)) }
    }
}

/// A key–value table.
pub fn facts(rows: Vec<(&str, Markup)>) -> Markup {
    html! {
        table class="facts" {
            tbody {
                @for (k, v) in rows {
                    tr { th scope="row" { (k) } td { (v) } }
                }
            }
        }
    }
}

/// Plain text as markup.
pub fn text(s: impl Into<String>) -> Markup {
    let s: String = s.into();
    html! { (clip(&s, MAX_TEXT)) }
}

pub fn mono(s: impl Into<String>) -> Markup {
    let s: String = s.into();
    html! { span class="mono wrap" { (clip(&s, MAX_TEXT)) } }
}

/// A badge (status, mode, platform).
pub fn badge(label: &str, class: &str) -> Markup {
    html! { span class={"badge " (class)} { (label) } }
}

/// A note that the index lags the node, when it does.
pub fn index_lag(state: &AppState) -> Markup {
    let indexed = state.index.height().ok().flatten();
    let node = state.status.node_height();
    let error = state.status.last_error();
    html! {
        @if let Some(e) = error {
            p class="warn" role="status" { "Indexing paused: " (clip(&e, 300)) }
        } @else if let (Some(i), Some(n)) = (indexed, node) {
            @if n > i + 2 {
                p class="warn" role="status" { "The index is catching up: block " (i) " of " (n) "; lists below may be incomplete." }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::clip;

    #[test]
    fn clip_shortens_with_an_ellipsis_only_when_cut() {
        assert_eq!(clip("abc", 3), "abc");
        assert_eq!(clip("abcd", 3), "abc…");
        assert_eq!(clip("", 3), "");
        assert_eq!(clip("données", 7), "données");
    }

    #[test]
    fn clip_shows_characters_that_reorder_or_hide_text() {
        // "Good iDAO" written with a right-to-left override to read as something else.
        assert_eq!(
            clip("Good\u{202E}OADi", 80),
            "Good[U+202E]OADi",
            "a bidi override is shown, not applied"
        );
        assert_eq!(clip("a\u{2066}b\u{2069}", 80), "a[U+2066]b[U+2069]");
        assert_eq!(clip("x\u{200B}y", 80), "x[U+200B]y");
        assert_eq!(clip("bell\u{7}", 80), "bell[U+0007]");
        assert_eq!(clip("tab\there\nnext", 80), "tab\there\nnext");
        assert_eq!(
            clip("ab\u{202E}cd", 2),
            "ab…",
            "the limit counts characters"
        );
    }
}
