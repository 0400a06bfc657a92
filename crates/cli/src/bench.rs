//! `lazai bench transfers`: signed transfers through the full path — JSON-RPC ingest, mempool,
//! consensus, execution, commit — on an in-process devnet, with finalized throughput and
//! submit-to-finalized latency. Also measures the single-core and all-core sender-recovery
//! rate, the physical ceiling of this path.

use alloy::transports::http::reqwest;
use alloy_consensus::{SignableTransaction, TxEip1559, TxEnvelope};
use alloy_eips::eip2718::Encodable2718;
use alloy_primitives::{Address, B256, Bytes, TxKind, U256, keccak256};
use alloy_signer::SignerSync;
use alloy_signer_local::PrivateKeySigner;
use anyhow::{Context as _, Result, bail};
use clap::{Args, Subcommand};
use lazai_consensus::runtime::{Runner as _, tokio as cw_tokio};
use lazai_node::{NodeSettings, devnet_genesis, start_devnet};
use lazai_types::{DEVNET_CHAIN_ID, lazai};
use rayon::prelude::*;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

#[derive(Subcommand, Debug)]
pub enum BenchCommand {
    /// Push signed LAZAI transfers through RPC → mempool → consensus → execution → commit.
    Transfers(TransfersArgs),
}

#[derive(Args, Debug, Clone)]
pub struct TransfersArgs {
    /// Validators in the in-process devnet (run it with 1 and with 4).
    #[arg(long, default_value_t = 1)]
    pub validators: usize,
    /// Transfers to send.
    #[arg(long, default_value_t = 60_000)]
    pub txs: usize,
    /// Distinct funded senders (each sends txs/senders transfers in nonce order).
    #[arg(long, default_value_t = 3_000)]
    pub senders: usize,
    /// `eth_sendRawTransaction` calls per JSON-RPC batch request.
    #[arg(long, default_value_t = 500)]
    pub batch: usize,
    /// Concurrent HTTP connections submitting batches.
    #[arg(long, default_value_t = 4)]
    pub connections: usize,
    /// Target block time in milliseconds.
    #[arg(long, default_value_t = 250)]
    pub block_time: u64,
    /// Give up waiting for finality after this many seconds.
    #[arg(long, default_value_t = 180)]
    pub timeout: u64,
}

pub fn run(cmd: BenchCommand) -> Result<()> {
    match cmd {
        BenchCommand::Transfers(args) => transfers(args),
    }
}

fn sender_key(i: usize) -> Result<PrivateKeySigner> {
    let seed = keccak256(format!("lazai-bench-sender-{i}"));
    PrivateKeySigner::from_slice(seed.as_slice()).context("bench key")
}

fn sign_transfer(signer: &PrivateKeySigner, nonce: u64, to: Address) -> Result<Bytes> {
    let tx = TxEip1559 {
        chain_id: DEVNET_CHAIN_ID,
        nonce,
        gas_limit: 21_000,
        max_fee_per_gas: 10_000_000_000,
        max_priority_fee_per_gas: 1_000_000_000,
        to: TxKind::Call(to),
        value: U256::from(1_000 + nonce),
        input: Bytes::new(),
        access_list: Default::default(),
    };
    let sig = signer.sign_hash_sync(&tx.signature_hash())?;
    Ok(TxEnvelope::from(tx.into_signed(sig)).encoded_2718().into())
}

/// Sender recovery over `raws`, on one core and on all cores: transactions per second.
fn recovery_rates(raws: &[Bytes]) -> (f64, f64) {
    let sample = &raws[..raws.len().min(20_000)];
    let start = Instant::now();
    let ok = sample
        .iter()
        .filter(|r| lazai_ledger::decode_and_recover(r, DEVNET_CHAIN_ID).is_ok())
        .count();
    let single = ok as f64 / start.elapsed().as_secs_f64();
    let start = Instant::now();
    let ok = lazai_ledger::decode_and_recover_many(sample, DEVNET_CHAIN_ID)
        .iter()
        .filter(|r| r.is_ok())
        .count();
    let parallel = ok as f64 / start.elapsed().as_secs_f64();
    (single, parallel)
}

fn free_port_base(count: usize) -> Result<u16> {
    // Ask the OS for a free port and use the run above it; a collision only fails the run.
    let l = std::net::TcpListener::bind("127.0.0.1:0")?;
    let port = l.local_addr()?.port();
    if port as usize + count > u16::MAX as usize {
        bail!("no free port range");
    }
    Ok(port)
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let idx = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[idx.min(sorted.len() - 1)]
}

fn transfers(args: TransfersArgs) -> Result<()> {
    if args.senders == 0 || args.txs < args.senders || args.batch == 0 || args.connections == 0 {
        bail!("need senders > 0, txs >= senders, batch > 0, connections > 0");
    }
    let per_sender = args.txs / args.senders;
    let total = per_sender * args.senders;
    eprintln!(
        "signing {total} transfers from {} senders ...",
        args.senders
    );
    let senders: Vec<PrivateKeySigner> =
        (0..args.senders).map(sender_key).collect::<Result<_>>()?;
    let recipients: Vec<Address> = (0..256u64)
        .map(|i| Address::from_word(keccak256(i.to_be_bytes())))
        .collect();
    // Round-major order per sender: all senders' nonce 0, then nonce 1, ...
    let signed: Vec<Vec<Bytes>> = senders
        .par_iter()
        .enumerate()
        .map(|(i, s)| {
            (0..per_sender as u64)
                .map(|n| sign_transfer(s, n, recipients[(i + n as usize) % recipients.len()]))
                .collect()
        })
        .collect::<Result<_>>()?;
    let all: Vec<Bytes> = signed.iter().flatten().cloned().collect();
    let (single, parallel) = recovery_rates(&all);
    println!(
        "sender recovery: {single:.0} tx/s on one core, {parallel:.0} tx/s on {} cores",
        rayon::current_num_threads()
    );

    let addresses: Vec<Address> = senders.iter().map(|s| s.address()).collect();
    let genesis = devnet_genesis(
        DEVNET_CHAIN_ID,
        args.validators,
        &addresses,
        lazai(1_000),
        2_000_000_000,
    );
    let dir = tempfile::Builder::new().prefix("lazai-bench-").tempdir()?;
    let mut settings = NodeSettings::new(
        genesis,
        dir.path().to_path_buf(),
        "127.0.0.1:0".parse()?,
        Duration::from_millis(args.block_time),
    );
    settings.rpc.max_batch_len = args.batch.max(1000) as u32;
    let keys: Vec<_> = (0..args.validators)
        .map(lazai_consensus::devnet_key)
        .collect();
    let p2p = free_port_base(args.validators)?;
    let runtime = settings.runtime().with_worker_threads(2);
    let report = cw_tokio::Runner::new(runtime).start(|context| async move {
        let devnet = start_devnet(context, settings, keys, p2p).await?;
        let url = format!("http://{}", devnet.rpc_addr());
        let mut finalized = devnet.nodes[0].chain().subscribe();

        // Streams: connection c carries the senders i with i % connections == c, round-major,
        // so a batch never holds two transactions of one sender (calls in a batch run
        // concurrently) and nonces arrive in order.
        let conns = args.connections.min(args.senders);
        let mut streams: Vec<Vec<(B256, Bytes)>> = vec![Vec::new(); conns];
        for n in 0..per_sender {
            for (i, txs) in signed.iter().enumerate() {
                let raw = txs[n].clone();
                streams[i % conns].push((keccak256(&raw), raw));
            }
        }
        let per_conn_senders = args.senders.div_ceil(conns);
        let batch = args.batch.min(per_conn_senders).max(1);
        let submitted: Arc<parking_lot::Mutex<HashMap<B256, Instant>>> = Default::default();
        let start = Instant::now();
        let client = reqwest::Client::new();
        let mut tasks = Vec::new();
        for stream in streams {
            let (client, url, submitted) = (client.clone(), url.clone(), submitted.clone());
            tasks.push(tokio::spawn(async move {
                let mut rejected = 0usize;
                let mut first_error = None;
                for chunk in stream.chunks(batch) {
                    let body: Vec<_> = chunk
                        .iter()
                        .enumerate()
                        .map(|(id, (_, raw))| serde_json::json!({"jsonrpc":"2.0","id":id,"method":"eth_sendRawTransaction","params":[raw]}))
                        .collect();
                    let now = Instant::now();
                    submitted.lock().extend(chunk.iter().map(|(h, _)| (*h, now)));
                    let resp = client
                        .post(&url)
                        .header("content-type", "application/json")
                        .body(serde_json::to_vec(&body)?)
                        .send()
                        .await?
                        .bytes()
                        .await?;
                    let replies: Vec<serde_json::Value> = serde_json::from_slice(&resp).context("batch reply")?;
                    for r in replies {
                        if let Some(e) = r.get("error") {
                            rejected += 1;
                            first_error.get_or_insert_with(|| e.to_string());
                        }
                    }
                }
                Ok::<_, anyhow::Error>((rejected, first_error))
            }));
        }
        let mut rejected = 0;
        for t in tasks {
            let (r, e) = t.await??;
            rejected += r;
            if let Some(e) = e {
                eprintln!("a submission was rejected: {e}");
            }
        }
        let ingest = start.elapsed();
        let expected = total - rejected;
        let mut latencies = Vec::with_capacity(expected);
        let mut blocks = 0usize;
        let mut last = start;
        let deadline = Instant::now() + Duration::from_secs(args.timeout);
        while latencies.len() < expected && Instant::now() < deadline {
            let ev = match tokio::time::timeout(Duration::from_secs(5), finalized.recv()).await {
                Ok(Ok(ev)) => ev,
                Ok(Err(tokio::sync::broadcast::error::RecvError::Lagged(n))) => bail!("lagged {n} blocks behind"),
                Ok(Err(e)) => bail!("finalized stream ended: {e}"),
                Err(_) => continue,
            };
            let now = Instant::now();
            let subs = submitted.lock();
            let mut counted = 0;
            for r in ev.receipts.iter() {
                if let Some(t) = subs.get(&r.tx_hash) {
                    latencies.push(now - *t);
                    counted += 1;
                }
            }
            if counted > 0 {
                blocks += 1;
                last = now;
            }
        }
        let elapsed = last - start;
        let root = devnet.nodes.iter().map(|n| n.chain().state_root()).collect::<Vec<_>>();
        Ok::<_, anyhow::Error>((latencies, blocks, elapsed, ingest, rejected, root))
    })?;
    let (mut latencies, blocks, elapsed, ingest, rejected, roots) = report;
    latencies.sort_unstable();
    let done = latencies.len();
    println!(
        "validators {}  transfers {}  rejected {}  finalized {}  blocks {}  avg {:.0} tx/block",
        args.validators,
        total,
        rejected,
        done,
        blocks,
        done as f64 / blocks.max(1) as f64
    );
    println!(
        "ingest: {:.0} tx/s over RPC ({:.2} s)",
        total as f64 / ingest.as_secs_f64(),
        ingest.as_secs_f64()
    );
    println!(
        "finalized: {:.0} tx/s ({} in {:.2} s)  submit→finalized p50 {} ms  p99 {} ms",
        done as f64 / elapsed.as_secs_f64().max(1e-9),
        done,
        elapsed.as_secs_f64(),
        percentile(&latencies, 0.50).as_millis(),
        percentile(&latencies, 0.99).as_millis()
    );
    if roots.windows(2).any(|w| w[0] != w[1]) {
        println!("note: validators were at different heights when the run ended");
    }
    if done < total - rejected {
        bail!(
            "only {done} of {} transfers finalized within {} s",
            total - rejected,
            args.timeout
        );
    }
    Ok(())
}
