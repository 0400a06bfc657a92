//! The VSC's ABI entry point: decodes a call and dispatches it to the [`Vsc`] rule that serves
//! it.

use super::Vsc;
use super::storage::*;
use crate::kernel::{Call, Module, ModuleError, decode_call, revert_with};
use alloy_primitives::{Address, B256, U256};
use alloy_sol_types::SolValue;
use lazai_abi::VSC_ADDRESS;
use lazai_abi::vsc::IVsc::IVscCalls as Calls;
use lazai_abi::vsc::*;

impl Module for Vsc {
    fn name(&self) -> &'static str {
        "VSC"
    }

    fn address(&self) -> Address {
        VSC_ADDRESS
    }

    fn call(&self, call: &mut Call<'_>, input: &[u8]) -> Result<Vec<u8>, ModuleError> {
        let decoded = decode_call::<Calls>("VSC", input)?;
        if !matches!(decoded, Calls::submitFlow(_)) {
            call.non_payable()?;
        }
        Ok(match decoded {
            Calls::name(_) => "VSC".to_string().abi_encode(),
            Calls::version(_) => U256::from(1).abi_encode(),
            Calls::configureIdao(c) => Self::configure(call, c.idaoId, c.params)?,
            Calls::dataConfig(c) => Self::config(call, c.idaoId)?.abi_encode(),
            Calls::isConfigured(c) => (!call.load(&cfg_slot(c.idaoId))?.is_empty()).abi_encode(),
            Calls::idaoDataAddress(c) => idao_data_address(c.idaoId).abi_encode(),
            Calls::addVerifier(c) => Self::add_verifier(call, c.idaoId, c.node, c.url)?,
            Calls::removeVerifier(c) => Self::remove_verifier(call, c.idaoId, c.node)?,
            Calls::verifiers(c) => Self::verifier_list(call, c.idaoId)?.abi_encode(),
            Calls::getVerifier(c) => call
                .load_abi::<Verifier>(&verifier_slot(c.idaoId, c.node))?
                .ok_or_else(|| revert_with(IVsc::VerifierNotFound { node: c.node }))?
                .abi_encode(),
            Calls::submitFlow(c) => Self::submit(call, c.idaoId, c.fileIds)?,
            Calls::postResults(c) => Self::post(call, c.flowId, c.results, &c.signature)?,
            Calls::finalizeFlow(c) => Self::finalize(call, c.flowId)?,
            Calls::resubmitFile(c) => Self::resubmit(call, c.fileId)?,
            Calls::flowCount(_) => call.load_u256(FLOW_N)?.abi_encode(),
            Calls::getFlow(c) => Self::flow(call, c.flowId)?.abi_encode(),
            Calls::flowFiles(c) => {
                Self::flow(call, c.flowId)?;
                call.load_abi::<Vec<U256>>(&flow_files_slot(c.flowId))?
                    .unwrap_or_default()
                    .abi_encode()
            }
            Calls::postedRoot(c) => {
                let raw = call.load(&post_slot(c.flowId, c.node))?;
                let root = if raw.len() == 32 {
                    B256::from_slice(&raw)
                } else {
                    B256::ZERO
                };
                root.abi_encode()
            }
            Calls::flowResults(c) => call
                .load_abi::<Vec<FileResult>>(&results_slot(c.flowId, c.resultsRoot))?
                .unwrap_or_default()
                .abi_encode(),
            Calls::fileStatus(c) => call
                .load_abi::<FileStatus>(&file_slot(c.fileId))?
                .unwrap_or(FileStatus {
                    idaoId: U256::ZERO,
                    flowId: U256::ZERO,
                    state: FILE_NONE,
                    score: 0,
                    reason: 0,
                    tokenId: U256::ZERO,
                })
                .abi_encode(),
            Calls::resultsDigest(c) => {
                results_digest(call.block.chain_id, c.flowId, c.resultsRoot).abi_encode()
            }
            Calls::earned(c) => call.load_u256(&earned_slot(c.node))?.abi_encode(),
            Calls::claimFees(_) => Self::claim(call)?,
        })
    }
}
