//! TEE attestation verification for LazAI.
//!
//! One entry point, [`verify`], takes evidence bytes (a quote, a report or a document), the
//! collateral it needs, and the verification time, and returns one normalized [`Attested`]
//! result whatever the platform:
//!
//! | platform | evidence | collateral | crate |
//! | --- | --- | --- | --- |
//! | Intel SGX, Intel TDX | DCAP quote (v3, v4, v5) | `QuoteCollateralV3` JSON (TCB info, QE identity, CRLs, chains) | `dcap-qvl` (pure Rust) |
//! | AMD SEV-SNP | attestation report (1184 bytes) | the chip's VCEK certificate (DER or PEM); ARK/ASK are built in | `sev` (pure Rust) |
//! | AWS Nitro | COSE_Sign1 attestation document | none: the document carries its chain; the AWS root is pinned | `nitro_attest` |
//! | dev | a software key's signature over the report data ([`dev`]) | none | — |
//!
//! "Now" is always given by the caller (on chain: the block timestamp), so every validator
//! reaches the same answer. The dev platform is accepted only when [`Options::allow_dev`] is
//! set (on chain: the genesis flag `dev_tee`), and is labelled `dev` wherever it is shown.
//!
//! A worker binds its signing address and its HPKE public key to its evidence by putting
//! [`binding::report_data`] in the report data; [`Policy::check`] then checks the binding, the
//! platform, the measurement, the TCB status and the evidence age.

pub mod binding;
mod dcap;
pub mod dev;
mod evidence;
mod nitro;
pub mod samples;
mod snp;
#[cfg(feature = "acquire")]
pub mod source;

use alloy_primitives::B256;
use serde::Serialize;

pub use evidence::{
    Attested, Error, GAS_PER_EVIDENCE_BYTE, MAX_COLLATERAL_BYTES, MAX_EVIDENCE_BYTES, Measurement,
    Options, Platform, TcbStatus, measurement_hash,
};

/// Recognizes the platform of evidence from its bytes.
pub fn detect(evidence: &[u8]) -> Option<Platform> {
    if evidence.starts_with(dev::MAGIC) {
        return Some(Platform::Dev);
    }
    // COSE_Sign1: tag 18 (0xd2) then an array of 4 (0x84), or the untagged array.
    if evidence.starts_with(&[0xd2, 0x84]) || evidence.first() == Some(&0x84) {
        return Some(Platform::Nitro);
    }
    if let Some(p) = dcap::detect(evidence) {
        return Some(p);
    }
    if snp::detect(evidence) {
        return Some(Platform::SevSnp);
    }
    None
}

/// Evidence or collateral as a file gives it: raw bytes, or hex text (optional `0x`, ASCII
/// whitespace ignored). Text that is not entirely hex is taken as raw bytes.
pub fn decode_input(bytes: &[u8]) -> Vec<u8> {
    let text: Vec<u8> = bytes
        .iter()
        .copied()
        .filter(|b| !b.is_ascii_whitespace())
        .collect();
    let body = text
        .strip_prefix(b"0x")
        .or_else(|| text.strip_prefix(b"0X"))
        .unwrap_or(&text);
    if !body.is_empty()
        && body.len().is_multiple_of(2)
        && body.iter().all(u8::is_ascii_hexdigit)
        && let Ok(decoded) = hex::decode(body)
    {
        return decoded;
    }
    bytes.to_vec()
}

/// Verifies `evidence` with its `collateral` at `now` (Unix seconds): signatures, certificate
/// chains to the vendor roots, validity windows, revocation, and the TCB status. It does not
/// apply a policy (see [`Policy::check`]).
pub fn verify(
    evidence: &[u8],
    collateral: &[u8],
    now: u64,
    options: Options,
) -> Result<Attested, Error> {
    if evidence.is_empty() {
        return Err(Error::Empty);
    }
    if evidence.len() > MAX_EVIDENCE_BYTES {
        return Err(Error::EvidenceTooLarge(evidence.len()));
    }
    if collateral.len() > MAX_COLLATERAL_BYTES {
        return Err(Error::CollateralTooLarge(collateral.len()));
    }
    let platform = detect(evidence).ok_or(Error::UnknownFormat)?;
    if platform == Platform::Dev && !options.allow_dev {
        return Err(Error::DevNotAllowed);
    }
    // The vendor parsers run on bytes from strangers inside transaction execution: a panic in
    // one of them is a refusal, never a crashed validator.
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| match platform {
        Platform::Dev => dev::verify(evidence, now),
        p @ (Platform::Sgx | Platform::Tdx) => dcap::verify(p, evidence, collateral, now),
        Platform::SevSnp => snp::verify(evidence, collateral, now),
        Platform::Nitro => nitro::verify(evidence, now),
    }))
    .unwrap_or_else(|_| {
        Err(Error::Malformed {
            platform,
            reason: "the verifier failed on these bytes".into(),
        })
    })
}

/// An iDAO's TEE policy, as the chain stores it.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Policy {
    /// Bit `1 << platform code` set for each allowed platform.
    pub platforms: u32,
    /// Allowed [`measurement_hash`]es; empty allows any measurement of an allowed platform.
    pub measurements: Vec<B256>,
    /// The worst TCB status accepted.
    pub min_tcb_status: TcbStatus,
    /// Evidence older than this many seconds (by the time in its report data) is refused.
    pub max_age: u64,
}

/// How far in the future (seconds) evidence may say it was issued: clock skew between the
/// worker and the block proposer.
pub const MAX_CLOCK_SKEW: u64 = 120;

impl Policy {
    /// Checks verified evidence against this policy at `now`, and that its report data binds
    /// `expected` (from [`binding::report_data`]). Returns when the evidence stops being
    /// acceptable: the earlier of its validity end and its issue time plus the maximum age.
    pub fn check(&self, attested: &Attested, expected: &[u8; 64], now: u64) -> Result<u64, Error> {
        self.check_platform_and_code(
            attested.platform,
            attested.measurement_hash,
            attested.tcb_status,
        )?;
        let found = attested.report_data();
        if found[..32] != expected[..32] || found[32..56].iter().any(|&b| b != 0) {
            return Err(Error::ReportDataMismatch {
                expected: hex::encode(&expected[..32]),
                found: hex::encode(&found[..32]),
            });
        }
        let issued_at = binding::issued_at(&found);
        self.check_age(issued_at, attested.not_after, now)
    }

    /// The part of [`Policy::check`] that does not need the evidence again: what the chain
    /// re-evaluates on every assignment, so a policy change takes effect at once.
    pub fn check_platform_and_code(
        &self,
        platform: Platform,
        measurement: B256,
        status: TcbStatus,
    ) -> Result<(), Error> {
        if self.platforms & platform.bit() == 0 {
            return Err(Error::PlatformNotAllowed(platform));
        }
        if !self.measurements.is_empty() && !self.measurements.contains(&measurement) {
            return Err(Error::MeasurementNotAllowed(measurement));
        }
        if status == TcbStatus::Revoked || status > self.min_tcb_status {
            return Err(Error::TcbOutOfDate {
                platform,
                status,
                minimum: self.min_tcb_status,
            });
        }
        Ok(())
    }

    /// Checks the evidence time against the maximum age; returns the expiry.
    pub fn check_age(&self, issued_at: u64, not_after: u64, now: u64) -> Result<u64, Error> {
        if issued_at > now.saturating_add(MAX_CLOCK_SKEW) {
            return Err(Error::IssuedInFuture { issued_at, now });
        }
        let expires = issued_at.saturating_add(self.max_age).min(not_after);
        if now > not_after {
            return Err(Error::EvidenceExpired { not_after, now });
        }
        if now > issued_at.saturating_add(self.max_age) {
            return Err(Error::TooOld {
                issued_at,
                max_age: self.max_age,
                now,
            });
        }
        Ok(expires)
    }
}

/// Gas charged for verifying evidence of a platform in a transaction, on top of the calldata
/// and storage it costs: the measured verification time at the chain's rate of 100 gas per
/// microsecond, with half again as margin over the slowest run measured on the reference 2-core
/// machine (`cargo bench -p lazai-attest` and `lazai-bench attest`, release, one core): SGX
/// 1.75–1.99 ms, TDX 1.71–2.04 ms, SEV-SNP 5.0–5.8 ms, Nitro 2.8–4.1 ms, dev 0.04–0.17 ms
/// (0.04 with libsecp256k1 recovery, as in the node).
pub fn verification_gas(platform: Platform) -> u64 {
    match platform {
        Platform::Dev => 25_000,
        Platform::Sgx => 300_000,
        Platform::Tdx => 310_000,
        Platform::SevSnp => 880_000,
        Platform::Nitro => 615_000,
    }
}
