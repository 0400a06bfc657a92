//! Intel SGX and TDX: DCAP quotes verified with `dcap-qvl` (pure-Rust crypto), against Intel's
//! SGX root CA, with the collateral supplied as `QuoteCollateralV3` JSON (what
//! `dcap-qvl`'s collateral fetcher and Intel's PCCS return).

use crate::evidence::{
    Attested, Error, Measurement, Platform, TcbStatus, classify, measurement_hash,
};
use dcap_qvl::QuoteCollateralV3;
use dcap_qvl::configs::RustCryptoConfig;
use dcap_qvl::quote::{Quote, Report};
use dcap_qvl::verify::QuoteVerifier;

const TEE_SGX: u32 = 0;
/// Most zero bytes accepted after a quote.
const MAX_PADDING: usize = 4096;
const TEE_TDX: u32 = 0x81;

/// SGX or TDX when the bytes start like a DCAP quote header (version 3–5, ECDSA-P256 key).
pub(crate) fn detect(b: &[u8]) -> Option<Platform> {
    if b.len() < 48 {
        return None;
    }
    let version = u16::from_le_bytes([b[0], b[1]]);
    let key_type = u16::from_le_bytes([b[2], b[3]]);
    let tee = u32::from_le_bytes([b[4], b[5], b[6], b[7]]);
    if !(3..=5).contains(&version) || key_type != 2 {
        return None;
    }
    match tee {
        TEE_SGX => Some(Platform::Sgx),
        TEE_TDX => Some(Platform::Tdx),
        _ => None,
    }
}

fn status(s: dcap_qvl::TcbStatus) -> TcbStatus {
    use dcap_qvl::TcbStatus as D;
    match s {
        D::UpToDate => TcbStatus::UpToDate,
        D::SWHardeningNeeded => TcbStatus::SWHardeningNeeded,
        D::ConfigurationNeeded => TcbStatus::ConfigurationNeeded,
        D::ConfigurationAndSWHardeningNeeded => TcbStatus::ConfigurationAndSWHardeningNeeded,
        D::TDRelaunchAdvised => TcbStatus::TDRelaunchAdvised,
        D::TDRelaunchAdvisedConfigurationNeeded => TcbStatus::TDRelaunchAdvisedConfigurationNeeded,
        D::OutOfDate => TcbStatus::OutOfDate,
        D::OutOfDateConfigurationNeeded => TcbStatus::OutOfDateConfigurationNeeded,
        D::Revoked => TcbStatus::Revoked,
    }
}

pub(crate) fn verify(
    platform: Platform,
    quote: &[u8],
    collateral: &[u8],
    now: u64,
) -> Result<Attested, Error> {
    use scale::Decode;
    let mut rest = quote;
    Quote::decode(&mut rest).map_err(|e| Error::Malformed {
        platform,
        reason: e.to_string(),
    })?;
    // Quote generators pad with zeros (up to a page); anything else after the quote is refused.
    if rest.len() > MAX_PADDING || rest.iter().any(|&b| b != 0) {
        return Err(Error::Malformed {
            platform,
            reason: format!(
                "{} bytes after the end of the quote (only up to {MAX_PADDING} zero bytes of padding)",
                rest.len()
            ),
        });
    }
    if collateral.is_empty() {
        return Err(Error::MissingCollateral {
            platform,
            what: "QuoteCollateralV3 JSON (TCB info, QE identity, CRLs and their issuer chains)",
        });
    }
    let collateral: QuoteCollateralV3 =
        serde_json::from_slice(collateral).map_err(|e| Error::BadCollateral {
            platform,
            reason: e.to_string(),
        })?;
    let claims = QuoteVerifier::new_prod()
        .with_config::<RustCryptoConfig>()
        .verify_with_policy(
            quote,
            collateral,
            now,
            &dcap_qvl::QuotePolicy::claims_only(now),
        )
        .map_err(|e| classify(platform, now, format!("{e:#}")))?;
    let (measurements, hash, report_data) = match &claims.report {
        Report::SgxEnclave(r) => (
            vec![
                Measurement {
                    name: "mrenclave",
                    value: r.mr_enclave.to_vec(),
                },
                Measurement {
                    name: "mrsigner",
                    value: r.mr_signer.to_vec(),
                },
            ],
            measurement_hash(Platform::Sgx, &[&r.mr_enclave, &r.mr_signer]),
            r.report_data,
        ),
        other => {
            let td = match other {
                Report::TD10(r) => r,
                Report::TD15(r) => &r.base,
                Report::TD15Ex(r) => &r.base.base,
                Report::SgxEnclave(_) => unreachable!("matched above"),
            };
            let regs: [(&'static str, &[u8; 48]); 5] = [
                ("mrtd", &td.mr_td),
                ("rtmr0", &td.rt_mr0),
                ("rtmr1", &td.rt_mr1),
                ("rtmr2", &td.rt_mr2),
                ("rtmr3", &td.rt_mr3),
            ];
            let hash = measurement_hash(
                Platform::Tdx,
                &regs.iter().map(|(_, v)| &v[..]).collect::<Vec<_>>(),
            );
            (
                regs.iter()
                    .map(|(name, v)| Measurement {
                        name,
                        value: v.to_vec(),
                    })
                    .collect(),
                hash,
                td.report_data,
            )
        }
    };
    let found = if claims.report.is_sgx() {
        Platform::Sgx
    } else {
        Platform::Tdx
    };
    if found != platform {
        return Err(Error::Malformed {
            platform,
            reason: format!("the header says {platform}, the body is {found}"),
        });
    }
    Ok(Attested {
        platform,
        measurements,
        measurement_hash: hash,
        tcb_status: status(claims.tcb.status),
        advisories: claims.tcb.advisory_ids.clone(),
        report_data: report_data.to_vec(),
        not_before: claims.latest_issue_date,
        not_after: claims.earliest_expiration_date,
    })
}
