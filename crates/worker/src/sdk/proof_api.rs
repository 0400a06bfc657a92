//! LazAI's node HTTP API, as LazAI's SDK calls it: `POST /proof` with a `ProofRequest`.
//!
//! A contributor using the SDK registers the file's URL (`addFile` / `addFileWithHash`),
//! pays for a job (`VerifiedComputing.requestProof`), reads the job's node and its `url` and
//! `publicKey`, wraps the file's password to that key and posts
//!
//! ```json
//! {"job_id": 1, "file_id": 1, "file_url": "https://…", "encryption_key": "<hex>",
//!  "encryption_seed": "Sign to retrieve your encryption key", "proof_url": null, "nonce": null}
//! ```
//!
//! The node then, in order: checks the request against the chain (the job exists, is
//! assigned to this node, is for this file, is still submitted; the URL is the one
//! registered), fetches the file ([`super::fetch`]: size and time limits, public addresses
//! only unless allowed), unwraps the password ([`super::node_key`]), decrypts the OpenPGP
//! message ([`super::pgp`]), checks the plaintext against the registered hash when that is a
//! SHA-256 hex digest (as the SDK's `add_file_with_hash` registers), scores it with the
//! schema of the iDAO it serves ([`super::text::evaluate_sdk`]), and posts `addProof`,
//! `completeJob` and `claim` (when it has earned something) as LazAI's node does. It answers
//! `{"success": true, "score": N}` once the job is completed on chain, or
//! `{"error": {"message", "type", "code"}}` (`type` as LazAI's node names it, `code` the same
//! stable word) with an HTTP status: 400 a request that can never succeed as sent, 403 a job
//! of another node, 404 an unknown job or file, 409 a job that is not open (or is being
//! proved right now), 413 a file over the limits, 422 a file that cannot be proved (it does
//! not decrypt, is not what was registered, or is rejected by the schema), 502 a fetch or
//! chain failure worth retrying.
//!
//! The plaintext stays in memory (zeroed when dropped): it never touches disk or logs. A
//! request that fails posts nothing; the job stays open for a corrected request.

use std::collections::HashSet;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, RwLock};

use alloy_primitives::{Address, Bytes, U256};
use alloy_signer::SignerSync;
use alloy_signer_local::PrivateKeySigner;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use lazai_abi::{
    DATA_REGISTRY_ADDRESS, IDataRegistry as R, IVerifiedComputing as V, IVsc,
    VERIFIED_COMPUTING_ADDRESS, VSC_ADDRESS, proof_digest, registry::MAX_URL_BYTES,
};
use lazai_client::Client;
use serde::Deserialize;
use serde_json::{Value, json};
use tracing::{info, warn};

use super::fetch::{FetchError, FetchPolicy, fetch};
use super::node_key::NodeKey;
use super::pgp::{PgpError, decrypt_symmetric};
use crate::schema::Schema;
use crate::score::{Limits, RowHash};

/// Largest `ProofRequest` body, in bytes.
pub const MAX_REQUEST_BYTES: usize = 64 * 1024;
/// Largest decrypted file by default, in bytes.
pub const DEFAULT_MAX_PLAINTEXT: usize = 256 << 20;

/// How the API is served.
#[derive(Clone, Debug)]
pub struct ProofApiConfig {
    /// Where it listens (`127.0.0.1:0`: a free port on loopback).
    pub listen: SocketAddr,
    /// How files are fetched.
    pub fetch: FetchPolicy,
    /// Largest decrypted file, in bytes.
    pub max_plaintext: usize,
}

impl Default for ProofApiConfig {
    fn default() -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            fetch: FetchPolicy::default(),
            max_plaintext: DEFAULT_MAX_PLAINTEXT,
        }
    }
}

/// Row hashes shared between the worker's poll loop (which replaces the set as flows are
/// verified) and the API.
pub(crate) type SharedRows = Arc<RwLock<Arc<HashSet<RowHash>>>>;

/// What a request handler needs.
pub(crate) struct ProofService {
    pub client: Client,
    pub signer: PrivateKeySigner,
    pub idao: U256,
    pub key: Arc<NodeKey>,
    pub fetch: FetchPolicy,
    pub limits: Limits,
    pub max_plaintext: usize,
    /// Rows of the files the iDAO's flows accepted.
    pub accepted: SharedRows,
    /// Rows of the files proved through this API since the worker started.
    pub proved_rows: SharedRows,
    /// Jobs being served now (by this API or by the worker's poll loop).
    pub busy: Arc<Mutex<HashSet<U256>>>,
    /// One RSA unwrap at a time (see [`super::node_key`]).
    pub unwrap_lock: tokio::sync::Mutex<()>,
    /// Files fetched, decrypted and scored at once ([`VERIFY_SLOTS`]); more requests wait.
    pub verify_slots: tokio::sync::Semaphore,
}

/// How many files the API fetches, decrypts and scores at once: each may hold a fetched file
/// and its plaintext in memory, up to the configured limits.
pub const VERIFY_SLOTS: usize = 2;

/// The API's routes.
pub(crate) fn router(service: Arc<ProofService>) -> Router {
    Router::new()
        .route("/proof", post(proof))
        .route("/", get(about))
        .layer(DefaultBodyLimit::max(MAX_REQUEST_BYTES))
        .with_state(service)
}

/// A refusal: an HTTP status and a stable code.
#[derive(Debug)]
pub struct ProofError {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
}

fn refuse(status: StatusCode, code: &'static str, message: impl Into<String>) -> ProofError {
    ProofError {
        status,
        code,
        message: message.into(),
    }
}

impl IntoResponse for ProofError {
    fn into_response(self) -> Response {
        (
            self.status,
            Json(json!({"error": {"message": self.message, "type": self.code, "code": self.code}})),
        )
            .into_response()
    }
}

/// A job or file id: a JSON number, or a decimal or `0x` hex string.
#[derive(Deserialize)]
#[serde(untagged)]
enum Id {
    Number(u64),
    Text(String),
}

impl Id {
    fn value(&self, field: &str) -> Result<U256, ProofError> {
        match self {
            Id::Number(n) => Ok(U256::from(*n)),
            Id::Text(t) => t.trim().parse::<U256>().map_err(|_| {
                refuse(
                    StatusCode::BAD_REQUEST,
                    "invalid_request",
                    format!("{field} must be a non-negative integer"),
                )
            }),
        }
    }
}

/// LazAI SDK's `ProofRequest` (alith's `lazai.node.types.ProofRequest`); unknown fields are
/// ignored, as pydantic does.
#[derive(Deserialize)]
struct ProofRequest {
    job_id: Id,
    file_id: Id,
    file_url: String,
    encryption_key: String,
    #[serde(default)]
    proof_url: Option<String>,
    // Sent by the SDK; the password is in `encryption_key`, so these are not used.
    #[serde(default)]
    #[allow(dead_code)]
    encryption_seed: Option<String>,
    #[serde(default)]
    #[allow(dead_code)]
    nonce: Option<Value>,
}

async fn about(State(s): State<Arc<ProofService>>) -> Json<Value> {
    Json(json!({
        "node": s.signer.address(),
        "idaoId": s.idao.to_string(),
        "publicKey": s.key.public_pem(),
        "endpoints": ["POST /proof"],
    }))
}

async fn proof(
    State(s): State<Arc<ProofService>>,
    body: Result<axum::body::Bytes, axum::extract::rejection::BytesRejection>,
) -> Result<Json<Value>, ProofError> {
    let body = body.map_err(|e| {
        refuse(
            e.status(),
            "invalid_request",
            format!("unreadable request body (at most {MAX_REQUEST_BYTES} bytes): {e}"),
        )
    })?;
    let req: ProofRequest = serde_json::from_slice(&body).map_err(|e| {
        refuse(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            format!("not a ProofRequest: {e}"),
        )
    })?;
    let job = req.job_id.value("job_id")?;
    let file = req.file_id.value("file_id")?;
    let outcome = s.prove(job, file, &req).await;
    match &outcome {
        Ok(score) => info!(job = %job, file = %file, score = ?score, "proof request served"),
        Err(e) => {
            warn!(job = %job, file = %file, code = e.code, error = %e.message, "proof request refused")
        }
    }
    let score = outcome?;
    Ok(Json(json!({"success": true, "score": score})))
}

/// Marks a job busy until dropped.
struct Busy<'a> {
    set: &'a Mutex<HashSet<U256>>,
    job: U256,
}

impl Drop for Busy<'_> {
    fn drop(&mut self) {
        if let Ok(mut set) = self.set.lock() {
            set.remove(&self.job);
        }
    }
}

/// Marks `job` busy; `None` when it already is.
pub(crate) fn claim_job(set: &Mutex<HashSet<U256>>, job: U256) -> Option<impl Drop + '_> {
    let mut jobs = set.lock().ok()?;
    jobs.insert(job).then_some(Busy { set, job })
}

fn chain(e: anyhow::Error) -> ProofError {
    refuse(
        StatusCode::BAD_GATEWAY,
        "chain_unavailable",
        format!("{e:#}"),
    )
}

impl ProofService {
    fn me(&self) -> Address {
        self.signer.address()
    }

    /// Serves one request; the score posted (`None` when an earlier request had posted it).
    async fn prove(
        &self,
        job: U256,
        file: U256,
        req: &ProofRequest,
    ) -> Result<Option<u16>, ProofError> {
        let _busy = claim_job(&self.busy, job).ok_or_else(|| {
            refuse(
                StatusCode::CONFLICT,
                "job_busy",
                format!("job {job} is being proved right now"),
            )
        })?;
        let record = self.open_job(job, file, &req.file_url).await?;
        let proved = self
            .client
            .call(DATA_REGISTRY_ADDRESS, R::jobProvedCall { jobId: job })
            .await
            .map_err(chain)?;
        let score = if proved {
            // An earlier request posted the proof and then failed to complete the job.
            None
        } else {
            let proof_url = req.proof_url.clone().unwrap_or_default();
            if proof_url.len() > MAX_URL_BYTES {
                return Err(refuse(
                    StatusCode::BAD_REQUEST,
                    "invalid_request",
                    format!("proof_url is longer than {MAX_URL_BYTES} bytes"),
                ));
            }
            let (score, rows) = self.verify(&record, &req.encryption_key).await?;
            self.post_proof(job, file, &record.url, proof_url, score)
                .await?;
            if let Ok(mut proved_rows) = self.proved_rows.write() {
                Arc::make_mut(&mut proved_rows).extend(rows);
            }
            Some(score)
        };
        self.client
            .send(
                VERIFIED_COMPUTING_ADDRESS,
                V::completeJobCall { jobId: job },
                U256::ZERO,
            )
            .await
            .map_err(|e| {
                chain(e.context(
                    "the proof is on chain but completing the job failed; send the request again",
                ))
            })?;
        self.claim_earnings().await;
        Ok(score)
    }

    /// The file's record, once the job checks out.
    async fn open_job(
        &self,
        job: U256,
        file: U256,
        url: &str,
    ) -> Result<R::FileResponse, ProofError> {
        let jobs = self
            .client
            .call(VERIFIED_COMPUTING_ADDRESS, V::jobsCountCall {})
            .await
            .map_err(chain)?;
        if job.is_zero() || job > jobs {
            return Err(refuse(
                StatusCode::NOT_FOUND,
                "job_not_found",
                format!("job {job} does not exist"),
            ));
        }
        let record = self
            .client
            .call(VERIFIED_COMPUTING_ADDRESS, V::getJobCall { jobId: job })
            .await
            .map_err(chain)?;
        if record.status == V::JobStatus::None {
            return Err(refuse(
                StatusCode::NOT_FOUND,
                "job_not_found",
                format!("job {job} does not exist"),
            ));
        }
        if record.nodeAddress != self.me() {
            return Err(refuse(
                StatusCode::FORBIDDEN,
                "wrong_node",
                format!(
                    "job {job} is assigned to node {}, not to this node ({})",
                    record.nodeAddress,
                    self.me()
                ),
            ));
        }
        if record.fileId != file {
            return Err(refuse(
                StatusCode::BAD_REQUEST,
                "file_mismatch",
                format!("job {job} is for file {}, not file {file}", record.fileId),
            ));
        }
        if record.status != V::JobStatus::Submitted {
            let status = match record.status {
                V::JobStatus::Completed => "completed",
                V::JobStatus::Canceled => "canceled",
                _ => "not open",
            };
            return Err(refuse(
                StatusCode::CONFLICT,
                "job_closed",
                format!("job {job} is {status}"),
            ));
        }
        let registered = self
            .client
            .call(DATA_REGISTRY_ADDRESS, R::getFileCall { fileId: file })
            .await
            .map_err(|e| {
                refuse(
                    StatusCode::NOT_FOUND,
                    "file_not_found",
                    format!("file {file}: {e:#}"),
                )
            })?;
        if registered.url != url {
            return Err(refuse(
                StatusCode::BAD_REQUEST,
                "url_mismatch",
                format!("file_url is not the URL registered for file {file}"),
            ));
        }
        Ok(registered)
    }

    /// Fetches, decrypts and scores the file: its score and new rows.
    async fn verify(
        &self,
        file: &R::FileResponse,
        encryption_key: &str,
    ) -> Result<(u16, Vec<RowHash>), ProofError> {
        let _slot = self.verify_slots.acquire().await.map_err(|e| {
            refuse(
                StatusCode::SERVICE_UNAVAILABLE,
                "shutting_down",
                e.to_string(),
            )
        })?;
        let blob = fetch(&file.url, &self.fetch).await.map_err(fetch_refusal)?;
        let password = {
            let _one = self.unwrap_lock.lock().await;
            let key = self.key.clone();
            let wrapped = encryption_key.to_string();
            tokio::task::spawn_blocking(move || key.unwrap_password(&wrapped))
                .await
                .map_err(|e| {
                    refuse(
                        StatusCode::INTERNAL_SERVER_ERROR,
                        "internal_error",
                        e.to_string(),
                    )
                })?
                .map_err(|e| {
                    refuse(
                        StatusCode::BAD_REQUEST,
                        "invalid_encryption_key",
                        e.to_string(),
                    )
                })?
        };
        let schema = self.schema().await?;
        let accepted = self
            .accepted
            .read()
            .map(|a| Arc::clone(&a))
            .unwrap_or_default();
        let proved = self
            .proved_rows
            .read()
            .map(|a| Arc::clone(&a))
            .unwrap_or_default();
        let max = self.max_plaintext;
        let limits = self.limits;
        let hash = file.hash.clone();
        let evaluation = tokio::task::spawn_blocking(move || {
            let plaintext = decrypt_symmetric(&blob, &password, max).map_err(pgp_refusal)?;
            check_hash(&plaintext, &hash)?;
            let seen = |h: &RowHash| accepted.contains(h) || proved.contains(h);
            Ok::<_, ProofError>(crate::sdk::text::evaluate_sdk(
                &plaintext, &schema, &seen, &limits,
            ))
        })
        .await
        .map_err(|e| {
            refuse(
                StatusCode::INTERNAL_SERVER_ERROR,
                "internal_error",
                e.to_string(),
            )
        })??;
        if evaluation.score == 0 {
            return Err(refuse(
                StatusCode::UNPROCESSABLE_ENTITY,
                "rejected",
                format!(
                    "the file is rejected: {} (reason {}): {}",
                    evaluation.reason.describe(),
                    evaluation.reason.code(),
                    evaluation.detail
                ),
            ));
        }
        Ok((evaluation.score, evaluation.new_rows))
    }

    async fn schema(&self) -> Result<Schema, ProofError> {
        let config = self
            .client
            .call(VSC_ADDRESS, IVsc::dataConfigCall { idaoId: self.idao })
            .await
            .map_err(chain)?;
        Schema::parse(&config.schema).map_err(|e| {
            refuse(
                StatusCode::INTERNAL_SERVER_ERROR,
                "internal_error",
                format!("iDAO {} declares an invalid schema: {e}", self.idao),
            )
        })
    }

    async fn post_proof(
        &self,
        job: U256,
        file: U256,
        url: &str,
        proof_url: String,
        score: u16,
    ) -> Result<(), ProofError> {
        let data = R::ProofData {
            id: file,
            score: U256::from(score),
            fileUrl: url.to_string(),
            proofUrl: proof_url,
        };
        let (_, digest) = proof_digest(&data);
        let signature = self.signer.sign_hash_sync(&digest).map_err(|e| {
            refuse(
                StatusCode::INTERNAL_SERVER_ERROR,
                "internal_error",
                e.to_string(),
            )
        })?;
        let proof = R::Proof {
            signature: Bytes::from(signature.as_bytes().to_vec()),
            data,
        };
        self.client
            .send(
                DATA_REGISTRY_ADDRESS,
                R::addProofCall {
                    fileId: file,
                    proof,
                },
                U256::ZERO,
            )
            .await
            .map_err(chain)?;
        info!(job = %job, file = %file, score, "proof posted");
        Ok(())
    }

    /// Withdraws the node's earned fees, as LazAI's node does after each job; a failure only
    /// leaves them for the next time.
    async fn claim_earnings(&self) {
        let earned = match self
            .client
            .call(
                VERIFIED_COMPUTING_ADDRESS,
                V::getNodeCall {
                    nodeAddress: self.me(),
                },
            )
            .await
        {
            Ok(node) => node.amount,
            Err(_) => return,
        };
        if earned.is_zero() {
            return;
        }
        match self
            .client
            .send(VERIFIED_COMPUTING_ADDRESS, V::claimCall {}, U256::ZERO)
            .await
        {
            Ok(_) => info!(amount = %earned, "node fees claimed"),
            Err(e) => warn!(error = %format!("{e:#}"), "claiming node fees failed; left for later"),
        }
    }
}

/// The plaintext must hash to the file's registered hash when that is a SHA-256 hex digest
/// (LazAI's SDK registers `sha256(plaintext)` with `add_file_with_hash`); other hashes are
/// not checked.
fn check_hash(plaintext: &[u8], registered: &str) -> Result<(), ProofError> {
    let text = registered.trim();
    let digits = text.strip_prefix("0x").unwrap_or(text);
    if digits.len() != 64 || !digits.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Ok(());
    }
    use sha2::Digest as _;
    let actual = alloy_primitives::hex::encode(sha2::Sha256::digest(plaintext));
    if actual.eq_ignore_ascii_case(digits) {
        Ok(())
    } else {
        Err(refuse(
            StatusCode::UNPROCESSABLE_ENTITY,
            "hash_mismatch",
            "the decrypted file's SHA-256 is not the hash registered for it",
        ))
    }
}

fn fetch_refusal(e: FetchError) -> ProofError {
    let (status, code) = match &e {
        FetchError::BadUrl { .. } | FetchError::PrivateAddress { .. } => {
            (StatusCode::UNPROCESSABLE_ENTITY, "unfetchable_url")
        }
        FetchError::TooLarge { .. } => (StatusCode::PAYLOAD_TOO_LARGE, "file_too_large"),
        _ => (StatusCode::BAD_GATEWAY, "fetch_failed"),
    };
    refuse(status, code, format!("cannot fetch the file: {e}"))
}

fn pgp_refusal(e: PgpError) -> ProofError {
    let (status, code, message) = match &e {
        // The detail is left out on purpose: one answer for every wrong password, whether
        // it came from a bad RSA padding or a real wrapped password (see `node_key`).
        PgpError::WrongPassword => (
            StatusCode::UNPROCESSABLE_ENTITY,
            "wrong_key",
            "the file does not decrypt with the password encryption_key carries, or it was \
             altered: wrap the password to this node's publicKey (VerifiedComputing.getNode) \
             and encrypt the file with that password"
                .to_string(),
        ),
        PgpError::TooLarge { .. } => (
            StatusCode::PAYLOAD_TOO_LARGE,
            "file_too_large",
            e.to_string(),
        ),
        _ => (
            StatusCode::UNPROCESSABLE_ENTITY,
            "undecryptable_file",
            format!("the file is not a usable OpenPGP message: {e}"),
        ),
    };
    refuse(status, code, message)
}
