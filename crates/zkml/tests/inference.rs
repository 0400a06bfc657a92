//! The inference circuit against lazai-model's integer kernel: the circuit accepts exactly the
//! model's logits and class (random models and inputs), proofs verify with lazai-zk's verifier
//! and fail for any other statement, dev setups are reproducible, and the `.r1cs` / `.wtns`
//! exports agree with the circuit.

use ark_bn254::Fr;
use lazai_model::{Dense, QuantizedMlp};
use lazai_zkml::{commitment, dev_setup, is_satisfied, prove, size, statement};
use proptest::prelude::*;

const WINE: &[u8] = include_bytes!("../../model/testdata/wine-v1.lzmlp");
const WINE_ROWS: &str = include_str!("../../model/testdata/wine-v1.logits");

fn wine() -> QuantizedMlp {
    QuantizedMlp::from_bytes(WINE).expect("wine model")
}

/// (features, logits) rows of the wine fixture.
fn wine_rows() -> Vec<(Vec<i32>, Vec<i64>)> {
    WINE_ROWS
        .lines()
        .skip(2)
        .filter_map(|l| l.split_once(" : "))
        .map(|(x, y)| {
            let parse = |s: &str| {
                s.split(',')
                    .map(|v| v.trim().parse::<i64>().expect("int"))
                    .collect::<Vec<_>>()
            };
            (parse(x).into_iter().map(|v| v as i32).collect(), parse(y))
        })
        .collect()
}

#[test]
fn wine_rows_satisfy_the_circuit_with_the_fixture_logits() {
    let m = wine();
    for (x, want) in wine_rows().into_iter().take(20) {
        let q = m.quantize_input(&x).expect("quantize");
        let s = statement(&m, &q, Fr::from(7u64), Fr::from(1u64)).expect("statement");
        assert_eq!(s.logits, want);
        assert_eq!(s.class, m.predict(&x).expect("predict"));
        assert!(is_satisfied(&m, &q, Fr::from(7u64), Fr::from(1u64)).expect("synthesizes"));
    }
}

#[test]
fn a_proof_verifies_and_no_other_statement_does() {
    let m = wine();
    let keys = dev_setup(&m).expect("setup");
    assert_eq!(keys.verifying.public_inputs(), lazai_zkml::SIGNALS);
    let (x, _) = wine_rows().remove(0);
    let q = m.quantize_input(&x).expect("quantize");
    let salt = Fr::from(123_456_789u64);
    let (proof, st) = prove(&keys, &m, &q, salt, Fr::from(42u64)).expect("prove");
    let signals = st.public_signals();
    assert!(lazai_zk::verify(&keys.verifying, &proof, &signals).expect("verify"));
    assert_eq!(st.commitment, commitment(&q, salt));
    for i in 0..signals.len() {
        let mut forged = signals.clone();
        forged[i] += Fr::from(1u64);
        assert!(
            !lazai_zk::verify(&keys.verifying, &proof, &forged).expect("verify"),
            "signal {i} changed still verifies"
        );
    }
    // Through the canonical bytes and the snarkjs JSON, as the chain and the CLI see it.
    let back = lazai_zk::Proof::from_snarkjs_json(&proof.to_snarkjs_json()).expect("proof json");
    let vk = lazai_zk::VerifyingKey::from_snarkjs_json(&keys.verifying.to_snarkjs_json())
        .expect("vk json");
    let public = lazai_zk::public_inputs_from_snarkjs_json(
        &lazai_zk::public_inputs_to_snarkjs_json(&signals),
    )
    .expect("public json");
    assert_eq!(vk.id(), keys.verifying.id());
    assert!(lazai_zk::verify(&vk, &back, &public).expect("verify"));
}

#[test]
fn dev_setups_are_reproducible_and_per_model() {
    let m = wine();
    let a = dev_setup(&m).expect("setup");
    let b = dev_setup(&m).expect("setup");
    assert_eq!(a.verifying.id(), b.verifying.id());
    let mut other = m.clone();
    other.layers[0].b[0] += 1;
    assert_ne!(
        dev_setup(&other).expect("setup").verifying.id(),
        a.verifying.id()
    );
}

#[test]
fn a_proof_for_one_model_fails_under_another_models_key() {
    let m = wine();
    let mut other = m.clone();
    other.layers[1].w[0] = other.layers[1].w[0].wrapping_add(1).max(-127);
    let keys = dev_setup(&m).expect("setup");
    let keys_other = dev_setup(&other).expect("setup");
    let q = vec![5i8; m.inputs as usize];
    let (proof, st) = prove(&keys, &m, &q, Fr::from(1u64), Fr::from(1u64)).expect("prove");
    assert!(
        !lazai_zk::verify(&keys_other.verifying, &proof, &st.public_signals()).expect("verify")
    );
}

/// Reads the header of a circom binary file: (magic, sections as (type, body)).
fn sections(b: &[u8]) -> (Vec<u8>, Vec<(u32, Vec<u8>)>) {
    let u32_at = |o: usize| u32::from_le_bytes(b[o..o + 4].try_into().expect("4"));
    let n = u32_at(8) as usize;
    let mut at = 12;
    let mut out = Vec::new();
    for _ in 0..n {
        let kind = u32_at(at);
        let len = u64::from_le_bytes(b[at + 4..at + 12].try_into().expect("8")) as usize;
        out.push((kind, b[at + 12..at + 12 + len].to_vec()));
        at += 12 + len;
    }
    assert_eq!(at, b.len(), "nothing after the last section");
    (b[..4].to_vec(), out)
}

#[test]
fn r1cs_and_wtns_exports_agree_with_the_circuit() {
    let m = wine();
    let sz = size(&m).expect("size");
    let r1cs = lazai_zkml::r1cs::write_r1cs(&m).expect("r1cs");
    let (magic, secs) = sections(&r1cs);
    assert_eq!(magic, b"r1cs");
    let header = &secs[0].1;
    let word = |o: usize| u32::from_le_bytes(header[o..o + 4].try_into().expect("4"));
    assert_eq!(word(0), 32);
    assert_eq!(
        word(36) as usize,
        1 + sz.public_inputs + sz.witnesses,
        "wires"
    );
    assert_eq!(word(44) as usize, sz.public_inputs);
    assert_eq!(word(60) as usize, sz.constraints);
    let q = vec![-3i8; m.inputs as usize];
    let wtns = lazai_zkml::r1cs::write_wtns(&m, &q, Fr::from(9u64), Fr::from(5u64)).expect("wtns");
    let (magic, secs) = sections(&wtns);
    assert_eq!(magic, b"wtns");
    assert_eq!(secs[1].1.len(), 32 * (1 + sz.public_inputs + sz.witnesses));
    // Wire 1 is the task id, little-endian.
    assert_eq!(secs[1].1[32], 5);
}

fn dense(inputs: u32, outputs: u32, hidden: bool) -> impl Strategy<Value = Dense> {
    let n = (inputs * outputs) as usize;
    (
        proptest::collection::vec(-127i8..=127, n),
        proptest::collection::vec(prop_oneof![-2000i32..2000, any::<i32>()], outputs as usize),
        prop_oneof![1i32..(1 << 30), -5i32..=0, Just(i32::MAX)],
        1u8..=62,
    )
        .prop_map(move |(w, b, mult, shift)| Dense {
            inputs,
            outputs,
            w,
            b,
            mult: if hidden { mult } else { 0 },
            shift: if hidden { shift } else { 0 },
        })
}

fn model() -> impl Strategy<Value = QuantizedMlp> {
    (1u32..10, proptest::collection::vec(1u32..7, 1..4)).prop_flat_map(|(inputs, widths)| {
        let mut layers = Vec::new();
        let mut n_in = inputs;
        for (i, &w) in widths.iter().enumerate() {
            layers.push(dense(n_in, w, i + 1 < widths.len()).boxed());
            n_in = w;
        }
        (
            proptest::collection::vec(-5000i32..5000, inputs as usize),
            proptest::collection::vec(prop_oneof![1i32..70_000, any::<i32>()], inputs as usize),
            layers,
        )
            .prop_map(move |(in_offset, in_mult, layers)| QuantizedMlp {
                inputs,
                in_offset,
                in_mult,
                layers,
            })
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// The differential property: for any model and any features, the circuit is satisfied by
    /// exactly what `QuantizedMlp::logits` and `predict` give.
    #[test]
    fn circuit_agrees_with_the_integer_kernel(
        (m, x) in model().prop_flat_map(|m| {
            let n = m.inputs as usize;
            (Just(m), proptest::collection::vec(prop_oneof![-20_000i32..20_000, any::<i32>()], n))
        }),
        salt in any::<u64>(),
        task in 1u64..1_000_000,
    ) {
        prop_assume!(m.check().is_ok());
        let q = m.quantize_input(&x).expect("quantize");
        let s = statement(&m, &q, Fr::from(salt), Fr::from(task)).expect("statement");
        prop_assert_eq!(&s.logits, &m.logits(&x).expect("logits"));
        prop_assert_eq!(s.class, m.predict(&x).expect("predict"));
        prop_assert!(is_satisfied(&m, &q, Fr::from(salt), Fr::from(task)).expect("synthesizes"));
    }
}

/// The circuit exported as `.r1cs`, through a snarkjs ceremony, proved by snarkjs from our
/// `.wtns` (`testdata/wine-ceremony/make.sh`): the key and proof verify with the chain's
/// verifier, the public signals are our statement for that input, and a changed signal fails.
#[test]
fn a_snarkjs_ceremony_over_the_exported_circuit_verifies() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/testdata/wine-ceremony/");
    let read = |f: &str| std::fs::read_to_string(format!("{dir}{f}")).expect("fixture");
    let vk = lazai_zk::VerifyingKey::from_snarkjs_json(&read("verification_key.json")).expect("vk");
    let proof = lazai_zk::Proof::from_snarkjs_json(&read("proof.json")).expect("proof");
    let public = lazai_zk::public_inputs_from_snarkjs_json(&read("public.json")).expect("public");
    assert!(lazai_zk::verify(&vk, &proof, &public).expect("verify"));
    let m = wine();
    let x: Vec<i32> = [7400, 700, 0, 1900, 76, 11000, 34000, 998, 3510, 560, 9400].to_vec();
    let q = m.quantize_input(&x).expect("quantize");
    let st = statement(&m, &q, Fr::from(0u64), Fr::from(5u64)).expect("statement");
    assert_eq!(public, st.public_signals());
    let mut forged = public.clone();
    forged[2] += Fr::from(1u64);
    assert!(!lazai_zk::verify(&vk, &proof, &forged).expect("verify"));
}
