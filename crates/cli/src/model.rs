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

fn call(a: CallArgs) -> Result<()> {
    let signer = crate::worker::node_signer(a.key.as_deref())?;
    let features: Vec<f64> = a
        .features
        .split(',')
        .map(|x| {
            x.trim()
                .parse::<f64>()
                .map_err(|_| anyhow!("feature {x:?} is not a number"))
        })
        .collect::<Result<_>>()?;
    let nonce = a.nonce.unwrap_or_else(|| {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_millis() as u64)
            .unwrap_or(1)
    });
    runtime()?.block_on(async move {
        let served = ServedModel::discover(&a.url).await?;
        let node = served.node;
        let p = served
            .call_signed(&signer, U256::from(nonce), a.token, &features)
            .await?;
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
