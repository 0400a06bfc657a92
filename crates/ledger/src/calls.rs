//! Read-only runs on a state, nothing kept: `eth_call` (with geth's state overrides),
//! `eth_createAccessList` and `debug_traceCall`. Each works on a scratch copy of the state, so
//! the state it was given is never changed.

use crate::env::BlockEnv;
use crate::error::TxError;
use crate::evm;
use crate::exec::Ledger;
use crate::gas;
use crate::state::State;
use alloy_eips::eip2930::AccessList;
use alloy_primitives::{Address, Bytes, Log, U256};
use alloy_rpc_types_eth::state::StateOverride;
use alloy_rpc_types_trace::geth::{GethDebugTracingOptions, GethTrace};

/// The outcome of a read-only call (`eth_call`, `eth_estimateGas`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CallOutcome {
    pub success: bool,
    /// Return data on success, revert data otherwise.
    pub output: Bytes,
    /// Gas including the intrinsic cost of a transaction with this calldata.
    pub gas_used: u64,
    pub logs: Vec<Log>,
    /// True when the call ran out of gas.
    pub out_of_gas: bool,
}

/// A read-only call (`eth_call`, `eth_estimateGas`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CallParams {
    pub from: Address,
    /// `None` runs `input` as a contract's initcode.
    pub to: Option<Address>,
    pub value: U256,
    pub input: Bytes,
    pub gas_limit: u64,
    /// Counted in the intrinsic gas and warmed, as a transaction's would be.
    pub access_list: AccessList,
    /// Applied to the scratch state before the call (see [`evm::apply_overrides`]).
    pub overrides: StateOverride,
}

impl Ledger {
    /// Runs a call against a state without keeping any change (`eth_call`). Does not check
    /// nonce or fees; value is moved only if `from` can afford it. `gas_used` includes the
    /// intrinsic gas of a transaction carrying this calldata, as `eth_estimateGas` reports.
    /// An override set that cannot be honoured is refused ([`TxError::StateOverride`]).
    pub fn call(
        &self,
        state: &State,
        env: &BlockEnv,
        params: &CallParams,
    ) -> Result<CallOutcome, TxError> {
        let (scratch, replaced) = self.overridden(state, params)?;
        self.call_overridden(scratch, &replaced, env, params)
    }

    /// [`Ledger::call`] on a scratch state the overrides were already applied to.
    fn call_overridden(
        &self,
        mut scratch: State,
        replaced: &evm::ReplacedStorage,
        env: &BlockEnv,
        params: &CallParams,
    ) -> Result<CallOutcome, TxError> {
        if evm::runs_in_evm(&scratch, &self.modules, params.to, &params.input) {
            let tx = evm_call(&scratch, params);
            let mode = evm::Mode::Call(replaced);
            let outcome = evm::transact(&mut scratch, &self.modules, env, tx, mode)?;
            return Ok(CallOutcome {
                success: outcome.success,
                out_of_gas: outcome.out_of_gas(),
                output: outcome.output,
                gas_used: outcome.gas_used,
                logs: outcome.logs,
            });
        }
        let to = params.to.expect("a creation runs in the EVM");
        let intrinsic = gas::intrinsic_of(&params.input, Some(&params.access_list));
        if params.gas_limit < intrinsic {
            return Err(TxError::IntrinsicGas {
                have: params.gas_limit,
                want: intrinsic,
            });
        }
        let d = self.dispatch(
            &mut scratch,
            env,
            params.from,
            to,
            params.value,
            &params.input,
            params.gas_limit - intrinsic,
            0,
            replaced,
        );
        Ok(CallOutcome {
            success: d.success,
            output: d.output,
            gas_used: intrinsic + d.gas_used,
            logs: d.logs,
            out_of_gas: d.out_of_gas,
        })
    }

    /// The access list a transaction like `params` would use (`eth_createAccessList`): every
    /// account and slot the call touched, the sender, the recipient and precompiles left out,
    /// with the outcome of the call *with* that list (its gas is what the list saves or costs).
    /// A call on the native path (a module call or a plain transfer) gets an empty list: modules
    /// keep their storage in the chain's own key space, which access lists do not name.
    pub fn create_access_list(
        &self,
        state: &State,
        env: &BlockEnv,
        params: &CallParams,
    ) -> Result<(AccessList, CallOutcome), TxError> {
        let (mut scratch, replaced) = self.overridden(state, params)?;
        if !evm::runs_in_evm(&scratch, &self.modules, params.to, &params.input) {
            let outcome = self.call_overridden(scratch, &replaced, env, params)?;
            return Ok((params.access_list.clone(), outcome));
        }
        // The listing run changes its copy; the measured run starts from the same overridden
        // state.
        let fresh = scratch.clone();
        let tx = evm_call(&scratch, params);
        let (list, _) = evm::access_list(&mut scratch, &self.modules, env, tx, &replaced)?;
        let with_list = CallParams {
            access_list: list.clone(),
            ..params.clone()
        };
        let outcome = self.call_overridden(fresh, &replaced, env, &with_list)?;
        Ok((list, outcome))
    }

    /// Runs a read-only call as [`Ledger::call`] does and traces it (`debug_traceCall`).
    pub fn trace_call(
        &self,
        state: &State,
        env: &BlockEnv,
        params: &CallParams,
        opts: &GethDebugTracingOptions,
    ) -> Result<GethTrace, evm::TraceError> {
        let (mut scratch, replaced) = self.overridden(state, params)?;
        if evm::runs_in_evm(&scratch, &self.modules, params.to, &params.input) {
            let tx = evm_call(&scratch, params);
            let mode = evm::Mode::Call(&replaced);
            return evm::trace(&mut scratch, &self.modules, env, tx, mode, opts)
                .map(|(_, trace)| trace);
        }
        let outcome = self.call_overridden(scratch, &replaced, env, params)?;
        evm::native_trace(
            opts,
            params.from,
            params.to.unwrap_or_default(),
            params.value,
            params.input.clone(),
            params.gas_limit,
            outcome.success,
            outcome.gas_used,
            outcome.output,
            &outcome.logs,
        )
    }

    /// A scratch copy of `state` with the call's overrides applied.
    fn overridden(
        &self,
        state: &State,
        params: &CallParams,
    ) -> Result<(State, evm::ReplacedStorage), TxError> {
        let mut scratch = state.clone();
        let replaced = evm::apply_overrides(&mut scratch, &self.modules, &params.overrides)
            .map_err(TxError::StateOverride)?;
        Ok((scratch, replaced))
    }
}

/// The EVM form of a read-only call on `state`.
fn evm_call(state: &State, params: &CallParams) -> evm::EvmTx {
    evm::EvmTx {
        access_list: params.access_list.clone(),
        ..evm::EvmTx::call(
            params.from,
            params.to,
            params.value,
            params.input.clone(),
            params.gas_limit,
            state.nonce(&params.from),
        )
    }
}
