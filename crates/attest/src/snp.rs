//! AMD SEV-SNP: attestation reports verified with `sev` (pure-Rust crypto). The collateral is
//! the chip's VCEK certificate (DER or PEM, as AMD's KDS serves it); the ASK and ARK are the
//! ones `sev` ships for Milan, Genoa and Turin, so a VCEK that does not chain to one of them is
//! refused.

use crate::evidence::{Attested, Error, Measurement, Platform, TcbStatus, measurement_hash};
use sev::certs::snp::{Certificate, Chain, Verifiable, builtin, ca};
use sev::firmware::guest::AttestationReport;
use sev::parser::ByteParser;

/// Length of an SEV-SNP attestation report.
pub(crate) const REPORT_LEN: usize = 1184;

pub(crate) fn detect(b: &[u8]) -> bool {
    b.len() == REPORT_LEN && (2..=5).contains(&u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
}

const P: Platform = Platform::SevSnp;

fn vcek_of(collateral: &[u8]) -> Result<(Certificate, x509_cert::Certificate), Error> {
    use x509_cert::der::{Decode, DecodePem};
    if collateral.is_empty() {
        return Err(Error::MissingCollateral {
            platform: P,
            what: "the chip's VCEK certificate (DER or PEM)",
        });
    }
    let bad = |reason: String| Error::BadCollateral {
        platform: P,
        reason,
    };
    let parsed = if collateral.starts_with(b"-----BEGIN") {
        // The first certificate of a PEM bundle is the VCEK.
        let text = std::str::from_utf8(collateral).map_err(|e| bad(e.to_string()))?;
        let end = text
            .find("-----END CERTIFICATE-----")
            .ok_or_else(|| bad("PEM without an END CERTIFICATE line".into()))?;
        let first = &text[..end + "-----END CERTIFICATE-----".len()];
        x509_cert::Certificate::from_pem(first.as_bytes()).map_err(|e| bad(e.to_string()))?
    } else {
        x509_cert::Certificate::from_der(collateral).map_err(|e| bad(e.to_string()))?
    };
    let der = x509_cert::der::Encode::to_der(&parsed).map_err(|e| bad(e.to_string()))?;
    let cert = Certificate::from_der(&der).map_err(|e| bad(e.to_string()))?;
    Ok((cert, parsed))
}

pub(crate) fn verify(report: &[u8], collateral: &[u8], now: u64) -> Result<Attested, Error> {
    let malformed = |reason: String| Error::Malformed {
        platform: P,
        reason,
    };
    let parsed = AttestationReport::from_bytes(report).map_err(|e| malformed(e.to_string()))?;
    // One report has one encoding: the bytes verified are the bytes given.
    let canonical = parsed.to_bytes().map_err(|e| malformed(e.to_string()))?;
    if canonical[..] != report[..] {
        return Err(malformed(
            "reserved or unused fields are not zero (the report does not re-encode to itself)"
                .into(),
        ));
    }
    let (vcek, x509) = vcek_of(collateral)?;
    let validity = &x509.tbs_certificate.validity;
    let not_before = validity.not_before.to_unix_duration().as_secs();
    let not_after = validity.not_after.to_unix_duration().as_secs();
    if now < not_before || now > not_after {
        return Err(Error::Expired {
            platform: P,
            now,
            reason: format!("the VCEK is valid from {not_before} to {not_after}"),
        });
    }
    type Load = fn() -> std::io::Result<Certificate>;
    let roots: [(&str, Load, Load); 3] = [
        ("milan", builtin::milan::ark, builtin::milan::ask),
        ("genoa", builtin::genoa::ark, builtin::genoa::ask),
        ("turin", builtin::turin::ark, builtin::turin::ask),
    ];
    let mut chain = None;
    let mut reasons = Vec::new();
    for (name, ark, ask) in roots {
        let (Ok(ark), Ok(ask)) = (ark(), ask()) else {
            continue;
        };
        let candidate = Chain {
            ca: ca::Chain { ark, ask },
            vek: vcek.clone(),
        };
        match candidate.verify() {
            Ok(_) => {
                chain = Some(candidate);
                break;
            }
            Err(e) => reasons.push(format!("{name}: {e}")),
        }
    }
    let chain = chain.ok_or_else(|| Error::UnknownRoot {
        platform: P,
        reason: format!(
            "the VCEK does not chain to AMD's Milan, Genoa or Turin ARK ({})",
            reasons.join("; ")
        ),
    })?;
    (&chain, &parsed)
        .verify()
        .map_err(|e| Error::BadSignature {
            platform: P,
            reason: e.to_string(),
        })?;
    if parsed.policy.debug_allowed() {
        return Err(Error::Refused {
            platform: P,
            reason: "the guest policy allows debugging (its memory can be read by the host)".into(),
        });
    }
    if parsed.vmpl != 0 {
        return Err(Error::Refused {
            platform: P,
            reason: format!(
                "the report was requested at VMPL {} (only VMPL 0, the guest's most privileged level, is accepted)",
                parsed.vmpl
            ),
        });
    }
    let tcb_status = if parsed.reported_tcb == parsed.current_tcb {
        TcbStatus::UpToDate
    } else {
        TcbStatus::OutOfDate
    };
    Ok(Attested {
        platform: P,
        measurements: vec![Measurement {
            name: "measurement",
            value: parsed.measurement.to_vec(),
        }],
        measurement_hash: measurement_hash(P, &[&parsed.measurement]),
        tcb_status,
        advisories: Vec::new(),
        report_data: parsed.report_data.to_vec(),
        not_before,
        not_after,
    })
}
