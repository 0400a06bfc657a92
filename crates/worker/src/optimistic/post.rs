//! The worker's side of optimistic results: post each call's result with a bond (one
//! transaction: `postOptimisticResult`), keep its layer outputs, and reveal the disputed layer
//! whenever a challenger disputes one — honestly: the outputs revealed are the ones computed.
//!
//! The input is sealed to the worker itself too, so a restarted worker still defends what it
//! posted before: on start it finds its open results on chain, opens their inputs and
//! recomputes their layers (keeping those whose trace is this model's on that input).

use super::input::{challenger_secret, open_input, seal_input};
use alloy_primitives::{Address, B256, U256};
use anyhow::{Context as _, Result, anyhow};
use lazai_abi::verifier::TURN_WORKER;
use lazai_abi::{IVerifier as X, VERIFIER_ADDRESS};
use lazai_blob::BlobStore;
use lazai_client::{Client, event};
use lazai_model::QuantizedMlp;
use lazai_model::trace::{self, Trace, WeightTree};
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tracing::{info, warn};

/// Optimistic results on: where sealed inputs are stored for the challengers.
#[derive(Clone, Debug)]
pub struct OptimisticServe {
    /// The blob store location (`lazai_blob::BlobStore::open`) the iDAO's challengers read.
    pub blobs: String,
}

/// What an optimistic call is answered with, beside the prediction.
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct OptimisticTask {
    pub task_id: U256,
    /// `activations_hash` of the int8 input: the task's input commitment.
    pub input_hash: B256,
    /// The hash of the logits (the last layer's), the task's result hash.
    pub result_hash: B256,
    /// The root of the input sealed to the iDAO's challengers.
    pub input_blob: B256,
    /// Blocks during which it can be challenged.
    pub window: u64,
    /// The int8 input the model ran on, so the caller can recompute `input_hash`.
    pub input: Vec<i8>,
}

/// How many of the newest tasks a starting worker looks through for its open results.
pub const RECOVER_TASKS: u64 = 10_000;

/// A model served with optimistic results.
pub struct Poster {
    client: Client,
    /// This worker's X25519 key (from its account key), to which inputs are sealed too.
    secret: lazai_crypto::SecretKey,
    model: QuantizedMlp,
    tree: WeightTree,
    idao: U256,
    model_id: U256,
    store: BlobStore,
    /// Posted results not yet final: their layer outputs, for reveals.
    posted: Mutex<BTreeMap<U256, Vec<Vec<i64>>>>,
}

impl Poster {
    /// Commits the model's weights on chain when the chain does not already hold this root
    /// (as its worker), opens the blob store, takes back this worker's open results (see the
    /// module docs) and starts answering disputes. `signer` is `client`'s key.
    pub async fn start(
        client: Client,
        signer: &alloy_signer_local::PrivateKeySigner,
        model: &QuantizedMlp,
        record: &lazai_abi::IModelRegistry::Model,
        cfg: &OptimisticServe,
    ) -> Result<Arc<Self>> {
        let store = BlobStore::open(&cfg.blobs)
            .with_context(|| format!("open the blob store {}", cfg.blobs))?;
        let tree = WeightTree::new(model);
        let widths = trace::widths(model);
        if let Some(w) = widths
            .iter()
            .find(|&&w| w > lazai_abi::verifier::MAX_OPTIMISTIC_WIDTH)
        {
            return Err(anyhow!(
                "a layer {w} wide cannot be checked in one step (at most {}): serve it without optimistic results",
                lazai_abi::verifier::MAX_OPTIMISTIC_WIDTH
            ));
        }
        let root = B256::from(tree.root());
        let current = client
            .call(VERIFIER_ADDRESS, X::modelWeightsCall { modelId: record.id })
            .await
            .ok();
        if let Some(w) = current
            .as_ref()
            .filter(|w| (w.root, &w.widths) != (root, &widths))
        {
            warn!(model = %record.id, committed = %w.root, file = %root, set_by = %w.setBy,
                "the chain commits this model to another weights root than its file's");
        }
        if current.as_ref().map(|w| (w.root, &w.widths)) != Some((root, &widths)) {
            client
                .send(
                    VERIFIER_ADDRESS,
                    X::setModelWeightsCall {
                        modelId: record.id,
                        root,
                        widths,
                    },
                    U256::ZERO,
                )
                .await
                .context(
                    "commit the model's weights root (a worker commits once; only the iDAO's owner replaces a commitment)",
                )?;
            info!(model = %record.id, %root, "committed the model's weights for optimistic results");
        }
        let poster = Arc::new(Self {
            client,
            secret: challenger_secret(signer)?,
            model: model.clone(),
            tree,
            idao: record.idaoId,
            model_id: record.id,
            store,
            posted: Mutex::default(),
        });
        poster.recover().await?;
        tokio::spawn(defend(poster.clone()));
        Ok(poster)
    }

    /// Takes back this worker's open results on this model among the newest
    /// [`RECOVER_TASKS`] tasks: their layers recomputed from their sealed inputs.
    async fn recover(&self) -> Result<()> {
        let me = self.client.from();
        let count = self
            .client
            .call(VERIFIER_ADDRESS, X::tasksCountCall {})
            .await?
            .saturating_to::<u64>();
        let mut recovered = 0;
        for id in count.saturating_sub(RECOVER_TASKS) + 1..=count {
            let id = U256::from(id);
            let task = self
                .client
                .call(VERIFIER_ADDRESS, X::getTaskCall { taskId: id })
                .await?;
            if task.worker != me
                || task.mode != lazai_abi::MODE_OPTIMISTIC
                || task.modelId != self.model_id
                || (task.status != lazai_abi::TASK_PENDING
                    && task.status != lazai_abi::TASK_CHALLENGED)
            {
                continue;
            }
            let o = self
                .client
                .call(VERIFIER_ADDRESS, X::getOptimisticCall { taskId: id })
                .await?;
            let outputs = match open_input(&self.store, o.inputBlob, me, &self.secret).await {
                Ok(q) => self.model.layer_outputs(&q).ok().filter(|outs| {
                    Trace::from_outputs(self.tree.root(), &q, outs)
                        .layer_hashes
                        .iter()
                        .map(|h| B256::from(*h))
                        .eq(o.layerHashes.iter().copied())
                }),
                Err(_) => None,
            };
            match outputs {
                Some(outs) => {
                    self.posted.lock().expect("posted").insert(id, outs);
                    recovered += 1;
                }
                None => {
                    warn!(task = %id, "cannot defend an open result of this worker: its input does not open or its trace is not this model's")
                }
            }
        }
        if recovered > 0 {
            info!(recovered, "took back open optimistic results");
        }
        Ok(())
    }

    /// Posts the model's result on `input`: the refund of a proven fraud goes to `user`.
    pub async fn post(&self, input: &[i8], user: Address) -> Result<OptimisticTask> {
        let outputs = self.model.layer_outputs(input)?;
        self.post_outputs(input, outputs, user).await
    }

    /// Posts `outputs` as the layers' outputs on `input` and defends them. [`Self::post`]
    /// computes them; anything else is a claim the challengers will check.
    pub async fn post_outputs(
        &self,
        input: &[i8],
        outputs: Vec<Vec<i64>>,
        user: Address,
    ) -> Result<OptimisticTask> {
        let t = Trace::from_outputs(self.tree.root(), input, &outputs);
        let params = self
            .client
            .call(
                VERIFIER_ADDRESS,
                X::optimisticParamsCall { idaoId: self.idao },
            )
            .await?;
        let mut recipients: Vec<(Address, B256)> = self
            .client
            .call(VERIFIER_ADDRESS, X::challengersCall { idaoId: self.idao })
            .await?
            .into_iter()
            .filter(|c| c.deposit - c.locked >= params.challengerBond)
            .map(|c| (c.account, c.hpkeKey))
            .collect();
        let challengers = recipients.len();
        recipients.push((
            self.client.from(),
            B256::from(self.secret.public_key().to_bytes()),
        ));
        let blob = seal_input(&self.store, input, &recipients).await?;
        let layer_hashes: Vec<B256> = t.layer_hashes.iter().map(|h| B256::from(*h)).collect();
        let receipt = self
            .client
            .send(
                VERIFIER_ADDRESS,
                X::postOptimisticResultCall {
                    idaoId: self.idao,
                    modelId: self.model_id,
                    inputHash: B256::from(t.input_hash),
                    layerHashes: layer_hashes.clone(),
                    inputBlob: blob,
                    user,
                },
                params.workerBond,
            )
            .await
            .context("post the optimistic result")?;
        let posted = event::<X::OptimisticPosted>(&receipt, VERIFIER_ADDRESS)?;
        self.posted
            .lock()
            .expect("posted")
            .insert(posted.taskId, outputs);
        info!(task = %posted.taskId, gas = receipt.gas_used, challengers, "optimistic result posted");
        Ok(OptimisticTask {
            task_id: posted.taskId,
            input_hash: B256::from(t.input_hash),
            result_hash: posted.resultHash,
            input_blob: blob,
            window: posted.window,
            input: input.to_vec(),
        })
    }

    /// One pass over the posted results: reveal what disputes await, forget what is settled.
    pub async fn defend_once(&self) -> Result<()> {
        let tasks: Vec<U256> = self
            .posted
            .lock()
            .expect("posted")
            .keys()
            .copied()
            .collect();
        for id in tasks {
            let task = self
                .client
                .call(VERIFIER_ADDRESS, X::getTaskCall { taskId: id })
                .await?;
            if task.status == lazai_abi::TASK_VERIFIED || task.status == lazai_abi::TASK_FRAUD {
                self.posted.lock().expect("posted").remove(&id);
                continue;
            }
            if task.status != lazai_abi::TASK_CHALLENGED {
                continue;
            }
            let disputes = self
                .client
                .call(VERIFIER_ADDRESS, X::disputesCall { taskId: id })
                .await?;
            let mut layers: Vec<u32> = disputes
                .iter()
                .filter(|d| d.status == lazai_abi::verifier::DISPUTE_OPEN && d.turn == TURN_WORKER)
                .map(|d| d.layer)
                .collect();
            layers.sort_unstable();
            layers.dedup();
            for layer in layers {
                let values = {
                    let posted = self.posted.lock().expect("posted");
                    posted
                        .get(&id)
                        .and_then(|o| o.get(layer as usize))
                        .map(|v| trace::encode_values(v))
                };
                let Some(values) = values else { continue };
                match self
                    .client
                    .send(
                        VERIFIER_ADDRESS,
                        X::revealLayerCall {
                            taskId: id,
                            layer,
                            values: values.into(),
                        },
                        U256::ZERO,
                    )
                    .await
                {
                    Ok(r) => {
                        info!(task = %id, layer, gas = r.gas_used, "revealed a disputed layer")
                    }
                    Err(e) => {
                        warn!(task = %id, layer, error = %format!("{e:#}"), "cannot reveal a disputed layer")
                    }
                }
            }
        }
        Ok(())
    }
}

/// Answers disputes of the posted results every 250 ms for as long as the poster lives.
async fn defend(poster: Arc<Poster>) {
    loop {
        tokio::time::sleep(Duration::from_millis(250)).await;
        if Arc::strong_count(&poster) == 1 {
            return;
        }
        if let Err(e) = poster.defend_once().await {
            warn!(error = %format!("{e:#}"), "cannot check the posted optimistic results");
        }
    }
}
