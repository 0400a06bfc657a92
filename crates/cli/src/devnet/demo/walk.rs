//! The demo's walk through the whole loop, one function per step (see the module docs of
//! [`super`]): the iDAO and its verifiers, the contributions and their verdicts, training,
//! metered inference, and revenue claimed back.

use super::cast::{
    CONSUMER, CONTRIBUTORS, MODEL_SHARE_BPS, MODEL_WORKER, OWNER, Summary, TIMEOUT, VERIFIERS,
    account, lazai_text, signing, u64_of, u128_of,
};
use super::claims::{VerifiedFile, claim_everything};
use super::fixtures::{WINE, WINE_SCHEMA, dev_tee_idao, submit_file, wait_flow, wine_slice};
use alloy_primitives::{Address, U256};
use anyhow::{Result, anyhow, bail};
use lazai_abi::{
    DAT_ADDRESS, IDataAnchoringToken as D, IModelRegistry as M, IVsc as V, MODEL_REGISTRY_ADDRESS,
    ROLE_DATA, ROLE_MODEL, VSC_ADDRESS,
};
use lazai_blob::{BlobStore, Fetcher};
use lazai_client::{Client, event};
use lazai_crypto::{PublicKey, SecretKey, generate_keypair};
use lazai_types::{DEVNET_CHAIN_ID, lazai};
use lazai_worker::serve::{PredictError, Prediction, ServedModel, ZkTask};
use lazai_worker::{
    ModelWorker, Packager, ServeConfig, ServeStats, TrainingJob, TrainingOutcome, Worker,
    WorkerConfig,
};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// What every step shares: the devnet, the demo's directories and blob store, the iDAO's
/// worker secret, and where the narration goes.
struct Stage<'a> {
    rpc: &'a str,
    dir: &'a Path,
    work: PathBuf,
    store: BlobStore,
    secret: SecretKey,
    say: &'a dyn Fn(&str),
}

/// The verifier workers running in this process, and how to stop them.
struct Verifiers {
    stop: tokio::sync::watch::Sender<bool>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

impl Verifiers {
    async fn stop(self) {
        let _ = self.stop.send(true);
        for t in self.tasks {
            let _ = t.await;
        }
    }
}

/// What the consumer's calls came to.
struct Usage {
    paid: U256,
    correct: u64,
    verified: u64,
    /// Calls proved in zero knowledge and verified on chain.
    zk_verified: u64,
    optimistic: super::optimistic::OptimisticOutcome,
    stats: ServeStats,
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
    let stage = Stage {
        rpc,
        dir,
        work,
        store,
        secret,
        say,
    };

    say("LazAI demo: data → verification → DATs → training → metered inference → revenue");
    say("");
    let (idao, config) = register_idao(&stage, &owner, &public).await?;
    let verifiers = start_verifiers(&stage, idao).await?;
    let (flow, files) = contribute_and_verify(&stage, &owner, idao).await?;
    let (trainer, trained) = train_model(&stage, idao, config.classId, price).await?;
    let usage = buy_and_call(&stage, trainer, &trained, calls, price).await?;
    let (to_model, to_data) =
        revenue_split(&stage, &owner, &trained, usage.paid, config.classId).await?;
    let claims = claim_everything(rpc, say, &files, &trained, usage.paid, config.classId).await?;
    verifiers.stop().await;
    let rep = &trained.report;
    let stats = usage.stats;
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
        calls_correct: usage.correct,
        receipts_verified: usage.verified,
        zk_verified_tasks: usage.zk_verified,
        optimistic: usage.optimistic.clone(),
        usage_batches: stats.batches,
        usage_gas: stats.batch_gas,
        usage_gas_per_call: stats.batch_gas / stats.calls_recorded.max(1),
        price_per_call: u128_of(price),
        model_share_bps: MODEL_SHARE_BPS,
        paid: u128_of(usage.paid),
        claimed: claims.claimed,
        unclaimed: claims.unclaimed,
        dust: claims.dust,
        to_model,
        to_data,
        model_owner: claims.owner,
        model_owner_claimed: claims.owner_claimed,
        contributors: claims.contributors,
        seconds: started.elapsed().as_secs_f64(),
    })
}

/// Step 1: the iDAO registers, declares the wine schema, its quorum and a dev-TEE policy, and
/// adds its verifiers.
async fn register_idao(
    stage: &Stage<'_>,
    owner: &Client,
    public: &PublicKey,
) -> Result<(U256, V::DataConfig)> {
    let say = stage.say;
    say("1. An iDAO registers and declares how its data is verified");
    let fee = lazai(1) / U256::from(100);
    let (idao, config) = dev_tee_idao(
        owner,
        "wine-quality",
        "https://archive.ics.uci.edu/dataset/186/wine+quality",
        ROLE_DATA | ROLE_MODEL,
        V::DataParams {
            schema: WINE_SCHEMA.to_string(),
            workerKey: public.to_bytes().into(),
            storeUrl: stage.store.base_url().to_string(),
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
    Ok((idao, config))
}

/// The configuration of the iDAO's worker run by devnet account `i` (dev TEE).
fn worker_config(stage: &Stage<'_>, idao: U256, i: u32) -> WorkerConfig {
    WorkerConfig {
        poll: Duration::from_millis(100),
        max_blob: 1 << 30,
        tx_timeout: TIMEOUT,
        serve_jobs: false,
        tee: lazai_attest::source::Source::Dev(lazai_attest::dev::Simulator::random()),
        url: format!("http://127.0.0.1/worker-{i}"),
        ..WorkerConfig::new(
            stage.rpc,
            idao,
            account(i),
            stage.secret.clone(),
            Fetcher::new(vec![stage.store.clone()]),
            stage.work.join(format!("worker-{i}")),
        )
    }
}

/// Starts the verifier workers, attested with the dev TEE, watching the iDAO's flows.
async fn start_verifiers(stage: &Stage<'_>, idao: U256) -> Result<Verifiers> {
    let (stop, rx) = tokio::sync::watch::channel(false);
    let mut tasks = Vec::new();
    for &i in &VERIFIERS {
        let worker = Worker::new(worker_config(stage, idao, i)).await?;
        let mut rx = rx.clone();
        tasks.push(tokio::spawn(worker.run(async move {
            let _ = rx.wait_for(|s| *s).await;
        })));
    }
    (stage.say)("   3 verifier workers attested (dev TEE) and are watching the iDAO's flows");
    (stage.say)("");
    Ok(Verifiers { stop, tasks })
}

/// Step 2: the contributors encrypt and contribute their slices, the iDAO packages them into
/// a flow, and the quorum verifies it; the flow and the verified files.
async fn contribute_and_verify(
    stage: &Stage<'_>,
    owner: &Client,
    idao: U256,
) -> Result<(U256, Vec<VerifiedFile>)> {
    let say = stage.say;
    say("2. Three contributors encrypt slices of the wine-quality data set and contribute them");
    let slices = [(0usize, 640usize), (640, 1120), (1120, 1599)];
    let mut files = Vec::new();
    for (&(name, i), &(from, to)) in CONTRIBUTORS.iter().zip(&slices) {
        let c = signing(stage.rpc, i)?;
        let text = wine_slice(from..to);
        let id = submit_file(&c, &stage.store, idao, &stage.work, &text).await?;
        say(&format!(
            "   {name} ({}) contributed {} rows as file {id} (AES-256-GCM, key sealed to the iDAO's worker key)",
            c.from(),
            to - from
        ));
        files.push((name, i, id, (to - from) as u64));
    }
    let mut packager = Packager::new(stage.rpc, account(OWNER), idao, Duration::from_millis(100))?;
    let flow = packager.submit(files.iter().map(|f| f.2).collect()).await?;
    say(&format!(
        "   the iDAO packaged them into flow {flow}; the quorum decrypts and scores them inside its TEE boundary…"
    ));
    let f = wait_flow(owner, flow, Duration::from_secs(120)).await?;
    if f.status != 2 {
        bail!("flow {flow} was not verified (status {})", f.status);
    }
    let mut verified = Vec::new();
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
        verified.push(VerifiedFile {
            name,
            account: i,
            file,
            rows: n,
            score: st.score,
            token: st.tokenId,
        });
    }
    say(&format!(
        "   flow {flow} anchored (results root {})",
        f.resultsRoot
    ));
    say("");
    Ok((flow, verified))
}

/// Step 3: the model worker trains on the verified rows and registers the model.
async fn train_model(
    stage: &Stage<'_>,
    idao: U256,
    dataset_class: U256,
    price: U256,
) -> Result<(ModelWorker, TrainingOutcome)> {
    let say = stage.say;
    say("3. The iDAO's model worker trains a model on the verified data and registers it");
    let trainer = ModelWorker::new(worker_config(stage, idao, MODEL_WORKER)).await?;
    let job = TrainingJob {
        label: "quality".into(),
        positive_at_least: 6.0,
        config: lazai_model::TrainConfig::default(),
        price_per_call: price,
        model_share_bps: MODEL_SHARE_BPS,
        out_dir: stage.dir.join("models"),
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
        dataset_class,
        rep.lineage.iter().map(|l| l.rows).sum::<u64>(),
        trained.model_path.display()
    ));
    say("");
    Ok((trainer, trained))
}

/// Step 4: the consumer buys `calls` calls, the worker serves the model with metering, and
/// the consumer makes every call with signed headers.
async fn buy_and_call(
    stage: &Stage<'_>,
    trainer: ModelWorker,
    trained: &TrainingOutcome,
    calls: u64,
    price: U256,
) -> Result<Usage> {
    let say = stage.say;
    say(&format!(
        "4. A consumer buys {calls} calls and makes them through the worker's metered endpoint"
    ));
    let consumer = signing(stage.rpc, CONSUMER)?;
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
    let worker_client = trainer.client().clone();
    let blobs = stage.dir.join("blobs").display().to_string();
    let challenger =
        super::optimistic::start(stage.rpc, record.idaoId, &trained.model, &blobs).await?;
    let server = lazai_worker::serve::start(
        trainer,
        trained.model.clone(),
        record.clone(),
        ServeConfig {
            listen: "127.0.0.1:0".parse()?,
            batch_calls: 25,
            zk: Some(lazai_worker::serve::ZkServe::default()),
            optimistic: Some(lazai_worker::optimistic::OptimisticServe {
                blobs: blobs.clone(),
            }),
            ..ServeConfig::default()
        },
    )
    .await?;
    let url = format!("http://{}", server.addr);
    say(&format!("   worker serving at {url}"));
    let (correct, verified, proved, posted) = call_model(&url, node, usage_token, calls).await?;
    let mut zk_verified = 0;
    if let Some((zk, p)) = proved {
        crate::zk::wait_verified(stage.rpc, &zk, &p, Duration::from_secs(120)).await?;
        zk_verified += 1;
        say(&format!(
            "   the last call asked for a proof: task {} verified on chain in zero knowledge (Groth16 over BN254, dev setup), class {} and logits {:?} on an input the chain saw only as the commitment {}",
            zk.task_id, p.class, p.logits, zk.input_commitment
        ));
    }
    let optimistic = super::optimistic::catch_a_lie(
        stage.rpc,
        say,
        worker_client,
        &trained.model,
        &record,
        &blobs,
        posted,
        consumer.from(),
        challenger,
    )
    .await?;
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
    Ok(Usage {
        paid,
        correct,
        verified,
        zk_verified,
        optimistic,
        stats,
    })
}

/// The task of a call posted optimistically, and when.
type Posted = Option<(U256, Instant)>;

/// Dave's `calls` signed calls to the model server at `url` (its base URL; served by `node`)
/// against usage DAT `usage_token`, on the held-out wine rows; (predictions right, receipts
/// verified, the call proved in ZK, the call posted optimistically).
async fn call_model(
    url: &str,
    node: Address,
    usage_token: U256,
    calls: u64,
) -> Result<(u64, u64, Option<(ZkTask, Prediction)>, Posted)> {
    let served = ServedModel::new(url, node, DEVNET_CHAIN_ID);
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
    let mut proved = None;
    let mut posted = None;
    for n in 0..calls {
        let row = &test_rows[(n as usize) % test_rows.len()];
        let features: Vec<f64> = row[..label_at].to_vec();
        let nonce = U256::from(n + 1);
        // The last call asks for a proof of inference, the one before for an optimistic result.
        let answer = if n + 1 == calls {
            served
                .call_proved(&dave, nonce, usage_token, &features, false)
                .await
        } else if n + 2 == calls {
            served
                .call_optimistic(&dave, nonce, usage_token, &features)
                .await
        } else {
            served
                .call_signed(&dave, nonce, usage_token, &features)
                .await
        };
        let p = match answer {
            Ok(p) => p,
            Err(PredictError::Refused { status, body }) => {
                bail!("call {} refused: {status} {body}", n + 1)
            }
            Err(PredictError::Other(e)) => return Err(e),
        };
        let receipt = p.receipt.as_ref().ok_or_else(|| anyhow!("no receipt"))?;
        if receipt.signer() == Some(node) && receipt.counter == n + 1 {
            verified += 1;
        }
        if p.class == u32::from(row[label_at] >= 6.0) {
            correct += 1;
        }
        if let Some(zk) = &p.zk {
            proved = Some((zk.clone(), p.clone()));
        }
        if let Some(o) = &p.optimistic {
            posted = Some((o.task_id, Instant::now()));
        }
    }
    Ok((correct, verified, proved, posted))
}

/// Step 5, first half: how the payment was split at purchase; (to the model, to the data).
async fn revenue_split(
    stage: &Stage<'_>,
    owner: &Client,
    trained: &TrainingOutcome,
    paid: U256,
    dataset_class: U256,
) -> Result<(u128, u128)> {
    let say = stage.say;
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
        dataset_class
    ));
    Ok((to_model, to_data))
}
