//! The explorer's one way to the chain: JSON-RPC over HTTP to a node, with a timeout on every
//! request and a cap on every answer, so a slow, dead or hostile node gives a clear error
//! instead of a hung or unbounded page.

use alloy_primitives::{Address, B256, Bytes, U256};
use alloy_rpc_types_eth::{Block, TransactionReceipt};
use alloy_sol_types::SolCall;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};
use std::time::Duration;

/// Largest answer read from the node (a block with its receipts, a batch of them).
pub const MAX_RESPONSE_BYTES: usize = 64 * 1024 * 1024;

/// Why a read from the node failed.
#[derive(Debug, Clone, thiserror::Error)]
pub enum SourceError {
    #[error("the node at {url} did not answer within {} s", timeout.as_secs_f32())]
    Timeout { url: String, timeout: Duration },
    #[error("cannot reach the node at {url}: {reason}")]
    Unreachable { url: String, reason: String },
    #[error("{method} failed: {message} (JSON-RPC error {code})")]
    Rpc {
        method: String,
        code: i64,
        message: String,
        /// Revert data of a failed `eth_call`.
        data: Option<Bytes>,
    },
    #[error("the node's answer to {method} is malformed: {reason}")]
    Malformed { method: String, reason: String },
}

impl SourceError {
    /// Whether an `eth_call` reverted (the object it asked for does not exist, typically),
    /// as opposed to the node failing to answer.
    pub fn is_revert(&self) -> bool {
        matches!(self, SourceError::Rpc { code: 3, .. })
            || matches!(self, SourceError::Rpc { message, .. } if message.contains("revert"))
    }

    /// Whether the node could not be asked at all.
    pub fn is_unavailable(&self) -> bool {
        matches!(
            self,
            SourceError::Timeout { .. } | SourceError::Unreachable { .. }
        )
    }
}

pub type SourceResult<T> = Result<T, SourceError>;

/// One JSON-RPC answer, parsed straight into the result's type.
#[derive(serde::Deserialize)]
struct Answer<T> {
    #[serde(default)]
    id: Option<Value>,
    #[serde(default = "Option::default")]
    result: Option<T>,
    #[serde(default)]
    error: Option<ErrorObject>,
}

#[derive(serde::Deserialize)]
struct ErrorObject {
    #[serde(default)]
    code: i64,
    #[serde(default)]
    message: String,
    #[serde(default)]
    data: Option<Value>,
}

/// The full block type the explorer reads (transactions included).
pub type FullBlock = Block;

/// A JSON-RPC client of one node.
#[derive(Clone, Debug)]
pub struct Rpc {
    url: String,
    http: reqwest::Client,
    timeout: Duration,
}

impl Rpc {
    /// A client of the node at `url` (`http://host:port`); every request gives up after
    /// `timeout`.
    pub fn new(url: &str, timeout: Duration) -> Result<Self, SourceError> {
        let http = reqwest::Client::builder()
            .timeout(timeout)
            .connect_timeout(timeout.min(Duration::from_secs(5)))
            .build()
            .map_err(|e| SourceError::Unreachable {
                url: url.to_string(),
                reason: e.to_string(),
            })?;
        Ok(Self {
            url: url.trim_end_matches('/').to_string(),
            http,
            timeout,
        })
    }

    pub fn url(&self) -> &str {
        &self.url
    }

    async fn post(
        &self,
        body: &Value,
        method: &str,
    ) -> SourceResult<(reqwest::StatusCode, Vec<u8>)> {
        let body = serde_json::to_vec(body).map_err(|e| self.malformed(method, &e.to_string()))?;
        let send = self
            .http
            .post(&self.url)
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .body(body)
            .send();
        let response = match tokio::time::timeout(self.timeout, send).await {
            Err(_) => return Err(self.timeout_error()),
            Ok(Err(e)) if e.is_timeout() => return Err(self.timeout_error()),
            Ok(Err(e)) => {
                return Err(SourceError::Unreachable {
                    url: self.url.clone(),
                    reason: e.to_string(),
                });
            }
            Ok(Ok(r)) => r,
        };
        let status = response.status();
        if response
            .content_length()
            .is_some_and(|l| l > MAX_RESPONSE_BYTES as u64)
        {
            return Err(self.malformed(method, "the answer is larger than 64 MiB"));
        }
        let mut response = response;
        let mut bytes = Vec::new();
        loop {
            let chunk = match tokio::time::timeout(self.timeout, response.chunk()).await {
                Err(_) => return Err(self.timeout_error()),
                Ok(Err(e)) if e.is_timeout() => return Err(self.timeout_error()),
                Ok(Err(e)) => return Err(self.malformed(method, &e.to_string())),
                Ok(Ok(c)) => c,
            };
            let Some(chunk) = chunk else { break };
            if bytes.len() + chunk.len() > MAX_RESPONSE_BYTES {
                return Err(self.malformed(method, "the answer is larger than 64 MiB"));
            }
            bytes.extend_from_slice(&chunk);
        }
        Ok((status, bytes))
    }

    fn not_json(
        &self,
        method: &str,
        status: reqwest::StatusCode,
        e: serde_json::Error,
    ) -> SourceError {
        self.malformed(method, &format!("HTTP {status}, not JSON-RPC ({e})"))
    }

    fn timeout_error(&self) -> SourceError {
        SourceError::Timeout {
            url: self.url.clone(),
            timeout: self.timeout,
        }
    }

    fn malformed(&self, method: &str, reason: &str) -> SourceError {
        SourceError::Malformed {
            method: method.to_string(),
            reason: reason.to_string(),
        }
    }

    /// One call.
    pub async fn request<T: DeserializeOwned>(
        &self,
        method: &str,
        params: Value,
    ) -> SourceResult<T> {
        let body = json!({"jsonrpc": "2.0", "id": 1, "method": method, "params": params});
        let (status, bytes) = self.post(&body, method).await?;
        // Parsed straight into `T`: no intermediate JSON tree.
        let answer: Answer<T> =
            serde_json::from_slice(&bytes).map_err(|e| self.not_json(method, status, e))?;
        self.result(method, answer)
    }

    fn result<T: DeserializeOwned>(&self, method: &str, answer: Answer<T>) -> SourceResult<T> {
        if let Some(error) = answer.error {
            return Err(SourceError::Rpc {
                method: method.to_string(),
                code: error.code,
                message: error.message.chars().take(500).collect(),
                data: error
                    .data
                    .as_ref()
                    .and_then(Value::as_str)
                    .and_then(|d| d.parse().ok()),
            });
        }
        match answer.result {
            Some(result) => Ok(result),
            // A `null` result: fine for an optional answer, malformed for any other.
            None => T::deserialize(Value::Null)
                .map_err(|_| self.malformed(method, "neither result nor error")),
        }
    }

    /// Many calls in one JSON-RPC batch; answers in the order asked.
    pub async fn batch<T: DeserializeOwned>(
        &self,
        method: &str,
        params: Vec<Value>,
    ) -> SourceResult<Vec<SourceResult<T>>> {
        if params.is_empty() {
            return Ok(Vec::new());
        }
        let body: Vec<Value> = params
            .into_iter()
            .enumerate()
            .map(|(i, p)| json!({"jsonrpc": "2.0", "id": i, "method": method, "params": p}))
            .collect();
        let count = body.len();
        let (status, bytes) = self.post(&Value::Array(body), method).await?;
        let items: Vec<Answer<T>> = match serde_json::from_slice(&bytes) {
            Ok(items) => items,
            Err(e) => {
                // A node that refuses the whole batch answers with one error object.
                let one: Answer<Value> =
                    serde_json::from_slice(&bytes).map_err(|_| self.not_json(method, status, e))?;
                return Err(self.result(method, one).err().unwrap_or_else(|| {
                    self.malformed(method, "a batch answered with one result")
                }));
            }
        };
        let mut out: Vec<Option<SourceResult<T>>> = (0..count).map(|_| None).collect();
        for item in items {
            let Some(id) = item.id.as_ref().and_then(Value::as_u64) else {
                continue;
            };
            if let Some(slot) = out.get_mut(id as usize) {
                *slot = Some(self.result(method, item));
            }
        }
        Ok(out
            .into_iter()
            .map(|r| r.unwrap_or_else(|| Err(self.malformed(method, "a batch answer is missing"))))
            .collect())
    }

    pub async fn block_number(&self) -> SourceResult<u64> {
        let n: U256 = self.request("eth_blockNumber", json!([])).await?;
        u64::try_from(n).map_err(|_| self.malformed("eth_blockNumber", "height over 2^64"))
    }

    pub async fn chain_id(&self) -> SourceResult<u64> {
        let n: U256 = self.request("eth_chainId", json!([])).await?;
        u64::try_from(n).map_err(|_| self.malformed("eth_chainId", "chain id over 2^64"))
    }

    /// `lazai_status`, as JSON (validators, finality, peers, mempool).
    pub async fn status(&self) -> SourceResult<Value> {
        self.request("lazai_status", json!([])).await
    }

    pub async fn block(&self, height: u64) -> SourceResult<Option<FullBlock>> {
        self.request(
            "eth_getBlockByNumber",
            json!([format!("{height:#x}"), true]),
        )
        .await
    }

    pub async fn block_by_hash(&self, hash: B256) -> SourceResult<Option<FullBlock>> {
        self.request("eth_getBlockByHash", json!([hash, true]))
            .await
    }

    /// A block (by number or hash) with its transactions' hashes only.
    pub async fn block_header(&self, id: Value) -> SourceResult<Option<FullBlock>> {
        let method = if id.as_str().is_some_and(|s| s.len() == 66) {
            "eth_getBlockByHash"
        } else {
            "eth_getBlockByNumber"
        };
        self.request(method, json!([id, false])).await
    }

    /// Transactions by hash, in one batch, in the order asked (`None` for unknown ones).
    pub async fn transactions(
        &self,
        hashes: &[B256],
    ) -> SourceResult<Vec<Option<alloy_rpc_types_eth::Transaction>>> {
        let params = hashes.iter().map(|h| json!([h])).collect();
        let answers = self
            .batch::<Option<alloy_rpc_types_eth::Transaction>>("eth_getTransactionByHash", params)
            .await?;
        Ok(answers.into_iter().map(|a| a.ok().flatten()).collect())
    }

    /// Blocks (with transaction hashes only) and their receipts for `heights`, in two batches.
    pub async fn blocks_with_receipts(
        &self,
        heights: std::ops::RangeInclusive<u64>,
    ) -> SourceResult<Vec<crate::source::SourceBlock>> {
        let params: Vec<Value> = heights
            .clone()
            .map(|h| json!([format!("{h:#x}"), false]))
            .collect();
        let receipt_params: Vec<Value> = heights.map(|h| json!([format!("{h:#x}")])).collect();
        let (blocks, receipts) = tokio::try_join!(
            self.batch::<Option<FullBlock>>("eth_getBlockByNumber", params),
            self.batch::<Option<Vec<crate::index::IndexReceipt>>>(
                "eth_getBlockReceipts",
                receipt_params
            ),
        )?;
        let mut out = Vec::with_capacity(blocks.len());
        for (block, receipts) in blocks.into_iter().zip(receipts) {
            let (Some(block), Some(receipts)) = (block?, receipts?) else {
                return Err(self.malformed("eth_getBlockByNumber", "a finalized block is missing"));
            };
            out.push(crate::source::SourceBlock::from_rpc(&block, receipts));
        }
        Ok(out)
    }

    pub async fn transaction(
        &self,
        hash: B256,
    ) -> SourceResult<Option<alloy_rpc_types_eth::Transaction>> {
        self.request("eth_getTransactionByHash", json!([hash]))
            .await
    }

    pub async fn receipt(&self, hash: B256) -> SourceResult<Option<TransactionReceipt>> {
        self.request("eth_getTransactionReceipt", json!([hash]))
            .await
    }

    /// The geth call tracer's tree of a transaction.
    pub async fn call_trace(&self, hash: B256) -> SourceResult<Value> {
        self.request(
            "debug_traceTransaction",
            json!([hash, {"tracer": "callTracer"}]),
        )
        .await
    }

    pub async fn balance(&self, address: Address) -> SourceResult<U256> {
        self.request("eth_getBalance", json!([address, "latest"]))
            .await
    }

    pub async fn nonce(&self, address: Address) -> SourceResult<U256> {
        self.request("eth_getTransactionCount", json!([address, "latest"]))
            .await
    }

    pub async fn code(&self, address: Address) -> SourceResult<Bytes> {
        self.request("eth_getCode", json!([address, "latest"]))
            .await
    }

    /// A view of a native module or contract at the head, decoded with its `sol!` interface.
    pub async fn view<C: SolCall>(&self, to: Address, call: C) -> SourceResult<C::Return> {
        let data = Bytes::from(call.abi_encode());
        let out: Bytes = self
            .request("eth_call", json!([{"to": to, "input": data}, "latest"]))
            .await?;
        C::abi_decode_returns(&out).map_err(|e| self.malformed("eth_call", &e.to_string()))
    }

    /// Many calls of one view in one batch; answers in the order asked.
    pub async fn views<C: SolCall>(
        &self,
        to: Address,
        calls: &[C],
    ) -> SourceResult<Vec<SourceResult<C::Return>>> {
        let params = calls
            .iter()
            .map(|c| json!([{"to": to, "input": Bytes::from(c.abi_encode())}, "latest"]))
            .collect();
        let answers = self.batch::<Bytes>("eth_call", params).await?;
        Ok(answers
            .into_iter()
            .map(|a| {
                a.and_then(|out| {
                    C::abi_decode_returns(&out)
                        .map_err(|e| self.malformed("eth_call", &e.to_string()))
                })
            })
            .collect())
    }
}
