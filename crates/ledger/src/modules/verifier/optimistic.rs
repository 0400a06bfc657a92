//! Optimistic results and their fraud-proof game.
//!
//! A worker posts a result with a bond (`postOptimisticResult`, one transaction): the hash of
//! every layer's output of its execution (lazai-model's `Trace`), under the model's registered
//! weights root and widths (`setModelWeights`), and the root of the input sealed to the iDAO's
//! registered challengers. The result is final once its window passed with no dispute open.
//!
//! **The game**, one dispute per challenger, each independent (a dishonest challenger never
//! blocks an honest one):
//!
//! 1. `challenge(taskId, claim)`: a registered challenger, within the window, posts its own
//!    claim about every layer, each bound to the chain, the task and itself
//!    ([`lazai_abi::claim_commitment`]: a copy of another's claim, or a claim replayed from
//!    another task, disagrees with the worker at layer 0 and loses). The chain finds the
//!    first layer `l` where the claim and the worker's hashes differ: both agree on the input
//!    of layer `l` (the previous layer's hash, or the task's input hash).
//! 2. `revealLayer(taskId, l, values)`: the worker reveals its output of layer `l`, which must
//!    hash to what it posted. One reveal answers every dispute on that layer.
//! 3. `submitFraudProof(taskId, OneStepProof, challenger)`: the challenger names one unit of
//!    layer `l`, opens its parameters under the weights root and gives the agreed input of the
//!    layer; the chain re-executes that unit with lazai-model's kernel (`trace::one_step`)
//!    and compares with the revealed value. Different: fraud proven. The same: reverts
//!    `NotFraud` (the challenger may try another unit while its clock runs).
//!
//! So a dispute takes at most three moves whatever the model's size, and one step reads one
//! unit (at most [`MAX_OPTIMISTIC_WIDTH`] inputs). Each party has a chess clock of
//! `moveTime` blocks spent only on its own turn; `timeout` ends a dispute whose awaited party
//! ran out: a worker that never reveals loses as if proven wrong, a challenger that never
//! proves loses its bond.
//!
//! **Money** (integer, every wei accounted): a proven fraud takes the worker's bond: the
//! user's refund first (the model's price per call, at most the bond), then
//! [`WINNER_SHARE_BPS`] of the rest to the challenger, the rest (with the division's
//! remainder) burned, so a worker challenging itself never profits. A lost challenge takes the
//! challenger's bond: the same share to the worker, the rest burned. Other disputes of a task
//! proven wrong close without a winner and unlock their bonds. Nothing is paid before the
//! outcome is decided; the worker's bond comes back at `finalize` (anyone may send it, and
//! each post finalizes up to four of the worker's earlier results).

use super::{load_task, now, task_slot};
use crate::kernel::{Call, ModuleError, revert_with, slot};
use crate::modules::idao::facade as idao_registry;
use crate::modules::models::model as registered_model;
use alloy_primitives::{Address, B256, U256};
use alloy_sol_types::SolValue;
use lazai_abi::verifier::*;
use lazai_model::trace;

use IVerifier as X;

/// Gas of a one-step proof on top of reading it: the unit's multiply-accumulate per input,
/// one hash per Merkle level, hashing the two vectors.
pub const ONE_STEP_GAS_BASE: u64 = 30_000;
pub const ONE_STEP_GAS_PER_INPUT: u64 = 8;
pub const HASH_GAS_PER_WORD: u64 = 6;
pub const MERKLE_GAS_PER_LEVEL: u64 = 120;
/// How many of a worker's earlier results a post may finalize.
const FINALIZE_ON_POST: u32 = 4;

fn params_slot(idao: U256) -> Vec<u8> {
    slot(b"opt-params/", &[&idao.to_be_bytes::<32>()])
}
fn weights_slot(model: U256) -> Vec<u8> {
    slot(b"weights/", &[&model.to_be_bytes::<32>()])
}
fn challenger_slot(idao: U256, who: Address) -> Vec<u8> {
    slot(b"chal/", &[&idao.to_be_bytes::<32>(), who.as_slice()])
}
fn challengers_n_slot(idao: U256) -> Vec<u8> {
    slot(b"chal-n/", &[&idao.to_be_bytes::<32>()])
}
fn challenger_at_slot(idao: U256, i: u64) -> Vec<u8> {
    slot(b"chal-at/", &[&idao.to_be_bytes::<32>(), &i.to_be_bytes()])
}
fn optimistic_slot(task: U256) -> Vec<u8> {
    slot(b"opt/", &[&task.to_be_bytes::<32>()])
}
fn dispute_slot(task: U256, who: Address) -> Vec<u8> {
    slot(b"disp/", &[&task.to_be_bytes::<32>(), who.as_slice()])
}
fn dispute_at_slot(task: U256, i: u32) -> Vec<u8> {
    slot(b"disp-at/", &[&task.to_be_bytes::<32>(), &i.to_be_bytes()])
}
fn revealed_slot(task: U256, layer: u32) -> Vec<u8> {
    slot(
        b"revealed/",
        &[&task.to_be_bytes::<32>(), &layer.to_be_bytes()],
    )
}
fn queue_slot(worker: Address, what: &[u8]) -> Vec<u8> {
    slot(b"wq/", &[worker.as_slice(), what])
}

fn hash_gas(bytes: usize) -> u64 {
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
fn winner_share(amount: U256) -> U256 {
    amount * U256::from(WINNER_SHARE_BPS) / U256::from(10_000u64)
}

pub(super) fn params(call: &mut Call<'_>, idao: U256) -> Result<X::OptimisticParams, ModuleError> {
    Ok(call
        .load_abi::<X::OptimisticParams>(&params_slot(idao))?
        .unwrap_or(X::OptimisticParams {
            window: DEFAULT_WINDOW_BLOCKS,
            moveTime: DEFAULT_MOVE_BLOCKS,
            workerBond: U256::from(DEFAULT_WORKER_BOND),
            challengerBond: U256::from(DEFAULT_CHALLENGER_BOND),
        }))
}

fn load_optimistic(call: &mut Call<'_>, task: U256) -> Result<X::Optimistic, ModuleError> {
    call.load_abi::<X::Optimistic>(&optimistic_slot(task))?
        .ok_or_else(|| {
            revert_with(X::WrongMode {
                taskId: task,
                mode: 0,
            })
        })
}

fn load_challenger(
    call: &mut Call<'_>,
    idao: U256,
    who: Address,
) -> Result<Option<X::Challenger>, ModuleError> {
    call.load_abi::<X::Challenger>(&challenger_slot(idao, who))
}

/// `who`'s record as a challenger of `idao`; reverts `NotChallenger` when it is none.
fn registered_challenger(
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
fn dispute_at(
    call: &mut Call<'_>,
    task: U256,
    i: u32,
) -> Result<(Address, X::Dispute), ModuleError> {
    let who = Address::from_slice(&call.load(&dispute_at_slot(task, i))?);
    Ok((who, load_dispute(call, task, who)?))
}

fn load_dispute(call: &mut Call<'_>, task: U256, who: Address) -> Result<X::Dispute, ModuleError> {
    call.load_abi::<X::Dispute>(&dispute_slot(task, who))?
        .ok_or_else(|| {
            revert_with(X::DisputeNotFound {
                taskId: task,
                challenger: who,
            })
        })
}

fn open_dispute(call: &mut Call<'_>, task: U256, who: Address) -> Result<X::Dispute, ModuleError> {
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
fn spent(call: &Call<'_>, d: &X::Dispute) -> u64 {
    call.block.height.saturating_sub(d.lastMoveAt)
}

fn clock(d: &X::Dispute) -> u64 {
    if d.turn == TURN_WORKER {
        d.workerClock
    } else {
        d.challengerClock
    }
}

/// Charges the awaited party's clock for the blocks since the last move and hands the turn
/// over; reverts `ClockExpired` when it ran out.
fn make_move(call: &Call<'_>, task: U256, d: &mut X::Dispute) -> Result<(), ModuleError> {
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

fn optimistic_task(call: &mut Call<'_>, id: U256) -> Result<X::Task, ModuleError> {
    let task = load_task(call, id)?;
    if task.mode != MODE_OPTIMISTIC {
        return Err(revert_with(X::WrongMode {
            taskId: id,
            mode: task.mode,
        }));
    }
    Ok(task)
}

fn store_task(call: &mut Call<'_>, id: U256, task: &mut X::Task) -> Result<(), ModuleError> {
    task.updatedAt = now(call);
    call.store_abi(&task_slot(id), task)
}

pub(super) fn set_params(
    call: &mut Call<'_>,
    c: X::setOptimisticParamsCall,
) -> Result<Vec<u8>, ModuleError> {
    let owner = idao_registry::idao(call, c.idaoId)?.owner;
    if call.caller != owner {
        return Err(revert_with(X::NotIdaoOwner {
            idaoId: c.idaoId,
            caller: call.caller,
        }));
    }
    let p = &c.params;
    let bad = |reason: &str| {
        Err(revert_with(X::InvalidParams {
            reason: reason.into(),
        }))
    };
    if p.window == 0 || p.window > MAX_WINDOW_BLOCKS {
        return bad("window: 1 to 1000000 blocks");
    }
    if p.moveTime == 0 || p.moveTime > MAX_WINDOW_BLOCKS {
        return bad("moveTime: 1 to 1000000 blocks");
    }
    if p.workerBond.is_zero() || p.challengerBond.is_zero() {
        return bad("bonds must be above zero: a free lie or a free challenge costs nothing");
    }
    call.store_abi(&params_slot(c.idaoId), p)?;
    call.emit(&X::OptimisticParamsSet {
        idaoId: c.idaoId,
        window: p.window,
        moveTime: p.moveTime,
        workerBond: p.workerBond,
        challengerBond: p.challengerBond,
    })?;
    Ok(Vec::new())
}

pub(super) fn set_weights(
    call: &mut Call<'_>,
    c: X::setModelWeightsCall,
) -> Result<Vec<u8>, ModuleError> {
    let owner = super::model_controller(call, c.modelId)?;
    let bad = |reason: String| Err(revert_with(X::InvalidWeights { reason }));
    // The worker commits once; only the iDAO's owner replaces a commitment (to correct one a
    // challenger found not to be the model file's), so a worker cannot swap roots between
    // its results.
    if call.caller != owner
        && call
            .load_abi::<X::ModelWeights>(&weights_slot(c.modelId))?
            .is_some()
    {
        return bad("already committed: only the iDAO's owner replaces it".into());
    }
    if c.root.is_zero() {
        return bad("the root is zero".into());
    }
    if c.widths.len() < 2 || c.widths.len() > MAX_OPTIMISTIC_LAYERS + 1 {
        return bad(format!(
            "{} widths: an input and 1 to {MAX_OPTIMISTIC_LAYERS} layers",
            c.widths.len()
        ));
    }
    if let Some(w) = c
        .widths
        .iter()
        .find(|&&w| w == 0 || w > MAX_OPTIMISTIC_WIDTH)
    {
        return bad(format!(
            "a width of {w}: each must be 1 to {MAX_OPTIMISTIC_WIDTH}, so one unit fits a step"
        ));
    }
    let record = X::ModelWeights {
        root: c.root,
        widths: c.widths.clone(),
        setBy: call.caller,
    };
    call.store_abi(&weights_slot(c.modelId), &record)?;
    call.emit(&X::ModelWeightsSet {
        modelId: c.modelId,
        root: c.root,
        layers: (c.widths.len() - 1) as u32,
    })?;
    Ok(Vec::new())
}

pub(super) fn model_weights(call: &mut Call<'_>, model: U256) -> Result<Vec<u8>, ModuleError> {
    let w = call
        .load_abi::<X::ModelWeights>(&weights_slot(model))?
        .ok_or_else(|| revert_with(X::NoModelWeights { modelId: model }))?;
    Ok(w.abi_encode())
}

pub(super) fn register_challenger(
    call: &mut Call<'_>,
    c: X::registerChallengerCall,
) -> Result<Vec<u8>, ModuleError> {
    idao_registry::idao(call, c.idaoId)?;
    if c.hpkeKey.is_zero() {
        return Err(revert_with(X::InvalidParams {
            reason: "the challenger's X25519 key is zero".into(),
        }));
    }
    let bond = params(call, c.idaoId)?.challengerBond;
    let who = call.caller;
    let mut record = match load_challenger(call, c.idaoId, who)? {
        Some(r) => r,
        None => {
            let n = call.load_u256(&challengers_n_slot(c.idaoId))?;
            if n >= U256::from(MAX_CHALLENGERS) {
                return Err(revert_with(X::TooManyChallengers { idaoId: c.idaoId }));
            }
            call.store(
                &challenger_at_slot(c.idaoId, n.to::<u64>()),
                who.to_vec().into(),
            )?;
            call.store_u256(&challengers_n_slot(c.idaoId), n + U256::from(1))?;
            X::Challenger {
                account: who,
                hpkeKey: B256::ZERO,
                deposit: U256::ZERO,
                locked: U256::ZERO,
                open: 0,
                registeredAt: now(call),
            }
        }
    };
    record.hpkeKey = c.hpkeKey;
    record.deposit = record.deposit.saturating_add(call.value);
    if record.deposit - record.locked < bond {
        return Err(revert_with(X::DepositTooLow {
            free: record.deposit - record.locked,
            want: bond,
        }));
    }
    call.store_abi(&challenger_slot(c.idaoId, who), &record)?;
    call.emit(&X::ChallengerRegistered {
        idaoId: c.idaoId,
        challenger: who,
        hpkeKey: c.hpkeKey,
        deposit: record.deposit,
    })?;
    Ok(Vec::new())
}

pub(super) fn withdraw_challenger(
    call: &mut Call<'_>,
    c: X::withdrawChallengerCall,
) -> Result<Vec<u8>, ModuleError> {
    let who = call.caller;
    let mut record = registered_challenger(call, c.idaoId, who)?;
    let free = record.deposit - record.locked;
    if c.amount > free {
        return Err(revert_with(X::DepositTooLow {
            free,
            want: c.amount,
        }));
    }
    record.deposit -= c.amount;
    call.store_abi(&challenger_slot(c.idaoId, who), &record)?;
    call.pay(who, c.amount)?;
    call.emit(&X::ChallengerWithdrawn {
        idaoId: c.idaoId,
        challenger: who,
        amount: c.amount,
    })?;
    Ok(Vec::new())
}

pub(super) fn challengers(call: &mut Call<'_>, idao: U256) -> Result<Vec<u8>, ModuleError> {
    let n = call.load_u256(&challengers_n_slot(idao))?.to::<u64>();
    let mut out = Vec::with_capacity(n as usize);
    for i in 0..n {
        let raw = call.load(&challenger_at_slot(idao, i))?;
        if let Some(r) = load_challenger(call, idao, Address::from_slice(&raw))? {
            out.push(r);
        }
    }
    Ok(out.abi_encode())
}

pub(super) fn get_challenger(
    call: &mut Call<'_>,
    idao: U256,
    who: Address,
) -> Result<Vec<u8>, ModuleError> {
    let r = registered_challenger(call, idao, who)?;
    Ok(r.abi_encode())
}

pub(super) fn post(
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
    let id = call.load_u256(super::TASKS_N)? + U256::from(1);
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
    call.store_abi(&task_slot(id), &task)?;
    call.store_abi(&optimistic_slot(id), &record)?;
    call.store_u256(super::TASKS_N, id)?;
    let tail = call.load_u256(&queue_slot(worker, b"tail"))?;
    call.store_u256(&queue_slot(worker, &tail.to_be_bytes::<32>()), id)?;
    call.store_u256(&queue_slot(worker, b"tail"), tail + U256::from(1))?;
    call.emit(&X::TaskCreated {
        taskId: id,
        idaoId: c.idaoId,
        worker,
        mode: MODE_OPTIMISTIC,
        circuitId: B256::ZERO,
        inputCommitment: c.inputHash,
    })?;
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

/// Finalizes up to [`FINALIZE_ON_POST`] of `worker`'s earlier results, oldest first, stopping
/// at the first still in its window or under dispute.
fn finalize_earlier(call: &mut Call<'_>, worker: Address) -> Result<(), ModuleError> {
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

pub(super) fn finalize(call: &mut Call<'_>, id: U256) -> Result<Vec<u8>, ModuleError> {
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

pub(super) fn challenge(call: &mut Call<'_>, c: X::challengeCall) -> Result<Vec<u8>, ModuleError> {
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

pub(super) fn reveal(call: &mut Call<'_>, c: X::revealLayerCall) -> Result<Vec<u8>, ModuleError> {
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

pub(super) fn fraud_proof(
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

pub(super) fn timeout(call: &mut Call<'_>, c: X::timeoutCall) -> Result<Vec<u8>, ModuleError> {
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
fn slash_worker(
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
fn challenger_lost(
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

pub(super) fn get_dispute(
    call: &mut Call<'_>,
    id: U256,
    who: Address,
) -> Result<Vec<u8>, ModuleError> {
    Ok(load_dispute(call, id, who)?.abi_encode())
}

pub(super) fn disputes(call: &mut Call<'_>, id: U256) -> Result<Vec<u8>, ModuleError> {
    let o = load_optimistic(call, id)?;
    let mut out = Vec::with_capacity(o.disputes as usize);
    for i in 0..o.disputes {
        out.push(dispute_at(call, id, i)?.1);
    }
    Ok(out.abi_encode())
}

pub(super) fn get_optimistic(call: &mut Call<'_>, id: U256) -> Result<Vec<u8>, ModuleError> {
    optimistic_task(call, id)?;
    Ok(load_optimistic(call, id)?.abi_encode())
}
