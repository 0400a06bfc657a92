//! Devnet defaults: the standard test mnemonic's accounts and a devnet genesis.

use crate::launch::default_fee_recipient;
use lazai_types::{Address, Genesis, GenesisAccount, GenesisCall, GenesisValidator, U256};
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
        dev_tee: true,
        dev_zk_setups: true,
        calls: Vec::new(),
    }
}

/// The schema of the devnet's default iDAO: any CSV (with a header) or JSON-lines file.
pub const DEVNET_IDAO_SCHEMA: &str = r#"{"format":"any"}"#;
/// Index (in the dev mnemonic) of the account that owns the devnet's default iDAO (id 1, the
/// first validator's iDAO) and packages its flows. Not one of the printed dev accounts, so
/// nothing a user does with those races its transactions.
pub const DEVNET_OPERATOR_INDEX: u32 = 1000;
/// Index of the default iDAO's in-process verifier node account.
pub const DEVNET_WORKER_INDEX: u32 = 1001;
/// Blocks a default-iDAO flow may wait for its quorum.
pub const DEVNET_FLOW_DEADLINE_BLOCKS: u64 = 40;
/// Usage quota of each DAT the default iDAO mints.
pub const DEVNET_USAGE_QUOTA: u64 = 1000;

/// The devnet's worker secret (X25519, 32 bytes) of the default iDAO: derived from a fixed
/// label, like the dev accounts from their public mnemonic — a devnet key, never a real one.
pub fn devnet_worker_secret() -> lazai_crypto::SecretKey {
    let seed = alloy_primitives::keccak256(b"lazai devnet default iDAO worker key");
    lazai_crypto::SecretKey::from_bytes(seed.as_slice()).expect("any 32 bytes are an X25519 key")
}

/// Longest evidence age the default iDAO's TEE policy accepts: one hour (its worker refreshes
/// every half hour).
pub const DEVNET_TEE_MAX_AGE: u64 = 3_600;

/// Adds the default iDAO to a devnet genesis: the first validator's iDAO (id 1) is owned by
/// the operator account ([`DEVNET_OPERATOR_INDEX`]) and configured for data (schema
/// [`DEVNET_IDAO_SCHEMA`], the worker key of [`devnet_worker_secret`], ciphertext at
/// `store_url`, a quorum of 1, no fee), with the worker account ([`DEVNET_WORKER_INDEX`]) as
/// its verifier in the VSC, and a TEE policy accepting the dev TEE (any measurement, evidence
/// up to [`DEVNET_TEE_MAX_AGE`] old), whose nodes governance allows to register in
/// VerifiedComputing: the worker attests when it starts, which also makes it a VerifiedComputing
/// node (LazAI's SDK path). Both accounts get `balance`.
pub fn with_default_idao(mut genesis: Genesis, store_url: &str, balance: U256) -> Genesis {
    use alloy_sol_types::SolCall;
    use lazai_abi::{
        DATA_REGISTRY_ADDRESS, IDAO_REGISTRY_ADDRESS, IDataRegistry, ITeeRegistry,
        IVerifiedComputing, IVsc, VERIFIED_COMPUTING_ADDRESS, VSC_ADDRESS,
    };
    let operator = dev_account(DEVNET_OPERATOR_INDEX)
        .expect("derive the operator account")
        .address();
    let worker = dev_account(DEVNET_WORKER_INDEX)
        .expect("derive the worker account")
        .address();
    let worker_key = devnet_worker_secret().public_key().to_bytes();
    if let Some(v) = genesis.validators.first_mut() {
        v.owner = Some(operator);
    }
    for address in [operator, worker] {
        genesis.alloc.push(GenesisAccount { address, balance });
    }
    let idao = U256::from(1);
    let configure = IVsc::configureIdaoCall {
        idaoId: idao,
        params: IVsc::DataParams {
            schema: DEVNET_IDAO_SCHEMA.to_string(),
            workerKey: worker_key.into(),
            storeUrl: store_url.to_string(),
            quorumSize: 1,
            threshold: 1,
            deadlineBlocks: DEVNET_FLOW_DEADLINE_BLOCKS,
            nodeFee: U256::ZERO,
            usageQuota: U256::from(DEVNET_USAGE_QUOTA),
        },
    };
    let add_verifier = IVsc::addVerifierCall {
        idaoId: idao,
        node: worker,
        url: "devnet://in-process".to_string(),
    };
    let allow_nodes = IVerifiedComputing::allowNodeIdaoCall {
        idaoId: idao,
        allowed: true,
    };
    let tee_policy = ITeeRegistry::setTeePolicyCall {
        idaoId: idao,
        policy: lazai_abi::TeePolicy {
            platforms: lazai_attest::Platform::Dev.bit(),
            measurements: Vec::new(),
            minTcbStatus: lazai_attest::TcbStatus::UpToDate.code(),
            maxEvidenceAge: DEVNET_TEE_MAX_AGE,
        },
    };
    genesis.calls.extend([
        GenesisCall {
            from: operator,
            to: VSC_ADDRESS,
            input: configure.abi_encode().into(),
        },
        GenesisCall {
            from: operator,
            to: VSC_ADDRESS,
            input: add_verifier.abi_encode().into(),
        },
        GenesisCall {
            from: operator,
            to: IDAO_REGISTRY_ADDRESS,
            input: tee_policy.abi_encode().into(),
        },
        GenesisCall {
            from: genesis.governance,
            to: VERIFIED_COMPUTING_ADDRESS,
            input: allow_nodes.abi_encode().into(),
        },
        // The worker publishes its own attested RSA key as `DataRegistry.publicKey()`.
        GenesisCall {
            from: genesis.governance,
            to: DATA_REGISTRY_ADDRESS,
            input: IDataRegistry::setKeyPublisherCall { publisher: worker }
                .abi_encode()
                .into(),
        },
    ]);
    genesis
}
