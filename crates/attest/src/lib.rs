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
mod nitro;
pub mod samples;
mod snp;
#[cfg(feature = "acquire")]
pub mod source;

use alloy_primitives::{B256, keccak256};
use serde::Serialize;

/// Largest evidence accepted (a DCAP quote with its certificate chain is about 5 KiB).
pub const MAX_EVIDENCE_BYTES: usize = 16 * 1024;
/// Largest collateral accepted (DCAP collateral JSON is about 15–20 KiB).
pub const MAX_COLLATERAL_BYTES: usize = 64 * 1024;
/// Gas per byte of evidence and collateral the chain parses, on top of
/// [`verification_gas`] (and of calldata gas).
pub const GAS_PER_EVIDENCE_BYTE: u64 = 8;

/// A TEE platform. The code is what the chain stores; the bit (`1 << code`) is what a policy's
/// platform mask holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Platform {
    /// The simulated TEE: a software key, no hardware. Never trust it in production.
    Dev = 1,
    Sgx = 2,
    Tdx = 3,
    SevSnp = 4,
    Nitro = 5,
}

impl Platform {
    pub const ALL: [Platform; 5] = [
        Platform::Dev,
        Platform::Sgx,
        Platform::Tdx,
        Platform::SevSnp,
        Platform::Nitro,
    ];

    pub fn code(self) -> u8 {
        self as u8
    }

    pub fn from_code(code: u8) -> Option<Self> {
        Self::ALL.into_iter().find(|p| p.code() == code)
    }

    /// This platform's bit in a policy's platform mask.
    pub fn bit(self) -> u32 {
        1 << self.code()
    }

    pub fn name(self) -> &'static str {
        match self {
            Platform::Dev => "dev",
            Platform::Sgx => "sgx",
            Platform::Tdx => "tdx",
            Platform::SevSnp => "sev-snp",
            Platform::Nitro => "nitro",
        }
    }

    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL
            .into_iter()
            .find(|p| p.name().eq_ignore_ascii_case(name))
    }
}

impl std::fmt::Display for Platform {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// A TCB status, best first. A policy's minimum is the worst status it accepts: evidence
/// passes when `status <= minimum` in this order. `Revoked` never passes.
///
/// SGX/TDX statuses come from Intel's TCB info. SEV-SNP: `UpToDate` when the report's
/// `reported_tcb` (the TCB its signing key was derived for) equals the running `current_tcb`,
/// `OutOfDate` when it is older. Nitro and dev have no TCB levels and read `UpToDate`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub enum TcbStatus {
    #[default]
    UpToDate = 0,
    SWHardeningNeeded = 1,
    ConfigurationNeeded = 2,
    ConfigurationAndSWHardeningNeeded = 3,
    TDRelaunchAdvised = 4,
    TDRelaunchAdvisedConfigurationNeeded = 5,
    OutOfDate = 6,
    OutOfDateConfigurationNeeded = 7,
    Revoked = 8,
}

impl TcbStatus {
    pub const ALL: [TcbStatus; 9] = [
        TcbStatus::UpToDate,
        TcbStatus::SWHardeningNeeded,
        TcbStatus::ConfigurationNeeded,
        TcbStatus::ConfigurationAndSWHardeningNeeded,
        TcbStatus::TDRelaunchAdvised,
        TcbStatus::TDRelaunchAdvisedConfigurationNeeded,
        TcbStatus::OutOfDate,
        TcbStatus::OutOfDateConfigurationNeeded,
        TcbStatus::Revoked,
    ];

    pub fn code(self) -> u8 {
        self as u8
    }

    pub fn from_code(code: u8) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.code() == code)
    }

    pub fn name(self) -> &'static str {
        match self {
            TcbStatus::UpToDate => "UpToDate",
            TcbStatus::SWHardeningNeeded => "SWHardeningNeeded",
            TcbStatus::ConfigurationNeeded => "ConfigurationNeeded",
            TcbStatus::ConfigurationAndSWHardeningNeeded => "ConfigurationAndSWHardeningNeeded",
            TcbStatus::TDRelaunchAdvised => "TDRelaunchAdvised",
            TcbStatus::TDRelaunchAdvisedConfigurationNeeded => {
                "TDRelaunchAdvisedConfigurationNeeded"
            }
            TcbStatus::OutOfDate => "OutOfDate",
            TcbStatus::OutOfDateConfigurationNeeded => "OutOfDateConfigurationNeeded",
            TcbStatus::Revoked => "Revoked",
        }
    }

    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL
            .into_iter()
            .find(|s| s.name().eq_ignore_ascii_case(name))
    }
}

impl std::fmt::Display for TcbStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// One named measurement register, as the platform reports it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Measurement {
    pub name: &'static str,
    #[serde(serialize_with = "hex_bytes")]
    pub value: Vec<u8>,
}

fn hex_bytes<S: serde::Serializer>(v: &[u8], s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&format!("0x{}", hex::encode(v)))
}

/// The normalized result of verifying evidence.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Attested {
    pub platform: Platform,
    /// The platform's code-identity registers: SGX `mrenclave`, `mrsigner`; TDX `mrtd`,
    /// `rtmr0`..`rtmr3`; SEV-SNP `measurement`; Nitro `pcr0`..`pcr2` (and any other non-zero
    /// PCR); dev `measurement`.
    pub measurements: Vec<Measurement>,
    /// What a policy's measurement allow-list holds: see [`measurement_hash`].
    pub measurement_hash: B256,
    pub tcb_status: TcbStatus,
    pub advisories: Vec<String>,
    /// The 64 bytes the TEE put in the evidence (SGX/TDX/SNP report data; Nitro `user_data`
    /// left-aligned and zero-padded; dev: the signed report data).
    #[serde(serialize_with = "hex_bytes")]
    pub report_data: Vec<u8>,
    /// The evidence and its collateral are valid from this time (Unix seconds) ...
    pub not_before: u64,
    /// ... until this time, inclusive.
    pub not_after: u64,
}

impl Attested {
    /// The report data as a fixed array.
    pub fn report_data(&self) -> [u8; 64] {
        let mut out = [0u8; 64];
        let n = self.report_data.len().min(64);
        out[..n].copy_from_slice(&self.report_data[..n]);
        out
    }
}

/// The one 32-byte value a policy allow-lists for a piece of code:
/// `keccak256(platform code ‖ the identity registers)`, where the registers are SGX
/// `mrenclave ‖ mrsigner`, TDX `mrtd ‖ rtmr0 ‖ rtmr1 ‖ rtmr2 ‖ rtmr3`, SEV-SNP `measurement`,
/// Nitro `pcr0 ‖ pcr1 ‖ pcr2`, dev `measurement`. `lazai attest verify` prints it.
pub fn measurement_hash(platform: Platform, registers: &[&[u8]]) -> B256 {
    let mut pre = vec![platform.code()];
    for r in registers {
        pre.extend_from_slice(r);
    }
    keccak256(pre)
}

/// Why evidence was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    #[error("evidence is empty")]
    Empty,
    #[error("evidence of {0} bytes is larger than the limit of {MAX_EVIDENCE_BYTES}")]
    EvidenceTooLarge(usize),
    #[error("collateral of {0} bytes is larger than the limit of {MAX_COLLATERAL_BYTES}")]
    CollateralTooLarge(usize),
    #[error("unrecognized evidence: not a DCAP quote, SEV-SNP report, Nitro document or dev quote")]
    UnknownFormat,
    #[error("malformed {platform} evidence: {reason}")]
    Malformed { platform: Platform, reason: String },
    #[error("{platform} evidence needs collateral: {what}")]
    MissingCollateral {
        platform: Platform,
        what: &'static str,
    },
    #[error("malformed {platform} collateral: {reason}")]
    BadCollateral { platform: Platform, reason: String },
    #[error("{platform} collateral or certificate expired or not yet valid at {now}: {reason}")]
    Expired {
        platform: Platform,
        now: u64,
        reason: String,
    },
    #[error("{platform} certificate revoked: {reason}")]
    Revoked { platform: Platform, reason: String },
    #[error("bad {platform} signature: {reason}")]
    BadSignature { platform: Platform, reason: String },
    #[error("{platform} certificate chain does not end at a trusted vendor root: {reason}")]
    UnknownRoot { platform: Platform, reason: String },
    #[error("{platform} TCB status {status} is worse than the policy's minimum {minimum}")]
    TcbOutOfDate {
        platform: Platform,
        status: TcbStatus,
        minimum: TcbStatus,
    },
    #[error(
        "{platform} TCB is older than every level of the vendor's TCB info (out of date, not supported): {reason}"
    )]
    TcbNotSupported { platform: Platform, reason: String },
    #[error("{platform} evidence refused: {reason}")]
    Refused { platform: Platform, reason: String },
    #[error("the dev TEE is not enabled on this chain (genesis `dev_tee`)")]
    DevNotAllowed,
    #[error("platform {0} is not allowed by the policy")]
    PlatformNotAllowed(Platform),
    #[error("measurement {0} is not allowed by the policy")]
    MeasurementNotAllowed(B256),
    #[error("report data does not bind this key: expected {expected}, evidence has {found}")]
    ReportDataMismatch { expected: String, found: String },
    #[error(
        "evidence issued at {issued_at} is older than the policy's maximum age {max_age}s at {now}"
    )]
    TooOld {
        issued_at: u64,
        max_age: u64,
        now: u64,
    },
    #[error(
        "evidence or its collateral stopped being valid at {not_after} (now {now}); refresh it"
    )]
    EvidenceExpired { not_after: u64, now: u64 },
    #[error("evidence issued at {issued_at} is in the future at {now}")]
    IssuedInFuture { issued_at: u64, now: u64 },
}

/// Verification options that are not part of the evidence.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Options {
    /// Accept the dev TEE (genesis `dev_tee`; `lazai attest verify --allow-dev`).
    pub allow_dev: bool,
}

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

/// Classifies a verifier's error text into a distinct [`Error`] variant.
fn classify(platform: Platform, now: u64, reason: String) -> Error {
    let l = reason.to_ascii_lowercase();
    if l.contains("no matching tcb level") {
        Error::TcbNotSupported { platform, reason }
    } else if l.contains("failed to parse")
        || l.contains("failed to decode")
        || l.contains("fmspc mismatch")
        || l.contains("non-tdx tcb info")
        || l.contains("non-sgx tcb info")
    {
        Error::BadCollateral { platform, reason }
    } else if l.contains("revoked") {
        Error::Revoked { platform, reason }
    } else if l.contains("expired")
        || l.contains("in the future")
        || l.contains("not yet valid")
        || l.contains("notvalidyet")
        || l.contains("next update")
        || l.contains("notafter")
        || l.contains("notbefore")
    {
        Error::Expired {
            platform,
            now,
            reason,
        }
    } else if l.contains("unknown issuer")
        || l.contains("unknownissuer")
        || l.contains("root")
        || l.contains("untrusted")
        || l.contains("issuer")
    {
        Error::UnknownRoot { platform, reason }
    } else if l.contains("signature") || l.contains("hash mismatch") {
        Error::BadSignature { platform, reason }
    } else if l.contains("collateral") || l.contains("tcbinfo") || l.contains("qe identity") {
        Error::BadCollateral { platform, reason }
    } else {
        Error::Refused { platform, reason }
    }
}
