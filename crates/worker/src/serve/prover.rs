//! Proof of inference on the inference server: a call asking for `"proof": "zk"` opens a ZK
//! task on the Verifier (input commitment: Poseidon over the call's int8 input and a salt),
//! is answered at once with the task id, and is proved in the background by one prover
//! behind a bounded queue; the proof is posted with `submitZKProof`.
//!
//! Keys: the model's dev setup (lazai-zkml's seed from the model hash), registered as the
//! model's circuit (`registerModelCircuit`, as the model's worker) when the chain does not
//! already name it. Dev setups are forgeable and the chain accepts them only where genesis
//! enables them: elsewhere the server refuses to start with proofs on.

use super::errors::{ApiError, err};
use alloy_primitives::{Address, B256, Bytes, U256};
use anyhow::{Context as _, Result, bail};
use axum::http::StatusCode;
use lazai_abi::{IVerifier as X, MODE_ZK, VERIFIER_ADDRESS};
use lazai_client::{Client, event};
use lazai_model::QuantizedMlp;
use lazai_zkml::{Fr, Keys};
use std::sync::Arc;
use tokio::sync::mpsc;
use tracing::{info, warn};

/// Proofs on, with at most `queue` calls waiting to be proved.
#[derive(Clone, Copy, Debug)]
pub struct ZkServe {
    pub queue: usize,
}

impl Default for ZkServe {
    fn default() -> Self {
        Self { queue: 16 }
    }
}

/// One call to prove.
struct Job {
    task: U256,
    input: Vec<i8>,
    salt: Fr,
}

/// The server's proving side.
pub(super) struct Zk {
    pub(super) circuit: B256,
    pub(super) dev: bool,
    idao: U256,
    model_id: U256,
    node: Address,
    client: Client,
    jobs: mpsc::Sender<Job>,
}

/// What a proved call is answered with, beside the prediction.
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct ZkTask {
    pub task_id: U256,
    pub circuit_id: B256,
    /// The circuit comes from a dev (fixed-seed, forgeable) setup.
    pub dev: bool,
    /// Poseidon over the int8 input and the salt, as the task records it.
    pub input_commitment: B256,
    pub salt: B256,
    /// The int8 input the model ran on (the caller's own features, quantized), so the caller
    /// can recompute the commitment.
    pub input: Vec<i8>,
}

impl Zk {
    /// Sets proofs up for `model` (record `record`) served by `client`'s account: keys, the
    /// model's circuit on chain, the prover task.
    pub(super) async fn start(
        client: Client,
        model: &QuantizedMlp,
        record: &lazai_abi::IModelRegistry::Model,
        cfg: ZkServe,
    ) -> Result<Arc<Self>> {
        if !client
            .call(VERIFIER_ADDRESS, X::devSetupsEnabledCall {})
            .await?
        {
            bail!(
                "this chain does not accept dev ZK setups, and the server has no other keys: \
                 start it without proofs"
            );
        }
        let m = model.clone();
        let keys = tokio::task::spawn_blocking(move || lazai_zkml::dev_setup(&m))
            .await
            .context("dev setup")??;
        let circuit = lazai_abi::model_circuit_id(record.id, &keys.verifying.to_bytes());
        let current = client
            .call(VERIFIER_ADDRESS, X::modelCircuitCall { modelId: record.id })
            .await?;
        if current != circuit {
            client
                .send(
                    VERIFIER_ADDRESS,
                    X::registerModelCircuitCall {
                        modelId: record.id,
                        verifyingKey: Bytes::from(keys.verifying.to_bytes()),
                        dev: true,
                    },
                    U256::ZERO,
                )
                .await
                .context("register the model's circuit")?;
            info!(model = %record.id, %circuit, "registered the model's proof-of-inference circuit (dev setup)");
        }
        let (jobs, rx) = mpsc::channel(cfg.queue.max(1));
        let zk = Arc::new(Self {
            circuit,
            dev: true,
            idao: record.idaoId,
            model_id: record.id,
            node: client.from(),
            client,
            jobs,
        });
        tokio::spawn(prover(zk.clone(), Arc::new(keys), model.clone(), rx));
        Ok(zk)
    }

    /// Opens the task of one call: a queue place is taken first (503 when full, nothing
    /// opened), then `createTask`.
    pub(super) async fn open(&self, input: Vec<i8>, salt: Fr) -> Result<ZkTask, ApiError> {
        let permit = self.jobs.clone().try_reserve_owned().map_err(|_| {
            err(
                StatusCode::SERVICE_UNAVAILABLE,
                "proof_queue_full",
                "too many calls are waiting to be proved; try again later".to_string(),
            )
        })?;
        let commitment = B256::from(lazai_zkml::fr_to_be(&lazai_zkml::commitment(&input, salt)));
        let receipt = self
            .client
            .send(
                VERIFIER_ADDRESS,
                X::createTaskCall {
                    idaoId: self.idao,
                    modelId: self.model_id,
                    circuitId: self.circuit,
                    mode: MODE_ZK,
                    inputCommitment: commitment,
                    worker: self.node,
                },
                U256::ZERO,
            )
            .await
            .map_err(|e| {
                err(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "task_failed",
                    format!("cannot open the call's ZK task: {e:#}"),
                )
            })?;
        let created = event::<X::TaskCreated>(&receipt, VERIFIER_ADDRESS).map_err(|e| {
            err(
                StatusCode::INTERNAL_SERVER_ERROR,
                "task_failed",
                format!("{e:#}"),
            )
        })?;
        let task = ZkTask {
            task_id: created.taskId,
            circuit_id: self.circuit,
            dev: self.dev,
            input_commitment: commitment,
            salt: B256::from(lazai_zkml::fr_to_be(&salt)),
            input: input.clone(),
        };
        permit.send(Job {
            task: created.taskId,
            input,
            salt,
        });
        Ok(task)
    }
}

/// Proves queued calls one at a time and posts each proof.
async fn prover(zk: Arc<Zk>, keys: Arc<Keys>, model: QuantizedMlp, mut rx: mpsc::Receiver<Job>) {
    let model = Arc::new(model);
    while let Some(job) = rx.recv().await {
        let (k, m) = (keys.clone(), model.clone());
        let task = job.task;
        let started = std::time::Instant::now();
        let proved = tokio::task::spawn_blocking(move || {
            let id = lazai_zkml::fr_from_be(&task.to_be_bytes::<32>())?;
            lazai_zkml::prove(&k, &m, &job.input, job.salt, id)
        })
        .await;
        let (proof, statement) = match proved {
            Ok(Ok(p)) => p,
            Ok(Err(e)) => {
                warn!(%task, error = %e, "cannot prove the call; its task stays pending");
                continue;
            }
            Err(e) => {
                warn!(%task, error = %e, "the prover stopped; the task stays pending");
                continue;
            }
        };
        let prove_ms = started.elapsed().as_millis() as u64;
        let signals: Vec<U256> = statement
            .public_signals()
            .iter()
            .map(|f| U256::from_be_bytes(lazai_zkml::fr_to_be(f)))
            .collect();
        match zk
            .client
            .send(
                VERIFIER_ADDRESS,
                X::submitZKProofCall {
                    taskId: task,
                    zkProof: Bytes::from(proof.to_bytes()),
                    publicSignals: signals,
                },
                U256::ZERO,
            )
            .await
        {
            Ok(r) => {
                info!(%task, prove_ms, gas = r.gas_used, "proof of inference verified on chain")
            }
            Err(e) => {
                warn!(%task, error = %format!("{e:#}"), "submitZKProof failed; the task stays pending")
            }
        }
    }
}
