//! Modules calling contracts: the native path's host (a [`State`] that can run a contract when a
//! module asks, as for an ERC-1155 receiver hook) and the one frame-running loop both hosts use.
//!
//! On the native path a module call works on a scratch copy of the state, so a hook's writes
//! join it and vanish with it if the module reverts. Inside the EVM (a contract called the
//! module) the hook runs as a nested frame of the same journal, so a revert anywhere above undoes
//! it too. Each hook level is a nested Rust call, so the nesting of hooks is capped
//! ([`MAX_CONTRACT_CALL_DEPTH`]).

use super::{Ctx, ModuleEvm, ReplacedStorage, StateDb, apply_state, block_env, cfg_env, new_evm};
use crate::env::BlockEnv;
use crate::kernel::{ContractCall, ContractReturn, Host, MAX_CONTRACT_CALL_DEPTH, revert_msg};
use crate::modules::Modules;
use crate::state::{Account, State};
use alloy_primitives::{Address, B256, Bytes, U256};
use revm::context::TxEnv;
use revm::context_interface::{ContextTr, JournalTr, LocalContextTr};
use revm::database_interface::WrapDatabaseRef;
use revm::handler::{EvmTr, FrameResult, ItemOrResult};
use revm::inspector::NoOpInspector;
use revm::interpreter::{
    CallInput, CallInputs, CallScheme, CallValue, FrameInput, SharedMemory,
    interpreter_action::FrameInit,
};
use revm::{Context, MainContext};

/// The native path's view of the world: the state, and the EVM for contracts a module calls.
pub struct NativeHost<'a> {
    pub state: &'a mut State,
    pub modules: &'a Modules,
    pub env: &'a BlockEnv,
    /// Storage a read-only call's override replaced (empty for transactions).
    pub replaced: &'a ReplacedStorage,
    /// The transaction's sender and gas price, as `tx.origin` and `GASPRICE` inside a hook.
    pub origin: Address,
    pub gas_price: u128,
}

impl Host for NativeHost<'_> {
    fn account(&mut self, address: &Address) -> Account {
        self.state.account(address)
    }

    fn set_account(&mut self, address: &Address, account: Account) {
        self.state.set_account(address, account)
    }

    fn entry(&mut self, key: &B256) -> Bytes {
        self.state.get(key).unwrap_or_default()
    }

    fn set_entry(&mut self, key: B256, value: Bytes) {
        self.state.set(key, value)
    }

    fn is_contract(&mut self, address: &Address) -> bool {
        self.modules.get(address).is_none() && self.state.code_hash(address).is_some()
    }

    fn call_contract(&mut self, call: ContractCall) -> ContractReturn {
        let (ret, changes, writes) = {
            let state: &State = self.state;
            let ctx = Context::mainnet()
                .with_db(WrapDatabaseRef(StateDb {
                    state,
                    modules: self.modules,
                    replaced: self.replaced,
                }))
                .with_cfg(cfg_env(self.env))
                .with_block(block_env(self.env, self.env.base_fee))
                .with_tx(TxEnv {
                    caller: self.origin,
                    gas_price: self.gas_price,
                    chain_id: Some(self.env.chain_id),
                    ..Default::default()
                });
            let mut evm = new_evm(
                ctx,
                NoOpInspector,
                self.modules,
                self.env,
                state,
                self.replaced,
                1,
            );
            let ret = call_frame(&mut evm, 0, call);
            let changes = evm.ctx.journal_mut().finalize();
            (ret, changes, std::mem::take(&mut evm.precompiles.writes))
        };
        apply_state(self.state, changes, &writes);
        ret
    }
}

/// Runs one call frame (and every frame it opens) on `evm`'s journal, at call depth `depth`.
/// The frame's checkpoint is committed or reverted as the call ends; its logs are taken out of
/// the journal and returned, so the calling module can place them after its own.
pub(super) fn call_frame<I>(
    evm: &mut ModuleEvm<'_, I>,
    depth: usize,
    call: ContractCall,
) -> ContractReturn
where
    I: for<'x> revm::Inspector<Ctx<'x>>,
{
    if evm.precompiles.depth > MAX_CONTRACT_CALL_DEPTH {
        return refused(format!(
            "module calls into contracts nested deeper than {MAX_CONTRACT_CALL_DEPTH}"
        ));
    }
    let journal = evm.ctx.journal_mut();
    let logs_before = journal.logs().len();
    let Ok(account) = journal.load_account_with_code(call.to);
    let info = &account.data.info;
    let known_bytecode = (info.code_hash(), info.code.clone().unwrap_or_default());
    let inputs = CallInputs {
        input: CallInput::Bytes(call.input),
        return_memory_offset: 0..0,
        gas_limit: call.gas_limit,
        reservoir: 0,
        bytecode_address: call.to,
        known_bytecode,
        target_address: call.to,
        caller: call.from,
        value: CallValue::Transfer(U256::ZERO),
        scheme: CallScheme::Call,
        is_static: call.is_static,
        charged_new_account_state_gas: false,
    };
    // The frames' memory continues the context's shared buffer after what the frames of an
    // enclosing call use (call inputs are read from that buffer).
    let mut memory = SharedMemory::new_with_buffer(evm.ctx.local().shared_memory_buffer().clone());
    let first = FrameInit {
        depth,
        memory: memory.new_child_context(),
        frame_input: FrameInput::Call(Box::new(inputs)),
    };
    let result = run_frames(evm, first);
    memory.free_child_context();
    let result = match result {
        Ok(FrameResult::Call(outcome)) => outcome.result,
        Ok(_) => return refused("a call frame ended as a creation".into()),
        Err(error) => return refused(error),
    };
    let logs = &mut evm.ctx.journaled_state.inner.logs;
    let taken = logs.split_off(logs_before.min(logs.len()));
    let success = result.is_ok();
    ContractReturn {
        success,
        gas_used: call.gas_limit.saturating_sub(result.gas.remaining()),
        output: result.output,
        logs: if success { taken } else { Vec::new() },
    }
}

/// The frame loop: run the top frame, open the frames it calls, hand results back down, until
/// the first frame returns.
fn run_frames<I>(evm: &mut ModuleEvm<'_, I>, first: FrameInit) -> Result<FrameResult, String>
where
    I: for<'x> revm::Inspector<Ctx<'x>>,
{
    if let ItemOrResult::Result(result) = evm.frame_init(first).map_err(|e| format!("{e:?}"))? {
        return Ok(result);
    }
    loop {
        let result = match evm.frame_run().map_err(|e| format!("{e:?}"))? {
            ItemOrResult::Item(init) => match evm.frame_init(init).map_err(|e| format!("{e:?}"))? {
                ItemOrResult::Item(_) => continue,
                ItemOrResult::Result(result) => result,
            },
            ItemOrResult::Result(result) => result,
        };
        if let Some(result) = evm
            .frame_return_result(result)
            .map_err(|e| format!("{e:?}"))?
        {
            return Ok(result);
        }
    }
}

fn refused(reason: String) -> ContractReturn {
    let output = match revert_msg(reason) {
        crate::kernel::ModuleError::Revert(data) => data,
        crate::kernel::ModuleError::OutOfGas => Bytes::new(),
    };
    ContractReturn {
        success: false,
        output,
        gas_used: 0,
        logs: Vec::new(),
    }
}
