//! User contracts: revm (Prague rules) beside the native modules, over the same authenticated
//! state.
//!
//! A transaction goes to the EVM when it creates a contract, carries calldata to an address that
//! is not a native module, or is addressed to a contract or a precompile; module calls and plain
//! transfers between accounts keep the native path. Contracts live in the world state under
//! their own key spaces (`lazai_abi::state::{code_hash_key, code_key, storage_key}`), so their
//! code and storage are committed by the block's `stateRoot` and provable like any entry.
//!
//! Fees follow the ledger's one rule for both paths: the sender pays `gas_used` times the
//! effective price, the tip goes to the proposer and the base-fee part is burned (added to the
//! state's `burned`, which revm does not know of).
//!
//! **Contracts call modules.** A CALL or STATICCALL from EVM code to a module's address runs the
//! native module ([`Bridge`]) with `msg.sender` = the calling contract, the value (moved to the
//! module before it runs, as for any call) and the gas the caller passed; its return data,
//! revert data and logs come back as a contract's would. The module reads and writes through the
//! EVM's journal ([`JournalHost`]): balances as accounts, its own slots as journaled words of a
//! reserved account ([`MODULE_WRITES`]) that point into the transaction's list of written
//! values, so when a caller reverts after a module call, the module's writes are undone with
//! everything else. DELEGATECALL and CALLCODE to a module are refused (a module's code cannot run
//! on another account's storage), and a STATICCALL cannot make it write. A module pays an
//! address by crediting its balance, without running the recipient's code, so a payout cannot be
//! re-entered.

use crate::env::BlockEnv;
use crate::error::TxError;
use crate::modules::Modules;
use crate::state::{Account, State};
use alloy_primitives::{Address, B256, Bytes, Log, TxKind, U256};
use revm::context::result::{EVMError, ExecutionResult, HaltReason, InvalidTransaction};
use revm::context::{BlockEnv as RevmBlock, CfgEnv, Evm, FrameStack, Journal, TxEnv};
use revm::context_interface::block::BlobExcessGasAndPrice;
use revm::context_interface::cfg::gas::calculate_initial_tx_gas;
use revm::context_interface::transaction::AccessList;
use revm::database_interface::WrapDatabaseRef;
use revm::handler::instructions::EthInstructions;
use revm::handler::{EthFrame, EthPrecompiles};
use revm::inspector::{InspectEvm, Inspector, NoOpInspector};
use revm::interpreter::interpreter::EthInterpreter;
use revm::precompile::{PrecompileSpecId, Precompiles};
use revm::primitives::KECCAK_EMPTY;
use revm::primitives::hardfork::SpecId;
use revm::state::{AccountInfo, Bytecode, EvmState};
use revm::{Context, DatabaseRef, ExecuteEvm, MainContext};
use std::convert::Infallible;

mod bridge;
mod host;
mod overrides;
mod trace;

use bridge::Bridge;
pub use bridge::MODULE_WRITES;
pub use host::NativeHost;
pub use overrides::{ReplacedStorage, apply_overrides};
pub use trace::{TraceError, native_trace, trace};

/// The hardfork whose rules contracts run under.
pub const SPEC: SpecId = SpecId::PRAGUE;

/// Largest deployed code (EIP-170).
pub const MAX_CODE_SIZE: usize = 24_576;
/// Largest initcode of a creating transaction (EIP-3860).
pub const MAX_INITCODE_SIZE: usize = 2 * MAX_CODE_SIZE;

/// Blob base fee update fraction of Prague (blobs are refused, the value only prices
/// `BLOBBASEFEE`).
const BLOB_BASE_FEE_UPDATE_FRACTION: u64 = 5_007_716;

/// True when the address is one of the EVM's precompiles under [`SPEC`].
pub fn is_precompile(address: &Address) -> bool {
    Precompiles::new(PrecompileSpecId::from_spec_id(SPEC)).contains(address)
}

/// What a transaction to `to` with `input` runs: the EVM, or the native path (a module call or a
/// plain transfer between accounts).
pub fn runs_in_evm(state: &State, modules: &Modules, to: Option<Address>, input: &[u8]) -> bool {
    match to {
        None => true,
        Some(to) if modules.get(&to).is_some() => false,
        Some(to) => !input.is_empty() || is_precompile(&to) || state.code_hash(&to).is_some(),
    }
}

/// Intrinsic gas of a transaction the EVM runs, with Prague's calldata floor (EIP-7623): the
/// gas limit must cover the larger of the two.
pub fn intrinsic_gas(input: &[u8], create: bool, access_list: Option<&AccessList>) -> u64 {
    let (accounts, keys) = access_list
        .map(|list| {
            list.iter().fold((0u64, 0u64), |(a, k), item| {
                (a + 1, k + item.storage_keys.len() as u64)
            })
        })
        .unwrap_or_default();
    let gas = calculate_initial_tx_gas(SPEC, input, create, accounts, keys, 0, None);
    gas.initial_regular_gas.max(gas.floor_gas)
}

/// The state as revm reads it.
struct StateDb<'a> {
    state: &'a State,
    modules: &'a Modules,
    /// Accounts whose whole storage a call's override replaced.
    replaced: &'a ReplacedStorage,
}

impl DatabaseRef for StateDb<'_> {
    type Error = Infallible;

    fn basic_ref(&self, address: Address) -> Result<Option<AccountInfo>, Infallible> {
        let account = self.state.account(&address);
        let code = if self.modules.get(&address).is_some() {
            Some(self.modules.code(&address))
        } else {
            self.state
                .code_hash(&address)
                .map(|hash| self.state.code_by_hash(&hash))
        };
        if account.is_empty() && code.is_none() {
            return Ok(None);
        }
        let (code_hash, code) = match code {
            Some(code) if !code.is_empty() => {
                let bytecode = Bytecode::new_raw(code);
                (bytecode.hash_slow(), Some(bytecode))
            }
            _ => (KECCAK_EMPTY, Some(Bytecode::default())),
        };
        Ok(Some(AccountInfo {
            balance: account.balance,
            nonce: account.nonce,
            code_hash,
            code,
            ..Default::default()
        }))
    }

    fn code_by_hash_ref(&self, code_hash: B256) -> Result<Bytecode, Infallible> {
        if code_hash == KECCAK_EMPTY {
            return Ok(Bytecode::default());
        }
        Ok(Bytecode::new_raw(self.state.code_by_hash(&code_hash)))
    }

    fn storage_ref(&self, address: Address, index: U256) -> Result<U256, Infallible> {
        if let Some(slots) = self.replaced.get(&address) {
            return Ok(slots.get(&index).copied().unwrap_or_default());
        }
        Ok(self.state.storage(&address, &B256::from(index)))
    }

    fn block_hash_ref(&self, number: u64) -> Result<B256, Infallible> {
        Ok(self.state.block_hash(number).unwrap_or_default())
    }
}

/// A transaction or call for the EVM.
#[derive(Clone, Debug)]
pub struct EvmTx {
    pub caller: Address,
    pub kind: TxKind,
    pub value: U256,
    pub input: Bytes,
    pub gas_limit: u64,
    pub nonce: u64,
    /// Fee cap (the gas price of a legacy transaction).
    pub max_fee_per_gas: u128,
    /// Tip cap (`None` for legacy and EIP-2930 transactions).
    pub max_priority_fee_per_gas: Option<u128>,
    pub access_list: AccessList,
    pub tx_type: u8,
}

impl EvmTx {
    /// The EVM form of a signed transaction.
    pub fn from_signed(tx: &crate::tx::RecoveredTx) -> Self {
        use alloy_consensus::Transaction;
        Self {
            caller: tx.sender,
            kind: tx.envelope.kind(),
            value: tx.value(),
            input: tx.input().clone(),
            gas_limit: tx.gas_limit(),
            nonce: tx.nonce(),
            max_fee_per_gas: tx.max_fee_per_gas(),
            max_priority_fee_per_gas: tx.envelope.max_priority_fee_per_gas(),
            access_list: tx.envelope.access_list().cloned().unwrap_or_default(),
            tx_type: tx.tx_type(),
        }
    }
}

impl EvmTx {
    /// The EVM form of a read-only call from `from` (whose next nonce is `nonce`).
    pub fn call(
        from: Address,
        to: Option<Address>,
        value: U256,
        input: Bytes,
        gas_limit: u64,
        nonce: u64,
    ) -> Self {
        Self {
            caller: from,
            kind: to.map_or(TxKind::Create, TxKind::Call),
            value,
            input,
            gas_limit,
            nonce,
            max_fee_per_gas: 0,
            max_priority_fee_per_gas: None,
            access_list: Default::default(),
            tx_type: 2,
        }
    }
}

/// How an EVM run ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EvmOutcome {
    pub success: bool,
    /// Return data on success, revert data on a revert, empty on a halt.
    pub output: Bytes,
    /// Gas the transaction is charged for (intrinsic included, refunds applied).
    pub gas_used: u64,
    pub logs: Vec<Log>,
    /// The address of the contract a successful creation deployed.
    pub created: Option<Address>,
    /// Why execution halted (out of gas, invalid opcode, …), `None` on success or revert.
    pub halt: Option<String>,
}

impl EvmOutcome {
    pub fn out_of_gas(&self) -> bool {
        self.halt
            .as_deref()
            .is_some_and(|h| h.starts_with("out of gas"))
    }
}

/// Whether a run is a transaction (nonce and fees enforced and charged) or a read-only call
/// (which may see overridden storage).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode<'r> {
    Transaction,
    Call(&'r ReplacedStorage),
}

/// Runs `tx` in the EVM on `state`. On `Ok` the state holds the run's effects (for a
/// transaction: nonce bump, fees paid and burned, and the call's writes if it succeeded); on
/// `Err` the transaction is invalid and the state is unchanged.
pub fn transact(
    state: &mut State,
    modules: &Modules,
    env: &BlockEnv,
    tx: EvmTx,
    mode: Mode<'_>,
) -> Result<EvmOutcome, TxError> {
    run(state, modules, env, tx, mode, NoOpInspector, false).map(|(outcome, _)| outcome)
}

/// Runs a read-only call with revm-inspectors' access-list inspector and returns the accounts
/// and slots it touched (sender, recipient and precompiles left out, as geth does) with the
/// outcome of that run.
pub fn access_list(
    state: &mut State,
    modules: &Modules,
    env: &BlockEnv,
    tx: EvmTx,
    replaced: &ReplacedStorage,
) -> Result<(AccessList, EvmOutcome), TxError> {
    let inspector = revm_inspectors::access_list::AccessListInspector::new(tx.access_list.clone());
    let (outcome, inspector) = run(
        state,
        modules,
        env,
        tx,
        Mode::Call(replaced),
        inspector,
        true,
    )?;
    Ok((inspector.into_access_list(), outcome))
}

/// [`transact`] with an inspector watching every step (`inspect`), which it hands back.
fn run<I>(
    state: &mut State,
    modules: &Modules,
    env: &BlockEnv,
    tx: EvmTx,
    mode: Mode<'_>,
    inspector: I,
    inspect: bool,
) -> Result<(EvmOutcome, I), TxError>
where
    I: for<'x> Inspector<Ctx<'x>, EthInterpreter>,
{
    let mut cfg = cfg_env(env);
    let (gas_price, gas_priority_fee) = match mode {
        Mode::Transaction => (tx.max_fee_per_gas, tx.max_priority_fee_per_gas),
        Mode::Call(_) => {
            // eth_call: no fee, any nonce, and any sender (contracts included).
            cfg.disable_nonce_check = true;
            cfg.disable_base_fee = true;
            cfg.disable_eip3607 = true;
            (0, None)
        }
    };
    let block = block_env(
        env,
        match mode {
            Mode::Transaction => env.base_fee,
            Mode::Call(_) => 0,
        },
    );
    let tx_env = TxEnv {
        tx_type: tx.tx_type,
        caller: tx.caller,
        gas_limit: tx.gas_limit,
        gas_price,
        kind: tx.kind,
        value: tx.value,
        data: tx.input,
        nonce: tx.nonce,
        chain_id: Some(env.chain_id),
        access_list: tx.access_list,
        gas_priority_fee,
        ..Default::default()
    };
    let (executed, writes, inspector) = {
        let replaced = match mode {
            Mode::Transaction => &overrides::NONE,
            Mode::Call(replaced) => replaced,
        };
        let db = WrapDatabaseRef(StateDb {
            state,
            modules,
            replaced,
        });
        let ctx = Context::mainnet()
            .with_db(db)
            .with_cfg(cfg)
            .with_block(block);
        let mut evm = new_evm(ctx, inspector, modules, env, state, replaced, 0);
        let executed = if inspect {
            evm.inspect_tx(tx_env)
        } else {
            evm.transact(tx_env)
        };
        let writes = std::mem::take(&mut evm.precompiles.writes);
        (executed, writes, evm.inspector)
    };
    let executed = executed.map_err(|e| match e {
        EVMError::Transaction(invalid) => invalid_tx(invalid),
        other => TxError::Evm(other.to_string()),
    })?;
    let result = executed.result;
    let gas_used = result.tx_gas_used();
    apply_state(state, executed.state, &writes);
    if mode == Mode::Transaction {
        state.add_burned(U256::from(gas_used) * U256::from(env.base_fee));
    }
    let outcome = match result {
        ExecutionResult::Success { logs, output, .. } => EvmOutcome {
            success: true,
            created: output.address().copied(),
            output: output.into_data(),
            gas_used,
            logs,
            halt: None,
        },
        ExecutionResult::Revert { output, .. } => EvmOutcome {
            success: false,
            output,
            gas_used,
            logs: Vec::new(),
            created: None,
            halt: None,
        },
        ExecutionResult::Halt { reason, .. } => EvmOutcome {
            success: false,
            output: Bytes::new(),
            gas_used,
            logs: Vec::new(),
            created: None,
            halt: Some(halt_reason(&reason)),
        },
    };
    Ok((outcome, inspector))
}

/// Writes what revm changed into the world state, and the module writes that survived.
fn apply_state(state: &mut State, changes: EvmState, writes: &[Bytes]) {
    for (address, account) in changes {
        if !account.is_touched() {
            continue;
        }
        if address == MODULE_WRITES {
            for (key, id) in account.changed_storage_slots() {
                let id = usize::try_from(id.present_value).unwrap_or(usize::MAX);
                if let Some(value) = id.checked_sub(1).and_then(|i| writes.get(i)) {
                    state.set(B256::from(*key), value.clone());
                }
            }
        }
        if account.is_selfdestructed() {
            // Since Cancun only a contract created in the same transaction is destroyed, so
            // every slot it ever wrote is in this change set.
            for (slot, _) in account.storage.iter() {
                state.set_storage(&address, &B256::from(*slot), U256::ZERO);
            }
            state.set_code(&address, Bytes::new());
            state.set_account(&address, Default::default());
            continue;
        }
        let now = Account {
            nonce: account.info.nonce,
            balance: account.info.balance,
        };
        // A touched account is often unchanged (a call's target, a module's reserved account);
        // rewriting it would only re-hash its trie path.
        if state.account(&address) != now {
            state.set_account(&address, now);
        }
        if account.is_created()
            && let Some(code) = &account.info.code
        {
            state.set_code(&address, code.original_bytes());
        }
        for (slot, value) in account.changed_storage_slots() {
            if address != MODULE_WRITES {
                state.set_storage(&address, &B256::from(*slot), value.present_value);
            }
        }
    }
}

type Db<'a> = WrapDatabaseRef<StateDb<'a>>;
type Ctx<'a> = Context<RevmBlock, TxEnv, CfgEnv, Db<'a>, Journal<Db<'a>>, ()>;
/// The EVM with the native modules as precompiles.
type ModuleEvm<'a, I> =
    Evm<Ctx<'a>, I, EthInstructions<EthInterpreter, Ctx<'a>>, Bridge<'a>, EthFrame<EthInterpreter>>;

/// The EVM over `ctx`, whose calls into modules run them on `base` (the state the transaction
/// started from) and the journal; `depth` counts the module → contract calls it runs inside.
fn new_evm<'a, I>(
    ctx: Ctx<'a>,
    inspector: I,
    modules: &'a Modules,
    env: &'a BlockEnv,
    base: &'a State,
    replaced: &'a ReplacedStorage,
    depth: usize,
) -> ModuleEvm<'a, I> {
    Evm {
        ctx,
        inspector,
        instruction: EthInstructions::new_mainnet_with_spec(SPEC),
        precompiles: Bridge {
            eth: EthPrecompiles::new(SPEC),
            modules,
            env,
            base,
            replaced,
            writes: Vec::new(),
            depth,
        },
        frame_stack: FrameStack::new_prealloc(8),
    }
}

/// The chain's EVM configuration (Prague, EIP-170/3860 limits).
fn cfg_env(env: &BlockEnv) -> CfgEnv {
    let mut cfg = CfgEnv::new_with_spec(SPEC);
    cfg.chain_id = env.chain_id;
    cfg.limit_contract_code_size = Some(MAX_CODE_SIZE);
    cfg.limit_contract_initcode_size = Some(MAX_INITCODE_SIZE);
    cfg
}

/// The block as contracts see it, with `basefee` (zero for `eth_call`).
fn block_env(env: &BlockEnv, basefee: u64) -> RevmBlock {
    RevmBlock {
        number: U256::from(env.height),
        beneficiary: env.proposer,
        timestamp: U256::from(env.timestamp_ms / 1000),
        gas_limit: env.gas_limit,
        basefee,
        difficulty: U256::ZERO,
        // Not randomness: the parent hash, which every validator knows (see `BlockEnv`).
        prevrandao: Some(env.parent_hash),
        blob_excess_gas_and_price: Some(BlobExcessGasAndPrice::new(
            0,
            BLOB_BASE_FEE_UPDATE_FRACTION,
        )),
        ..Default::default()
    }
}

fn invalid_tx(invalid: InvalidTransaction) -> TxError {
    match invalid {
        InvalidTransaction::CallGasCostMoreThanGasLimit {
            initial_gas,
            gas_limit,
        }
        | InvalidTransaction::GasFloorMoreThanGasLimit {
            gas_floor: initial_gas,
            gas_limit,
        } => TxError::IntrinsicGas {
            have: gas_limit,
            want: initial_gas,
        },
        InvalidTransaction::CreateInitCodeSizeLimit => TxError::InitcodeTooLarge {
            max: MAX_INITCODE_SIZE,
        },
        InvalidTransaction::LackOfFundForMaxFee { fee, balance } => TxError::InsufficientFunds {
            balance: *balance,
            cost: *fee,
        },
        InvalidTransaction::NonceTooLow { tx, state } => TxError::NonceTooLow {
            expected: state,
            got: tx,
        },
        InvalidTransaction::NonceTooHigh { tx, state } => TxError::NonceTooHigh {
            expected: state,
            got: tx,
        },
        other => TxError::Evm(other.to_string()),
    }
}

fn halt_reason(reason: &HaltReason) -> String {
    match reason {
        HaltReason::OutOfGas(_) => "out of gas".into(),
        HaltReason::InvalidFEOpcode => "invalid opcode: INVALID".into(),
        HaltReason::OpcodeNotFound => "invalid opcode".into(),
        HaltReason::InvalidJump => "invalid jump destination".into(),
        HaltReason::StackUnderflow => "stack underflow".into(),
        HaltReason::StackOverflow => "stack limit reached 1024".into(),
        HaltReason::CallTooDeep => "max call depth exceeded".into(),
        HaltReason::CreateContractSizeLimit => "max code size exceeded".into(),
        HaltReason::CreateInitCodeSizeLimit => "max initcode size exceeded".into(),
        HaltReason::CreateCollision => "contract address collision".into(),
        HaltReason::CreateContractStartingWithEF => "invalid code: must not begin with 0xef".into(),
        HaltReason::StateChangeDuringStaticCall => "write protection".into(),
        HaltReason::OutOfFunds => "insufficient balance for transfer".into(),
        other => format!("{other:?}"),
    }
}
