//! TEE policies and node attestations, part of the iDAO registry (same address, same storage).
//!
//! - **Policy.** An iDAO's owner sets its TEE policy (`setTeePolicy`): the allowed platforms
//!   (a mask of `1 << platform code`: dev 1, SGX 2, TDX 3, SEV-SNP 4, Nitro 5), the allowed
//!   measurement hashes (empty = any measurement of an allowed platform), the worst TCB status
//!   accepted, and the maximum evidence age in seconds.
//! - **Attestation.** A node submits evidence (`submitAttestation`, or
//!   `VerifiedComputing.registerAttestedNode`) for an iDAO: the chain verifies it with
//!   `lazai-attest` at the block timestamp — vendor signatures, certificate chains, collateral
//!   validity, TCB status — checks that its report data binds the caller's address and the
//!   given HPKE key (and RSA key, when a VerifiedComputing node registers one) on this chain
//!   (`lazai_attest::binding`), and checks it against the iDAO's
//!   policy. Gas: `lazai_attest::verification_gas` of the platform plus
//!   `GAS_PER_EVIDENCE_BYTE` per byte of evidence and collateral, on top of calldata and
//!   storage. The dev platform is accepted only when genesis set `dev_tee`.
//! - **Eligibility.** [`attested_until`] re-evaluates a stored attestation against the iDAO's
//!   *current* policy at the current block time. Job and quorum assignment use it, so a
//!   policy change or expired evidence removes a node from assignment at once; the node
//!   submits fresh evidence to come back.
//!
//! # Storage slots (module storage of the iDAO registry)
//!
//! | slot | value |
//! | --- | --- |
//! | `dev-tee` | `0x01` when genesis enabled the dev TEE (written only at genesis) |
//! | `tee-policy/` ‖ idao (32 B) | ABI of `TeePolicy` |
//! | `tee-att/` ‖ idao (32 B) ‖ node (20 B) | ABI of `Attestation` |
//! | `tee-node/` ‖ node (20 B) | the iDAO the node last attested for (U256) |

use super::storage::load_idao;
use crate::kernel::{Call, ModuleError, decode_call, revert_with, slot};
use crate::state::State;
use alloy_primitives::{Address, B256, Bytes, U256, keccak256};
use alloy_sol_types::{SolInterface, SolValue};
use lazai_abi::IDAO_REGISTRY_ADDRESS;
use lazai_attest::{Options, Platform, Policy, TcbStatus, binding};

pub use lazai_abi::tee::*;

use ITeeRegistry as T;

const DEV_TEE: &[u8] = b"dev-tee";

fn policy_slot(idao: U256) -> Vec<u8> {
    slot(b"tee-policy/", &[&idao.to_be_bytes::<32>()])
}
fn att_slot(idao: U256, node: Address) -> Vec<u8> {
    slot(b"tee-att/", &[&idao.to_be_bytes::<32>(), node.as_slice()])
}
pub(super) fn node_slot(node: Address) -> Vec<u8> {
    slot(b"tee-node/", &[node.as_slice()])
}

/// Records the genesis flag that lets the chain accept the dev TEE.
pub fn enable_dev_tee(state: &mut State) {
    state.module_set(&IDAO_REGISTRY_ADDRESS, DEV_TEE, Bytes::from_static(&[1]));
}

/// Whether a call's selector is one of the TEE functions.
pub(crate) fn handles(input: &[u8]) -> bool {
    input
        .get(..4)
        .and_then(|s| <[u8; 4]>::try_from(s).ok())
        .is_some_and(T::ITeeRegistryCalls::valid_selector)
}

fn refused(e: impl std::fmt::Display) -> ModuleError {
    revert_with(T::AttestationRefused {
        reason: e.to_string(),
    })
}

fn to_policy(p: &TeePolicy) -> Policy {
    Policy {
        platforms: p.platforms,
        measurements: p.measurements.clone(),
        min_tcb_status: TcbStatus::from_code(p.minTcbStatus).unwrap_or(TcbStatus::UpToDate),
        max_age: p.maxEvidenceAge,
    }
}

fn load_policy(call: &mut Call<'_>, idao: U256) -> Result<Option<TeePolicy>, ModuleError> {
    call.load_abi::<TeePolicy>(&policy_slot(idao))
}

fn now(call: &Call<'_>) -> u64 {
    call.block.timestamp_ms / 1000
}

fn dev_enabled(call: &mut Call<'_>) -> Result<bool, ModuleError> {
    call.load_flag(DEV_TEE)
}

fn valid_platform_mask(mask: u32) -> bool {
    let all = Platform::ALL.iter().fold(0u32, |m, p| m | p.bit());
    mask != 0 && mask & !all == 0
}

fn set_policy(call: &mut Call<'_>, idao: U256, p: TeePolicy) -> Result<Vec<u8>, ModuleError> {
    let record = load_idao(call, idao)?;
    if record.owner != call.caller {
        return Err(revert_with(lazai_abi::IIdaoRegistry::NotIdaoOwner {
            idaoId: idao,
            caller: call.caller,
        }));
    }
    let invalid = |reason: &str| {
        revert_with(T::InvalidTeePolicy {
            reason: reason.into(),
        })
    };
    if !valid_platform_mask(p.platforms) {
        return Err(invalid(
            "platforms must be a non-empty mask of 1<<code (dev 1, sgx 2, tdx 3, sev-snp 4, nitro 5)",
        ));
    }
    if p.platforms & Platform::Dev.bit() != 0 && !dev_enabled(call)? {
        return Err(invalid("the dev TEE is not enabled on this chain"));
    }
    if p.measurements.len() > MAX_POLICY_MEASUREMENTS {
        return Err(invalid("more than 64 measurements"));
    }
    match TcbStatus::from_code(p.minTcbStatus) {
        Some(TcbStatus::Revoked) | None => {
            return Err(invalid(
                "minTcbStatus must be a TCB status code from 0 (UpToDate) to 7 (OutOfDateConfigurationNeeded)",
            ));
        }
        Some(_) => {}
    }
    if p.maxEvidenceAge == 0 || p.maxEvidenceAge > MAX_EVIDENCE_AGE {
        return Err(invalid("maxEvidenceAge must be from 1 second to 366 days"));
    }
    call.store_abi(&policy_slot(idao), &p)?;
    call.emit(&T::TeePolicySet {
        idaoId: idao,
        platforms: p.platforms,
        measurements: U256::from(p.measurements.len()),
        minTcbStatus: p.minTcbStatus,
        maxEvidenceAge: p.maxEvidenceAge,
    })?;
    Ok(Vec::new())
}

/// Verifies evidence for `node` and records it. Runs in the registry's context.
pub(crate) fn submit(
    call: &mut Call<'_>,
    node: Address,
    idao: U256,
    hpke: B256,
    rsa_key_hash: Option<B256>,
    evidence: &[u8],
    collateral: &[u8],
) -> Result<u64, ModuleError> {
    load_idao(call, idao)?;
    let Some(policy) = load_policy(call, idao)? else {
        return Err(revert_with(T::NoTeePolicy { idaoId: idao }));
    };
    if evidence.len() > lazai_attest::MAX_EVIDENCE_BYTES {
        return Err(refused(lazai_attest::Error::EvidenceTooLarge(
            evidence.len(),
        )));
    }
    if collateral.len() > lazai_attest::MAX_COLLATERAL_BYTES {
        return Err(refused(lazai_attest::Error::CollateralTooLarge(
            collateral.len(),
        )));
    }
    // Verification is paid for before it runs: by the platform the bytes claim, plus the
    // bytes it parses.
    let platform = lazai_attest::detect(evidence)
        .ok_or_else(|| refused(lazai_attest::Error::UnknownFormat))?;
    let parsed = (evidence.len() + collateral.len()) as u64;
    call.charge(
        lazai_attest::verification_gas(platform)
            .saturating_add(parsed.saturating_mul(lazai_attest::GAS_PER_EVIDENCE_BYTE)),
    )?;
    let now = now(call);
    let options = Options {
        allow_dev: dev_enabled(call)?,
    };
    let attested = lazai_attest::verify(evidence, collateral, now, options).map_err(refused)?;
    let expected = binding::report_data_with_rsa(
        call.block.chain_id,
        node,
        &hpke.0,
        rsa_key_hash.as_ref().map(|h| &h.0),
        0,
    );
    let expires = to_policy(&policy)
        .check(&attested, &expected, now)
        .map_err(refused)?;
    let record = Attestation {
        platform: attested.platform.code(),
        measurementHash: attested.measurement_hash,
        tcbStatus: attested.tcb_status.code(),
        issuedAt: binding::issued_at(&attested.report_data()),
        notAfter: attested.not_after,
        hpkePublicKey: hpke,
        evidenceHash: keccak256(evidence),
        attestedAt: now,
        rsaKeyHash: rsa_key_hash.unwrap_or_default(),
    };
    call.store_abi(&att_slot(idao, node), &record)?;
    call.store_u256(&node_slot(node), idao)?;
    call.emit(&T::NodeAttested {
        idaoId: idao,
        node,
        platform: record.platform,
        platformName: attested.platform.name().into(),
        measurementHash: record.measurementHash,
        tcbStatus: record.tcbStatus,
        expiresAt: expires,
    })?;
    Ok(expires)
}

/// Until when `node`'s attestation for `idao` passes the iDAO's current policy at the current
/// block time; `None` when it does not pass now. Runs in the registry's context.
fn until(call: &mut Call<'_>, idao: U256, node: Address) -> Result<Option<u64>, ModuleError> {
    Ok(current(call, idao, node)?.map(|(expires, _)| expires))
}

/// [`until`] with the attestation it judged (loaded once).
pub(super) fn current(
    call: &mut Call<'_>,
    idao: U256,
    node: Address,
) -> Result<Option<(u64, Attestation)>, ModuleError> {
    let Some(policy) = load_policy(call, idao)? else {
        return Ok(None);
    };
    let Some(a) = call.load_abi::<Attestation>(&att_slot(idao, node))? else {
        return Ok(None);
    };
    let (Some(platform), Some(status)) = (
        Platform::from_code(a.platform),
        TcbStatus::from_code(a.tcbStatus),
    ) else {
        return Ok(None);
    };
    let policy = to_policy(&policy);
    if policy
        .check_platform_and_code(platform, a.measurementHash, status)
        .is_err()
    {
        return Ok(None);
    }
    Ok(policy
        .check_age(a.issuedAt, a.notAfter, now(call))
        .ok()
        .map(|expires| (expires, a)))
}

/// Handles a TEE call addressed to the iDAO registry.
pub(crate) fn call(call: &mut Call<'_>, input: &[u8]) -> Result<Vec<u8>, ModuleError> {
    use T::ITeeRegistryCalls as C;
    match decode_call::<C>("IdaoRegistry", input)? {
        C::setTeePolicy(c) => set_policy(call, c.idaoId, c.policy),
        C::teePolicy(c) => load_policy(call, c.idaoId)?
            .map(|p| p.abi_encode())
            .ok_or_else(|| revert_with(T::NoTeePolicy { idaoId: c.idaoId })),
        C::submitAttestation(c) => Ok(submit(
            call,
            call.caller,
            c.idaoId,
            c.hpkePublicKey,
            None,
            &c.evidence,
            &c.collateral,
        )?
        .abi_encode()),
        C::attestationOf(c) => call
            .load_abi::<Attestation>(&att_slot(c.idaoId, c.node))?
            .map(|a| a.abi_encode())
            .ok_or_else(|| {
                revert_with(T::NotAttested {
                    idaoId: c.idaoId,
                    node: c.node,
                })
            }),
        C::attestedUntil(c) => Ok(until(call, c.idaoId, c.node)?.unwrap_or(0).abi_encode()),
        C::isAttested(c) => Ok(until(call, c.idaoId, c.node)?.is_some().abi_encode()),
        C::attestedIdaoOf(c) => Ok(call.load_u256(&node_slot(c.node))?.abi_encode()),
        C::devTeeEnabled(_) => Ok(dev_enabled(call)?.abi_encode()),
    }
}
