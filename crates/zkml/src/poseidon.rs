//! Poseidon over the BN254 scalar field, natively and as R1CS constraints, for the input
//! commitment.
//!
//! Parameters: width 3 (rate 2, capacity 1), S-box `x^5`, 8 full and 57 partial rounds (the
//! 128-bit-security choice for this field and width), round constants and MDS matrix from
//! arkworks' Grain LFSR generator (`find_poseidon_ark_and_mds`, no skipped matrices). The
//! hash of `m_0 … m_{k-1}` is arkworks' `PoseidonSponge` duplex: from a zero state, absorb
//! two elements at a time into the rate (added to state[1], state[2]) and permute after
//! each chunk; the digest is state[1] after the last permutation. [`hash`] is tested equal
//! to `PoseidonSponge` itself.

use std::sync::OnceLock;

use ark_bn254::Fr;
use ark_crypto_primitives::sponge::poseidon::{PoseidonConfig, find_poseidon_ark_and_mds};
use ark_ff::{Field, One, Zero};
use ark_relations::r1cs::{ConstraintSystemRef, LinearCombination, SynthesisError, Variable};

/// Rate, in field elements.
pub const RATE: usize = 2;
const WIDTH: usize = RATE + 1;
const FULL_ROUNDS: usize = 8;
const PARTIAL_ROUNDS: usize = 57;
const ALPHA: u64 = 5;

/// The parameters (computed once).
pub fn config() -> &'static PoseidonConfig<Fr> {
    static CONFIG: OnceLock<PoseidonConfig<Fr>> = OnceLock::new();
    CONFIG.get_or_init(|| {
        let (ark, mds) = find_poseidon_ark_and_mds::<Fr>(
            254,
            RATE,
            FULL_ROUNDS as u64,
            PARTIAL_ROUNDS as u64,
            0,
        );
        PoseidonConfig::new(FULL_ROUNDS, PARTIAL_ROUNDS, ALPHA, mds, ark, RATE, 1)
    })
}

fn is_full(round: usize) -> bool {
    !(FULL_ROUNDS / 2..FULL_ROUNDS / 2 + PARTIAL_ROUNDS).contains(&round)
}

fn permute(state: &mut [Fr; WIDTH]) {
    let p = config();
    for round in 0..FULL_ROUNDS + PARTIAL_ROUNDS {
        for (s, k) in state.iter_mut().zip(&p.ark[round]) {
            *s += k;
        }
        let boxes = if is_full(round) { WIDTH } else { 1 };
        for s in state.iter_mut().take(boxes) {
            *s = s.pow([ALPHA]);
        }
        let old = *state;
        for (i, s) in state.iter_mut().enumerate() {
            *s = old.iter().zip(&p.mds[i]).map(|(a, m)| *a * m).sum();
        }
    }
}

/// The Poseidon hash of `inputs` (see the module docs).
pub fn hash(inputs: &[Fr]) -> Fr {
    let mut state = [Fr::zero(); WIDTH];
    for chunk in inputs.chunks(RATE) {
        for (i, m) in chunk.iter().enumerate() {
            state[1 + i] += m;
        }
        permute(&mut state);
    }
    if inputs.is_empty() {
        permute(&mut state);
    }
    state[1]
}

/// A linear combination together with its value (`None` while setting up keys).
#[derive(Clone)]
pub struct Lc {
    pub lc: LinearCombination<Fr>,
    pub value: Option<Fr>,
}

impl Lc {
    pub fn constant(c: Fr) -> Self {
        Self {
            lc: LinearCombination::from((c, Variable::One)),
            value: Some(c),
        }
    }

    pub fn var(v: Variable, value: Option<Fr>) -> Self {
        Self {
            lc: LinearCombination::from(v),
            value,
        }
    }

    /// `self + k · other`.
    pub fn add_scaled(&mut self, k: Fr, other: &Lc) {
        if k.is_zero() {
            return;
        }
        self.lc = std::mem::take(&mut self.lc) + (k, &other.lc);
        self.value = match (self.value, other.value) {
            (Some(a), Some(b)) => Some(a + k * b),
            _ => None,
        };
    }
}

/// Allocates a witness equal to `a · b` and constrains it.
pub fn mul(cs: &ConstraintSystemRef<Fr>, a: &Lc, b: &Lc) -> Result<Lc, SynthesisError> {
    let value = a.value.zip(b.value).map(|(x, y)| x * y);
    let v = cs.new_witness_variable(|| value.ok_or(SynthesisError::AssignmentMissing))?;
    cs.enforce_constraint(a.lc.clone(), b.lc.clone(), LinearCombination::from(v))?;
    Ok(Lc::var(v, value))
}

fn sbox(cs: &ConstraintSystemRef<Fr>, x: &Lc) -> Result<Lc, SynthesisError> {
    let x2 = mul(cs, x, x)?;
    let x4 = mul(cs, &x2, &x2)?;
    mul(cs, &x4, x)
}

fn permute_gadget(
    cs: &ConstraintSystemRef<Fr>,
    state: &mut [Lc; WIDTH],
) -> Result<(), SynthesisError> {
    let p = config();
    for round in 0..FULL_ROUNDS + PARTIAL_ROUNDS {
        for (s, k) in state.iter_mut().zip(&p.ark[round]) {
            s.add_scaled(Fr::one(), &Lc::constant(*k));
        }
        let boxes = if is_full(round) { WIDTH } else { 1 };
        for s in state.iter_mut().take(boxes) {
            *s = sbox(cs, s)?;
        }
        let old = state.clone();
        for (i, s) in state.iter_mut().enumerate() {
            let mut next = Lc::constant(Fr::zero());
            for (a, m) in old.iter().zip(&p.mds[i]) {
                next.add_scaled(*m, a);
            }
            next.lc.compactify();
            *s = next;
        }
    }
    Ok(())
}

/// [`hash`] as constraints: the digest as a linear combination of fresh witnesses.
pub fn hash_gadget(cs: &ConstraintSystemRef<Fr>, inputs: &[Lc]) -> Result<Lc, SynthesisError> {
    let zero = Lc::constant(Fr::zero());
    let mut state = [zero.clone(), zero.clone(), zero];
    for chunk in inputs.chunks(RATE) {
        for (i, m) in chunk.iter().enumerate() {
            state[1 + i].add_scaled(Fr::one(), m);
        }
        permute_gadget(cs, &mut state)?;
    }
    if inputs.is_empty() {
        permute_gadget(cs, &mut state)?;
    }
    let [_, out, _] = state;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use ark_crypto_primitives::sponge::CryptographicSponge;
    use ark_crypto_primitives::sponge::poseidon::PoseidonSponge;
    use ark_relations::r1cs::ConstraintSystem;

    fn sponge(inputs: &[Fr]) -> Fr {
        let mut s = PoseidonSponge::new(config());
        s.absorb(&inputs.to_vec());
        s.squeeze_field_elements::<Fr>(1)[0]
    }

    #[test]
    fn matches_arkworks_sponge() {
        for n in 1..8u64 {
            let inputs: Vec<Fr> = (0..n).map(|i| Fr::from(i * 7 + 3)).collect();
            assert_eq!(hash(&inputs), sponge(&inputs), "{n} inputs");
        }
    }

    #[test]
    fn gadget_matches_native_and_is_satisfied() {
        let cs = ConstraintSystem::<Fr>::new_ref();
        let inputs: Vec<Fr> = (0..5u64).map(|i| Fr::from(1000 + i)).collect();
        let vars: Vec<Lc> = inputs
            .iter()
            .map(|v| {
                let var = cs.new_witness_variable(|| Ok(*v)).expect("alloc");
                Lc::var(var, Some(*v))
            })
            .collect();
        let out = hash_gadget(&cs, &vars).expect("gadget");
        assert_eq!(out.value, Some(hash(&inputs)));
        assert!(cs.is_satisfied().expect("satisfiable"));
        // 3 permutations, 8·3 + 57 S-boxes of 3 constraints each.
        assert_eq!(cs.num_constraints(), 3 * (8 * 3 + 57) * 3);
    }
}
