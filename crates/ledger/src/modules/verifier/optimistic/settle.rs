//! Outcomes and money: finality (the worker's bond back), a slashed worker (refund, the
//! winner's share, the burn) and a lost challenge.

use super::super::tasks::{load_task, store_task};
use super::store::*;
use crate::kernel::{Call, ModuleError, revert_with};
use alloy_primitives::{Address, U256};
use lazai_abi::verifier::*;

use IVerifier as X;

/// Finalizes up to [`FINALIZE_ON_POST`] of `worker`'s earlier results, oldest first, stopping
/// at the first still in its window or under dispute.
pub(super) fn finalize_earlier(call: &mut Call<'_>, worker: Address) -> Result<(), ModuleError> {
    let head_slot = queue_slot(worker, b"head");
    let tail = call.load_u256(&queue_slot(worker, b"tail"))?;
    let mut head = call.load_u256(&head_slot)?;
    let start = head;
    let mut finalized = 0;
    while head < tail && finalized < FINALIZE_ON_POST {
        let id = call.load_u256(&queue_slot(worker, &head.to_be_bytes::<32>()))?;
        let task = load_task(call, id)?;
        if task.status == TASK_PENDING {
            let o = load_optimistic(call, id)?;
            if call.block.height <= o.postedAt.saturating_add(o.window) {
                break;
            }
            settle_final(call, id, task, &o)?;
            finalized += 1;
        } else if task.status == TASK_CHALLENGED {
            break;
        }
        head += U256::from(1);
    }
    if head != start {
        call.store_u256(&head_slot, head)?;
    }
    Ok(())
}

fn settle_final(
    call: &mut Call<'_>,
    id: U256,
    mut task: X::Task,
    o: &X::Optimistic,
) -> Result<(), ModuleError> {
    task.status = TASK_VERIFIED;
    store_task(call, id, &mut task)?;
    call.pay(task.worker, o.workerBond)?;
    call.emit(&X::OptimisticFinal {
        taskId: id,
        worker: task.worker,
        bondReturned: o.workerBond,
    })?;
    call.emit(&X::TaskVerified {
        taskId: id,
        mode: MODE_OPTIMISTIC,
        resultHash: task.resultHash,
    })
}

pub(crate) fn finalize(call: &mut Call<'_>, id: U256) -> Result<Vec<u8>, ModuleError> {
    let task = optimistic_task(call, id)?;
    let o = load_optimistic(call, id)?;
    if task.status == TASK_CHALLENGED {
        return Err(revert_with(X::DisputesOpen {
            taskId: id,
            open: o.openDisputes,
        }));
    }
    if task.status != TASK_PENDING {
        return Err(revert_with(X::TaskNotPending {
            taskId: id,
            status: task.status,
        }));
    }
    let closes = o.postedAt.saturating_add(o.window);
    if call.block.height <= closes {
        return Err(revert_with(X::WindowOpen {
            taskId: id,
            closesAt: closes,
        }));
    }
    settle_final(call, id, task, &o)?;
    Ok(Vec::new())
}

/// Unlocks a challenger's bond for a dispute that ended without taking it.
fn unlock(call: &mut Call<'_>, idao: U256, who: Address, bond: U256) -> Result<(), ModuleError> {
    if let Some(mut r) = load_challenger(call, idao, who)? {
        r.locked = r.locked.saturating_sub(bond);
        r.open = r.open.saturating_sub(1);
        call.store_abi(&challenger_slot(idao, who), &r)?;
    }
    Ok(())
}

/// The result is wrong (proven, or left undefended): dispute `d` won, every other dispute
/// closed without a winner, the worker's bond paid out.
pub(super) fn slash_worker(
    call: &mut Call<'_>,
    id: U256,
    mut task: X::Task,
    mut o: X::Optimistic,
    mut d: X::Dispute,
) -> Result<(), ModuleError> {
    let winner = d.challenger;
    d.status = DISPUTE_CHALLENGER_WON;
    call.store_abi(&dispute_slot(id, winner), &d)?;
    unlock(call, task.idaoId, winner, o.challengerBond)?;
    call.emit(&X::DisputeResolved {
        taskId: id,
        challenger: winner,
        status: DISPUTE_CHALLENGER_WON,
    })?;
    for i in 0..o.disputes {
        let (who, mut other) = dispute_at(call, id, i)?;
        if other.status != DISPUTE_OPEN {
            continue;
        }
        other.status = DISPUTE_MOOT;
        call.store_abi(&dispute_slot(id, who), &other)?;
        unlock(call, task.idaoId, who, o.challengerBond)?;
        call.emit(&X::DisputeResolved {
            taskId: id,
            challenger: who,
            status: DISPUTE_MOOT,
        })?;
    }
    let refund = o.refund.min(o.workerBond);
    let rest = o.workerBond - refund;
    let to_winner = winner_share(rest);
    let burned = rest - to_winner;
    call.pay(o.user, refund)?;
    call.pay(winner, to_winner)?;
    call.burn(burned)?;
    call.emit(&X::BondSettled {
        taskId: id,
        loser: task.worker,
        toWinner: to_winner,
        refunded: refund,
        burned,
    })?;
    o.openDisputes = 0;
    o.slashedBy = winner;
    call.store_abi(&optimistic_slot(id), &o)?;
    task.status = TASK_FRAUD;
    store_task(call, id, &mut task)
}

/// The challenger of `d` lost: its bond goes to the worker (the winner's share) and the burn.
pub(super) fn challenger_lost(
    call: &mut Call<'_>,
    id: U256,
    mut task: X::Task,
    mut o: X::Optimistic,
    mut d: X::Dispute,
) -> Result<(), ModuleError> {
    let who = d.challenger;
    d.status = DISPUTE_WORKER_WON;
    call.store_abi(&dispute_slot(id, who), &d)?;
    let bond = o.challengerBond;
    if let Some(mut r) = load_challenger(call, task.idaoId, who)? {
        r.locked = r.locked.saturating_sub(bond);
        r.deposit = r.deposit.saturating_sub(bond);
        r.open = r.open.saturating_sub(1);
        call.store_abi(&challenger_slot(task.idaoId, who), &r)?;
    }
    let to_winner = winner_share(bond);
    let burned = bond - to_winner;
    call.pay(task.worker, to_winner)?;
    call.burn(burned)?;
    call.emit(&X::DisputeResolved {
        taskId: id,
        challenger: who,
        status: DISPUTE_WORKER_WON,
    })?;
    call.emit(&X::BondSettled {
        taskId: id,
        loser: who,
        toWinner: to_winner,
        refunded: U256::ZERO,
        burned,
    })?;
    o.openDisputes = o.openDisputes.saturating_sub(1);
    call.store_abi(&optimistic_slot(id), &o)?;
    if o.openDisputes == 0 {
        task.status = TASK_PENDING;
        store_task(call, id, &mut task)?;
    }
    Ok(())
}
