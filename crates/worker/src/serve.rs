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
//!   [`APPROVAL_TTL`];
//! - `X-LazAI-Request-Signature` (optional, required with
//!   [`ServeConfig::require_request_signature`]): the user's signature over the whole request,
//!   body and usage token included ([`request_digest`]); checked whenever it is present.
//!
//! The call is refused — with a JSON `{"error": {"code", "message"}}` — when a header is
//! missing or malformed (400/401), a signature is not the user's (401 `bad_signature`,
//! `bad_request_signature`, or `request_signature_required` when it must be there), the body
//! is too large (413 `body_too_large`), the nonce is not above the last one (409, replayed or
//! reordered), the token is unknown (404), of another model, not the user's or expired (403),
//! or has no quota left (402). Otherwise one call is *reserved* on the token under a lock —
//! `remaining = on-chain value − reserved − in flight` must be at least one — so concurrent
//! calls never exceed the quota; the integer model runs; the caller's nonce and the call's
//! receipt are written to the server's store (durably, before answering); and the answer
//! carries the prediction, the integer logits and a [`Receipt`].
//!
//! The store (a redb file in the worker's work dir, one per chain, model and node) keeps each
//! caller's last nonce and the calls served but not yet recorded on chain: a server restarted
//! on the same work dir refuses a request it already served (409) — a request id is never
//! served twice — and records the calls the previous run served (a batch that was being
//! recorded when it stopped counts as recorded if the chain's `usageOf` shows it).
//!
//! Usage reaches the chain in batches: one `ModelRegistry.recordUsage` transaction for all
//! the calls reserved since the last one, sent when [`ServeConfig::batch_calls`] calls are
//! waiting or every [`ServeConfig::batch_interval`], with the Merkle root of their receipts
//! (in token id order). A failed batch is reconciled with the chain (`usageOf`): recorded
//! after all (a late receipt) counts as recorded; otherwise the calls wait for the next batch,
//! but those the token can no longer pay for (it expired) are dropped with a warning. Tokens are re-read every [`TOKEN_TTL`] (owner, expiry, value) and refused from
//! [`EXPIRY_MARGIN_SECS`] before they expire. A usage token's value cannot leave it (model
//! classes have locked value, see the model registry), so only expiry can leave a served call
//! unpaid; a token transferred to a new owner is still charged for the calls served from it,
//! and the new owner (or whom it approves) uses the rest.
//!
//! `GET /v1/models` lists the model served. With metering off ([`ServeConfig::metering`])
//! the same server answers without headers, for measuring what metering costs.

mod request;
mod store;

pub use request::{REQUEST_SIGNATURE_HEADER, SignedRequest, request_digest, request_signer};

use crate::train::ModelWorker;
use alloy_primitives::{Address, B256, Bytes, U256, keccak256};
use alloy_signer::SignerSync;
use anyhow::{Context as _, Result};
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use lazai_abi::{
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
    /// Refuse calls without `X-LazAI-Request-Signature` (LazAI's SDK header alone does not
    /// cover the body and the usage token).
    pub require_request_signature: bool,
}

impl Default for ServeConfig {
    fn default() -> Self {
        Self {
            listen: "127.0.0.1:8600".parse().expect("address"),
            batch_calls: 64,
            batch_interval: Duration::from_secs(2),
            max_body: 64 * 1024,
            metering: true,
            require_request_signature: false,
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
        let sig = lazai_abi::parse_signature(&self.signature)?;
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
    /// Calls reserved whose receipt is being signed and stored.
    signing: u64,
    /// Calls served and not yet in a batch: (counter, receipt hash).
    receipts: Vec<(u64, B256)>,
    /// Calls in the batch being recorded: (counter, receipt hash).
    in_flight: Vec<(u64, B256)>,
    /// Calls ever reserved on it (for receipt counters).
    used: u64,
    /// Usage of it the chain has recorded (`usageOf`), as far as this server knows.
    recorded: u64,
    /// When owner, expiry and value were last read from the chain.
    fetched: std::time::Instant,
}

impl TokenState {
    /// Calls taken from its value and not yet recorded on chain.
    fn committed(&self) -> u64 {
        self.signing + (self.receipts.len() + self.in_flight.len()) as u64
    }
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
    require_request_signature: bool,
    batch_calls: u64,
    store: store::Store,
    meter: Mutex<Meter>,
    stats: Mutex<ServeStats>,
    flush: Notify,
}

/// How a server is asked to stop.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Stop {
    No,
    /// After recording what is waiting.
    Record,
    /// At once: what is waiting stays in the store for the next server.
    Halt,
}

/// A running server.
pub struct ServerHandle {
    pub addr: SocketAddr,
    shared: Arc<Shared>,
    stop: tokio::sync::watch::Sender<Stop>,
    server: tokio::task::JoinHandle<()>,
    flusher: tokio::task::JoinHandle<()>,
}

impl ServerHandle {
    pub fn stats(&self) -> ServeStats {
        *self.shared.stats.lock().expect("stats")
    }

    /// Stops accepting calls, records what is waiting and returns the final counters.
    pub async fn stop(self) -> ServeStats {
        self.finish(Stop::Record).await
    }

    /// Stops accepting calls without recording what is waiting (for when the chain is out of
    /// reach): the calls served and not recorded stay in the store, and the next server of
    /// the model on the same work dir records them.
    pub async fn halt(self) -> ServeStats {
        self.finish(Stop::Halt).await
    }

    async fn finish(self, how: Stop) -> ServeStats {
        let _ = self.stop.send(how);
        self.shared.flush.notify_one();
        let shared = self.shared;
        let _ = self.server.await;
        let _ = self.flusher.await;
        shared.store.close();
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

/// Checks the headers of a call of `body` to `node` on chain `chain_id`.
fn parse_auth(
    h: &HeaderMap,
    node: Address,
    chain_id: u64,
    body: &[u8],
    require_request_signature: bool,
) -> Result<Auth, ApiError> {
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
    match h.get(REQUEST_SIGNATURE_HEADER) {
        None if require_request_signature => {
            return Err(err(
                StatusCode::UNAUTHORIZED,
                "request_signature_required",
                "this server requires X-LazAI-Request-Signature: the user's EIP-191 signature over the request digest (chain id, node, user, nonce, usage token, keccak256 of the body)",
            ));
        }
        None => {}
        Some(v) => {
            let sig = v
                .to_str()
                .ok()
                .and_then(|v| alloy_primitives::hex::decode(v.trim()).ok())
                .ok_or_else(|| bad("X-LazAI-Request-Signature", "65 bytes of hex"))?;
            let digest = request_digest(chain_id, node, user, nonce, token, body);
            if request_signer(digest, &sig) != Some(user) {
                return Err(err(
                    StatusCode::UNAUTHORIZED,
                    "bad_request_signature",
                    format!(
                        "X-LazAI-Request-Signature is not {user}'s signature of this request (chain {chain_id}, node {node}, nonce {nonce}, usage token {token}, this body)"
                    ),
                ));
            }
        }
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
            signing: 0,
            receipts: Vec::new(),
            in_flight: Vec::new(),
            used,
            recorded: used,
            fetched: std::time::Instant::now(),
        });
        // A refresh: the owner and expiry may have changed (a transfer); the value too (value
        // moved in or out), but a read is only trusted when no batch was recorded meanwhile.
        t.owner = info.owner;
        t.expire_at = info.expireAt;
        if fresh && t.in_flight.is_empty() {
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
        let left = t.chain_value.saturating_sub(U256::from(t.committed()));
        if left.is_zero() {
            return Err(err(
                StatusCode::PAYMENT_REQUIRED,
                "quota_exhausted",
                format!("usage token {} has no calls left", auth.token),
            ));
        }
        t.signing += 1;
        t.used += 1;
        let counter = t.used;
        m.nonces.insert(auth.user, auth.nonce);
        Ok((counter, left - U256::from(1)))
    }

    /// Ends a reservation: the call was served (its receipt stored) or not. Returns the calls
    /// waiting for a batch.
    fn settle(&self, token: U256, receipt: Option<(u64, B256)>) -> u64 {
        let mut m = self.meter.lock().expect("meter");
        let Some(t) = m.tokens.get_mut(&token) else {
            return m.waiting;
        };
        t.signing = t.signing.saturating_sub(1);
        if let Some(r) = receipt {
            t.receipts.push(r);
            m.waiting += 1;
        }
        m.waiting
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
    raw: Result<axum::body::Bytes, axum::extract::rejection::BytesRejection>,
) -> Result<Json<Prediction>, ApiError> {
    // The body limit's refusal in the server's JSON error shape, like every other refusal.
    let raw = raw.map_err(|e| {
        let status = e.status();
        let code = if status == StatusCode::PAYLOAD_TOO_LARGE {
            "body_too_large"
        } else {
            "bad_body"
        };
        err(status, code, e.body_text())
    })?;
    let body: PredictBody = serde_json::from_slice(&raw).map_err(|e| {
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
    let auth = parse_auth(
        &headers,
        s.node,
        s.chain_id,
        &raw,
        s.require_request_signature,
    )?;
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
    let sig = match s.signer.sign_message_sync(message.as_slice()) {
        Ok(sig) => sig,
        Err(e) => {
            s.settle(auth.token, None);
            return Err(err(
                StatusCode::INTERNAL_SERVER_ERROR,
                "signing_failed",
                e.to_string(),
            ));
        }
    };
    receipt.signature = sig.as_bytes().to_vec().into();
    // Durable before it is answered: a restart neither serves this request again nor loses
    // the call. A call that cannot be stored is not served (nor charged); its nonce is spent.
    if let Err(e) = s
        .store
        .served(auth.user, auth.nonce, auth.token, counter, message)
        .await
    {
        s.settle(auth.token, None);
        return Err(err(
            StatusCode::SERVICE_UNAVAILABLE,
            "store_unavailable",
            format!("{e:#}"),
        ));
    }
    let waiting = s.settle(auth.token, Some((counter, message)));
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
            "chainId": s.chain_id,
            "metering": s.metering,
            "requestSignatureRequired": s.require_request_signature,
        }]
    }))
}

/// A batch of waiting calls: token ids, amounts and the root of their receipts, in token id
/// order, and what the store keeps of it while it is recorded.
struct Batch {
    tokens: Vec<U256>,
    amounts: Vec<U256>,
    root: B256,
    in_flight: Vec<(U256, store::InFlight)>,
}

/// Takes the waiting calls for a batch.
fn take_batch(m: &mut Meter) -> Option<Batch> {
    let mut b = Batch {
        tokens: Vec::new(),
        amounts: Vec::new(),
        root: B256::ZERO,
        in_flight: Vec::new(),
    };
    let mut receipts = Vec::new();
    let mut taken = 0u64;
    for (id, t) in m.tokens.iter_mut() {
        if !t.receipts.is_empty() && t.in_flight.is_empty() && b.tokens.len() < MAX_USAGE_BATCH {
            t.in_flight = std::mem::take(&mut t.receipts);
            receipts.extend(t.in_flight.iter().map(|r| r.1));
            b.tokens.push(*id);
            b.amounts.push(U256::from(t.in_flight.len()));
            b.in_flight.push((
                *id,
                store::InFlight {
                    recorded_before: t.recorded,
                    counters: t.in_flight.iter().map(|r| r.0).collect(),
                },
            ));
            taken += t.in_flight.len() as u64;
        }
    }
    if b.tokens.is_empty() {
        return None;
    }
    m.waiting = m.waiting.saturating_sub(taken);
    b.root = merkle_root(&receipts);
    Some(b)
}

/// Puts the first `keep` calls of a token's batch back in front of its waiting calls; returns
/// the counters of the others.
fn requeue(m: &mut Meter, id: U256, keep: usize) -> Vec<u64> {
    let Some(t) = m.tokens.get_mut(&id) else {
        return Vec::new();
    };
    let mut all = std::mem::take(&mut t.in_flight);
    let dropped: Vec<u64> = all.drain(keep.min(all.len())..).map(|r| r.0).collect();
    m.waiting += all.len() as u64;
    all.append(&mut t.receipts);
    t.receipts = all;
    dropped
}

/// Records one batch; false when there was nothing to record or the batch failed (the caller
/// then waits before trying again).
async fn flush_once(worker: &ModelWorker, shared: &Shared) -> bool {
    let Some(batch) = take_batch(&mut shared.meter.lock().expect("meter")) else {
        return false;
    };
    // Noted before it is sent, so that a restart can tell whether it reached the chain.
    if let Err(e) = shared.store.batch_sent(batch.in_flight.clone()).await {
        warn!(error = %format!("{e:#}"), "cannot note the usage batch in the store; not sending it");
        let mut m = shared.meter.lock().expect("meter");
        for id in &batch.tokens {
            requeue(&mut m, *id, usize::MAX);
        }
        return false;
    }
    let calls: u64 = batch.amounts.iter().map(|a| a.to::<u64>()).sum();
    let tokens = batch.tokens;
    let sent = worker
        .client()
        .send(
            MODEL_REGISTRY_ADDRESS,
            M::recordUsageCall {
                modelId: shared.record.id,
                tokenIds: tokens.clone(),
                amounts: batch.amounts,
                receiptsRoot: batch.root,
            },
            U256::ZERO,
        )
        .await;
    let done = match sent {
        Ok(receipt) => {
            let mut done = Vec::with_capacity(tokens.len());
            let mut m = shared.meter.lock().expect("meter");
            m.generation += 1;
            for id in &tokens {
                if let Some(t) = m.tokens.get_mut(id) {
                    let n = t.in_flight.len() as u64;
                    t.chain_value = t.chain_value.saturating_sub(U256::from(n));
                    t.recorded = t.recorded.saturating_add(n);
                    done.push((*id, t.in_flight.drain(..).map(|r| r.0).collect()));
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
            Ok(done)
        }
        Err(e) => {
            warn!(error = %format!("{e:#}"), calls, "recording usage failed; reconciling with the chain");
            shared.stats.lock().expect("stats").failed_batches += 1;
            let mut done = Vec::with_capacity(tokens.len());
            for id in &tokens {
                done.push((*id, reconcile(shared, *id).await));
            }
            Err(done)
        }
    };
    let (ok, done) = match done {
        Ok(d) => (true, d),
        Err(d) => (false, d),
    };
    if let Err(e) = shared.store.batch_settled(done).await {
        // The batch stays noted as in flight: a restart reads the chain to settle it.
        warn!(error = %format!("{e:#}"), "cannot clear the settled usage batch from the store");
    }
    ok
}

/// After a failed batch: reads the token from the chain. If the chain did record the batch
/// (its receipt was only late), it counts as recorded; otherwise the calls wait for the next
/// batch, except those that no longer fit (the token expired): those were served unpaid and
/// are dropped with a warning. Returns the counters of the calls no longer pending.
async fn reconcile(shared: &Shared, id: U256) -> Vec<u64> {
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
        return Vec::new();
    };
    let owed = t.in_flight.len() as u64;
    if let Some(used) = used
        && used >= t.recorded.saturating_add(owed)
    {
        t.recorded = used;
        if let Some(info) = &info {
            t.chain_value = info.value;
        }
        let done = t.in_flight.drain(..).map(|r| r.0).collect();
        shared.stats.lock().expect("stats").calls_recorded += owed;
        return done;
    }
    let Some(info) = info else {
        // The chain cannot be read: try the same calls again later.
        return requeue(&mut m, id, usize::MAX);
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
            .saturating_sub(t.receipts.len() as u64 + t.signing)
    };
    let kept = owed.min(fits);
    if kept < owed {
        warn!(token = %id, unpaid = owed - kept, expired, "calls served that the token can no longer pay for");
    }
    requeue(&mut m, id, kept as usize)
}

/// Rebuilds the meter from what a previous run left in the store: the callers' nonces and the
/// calls it served and did not record. A batch it was recording counts as recorded when the
/// chain's `usageOf` shows it.
async fn restore(
    reader: &lazai_client::Client,
    store: &store::Store,
    restored: store::Restored,
) -> Result<Meter> {
    let mut m = Meter {
        nonces: restored.nonces,
        ..Meter::default()
    };
    let mut done: Vec<(U256, Vec<u64>)> = Vec::new();
    for (id, mut calls) in restored.pending {
        let info = reader
            .call(DAT_ADDRESS, D::tokenInfoCall { tokenId: id })
            .await
            .with_context(|| format!("read usage token {id} to restore its served calls"))?;
        let used = reader
            .call(
                DAT_ADDRESS,
                D::usageOfCall {
                    tokenId: id,
                    metricType: calls_metric(),
                },
            )
            .await
            .with_context(|| format!("read the usage of token {id}"))?;
        let used = u64::try_from(used).unwrap_or(u64::MAX);
        let mut gone = Vec::new();
        if let Some(f) = restored.in_flight.get(&id)
            && used >= f.recorded_before.saturating_add(f.counters.len() as u64)
        {
            let recorded: std::collections::HashSet<u64> = f.counters.iter().copied().collect();
            calls.retain(|(c, _)| {
                let was = recorded.contains(c);
                if was {
                    gone.push(*c);
                }
                !was
            });
        }
        done.push((id, gone));
        if calls.is_empty() {
            continue;
        }
        let n = calls.len() as u64;
        let last = calls.iter().map(|c| c.0).max().unwrap_or_default();
        info!(token = %id, calls = n, "calls served before a restart wait for a batch");
        m.waiting += n;
        m.tokens.insert(
            id,
            TokenState {
                owner: info.owner,
                class: info.classId,
                expire_at: info.expireAt,
                chain_value: info.value,
                signing: 0,
                receipts: calls,
                in_flight: Vec::new(),
                used: used.saturating_add(n).max(last),
                recorded: used,
                fetched: std::time::Instant::now(),
            },
        );
    }
    for id in restored.in_flight.keys() {
        if !done.iter().any(|(d, _)| d == id) {
            done.push((*id, Vec::new()));
        }
    }
    if !done.is_empty() {
        store.batch_settled(done).await?;
    }
    Ok(m)
}

/// The server's store in `work_dir`: one file per chain, node and registered model (a model
/// id reused by a fresh chain gets a fresh file).
fn store_path(
    work_dir: &std::path::Path,
    chain_id: u64,
    node: Address,
    record: &M::Model,
) -> std::path::PathBuf {
    use alloy::sol_types::SolValue;
    let identity = keccak256(
        (
            U256::from(chain_id),
            node,
            record.id,
            record.modelHash,
            U256::from(record.registeredAt),
        )
            .abi_encode_params(),
    );
    work_dir.join(format!(
        "inference-{}-{}.redb",
        record.id,
        alloy_primitives::hex::encode(&identity[..8])
    ))
}

/// Starts serving `model` (registered as `record`) with `worker`'s key. What a previous server
/// of the same model left in the worker's work dir (nonces, unrecorded calls) is restored
/// first (see the module docs).
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
    let reader = lazai_client::Client::read(&worker.cfg.rpc)?;
    let path = store_path(
        &worker.cfg.work_dir,
        worker.chain_id,
        worker.address(),
        &record,
    );
    let (store, restored) = store::Store::open(&path)?;
    let meter = restore(&reader, &store, restored).await?;
    let shared = Arc::new(Shared {
        model,
        node: worker.address(),
        chain_id: worker.chain_id,
        signer: worker.cfg.signer.clone(),
        reader,
        metering: cfg.metering,
        require_request_signature: cfg.require_request_signature,
        batch_calls: cfg.batch_calls.max(1),
        record,
        store,
        meter: Mutex::new(meter),
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
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(Stop::No);
    let mut rx = stop_rx.clone();
    let server = tokio::spawn(async move {
        let stop = async move {
            let _ = rx.wait_for(|s| *s != Stop::No).await;
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
            let stop = *rx.borrow_and_update();
            if stop == Stop::Halt {
                let left = fl.meter.lock().expect("meter").waiting;
                info!(calls = left, "halted; unrecorded calls stay in the store");
                break;
            }
            if let Err(e) = worker.refresh_attestation().await {
                warn!(error = %format!("{e:#}"), "TEE evidence refresh failed");
            }
            while flush_once(&worker, &fl).await {
                if fl.meter.lock().expect("meter").waiting < fl.batch_calls {
                    break;
                }
            }
            if stop == Stop::Record {
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
