//! The routes: `POST /v1/predict` (check, charge, run, sign, store, answer) and
//! `GET /v1/models`.

use super::auth::parse_auth;
use super::errors::{ApiError, err};
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
