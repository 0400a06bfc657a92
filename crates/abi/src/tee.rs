//! The TEE part of the iDAO registry's interface (policies and attestations) and its limits.

use alloy_sol_types::sol;

/// Most measurement hashes in one policy.
pub const MAX_POLICY_MEASUREMENTS: usize = 64;
/// Longest evidence age a policy may allow: one year.
pub const MAX_EVIDENCE_AGE: u64 = 366 * 24 * 3600;

sol! {
    /// The TEE part of the iDAO registry.
    #[sol(abi)]
    #[derive(Debug, PartialEq, Eq)]
    interface ITeeRegistry {
        struct TeePolicy { uint32 platforms; bytes32[] measurements; uint8 minTcbStatus; uint64 maxEvidenceAge; }
        /// `rsaKeyHash`: keccak256 of the PKCS#1 DER of the RSA key the evidence also binds
        /// (`VerifiedComputing.registerAttestedNode` with an RSA key); zero when none.
        struct Attestation { uint8 platform; bytes32 measurementHash; uint8 tcbStatus; uint64 issuedAt; uint64 notAfter; bytes32 hpkePublicKey; bytes32 evidenceHash; uint64 attestedAt; bytes32 rsaKeyHash; }

        /// iDAO owner only.
        function setTeePolicy(uint256 idaoId, TeePolicy policy) external;
        /// Reverts `NoTeePolicy` when none is set.
        function teePolicy(uint256 idaoId) external view returns (TeePolicy memory);
        /// The caller (a node) attests for an iDAO; returns when its evidence expires under
        /// the current policy.
        function submitAttestation(uint256 idaoId, bytes32 hpkePublicKey, bytes evidence, bytes collateral) external returns (uint64 expiresAt);
        /// Reverts `NotAttested` when the node never attested for the iDAO.
        function attestationOf(uint256 idaoId, address node) external view returns (Attestation memory);
        /// Until when the node's attestation passes the iDAO's current policy; 0 when it does
        /// not pass now.
        function attestedUntil(uint256 idaoId, address node) external view returns (uint64);
        function isAttested(uint256 idaoId, address node) external view returns (bool);
        /// The iDAO the node last attested for (0: none).
        function attestedIdaoOf(address node) external view returns (uint256);
        function devTeeEnabled() external view returns (bool);

        event TeePolicySet(uint256 indexed idaoId, uint32 platforms, uint256 measurements, uint8 minTcbStatus, uint64 maxEvidenceAge);
        /// `platformName` is "dev" for the simulated TEE.
        event NodeAttested(uint256 indexed idaoId, address indexed node, uint8 platform, string platformName, bytes32 measurementHash, uint8 tcbStatus, uint64 expiresAt);

        error NoTeePolicy(uint256 idaoId);
        error InvalidTeePolicy(string reason);
        error AttestationRefused(string reason);
        error NotAttested(uint256 idaoId, address node);
    }
}

pub use ITeeRegistry::{Attestation, TeePolicy};
