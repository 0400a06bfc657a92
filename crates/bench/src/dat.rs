//! `lazai-bench dat`: executed DataAnchoringToken operations per second, by kind, as the module
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

mod ledger;
mod node;

use ledger::in_ledger;
use node::{class_sizes, start_in_node};

use super::load::sender_key;
use alloy::sol_types::SolCall;
use alloy_consensus::{SignableTransaction, TxEip1559, TxEnvelope};
use alloy_eips::eip2718::Encodable2718;
use alloy_primitives::{Address, B256, Bytes, TxKind, U256, keccak256};
use alloy_signer::SignerSync;
use alloy_signer_local::PrivateKeySigner;
use anyhow::{Context as _, Result, bail, ensure};
use clap::Args;
use lazai_client::describe_revert;
use lazai_ledger::modules::{DAT_ADDRESS, IDataAnchoringToken as I, NATIVE_ASSET};
use lazai_types::{DEVNET_CHAIN_ID, Receipt};
use rayon::prelude::*;
use std::time::Duration;

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

// ---- the command ------------------------------------------------------------------------------

/// Runs `lazai-bench dat`, prints its tables and returns its figures. Fails if any operation
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
