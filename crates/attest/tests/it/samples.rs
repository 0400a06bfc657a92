//! Verification of the real vendor samples the crates ship (copied to `testdata/`): dcap-qvl's
//! SGX and TDX quotes with collateral, sev's Milan report with its VCEK, nitro_attest's
//! attestation document.

use lazai_attest::{
    Attested, Error, Options, Platform, Policy, TcbStatus, decode_input, detect, verify,
};

pub const SGX_QUOTE: &[u8] = include_bytes!("../../testdata/sgx_quote");
pub const SGX_COLLATERAL: &[u8] = include_bytes!("../../testdata/sgx_quote_collateral.json");
pub const TDX_QUOTE: &[u8] = include_bytes!("../../testdata/tdx_quote");
pub const TDX_COLLATERAL: &[u8] = include_bytes!("../../testdata/tdx_quote_collateral.json");
pub const TDX_OUTDATED: &[u8] = include_bytes!("../../testdata/tdx_quote_outdated");
pub const TDX_OUTDATED_COLLATERAL: &[u8] =
    include_bytes!("../../testdata/tdx_quote_outdated_collateral.json");
pub const SNP_REPORT_HEX: &[u8] = include_bytes!("../../testdata/report_milan.hex");
pub const SNP_VCEK: &[u8] = include_bytes!("../../testdata/vcek_milan.der");
pub const SNP_VCEK_TURIN: &[u8] = include_bytes!("../../testdata/vcek_turin.der");
pub const NITRO_DOC: &[u8] = include_bytes!("../../testdata/nitro_attestation.cose");

/// Times inside each sample's validity window (Unix seconds).
pub const SGX_AT: u64 = 1_750_420_800; // 2025-06-20T12:00:00Z
pub const TDX_AT: u64 = 1_750_420_800;
pub const TDX_OUTDATED_AT: u64 = 1_772_366_400; // 2026-03-01T12:00:00Z
pub const SNP_AT: u64 = 1_750_420_800;
pub const NITRO_AT: u64 = 1_736_180_000; // the document's chain: 1736179622..=1736190425

const OPTS: Options = Options { allow_dev: false };

pub fn snp_report() -> Vec<u8> {
    decode_input(SNP_REPORT_HEX)
}

/// (name, evidence, collateral, a time inside its window)
pub fn samples() -> Vec<(&'static str, Vec<u8>, &'static [u8], u64)> {
    vec![
        ("sgx", SGX_QUOTE.to_vec(), SGX_COLLATERAL, SGX_AT),
        ("tdx", TDX_QUOTE.to_vec(), TDX_COLLATERAL, TDX_AT),
        ("snp", snp_report(), SNP_VCEK, SNP_AT),
        ("nitro", NITRO_DOC.to_vec(), &[], NITRO_AT),
    ]
}

fn ok(evidence: &[u8], collateral: &[u8], at: u64) -> Attested {
    verify(evidence, collateral, at, OPTS).expect("the vendor sample verifies inside its window")
}

/// A policy that accepts exactly this evidence (any TCB status but revoked, a year of age).
fn accepting(a: &Attested) -> Policy {
    Policy {
        platforms: a.platform.bit(),
        measurements: vec![a.measurement_hash],
        min_tcb_status: TcbStatus::OutOfDateConfigurationNeeded,
        max_age: u64::MAX / 2,
    }
}

#[test]
fn every_sample_verifies_inside_its_window_with_its_platform_and_registers() {
    let expect = [
        ("sgx", Platform::Sgx, vec!["mrenclave", "mrsigner"]),
        (
            "tdx",
            Platform::Tdx,
            vec!["mrtd", "rtmr0", "rtmr1", "rtmr2", "rtmr3"],
        ),
        ("snp", Platform::SevSnp, vec!["measurement"]),
        ("nitro", Platform::Nitro, vec!["pcr0", "pcr1", "pcr2"]),
    ];
    for ((name, ev, col, at), (n2, platform, regs)) in samples().into_iter().zip(expect) {
        assert_eq!(name, n2);
        assert_eq!(detect(&ev), Some(platform), "{name}");
        let a = ok(&ev, col, at);
        assert_eq!(a.platform, platform, "{name}");
        let names: Vec<_> = a
            .measurements
            .iter()
            .map(|m| m.name)
            .take(regs.len())
            .collect();
        assert_eq!(names, regs, "{name}");
        assert!(a.measurements.iter().all(|m| !m.value.is_empty()), "{name}");
        assert_eq!(a.report_data.len(), 64, "{name}");
        assert!(a.not_before <= at && at <= a.not_after, "{name}: {a:?}");
        // Deterministic: the same input gives the same result.
        assert_eq!(ok(&ev, col, at), a, "{name}");
    }
}

#[test]
fn tcb_statuses_and_advisories_are_intels() {
    let sgx = ok(SGX_QUOTE, SGX_COLLATERAL, SGX_AT);
    assert_eq!(sgx.tcb_status, TcbStatus::ConfigurationAndSWHardeningNeeded);
    assert_eq!(sgx.advisories, ["INTEL-SA-00289", "INTEL-SA-00615"]);
    let tdx = ok(TDX_QUOTE, TDX_COLLATERAL, TDX_AT);
    assert_eq!(tdx.tcb_status, TcbStatus::UpToDate);
}

#[test]
fn a_platform_below_every_tcb_level_is_refused_as_out_of_date() {
    // dcap-qvl's outdated TDX sample: its platform TCB is older than every level of the TCB
    // info, which no policy accepts.
    let err =
        verify(TDX_OUTDATED, TDX_OUTDATED_COLLATERAL, TDX_OUTDATED_AT, OPTS).expect_err("refused");
    assert!(
        matches!(
            err,
            Error::TcbNotSupported {
                platform: Platform::Tdx,
                ..
            }
        ),
        "{err}"
    );
}

#[test]
fn out_of_date_tcb_is_refused_under_a_strict_policy_and_accepted_under_a_lenient_one() {
    {
        let (ev, col, at) = (SGX_QUOTE, SGX_COLLATERAL, SGX_AT);
        let a = ok(ev, col, at);
        let strict = Policy {
            min_tcb_status: TcbStatus::UpToDate,
            ..accepting(&a)
        };
        let err = strict
            .check_platform_and_code(a.platform, a.measurement_hash, a.tcb_status)
            .expect_err("refused");
        assert!(
            matches!(err, Error::TcbOutOfDate { status, minimum: TcbStatus::UpToDate, .. } if status == a.tcb_status),
            "{err}"
        );
        accepting(&a)
            .check_platform_and_code(a.platform, a.measurement_hash, a.tcb_status)
            .expect("a lenient policy accepts it");
    }
}

#[test]
fn a_wrong_measurement_in_the_policy_is_refused() {
    for (name, ev, col, at) in samples() {
        let a = ok(&ev, col, at);
        let mut policy = accepting(&a);
        policy.measurements = vec![alloy_primitives::B256::repeat_byte(0x42)];
        let err = policy
            .check_platform_and_code(a.platform, a.measurement_hash, a.tcb_status)
            .expect_err("refused");
        assert_eq!(
            err,
            Error::MeasurementNotAllowed(a.measurement_hash),
            "{name}"
        );
        let mut other_platform = accepting(&a);
        other_platform.platforms = Platform::Dev.bit();
        assert_eq!(
            other_platform
                .check_platform_and_code(a.platform, a.measurement_hash, a.tcb_status)
                .expect_err("refused"),
            Error::PlatformNotAllowed(a.platform),
            "{name}"
        );
    }
}

#[test]
fn a_time_after_expiry_or_before_issue_is_refused_as_expired() {
    for (name, ev, col, at) in samples() {
        let a = ok(&ev, col, at);
        for t in [
            a.not_after + 1,
            a.not_after + 365 * 86_400,
            a.not_before.saturating_sub(86_400),
        ] {
            let err = verify(&ev, col, t, OPTS).expect_err("refused");
            assert!(matches!(err, Error::Expired { .. }), "{name} at {t}: {err}");
        }
    }
}

/// Offsets of the signed report body: where a changed byte must fail the signature (not a
/// parse).
fn body(name: &str) -> std::ops::Range<usize> {
    match name {
        // DCAP: 48-byte header, then the 384-byte SGX report or 584-byte TD report.
        "sgx" => 0..48 + 384,
        "tdx" => 0..48 + 584,
        // SNP: everything before the signature at 0x2a0.
        "snp" => 0..0x2a0,
        _ => 0..0,
    }
}

#[test]
fn a_flipped_byte_anywhere_in_the_signed_body_is_refused() {
    for (name, ev, col, at) in samples() {
        let range = if name == "nitro" {
            0..ev.len()
        } else {
            body(name)
        };
        let mut refused_as_signature = 0;
        for i in range.clone() {
            let mut bad = ev.clone();
            bad[i] ^= 0x01;
            match verify(&bad, col, at, OPTS) {
                Ok(a) => panic!("{name}: byte {i} flipped still verifies: {a:?}"),
                Err(Error::BadSignature { .. }) => refused_as_signature += 1,
                Err(_) => {}
            }
        }
        // Header bytes may fail as malformed or unknown; the body's measurement and report
        // data bytes fail the signature.
        assert!(
            refused_as_signature * 2 > range.len(),
            "{name}: only {refused_as_signature} of {} flips were bad signatures",
            range.len()
        );
    }
}

#[test]
fn a_flipped_signature_byte_is_a_bad_signature() {
    // SNP: the signature's r starts at 0x2a0.
    let mut snp = snp_report();
    snp[0x2a0 + 5] ^= 0x40;
    assert!(matches!(
        verify(&snp, SNP_VCEK, SNP_AT, OPTS),
        Err(Error::BadSignature { .. })
    ));
    // Nitro: the COSE signature is the document's last 96 bytes.
    let mut nitro = NITRO_DOC.to_vec();
    let n = nitro.len();
    nitro[n - 10] ^= 0x01;
    assert!(matches!(
        verify(&nitro, &[], NITRO_AT, OPTS),
        Err(Error::BadSignature { .. })
    ));
}

#[test]
fn collateral_is_required_and_checked() {
    assert!(matches!(
        verify(SGX_QUOTE, &[], SGX_AT, OPTS),
        Err(Error::MissingCollateral {
            platform: Platform::Sgx,
            ..
        })
    ));
    assert!(matches!(
        verify(SGX_QUOTE, b"{not json", SGX_AT, OPTS),
        Err(Error::BadCollateral { .. })
    ));
    // The TDX collateral does not fit the SGX quote.
    assert!(verify(SGX_QUOTE, TDX_COLLATERAL, SGX_AT, OPTS).is_err());
    assert!(matches!(
        verify(&snp_report(), &[], SNP_AT, OPTS),
        Err(Error::MissingCollateral {
            platform: Platform::SevSnp,
            ..
        })
    ));
    // A VCEK of another chip (a Turin one) does not sign the Milan report.
    assert!(matches!(
        verify(&snp_report(), SNP_VCEK_TURIN, SNP_AT, OPTS),
        Err(Error::BadSignature { .. })
    ));
    // A VCEK whose signature does not chain to any AMD root.
    let mut forged = SNP_VCEK.to_vec();
    let last = forged.len() - 3;
    forged[last] ^= 0x01;
    assert!(matches!(
        verify(&snp_report(), &forged, SNP_AT, OPTS),
        Err(Error::UnknownRoot { .. })
    ));
}

#[test]
fn trailing_bytes_and_truncation_are_malformed() {
    let mut long = SGX_QUOTE.to_vec();
    long.push(0);
    // Zero padding after a quote is what generators emit; anything else is refused.
    assert!(verify(&long, SGX_COLLATERAL, SGX_AT, OPTS).is_ok());
    long.push(1);
    assert!(matches!(
        verify(&long, SGX_COLLATERAL, SGX_AT, OPTS),
        Err(Error::Malformed { .. })
    ));
    let short = &SGX_QUOTE[..SGX_QUOTE.len() - 1];
    assert!(verify(short, SGX_COLLATERAL, SGX_AT, OPTS).is_err());
    let snp = snp_report();
    assert!(verify(&snp[..snp.len() - 1], SNP_VCEK, SNP_AT, OPTS).is_err());
}

#[test]
fn hex_input_decodes_and_binary_stays() {
    assert_eq!(
        detect(&decode_input(SNP_REPORT_HEX)),
        Some(Platform::SevSnp)
    );
    let hex = format!("0x{}\n", hex::encode(SGX_QUOTE));
    assert_eq!(decode_input(hex.as_bytes()), SGX_QUOTE);
    assert_eq!(decode_input(SGX_QUOTE), SGX_QUOTE);
}

#[test]
fn the_report_data_of_a_sample_does_not_bind_a_worker_key() {
    let a = ok(SGX_QUOTE, SGX_COLLATERAL, SGX_AT);
    let expected = lazai_attest::binding::report_data(
        1,
        alloy_primitives::Address::repeat_byte(1),
        &[2; 32],
        SGX_AT,
    );
    let err = accepting(&a)
        .check(&a, &expected, SGX_AT)
        .expect_err("refused");
    assert!(matches!(err, Error::ReportDataMismatch { .. }), "{err}");
}
