//! Native modules: LazAI's contracts as Rust code at fixed addresses, called with Solidity ABI.
//!
//! A module receives the calldata of a transaction (or `eth_call`) addressed to it, decodes it
//! by selector, and answers exactly as a Solidity contract would: ABI-encoded return data,
//! reverts as `Error(string)` or custom errors (selector + args), events as Ethereum logs with
//! topic0 = keccak256 of the event signature. State lives in the module's own key space of the
//! world state; every read, write and log is metered by the gas schedule in [`crate::gas`].

pub mod aiprocess;
pub mod dat;
pub mod idao;
pub mod models;
pub mod registry;
pub mod settlement;
pub mod verified;
pub mod verifier;
pub mod vsc;

pub use aiprocess::{AiProcess, Kind};
pub use dat::Dat;
pub use idao::tee::enable_dev_tee;
pub use idao::{IdaoRegistry, verify_consensus_key_signature};
pub use models::ModelRegistry;
pub use registry::DataRegistry;
pub use settlement::SettlementModule;
pub use verified::VerifiedComputing;
pub use verifier::{Verifier, enable_dev_zk};
pub use vsc::{Vsc, choose_quorum};

pub use crate::kernel::{Call, Module, ModuleError, decode_call, revert_msg, revert_with, slot};

use alloy_primitives::{Address, Bytes};
use lazai_types::StakingParams;
use std::sync::Arc;

/// The set of native modules of a chain, looked up by address.
#[derive(Clone)]
pub struct Modules {
    list: Arc<Vec<Arc<dyn Module>>>,
}

impl std::fmt::Debug for Modules {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list()
            .entries(self.list.iter().map(|m| (m.name(), m.address())))
            .finish()
    }
}

impl Modules {
    /// Every module LazChain runs today, with default staking parameters and no governance
    /// address (the zero address, which nobody can sign for).
    pub fn standard() -> Self {
        Self::standard_with(StakingParams::default(), Address::ZERO)
    }

    /// Every module LazChain runs today, with the chain's staking parameters and governance
    /// address (genesis `governance`).
    pub fn standard_with(params: StakingParams, governance: Address) -> Self {
        Self::new(vec![
            Arc::new(IdaoRegistry::new(params)),
            Arc::new(Dat::default()),
            Arc::new(DataRegistry::new(governance)),
            Arc::new(VerifiedComputing::new(governance)),
            Arc::new(Vsc),
            Arc::new(SettlementModule::new(governance)),
            Arc::new(AiProcess::new(Kind::Query, governance)),
            Arc::new(AiProcess::new(Kind::Inference, governance)),
            Arc::new(AiProcess::new(Kind::Training, governance)),
            Arc::new(ModelRegistry),
            Arc::new(Verifier),
        ])
    }

    pub fn new(list: Vec<Arc<dyn Module>>) -> Self {
        Self {
            list: Arc::new(list),
        }
    }

    pub fn get(&self, address: &Address) -> Option<&Arc<dyn Module>> {
        self.list.iter().find(|m| m.address() == *address)
    }

    pub fn iter(&self) -> impl Iterator<Item = &Arc<dyn Module>> {
        self.list.iter()
    }

    /// What `eth_getCode` returns for a module: the INVALID opcode (so the bytes can never run
    /// as EVM code) followed by a readable marker. Empty for any other address.
    pub fn code(&self, address: &Address) -> Bytes {
        match self.get(address) {
            Some(m) => {
                let mut code = vec![0xfe];
                code.extend_from_slice(b"lazai-native:");
                code.extend_from_slice(m.name().as_bytes());
                code.into()
            }
            None => Bytes::new(),
        }
    }
}
