//! The Verifier module's Solidity interface: LazAI's documented `IVerifier`
//! (`submitTEEProof`, `submitZKProof`, `submitFraudProof`, `verifyResult`), an execution
//! record per task, and the registry of Groth16 circuits its ZK mode checks proofs against.

use alloy_primitives::{B256, U256, keccak256};
use alloy_sol_types::{SolValue, sol};

/// Task modes.
pub const MODE_TEE: u8 = 1;
/// A Groth16 proof over BN254 against a registered circuit.
pub const MODE_ZK: u8 = 2;
/// Optimistic: reserved for fraud proofs and challenges.
pub const MODE_OPTIMISTIC: u8 = 3;

/// Task statuses.
pub const TASK_PENDING: u8 = 1;
pub const TASK_VERIFIED: u8 = 2;
pub const TASK_REJECTED: u8 = 3;
/// Reserved for challenges.
pub const TASK_CHALLENGED: u8 = 4;

/// Largest verifying key, in bytes (1,024 public inputs).
pub const MAX_VK_BYTES: usize = 64 * 1024 + 512;
/// Most public signals of a proof.
pub const MAX_PUBLIC_SIGNALS: usize = 1024;

/// `Circuit.inputSignal` of a circuit whose public signals carry no input commitment.
pub const NO_SIGNAL: u32 = u32::MAX;

/// The domain of a TEE result signature.
pub const TEE_RESULT_DOMAIN: &str = "LAZAI_TEE_RESULT_V1";

sol! {
    /// The Verifier module (LazAI's `IVerifier`, with its types fixed).
    #[derive(Debug, PartialEq, Eq)]
    interface IVerifier {
        /// An execution record. `mode`: 1 TEE, 2 ZK, 3 optimistic (reserved); `status`:
        /// 1 pending, 2 verified, 3 rejected, 4 challenged (reserved).
        struct Task { uint256 idaoId; uint256 modelId; bytes32 circuitId; address worker; address requester; bytes32 inputCommitment; bytes32 resultHash; uint8 mode; uint8 status; uint64 createdAt; uint64 updatedAt; }
        /// A registered Groth16 verifying key: who registered it, whether it came from a dev
        /// (forgeable) setup, how many public inputs it takes, which of them carries the task
        /// id and which the task's input commitment (`NO_SIGNAL`: none), and the model it
        /// proves (0: none).
        struct Circuit { address registrant; bool dev; uint32 publicInputs; uint32 taskSignal; uint32 inputSignal; uint256 modelId; uint64 registeredAt; }

        /// Opens a task for `worker` (an attested worker of the iDAO) in `mode`; ZK tasks name
        /// their circuit, which must be the model's when it names one. Returns the task id
        /// (from 1).
        function createTask(uint256 idaoId, uint256 modelId, bytes32 circuitId, uint8 mode, bytes32 inputCommitment, address worker) external returns (uint256 taskId);
        /// TEE mode: the task's worker, attested now for the task's iDAO, signed
        /// `teeResultDigest(chainId, taskId, resultHash)` (EIP-191). `attestationReport`
        /// must be empty or the evidence of that attestation (its hash is checked).
        function submitTEEProof(uint256 taskId, bytes32 resultHash, bytes calldata teeSignature, bytes calldata attestationReport) external;
        /// ZK mode: a Groth16 proof (256 bytes: A ‖ B ‖ C, big-endian, EIP-197 order) of the
        /// task's circuit whose public signal number `taskSignal` is the task id and, for a
        /// circuit with an `inputSignal`, whose signal there is the task's input commitment.
        function submitZKProof(uint256 taskId, bytes calldata zkProof, uint256[] calldata publicSignals) external;
        /// Optimistic mode: reserved (reverts `NotSupported`).
        function submitFraudProof(uint256 taskId, bytes calldata evidence, address challenger) external;
        /// Whether the task is verified.
        function verifyResult(uint256 taskId) external view returns (bool);
        function taskStatus(uint256 taskId) external view returns (uint8);
        function getTask(uint256 taskId) external view returns (Task memory);
        function tasksCount() external view returns (uint256);
        /// Registers a Groth16 verifying key (its canonical bytes); its id is keccak256 of
        /// them. `taskSignal`: the index of the public signal that carries the task id.
        /// `dev` keys (from a fixed-seed setup) only where genesis enables dev setups.
        function registerCircuit(bytes calldata verifyingKey, bool dev, uint32 taskSignal) external returns (bytes32 circuitId);
        /// Registers the proof-of-inference circuit of a model (its weights are the
        /// circuit's constants): public signals `taskId, inputCommitment, outputCommitment`
        /// (task at 0, input at 1). Only the model's worker or its iDAO's owner; its id is
        /// `model_circuit_id(modelId, key)`; the model's current circuit becomes this one
        /// (earlier tasks keep theirs).
        function registerModelCircuit(uint256 modelId, bytes calldata verifyingKey, bool dev) external returns (bytes32 circuitId);
        /// The current proof-of-inference circuit of a model (zero: none).
        function modelCircuit(uint256 modelId) external view returns (bytes32);
        function getCircuit(bytes32 circuitId) external view returns (Circuit memory);
        /// Whether a proof checks against a registered circuit, outside any task (reverts on
        /// malformed input, as `submitZKProof` does).
        function verifyProof(bytes32 circuitId, bytes calldata zkProof, uint256[] calldata publicSignals) external view returns (bool);
        function circuitKey(bytes32 circuitId) external view returns (bytes memory);
        function devSetupsEnabled() external view returns (bool);

        event TaskCreated(uint256 indexed taskId, uint256 indexed idaoId, address indexed worker, uint8 mode, bytes32 circuitId, bytes32 inputCommitment);
        event TEEProofSubmitted(uint256 indexed taskId, address indexed worker, bytes32 resultHash);
        event ZKProofSubmitted(uint256 indexed taskId, address indexed submitter, bytes32 resultHash);
        event TaskVerified(uint256 indexed taskId, uint8 mode, bytes32 resultHash);
        event CircuitRegistered(bytes32 indexed circuitId, address indexed registrant, bool dev, uint32 publicInputs, uint32 taskSignal);
        event ModelCircuitSet(uint256 indexed modelId, bytes32 indexed circuitId, bool dev);

        error TaskNotFound(uint256 taskId);
        error InvalidMode(uint8 mode);
        error WrongMode(uint256 taskId, uint8 mode);
        error TaskNotPending(uint256 taskId, uint8 status);
        error WorkerNotAttested(uint256 idaoId, address worker);
        error NotTaskWorker(uint256 taskId, address caller);
        error BadTeeSignature(address signer);
        error AttestationMismatch(bytes32 evidenceHash);
        error CircuitNotFound(bytes32 circuitId);
        error CircuitExists(bytes32 circuitId);
        error DevSetupNotAllowed();
        error InvalidVerifyingKey(string reason);
        error InvalidProofEncoding(string reason);
        error PublicSignalsMismatch(uint256 got, uint256 want);
        error TaskNotBound(uint256 taskId, uint256 signal);
        error InputNotBound(uint256 taskId, uint256 signal);
        error CircuitModelMismatch(bytes32 circuitId, uint256 modelId);
        error NotModelController(uint256 modelId, address caller);
        error InvalidProof(uint256 taskId);
        error NotSupported();
    }
}

pub use IVerifier::{Circuit, Task};

/// The digest a TEE worker signs (EIP-191) for a task's result:
/// `keccak256(abi.encode(keccak256("LAZAI_TEE_RESULT_V1"), chainId, taskId, resultHash))`.
pub fn tee_result_digest(chain_id: u64, task: U256, result_hash: B256) -> B256 {
    keccak256(
        (
            keccak256(TEE_RESULT_DOMAIN.as_bytes()),
            U256::from(chain_id),
            task,
            result_hash,
        )
            .abi_encode(),
    )
}

/// The id of a model's proof-of-inference circuit:
/// `keccak256(abi.encode(keccak256("LAZAI_MODEL_CIRCUIT_V1"), modelId, keccak256(key)))` over
/// the key's canonical bytes. Bound to the model, so that nobody can take a model key's id
/// first by registering the same key as a plain circuit (whose id is `keccak256(key)`).
pub fn model_circuit_id(model: U256, key: &[u8]) -> B256 {
    keccak256((keccak256(b"LAZAI_MODEL_CIRCUIT_V1"), model, keccak256(key)).abi_encode())
}

/// The result hash of a ZK task: `keccak256(abi.encode(publicSignals))`.
pub fn zk_result_hash(public_signals: &[U256]) -> B256 {
    keccak256(public_signals.to_vec().abi_encode())
}
