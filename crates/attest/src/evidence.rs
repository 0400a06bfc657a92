//! What every platform's verifier produces and reports: the platforms, TCB statuses and
//! measurements, the normalized [`Attested`] result, the errors and the size limits. A leaf:
//! the platform verifiers and the crate root take these names from here.

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

/// Classifies a verifier's error text into a distinct [`Error`] variant.
pub(crate) fn classify(platform: Platform, now: u64, reason: String) -> Error {
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
