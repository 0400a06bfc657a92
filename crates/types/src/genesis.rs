//! Genesis: the chain's parameters, validator set and pre-funded accounts.

use crate::{Address, B256, Block, Header, U256};
use serde::{Deserialize, Serialize};

/// Errors in a genesis document.
#[derive(Debug, thiserror::Error)]
pub enum GenesisError {
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
    #[error("the alloc balances add up to more than 2^256 - 1 wei")]
    SupplyOverflow,
    #[error("cannot parse genesis: {0}")]
    Parse(String),
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
        let mut keys = std::collections::BTreeSet::new();
        for (index, v) in self.validators.iter().enumerate() {
            let bytes = decode_hex32(&v.consensus_key)
                .map_err(|reason| GenesisError::BadConsensusKey { index, reason })?;
            if !keys.insert(bytes) {
                return Err(GenesisError::DuplicateValidator(v.consensus_key.clone()));
            }
        }
        let mut seen = std::collections::BTreeSet::new();
        let mut supply = U256::ZERO;
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
            },
            transactions: Vec::new(),
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
