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
mod ops;

pub use ops::{DatArgs, DatReport, HolderFigures, KindFigures};

use ledger::in_ledger;
use node::{class_sizes, start_in_node};
use ops::{REPS, creator_key, holder_key};

use super::load::sender_key;
use alloy_primitives::Address;
use alloy_signer_local::PrivateKeySigner;
use anyhow::{Result, bail};
use rayon::prelude::*;

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
