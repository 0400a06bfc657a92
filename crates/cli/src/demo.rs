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

use crate::devnet::load_or_store_genesis;
use alloy_primitives::{Address, B256, U256};
use alloy_signer_local::PrivateKeySigner;
use anyhow::{Context as _, Result, anyhow, bail};
use lazai_blob::{BlobStore, Fetcher};
use lazai_client::{Client, event};
use lazai_consensus::runtime::{Runner as _, tokio as cw_tokio};
use lazai_crypto::{EncryptParams, generate_keypair};
use lazai_abi::{
    DAT_ADDRESS, IDAO_REGISTRY_ADDRESS, IDataAnchoringToken as D, IIdaoRegistry as G,
    IModelRegistry as M, ITeeRegistry, IVsc as V, MODEL_REGISTRY_ADDRESS, ROLE_DATA, ROLE_MODEL,
    SCALE, TeePolicy, VSC_ADDRESS,
};
use lazai_node::{NodeSettings, dev_account, devnet_genesis, start_devnet};
use lazai_types::{DEVNET_CHAIN_ID, lazai};
use lazai_worker::serve::{PredictError, ServedModel};
use lazai_worker::{
    Destination, ModelWorker, Packager, ServeConfig, TrainingJob, Worker, WorkerConfig,
    contribute_and_register,
};
use serde::Serialize;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// The wine-quality data set (UCI, red), shipped with the worker's tests.
pub const WINE: &str = include_str!("../../worker/testdata/winequality-red.csv");
/// Its schema, as the iDAO declares it.
pub const WINE_SCHEMA: &str = include_str!("../../worker/testdata/winequality-red.schema.json");

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

/// Encrypts and uploads `text` for `idao`, registers it and shares it with the iDAO in one
/// transaction; returns the file id.
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
    let to = Destination {
        idao,
        recipient: &recipient,
        store,
    };
    let registered =
        contribute_and_register(c, &to, &path, dir, EncryptParams::default(), &mut ()).await?;
    Ok(registered.file_id)
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
    crate::dat::format_lazai(U256::from(wei))
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
    let price = crate::dat::parse_lazai(&args.price)?;
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
    let p2p = crate::cluster::free_port_run(1)?;
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

/// Walks the whole lifecycle against the devnet at `rpc` (see the module docs).
pub async fn walk(
    rpc: &str,
    dir: &Path,
    calls: u64,
    price: U256,
    say: &dyn Fn(&str),
) -> Result<Summary> {
    let started = Instant::now();
    let owner = signing(rpc, OWNER)?;
    let blobs = dir.join("blobs");
    std::fs::create_dir_all(&blobs)?;
    let work = dir.join("work");
    std::fs::create_dir_all(&work)?;
    let store = BlobStore::open(&blobs.display().to_string())?;
    let (secret, public) = generate_keypair();

    say("LazAI demo: data → verification → DATs → training → metered inference → revenue");
    say("");
    say("1. An iDAO registers and declares how its data is verified");
    let fee = lazai(1) / U256::from(100);
    let (idao, config) = dev_tee_idao(
        &owner,
        "wine-quality",
        "https://archive.ics.uci.edu/dataset/186/wine+quality",
        ROLE_DATA | ROLE_MODEL,
        V::DataParams {
            schema: WINE_SCHEMA.to_string(),
            workerKey: public.to_bytes().into(),
            storeUrl: store.base_url().to_string(),
            quorumSize: 3,
            threshold: 2,
            deadlineBlocks: 600,
            nodeFee: fee,
            usageQuota: U256::from(1_000),
        },
    )
    .await?;
    for &i in &VERIFIERS {
        owner
            .send(
                VSC_ADDRESS,
                V::addVerifierCall {
                    idaoId: idao,
                    node: account(i).address(),
                    url: format!("demo-verifier-{i}"),
                },
                U256::ZERO,
            )
            .await?;
    }
    say(&format!(
        "   iDAO {idao} \"wine-quality\" (owner {}): wine schema, quorum 3 of 3 verifiers, 2 must agree, dev TEE; dataset class {}",
        owner.from(),
        config.classId
    ));

    let worker_config = |i: u32| WorkerConfig {
        poll: Duration::from_millis(100),
        max_blob: 1 << 30,
        tx_timeout: TIMEOUT,
        serve_jobs: false,
        tee: lazai_attest::source::Source::Dev(lazai_attest::dev::Simulator::random()),
        url: format!("http://127.0.0.1/worker-{i}"),
        ..WorkerConfig::new(
            rpc,
            idao,
            account(i),
            secret.clone(),
            Fetcher::new(vec![store.clone()]),
            work.join(format!("worker-{i}")),
        )
    };
    let (stop, rx) = tokio::sync::watch::channel(false);
    let mut tasks = Vec::new();
    for &i in &VERIFIERS {
        let worker = Worker::new(worker_config(i)).await?;
        let mut rx = rx.clone();
        tasks.push(tokio::spawn(worker.run(async move {
            let _ = rx.wait_for(|s| *s).await;
        })));
    }
    say("   3 verifier workers attested (dev TEE) and are watching the iDAO's flows");
    say("");

    say("2. Three contributors encrypt slices of the wine-quality data set and contribute them");
    let slices = [(0usize, 640usize), (640, 1120), (1120, 1599)];
    let mut files = Vec::new();
    for (&(name, i), &(from, to)) in CONTRIBUTORS.iter().zip(&slices) {
        let c = signing(rpc, i)?;
        let id = submit_file(&c, &store, idao, &work, &wine_slice(from..to)).await?;
        say(&format!(
            "   {name} ({}) contributed {} rows as file {id} (AES-256-GCM, key sealed to the iDAO's worker key)",
            c.from(),
            to - from
        ));
        files.push((name, i, id, (to - from) as u64));
    }
    let mut packager = Packager::new(rpc, account(OWNER), idao, Duration::from_millis(100))?;
    let flow = packager.submit(files.iter().map(|f| f.2).collect()).await?;
    say(&format!(
        "   the iDAO packaged them into flow {flow}; the quorum decrypts and scores them inside its TEE boundary…"
    ));
    let f = wait_flow(&owner, flow, Duration::from_secs(120)).await?;
    if f.status != 2 {
        bail!("flow {flow} was not verified (status {})", f.status);
    }
    let mut rows = Vec::new();
    for &(name, i, file, n) in &files {
        let st = owner
            .call(VSC_ADDRESS, V::fileStatusCall { fileId: file })
            .await?;
        if st.state != 2 {
            bail!("{name}'s file {file} was not verified (state {})", st.state);
        }
        say(&format!(
            "   {name}'s file {file}: verified, score {} / 10000 → dataset DAT {} (share {})",
            st.score, st.tokenId, st.score
        ));
        rows.push((name, i, file, n, st.score, st.tokenId));
    }
    say(&format!(
        "   flow {flow} anchored (results root {})",
        f.resultsRoot
    ));
    say("");

    say("3. The iDAO's model worker trains a model on the verified data and registers it");
    let trainer = ModelWorker::new(worker_config(MODEL_WORKER)).await?;
    let job = TrainingJob {
        label: "quality".into(),
        positive_at_least: 6.0,
        config: lazai_model::TrainConfig::default(),
        price_per_call: price,
        model_share_bps: MODEL_SHARE_BPS,
        out_dir: dir.join("models"),
    };
    let trained = trainer.train(&job).await?;
    let rep = &trained.report;
    say(&format!(
        "   trained on {} rows, {} held out: accuracy {:.1}% (f32 {:.1}%) vs {:.1}% for always guessing the majority class",
        rep.rows_train,
        rep.rows_held_out,
        rep.held_out_accuracy_int8 * 100.0,
        rep.held_out_accuracy_f32 * 100.0,
        rep.majority_baseline * 100.0
    ));
    say(&format!(
        "   model {} = DAT class {}: hash {}, report {} signed by the attested worker {}",
        trained.model_id,
        trained.class_id,
        trained.model_hash,
        trained.report_hash,
        trainer.address()
    ));
    say(&format!(
        "   lineage: dataset class {} (weight {} rows); files {}",
        config.classId,
        rep.lineage.iter().map(|l| l.rows).sum::<u64>(),
        trained.model_path.display()
    ));
    say("");

    say(&format!(
        "4. A consumer buys {calls} calls and makes them through the worker's metered endpoint"
    ));
    let consumer = signing(rpc, CONSUMER)?;
    let paid = price * U256::from(calls);
    let r = consumer
        .send(
            MODEL_REGISTRY_ADDRESS,
            M::buyUsageCall {
                modelId: trained.model_id,
                calls: U256::from(calls),
                expireAt: 0,
            },
            paid,
        )
        .await?;
    let usage_token = event::<M::UsageBought>(&r, MODEL_REGISTRY_ADDRESS)?.tokenId;
    say(&format!(
        "   Dave ({}) paid {} for usage DAT {usage_token} (value {calls} calls)",
        consumer.from(),
        lazai_text(u128_of(paid))
    ));
    let record = trainer
        .client()
        .call(
            MODEL_REGISTRY_ADDRESS,
            M::getModelCall {
                modelId: trained.model_id,
            },
        )
        .await?;
    let node = trainer.address();
    let server = lazai_worker::serve::start(
        trainer,
        trained.model.clone(),
        record,
        ServeConfig {
            listen: "127.0.0.1:0".parse()?,
            batch_calls: 25,
            ..ServeConfig::default()
        },
    )
    .await?;
    say(&format!("   worker serving at http://{}", server.addr));
    let served = ServedModel::new(&format!("http://{}", server.addr), node, DEVNET_CHAIN_ID);
    let dave = account(CONSUMER);
    let label_at = 11;
    let test_rows: Vec<Vec<f64>> = WINE
        .lines()
        .skip(1)
        .enumerate()
        .filter(|(i, _)| i % 5 == 0)
        .map(|(_, l)| l.split(',').filter_map(|x| x.trim().parse().ok()).collect())
        .collect();
    let (mut correct, mut verified) = (0u64, 0u64);
    for n in 0..calls {
        let row = &test_rows[(n as usize) % test_rows.len()];
        let features: Vec<f64> = row[..label_at].to_vec();
        let p = match served
            .call_signed(&dave, U256::from(n + 1), usage_token, &features)
            .await
        {
            Ok(p) => p,
            Err(PredictError::Refused { status, body }) => {
                bail!("call {} refused: {status} {body}", n + 1)
            }
            Err(PredictError::Other(e)) => return Err(e),
        };
        let receipt = p.receipt.ok_or_else(|| anyhow!("no receipt"))?;
        if receipt.signer() == Some(node) && receipt.counter == n + 1 {
            verified += 1;
        }
        if p.class == u32::from(row[label_at] >= 6.0) {
            correct += 1;
        }
    }
    let stats = server.stop().await;
    let token: D::DatToken = consumer
        .call(
            DAT_ADDRESS,
            D::tokenInfoCall {
                tokenId: usage_token,
            },
        )
        .await?;
    say(&format!(
        "   {calls} calls answered, {verified} receipts signed by the attested worker, {correct} predictions right; usage recorded in {} batch transaction(s) ({} gas, {} per call); DAT {usage_token} has {} calls left",
        stats.batches,
        stats.batch_gas,
        stats.batch_gas / stats.calls_recorded.max(1),
        token.value
    ));
    say("");

    say("5. Revenue flows back: the payment was split by the model's lineage; everyone claims");
    let model: M::Model = owner
        .call(
            MODEL_REGISTRY_ADDRESS,
            M::getModelCall {
                modelId: trained.model_id,
            },
        )
        .await?;
    let to_data = u128_of(model.toData);
    let to_model = u128_of(model.revenue) - to_data;
    say(&format!(
        "   {} paid: {} to the model class ({}%), {} to dataset class {} (by score)",
        lazai_text(u128_of(paid)),
        lazai_text(to_model),
        MODEL_SHARE_BPS / 100,
        lazai_text(to_data),
        config.classId
    ));
    let mut claimed_total = 0u128;
    let mut contributors = Vec::new();
    let total_share: u64 = rows.iter().map(|r| u64::from(r.4)).sum();
    for &(name, i, file, n, score, token) in &rows {
        let c = signing(rpc, i)?;
        let pending = c
            .call(
                DAT_ADDRESS,
                D::pendingRevenueCall {
                    tokenId: token,
                    asset: Address::ZERO,
                },
            )
            .await?;
        let mut claimed = 0u128;
        if !pending.is_zero() {
            let r = c
                .send(
                    DAT_ADDRESS,
                    D::claimCall {
                        tokenId: token,
                        asset: Address::ZERO,
                        to: c.from(),
                    },
                    U256::ZERO,
                )
                .await?;
            claimed = u128_of(event::<D::Claimed>(&r, DAT_ADDRESS)?.amount);
        }
        let left = c
            .call(
                DAT_ADDRESS,
                D::pendingRevenueCall {
                    tokenId: token,
                    asset: Address::ZERO,
                },
            )
            .await?;
        claimed_total += claimed;
        say(&format!(
            "   {name} claimed {} with dataset DAT {token} (share {score} of {total_share})",
            lazai_text(claimed)
        ));
        contributors.push(ContributorRow {
            name: name.to_string(),
            address: c.from(),
            file_id: u64_of(file),
            rows: n,
            score,
            token_id: u64_of(token),
            share_ratio: u64::from(score),
            earned: claimed + u128_of(left),
            claimed,
            unclaimed: u128_of(left),
        });
    }
    // The model class: the iDAO owner's ownership token is the first token of the class. (A
    // new client: the packager sent transactions with the owner's key meanwhile.)
    let owner = signing(rpc, OWNER)?;
    let owner_token = model_owner_token(&owner, trained.class_id).await?;
    let mut owner_claimed = 0u128;
    let pending = owner
        .call(
            DAT_ADDRESS,
            D::pendingRevenueCall {
                tokenId: owner_token,
                asset: Address::ZERO,
            },
        )
        .await?;
    if !pending.is_zero() {
        let r = owner
            .send(
                DAT_ADDRESS,
                D::claimCall {
                    tokenId: owner_token,
                    asset: Address::ZERO,
                    to: owner.from(),
                },
                U256::ZERO,
            )
            .await?;
        owner_claimed = u128_of(event::<D::Claimed>(&r, DAT_ADDRESS)?.amount);
    }
    claimed_total += owner_claimed;
    say(&format!(
        "   the iDAO ({}) claimed {} with the model's ownership DAT {owner_token}",
        owner.from(),
        lazai_text(owner_claimed)
    ));
    // Unclaimed: everything still pending in the two classes.
    let mut unclaimed = contributors.iter().map(|c| c.unclaimed).sum::<u128>();
    unclaimed += u128_of(
        owner
            .call(
                DAT_ADDRESS,
                D::pendingRevenueCall {
                    tokenId: owner_token,
                    asset: Address::ZERO,
                },
            )
            .await?,
    );
    let paid = u128_of(paid);
    let dust = paid
        .checked_sub(claimed_total + unclaimed)
        .ok_or_else(|| anyhow!("claimed + unclaimed exceed what was paid"))?;
    // Dust is what the DAT's per-class carries hold: check it against the classes' books.
    let mut carries = U256::ZERO;
    for class in [config.classId, trained.class_id] {
        let rev = owner
            .call(
                DAT_ADDRESS,
                D::classRevenueCall {
                    classId: class,
                    asset: Address::ZERO,
                },
            )
            .await?;
        carries += rev.carry;
    }
    if U256::from(dust) > carries / SCALE + U256::from(2 + rows.len() as u64) {
        bail!("dust {dust} wei is more than the classes' carries explain");
    }
    let _ = stop.send(true);
    for t in tasks {
        let _ = t.await;
    }
    Ok(Summary {
        chain_id: DEVNET_CHAIN_ID,
        data_dir: dir.to_path_buf(),
        idao_id: u64_of(idao),
        dataset_class: u64_of(config.classId),
        flow_id: u64_of(flow),
        model_id: u64_of(trained.model_id),
        model_class: u64_of(trained.class_id),
        model_hash: trained.model_hash,
        training_report_hash: trained.report_hash,
        training_rows: rep.rows_train,
        held_out_rows: rep.rows_held_out,
        held_out_accuracy_int8: rep.held_out_accuracy_int8,
        held_out_accuracy_f32: rep.held_out_accuracy_f32,
        majority_baseline: rep.majority_baseline,
        calls_bought: calls,
        calls_made: stats.calls,
        calls_correct: correct,
        receipts_verified: verified,
        usage_batches: stats.batches,
        usage_gas: stats.batch_gas,
        usage_gas_per_call: stats.batch_gas / stats.calls_recorded.max(1),
        price_per_call: u128_of(price),
        model_share_bps: MODEL_SHARE_BPS,
        paid,
        claimed: claimed_total,
        unclaimed,
        dust,
        to_model,
        to_data,
        model_owner: owner.from(),
        model_owner_claimed: owner_claimed,
        contributors,
        seconds: started.elapsed().as_secs_f64(),
    })
}

/// The model class's ownership token (the first token minted into it).
async fn model_owner_token(c: &Client, class: U256) -> Result<U256> {
    let count = c.call(DAT_ADDRESS, D::tokenCountCall {}).await?;
    let mut id = U256::from(1);
    while id <= count {
        let t = c
            .call(DAT_ADDRESS, D::tokenInfoCall { tokenId: id })
            .await?;
        if t.classId == class {
            return Ok(id);
        }
        id += U256::from(1);
    }
    bail!("model class {class} has no token")
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
