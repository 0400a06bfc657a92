//! The DAT benchmark in a running node: signed DAT transactions submitted over JSON-RPC and
//! followed to their finalized receipts.

use super::ops::{
    BLOCK_GAS_LIMIT, DatArgs, FUNDS, KindFigures, ORDERED_BATCH, Op, Signed, TOKEN_VALUE,
    check_receipts, claim_op, create_class_op, gas_figures, metric, mint_op, op, returned_id,
    settle_op, sign_ops,
};
use crate::args::LoadArgs;
use crate::load::{Submission, Workload, submit};
use alloy_primitives::{Address, B256, Bytes, U256};
use alloy_signer_local::PrivateKeySigner;
use anyhow::Context as _;
use anyhow::{Result, anyhow, bail};
use lazai_abi::IDataAnchoringToken as I;
use lazai_consensus::runtime::{Runner as _, tokio as cw_tokio};
use lazai_node::{Chain, MempoolConfig, NodeSettings, devnet_genesis, start_devnet};
use lazai_types::{DEVNET_CHAIN_ID, Receipt, lazai};
use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::{broadcast, mpsc};

/// Finalized blocks' receipts, timestamped as they arrive.
type ReceiptFeed = mpsc::UnboundedReceiver<Result<(Instant, Arc<Vec<Receipt>>)>>;

pub(super) fn receipt_feed(chain: &Chain) -> ReceiptFeed {
    let mut blocks = chain.subscribe();
    let (tx, rx) = mpsc::unbounded_channel();
    tokio::spawn(async move {
        loop {
            let item = match blocks.recv().await {
                Ok(ev) => Ok((Instant::now(), ev.receipts.clone())),
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

/// Submits one sender's transactions in nonce order, in JSON-RPC batches on one connection
/// (the node admits a batch's transactions in order).
pub(super) async fn submit_in_order(url: &str, raws: &[(B256, Bytes)]) -> Result<Submission> {
    let client = reqwest_client();
    let start = Instant::now();
    let mut sent = HashMap::with_capacity(raws.len());
    let mut rejected = 0;
    for chunk in raws.chunks(ORDERED_BATCH) {
        let body: Vec<_> = chunk
            .iter()
            .enumerate()
            .map(|(id, (_, raw))| serde_json::json!({"jsonrpc":"2.0","id":id,"method":"eth_sendRawTransaction","params":[raw]}))
            .collect();
        let now = Instant::now();
        sent.extend(chunk.iter().map(|(h, _)| (*h, now)));
        let resp = client
            .post(url)
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
                if rejected == 0 {
                    eprintln!("a submission was rejected: {e}");
                }
                rejected += 1;
            }
        }
    }
    Ok(Submission {
        sent,
        start,
        ingest: start.elapsed(),
        rejected,
    })
}

pub(super) fn reqwest_client() -> alloy::transports::http::reqwest::Client {
    alloy::transports::http::reqwest::Client::new()
}

/// The in-process devnet the operations go to.
pub(super) struct Node<'a> {
    pub(super) url: String,
    pub(super) feed: ReceiptFeed,
    pub(super) keys: &'a [PrivateKeySigner],
    pub(super) nonces: Vec<u64>,
    pub(super) load: LoadArgs,
    pub(super) timeout: Duration,
}

/// What a batch of operations did in the node: receipts in operation order.
pub(super) struct NodeRun {
    pub(super) receipts: Vec<Receipt>,
    pub(super) blocks: usize,
    pub(super) elapsed: Duration,
}

impl Node<'_> {
    /// Signs `ops`, submits them, follows them to finality, checks that every one succeeded and
    /// returns their receipts. A sender's run longer than half the mempool's per-sender limit
    /// goes in successive rounds, each waited for.
    pub(super) async fn run(
        &mut self,
        kind: &str,
        ops: &[Op],
    ) -> Result<(KindFigures, Vec<Receipt>)> {
        let nonces = &mut self.nonces;
        let signed = sign_ops(self.keys, ops, |from| {
            let n = nonces[from];
            nonces[from] += 1;
            n
        })?;
        let round_len = (MempoolConfig::default().max_per_sender / 2).max(1);
        // Each transaction's ordinal among its sender's: rounds cut every sender's run.
        let mut seen: HashMap<usize, usize> = HashMap::new();
        let mut rounds: Vec<Vec<usize>> = Vec::new();
        for (i, s) in signed.iter().enumerate() {
            let k = seen.entry(s.from).or_default();
            let round = *k / round_len;
            *k += 1;
            if rounds.len() <= round {
                rounds.resize_with(round + 1, Vec::new);
            }
            rounds[round].push(i);
        }
        let mut receipts: Vec<Option<Receipt>> = vec![None; signed.len()];
        let (mut blocks, mut elapsed) = (0, Duration::ZERO);
        for round in rounds {
            let run = self.run_round(&signed, &round).await?;
            blocks += run.blocks;
            elapsed += run.elapsed;
            for (i, r) in round.into_iter().zip(run.receipts) {
                receipts[i] = Some(r);
            }
        }
        let receipts: Vec<Receipt> = receipts
            .into_iter()
            .map(|r| r.context("missing receipt"))
            .collect::<Result<_>>()?;
        check_receipts(kind, &receipts)?;
        let figures = gas_figures(kind, &receipts, blocks, elapsed);
        eprintln!(
            "  {kind}: {} ops finalized in {:.2} s over {} blocks",
            figures.ops, figures.seconds, figures.blocks
        );
        Ok((figures, receipts))
    }

    /// Submits the transactions `which` of `signed` and waits until all are final.
    pub(super) async fn run_round(
        &mut self,
        signed: &[Signed],
        which: &[usize],
    ) -> Result<NodeRun> {
        let index: HashMap<B256, usize> = which
            .iter()
            .enumerate()
            .map(|(k, &i)| (signed[i].hash, k))
            .collect();
        // Group by sender, each in nonce order (the order they were signed in).
        let mut by_sender: Vec<(usize, Vec<Bytes>)> = Vec::new();
        let mut slot: HashMap<usize, usize> = HashMap::new();
        for &i in which {
            let s = &signed[i];
            let k = *slot.entry(s.from).or_insert_with(|| {
                by_sender.push((s.from, Vec::new()));
                by_sender.len() - 1
            });
            by_sender[k].1.push(s.raw.clone());
        }
        let sub = if by_sender.len() == 1 {
            let raws: Vec<(B256, Bytes)> = which
                .iter()
                .map(|&i| (signed[i].hash, signed[i].raw.clone()))
                .collect();
            submit_in_order(&self.url, &raws).await?
        } else {
            let work = Workload {
                senders: by_sender
                    .iter()
                    .map(|(from, _)| self.keys[*from].address())
                    .collect(),
                signed: by_sender.into_iter().map(|(_, raws)| raws).collect(),
                total: which.len(),
            };
            submit(&self.url, &work, &self.load).await?
        };
        if sub.rejected > 0 {
            bail!(
                "{} of {} transactions were rejected at submission",
                sub.rejected,
                which.len()
            );
        }
        let mut receipts: Vec<Option<Receipt>> = vec![None; which.len()];
        let mut found = 0;
        let mut blocks = 0;
        let mut last = sub.start;
        let deadline = tokio::time::Instant::now() + self.timeout;
        while found < which.len() {
            let (at, block) = match tokio::time::timeout_at(deadline, self.feed.recv()).await {
                Ok(Some(ev)) => ev?,
                Ok(None) => bail!("finalized block feed ended"),
                Err(_) => bail!(
                    "only {found} of {} transactions finalized within {} s",
                    which.len(),
                    self.timeout.as_secs()
                ),
            };
            let before = found;
            for r in block.iter() {
                if let Some(&k) = index.get(&r.tx_hash)
                    && receipts[k].is_none()
                {
                    receipts[k] = Some(r.clone());
                    found += 1;
                }
            }
            if found > before {
                blocks += 1;
                last = at;
            }
        }
        Ok(NodeRun {
            receipts: receipts.into_iter().flatten().collect(),
            blocks,
            elapsed: last.saturating_duration_since(sub.start),
        })
    }
}

/// A token minted in the node: its id, its class's index (the sender that created it) and its
/// owner (a sender index).
pub(super) struct Token {
    pub(super) id: U256,
    pub(super) class: usize,
    pub(super) owner: usize,
}

/// The holder-class sizes: 1, 100 and `--holders`, ascending, without repeats.
pub(super) fn class_sizes(holders: usize) -> Vec<usize> {
    let mut sizes = vec![1, 100, holders];
    sizes.sort_unstable();
    sizes.dedup();
    sizes
}

/// What the node part measured.
pub(super) struct InNode {
    pub(super) kinds: Vec<KindFigures>,
    pub(super) holder_mints: KindFigures,
    pub(super) holder_settles: Vec<(usize, KindFigures)>,
}

/// Part 1 and 2: everything in the node. Accounts: senders `0..senders`, then the creator,
/// then the holders (addresses only: in the node they only receive).
pub(super) async fn in_node(
    node: &mut Node<'_>,
    senders: usize,
    holders: &[Address],
    args: &DatArgs,
) -> Result<InNode> {
    let creator = senders;
    let sizes = class_sizes(args.holders);
    let sender_addrs: Vec<Address> = node.keys[..senders].iter().map(|k| k.address()).collect();

    eprintln!("holder classes: creating {} classes", sizes.len());
    let ops: Vec<Op> = (0..sizes.len())
        .map(|n| create_class_op(creator, n))
        .collect();
    let (_, receipts) = node.run("createClass (holder classes)", &ops).await?;
    let holder_classes: Vec<U256> = receipts.iter().map(returned_id).collect::<Result<_>>()?;

    eprintln!(
        "{senders} senders: one class each, then {} ops of each kind",
        args.ops
    );
    let mut kinds = Vec::new();
    let ops: Vec<Op> = (0..senders)
        .map(|i| create_class_op(i, 1_000 + i))
        .collect();
    let (f, receipts) = node.run("createClass", &ops).await?;
    kinds.push(f);
    let classes: Vec<U256> = receipts.iter().map(returned_id).collect::<Result<_>>()?;

    // mint: sender i mints its share of the ops into its class, token j to sender (i + j).
    let (each, extra) = (args.ops / senders, args.ops % senders);
    let mut ops = Vec::with_capacity(args.ops);
    let mut placed = Vec::with_capacity(args.ops);
    for (i, class) in classes.iter().enumerate() {
        for j in 0..each + usize::from(i < extra) {
            let owner = (i + j) % senders;
            ops.push(mint_op(
                i,
                *class,
                sender_addrs[owner],
                TOKEN_VALUE,
                10 + j as u64,
            ));
            placed.push((i, owner));
        }
    }
    let (f, receipts) = node.run("mint", &ops).await?;
    kinds.push(f);
    let tokens: Vec<Token> = receipts
        .iter()
        .zip(placed)
        .map(|(r, (class, owner))| {
            Ok(Token {
                id: returned_id(r)?,
                class,
                owner,
            })
        })
        .collect::<Result<_>>()?;
    let mut by_class: Vec<Vec<usize>> = vec![Vec::new(); senders];
    for (t, token) in tokens.iter().enumerate() {
        by_class[token.class].push(t);
    }

    // transferValue: each token's owner moves 1 unit to the next token of the same class
    // (another owner's).
    let mut ops = Vec::with_capacity(tokens.len());
    for members in &by_class {
        for (j, &t) in members.iter().enumerate() {
            let next = members[(j + 1) % members.len()];
            ops.push(op(
                tokens[t].owner,
                I::transferValueCall {
                    fromTokenId: tokens[t].id,
                    toTokenId: tokens[next].id,
                    value: U256::from(1),
                },
            ));
        }
    }
    kinds.push(node.run("transferValue", &ops).await?.0);

    let ops: Vec<Op> = tokens
        .iter()
        .map(|t| {
            op(
                t.owner,
                I::recordUsageCall {
                    tokenId: t.id,
                    metricType: metric(),
                    amount: U256::from(1),
                },
            )
        })
        .collect();
    kinds.push(node.run("recordUsage", &ops).await?.0);

    // settle: one settlement per token, paid by its owner into its class.
    let ops: Vec<Op> = tokens
        .iter()
        .map(|t| settle_op(t.owner, classes[t.class]))
        .collect();
    kinds.push(node.run("settleRevenueETH", &ops).await?.0);

    let ops: Vec<Op> = tokens
        .iter()
        .map(|t| claim_op(t.owner, t.id, sender_addrs[t.owner]))
        .collect();
    kinds.push(node.run("claim", &ops).await?.0);

    let total: usize = sizes.iter().sum();
    eprintln!("holder classes: minting {total} tokens from one sender");
    let ops: Vec<Op> = sizes
        .iter()
        .zip(&holder_classes)
        .flat_map(|(&n, &class)| (0..n).map(move |h| (class, h)))
        .map(|(class, h)| mint_op(creator, class, holders[h], 1, 1))
        .collect();
    let (holder_mints, _) = node.run("mint (one sender)", &ops).await?;

    let mut holder_settles = Vec::new();
    for (&n, &class) in sizes.iter().zip(&holder_classes) {
        let ops: Vec<Op> = (0..args.settles)
            .map(|j| settle_op(j % senders, class))
            .collect();
        let (f, _) = node
            .run(&format!("settleRevenueETH ({n} holders)"), &ops)
            .await?;
        holder_settles.push((n, f));
    }
    Ok(InNode {
        kinds,
        holder_mints,
        holder_settles,
    })
}

pub(super) fn start_in_node(
    args: &DatArgs,
    senders: usize,
    keys: &[PrivateKeySigner],
    holders: &[Address],
) -> Result<InNode> {
    let accounts: Vec<Address> = keys.iter().map(|k| k.address()).collect();
    let genesis = devnet_genesis(DEVNET_CHAIN_ID, 1, &accounts, lazai(FUNDS), BLOCK_GAS_LIMIT);
    let dir = tempfile::Builder::new()
        .prefix("lazai-bench-dat-")
        .tempdir()?;
    let mut settings = NodeSettings::new(
        genesis,
        dir.path().to_path_buf(),
        "127.0.0.1:0".parse()?,
        Duration::from_millis(args.block_time),
    );
    settings.rpc.max_batch_len = ORDERED_BATCH as u32;
    let validator_keys = vec![lazai_consensus::devnet_key(0)];
    let p2p = lazai_node::ports::free_port_run(1)?;
    let runtime = settings.runtime().with_worker_threads(2);
    let load = LoadArgs {
        txs: 0,
        senders,
        batch: 500,
        connections: 4,
        block_time: args.block_time,
        timeout: args.timeout,
    };
    let args = args.clone();
    let holders = holders.to_vec();
    let keys = keys.to_vec();
    cw_tokio::Runner::new(runtime).start(|context| async move {
        let devnet = start_devnet(context, settings, validator_keys, p2p).await?;
        let mut node = Node {
            url: format!("http://{}", devnet.rpc_addr()),
            feed: receipt_feed(devnet.nodes[0].chain()),
            keys: &keys,
            nonces: vec![0; keys.len()],
            load,
            timeout: Duration::from_secs(args.timeout),
        };
        let out = in_node(&mut node, senders, &holders, &args).await;
        drop(devnet);
        out
    })
}
