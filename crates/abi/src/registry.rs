//! The DataRegistry's Solidity interface, its limits, and the proof digest its verifier nodes
//! sign.

use crate::signature::parse_signature;
use alloy_primitives::{Address, B256, keccak256};
use alloy_sol_types::{SolValue, sol};

/// Longest file URL, in bytes.
pub const MAX_URL_BYTES: usize = 1024;
/// Longest file hash string, in bytes.
pub const MAX_HASH_BYTES: usize = 256;
/// Longest sealed key of a permission, in bytes.
pub const MAX_KEY_BYTES: usize = 4096;
/// Most permissions given with `addFileWithPermissions`.
pub const MAX_PERMISSIONS: usize = 16;
/// Longest proof URL, in bytes.
pub const MAX_PROOF_URL_BYTES: usize = 1024;
/// The highest score a proof may give.
pub const MAX_SCORE: u64 = 10_000;

sol! {
    /// DataRegistry's Solidity interface (LazAI's).
    #[sol(abi)]
    #[derive(Debug, PartialEq, Eq)]
    interface IDataRegistry {
        struct ProofData { uint256 id; uint256 score; string fileUrl; string proofUrl; }
        struct Proof { bytes signature; ProofData data; }
        struct Permission { address account; string key; }
        struct FileResponse { uint256 id; address ownerAddress; string url; string hash; uint256 proofIndex; uint256 rewardAmount; }

        function name() external view returns (string memory);
        function version() external pure returns (uint256);
        function token() external view returns (address);
        function verifiedComputing() external view returns (address);
        function publicKey() external view returns (string memory);
        /// Governance or the key publisher: the PKCS#1 PEM RSA key contributors wrap a file's
        /// password to (LazAI's SDK); it must be the key of an active VerifiedComputing node
        /// attested now.
        function updatePublicKey(string calldata newPublicKey) external;
        /// The account besides governance that may `updatePublicKey` (a verifier node
        /// publishing its own key; zero: none) (ours).
        function keyPublisher() external view returns (address);
        /// Governance only (ours).
        function setKeyPublisher(address publisher) external;
        function addFile(string calldata url, string calldata hash) external returns (uint256);
        function addFileWithPermissions(string calldata url, string calldata hash, address ownerAddress, Permission[] calldata permissions) external returns (uint256);
        function addPermissionForFile(uint256 fileId, address account, string calldata key) external;
        function getFile(uint256 fileId) external view returns (FileResponse memory);
        function getFileIdByUrl(string calldata url) external view returns (uint256);
        function getFilePermission(uint256 fileId, address account) external view returns (string memory);
        function getFileProof(uint256 fileId, uint256 index) external view returns (Proof memory);
        function filesCount() external view returns (uint256);
        function addProof(uint256 fileId, Proof calldata proof) external;
        /// Whether a proof was posted for VerifiedComputing job `jobId` (ours).
        function jobProved(uint256 jobId) external view returns (bool);
        function requestReward(uint256 fileId, uint256 proofIndex) external;

        event FileAdded(uint256 indexed fileId, address indexed ownerAddress, string url);
        event ProofAdded(uint256 indexed fileId, address indexed ownerAddress, uint256 proofIndex, string proofUrl);
        event PermissionGranted(uint256 indexed fileId, address indexed account);
        event RewardRequested(address indexed contributorAddress, uint256 indexed fileId, uint256 indexed proofIndex, uint256 rewardAmount);
        event PublicKeyUpdated(string newPublicKey);
        event KeyPublisherSet(address publisher);

        error NotFileOwner();
        error FileUrlAlreadyUsed();
        error FileNotFound();
        error FileAlreadyRewarded();
        error NoPermission();
        error InvalidUrl();
        error InvalidAttestator(bytes32 messageHash, bytes signature, address signer);
        error NotGovernance(address caller);
        /// `updatePublicKey`: not a PKCS#1 PEM RSA public key of 2048 to 4096 bits.
        error InvalidRsaKey(string reason);
        /// `updatePublicKey`: no active VerifiedComputing node is attested now with this key.
        error KeyNotAttested(bytes32 keyHash);
        error ProofNotFound(uint256 fileId, uint256 index);
        error ProofFileMismatch(uint256 fileId, uint256 proofFileId);
        error InvalidScore(uint256 score, uint256 max);
        error StringTooLong(uint256 length, uint256 max);
        error TooManyPermissions(uint256 count, uint256 max);
    }
}

use IDataRegistry as R;

/// The EIP-191 (`personal_sign`) digest of a proof: `keccak256("\x19Ethereum Signed
/// Message:\n32" ‖ keccak256(abi.encode(data)))`. Returns (message hash, digest).
pub fn proof_digest(data: &R::ProofData) -> (B256, B256) {
    let message = keccak256(data.abi_encode());
    let mut prefixed = Vec::with_capacity(60);
    prefixed.extend_from_slice(b"\x19Ethereum Signed Message:\n32");
    prefixed.extend_from_slice(message.as_slice());
    (message, keccak256(prefixed))
}

/// The address that signed a proof, if its signature is a valid 65-byte ECDSA signature.
pub fn proof_signer(proof: &R::Proof) -> Option<Address> {
    let (_, digest) = proof_digest(&proof.data);
    let signature = parse_signature(proof.signature.as_ref())?;
    signature.recover_address_from_prehash(&digest).ok()
}
