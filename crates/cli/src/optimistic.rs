//! `lazai challenger` (watch an iDAO's optimistic results and dispute the wrong ones), the
//! dispute shown by `lazai task show`, and `lazai model call --proof optimistic`'s wait.

use crate::kit::args::TxArgs;
use crate::kit::client::block_on;
use alloy_primitives::{B256, U256};
use anyhow::{Context as _, Result, bail};
use clap::Args;
use lazai_abi::verifier::{DISPUTE_CHALLENGER_WON, DISPUTE_MOOT, DISPUTE_OPEN, TURN_WORKER};
use lazai_abi::{IVerifier as X, VERIFIER_ADDRESS};
use lazai_client::{Client, resolve_signer};
use lazai_model::trace;
use serde_json::{Value, json};
use std::path::PathBuf;
use std::time::Duration;

#[derive(Args)]
pub struct ChallengerArgs {
    /// The iDAO whose optimistic results to watch.
    #[arg(long, value_parser = crate::kit::units::parse_u256)]
    pub idao: U256,
    /// A model file this challenger re-executes (repeat for several); results of other models
    /// are skipped.
    #[arg(long = "model", value_name = "FILE", required = true)]
    pub models: Vec<PathBuf>,
    /// The blob store the iDAO's workers seal inputs to (a directory, `file://…` or
    /// `s3://…`), the same location as their `lazai model serve --blobs`.
    #[arg(long, value_name = "LOCATION")]
    pub blobs: String,
    /// How often to look for new results and moves, in milliseconds.
    #[arg(long, default_value_t = 250)]
    pub poll_ms: u64,
    #[command(flatten)]
    pub tx: TxArgs,
}

/// `lazai challenger`: registers (one challenge bond from the account when its free deposit is
/// short), then watches until interrupted and prints what it did.
pub fn run_challenger(a: ChallengerArgs) -> Result<()> {
    block_on(async move {
        let signer = resolve_signer(a.tx.key.as_deref(), a.tx.key_file.as_deref())?;
        let client = Client::signing(&a.tx.rpc, signer.clone(), Duration::from_secs(a.tx.timeout))?;
        let models = a
            .models
            .iter()
            .map(|p| crate::zk::load_model(p))
            .collect::<Result<Vec<_>>>()?;
        let watcher =
            lazai_worker::optimistic::Watcher::start(client, &signer, a.idao, models, &a.blobs)
                .await?;
        println!(
            "challenger {} watching iDAO {}'s optimistic results",
            signer.address(),
            a.idao
        );
        let stop = async {
            match crate::kit::signal::shutdown_signal().await {
                Ok(s) => eprintln!("{s}: stopping"),
                Err(e) => eprintln!("cannot wait for a signal: {e:#}"),
            }
        };
        let stats = watcher
            .run(Duration::from_millis(a.poll_ms.max(20)), stop)
            .await;
        println!("{}", serde_json::to_string(&stats)?);
        Ok(())
    })
}

fn outcome(status: u8) -> &'static str {
    match status {
        DISPUTE_OPEN => "open",
        DISPUTE_CHALLENGER_WON => "challenger won",
        DISPUTE_MOOT => "closed (another dispute proved the fraud)",
        _ => "worker won",
    }
}

/// An optimistic task's terms and disputes, as `lazai task show --json` prints them.
pub async fn dispute_json(c: &Client, task: U256) -> Result<Value> {
    let o = c
        .call(VERIFIER_ADDRESS, X::getOptimisticCall { taskId: task })
        .await?;
    let ds = c
        .call(VERIFIER_ADDRESS, X::disputesCall { taskId: task })
        .await?;
    let disputes: Vec<Value> = ds
        .iter()
        .map(|d| {
            json!({
                "challenger": d.challenger,
                "layer": d.layer,
                "status": outcome(d.status),
                "turn": if d.status != DISPUTE_OPEN { "none" } else if d.turn == TURN_WORKER { "worker" } else { "challenger" },
                "moves": d.moves,
                "lastMoveAt": d.lastMoveAt,
                "workerClock": d.workerClock,
                "challengerClock": d.challengerClock,
                "unit": d.unit,
                "claimed": d.claimed,
                "actual": d.actual,
            })
        })
        .collect();
    Ok(json!({
        "weightsRoot": o.weightsRoot,
        "layerHashes": o.layerHashes,
        "inputBlob": o.inputBlob,
        "user": o.user,
        "refund": o.refund.to_string(),
        "postedAt": o.postedAt,
        "windowEndsAt": o.postedAt.saturating_add(o.window),
        "moveTime": o.moveTime,
        "workerBond": o.workerBond.to_string(),
        "challengerBond": o.challengerBond.to_string(),
        "openDisputes": o.openDisputes,
        "slashedBy": o.slashedBy,
        "disputes": disputes,
    }))
}

/// The same, as text.
pub async fn print_dispute(c: &Client, task: U256) -> Result<()> {
    let v = dispute_json(c, task).await?;
    println!(
        "window        blocks {} to {} (move time {} blocks)",
        v["postedAt"], v["windowEndsAt"], v["moveTime"]
    );
    println!(
        "bonds         worker {} wei, challenge {} wei; refund on fraud {} wei",
        v["workerBond"].as_str().unwrap_or("?"),
        v["challengerBond"].as_str().unwrap_or("?"),
        v["refund"].as_str().unwrap_or("?")
    );
    let disputes = v["disputes"].as_array().cloned().unwrap_or_default();
    if disputes.is_empty() {
        println!("disputes      none");
    }
    for d in disputes {
        println!(
            "dispute       {} on layer {}: {} after {} moves (clocks: worker {}, challenger {} blocks; turn {})",
            d["challenger"].as_str().unwrap_or("?"),
            d["layer"],
            d["status"].as_str().unwrap_or("?"),
            d["moves"],
            d["workerClock"],
            d["challengerClock"],
            d["turn"].as_str().unwrap_or("?"),
        );
        if d["status"] == "challenger won" && d["claimed"] != d["actual"] {
            println!(
                "              unit {}: the worker claimed {}, re-executed {}",
                d["unit"], d["claimed"], d["actual"]
            );
        }
    }
    Ok(())
}

/// After a call answered with an optimistic result: checks that the posted result is the
/// answer's logits and the task's input the answer's, then waits until the task is final or
/// proven wrong.
pub async fn await_optimistic_call(
    rpc: &str,
    task: &lazai_worker::optimistic::OptimisticTask,
    p: &lazai_worker::serve::Prediction,
    timeout: Duration,
) -> Result<()> {
    println!(
        "task          {} (optimistic, {}-block window), input hash {}",
        task.task_id, task.window, task.input_hash
    );
    let input: Vec<i64> = task.input.iter().map(|&v| i64::from(v)).collect();
    if B256::from(trace::activations_hash(u32::MAX, &input)) != task.input_hash {
        bail!("the answer's input hash is not its input's");
    }
    let c = Client::read(rpc)?;
    let t = c
        .call(
            VERIFIER_ADDRESS,
            X::getTaskCall {
                taskId: task.task_id,
            },
        )
        .await?;
    let o = c
        .call(
            VERIFIER_ADDRESS,
            X::getOptimisticCall {
                taskId: task.task_id,
            },
        )
        .await?;
    let last = o.layerHashes.len().saturating_sub(1) as u32;
    if t.inputCommitment != task.input_hash
        || B256::from(trace::activations_hash(last, &p.logits)) != t.resultHash
    {
        bail!(
            "task {} on chain does not post the answer's input and logits",
            task.task_id
        );
    }
    let deadline = std::time::Instant::now() + timeout;
    loop {
        let t = c
            .call(
                VERIFIER_ADDRESS,
                X::getTaskCall {
                    taskId: task.task_id,
                },
            )
            .await
            .context("read the task")?;
        match t.status {
            lazai_abi::TASK_VERIFIED => {
                println!("final         no one proved it wrong within its window");
                return Ok(());
            }
            lazai_abi::TASK_FRAUD => {
                bail!(
                    "task {} was proven wrong: the answer is invalid (refunded)",
                    task.task_id
                )
            }
            _ => {}
        }
        if std::time::Instant::now() > deadline {
            bail!(
                "task {} is not final after {} s (anyone may send `finalize` once its window passed)",
                task.task_id,
                timeout.as_secs()
            );
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

#[derive(Args)]
pub struct TermsArgs {
    /// The iDAO.
    #[arg(long, value_parser = crate::kit::units::parse_u256)]
    pub idao: U256,
    /// Set the challenge window, in blocks (the iDAO's owner only; unset fields keep their
    /// value). Without any of these options the terms are printed.
    #[arg(long, value_name = "BLOCKS")]
    pub window: Option<u64>,
    /// Set each party's clock per dispute, in blocks.
    #[arg(long, value_name = "BLOCKS")]
    pub move_time: Option<u64>,
    /// Set the bond a worker posts with each result, in LAZAI.
    #[arg(long, value_name = "LAZAI")]
    pub worker_bond: Option<String>,
    /// Set the bond each challenge locks, in LAZAI.
    #[arg(long, value_name = "LAZAI")]
    pub challenger_bond: Option<String>,
    #[command(flatten)]
    pub tx: TxArgs,
}

/// `lazai task terms`: an iDAO's optimistic terms, printed or set.
pub fn terms(a: TermsArgs) -> Result<()> {
    use crate::kit::units::{format_lazai, parse_lazai};
    block_on(async move {
        let reader = Client::read(&a.tx.rpc)?;
        let mut p = reader
            .call(VERIFIER_ADDRESS, X::optimisticParamsCall { idaoId: a.idao })
            .await?;
        let setting = a.window.is_some()
            || a.move_time.is_some()
            || a.worker_bond.is_some()
            || a.challenger_bond.is_some();
        if setting {
            p.window = a.window.unwrap_or(p.window);
            p.moveTime = a.move_time.unwrap_or(p.moveTime);
            if let Some(b) = &a.worker_bond {
                p.workerBond = parse_lazai(b)?;
            }
            if let Some(b) = &a.challenger_bond {
                p.challengerBond = parse_lazai(b)?;
            }
            let c = crate::kit::client::signing(&a.tx)?;
            let r = c
                .send(
                    VERIFIER_ADDRESS,
                    X::setOptimisticParamsCall {
                        idaoId: a.idao,
                        params: p.clone(),
                    },
                    U256::ZERO,
                )
                .await?;
            if !a.tx.json {
                crate::kit::output::print_tx(&r);
            }
        }
        if a.tx.json {
            println!(
                "{}",
                json!({
                    "idaoId": a.idao.to_string(),
                    "window": p.window,
                    "moveTime": p.moveTime,
                    "workerBond": p.workerBond.to_string(),
                    "challengerBond": p.challengerBond.to_string(),
                })
            );
        } else {
            println!("window        {} blocks", p.window);
            println!("move time     {} blocks per party", p.moveTime);
            println!("worker bond   {}", format_lazai(p.workerBond));
            println!("challenge     {}", format_lazai(p.challengerBond));
        }
        Ok(())
    })
}

/// `lazai task finalize`: makes an optimistic result final once its window passed undisputed
/// (anyone may; the worker's bond goes back to it).
pub fn finalize(id: U256, tx: TxArgs) -> Result<()> {
    block_on(async move {
        let c = crate::kit::client::signing(&tx)?;
        let r = c
            .send(VERIFIER_ADDRESS, X::finalizeCall { taskId: id }, U256::ZERO)
            .await?;
        if tx.json {
            println!("{}", crate::kit::output::tx_json(&r));
        } else {
            println!("task {id} is final");
            crate::kit::output::print_tx(&r);
        }
        Ok(())
    })
}
