//! The Settlement and AIProcess interfaces, their limits, and the request message a user signs
//! to let a node settle a request.

use crate::signature::parse_signature;
use alloy_primitives::{Address, B256, U256, keccak256};
use alloy_sol_types::{SolValue, sol};

/// Seconds a requested refund waits before it can be retrieved (governance may change it).
pub const DEFAULT_LOCK_TIME: u64 = 3_600;
/// Most pending refunds of one account.
pub const MAX_PENDING_REFUNDS: usize = 16;
/// Most nodes one user may have accounts with, per process.
pub const MAX_USER_NODES: usize = 64;
/// Most nodes one `retrieve*` call may name.
pub const MAX_RETRIEVE_NODES: usize = 64;
/// Most nodes one AIProcess registers.
pub const MAX_PROCESS_NODES: usize = 256;
/// Longest node URL or public key, and `SettlementData.id`, in bytes.
pub const MAX_STRING_BYTES: usize = 1024;

sol! {
    #[derive(Debug, PartialEq, Eq)]
    struct User { address addr; uint256 availableBalance; uint256 totalBalance; address[] queryNodes; address[] inferenceNodes; address[] trainingNodes; }
    #[derive(Debug, PartialEq, Eq)]
    struct Refund { uint256 index; uint256 amount; uint256 createdAt; bool processed; }
    #[derive(Debug, PartialEq, Eq)]
    struct Account { address user; address node; uint256 nonce; uint256 balance; uint256 pendingRefund; Refund[] refunds; }
    #[derive(Debug, PartialEq, Eq)]
    struct SettlementData { string id; address user; uint256 cost; uint256 nonce; bytes userSignature; }
    #[derive(Debug, PartialEq, Eq)]
    struct Settlement { bytes signature; SettlementData data; }

    /// Settlement's Solidity interface (LazAI's, plus `lockTime`/`updateLockTime`/`paused`).
    #[sol(abi)]
    #[derive(Debug, PartialEq, Eq)]
    interface ISettlement {
        function version() external pure returns (uint256);
        function query() external view returns (address);
        function updateQuery(address newQuery) external;
        function inference() external view returns (address);
        function updateInference(address newInference) external;
        function training() external view returns (address);
        function updateTraining(address newTraining) external;
        function pause() external;
        function unpause() external;
        function paused() external view returns (bool);
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
        function lockTime() external view returns (uint256);
        function updateLockTime(uint256 seconds_) external;

        event UserAdded(address indexed addr);
        event UserDeleted(address indexed addr);
        event Deposited(address indexed addr, uint256 amount);
        event Withdrawn(address indexed addr, uint256 amount);
        event Retrieved(address indexed addr, address indexed process, uint256 amount);
        event LockTimeUpdated(uint256 lockTime);
        event Paused(address account);
        event Unpaused(address account);

        error UserNotExists(address user);
        error UserAlreadyExists(address user);
        error InsufficientBalance(address user);
        error UserHasFunds(address user, uint256 totalBalance);
        error NotGovernance(address caller);
        error NotAIProcess(address caller);
        error EnforcedPause();
        error TooManyNodes(uint256 max);
        error FixedAddress(address current);
        error InvalidNode();
    }

    /// AIProcess's Solidity interface (LazAI's).
    #[sol(abi)]
    #[derive(Debug, PartialEq, Eq)]
    interface IAIProcess {
        enum NodeStatus { None, Active, Removed }
        struct NodeInfo { address nodeAddress; string url; NodeStatus status; uint256 amount; uint256 jobsCount; string publicKey; }

        function version() external pure returns (uint256);
        function pause() external;
        function unpause() external;
        function paused() external view returns (bool);
        function nodeList() external view returns (address[] memory);
        function nodeListAt(uint256 index) external view returns (NodeInfo memory);
        function nodesCount() external view returns (uint256);
        function activeNodesCount() external view returns (uint256);
        function activeNodeList() external view returns (address[] memory);
        function activeNodeListAt(uint256 index) external view returns (NodeInfo memory);
        function getNode(address nodeAddress) external view returns (NodeInfo memory);
        /// Governance only; the node must be attested now.
        function addNode(address nodeAddress, string memory url, string memory publicKey) external;
        function removeNode(address nodeAddress) external;
        function isNode(address nodeAddress) external view returns (bool);
        function settlement() external view returns (address);
        function updateSettlement(address newSettlement) external;
        function getAccount(address user, address node) external view returns (Account memory);
        function getAccountPendingRefund(address user, address node) external view returns (uint256);
        function getAllAccounts() external view returns (Account[] memory accounts);
        function accountExists(address user, address node) external view returns (bool);
        function addAccount(address user, address node) external payable;
        function deleteAccount(address user, address node) external;
        function deposit(address user, address node, uint256 cancelRetrievingAmount) external payable;
        function request(address user, address node) external;
        function process(address user, address node) external returns (uint256 totalAmount, uint256 balance, uint256 pendingRefund);
        function settlementFees(Settlement memory settlement) external;

        event NodeAdded(address indexed nodeAddress);
        event NodeRemoved(address indexed nodeAddress);
        event BalanceUpdated(address indexed user, address indexed node, uint256 amount, uint256 pendingRefund);
        event FeesSettled(address indexed user, address indexed node, uint256 cost, uint256 nonce, string id);

        error NodeAlreadyAdded();
        error NodeNotActive();
        error NodeNotAttested(address nodeAddress);
        error AccountNotExists(address user, address node);
        error AccountAlreadyExists(address user, address node);
        error InsufficientBalance(address user, address node);
        error InvalidUserSignature(bytes32 messageHash, uint256 nonce, address user, address node);
        error NonceTooLow();
        error NotSettlement(address caller);
        error NotGovernance(address caller);
        error EnforcedPause();
        error TooManyNodes(uint256 max);
        error TooManyRefunds(uint256 max);
        error StringTooLong(uint256 length, uint256 max);
        error InvalidNode();
    }
}

/// What a user signs to let `node` settle one request: `keccak256(abi.encode(nonce, user,
/// node))` (the `X-LazAI-Signature` header signs the same message, EIP-191).
pub fn user_request_message(nonce: U256, user: Address, node: Address) -> B256 {
    keccak256((nonce, user, node).abi_encode())
}

/// The signer of an EIP-191 signature over [`user_request_message`], if the signature is a
/// strict 65-byte one.
pub fn user_request_signer(
    nonce: U256,
    user: Address,
    node: Address,
    signature: &[u8],
) -> Option<Address> {
    let sig = parse_signature(signature)?;
    sig.recover_address_from_msg(user_request_message(nonce, user, node).as_slice())
        .ok()
}
