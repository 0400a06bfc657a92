//! Calls, events and reverts decoded by ABI: each native module's JSON ABI comes from its `sol!`
//! interface in `lazai-abi` (one definition for the ledger, the clients and the explorer), and
//! the ERC-20 events and calls decode for any contract.

use alloy_dyn_abi::{DynSolValue, EventExt, FunctionExt, JsonAbiExt};
use alloy_json_abi::{Error as AbiError, Event, Function, JsonAbi};
use alloy_primitives::{Address, B256, Bytes};
use lazai_abi as abi;
use std::collections::HashMap;
use std::sync::OnceLock;

alloy_sol_types::sol! {
    #[sol(abi)]
    interface IERC20 {
        event Transfer(address indexed from, address indexed to, uint256 value);
        event Approval(address indexed owner, address indexed spender, uint256 value);
        function transfer(address to, uint256 value) external returns (bool);
        function approve(address spender, uint256 value) external returns (bool);
        function transferFrom(address from, address to, uint256 value) external returns (bool);
    }
}

/// A native module: its name and ABI.
pub struct Module {
    pub name: &'static str,
    pub abi: JsonAbi,
}

/// A decoded argument: name (may be empty), Solidity type and value.
#[derive(Clone, Debug)]
pub struct Arg {
    pub name: String,
    pub ty: String,
    pub value: DynSolValue,
    /// Whether it was an indexed topic.
    pub indexed: bool,
}

/// A call or event decoded by ABI.
#[derive(Clone, Debug)]
pub struct Decoded {
    pub name: String,
    pub args: Vec<Arg>,
}

struct Registry {
    modules: HashMap<Address, Module>,
    /// Selector → functions of any module (for frames whose target is unknown).
    functions: HashMap<[u8; 4], Function>,
    /// Topic 0 → events of any module and ERC-20.
    events: HashMap<B256, Vec<Event>>,
    /// Selector → custom errors of any module.
    errors: HashMap<[u8; 4], AbiError>,
}

fn merge(parts: &[JsonAbi]) -> JsonAbi {
    let mut out = JsonAbi::new();
    for part in parts {
        for f in part.functions() {
            out.functions
                .entry(f.name.clone())
                .or_default()
                .push(f.clone());
        }
        for e in part.events() {
            out.events
                .entry(e.name.clone())
                .or_default()
                .push(e.clone());
        }
        for e in part.errors() {
            out.errors
                .entry(e.name.clone())
                .or_default()
                .push(e.clone());
        }
    }
    out
}

fn registry() -> &'static Registry {
    static REGISTRY: OnceLock<Registry> = OnceLock::new();
    REGISTRY.get_or_init(|| {
        let process = abi::IAIProcess::abi::contract();
        let list: Vec<(Address, &'static str, JsonAbi)> = vec![
            (
                abi::IDAO_REGISTRY_ADDRESS,
                "IdaoRegistry",
                merge(&[
                    abi::IIdaoRegistry::abi::contract(),
                    abi::ITeeRegistry::abi::contract(),
                ]),
            ),
            (
                abi::DAT_ADDRESS,
                "DataAnchoringToken",
                abi::IDataAnchoringToken::abi::contract(),
            ),
            (
                abi::DATA_REGISTRY_ADDRESS,
                "DataRegistry",
                abi::IDataRegistry::abi::contract(),
            ),
            (
                abi::VERIFIED_COMPUTING_ADDRESS,
                "VerifiedComputing",
                abi::IVerifiedComputing::abi::contract(),
            ),
            (abi::VSC_ADDRESS, "VSC", abi::IVsc::abi::contract()),
            (
                abi::MODEL_REGISTRY_ADDRESS,
                "ModelRegistry",
                abi::IModelRegistry::abi::contract(),
            ),
            (
                abi::SETTLEMENT_ADDRESS,
                "Settlement",
                abi::ISettlement::abi::contract(),
            ),
            (abi::QUERY_ADDRESS, "AIProcess (query)", process.clone()),
            (
                abi::INFERENCE_ADDRESS,
                "AIProcess (inference)",
                process.clone(),
            ),
            (abi::TRAINING_ADDRESS, "AIProcess (training)", process),
            (
                abi::VERIFIER_ADDRESS,
                "Verifier",
                abi::IVerifier::abi::contract(),
            ),
        ];
        let erc20 = IERC20::abi::contract();
        let mut functions = HashMap::new();
        let mut events: HashMap<B256, Vec<Event>> = HashMap::new();
        let mut errors = HashMap::new();
        for (_, _, abi) in &list {
            for f in abi.functions() {
                functions.entry(f.selector().0).or_insert_with(|| f.clone());
            }
            for e in abi.events() {
                let list = events.entry(e.selector()).or_default();
                if !list.iter().any(|x| x == e) {
                    list.push(e.clone());
                }
            }
            for e in abi.errors() {
                errors.entry(e.selector().0).or_insert_with(|| e.clone());
            }
        }
        for f in erc20.functions() {
            functions.entry(f.selector().0).or_insert_with(|| f.clone());
        }
        for e in erc20.events() {
            events.entry(e.selector()).or_default().push(e.clone());
        }
        let modules = list
            .into_iter()
            .map(|(address, name, abi)| (address, Module { name, abi }))
            .collect();
        Registry {
            modules,
            functions,
            events,
            errors,
        }
    })
}

/// The native module at `address`, if it is one.
pub fn module(address: &Address) -> Option<&'static Module> {
    registry().modules.get(address)
}

/// Every native module, by address.
pub fn modules() -> impl Iterator<Item = (&'static Address, &'static Module)> {
    registry().modules.iter()
}

/// The function a call's input names: the module's at `to` when there is one, else any
/// module's or ERC-20's with that selector.
fn function_for(to: Option<&Address>, input: &[u8]) -> Option<&'static Function> {
    let selector: [u8; 4] = input.get(..4)?.try_into().ok()?;
    to.and_then(module)
        .and_then(|m| m.abi.functions().find(|f| f.selector().0 == selector))
        .or_else(|| registry().functions.get(&selector))
}

/// Parameters paired with their decoded values.
fn named(params: &[alloy_json_abi::Param], values: Vec<DynSolValue>) -> Vec<Arg> {
    params
        .iter()
        .zip(values)
        .map(|(p, value)| Arg {
            name: p.name.clone(),
            ty: p.ty.clone(),
            value,
            indexed: false,
        })
        .collect()
}

/// A call's input decoded (see [`function_for`] for which function).
pub fn decode_call(to: Option<&Address>, input: &[u8]) -> Option<Decoded> {
    let function = function_for(to, input)?;
    let values = function.abi_decode_input(&input[4..]).ok()?;
    Some(Decoded {
        name: function.name.clone(),
        args: named(&function.inputs, values),
    })
}

/// A call's output decoded by the function its input names.
pub fn decode_output(to: Option<&Address>, input: &[u8], output: &[u8]) -> Option<Vec<Arg>> {
    let function = function_for(to, input)?;
    let values = function.abi_decode_output(output).ok()?;
    Some(named(&function.outputs, values))
}

/// An event decoded by the first known event with its topic 0 whose shape fits.
pub fn decode_log(topics: &[B256], data: &[u8]) -> Option<Decoded> {
    let candidates = registry().events.get(topics.first()?)?;
    for event in candidates {
        let Ok(decoded) = event.decode_log_parts(topics.iter().copied(), data) else {
            continue;
        };
        let mut indexed = decoded.indexed.into_iter();
        let mut body = decoded.body.into_iter();
        let mut args = Vec::with_capacity(event.inputs.len());
        for p in &event.inputs {
            let value = if p.indexed {
                indexed.next()
            } else {
                body.next()
            };
            let Some(value) = value else { break };
            args.push(Arg {
                name: p.name.clone(),
                ty: p.ty.clone(),
                value,
                indexed: p.indexed,
            });
        }
        return Some(Decoded {
            name: event.name.clone(),
            args,
        });
    }
    None
}

/// Revert data named: `Error(string)`'s message, `Panic(uint256)`'s code, or a module's custom
/// error with its arguments; `None` for data no ABI knows.
pub fn decode_revert(data: &[u8]) -> Option<String> {
    if data.is_empty() {
        return None;
    }
    use alloy_sol_types::SolError as _;
    if let Ok(revert) = alloy_sol_types::Revert::abi_decode(data) {
        return Some(revert.reason);
    }
    if let Ok(panic) = alloy_sol_types::Panic::abi_decode(data) {
        return Some(format!("Panic({:#x})", panic.code));
    }
    let selector: [u8; 4] = data.get(..4)?.try_into().ok()?;
    let error = registry().errors.get(&selector)?;
    let values = error.abi_decode_input(&data[4..]).ok()?;
    let args: Vec<String> = error
        .inputs
        .iter()
        .zip(values)
        .map(|(p, v)| {
            let v = plain(&v);
            if p.name.is_empty() {
                v
            } else {
                format!("{}: {v}", p.name)
            }
        })
        .collect();
    Some(format!("{}({})", error.name, args.join(", ")))
}

/// A value as plain text (numbers in decimal, bytes in hex, strings as they are).
pub fn plain(value: &DynSolValue) -> String {
    match value {
        DynSolValue::Bool(b) => b.to_string(),
        DynSolValue::Int(i, _) => i.to_string(),
        DynSolValue::Uint(u, _) => u.to_string(),
        DynSolValue::FixedBytes(w, size) => format!("0x{}", hex::encode(&w[..*size])),
        DynSolValue::Address(a) => a.to_checksum(None),
        DynSolValue::Function(f) => format!("0x{}", hex::encode(f.as_slice())),
        DynSolValue::Bytes(b) => format!("0x{}", hex::encode(b)),
        DynSolValue::String(s) => s.clone(),
        DynSolValue::Array(items) | DynSolValue::FixedArray(items) | DynSolValue::Tuple(items) => {
            let inner: Vec<String> = items.iter().map(plain).collect();
            format!("[{}]", inner.join(", "))
        }
        #[allow(unreachable_patterns)]
        _ => "?".to_string(),
    }
}

/// The bytes of revert data as a node's error carries them.
pub fn revert_bytes(data: &Option<Bytes>) -> &[u8] {
    data.as_ref().map_or(&[], |b| b.as_ref())
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloy_primitives::U256;
    use alloy_sol_types::{SolCall, SolError};

    #[test]
    fn a_module_call_decodes_into_its_function_and_named_arguments() {
        let call = abi::IDataAnchoringToken::mint_0Call {
            classId: U256::from(3),
            to: Address::repeat_byte(9),
            value: U256::from(100),
            shareRatio: U256::from(7),
            expireAt: 0,
        };
        let d = decode_call(Some(&abi::DAT_ADDRESS), &call.abi_encode()).expect("decodes");
        assert_eq!(d.name, "mint");
        assert_eq!(d.args[0].name, "classId");
        assert_eq!(plain(&d.args[0].value), "3");
        assert_eq!(d.args[1].ty, "address");
    }

    #[test]
    fn a_custom_error_is_named_with_its_arguments() {
        let data = abi::IIdaoRegistry::IdaoNotFound {
            idaoId: U256::from(42),
        }
        .abi_encode();
        assert_eq!(
            decode_revert(&data).as_deref(),
            Some("IdaoNotFound(idaoId: 42)")
        );
        assert_eq!(decode_revert(&[1, 2, 3, 4, 5]), None);
        assert_eq!(decode_revert(&[]), None);
    }

    #[test]
    fn garbage_input_decodes_to_nothing() {
        assert!(decode_call(Some(&abi::DAT_ADDRESS), &[0xde, 0xad]).is_none());
        assert!(decode_call(None, &[0xff; 40]).is_none());
        assert!(decode_log(&[], &[]).is_none());
        assert!(decode_log(&[B256::repeat_byte(1)], &[1, 2]).is_none());
    }
}
