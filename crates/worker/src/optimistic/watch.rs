//! `lazai challenger`: watches an iDAO's optimistic results, re-executes every one it can open
//! (a model it holds, an input sealed to it) and plays the fraud-proof game against the wrong
//! ones — only those: a result whose trace matches its own is left alone.

use super::input::{challenger_secret, open_input};
use alloy::providers::Provider as _;
use alloy::rpc::types::Filter;
use alloy::sol_types::SolEvent;
use alloy_primitives::{Address, B256, U256};
use anyhow::{Context as _, Result};
use lazai_abi::verifier::{
    DISPUTE_CHALLENGER_WON, DISPUTE_OPEN, DISPUTE_WORKER_WON, TURN_CHALLENGER, TURN_WORKER,
};
use lazai_abi::{
    IModelRegistry as M, IVerifier as X, MODE_OPTIMISTIC, MODEL_REGISTRY_ADDRESS, TASK_CHALLENGED,
    TASK_PENDING, VERIFIER_ADDRESS, claim_commitment,
};
use lazai_blob::BlobStore;
use lazai_client::Client;
use lazai_crypto::SecretKey;
use lazai_model::QuantizedMlp;
use lazai_model::trace::{self, WeightTree};
use std::collections::{BTreeMap, HashMap};
use tracing::{info, warn};

/// A model the challenger can re-execute.
struct Held {
    model: QuantizedMlp,
    tree: WeightTree,
    widths: Vec<u32>,
}

/// A result this challenger disputes: its own execution of it.
struct Disputed {
    input: Vec<i64>,
    outputs: Vec<Vec<i64>>,
    model: B256,
}

/// What the watcher did, for its log and its callers.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct WatchStats {
    /// Results re-executed.
    pub checked: u64,
    /// …and found right (left alone).
    pub correct: u64,
    pub challenged: u64,
    pub frauds_proven: u64,
    /// Disputes won because the worker never answered.
    pub won_by_timeout: u64,
    pub lost: u64,
    /// Results it could not open (no model, input not sealed to it, input not matching).
    pub skipped: u64,
}

pub struct Watcher {
    client: Client,
    me: Address,
    idao: U256,
    chain_id: u64,
    store: BlobStore,
    secret: SecretKey,
    /// By model hash.
    models: HashMap<B256, Held>,
    /// Model id → model hash, as read from the chain.
    ids: HashMap<U256, B256>,
    next: U256,
    disputed: BTreeMap<U256, Disputed>,
    pub stats: WatchStats,
}

impl Watcher {
    /// A watcher of `idao` signing with `client`'s account (`signer` its key, from which its
    /// X25519 key is derived), re-executing `models`, reading sealed inputs from `blobs`.
    /// Registers the account as a challenger with one challenge bond when its free deposit is
    /// below one (the same X25519 key otherwise). Results posted before it started are
    /// watched too.
    pub async fn start(
        client: Client,
        signer: &alloy_signer_local::PrivateKeySigner,
        idao: U256,
        models: Vec<QuantizedMlp>,
        blobs: &str,
    ) -> Result<Self> {
        let store =
            BlobStore::open(blobs).with_context(|| format!("open the blob store {blobs}"))?;
        let secret = challenger_secret(signer)?;
        let key = B256::from(secret.public_key().to_bytes());
        let me = client.from();
        let chain_id = client.provider().get_chain_id().await?;
        let params = client
            .call(VERIFIER_ADDRESS, X::optimisticParamsCall { idaoId: idao })
            .await?;
        let current = client
            .call(
                VERIFIER_ADDRESS,
                X::getChallengerCall {
                    idaoId: idao,
                    account: me,
                },
            )
            .await
            .ok();
        let free = current
            .as_ref()
            .map(|c| c.deposit - c.locked)
            .unwrap_or_default();
        if current.as_ref().map(|c| c.hpkeKey) != Some(key) || free < params.challengerBond {
            let top_up = params.challengerBond.saturating_sub(free);
            client
                .send(
                    VERIFIER_ADDRESS,
                    X::registerChallengerCall {
                        idaoId: idao,
                        hpkeKey: key,
                    },
                    top_up,
                )
                .await
                .context("register as a challenger")?;
            info!(%idao, deposit = %top_up, "registered as a challenger");
        }
        let models = models
            .into_iter()
            .map(|m| {
                let tree = WeightTree::new(&m);
                let widths = trace::widths(&m);
                (
                    B256::from(m.hash()),
                    Held {
                        model: m,
                        tree,
                        widths,
                    },
                )
            })
            .collect();
        Ok(Self {
            client,
            me,
            idao,
            chain_id,
            store,
            secret,
            models,
            ids: HashMap::new(),
            next: U256::from(1),
            disputed: BTreeMap::new(),
            stats: WatchStats::default(),
        })
    }

    /// One pass: new results checked (and challenged when wrong), open disputes played.
    pub async fn step(&mut self) -> Result<()> {
        let count = self
            .client
            .call(VERIFIER_ADDRESS, X::tasksCountCall {})
            .await?;
        while self.next <= count {
            let id = self.next;
            if let Err(e) = self.check(id).await {
                self.stats.skipped += 1;
                warn!(task = %id, error = %format!("{e:#}"), "cannot check an optimistic result");
            }
            self.next += U256::from(1);
        }
        let ids: Vec<U256> = self.disputed.keys().copied().collect();
        for id in ids {
            if let Err(e) = self.play(id).await {
                warn!(task = %id, error = %format!("{e:#}"), "dispute move failed; retrying");
            }
        }
        Ok(())
    }

    /// Runs [`Self::step`] every `every` until `stop` resolves.
    pub async fn run(
        mut self,
        every: std::time::Duration,
        stop: impl std::future::Future<Output = ()>,
    ) -> WatchStats {
        tokio::pin!(stop);
        loop {
            if let Err(e) = self.step().await {
                warn!(error = %format!("{e:#}"), "cannot read the chain");
            }
            tokio::select! {
                _ = &mut stop => return self.stats,
                _ = tokio::time::sleep(every) => {}
            }
        }
    }

    async fn model_hash(&mut self, id: U256) -> Result<B256> {
        if let Some(h) = self.ids.get(&id) {
            return Ok(*h);
        }
        let m = self
            .client
            .call(MODEL_REGISTRY_ADDRESS, M::getModelCall { modelId: id })
            .await?;
        self.ids.insert(id, m.modelHash);
        Ok(m.modelHash)
    }

    async fn check(&mut self, id: U256) -> Result<()> {
        let task = self
            .client
            .call(VERIFIER_ADDRESS, X::getTaskCall { taskId: id })
            .await?;
        if task.mode != MODE_OPTIMISTIC
            || task.idaoId != self.idao
            || (task.status != TASK_PENDING && task.status != TASK_CHALLENGED)
        {
            return Ok(());
        }
        let hash = self.model_hash(task.modelId).await?;
        let Some(held) = self.models.get(&hash) else {
            anyhow::bail!("model {} is not one this challenger holds", task.modelId);
        };
        let o = self
            .client
            .call(VERIFIER_ADDRESS, X::getOptimisticCall { taskId: id })
            .await?;
        if o.weightsRoot != B256::from(held.tree.root()) || o.widths != held.widths {
            anyhow::bail!(
                "model {}'s committed weights root is not its file's: the game cannot be played on it",
                task.modelId
            );
        }
        let q = open_input(&self.store, o.inputBlob, self.me, &self.secret).await?;
        let input: Vec<i64> = q.iter().map(|&v| i64::from(v)).collect();
        if B256::from(trace::activations_hash(u32::MAX, &input)) != task.inputCommitment {
            anyhow::bail!("the sealed input does not match the task's input commitment");
        }
        let outputs = held.model.layer_outputs(&q)?;
        self.stats.checked += 1;
        let mine: Vec<B256> = outputs
            .iter()
            .enumerate()
            .map(|(l, v)| B256::from(trace::activations_hash(l as u32, v)))
            .collect();
        if mine == o.layerHashes {
            self.stats.correct += 1;
            info!(task = %id, "optimistic result re-executed: correct");
            return Ok(());
        }
        // Already disputed by this challenger (it was restarted): play on.
        if let Ok(d) = self.my_dispute(id).await {
            info!(task = %id, layer = d.layer, "resuming this challenger's dispute");
            self.disputed.insert(
                id,
                Disputed {
                    input,
                    outputs,
                    model: hash,
                },
            );
            return Ok(());
        }
        let layer = mine
            .iter()
            .zip(&o.layerHashes)
            .position(|(a, b)| a != b)
            .unwrap_or(0);
        let claim = mine
            .iter()
            .map(|&h| claim_commitment(self.chain_id, id, self.me, h))
            .collect();
        self.client
            .send(
                VERIFIER_ADDRESS,
                X::challengeCall { taskId: id, claim },
                U256::ZERO,
            )
            .await
            .context("challenge")?;
        self.stats.challenged += 1;
        warn!(task = %id, layer, worker = %task.worker, "optimistic result is wrong: challenged");
        self.disputed.insert(
            id,
            Disputed {
                input,
                outputs,
                model: hash,
            },
        );
        Ok(())
    }

    /// This challenger's dispute of task `id` (an error when it has none).
    async fn my_dispute(&self, id: U256) -> Result<X::Dispute> {
        self.client
            .call(
                VERIFIER_ADDRESS,
                X::getDisputeCall {
                    taskId: id,
                    challenger: self.me,
                },
            )
            .await
    }

    async fn play(&mut self, id: U256) -> Result<()> {
        let d = self.my_dispute(id).await?;
        if d.status != DISPUTE_OPEN {
            // Closed by someone else's move (a timeout another sent, or another dispute).
            match d.status {
                DISPUTE_CHALLENGER_WON if d.claimed != d.actual => self.stats.frauds_proven += 1,
                DISPUTE_CHALLENGER_WON => self.stats.won_by_timeout += 1,
                DISPUTE_WORKER_WON => self.stats.lost += 1,
                _ => {}
            }
            info!(task = %id, status = d.status, "dispute closed");
            self.disputed.remove(&id);
            return Ok(());
        }
        let height = self.client.provider().get_block_number().await?;
        if d.turn == TURN_WORKER {
            if height.saturating_sub(d.lastMoveAt) > d.workerClock {
                self.client
                    .send(
                        VERIFIER_ADDRESS,
                        X::timeoutCall {
                            taskId: id,
                            challenger: self.me,
                        },
                        U256::ZERO,
                    )
                    .await
                    .context("claim the worker's timeout")?;
                self.stats.won_by_timeout += 1;
                self.disputed.remove(&id);
                info!(task = %id, "the worker did not answer in time: slashed");
            }
            return Ok(());
        }
        if d.turn != TURN_CHALLENGER {
            return Ok(());
        }
        let revealed = self.revealed(id, d.layer).await?;
        let Some(state) = self.disputed.get(&id) else {
            return Ok(());
        };
        let Some(held) = self.models.get(&state.model) else {
            return Ok(());
        };
        let l = d.layer as usize;
        let truth = &state.outputs[l];
        let Some(unit) = (0..truth.len()).find(|&u| revealed.get(u) != Some(&truth[u])) else {
            anyhow::bail!("the revealed layer {l} matches this challenger's own: nothing to prove");
        };
        let previous = if l == 0 {
            &state.input
        } else {
            &state.outputs[l - 1]
        };
        let evidence = one_step_evidence(&held.model, &held.tree, l, unit, previous, &revealed);
        let r = self
            .client
            .send(
                VERIFIER_ADDRESS,
                X::submitFraudProofCall {
                    taskId: id,
                    evidence,
                    challenger: self.me,
                },
                U256::ZERO,
            )
            .await
            .context("submit the fraud proof")?;
        self.stats.frauds_proven += 1;
        self.disputed.remove(&id);
        info!(task = %id, layer = l, unit, gas = r.gas_used, "fraud proven");
        Ok(())
    }

    /// The worker's revealed output of `layer` of task `id`, from its `LayerRevealed` log.
    async fn revealed(&self, id: U256, layer: u32) -> Result<Vec<i64>> {
        let filter = Filter::new()
            .address(VERIFIER_ADDRESS)
            .event_signature(X::LayerRevealed::SIGNATURE_HASH)
            .topic1(B256::from(id))
            .from_block(0);
        let logs = self.client.provider().get_logs(&filter).await?;
        logs.iter()
            .filter_map(|log| X::LayerRevealed::decode_log_data(log.data()).ok())
            .find(|e| e.layer == layer)
            .and_then(|e| trace::decode_values(&e.values))
            .context("the worker's reveal is not in the logs yet")
    }
}

/// The ABI of a one-step proof (`IVerifier.OneStepProof`) of `unit` of `layer` of `model`
/// (whose tree is `tree`): the unit's leaf opened, the layer's agreed input `previous` and the
/// worker's `revealed` output of the layer.
pub fn one_step_evidence(
    model: &QuantizedMlp,
    tree: &WeightTree,
    layer: usize,
    unit: usize,
    previous: &[i64],
    revealed: &[i64],
) -> alloy_primitives::Bytes {
    use alloy::sol_types::SolValue;
    let index = trace::unit_index(&trace::widths(model), layer, unit).unwrap_or_default();
    X::OneStepProof {
        unit: unit as u32,
        previous: trace::encode_values(previous).into(),
        revealed: trace::encode_values(revealed).into(),
        leaf: model.layers[layer].unit_leaf(layer as u32, unit).into(),
        index: U256::from(index),
        path: tree.open(index).into_iter().map(B256::from).collect(),
    }
    .abi_encode()
    .into()
}
