//! The iDAO registry's Solidity interface, its limits and role bits, and the message a
//! consensus key signs to be registered.

use alloy_primitives::{Address, U256};
use alloy_sol_types::sol;

/// Longest iDAO name, in bytes.
pub const MAX_NAME_BYTES: usize = 64;
/// Longest metadata URI, in bytes.
pub const MAX_URI_BYTES: usize = 512;
/// Longest p2p address (`host:port`), in bytes.
pub const MAX_P2P_ADDRESS_BYTES: usize = 128;
/// Most pending unbonding entries an iDAO may have at once.
pub const MAX_UNBONDINGS: usize = 16;

/// Role bit: the iDAO provides data.
pub const ROLE_DATA: u8 = 1;
/// Role bit: the iDAO trains or serves models.
pub const ROLE_MODEL: u8 = 2;
/// Role bit: the iDAO provides compute (genesis validators have this role).
pub const ROLE_COMPUTE: u8 = 4;
/// Role bit: the iDAO builds applications.
pub const ROLE_APPLICATION: u8 = 8;
/// Every defined role bit; any bit above these is refused with `InvalidRoles`.
pub const ROLES_MASK: u8 = ROLE_DATA | ROLE_MODEL | ROLE_COMPUTE | ROLE_APPLICATION;

/// Namespace of the proof-of-possession signature of a consensus key.
pub const CONSENSUS_KEY_NAMESPACE: &[u8] = b"LAZAI_CONSENSUS_KEY";

/// The message a consensus key signs (under [`CONSENSUS_KEY_NAMESPACE`]) to be registered to
/// an iDAO: `chain_id` (8 bytes big-endian) ‖ `idao_id` (32 bytes big-endian) ‖ `owner`
/// (20 bytes) ‖ `key` (32 bytes) — 92 bytes.
pub fn consensus_key_message(
    chain_id: u64,
    idao_id: U256,
    owner: Address,
    key: &[u8; 32],
) -> Vec<u8> {
    let mut msg = Vec::with_capacity(92);
    msg.extend_from_slice(&chain_id.to_be_bytes());
    msg.extend_from_slice(&idao_id.to_be_bytes::<32>());
    msg.extend_from_slice(owner.as_slice());
    msg.extend_from_slice(key);
    msg
}

sol! {
    /// The iDAO registry's Solidity interface.
    #[sol(abi)]
    #[derive(Debug, PartialEq, Eq)]
    interface IIdaoRegistry {
        /// An iDAO. `roles` is a bitmask (DATA=1, MODEL=2, COMPUTE=4, APPLICATION=8);
        /// `consensusKey` is zero when none is registered; `unbonding` is the sum of its
        /// pending unbonding entries; a `jailed` iDAO is never elected again.
        struct Idao { uint256 id; address owner; string name; string metadataUri; uint8 roles; bytes32 consensusKey; string p2pAddress; uint256 bonded; uint256 unbonding; bool jailed; }
        /// A member of an epoch's validator set; `stake` is its bonded stake when elected.
        struct Validator { uint256 idaoId; address owner; bytes32 consensusKey; string p2pAddress; uint256 stake; }
        /// A recorded equivocation. `kind`: 0 conflicting notarize, 1 conflicting finalize,
        /// 2 nullify and finalize in the same view. `height` is the block that recorded it.
        struct Evidence { bytes32 consensusKey; uint256 idaoId; uint64 epoch; uint64 view; uint8 kind; uint256 slashed; uint64 height; }
        /// A pending unbonding: `amount` wei withdrawable from `releaseHeight` on.
        struct Unbonding { uint256 amount; uint64 releaseHeight; }

        function name() external view returns (string memory);
        function version() external pure returns (uint256);
        /// Registers an iDAO owned by the caller, with no roles; ids start at 1. Not payable.
        function registerIdao(string calldata name, string calldata metadataUri) external returns (uint256 idaoId);
        /// Registers an iDAO owned by the caller with the given roles.
        function registerIdao(string calldata name, string calldata metadataUri, uint8 roles) external returns (uint256 idaoId);
        /// Owner only: replaces the metadata URI.
        function updateMetadata(uint256 idaoId, string calldata metadataUri) external;
        /// Owner only: replaces the roles bitmask.
        function setRoles(uint256 idaoId, uint8 roles) external;
        /// Owner only, payable: adds `msg.value` to the iDAO's bonded stake.
        function bond(uint256 idaoId) external payable;
        /// Owner only: moves `amount` of bonded stake to an unbonding entry released at
        /// `block.height + unbonding_delay`.
        function unbond(uint256 idaoId, uint256 amount) external;
        /// Owner only: pays every matured unbonding entry to the owner; returns the total.
        function withdrawUnbonded(uint256 idaoId) external returns (uint256 amount);
        /// Owner only, once per iDAO: registers the ed25519 consensus key, proven by its
        /// signature over `consensus_key_message` under namespace `LAZAI_CONSENSUS_KEY`.
        function registerConsensusKey(uint256 idaoId, bytes32 consensusKey, string calldata p2pAddress, bytes calldata signature) external;
        /// Owner only: replaces the p2p address (`host:port`).
        function setP2pAddress(uint256 idaoId, string calldata p2pAddress) external;
        function getIdao(uint256 idaoId) external view returns (Idao memory);
        function idaoCount() external view returns (uint256);
        function stakeOf(uint256 idaoId) external view returns (uint256 bonded, uint256 unbonding);
        function getUnbondings(uint256 idaoId) external view returns (Unbonding[] memory);
        /// The epoch of the block this call executes in.
        function currentEpoch() external view returns (uint256);
        function epochLength() external view returns (uint256);
        /// The most recently elected set and the epoch it is for.
        function validatorSet() external view returns (uint256 epoch, Validator[] memory validators);
        function evidenceCount() external view returns (uint256);
        function getEvidence(uint256 index) external view returns (Evidence memory);

        event IdaoRegistered(uint256 indexed idaoId, address indexed owner, string name);
        event IdaoMetadataUpdated(uint256 indexed idaoId, string metadataUri);
        event RolesUpdated(uint256 indexed idaoId, uint8 roles);
        event StakeBonded(uint256 indexed idaoId, uint256 amount, uint256 bonded);
        event UnbondingStarted(uint256 indexed idaoId, uint256 amount, uint64 releaseHeight);
        event UnbondedWithdrawn(uint256 indexed idaoId, uint256 amount);
        event ConsensusKeyRegistered(uint256 indexed idaoId, bytes32 consensusKey, string p2pAddress);
        event P2pAddressUpdated(uint256 indexed idaoId, string p2pAddress);

        error IdaoNotFound(uint256 idaoId);
        error NotIdaoOwner(uint256 idaoId, address caller);
        error InvalidName();
        error MetadataUriTooLong(uint256 length, uint256 max);
        error InvalidRoles(uint8 roles);
        error ZeroAmount();
        error InsufficientBond(uint256 bonded, uint256 requested);
        error TooManyUnbondings(uint256 max);
        error NothingToWithdraw();
        error IdaoJailed(uint256 idaoId);
        error ConsensusKeyAlreadySet(uint256 idaoId);
        error ConsensusKeyTaken(bytes32 key, uint256 holder);
        error InvalidConsensusKeySignature();
        error InvalidP2pAddress();
        error EvidenceNotFound(uint256 index);
    }
}

/// Checks a `host:port` p2p address: non-empty, at most [`MAX_P2P_ADDRESS_BYTES`], printable
/// ASCII without spaces, a non-empty host and a decimal port in 1..=65535.
pub fn valid_p2p_address(addr: &str) -> bool {
    if addr.is_empty() || addr.len() > MAX_P2P_ADDRESS_BYTES {
        return false;
    }
    if !addr.bytes().all(|b| b.is_ascii_graphic()) {
        return false;
    }
    let Some((host, port)) = addr.rsplit_once(':') else {
        return false;
    };
    !host.is_empty()
        && !port.is_empty()
        && port.len() <= 5
        && port.bytes().all(|b| b.is_ascii_digit())
        && port.parse::<u16>().is_ok_and(|p| p != 0)
}
