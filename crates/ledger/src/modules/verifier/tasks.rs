//! What every part of the Verifier shares about tasks: the counter, a task's slot and loader,
//! the clock in seconds, and who answers for a model.

use crate::kernel::{Call, ModuleError, revert_with, slot};
use crate::modules::idao::facade as idao_registry;
use crate::modules::models::model as registered_model;
use alloy_primitives::{Address, U256};
use lazai_abi::verifier::*;

use IVerifier as X;

pub(super) const TASKS_N: &[u8] = b"tasks-n";

/// The slot of task `id`.
pub(super) fn task_slot(id: U256) -> Vec<u8> {
    slot(b"task/", &[&id.to_be_bytes::<32>()])
}

pub(super) fn load_task(call: &mut Call<'_>, id: U256) -> Result<X::Task, ModuleError> {
    call.load_abi::<X::Task>(&task_slot(id))?
        .ok_or_else(|| revert_with(X::TaskNotFound { taskId: id }))
}

/// The block time in seconds.
pub(super) fn now(call: &Call<'_>) -> u64 {
    call.block.timestamp_ms / 1000
}

/// Checks that the caller answers for registered model `id` — its worker or its iDAO's
/// owner — and returns that owner.
pub(super) fn model_controller(call: &mut Call<'_>, id: U256) -> Result<Address, ModuleError> {
    let model = registered_model(call, id)?;
    let owner = idao_registry::idao(call, model.idaoId)?.owner;
    if call.caller != model.worker && call.caller != owner {
        return Err(revert_with(X::NotModelController {
            modelId: id,
            caller: call.caller,
        }));
    }
    Ok(owner)
}

/// Opens `task` under the next id (from 1): stored, counted and announced (`TaskCreated`).
pub(super) fn open_task(call: &mut Call<'_>, task: &X::Task) -> Result<U256, ModuleError> {
    let id = call.load_u256(TASKS_N)? + U256::from(1);
    call.store_abi(&task_slot(id), task)?;
    call.store_u256(TASKS_N, id)?;
    call.emit(&X::TaskCreated {
        taskId: id,
        idaoId: task.idaoId,
        worker: task.worker,
        mode: task.mode,
        circuitId: task.circuitId,
        inputCommitment: task.inputCommitment,
    })?;
    Ok(id)
}

/// Writes a task back, stamped with the block time.
pub(super) fn store_task(
    call: &mut Call<'_>,
    id: U256,
    task: &mut X::Task,
) -> Result<(), ModuleError> {
    task.updatedAt = now(call);
    call.store_abi(&task_slot(id), task)
}
