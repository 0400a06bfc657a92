//! The transfer load the chain benchmarks share: funded senders and signed transfers, their
//! submission over JSON-RPC, the finalized-transaction feeds (in-process or over RPC) and the
//! finality figures.

use crate::args::LoadArgs;
use alloy::providers::Provider as _;
use alloy::providers::{ProviderBuilder, WsConnect};
use alloy::pubsub::Subscription;
use alloy::transports::http::reqwest;
use alloy_consensus::SignableTransaction;
use alloy_consensus::{TxEip1559, TxEnvelope};
use alloy_eips::eip2718::Encodable2718;
use alloy_primitives::{Address, B256, Bytes, TxKind, U256, keccak256};
use alloy_signer::SignerSync;
use alloy_signer_local::PrivateKeySigner;
use anyhow::Context as _;
use anyhow::{Result, anyhow, bail};
use lazai_cli::devnet::cluster;
use lazai_cli::devnet::cluster::NodeSpec;
use lazai_node::Chain;
use lazai_types::DEVNET_CHAIN_ID;
use rayon::prelude::*;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::{broadcast, mpsc};

pub(super) fn sender_key(i: usize) -> Result<PrivateKeySigner> {
    let seed = keccak256(format!("lazai-bench-sender-{i}"));
    PrivateKeySigner::from_slice(seed.as_slice()).context("bench key")
}

pub(super) fn sign_transfer(signer: &PrivateKeySigner, nonce: u64, to: Address) -> Result<Bytes> {
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

/// Signed transfers from funded bench senders, ready to submit.
pub(super) struct Workload {
    /// The senders (fund them at genesis).
    pub(super) senders: Vec<Address>,
    /// Each sender's transfers, in nonce order from nonce 0.
    pub(super) signed: Vec<Vec<Bytes>>,
    pub(super) total: usize,
}

impl Workload {
    /// `load.txs` transfers spread over `load.senders` senders.
    pub(super) fn sign(load: &LoadArgs) -> Result<Self> {
        if load.senders == 0 || load.txs < load.senders || load.batch == 0 || load.connections == 0
        {
            bail!("need senders > 0, txs >= senders, batch > 0, connections > 0");
        }
        eprintln!(
            "signing {} transfers from {} senders ...",
            load.txs, load.senders
        );
        let keys: Vec<PrivateKeySigner> =
            (0..load.senders).map(sender_key).collect::<Result<_>>()?;
        let recipients: Vec<Address> = (0..256u64)
            .map(|i| Address::from_word(keccak256(i.to_be_bytes())))
            .collect();
        let (each, extra) = (load.txs / load.senders, load.txs % load.senders);
        let signed: Vec<Vec<Bytes>> = keys
            .par_iter()
            .enumerate()
            .map(|(i, s)| {
                let count = each + usize::from(i < extra);
                (0..count as u64)
                    .map(|n| sign_transfer(s, n, recipients[(i + n as usize) % recipients.len()]))
                    .collect()
            })
            .collect::<Result<_>>()?;
        Ok(Self {
            senders: keys.iter().map(|s| s.address()).collect(),
            signed,
            total: load.txs,
        })
    }

    /// Round `n` alone: each sender's transfer with nonce `n`, if it has one.
    pub(super) fn round(&self, n: usize) -> Self {
        let signed: Vec<Vec<Bytes>> = self
            .signed
            .iter()
            .map(|txs| txs.get(n).cloned().into_iter().collect())
            .collect();
        Self {
            senders: self.senders.clone(),
            total: signed.iter().map(Vec::len).sum(),
            signed,
        }
    }

    /// The number of rounds: the most transfers any sender sends.
    pub(super) fn rounds(&self) -> usize {
        self.signed.iter().map(Vec::len).max().unwrap_or(0)
    }

    /// Streams, one per connection: stream c carries the senders i with i % conns == c,
    /// round-major (every sender's nonce 0, then nonce 1, ...), so nonces arrive in order and
    /// any `batch_len(conns)` consecutive entries hold at most one transaction per sender
    /// (calls in a batch run concurrently).
    pub(super) fn streams(&self, conns: usize) -> Vec<Vec<(B256, Bytes)>> {
        let mut streams: Vec<Vec<(B256, Bytes)>> = vec![Vec::new(); conns];
        let rounds = self.signed.iter().map(Vec::len).max().unwrap_or(0);
        for n in 0..rounds {
            for (i, txs) in self.signed.iter().enumerate() {
                if let Some(raw) = txs.get(n) {
                    streams[i % conns].push((keccak256(raw), raw.clone()));
                }
            }
        }
        streams
    }
}

/// Sender recovery over `raws`, on one core and on all cores: transactions per second.
pub(super) fn recovery_rates(raws: &[Bytes]) -> (f64, f64) {
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

pub(super) fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let idx = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[idx.min(sorted.len() - 1)]
}

/// What [`submit`] did.
pub(super) struct Submission {
    /// When each transaction's batch was sent.
    pub(super) sent: HashMap<B256, Instant>,
    pub(super) start: Instant,
    /// Time to submit everything.
    pub(super) ingest: Duration,
    pub(super) rejected: usize,
}

/// Submits the workload to `url` as JSON-RPC batches of `eth_sendRawTransaction` over
/// `load.connections` concurrent connections.
pub(super) async fn submit(url: &str, work: &Workload, load: &LoadArgs) -> Result<Submission> {
    let conns = load.connections.min(work.senders.len());
    // Every connection carries at least `senders / conns` senders per round.
    let batch = load.batch.min(work.senders.len() / conns).max(1);
    let sent: Arc<parking_lot::Mutex<HashMap<B256, Instant>>> = Default::default();
    let start = Instant::now();
    let client = reqwest::Client::new();
    let mut tasks = Vec::new();
    for stream in work.streams(conns) {
        let (client, url, sent) = (client.clone(), url.to_string(), sent.clone());
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
                sent.lock().extend(chunk.iter().map(|(h, _)| (*h, now)));
                let resp = client
                    .post(&url)
                    .header("content-type", "application/json")
                    .body(serde_json::to_vec(&body)?)
                    .send()
                    .await?
                    .bytes()
                    .await?;
                let replies: Vec<serde_json::Value> =
                    serde_json::from_slice(&resp).context("batch reply")?;
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
    let sent = std::mem::take(&mut *sent.lock());
    Ok(Submission {
        sent,
        start,
        ingest,
        rejected,
    })
}

/// The transactions of one finalized block, and when this process learned it was final.
pub(super) struct FinalizedTxs {
    pub(super) at: Instant,
    pub(super) hashes: Vec<B256>,
}

/// Finalized blocks in height order, timestamped as they arrive.
type FinalizedFeed = mpsc::UnboundedReceiver<Result<FinalizedTxs>>;

/// The finalized blocks of an in-process chain.
pub(super) fn chain_feed(chain: &Chain) -> FinalizedFeed {
    let mut blocks = chain.subscribe();
    let (tx, rx) = mpsc::unbounded_channel();
    tokio::spawn(async move {
        loop {
            let item = match blocks.recv().await {
                Ok(ev) => Ok(FinalizedTxs {
                    at: Instant::now(),
                    hashes: ev.receipts.iter().map(|r| r.tx_hash).collect(),
                }),
                Err(broadcast::error::RecvError::Lagged(n)) => {
                    Err(anyhow!("lagged {n} blocks behind"))
                }
                Err(broadcast::error::RecvError::Closed) => Err(anyhow!("finalized stream ended")),
            };
            let stop = item.is_err();
            if tx.send(item).is_err() || stop {
                return;
            }
        }
    });
    rx
}

/// The finalized blocks of a node, from its `newHeads` WebSocket subscription (each timestamped
/// when its header arrives) and `eth_getBlockByNumber` (for the transaction hashes). Starts
/// after the node's current height.
pub(super) async fn rpc_feed(node: &NodeSpec) -> Result<FinalizedFeed> {
    let provider = ProviderBuilder::new()
        .connect_ws(WsConnect::new(node.ws_url()))
        .await
        .with_context(|| format!("connect to {}", node.ws_url()))?;
    let mut heads: Subscription<serde_json::Value> = provider
        .subscribe(("newHeads",))
        .await
        .context("subscribe to newHeads")?;
    let client = cluster::http_client()?;
    let url = node.rpc_url();
    let mut next = cluster::block_number(&client, &url).await? + 1;
    let (head_tx, mut head_rx) = mpsc::unbounded_channel::<(Instant, u64)>();
    tokio::spawn(async move {
        let _connection = provider;
        loop {
            match heads.recv().await {
                Ok(head) => {
                    let at = Instant::now();
                    let Some(n) = head.get("number").and_then(cluster::parse_quantity) else {
                        continue;
                    };
                    if head_tx.send((at, n)).is_err() {
                        return;
                    }
                }
                // Missed heads are fetched by height below.
                Err(broadcast::error::RecvError::Lagged(_)) => continue,
                Err(broadcast::error::RecvError::Closed) => return,
            }
        }
    });
    let (tx, rx) = mpsc::unbounded_channel();
    tokio::spawn(async move {
        while let Some((at, n)) = head_rx.recv().await {
            while next <= n {
                let item = block_tx_hashes(&client, &url, next)
                    .await
                    .map(|hashes| FinalizedTxs { at, hashes });
                let stop = item.is_err();
                if tx.send(item).is_err() || stop {
                    return;
                }
                next += 1;
            }
        }
        let _ = tx.send(Err(anyhow!("the newHeads subscription ended")));
    });
    Ok(rx)
}

pub(super) async fn block_tx_hashes(
    client: &reqwest::Client,
    url: &str,
    height: u64,
) -> Result<Vec<B256>> {
    let block = cluster::block_by_number(client, url, height).await?;
    block
        .get("transactions")
        .and_then(|t| t.as_array())
        .with_context(|| format!("block {height} has no transaction list"))?
        .iter()
        .map(|h| {
            h.as_str()
                .and_then(|h| h.parse().ok())
                .with_context(|| format!("block {height}: bad transaction hash {h}"))
        })
        .collect()
}

/// Submit-to-finalized latencies of the submitted transactions.
pub(super) struct Finality {
    pub(super) latencies: Vec<Duration>,
    /// Blocks that carried submitted transactions.
    pub(super) blocks: usize,
    /// Blocks finalized from the first submission to the last finalized transaction.
    pub(super) blocks_seen: usize,
    /// When the last submitted transaction was finalized.
    pub(super) last: Instant,
}

/// Follows `feed` until `expected` submitted transactions are final or `timeout` passes.
pub(super) async fn collect(
    feed: &mut FinalizedFeed,
    sub: &Submission,
    expected: usize,
    timeout: Duration,
) -> Result<Finality> {
    let mut fin = Finality {
        latencies: Vec::with_capacity(expected),
        blocks: 0,
        blocks_seen: 0,
        last: sub.start,
    };
    let deadline = tokio::time::Instant::now() + timeout;
    while fin.latencies.len() < expected {
        let ev = match tokio::time::timeout_at(deadline, feed.recv()).await {
            Ok(Some(ev)) => ev?,
            Ok(None) => bail!("finalized block feed ended"),
            Err(_) => break,
        };
        if ev.at >= sub.start {
            fin.blocks_seen += 1;
        }
        let before = fin.latencies.len();
        fin.latencies.extend(
            ev.hashes
                .iter()
                .filter_map(|h| sub.sent.get(h))
                .map(|t| ev.at.saturating_duration_since(*t)),
        );
        if fin.latencies.len() > before {
            fin.blocks += 1;
            fin.last = ev.at;
        }
    }
    fin.latencies.sort_unstable();
    Ok(fin)
}

/// Prints the run's figures; fails if some accepted transfer did not finalize.
pub(super) fn report(
    label: &str,
    total: usize,
    sub: &Submission,
    fin: &Finality,
    timeout: u64,
) -> Result<()> {
    let done = fin.latencies.len();
    println!(
        "{label}  transfers {total}  rejected {}  finalized {done}  blocks {} (of {} finalized)  avg {:.0} tx/block",
        sub.rejected,
        fin.blocks,
        fin.blocks_seen,
        done as f64 / fin.blocks.max(1) as f64
    );
    println!(
        "ingest: {:.0} tx/s over RPC ({:.2} s)",
        total as f64 / sub.ingest.as_secs_f64(),
        sub.ingest.as_secs_f64()
    );
    let elapsed = fin.last - sub.start;
    println!(
        "finalized: {:.0} tx/s ({} in {:.2} s)  submit→finalized p50 {} ms  p99 {} ms",
        done as f64 / elapsed.as_secs_f64().max(1e-9),
        done,
        elapsed.as_secs_f64(),
        percentile(&fin.latencies, 0.50).as_millis(),
        percentile(&fin.latencies, 0.99).as_millis()
    );
    if done < total - sub.rejected {
        bail!(
            "only {done} of {} transfers finalized within {timeout} s",
            total - sub.rejected,
        );
    }
    Ok(())
}
