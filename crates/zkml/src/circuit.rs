//! The inference circuit: R1CS for one [`QuantizedMlp`] with its weights as constants.
//!
//! Public inputs, in order ([`Statement::public_signals`]): the task id, the input
//! commitment and the output commitment — three, whatever the model, so verification costs
//! the same for any number of classes. The output commitment is Poseidon over the logits
//! (each the field element `v mod r`, so a negative logit `v` is `r - |v|`) and the predicted
//! class ([`output_commitment`]): whoever holds the answer recomputes it. Private: the int8
//! input `q`, the salt, the logits and the class.
//!
//! Constraints (all integers below are exact: every bound is computed from the model's
//! constants and kept far below the field's 254 bits):
//!
//! - **Input**: each `q[t] + 127` is 8 bits (8 booleans and one sum); 31 inputs are packed per
//!   field element (`Σ 256^i (q_i + 127)`), and the commitment is Poseidon over the packed
//!   elements and the salt.
//! - **Dense layer**: `acc[j] = b[j] + Σ_t w[j,t] · a[t]` costs one constraint (the weights are
//!   coefficients, the matrix product is linear). For a hidden unit with requantization
//!   multiplier `M > 0` and shift `s`: the output `h` is 7 bits; with `y = acc·M + 2^(s-1)`,
//!   `y - 2^s·h + lo·2^B` and `2^s·(h+1) - 1 - y + hi·2^B` are both `B+1`-bit numbers, where
//!   `lo` (allowed only when `h = 0`) and `hi` (only when `h = 127`) relax one side for the
//!   clamp and `2^B` exceeds every `|y| + 128·2^s` the unit can reach. So
//!   `h = clamp(floor(y / 2^s), 0, 127)`, which equals lazai-model's
//!   `clamp(requant(max(acc, 0)), 0, 127)` (for `acc ≤ 0` both are 0). With `M ≤ 0` the unit
//!   is the constant 0 and costs nothing.
//! - **Output**: each logit is one constraint tying a witness to its `acc`; the output
//!   commitment is Poseidon over them and the class (one permutation per two values). The class:
//!   one-hot booleans `sel`, `Σ sel = 1`, `Σ i·sel_i = class`, `m = Σ sel_i · logit_i`, and for
//!   every `i`, `m - logit_i - [i < class]` is an `L`-bit number: `m` is the largest logit and
//!   no earlier index reaches it (the lowest index wins a tie, as `QuantizedMlp::predict`).

use ark_bn254::Fr;
use ark_ff::{One, Zero};
use ark_relations::r1cs::{
    ConstraintSynthesizer, ConstraintSystemRef, LinearCombination, SynthesisError, Variable,
};
use lazai_model::{Dense, QuantizedMlp, argmax};

use crate::poseidon::{self, Lc};

/// Inputs packed into one field element of the commitment (8 bits each, 248 bits).
pub const INPUTS_PER_ELEMENT: usize = 31;

/// A signed integer as a field element (`v mod r`).
pub fn fr_i128(v: i128) -> Fr {
    if v < 0 {
        -Fr::from(v.unsigned_abs())
    } else {
        Fr::from(v as u128)
    }
}

/// The field elements the commitment absorbs before the salt: the inputs `q[t] + 127`,
/// [`INPUTS_PER_ELEMENT`] per element, the first input in the lowest byte.
pub fn pack(q: &[i8]) -> Vec<Fr> {
    q.chunks(INPUTS_PER_ELEMENT)
        .map(|chunk| {
            let mut acc = Fr::zero();
            let mut base = Fr::one();
            for &v in chunk {
                acc += base * Fr::from(u64::from((i16::from(v) + 127) as u16));
                base *= Fr::from(256u64);
            }
            acc
        })
        .collect()
}

/// The input commitment: Poseidon over [`pack`]`(q)` and the salt.
pub fn commitment(q: &[i8], salt: Fr) -> Fr {
    let mut m = pack(q);
    m.push(salt);
    poseidon::hash(&m)
}

/// The output commitment: Poseidon over the logits (`v mod r` each) and the class.
pub fn output_commitment(logits: &[i64], class: u32) -> Fr {
    let mut m: Vec<Fr> = logits.iter().map(|&v| fr_i128(i128::from(v))).collect();
    m.push(Fr::from(u64::from(class)));
    poseidon::hash(&m)
}

/// What a proof states: its public inputs are the task, the input commitment and
/// [`output_commitment`]`(logits, class)`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Statement {
    pub task: Fr,
    pub commitment: Fr,
    pub logits: Vec<i64>,
    pub class: u32,
}

/// Index of the task id among the public signals.
pub const TASK_SIGNAL: u32 = 0;
/// Index of the input commitment among the public signals.
pub const INPUT_SIGNAL: u32 = 1;
/// Index of the output commitment among the public signals.
pub const OUTPUT_SIGNAL: u32 = 2;
/// Public signals of every inference circuit.
pub const SIGNALS: usize = 3;

impl Statement {
    /// The public signals, in the circuit's order (see the module docs).
    pub fn public_signals(&self) -> Vec<Fr> {
        vec![
            self.task,
            self.commitment,
            output_commitment(&self.logits, self.class),
        ]
    }
}

/// The private part of a proof: the int8 input and the commitment's salt.
#[derive(Clone, Debug)]
pub struct Private {
    pub input: Vec<i8>,
    pub salt: Fr,
}

/// The circuit of `model`; without an assignment it only lays out constraints (for a setup
/// or an export).
pub struct InferenceCircuit<'a> {
    pub model: &'a QuantizedMlp,
    pub assignment: Option<(Fr, Private)>,
}

impl<'a> InferenceCircuit<'a> {
    /// The circuit of `model` on the int8 `input` with its salt, for `task`.
    pub fn assigned(model: &'a QuantizedMlp, input: &[i8], salt: Fr, task: Fr) -> Self {
        Self {
            model,
            assignment: Some((
                task,
                Private {
                    input: input.to_vec(),
                    salt,
                },
            )),
        }
    }

    /// The circuit of `model` without values: for a setup, an export or a count.
    pub fn unassigned(model: &'a QuantizedMlp) -> Self {
        Self {
            model,
            assignment: None,
        }
    }
}

/// Bits of an unsigned bound: the smallest `n` with `v < 2^n`.
fn bits_for(v: u128) -> u32 {
    128 - v.leading_zeros()
}

struct Builder {
    cs: ConstraintSystemRef<Fr>,
}

impl Builder {
    fn witness(&self, v: Option<Fr>) -> Result<Variable, SynthesisError> {
        self.cs
            .new_witness_variable(|| v.ok_or(SynthesisError::AssignmentMissing))
    }

    fn input(&self, v: Option<Fr>) -> Result<Variable, SynthesisError> {
        self.cs
            .new_input_variable(|| v.ok_or(SynthesisError::AssignmentMissing))
    }

    /// `lc = 0`.
    fn zero(&self, lc: LinearCombination<Fr>) -> Result<(), SynthesisError> {
        self.cs.enforce_constraint(
            lc,
            LinearCombination::from(Variable::One),
            LinearCombination::zero(),
        )
    }

    fn boolean(&self, v: Option<bool>) -> Result<Variable, SynthesisError> {
        let b = self.witness(v.map(Fr::from))?;
        self.cs.enforce_constraint(
            LinearCombination::from(b),
            LinearCombination::from(Variable::One) - b,
            LinearCombination::zero(),
        )?;
        Ok(b)
    }

    /// Constrains `lc` (whose value is `v`) to `0 ≤ lc < 2^n`.
    fn range(
        &self,
        lc: LinearCombination<Fr>,
        v: Option<u128>,
        n: u32,
    ) -> Result<(), SynthesisError> {
        let mut sum = lc;
        let mut pow = Fr::one();
        for k in 0..n {
            let b = self.boolean(v.map(|v| (v >> k) & 1 == 1))?;
            sum = sum - (pow, b);
            pow += pow;
        }
        self.zero(sum)
    }

    /// A witness `x` with `0 ≤ x < 2^n` (n bits and one sum).
    fn ranged(&self, v: Option<u128>, n: u32) -> Result<Variable, SynthesisError> {
        let x = self.witness(v.map(Fr::from))?;
        self.range(LinearCombination::from(x), v, n)?;
        Ok(x)
    }
}

/// An activation: a variable, or the constant 0 (a unit whose multiplier is not positive).
#[derive(Clone, Copy)]
enum Act {
    Var(Variable),
    Zero,
}

/// `b[j] + Σ_t w[j,t] · a[t]` as a linear combination.
fn affine(d: &Dense, j: usize, a: &[Act]) -> LinearCombination<Fr> {
    let n = d.inputs as usize;
    let mut terms = Vec::with_capacity(n + 1);
    if d.b[j] != 0 {
        terms.push((fr_i128(i128::from(d.b[j])), Variable::One));
    }
    for (t, act) in a.iter().enumerate() {
        let w = d.w[j * n + t];
        if let (Act::Var(v), true) = (act, w != 0) {
            terms.push((fr_i128(i128::from(w)), *v));
        }
    }
    LinearCombination(terms)
}

/// The largest `|acc|` unit `j` of `d` can reach when every input is at most `amax` in size.
fn acc_bound(d: &Dense, j: usize, amax: u128) -> u128 {
    let n = d.inputs as usize;
    let w: u128 = d.w[j * n..(j + 1) * n]
        .iter()
        .map(|w| u128::from(w.unsigned_abs()))
        .sum();
    u128::from(d.b[j].unsigned_abs()) + amax * w
}

impl ConstraintSynthesizer<Fr> for InferenceCircuit<'_> {
    fn generate_constraints(self, cs: ConstraintSystemRef<Fr>) -> Result<(), SynthesisError> {
        let model = self.model;
        model.check().map_err(|_| SynthesisError::Unsatisfiable)?;
        let b = Builder { cs };
        // Native values first: every layer's output, by the model's own kernel.
        let native = match &self.assignment {
            Some((_, p)) => Some(
                model
                    .layer_outputs(&p.input)
                    .map_err(|_| SynthesisError::Unsatisfiable)?,
            ),
            None => None,
        };
        let q = self.assignment.as_ref().map(|(_, p)| p.input.clone());
        let salt = self.assignment.as_ref().map(|(_, p)| p.salt);
        let logits = native.as_ref().and_then(|n| n.last().cloned());
        let class = logits.as_ref().map(|l| argmax(l));

        // Public inputs.
        let task = b.input(self.assignment.as_ref().map(|(t, _)| *t))?;
        let commitment_value = q.as_ref().zip(salt).map(|(q, s)| commitment(q, s));
        let commitment_var = b.input(commitment_value)?;
        let output_var = b.input(
            logits
                .as_ref()
                .zip(class)
                .map(|(l, c)| output_commitment(l, c as u32)),
        )?;
        let classes = model.classes() as usize;
        let logit_values: Vec<Option<Fr>> = (0..classes)
            .map(|i| logits.as_ref().map(|l| fr_i128(i128::from(l[i]))))
            .collect();
        let logit_vars = logit_values
            .iter()
            .map(|v| b.witness(*v))
            .collect::<Result<Vec<_>, _>>()?;
        let class_value = class.map(|c| Fr::from(c as u64));
        let class_var = b.witness(class_value)?;
        let mut outputs: Vec<Lc> = logit_vars
            .iter()
            .zip(&logit_values)
            .map(|(v, value)| Lc::var(*v, *value))
            .collect();
        outputs.push(Lc::var(class_var, class_value));
        let output_digest = poseidon::hash_gadget(&b.cs, &outputs)?;
        b.zero(output_digest.lc - output_var)?;
        // The task id is bound by the key (arkworks and snarkjs both add a constraint row per
        // public input); it takes part in no other constraint.
        let _ = task;

        // Input: 8 bits each, packed for the commitment.
        let n_in = model.inputs as usize;
        let mut inputs = Vec::with_capacity(n_in);
        for t in 0..n_in {
            let v = q.as_ref().map(|q| (i16::from(q[t]) + 127) as u128);
            let shifted = b.ranged(v, 8)?;
            // q = shifted - 127 as its own variable, what the first layer reads.
            let qv = b.witness(q.as_ref().map(|q| fr_i128(i128::from(q[t]))))?;
            b.zero(LinearCombination::from(qv) - shifted + (Fr::from(127u64), Variable::One))?;
            inputs.push((shifted, qv));
        }
        let mut absorbed: Vec<Lc> = inputs
            .chunks(INPUTS_PER_ELEMENT)
            .enumerate()
            .map(|(g, chunk)| {
                let mut terms = Vec::with_capacity(chunk.len());
                let mut base = Fr::one();
                for (shifted, _) in chunk {
                    terms.push((base, *shifted));
                    base *= Fr::from(256u64);
                }
                Lc {
                    lc: LinearCombination(terms),
                    value: q.as_ref().map(|q| pack(q)[g]),
                }
            })
            .collect();
        let salt_var = b.witness(salt)?;
        absorbed.push(Lc::var(salt_var, salt));
        let digest = poseidon::hash_gadget(&b.cs, &absorbed)?;
        b.zero(digest.lc - commitment_var)?;

        // Layers.
        let mut acts: Vec<Act> = inputs.iter().map(|(_, qv)| Act::Var(*qv)).collect();
        let mut amax: u128 = 128;
        let n_layers = model.layers.len();
        let mut logit_bound: u128 = 0;
        for (l, d) in model.layers.iter().enumerate() {
            let last = l + 1 == n_layers;
            let out = native.as_ref().map(|n| &n[l]);
            let prev = match (l, native.as_ref()) {
                (0, Some(_)) => q
                    .as_ref()
                    .map(|q| q.iter().map(|&v| i64::from(v)).collect::<Vec<_>>()),
                (_, Some(n)) => Some(n[l - 1].clone()),
                _ => None,
            };
            let mut next = Vec::with_capacity(d.outputs as usize);
            for j in 0..d.outputs as usize {
                let bound = acc_bound(d, j, amax);
                if last {
                    b.zero(affine(d, j, &acts) - logit_vars[j])?;
                    logit_bound = logit_bound.max(bound);
                    continue;
                }
                if d.mult <= 0 {
                    next.push(Act::Zero);
                    continue;
                }
                let acc_value = prev.as_ref().map(|a| {
                    let n = d.inputs as usize;
                    let mut acc = i128::from(d.b[j]);
                    for (t, &x) in a.iter().enumerate() {
                        acc += i128::from(d.w[j * n + t]) * i128::from(x);
                    }
                    acc
                });
                let acc = b.witness(acc_value.map(fr_i128))?;
                b.zero(affine(d, j, &acts) - acc)?;
                let h = out.map(|o| o[j]);
                let unit = Unit {
                    mult: i128::from(d.mult),
                    shift: d.shift,
                    acc_bound: bound,
                };
                let flags = h.map(|h| (h == 0, h == 127));
                next.push(Act::Var(unit.constrain(&b, acc, acc_value, h, flags)?));
            }
            acts = next;
            amax = 127;
        }

        class_gadget(
            &b,
            &logit_vars,
            class_var,
            logits.as_deref(),
            class,
            logit_bound,
        )?;
        Ok(())
    }
}

/// The class: `class` is the first index of the largest logit (see the module docs);
/// `class` is the witness's claim.
fn class_gadget(
    b: &Builder,
    logit_vars: &[Variable],
    class_var: Variable,
    logits: Option<&[i64]>,
    class: Option<usize>,
    logit_bound: u128,
) -> Result<(), SynthesisError> {
    let classes = logit_vars.len();
    let sel_values: Option<Vec<bool>> = class.map(|c| (0..classes).map(|i| i == c).collect());
    let mut sels = Vec::with_capacity(classes);
    for i in 0..classes {
        sels.push(b.boolean(sel_values.as_ref().map(|s| s[i]))?);
    }
    let one_hot: LinearCombination<Fr> =
        LinearCombination(sels.iter().map(|s| (Fr::one(), *s)).collect());
    b.zero(one_hot - Variable::One)?;
    let index: LinearCombination<Fr> = LinearCombination(
        sels.iter()
            .enumerate()
            .map(|(i, s)| (Fr::from(i as u64), *s))
            .collect(),
    );
    b.zero(index - class_var)?;
    let best = logits.as_ref().zip(class).map(|(l, c)| l[c]);
    let mut m = LinearCombination::zero();
    for i in 0..classes {
        let prod = poseidon::mul(
            &b.cs,
            &Lc::var(sels[i], sel_values.as_ref().map(|s| Fr::from(s[i]))),
            &Lc::var(
                logit_vars[i],
                logits.as_ref().map(|l| fr_i128(i128::from(l[i]))),
            ),
        )?;
        m = m + prod.lc;
    }
    let spread = bits_for(2 * logit_bound + 1);
    for i in 0..classes {
        let mut d = m.clone() - logit_vars[i];
        for s in &sels[i + 1..] {
            d = d - *s;
        }
        let v = logits.as_ref().zip(best).zip(class).map(|((l, best), c)| {
            (i128::from(best) - i128::from(l[i]) - i128::from(i < c)) as u128
        });
        b.range(d, v, spread)?;
    }
    Ok(())
}

/// One hidden unit's requantization: `h = clamp(floor((acc·M + 2^(s-1)) / 2^s), 0, 127)`
/// (see the module docs).
struct Unit {
    mult: i128,
    shift: u8,
    acc_bound: u128,
}

impl Unit {
    /// Constrains `h` (7 bits, returned) against `acc`; `flags` are the witness's `(lo, hi)`.
    fn constrain(
        &self,
        b: &Builder,
        acc: Variable,
        acc_value: Option<i128>,
        h_value: Option<i64>,
        flags: Option<(bool, bool)>,
    ) -> Result<Variable, SynthesisError> {
        let (mult, shift) = (self.mult, self.shift);
        let two_s = 1i128 << shift;
        let half = 1i128 << (shift - 1);
        let y_bound = self.acc_bound * mult as u128 + half as u128;
        let big = bits_for(y_bound + 128 * two_s as u128);
        let two_b = 1i128 << big;
        let h = b.ranged(h_value.map(|v| v as u128), 7)?;
        let lo_v = flags.map(|f| f.0);
        let hi_v = flags.map(|f| f.1);
        let lo = b.boolean(lo_v)?;
        let hi = b.boolean(hi_v)?;
        // lo · h = 0, hi · (h - 127) = 0.
        b.cs.enforce_constraint(
            LinearCombination::from(lo),
            LinearCombination::from(h),
            LinearCombination::zero(),
        )?;
        b.cs.enforce_constraint(
            LinearCombination::from(hi),
            LinearCombination::from(h) - (Fr::from(127u64), Variable::One),
            LinearCombination::zero(),
        )?;
        let y = |acc_v: i128| acc_v * mult + half;
        // y - 2^s·h + lo·2^B
        let lower = LinearCombination::from((fr_i128(mult), acc)) + (fr_i128(half), Variable::One)
            - (fr_i128(two_s), h)
            + (fr_i128(two_b), lo);
        let lower_v = acc_value.zip(h_value).zip(lo_v).map(|((a, h), lo)| {
            (y(a) - two_s * i128::from(h) + if lo { two_b } else { 0 }) as u128
        });
        b.range(lower, lower_v, big + 1)?;
        // 2^s·(h+1) - 1 - y + hi·2^B
        let upper = LinearCombination::from((fr_i128(two_s), h))
            + (fr_i128(two_s - 1 - half), Variable::One)
            - (fr_i128(mult), acc)
            + (fr_i128(two_b), hi);
        let upper_v = acc_value.zip(h_value).zip(hi_v).map(|((a, h), hi)| {
            (two_s * (i128::from(h) + 1) - 1 - y(a) + if hi { two_b } else { 0 }) as u128
        });
        b.range(upper, upper_v, big + 1)?;
        Ok(h)
    }
}

#[cfg(test)]
mod tests {
    //! Soundness of the two non-linear gadgets: a witness claiming anything but the kernel's
    //! value fails, whatever flags it picks.
    use super::*;
    use ark_relations::r1cs::ConstraintSystem;
    use proptest::prelude::*;

    fn unit_satisfied(unit: &Unit, acc: i128, h: i64, flags: (bool, bool)) -> bool {
        let cs = ConstraintSystem::<Fr>::new_ref();
        let b = Builder { cs: cs.clone() };
        let v = b.witness(Some(fr_i128(acc))).expect("alloc");
        unit.constrain(&b, v, Some(acc), Some(h), Some(flags))
            .expect("synthesizes");
        cs.is_satisfied().expect("checks")
    }

    fn class_satisfied(logits: &[i64], class: usize) -> bool {
        let cs = ConstraintSystem::<Fr>::new_ref();
        let b = Builder { cs: cs.clone() };
        let vars: Vec<Variable> = logits
            .iter()
            .map(|&l| b.witness(Some(fr_i128(i128::from(l)))).expect("alloc"))
            .collect();
        let class_var = b.witness(Some(Fr::from(class as u64))).expect("alloc");
        let bound = logits
            .iter()
            .map(|l| u128::from(l.unsigned_abs()))
            .max()
            .unwrap_or(0);
        class_gadget(&b, &vars, class_var, Some(logits), Some(class), bound).expect("synthesizes");
        cs.is_satisfied().expect("checks")
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(24))]

        #[test]
        fn only_the_kernels_requantization_satisfies(
            bound in 1u128..(1 << 34),
            at in any::<u64>(),
            mult in prop_oneof![1i32..(1 << 30), Just(i32::MAX)],
            shift in 1u8..=62,
        ) {
            let acc = (at as u128 % (2 * bound + 1)) as i128 - bound as i128;
            let unit = Unit { mult: i128::from(mult), shift, acc_bound: bound };
            let want = ((acc.max(0) * i128::from(mult) + (1i128 << (shift - 1))) >> shift)
                .clamp(0, 127) as i64;
            prop_assert!(unit_satisfied(&unit, acc, want, (want == 0, want == 127)));
            for h in 0..=127i64 {
                for flags in [(false, false), (true, false), (false, true), (true, true)] {
                    if unit_satisfied(&unit, acc, h, flags) {
                        prop_assert_eq!(h, want, "acc {} flags {:?}", acc, flags);
                    }
                }
            }
        }

        #[test]
        fn only_the_first_largest_logit_is_the_class(
            logits in proptest::collection::vec(-50i64..50, 1..6),
        ) {
            let want = argmax(&logits);
            for c in 0..logits.len() {
                prop_assert_eq!(class_satisfied(&logits, c), c == want, "class {}", c);
            }
        }
    }
}
