//! The demo's optimistic step: the iDAO sets short game terms, Erin registers as its
//! challenger and watches; one of Dave's calls is posted optimistically by the honest worker
//! (Erin re-executes it and leaves it alone: final after the window), then the same worker
//! posts a result it tampered with — one unit of the hidden layer off by one — and Erin
//! catches it with the fraud-proof game: the worker is slashed and Dave refunded.

use super::cast::{CHALLENGER, OWNER, account, lazai_text, signing, u128_of};
use alloy::providers::Provider as _;
use alloy::rpc::types::Filter;
use alloy::sol_types::SolEvent;
use alloy_primitives::{Address, B256, U256};
use anyhow::{Result, bail};
use lazai_abi::{IVerifier as X, TASK_FRAUD, TASK_VERIFIED, VERIFIER_ADDRESS};
use lazai_client::Client;
use lazai_model::QuantizedMlp;
use lazai_worker::optimistic::{OptimisticServe, Poster, WatchStats, Watcher};
use serde::Serialize;
use std::time::{Duration, Instant};

/// The demo's terms: a 15-block window and 15 blocks of clock per party (3 s each at the
/// demo's 200 ms blocks), 0.1 LAZAI bonded per result, 0.05 per challenge.
pub(super) const WINDOW: u64 = 15;
pub(super) const MOVE_TIME: u64 = 15;

/// What the optimistic step came to (amounts in wei).
#[derive(Clone, Debug, Default, Serialize)]
#[serde(rename_all = "snake_case")]
pub struct OptimisticOutcome {
    /// Optimistic results final (unchallenged through their window).
    pub optimistic_final: u64,
    /// Results proven wrong by a one-step fraud proof.
    pub frauds_proven: u64,
    /// The dishonest worker's bond taken…
    pub slashed: u128,
    /// …of which refunded to the caller,
    pub refunded: u128,
    /// …paid to the challenger,
    pub to_challenger: u128,
    /// …and burned.
    pub burned: u128,
    /// Seconds from the honest post to its finality.
    pub seconds_to_final: f64,
}

/// The challenger watching the iDAO, running in this process.
pub(super) struct Challenger {
    stop: tokio::sync::oneshot::Sender<()>,
    task: tokio::task::JoinHandle<WatchStats>,
}

/// Sets the iDAO's terms and starts Erin's watcher.
pub(super) async fn start(
    rpc: &str,
    idao: U256,
    model: &QuantizedMlp,
    blobs: &str,
) -> Result<Challenger> {
    let owner = signing(rpc, OWNER)?;
    owner
        .send(
            VERIFIER_ADDRESS,
            X::setOptimisticParamsCall {
                idaoId: idao,
                params: X::OptimisticParams {
                    window: WINDOW,
                    moveTime: MOVE_TIME,
                    workerBond: U256::from(lazai_abi::verifier::DEFAULT_WORKER_BOND),
                    challengerBond: U256::from(lazai_abi::verifier::DEFAULT_CHALLENGER_BOND),
                },
            },
            U256::ZERO,
        )
        .await?;
    let erin = signing(rpc, CHALLENGER)?;
    let watcher =
        Watcher::start(erin, &account(CHALLENGER), idao, vec![model.clone()], blobs).await?;
    let (stop, rx) = tokio::sync::oneshot::channel();
    let task = tokio::spawn(watcher.run(Duration::from_millis(100), async {
        let _ = rx.await;
    }));
    Ok(Challenger { stop, task })
}

impl Challenger {
    pub(super) async fn stop(self) -> WatchStats {
        let _ = self.stop.send(());
        self.task.await.unwrap_or_default()
    }
}

async fn wait_status(c: &Client, task: U256, timeout: Duration) -> Result<u8> {
    let deadline = Instant::now() + timeout;
    loop {
        let t = c
            .call(VERIFIER_ADDRESS, X::getTaskCall { taskId: task })
            .await?;
        if t.status == TASK_VERIFIED || t.status == TASK_FRAUD {
            return Ok(t.status);
        }
        if Instant::now() > deadline {
            bail!(
                "optimistic task {task} is still open after {} s",
                timeout.as_secs()
            );
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Sends `finalize` for `task` once its window has passed (anyone may).
async fn finalize_after_window(c: &Client, task: U256) -> Result<()> {
    let o = c
        .call(VERIFIER_ADDRESS, X::getOptimisticCall { taskId: task })
        .await?;
    let ends = o.postedAt.saturating_add(o.window);
    while c.provider().get_block_number().await? <= ends {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    c.send(
        VERIFIER_ADDRESS,
        X::finalizeCall { taskId: task },
        U256::ZERO,
    )
    .await?;
    Ok(())
}

/// The rest of the step once Dave's honest optimistic call (`honest`) was posted: it
/// becomes final; the worker (`worker`, serving `model` as `record`) posts a tampered
/// result for Dave; Erin proves it wrong.
#[allow(clippy::too_many_arguments)]
pub(super) async fn catch_a_lie(
    rpc: &str,
    say: &dyn Fn(&str),
    worker: Client,
    model: &QuantizedMlp,
    record: &lazai_abi::IModelRegistry::Model,
    blobs: &str,
    honest: Option<(U256, Instant)>,
    dave: Address,
    challenger: Challenger,
) -> Result<OptimisticOutcome> {
    let reader = Client::read(rpc)?;
    let mut out = OptimisticOutcome::default();
    if let Some((task, posted)) = honest {
        finalize_after_window(&signing(rpc, OWNER)?, task).await?;
        if wait_status(&reader, task, Duration::from_secs(30)).await? == TASK_VERIFIED {
            out.optimistic_final += 1;
            out.seconds_to_final = posted.elapsed().as_secs_f64();
        }
        say(&format!(
            "   one of Dave's calls (task {task}) was posted optimistically with a {} bond; Erin, the iDAO's challenger, re-executed it from the input sealed to her and left it alone: final after its {WINDOW}-block window ({:.1} s)",
            lazai_text(lazai_abi::verifier::DEFAULT_WORKER_BOND),
            out.seconds_to_final
        ));
    }

    // The same worker lies: one unit of the hidden layer off by one, the logits computed
    // from it.
    let q: Vec<i8> = (0..model.inputs as i8)
        .map(|i| i.wrapping_mul(13) % 100)
        .collect();
    let lie = lazai_model::trace::tampered_outputs(model, &q, 0, 0);
    let poster = Poster::start(
        worker,
        &account(super::cast::MODEL_WORKER),
        model,
        record,
        &OptimisticServe {
            blobs: blobs.to_string(),
        },
    )
    .await?;
    let wrong = poster.post_outputs(&q, lie, dave).await?;
    let status = wait_status(&reader, wrong.task_id, Duration::from_secs(60)).await?;
    let stats = challenger.stop().await;
    drop(poster);
    if status != TASK_FRAUD {
        bail!("the tampered result {} was not caught", wrong.task_id);
    }
    out.frauds_proven = stats.frauds_proven;
    let filter = Filter::new()
        .address(VERIFIER_ADDRESS)
        .event_signature(X::BondSettled::SIGNATURE_HASH)
        .topic1(B256::from(wrong.task_id))
        .from_block(0);
    for log in reader.provider().get_logs(&filter).await? {
        if let Ok(e) = X::BondSettled::decode_log_data(log.data()) {
            out.refunded += u128_of(e.refunded);
            out.to_challenger += u128_of(e.toWinner);
            out.burned += u128_of(e.burned);
        }
    }
    out.slashed = out.refunded + out.to_challenger + out.burned;
    let d = reader
        .call(
            VERIFIER_ADDRESS,
            X::getDisputeCall {
                taskId: wrong.task_id,
                challenger: account(CHALLENGER).address(),
            },
        )
        .await?;
    say(&format!(
        "   then the worker posted a tampered result (task {}): Erin disputed layer {}, the worker revealed it, and one unit re-executed on chain (claimed {}, actually {}) proved the fraud in {} moves",
        wrong.task_id, d.layer, d.claimed, d.actual, d.moves
    ));
    say(&format!(
        "   slashed {} = refunded to Dave {} + to Erin {} + burned {}",
        lazai_text(out.slashed),
        lazai_text(out.refunded),
        lazai_text(out.to_challenger),
        lazai_text(out.burned)
    ));
    Ok(out)
}
