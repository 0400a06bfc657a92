//! The training service: an attested worker trains a model for its iDAO on the iDAO's verified
//! data and registers it as a DAT asset with its lineage.
//!
//! 1. Gather: every file of the iDAO's *verified* flows that was accepted (`fileStatus` state
//!    verified) is fetched (a file that cannot be fetched or opened is logged and left out,
//!    and out of the lineage) (checked against its on-chain root), its data key unsealed with the
//!    iDAO's worker secret and decrypted **in memory** — the plaintext never touches the disk
//!    and is dropped after parsing. Identical rows are counted once.
//! 2. Train: the label is a named column, made binary by a threshold (`label ≥ threshold`);
//!    every other column is a feature. Every fifth row (in file order) is held out. f32
//!    training then int8 quantization ([`lazai_model`]); held-out accuracy of both and of the
//!    majority class go in the report.
//! 3. Register: the model file and a JSON training report are written to the output dir; the
//!    report's keccak-256 is signed (with the model hash and the lineage, see
//!    [`lazai_abi::report_message`]) by this worker's attested key and the model is
//!    registered (`ModelRegistry.registerModel`). Lineage: the dataset classes the rows came
//!    from, weighted by the number of distinct rows each contributed.

use crate::schema::Schema;
use crate::tee::{Attested, Attestor};
use crate::verifier::{WorkerConfig, connect, file_input};
use crate::verify::{FetchFailure, fetch};
use alloy::providers::Provider as _;
use alloy_primitives::{Address, B256, U256, keccak256};
use alloy_signer::SignerSync;
use anyhow::{Context as _, Result, anyhow, bail};
use lazai_abi::{
    FILE_VERIFIED, FLOW_VERIFIED, IModelRegistry as M, IVsc, MODEL_REGISTRY_ADDRESS, VSC_ADDRESS,
    idao_data_address, report_message,
};
use lazai_client::{Client, event};
use lazai_model::{Dataset, QuantizedMlp, TrainConfig, to_milli, train};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashSet};
use std::path::{Path, PathBuf};
use tracing::{info, warn};

/// What to train and how to sell it.
#[derive(Clone, Debug)]
pub struct TrainingJob {
    /// The label column's name.
    pub label: String,
    /// Rows whose label is at least this are class 1, the others class 0.
    pub positive_at_least: f64,
    pub config: TrainConfig,
    /// Price of one inference call, in wei.
    pub price_per_call: U256,
    /// The model class's share of the model's revenue, in basis points (the rest goes to the
    /// dataset classes by lineage).
    pub model_share_bps: u16,
    /// Where the model file and the report are written.
    pub out_dir: PathBuf,
}

/// A dataset class's part in a model.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct LineageEntry {
    pub class_id: String,
    /// Distinct rows it contributed: its weight in the lineage.
    pub rows: u64,
    pub files: Vec<String>,
}

/// The training report the worker signs (its keccak-256 is registered on chain).
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct TrainingReport {
    pub version: u32,
    pub chain_id: u64,
    pub idao_id: String,
    pub worker: Address,
    pub tee_platform: String,
    pub model_hash: B256,
    pub model_format: String,
    pub inputs: u32,
    pub hidden: u32,
    pub classes: u32,
    pub features: Vec<String>,
    pub label: String,
    pub positive_at_least: f64,
    pub lineage: Vec<LineageEntry>,
    pub rows_train: u64,
    pub rows_held_out: u64,
    pub duplicate_rows_dropped: u64,
    pub epochs: u32,
    pub learning_rate: f32,
    pub momentum: f32,
    pub seed: u64,
    pub held_out_accuracy_f32: f64,
    pub held_out_accuracy_int8: f64,
    pub majority_baseline: f64,
    pub trained_at_block: u64,
}

/// What training produced.
#[derive(Clone, Debug)]
pub struct TrainingOutcome {
    pub model_id: U256,
    pub class_id: U256,
    pub model: QuantizedMlp,
    pub model_hash: B256,
    pub report: TrainingReport,
    pub report_hash: B256,
    pub model_path: PathBuf,
    pub report_path: PathBuf,
    pub register_gas: u64,
}

/// Rows from one dataset class.
struct Rows {
    header: Vec<String>,
    rows: Vec<(U256, Vec<f64>)>,
    per_class: BTreeMap<U256, (u64, Vec<U256>)>,
    duplicates: u64,
}

/// A training and inference node of an iDAO: attested for it, holding the iDAO's worker
/// secret. It sends transactions with its own key (use a key no other process signs with).
pub struct ModelWorker {
    pub(crate) cfg: WorkerConfig,
    pub(crate) client: Client,
    pub(crate) chain_id: u64,
    pub(crate) me: Address,
    pub(crate) attestor: Attestor,
    pub(crate) attested: Attested,
}

impl ModelWorker {
    /// Connects and attests for the iDAO (evidence only; it does not become a proof node).
    pub async fn new(cfg: WorkerConfig) -> Result<Self> {
        let (client, chain_id) = connect(&cfg).await?;
        let me = cfg.signer.address();
        let attestor = Attestor {
            source: cfg.tee.clone(),
            idao: cfg.idao,
            hpke: cfg.secret.public_key().to_bytes(),
            url: cfg.url.clone(),
            register_node: false,
            rsa_key: None,
        };
        let attested = attestor
            .attest(&client, chain_id, me)
            .await
            .with_context(|| format!("attest model worker {me} for iDAO {}", cfg.idao))?;
        Ok(Self {
            cfg,
            client,
            chain_id,
            me,
            attestor,
            attested,
        })
    }

    pub fn address(&self) -> Address {
        self.me
    }

    pub fn client(&self) -> &Client {
        &self.client
    }

    /// How it runs (a server restarted with the same configuration reuses its work dir).
    pub fn config(&self) -> &WorkerConfig {
        &self.cfg
    }

    /// Re-attests when the evidence is halfway through its life.
    pub(crate) async fn refresh_attestation(&mut self) -> Result<()> {
        if Attestor::due(&self.attested) {
            self.attested = self
                .attestor
                .attest(&self.client, self.chain_id, self.me)
                .await?;
        }
        Ok(())
    }

    /// Decrypts every accepted file of the iDAO's verified flows (see the module docs).
    async fn gather(&self, delimiter: u8) -> Result<Rows> {
        let c = &self.client;
        let idao = self.cfg.idao;
        let data_address = idao_data_address(idao);
        let flows = c.call(VSC_ADDRESS, IVsc::flowCountCall {}).await?;
        let mut out = Rows {
            header: Vec::new(),
            rows: Vec::new(),
            per_class: BTreeMap::new(),
            duplicates: 0,
        };
        let mut seen = HashSet::new();
        let mut flow = U256::from(1);
        while flow <= flows {
            let f = c
                .call(VSC_ADDRESS, IVsc::getFlowCall { flowId: flow })
                .await?;
            flow += U256::from(1);
            if f.idaoId != idao || f.status != FLOW_VERIFIED {
                continue;
            }
            let files = c
                .call(VSC_ADDRESS, IVsc::flowFilesCall { flowId: f.id })
                .await?;
            for file in files {
                let st = c
                    .call(VSC_ADDRESS, IVsc::fileStatusCall { fileId: file })
                    .await?;
                if st.state != FILE_VERIFIED {
                    continue;
                }
                let input = file_input(c, file, data_address).await?;
                let (blob, key, hash) = match fetch(
                    &self.cfg.fetcher,
                    &self.cfg.secret,
                    &input,
                    &self.cfg.work_dir,
                    self.cfg.max_blob,
                )
                .await
                {
                    Ok(x) => x,
                    // One unreadable file (a contributor took its blob offline) must not stop
                    // the iDAO's training: it is left out, and out of the lineage.
                    Err(FetchFailure::Reject(v)) => {
                        warn!(file = %file, reason = %v.detail, "verified file unreadable; left out of training");
                        continue;
                    }
                    Err(FetchFailure::Retry(e)) => {
                        warn!(file = %file, error = %e, "verified file unavailable; left out of training");
                        continue;
                    }
                };
                let text = tokio::task::spawn_blocking(move || -> Result<String> {
                    let reader = std::fs::File::open(&blob)?;
                    let mut plain = Vec::new();
                    let summary = lazai_crypto::decrypt(reader, &mut plain, &key, Some(&hash.root));
                    let _ = std::fs::remove_file(&blob);
                    let summary = summary.map_err(|e| anyhow!("decrypt: {e}"))?;
                    if summary.plaintext_commitment != hash.commitment {
                        bail!("the plaintext does not match its on-chain commitment");
                    }
                    String::from_utf8(plain).map_err(|_| anyhow!("not UTF-8"))
                })
                .await?;
                let text = match text {
                    Ok(t) => t,
                    Err(e) => {
                        warn!(file = %file, error = %format!("{e:#}"), "verified file does not decrypt; left out of training");
                        continue;
                    }
                };
                let class = f.classId;
                let entry = out.per_class.entry(class).or_default();
                entry.1.push(file);
                let mut lines = text.lines();
                let header: Vec<String> = lines
                    .next()
                    .unwrap_or_default()
                    .split(delimiter as char)
                    .map(|s| s.trim().trim_matches('"').to_string())
                    .collect();
                if out.header.is_empty() {
                    out.header = header;
                } else if out.header != header {
                    bail!("file {file} has another header than the first file");
                }
                for line in lines {
                    if line.trim().is_empty() {
                        continue;
                    }
                    let values: Option<Vec<f64>> = line
                        .split(delimiter as char)
                        .map(|s| s.trim().parse::<f64>().ok().filter(|v| v.is_finite()))
                        .collect();
                    let Some(values) = values.filter(|v| v.len() == out.header.len()) else {
                        continue;
                    };
                    if !seen.insert(keccak256(line.trim().as_bytes())) {
                        out.duplicates += 1;
                        continue;
                    }
                    entry.0 += 1;
                    out.rows.push((class, values));
                }
            }
        }
        Ok(out)
    }

    /// Trains, writes and registers a model (see the module docs).
    pub async fn train(&self, job: &TrainingJob) -> Result<TrainingOutcome> {
        let config = self
            .client
            .call(
                VSC_ADDRESS,
                IVsc::dataConfigCall {
                    idaoId: self.cfg.idao,
                },
            )
            .await?;
        let schema = Schema::parse(&config.schema).map_err(|e| anyhow!("iDAO schema: {e}"))?;
        let delimiter = schema.delimiter().unwrap_or(b',');
        let data = self.gather(delimiter).await?;
        let label_at = data
            .header
            .iter()
            .position(|h| *h == job.label)
            .ok_or_else(|| {
                anyhow!(
                    "no column {:?} in the iDAO's verified data (columns: {})",
                    job.label,
                    data.header.join(", ")
                )
            })?;
        if data.rows.len() < 10 {
            bail!(
                "iDAO {} has {} verified rows: too few to train on",
                self.cfg.idao,
                data.rows.len()
            );
        }
        let (tr, te) = split_held_out(&data.rows, label_at, job.positive_at_least);
        let cfg = job.config;
        let (float, model, tr, te) = tokio::task::spawn_blocking(move || {
            let float = train(&tr, &cfg);
            float.map(|f| {
                let q = QuantizedMlp::quantize(&f, &tr.features);
                (f, q, tr, te)
            })
        })
        .await?
        .map_err(|e| anyhow!("training failed: {e}"))?;
        let accuracy = |pred: &dyn Fn(&[f32]) -> u32| {
            let ok = te
                .features
                .iter()
                .zip(&te.labels)
                .filter(|(x, l)| pred(x) == **l)
                .count();
            ok as f64 / te.labels.len().max(1) as f64
        };
        let acc_f32 = accuracy(&|x| float.predict(x));
        let acc_int8 = accuracy(&|x| model.predict(&to_milli(x)).unwrap_or(u32::MAX));
        let ones =
            te.labels.iter().filter(|&&l| l == 1).count() as f64 / te.labels.len().max(1) as f64;
        let baseline = ones.max(1.0 - ones);
        let bytes = model.to_bytes();
        let model_hash = B256::from(model.hash());
        let block = self.client.provider().get_block_number().await?;
        let (lineage, onchain_lineage) = lineage_of(&data.per_class);
        let report = TrainingReport {
            version: 1,
            chain_id: self.chain_id,
            idao_id: self.cfg.idao.to_string(),
            worker: self.me,
            tee_platform: self.attested.platform.to_string(),
            model_hash,
            model_format: "LZMLP v1 (int8 weights, int32 accumulators)".into(),
            inputs: model.inputs,
            hidden: model.hidden(),
            classes: model.classes(),
            features: data
                .header
                .iter()
                .enumerate()
                .filter(|(j, _)| *j != label_at)
                .map(|(_, h)| h.clone())
                .collect(),
            label: job.label.clone(),
            positive_at_least: job.positive_at_least,
            lineage,
            rows_train: tr.labels.len() as u64,
            rows_held_out: te.labels.len() as u64,
            duplicate_rows_dropped: data.duplicates,
            epochs: cfg.epochs as u32,
            learning_rate: cfg.learning_rate,
            momentum: cfg.momentum,
            seed: cfg.seed,
            held_out_accuracy_f32: acc_f32,
            held_out_accuracy_int8: acc_int8,
            majority_baseline: baseline,
            trained_at_block: block,
        };
        let report_json = serde_json::to_vec_pretty(&report)?;
        let report_hash = keccak256(&report_json);
        let (model_path, report_path) =
            write_artifacts(&job.out_dir, model_hash, &bytes, &report_json)?;

        let lineage = onchain_lineage;
        let message = report_message(
            self.chain_id,
            self.cfg.idao,
            model_hash,
            report_hash,
            &lineage,
        );
        let signature = self.cfg.signer.sign_message_sync(message.as_slice())?;
        let receipt = self
            .client
            .send(
                MODEL_REGISTRY_ADDRESS,
                M::registerModelCall {
                    idaoId: self.cfg.idao,
                    modelHash: model_hash,
                    reportHash: report_hash,
                    uri: format!("{}/v1/models", self.cfg.url.trim_end_matches('/')),
                    lineage,
                    pricePerCall: job.price_per_call,
                    modelShareBps: job.model_share_bps,
                    reportSignature: signature.as_bytes().to_vec().into(),
                },
                U256::ZERO,
            )
            .await?;
        let registered = event::<M::ModelRegistered>(&receipt, MODEL_REGISTRY_ADDRESS)?;
        info!(
            model = %registered.modelId,
            class = %registered.classId,
            hash = %model_hash,
            rows = report.rows_train + report.rows_held_out,
            accuracy_int8 = format!("{acc_int8:.3}"),
            baseline = format!("{baseline:.3}"),
            "model trained and registered"
        );
        Ok(TrainingOutcome {
            model_id: registered.modelId,
            class_id: registered.classId,
            model,
            model_hash,
            report,
            report_hash,
            model_path,
            report_path,
            register_gas: receipt.gas_used,
        })
    }
}

/// Reads a model file and checks it against the hash registered for `model_id`.
pub async fn load_registered_model(
    client: &Client,
    model_id: U256,
    path: &Path,
) -> Result<(QuantizedMlp, M::Model)> {
    let bytes = std::fs::read(path).with_context(|| format!("read {}", path.display()))?;
    let model = QuantizedMlp::from_bytes(&bytes)
        .map_err(|e| anyhow!("{} is not a model file: {e}", path.display()))?;
    let record = client
        .call(
            MODEL_REGISTRY_ADDRESS,
            M::getModelCall { modelId: model_id },
        )
        .await?;
    if B256::from(model.hash()) != record.modelHash {
        bail!(
            "{} has hash {}, but model {model_id} is registered with {}",
            path.display(),
            B256::from(model.hash()),
            record.modelHash
        );
    }
    Ok((model, record))
}

/// Splits verified rows into training rows and held-out rows (every fifth), the column at
/// `label_at` becoming a binary label (1 when at least `positive_at_least`).
fn split_held_out(
    rows: &[(U256, Vec<f64>)],
    label_at: usize,
    positive_at_least: f64,
) -> (Dataset, Dataset) {
    let (mut tr, mut te) = (Dataset::default(), Dataset::default());
    tr.classes = 2;
    te.classes = 2;
    for (i, (_, values)) in rows.iter().enumerate() {
        let label = u32::from(values[label_at] >= positive_at_least);
        let x: Vec<f32> = values
            .iter()
            .enumerate()
            .filter(|(j, _)| *j != label_at)
            .map(|(_, v)| *v as f32)
            .collect();
        let d = if i % 5 == 0 { &mut te } else { &mut tr };
        d.features.push(x);
        d.labels.push(label);
    }
    (tr, te)
}

/// The model's lineage, for the report and for the chain: each dataset class that gave rows,
/// weighted by its rows.
fn lineage_of(
    per_class: &BTreeMap<U256, (u64, Vec<U256>)>,
) -> (Vec<LineageEntry>, Vec<M::Lineage>) {
    per_class
        .iter()
        .filter(|(_, (rows, _))| *rows > 0)
        .map(|(class, (rows, files))| {
            (
                LineageEntry {
                    class_id: class.to_string(),
                    rows: *rows,
                    files: files.iter().map(|f| f.to_string()).collect(),
                },
                M::Lineage {
                    classId: *class,
                    weight: U256::from(*rows),
                },
            )
        })
        .unzip()
}

/// Writes the model file and its training report into `out_dir`; their paths.
fn write_artifacts(
    out_dir: &Path,
    model_hash: B256,
    model: &[u8],
    report_json: &[u8],
) -> Result<(PathBuf, PathBuf)> {
    std::fs::create_dir_all(out_dir).with_context(|| format!("create {}", out_dir.display()))?;
    let stem = format!("model-{}", &model_hash.to_string()[2..14]);
    let model_path = out_dir.join(format!("{stem}.lzmlp"));
    let report_path = out_dir.join(format!("{stem}.report.json"));
    std::fs::write(&model_path, model)
        .with_context(|| format!("write {}", model_path.display()))?;
    std::fs::write(&report_path, report_json)
        .with_context(|| format!("write {}", report_path.display()))?;
    Ok((model_path, report_path))
}
