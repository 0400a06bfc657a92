//! `lazai-bench optimistic`: the fraud-proof game's costs on a devnet, through the real
//! worker ([`Poster`]) and challenger ([`Watcher`]) — gas of the post, of each move and of the
//! one-step proof, the moves of a full dispute, wall time from post to final (honest) and to
//! proven fraud (dishonest) — for the demo's wine model and a dense MLP of 4.2M parameters;
//! then the one-step proof's gas at layer widths up to the chain's limit (4,096 inputs), to
//! find the widest layer one step handles within the block gas limit.

use alloy::providers::Provider as _;
use alloy::rpc::types::{BlockNumberOrTag, Filter};
use alloy::sol_types::SolEvent;
use alloy_primitives::{Address, B256, U256};
use anyhow::{Context as _, Result, bail};
use lazai_abi::verifier::MAX_OPTIMISTIC_WIDTH;
use lazai_abi::{IVerifier as X, TASK_FRAUD, TASK_VERIFIED, VERIFIER_ADDRESS, claim_commitment};
use lazai_cli::devnet::demo::{register_model, registered_model};
use lazai_client::Client;
use lazai_model::QuantizedMlp;
use lazai_model::trace::{self, WeightTree};
use lazai_node::dev_account;
use lazai_types::lazai;
use lazai_worker::optimistic::{OptimisticServe, Poster, Watcher};
use std::time::{Duration, Instant};

const TIMEOUT: Duration = Duration::from_secs(120);
const OWNER: u32 = 1;
const CHALLENGER: u32 = 5;
const WINDOW: u64 = 10;
const MOVE_TIME: u64 = 100;
const BLOCK_MS: u64 = 100;

#[derive(clap::Args, Debug)]
pub struct OptimisticArgs {
    /// Skip the dense 4.2M-parameter model (its registration and proofs take a while).
    #[arg(long)]
    pub quick: bool,
}

fn account(i: u32) -> Result<alloy_signer_local::PrivateKeySigner> {
    dev_account(i).context("dev account")
}

fn signing(rpc: &str, i: u32) -> Result<Client> {
    Client::signing(rpc, account(i)?, TIMEOUT)
}

/// The gas of the transaction that emitted the first `E` log of task `task`.
async fn gas_of<E: SolEvent>(c: &Client, task: U256) -> Result<u64> {
    let filter = Filter::new()
        .address(VERIFIER_ADDRESS)
        .event_signature(E::SIGNATURE_HASH)
        .topic1(B256::from(task))
        .from_block(0);
    let log = c
        .provider()
        .get_logs(&filter)
        .await?
        .into_iter()
        .next()
        .with_context(|| format!("no {} log for task {task}", E::SIGNATURE))?;
    let hash = log.transaction_hash.context("log without transaction")?;
    let r = c
        .provider()
        .get_transaction_receipt(hash)
        .await?
        .context("no receipt")?;
    Ok(r.gas_used)
}

async fn wait_status(c: &Client, task: U256, want: u8) -> Result<()> {
    let deadline = Instant::now() + TIMEOUT;
    loop {
        let t = c
            .call(VERIFIER_ADDRESS, X::getTaskCall { taskId: task })
            .await?;
        if t.status == want {
            return Ok(());
        }
        if Instant::now() > deadline {
            bail!("task {task} is {} after {TIMEOUT:?}", t.status);
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

async fn set_terms(rpc: &str, idao: U256) -> Result<()> {
    signing(rpc, OWNER)?
        .send(
            VERIFIER_ADDRESS,
            X::setOptimisticParamsCall {
                idaoId: idao,
                params: X::OptimisticParams {
                    window: WINDOW,
                    moveTime: MOVE_TIME,
                    workerBond: lazai(1) / U256::from(10),
                    challengerBond: lazai(1) / U256::from(20),
                },
            },
            U256::ZERO,
        )
        .await?;
    Ok(())
}

struct Row {
    name: String,
    params: u64,
    layers: usize,
    units: u64,
    weights_gas: u64,
    post_gas: u64,
    challenge_gas: u64,
    reveal_gas: u64,
    one_step_gas: u64,
    finalize_gas: u64,
    moves: u32,
    honest_final: Duration,
    caught: Duration,
}

/// The whole path for one registered model: an honest post left alone and finalized after
/// the window, then a post tampered at the widest layer's first unit, caught by the watcher.
async fn game(
    rpc: &str,
    blobs: &str,
    name: &str,
    (worker, model, record): (
        lazai_worker::ModelWorker,
        QuantizedMlp,
        lazai_abi::IModelRegistry::Model,
    ),
) -> Result<Row> {
    set_terms(rpc, record.idaoId).await?;
    let reader = Client::read(rpc)?;
    let watcher = Watcher::start(
        signing(rpc, CHALLENGER)?,
        &account(CHALLENGER)?,
        record.idaoId,
        vec![model.clone()],
        blobs,
    )
    .await?;
    let (stop, rx) = tokio::sync::oneshot::channel::<()>();
    let watching = tokio::spawn(watcher.run(Duration::from_millis(20), async {
        let _ = rx.await;
    }));
    let poster = Poster::start(
        worker.client().clone(),
        &worker.config().signer,
        &model,
        &record,
        &OptimisticServe {
            blobs: blobs.to_string(),
        },
    )
    .await?;
    let weights_gas = {
        let filter = Filter::new()
            .address(VERIFIER_ADDRESS)
            .event_signature(X::ModelWeightsSet::SIGNATURE_HASH)
            .topic1(B256::from(record.id))
            .from_block(0);
        let log = reader
            .provider()
            .get_logs(&filter)
            .await?
            .into_iter()
            .next();
        match log.and_then(|l| l.transaction_hash) {
            Some(h) => reader
                .provider()
                .get_transaction_receipt(h)
                .await?
                .map(|r| r.gas_used)
                .unwrap_or_default(),
            None => 0,
        }
    };
    let q: Vec<i8> = (0..model.inputs)
        .map(|i| (((i * 37) % 200) as i32 - 100) as i8)
        .collect();
    let user = account(3)?.address();

    let started = Instant::now();
    let honest = poster.post(&q, user).await?;
    let o = reader
        .call(
            VERIFIER_ADDRESS,
            X::getOptimisticCall {
                taskId: honest.task_id,
            },
        )
        .await?;
    while reader.provider().get_block_number().await? <= o.postedAt + o.window {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let fin = signing(rpc, OWNER)?
        .send(
            VERIFIER_ADDRESS,
            X::finalizeCall {
                taskId: honest.task_id,
            },
            U256::ZERO,
        )
        .await?;
    wait_status(&reader, honest.task_id, TASK_VERIFIED).await?;
    let honest_final = started.elapsed();
    let post_gas = gas_of::<X::OptimisticPosted>(&reader, honest.task_id).await?;

    // Tampered at the widest layer, unit 0; later layers computed from it.
    let widest = (0..model.layers.len())
        .max_by_key(|&l| model.layers[l].inputs)
        .unwrap_or(0);
    let outputs = trace::tampered_outputs(&model, &q, widest, 0);
    let started = Instant::now();
    let wrong = poster.post_outputs(&q, outputs, user).await?;
    wait_status(&reader, wrong.task_id, TASK_FRAUD).await?;
    let caught = started.elapsed();
    let _ = stop.send(());
    let stats = watching.await?;
    if stats.frauds_proven != 1 || stats.correct != 1 {
        bail!("the watcher saw {stats:?}");
    }
    let d = reader
        .call(
            VERIFIER_ADDRESS,
            X::getDisputeCall {
                taskId: wrong.task_id,
                challenger: account(CHALLENGER)?.address(),
            },
        )
        .await?;
    Ok(Row {
        name: name.into(),
        params: model.parameters(),
        layers: model.layers.len(),
        units: model.layers.iter().map(|d| u64::from(d.outputs)).sum(),
        weights_gas,
        post_gas,
        challenge_gas: gas_of::<X::Challenged>(&reader, wrong.task_id).await?,
        reveal_gas: gas_of::<X::LayerRevealed>(&reader, wrong.task_id).await?,
        one_step_gas: gas_of::<X::FraudProven>(&reader, wrong.task_id).await?,
        finalize_gas: fin.gas_used,
        moves: d.moves,
        honest_final,
        caught,
    })
}

/// The one-step proof's gas for a unit with `width` inputs: a two-layer model `width`→2 is
/// registered and its weights committed, a result tampered at layer 0 posted, challenged,
/// revealed and proven wrong with these transactions directly (the model format stops at
/// 1,024-wide layers; the chain's one-step limit is 4,096 inputs).
async fn one_step_at(
    rpc: &str,
    root: &std::path::Path,
    width: u32,
    worker_index: u32,
) -> Result<(u64, u64)> {
    let model = trace::seeded_mlp(&[width, 2], u64::from(width));
    let (worker, model, record) =
        register_model(rpc, root, worker_index, U256::from(1), model).await?;
    set_terms(rpc, record.idaoId).await?;
    let w = worker.client();
    let tree = WeightTree::new(&model);
    let widths = trace::widths(&model);
    w.send(
        VERIFIER_ADDRESS,
        X::setModelWeightsCall {
            modelId: record.id,
            root: B256::from(tree.root()),
            widths: widths.clone(),
        },
        U256::ZERO,
    )
    .await?;
    let erin = signing(rpc, CHALLENGER)?;
    erin.send(
        VERIFIER_ADDRESS,
        X::registerChallengerCall {
            idaoId: record.idaoId,
            hpkeKey: B256::repeat_byte(5),
        },
        lazai(1) / U256::from(20),
    )
    .await?;
    let q: Vec<i8> = (0..width)
        .map(|i| ((i * 31) % 250) as i8)
        .map(|v| v.max(-127))
        .collect();
    let input: Vec<i64> = q.iter().map(|&v| i64::from(v)).collect();
    let truth = model.layers[0].forward(&input, false);
    let mut lie = truth.clone();
    lie[0] += 1;
    let hashes = |o: &[i64]| vec![B256::from(trace::activations_hash(0, o))];
    let r = w
        .send(
            VERIFIER_ADDRESS,
            X::postOptimisticResultCall {
                idaoId: record.idaoId,
                modelId: record.id,
                inputHash: B256::from(trace::activations_hash(u32::MAX, &input)),
                layerHashes: hashes(&lie),
                inputBlob: B256::repeat_byte(0xb1),
                user: Address::ZERO,
            },
            lazai(1) / U256::from(10),
        )
        .await?;
    let task = lazai_client::event::<X::OptimisticPosted>(&r, VERIFIER_ADDRESS)?.taskId;
    let chain = erin.provider().get_chain_id().await?;
    erin.send(
        VERIFIER_ADDRESS,
        X::challengeCall {
            taskId: task,
            claim: hashes(&truth)
                .into_iter()
                .map(|h| claim_commitment(chain, task, erin.from(), h))
                .collect(),
        },
        U256::ZERO,
    )
    .await?;
    w.send(
        VERIFIER_ADDRESS,
        X::revealLayerCall {
            taskId: task,
            layer: 0,
            values: trace::encode_values(&lie).into(),
        },
        U256::ZERO,
    )
    .await?;
    let evidence = lazai_worker::optimistic::one_step_evidence(&model, &tree, 0, 0, &input, &lie);
    let r = erin
        .send(
            VERIFIER_ADDRESS,
            X::submitFraudProofCall {
                taskId: task,
                evidence,
                challenger: erin.from(),
            },
            U256::ZERO,
        )
        .await?;
    Ok((r.gas_used, r.gas_used))
}

pub fn run(args: OptimisticArgs) -> Result<()> {
    crate::devnet::with_devnet(
        "optimistic",
        13,
        Duration::from_millis(BLOCK_MS),
        move |rpc, root| async move {
            let blobs = root.join("blobs");
            std::fs::create_dir_all(&blobs)?;
            let blobs = blobs.display().to_string();
            println!(
                "optimistic results on a 1-validator devnet ({BLOCK_MS} ms blocks; window {WINDOW} blocks, {MOVE_TIME} blocks per move); the challenger polls every 20 ms"
            );
            let mut rows = vec![
                game(
                    &rpc,
                    &blobs,
                    "wine (demo)",
                    registered_model(&rpc, &root, 6, U256::from(1), 1).await?,
                )
                .await?,
            ];
            if !args.quick {
                println!("registering the dense model (4.2M parameters)…");
                let big = trace::seeded_mlp(&[1024, 1024, 1024, 1024, 1000, 10], 9);
                rows.push(
                    game(
                        &rpc,
                        &blobs,
                        "dense 1024-1024-1024-1024-1000-10",
                        register_model(&rpc, &root, 7, U256::from(1), big).await?,
                    )
                    .await?,
                );
            }
            println!();
            println!(
                "{:<36} {:>9} {:>7} {:>10} {:>9} {:>10} {:>9} {:>10} {:>9} {:>6} {:>6} {:>11} {:>10}",
                "model",
                "params",
                "layers",
                "weights",
                "post",
                "challenge",
                "reveal",
                "one-step",
                "finalize",
                "moves",
                "bound",
                "post→final",
                "post→fraud"
            );
            for r in &rows {
                let bound =
                    2.0 * ((r.layers as f64) * (r.units as f64 / r.layers as f64)).log2() + 2.0;
                println!(
                    "{:<36} {:>9} {:>7} {:>10} {:>9} {:>10} {:>9} {:>10} {:>9} {:>6} {:>6.0} {:>10.2}s {:>9.2}s",
                    r.name,
                    r.params,
                    r.layers,
                    r.weights_gas,
                    r.post_gas,
                    r.challenge_gas,
                    r.reveal_gas,
                    r.one_step_gas,
                    r.finalize_gas,
                    r.moves,
                    bound.floor(),
                    r.honest_final.as_secs_f64(),
                    r.caught.as_secs_f64(),
                );
            }
            println!("(gas of whole transactions; bound = 2·log2(layers·width) + 2 moves)");
            let limit = Client::read(&rpc)?
                .provider()
                .get_block_by_number(BlockNumberOrTag::Latest)
                .await?
                .context("latest block")?
                .header
                .gas_limit;
            println!();
            println!(
                "one-step proof by layer width (a unit with that many inputs; block gas limit {limit}):"
            );
            let mut widths = vec![1024u32, 2048, MAX_OPTIMISTIC_WIDTH];
            if args.quick {
                widths = vec![MAX_OPTIMISTIC_WIDTH];
            }
            let mut points = Vec::new();
            for (i, &w) in widths.iter().enumerate() {
                let (gas, _) = one_step_at(&rpc, &root, w, 10 + i as u32).await?;
                println!(
                    "  {w:>5} inputs: {gas:>9} gas ({:.3}% of the block)",
                    gas as f64 * 100.0 / limit as f64
                );
                points.push((w, gas));
            }
            let last = *points.last().context("a width")?;
            println!(
                "  the chain takes layers up to {} wide (MAX_OPTIMISTIC_WIDTH): the widest costs {} gas ({:.3}% of a block)",
                MAX_OPTIMISTIC_WIDTH,
                last.1,
                last.1 as f64 * 100.0 / limit as f64
            );
            if let [.., (w0, g0), (w1, g1)] = points[..] {
                let per_input = (g1 as f64 - g0 as f64) / f64::from(w1 - w0);
                let at = |budget: f64| (budget - g1 as f64) / per_input + f64::from(w1);
                println!(
                    "  {per_input:.0} gas per input: 2M gas would be reached at ~{:.0} inputs, the block gas limit at ~{:.0} (extrapolated)",
                    at(2_000_000.0),
                    at(limit as f64)
                );
            }
            Ok(())
        },
    )
}
