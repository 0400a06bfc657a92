//! The Verifier: LazAI's documented `IVerifier` — an execution record per task of off-chain
//! work and the proofs that settle it (ABI in `lazai_abi::verifier`).
//!
//! - **Tasks.** `createTask(idaoId, modelId, circuitId, mode, inputCommitment, worker)` opens
//!   a record for a worker attested now for the iDAO (by the iDAO's TEE policy, see
//!   [`super::idao::tee`]): mode 1 TEE or 2 ZK (3, optimistic, is reserved for fraud proofs
//!   and reverts `NotSupported` for now); a ZK task names a registered circuit. Ids from 1.
//! - **TEE mode.** `submitTEEProof(taskId, resultHash, teeSignature, attestationReport)`
//!   verifies the task at once when `teeSignature` is the task worker's EIP-191 signature of
//!   `tee_result_digest(chainId, taskId, resultHash)` and the worker is attested *now* for the
//!   task's iDAO; `attestationReport` is empty or the evidence of that attestation (its
//!   keccak256 must be the recorded evidence hash). Anyone may relay it.
//! - **ZK mode.** `submitZKProof(taskId, zkProof, publicSignals)` verifies the task when the
//!   Groth16 proof (BN254) checks against the task's circuit and the public signals, whose
//!   element number `taskSignal` (fixed when the circuit was registered) must be the task id:
//!   Groth16 proofs are malleable, so the task is bound by a public input, never by proof
//!   bytes. Gas for the pairing check is charged before it runs
//!   (`lazai_zk::verify_gas`). A failed check reverts `InvalidProof`; nothing is stored.
//! - **Circuits.** `registerCircuit(verifyingKey, dev, taskSignal)` stores a verifying key in
//!   canonical form (strictly parsed: every point on its curve and in its subgroup, every
//!   coordinate below its modulus) under `keccak256(key)`, once. A key from a fixed-seed setup
//!   is forgeable: `dev = true` is accepted only where genesis enabled dev setups, and shown
//!   as such (`getCircuit(id).dev`).
//! - **Model circuits.** `registerModelCircuit(modelId, verifyingKey, dev)` registers the
//!   proof-of-inference circuit of a registered model (lazai-zkml's layout: task id at
//!   signal 0, input commitment at 1) under `model_circuit_id(modelId, key)` — bound to the
//!   model, so registering the same key as a plain circuit first blocks nothing — and makes
//!   it the model's current circuit (`modelCircuit`). The key cannot show which weights it was made for, so only those who
//!   answer for the model may tie one to it: its worker or its iDAO's owner. A ZK task on
//!   such a circuit must name its model, and its proof's signal 1 must be the task's input
//!   commitment.
//! - **Optimistic mode** ([`optimistic`]): `postOptimisticResult` opens and posts a bonded
//!   result in one transaction; it is final after its window unless a registered challenger
//!   proves it wrong with the fraud-proof game (`challenge`, `revealLayer`,
//!   `submitFraudProof`, `timeout`, `finalize`). `createTask` in mode 3 reverts
//!   `NotSupported`: an optimistic task is opened by its post.
//! - `verifyResult(taskId)` is whether the task is verified; every transition has an event.
//!
//! # Storage slots
//!
//! | slot | value |
//! | --- | --- |
//! | `tasks-n` | number of tasks |
//! | `task/` ‖ id | ABI of `Task` |
//! | `circuit/` ‖ id | ABI of `Circuit` |
//! | `circuit-key/` ‖ id | the canonical verifying key |
//! | `model-circuit/` ‖ model id | the model's current circuit id |
//! | `dev-zk` | `0x01` when genesis enabled dev setups |
//! | `opt-params/` ‖ iDAO | ABI of `OptimisticParams` (unset: the defaults) |
//! | `weights/` ‖ model id | ABI of `ModelWeights` |
//! | `chal/` ‖ iDAO ‖ address, `chal-n/` ‖ iDAO, `chal-at/` ‖ iDAO ‖ i | challengers and their list |
//! | `opt/` ‖ task id | ABI of `Optimistic` |
//! | `disp/` ‖ task id ‖ challenger, `disp-at/` ‖ task id ‖ i | disputes and their list |
//! | `revealed/` ‖ task id ‖ layer | `0x01` once the worker revealed that layer |
//! | `wq/` ‖ worker ‖ (`head`, `tail`, i) | the worker's results in posting order |

pub mod optimistic;
mod tasks;

use super::idao::facade as idao_registry;
use crate::kernel::{Call, Module, ModuleError, decode_call, revert_with, slot};
use crate::state::State;
use alloy_primitives::{Address, B256, Bytes, U256, keccak256};
use alloy_sol_types::{SolCall, SolValue};
use lazai_abi::verifier::*;
use lazai_abi::{VERIFIER_ADDRESS, parse_signature};
use tasks::{TASKS_N, load_task, model_controller, now, open_task, store_task, task_slot};

use IVerifier as X;
use X::IVerifierCalls as Calls;

const DEV_ZK: &[u8] = b"dev-zk";
/// Gas for parsing and checking a verifying key, per public input (one G1 point) and fixed
/// (four G2/G1 points with subgroup checks), on top of storage.
pub const REGISTER_GAS_BASE: u64 = 60_000;
pub const REGISTER_GAS_PER_INPUT: u64 = 5_000;

fn circuit_slot(id: B256) -> Vec<u8> {
    slot(b"circuit/", &[id.as_slice()])
}
fn circuit_key_slot(id: B256) -> Vec<u8> {
    slot(b"circuit-key/", &[id.as_slice()])
}
fn model_circuit_slot(model: U256) -> Vec<u8> {
    slot(b"model-circuit/", &[&model.to_be_bytes::<32>()])
}

/// The signals of lazai-zkml's inference circuit: the task id, then the input commitment.
const MODEL_TASK_SIGNAL: u32 = 0;
const MODEL_INPUT_SIGNAL: u32 = 1;

/// Records the genesis flag that lets the chain accept dev (fixed-seed) setups.
pub fn enable_dev_zk(state: &mut State) {
    state.module_set(&VERIFIER_ADDRESS, DEV_ZK, Bytes::from_static(&[1]));
}

fn load_circuit(call: &mut Call<'_>, id: B256) -> Result<X::Circuit, ModuleError> {
    call.load_abi::<X::Circuit>(&circuit_slot(id))?
        .ok_or_else(|| revert_with(X::CircuitNotFound { circuitId: id }))
}

/// A pending task of `mode`.
fn pending(call: &mut Call<'_>, id: U256, mode: u8) -> Result<X::Task, ModuleError> {
    let task = load_task(call, id)?;
    if task.mode != mode {
        return Err(revert_with(X::WrongMode {
            taskId: id,
            mode: task.mode,
        }));
    }
    if task.status != TASK_PENDING {
        return Err(revert_with(X::TaskNotPending {
            taskId: id,
            status: task.status,
        }));
    }
    Ok(task)
}

/// The Verifier module.
#[derive(Clone, Debug, Default)]
pub struct Verifier;

impl Verifier {
    fn create_task(call: &mut Call<'_>, c: X::createTaskCall) -> Result<Vec<u8>, ModuleError> {
        match c.mode {
            MODE_TEE => {}
            MODE_ZK => {
                let circuit = load_circuit(call, c.circuitId)?;
                if !circuit.modelId.is_zero() && circuit.modelId != c.modelId {
                    return Err(revert_with(X::CircuitModelMismatch {
                        circuitId: c.circuitId,
                        modelId: c.modelId,
                    }));
                }
            }
            MODE_OPTIMISTIC => return Err(revert_with(X::NotSupported {})),
            other => return Err(revert_with(X::InvalidMode { mode: other })),
        }
        if idao_registry::attested_keys(call, c.idaoId, c.worker)?.is_none() {
            return Err(revert_with(X::WorkerNotAttested {
                idaoId: c.idaoId,
                worker: c.worker,
            }));
        }
        let at = now(call);
        let task = X::Task {
            idaoId: c.idaoId,
            modelId: c.modelId,
            circuitId: if c.mode == MODE_ZK {
                c.circuitId
            } else {
                B256::ZERO
            },
            worker: c.worker,
            requester: call.caller,
            inputCommitment: c.inputCommitment,
            resultHash: B256::ZERO,
            mode: c.mode,
            status: TASK_PENDING,
            createdAt: at,
            updatedAt: at,
        };
        Ok(open_task(call, &task)?.abi_encode())
    }

    fn verified(
        call: &mut Call<'_>,
        id: U256,
        mut task: X::Task,
        result: B256,
    ) -> Result<(), ModuleError> {
        task.resultHash = result;
        task.status = TASK_VERIFIED;
        store_task(call, id, &mut task)?;
        call.emit(&X::TaskVerified {
            taskId: id,
            mode: task.mode,
            resultHash: result,
        })
    }

    fn submit_tee(call: &mut Call<'_>, c: X::submitTEEProofCall) -> Result<Vec<u8>, ModuleError> {
        let task = pending(call, c.taskId, MODE_TEE)?;
        let digest = tee_result_digest(call.block.chain_id, c.taskId, c.resultHash);
        let signer = parse_signature(c.teeSignature.as_ref())
            .and_then(|s| s.recover_address_from_msg(digest.as_slice()).ok())
            .unwrap_or(Address::ZERO);
        if signer != task.worker {
            return Err(revert_with(X::BadTeeSignature { signer }));
        }
        let Some(attestation) = idao_registry::attestation_now(call, task.idaoId, task.worker)?
        else {
            return Err(revert_with(X::WorkerNotAttested {
                idaoId: task.idaoId,
                worker: task.worker,
            }));
        };
        if !c.attestationReport.is_empty()
            && keccak256(&c.attestationReport) != attestation.evidenceHash
        {
            return Err(revert_with(X::AttestationMismatch {
                evidenceHash: attestation.evidenceHash,
            }));
        }
        call.emit(&X::TEEProofSubmitted {
            taskId: c.taskId,
            worker: task.worker,
            resultHash: c.resultHash,
        })?;
        Self::verified(call, c.taskId, task, c.resultHash)?;
        Ok(Vec::new())
    }

    fn submit_zk(call: &mut Call<'_>, c: X::submitZKProofCall) -> Result<Vec<u8>, ModuleError> {
        let task = pending(call, c.taskId, MODE_ZK)?;
        let circuit = load_circuit(call, task.circuitId)?;
        let want = circuit.publicInputs as usize;
        if c.publicSignals.len() != want {
            return Err(revert_with(X::PublicSignalsMismatch {
                got: U256::from(c.publicSignals.len()),
                want: U256::from(want),
            }));
        }
        let bound = c.publicSignals[circuit.taskSignal as usize];
        if bound != c.taskId {
            return Err(revert_with(X::TaskNotBound {
                taskId: c.taskId,
                signal: bound,
            }));
        }
        if circuit.inputSignal != NO_SIGNAL {
            let input = c.publicSignals[circuit.inputSignal as usize];
            if B256::from(input) != task.inputCommitment {
                return Err(revert_with(X::InputNotBound {
                    taskId: c.taskId,
                    signal: input,
                }));
            }
        }
        let valid = Self::check_proof(call, task.circuitId, &c.zkProof, &c.publicSignals)?;
        if !valid {
            return Err(revert_with(X::InvalidProof { taskId: c.taskId }));
        }
        let result = zk_result_hash(&c.publicSignals);
        call.emit(&X::ZKProofSubmitted {
            taskId: c.taskId,
            submitter: call.caller,
            resultHash: result,
        })?;
        Self::verified(call, c.taskId, task, result)?;
        Ok(Vec::new())
    }

    /// Decodes a proof and its signals (the count already checked against the circuit), pays
    /// for the pairing check and runs it.
    fn check_proof(
        call: &mut Call<'_>,
        circuit: B256,
        proof: &[u8],
        signals: &[U256],
    ) -> Result<bool, ModuleError> {
        let encoding = |e: lazai_zk::ZkError| {
            revert_with(X::InvalidProofEncoding {
                reason: e.to_string(),
            })
        };
        let proof = lazai_zk::Proof::from_bytes(proof).map_err(encoding)?;
        let bytes: Vec<u8> = signals.iter().flat_map(|s| s.to_be_bytes::<32>()).collect();
        let inputs = lazai_zk::public_inputs_from_bytes(&bytes).map_err(encoding)?;
        // The key was checked when it was registered; loading it again is decoding only.
        let key_bytes = call.load(&circuit_key_slot(circuit))?;
        let key = lazai_zk::VerifyingKey::from_bytes(&key_bytes).map_err(|e| {
            revert_with(X::InvalidVerifyingKey {
                reason: e.to_string(),
            })
        })?;
        call.charge(lazai_zk::verify_gas(signals.len()))?;
        lazai_zk::verify(&key, &proof, &inputs).map_err(encoding)
    }

    fn register_circuit(
        call: &mut Call<'_>,
        c: X::registerCircuitCall,
    ) -> Result<Vec<u8>, ModuleError> {
        let id = Self::store_circuit(
            call,
            &c.verifyingKey,
            c.dev,
            c.taskSignal,
            NO_SIGNAL,
            U256::ZERO,
        )?;
        Ok(id.abi_encode())
    }

    fn register_model_circuit(
        call: &mut Call<'_>,
        c: X::registerModelCircuitCall,
    ) -> Result<Vec<u8>, ModuleError> {
        model_controller(call, c.modelId)?;
        let id = Self::store_circuit(
            call,
            &c.verifyingKey,
            c.dev,
            MODEL_TASK_SIGNAL,
            MODEL_INPUT_SIGNAL,
            c.modelId,
        )?;
        call.store(
            &model_circuit_slot(c.modelId),
            Bytes::copy_from_slice(id.as_slice()),
        )?;
        call.emit(&X::ModelCircuitSet {
            modelId: c.modelId,
            circuitId: id,
            dev: c.dev,
        })?;
        Ok(id.abi_encode())
    }

    /// Checks and stores a verifying key; `task_signal` and `input_signal` (or `NO_SIGNAL`)
    /// must be among its public inputs.
    fn store_circuit(
        call: &mut Call<'_>,
        verifying_key: &[u8],
        dev: bool,
        task_signal: u32,
        input_signal: u32,
        model: U256,
    ) -> Result<B256, ModuleError> {
        if verifying_key.len() > MAX_VK_BYTES {
            return Err(revert_with(X::InvalidVerifyingKey {
                reason: format!("{} bytes; at most {MAX_VK_BYTES}", verifying_key.len()),
            }));
        }
        if dev && !call.load_flag(DEV_ZK)? {
            return Err(revert_with(X::DevSetupNotAllowed {}));
        }
        // Paid before parsing: the subgroup checks are the expensive part.
        let points = (verifying_key.len() / 64) as u64;
        call.charge(
            REGISTER_GAS_BASE.saturating_add(points.saturating_mul(REGISTER_GAS_PER_INPUT)),
        )?;
        let key = lazai_zk::VerifyingKey::from_bytes(verifying_key).map_err(|e| {
            revert_with(X::InvalidVerifyingKey {
                reason: e.to_string(),
            })
        })?;
        let canonical = key.to_bytes();
        let id = if model.is_zero() {
            B256::from(key.id())
        } else {
            model_circuit_id(model, &canonical)
        };
        if call.load_abi::<X::Circuit>(&circuit_slot(id))?.is_some() {
            return Err(revert_with(X::CircuitExists { circuitId: id }));
        }
        let inputs = u32::try_from(key.public_inputs()).unwrap_or(u32::MAX);
        for (name, signal) in [("taskSignal", task_signal), ("inputSignal", input_signal)] {
            if signal >= inputs && !(name == "inputSignal" && signal == NO_SIGNAL) {
                return Err(revert_with(X::InvalidVerifyingKey {
                    reason: format!("{name} {signal} is not one of its {inputs} public inputs"),
                }));
            }
        }
        let record = X::Circuit {
            registrant: call.caller,
            dev,
            publicInputs: inputs,
            taskSignal: task_signal,
            inputSignal: input_signal,
            modelId: model,
            registeredAt: now(call),
        };
        call.store_abi(&circuit_slot(id), &record)?;
        call.store(&circuit_key_slot(id), canonical.into())?;
        call.emit(&X::CircuitRegistered {
            circuitId: id,
            registrant: call.caller,
            dev,
            publicInputs: inputs,
            taskSignal: task_signal,
        })?;
        Ok(id)
    }
}

impl Module for Verifier {
    fn name(&self) -> &'static str {
        "Verifier"
    }

    fn address(&self) -> Address {
        VERIFIER_ADDRESS
    }

    /// Payable: `registerChallenger` (the deposit) and `postOptimisticResult` (the bond).
    fn call(&self, call: &mut Call<'_>, input: &[u8]) -> Result<Vec<u8>, ModuleError> {
        let decoded = decode_call::<Calls>(self.name(), input)?;
        if !matches!(
            decoded,
            Calls::registerChallenger(_) | Calls::postOptimisticResult(_)
        ) {
            call.non_payable()?;
        }
        match decoded {
            Calls::createTask(c) => Self::create_task(call, c),
            Calls::submitTEEProof(c) => Self::submit_tee(call, c),
            Calls::submitZKProof(c) => Self::submit_zk(call, c),
            Calls::submitFraudProof(c) => optimistic::fraud_proof(call, c),
            Calls::setOptimisticParams(c) => optimistic::set_params(call, c),
            Calls::optimisticParams(c) => Ok(optimistic::params(call, c.idaoId)?.abi_encode()),
            Calls::setModelWeights(c) => optimistic::set_weights(call, c),
            Calls::modelWeights(c) => optimistic::model_weights(call, c.modelId),
            Calls::registerChallenger(c) => optimistic::register_challenger(call, c),
            Calls::withdrawChallenger(c) => optimistic::withdraw_challenger(call, c),
            Calls::getChallenger(c) => optimistic::get_challenger(call, c.idaoId, c.account),
            Calls::challengers(c) => optimistic::challengers(call, c.idaoId),
            Calls::postOptimisticResult(c) => optimistic::post(call, c),
            Calls::challenge(c) => optimistic::challenge(call, c),
            Calls::revealLayer(c) => optimistic::reveal(call, c),
            Calls::timeout(c) => optimistic::timeout(call, c),
            Calls::finalize(c) => optimistic::finalize(call, c.taskId),
            Calls::getOptimistic(c) => optimistic::get_optimistic(call, c.taskId),
            Calls::getDispute(c) => optimistic::get_dispute(call, c.taskId, c.challenger),
            Calls::disputes(c) => optimistic::disputes(call, c.taskId),
            Calls::verifyResult(c) => {
                Ok((load_task(call, c.taskId)?.status == TASK_VERIFIED).abi_encode())
            }
            Calls::taskStatus(c) => {
                let status = call
                    .load_abi::<X::Task>(&task_slot(c.taskId))?
                    .map(|t| t.status)
                    .unwrap_or(0);
                Ok(X::taskStatusCall::abi_encode_returns(&status))
            }
            Calls::getTask(c) => Ok(load_task(call, c.taskId)?.abi_encode()),
            Calls::tasksCount(_) => Ok(call.load_u256(TASKS_N)?.abi_encode()),
            Calls::registerCircuit(c) => Self::register_circuit(call, c),
            Calls::registerModelCircuit(c) => Self::register_model_circuit(call, c),
            Calls::modelCircuit(c) => {
                let id = call.load(&model_circuit_slot(c.modelId))?;
                Ok(if id.len() == 32 {
                    B256::from_slice(&id)
                } else {
                    B256::ZERO
                }
                .abi_encode())
            }
            Calls::getCircuit(c) => Ok(load_circuit(call, c.circuitId)?.abi_encode()),
            Calls::verifyProof(c) => {
                let circuit = load_circuit(call, c.circuitId)?;
                if c.publicSignals.len() != circuit.publicInputs as usize {
                    return Err(revert_with(X::PublicSignalsMismatch {
                        got: U256::from(c.publicSignals.len()),
                        want: U256::from(circuit.publicInputs),
                    }));
                }
                Ok(
                    Self::check_proof(call, c.circuitId, &c.zkProof, &c.publicSignals)?
                        .abi_encode(),
                )
            }
            Calls::circuitKey(c) => {
                load_circuit(call, c.circuitId)?;
                Ok(call
                    .load(&circuit_key_slot(c.circuitId))?
                    .to_vec()
                    .abi_encode())
            }
            Calls::devSetupsEnabled(_) => Ok(call.load_flag(DEV_ZK)?.abi_encode()),
        }
    }
}
