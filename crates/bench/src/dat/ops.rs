//! What the DAT benchmark's runs share: its arguments and figures, the operations it signs
//! (create a class, mint, settle, claim), and how receipts are checked and measured.

use alloy::sol_types::SolCall;
use alloy_consensus::{SignableTransaction, TxEip1559, TxEnvelope};
use alloy_eips::eip2718::Encodable2718;
use alloy_primitives::{Address, B256, Bytes, TxKind, U256, keccak256};
use alloy_signer::SignerSync;
use alloy_signer_local::PrivateKeySigner;
use anyhow::{Context as _, Result, bail, ensure};
use clap::Args;
use lazai_abi::{DAT_ADDRESS, IDataAnchoringToken as I, NATIVE_ASSET};
use lazai_client::describe_revert;
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
pub(super) const BLOCK_GAS_LIMIT: u64 = 4_000_000_000;
/// Gas limit of every bench transaction (unused gas is refunded).
pub(super) const TX_GAS: u64 = 400_000;
pub(super) const MAX_FEE: u128 = 10_000_000_000;
pub(super) const TIP: u128 = 1_000_000_000;
/// Wei paid by each settlement.
pub(super) const SETTLE_WEI: u64 = 1_000_000_000_000_000;
/// Balance of every bench account.
pub(super) const FUNDS: u64 = 100_000;
/// `eth_sendRawTransaction` calls per batch when one sender's transactions go in order.
pub(super) const ORDERED_BATCH: usize = 1_000;
/// Runs of each measured block; the median is reported.
pub(super) const REPS: usize = 5;
/// Value and share of each token minted in the node's sender classes.
pub(super) const TOKEN_VALUE: u64 = 1_000;
pub(super) const METRIC: &str = "inference-tokens";

pub(super) fn metric() -> B256 {
    keccak256(METRIC)
}

pub(super) fn holder_key(i: usize) -> Result<PrivateKeySigner> {
    let seed = keccak256(format!("lazai-bench-dat-holder-{i}"));
    PrivateKeySigner::from_slice(seed.as_slice()).context("holder key")
}

pub(super) fn creator_key() -> Result<PrivateKeySigner> {
    PrivateKeySigner::from_slice(keccak256("lazai-bench-dat-creator").as_slice())
        .context("creator key")
}

/// One DAT call by account `from` (an index into the key list).
pub(super) struct Op {
    pub(super) from: usize,
    pub(super) input: Bytes,
    pub(super) value: U256,
}

pub(super) fn op(from: usize, call: impl SolCall) -> Op {
    Op {
        from,
        input: call.abi_encode().into(),
        value: U256::ZERO,
    }
}

pub(super) fn settle_op(from: usize, class: U256) -> Op {
    Op {
        value: U256::from(SETTLE_WEI),
        ..op(from, I::settleRevenueETHCall { classId: class })
    }
}

pub(super) fn create_class_op(from: usize, n: usize) -> Op {
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

pub(super) fn mint_op(from: usize, class: U256, to: Address, value: u64, share: u64) -> Op {
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

pub(super) fn claim_op(from: usize, token: U256, to: Address) -> Op {
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
pub(super) struct Signed {
    pub(super) from: usize,
    pub(super) raw: Bytes,
    pub(super) hash: B256,
}

/// Signs `ops` in order, each with the nonce `next_nonce(from)` hands out (called in op order).
pub(super) fn sign_ops(
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
pub(super) fn check_receipts<'a>(
    kind: &str,
    receipts: impl IntoIterator<Item = &'a Receipt>,
) -> Result<()> {
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
pub(super) fn returned_id(r: &Receipt) -> Result<U256> {
    ensure!(
        r.output.len() == 32,
        "tx {}: expected a uint256, got {} bytes",
        r.tx_hash,
        r.output.len()
    );
    Ok(U256::from_be_slice(&r.output))
}

pub(super) fn gas_figures(
    kind: &str,
    receipts: &[Receipt],
    blocks: usize,
    elapsed: Duration,
) -> KindFigures {
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
