//! The client of a served model: finds the serving node and chain (`GET /v1/models`), signs a
//! call with both signatures ([`SignedRequest`]) and reads the prediction.

use super::receipt::Prediction;
use super::request::SignedRequest;
use alloy::transports::http::reqwest;
use alloy_primitives::{Address, U256};
use alloy_signer_local::PrivateKeySigner;
use anyhow::{Context as _, anyhow};

/// A served model as its clients address it.
#[derive(Clone, Debug)]
pub struct ServedModel {
    http: reqwest::Client,
    /// The server's base URL, without a trailing `/`.
    pub base: String,
    /// The worker serving it: what the request signatures name, and the receipts' signer.
    pub node: Address,
    pub chain_id: u64,
}

/// Why [`ServedModel::call_signed`] gave no prediction.
#[derive(Debug, thiserror::Error)]
pub enum PredictError {
    /// The server answered with an error status (its JSON error body, as text).
    #[error("{status}: {body}")]
    Refused {
        status: reqwest::StatusCode,
        body: String,
    },
    /// The server could not be reached, or its answer was not a prediction.
    #[error(transparent)]
    Other(#[from] anyhow::Error),
}

impl ServedModel {
    /// The model served at `base` by `node` on chain `chain_id`.
    pub fn new(base: &str, node: Address, chain_id: u64) -> Self {
        Self {
            http: reqwest::Client::new(),
            base: base.trim_end_matches('/').to_string(),
            node,
            chain_id,
        }
    }

    /// Asks the server at `base` which node serves its model, on which chain.
    pub async fn discover(base: &str) -> anyhow::Result<Self> {
        let mut served = Self::new(base, Address::ZERO, 0);
        let base = &served.base;
        let models: serde_json::Value = serde_json::from_slice(
            &served
                .http
                .get(format!("{base}/v1/models"))
                .send()
                .await
                .with_context(|| format!("reach {base}"))?
                .bytes()
                .await?,
        )?;
        served.node = models["data"][0]["node"]
            .as_str()
            .ok_or_else(|| anyhow!("{base}/v1/models names no node"))?
            .parse()?;
        served.chain_id = models["data"][0]["chainId"]
            .as_u64()
            .ok_or_else(|| anyhow!("{base}/v1/models names no chain id"))?;
        Ok(served)
    }

    /// Calls `POST /v1/predict` with `features`, as `signer` with `nonce`, charged to
    /// `usage_token`; the receipt is returned unchecked (see [`super::Receipt::signer`]).
    pub async fn call_signed(
        &self,
        signer: &PrivateKeySigner,
        nonce: U256,
        usage_token: U256,
        features: &[f64],
    ) -> Result<Prediction, PredictError> {
        self.call_signed_body(
            signer,
            nonce,
            usage_token,
            serde_json::json!({ "features": features }),
        )
        .await
    }

    /// A signed call asking for a proof of inference (`"proof": "zk"`), its input committed
    /// with a random salt the server gives back, or with salt 0 when `clear`. The answer's
    /// `zk` names the Verifier task the server proves in the background.
    pub async fn call_proved(
        &self,
        signer: &PrivateKeySigner,
        nonce: U256,
        usage_token: U256,
        features: &[f64],
        clear: bool,
    ) -> Result<Prediction, PredictError> {
        let p = self
            .call_signed_body(
                signer,
                nonce,
                usage_token,
                serde_json::json!({ "features": features, "proof": "zk", "clear": clear }),
            )
            .await?;
        if p.zk.is_none() {
            return Err(anyhow!("the server answered without a ZK task").into());
        }
        Ok(p)
    }

    /// A signed call asking for an optimistic result (`"proof": "optimistic"`): the answer's
    /// `optimistic` names the task the server posted with a bond.
    pub async fn call_optimistic(
        &self,
        signer: &PrivateKeySigner,
        nonce: U256,
        usage_token: U256,
        features: &[f64],
    ) -> Result<Prediction, PredictError> {
        let p = self
            .call_signed_body(
                signer,
                nonce,
                usage_token,
                serde_json::json!({ "features": features, "proof": "optimistic" }),
            )
            .await?;
        if p.optimistic.is_none() {
            return Err(anyhow!("the server answered without an optimistic task").into());
        }
        Ok(p)
    }

    /// A signed call with any JSON body.
    pub async fn call_signed_body(
        &self,
        signer: &PrivateKeySigner,
        nonce: U256,
        usage_token: U256,
        body: serde_json::Value,
    ) -> Result<Prediction, PredictError> {
        let body = serde_json::to_vec(&body).map_err(anyhow::Error::from)?;
        let signed = SignedRequest::sign(
            signer,
            signer.address(),
            self.chain_id,
            self.node,
            nonce,
            usage_token,
            &body,
        )
        .map_err(anyhow::Error::from)?;
        let mut req = self
            .http
            .post(format!("{}/v1/predict", self.base))
            .header("content-type", "application/json");
        for (name, value) in signed.headers() {
            req = req.header(name, value);
        }
        let resp = req.body(body).send().await.map_err(anyhow::Error::from)?;
        let status = resp.status();
        let body = resp.bytes().await.map_err(anyhow::Error::from)?;
        if !status.is_success() {
            return Err(PredictError::Refused {
                status,
                body: String::from_utf8_lossy(&body).into_owned(),
            });
        }
        Ok(serde_json::from_slice(&body).map_err(anyhow::Error::from)?)
    }
}
