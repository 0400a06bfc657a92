//! Devnet defaults: the standard test mnemonic's accounts and a devnet genesis.

use crate::launch::default_fee_recipient;
use lazai_types::{Address, Genesis, GenesisAccount, GenesisValidator, U256};
use std::time::{SystemTime, UNIX_EPOCH};

/// The standard test mnemonic every Ethereum devnet uses.
pub const DEV_MNEMONIC: &str = "test test test test test test test test test test test junk";

/// Base fee of a devnet's first block and its floor: 1 gwei.
pub const DEVNET_BASE_FEE: u64 = 1_000_000_000;

/// Dev account `i` of the standard test mnemonic (m/44'/60'/0'/0/i).
pub fn dev_account(
    i: u32,
) -> Result<alloy_signer_local::PrivateKeySigner, alloy_signer_local::LocalSignerError> {
    use alloy_signer_local::{MnemonicBuilder, coins_bip39::English};
    MnemonicBuilder::<English>::default()
        .phrase(DEV_MNEMONIC)
        .index(i)?
        .build()
}

/// A devnet genesis: `validators` seeded validator keys (`lazai_consensus::devnet_key`), the
/// given accounts funded with `balance` wei each, the first of them as governance.
pub fn devnet_genesis(
    chain_id: u64,
    validators: usize,
    accounts: &[Address],
    balance: U256,
    gas_limit: u64,
) -> Genesis {
    let timestamp_ms = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0);
    Genesis {
        chain_id,
        timestamp_ms,
        gas_limit,
        initial_base_fee: DEVNET_BASE_FEE,
        min_base_fee: DEVNET_BASE_FEE,
        governance: accounts.first().copied().unwrap_or_default(),
        validators: (0..validators)
            .map(|i| {
                let key = lazai_consensus::keys::public_key(&lazai_consensus::devnet_key(i));
                GenesisValidator {
                    name: format!("validator-{i}"),
                    consensus_key: lazai_consensus::keys::public_key_to_hex(&key),
                    fee_recipient: default_fee_recipient(&key),
                    p2p_addr: None,
                    stake: lazai_types::DEFAULT_GENESIS_STAKE,
                    owner: None,
                }
            })
            .collect(),
        alloc: accounts
            .iter()
            .map(|a| GenesisAccount {
                address: *a,
                balance,
            })
            .collect(),
        staking: Default::default(),
    }
}
