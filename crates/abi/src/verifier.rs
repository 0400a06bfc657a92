//! The Verifier module's Solidity interface: LazAI's documented `IVerifier`
//! (`submitTEEProof`, `submitZKProof`, `submitFraudProof`, `verifyResult`), an execution
//! record per task, and the registry of Groth16 circuits its ZK mode checks proofs against.

use alloy_primitives::{B256, U256, keccak256};
use alloy_sol_types::{SolValue, sol};

/// Task modes.
pub const MODE_TEE: u8 = 1;
/// A Groth16 proof over BN254 against a registered circuit.
pub const MODE_ZK: u8 = 2;
/// Optimistic: a bonded result, final unless a challenger proves it wrong within the window.
pub const MODE_OPTIMISTIC: u8 = 3;

/// Task statuses.
pub const TASK_PENDING: u8 = 1;
pub const TASK_VERIFIED: u8 = 2;
pub const TASK_REJECTED: u8 = 3;
/// An optimistic result under at least one open dispute.
pub const TASK_CHALLENGED: u8 = 4;
/// An optimistic result proven wrong (or left undefended): invalid, its worker slashed.
pub const TASK_FRAUD: u8 = 5;

/// Whose move a dispute waits for.
pub const TURN_WORKER: u8 = 1;
pub const TURN_CHALLENGER: u8 = 2;
/// Dispute outcomes.
pub const DISPUTE_OPEN: u8 = 1;
pub const DISPUTE_WORKER_WON: u8 = 2;
pub const DISPUTE_CHALLENGER_WON: u8 = 3;
/// Closed without a winner: another dispute proved the result wrong first.
pub const DISPUTE_MOOT: u8 = 4;

/// Share of a losing bond (after the user's refund) paid to the winner, in basis points; the
/// rest, with the division's remainder, is burned.
pub const WINNER_SHARE_BPS: u64 = 5_000;
/// Most registered challengers per iDAO, and so most disputes per task.
pub const MAX_CHALLENGERS: usize = 32;
/// Most layers of a model checked optimistically.
pub const MAX_OPTIMISTIC_LAYERS: usize = 64;
/// Widest layer (and input) of a model checked optimistically: one unit of it is re-executed
/// in one transaction.
pub const MAX_OPTIMISTIC_WIDTH: u32 = 4096;
/// Bounds of the per-iDAO optimistic parameters, in blocks.
pub const MAX_WINDOW_BLOCKS: u64 = 1_000_000;
/// Defaults where the iDAO's owner set none: a 64-block window, 32 blocks of clock per party,
/// 0.1 LAZAI bonded by the worker per result and 0.05 LAZAI per challenge.
pub const DEFAULT_WINDOW_BLOCKS: u64 = 64;
pub const DEFAULT_MOVE_BLOCKS: u64 = 32;
pub const DEFAULT_WORKER_BOND: u128 = 100_000_000_000_000_000;
pub const DEFAULT_CHALLENGER_BOND: u128 = 50_000_000_000_000_000;

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
    #[sol(abi)]
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
        /// An iDAO's optimistic game: the challenge window and each party's clock (blocks),
        /// the bond a worker posts with each result and the bond each challenge locks (wei).
        struct OptimisticParams { uint64 window; uint64 moveTime; uint256 workerBond; uint256 challengerBond; }
        /// A model's commitment for optimistic results: the Merkle root over its units
        /// (lazai-model's `WeightTree`) and its widths (input, then each layer's outputs).
        struct ModelWeights { bytes32 root; uint32[] widths; address setBy; }
        /// What an optimistic result commits to, with the game's terms fixed when it was
        /// posted. `inputHash` is the task's input commitment (lazai-model's
        /// `activations_hash` of the int8 input); `layerHashes` one hash per layer output,
        /// the last being the result; `inputBlob` the root of the input sealed to the
        /// iDAO's challengers. `refund`: what a proven fraud returns to `user` from the
        /// worker's bond.
        struct Optimistic { bytes32 weightsRoot; uint32[] widths; bytes32[] layerHashes; bytes32 inputBlob; address user; uint256 refund; uint64 postedAt; uint64 window; uint64 moveTime; uint256 workerBond; uint256 challengerBond; uint32 openDisputes; uint32 disputes; address slashedBy; }
        /// A registered challenger of an iDAO: its X25519 key (inputs are sealed to it) and
        /// its deposit, of which `locked` backs open disputes.
        struct Challenger { address account; bytes32 hpkeKey; uint256 deposit; uint256 locked; uint32 open; uint64 registeredAt; }
        /// One challenger's dispute of an optimistic result. `layer`: the first layer where
        /// its claim and the worker's differ; `turn`: whose move is awaited; the clocks are
        /// each party's blocks left, spent only on its own turn (chess clock).
        struct Dispute { address challenger; uint32 layer; uint8 turn; uint8 status; uint32 moves; uint64 lastMoveAt; uint64 workerClock; uint64 challengerClock; uint32 unit; int64 claimed; int64 actual; }
        /// A fraud proof: one unit of the disputed layer re-executed. `previous`: the agreed
        /// input of the layer (the int8 input for layer 0), `revealed`: the worker's
        /// revealed output of the layer, both as i64 little-endian values; `leaf` the unit's
        /// parameters opened at `index` by `path` under the weights root.
        struct OneStepProof { uint32 unit; bytes previous; bytes revealed; bytes leaf; uint256 index; bytes32[] path; }

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
        /// Optimistic mode, the last move of a dispute: `challenger` (the caller) shows with
        /// `evidence` (ABI of `OneStepProof`) that one unit of the disputed layer is not
        /// what the worker revealed. Proven: the task is `TASK_FRAUD`, the user refunded,
        /// the worker's bond paid out (`WINNER_SHARE_BPS` of the rest to `challenger`, the
        /// rest burned). A unit the worker got right reverts `NotFraud`.
        function submitFraudProof(uint256 taskId, bytes calldata evidence, address challenger) external;
        /// The iDAO owner's terms for its optimistic results (later results only).
        function setOptimisticParams(uint256 idaoId, OptimisticParams calldata params) external;
        function optimisticParams(uint256 idaoId) external view returns (OptimisticParams memory);
        /// Commits a model to its weights root and widths for optimistic results: its
        /// worker once, or its iDAO's owner (who alone replaces a commitment). Each result
        /// keeps the commitment current when it was posted.
        function setModelWeights(uint256 modelId, bytes32 root, uint32[] calldata widths) external;
        function modelWeights(uint256 modelId) external view returns (ModelWeights memory);
        /// Registers (or tops up) the caller as a challenger of an iDAO with its X25519 key;
        /// the deposit must cover one challenge bond.
        function registerChallenger(uint256 idaoId, bytes32 hpkeKey) external payable;
        /// Takes `amount` of the caller's deposit not locked by open disputes.
        function withdrawChallenger(uint256 idaoId, uint256 amount) external;
        function getChallenger(uint256 idaoId, address account) external view returns (Challenger memory);
        function challengers(uint256 idaoId) external view returns (Challenger[] memory);
        /// Opens and posts an optimistic result in one transaction, by the worker (attested
        /// now for the iDAO) with the iDAO's worker bond as value. Also finalizes up to
        /// four of the caller's earlier results whose window passed undisputed, returning
        /// their bonds. Returns the task id.
        function postOptimisticResult(uint256 idaoId, uint256 modelId, bytes32 inputHash, bytes32[] calldata layerHashes, bytes32 inputBlob, address user) external payable returns (uint256 taskId);
        /// A registered challenger disputes a result within its window with its own claim:
        /// `claim[i] = claimCommitment(chainId, taskId, challenger, its layer hash i)`.
        function challenge(uint256 taskId, bytes32[] calldata claim) external;
        /// The worker reveals a disputed layer's output (i64 little-endian values); it must
        /// hash to the layer's posted hash.
        function revealLayer(uint256 taskId, uint32 layer, bytes calldata values) external;
        /// Ends a dispute whose awaited party's clock ran out: the other party wins.
        function timeout(uint256 taskId, address challenger) external;
        /// Makes a result final once its window passed with no dispute open; the worker's
        /// bond goes back to it.
        function finalize(uint256 taskId) external;
        function getOptimistic(uint256 taskId) external view returns (Optimistic memory);
        function getDispute(uint256 taskId, address challenger) external view returns (Dispute memory);
        function disputes(uint256 taskId) external view returns (Dispute[] memory);
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
        event OptimisticParamsSet(uint256 indexed idaoId, uint64 window, uint64 moveTime, uint256 workerBond, uint256 challengerBond);
        event ModelWeightsSet(uint256 indexed modelId, bytes32 root, uint32 layers);
        event ChallengerRegistered(uint256 indexed idaoId, address indexed challenger, bytes32 hpkeKey, uint256 deposit);
        event ChallengerWithdrawn(uint256 indexed idaoId, address indexed challenger, uint256 amount);
        event OptimisticPosted(uint256 indexed taskId, uint256 indexed idaoId, address indexed worker, uint256 modelId, bytes32 resultHash, bytes32 inputBlob, uint64 window);
        event Challenged(uint256 indexed taskId, address indexed challenger, uint32 layer);
        event LayerRevealed(uint256 indexed taskId, uint32 layer, bytes values);
        event FraudProven(uint256 indexed taskId, address indexed challenger, uint32 layer, uint32 unit, int64 claimed, int64 actual);
        event DisputeResolved(uint256 indexed taskId, address indexed challenger, uint8 status);
        /// Where a settled bond went: to the winner, to the user, burned.
        event BondSettled(uint256 indexed taskId, address indexed loser, uint256 toWinner, uint256 refunded, uint256 burned);
        event OptimisticFinal(uint256 indexed taskId, address indexed worker, uint256 bondReturned);

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
        error NotIdaoOwner(uint256 idaoId, address caller);
        error InvalidParams(string reason);
        error InvalidWeights(string reason);
        error NoModelWeights(uint256 modelId);
        error WrongBond(uint256 sent, uint256 want);
        error BadTrace(string reason);
        error NotChallenger(uint256 idaoId, address caller);
        error TooManyChallengers(uint256 idaoId);
        error DepositTooLow(uint256 free, uint256 want);
        error WindowClosed(uint256 taskId, uint64 closedAt);
        error WindowOpen(uint256 taskId, uint64 closesAt);
        error DisputesOpen(uint256 taskId, uint32 open);
        error AlreadyChallenged(uint256 taskId, address challenger);
        error NoDisagreement(uint256 taskId);
        error DisputeNotFound(uint256 taskId, address challenger);
        error DisputeClosed(uint256 taskId, address challenger, uint8 status);
        error NotYourTurn(uint256 taskId, address caller);
        error ClockExpired(uint256 taskId, uint64 lastMoveAt, uint64 clock);
        error ClockRunning(uint256 taskId, uint64 leftBlocks);
        error NotDisputed(uint256 taskId, uint32 layer);
        error RevealMismatch(uint256 taskId, uint32 layer);
        error NotRevealed(uint256 taskId, uint32 layer);
        error InvalidOneStep(string reason);
        error NotFraud(uint256 taskId, uint32 unit, int64 value);
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

/// A challenger's claim about one layer, bound to the chain, the task and the challenger, so
/// that nobody can replay it in another task or copy it as their own:
/// `keccak256(abi.encode(keccak256("LAZAI_OPTIMISTIC_CLAIM_V1"), chainId, taskId, challenger,
/// layerHash))`.
pub fn claim_commitment(
    chain_id: u64,
    task: U256,
    challenger: alloy_primitives::Address,
    layer_hash: B256,
) -> B256 {
    keccak256(
        (
            keccak256(b"LAZAI_OPTIMISTIC_CLAIM_V1"),
            U256::from(chain_id),
            task,
            challenger,
            layer_hash,
        )
            .abi_encode(),
    )
}

/// The result hash of a ZK task: `keccak256(abi.encode(publicSignals))`.
pub fn zk_result_hash(public_signals: &[U256]) -> B256 {
    keccak256(public_signals.to_vec().abi_encode())
}
