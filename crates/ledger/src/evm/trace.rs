//! Tracing (`debug_traceTransaction`, `debug_traceCall`): a run under a `revm-inspectors`
//! tracer, or one synthetic frame for what does not run in the EVM.

use super::{EvmOutcome, EvmTx, Mode, run};

use crate::env::BlockEnv;
use crate::error::TxError;
use crate::modules::Modules;
use crate::state::State;
use alloy_primitives::{Address, Bytes, Log, U256};
use alloy_rpc_types_trace::geth::{
    CallConfig, CallFrame, CallLogFrame, DefaultFrame, GethDebugBuiltInTracerType,
    GethDebugTracerType, GethDebugTracingOptions, GethDefaultTracingOptions, GethTrace,
};
use revm_inspectors::tracing::{TracingInspector, TracingInspectorConfig};

/// Why a trace could not be made.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TraceError {
    /// The transaction or call is invalid (it could not have been included).
    #[error(transparent)]
    Invalid(#[from] TxError),
    /// The tracer or its configuration is not one this node serves.
    #[error("{0}")]
    Tracer(String),
}

/// What a tracer asks to watch.
enum Tracer {
    StructLogs(GethDefaultTracingOptions),
    Calls(CallConfig),
    Noop,
}

impl Tracer {
    fn of(opts: &GethDebugTracingOptions) -> Result<Self, TraceError> {
        use GethDebugBuiltInTracerType as T;
        match &opts.tracer {
            None => Ok(Self::StructLogs(opts.config)),
            Some(GethDebugTracerType::BuiltInTracer(T::CallTracer)) => opts
                .tracer_config
                .clone()
                .into_call_config()
                .map(Self::Calls)
                .map_err(|e| TraceError::Tracer(format!("invalid callTracer config: {e}"))),
            Some(GethDebugTracerType::BuiltInTracer(T::NoopTracer)) => Ok(Self::Noop),
            Some(other) => Err(TraceError::Tracer(format!(
                "tracer {other:?} is not supported: the default struct logger, callTracer and \
                 noopTracer are"
            ))),
        }
    }
}

/// Runs `tx` like [`transact`] under the tracer `opts` names (geth's default struct logger,
/// `callTracer` or `noopTracer`), and returns its outcome with the trace.
pub fn trace(
    state: &mut State,
    modules: &Modules,
    env: &BlockEnv,
    tx: EvmTx,
    mode: Mode<'_>,
    opts: &GethDebugTracingOptions,
) -> Result<(EvmOutcome, GethTrace), TraceError> {
    let tracer = Tracer::of(opts)?;
    let config = match &tracer {
        Tracer::StructLogs(c) => TracingInspectorConfig::from_geth_config(c),
        Tracer::Calls(c) => TracingInspectorConfig::from_geth_call_config(c),
        Tracer::Noop => TracingInspectorConfig::none(),
    };
    let (outcome, inspector) = run(
        state,
        modules,
        env,
        tx,
        mode,
        TracingInspector::new(config),
        !matches!(tracer, Tracer::Noop),
    )?;
    let builder = inspector.into_geth_builder();
    let trace = match tracer {
        Tracer::StructLogs(c) => {
            GethTrace::Default(builder.geth_traces(outcome.gas_used, outcome.output.clone(), c))
        }
        Tracer::Calls(c) => GethTrace::CallTracer(builder.geth_call_traces(c, outcome.gas_used)),
        Tracer::Noop => GethTrace::NoopTracer(Default::default()),
    };
    Ok((outcome, trace))
}

/// The trace of a transaction or call that did not run in the EVM (a module call or a plain
/// transfer): one frame, with no opcode steps.
#[allow(clippy::too_many_arguments)]
pub fn native_trace(
    opts: &GethDebugTracingOptions,
    from: Address,
    to: Address,
    value: U256,
    input: Bytes,
    gas_limit: u64,
    success: bool,
    gas_used: u64,
    output: Bytes,
    logs: &[Log],
) -> Result<GethTrace, TraceError> {
    Ok(match Tracer::of(opts)? {
        Tracer::StructLogs(_) => GethTrace::Default(DefaultFrame {
            failed: !success,
            gas: gas_used,
            return_value: output,
            struct_logs: Vec::new(),
            ..Default::default()
        }),
        Tracer::Calls(config) => GethTrace::CallTracer(CallFrame {
            from,
            gas: U256::from(gas_limit),
            gas_used: U256::from(gas_used),
            to: Some(to),
            input,
            error: (!success).then(|| "execution reverted".to_string()),
            revert_reason: (!success)
                .then(|| alloy_sol_types::decode_revert_reason(&output))
                .flatten(),
            output: Some(output),
            logs: if config.with_log.unwrap_or_default() {
                logs.iter()
                    .enumerate()
                    .map(|(i, log)| CallLogFrame {
                        address: Some(log.address),
                        topics: Some(log.topics().to_vec()),
                        data: Some(log.data.data.clone()),
                        position: Some(0),
                        index: Some(i as u64),
                    })
                    .collect()
            } else {
                Vec::new()
            },
            value: Some(value),
            typ: "CALL".to_string(),
            ..Default::default()
        }),
        Tracer::Noop => GethTrace::NoopTracer(Default::default()),
    })
}
