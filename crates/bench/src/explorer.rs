//! `lazai-bench explorer`: page latency (p50/p99 per page type) of the web explorer on the
//! demo's chain and on the same chain after --transfers more transactions, and how fast its
//! index catches up from block 0 — reading the node in process (as `lazai devnet` and `lazai
//! node` with `explorer = true` do) and over JSON-RPC (as `lazai explorer` does) — against how
//! fast the chain makes blocks.

use crate::devnet::with_devnet_node;
use crate::load::{percentile, sign_transfer};
use alloy_primitives::{Address, B256, Bytes};
use anyhow::{Context as _, Result, bail};
use clap::Args;
use lazai_cli::explorer::ChainSource;
use lazai_explorer::{Explorer, ExplorerConfig};
use lazai_node::dev_account;
use lazai_rpc::ChainApi as _;
use serde_json::{Value, json};
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

#[derive(Args, Debug, Clone)]
pub struct ExplorerArgs {
    /// Transactions added after the demo for the large run.
    #[arg(long, default_value_t = 100_000)]
    pub transfers: usize,
    /// Requests per page type.
    #[arg(long, default_value_t = 100)]
    pub requests: usize,
    /// The chain's block time in milliseconds (the production rate catch-up is compared with).
    #[arg(long, default_value_t = 100)]
    pub block_ms: u64,
}

/// Senders of the transfers (dev accounts, funded by the devnet).
const SENDERS: u32 = 100;

pub fn run(args: ExplorerArgs) -> Result<()> {
    if args.requests < 2 || args.transfers > 1_000_000 {
        bail!("--requests must be at least 2 and --transfers at most 1,000,000");
    }
    let block = Duration::from_millis(args.block_ms.max(10));
    with_devnet_node(
        "explorer",
        SENDERS,
        block,
        move |rpc, dir, node| async move {
            println!(
                "explorer bench: the demo's walk on a devnet (block time {} ms)",
                block.as_millis()
            );
            let demo = dir.join("demo");
            std::fs::create_dir_all(&demo)?;
            // The walk's narrator is not Sync: it runs on a runtime of its own.
            let (walk_rpc, walk_dir) = (rpc.clone(), demo.clone());
            tokio::task::spawn_blocking(move || -> Result<()> {
                let runtime = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()?;
                let price = lazai_types::lazai(1) / alloy_primitives::U256::from(100);
                runtime.block_on(lazai_cli::devnet::demo::walk(
                    &walk_rpc,
                    &walk_dir,
                    20,
                    price,
                    &|_| {},
                ))?;
                Ok(())
            })
            .await?
            .context("the demo's walk")?;
            let chain = Arc::new(node);
            measure(
                "demo chain",
                &rpc,
                &chain,
                &dir.join("index-demo"),
                &args,
                block,
                None,
            )
            .await?;
            println!();
            println!(
                "adding {} transfers from {SENDERS} senders …",
                args.transfers
            );
            let before = chain.finalized_height();
            let started = Instant::now();
            add_transfers(&rpc, args.transfers).await?;
            let took = started.elapsed().as_secs_f64();
            let made = chain.finalized_height().saturating_sub(before);
            println!(
                "  finalized in {took:.1} s ({made} blocks, {:.1} blocks/s)",
                made as f64 / took
            );
            measure(
                &format!("{}k-transaction chain", args.transfers / 1000),
                &rpc,
                &chain,
                &dir.join("index-large"),
                &args,
                block,
                Some(made as f64 / took),
            )
            .await
        },
    )
}

async fn rpc_call(http: &reqwest::Client, rpc: &str, method: &str, params: Value) -> Result<Value> {
    let body = json!({"jsonrpc": "2.0", "id": 1, "method": method, "params": params});
    let r: Value = serde_json::from_slice(
        &http
            .post(rpc)
            .header("content-type", "application/json")
            .body(serde_json::to_vec(&body)?)
            .send()
            .await?
            .bytes()
            .await?,
    )?;
    if let Some(e) = r.get("error") {
        bail!("{method}: {e}");
    }
    Ok(r["result"].clone())
}

/// Signs and submits `count` transfers, resubmitting what a full pool refused, and waits
/// until every one is finalized.
async fn add_transfers(rpc: &str, count: usize) -> Result<()> {
    let http = reqwest::Client::new();
    let per = count.div_ceil(SENDERS as usize);
    let mut raws: Vec<Bytes> = Vec::with_capacity(count);
    let mut senders = Vec::new();
    for s in 0..SENDERS {
        let signer = dev_account(s)?;
        let start = rpc_call(
            &http,
            rpc,
            "eth_getTransactionCount",
            json!([signer.address(), "latest"]),
        )
        .await?;
        let start =
            u64::from_str_radix(start.as_str().unwrap_or("0x0").trim_start_matches("0x"), 16)?;
        let to = Address::repeat_byte(0x42);
        for n in 0..per as u64 {
            raws.push(sign_transfer(&signer, start + n, to)?);
        }
        senders.push((signer.address(), start + per as u64));
    }
    // Nonce order per sender: interleave senders so each batch holds runs of them.
    let mut pending = raws;
    while !pending.is_empty() {
        let mut refused = Vec::new();
        for chunk in pending.chunks(2_000) {
            let results = rpc_call(&http, rpc, "lazai_sendRawTransactions", json!([chunk])).await?;
            for (raw, r) in chunk.iter().zip(results.as_array().context("results")?) {
                if r.get("error")
                    .is_some_and(|e| e.to_string().contains("full"))
                {
                    refused.push(raw.clone());
                }
            }
        }
        if !refused.is_empty() {
            tokio::time::sleep(Duration::from_millis(300)).await;
        }
        pending = refused;
    }
    let deadline = Instant::now() + Duration::from_secs(600);
    for (address, want) in senders {
        loop {
            let n = rpc_call(
                &http,
                rpc,
                "eth_getTransactionCount",
                json!([address, "latest"]),
            )
            .await?;
            let n = u64::from_str_radix(n.as_str().unwrap_or("0x0").trim_start_matches("0x"), 16)?;
            if n >= want {
                break;
            }
            if Instant::now() > deadline {
                bail!("transfers of {address} stuck at nonce {n} of {want}");
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }
    Ok(())
}

/// How long an explorer takes to index the chain up to `head` from block 0.
async fn catch_up(explorer: &Explorer, head: u64) -> Result<f64> {
    let started = Instant::now();
    while explorer.indexed_height().is_none_or(|h| h < head) {
        if started.elapsed() > Duration::from_secs(900) {
            bail!("the index did not reach block {head}");
        }
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    Ok(started.elapsed().as_secs_f64())
}

/// Indexes the chain from block 0 with a fresh index from each source, then times each page
/// type. `built` is the rate the chain actually made these blocks, when known.
#[allow(clippy::too_many_arguments)]
async fn measure(
    label: &str,
    rpc: &str,
    chain: &Arc<lazai_node::NodeApi>,
    index: &Path,
    args: &ExplorerArgs,
    block: Duration,
    built: Option<f64>,
) -> Result<()> {
    let http = reqwest::Client::new();
    let head = chain.finalized_height();
    let nominal = 1.0 / block.as_secs_f64();
    println!();
    println!("{label}: {} blocks", head + 1);
    let mut explorer = None;
    for in_process in [false, true] {
        let mut config = ExplorerConfig::new(
            rpc,
            index.join(if in_process { "in-process" } else { "json-rpc" }),
        );
        if in_process {
            config.blocks = Some(Arc::new(ChainSource::new(chain.clone())));
        }
        let started = Explorer::start(config)?;
        let secs = catch_up(&started, head).await?;
        let rate = (head + 1) as f64 / secs;
        let versus_built = built.map_or(String::new(), |b| {
            format!(", {:.0}x the {b:.1} blocks/s it built them at", rate / b)
        });
        println!(
            "  index catch-up ({}): {secs:.2} s, {rate:.0} blocks/s = {:.0}x the chain's {nominal:.0} blocks/s{versus_built}",
            if in_process { "in process" } else { "JSON-RPC" },
            rate / nominal,
        );
        explorer = Some(started);
    }
    let explorer = explorer.context("an explorer")?;
    let (tx, _block_with_txs, sender) = sample(&http, rpc, head).await?;
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let (bound_tx, bound_rx) = tokio::sync::oneshot::channel();
    let server = tokio::spawn(async move {
        explorer
            .serve(
                "127.0.0.1:0".parse().expect("addr"),
                async {
                    let _ = stop_rx.await;
                },
                move |a| {
                    let _ = bound_tx.send(a);
                },
            )
            .await
    });
    let addr = bound_rx.await.context("the explorer did not start")?;
    let base = format!("http://{addr}/explorer");
    let pages = [
        ("home", "/".to_string()),
        ("block", format!("/block/{}", head / 2)),
        ("transaction", format!("/tx/{tx:#x}")),
        ("address", format!("/address/{sender}")),
        ("iDAO", "/idao/2".into()),
        ("DAT class", "/class/1".into()),
        ("DAT token", "/token/1".into()),
        ("flow", "/flow/1".into()),
        ("model", "/model/1".into()),
        ("task", "/task/1".into()),
        ("blocks", "/blocks".into()),
    ];
    println!(
        "  {:<12} {:>9} {:>9} {:>9}",
        "page", "p50 ms", "p99 ms", "bytes"
    );
    for (name, path) in pages {
        let url = format!("{base}{path}");
        let mut times = Vec::with_capacity(args.requests);
        let mut bytes = 0;
        for _ in 0..args.requests {
            let t = Instant::now();
            let r = http.get(&url).send().await?;
            let status = r.status();
            let body = r.bytes().await?;
            times.push(t.elapsed());
            if !status.is_success() {
                bail!("{url}: HTTP {status}");
            }
            bytes = body.len();
        }
        times.sort();
        println!(
            "  {:<12} {:>9.2} {:>9.2} {:>9}",
            name,
            percentile(&times, 0.50).as_secs_f64() * 1e3,
            percentile(&times, 0.99).as_secs_f64() * 1e3,
            bytes
        );
    }
    let _ = stop_tx.send(());
    server.await??;
    Ok(())
}

/// A transaction, the block holding it and its sender, from the newest block with one.
async fn sample(http: &reqwest::Client, rpc: &str, head: u64) -> Result<(B256, u64, String)> {
    for h in (0..=head).rev() {
        let b = rpc_call(
            http,
            rpc,
            "eth_getBlockByNumber",
            json!([format!("{h:#x}"), true]),
        )
        .await?;
        if let Some(t) = b["transactions"].as_array().and_then(|t| t.first()) {
            let hash: B256 = t["hash"].as_str().context("hash")?.parse()?;
            let from = t["from"].as_str().context("from")?.to_string();
            return Ok((hash, h, from));
        }
    }
    bail!("the chain has no transactions")
}
