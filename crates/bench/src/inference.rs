//! `lazai-bench inference`: calls per second through the worker's `/v1/predict` with metering
//! on (signed headers checked, quota reserved, receipt signed, usage batched on chain) and off
//! (the same server answering without headers), and the on-chain cost of recording usage per
//! call, batched and unbatched.
//!
//! An in-process devnet; an iDAO with a dev-TEE policy; a model trained on the wine data
//! (hidden 16) registered by an attested model worker; a usage DAT whose owner approves
//! `--clients` agents; each agent sends its calls one after another with its own nonces
//! (signatures made before the clock starts: the figure is the server's, not the client's
//! signing). The metered run records usage in batches of `--batch` calls.

use alloy::transports::http::reqwest;
use alloy_primitives::{Address, B256, U256};
use alloy_signer::SignerSync;
use alloy_signer_local::PrivateKeySigner;
use anyhow::{Context as _, Result, bail};
use lazai_abi::{
    DAT_ADDRESS, IDataAnchoringToken as D, IModelRegistry as M, MODEL_REGISTRY_ADDRESS,
    user_request_message,
};
use lazai_cli::devnet::demo::registered_model;
use lazai_client::{Client, event};
use lazai_node::dev_account;
use lazai_worker::ServeConfig;
use std::path::Path;
use std::time::{Duration, Instant};

/// `lazai-bench inference`.
#[derive(clap::Args, Debug)]
pub struct InferenceArgs {
    /// Seconds of calls in each mode.
    #[arg(long, value_name = "SECS", default_value_t = 5)]
    pub seconds: u64,
    /// Concurrent clients (each its own agent key and nonces).
    #[arg(long, default_value_t = 8)]
    pub clients: usize,
    /// Calls per usage-recording transaction.
    #[arg(long, default_value_t = 256)]
    pub batch: u64,
}

const TIMEOUT: Duration = Duration::from_secs(60);

fn account(i: u32) -> Result<PrivateKeySigner> {
    dev_account(i).context("dev account")
}

/// Most calls one agent may make in a run (signatures are made beforehand).
const MAX_CALLS_PER_AGENT: u64 = 200_000;

const BODY: &str = r#"{"features":[7.4,0.7,0,1.9,0.076,11,34,0.9978,3.51,0.56,9.4]}"#;

/// Calls for `seconds` from `agents` (each sequential with its own nonces); returns calls made.
async fn load(
    url: &str,
    agents: &[(PrivateKeySigner, Vec<String>)],
    token: U256,
    metered: bool,
    seconds: u64,
) -> Result<u64> {
    let deadline = Instant::now() + Duration::from_secs(seconds);
    let mut tasks = Vec::new();
    for (agent, sigs) in agents {
        let http = reqwest::Client::new();
        let url = url.to_string();
        let user = agent.address().to_string();
        let sigs = sigs.clone();
        tasks.push(tokio::spawn(async move {
            let mut n = 0u64;
            while Instant::now() < deadline && (n as usize) < sigs.len() {
                let mut req = http
                    .post(&url)
                    .header("content-type", "application/json")
                    .body(BODY);
                if metered {
                    req = req
                        .header("x-lazai-user", &user)
                        .header("x-lazai-nonce", (n + 1).to_string())
                        .header("x-lazai-signature", &sigs[n as usize])
                        .header("x-lazai-usage-token", token.to_string());
                }
                let resp = req.send().await?;
                if !resp.status().is_success() {
                    let status = resp.status();
                    bail!(
                        "call refused: {status} {}",
                        resp.text().await.unwrap_or_default()
                    );
                }
                let _ = resp.bytes().await?;
                n += 1;
            }
            Ok::<u64, anyhow::Error>(n)
        }));
    }
    let mut total = 0;
    for t in tasks {
        total += t.await??;
    }
    Ok(total)
}

/// `clients` fresh agents approved by `buyer` for the usage DATs of `class`, each with the
/// request signatures of its first `per_agent` calls to `node` (made before any clock starts).
async fn signed_agents(
    buyer: &Client,
    class: U256,
    node: Address,
    per_agent: u64,
    clients: usize,
) -> Result<Vec<(PrivateKeySigner, Vec<String>)>> {
    let mut agents = Vec::new();
    for _ in 0..clients {
        let agent = PrivateKeySigner::random();
        buyer
            .send(
                DAT_ADDRESS,
                D::approveForClassCall {
                    classId: class,
                    operator: agent.address(),
                    approved: true,
                },
                U256::ZERO,
            )
            .await?;
        let a = agent.address();
        let sigs = (1..=per_agent)
            .map(|n| {
                agent
                    .sign_message_sync(user_request_message(U256::from(n), a, node).as_slice())
                    .map(|s| alloy_primitives::hex::encode_prefixed(s.as_bytes()))
            })
            .collect::<Result<Vec<_>, _>>()?;
        agents.push((agent, sigs));
    }
    Ok(agents)
}

/// The gas of recording one call per transaction, for comparison: a model of its own, one
/// call bought and recorded alone.
async fn single_call_gas(rpc: &str, root: &Path) -> Result<u64> {
    let (w, q, rec) = registered_model(rpc, root, 4, U256::from(1), 3).await?;
    let buyer = Client::signing(rpc, account(7)?, TIMEOUT)?;
    buyer
        .send(
            MODEL_REGISTRY_ADDRESS,
            M::buyUsageCall {
                modelId: rec.id,
                calls: U256::from(1),
                expireAt: 0,
            },
            U256::from(1),
        )
        .await?;
    let _ = q;
    let tokens = buyer.call(DAT_ADDRESS, D::tokenCountCall {}).await?;
    let r = w
        .client()
        .send(
            MODEL_REGISTRY_ADDRESS,
            M::recordUsageCall {
                modelId: rec.id,
                tokenIds: vec![tokens],
                amounts: vec![U256::from(1)],
                receiptsRoot: B256::repeat_byte(1),
            },
            U256::ZERO,
        )
        .await?;
    Ok(r.gas_used)
}

/// Runs the benchmark.
pub fn run(args: InferenceArgs) -> Result<()> {
    if args.clients == 0 || args.clients > 256 {
        bail!("--clients must be between 1 and 256");
    }
    if args.batch == 0 || args.batch > 100_000 {
        bail!("--batch must be between 1 and 100000");
    }
    crate::devnet::with_devnet(
        "inference",
        10,
        Duration::from_millis(100),
        move |rpc, root| async move {
            let (worker, model, record) =
                registered_model(&rpc, &root, 6, U256::from(1), 1).await?;
            let node = worker.address();
            let buyer = Client::signing(&rpc, account(3)?, TIMEOUT)?;
            let calls = MAX_CALLS_PER_AGENT * args.clients as u64;
            let r = buyer
                .send(
                    MODEL_REGISTRY_ADDRESS,
                    M::buyUsageCall {
                        modelId: record.id,
                        calls: U256::from(calls),
                        expireAt: 0,
                    },
                    U256::from(calls),
                )
                .await?;
            let token = event::<M::UsageBought>(&r, MODEL_REGISTRY_ADDRESS)?.tokenId;
            let per_agent = (40_000 * args.seconds).min(MAX_CALLS_PER_AGENT);
            println!(
                "signing {} request headers per client for {} clients…",
                per_agent, args.clients
            );
            let agents =
                signed_agents(&buyer, record.classId, node, per_agent, args.clients).await?;

            // Unmetered first (its own worker key: one signer per process).
            let (plain_worker, plain_model, plain_record) =
                registered_model(&rpc, &root, 5, U256::from(1), 2).await?;
            let plain = lazai_worker::serve::start(
                plain_worker,
                plain_model,
                plain_record,
                ServeConfig {
                    listen: "127.0.0.1:0".parse()?,
                    metering: false,
                    ..ServeConfig::default()
                },
            )
            .await?;
            let url = format!("http://{}/v1/predict", plain.addr);
            let n = load(&url, &agents, token, false, args.seconds).await?;
            plain.stop().await;
            let plain_rate = n as f64 / args.seconds as f64;

            let metered = lazai_worker::serve::start(
                worker,
                model,
                record,
                ServeConfig {
                    listen: "127.0.0.1:0".parse()?,
                    batch_calls: args.batch,
                    batch_interval: Duration::from_secs(1),
                    ..ServeConfig::default()
                },
            )
            .await?;
            let url = format!("http://{}/v1/predict", metered.addr);
            let started = Instant::now();
            let m = load(&url, &agents, token, true, args.seconds).await?;
            let metered_rate = m as f64 / started.elapsed().as_secs_f64();
            let stats = metered.stop().await;
            if stats.calls_recorded != m {
                bail!(
                    "{} calls answered but {} recorded on chain",
                    m,
                    stats.calls_recorded
                );
            }

            // One call recorded per transaction, for comparison.
            let single = single_call_gas(&rpc, &root).await?;

            println!();
            println!(
                "inference through the worker, {} clients, {} s each:",
                args.clients, args.seconds
            );
            println!("  metering off: {plain_rate:>10.0} calls/s");
            println!(
                "  metering on:  {metered_rate:>10.0} calls/s ({:.0}% of off): signed headers checked, quota reserved, receipt signed",
                metered_rate / plain_rate.max(1.0) * 100.0
            );
            println!(
                "usage recorded on chain: {} calls in {} transactions (each sent once at least {} calls wait, or every second), {} gas in all = {} gas per call; one call per transaction: {single} gas per call",
                stats.calls_recorded,
                stats.batches,
                args.batch,
                stats.batch_gas,
                stats.batch_gas / stats.calls_recorded.max(1)
            );
            Ok(())
        },
    )
}
