//! Random input into every decoder: refused or read, never a panic.

use lazai_zk::{
    Proof, VerifyingKey, public_inputs_from_bytes, public_inputs_from_snarkjs_json, verify,
};
use proptest::prelude::*;

const VK_JSON: &str = include_str!("../testdata/verification_key.json");
const PROOF_JSON: &str = include_str!("../testdata/proof.json");

proptest! {
    #[test]
    fn random_bytes_never_panic(b in proptest::collection::vec(any::<u8>(), 0..1200)) {
        let _ = VerifyingKey::from_bytes(&b);
        let _ = Proof::from_bytes(&b);
        let _ = public_inputs_from_bytes(&b);
    }

    #[test]
    fn random_proof_sized_bytes_never_panic(b in proptest::collection::vec(any::<u8>(), 256)) {
        if let Ok(p) = Proof::from_bytes(&b) {
            let vk = VerifyingKey::from_snarkjs_json(VK_JSON).expect("vk");
            let _ = verify(&vk, &p, &[]);
        }
    }

    #[test]
    fn random_strings_never_panic(s in ".{0,400}") {
        let _ = VerifyingKey::from_snarkjs_json(&s);
        let _ = Proof::from_snarkjs_json(&s);
        let _ = public_inputs_from_snarkjs_json(&s);
    }

    #[test]
    fn mutated_json_never_panics(at in 0usize..4000, c in any::<char>(), which in 0u8..2) {
        let base = if which == 0 { VK_JSON } else { PROOF_JSON };
        let mut chars: Vec<char> = base.chars().collect();
        let i = at % chars.len();
        chars[i] = c;
        let s: String = chars.into_iter().collect();
        let _ = VerifyingKey::from_snarkjs_json(&s);
        let _ = Proof::from_snarkjs_json(&s);
        let _ = public_inputs_from_snarkjs_json(&s);
    }

    #[test]
    fn random_signal_strings_never_panic(v in proptest::collection::vec("[0-9a-f+-]{0,90}", 0..4)) {
        let json = serde_json::to_string(&v).expect("json");
        let _ = public_inputs_from_snarkjs_json(&json);
    }
}
