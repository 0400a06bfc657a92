//! What execution may depend on besides state: the block's environment and the equivocation
//! evidence it carries. Every module call and block-level rule reads the block through here.

use alloy_primitives::{Address, B256};

/// Everything about the block that execution may depend on (no clocks, no randomness).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BlockEnv {
    pub chain_id: u64,
    pub height: u64,
    /// Hash of the parent block: the randomness modules draw from (the VSC's quorum choice).
    /// A proposer knows it before proposing, so it is unpredictable only to those who submit
    /// transactions before the parent is final.
    pub parent_hash: B256,
    pub timestamp_ms: u64,
    /// Fee recipient of the proposer.
    pub proposer: Address,
    pub base_fee: u64,
    pub gas_limit: u64,
    /// Equivocations (verified by the consensus layer) this block records and slashes before
    /// its transactions; see [`crate::staking`]. Only `execute_block` and `build_block` apply
    /// them (`apply` and `call` do not).
    pub evidence: Vec<Equivocation>,
}

/// Equivocation kind: two conflicting notarize votes in one view.
pub const EQUIVOCATION_CONFLICTING_NOTARIZE: u8 = 0;
/// Equivocation kind: two conflicting finalize votes in one view.
pub const EQUIVOCATION_CONFLICTING_FINALIZE: u8 = 1;
/// Equivocation kind: a nullify and a finalize vote in one view.
pub const EQUIVOCATION_NULLIFY_FINALIZE: u8 = 2;

/// Proof, already verified by the consensus layer, that a consensus key equivocated.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Equivocation {
    pub consensus_key: [u8; 32],
    pub epoch: u64,
    pub view: u64,
    /// One of the `EQUIVOCATION_*` kinds.
    pub kind: u8,
}
