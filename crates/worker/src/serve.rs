//! Metered inference: the worker serves a registered model over HTTP, charging each call to
//! the caller's usage DAT and signing a receipt with its attested key.
//!
//! `POST /v1/predict` with `{"features": [numbers…]}` and the headers
//!
//! - `X-LazAI-User`: the caller's address;
//! - `X-LazAI-Nonce`: a decimal number, strictly greater than the caller's previous one at
//!   this node;
//! - `X-LazAI-Signature`: EIP-191 over `keccak256(abi.encode(uint256 nonce, address user,
//!   address node))` by the user (LazAI's request signature, `node` = this worker);
//! - `X-LazAI-Usage-Token`: the id of a usage DAT of the model's class, owned by the user or
//!   whose owner approved the user for the class or for all its tokens (DAT
//!   `approveForClass`/`setApprovalForAll`; an app can let its agents spend one DAT — each
//!   agent signs with its own key and nonces). Approvals are re-read every
//!   [`APPROVAL_TTL`].
//!
//! The call is refused — with a JSON `{"error": {"code", "message"}}` — when a header is
//! missing or malformed (400/401), the signature is not the user's (401), the nonce is not
//! above the last one (409, replayed or reordered), the token is unknown (404), of another
//! model, not the user's or expired (403), or has no quota left (402). Otherwise one call is
//! *reserved* on the token under a lock — `remaining = on-chain value − reserved − in
//! flight` must be at least one — so concurrent calls never exceed the quota; the integer
//! model runs; and the answer carries the prediction, the integer logits and a [`Receipt`].
//!
//! Usage reaches the chain in batches: one `ModelRegistry.recordUsage` transaction for all
//! the calls reserved since the last one, sent when [`ServeConfig::batch_calls`] calls are
//! waiting or every [`ServeConfig::batch_interval`], with the Merkle root of their receipts
//! (in token id order). A failed batch is reconciled with the chain (`usageOf`): recorded
//! after all (a late receipt) counts as recorded; otherwise the calls wait for the next batch,
//! but those the token can no longer pay for (value moved out, token expired) are dropped with
//! a warning. Tokens are re-read every [`TOKEN_TTL`] (owner, expiry, value) and refused from
//! [`EXPIRY_MARGIN_SECS`] before they expire.
//!
//! `GET /v1/models` lists the model served. With metering off ([`ServeConfig::metering`])
//! the same server answers without headers, for measuring what metering costs.

use crate::train::ModelWorker;
use alloy_primitives::{Address, B256, Bytes, U256, keccak256};
use alloy_signer::SignerSync;
use anyhow::{Context as _, Result};
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use lazai_ledger::modules::{
    DAT_ADDRESS, IDataAnchoringToken as D, IModelRegistry as M, MAX_USAGE_BATCH,
    MODEL_REGISTRY_ADDRESS, calls_metric, merkle_root, user_request_signer,
};
use lazai_model::QuantizedMlp;
use serde::{Deserialize, Serialize};
use serde_json::json;
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::Notify;
use tracing::{info, warn};

/// How long an approval read from the chain is trusted before it is read again.
pub const APPROVAL_TTL: Duration = Duration::from_secs(30);
/// How long a usage token's owner, expiry and value are trusted before they are read again.
pub const TOKEN_TTL: Duration = Duration::from_secs(10);
/// A usage DAT this close to its expiry is refused: its usage might not reach the chain
/// before it expires (the chain refuses usage on expired tokens).
pub const EXPIRY_MARGIN_SECS: u64 = 30;

/// How the server runs.
#[derive(Clone, Debug)]
pub struct ServeConfig {
    pub listen: SocketAddr,
    /// Record usage on chain once this many calls are waiting…
    pub batch_calls: u64,
    /// …or this often, whichever comes first.
    pub batch_interval: Duration,
    /// Largest request body, in bytes.
    pub max_body: usize,
    /// Check headers and charge usage (off only to measure its cost).
    pub metering: bool,
}

impl Default for ServeConfig {
    fn default() -> Self {
        Self {
            listen: "127.0.0.1:8600".parse().expect("address"),
            batch_calls: 64,
            batch_interval: Duration::from_secs(2),
            max_body: 64 * 1024,
            metering: true,
        }
    }
}

/// What the worker signs for one call.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct Receipt {
    /// `keccak256(abi.encode(chainId, node, user, nonce))`.
    pub request_id: B256,
    pub chain_id: u64,
    pub node: Address,
    pub user: Address,
    pub nonce: U256,
    pub model_id: U256,
    pub model_hash: B256,
    /// keccak-256 of the input features in thousandths, each a big-endian i32.
    pub input_hash: B256,
    /// keccak-256 of the predicted class (big-endian u32) and the logits (big-endian i64 each).
    pub output_hash: B256,
    pub usage_token: U256,
    /// This call's ordinal on the usage token (1 for its first call ever).
    pub counter: u64,
    /// EIP-191 over [`Receipt::message`] by `node`.
    pub signature: Bytes,
}

impl Receipt {
    /// What the node signs.
    pub fn message(&self) -> B256 {
        use alloy::sol_types::SolValue;
        keccak256(
            (
                keccak256(b"LAZAI_INFERENCE_RECEIPT_V1"),
                U256::from(self.chain_id),
                self.node,
                self.request_id,
                self.model_id,
                self.model_hash,
                self.input_hash,
                self.output_hash,
                self.usage_token,
                U256::from(self.counter),
            )
                .abi_encode_params(),
        )
    }

    /// The receipt's signer (compare with the node's attested address).
    pub fn signer(&self) -> Option<Address> {
        let sig = lazai_ledger::modules::parse_signature(&self.signature)?;
        sig.recover_address_from_msg(self.message().as_slice()).ok()
    }
}

/// `keccak256(abi.encode(chainId, node, user, nonce))`.
pub fn request_id(chain_id: u64, node: Address, user: Address, nonce: U256) -> B256 {
    use alloy::sol_types::SolValue;
    keccak256((U256::from(chain_id), node, user, nonce).abi_encode_params())
}

/// keccak-256 of features in thousandths (big-endian i32 each).
pub fn input_hash(milli: &[i32]) -> B256 {
    let bytes: Vec<u8> = milli.iter().flat_map(|v| v.to_be_bytes()).collect();
    keccak256(bytes)
}

/// keccak-256 of the class (big-endian u32) and the logits (big-endian i64 each).
pub fn output_hash(class: u32, logits: &[i64]) -> B256 {
    let mut bytes = class.to_be_bytes().to_vec();
    for l in logits {
        bytes.extend_from_slice(&l.to_be_bytes());
    }
    keccak256(bytes)
}

/// The answer to a prediction.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Prediction {
    pub class: u32,
    pub logits: Vec<i64>,
    /// Absent with metering off.
    pub receipt: Option<Receipt>,
    /// Calls left on the usage token after this one (absent with metering off).
    pub remaining: Option<String>,
}

#[derive(Deserialize)]
struct PredictBody {
    features: Vec<f64>,
}

/// An HTTP error with a stable code.
#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
}

fn err(status: StatusCode, code: &'static str, message: impl Into<String>) -> ApiError {
    ApiError {
        status,
        code,
        message: message.into(),
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        (
            self.status,
            Json(json!({"error": {"code": self.code, "message": self.message}})),
        )
            .into_response()
    }
}

/// One usage token as the meter sees it.
#[derive(Clone, Debug)]
struct TokenState {
    owner: Address,
    class: U256,
    expire_at: u64,
    /// Its value on chain, as of the last recorded batch (or the last fresh read).
    chain_value: U256,
    /// Calls served and not yet in a batch, and their receipt hashes.
    reserved: u64,
    receipts: Vec<B256>,
    /// Calls in the batch being recorded, and their receipt hashes.
    in_flight: u64,
    in_flight_receipts: Vec<B256>,
    /// Calls ever reserved on it (for receipt counters).
    used: u64,
    /// Usage of it the chain has recorded (`usageOf`), as far as this server knows.
    recorded: u64,
    /// When owner, expiry and value were last read from the chain.
    fetched: std::time::Instant,
}

#[derive(Default)]
struct Meter {
    /// The last nonce accepted from each user.
    nonces: HashMap<Address, U256>,
    tokens: std::collections::BTreeMap<U256, TokenState>,
    waiting: u64,
    /// Incremented by every recorded batch (a chain read older than it is stale).
    generation: u64,
    /// (token owner, caller) → (approved for the class or for all, when read).
    approvals: HashMap<(Address, Address), (bool, std::time::Instant)>,
}

/// Counters for the operator and the benchmark.
#[derive(Debug, Default, Clone, Copy, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ServeStats {
    pub calls: u64,
    pub batches: u64,
    pub calls_recorded: u64,
    pub batch_gas: u64,
    pub failed_batches: u64,
}

struct Shared {
    model: QuantizedMlp,
    record: M::Model,
    node: Address,
    chain_id: u64,
    signer: alloy_signer_local::PrivateKeySigner,
    reader: lazai_client::Client,
    metering: bool,
    batch_calls: u64,
    meter: Mutex<Meter>,
    stats: Mutex<ServeStats>,
    flush: Notify,
}

/// A running server.
pub struct ServerHandle {
    pub addr: SocketAddr,
    shared: Arc<Shared>,
    stop: tokio::sync::watch::Sender<bool>,
    server: tokio::task::JoinHandle<()>,
    flusher: tokio::task::JoinHandle<()>,
}

impl ServerHandle {
    pub fn stats(&self) -> ServeStats {
        *self.shared.stats.lock().expect("stats")
    }

    /// Stops accepting calls, records what is waiting and returns the final counters.
    pub async fn stop(self) -> ServeStats {
        let _ = self.stop.send(true);
        self.shared.flush.notify_one();
        let shared = self.shared;
        let _ = self.server.await;
        let _ = self.flusher.await;
        *shared.stats.lock().expect("stats")
    }
}

fn now_secs() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

fn header<'a>(h: &'a HeaderMap, name: &str) -> Result<&'a str, ApiError> {
    h.get(name)
        .ok_or_else(|| {
            err(
                StatusCode::UNAUTHORIZED,
                "missing_header",
                format!("header {name} is required"),
            )
        })?
        .to_str()
        .map_err(|_| {
            err(
                StatusCode::BAD_REQUEST,
                "bad_header",
                format!("{name} is not text"),
            )
        })
}

struct Auth {
    user: Address,
    nonce: U256,
    token: U256,
}

fn parse_auth(h: &HeaderMap, node: Address) -> Result<Auth, ApiError> {
    let bad = |name: &str, what: &str| {
        err(
            StatusCode::BAD_REQUEST,
            "bad_header",
            format!("{name} must be {what}"),
        )
    };
    let user: Address = header(h, "x-lazai-user")?
        .parse()
        .map_err(|_| bad("X-LazAI-User", "an address"))?;
    let nonce = U256::from_str_radix(header(h, "x-lazai-nonce")?.trim(), 10)
        .map_err(|_| bad("X-LazAI-Nonce", "a decimal number"))?;
    let sig_hex = header(h, "x-lazai-signature")?;
    let sig = alloy_primitives::hex::decode(sig_hex.trim())
        .map_err(|_| bad("X-LazAI-Signature", "65 bytes of hex"))?;
    let token = U256::from_str_radix(header(h, "x-lazai-usage-token")?.trim(), 10)
        .map_err(|_| bad("X-LazAI-Usage-Token", "a decimal token id"))?;
    if user_request_signer(nonce, user, node, &sig) != Some(user) {
        return Err(err(
            StatusCode::UNAUTHORIZED,
            "bad_signature",
            format!(
                "X-LazAI-Signature is not {user}'s EIP-191 signature of keccak256(abi.encode(nonce, user, node {node}))"
            ),
        ));
    }
    Ok(Auth { user, nonce, token })
}

impl Shared {
    async fn token_state(&self, id: U256) -> Result<TokenState, ApiError> {
        let generation = {
            let m = self.meter.lock().expect("meter");
            if let Some(t) = m.tokens.get(&id)
                && t.fetched.elapsed() < TOKEN_TTL
            {
                return Ok(t.clone());
            }
            m.generation
        };
        let info = self
            .reader
            .call(DAT_ADDRESS, D::tokenInfoCall { tokenId: id })
            .await
            .map_err(|e| {
                let text = format!("{e:#}");
                if text.contains("TokenNotFound") || text.contains("not found") {
                    err(
                        StatusCode::NOT_FOUND,
                        "unknown_token",
                        format!("usage token {id} does not exist"),
                    )
                } else {
                    err(
                        StatusCode::SERVICE_UNAVAILABLE,
                        "chain_unavailable",
                        format!("cannot read usage token {id}: {text}"),
                    )
                }
            })?;
        if info.classId != self.record.classId {
            // Not cached: only the model's own tokens take memory.
            return Err(err(
                StatusCode::FORBIDDEN,
                "foreign_token",
                format!(
                    "usage token {id} belongs to DAT class {}, not to model {}'s class {}",
                    info.classId, self.record.id, self.record.classId
                ),
            ));
        }
        let used = self
            .reader
            .call(
                DAT_ADDRESS,
                D::usageOfCall {
                    tokenId: id,
                    metricType: calls_metric(),
                },
            )
            .await
            .map(|u| u64::try_from(u).unwrap_or(u64::MAX))
            .unwrap_or_default();
        let mut m = self.meter.lock().expect("meter");
        let fresh = m.generation == generation;
        let t = m.tokens.entry(id).or_insert_with(|| TokenState {
            owner: info.owner,
            class: info.classId,
            expire_at: info.expireAt,
            chain_value: info.value,
            reserved: 0,
            receipts: Vec::new(),
            in_flight: 0,
            in_flight_receipts: Vec::new(),
            used,
            recorded: used,
            fetched: std::time::Instant::now(),
        });
        // A refresh: the owner and expiry may have changed (a transfer); the value too (value
        // moved in or out), but a read is only trusted when no batch was recorded meanwhile.
        t.owner = info.owner;
        t.expire_at = info.expireAt;
        if fresh && t.in_flight == 0 {
            t.chain_value = info.value;
        }
        t.fetched = std::time::Instant::now();
        Ok(t.clone())
    }

    /// Reads (and caches) whether `owner` approved `caller` for the model's class.
    async fn check_approval(&self, owner: Address, caller: Address) -> Result<(), ApiError> {
        if owner == caller {
            return Ok(());
        }
        let cached = self
            .meter
            .lock()
            .expect("meter")
            .approvals
            .get(&(owner, caller))
            .copied();
        if matches!(cached, Some((_, at)) if at.elapsed() < APPROVAL_TTL) {
            return Ok(());
        }
        let unavailable = |e: anyhow::Error| {
            err(
                StatusCode::SERVICE_UNAVAILABLE,
                "chain_unavailable",
                format!("cannot read the token owner's approvals: {e:#}"),
            )
        };
        let for_class = self
            .reader
            .call(
                DAT_ADDRESS,
                D::isApprovedForClassCall {
                    owner,
                    classId: self.record.classId,
                    operator: caller,
                },
            )
            .await
            .map_err(unavailable)?;
        let approved = for_class
            || self
                .reader
                .call(
                    DAT_ADDRESS,
                    D::isApprovedForAllCall {
                        account: owner,
                        operator: caller,
                    },
                )
                .await
                .map_err(unavailable)?;
        // Only approvals are cached: refusals take no memory, whoever asks.
        if approved {
            self.meter
                .lock()
                .expect("meter")
                .approvals
                .insert((owner, caller), (true, std::time::Instant::now()));
        }
        Ok(())
    }

    /// Checks the nonce and the token and reserves one call; returns the call's counter and
    /// the calls left.
    fn reserve(&self, auth: &Auth) -> Result<(u64, U256), ApiError> {
        let mut m = self.meter.lock().expect("meter");
        let last = m.nonces.get(&auth.user).copied().unwrap_or_default();
        if auth.nonce <= last {
            return Err(err(
                StatusCode::CONFLICT,
                "nonce_replayed",
                format!(
                    "nonce {} is not above {}'s last nonce {last} at this node (replayed or reordered)",
                    auth.nonce, auth.user
                ),
            ));
        }
        let class = self.record.classId;
        let t = m.tokens.get_mut(&auth.token).ok_or_else(|| {
            err(
                StatusCode::SERVICE_UNAVAILABLE,
                "chain_unavailable",
                "token state was dropped; retry",
            )
        })?;
        if t.class != class {
            return Err(err(
                StatusCode::FORBIDDEN,
                "foreign_token",
                format!(
                    "usage token {} belongs to DAT class {}, not to model {}'s class {class}",
                    auth.token, t.class, self.record.id
                ),
            ));
        }
        let owner = t.owner;
        if owner != auth.user
            && !matches!(m.approvals.get(&(owner, auth.user)), Some((true, at)) if at.elapsed() < APPROVAL_TTL)
        {
            return Err(err(
                StatusCode::FORBIDDEN,
                "not_token_owner",
                format!(
                    "usage token {} is owned by {owner}, who has not approved {} to use it",
                    auth.token, auth.user
                ),
            ));
        }
        let t = m.tokens.get_mut(&auth.token).ok_or_else(|| {
            err(
                StatusCode::SERVICE_UNAVAILABLE,
                "chain_unavailable",
                "token state was dropped; retry",
            )
        })?;
        if t.expire_at != 0 && now_secs().saturating_add(EXPIRY_MARGIN_SECS) >= t.expire_at {
            return Err(err(
                StatusCode::FORBIDDEN,
                "token_expired",
                format!(
                    "usage token {} expires at {} (refused from {EXPIRY_MARGIN_SECS} s before, so its usage can reach the chain)",
                    auth.token, t.expire_at
                ),
            ));
        }
        let committed = U256::from(t.reserved + t.in_flight);
        let left = t.chain_value.saturating_sub(committed);
        if left.is_zero() {
            return Err(err(
                StatusCode::PAYMENT_REQUIRED,
                "quota_exhausted",
                format!("usage token {} has no calls left", auth.token),
            ));
        }
        t.reserved += 1;
        t.used += 1;
        let counter = t.used;
        m.nonces.insert(auth.user, auth.nonce);
        m.waiting += 1;
        Ok((counter, left - U256::from(1)))
    }

    fn run_model(&self, body: &PredictBody) -> Result<(Vec<i32>, u32, Vec<i64>), ApiError> {
        if body.features.len() != self.model.inputs as usize {
            return Err(err(
                StatusCode::BAD_REQUEST,
                "bad_input",
                format!(
                    "the model takes {} features, got {}",
                    self.model.inputs,
                    body.features.len()
                ),
            ));
        }
        let mut milli = Vec::with_capacity(body.features.len());
        for (i, &x) in body.features.iter().enumerate() {
            if !x.is_finite() || x.abs() > 1e6 {
                return Err(err(
                    StatusCode::BAD_REQUEST,
                    "bad_input",
                    format!("feature {i} must be a finite number of magnitude at most 1e6"),
                ));
            }
            milli.push((x * 1000.0).round() as i32);
        }
        let logits = self
            .model
            .logits(&milli)
            .map_err(|e| err(StatusCode::BAD_REQUEST, "bad_input", e.to_string()))?;
        let mut class = 0usize;
        for (i, v) in logits.iter().enumerate() {
            if *v > logits[class] {
                class = i;
            }
        }
        Ok((milli, class as u32, logits))
    }
}

async fn predict(
    State(s): State<Arc<Shared>>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Result<Json<Prediction>, ApiError> {
    let body: PredictBody = serde_json::from_slice(&body).map_err(|e| {
        err(
            StatusCode::BAD_REQUEST,
            "bad_body",
            format!("expected {{\"features\": [numbers]}}: {e}"),
        )
    })?;
    if !s.metering {
        let (_, class, logits) = s.run_model(&body)?;
        s.stats.lock().expect("stats").calls += 1;
        return Ok(Json(Prediction {
            class,
            logits,
            receipt: None,
            remaining: None,
        }));
    }
    let auth = parse_auth(&headers, s.node)?;
    let token = s.token_state(auth.token).await?;
    s.check_approval(token.owner, auth.user).await?;
    // Validate the input before charging for it.
    let (milli, class, logits) = s.run_model(&body)?;
    let (counter, left) = s.reserve(&auth)?;
    let mut receipt = Receipt {
        request_id: request_id(s.chain_id, s.node, auth.user, auth.nonce),
        chain_id: s.chain_id,
        node: s.node,
        user: auth.user,
        nonce: auth.nonce,
        model_id: s.record.id,
        model_hash: s.record.modelHash,
        input_hash: input_hash(&milli),
        output_hash: output_hash(class, &logits),
        usage_token: auth.token,
        counter,
        signature: Bytes::new(),
    };
    let message = receipt.message();
    let sig = s
        .signer
        .sign_message_sync(message.as_slice())
        .map_err(|e| {
            err(
                StatusCode::INTERNAL_SERVER_ERROR,
                "signing_failed",
                e.to_string(),
            )
        })?;
    receipt.signature = sig.as_bytes().to_vec().into();
    let waiting = {
        let mut m = s.meter.lock().expect("meter");
        if let Some(t) = m.tokens.get_mut(&auth.token) {
            t.receipts.push(message);
        }
        m.waiting
    };
    s.stats.lock().expect("stats").calls += 1;
    if waiting >= s.batch_calls {
        s.flush.notify_one();
    }
    Ok(Json(Prediction {
        class,
        logits,
        receipt: Some(receipt),
        remaining: Some(left.to_string()),
    }))
}

async fn models(State(s): State<Arc<Shared>>) -> Json<serde_json::Value> {
    let r = &s.record;
    Json(json!({
        "object": "list",
        "data": [{
            "id": r.modelHash.to_string(),
            "object": "model",
            "modelId": r.id.to_string(),
            "classId": r.classId.to_string(),
            "idaoId": r.idaoId.to_string(),
            "modelHash": r.modelHash,
            "trainingReportHash": r.reportHash,
            "inputs": s.model.inputs,
            "classes": s.model.classes,
            "pricePerCall": r.pricePerCall.to_string(),
            "node": s.node,
            "metering": s.metering,
        }]
    }))
}

/// Takes the waiting calls for a batch: (token ids, amounts, the root of their receipts), in
/// token id order.
fn take_batch(m: &mut Meter) -> Option<(Vec<U256>, Vec<U256>, B256)> {
    let mut tokens = Vec::new();
    let mut amounts = Vec::new();
    let mut receipts = Vec::new();
    let mut taken = 0u64;
    for (id, t) in m.tokens.iter_mut() {
        if t.reserved > 0 && t.in_flight == 0 && tokens.len() < MAX_USAGE_BATCH {
            t.in_flight = t.reserved;
            t.reserved = 0;
            t.in_flight_receipts = std::mem::take(&mut t.receipts);
            receipts.extend_from_slice(&t.in_flight_receipts);
            tokens.push(*id);
            amounts.push(U256::from(t.in_flight));
            taken += t.in_flight;
        }
    }
    if tokens.is_empty() {
        return None;
    }
    m.waiting = m.waiting.saturating_sub(taken);
    Some((tokens, amounts, merkle_root(&receipts)))
}

/// Records one batch; false when there was nothing to record or the batch failed (the caller
/// then waits before trying again).
async fn flush_once(worker: &ModelWorker, shared: &Shared) -> bool {
    let Some((tokens, amounts, root)) = take_batch(&mut shared.meter.lock().expect("meter")) else {
        return false;
    };
    let calls: u64 = amounts.iter().map(|a| a.to::<u64>()).sum();
    let sent = worker
        .client()
        .send(
            MODEL_REGISTRY_ADDRESS,
            M::recordUsageCall {
                modelId: shared.record.id,
                tokenIds: tokens.clone(),
                amounts: amounts.clone(),
                receiptsRoot: root,
            },
            U256::ZERO,
        )
        .await;
    match sent {
        Ok(receipt) => {
            let mut m = shared.meter.lock().expect("meter");
            m.generation += 1;
            for id in &tokens {
                if let Some(t) = m.tokens.get_mut(id) {
                    t.chain_value = t.chain_value.saturating_sub(U256::from(t.in_flight));
                    t.recorded = t.recorded.saturating_add(t.in_flight);
                    t.in_flight = 0;
                    t.in_flight_receipts.clear();
                }
            }
            drop(m);
            let mut st = shared.stats.lock().expect("stats");
            st.batches += 1;
            st.calls_recorded += calls;
            st.batch_gas += receipt.gas_used;
            info!(
                calls,
                tokens = tokens.len(),
                gas = receipt.gas_used,
                "usage recorded on chain"
            );
            true
        }
        Err(e) => {
            warn!(error = %format!("{e:#}"), calls, "recording usage failed; reconciling with the chain");
            shared.stats.lock().expect("stats").failed_batches += 1;
            for id in &tokens {
                reconcile(shared, *id).await;
            }
            false
        }
    }
}

/// After a failed batch: reads the token from the chain. If the chain did record the batch
/// (its receipt was only late), it counts as recorded; otherwise the calls wait for the next
/// batch, except those that no longer fit (value moved out, token expired): those were served
/// unpaid and are dropped with a warning.
async fn reconcile(shared: &Shared, id: U256) {
    let info = shared
        .reader
        .call(DAT_ADDRESS, D::tokenInfoCall { tokenId: id })
        .await
        .ok();
    let used = shared
        .reader
        .call(
            DAT_ADDRESS,
            D::usageOfCall {
                tokenId: id,
                metricType: calls_metric(),
            },
        )
        .await
        .ok()
        .map(|u| u64::try_from(u).unwrap_or(u64::MAX));
    let mut m = shared.meter.lock().expect("meter");
    let Some(t) = m.tokens.get_mut(&id) else {
        return;
    };
    let owed = std::mem::take(&mut t.in_flight);
    let receipts = std::mem::take(&mut t.in_flight_receipts);
    if let Some(used) = used
        && used >= t.recorded.saturating_add(owed)
    {
        t.recorded = used;
        if let Some(info) = &info {
            t.chain_value = info.value;
        }
        shared.stats.lock().expect("stats").calls_recorded += owed;
        return;
    }
    let Some(info) = info else {
        // The chain cannot be read: try the same calls again later.
        t.reserved += owed;
        let mut all = receipts;
        all.append(&mut t.receipts);
        t.receipts = all;
        m.waiting += owed;
        return;
    };
    t.chain_value = info.value;
    t.owner = info.owner;
    t.expire_at = info.expireAt;
    let expired = info.expireAt != 0 && now_secs() >= info.expireAt;
    let fits = if expired {
        0
    } else {
        u64::try_from(t.chain_value)
            .unwrap_or(u64::MAX)
            .saturating_sub(t.reserved)
    };
    let kept = owed.min(fits);
    if kept < owed {
        warn!(token = %id, unpaid = owed - kept, expired, "calls served that the token can no longer pay for");
    }
    t.reserved += kept;
    let mut all: Vec<B256> = receipts.into_iter().take(kept as usize).collect();
    all.append(&mut t.receipts);
    t.receipts = all;
    m.waiting += kept;
}

/// Starts serving `model` (registered as `record`) with `worker`'s key.
pub async fn start(
    mut worker: ModelWorker,
    model: QuantizedMlp,
    record: M::Model,
    cfg: ServeConfig,
) -> Result<ServerHandle> {
    if lazai_model::QuantizedMlp::from_bytes(&model.to_bytes()).is_err()
        || B256::from(model.hash()) != record.modelHash
    {
        anyhow::bail!(
            "the model does not match model {}'s registered hash",
            record.id
        );
    }
    if worker.address() != record.worker {
        anyhow::bail!(
            "model {} is served by {}, not by this worker {}",
            record.id,
            record.worker,
            worker.address()
        );
    }
    let shared = Arc::new(Shared {
        model,
        node: worker.address(),
        chain_id: worker.chain_id,
        signer: worker.cfg.signer.clone(),
        reader: lazai_client::Client::read(&worker.cfg.rpc)?,
        metering: cfg.metering,
        batch_calls: cfg.batch_calls.max(1),
        record,
        meter: Mutex::new(Meter::default()),
        stats: Mutex::new(ServeStats::default()),
        flush: Notify::new(),
    });
    let listener = tokio::net::TcpListener::bind(cfg.listen)
        .await
        .with_context(|| format!("listen on {}", cfg.listen))?;
    let addr = listener.local_addr()?;
    let app = Router::new()
        .route("/v1/predict", post(predict))
        .route("/v1/models", get(models))
        .layer(DefaultBodyLimit::max(cfg.max_body))
        .with_state(shared.clone());
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let mut rx = stop_rx.clone();
    let server = tokio::spawn(async move {
        let stop = async move {
            let _ = rx.wait_for(|s| *s).await;
        };
        if let Err(e) = axum::serve(listener, app)
            .with_graceful_shutdown(stop)
            .await
        {
            warn!(error = %e, "inference server failed");
        }
    });
    let fl = shared.clone();
    let interval = cfg.batch_interval;
    let mut rx = stop_rx;
    let flusher = tokio::spawn(async move {
        loop {
            tokio::select! {
                _ = fl.flush.notified() => {}
                _ = tokio::time::sleep(interval) => {}
            }
            if let Err(e) = worker.refresh_attestation().await {
                warn!(error = %format!("{e:#}"), "TEE evidence refresh failed");
            }
            while flush_once(&worker, &fl).await {
                if fl.meter.lock().expect("meter").waiting < fl.batch_calls {
                    break;
                }
            }
            if *rx.borrow_and_update() {
                // Record everything still waiting before stopping (a minute at most).
                let deadline = std::time::Instant::now() + Duration::from_secs(60);
                while fl.meter.lock().expect("meter").waiting > 0
                    && std::time::Instant::now() < deadline
                {
                    if !flush_once(&worker, &fl).await {
                        tokio::time::sleep(Duration::from_millis(500)).await;
                    }
                }
                let left = fl.meter.lock().expect("meter").waiting;
                if left > 0 {
                    warn!(calls = left, "stopping with usage not recorded on chain");
                }
                break;
            }
        }
    });
    info!(%addr, model = %shared.record.id, metering = cfg.metering, "inference server listening");
    Ok(ServerHandle {
        addr,
        shared,
        stop: stop_tx,
        server,
        flusher,
    })
}
