//! Genesis: the chain's parameters, validator set and pre-funded accounts.

use alloy_primitives::{Address, B256, U256, uint};
use serde::{Deserialize, Serialize};

use crate::{block::Block, block::Header};

/// Stake of a genesis validator when its entry names none: 1000 LAZAI (in wei).
pub const DEFAULT_GENESIS_STAKE: U256 = uint!(1_000_000_000_000_000_000_000_U256);
/// Default blocks per epoch.
pub const DEFAULT_EPOCH_LENGTH: u64 = 100;
/// Default size bound of the validator set.
pub const DEFAULT_MAX_VALIDATORS: u32 = 100;
/// Default least bonded stake of a validator: 1 LAZAI (in wei).
pub const DEFAULT_MIN_VALIDATOR_STAKE: U256 = uint!(1_000_000_000_000_000_000_U256);
/// Default blocks between an unbond and the moment its stake can be withdrawn.
pub const DEFAULT_UNBONDING_DELAY: u64 = 200;
/// Default share of an equivocator's stake that is burned, in basis points (10%).
pub const DEFAULT_SLASH_BPS: u32 = 1_000;
/// Basis points in a whole.
pub const MAX_BPS: u32 = 10_000;

/// Errors in a genesis document.
#[derive(Debug, thiserror::Error)]
pub enum GenesisError {
    #[error("genesis call {index} (from {from} to {to}) failed: {reason}")]
    CallFailed {
        index: usize,
        from: Address,
        to: Address,
        reason: String,
    },
    #[error("genesis has no validators")]
    NoValidators,
    #[error("genesis gas limit {0} is below the 21000 a transfer needs")]
    GasLimitTooLow(u64),
    #[error("chain id must be non-zero")]
    ZeroChainId,
    #[error("validator {index}: consensus key must be 32 bytes of hex: {reason}")]
    BadConsensusKey { index: usize, reason: String },
    #[error("validator consensus key {0} appears twice")]
    DuplicateValidator(String),
    #[error("account {0} appears twice in alloc")]
    DuplicateAccount(Address),
    #[error("the alloc balances and validator stakes add up to more than 2^256 - 1 wei")]
    SupplyOverflow,
    #[error("staking epoch_length must be at least 2 blocks, got {0}")]
    EpochTooShort(u64),
    #[error("staking max_validators must be at least 1")]
    NoValidatorSlots,
    #[error("staking min_validator_stake must be at least 1 wei")]
    ZeroMinStake,
    #[error("staking slash_bps must be at most 10000, got {0}")]
    SlashTooLarge(u32),
    #[error(
        "staking unbonding_delay {delay} is shorter than epoch_length {epoch_length}: a validator could withdraw its stake while still in the set"
    )]
    UnbondingDelayTooShort { delay: u64, epoch_length: u64 },
    #[error("validator {index}: stake {stake} wei is below min_validator_stake {min} wei")]
    StakeBelowMinimum {
        index: usize,
        stake: U256,
        min: U256,
    },
    #[error("cannot parse genesis: {0}")]
    Parse(String),
}

/// A native-module call made at genesis, after the accounts are funded and the validators
/// registered, as if `from` had sent it (no signature, gas or value): how a genesis sets up
/// module state — an iDAO's data configuration, verifier nodes. A failing call makes the
/// genesis invalid.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct GenesisCall {
    pub from: Address,
    pub to: Address,
    /// ABI-encoded calldata.
    pub input: alloy_primitives::Bytes,
}

/// A pre-funded account.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct GenesisAccount {
    pub address: Address,
    /// Balance in wei.
    pub balance: U256,
}

/// A validator of the genesis set.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct GenesisValidator {
    /// Human-readable name (an iDAO's name).
    pub name: String,
    /// Hex of the validator's ed25519 consensus public key (32 bytes).
    pub consensus_key: String,
    /// Address that receives the priority fees of the blocks this validator proposes.
    pub fee_recipient: Address,
    /// `host:port` of its peer-to-peer listener.
    #[serde(default)]
    pub p2p_addr: Option<String>,
    /// LAZAI (wei) bonded to its iDAO at genesis; created with the chain (it is not taken from
    /// any alloc) and held by the iDAO registry module.
    #[serde(default = "default_genesis_stake")]
    pub stake: U256,
    /// Owner of its iDAO (who may bond, unbond and withdraw); `None` means `fee_recipient`.
    #[serde(default)]
    pub owner: Option<Address>,
}

fn default_genesis_stake() -> U256 {
    DEFAULT_GENESIS_STAKE
}

/// Parameters of the stake-elected validator set. Every field defaults when absent, so a
/// genesis document without a `staking` section gets [`StakingParams::default`].
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct StakingParams {
    /// Blocks per epoch (at least 2); the set changes only between epochs.
    pub epoch_length: u64,
    /// Most validators in a set (at least 1).
    pub max_validators: u32,
    /// Least bonded stake (wei) an iDAO needs to be selected (at least 1 wei).
    pub min_validator_stake: U256,
    /// Blocks between an unbond and the height from which it can be withdrawn (at least
    /// `epoch_length`).
    pub unbonding_delay: u64,
    /// Basis points of bonded + unbonding stake burned for each recorded equivocation
    /// (at most 10000).
    pub slash_bps: u32,
}

impl Default for StakingParams {
    fn default() -> Self {
        Self {
            epoch_length: DEFAULT_EPOCH_LENGTH,
            max_validators: DEFAULT_MAX_VALIDATORS,
            min_validator_stake: DEFAULT_MIN_VALIDATOR_STAKE,
            unbonding_delay: DEFAULT_UNBONDING_DELAY,
            slash_bps: DEFAULT_SLASH_BPS,
        }
    }
}

impl StakingParams {
    /// Checks the parameters' bounds.
    pub fn validate(&self) -> Result<(), GenesisError> {
        if self.epoch_length < 2 {
            return Err(GenesisError::EpochTooShort(self.epoch_length));
        }
        if self.max_validators == 0 {
            return Err(GenesisError::NoValidatorSlots);
        }
        if self.min_validator_stake.is_zero() {
            return Err(GenesisError::ZeroMinStake);
        }
        if self.slash_bps > MAX_BPS {
            return Err(GenesisError::SlashTooLarge(self.slash_bps));
        }
        if self.unbonding_delay < self.epoch_length {
            return Err(GenesisError::UnbondingDelayTooShort {
                delay: self.unbonding_delay,
                epoch_length: self.epoch_length,
            });
        }
        Ok(())
    }
}

/// The genesis document. Every field is consensus-critical: nodes with different genesis
/// documents compute different genesis hashes and never agree.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Genesis {
    pub chain_id: u64,
    /// Genesis timestamp in milliseconds since the Unix epoch.
    pub timestamp_ms: u64,
    /// Gas limit of every block.
    pub gas_limit: u64,
    /// Base fee of the genesis block (wei per gas); block 1's follows from it by the EIP-1559
    /// rule (an empty genesis lowers it by 1/8, down to `min_base_fee`).
    pub initial_base_fee: u64,
    /// The base fee never drops below this (wei per gas).
    pub min_base_fee: u64,
    /// Network administration (module parameters, pausing) until on-chain governance exists.
    pub governance: Address,
    pub validators: Vec<GenesisValidator>,
    pub alloc: Vec<GenesisAccount>,
    /// Validator election: epochs, set size, stake bounds, unbonding and slashing.
    #[serde(default)]
    pub staking: StakingParams,
    /// Accept the simulated `dev` TEE as attestation evidence (development chains only: it
    /// proves nothing about hardware). Fixed for the chain's life.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub dev_tee: bool,
    /// Accept Groth16 verifying keys from dev (fixed-seed, forgeable) setups in the Verifier
    /// module (development chains only). Fixed for the chain's life.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub dev_zk_setups: bool,
    /// Module calls made at genesis, in order (see [`GenesisCall`]).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub calls: Vec<GenesisCall>,
}

impl Genesis {
    /// Checks the document's internal consistency.
    pub fn validate(&self) -> Result<(), GenesisError> {
        if self.chain_id == 0 {
            return Err(GenesisError::ZeroChainId);
        }
        if self.validators.is_empty() {
            return Err(GenesisError::NoValidators);
        }
        if self.gas_limit < 21_000 {
            return Err(GenesisError::GasLimitTooLow(self.gas_limit));
        }
        self.staking.validate()?;
        let mut keys = std::collections::BTreeSet::new();
        let mut supply = U256::ZERO;
        for (index, v) in self.validators.iter().enumerate() {
            let bytes = decode_hex32(&v.consensus_key)
                .map_err(|reason| GenesisError::BadConsensusKey { index, reason })?;
            if bytes == [0u8; 32] {
                return Err(GenesisError::BadConsensusKey {
                    index,
                    reason: "the all-zero key means \"no key\"".into(),
                });
            }
            if !keys.insert(bytes) {
                return Err(GenesisError::DuplicateValidator(v.consensus_key.clone()));
            }
            if v.stake < self.staking.min_validator_stake {
                return Err(GenesisError::StakeBelowMinimum {
                    index,
                    stake: v.stake,
                    min: self.staking.min_validator_stake,
                });
            }
            supply = supply
                .checked_add(v.stake)
                .ok_or(GenesisError::SupplyOverflow)?;
        }
        let mut seen = std::collections::BTreeSet::new();
        for a in &self.alloc {
            if !seen.insert(a.address) {
                return Err(GenesisError::DuplicateAccount(a.address));
            }
            supply = supply
                .checked_add(a.balance)
                .ok_or(GenesisError::SupplyOverflow)?;
        }
        Ok(())
    }

    /// Parses and validates a genesis document (JSON).
    pub fn parse(text: &str) -> Result<Self, GenesisError> {
        let genesis: Genesis =
            serde_json::from_str(text).map_err(|e| GenesisError::Parse(e.to_string()))?;
        genesis.validate()?;
        Ok(genesis)
    }

    /// The genesis block for a given genesis state root. Height 0, no transactions.
    pub fn block(&self, state_root: B256) -> Block {
        Block {
            header: Header {
                parent_hash: B256::ZERO,
                height: 0,
                timestamp_ms: self.timestamp_ms,
                proposer: Address::ZERO,
                transactions_root: alloy_trie::EMPTY_ROOT_HASH,
                receipts_root: alloy_trie::EMPTY_ROOT_HASH,
                state_root,
                logs_bloom: Default::default(),
                base_fee: self.initial_base_fee,
                gas_limit: self.gas_limit,
                gas_used: 0,
                evidence_root: B256::ZERO,
            },
            transactions: Vec::new(),
            evidence: Vec::new(),
        }
    }
}

/// Decodes 32 bytes of hex (with or without `0x`).
pub fn decode_hex32(s: &str) -> Result<[u8; 32], String> {
    let s = s.strip_prefix("0x").unwrap_or(s);
    let bytes = alloy_primitives::hex::decode(s).map_err(|e| e.to_string())?;
    bytes
        .try_into()
        .map_err(|b: Vec<u8>| format!("expected 32 bytes, got {}", b.len()))
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY_A: &str = "0101010101010101010101010101010101010101010101010101010101010101";
    const KEY_B: &str = "0202020202020202020202020202020202020202020202020202020202020202";

    /// A genesis document as written before staking existed.
    fn legacy_json() -> String {
        format!(
            r#"{{
                "chain_id": 7,
                "timestamp_ms": 1,
                "gas_limit": 30000000,
                "initial_base_fee": 1000000000,
                "min_base_fee": 1000000000,
                "governance": "0x0000000000000000000000000000000000000001",
                "validators": [
                    {{"name": "a", "consensus_key": "{KEY_A}", "fee_recipient": "0x00000000000000000000000000000000000000aa"}}
                ],
                "alloc": [{{"address": "0x00000000000000000000000000000000000000bb", "balance": "0x10"}}]
            }}"#
        )
    }

    #[test]
    fn genesis_without_staking_fields_parses_with_defaults() {
        let g = Genesis::parse(&legacy_json()).expect("parses");
        assert_eq!(g.staking, StakingParams::default());
        assert_eq!(g.staking.epoch_length, 100);
        assert_eq!(g.staking.max_validators, 100);
        assert_eq!(g.staking.min_validator_stake, U256::from(crate::LAZAI));
        assert_eq!(g.staking.unbonding_delay, 200);
        assert_eq!(g.staking.slash_bps, 1000);
        assert_eq!(g.validators[0].stake, crate::lazai(1000));
        assert_eq!(g.validators[0].owner, None);
        // Round trip through JSON keeps everything.
        let again = Genesis::parse(&serde_json::to_string(&g).expect("json")).expect("parses");
        assert_eq!(again, g);
    }

    #[test]
    fn partial_staking_section_fills_in_the_rest() {
        let mut v: serde_json::Value = serde_json::from_str(&legacy_json()).expect("json");
        v["staking"] = serde_json::json!({"epoch_length": 10, "unbonding_delay": 20});
        v["validators"][0]["stake"] = serde_json::json!("5000000000000000000");
        v["validators"][0]["owner"] =
            serde_json::json!("0x00000000000000000000000000000000000000cc");
        let g = Genesis::parse(&v.to_string()).expect("parses");
        assert_eq!(g.staking.epoch_length, 10);
        assert_eq!(g.staking.unbonding_delay, 20);
        assert_eq!(g.staking.max_validators, DEFAULT_MAX_VALIDATORS);
        assert_eq!(g.validators[0].stake, crate::lazai(5));
        assert_eq!(g.validators[0].owner, Some(Address::with_last_byte(0xcc)));
    }

    #[test]
    fn invalid_staking_values_are_rejected() {
        let base = Genesis::parse(&legacy_json()).expect("parses");
        let check = |f: &dyn Fn(&mut Genesis), expect: fn(&GenesisError) -> bool| {
            let mut g = base.clone();
            f(&mut g);
            let err = g.validate().expect_err("invalid");
            assert!(expect(&err), "unexpected: {err}");
        };
        check(&|g| g.staking.epoch_length = 1, |e| {
            matches!(e, GenesisError::EpochTooShort(1))
        });
        check(&|g| g.staking.epoch_length = 0, |e| {
            matches!(e, GenesisError::EpochTooShort(0))
        });
        check(&|g| g.staking.max_validators = 0, |e| {
            matches!(e, GenesisError::NoValidatorSlots)
        });
        check(&|g| g.staking.min_validator_stake = U256::ZERO, |e| {
            matches!(e, GenesisError::ZeroMinStake)
        });
        check(&|g| g.staking.slash_bps = 10_001, |e| {
            matches!(e, GenesisError::SlashTooLarge(10_001))
        });
        check(&|g| g.staking.unbonding_delay = 99, |e| {
            matches!(e, GenesisError::UnbondingDelayTooShort { .. })
        });
        check(
            &|g| g.validators[0].stake = U256::from(crate::LAZAI) - U256::from(1),
            |e| matches!(e, GenesisError::StakeBelowMinimum { index: 0, .. }),
        );
        check(&|g| g.validators[0].consensus_key = "00".repeat(32), |e| {
            matches!(e, GenesisError::BadConsensusKey { index: 0, .. })
        });
        // Stakes count toward the supply bound.
        check(
            &|g| {
                g.alloc[0].balance = U256::MAX;
                g.validators[0].stake = U256::from(crate::LAZAI);
            },
            |e| matches!(e, GenesisError::SupplyOverflow),
        );
        check(
            &|g| {
                let mut second = g.validators[0].clone();
                second.consensus_key = KEY_B.into();
                second.stake = U256::MAX;
                g.validators.push(second);
                g.alloc.clear();
            },
            |e| matches!(e, GenesisError::SupplyOverflow),
        );
        let mut ok = base.clone();
        ok.staking.slash_bps = 10_000;
        ok.staking.epoch_length = 2;
        ok.staking.unbonding_delay = 2;
        ok.validate().expect("boundary values are valid");
    }
}
