//! The moves: post, challenge, reveal, the one-step fraud proof and timeouts, and the views of
//! a task's game.

use super::super::tasks::{now, open_task, store_task};
use super::settle::{challenger_lost, finalize_earlier, slash_worker};
use super::store::*;
use crate::kernel::{Call, ModuleError, revert_with};
use crate::modules::idao::facade as idao_registry;
use crate::modules::models::model as registered_model;
use alloy_primitives::{Address, B256, U256};
use alloy_sol_types::SolValue;
use lazai_abi::verifier::*;
use lazai_model::trace;

use IVerifier as X;

pub(crate) fn post(
    call: &mut Call<'_>,
    c: X::postOptimisticResultCall,
) -> Result<Vec<u8>, ModuleError> {
    let worker = call.caller;
    if idao_registry::attested_keys(call, c.idaoId, worker)?.is_none() {
        return Err(revert_with(X::WorkerNotAttested {
            idaoId: c.idaoId,
            worker,
        }));
    }
    let model = registered_model(call, c.modelId)?;
    let bad = |reason: &str| {
        Err(revert_with(X::BadTrace {
            reason: reason.into(),
        }))
    };
    if model.idaoId != c.idaoId {
        return bad("the model is not the iDAO's");
    }
    let weights = call
        .load_abi::<X::ModelWeights>(&weights_slot(c.modelId))?
        .ok_or_else(|| revert_with(X::NoModelWeights { modelId: c.modelId }))?;
    if c.layerHashes.len() + 1 != weights.widths.len() {
        return bad("one hash per layer of the model");
    }
    if c.inputBlob.is_zero() {
        return bad("no sealed input: challengers could not check the result");
    }
    let p = params(call, c.idaoId)?;
    if call.value != p.workerBond {
        return Err(revert_with(X::WrongBond {
            sent: call.value,
            want: p.workerBond,
        }));
    }
    finalize_earlier(call, worker)?;
    let at = now(call);
    let result = *c.layerHashes.last().unwrap_or(&B256::ZERO);
    let task = X::Task {
        idaoId: c.idaoId,
        modelId: c.modelId,
        circuitId: B256::ZERO,
        worker,
        requester: worker,
        inputCommitment: c.inputHash,
        resultHash: result,
        mode: MODE_OPTIMISTIC,
        status: TASK_PENDING,
        createdAt: at,
        updatedAt: at,
    };
    let refund = if c.user.is_zero() {
        U256::ZERO
    } else {
        model.pricePerCall.min(p.workerBond)
    };
    let record = X::Optimistic {
        weightsRoot: weights.root,
        widths: weights.widths,
        layerHashes: c.layerHashes,
        inputBlob: c.inputBlob,
        user: c.user,
        refund,
        postedAt: call.block.height,
        window: p.window,
        moveTime: p.moveTime,
        workerBond: p.workerBond,
        challengerBond: p.challengerBond,
        openDisputes: 0,
        disputes: 0,
        slashedBy: Address::ZERO,
    };
    let id = open_task(call, &task)?;
    call.store_abi(&optimistic_slot(id), &record)?;
    let tail = call.load_u256(&queue_slot(worker, b"tail"))?;
    call.store_u256(&queue_slot(worker, &tail.to_be_bytes::<32>()), id)?;
    call.store_u256(&queue_slot(worker, b"tail"), tail + U256::from(1))?;
    call.emit(&X::OptimisticPosted {
        taskId: id,
        idaoId: c.idaoId,
        worker,
        modelId: c.modelId,
        resultHash: result,
        inputBlob: c.inputBlob,
        window: p.window,
    })?;
    Ok(id.abi_encode())
}

pub(crate) fn challenge(call: &mut Call<'_>, c: X::challengeCall) -> Result<Vec<u8>, ModuleError> {
    let id = c.taskId;
    let mut task = optimistic_task(call, id)?;
    if task.status != TASK_PENDING && task.status != TASK_CHALLENGED {
        return Err(revert_with(X::TaskNotPending {
            taskId: id,
            status: task.status,
        }));
    }
    let mut o = load_optimistic(call, id)?;
    let closes = o.postedAt.saturating_add(o.window);
    if call.block.height > closes {
        return Err(revert_with(X::WindowClosed {
            taskId: id,
            closedAt: closes,
        }));
    }
    let who = call.caller;
    let mut me = registered_challenger(call, task.idaoId, who)?;
    if call
        .load_abi::<X::Dispute>(&dispute_slot(id, who))?
        .is_some()
    {
        return Err(revert_with(X::AlreadyChallenged {
            taskId: id,
            challenger: who,
        }));
    }
    let free = me.deposit - me.locked;
    if free < o.challengerBond {
        return Err(revert_with(X::DepositTooLow {
            free,
            want: o.challengerBond,
        }));
    }
    if c.claim.len() != o.layerHashes.len() {
        return Err(revert_with(X::BadTrace {
            reason: format!(
                "{} claimed layers; the result has {}",
                c.claim.len(),
                o.layerHashes.len()
            ),
        }));
    }
    call.charge(claim_gas().saturating_mul(o.layerHashes.len() as u64))?;
    let chain = call.block.chain_id;
    let layer = o
        .layerHashes
        .iter()
        .zip(&c.claim)
        .position(|(&h, &claimed)| claim_commitment(chain, id, who, h) != claimed)
        .ok_or_else(|| revert_with(X::NoDisagreement { taskId: id }))?;
    let layer = layer as u32;
    let revealed = call.load_flag(&revealed_slot(id, layer))?;
    let dispute = X::Dispute {
        challenger: who,
        layer,
        turn: if revealed {
            TURN_CHALLENGER
        } else {
            TURN_WORKER
        },
        status: DISPUTE_OPEN,
        moves: 1,
        lastMoveAt: call.block.height,
        workerClock: o.moveTime,
        challengerClock: o.moveTime,
        unit: 0,
        claimed: 0,
        actual: 0,
    };
    me.locked += o.challengerBond;
    me.open = me.open.saturating_add(1);
    call.store_abi(&challenger_slot(task.idaoId, who), &me)?;
    call.store_abi(&dispute_slot(id, who), &dispute)?;
    call.store(&dispute_at_slot(id, o.disputes), who.to_vec().into())?;
    o.disputes += 1;
    o.openDisputes += 1;
    call.store_abi(&optimistic_slot(id), &o)?;
    task.status = TASK_CHALLENGED;
    store_task(call, id, &mut task)?;
    call.emit(&X::Challenged {
        taskId: id,
        challenger: who,
        layer,
    })?;
    Ok(Vec::new())
}

/// Gas of one keccak256 over a 160-byte claim.
fn claim_gas() -> u64 {
    crate::gas::KECCAK_WORD.saturating_mul(5).saturating_add(30)
}

pub(crate) fn reveal(call: &mut Call<'_>, c: X::revealLayerCall) -> Result<Vec<u8>, ModuleError> {
    let id = c.taskId;
    let task = optimistic_task(call, id)?;
    if call.caller != task.worker {
        return Err(revert_with(X::NotTaskWorker {
            taskId: id,
            caller: call.caller,
        }));
    }
    if task.status != TASK_CHALLENGED {
        return Err(revert_with(X::NotDisputed {
            taskId: id,
            layer: c.layer,
        }));
    }
    let o = load_optimistic(call, id)?;
    let l = c.layer as usize;
    let (Some(&hash), Some(&width)) = (o.layerHashes.get(l), o.widths.get(l + 1)) else {
        return Err(revert_with(X::NotDisputed {
            taskId: id,
            layer: c.layer,
        }));
    };
    if call.load_flag(&revealed_slot(id, c.layer))? {
        return Err(revert_with(X::NotDisputed {
            taskId: id,
            layer: c.layer,
        }));
    }
    call.charge(hash_gas(c.values.len()))?;
    let values = trace::decode_values(&c.values)
        .filter(|v| v.len() == width as usize)
        .filter(|v| B256::from(trace::activations_hash(c.layer, v)) == hash);
    if values.is_none() {
        return Err(revert_with(X::RevealMismatch {
            taskId: id,
            layer: c.layer,
        }));
    }
    let (mut answered, mut expired) = (0, None);
    for i in 0..o.disputes {
        let (who, mut d) = dispute_at(call, id, i)?;
        if d.status != DISPUTE_OPEN || d.layer != c.layer || d.turn != TURN_WORKER {
            continue;
        }
        // A dispute whose worker clock ran out is left to `timeout`.
        match make_move(call, id, &mut d) {
            Ok(()) => {
                call.store_abi(&dispute_slot(id, who), &d)?;
                answered += 1;
            }
            Err(e) => expired = Some(e),
        }
    }
    if answered == 0 {
        if let Some(e) = expired {
            return Err(e);
        }
        return Err(revert_with(X::NotDisputed {
            taskId: id,
            layer: c.layer,
        }));
    }
    call.store_flag(&revealed_slot(id, c.layer), true)?;
    call.emit(&X::LayerRevealed {
        taskId: id,
        layer: c.layer,
        values: c.values,
    })?;
    Ok(Vec::new())
}

pub(crate) fn fraud_proof(
    call: &mut Call<'_>,
    c: X::submitFraudProofCall,
) -> Result<Vec<u8>, ModuleError> {
    let id = c.taskId;
    let task = optimistic_task(call, id)?;
    if call.caller != c.challenger {
        return Err(revert_with(X::NotChallenger {
            idaoId: task.idaoId,
            caller: call.caller,
        }));
    }
    let mut d = open_dispute(call, id, c.challenger)?;
    if d.turn != TURN_CHALLENGER {
        return Err(revert_with(X::NotYourTurn {
            taskId: id,
            caller: call.caller,
        }));
    }
    // Checked before the proof is even read: a late proof loses whatever it shows.
    make_move(call, id, &mut d)?;
    let o = load_optimistic(call, id)?;
    let invalid = |reason: String| revert_with(X::InvalidOneStep { reason });
    let proof = <X::OneStepProof as SolValue>::abi_decode_validate(&c.evidence)
        .map_err(|e| invalid(format!("evidence is not an ABI-encoded OneStepProof: {e}")))?;
    let l = d.layer as usize;
    let inputs = o.widths[l] as usize;
    let outputs = o.widths[l + 1] as usize;
    call.charge(one_step_gas(inputs, outputs, proof.path.len()))?;
    let revealed = trace::decode_values(&proof.revealed)
        .filter(|v| v.len() == outputs)
        .filter(|v| B256::from(trace::activations_hash(d.layer, v)) == o.layerHashes[l])
        .ok_or_else(|| {
            revert_with(X::RevealMismatch {
                taskId: id,
                layer: d.layer,
            })
        })?;
    let previous = trace::decode_values(&proof.previous)
        .ok_or_else(|| invalid("previous values: a multiple of 8 bytes".into()))?;
    let unit = proof.unit as usize;
    let index = trace::unit_index(&o.widths, l, unit)
        .ok_or_else(|| invalid(format!("layer {l} has no unit {unit}")))?;
    if proof.index != U256::from(index) {
        return Err(invalid(format!(
            "unit {unit} of layer {l} is leaf {index}, not {}",
            proof.index
        )));
    }
    let input_hash = if l == 0 {
        task.inputCommitment
    } else {
        o.layerHashes[l - 1]
    };
    let path: Vec<[u8; 32]> = proof.path.iter().map(|h| h.0).collect();
    let actual = trace::one_step(&trace::OneStep {
        weights_root: o.weightsRoot.0,
        layers: (o.widths.len() - 1) as u32,
        layer: d.layer,
        unit: proof.unit,
        input_hash: input_hash.0,
        leaf: &proof.leaf,
        index,
        path: &path,
        input: &previous,
    })
    .map_err(|e| invalid(e.to_string()))?;
    let claimed = revealed[unit];
    if claimed == actual {
        return Err(revert_with(X::NotFraud {
            taskId: id,
            unit: proof.unit,
            value: claimed,
        }));
    }
    d.unit = proof.unit;
    d.claimed = claimed;
    d.actual = actual;
    call.emit(&X::FraudProven {
        taskId: id,
        challenger: c.challenger,
        layer: d.layer,
        unit: proof.unit,
        claimed,
        actual,
    })?;
    slash_worker(call, id, task, o, d)?;
    Ok(Vec::new())
}

pub(crate) fn timeout(call: &mut Call<'_>, c: X::timeoutCall) -> Result<Vec<u8>, ModuleError> {
    let id = c.taskId;
    let task = optimistic_task(call, id)?;
    let d = open_dispute(call, id, c.challenger)?;
    let used = spent(call, &d);
    let left = clock(&d);
    if used <= left {
        return Err(revert_with(X::ClockRunning {
            taskId: id,
            leftBlocks: left - used,
        }));
    }
    let o = load_optimistic(call, id)?;
    if d.turn == TURN_WORKER {
        slash_worker(call, id, task, o, d)
    } else {
        challenger_lost(call, id, task, o, d)
    }?;
    Ok(Vec::new())
}

pub(crate) fn get_dispute(
    call: &mut Call<'_>,
    id: U256,
    who: Address,
) -> Result<Vec<u8>, ModuleError> {
    Ok(load_dispute(call, id, who)?.abi_encode())
}

pub(crate) fn disputes(call: &mut Call<'_>, id: U256) -> Result<Vec<u8>, ModuleError> {
    let o = load_optimistic(call, id)?;
    let mut out = Vec::with_capacity(o.disputes as usize);
    for i in 0..o.disputes {
        out.push(dispute_at(call, id, i)?.1);
    }
    Ok(out.abi_encode())
}

pub(crate) fn get_optimistic(call: &mut Call<'_>, id: U256) -> Result<Vec<u8>, ModuleError> {
    optimistic_task(call, id)?;
    Ok(load_optimistic(call, id)?.abi_encode())
}
