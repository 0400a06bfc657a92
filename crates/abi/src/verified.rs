//! VerifiedComputing's Solidity interface and limits.

use alloy_sol_types::sol;

/// Most nodes ever registered.
pub const MAX_NODES: usize = 256;
/// Most jobs one file may have.
pub const MAX_JOBS_PER_FILE: usize = 32;
/// Longest node URL or public key, in bytes.
pub const MAX_NODE_STRING_BYTES: usize = 1024;

sol! {
    /// VerifiedComputing's Solidity interface (LazAI's, plus `cancelJob`).
    #[sol(abi)]
    #[derive(Debug, PartialEq, Eq)]
    interface IVerifiedComputing {
        enum NodeStatus { None, Active, Removed }
        struct NodeInfo { address nodeAddress; string url; NodeStatus status; uint256 amount; uint256 jobsCount; string publicKey; }
        enum JobStatus { None, Submitted, Completed, Canceled }
        struct Job { uint256 fileId; uint256 bidAmount; JobStatus status; uint256 addedTimestamp; address ownerAddress; address nodeAddress; }

        function version() external pure returns (uint256);
        function nodeFee() external view returns (uint256);
        /// Governance only.
        function updateNodeFee(uint256 newNodeFee) external;
        function nodeList() external view returns (address[] memory);
        function nodeListAt(uint256 index) external view returns (NodeInfo memory);
        function nodesCount() external view returns (uint256);
        function activeNodesCount() external view returns (uint256);
        function activeNodeList() external view returns (address[] memory);
        function activeNodeListAt(uint256 index) external view returns (NodeInfo memory);
        function getNode(address nodeAddress) external view returns (NodeInfo memory);
        /// Governance only; the node must be attested now. `publicKey` must be the PKCS#1 PEM
        /// of the RSA key its evidence binds, when it binds one; otherwise it is ignored and
        /// the HPKE key's hex is recorded.
        function addNode(address nodeAddress, string calldata url, string calldata publicKey) external;
        /// The caller registers itself (or refreshes its evidence) as a node of an iDAO with
        /// TEE evidence that passes the iDAO's policy. `rsaPublicKey` is a PKCS#1 PEM RSA
        /// key (2048 to 4096 bits) the evidence binds too, or empty; the node's `publicKey`
        /// becomes that key (as LazAI's SDK reads it), or the HPKE key's hex without one.
        function registerAttestedNode(uint256 idaoId, string calldata url, bytes32 hpkePublicKey, string calldata rsaPublicKey, bytes calldata evidence, bytes calldata collateral) external returns (uint64 expiresAt);
        /// Whether the node would be assigned jobs now (active and attested).
        function isAssignable(address nodeAddress) external view returns (bool);
        /// Governance only: whether nodes may register themselves with evidence that passes
        /// this iDAO's TEE policy (`registerAttestedNode`).
        function allowNodeIdao(uint256 idaoId, bool allowed) external;
        function nodeIdaoAllowed(uint256 idaoId) external view returns (bool);
        /// The iDAO whose TEE policy a node is judged by (0: none).
        function nodeIdao(address nodeAddress) external view returns (uint256);
        /// Governance only.
        function removeNode(address nodeAddress) external;
        function isNode(address nodeAddress) external view returns (bool);
        /// Payable (at least `nodeFee`): a proof job for a registered file.
        function requestProof(uint256 fileId) external payable;
        /// The same as `requestProof`.
        function submitJob(uint256 fileId) external payable;
        /// The job's assigned node only, after its proof was added to the DataRegistry.
        function completeJob(uint256 jobId) external;
        /// The job's owner only, while it is submitted: refunds the bid.
        function cancelJob(uint256 jobId) external;
        function fileJobIds(uint256 fileId) external view returns (uint256[] memory);
        function jobsCount() external view returns (uint256);
        function getJob(uint256 jobId) external view returns (Job memory);
        /// A node withdraws everything it earned.
        function claim() external;
        /// Governance only.
        function pause() external;
        /// Governance only.
        function unpause() external;
        function paused() external view returns (bool);

        event NodeAdded(address indexed nodeAddress);
        event NodeRemoved(address indexed nodeAddress);
        event NodeIdaoAllowed(uint256 indexed idaoId, bool allowed);
        event NodeFeeUpdated(uint256 newNodeFee);
        event JobSubmitted(uint256 indexed jobId, uint256 indexed fileId, address nodeAddress, uint256 bidAmount);
        event JobCanceled(uint256 indexed jobId);
        event JobComplete(address indexed attestator, uint256 indexed jobId, uint256 indexed fileId);
        event Claimed(address indexed nodeAddress, uint256 amount);
        event Paused(address account);
        event Unpaused(address account);

        error NodeAlreadyAdded();
        error NodeNotActive();
        error InvalidJobStatus();
        error InvalidJobNode();
        error NothingToClaim();
        error InsufficientFee();
        error NoActiveNode();
        error NotJobOwner();
        error TransferFailed();
        error NotGovernance(address caller);
        error EnforcedPause();
        error FileNotFound();
        error NoProofForJob(uint256 jobId);
        error TooManyNodes(uint256 max);
        error TooManyJobs(uint256 fileId, uint256 max);
        error InvalidNode();
        error StringTooLong(uint256 length, uint256 max);
        error NodeNotAttested(address nodeAddress);
        error NoAttestedNode();
        error IdaoNotAllowed(uint256 idaoId);
        error NodeRemovedByGovernance(address nodeAddress);
        /// Not a PKCS#1 PEM RSA public key of 2048 to 4096 bits.
        error InvalidRsaKey(string reason);
        /// `addNode`'s key is not the RSA key the node's evidence binds.
        error RsaKeyNotAttested(address nodeAddress);
    }
}
