//! AWS Nitro Enclaves: COSE_Sign1 attestation documents verified with `nitro_attest` (the
//! certificate chain to the pinned AWS Nitro root G1, every certificate's validity at "now",
//! the ECDSA-P384 COSE signature). The document carries its own chain, so no collateral.

use crate::evidence::{Attested, Error, Measurement, Platform, TcbStatus, measurement_hash};
use coset::{CborSerializable, CoseSign1};
use time::OffsetDateTime;

const P: Platform = Platform::Nitro;

fn map(e: nitro_attest::Error, now: u64) -> Error {
    use nitro_attest::Error as N;
    let reason = e.to_string();
    match e {
        N::CertificateExpired { .. } | N::CertificateNotYetValid { .. } => Error::Expired {
            platform: P,
            now,
            reason,
        },
        N::CertificateRootInvalid { .. } => Error::UnknownRoot {
            platform: P,
            reason,
        },
        N::CertificateSignatureInvalid { .. }
        | N::CoseSignatureVerificationFailed()
        | N::CertificateUnexpectedAlgorithm { .. } => Error::BadSignature {
            platform: P,
            reason,
        },
        _ => Error::Malformed {
            platform: P,
            reason,
        },
    }
}

/// The validity window shared by every certificate of the document's chain.
fn window(document: &[u8]) -> Result<(u64, u64), Error> {
    let malformed = |reason: String| Error::Malformed {
        platform: P,
        reason,
    };
    let cose = CoseSign1::from_slice(document).map_err(|e| malformed(e.to_string()))?;
    let payload = cose.payload.ok_or_else(|| malformed("no payload".into()))?;
    let doc = aws_nitro_enclaves_nsm_api::api::AttestationDoc::from_binary(&payload)
        .map_err(|e| malformed(format!("{e:?}")))?;
    let mut not_before = 0u64;
    let mut not_after = u64::MAX;
    for der in doc.cabundle.iter().chain(std::iter::once(&doc.certificate)) {
        let (_, cert) = x509_parser::parse_x509_certificate(der)
            .map_err(|e| malformed(format!("certificate: {e}")))?;
        let v = cert.validity();
        let nb = u64::try_from(v.not_before.timestamp()).unwrap_or(0);
        let na = u64::try_from(v.not_after.timestamp()).unwrap_or(0);
        not_before = not_before.max(nb);
        not_after = not_after.min(na);
    }
    Ok((not_before, not_after))
}

pub(crate) fn verify(document: &[u8], now: u64) -> Result<Attested, Error> {
    let when = OffsetDateTime::from_unix_timestamp(i64::try_from(now).unwrap_or(i64::MAX))
        .map_err(|e| Error::Expired {
            platform: P,
            now,
            reason: e.to_string(),
        })?;
    let unparsed: nitro_attest::UnparsedAttestationDoc<'_> = document.into();
    let doc = unparsed.parse_and_verify(when).map_err(|e| map(e, now))?;
    let (not_before, not_after) = window(document)?;
    let pcr = |i: u16| -> Vec<u8> {
        doc.pcrs
            .get(&i)
            .map(|d| d.value.clone())
            .unwrap_or_else(|| vec![0u8; 48])
    };
    let (p0, p1, p2) = (pcr(0), pcr(1), pcr(2));
    // An enclave in debug mode reports all-zero PCRs: its memory is readable from outside.
    if p0.iter().all(|&b| b == 0) {
        return Err(Error::Refused {
            platform: P,
            reason: "PCR0 is all zeros: the enclave runs in debug mode".into(),
        });
    }
    let mut measurements: Vec<Measurement> = Vec::new();
    for (name, v) in [("pcr0", &p0), ("pcr1", &p1), ("pcr2", &p2)] {
        measurements.push(Measurement {
            name,
            value: v.clone(),
        });
    }
    const OTHER: [&str; 13] = [
        "pcr3", "pcr4", "pcr5", "pcr6", "pcr7", "pcr8", "pcr9", "pcr10", "pcr11", "pcr12", "pcr13",
        "pcr14", "pcr15",
    ];
    for (i, name) in OTHER.iter().enumerate() {
        if let Some(d) = doc.pcrs.get(&(i as u16 + 3)) {
            measurements.push(Measurement {
                name,
                value: d.value.clone(),
            });
        }
    }
    let user = doc
        .user_data
        .as_ref()
        .map(|b| b.to_vec())
        .unwrap_or_default();
    if user.len() > 64 {
        return Err(Error::Refused {
            platform: P,
            reason: format!(
                "user_data of {} bytes (report data is at most 64)",
                user.len()
            ),
        });
    }
    let mut report_data = user;
    report_data.resize(64, 0);
    Ok(Attested {
        platform: P,
        measurement_hash: measurement_hash(P, &[&p0, &p1, &p2]),
        measurements,
        tcb_status: TcbStatus::UpToDate,
        advisories: Vec::new(),
        report_data,
        not_before,
        not_after,
    })
}
