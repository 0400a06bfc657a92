//! Search: a block number, a block or transaction hash, an address, or `<kind> <id>` for
//! LazAI's objects (`idao 1`, `class 2`, `token 3`, `flow 4`, `model 5`, `task 6`).

use super::*;

const KINDS: [&str; 6] = ["idao", "class", "token", "flow", "model", "task"];

/// Where a search for `text` leads (a path under the base).
pub async fn resolve(state: &AppState, text: &str) -> Result<String, PageError> {
    let q = text.trim();
    let base = &state.base;
    if q.is_empty() {
        return Err(PageError::BadRequest("type something to search for".into()));
    }
    if q.len() > 200 {
        return Err(PageError::BadRequest("the search text is too long".into()));
    }
    if q.bytes().all(|b| b.is_ascii_digit()) {
        let height = super::block::parse_height(q)?;
        return Ok(format!("{base}/block/{height}"));
    }
    if q.len() == 66 && q.starts_with("0x") {
        let hash = super::block::parse_hash(q)?;
        if state.rpc.transaction(hash).await?.is_some() {
            return Ok(format!("{base}/tx/{hash:#x}"));
        }
        if state.rpc.block_by_hash(hash).await?.is_some() {
            return Ok(format!("{base}/block/{hash:#x}"));
        }
        return Err(PageError::NotFound(format!(
            "no transaction or finalized block has the hash {hash:#x}"
        )));
    }
    if q.len() == 42 && q.starts_with("0x") {
        let address = super::address::parse_address(q)?;
        return Ok(format!("{base}/address/{}", address.to_checksum(None)));
    }
    let lower = q.to_ascii_lowercase();
    for kind in KINDS {
        if let Some(rest) = lower.strip_prefix(kind) {
            let rest = rest.trim_start_matches([' ', '#', ':', '/']).trim();
            let id = super::idao::parse_id(rest)?;
            return Ok(format!("{base}/{kind}/{id}"));
        }
    }
    if lower == "dat" || lower.starts_with("dat ") {
        let id = super::idao::parse_id(lower.trim_start_matches("dat").trim())?;
        return Ok(format!("{base}/class/{id}"));
    }
    Err(PageError::BadRequest(format!(
        "{:?} is not a block number, hash, address or one of: {}",
        clip(q, 80),
        KINDS.map(|k| format!("{k} N")).join(", ")
    )))
}
