//! `lazai demo`: LazAI's whole loop on an embedded devnet — data → verification → DATs →
//! training → metered inference → revenue back to the data's contributors.
//!
//! Cast (devnet accounts): 0 runs the iDAO (and is the devnet's governance); 1–3 are the
//! contributors Alice, Bob and Carol; 4 is Dave, the consumer; 6 is the iDAO's model worker
//! (trains and serves); 7–9 are its verifier workers. All workers use the dev TEE.
//!
//! 1. The iDAO registers, declares the wine-quality schema, a quorum of 3 verifiers (2 must
//!    agree), and a dev-TEE policy.
//! 2. Alice, Bob and Carol encrypt slices of the UCI wine-quality data set (red, 1,599 rows)
//!    to the iDAO's worker key and contribute them; the iDAO packages them into a flow; the
//!    quorum decrypts them inside its TEE boundary, scores them and anchors the results; each
//!    contributor gets a dataset DAT whose share is its file's score.
//! 3. The model worker trains a model on the verified rows (every fifth held out), quantizes
//!    it to integers, signs the training report and registers the model as a DAT class whose
//!    lineage is the dataset class.
//! 4. Dave buys 100 calls (a usage DAT), makes them against the worker's `/v1/predict` with
//!    signed headers, and checks every receipt's signature; usage is recorded on chain in
//!    batches.
//! 5. The payment was split at purchase: 20% to the model class (the iDAO's ownership token),
//!    80% to the dataset class, shared by score. Everyone claims; the summary shows who
//!    earned what and that `paid = claimed + unclaimed + dust` exactly.

mod claims;
mod walk;
mod wine_model;

pub use self::walk::walk;
pub use self::wine_model::{registered_model, wine_dataset};

use crate::devnet::load_or_store_genesis;
use alloy_primitives::{Address, B256, U256};
use alloy_signer_local::PrivateKeySigner;
use anyhow::{Context as _, Result, anyhow, bail};
use lazai_blob::BlobStore;
use lazai_client::{Client, event};
use lazai_consensus::runtime::{Runner as _, tokio as cw_tokio};
use lazai_crypto::EncryptParams;
use lazai_ledger::modules::{
    DATA_REGISTRY_ADDRESS, IDAO_REGISTRY_ADDRESS, IDataRegistry as R, IIdaoRegistry as G,
    ITeeRegistry, IVsc as V, TeePolicy, VSC_ADDRESS, idao_data_address,
};
use lazai_node::{NodeSettings, dev_account, devnet_genesis, start_devnet};
use lazai_types::{DEVNET_CHAIN_ID, lazai};
use lazai_worker::contribute;
use serde::Serialize;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// The wine-quality data set (UCI, red), shipped with the worker's tests.
pub const WINE: &str = include_str!("../../../../worker/testdata/winequality-red.csv");
/// Its schema, as the iDAO declares it.
pub const WINE_SCHEMA: &str =
    include_str!("../../../../worker/testdata/winequality-red.schema.json");

const TIMEOUT: Duration = Duration::from_secs(60);
/// The model class's share of the model's revenue (the rest goes to the data).
const MODEL_SHARE_BPS: u16 = 2_000;
const CONTRIBUTORS: [(&str, u32); 3] = [("Alice", 1), ("Bob", 2), ("Carol", 3)];
const OWNER: u32 = 0;
const CONSUMER: u32 = 4;
const MODEL_WORKER: u32 = 6;
const VERIFIERS: [u32; 3] = [7, 8, 9];

/// `lazai demo`.
#[derive(clap::Args, Debug)]
pub struct DemoArgs {
    /// Where the demo's chain, blobs, model and summary go [default: ./lazai-demo, or
    /// ./lazai-demo-2, -3… when taken]. Must not exist or be empty.
    #[arg(long)]
    pub data_dir: Option<PathBuf>,
    /// Print the summary as JSON on stdout (the narration goes to stderr).
    #[arg(long)]
    pub json: bool,
    /// Keep the devnet running after the summary, for inspection with the CLI and RPC
    /// (Ctrl-C stops it).
    #[arg(long)]
    pub keep_running: bool,
    /// Inference calls the consumer buys and makes.
    #[arg(long, default_value_t = 100)]
    pub calls: u64,
    /// Price of one call, in LAZAI.
    #[arg(long, default_value = "0.01")]
    pub price: String,
    /// Block time in milliseconds.
    #[arg(long, default_value_t = 200)]
    pub block_time: u64,
    /// JSON-RPC listen address.
    #[arg(long, default_value = "127.0.0.1:8545")]
    pub rpc_addr: std::net::SocketAddr,
}

/// One contributor's row of the summary.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ContributorRow {
    pub name: String,
    pub address: Address,
    pub file_id: u64,
    pub rows: u64,
    pub score: u16,
    pub token_id: u64,
    pub share_ratio: u64,
    /// Wei earned (claimed + unclaimed).
    pub earned: u128,
    pub claimed: u128,
    pub unclaimed: u128,
}

/// The demo's outcome (all amounts in wei).
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Summary {
    pub chain_id: u64,
    pub data_dir: PathBuf,
    pub idao_id: u64,
    pub dataset_class: u64,
    pub flow_id: u64,
    pub model_id: u64,
    pub model_class: u64,
    pub model_hash: B256,
    pub training_report_hash: B256,
    pub training_rows: u64,
    pub held_out_rows: u64,
    pub held_out_accuracy_int8: f64,
    pub held_out_accuracy_f32: f64,
    pub majority_baseline: f64,
    pub calls_bought: u64,
    pub calls_made: u64,
    pub calls_correct: u64,
    pub receipts_verified: u64,
    pub usage_batches: u64,
    pub usage_gas: u64,
    pub usage_gas_per_call: u64,
    pub price_per_call: u128,
    pub model_share_bps: u16,
    /// What the consumer paid for usage.
    pub paid: u128,
    /// What holders claimed.
    pub claimed: u128,
    /// What holders can still claim.
    pub unclaimed: u128,
    /// Sub-wei remainders the DAT keeps per class (`paid − claimed − unclaimed`).
    pub dust: u128,
    pub to_model: u128,
    pub to_data: u128,
    pub model_owner: Address,
    pub model_owner_claimed: u128,
    pub contributors: Vec<ContributorRow>,
    pub seconds: f64,
}

fn account(i: u32) -> PrivateKeySigner {
    dev_account(i).expect("dev account")
}

fn signing(rpc: &str, i: u32) -> Result<Client> {
    Client::signing(rpc, account(i), TIMEOUT)
}

/// Header plus data rows `range` of the wine file.
pub fn wine_slice(range: std::ops::Range<usize>) -> String {
    let mut lines = WINE.lines();
    let header = lines.next().unwrap_or_default();
    let rows: Vec<&str> = lines.collect();
    let mut out = format!("{header}\n");
    for row in &rows[range] {
        out.push_str(row);
        out.push('\n');
    }
    out
}

/// Encrypts and uploads `text` for `idao`, registers it and shares it with the iDAO; returns
/// the file id.
pub async fn submit_file(
    c: &Client,
    store: &BlobStore,
    idao: U256,
    dir: &Path,
    text: &str,
) -> Result<U256> {
    let config = c
        .call(VSC_ADDRESS, V::dataConfigCall { idaoId: idao })
        .await?;
    let recipient = lazai_crypto::PublicKey::from_bytes(config.workerKey.as_slice())
        .map_err(|e| anyhow!("the iDAO's worker key: {e}"))?;
    let path = tempfile::Builder::new()
        .suffix(".csv")
        .tempfile_in(dir)?
        .into_temp_path();
    std::fs::write(&path, text)?;
    let contribution = contribute(&path, store, &recipient, dir, EncryptParams::default()).await?;
    let added = c
        .send(
            DATA_REGISTRY_ADDRESS,
            R::addFileCall {
                url: contribution.url,
                hash: contribution.hash.to_string(),
            },
            U256::ZERO,
        )
        .await?;
    let id = event::<R::FileAdded>(&added, DATA_REGISTRY_ADDRESS)?.fileId;
    c.send(
        DATA_REGISTRY_ADDRESS,
        R::addPermissionForFileCall {
            fileId: id,
            account: idao_data_address(idao),
            key: contribution.sealed_key.to_hex(),
        },
        U256::ZERO,
    )
    .await?;
    Ok(id)
}

/// Registers an iDAO as `owner`, declares how its data is verified (`params`) and sets a
/// dev-TEE policy (any measurement, an hour of evidence age); its id and data configuration.
pub async fn dev_tee_idao(
    owner: &Client,
    name: &str,
    metadata_uri: &str,
    roles: u8,
    params: V::DataParams,
) -> Result<(U256, V::DataConfig)> {
    let r = owner
        .send(
            IDAO_REGISTRY_ADDRESS,
            G::registerIdao_1Call {
                name: name.into(),
                metadataUri: metadata_uri.into(),
                roles,
            },
            U256::ZERO,
        )
        .await?;
    let idao = event::<G::IdaoRegistered>(&r, IDAO_REGISTRY_ADDRESS)?.idaoId;
    owner
        .send(
            VSC_ADDRESS,
            V::configureIdaoCall {
                idaoId: idao,
                params,
            },
            U256::ZERO,
        )
        .await?;
    owner
        .send(
            IDAO_REGISTRY_ADDRESS,
            ITeeRegistry::setTeePolicyCall {
                idaoId: idao,
                policy: TeePolicy {
                    platforms: lazai_attest::Platform::Dev.bit(),
                    measurements: Vec::new(),
                    minTcbStatus: 0,
                    maxEvidenceAge: 3_600,
                },
            },
            U256::ZERO,
        )
        .await?;
    let config = owner
        .call(VSC_ADDRESS, V::dataConfigCall { idaoId: idao })
        .await?;
    Ok((idao, config))
}

/// Waits until flow `flow` is no longer pending.
pub async fn wait_flow(c: &Client, flow: U256, timeout: Duration) -> Result<V::Flow> {
    let deadline = Instant::now() + timeout;
    loop {
        let f = c.call(VSC_ADDRESS, V::getFlowCall { flowId: flow }).await?;
        if f.status != 1 {
            return Ok(f);
        }
        if Instant::now() > deadline {
            bail!("flow {flow} still pending after {} s", timeout.as_secs());
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn lazai_text(wei: u128) -> String {
    crate::kit::units::format_lazai(U256::from(wei))
}

fn u64_of(v: U256) -> u64 {
    u64::try_from(v).unwrap_or(u64::MAX)
}

fn u128_of(v: U256) -> u128 {
    u128::try_from(v).unwrap_or(u128::MAX)
}

/// The first of `./lazai-demo`, `./lazai-demo-2`, … that does not exist.
fn default_dir() -> PathBuf {
    let mut n = 1;
    loop {
        let p = if n == 1 {
            PathBuf::from("lazai-demo")
        } else {
            PathBuf::from(format!("lazai-demo-{n}"))
        };
        if !p.exists() {
            return p;
        }
        n += 1;
    }
}

/// Runs `lazai demo`.
pub fn run(args: DemoArgs) -> Result<()> {
    let data_dir = match &args.data_dir {
        Some(d) => {
            if d.exists() && std::fs::read_dir(d)?.next().is_some() {
                bail!(
                    "{} is not empty; the demo starts a fresh chain (pass another --data-dir)",
                    d.display()
                );
            }
            d.clone()
        }
        None => default_dir(),
    };
    std::fs::create_dir_all(&data_dir).with_context(|| format!("create {}", data_dir.display()))?;
    let price = crate::kit::units::parse_lazai(&args.price)?;
    if args.calls == 0 || args.calls > 100_000 {
        bail!("--calls must be between 1 and 100000");
    }
    let accounts: Vec<Address> = (0..10).map(|i| account(i).address()).collect();
    let genesis = load_or_store_genesis(
        &data_dir,
        devnet_genesis(DEVNET_CHAIN_ID, 1, &accounts, lazai(10_000), 1_000_000_000),
    )?;
    let settings = NodeSettings::new(
        genesis,
        data_dir.clone(),
        args.rpc_addr,
        Duration::from_millis(args.block_time.clamp(10, 60_000)),
    );
    let p2p = crate::devnet::cluster::free_port_run(1)?;
    let keys = vec![lazai_consensus::devnet_key(0)];
    let runtime = settings.runtime();
    let json = args.json;
    let keep = args.keep_running;
    let calls = args.calls;
    cw_tokio::Runner::new(runtime).start(|context| async move {
        let devnet = start_devnet(context, settings, keys, p2p)
            .await
            .with_context(|| format!("start the devnet (is {} free?)", args.rpc_addr))?;
        let rpc = format!("http://{}", devnet.rpc_addr());
        let say = |line: &str| {
            if json {
                eprintln!("{line}");
            } else {
                println!("{line}");
            }
        };
        let summary = walk(&rpc, &data_dir, calls, price, &say).await?;
        let path = data_dir.join("demo-summary.json");
        std::fs::write(&path, serde_json::to_vec_pretty(&summary)?)?;
        if json {
            println!("{}", serde_json::to_string_pretty(&summary)?);
        } else {
            print_summary(&summary);
            println!();
            println!("Summary saved to {}", path.display());
        }
        say(&format!(
            "Inspect it later: lazai devnet --data-dir {} --no-default-idao (resumes this chain at {rpc}), then e.g. `lazai dat class show {} --rpc {rpc}`",
            data_dir.display(),
            summary.model_class
        ));
        if keep {
            say(&format!("The devnet keeps running at {rpc}; Ctrl-C stops it."));
            let signal = crate::shutdown_signal().await?;
            eprintln!("{signal}: shutting down");
        }
        Ok::<_, anyhow::Error>(())
    })?;
    Ok(())
}

fn print_summary(s: &Summary) {
    println!();
    println!("Summary");
    println!("=======");
    println!(
        "Model {} (DAT class {}), trained on {} verified rows of iDAO {}: held-out accuracy {:.1}% (majority class {:.1}%)",
        s.model_id,
        s.model_class,
        s.training_rows + s.held_out_rows,
        s.idao_id,
        s.held_out_accuracy_int8 * 100.0,
        s.majority_baseline * 100.0
    );
    println!(
        "Usage: {} calls bought at {} each, {} made, {} receipts verified; on chain in {} batch(es), {} gas per call",
        s.calls_bought,
        lazai_text(s.price_per_call),
        s.calls_made,
        s.receipts_verified,
        s.usage_batches,
        s.usage_gas_per_call
    );
    println!();
    println!(
        "{:<8} {:<42} {:>6} {:>6} {:>7} {:>28} {:>28}  why",
        "holder", "address", "rows", "score", "DAT", "earned", "claimed"
    );
    let total_share: u64 = s.contributors.iter().map(|c| c.share_ratio).sum();
    for c in &s.contributors {
        println!(
            "{:<8} {:<42} {:>6} {:>6} {:>7} {:>28} {:>28}  share {}/{} of the data's {}%",
            c.name,
            c.address.to_string(),
            c.rows,
            c.score,
            c.token_id,
            lazai_text(c.earned),
            lazai_text(c.claimed),
            c.share_ratio,
            total_share,
            100 - s.model_share_bps / 100
        );
    }
    println!(
        "{:<8} {:<42} {:>6} {:>6} {:>7} {:>28} {:>28}  the model class's {}% (ownership DAT)",
        "iDAO",
        s.model_owner.to_string(),
        "",
        "",
        "",
        lazai_text(s.model_owner_claimed),
        lazai_text(s.model_owner_claimed),
        s.model_share_bps / 100
    );
    println!();
    println!(
        "paid {} wei = claimed {} + unclaimed {} + dust {} (sub-wei remainders kept by the DAT)",
        s.paid, s.claimed, s.unclaimed, s.dust
    );
    println!("({:.1} s)", s.seconds);
}
