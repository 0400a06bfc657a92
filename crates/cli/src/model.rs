//! `lazai model`: train a model on an iDAO's verified data and register it, serve it with
//! metering, buy usage, call it, and show a registered model.

use crate::worker::WorkerArgs;
use alloy_primitives::U256;
use anyhow::{Context as _, Result, anyhow, bail};
use clap::{Args, Subcommand};
use lazai_abi::{IModelRegistry as M, MODEL_REGISTRY_ADDRESS};
use lazai_client::{Client, DEFAULT_RPC, event};
use lazai_worker::serve::ServedModel;
use lazai_worker::{ModelWorker, ServeConfig, TrainingJob, load_registered_model};
use std::path::PathBuf;
use std::time::Duration;

#[derive(Subcommand)]
pub enum ModelCommand {
    /// Train a model on the iDAO's verified data inside this worker (attested for the iDAO,
    /// holding its worker secret) and register it: a DAT class with the model hash, the
    /// signed training report's hash and its lineage.
    Train(TrainArgs),
    /// Serve a registered model at POST /v1/predict (signed headers, usage DATs, receipts
    /// signed by the attested key, usage recorded on chain in batches) until Ctrl-C.
    Serve(ServeArgs),
    /// Buy usage of a model: a usage DAT worth --calls calls, paid calls × price.
    Buy(BuyArgs),
    /// Call a served model with signed headers and check the receipt.
    Call(CallArgs),
    /// A registered model: hashes, lineage, price, revenue, calls sold and recorded.
    Show(ShowArgs),
    /// Quantize a dense ReLU MLP exported to ONNX (PyTorch Gemm or scikit-learn MatMul+Add,
    /// Relu; a trailing Softmax/ArgMax is ignored) into a model file, calibrated on a CSV of
    /// raw feature rows.
    Import(ImportArgs),
}

#[derive(Args)]
pub struct TrainArgs {
    #[command(flatten)]
    pub worker: WorkerArgs,
    /// The label column.
    #[arg(long, default_value = "quality")]
    pub label: String,
    /// Rows whose label is at least this are the positive class.
    #[arg(long, default_value_t = 6.0)]
    pub positive_at_least: f64,
    /// Price of one call, in LAZAI.
    #[arg(long, default_value = "0.01")]
    pub price: String,
    /// The model class's share of its revenue, in basis points (the rest goes to the data).
    #[arg(long, default_value_t = 2_000)]
    pub model_share_bps: u16,
    /// Hidden units.
    #[arg(long, default_value_t = 16)]
    pub hidden: usize,
    /// Training epochs.
    #[arg(long, default_value_t = 60)]
    pub epochs: usize,
    /// Seed of the weight initialisation and the shuffles.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Where the model file and the training report are written.
    #[arg(long, value_name = "DIR", default_value = "models")]
    pub out_dir: PathBuf,
}

#[derive(Args)]
pub struct ServeArgs {
    #[command(flatten)]
    pub worker: WorkerArgs,
    /// The registered model's id.
    #[arg(long, value_parser = crate::kit::units::parse_u256)]
    pub model_id: U256,
    /// Its model file (checked against the registered hash).
    #[arg(long, value_name = "FILE")]
    pub model_file: PathBuf,
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:8600")]
    pub listen: std::net::SocketAddr,
    /// Record usage once this many calls wait…
    #[arg(long, default_value_t = 64)]
    pub batch: u64,
    /// …or every this many milliseconds.
    #[arg(long, default_value_t = 2_000)]
    pub batch_ms: u64,
    /// Refuse calls without X-LazAI-Request-Signature (a signature over the body and the usage
    /// token too; LazAI's SDK header alone leaves them to whoever relays the call).
    #[arg(long)]
    pub require_request_signature: bool,
    /// Prove calls that ask for it (`"proof": "zk"`): each opens a ZK task on the Verifier
    /// and is proved in the background (Groth16 over BN254). The keys are the model's dev
    /// setup, registered as its circuit: only on chains whose genesis enables dev setups.
    #[arg(long)]
    pub zk: bool,
    /// Calls waiting to be proved before further proof requests get 503.
    #[arg(long, default_value_t = 16, requires = "zk")]
    pub zk_queue: usize,
    /// Post results of calls that ask for it (`"proof": "optimistic"`) with a bond (the
    /// iDAO's worker bond, from this worker's account), open to the iDAO's challengers for
    /// its window; disputes are answered automatically. Commits the model's weights root on
    /// chain first if needed.
    #[arg(long, requires = "blobs")]
    pub optimistic: bool,
    /// With --optimistic: the blob store each call's input is sealed to the iDAO's
    /// challengers in (their `lazai challenger --blobs`).
    #[arg(long, value_name = "LOCATION")]
    pub blobs: Option<String>,
}

#[derive(Args)]
pub struct BuyArgs {
    #[arg(long, value_parser = crate::kit::units::parse_u256)]
    pub model_id: U256,
    #[arg(long)]
    pub calls: u64,
    /// Unix seconds after which the usage DAT expires (0: never).
    #[arg(long, default_value_t = 0)]
    pub expire_at: u64,
    /// The buyer's key (hex, or a file); else LAZAI_PRIVATE_KEY.
    #[arg(long)]
    pub key: Option<String>,
    #[arg(long, default_value = DEFAULT_RPC)]
    pub rpc: String,
}

#[derive(Args)]
pub struct CallArgs {
    /// The server's base URL.
    #[arg(long, default_value = "http://127.0.0.1:8600")]
    pub url: String,
    /// The usage DAT to charge.
    #[arg(long, value_parser = crate::kit::units::parse_u256)]
    pub token: U256,
    /// Comma-separated feature values.
    #[arg(long, allow_hyphen_values = true)]
    pub features: String,
    /// The caller's key (hex, or a file); else LAZAI_PRIVATE_KEY.
    #[arg(long)]
    pub key: Option<String>,
    /// The request nonce (default: the time in milliseconds, which increases between calls).
    #[arg(long)]
    pub nonce: Option<u64>,
    /// Ask for a proof of inference (`zk`: wait until the chain verified it) or an
    /// optimistic result (`optimistic`: check the posted result is the answer, wait until it
    /// is final).
    #[arg(long, value_parser = ["zk", "optimistic"])]
    pub proof: Option<String>,
    /// With --proof zk: commit to the input with salt 0 (anyone shown the input can recompute
    /// the commitment) instead of a random salt.
    #[arg(long, requires = "proof")]
    pub clear: bool,
    /// With --proof: the chain's RPC, where the task's verification is awaited.
    #[arg(long, default_value = DEFAULT_RPC)]
    pub rpc: String,
    /// With --proof: how long to wait for the verification, in seconds.
    #[arg(long, default_value_t = 300)]
    pub wait_secs: u64,
}

#[derive(Args)]
pub struct ShowArgs {
    #[arg(long, value_parser = crate::kit::units::parse_u256)]
    pub model_id: U256,
    #[arg(long, default_value = DEFAULT_RPC)]
    pub rpc: String,
    #[arg(long)]
    pub json: bool,
}

#[derive(Args)]
pub struct ImportArgs {
    /// The ONNX file.
    #[arg(value_name = "FILE.onnx")]
    pub file: PathBuf,
    /// Calibration rows: a CSV of numbers, one feature per column (a header line is skipped);
    /// they set the input standardization and every hidden layer's scale.
    #[arg(long, value_name = "DATA.csv")]
    pub calibration: PathBuf,
    /// A column of the CSV to leave out (by its header name), such as the label.
    #[arg(long, value_name = "NAME")]
    pub drop_column: Option<String>,
    /// Where the model file is written.
    #[arg(long, value_name = "MODEL.bin")]
    pub out: PathBuf,
    #[arg(long)]
    pub json: bool,
}

/// Largest ONNX or calibration file `lazai model import` reads.
const IMPORT_MAX_BYTES: u64 = 256 << 20;

fn read_limited(path: &std::path::Path) -> Result<Vec<u8>> {
    let len = std::fs::metadata(path)
        .with_context(|| format!("reading {}", path.display()))?
        .len();
    if len > IMPORT_MAX_BYTES {
        bail!(
            "{} is {len} bytes, more than {IMPORT_MAX_BYTES}",
            path.display()
        );
    }
    std::fs::read(path).with_context(|| format!("reading {}", path.display()))
}

/// The feature rows of a calibration CSV: numbers only, every row as wide; a first line that
/// does not parse is the header, and `drop` names a header column to leave out.
fn calibration_rows(text: &str, drop: Option<&str>) -> Result<Vec<Vec<f32>>> {
    let mut lines = text
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
        .peekable();
    let parse = |l: &str| -> Option<Vec<f32>> {
        l.split(',')
            .map(|x| x.trim().parse::<f32>().ok().filter(|v| v.is_finite()))
            .collect()
    };
    let mut skip = None;
    if let Some((_, first)) = lines.peek()
        && parse(first).is_none()
    {
        let header: Vec<&str> = first
            .split(',')
            .map(|h| h.trim().trim_matches('"'))
            .collect();
        if let Some(d) = drop {
            skip = Some(
                header
                    .iter()
                    .position(|h| *h == d)
                    .ok_or_else(|| anyhow!("no column {d:?} in the header {header:?}"))?,
            );
        }
        lines.next();
    } else if let Some(d) = drop {
        bail!("--drop-column {d:?}: the CSV has no header line");
    }
    let mut rows: Vec<Vec<f32>> = Vec::new();
    for (i, line) in lines {
        let mut row = parse(line).ok_or_else(|| anyhow!("line {}: not a row of numbers", i + 1))?;
        if let Some(s) = skip {
            if s >= row.len() {
                bail!("line {}: no column {s}", i + 1);
            }
            row.remove(s);
        }
        if rows.first().is_some_and(|r| r.len() != row.len()) {
            bail!(
                "line {}: {} features, the rows before have {}",
                i + 1,
                row.len(),
                rows[0].len()
            );
        }
        rows.push(row);
    }
    if rows.is_empty() {
        bail!("the calibration CSV has no rows");
    }
    Ok(rows)
}

fn import(a: ImportArgs) -> Result<()> {
    let onnx = read_limited(&a.file)?;
    let csv = read_limited(&a.calibration)?;
    let csv = String::from_utf8(csv).context("the calibration CSV is not UTF-8")?;
    let rows = calibration_rows(&csv, a.drop_column.as_deref())?;
    let q = lazai_model::onnx::import(&onnx, &rows)
        .with_context(|| format!("importing {}", a.file.display()))?;
    let bytes = q.to_bytes();
    std::fs::write(&a.out, &bytes).with_context(|| format!("writing {}", a.out.display()))?;
    let hash = alloy_primitives::B256::from(q.hash());
    let mut shape = vec![q.inputs];
    shape.extend(q.layers.iter().map(|d| d.outputs));
    let version = bytes.get(7).copied().unwrap_or_default();
    if a.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&serde_json::json!({
                "file": a.out.display().to_string(),
                "version": version,
                "layers": q.layers.iter().map(|d| serde_json::json!({
                    "inputs": d.inputs,
                    "outputs": d.outputs,
                })).collect::<Vec<_>>(),
                "parameters": q.parameters(),
                "calibrationRows": rows.len(),
                "modelHash": hash,
            }))?
        );
    } else {
        let shape: Vec<String> = shape.iter().map(u32::to_string).collect();
        println!("layers        {}", shape.join(" → "));
        println!("parameters    {}", q.parameters());
        println!("calibration   {} rows", rows.len());
        println!("model hash    {hash}");
        println!(
            "model file    {} (format v{version}, {} bytes)",
            a.out.display(),
            bytes.len()
        );
    }
    Ok(())
}

fn runtime() -> Result<tokio::runtime::Runtime> {
    Ok(tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?)
}

pub fn run(cmd: ModelCommand) -> Result<()> {
    match cmd {
        ModelCommand::Train(a) => train(a),
        ModelCommand::Serve(a) => serve(a),
        ModelCommand::Buy(a) => buy(a),
        ModelCommand::Call(a) => call(a),
        ModelCommand::Show(a) => show(a),
        ModelCommand::Import(a) => import(a),
    }
}

fn train(a: TrainArgs) -> Result<()> {
    if a.model_share_bps > 10_000 {
        bail!("--model-share-bps is at most 10000");
    }
    if a.hidden == 0 || a.hidden > 1024 || a.epochs == 0 || a.epochs > 10_000 {
        bail!("--hidden must be 1..=1024 and --epochs 1..=10000");
    }
    let price = crate::kit::units::parse_lazai(&a.price)?;
    runtime()?.block_on(async move {
        let (cfg, _temp, _) = crate::worker::config(&a.worker).await?;
        let worker = ModelWorker::new(cfg).await?;
        let job = TrainingJob {
            label: a.label,
            positive_at_least: a.positive_at_least,
            config: lazai_model::TrainConfig {
                hidden: a.hidden,
                epochs: a.epochs,
                seed: a.seed,
                ..Default::default()
            },
            price_per_call: price,
            model_share_bps: a.model_share_bps,
            out_dir: a.out_dir,
        };
        let t = worker.train(&job).await?;
        let r = &t.report;
        println!("model         {} (DAT class {})", t.model_id, t.class_id);
        println!("model hash    {}", t.model_hash);
        println!(
            "report hash   {} (signed by {})",
            t.report_hash,
            worker.address()
        );
        println!(
            "rows          {} training, {} held out ({} duplicates dropped)",
            r.rows_train, r.rows_held_out, r.duplicate_rows_dropped
        );
        println!(
            "accuracy      {:.3} held out (f32 {:.3}; majority class {:.3})",
            r.held_out_accuracy_int8, r.held_out_accuracy_f32, r.majority_baseline
        );
        for l in &r.lineage {
            println!(
                "lineage       dataset class {} ({} rows)",
                l.class_id, l.rows
            );
        }
        println!("model file    {}", t.model_path.display());
        println!("report        {}", t.report_path.display());
        Ok(())
    })
}

fn serve(mut a: ServeArgs) -> Result<()> {
    // The nonces and unrecorded calls must outlive the process (a restart must never serve a
    // request twice), so the server never runs from a temporary directory: without
    // --work-dir it keeps them beside the model file.
    if a.worker.work_dir.is_none() {
        let dir = a
            .model_file
            .parent()
            .unwrap_or_else(|| std::path::Path::new("."))
            .join("lazai-serve");
        std::fs::create_dir_all(&dir)
            .with_context(|| format!("create the server's work dir {}", dir.display()))?;
        eprintln!(
            "keeping nonces and unrecorded calls in {} (pass --work-dir to choose)",
            dir.display()
        );
        a.worker.work_dir = Some(dir);
    }
    runtime()?.block_on(async move {
        let (cfg, _temp, _) = crate::worker::config(&a.worker).await?;
        let worker = ModelWorker::new(cfg).await?;
        let (model, record) =
            load_registered_model(worker.client(), a.model_id, &a.model_file).await?;
        let server = lazai_worker::serve::start(
            worker,
            model,
            record,
            ServeConfig {
                listen: a.listen,
                batch_calls: a.batch.max(1),
                batch_interval: Duration::from_millis(a.batch_ms.max(10)),
                require_request_signature: a.require_request_signature,
                zk: a
                    .zk
                    .then_some(lazai_worker::serve::ZkServe { queue: a.zk_queue }),
                optimistic: a
                    .blobs
                    .filter(|_| a.optimistic)
                    .map(|blobs| lazai_worker::optimistic::OptimisticServe { blobs }),
                ..ServeConfig::default()
            },
        )
        .await?;
        println!(
            "serving model {} at http://{}/v1/predict",
            a.model_id, server.addr
        );
        let signal = crate::kit::signal::shutdown_signal().await?;
        eprintln!("{signal}: recording waiting usage and stopping");
        let stats = server.stop().await;
        println!(
            "{} calls served, {} recorded on chain in {} transactions",
            stats.calls, stats.calls_recorded, stats.batches
        );
        Ok(())
    })
}

fn buy(a: BuyArgs) -> Result<()> {
    if a.calls == 0 {
        bail!("--calls must be at least 1");
    }
    let signer = crate::worker::node_signer(a.key.as_deref())?;
    runtime()?.block_on(async move {
        let c = Client::signing(&a.rpc, signer, Duration::from_secs(60))?;
        let m = c
            .call(
                MODEL_REGISTRY_ADDRESS,
                M::getModelCall {
                    modelId: a.model_id,
                },
            )
            .await?;
        let paid = m.pricePerCall * U256::from(a.calls);
        let r = c
            .send(
                MODEL_REGISTRY_ADDRESS,
                M::buyUsageCall {
                    modelId: a.model_id,
                    calls: U256::from(a.calls),
                    expireAt: a.expire_at,
                },
                paid,
            )
            .await?;
        let bought = event::<M::UsageBought>(&r, MODEL_REGISTRY_ADDRESS)?;
        println!("usage DAT     {} ({} calls)", bought.tokenId, a.calls);
        println!("paid          {}", crate::kit::units::format_lazai(paid));
        crate::kit::output::print_tx(&r);
        Ok(())
    })
}

/// Comma-separated feature values, as `--features` takes them.
pub(crate) fn parse_features(s: &str) -> Result<Vec<f64>> {
    s.split(',')
        .map(|x| {
            x.trim()
                .parse::<f64>()
                .map_err(|_| anyhow!("feature {x:?} is not a number"))
        })
        .collect()
}

fn call(a: CallArgs) -> Result<()> {
    let signer = crate::worker::node_signer(a.key.as_deref())?;
    let features = parse_features(&a.features)?;
    let nonce = a.nonce.unwrap_or_else(|| {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_millis() as u64)
            .unwrap_or(1)
    });
    runtime()?.block_on(async move {
        let served = ServedModel::discover(&a.url).await?;
        let node = served.node;
        let p = if a.proof.as_deref() == Some("optimistic") {
            served
                .call_optimistic(&signer, U256::from(nonce), a.token, &features)
                .await?
        } else if a.proof.is_some() {
            served
                .call_proved(&signer, U256::from(nonce), a.token, &features, a.clear)
                .await?
        } else {
            served
                .call_signed(&signer, U256::from(nonce), a.token, &features)
                .await?
        };
        println!("class         {}", p.class);
        println!("logits        {:?}", p.logits);
        if let Some(r) = &p.receipt {
            let ok = r.signer() == Some(node);
            println!(
                "receipt       call {} on usage DAT {}, signed by {} ({})",
                r.counter,
                r.usage_token,
                node,
                if ok { "valid" } else { "INVALID" }
            );
            println!("remaining     {}", p.remaining.as_deref().unwrap_or("?"));
            if !ok {
                bail!("the receipt is not signed by the serving node");
            }
        }
        if let Some(zk) = &p.zk {
            crate::zk::await_proved_call(&a.rpc, zk, &p, Duration::from_secs(a.wait_secs)).await?;
        }
        if let Some(o) = &p.optimistic {
            crate::optimistic::await_optimistic_call(
                &a.rpc,
                o,
                &p,
                Duration::from_secs(a.wait_secs),
            )
            .await?;
        }
        Ok(())
    })
}

fn show(a: ShowArgs) -> Result<()> {
    runtime()?.block_on(async move {
        let c = Client::read(&a.rpc)?;
        let m = c
            .call(MODEL_REGISTRY_ADDRESS, M::getModelCall { modelId: a.model_id })
            .await?;
        if a.json {
            let lineage: Vec<_> = m
                .lineage
                .iter()
                .map(|l| serde_json::json!({"classId": l.classId.to_string(), "weight": l.weight.to_string()}))
                .collect();
            println!(
                "{}",
                serde_json::to_string_pretty(&serde_json::json!({
                    "id": m.id.to_string(), "idaoId": m.idaoId.to_string(),
                    "classId": m.classId.to_string(), "modelHash": m.modelHash,
                    "reportHash": m.reportHash, "uri": m.uri, "worker": m.worker,
                    "pricePerCall": m.pricePerCall.to_string(), "modelShareBps": m.modelShareBps,
                    "registeredAt": m.registeredAt, "lineage": lineage,
                    "revenue": m.revenue.to_string(), "toData": m.toData.to_string(),
                    "callsSold": m.callsSold.to_string(), "callsRecorded": m.callsRecorded.to_string(),
                }))?
            );
            return Ok(());
        }
        println!("model         {} of iDAO {} (DAT class {})", m.id, m.idaoId, m.classId);
        println!("model hash    {}", m.modelHash);
        println!("report hash   {}", m.reportHash);
        println!("worker        {}", m.worker);
        println!("price         {} per call", crate::kit::units::format_lazai(m.pricePerCall));
        println!(
            "revenue       {} ({} to the data, {}% kept by the model class)",
            crate::kit::units::format_lazai(m.revenue),
            crate::kit::units::format_lazai(m.toData),
            m.modelShareBps / 100
        );
        println!("calls         {} sold, {} recorded", m.callsSold, m.callsRecorded);
        for l in &m.lineage {
            println!("lineage       dataset class {} (weight {})", l.classId, l.weight);
        }
        Ok(())
    })
}
