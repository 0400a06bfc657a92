//! The stake-elected validator set: epochs, election and equivocation slashing.
//!
//! Everything here is consensus-critical: integer arithmetic only, no iteration over unordered
//! collections, and no input (state, evidence, parameters) makes it panic.
//!
//! # The exact rule
//!
//! Let `L` = `staking.epoch_length`, `K` = `staking.max_validators`, `min` =
//! `staking.min_validator_stake` and `bps` = `staking.slash_bps` from the genesis document.
//!
//! 1. **Epochs.** Epoch `e` covers heights `[e·L, (e+1)·L − 1]`; epoch 0 includes genesis
//!    (height 0). A block at height `h` is the last of its epoch when `h mod L = L − 1`.
//! 2. **Evidence** (before a block's transactions). Each [`Equivocation`] of the block's
//!    [`BlockEnv::evidence`] is taken in order. It is skipped, with no effect at all, when its
//!    kind is not 0, 1 or 2, when no iDAO holds its consensus key, or when an equivocation with
//!    the same (key, epoch, view) was already recorded. Otherwise it is recorded (appended to
//!    the evidence list, indexes from 0, with the block's height), the holding iDAO is jailed,
//!    and `⌊(bonded + unbonding) · bps / 10000⌋` wei of its stake is burned: taken from its
//!    bonded stake first, then from its unbonding entries oldest first, moved out of the
//!    registry's balance into the `burned` counter. The remainder of the division is not
//!    slashed; it stays with the iDAO. A jailed iDAO is never elected again (there is no unjail
//!    yet); it can still unbond and withdraw what is left. Each further distinct
//!    (key, epoch, view) of an already jailed iDAO is recorded and slashed again.
//! 3. **Election** (after the transactions of a block that is the last of epoch `e`, before the
//!    state root is sealed). The candidates are the iDAOs that have a consensus key, are not
//!    jailed and have `bonded ≥ min`. They are ordered by bonded stake descending, ties by iDAO
//!    id ascending, and the first `K` form the set of epoch `e + 1`, each with `stake` = its
//!    bonded stake at that moment (and its owner and p2p address at that moment). If no iDAO
//!    qualifies, the previous set is kept: it is stored again, unchanged, as the set of epoch
//!    `e + 1`, so the chain never loses its validators.
//! 4. **Genesis.** Genesis validator `i` (1-based, in genesis order) is iDAO `i`: named after
//!    the validator, owned by its `owner` (or its `fee_recipient`), roles COMPUTE, its consensus
//!    key and p2p address, `bonded` = its stake. The sum of the stakes is credited to the
//!    registry's balance. The set of epoch 0 is elected from them by rule 3.
//!
//! Consequences: bonding, unbonding, key registration and jailing change the set only at the
//! next epoch boundary; the set of a running epoch never changes. Stake that starts unbonding in
//! epoch `e` stops counting at the end of epoch `e`, and stays slashable until it is withdrawn.
//!
//! The ledger does not check equivocation evidence: the consensus layer verifies the
//! conflicting signatures before it puts an [`Equivocation`] into a block's environment.

use super::storage::{self as idao, Direct, Slots};
use crate::env::BlockEnv;
use crate::kernel::ModuleError;
use crate::state::State;
use alloy_primitives::{Address, B256, U256};
use lazai_abi::IDAO_REGISTRY_ADDRESS;
use lazai_abi::idao::{IIdaoRegistry, ROLE_COMPUTE};
use lazai_types::{Genesis, MAX_BPS, StakingParams, decode_hex32};

pub use crate::env::{
    EQUIVOCATION_CONFLICTING_FINALIZE, EQUIVOCATION_CONFLICTING_NOTARIZE,
    EQUIVOCATION_NULLIFY_FINALIZE, Equivocation,
};

/// A member of an epoch's validator set.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ActiveValidator {
    pub idao_id: U256,
    /// The iDAO's owner: the fee recipient of the blocks this validator proposes.
    pub owner: Address,
    /// Its ed25519 consensus public key.
    pub consensus_key: [u8; 32],
    /// `host:port` of its p2p listener (may be empty for genesis validators without one).
    pub p2p_address: String,
    /// Its bonded stake when the set was elected.
    pub stake: U256,
}

impl From<&IIdaoRegistry::Validator> for ActiveValidator {
    fn from(v: &IIdaoRegistry::Validator) -> Self {
        Self {
            idao_id: v.idaoId,
            owner: v.owner,
            consensus_key: v.consensusKey.0,
            p2p_address: v.p2pAddress.clone(),
            stake: v.stake,
        }
    }
}

impl From<&ActiveValidator> for IIdaoRegistry::Validator {
    fn from(v: &ActiveValidator) -> Self {
        Self {
            idaoId: v.idao_id,
            owner: v.owner,
            consensusKey: B256::from(v.consensus_key),
            p2pAddress: v.p2p_address.clone(),
            stake: v.stake,
        }
    }
}

/// The epoch of a height. A length of 0 is treated as 1 (genesis validation refuses lengths
/// below 2; this only keeps the function total).
pub fn epoch_of(height: u64, epoch_length: u64) -> u64 {
    height / epoch_length.max(1)
}

/// Whether `height` is the last block of its epoch (the block after which the next epoch's set
/// is elected).
pub fn is_last_of_epoch(height: u64, epoch_length: u64) -> bool {
    let length = epoch_length.max(1);
    height % length == length - 1
}

/// The first height of `epoch` (saturating at `u64::MAX`).
pub fn epoch_start(epoch: u64, epoch_length: u64) -> u64 {
    epoch.saturating_mul(epoch_length.max(1))
}

/// The election of rule 3 over already-eligible iDAOs (with a consensus key and not jailed),
/// each given with `stake` = its bonded stake: keeps those with `stake ≥ min_validator_stake`,
/// orders them by stake descending then iDAO id ascending, and returns the first
/// `max_validators`. Empty when none qualifies (the caller then keeps the previous set).
pub fn elect(
    candidates: impl IntoIterator<Item = ActiveValidator>,
    params: &StakingParams,
) -> Vec<ActiveValidator> {
    let mut set: Vec<ActiveValidator> = candidates
        .into_iter()
        .filter(|c| c.stake >= params.min_validator_stake)
        .collect();
    set.sort_by(|a, b| b.stake.cmp(&a.stake).then(a.idao_id.cmp(&b.idao_id)));
    set.truncate(usize::try_from(params.max_validators).unwrap_or(usize::MAX));
    set
}

/// The stake an equivocation burns: `⌊total · bps / 10000⌋`, with `bps` capped at 10000.
pub fn slash_amount(total: U256, slash_bps: u32) -> U256 {
    let bps = U256::from(slash_bps.min(MAX_BPS));
    let whole = U256::from(MAX_BPS);
    match total.checked_mul(bps) {
        Some(product) => product / whole,
        // Unreachable with a real supply; stays total and never exceeds `total`.
        None => total / whole * bps,
    }
}

/// The stored validator set and the epoch it is for: the set elected at genesis or at the
/// most recent epoch boundary. `(0, [])` for a state without one. The consensus layer reads
/// this after each finalized block; the set for epoch `e + 1` appears once the last block of
/// epoch `e` is applied.
pub fn validator_set(state: &State) -> (u64, Vec<ActiveValidator>) {
    let raw = state.module_get(&IDAO_REGISTRY_ADDRESS, idao::VALIDATORS_SLOT);
    match idao::decode_validator_set(&raw) {
        Some((epoch, validators)) => (epoch, validators.iter().map(Into::into).collect()),
        None => (0, Vec::new()),
    }
}

/// The iDAO holding a consensus key, if any.
pub fn idao_of_consensus_key(state: &State, key: &[u8; 32]) -> Option<U256> {
    let raw = state.module_get(&IDAO_REGISTRY_ADDRESS, &idao::key_slot(key));
    (!raw.is_empty() && raw.len() <= 32).then(|| U256::from_be_slice(&raw))
}

/// Rule 2: records, jails and slashes for each new equivocation of the block. Runs before the
/// block's transactions.
pub(crate) fn begin_block(state: &mut State, env: &BlockEnv, params: &StakingParams) {
    for evidence in &env.evidence {
        // Each item applies whole or not at all (an error can only come from unreadable
        // storage, which the registry never writes).
        let mut scratch = state.clone();
        if apply_equivocation(&mut scratch, env.height, evidence, params).is_ok() {
            *state = scratch;
        }
    }
}

/// Rule 3: after the block's transactions, elects the next epoch's set at an epoch's last
/// block.
pub(crate) fn end_block(state: &mut State, env: &BlockEnv, params: &StakingParams) {
    if is_last_of_epoch(env.height, params.epoch_length) {
        let next = epoch_of(env.height, params.epoch_length).saturating_add(1);
        store_election(state, next, params);
    }
}

/// Rule 4: registers the genesis validators as iDAOs, credits their stakes to the registry and
/// elects the set of epoch 0.
pub(crate) fn register_genesis_validators(state: &mut State, genesis: &Genesis) {
    let mut total = U256::ZERO;
    {
        let mut s = Direct(state);
        for (i, v) in genesis.validators.iter().enumerate() {
            let id = U256::from(i).saturating_add(U256::from(1));
            // A key that does not decode, is zero or is already taken (all refused by
            // `Genesis::validate`) leaves the iDAO without a key rather than failing.
            let key = decode_hex32(&v.consensus_key)
                .ok()
                .filter(|k| *k != [0u8; 32])
                .filter(|k| matches!(idao::key_holder(&mut s, k), Ok(None)));
            let record = IIdaoRegistry::Idao {
                id,
                owner: v.owner.unwrap_or(v.fee_recipient),
                name: v.name.clone(),
                metadataUri: String::new(),
                roles: ROLE_COMPUTE,
                consensusKey: key.map(B256::from).unwrap_or_default(),
                p2pAddress: v.p2p_addr.clone().unwrap_or_default(),
                bonded: v.stake,
                unbonding: U256::ZERO,
                jailed: false,
            };
            // `Direct` never fails.
            let _ = idao::store_idao(&mut s, &record);
            if let Some(key) = key {
                let _ = idao::index_key(&mut s, id, &key);
            }
            total = total.saturating_add(v.stake);
        }
        let _ = idao::set_idao_count(&mut s, U256::from(genesis.validators.len()));
    }
    if !total.is_zero() {
        let mut registry = state.account(&IDAO_REGISTRY_ADDRESS);
        registry.balance = registry.balance.saturating_add(total);
        state.set_account(&IDAO_REGISTRY_ADDRESS, registry);
    }
    store_election(state, 0, &genesis.staking);
}

/// Elects the set for `epoch` and stores it; keeps the previous set when nobody qualifies.
fn store_election(state: &mut State, epoch: u64, params: &StakingParams) {
    let mut s = Direct(state);
    let candidates = idao::keyed_idaos(&mut s)
        .into_iter()
        .filter(|r| !r.jailed && !r.consensusKey.is_zero())
        .map(|r| ActiveValidator {
            idao_id: r.id,
            owner: r.owner,
            consensus_key: r.consensusKey.0,
            p2p_address: r.p2pAddress,
            stake: r.bonded,
        });
    let elected = elect(candidates, params);
    let validators: Vec<IIdaoRegistry::Validator> = if elected.is_empty() {
        let previous = s.get(idao::VALIDATORS_SLOT).unwrap_or_default();
        match idao::decode_validator_set(&previous) {
            Some((_, validators)) => validators,
            // No previous set either (a genesis without validators): store nothing.
            None => return,
        }
    } else {
        elected.iter().map(Into::into).collect()
    };
    let _ = idao::store_validator_set(&mut s, epoch, validators);
}

fn apply_equivocation(
    state: &mut State,
    height: u64,
    evidence: &Equivocation,
    params: &StakingParams,
) -> Result<(), ModuleError> {
    if evidence.kind > EQUIVOCATION_NULLIFY_FINALIZE {
        return Ok(());
    }
    let key = &evidence.consensus_key;
    let mut s = Direct(state);
    let Some(id) = idao::key_holder(&mut s, key)? else {
        return Ok(());
    };
    if idao::mark_evidence_seen(&mut s, key, evidence.epoch, evidence.view)? {
        return Ok(());
    }
    let mut record = idao::load_idao(&mut s, id)?;
    let mut entries = idao::load_unbondings(&mut s, id)?;
    let slash = slash_amount(
        record.bonded.saturating_add(record.unbonding),
        params.slash_bps,
    );
    // Bonded stake first, then unbonding entries oldest first.
    let from_bonded = slash.min(record.bonded);
    record.bonded -= from_bonded;
    let mut rest = slash - from_bonded;
    for entry in entries.iter_mut() {
        let take = rest.min(entry.amount);
        entry.amount -= take;
        rest -= take;
    }
    entries.retain(|e| !e.amount.is_zero());
    let slashed = slash - rest;
    record.unbonding = record
        .unbonding
        .checked_sub(slashed - from_bonded)
        .ok_or_else(|| crate::kernel::revert_msg("corrupt unbonding"))?;
    record.jailed = true;
    idao::store_idao(&mut s, &record)?;
    idao::store_unbondings(&mut s, id, &entries)?;
    idao::push_evidence(
        &mut s,
        &IIdaoRegistry::Evidence {
            consensusKey: B256::from(*key),
            idaoId: id,
            epoch: evidence.epoch,
            view: evidence.view,
            kind: evidence.kind,
            slashed,
            height,
        },
    )?;
    // The slashed LAZAI leaves the registry's balance and is burned: supply is conserved.
    let mut registry = state.account(&IDAO_REGISTRY_ADDRESS);
    registry.balance = registry
        .balance
        .checked_sub(slashed)
        .ok_or_else(|| crate::kernel::revert_msg("registry balance below stake"))?;
    state.set_account(&IDAO_REGISTRY_ADDRESS, registry);
    state.add_burned(slashed);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(id: u64, stake: u64) -> ActiveValidator {
        ActiveValidator {
            idao_id: U256::from(id),
            owner: Address::ZERO,
            consensus_key: [id as u8; 32],
            p2p_address: String::new(),
            stake: U256::from(stake),
        }
    }

    #[test]
    fn epochs() {
        assert_eq!(epoch_of(0, 4), 0);
        assert_eq!(epoch_of(3, 4), 0);
        assert_eq!(epoch_of(4, 4), 1);
        assert!(!is_last_of_epoch(0, 4));
        assert!(is_last_of_epoch(3, 4));
        assert!(!is_last_of_epoch(4, 4));
        assert!(is_last_of_epoch(7, 4));
        assert_eq!(epoch_start(2, 4), 8);
        // Total on degenerate input.
        assert_eq!(epoch_of(5, 0), 5);
        assert!(is_last_of_epoch(5, 0));
        assert_eq!(epoch_start(u64::MAX, 2), u64::MAX);
    }

    #[test]
    fn election_orders_by_stake_then_id_and_caps() {
        let params = StakingParams {
            max_validators: 3,
            min_validator_stake: U256::from(10),
            ..Default::default()
        };
        let set = elect(
            vec![v(5, 20), v(2, 30), v(3, 20), v(4, 9), v(1, 20)],
            &params,
        );
        let ids: Vec<_> = set.iter().map(|v| v.idao_id.to::<u64>()).collect();
        assert_eq!(ids, vec![2, 1, 3]);
        assert!(elect(vec![v(1, 9)], &params).is_empty());
    }

    #[test]
    fn slash_rounds_down_and_never_overflows() {
        assert_eq!(slash_amount(U256::from(1999), 1000), U256::from(199));
        assert_eq!(slash_amount(U256::from(5), 10_000), U256::from(5));
        assert_eq!(slash_amount(U256::from(5), 60_000), U256::from(5));
        assert_eq!(slash_amount(U256::ZERO, 1000), U256::ZERO);
        assert!(slash_amount(U256::MAX, 10_000) <= U256::MAX);
        assert_eq!(slash_amount(U256::MAX, 0), U256::ZERO);
    }
}
