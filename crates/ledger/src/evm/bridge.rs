//! How contracts call native modules: the precompile provider that runs a module when a call
//! reaches its address, and the module's view of the world through the EVM's journal (see the
//! parent module's documentation).

use super::host::call_frame;
use super::{Ctx, ReplacedStorage, StateDb, new_evm};

use crate::env::BlockEnv;
use crate::gas;
use crate::kernel::{Call, ContractCall, ContractReturn, Host, ModuleError, revert_msg};
use crate::modules::Modules;
use crate::state::{Account, State};
use alloy_primitives::{Address, B256, Bytes, U256, address};
use revm::context_interface::journaled_state::account::JournaledAccountTr;
use revm::context_interface::{ContextTr, JournalTr};
use revm::database_interface::WrapDatabaseRef;
use revm::handler::{EthPrecompiles, PrecompileProvider};
use revm::inspector::NoOpInspector;
use revm::interpreter::{CallInputs, CallScheme, Gas, InstructionResult, InterpreterResult};
use revm::primitives::hardfork::SpecId;
use revm::primitives::{AddressSet, KECCAK_EMPTY};
use revm::{Context, MainContext};

/// The reserved account whose journaled storage words record a transaction's module writes: word
/// `key` holds `i + 1` when the entry `key` was last written with the `i`-th value of the
/// transaction's list (ASCII "LazAI module writes!": no one holds its key, and no contract can
/// write another account's storage).
pub const MODULE_WRITES: Address = address!("0x4c617a4149206d6f64756c652077726974657321");

/// The EVM's precompiles plus the native modules, which contracts call like any contract.
pub(super) struct Bridge<'a> {
    pub(super) eth: EthPrecompiles,
    pub(super) modules: &'a Modules,
    pub(super) env: &'a BlockEnv,
    /// The state the transaction started from.
    pub(super) base: &'a State,
    /// Storage a read-only call's override replaced.
    pub(super) replaced: &'a ReplacedStorage,
    /// Values written by module calls in this transaction, in order.
    pub(super) writes: Vec<Bytes>,
    /// How many module → contract calls (receiver hooks) this EVM runs inside.
    pub(super) depth: usize,
}

impl<'a> PrecompileProvider<Ctx<'a>> for Bridge<'a> {
    type Output = InterpreterResult;

    fn set_spec(&mut self, spec: SpecId) -> bool {
        <EthPrecompiles as PrecompileProvider<Ctx<'a>>>::set_spec(&mut self.eth, spec)
    }

    fn run(
        &mut self,
        ctx: &mut Ctx<'a>,
        inputs: &CallInputs,
    ) -> Result<Option<InterpreterResult>, String> {
        let Some(module) = self.modules.get(&inputs.bytecode_address) else {
            return self.eth.run(ctx, inputs);
        };
        let mut gas = Gas::new(inputs.gas_limit);
        let revert = |gas: Gas, error: ModuleError| {
            let data = match error {
                ModuleError::Revert(data) => data,
                ModuleError::OutOfGas => Bytes::new(),
            };
            Ok(Some(InterpreterResult::new(
                InstructionResult::Revert,
                data,
                gas,
            )))
        };
        if !matches!(inputs.scheme, CallScheme::Call | CallScheme::StaticCall) {
            return revert(
                gas,
                revert_msg(format!(
                    "{}: DELEGATECALL and CALLCODE to a native module are refused",
                    module.name()
                )),
            );
        }
        let input = inputs.input.bytes(ctx);
        let mut host = JournalHost {
            ctx,
            base: self.base,
            replaced: self.replaced,
            modules: self.modules,
            env: self.env,
            writes: &mut self.writes,
            depth: self.depth,
        };
        let mut call = Call::new(
            inputs.target_address,
            inputs.caller,
            inputs.value.get(),
            self.env,
            &mut host,
            inputs.gas_limit,
        );
        if inputs.is_static {
            call = call.read_only();
        }
        let result = call
            .charge(gas::MODULE_CALL)
            .and_then(|_| module.call(&mut call, &input));
        let used = call.gas_used();
        let logs = call.into_logs();
        // The module's meter was given the frame's gas, so it cannot have used more.
        if matches!(result, Err(ModuleError::OutOfGas)) || !gas.record_regular_cost(used) {
            gas.spend_all();
            return Ok(Some(InterpreterResult::new(
                InstructionResult::PrecompileOOG,
                Bytes::new(),
                gas,
            )));
        }
        match result {
            Ok(output) => {
                for log in logs {
                    host.ctx.journal_mut().log(log);
                }
                Ok(Some(InterpreterResult::new(
                    InstructionResult::Return,
                    output.into(),
                    gas,
                )))
            }
            Err(error) => revert(gas, error),
        }
    }

    fn warm_addresses(&self) -> &AddressSet {
        self.eth.warm_addresses()
    }
}

/// A module call's view of the world inside the EVM: accounts from the journal, entries from the
/// journaled module writes over the transaction's starting state.
struct JournalHost<'c, 'a> {
    ctx: &'c mut Ctx<'a>,
    base: &'a State,
    replaced: &'a ReplacedStorage,
    modules: &'a Modules,
    env: &'a BlockEnv,
    writes: &'c mut Vec<Bytes>,
    depth: usize,
}

impl JournalHost<'_, '_> {
    fn write_id(&mut self, key: &B256) -> U256 {
        let journal = self.ctx.journal_mut();
        let Ok(_) = journal.load_account(MODULE_WRITES);
        let Ok(id) = journal.sload(MODULE_WRITES, U256::from_be_bytes(key.0));
        id.data
    }
}

impl Host for JournalHost<'_, '_> {
    fn account(&mut self, address: &Address) -> Account {
        let Ok(account) = self.ctx.journal_mut().load_account(*address);
        Account {
            nonce: account.data.info.nonce,
            balance: account.data.info.balance,
        }
    }

    fn set_account(&mut self, address: &Address, account: Account) {
        let Ok(mut loaded) = self.ctx.journal_mut().load_account_mut(*address);
        // Modules move balances; nonces are the EVM's.
        loaded.data.set_balance(account.balance);
    }

    fn entry(&mut self, key: &B256) -> Bytes {
        let id = self.write_id(key);
        if id.is_zero() {
            return self.base.get(key).unwrap_or_default();
        }
        usize::try_from(id)
            .ok()
            .and_then(|id| self.writes.get(id - 1))
            .cloned()
            .unwrap_or_default()
    }

    fn set_entry(&mut self, key: B256, value: Bytes) {
        self.writes.push(value);
        let id = U256::from(self.writes.len());
        let journal = self.ctx.journal_mut();
        let Ok(_) = journal.load_account(MODULE_WRITES);
        let Ok(_) = journal.sstore(MODULE_WRITES, U256::from_be_bytes(key.0), id);
    }

    fn is_contract(&mut self, address: &Address) -> bool {
        if self.modules.get(address).is_some() {
            return false;
        }
        let Ok(account) = self.ctx.journal_mut().load_account(*address);
        account.data.info.code_hash != KECCAK_EMPTY
    }

    fn call_contract(&mut self, call: ContractCall) -> ContractReturn {
        // The hook runs as a nested frame of this transaction's journal: the EVM that runs it
        // borrows the context, and hands it back with the frame's effects in it.
        let stand_in = Context::mainnet().with_db(WrapDatabaseRef(StateDb {
            state: self.base,
            modules: self.modules,
            replaced: self.replaced,
        }));
        let ctx = std::mem::replace(self.ctx, stand_in);
        let mut evm = new_evm(
            ctx,
            NoOpInspector,
            self.modules,
            self.env,
            self.base,
            self.replaced,
            self.depth + 1,
        );
        evm.precompiles.writes = std::mem::take(self.writes);
        let depth = evm.ctx.journal().depth();
        let ret = call_frame(&mut evm, depth, call);
        *self.writes = std::mem::take(&mut evm.precompiles.writes);
        *self.ctx = evm.ctx;
        ret
    }
}
