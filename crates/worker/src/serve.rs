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
//!
//! [`ServedModel`] is the client side: it finds the serving node, signs a call with both
//! signatures and reads the prediction (`lazai model call` and the demo use it).
//!
//! Inside: `handlers` (the routes), `auth` (headers and signatures), `meter` (charging usage
//! tokens), `batch` (recording usage on chain, restoring after a restart), `store` (the redb
//! file), `state`, `receipt`, `errors`, `request` (the request signature) and `client`.

mod auth;
mod batch;
mod client;
mod errors;
mod handlers;
mod meter;
mod prover;
mod receipt;
mod request;
mod state;
mod store;

pub use client::{PredictError, ServedModel};
pub use errors::ApiError;
pub use handlers::features_to_milli;
pub use prover::{ZkServe, ZkTask};
pub use receipt::{Prediction, Receipt, input_hash, output_hash, request_id};
pub use request::{REQUEST_SIGNATURE_HEADER, SignedRequest, request_digest, request_signer};
pub use state::{APPROVAL_TTL, EXPIRY_MARGIN_SECS, ServeStats, TOKEN_TTL};

use crate::train::ModelWorker;
use alloy_primitives::{Address, B256, U256, keccak256};
use anyhow::{Context as _, Result};
use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::routing::{get, post};
use lazai_abi::IModelRegistry as M;
use lazai_model::QuantizedMlp;
use state::Shared;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::Notify;
use tracing::{info, warn};

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
    /// Proofs of inference (`"proof": "zk"`) on, with their queue's size.
    pub zk: Option<ZkServe>,
    /// Optimistic results (`"proof": "optimistic"`) on, sealing inputs to this blob store.
    pub optimistic: Option<crate::optimistic::OptimisticServe>,
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
            zk: None,
            optimistic: None,
        }
    }
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
    let meter = batch::restore(&reader, &store, restored).await?;
    let zk = match cfg.zk {
        Some(z) => Some(prover::Zk::start(worker.client().clone(), &model, &record, z).await?),
        None => None,
    };
    let optimistic = match &cfg.optimistic {
        Some(o) => Some(
            crate::optimistic::Poster::start(
                worker.client().clone(),
                &worker.cfg.signer,
                &model,
                &record,
                o,
            )
            .await?,
        ),
        None => None,
    };
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
        zk,
        optimistic,
    });
    let listener = tokio::net::TcpListener::bind(cfg.listen)
        .await
        .with_context(|| format!("listen on {}", cfg.listen))?;
    let addr = listener.local_addr()?;
    let app = Router::new()
        .route("/v1/predict", post(handlers::predict))
        .route("/v1/models", get(handlers::models))
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
            while batch::flush_once(&worker, &fl).await {
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
                    if !batch::flush_once(&worker, &fl).await {
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
