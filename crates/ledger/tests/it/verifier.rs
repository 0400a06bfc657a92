//! The Verifier module: tasks, TEE-mode results signed by a worker attested now, ZK-mode
//! Groth16 proofs bound to their task, circuits registered once, and the refusals.

use crate::registry::{Net, expect};
use crate::support::{CHAIN_ID, tee};
use alloy_primitives::{Address, B256, Bytes, U256};
use alloy_sol_types::{SolCall, SolError, SolValue};
use lazai_abi::{
    IDAO_REGISTRY_ADDRESS, IIdaoRegistry, IVerifier as X, MODE_OPTIMISTIC, MODE_TEE, MODE_ZK,
    TASK_PENDING, TASK_VERIFIED, VERIFIER_ADDRESS, tee_result_digest,
};

const NODE1: usize = 1;
const NODE2: usize = 2;
const ALICE: usize = 3;
const OWNER: usize = 4;
const V: Address = VERIFIER_ADDRESS;

/// An iDAO with a dev-TEE policy whose worker NODE1 is attested now.
fn attested_idao(n: &mut Net) -> U256 {
    let r = n.ok(
        OWNER,
        IDAO_REGISTRY_ADDRESS,
        IIdaoRegistry::registerIdao_0Call {
            name: "inference".into(),
            metadataUri: "ipfs://inference".into(),
        }
        .abi_encode(),
        0,
    );
    let idao = U256::abi_decode(&r.output).expect("iDAO id");
    n.ok(OWNER, IDAO_REGISTRY_ADDRESS, tee::dev_policy(idao), 0);
    let t = n.env.timestamp_ms / 1000;
    let input = tee::submit(CHAIN_ID, idao, n.addr(NODE1), B256::repeat_byte(7), t);
    n.ok(NODE1, IDAO_REGISTRY_ADDRESS, input, 0);
    idao
}

fn create(idao: U256, circuit: B256, mode: u8, worker: Address) -> Vec<u8> {
    X::createTaskCall {
        idaoId: idao,
        modelId: U256::ZERO,
        circuitId: circuit,
        mode,
        inputCommitment: B256::repeat_byte(0xc0),
        worker,
    }
    .abi_encode()
}

fn tee_proof(n: &Net, signer: usize, chain: u64, task: U256, result: B256) -> Vec<u8> {
    let digest = tee_result_digest(chain, task, result);
    X::submitTEEProofCall {
        taskId: task,
        resultHash: result,
        teeSignature: n.sign_message(signer, digest.as_slice()),
        attestationReport: Bytes::new(),
    }
    .abi_encode()
}

#[test]
fn a_tee_result_signed_by_a_worker_attested_now_verifies_its_task() {
    let mut n = Net::new();
    let idao = attested_idao(&mut n);

    // Tasks only for attested workers, in a known mode, with a registered circuit for ZK.
    let r = n.send(
        ALICE,
        V,
        create(idao, B256::ZERO, MODE_TEE, n.addr(NODE2)),
        0,
    );
    expect(
        &r,
        X::WorkerNotAttested {
            idaoId: idao,
            worker: n.addr(NODE2),
        },
    );
    let r = n.send(
        ALICE,
        V,
        create(idao, B256::ZERO, MODE_OPTIMISTIC, n.addr(NODE1)),
        0,
    );
    expect(&r, X::NotSupported {});
    let r = n.send(ALICE, V, create(idao, B256::ZERO, 9, n.addr(NODE1)), 0);
    expect(&r, X::InvalidMode { mode: 9 });
    let r = n.send(
        ALICE,
        V,
        create(idao, B256::repeat_byte(1), MODE_ZK, n.addr(NODE1)),
        0,
    );
    expect(
        &r,
        X::CircuitNotFound {
            circuitId: B256::repeat_byte(1),
        },
    );

    let r = n.ok(
        ALICE,
        V,
        create(idao, B256::ZERO, MODE_TEE, n.addr(NODE1)),
        0,
    );
    let task = U256::abi_decode(&r.output).expect("task id");
    assert_eq!(task, U256::from(1));
    assert_eq!(n.view(V, X::taskStatusCall { taskId: task }), TASK_PENDING);
    assert!(!n.view(V, X::verifyResultCall { taskId: task }));
    let result = B256::repeat_byte(0x42);

    // Signed by another account, or for another chain: refused.
    let r = n.send(NODE2, V, tee_proof(&n, NODE2, CHAIN_ID, task, result), 0);
    assert!(!r.success);
    let r = n.send(
        NODE1,
        V,
        tee_proof(&n, NODE1, CHAIN_ID + 1, task, result),
        0,
    );
    assert!(!r.success);
    // An attestation report that is not the recorded evidence: refused.
    let mut call = X::submitTEEProofCall::abi_decode(&tee_proof(&n, NODE1, CHAIN_ID, task, result))
        .expect("decode");
    call.attestationReport = Bytes::from_static(b"another report");
    let r = n.send(NODE1, V, call.abi_encode(), 0);
    assert!(!r.success);
    // A ZK proof for a TEE task: refused.
    let zk = X::submitZKProofCall {
        taskId: task,
        zkProof: Bytes::from(vec![0u8; 256]),
        publicSignals: vec![task],
    };
    let r = n.send(ALICE, V, zk.abi_encode(), 0);
    expect(
        &r,
        X::WrongMode {
            taskId: task,
            mode: MODE_TEE,
        },
    );
    assert!(!n.view(V, X::verifyResultCall { taskId: task }));

    // The worker's signature, relayed by anyone: verified at once.
    n.ok(ALICE, V, tee_proof(&n, NODE1, CHAIN_ID, task, result), 0);
    assert!(n.view(V, X::verifyResultCall { taskId: task }));
    let record = n.view(V, X::getTaskCall { taskId: task });
    assert_eq!(record.status, TASK_VERIFIED);
    assert_eq!(record.resultHash, result);
    assert_eq!(record.worker, n.addr(NODE1));
    assert_eq!(record.requester, n.addr(ALICE));
    // Once.
    let r = n.send(ALICE, V, tee_proof(&n, NODE1, CHAIN_ID, task, result), 0);
    expect(
        &r,
        X::TaskNotPending {
            taskId: task,
            status: TASK_VERIFIED,
        },
    );
    // Fraud proofs are for optimistic tasks only.
    let fraud = X::submitFraudProofCall {
        taskId: task,
        evidence: Bytes::new(),
        challenger: n.addr(ALICE),
    };
    let r = n.send(ALICE, V, fraud.abi_encode(), 0);
    expect(
        &r,
        X::WrongMode {
            taskId: task,
            mode: MODE_TEE,
        },
    );
    assert_eq!(n.view(V, X::tasksCountCall {}), U256::from(1));
}

const VK: &str = include_str!("../../../zk/testdata/verification_key.json");
const PROOF: &str = include_str!("../../../zk/testdata/proof.json");
/// The fixture's public signals: `c = a·b = 33`, then the task id 42.
const SIGNALS: [u64; 2] = [33, 42];

fn register(key: &[u8], dev: bool, task_signal: u32) -> Vec<u8> {
    X::registerCircuitCall {
        verifyingKey: Bytes::from(key.to_vec()),
        dev,
        taskSignal: task_signal,
    }
    .abi_encode()
}

fn zk(task: U256, proof: &[u8], signals: &[U256]) -> Vec<u8> {
    X::submitZKProofCall {
        taskId: task,
        zkProof: Bytes::from(proof.to_vec()),
        publicSignals: signals.to_vec(),
    }
    .abi_encode()
}

#[test]
fn a_snarkjs_proof_bound_to_its_task_verifies_it_and_nothing_else_does() {
    let mut n = Net::new();
    let idao = attested_idao(&mut n);
    let key = lazai_zk::VerifyingKey::from_snarkjs_json(VK)
        .expect("key")
        .to_bytes();
    let proof = lazai_zk::Proof::from_snarkjs_json(PROOF)
        .expect("proof")
        .to_bytes();
    let signals: Vec<U256> = SIGNALS.iter().map(|&s| U256::from(s)).collect();

    // Registration: strict parsing, once, the task signal among the inputs, dev setups only
    // where genesis enables them.
    let r = n.send(ALICE, V, register(&key[..key.len() - 1], false, 1), 0);
    assert!(
        X::InvalidVerifyingKey::abi_decode(&r.output).is_ok(),
        "{}",
        r.output
    );
    let r = n.send(ALICE, V, register(&key, false, 2), 0);
    assert!(
        X::InvalidVerifyingKey::abi_decode(&r.output).is_ok(),
        "{}",
        r.output
    );
    let r = n.send(ALICE, V, register(&key, true, 1), 0);
    expect(&r, X::DevSetupNotAllowed {});
    let r = n.ok(ALICE, V, register(&key, false, 1), 0);
    let circuit = B256::abi_decode(&r.output).expect("circuit id");
    assert_eq!(
        circuit,
        B256::from(lazai_zk::VerifyingKey::from_bytes(&key).expect("key").id())
    );
    let r = n.send(OWNER, V, register(&key, false, 1), 0);
    expect(&r, X::CircuitExists { circuitId: circuit });
    let info = n.view(V, X::getCircuitCall { circuitId: circuit });
    assert_eq!(
        (info.publicInputs, info.taskSignal, info.dev),
        (2, 1, false)
    );
    assert!(n.view(
        V,
        X::verifyProofCall {
            circuitId: circuit,
            zkProof: proof.clone().into(),
            publicSignals: signals.clone()
        }
    ));

    // Tasks 1..=41 in TEE mode; task 42 is the ZK task the fixture's proof is bound to.
    for _ in 1..42 {
        n.ok(
            ALICE,
            V,
            create(idao, B256::ZERO, MODE_TEE, n.addr(NODE1)),
            0,
        );
    }
    let r = n.ok(ALICE, V, create(idao, circuit, MODE_ZK, n.addr(NODE1)), 0);
    let task = U256::abi_decode(&r.output).expect("task id");
    assert_eq!(task, U256::from(42));

    // The valid proof for task 42 does not verify task 41 (another mode) or another ZK task.
    let r = n.send(ALICE, V, zk(U256::from(41), &proof, &signals), 0);
    expect(
        &r,
        X::WrongMode {
            taskId: U256::from(41),
            mode: MODE_TEE,
        },
    );
    let r = n.ok(ALICE, V, create(idao, circuit, MODE_ZK, n.addr(NODE1)), 0);
    let other = U256::abi_decode(&r.output).expect("task id");
    let r = n.send(ALICE, V, zk(other, &proof, &signals), 0);
    expect(
        &r,
        X::TaskNotBound {
            taskId: other,
            signal: U256::from(42),
        },
    );
    // Missing, extra and altered signals; garbage and truncated proofs: precise reverts.
    let r = n.send(ALICE, V, zk(task, &proof, &signals[..1]), 0);
    expect(
        &r,
        X::PublicSignalsMismatch {
            got: U256::from(1),
            want: U256::from(2),
        },
    );
    let extra = [signals.clone(), vec![U256::from(1)]].concat();
    let r = n.send(ALICE, V, zk(task, &proof, &extra), 0);
    expect(
        &r,
        X::PublicSignalsMismatch {
            got: U256::from(3),
            want: U256::from(2),
        },
    );
    let altered = vec![U256::from(34), U256::from(42)];
    let r = n.send(ALICE, V, zk(task, &proof, &altered), 0);
    expect(&r, X::InvalidProof { taskId: task });
    let r = n.send(ALICE, V, zk(task, &proof[..255], &signals), 0);
    assert!(
        X::InvalidProofEncoding::abi_decode(&r.output).is_ok(),
        "{}",
        r.output
    );
    let r = n.send(ALICE, V, zk(task, &[0xff; 256], &signals), 0);
    assert!(
        X::InvalidProofEncoding::abi_decode(&r.output).is_ok(),
        "{}",
        r.output
    );
    // A signal at or above the field's modulus is refused, not reduced.
    let modulus = U256::from_str_radix(
        "21888242871839275222246405745257275088548364400416034343698204186575808495617",
        10,
    )
    .expect("r");
    let r = n.send(
        ALICE,
        V,
        zk(task, &proof, &[modulus + U256::from(33), U256::from(42)]),
        0,
    );
    assert!(
        X::InvalidProofEncoding::abi_decode(&r.output).is_ok(),
        "{}",
        r.output
    );
    assert!(!n.view(V, X::verifyResultCall { taskId: task }));

    // The proof: verified, with the signals' hash as the result.
    let r = n.ok(NODE2, V, zk(task, &proof, &signals), 0);
    assert!(n.view(V, X::verifyResultCall { taskId: task }));
    let record = n.view(V, X::getTaskCall { taskId: task });
    assert_eq!(record.status, TASK_VERIFIED);
    assert_eq!(record.resultHash, lazai_abi::zk_result_hash(&signals));
    eprintln!("submitZKProof gas (2 public signals): {}", r.gas_used);
    // Once: a malleated copy of the same proof changes nothing.
    let r = n.send(ALICE, V, zk(task, &proof, &signals), 0);
    expect(
        &r,
        X::TaskNotPending {
            taskId: task,
            status: TASK_VERIFIED,
        },
    );
}

#[test]
fn dev_setups_only_where_genesis_enables_them() {
    let mut n = Net::new();
    lazai_ledger::modules::enable_dev_zk(&mut n.state);
    let _ = n.state.take_changes();
    let key = lazai_zk::VerifyingKey::from_snarkjs_json(VK)
        .expect("key")
        .to_bytes();
    assert!(n.view(V, X::devSetupsEnabledCall {}));
    let r = n.ok(ALICE, V, register(&key, true, 1), 0);
    let circuit = B256::abi_decode(&r.output).expect("circuit id");
    assert!(n.view(V, X::getCircuitCall { circuitId: circuit }).dev);
}

const WINE: &[u8] = include_bytes!("../../../model/testdata/wine-v1.lzmlp");

fn field_to_u256(f: &ark_bn254::Fr) -> U256 {
    U256::from_be_slice(&lazai_zk::public_inputs_to_bytes(std::slice::from_ref(f)))
}

/// lazai-zkml's proof of inference for a registered model: the circuit is tied to the model
/// by its worker or owner only, a task on it must name that model, and its proof must carry
/// the task id and the task's input commitment.
#[test]
fn a_proof_of_inference_verifies_its_task_for_its_model_and_input_only() {
    use lazai_abi::{IModelRegistry as M, MODEL_REGISTRY_ADDRESS};
    let mut n = Net::new();
    lazai_ledger::modules::enable_dev_zk(&mut n.state);
    let _ = n.state.take_changes();
    let idao = crate::services::attested_idao(&mut n, NODE1);
    let data = crate::services::dataset(&mut n);
    let model = lazai_model::QuantizedMlp::from_bytes(WINE).expect("wine model");
    let lineage = vec![M::Lineage {
        classId: data,
        weight: U256::from(1),
    }];
    let call = crate::services::register_call(&n, NODE1, idao, lineage, B256::from(model.hash()));
    let r = n.ok(NODE1, MODEL_REGISTRY_ADDRESS, call, 0);
    let model_id = U256::abi_decode(&r.output).expect("model id");

    let keys = lazai_zkml::dev_setup(&model).expect("setup");
    let vk = keys.verifying.to_bytes();
    let register_model = |dev| {
        X::registerModelCircuitCall {
            modelId: model_id,
            verifyingKey: vk.clone().into(),
            dev,
        }
        .abi_encode()
    };
    let r = n.send(ALICE, V, register_model(true), 0);
    expect(
        &r,
        X::NotModelController {
            modelId: model_id,
            caller: n.addr(ALICE),
        },
    );
    // Someone registers the same key as a plain circuit first: the model's circuit id is
    // bound to the model, so this blocks nothing.
    let r = n.ok(ALICE, V, register(&vk, true, 0), 0);
    let plain = B256::abi_decode(&r.output).expect("circuit id");
    assert_eq!(plain, B256::from(keys.verifying.id()));
    let r = n.ok(NODE1, V, register_model(true), 0);
    let circuit = B256::abi_decode(&r.output).expect("circuit id");
    assert_eq!(circuit, lazai_abi::model_circuit_id(model_id, &vk));
    assert_ne!(circuit, plain);
    let r = n.send(NODE1, V, register_model(true), 0);
    expect(&r, X::CircuitExists { circuitId: circuit });
    assert_eq!(
        n.view(V, X::modelCircuitCall { modelId: model_id }),
        circuit
    );
    let info = n.view(V, X::getCircuitCall { circuitId: circuit });
    assert_eq!(
        (info.modelId, info.taskSignal, info.inputSignal, info.dev),
        (model_id, 0, 1, true)
    );

    // The task names the model; its input commitment is the caller's.
    let q = vec![17i8; model.inputs as usize];
    let salt = ark_bn254::Fr::from(0xdead_beefu64);
    let commitment = field_to_u256(&lazai_zkml::commitment(&q, salt));
    let node1 = n.addr(NODE1);
    let task_call = |model: U256| {
        X::createTaskCall {
            idaoId: idao,
            modelId: model,
            circuitId: circuit,
            mode: MODE_ZK,
            inputCommitment: B256::from(commitment),
            worker: node1,
        }
        .abi_encode()
    };
    let r = n.send(ALICE, V, task_call(U256::ZERO), 0);
    expect(
        &r,
        X::CircuitModelMismatch {
            circuitId: circuit,
            modelId: U256::ZERO,
        },
    );
    let r = n.ok(ALICE, V, task_call(model_id), 0);
    let task = U256::abi_decode(&r.output).expect("task id");
    let task_fr = ark_bn254::Fr::from(task.to::<u64>());

    // A valid proof for this task on another input: refused, the input is not the task's.
    let other_q = vec![-3i8; model.inputs as usize];
    let (proof, st) = lazai_zkml::prove(&keys, &model, &other_q, salt, task_fr).expect("prove");
    let signals: Vec<U256> = st.public_signals().iter().map(field_to_u256).collect();
    let r = n.send(NODE1, V, zk(task, &proof.to_bytes(), &signals), 0);
    expect(
        &r,
        X::InputNotBound {
            taskId: task,
            signal: signals[1],
        },
    );
    // The proof on the committed input: verified; its logits are the model's.
    let (proof, st) = lazai_zkml::prove(&keys, &model, &q, salt, task_fr).expect("prove");
    assert_eq!(
        st.logits,
        model
            .layer_outputs(&q)
            .expect("kernel")
            .pop()
            .expect("logits")
    );
    let signals: Vec<U256> = st.public_signals().iter().map(field_to_u256).collect();
    let r = n.ok(NODE1, V, zk(task, &proof.to_bytes(), &signals), 0);
    eprintln!(
        "submitZKProof gas ({} public signals, the wine model): {}",
        signals.len(),
        r.gas_used
    );
    assert!(n.view(V, X::verifyResultCall { taskId: task }));
}
