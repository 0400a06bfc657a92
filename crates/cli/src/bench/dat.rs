//! `lazai bench dat`: executed DataAnchoringToken operations per second, by kind, as the module
//! runs inside the node, and the cost of revenue settlement and claims against a class's number
//! of holders.
//!
//! 1. **In the node.** An in-process single-validator devnet (as `bench transfers` runs it)
//!    whose bench senders each create a class, then, kind after kind — `mint` (ERC-8028),
//!    `transferValue`, `recordUsage`, `settleRevenueETH`, `claim` — `--ops` signed
//!    transactions spread over the senders are submitted over JSON-RPC and followed to
//!    finality. Every receipt must succeed.
//! 2. **Holders, in the node.** One creator makes classes of 1, 100 and `--holders` holders (one
//!    token minted to each distinct address, all from that one sender), then `--settles`
//!    settlements go into each class.
//! 3. **Holders, in the ledger.** The same classes built by executing blocks with
//!    [`Ledger::execute_block`] on a state from genesis (the code the node runs), then for each
//!    class a block of `--settles` settlements from distinct payers, and a block of as many
//!    settlement + claim pairs, executed on the same parent state: gas and µs per operation.

use super::{LoadArgs, Submission, Workload, free_port_base, sender_key, submit};
use crate::dat::describe_revert;
use alloy::sol_types::SolCall;
use alloy_consensus::{SignableTransaction, TxEip1559, TxEnvelope};
use alloy_eips::eip2718::Encodable2718;
use alloy_primitives::{Address, B256, Bytes, TxKind, U256, keccak256};
use alloy_signer::SignerSync;
use alloy_signer_local::PrivateKeySigner;
use anyhow::{Context as _, Result, anyhow, bail, ensure};
use clap::Args;
use lazai_consensus::runtime::{Runner as _, tokio as cw_tokio};
use lazai_ledger::modules::{DAT_ADDRESS, IDataAnchoringToken as I, NATIVE_ASSET};
use lazai_ledger::{BlockEnv, Ledger, RecoveredTx, State};
use lazai_node::{Chain, MempoolConfig, NodeSettings, devnet_genesis, start_devnet};
use lazai_types::{DEVNET_CHAIN_ID, Genesis, Receipt, lazai};
use rayon::prelude::*;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::{broadcast, mpsc};

#[derive(Args, Debug, Clone)]
pub struct DatArgs {
    /// Operations of each kind (mint, transferValue, recordUsage, settle, claim) sent to the
    /// in-process devnet.
    #[arg(long, default_value_t = 5_000)]
    pub ops: usize,
    /// Holders of the largest class in the settlement test (classes of 1, 100 and this many
    /// holders, one token minted to each distinct address).
    #[arg(long, default_value_t = 10_000)]
    pub holders: usize,
    /// Bench senders the in-node operations are spread over; each creates one class (at most
    /// ops/2, so that every class has two tokens).
    #[arg(long, default_value_t = 500)]
    pub senders: usize,
    /// Settlements into each holder class: in the node, and as one executed block from this
    /// many distinct payers (and a block of as many settlement + claim pairs).
    #[arg(long, default_value_t = 1_000)]
    pub settles: usize,
    /// Target block time of the devnet in milliseconds.
    #[arg(long, default_value_t = 250)]
    pub block_time: u64,
    /// Give up waiting for a batch of operations to finalize after this many seconds.
    #[arg(long, default_value_t = 120)]
    pub timeout: u64,
}

/// What one kind of operation did.
#[derive(Clone, Debug)]
pub struct KindFigures {
    pub kind: String,
    pub ops: usize,
    /// Finalized blocks that carried them.
    pub blocks: usize,
    /// From the first submission to the finality of the last one.
    pub seconds: f64,
    pub ops_per_sec: f64,
    /// Mean, least and most gas used per operation (whole transaction, from the receipts).
    pub gas_per_op: f64,
    pub gas_min: u64,
    pub gas_max: u64,
}

/// Settlement and claim cost in a class of `holders` holders, executed by the ledger.
#[derive(Clone, Debug)]
pub struct HolderFigures {
    pub holders: usize,
    /// Settlements in the measured block (and settlement + claim pairs in the other).
    pub settles: usize,
    /// Gas of one settlement, whole transaction (every settlement of the block used exactly
    /// this), and of one claim (mean: a claim's calldata costs more or less with the zero bytes
    /// of its token id and recipient).
    pub settle_gas: u64,
    pub claim_gas: f64,
    /// Gas of one settlement and of one claim past the transaction's intrinsic (base and
    /// calldata) gas: what the module charged. Every operation of a block used exactly this.
    pub settle_exec_gas: u64,
    pub claim_exec_gas: u64,
    /// Execution time per operation: `Ledger::apply` of each transaction, median of runs.
    pub settle_us: f64,
    pub claim_us: f64,
    /// `Ledger::execute_block` of the settlements, of the pairs and of an empty block on the
    /// same parent state (all three include the state root over the whole state).
    pub settle_block_ms: f64,
    pub pair_block_ms: f64,
    pub empty_block_ms: f64,
}

/// Everything `bench dat` measured.
#[derive(Clone, Debug)]
pub struct DatReport {
    /// Kinds in the node, in order (class creation first).
    pub in_node: Vec<KindFigures>,
    /// Minting the holder classes in the node (one sender).
    pub holder_mints: KindFigures,
    /// Settlements into each holder class in the node: (holders, figures).
    pub holder_settles: Vec<(usize, KindFigures)>,
    /// Settlement and claim executed on classes of 1, 100 and `--holders` holders.
    pub execution: Vec<HolderFigures>,
    /// Entries of the ledger state the execution figures were measured on.
    pub state_entries: usize,
    /// µs per claim in the largest class when its claims cycle over only this many distinct
    /// holders, as they must in the smaller classes: (distinct claimers, µs per claim). Set
    /// against the smaller classes' figures, it separates the size of the class from the
    /// number of distinct accounts and records the claims touch.
    pub claim_control: Vec<(usize, f64)>,
}

impl DatReport {
    /// Whether the module charges the same gas for a settlement, and for a claim, in every
    /// holder class.
    pub fn flat_gas(&self) -> bool {
        let first = self.execution.first();
        self.execution.iter().all(|f| {
            first.is_some_and(|g| {
                f.settle_exec_gas == g.settle_exec_gas && f.claim_exec_gas == g.claim_exec_gas
            })
        })
    }
}

/// Block gas limit of the bench genesis.
const BLOCK_GAS_LIMIT: u64 = 4_000_000_000;
/// Gas limit of every bench transaction (unused gas is refunded).
const TX_GAS: u64 = 400_000;
const MAX_FEE: u128 = 10_000_000_000;
const TIP: u128 = 1_000_000_000;
/// Wei paid by each settlement.
const SETTLE_WEI: u64 = 1_000_000_000_000_000;
/// Balance of every bench account.
const FUNDS: u64 = 100_000;
/// `eth_sendRawTransaction` calls per batch when one sender's transactions go in order.
const ORDERED_BATCH: usize = 1_000;
/// Runs of each measured block; the median is reported.
const REPS: usize = 5;
/// Value and share of each token minted in the node's sender classes.
const TOKEN_VALUE: u64 = 1_000;
const METRIC: &str = "inference-tokens";

fn metric() -> B256 {
    keccak256(METRIC)
}

fn holder_key(i: usize) -> Result<PrivateKeySigner> {
    let seed = keccak256(format!("lazai-bench-dat-holder-{i}"));
    PrivateKeySigner::from_slice(seed.as_slice()).context("holder key")
}

fn creator_key() -> Result<PrivateKeySigner> {
    PrivateKeySigner::from_slice(keccak256("lazai-bench-dat-creator").as_slice())
        .context("creator key")
}

/// One DAT call by account `from` (an index into the key list).
struct Op {
    from: usize,
    input: Bytes,
    value: U256,
}

fn op(from: usize, call: impl SolCall) -> Op {
    Op {
        from,
        input: call.abi_encode().into(),
        value: U256::ZERO,
    }
}

fn settle_op(from: usize, class: U256) -> Op {
    Op {
        value: U256::from(SETTLE_WEI),
        ..op(from, I::settleRevenueETHCall { classId: class })
    }
}

fn create_class_op(from: usize, n: usize) -> Op {
    op(
        from,
        I::createClassCall {
            metadataURI: format!("ipfs://lazai-bench-dataset-{n}"),
            integrityHash: keccak256(format!("dataset {n}")),
            unitDecimals: 0,
            policyURI: "ipfs://lazai-bench-policy".to_string(),
        },
    )
}

fn mint_op(from: usize, class: U256, to: Address, value: u64, share: u64) -> Op {
    op(
        from,
        I::mint_0Call {
            classId: class,
            to,
            value: U256::from(value),
            shareRatio: U256::from(share),
            expireAt: 0,
        },
    )
}

fn claim_op(from: usize, token: U256, to: Address) -> Op {
    op(
        from,
        I::claimCall {
            tokenId: token,
            asset: NATIVE_ASSET,
            to,
        },
    )
}

/// A signed operation.
struct Signed {
    from: usize,
    raw: Bytes,
    hash: B256,
}

/// Signs `ops` in order, each with the nonce `next_nonce(from)` hands out (called in op order).
fn sign_ops(
    keys: &[PrivateKeySigner],
    ops: &[Op],
    mut next_nonce: impl FnMut(usize) -> u64,
) -> Result<Vec<Signed>> {
    let nonces: Vec<u64> = ops.iter().map(|o| next_nonce(o.from)).collect();
    ops.par_iter()
        .zip(nonces)
        .map(|(o, nonce)| {
            let tx = TxEip1559 {
                chain_id: DEVNET_CHAIN_ID,
                nonce,
                gas_limit: TX_GAS,
                max_fee_per_gas: MAX_FEE,
                max_priority_fee_per_gas: TIP,
                to: TxKind::Call(DAT_ADDRESS),
                value: o.value,
                input: o.input.clone(),
                access_list: Default::default(),
            };
            let sig = keys[o.from].sign_hash_sync(&tx.signature_hash())?;
            let raw: Bytes = TxEnvelope::from(tx.into_signed(sig)).encoded_2718().into();
            Ok(Signed {
                from: o.from,
                hash: keccak256(&raw),
                raw,
            })
        })
        .collect()
}

/// Fails unless every receipt succeeded, naming the first failure.
fn check_receipts<'a>(kind: &str, receipts: impl IntoIterator<Item = &'a Receipt>) -> Result<()> {
    let mut total = 0;
    let mut failed = Vec::new();
    for r in receipts {
        total += 1;
        if !r.success {
            failed.push(r);
        }
    }
    if let Some(first) = failed.first() {
        bail!(
            "{kind}: {} of {total} operations reverted; first: tx {} from {}: {}",
            failed.len(),
            first.tx_hash,
            first.from,
            describe_revert(&first.output)
        );
    }
    Ok(())
}

/// The uint256 a call returned (a class or token id).
fn returned_id(r: &Receipt) -> Result<U256> {
    ensure!(
        r.output.len() == 32,
        "tx {}: expected a uint256, got {} bytes",
        r.tx_hash,
        r.output.len()
    );
    Ok(U256::from_be_slice(&r.output))
}

fn gas_figures(kind: &str, receipts: &[Receipt], blocks: usize, elapsed: Duration) -> KindFigures {
    let ops = receipts.len();
    let total: u64 = receipts.iter().map(|r| r.gas_used).sum();
    let seconds = elapsed.as_secs_f64();
    KindFigures {
        kind: kind.to_string(),
        ops,
        blocks,
        seconds,
        ops_per_sec: ops as f64 / seconds.max(1e-9),
        gas_per_op: total as f64 / ops.max(1) as f64,
        gas_min: receipts.iter().map(|r| r.gas_used).min().unwrap_or(0),
        gas_max: receipts.iter().map(|r| r.gas_used).max().unwrap_or(0),
    }
}

// ---- in the node ------------------------------------------------------------------------------

/// Finalized blocks' receipts, timestamped as they arrive.
type ReceiptFeed = mpsc::UnboundedReceiver<Result<(Instant, Arc<Vec<Receipt>>)>>;

fn receipt_feed(chain: &Chain) -> ReceiptFeed {
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
async fn submit_in_order(url: &str, raws: &[(B256, Bytes)]) -> Result<Submission> {
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

fn reqwest_client() -> alloy::transports::http::reqwest::Client {
    alloy::transports::http::reqwest::Client::new()
}

/// The in-process devnet the operations go to.
struct Node<'a> {
    url: String,
    feed: ReceiptFeed,
    keys: &'a [PrivateKeySigner],
    nonces: Vec<u64>,
    load: LoadArgs,
    timeout: Duration,
}

/// What a batch of operations did in the node: receipts in operation order.
struct NodeRun {
    receipts: Vec<Receipt>,
    blocks: usize,
    elapsed: Duration,
}

impl Node<'_> {
    /// Signs `ops`, submits them, follows them to finality, checks that every one succeeded and
    /// returns their receipts. A sender's run longer than half the mempool's per-sender limit
    /// goes in successive rounds, each waited for.
    async fn run(&mut self, kind: &str, ops: &[Op]) -> Result<(KindFigures, Vec<Receipt>)> {
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
    async fn run_round(&mut self, signed: &[Signed], which: &[usize]) -> Result<NodeRun> {
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
struct Token {
    id: U256,
    class: usize,
    owner: usize,
}

/// The holder-class sizes: 1, 100 and `--holders`, ascending, without repeats.
fn class_sizes(holders: usize) -> Vec<usize> {
    let mut sizes = vec![1, 100, holders];
    sizes.sort_unstable();
    sizes.dedup();
    sizes
}

/// What the node part measured.
struct InNode {
    kinds: Vec<KindFigures>,
    holder_mints: KindFigures,
    holder_settles: Vec<(usize, KindFigures)>,
}

/// Part 1 and 2: everything in the node. Accounts: senders `0..senders`, then the creator,
/// then the holders (addresses only: in the node they only receive).
async fn in_node(
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

fn start_in_node(
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
    let p2p = free_port_base(1)?;
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

// ---- in the ledger ----------------------------------------------------------------------------

/// A chain without consensus: blocks executed one after another with [`Ledger::execute_block`]
/// on a state from genesis, with the environment the node would give them.
struct LocalChain {
    ledger: Ledger,
    genesis: Genesis,
    state: State,
    height: u64,
    base_fee: u64,
    parent_gas_used: u64,
    block_time_ms: u64,
}

impl LocalChain {
    fn new(genesis: Genesis, block_time_ms: u64) -> Self {
        Self {
            ledger: Ledger::from_genesis(&genesis),
            state: lazai_ledger::genesis_state(&genesis).expect("valid genesis"),
            height: 0,
            base_fee: genesis.initial_base_fee,
            parent_gas_used: 0,
            block_time_ms,
            genesis,
        }
    }

    /// The environment of the next block.
    fn env(&self) -> BlockEnv {
        let g = &self.genesis;
        BlockEnv {
            chain_id: g.chain_id,
            height: self.height + 1,
            parent_hash: Default::default(),
            timestamp_ms: g.timestamp_ms + (self.height + 1) * self.block_time_ms,
            proposer: g.validators[0].fee_recipient,
            base_fee: lazai_ledger::gas::next_base_fee(
                self.base_fee,
                self.parent_gas_used,
                g.gas_limit,
                g.min_base_fee,
            ),
            gas_limit: g.gas_limit,
            evidence: Vec::new(),
        }
    }

    /// Executes `signed` as the next block; every transaction must succeed.
    fn execute(&mut self, kind: &str, signed: &[Signed]) -> Result<Vec<Receipt>> {
        let txs = recover(signed)?;
        let env = self.env();
        let block = self
            .ledger
            .execute_block(&self.state, &env, txs)
            .map_err(|e| anyhow!("{kind}: block {}: {e}", env.height))?;
        check_receipts(kind, &block.receipts)?;
        self.state = block.state;
        self.height = env.height;
        self.base_fee = env.base_fee;
        self.parent_gas_used = block.gas_used;
        Ok(block.receipts)
    }

    /// Signs `ops` with the nonces of the current state (consecutive for repeated senders).
    fn sign(&self, keys: &[PrivateKeySigner], ops: &[Op]) -> Result<Vec<Signed>> {
        let mut next: HashMap<usize, u64> = HashMap::new();
        sign_ops(keys, ops, |from| {
            let n = next
                .entry(from)
                .or_insert_with(|| self.state.nonce(&keys[from].address()));
            *n += 1;
            *n - 1
        })
    }
}

fn recover(signed: &[Signed]) -> Result<Vec<Arc<RecoveredTx>>> {
    let raws: Vec<Bytes> = signed.iter().map(|s| s.raw.clone()).collect();
    lazai_ledger::decode_and_recover_many(&raws, DEVNET_CHAIN_ID)
        .into_iter()
        .collect::<Result<_, _>>()
        .map_err(|e| anyhow!("recover: {e}"))
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort_unstable();
    v.get(v.len() / 2).copied().unwrap_or_default()
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

/// A block executed `REPS` times on the same parent: the median `execute_block` time, the
/// median `apply` time of each transaction (the per-transaction part of `execute_block`, timed
/// one by one), and its receipts (every one must succeed).
struct Timed {
    block: Duration,
    per_tx: Vec<Duration>,
    receipts: Vec<Receipt>,
    /// Each transaction's gas past its intrinsic gas.
    exec_gas: Vec<u64>,
}

fn time_block(
    ledger: &Ledger,
    parent: &State,
    env: &BlockEnv,
    txs: &[Arc<RecoveredTx>],
    kind: &str,
) -> Result<Timed> {
    let mut blocks = Vec::with_capacity(REPS);
    let mut receipts = Vec::new();
    for _ in 0..REPS {
        let start = Instant::now();
        let block = ledger
            .execute_block(parent, env, txs.to_vec())
            .map_err(|e| anyhow!("{kind}: {e}"))?;
        blocks.push(start.elapsed());
        receipts = block.receipts;
    }
    check_receipts(kind, &receipts)?;
    ensure!(
        receipts.len() == txs.len(),
        "{kind}: {} receipts for {} transactions",
        receipts.len(),
        txs.len()
    );
    let mut runs: Vec<Vec<Duration>> = vec![Vec::with_capacity(REPS); txs.len()];
    for _ in 0..REPS {
        let mut state = parent.clone();
        let _ = state.take_changes();
        let mut cumulative = 0;
        for (tx, run) in txs.iter().zip(runs.iter_mut()) {
            let start = Instant::now();
            let r = ledger
                .apply(&mut state, env, tx, cumulative)
                .map_err(|e| anyhow!("{kind}: {e}"))?;
            run.push(start.elapsed());
            cumulative = r.cumulative_gas_used;
        }
    }
    let exec_gas = receipts
        .iter()
        .zip(txs)
        .map(|(r, tx)| r.gas_used - lazai_ledger::gas::intrinsic_gas(&tx.envelope))
        .collect();
    Ok(Timed {
        block: median(blocks),
        per_tx: runs.into_iter().map(median).collect(),
        receipts,
        exec_gas,
    })
}

/// The one gas figure every operation shares; fails if they differ.
fn same_gas<'a>(kind: &str, gas: impl IntoIterator<Item = &'a u64>) -> Result<u64> {
    let gas: Vec<u64> = gas.into_iter().copied().collect();
    let (lo, hi) = (
        gas.iter().min().copied().unwrap_or(0),
        gas.iter().max().copied().unwrap_or(0),
    );
    ensure!(
        lo == hi,
        "{kind}: the module charged different gas for operations of one kind ({lo} to {hi})"
    );
    Ok(lo)
}

fn mean_gas<'a>(receipts: impl IntoIterator<Item = &'a Receipt>) -> f64 {
    let (sum, n) = receipts
        .into_iter()
        .fold((0u64, 0usize), |(s, n), r| (s + r.gas_used, n + 1));
    sum as f64 / n.max(1) as f64
}

fn mean_us<'a>(d: impl IntoIterator<Item = &'a Duration>) -> f64 {
    let (sum, n) = d
        .into_iter()
        .fold((Duration::ZERO, 0usize), |(s, n), d| (s + *d, n + 1));
    sum.as_secs_f64() * 1e6 / n.max(1) as f64
}

/// Part 3: the holder classes built and measured by the ledger alone. Accounts: payers
/// `0..settles` (bench senders), the creator, then the holders. Returns the figures per class,
/// the claim control (see [`DatReport::claim_control`]) and the number of state entries.
#[allow(clippy::type_complexity)]
fn in_ledger(
    args: &DatArgs,
    keys: &[PrivateKeySigner],
    payers: usize,
) -> Result<(Vec<HolderFigures>, Vec<(usize, f64)>, usize)> {
    let creator = payers;
    let holder = |h: usize| payers + 1 + h;
    let sizes = class_sizes(args.holders);
    let addrs: Vec<Address> = keys.iter().map(|k| k.address()).collect();
    let genesis = devnet_genesis(DEVNET_CHAIN_ID, 1, &addrs, lazai(FUNDS), BLOCK_GAS_LIMIT);
    let mut chain = LocalChain::new(genesis, args.block_time.max(1));

    let ops: Vec<Op> = (0..sizes.len())
        .map(|n| create_class_op(creator, n))
        .collect();
    let signed = chain.sign(keys, &ops)?;
    let classes: Vec<U256> = chain
        .execute("createClass", &signed)?
        .iter()
        .map(returned_id)
        .collect::<Result<_>>()?;

    // Every holder class's tokens, minted by its creator in blocks of at most 5,000.
    let mut tokens: Vec<Vec<U256>> = Vec::new();
    for (&n, &class) in sizes.iter().zip(&classes) {
        let mut ids = Vec::with_capacity(n);
        for start in (0..n).step_by(5_000) {
            let ops: Vec<Op> = (start..n.min(start + 5_000))
                .map(|h| mint_op(creator, class, addrs[holder(h)], 1, 1))
                .collect();
            let signed = chain.sign(keys, &ops)?;
            for r in chain.execute("mint", &signed)? {
                ids.push(returned_id(&r)?);
            }
        }
        tokens.push(ids);
    }
    eprintln!(
        "ledger: classes of {sizes:?} holders minted in {} blocks; state has {} entries",
        chain.height,
        chain.state.len()
    );

    // Warm-up, so that the measured operations all rewrite existing slots: one settlement
    // per class, then one claim by every holder that claims in the measured blocks.
    let claimers = |n: usize| n.min(args.settles);
    let ops: Vec<Op> = classes
        .iter()
        .enumerate()
        .map(|(k, &class)| settle_op(k % payers, class))
        .collect();
    let signed = chain.sign(keys, &ops)?;
    chain.execute("settle (warm-up)", &signed)?;
    let mut ops = Vec::new();
    for (&n, ids) in sizes.iter().zip(&tokens) {
        for h in 0..claimers(n) {
            ops.push(claim_op(holder(h), ids[h], addrs[holder(h)]));
        }
    }
    let signed = chain.sign(keys, &ops)?;
    chain.execute("claim (warm-up)", &signed)?;

    let env = chain.env();
    let empty = time_block(&chain.ledger, &chain.state, &env, &[], "empty block")?;
    // A block of `args.settles` settlement + claim pairs in `class`, the claims by its first
    // `cycle` holders in turn.
    let pairs = |class: U256, ids: &[U256], cycle: usize, kind: &str| -> Result<Timed> {
        let ops: Vec<Op> = (0..args.settles)
            .flat_map(|j| {
                let h = j % cycle;
                [
                    settle_op(j % payers, class),
                    claim_op(holder(h), ids[h], addrs[holder(h)]),
                ]
            })
            .collect();
        let signed = chain.sign(keys, &ops)?;
        let txs = recover(&signed)?;
        time_block(&chain.ledger, &chain.state, &env, &txs, kind)
    };
    let mut figures = Vec::new();
    for ((&n, &class), ids) in sizes.iter().zip(&classes).zip(&tokens) {
        // A block of settlements from distinct payers ...
        let settles: Vec<Op> = (0..args.settles)
            .map(|j| settle_op(j % payers, class))
            .collect();
        let signed = chain.sign(keys, &settles)?;
        let txs = recover(&signed)?;
        let kind = format!("settleRevenueETH ({n} holders)");
        let s = time_block(&chain.ledger, &chain.state, &env, &txs, &kind)?;
        let settle_exec_gas = same_gas(&kind, &s.exec_gas)?;
        let settle_gas = same_gas(&kind, s.receipts.iter().map(|r| &r.gas_used))?;

        // ... and one of settlement + claim pairs: each claim follows a settlement, so even
        // the single holder of the 1-holder class has revenue to claim each time.
        let kind = format!("settle + claim ({n} holders)");
        let p = pairs(class, ids, claimers(n), &kind)?;
        let claim_exec_gas = same_gas(&kind, p.exec_gas.iter().skip(1).step_by(2))?;
        let pair_settle_gas = same_gas(&kind, p.exec_gas.iter().step_by(2))?;
        ensure!(
            pair_settle_gas == settle_exec_gas,
            "{kind}: settlement gas {pair_settle_gas} next to claims, {settle_exec_gas} alone"
        );
        figures.push(HolderFigures {
            holders: n,
            settles: args.settles,
            settle_gas,
            claim_gas: mean_gas(p.receipts.iter().skip(1).step_by(2)),
            settle_exec_gas,
            claim_exec_gas,
            settle_us: mean_us(&s.per_tx),
            claim_us: mean_us(p.per_tx.iter().skip(1).step_by(2)),
            settle_block_ms: ms(s.block),
            pair_block_ms: ms(p.block),
            empty_block_ms: ms(empty.block),
        });
    }
    // The largest class again, its claims cycling over as few holders as the smaller
    // classes' claims do.
    let mut control = Vec::new();
    if let (Some(&n), Some(&class), Some(ids)) = (sizes.last(), classes.last(), tokens.last()) {
        for &cycle in sizes.iter().filter(|&&c| c < claimers(n)) {
            let kind = format!("settle + claim ({n} holders, {cycle} claimers)");
            let p = pairs(class, ids, cycle, &kind)?;
            control.push((cycle, mean_us(p.per_tx.iter().skip(1).step_by(2))));
        }
    }
    Ok((figures, control, chain.state.len()))
}

// ---- the command ------------------------------------------------------------------------------

/// Runs `lazai bench dat`, prints its tables and returns its figures. Fails if any operation
/// reverts or does not finalize.
pub fn run_dat(args: DatArgs) -> Result<DatReport> {
    if args.ops < 2 {
        bail!("--ops must be at least 2 (every class gets two tokens)");
    }
    if args.holders == 0 || args.settles == 0 || args.senders == 0 {
        bail!("--holders, --settles and --senders must be at least 1");
    }
    let senders = args.senders.min(args.ops / 2);
    let payers = senders.max(args.settles);
    let sizes = class_sizes(args.holders);
    let holders = *sizes.iter().max().unwrap_or(&1);
    eprintln!(
        "deriving {} sender, 1 creator and {holders} holder keys ...",
        payers
    );
    let payer_keys: Vec<PrivateKeySigner> = (0..payers)
        .into_par_iter()
        .map(sender_key)
        .collect::<Result<_>>()?;
    let holder_keys: Vec<PrivateKeySigner> = (0..holders)
        .into_par_iter()
        .map(holder_key)
        .collect::<Result<_>>()?;
    let creator = creator_key()?;
    let holder_addrs: Vec<Address> = holder_keys.iter().map(|k| k.address()).collect();

    // The node: senders, then the creator.
    let mut node_keys: Vec<PrivateKeySigner> = payer_keys[..senders].to_vec();
    node_keys.push(creator.clone());
    let node = start_in_node(&args, senders, &node_keys, &holder_addrs)?;

    // The ledger: payers, the creator, then the holders (they claim, so they sign).
    eprintln!("executing the holder classes' blocks in the ledger ...");
    let mut ledger_keys = payer_keys;
    ledger_keys.push(creator);
    ledger_keys.extend(holder_keys);
    let (execution, claim_control, state_entries) = in_ledger(&args, &ledger_keys, payers)?;

    let report = DatReport {
        in_node: node.kinds,
        holder_mints: node.holder_mints,
        holder_settles: node.holder_settles,
        execution,
        state_entries,
        claim_control,
    };
    print_report(&args, senders, &report);
    Ok(report)
}

fn kind_row(f: &KindFigures) -> String {
    let gas = if f.gas_min == f.gas_max {
        format!("{}", f.gas_min)
    } else {
        format!("{:.0} ({}–{})", f.gas_per_op, f.gas_min, f.gas_max)
    };
    format!(
        "{:<32} {:>7} {:>7} {:>8.2} {:>9.0}  {gas}",
        f.kind, f.ops, f.blocks, f.seconds, f.ops_per_sec
    )
}

fn print_report(args: &DatArgs, senders: usize, r: &DatReport) {
    let header = format!(
        "{:<32} {:>7} {:>7} {:>8} {:>9}  gas/op",
        "kind", "ops", "blocks", "seconds", "ops/s"
    );
    println!();
    println!(
        "DAT operations finalized in the node (1 validator, block time {} ms, {senders} senders, one class each):",
        args.block_time
    );
    println!("{header}");
    for f in &r.in_node {
        println!("{}", kind_row(f));
    }
    println!();
    println!(
        "Holder classes in the node (one creator mints every token; settlements from the senders):"
    );
    println!("{header}");
    println!("{}", kind_row(&r.holder_mints));
    for (_, f) in &r.holder_settles {
        println!("{}", kind_row(f));
    }
    println!();
    println!(
        "Settlement and claim executed by the ledger (Ledger::execute_block on a state of {} entries; median of {REPS} runs):",
        r.state_entries
    );
    println!(
        "{:>8} | {:>10} {:>9} {:>10} {:>18} | {:>10} {:>9} {:>9} {:>18}",
        "holders",
        "settle gas",
        "(module)",
        "µs/settle",
        format!("{} settles", args.settles),
        "claim gas",
        "(module)",
        "µs/claim",
        format!("{} settle+claim", args.settles),
    );
    for f in &r.execution {
        println!(
            "{:>8} | {:>10} {:>9} {:>10.2} {:>15.1} ms | {:>10.0} {:>9} {:>9.2} {:>15.1} ms",
            f.holders,
            f.settle_gas,
            f.settle_exec_gas,
            f.settle_us,
            f.settle_block_ms,
            f.claim_gas,
            f.claim_exec_gas,
            f.claim_us,
            f.pair_block_ms
        );
    }
    println!(
        "(gas: whole transaction (claims: mean); module: past the intrinsic 21,000 + calldata gas, identical for every operation of the block; µs: Ledger::apply per transaction)"
    );
    if let Some(f) = r.execution.first() {
        println!(
            "(an empty block on that state takes {:.1} ms: the state root over every entry)",
            f.empty_block_ms
        );
    }
    if let Some(largest) = r.execution.last()
        && !r.claim_control.is_empty()
    {
        let cycles: Vec<String> = r.claim_control.iter().map(|(c, _)| c.to_string()).collect();
        let us: Vec<String> = r
            .claim_control
            .iter()
            .map(|(_, us)| format!("{us:.2}"))
            .collect();
        println!(
            "(claims above cycle over min(holders, {}) holders; in the {}-holder class cycling over {} holders: {} µs/claim — claim time follows the distinct records touched, not the class size)",
            args.settles,
            largest.holders,
            cycles.join(" / "),
            us.join(" / ")
        );
    }
    let sizes: Vec<String> = r.execution.iter().map(|f| f.holders.to_string()).collect();
    if r.flat_gas() {
        println!(
            "the module charges identical gas per settlement and per claim in classes of {} holders: O(1) in the holders",
            sizes.join(" / ")
        );
    } else {
        println!(
            "WARNING: the module's settlement or claim gas differs between classes of {} holders",
            sizes.join(" / ")
        );
    }
}
