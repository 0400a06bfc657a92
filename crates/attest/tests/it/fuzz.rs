//! Random bytes as evidence or collateral never panic the verifier.

use super::samples::*;
use lazai_attest::{Options, verify};
use proptest::prelude::*;

const ALL: Options = Options { allow_dev: true };

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn random_evidence_never_panics(ev in proptest::collection::vec(any::<u8>(), 0..6000),
                                    col in proptest::collection::vec(any::<u8>(), 0..256),
                                    now in any::<u64>()) {
        let _ = verify(&ev, &col, now, ALL);
    }

    #[test]
    fn random_evidence_with_a_recognized_header_never_panics(
        kind in 0usize..5,
        tail in proptest::collection::vec(any::<u8>(), 0..5000),
        now in any::<u64>(),
    ) {
        let mut ev: Vec<u8> = match kind {
            0 => vec![3, 0, 2, 0, 0, 0, 0, 0],          // SGX quote header
            1 => vec![4, 0, 2, 0, 0x81, 0, 0, 0],       // TDX quote header
            2 => vec![0xd2, 0x84],                      // COSE_Sign1
            3 => lazai_attest::dev::MAGIC.to_vec(),
            _ => vec![2, 0, 0, 0],                      // SNP report version
        };
        ev.extend_from_slice(&tail);
        if kind == 4 { ev.resize(1184, 0); }
        let col: &[u8] = if kind < 2 { SGX_COLLATERAL } else { SNP_VCEK };
        let _ = verify(&ev, col, now, ALL);
    }

    #[test]
    fn mutated_samples_never_panic(which in 0usize..4, at in any::<prop::sample::Index>(),
                                   byte in any::<u8>(), cut in any::<bool>()) {
        let (_, mut ev, col, t) = samples().swap_remove(which);
        let i = at.index(ev.len());
        if cut { ev.truncate(i) } else { ev[i] = byte }
        let _ = verify(&ev, col, t, ALL);
    }
}
