//! Short JSON-RPC reads of local nodes: block numbers, blocks, and whether nodes agree on a
//! height's hash.

use super::spec::NodeSpec;
use alloy::transports::http::reqwest;
use anyhow::{Context as _, Result, bail};
use std::time::Duration;

/// An HTTP client for short JSON-RPC calls to local nodes.
pub fn http_client() -> Result<reqwest::Client> {
    reqwest::Client::builder()
        .timeout(Duration::from_secs(5))
        .build()
        .context("HTTP client")
}

/// One JSON-RPC call; the `result`, or the JSON-RPC error as an error.
pub async fn rpc_call(
    client: &reqwest::Client,
    url: &str,
    method: &str,
    params: serde_json::Value,
) -> Result<serde_json::Value> {
    let body = serde_json::json!({"jsonrpc": "2.0", "id": 1, "method": method, "params": params});
    let bytes = client
        .post(url)
        .header("content-type", "application/json")
        .body(serde_json::to_vec(&body)?)
        .send()
        .await
        .with_context(|| format!("{method} to {url}"))?
        .bytes()
        .await
        .with_context(|| format!("{method} reply from {url}"))?;
    let reply: serde_json::Value =
        serde_json::from_slice(&bytes).with_context(|| format!("{method} reply from {url}"))?;
    if let Some(e) = reply.get("error") {
        bail!("{method} to {url}: {e}");
    }
    Ok(reply.get("result").cloned().unwrap_or_default())
}

/// `eth_blockNumber`: the node's last finalized height.
pub async fn block_number(client: &reqwest::Client, url: &str) -> Result<u64> {
    let v = rpc_call(client, url, "eth_blockNumber", serde_json::json!([])).await?;
    parse_quantity(&v).with_context(|| format!("eth_blockNumber from {url}: {v}"))
}

/// A hex quantity (`"0x1a"`).
pub fn parse_quantity(v: &serde_json::Value) -> Option<u64> {
    u64::from_str_radix(v.as_str()?.strip_prefix("0x")?, 16).ok()
}

/// `eth_getBlockByNumber(height, false)`: the block with transaction hashes; fails if the node
/// does not have it.
pub async fn block_by_number(
    client: &reqwest::Client,
    url: &str,
    height: u64,
) -> Result<serde_json::Value> {
    let block = rpc_call(
        client,
        url,
        "eth_getBlockByNumber",
        serde_json::json!([format!("{height:#x}"), false]),
    )
    .await?;
    if block.is_null() {
        bail!("{url} has no block {height}");
    }
    Ok(block)
}

/// A block every node has, with the same hash and state root.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Agreement {
    pub height: u64,
    pub hash: String,
    pub state_root: String,
}

/// Checks that every node reports the same block hash and state root at the lowest height
/// all of them have finalized.
pub async fn agreement(nodes: &[NodeSpec]) -> Result<Agreement> {
    if nodes.is_empty() {
        bail!("no nodes");
    }
    let client = http_client()?;
    let mut height = u64::MAX;
    for n in nodes {
        height = height.min(block_number(&client, &n.rpc_url()).await?);
    }
    agreement_at(nodes, height).await
}

/// Checks that every node reports the same block hash and state root at `height`.
pub async fn agreement_at(nodes: &[NodeSpec], height: u64) -> Result<Agreement> {
    if nodes.is_empty() {
        bail!("no nodes");
    }
    let client = http_client()?;
    let mut seen: Vec<(String, Agreement)> = Vec::new();
    for n in nodes {
        let block = block_by_number(&client, &n.rpc_url(), height).await?;
        let field = |k: &str| {
            block
                .get(k)
                .and_then(|v| v.as_str())
                .unwrap_or("")
                .to_string()
        };
        seen.push((
            n.name.clone(),
            Agreement {
                height,
                hash: field("hash"),
                state_root: field("stateRoot"),
            },
        ));
    }
    let first = seen[0].1.clone();
    if seen.iter().any(|(_, a)| *a != first) {
        let lines: Vec<String> = seen
            .iter()
            .map(|(name, a)| format!("{name}: hash {} state root {}", a.hash, a.state_root))
            .collect();
        bail!(
            "the nodes disagree at height {height}: {}",
            lines.join("; ")
        );
    }
    Ok(first)
}
