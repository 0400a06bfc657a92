//! The dev TEE: a simulated TEE for machines without TEE hardware.
//!
//! A dev quote is a software key's signature over a declared measurement and the report data:
//!
//! ```text
//! MAGIC (16 bytes: "LAZAI-DEV-TEE-1\0") ‖ measurement (32) ‖ report_data (64) ‖ signature (65)
//! signature = secp256k1 r ‖ s ‖ v over keccak256(MAGIC ‖ measurement ‖ report_data)
//! ```
//!
//! It proves nothing about hardware: anyone can make one. A chain accepts it only when its
//! genesis enables `dev_tee`, and it is labelled `dev` in every view, event and log.

use crate::evidence::{Attested, Error, Measurement, Platform, TcbStatus, measurement_hash};
use alloy_primitives::{Address, B256, Signature, keccak256};
use alloy_signer::SignerSync;
use alloy_signer_local::PrivateKeySigner;

/// The first bytes of a dev quote.
pub const MAGIC: &[u8; 16] = b"LAZAI-DEV-TEE-1\0";
/// Length of a dev quote.
pub const QUOTE_LEN: usize = 16 + 32 + 64 + 65;
/// The measurement a dev TEE declares unless told otherwise.
pub const DEFAULT_MEASUREMENT: [u8; 32] = [0x11; 32];

fn digest(measurement: &[u8; 32], report_data: &[u8; 64]) -> B256 {
    let mut pre = Vec::with_capacity(16 + 32 + 64);
    pre.extend_from_slice(MAGIC);
    pre.extend_from_slice(measurement);
    pre.extend_from_slice(report_data);
    keccak256(pre)
}

/// A simulated TEE with its own software key.
#[derive(Clone, Debug)]
pub struct Simulator {
    key: PrivateKeySigner,
    measurement: [u8; 32],
}

impl Simulator {
    /// A simulator with a fresh random key and [`DEFAULT_MEASUREMENT`].
    pub fn random() -> Self {
        Self {
            key: PrivateKeySigner::random(),
            measurement: DEFAULT_MEASUREMENT,
        }
    }

    /// A simulator whose key is derived from `seed` (reproducible quotes, for tests).
    pub fn from_seed(seed: &[u8]) -> Self {
        let secret = alloy_primitives::keccak256(seed);
        Self {
            key: PrivateKeySigner::from_bytes(&secret).expect("a keccak output is a valid key"),
            measurement: DEFAULT_MEASUREMENT,
        }
    }

    /// The same simulator declaring another measurement.
    pub fn with_measurement(mut self, measurement: [u8; 32]) -> Self {
        self.measurement = measurement;
        self
    }

    /// The address of the simulator's key.
    pub fn address(&self) -> Address {
        self.key.address()
    }

    /// A dev quote over `report_data`.
    pub fn quote(&self, report_data: &[u8; 64]) -> Vec<u8> {
        let sig = self
            .key
            .sign_hash_sync(&digest(&self.measurement, report_data))
            .expect("a local key signs any 32-byte hash");
        let mut out = Vec::with_capacity(QUOTE_LEN);
        out.extend_from_slice(MAGIC);
        out.extend_from_slice(&self.measurement);
        out.extend_from_slice(report_data);
        out.extend_from_slice(&sig.as_bytes());
        out
    }
}

/// Verifies a dev quote (the caller has checked that dev is allowed).
pub(crate) fn verify(quote: &[u8], _now: u64) -> Result<Attested, Error> {
    let malformed = |reason: String| Error::Malformed {
        platform: Platform::Dev,
        reason,
    };
    if quote.len() != QUOTE_LEN {
        return Err(malformed(format!(
            "a dev quote is {QUOTE_LEN} bytes, this one {}",
            quote.len()
        )));
    }
    let mut measurement = [0u8; 32];
    measurement.copy_from_slice(&quote[16..48]);
    let mut report_data = [0u8; 64];
    report_data.copy_from_slice(&quote[48..112]);
    let sig_bytes = &quote[112..];
    let parity = match sig_bytes[64] {
        27 => false,
        28 => true,
        v => {
            return Err(malformed(format!(
                "signature recovery byte {v} is not 27 or 28"
            )));
        }
    };
    let sig = Signature::from_bytes_and_parity(&sig_bytes[..64], parity);
    if sig.normalize_s().is_some() {
        return Err(Error::BadSignature {
            platform: Platform::Dev,
            reason: "high-s signature".into(),
        });
    }
    let key = sig
        .recover_address_from_prehash(&digest(&measurement, &report_data))
        .map_err(|e| Error::BadSignature {
            platform: Platform::Dev,
            reason: e.to_string(),
        })?;
    Ok(Attested {
        platform: Platform::Dev,
        measurements: vec![
            Measurement {
                name: "measurement",
                value: measurement.to_vec(),
            },
            Measurement {
                name: "dev-key",
                value: key.to_vec(),
            },
        ],
        measurement_hash: measurement_hash(Platform::Dev, &[&measurement]),
        tcb_status: TcbStatus::UpToDate,
        advisories: Vec::new(),
        report_data: report_data.to_vec(),
        not_before: 0,
        not_after: u64::MAX,
    })
}
