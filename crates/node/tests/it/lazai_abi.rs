//! LazAI's contracts as `lazai-abi.md` documents them (its struct and function names), declared
//! here as `sol!` clients — not imported from `lazai_ledger` — so the tests that use them check
//! the documented surface. Shared by the node's and the CLI's integration tests.

#![allow(dead_code)]

use alloy::providers::DynProvider;
use alloy::sol;
use alloy_primitives::{Address, address};

sol! {
    /// LazAI's DataRegistry, as `lazai-abi.md` documents it.
    #[sol(rpc)]
    #[derive(Debug, PartialEq, Eq)]
    interface DataRegistry {
        struct ProofData { uint256 id; uint256 score; string fileUrl; string proofUrl; }
        struct Proof { bytes signature; ProofData data; }
        struct Permission { address account; string key; }
        struct FileResponse { uint256 id; address ownerAddress; string url; string hash; uint256 proofIndex; uint256 rewardAmount; }

        function name() external view returns (string memory);
        function version() external pure returns (uint256);
        function token() external view returns (address);
        function verifiedComputing() external view returns (address);
        function publicKey() external view returns (string memory);
        function updatePublicKey(string calldata newPublicKey) external;
        function addFile(string calldata url, string calldata hash) external returns (uint256);
        function addFileWithPermissions(string calldata url, string calldata hash, address ownerAddress, Permission[] calldata permissions) external returns (uint256);
        function addPermissionForFile(uint256 fileId, address account, string calldata key) external;
        function getFile(uint256 fileId) external view returns (FileResponse memory);
        function getFileIdByUrl(string calldata url) external view returns (uint256);
        function getFilePermission(uint256 fileId, address account) external view returns (string memory);
        function getFileProof(uint256 fileId, uint256 index) external view returns (Proof memory);
        function filesCount() external view returns (uint256);
        function addProof(uint256 fileId, Proof calldata proof) external;
        function requestReward(uint256 fileId, uint256 proofIndex) external;

        event FileAdded(uint256 indexed fileId, address indexed ownerAddress, string url);
        event ProofAdded(uint256 indexed fileId, address indexed ownerAddress, uint256 proofIndex, string proofUrl);
        event PermissionGranted(uint256 indexed fileId, address indexed account);
        event RewardRequested(address indexed contributorAddress, uint256 indexed fileId, uint256 indexed proofIndex, uint256 rewardAmount);
        event PublicKeyUpdated(string newPublicKey);

        error NotFileOwner();
        error FileUrlAlreadyUsed();
        error FileNotFound();
        error FileAlreadyRewarded();
        error NoPermission();
        error InvalidUrl();
        error InvalidAttestator(bytes32 messageHash, bytes signature, address signer);
    }
}

sol! {
    /// LazAI's VerifiedComputing, as `lazai-abi.md` documents it, plus the one error its
    /// governance check needs (`NotGovernance`).
    #[sol(rpc)]
    #[derive(Debug, PartialEq, Eq)]
    interface VerifiedComputing {
        enum NodeStatus { None, Active, Removed }
        struct NodeInfo { address nodeAddress; string url; NodeStatus status; uint256 amount; uint256 jobsCount; string publicKey; }
        enum JobStatus { None, Submitted, Completed, Canceled }
        struct Job { uint256 fileId; uint256 bidAmount; JobStatus status; uint256 addedTimestamp; address ownerAddress; address nodeAddress; }

        function version() external pure returns (uint256);
        function nodeFee() external view returns (uint256);
        function updateNodeFee(uint256 newNodeFee) external;
        function nodeList() external view returns (address[] memory);
        function nodeListAt(uint256 index) external view returns (NodeInfo memory);
        function nodesCount() external view returns (uint256);
        function activeNodesCount() external view returns (uint256);
        function activeNodeList() external view returns (address[] memory);
        function activeNodeListAt(uint256 index) external view returns (NodeInfo memory);
        function getNode(address nodeAddress) external view returns (NodeInfo memory);
        function addNode(address nodeAddress, string calldata url, string calldata publicKey) external;
        function removeNode(address nodeAddress) external;
        function isNode(address nodeAddress) external view returns (bool);
        function requestProof(uint256 fileId) external payable;
        function submitJob(uint256 fileId) external payable;
        function completeJob(uint256 jobId) external;
        function fileJobIds(uint256 fileId) external view returns (uint256[] memory);
        function jobsCount() external view returns (uint256);
        function getJob(uint256 jobId) external view returns (Job memory);
        function claim() external;
        function pause() external;
        function unpause() external;

        event NodeAdded(address indexed nodeAddress);
        event NodeRemoved(address indexed nodeAddress);
        event JobSubmitted(uint256 indexed jobId, uint256 indexed fileId, address nodeAddress, uint256 bidAmount);
        event JobCanceled(uint256 indexed jobId);
        event JobComplete(address indexed attestator, uint256 indexed jobId, uint256 indexed fileId);
        event Claimed(address indexed nodeAddress, uint256 amount);

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
    }
}

sol! {
    /// The DAT views the reward is checked with, and the legacy mint's event.
    #[sol(rpc)]
    interface DataAnchoringToken {
        event TokenMinted(address indexed to, uint256 indexed tokenId, string tokenURI);
        function balanceOf(address account, uint256 id) external view returns (uint256);
        function uri(uint256 id) external view returns (string memory);
        function verified(uint256 id) external view returns (bool);
    }
}

sol! {
    /// LazAI's Settlement, as `lazai-abi.md` documents it (the SDK's paying path).
    #[sol(rpc)]
    #[derive(Debug, PartialEq, Eq)]
    interface Settlement {
        struct User { address addr; uint256 availableBalance; uint256 totalBalance; address[] queryNodes; address[] inferenceNodes; address[] trainingNodes; }

        function version() external pure returns (uint256);
        function query() external view returns (address);
        function inference() external view returns (address);
        function training() external view returns (address);
        function getUser(address user) external view returns (User memory);
        function getAllUsers() external view returns (User[] memory users);
        function addUser() external payable;
        function deleteUser() external;
        function deposit() external payable;
        function withdraw(uint256 amount) external;
        function depositQuery(address node, uint256 amount) external;
        function depositInference(address node, uint256 amount) external;
        function depositTraining(address node, uint256 amount) external;
        function retrieveQuery(address[] memory nodes) external;
        function retrieveInference(address[] memory nodes) external;
        function retrieveTraining(address[] memory nodes) external;
        function settlement(address addr, uint256 cost) external;
    }
}

sol! {
    /// LazAI's AIProcess (query, inference and training share it), as `lazai-abi.md` documents it.
    #[sol(rpc)]
    #[derive(Debug, PartialEq, Eq)]
    interface AIProcess {
        enum NodeStatus { None, Active, Removed }
        struct NodeInfo { address nodeAddress; string url; NodeStatus status; uint256 amount; uint256 jobsCount; string publicKey; }
        struct Refund { uint256 index; uint256 amount; uint256 createdAt; bool processed; }
        struct Account { address user; address node; uint256 nonce; uint256 balance; uint256 pendingRefund; Refund[] refunds; }
        struct SettlementData { string id; address user; uint256 cost; uint256 nonce; bytes userSignature; }
        struct Settlement { bytes signature; SettlementData data; }

        function version() external pure returns (uint256);
        function nodeList() external view returns (address[] memory);
        function activeNodeList() external view returns (address[] memory);
        function getNode(address nodeAddress) external view returns (NodeInfo memory);
        function addNode(address nodeAddress, string memory url, string memory publicKey) external;
        function removeNode(address nodeAddress) external;
        function isNode(address nodeAddress) external view returns (bool);
        function settlement() external view returns (address);
        function getAccount(address user, address node) external view returns (Account memory);
        function getAccountPendingRefund(address user, address node) external view returns (uint256);
        function getAllAccounts() external view returns (Account[] memory accounts);
        function accountExists(address user, address node) external view returns (bool);
        function settlementFees(Settlement memory settlement) external;

        error NonceTooLow();
        error InvalidUserSignature(bytes32 messageHash, uint256 nonce, address user, address node);
    }
}

pub const REGISTRY: Address = address!("0xEAd077726dC83ecF385e3763ed4A0A50E8Ac5AA0");
pub const VERIFIED: Address = address!("0x815da22D880E3560bCEcc85b6e4938b30c8202C4");
pub const DAT: Address = address!("0x2eD344c586303C98FC3c6D5B42C5616ED42f9D9d");
pub const SETTLEMENT: Address = address!("0xBE94646A0C6C1032c289Eea47169798e09dB5299");
pub const QUERY: Address = address!("0xE747fd70269a8a540403ddE802D6906CB18C9F50");
pub const INFERENCE: Address = address!("0xbb969eaafB3A7124b8dCdf9a6d5Cd5BAa0381361");
pub const TRAINING: Address = address!("0xb578AB78bb4780D9007Cc836b358468467814B3E");

pub type Registry = DataRegistry::DataRegistryInstance<DynProvider>;
pub type Verified = VerifiedComputing::VerifiedComputingInstance<DynProvider>;
pub type Dat = DataAnchoringToken::DataAnchoringTokenInstance<DynProvider>;
