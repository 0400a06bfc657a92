//! The dev TEE, key binding and policy checks.

use alloy_primitives::{Address, B256};
use lazai_attest::{
    Error, Options, Platform, Policy, TcbStatus, binding, detect, dev::Simulator, verify,
};

const DEV: Options = Options { allow_dev: true };

fn dev_policy(max_age: u64) -> Policy {
    Policy {
        platforms: Platform::Dev.bit(),
        measurements: Vec::new(),
        min_tcb_status: TcbStatus::UpToDate,
        max_age,
    }
}

#[test]
fn an_rsa_key_is_bound_under_its_own_domain() {
    let tee = Simulator::random();
    let signer = Address::repeat_byte(7);
    let hpke = [9u8; 32];
    let rsa = binding::rsa_key_hash(b"a PKCS#1 DER public key");
    let rd = binding::report_data_with_rsa(42, signer, &hpke, Some(&rsa), 1_000);
    assert_eq!(
        binding::report_data_with_rsa(42, signer, &hpke, None, 1_000),
        binding::report_data(42, signer, &hpke, 1_000)
    );
    assert_ne!(rd, binding::report_data(42, signer, &hpke, 1_000));
    let a = verify(&tee.quote(&rd), &[], 1_000, DEV).expect("dev quote");
    assert_eq!(dev_policy(600).check(&a, &rd, 1_100), Ok(1_600));
    // Evidence for one RSA key, or for none, does not pass for another.
    let other = binding::rsa_key_hash(b"another key");
    for expected in [
        binding::report_data_with_rsa(42, signer, &hpke, Some(&other), 1_000),
        binding::report_data(42, signer, &hpke, 1_000),
        binding::report_data_with_rsa(43, signer, &hpke, Some(&rsa), 1_000),
    ] {
        assert!(matches!(
            dev_policy(600).check(&a, &expected, 1_100),
            Err(Error::ReportDataMismatch { .. })
        ));
    }
}

#[test]
fn a_dev_quote_binds_the_workers_keys_and_is_accepted_only_when_enabled() {
    let tee = Simulator::random();
    let signer = Address::repeat_byte(7);
    let hpke = [9u8; 32];
    let rd = binding::report_data(42, signer, &hpke, 1_000);
    let quote = tee.quote(&rd);
    assert_eq!(detect(&quote), Some(Platform::Dev));
    assert_eq!(
        verify(&quote, &[], 1_000, Options::default()).expect_err("refused"),
        Error::DevNotAllowed
    );
    let a = verify(&quote, &[], 1_000, DEV).expect("dev quote");
    assert_eq!(a.platform, Platform::Dev);
    assert_eq!(a.platform.name(), "dev");
    assert_eq!(a.report_data(), rd);
    assert_eq!(binding::issued_at(&rd), 1_000);
    assert_eq!(dev_policy(600).check(&a, &rd, 1_100), Ok(1_600));
    // Another signer, another HPKE key, another chain: a different binding.
    for other in [
        binding::report_data(42, Address::repeat_byte(8), &hpke, 1_000),
        binding::report_data(42, signer, &[10; 32], 1_000),
        binding::report_data(43, signer, &hpke, 1_000),
    ] {
        assert!(matches!(
            dev_policy(600).check(&a, &other, 1_100),
            Err(Error::ReportDataMismatch { .. })
        ));
    }
}

#[test]
fn evidence_ages_out_and_cannot_come_from_the_future() {
    let rd = binding::report_data(1, Address::ZERO, &[0; 32], 10_000);
    let a = verify(&Simulator::random().quote(&rd), &[], 0, DEV).expect("accepted");
    assert_eq!(dev_policy(100).check(&a, &rd, 10_100), Ok(10_100));
    assert!(matches!(
        dev_policy(100).check(&a, &rd, 10_101),
        Err(Error::TooOld { .. })
    ));
    assert!(matches!(
        dev_policy(100).check(&a, &rd, 10_000 - lazai_attest::MAX_CLOCK_SKEW - 1),
        Err(Error::IssuedInFuture { .. })
    ));
}

#[test]
fn measurements_platforms_and_tcb_floors() {
    let tee = Simulator::random().with_measurement([5; 32]);
    let rd = binding::report_data(1, Address::ZERO, &[0; 32], 0);
    let a = verify(&tee.quote(&rd), &[], 0, DEV).expect("accepted");
    let mut p = dev_policy(10);
    p.measurements = vec![a.measurement_hash];
    assert!(p.check(&a, &rd, 0).is_ok());
    p.measurements = vec![B256::ZERO];
    assert_eq!(
        p.check(&a, &rd, 0),
        Err(Error::MeasurementNotAllowed(a.measurement_hash))
    );
    p.measurements.clear();
    p.platforms = Platform::Sgx.bit() | Platform::Tdx.bit();
    assert_eq!(
        p.check(&a, &rd, 0),
        Err(Error::PlatformNotAllowed(Platform::Dev))
    );
    // Revoked never passes, whatever the floor.
    let lenient = Policy {
        min_tcb_status: TcbStatus::Revoked,
        ..dev_policy(10)
    };
    assert!(
        lenient
            .check_platform_and_code(Platform::Dev, a.measurement_hash, TcbStatus::Revoked)
            .is_err()
    );
    assert!(
        lenient
            .check_platform_and_code(Platform::Dev, a.measurement_hash, TcbStatus::OutOfDate)
            .is_ok()
    );
}

#[test]
fn a_tampered_dev_quote_is_refused_or_names_another_key() {
    let tee = Simulator::random();
    let rd = binding::report_data(1, Address::ZERO, &[0; 32], 0);
    let quote = tee.quote(&rd);
    let key_of = |q: &[u8]| {
        verify(q, &[], 0, DEV)
            .ok()
            .map(|a| a.measurements[1].value.clone())
    };
    assert_eq!(key_of(&quote), Some(tee.address().to_vec()));
    for i in 16..quote.len() {
        let mut bad = quote.clone();
        bad[i] ^= 1;
        assert_ne!(key_of(&bad), Some(tee.address().to_vec()), "byte {i}");
    }
    assert!(verify(&quote[..quote.len() - 1], &[], 0, DEV).is_err());
}

#[test]
fn names_round_trip() {
    for p in Platform::ALL {
        assert_eq!(Platform::parse(p.name()), Some(p));
        assert_eq!(Platform::from_code(p.code()), Some(p));
    }
    for s in TcbStatus::ALL {
        assert_eq!(TcbStatus::parse(s.name()), Some(s));
        assert_eq!(TcbStatus::from_code(s.code()), Some(s));
    }
}

#[cfg(feature = "acquire")]
mod source {
    use lazai_attest::source::{Source, vcek_from_cert_table};

    #[test]
    fn detection_prefers_hardware_interfaces_and_falls_back_to_dev() {
        let root = tempfile::tempdir().expect("tempdir");
        assert!(Source::detect_in(root.path(), None).is_dev());
        std::fs::create_dir_all(root.path().join("dev")).expect("mkdir");
        // A TDX guest device without configfs-tsm: an error, not the dev TEE.
        std::fs::write(root.path().join("dev/tdx_guest"), b"").expect("touch");
        let tdx = Source::detect_in(root.path(), None);
        assert!(!tdx.is_dev());
        let err = tdx.evidence(&[0; 64]).expect_err("unusable");
        assert!(err.to_string().contains("mount configfs"), "{err}");
        std::fs::write(root.path().join("dev/nsm"), b"").expect("touch");
        assert_eq!(Source::detect_in(root.path(), None).name(), "nitro-nsm");
        std::fs::write(root.path().join("dev/sev-guest"), b"").expect("touch");
        assert_eq!(Source::detect_in(root.path(), None).name(), "sev-guest");
        std::fs::create_dir_all(root.path().join("sys/kernel/config/tsm/report")).expect("mkdir");
        assert_eq!(Source::detect_in(root.path(), None).name(), "configfs-tsm");
    }

    #[test]
    fn a_configfs_tsm_report_without_collateral_for_tdx_is_refused_clearly() {
        // A fake configfs-tsm directory whose reports come back from a TDX provider.
        let root = tempfile::tempdir().expect("tempdir");
        let dir = root.path().join("sys/kernel/config/tsm/report");
        std::fs::create_dir_all(&dir).expect("mkdir");
        let source = Source::detect_in(root.path(), None);
        // The fake file system has no outblob: a hardware source that fails is an error.
        let err = source.evidence(&[0; 64]).expect_err("no outblob");
        assert!(err.to_string().starts_with("configfs-tsm:"), "{err}");
    }

    #[test]
    fn the_vcek_is_found_in_a_certificate_table() {
        let vcek = b"vcek-der-bytes".to_vec();
        let mut table = Vec::new();
        let guid = [
            0x8d, 0x75, 0xda, 0x63, 0x64, 0xe6, 0x64, 0x45, 0xad, 0xc5, 0xf4, 0xb9, 0x3b, 0xe8,
            0xac, 0xcd,
        ];
        let other = [1u8; 16];
        let offset = 24 * 3;
        table.extend_from_slice(&other);
        table.extend_from_slice(&(offset as u32).to_le_bytes());
        table.extend_from_slice(&0u32.to_le_bytes());
        table.extend_from_slice(&guid);
        table.extend_from_slice(&(offset as u32).to_le_bytes());
        table.extend_from_slice(&(vcek.len() as u32).to_le_bytes());
        table.extend_from_slice(&[0u8; 24]);
        table.extend_from_slice(&vcek);
        assert_eq!(vcek_from_cert_table(&table), Some(vcek));
        assert_eq!(vcek_from_cert_table(&table[..24]), None);
        assert_eq!(vcek_from_cert_table(&[0u8; 48]), None);
        let mut truncated = table.clone();
        truncated.truncate(offset + 3);
        assert_eq!(vcek_from_cert_table(&truncated), None);
    }
}
