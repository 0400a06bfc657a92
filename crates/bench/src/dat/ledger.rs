//! The DAT benchmark in the ledger alone: blocks of DAT transactions executed and timed
//! without consensus or RPC.

use super::node::class_sizes;
use super::ops::{
    BLOCK_GAS_LIMIT, DatArgs, FUNDS, HolderFigures, Op, REPS, Signed, check_receipts, claim_op,
    create_class_op, mint_op, returned_id, settle_op, sign_ops,
};
use alloy_primitives::{Address, Bytes, U256};
use alloy_signer_local::PrivateKeySigner;
use anyhow::{Result, anyhow, ensure};
use lazai_ledger::{BlockEnv, Ledger, RecoveredTx, State};
use lazai_node::devnet_genesis;
use lazai_types::{DEVNET_CHAIN_ID, Genesis, Receipt, lazai};
use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// A chain without consensus: blocks executed one after another with [`Ledger::execute_block`]
/// on a state from genesis, with the environment the node would give them.
pub(super) struct LocalChain {
    pub(super) ledger: Ledger,
    pub(super) genesis: Genesis,
    pub(super) state: State,
    pub(super) height: u64,
    pub(super) base_fee: u64,
    pub(super) parent_gas_used: u64,
    pub(super) block_time_ms: u64,
}

impl LocalChain {
    pub(super) fn new(genesis: Genesis, block_time_ms: u64) -> Self {
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
    pub(super) fn env(&self) -> BlockEnv {
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
    pub(super) fn execute(&mut self, kind: &str, signed: &[Signed]) -> Result<Vec<Receipt>> {
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
    pub(super) fn sign(&self, keys: &[PrivateKeySigner], ops: &[Op]) -> Result<Vec<Signed>> {
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

pub(super) fn recover(signed: &[Signed]) -> Result<Vec<Arc<RecoveredTx>>> {
    let raws: Vec<Bytes> = signed.iter().map(|s| s.raw.clone()).collect();
    lazai_ledger::decode_and_recover_many(&raws, DEVNET_CHAIN_ID)
        .into_iter()
        .collect::<Result<_, _>>()
        .map_err(|e| anyhow!("recover: {e}"))
}

pub(super) fn median(mut v: Vec<Duration>) -> Duration {
    v.sort_unstable();
    v.get(v.len() / 2).copied().unwrap_or_default()
}

pub(super) fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

/// A block executed `REPS` times on the same parent: the median `execute_block` time, the
/// median `apply` time of each transaction (the per-transaction part of `execute_block`, timed
/// one by one), and its receipts (every one must succeed).
pub(super) struct Timed {
    pub(super) block: Duration,
    pub(super) per_tx: Vec<Duration>,
    pub(super) receipts: Vec<Receipt>,
    /// Each transaction's gas past its intrinsic gas.
    pub(super) exec_gas: Vec<u64>,
}

pub(super) fn time_block(
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
pub(super) fn same_gas<'a>(kind: &str, gas: impl IntoIterator<Item = &'a u64>) -> Result<u64> {
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

pub(super) fn mean_gas<'a>(receipts: impl IntoIterator<Item = &'a Receipt>) -> f64 {
    let (sum, n) = receipts
        .into_iter()
        .fold((0u64, 0usize), |(s, n), r| (s + r.gas_used, n + 1));
    sum as f64 / n.max(1) as f64
}

pub(super) fn mean_us<'a>(d: impl IntoIterator<Item = &'a Duration>) -> f64 {
    let (sum, n) = d
        .into_iter()
        .fold((Duration::ZERO, 0usize), |(s, n), d| (s + *d, n + 1));
    sum.as_secs_f64() * 1e6 / n.max(1) as f64
}

/// Part 3: the holder classes built and measured by the ledger alone. Accounts: payers
/// `0..settles` (bench senders), the creator, then the holders. Returns the figures per class,
/// the claim control (see [`DatReport::claim_control`]) and the number of state entries.
#[allow(clippy::type_complexity)]
pub(super) fn in_ledger(
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
        chain.state.writes().filter(|(_, v)| v.is_some()).count()
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
    Ok((
        figures,
        control,
        chain.state.writes().filter(|(_, v)| v.is_some()).count(),
    ))
}
