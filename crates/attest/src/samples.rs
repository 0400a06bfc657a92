//! The real vendor samples the verification crates ship (copied to `testdata/`, sources in
//! `testdata/README.md`), each with a time inside its validity window: what the tests, the
//! benchmarks and `lazai-bench attest` verify.

use crate::{decode_input, evidence::Platform};

/// Evidence, its collateral, and a time (Unix seconds) at which it verifies.
#[derive(Clone, Debug)]
pub struct Sample {
    pub platform: Platform,
    pub evidence: Vec<u8>,
    pub collateral: &'static [u8],
    pub at: u64,
}

/// dcap-qvl's SGX quote (valid 2025-06-19 … 2025-07-19).
pub fn sgx() -> Sample {
    Sample {
        platform: Platform::Sgx,
        evidence: include_bytes!("../testdata/sgx_quote").to_vec(),
        collateral: include_bytes!("../testdata/sgx_quote_collateral.json"),
        at: 1_750_420_800,
    }
}

/// dcap-qvl's TDX quote.
pub fn tdx() -> Sample {
    Sample {
        platform: Platform::Tdx,
        evidence: include_bytes!("../testdata/tdx_quote").to_vec(),
        collateral: include_bytes!("../testdata/tdx_quote_collateral.json"),
        at: 1_750_420_800,
    }
}

/// sev's Milan report (hex in the file) with its VCEK.
pub fn sev_snp() -> Sample {
    Sample {
        platform: Platform::SevSnp,
        evidence: decode_input(include_bytes!("../testdata/report_milan.hex")),
        collateral: include_bytes!("../testdata/vcek_milan.der"),
        at: 1_750_420_800,
    }
}

/// nitro_attest's document (its chain: 1736179622 … 1736190425).
pub fn nitro() -> Sample {
    Sample {
        platform: Platform::Nitro,
        evidence: include_bytes!("../testdata/nitro_attestation.cose").to_vec(),
        collateral: &[],
        at: 1_736_180_000,
    }
}

/// Every hardware platform's sample.
pub fn all() -> Vec<Sample> {
    vec![sgx(), tdx(), sev_snp(), nitro()]
}
