//! The routes: `POST /v1/predict` (check, charge, run, sign, store, answer) and
//! `GET /v1/models`.

use super::auth::parse_auth;
use super::errors::{ApiError, err};
use super::prover::ZkTask;
use super::receipt::{Prediction, Receipt, input_hash, output_hash, request_id};
use super::state::Shared;
use alloy_primitives::Bytes;
use alloy_signer::SignerSync;
use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use serde::Deserialize;
use serde_json::json;
use std::sync::Arc;

#[derive(Deserialize)]
struct PredictBody {
    features: Vec<f64>,
    /// `"zk"`: answer with a Verifier task and prove the call in the background;
    /// `"optimistic"`: post the result with a bond, open to challenges for a window.
    #[serde(default)]
    proof: Option<String>,
    /// The commitment's salt (32 bytes, hex, below the BN254 scalar field's modulus);
    /// default: a random one, given back in the answer.
    #[serde(default)]
    salt: Option<alloy_primitives::B256>,
    /// Commit with salt 0, so that whoever is shown the input can recompute the commitment.
    #[serde(default)]
    clear: bool,
}

/// Features as a call sends them to thousandths, what the model takes: each finite and of
/// magnitude at most 1e6, rounded.
pub fn features_to_milli(features: &[f64]) -> Result<Vec<i32>, String> {
    features
        .iter()
        .enumerate()
        .map(|(i, &x)| {
            if !x.is_finite() || x.abs() > 1e6 {
                return Err(format!(
                    "feature {i} must be a finite number of magnitude at most 1e6"
                ));
            }
            Ok((x * 1000.0).round() as i32)
        })
        .collect()
}

/// What a call's proof needs, checked before anything is charged: its int8 input, and the
/// salt of a ZK commitment.
enum ProofAsk {
    Zk {
        input: Vec<i8>,
        salt: lazai_zkml::Fr,
    },
    Optimistic {
        input: Vec<i8>,
    },
}

/// The task a call's proof opened.
#[derive(Default)]
struct Opened {
    zk: Option<ZkTask>,
    optimistic: Option<crate::optimistic::OptimisticTask>,
}

impl Opened {
    fn task_id(&self) -> Option<alloy_primitives::U256> {
        self.zk
            .as_ref()
            .map(|z| z.task_id)
            .or(self.optimistic.as_ref().map(|o| o.task_id))
    }
}

impl Shared {
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
        let milli = features_to_milli(&body.features)
            .map_err(|e| err(StatusCode::BAD_REQUEST, "bad_input", e))?;
        let logits = self
            .model
            .logits(&milli)
            .map_err(|e| err(StatusCode::BAD_REQUEST, "bad_input", e.to_string()))?;
        let class = lazai_model::argmax(&logits) as u32;
        Ok((milli, class, logits))
    }

    /// The proof a call asks for, if any: refused (before any charge) when this server does
    /// not prove, the proof kind is unknown or the salt is not a field element.
    fn proof_ask(&self, body: &PredictBody, milli: &[i32]) -> Result<Option<ProofAsk>, ApiError> {
        let bad = |code: &'static str, msg: String| err(StatusCode::BAD_REQUEST, code, msg);
        match body.proof.as_deref() {
            None => return Ok(None),
            Some("zk") => {}
            Some("optimistic") => {
                if self.optimistic.is_none() {
                    return Err(bad(
                        "optimistic_unavailable",
                        "this server does not post optimistic results (started without them)"
                            .into(),
                    ));
                }
                if body.salt.is_some() || body.clear {
                    return Err(bad(
                        "bad_salt",
                        "\"salt\" and \"clear\" are for \"zk\" proofs".into(),
                    ));
                }
                let input = self
                    .model
                    .quantize_input(milli)
                    .map_err(|e| bad("bad_input", e.to_string()))?;
                return Ok(Some(ProofAsk::Optimistic { input }));
            }
            Some(other) => {
                return Err(bad(
                    "bad_proof",
                    format!("proof {other:?}: the server offers \"zk\" and \"optimistic\""),
                ));
            }
        }
        if self.zk.is_none() {
            return Err(bad(
                "zk_unavailable",
                "this server does not prove its calls (started without proofs)".into(),
            ));
        }
        let salt = match (body.clear, body.salt) {
            (true, Some(_)) => {
                return Err(bad(
                    "bad_salt",
                    "\"clear\" and \"salt\" exclude each other".into(),
                ));
            }
            (true, None) => lazai_zkml::Fr::from(0u64),
            (false, Some(s)) => {
                lazai_zkml::fr_from_be(&s.0).map_err(|e| bad("bad_salt", format!("salt: {e}")))?
            }
            (false, None) => lazai_zkml::random_salt(),
        };
        let input = self
            .model
            .quantize_input(milli)
            .map_err(|e| bad("bad_input", e.to_string()))?;
        Ok(Some(ProofAsk::Zk { input, salt }))
    }

    async fn open_task(
        &self,
        ask: Option<ProofAsk>,
        user: alloy_primitives::Address,
    ) -> Result<Opened, ApiError> {
        match (ask, &self.zk, &self.optimistic) {
            (Some(ProofAsk::Zk { input, salt }), Some(zk), _) => Ok(Opened {
                zk: Some(zk.open(input, salt).await?),
                ..Opened::default()
            }),
            (Some(ProofAsk::Optimistic { input }), _, Some(poster)) => {
                let task = poster.post(&input, user).await.map_err(|e| {
                    err(
                        StatusCode::SERVICE_UNAVAILABLE,
                        "task_failed",
                        format!("cannot post the call's optimistic result: {e:#}"),
                    )
                })?;
                Ok(Opened {
                    optimistic: Some(task),
                    ..Opened::default()
                })
            }
            _ => Ok(Opened::default()),
        }
    }
}

pub(super) async fn predict(
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
        let (milli, class, logits) = s.run_model(&body)?;
        let ask = s.proof_ask(&body, &milli)?;
        let opened = s.open_task(ask, alloy_primitives::Address::ZERO).await?;
        s.stats.lock().expect("stats").calls += 1;
        return Ok(Json(Prediction {
            class,
            logits,
            receipt: None,
            remaining: None,
            zk: opened.zk,
            optimistic: opened.optimistic,
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
    let ask = s.proof_ask(&body, &milli)?;
    let (counter, left) = s.reserve(&auth)?;
    // The task is opened once the call is reserved (so it is never opened for a call that
    // is then refused); a task that cannot be opened releases the reservation.
    let opened = match s.open_task(ask, auth.user).await {
        Ok(o) => o,
        Err(e) => {
            s.settle(auth.token, None);
            return Err(e);
        }
    };
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
        task_id: opened.task_id(),
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
        zk: opened.zk,
        optimistic: opened.optimistic,
    }))
}

pub(super) async fn models(State(s): State<Arc<Shared>>) -> Json<serde_json::Value> {
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
            "classes": s.model.classes(),
            "pricePerCall": r.pricePerCall.to_string(),
            "node": s.node,
            "chainId": s.chain_id,
            "metering": s.metering,
            "requestSignatureRequired": s.require_request_signature,
        }]
    }))
}
