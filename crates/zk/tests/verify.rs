//! The snarkjs fixture (testdata/make.sh), tampering, malleability and every refusal.

use ark_bn254::{Fq, Fq2, Fr, G2Affine};
use ark_ec::short_weierstrass::SWCurveConfig;
use ark_ff::{BigInteger, Field, PrimeField};
use lazai_zk::{
    G1_LEN, G2_LEN, PROOF_LEN, Proof, VK_FIXED_LEN, VerifyingKey, ZkError,
    public_inputs_from_bytes, public_inputs_from_snarkjs_json, public_inputs_to_bytes, verify,
    verify_gas,
};

const VK_JSON: &str = include_str!("../testdata/verification_key.json");
const PROOF_JSON: &str = include_str!("../testdata/proof.json");
const PUBLIC_JSON: &str = include_str!("../testdata/public.json");

/// p, the BN254 base field modulus, and r, the scalar field modulus.
const P: &str = "21888242871839275222246405745257275088696311157297823662689037894645226208583";
const R: &str = "21888242871839275222246405745257275088548364400416034343698204186575808495617";

fn fixture() -> (VerifyingKey, Proof, Vec<Fr>) {
    (
        VerifyingKey::from_snarkjs_json(VK_JSON).expect("vk"),
        Proof::from_snarkjs_json(PROOF_JSON).expect("proof"),
        public_inputs_from_snarkjs_json(PUBLIC_JSON).expect("public"),
    )
}

fn fq_be(f: &Fq) -> Vec<u8> {
    f.into_bigint().to_bytes_be()
}

fn neg_be(b: &[u8]) -> Vec<u8> {
    fq_be(&-Fq::from_be_bytes_mod_order(b))
}

/// A point on the G2 twist curve outside the prime-order subgroup, EIP-197 bytes.
fn g2_outside_subgroup() -> Vec<u8> {
    for i in 1u64..200 {
        let x = Fq2::new(Fq::from(i), Fq::from(0u64));
        let rhs = x * x * x + ark_bn254::g2::Config::COEFF_B;
        if let Some(y) = rhs.sqrt() {
            let p = G2Affine::new_unchecked(x, y);
            assert!(p.is_on_curve());
            if !p.is_in_correct_subgroup_assuming_on_curve() {
                return [fq_be(&x.c1), fq_be(&x.c0), fq_be(&y.c1), fq_be(&y.c0)].concat();
            }
        }
    }
    panic!("no twist point found");
}

#[test]
fn snarkjs_fixture_verifies() {
    let (vk, proof, inputs) = fixture();
    assert_eq!(vk.public_inputs(), 2);
    assert_eq!(inputs, vec![Fr::from(33u64), Fr::from(42u64)]);
    assert_eq!(verify(&vk, &proof, &inputs), Ok(true));
}

#[test]
fn changed_public_signal_fails() {
    let (vk, proof, _) = fixture();
    for inputs in [[34u64, 42], [33, 43], [42, 33], [0, 0]] {
        let inputs: Vec<Fr> = inputs.iter().map(|&x| Fr::from(x)).collect();
        assert_eq!(verify(&vk, &proof, &inputs), Ok(false), "{inputs:?}");
    }
}

#[test]
fn changed_proof_or_key_fails() {
    let (vk, proof, inputs) = fixture();
    let other = Proof::from_bytes(
        &[
            &proof.to_bytes()[..G1_LEN + G2_LEN],
            &proof.to_bytes()[..G1_LEN],
        ]
        .concat(),
    )
    .expect("c := a is a valid point");
    assert_eq!(verify(&vk, &other, &inputs), Ok(false));
    // Swap gamma and delta in the key.
    let mut b = vk.to_bytes();
    let gamma = b[G1_LEN + G2_LEN..G1_LEN + 2 * G2_LEN].to_vec();
    let delta = b[G1_LEN + 2 * G2_LEN..G1_LEN + 3 * G2_LEN].to_vec();
    b[G1_LEN + G2_LEN..G1_LEN + 2 * G2_LEN].copy_from_slice(&delta);
    b[G1_LEN + 2 * G2_LEN..G1_LEN + 3 * G2_LEN].copy_from_slice(&gamma);
    let vk2 = VerifyingKey::from_bytes(&b).expect("valid points");
    assert_eq!(verify(&vk2, &proof, &inputs), Ok(false));
}

/// Groth16 is malleable: (-a, -b, c) is another valid proof of the same statement, with other
/// bytes. Nothing may be keyed on proof bytes.
#[test]
fn malleated_proof_still_verifies() {
    let (vk, proof, inputs) = fixture();
    let mut b = proof.to_bytes();
    let a_y = neg_be(&b[32..64]);
    b[32..64].copy_from_slice(&a_y);
    // b.y = (c1, c0) at offsets 64 + 64 and 64 + 96.
    let b_y1 = neg_be(&b[128..160]);
    let b_y0 = neg_be(&b[160..192]);
    b[128..160].copy_from_slice(&b_y1);
    b[160..192].copy_from_slice(&b_y0);
    let malleated = Proof::from_bytes(&b).expect("negated points are valid");
    assert_ne!(malleated.to_bytes(), proof.to_bytes());
    assert_eq!(verify(&vk, &malleated, &inputs), Ok(true));
}

#[test]
fn wrong_number_of_inputs_is_an_error() {
    let (vk, proof, inputs) = fixture();
    assert_eq!(
        verify(&vk, &proof, &inputs[..1]),
        Err(ZkError::InputCount {
            expected: 2,
            got: 1
        })
    );
    let three = [inputs.clone(), vec![Fr::from(1u64)]].concat();
    assert_eq!(
        verify(&vk, &proof, &three),
        Err(ZkError::InputCount {
            expected: 2,
            got: 3
        })
    );
    assert_eq!(
        verify(&vk, &proof, &[]),
        Err(ZkError::InputCount {
            expected: 2,
            got: 0
        })
    );
}

#[test]
fn round_trips_and_id() {
    let (vk, proof, inputs) = fixture();
    let vk_bytes = vk.to_bytes();
    assert_eq!(vk_bytes.len(), VK_FIXED_LEN + 3 * G1_LEN);
    assert_eq!(VerifyingKey::from_bytes(&vk_bytes), Ok(vk.clone()));
    let proof_bytes = proof.to_bytes();
    assert_eq!(proof_bytes.len(), PROOF_LEN);
    assert_eq!(Proof::from_bytes(&proof_bytes), Ok(proof));
    let input_bytes = public_inputs_to_bytes(&inputs);
    assert_eq!(input_bytes.len(), 64);
    assert_eq!(input_bytes[31], 33);
    assert_eq!(input_bytes[63], 42);
    assert_eq!(public_inputs_from_bytes(&input_bytes), Ok(inputs));
    assert_eq!(public_inputs_from_bytes(&[]), Ok(vec![]));

    // The id is keccak256 of the bytes, the same however the key was read.
    let id = vk.id();
    assert_eq!(id, alloy_primitives::keccak256(&vk_bytes).0);
    assert_eq!(VerifyingKey::from_bytes(&vk_bytes).expect("vk").id(), id);
    assert_eq!(
        VerifyingKey::from_snarkjs_json(VK_JSON).expect("vk").id(),
        id
    );
    // Layout: the IC count sits after alpha, beta, gamma, delta.
    assert_eq!(&vk_bytes[VK_FIXED_LEN - 4..VK_FIXED_LEN], &[0, 0, 0, 3]);
}

#[test]
fn alphabeta_and_unknown_fields_are_ignored() {
    assert!(VK_JSON.contains("vk_alphabeta_12"));
    let (vk, _, _) = fixture();
    let mut v: serde_json::Value = serde_json::from_str(VK_JSON).expect("json");
    v["vk_alphabeta_12"] = serde_json::json!("anything");
    v["extra"] = serde_json::json!([1, 2]);
    assert_eq!(VerifyingKey::from_snarkjs_json(&v.to_string()), Ok(vk));
}

fn vk_json_with(f: impl FnOnce(&mut serde_json::Value)) -> String {
    let mut v: serde_json::Value = serde_json::from_str(VK_JSON).expect("json");
    f(&mut v);
    v.to_string()
}

fn proof_json_with(f: impl FnOnce(&mut serde_json::Value)) -> String {
    let mut v: serde_json::Value = serde_json::from_str(PROOF_JSON).expect("json");
    f(&mut v);
    v.to_string()
}

#[test]
fn snarkjs_header_fields_checked() {
    let j = vk_json_with(|v| v["protocol"] = "plonk".into());
    assert_eq!(
        VerifyingKey::from_snarkjs_json(&j),
        Err(ZkError::Protocol("plonk".into()))
    );
    let j = vk_json_with(|v| v["curve"] = "bls12381".into());
    assert_eq!(
        VerifyingKey::from_snarkjs_json(&j),
        Err(ZkError::Curve("bls12381".into()))
    );
    let j = vk_json_with(|v| v["nPublic"] = 3.into());
    assert_eq!(
        VerifyingKey::from_snarkjs_json(&j),
        Err(ZkError::NPublic { n_public: 3, ic: 3 })
    );
    let j = vk_json_with(|v| v["IC"] = serde_json::json!([]));
    assert_eq!(VerifyingKey::from_snarkjs_json(&j), Err(ZkError::EmptyIc));
    let j = proof_json_with(|v| v["protocol"] = "fflonk".into());
    assert_eq!(
        Proof::from_snarkjs_json(&j),
        Err(ZkError::Protocol("fflonk".into()))
    );
    let j = proof_json_with(|v| v["curve"] = "bn254x".into());
    assert_eq!(
        Proof::from_snarkjs_json(&j),
        Err(ZkError::Curve("bn254x".into()))
    );
    // Proofs without protocol and curve (rapidsnark leaves curve out) are read.
    let j = proof_json_with(|v| {
        let o = v.as_object_mut().expect("object");
        o.remove("protocol");
        o.remove("curve");
    });
    assert!(Proof::from_snarkjs_json(&j).is_ok());
}

fn err_what(e: ZkError) -> (String, String) {
    let kind = format!("{e:?}");
    let kind = kind.split([' ', '(']).next().unwrap_or_default().to_owned();
    let what = match e {
        ZkError::NotOnCurve { what }
        | ZkError::NotInSubgroup { what }
        | ZkError::Infinity { what }
        | ZkError::NotAffine { what }
        | ZkError::CoordinateOverflow { what }
        | ZkError::ScalarOverflow { what }
        | ZkError::Decimal { what, .. }
        | ZkError::Shape { what, .. } => what,
        other => format!("{other}"),
    };
    (kind, what)
}

fn proof_json_err(f: impl FnOnce(&mut serde_json::Value)) -> (String, String) {
    err_what(Proof::from_snarkjs_json(&proof_json_with(f)).expect_err("refused"))
}

fn pair(k: &str, w: &str) -> (String, String) {
    (k.to_owned(), w.to_owned())
}

#[test]
fn bad_json_points_refused() {
    assert_eq!(
        proof_json_err(|v| v["pi_a"][1] = "1".into()),
        pair("NotOnCurve", "proof.a")
    );
    assert_eq!(
        proof_json_err(|v| v["pi_c"][0] = P.into()),
        pair("CoordinateOverflow", "proof.c")
    );
    assert_eq!(
        proof_json_err(|v| v["pi_b"][1][1] = P.into()),
        pair("CoordinateOverflow", "proof.b")
    );
    assert_eq!(
        proof_json_err(|v| v["pi_a"][2] = "2".into()),
        pair("NotAffine", "proof.a")
    );
    assert_eq!(
        proof_json_err(|v| v["pi_b"][2] = serde_json::json!(["1", "1"])),
        pair("NotAffine", "proof.b")
    );
    assert_eq!(
        proof_json_err(|v| v["pi_a"] = serde_json::json!(["0", "1", "0"])),
        pair("Infinity", "proof.a")
    );
    assert_eq!(
        proof_json_err(|v| v["pi_b"] = serde_json::json!([["0", "0"], ["1", "0"], ["0", "0"]])),
        pair("Infinity", "proof.b")
    );
    assert_eq!(
        proof_json_err(|v| v["pi_a"][0] = "12a".into()),
        pair("Decimal", "proof.a")
    );
    assert_eq!(
        proof_json_err(|v| v["pi_a"][0] = "-1".into()),
        pair("Decimal", "proof.a")
    );
    assert_eq!(
        proof_json_err(|v| v["pi_a"] = serde_json::json!(["1", "2"])),
        pair("Shape", "proof.a")
    );
    assert_eq!(
        proof_json_err(|v| v["pi_b"][0] = serde_json::json!(["1"])),
        pair("Shape", "proof.b")
    );
    assert!(matches!(
        Proof::from_snarkjs_json(&proof_json_with(|v| v["pi_a"][0] = 5.into())),
        Err(ZkError::Json(_))
    ));

    // A twist point outside the subgroup, as snarkjs JSON.
    let b = g2_outside_subgroup();
    let dec = |i: usize| Fq::from_be_bytes_mod_order(&b[32 * i..32 * (i + 1)]).to_string();
    let outside = serde_json::json!([[dec(1), dec(0)], [dec(3), dec(2)], ["1", "0"]]);
    assert_eq!(
        proof_json_err(|v| v["pi_b"] = outside.clone()),
        pair("NotInSubgroup", "proof.b")
    );
    let e = VerifyingKey::from_snarkjs_json(&vk_json_with(|v| v["vk_gamma_2"] = outside))
        .expect_err("refused");
    assert_eq!(err_what(e), pair("NotInSubgroup", "vk.gamma"));
    let e = VerifyingKey::from_snarkjs_json(&vk_json_with(|v| v["IC"][2][1] = "7".into()))
        .expect_err("refused");
    assert_eq!(err_what(e), pair("NotOnCurve", "vk.IC[2]"));
}

#[test]
fn bad_json_text_refused() {
    for garbage in [
        "",
        "{",
        "null",
        "[]",
        "{\"protocol\": \"groth16\"}",
        "\u{0}",
        "[\"1\", 2]",
    ] {
        assert!(
            matches!(
                VerifyingKey::from_snarkjs_json(garbage),
                Err(ZkError::Json(_))
            ),
            "{garbage:?}"
        );
        assert!(
            matches!(Proof::from_snarkjs_json(garbage), Err(ZkError::Json(_))),
            "{garbage:?}"
        );
    }
    assert!(matches!(
        public_inputs_from_snarkjs_json("{}"),
        Err(ZkError::Json(_))
    ));
    assert!(matches!(
        public_inputs_from_snarkjs_json("[1]"),
        Err(ZkError::Json(_))
    ));
    let big = " ".repeat(lazai_zk::MAX_JSON_BYTES + 1);
    assert_eq!(
        VerifyingKey::from_snarkjs_json(&big),
        Err(ZkError::JsonTooLarge {
            len: big.len(),
            max: lazai_zk::MAX_JSON_BYTES
        })
    );
    assert!(matches!(
        Proof::from_snarkjs_json(&big),
        Err(ZkError::JsonTooLarge { .. })
    ));
    assert!(matches!(
        public_inputs_from_snarkjs_json(&big),
        Err(ZkError::JsonTooLarge { .. })
    ));
}

#[test]
fn public_signals_checked() {
    // r - 1 is the largest scalar (r ends in 7).
    let r_minus_1 = format!("[\"{}6\"]", &R[..R.len() - 1]);
    assert!(public_inputs_from_snarkjs_json(&r_minus_1).is_ok());
    let e = public_inputs_from_snarkjs_json(&format!("[\"1\", \"{R}\"]")).expect_err("r");
    assert_eq!(err_what(e), pair("ScalarOverflow", "public[1]"));
    let e = public_inputs_from_snarkjs_json("[\"0x01\"]").expect_err("hex");
    assert_eq!(err_what(e), pair("Decimal", "public[0]"));
    let many = serde_json::to_string(&vec!["1"; 1025]).expect("json");
    assert!(matches!(
        public_inputs_from_snarkjs_json(&many),
        Err(ZkError::TooManyInputs {
            got: 1025,
            max: 1024,
            ..
        })
    ));

    let r_be = Fr::MODULUS.to_bytes_be();
    let e = public_inputs_from_bytes(&[vec![0; 32], r_be].concat()).expect_err("r");
    assert_eq!(err_what(e), pair("ScalarOverflow", "public[1]"));
    assert!(matches!(
        public_inputs_from_bytes(&[0; 33]),
        Err(ZkError::Length { .. })
    ));
    assert!(matches!(
        public_inputs_from_bytes(&vec![0; 32 * 1025]),
        Err(ZkError::TooManyInputs { got: 1025, .. })
    ));
}

#[test]
fn bad_proof_bytes_refused() {
    let (_, proof, _) = fixture();
    let good = proof.to_bytes();
    for len in [0, 1, PROOF_LEN - 1, PROOF_LEN + 1, 2 * PROOF_LEN] {
        let b: Vec<u8> = good.iter().copied().cycle().take(len).collect();
        assert_eq!(
            Proof::from_bytes(&b),
            Err(ZkError::Length {
                what: "proof",
                expected: PROOF_LEN,
                got: len
            })
        );
    }
    let with = |at: usize, bytes: &[u8]| {
        let mut b = good.clone();
        b[at..at + bytes.len()].copy_from_slice(bytes);
        err_what(Proof::from_bytes(&b).expect_err("refused"))
    };
    let p_be = Fq::MODULUS.to_bytes_be();
    assert_eq!(with(0, &p_be), pair("CoordinateOverflow", "proof.a"));
    // x + p still fits in 256 bits: refused, not reduced to the same point.
    let mut x_plus_p = Fq::from_be_bytes_mod_order(&good[..32]).into_bigint();
    assert!(!x_plus_p.add_with_carry(&Fq::MODULUS));
    assert_eq!(
        with(0, &x_plus_p.to_bytes_be()),
        pair("CoordinateOverflow", "proof.a")
    );
    assert_eq!(
        with(G1_LEN + 96, &p_be),
        pair("CoordinateOverflow", "proof.b")
    );
    assert_eq!(with(0, &[0; G1_LEN]), pair("Infinity", "proof.a"));
    assert_eq!(with(G1_LEN, &[0; G2_LEN]), pair("Infinity", "proof.b"));
    assert_eq!(
        with(G1_LEN + G2_LEN, &[0; G1_LEN]),
        pair("Infinity", "proof.c")
    );
    let mut y1 = [0u8; 32];
    y1[31] = 1;
    assert_eq!(with(32, &y1), pair("NotOnCurve", "proof.a"));
    assert_eq!(with(G1_LEN + 64, &y1), pair("NotOnCurve", "proof.b"));
    assert_eq!(
        with(G1_LEN, &g2_outside_subgroup()),
        pair("NotInSubgroup", "proof.b")
    );
}

#[test]
fn bad_key_bytes_refused() {
    let (vk, _, _) = fixture();
    let good = vk.to_bytes();
    let n_at = VK_FIXED_LEN - 4;
    assert!(matches!(
        VerifyingKey::from_bytes(&good[..n_at]),
        Err(ZkError::Length { .. })
    ));
    assert!(matches!(
        VerifyingKey::from_bytes(&good[..good.len() - 1]),
        Err(ZkError::Length { .. })
    ));
    assert!(matches!(
        VerifyingKey::from_bytes(&[&good[..], &[0]].concat()),
        Err(ZkError::Length { .. })
    ));
    let with_count = |n: u32| {
        let mut b = good.clone();
        b[n_at..n_at + 4].copy_from_slice(&n.to_be_bytes());
        VerifyingKey::from_bytes(&b)
    };
    assert_eq!(with_count(0), Err(ZkError::EmptyIc));
    assert!(matches!(with_count(2), Err(ZkError::Length { .. })));
    assert!(matches!(with_count(4), Err(ZkError::Length { .. })));
    assert!(matches!(
        with_count(1026),
        Err(ZkError::TooManyInputs {
            got: 1025,
            max: 1024,
            ..
        })
    ));
    assert!(matches!(
        with_count(u32::MAX),
        Err(ZkError::TooManyInputs { .. })
    ));

    let with = |at: usize, bytes: &[u8]| {
        let mut b = good.clone();
        b[at..at + bytes.len()].copy_from_slice(bytes);
        err_what(VerifyingKey::from_bytes(&b).expect_err("refused"))
    };
    let beta_at = G1_LEN;
    let delta_at = G1_LEN + 2 * G2_LEN;
    assert_eq!(with(0, &[0; G1_LEN]), pair("Infinity", "vk.alpha"));
    assert_eq!(
        with(beta_at, &g2_outside_subgroup()),
        pair("NotInSubgroup", "vk.beta")
    );
    assert_eq!(with(delta_at, &[0; G2_LEN]), pair("Infinity", "vk.delta"));
    assert_eq!(
        with(delta_at, &Fq::MODULUS.to_bytes_be()),
        pair("CoordinateOverflow", "vk.delta")
    );
    assert_eq!(
        with(VK_FIXED_LEN + G1_LEN, &[0; G1_LEN]),
        pair("Infinity", "vk.IC[1]")
    );
    assert_eq!(
        with(VK_FIXED_LEN + 2 * G1_LEN + 32, &[7; 32]),
        pair("NotOnCurve", "vk.IC[2]")
    );
}

#[test]
fn gas_schedule() {
    assert_eq!(verify_gas(0), lazai_zk::VERIFY_GAS_BASE);
    assert_eq!(
        verify_gas(2),
        lazai_zk::VERIFY_GAS_BASE + 2 * lazai_zk::VERIFY_GAS_PER_INPUT
    );
    assert_eq!(verify_gas(usize::MAX), u64::MAX);
}
