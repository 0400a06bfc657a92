//! What the optimistic game's files share: its storage slots, gas schedule, record loaders
//! and the chess clock.

use super::super::tasks::load_task;
use crate::kernel::{Call, ModuleError, revert_with, slot};
use alloy_primitives::{Address, U256};
use lazai_abi::verifier::*;

use IVerifier as X;

/// Gas of a one-step proof on top of reading it: the unit's multiply-accumulate per input,
/// one hash per Merkle level, hashing the two vectors.
pub const ONE_STEP_GAS_BASE: u64 = 30_000;

pub const ONE_STEP_GAS_PER_INPUT: u64 = 8;

pub const HASH_GAS_PER_WORD: u64 = 6;

pub const MERKLE_GAS_PER_LEVEL: u64 = 120;

/// How many of a worker's earlier results a post may finalize.
pub(super) const FINALIZE_ON_POST: u32 = 4;

pub(super) fn params_slot(idao: U256) -> Vec<u8> {
    slot(b"opt-params/", &[&idao.to_be_bytes::<32>()])
}

pub(super) fn weights_slot(model: U256) -> Vec<u8> {
    slot(b"weights/", &[&model.to_be_bytes::<32>()])
}

pub(super) fn challenger_slot(idao: U256, who: Address) -> Vec<u8> {
    slot(b"chal/", &[&idao.to_be_bytes::<32>(), who.as_slice()])
}

pub(super) fn challengers_n_slot(idao: U256) -> Vec<u8> {
    slot(b"chal-n/", &[&idao.to_be_bytes::<32>()])
}

pub(super) fn challenger_at_slot(idao: U256, i: u64) -> Vec<u8> {
    slot(b"chal-at/", &[&idao.to_be_bytes::<32>(), &i.to_be_bytes()])
}

pub(super) fn optimistic_slot(task: U256) -> Vec<u8> {
    slot(b"opt/", &[&task.to_be_bytes::<32>()])
}

pub(super) fn dispute_slot(task: U256, who: Address) -> Vec<u8> {
    slot(b"disp/", &[&task.to_be_bytes::<32>(), who.as_slice()])
}

pub(super) fn dispute_at_slot(task: U256, i: u32) -> Vec<u8> {
    slot(b"disp-at/", &[&task.to_be_bytes::<32>(), &i.to_be_bytes()])
}

pub(super) fn revealed_slot(task: U256, layer: u32) -> Vec<u8> {
    slot(
        b"revealed/",
        &[&task.to_be_bytes::<32>(), &layer.to_be_bytes()],
    )
}

pub(super) fn queue_slot(worker: Address, what: &[u8]) -> Vec<u8> {
    slot(b"wq/", &[worker.as_slice(), what])
}

pub(super) fn hash_gas(bytes: usize) -> u64 {
    (bytes as u64)
        .div_ceil(32)
        .saturating_mul(HASH_GAS_PER_WORD)
}

/// The gas a one-step proof of a unit with `inputs` inputs and a `levels`-deep opening costs
/// to check, beyond its calldata.
pub fn one_step_gas(inputs: usize, outputs: usize, levels: usize) -> u64 {
    ONE_STEP_GAS_BASE
        .saturating_add((inputs as u64).saturating_mul(ONE_STEP_GAS_PER_INPUT))
        .saturating_add(hash_gas(inputs.saturating_add(outputs).saturating_mul(8)))
        .saturating_add((levels as u64).saturating_mul(MERKLE_GAS_PER_LEVEL))
}

/// `⌊amount · WINNER_SHARE_BPS / 10000⌋`: the winner's share; the caller burns the rest.
pub(super) fn winner_share(amount: U256) -> U256 {
    amount * U256::from(WINNER_SHARE_BPS) / U256::from(10_000u64)
}

pub(crate) fn params(call: &mut Call<'_>, idao: U256) -> Result<X::OptimisticParams, ModuleError> {
    Ok(call
        .load_abi::<X::OptimisticParams>(&params_slot(idao))?
        .unwrap_or(X::OptimisticParams {
            window: DEFAULT_WINDOW_BLOCKS,
            moveTime: DEFAULT_MOVE_BLOCKS,
            workerBond: U256::from(DEFAULT_WORKER_BOND),
            challengerBond: U256::from(DEFAULT_CHALLENGER_BOND),
        }))
}

pub(super) fn load_optimistic(
    call: &mut Call<'_>,
    task: U256,
) -> Result<X::Optimistic, ModuleError> {
    call.load_abi::<X::Optimistic>(&optimistic_slot(task))?
        .ok_or_else(|| {
            revert_with(X::WrongMode {
                taskId: task,
                mode: 0,
            })
        })
}

pub(super) fn load_challenger(
    call: &mut Call<'_>,
    idao: U256,
    who: Address,
) -> Result<Option<X::Challenger>, ModuleError> {
    call.load_abi::<X::Challenger>(&challenger_slot(idao, who))
}

/// `who`'s record as a challenger of `idao`; reverts `NotChallenger` when it is none.
pub(super) fn registered_challenger(
    call: &mut Call<'_>,
    idao: U256,
    who: Address,
) -> Result<X::Challenger, ModuleError> {
    load_challenger(call, idao, who)?.ok_or_else(|| {
        revert_with(X::NotChallenger {
            idaoId: idao,
            caller: who,
        })
    })
}

/// The `i`-th dispute of task `task`, with its challenger.
pub(super) fn dispute_at(
    call: &mut Call<'_>,
    task: U256,
    i: u32,
) -> Result<(Address, X::Dispute), ModuleError> {
    let who = Address::from_slice(&call.load(&dispute_at_slot(task, i))?);
    Ok((who, load_dispute(call, task, who)?))
}

pub(super) fn load_dispute(
    call: &mut Call<'_>,
    task: U256,
    who: Address,
) -> Result<X::Dispute, ModuleError> {
    call.load_abi::<X::Dispute>(&dispute_slot(task, who))?
        .ok_or_else(|| {
            revert_with(X::DisputeNotFound {
                taskId: task,
                challenger: who,
            })
        })
}

pub(super) fn open_dispute(
    call: &mut Call<'_>,
    task: U256,
    who: Address,
) -> Result<X::Dispute, ModuleError> {
    let d = load_dispute(call, task, who)?;
    if d.status != DISPUTE_OPEN {
        return Err(revert_with(X::DisputeClosed {
            taskId: task,
            challenger: who,
            status: d.status,
        }));
    }
    Ok(d)
}

/// Blocks the awaited party has spent since the last move.
pub(super) fn spent(call: &Call<'_>, d: &X::Dispute) -> u64 {
    call.block.height.saturating_sub(d.lastMoveAt)
}

pub(super) fn clock(d: &X::Dispute) -> u64 {
    if d.turn == TURN_WORKER {
        d.workerClock
    } else {
        d.challengerClock
    }
}

/// Charges the awaited party's clock for the blocks since the last move and hands the turn
/// over; reverts `ClockExpired` when it ran out.
pub(super) fn make_move(
    call: &Call<'_>,
    task: U256,
    d: &mut X::Dispute,
) -> Result<(), ModuleError> {
    let used = spent(call, d);
    let left = clock(d);
    if used > left {
        return Err(revert_with(X::ClockExpired {
            taskId: task,
            lastMoveAt: d.lastMoveAt,
            clock: left,
        }));
    }
    if d.turn == TURN_WORKER {
        d.workerClock = left - used;
        d.turn = TURN_CHALLENGER;
    } else {
        d.challengerClock = left - used;
        d.turn = TURN_WORKER;
    }
    d.lastMoveAt = call.block.height;
    d.moves = d.moves.saturating_add(1);
    Ok(())
}

pub(super) fn optimistic_task(call: &mut Call<'_>, id: U256) -> Result<X::Task, ModuleError> {
    let task = load_task(call, id)?;
    if task.mode != MODE_OPTIMISTIC {
        return Err(revert_with(X::WrongMode {
            taskId: id,
            mode: task.mode,
        }));
    }
    Ok(task)
}
