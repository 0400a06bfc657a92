//! The deterministic LazChain state machine.
//!
//! `Ledger::apply(state, tx, block_env) -> Receipt` and its block-level forms are pure: no I/O,
//! no clocks, no randomness. Everything execution depends on comes in [`BlockEnv`], which is what
//! makes blocks replayable on every validator and safe under BFT consensus.

mod calls;
mod env;
pub mod error;
pub mod evm;
mod exec;
pub mod gas;
mod kernel;
pub mod modules;
pub mod rsa_key;
mod state;
mod tx;

pub use alloy_eips::eip2930::AccessList;
pub use alloy_trie::EMPTY_ROOT_HASH as EMPTY_ROOT;
pub use calls::{CallOutcome, CallParams};
pub use env::BlockEnv;
pub use env::{
    EQUIVOCATION_CONFLICTING_FINALIZE, EQUIVOCATION_CONFLICTING_NOTARIZE,
    EQUIVOCATION_NULLIFY_FINALIZE, Equivocation,
};
pub use error::{BlockError, TxError};
pub use exec::{ExecutedBlock, Ledger};
pub use kernel::MAX_CONTRACT_CALL_DEPTH;
pub use modules::idao::staking;
pub use staking::{ActiveValidator, epoch_of, is_last_of_epoch, validator_set};
pub use state::{
    Account, BLOCK_HASH_WINDOW, Changes, FOLD_AHEAD_KEYS, State, StateSource, TrieError,
    TrieUpdate, account_key, code_hash_key, code_key, meta_key, module_key, storage_key, trie,
};
pub use tx::{RecoveredTx, decode_and_recover, decode_and_recover_many, decode_with_sender};

use lazai_types::{Genesis, U256};

/// The state a genesis document describes: its pre-funded accounts, and its validators
/// registered as iDAOs with their stakes bonded (held by the iDAO registry) and elected as the
/// set of epoch 0 (see [`staking`]), then its module calls applied in order. A call that
/// reverts makes the genesis invalid.
pub fn genesis_state(genesis: &Genesis) -> Result<State, lazai_types::GenesisError> {
    let mut state = State::default();
    for a in &genesis.alloc {
        let mut acct = state.account(&a.address);
        acct.balance = acct.balance.saturating_add(a.balance);
        state.set_account(&a.address, acct);
    }
    staking::register_genesis_validators(&mut state, genesis);
    if genesis.dev_zk_setups {
        modules::enable_dev_zk(&mut state);
    }
    if genesis.dev_tee {
        modules::enable_dev_tee(&mut state);
    }
    if !genesis.calls.is_empty() {
        let modules = modules::Modules::standard_with(genesis.staking.clone(), genesis.governance);
        let env = BlockEnv {
            chain_id: genesis.chain_id,
            height: 0,
            parent_hash: Default::default(),
            timestamp_ms: genesis.timestamp_ms,
            proposer: Default::default(),
            base_fee: 0,
            gas_limit: GENESIS_CALL_GAS,
            evidence: Vec::new(),
        };
        for (index, c) in genesis.calls.iter().enumerate() {
            let failed = |reason: String| lazai_types::GenesisError::CallFailed {
                index,
                from: c.from,
                to: c.to,
                reason,
            };
            let module = modules
                .get(&c.to)
                .ok_or_else(|| failed("no native module at that address".into()))?;
            let mut host = evm::NativeHost {
                state: &mut state,
                modules: &modules,
                env: &env,
                replaced: &Default::default(),
                origin: c.from,
                gas_price: 0,
            };
            let mut call =
                modules::Call::new(c.to, c.from, U256::ZERO, &env, &mut host, GENESIS_CALL_GAS);
            module.call(&mut call, &c.input).map_err(|e| {
                failed(match e {
                    modules::ModuleError::Revert(data) => format!("reverted with {data}"),
                    modules::ModuleError::OutOfGas => "out of gas".into(),
                })
            })?;
        }
    }
    state.commit_root();
    let _ = state.take_changes();
    Ok(state)
}

/// Gas each genesis call may use.
pub const GENESIS_CALL_GAS: u64 = 100_000_000;

/// Total LAZAI in existence plus burned: conserved by every transaction. Include
/// [`lazai_abi::IDAO_REGISTRY_ADDRESS`] among the holders: it holds every bonded and unbonding
/// stake.
pub fn total_supply(state: &State, holders: &[lazai_types::Address]) -> U256 {
    holders
        .iter()
        .map(|a| state.balance(a))
        .fold(state.burned(), |acc, b| acc + b)
}
