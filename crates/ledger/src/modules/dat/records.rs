//! The records the DAT keeps in its storage (ABI-encoded), apart from its interface
//! (`lazai_abi::dat`).

use alloy_sol_types::sol;

sol! {
    /// The immutable part of a class.
    #[derive(Debug, PartialEq, Eq)]
    struct ClassRecord { address creator; string metadataURI; bytes32 integrityHash; uint8 unitDecimals; string policyURI; bool fungible; uint64 createdAt; }
    /// The mutable totals of a class.
    #[derive(Debug, Default, PartialEq, Eq)]
    struct ClassTotals { uint256 totalShare; uint256 totalValue; uint256 tokenCount; bool verified; }
    /// A token. `expiredNoted` is set once the `Expired` event was emitted.
    #[derive(Debug, PartialEq, Eq)]
    struct TokenRecord { uint256 classId; address owner; uint256 value; uint256 shareRatio; uint64 expireAt; uint64 mintedAt; bool expiredNoted; }
    /// A class's revenue in one asset. `acc` is wei per unit of share scaled by 1e18; `carry`
    /// the remainder of the last division, in the same scaled units.
    #[derive(Debug, Default, PartialEq, Eq)]
    struct Revenue { uint256 acc; uint256 carry; uint256 settled; uint256 claimed; }
    /// A token's position in one asset, in scaled units (wei × 1e18): `debt` is
    /// `shareRatio × acc` at its last checkpoint, `credit` what it accrued and has not claimed.
    #[derive(Debug, Default, PartialEq, Eq)]
    struct Position { uint256 debt; uint256 credit; }
}
