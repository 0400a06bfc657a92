//! Commitments to one execution of a model, so that a single unit of it can be checked alone:
//! what an optimistic result commits to and what a one-step proof opens.
//!
//! - **The weights**: a binary Merkle tree (BLAKE3) whose leaves are the units of every layer
//!   in order (layer 0's units, then layer 1's, …), each leaf the unit's parameters
//!   ([`Dense::unit_leaf`]): so any one unit is opened with `⌈log2(units)⌉` hashes, whatever
//!   the model's size. Leaf hash `BLAKE3("LZML" ‖ leaf)`, inner node
//!   `BLAKE3("LZMN" ‖ left ‖ right)`, missing leaves (up to the next power of two) all zero.
//! - **The activations**: one hash per layer output ([`activations_hash`]), and one of the
//!   int8 input, so that two traces are compared layer by layer and the input of any unit is
//!   the opened vector whose hash is the previous layer's.
//! - **The kernel**: [`Dense::unit`] is one unit's output on its input, the function both the
//!   whole model ([`crate::QuantizedMlp::layer_outputs`]) and a single re-execution run.

use crate::{Dense, QuantizedMlp, requant};

const LEAF: &[u8] = b"LZML";
const NODE: &[u8] = b"LZMN";
const ACTS: &[u8] = b"LZACT";

impl Dense {
    /// Unit `j`'s output on the int input `a` (length `inputs`): `acc = b[j] + Σ w[j,t]·a[t]`,
    /// then, on a hidden layer, `clamp(requant(max(acc, 0)), 0, 127)`.
    pub fn unit(&self, j: usize, a: &[i64], hidden: bool) -> i64 {
        let n = self.inputs as usize;
        let row = &self.w[j * n..(j + 1) * n];
        let mut acc = i64::from(self.b[j]);
        for (&w, &x) in row.iter().zip(a) {
            acc += i64::from(w) * x;
        }
        if hidden {
            requant(acc.max(0), i64::from(self.mult), self.shift).clamp(0, 127)
        } else {
            acc
        }
    }

    /// The leaf of unit `j` of layer `layer`: `layer (u32 LE) ‖ j (u32) ‖ inputs (u32) ‖ its
    /// weight row (i8 × inputs) ‖ b[j] (i32 LE) ‖ mult (i32 LE) ‖ shift (u8)`.
    pub fn unit_leaf(&self, layer: u32, j: usize) -> Vec<u8> {
        let n = self.inputs as usize;
        let mut out = Vec::with_capacity(21 + n);
        out.extend_from_slice(&layer.to_le_bytes());
        out.extend_from_slice(&(j as u32).to_le_bytes());
        out.extend_from_slice(&self.inputs.to_le_bytes());
        out.extend(self.w[j * n..(j + 1) * n].iter().map(|&w| w as u8));
        out.extend_from_slice(&self.b[j].to_le_bytes());
        out.extend_from_slice(&self.mult.to_le_bytes());
        out.push(self.shift);
        out
    }
}

/// The hash of one layer's output (`layer` counts from 0; the int8 input is "layer" `u32::MAX`):
/// `BLAKE3("LZACT" ‖ layer (u32 LE) ‖ n (u32 LE) ‖ each value as i64 LE)`.
pub fn activations_hash(layer: u32, values: &[i64]) -> [u8; 32] {
    let mut h = blake3::Hasher::new();
    h.update(ACTS);
    h.update(&layer.to_le_bytes());
    h.update(&(values.len() as u32).to_le_bytes());
    for v in values {
        h.update(&v.to_le_bytes());
    }
    *h.finalize().as_bytes()
}

fn leaf_hash(leaf: &[u8]) -> [u8; 32] {
    let mut h = blake3::Hasher::new();
    h.update(LEAF);
    h.update(leaf);
    *h.finalize().as_bytes()
}

fn node_hash(left: &[u8; 32], right: &[u8; 32]) -> [u8; 32] {
    let mut h = blake3::Hasher::new();
    h.update(NODE);
    h.update(left);
    h.update(right);
    *h.finalize().as_bytes()
}

/// The Merkle tree over a model's units (see the module docs).
#[derive(Clone, Debug)]
pub struct WeightTree {
    /// `levels[0]` the leaf hashes (padded to a power of two), the last level the root.
    levels: Vec<Vec<[u8; 32]>>,
    /// Index of each layer's first unit.
    offsets: Vec<usize>,
}

impl WeightTree {
    pub fn new(model: &QuantizedMlp) -> Self {
        let mut leaves = Vec::new();
        let mut offsets = Vec::with_capacity(model.layers.len());
        for (l, d) in model.layers.iter().enumerate() {
            offsets.push(leaves.len());
            for j in 0..d.outputs as usize {
                leaves.push(leaf_hash(&d.unit_leaf(l as u32, j)));
            }
        }
        let width = leaves.len().max(1).next_power_of_two();
        leaves.resize(width, [0u8; 32]);
        let mut levels = vec![leaves];
        while levels.last().is_some_and(|l| l.len() > 1) {
            let next = levels
                .last()
                .map(|l| {
                    l.chunks_exact(2)
                        .map(|p| node_hash(&p[0], &p[1]))
                        .collect::<Vec<_>>()
                })
                .unwrap_or_default();
            levels.push(next);
        }
        Self { levels, offsets }
    }

    pub fn root(&self) -> [u8; 32] {
        self.levels
            .last()
            .and_then(|l| l.first())
            .copied()
            .unwrap_or_default()
    }

    /// The leaf index of unit `j` of layer `layer`, if there is one.
    pub fn index(&self, model: &QuantizedMlp, layer: usize, j: usize) -> Option<usize> {
        let d = model.layers.get(layer)?;
        (j < d.outputs as usize).then(|| self.offsets[layer] + j)
    }

    /// The sibling hashes from leaf `index` up to the root.
    pub fn open(&self, index: usize) -> Vec<[u8; 32]> {
        let mut at = index;
        let mut path = Vec::with_capacity(self.levels.len().saturating_sub(1));
        for level in &self.levels[..self.levels.len().saturating_sub(1)] {
            path.push(level.get(at ^ 1).copied().unwrap_or_default());
            at /= 2;
        }
        path
    }
}

/// Whether `leaf` sits at `index` under `root`, by the sibling hashes `path`.
pub fn verify_opening(root: &[u8; 32], leaf: &[u8], index: usize, path: &[[u8; 32]]) -> bool {
    if path.len() < usize::BITS as usize && index >> path.len() != 0 {
        return false;
    }
    let mut h = leaf_hash(leaf);
    for (level, sibling) in path.iter().enumerate() {
        h = if (index >> level) & 1 == 0 {
            node_hash(&h, sibling)
        } else {
            node_hash(sibling, &h)
        };
    }
    &h == root
}

/// Widest layer a one-step proof takes (a leaf's `inputs`).
pub const MAX_ONE_STEP_WIDTH: u32 = 4096;

/// Why a one-step proof does not decide.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OneStepError {
    #[error("unit leaf: {0}")]
    BadLeaf(&'static str),
    #[error("the leaf is unit {got_unit} of layer {got_layer}, not the one disputed")]
    WrongUnit { got_layer: u32, got_unit: u32 },
    #[error("the leaf does not open under the weights root")]
    BadOpening,
    #[error("{got} input values for a unit with {want} inputs")]
    InputLength { got: usize, want: usize },
    #[error("the input values do not hash to the committed activations")]
    InputMismatch,
    #[error("input {index} is {value}, outside what the previous layer can output")]
    InputOutOfRange { index: usize, value: i64 },
}

/// One unit's parameters as its leaf carries them (layout on [`Dense::unit_leaf`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UnitLeaf {
    pub layer: u32,
    pub unit: u32,
    pub inputs: u32,
    pub w: Vec<i8>,
    pub b: i32,
    pub mult: i32,
    pub shift: u8,
}

impl UnitLeaf {
    /// Reads a leaf strictly: 21 + `inputs` bytes exactly, `inputs` in
    /// 1..=[`MAX_ONE_STEP_WIDTH`].
    pub fn from_bytes(b: &[u8]) -> Result<Self, OneStepError> {
        let word = |at: usize| -> Result<[u8; 4], OneStepError> {
            b.get(at..at + 4)
                .and_then(|s| s.try_into().ok())
                .ok_or(OneStepError::BadLeaf("truncated"))
        };
        let layer = u32::from_le_bytes(word(0)?);
        let unit = u32::from_le_bytes(word(4)?);
        let inputs = u32::from_le_bytes(word(8)?);
        if inputs == 0 || inputs > MAX_ONE_STEP_WIDTH {
            return Err(OneStepError::BadLeaf("input count out of range"));
        }
        let n = inputs as usize;
        if b.len() != 21 + n {
            return Err(OneStepError::BadLeaf("length differs from 21 + inputs"));
        }
        let w = b[12..12 + n].iter().map(|&v| v as i8).collect();
        Ok(Self {
            layer,
            unit,
            inputs,
            w,
            b: i32::from_le_bytes(word(12 + n)?),
            mult: i32::from_le_bytes(word(16 + n)?),
            shift: b[20 + n],
        })
    }
}

/// A one-step proof: one unit of one layer, its parameters opened under the weights root and
/// its input opened against the committed activations of the layer before (the int8 input
/// for layer 0).
#[derive(Clone, Copy, Debug)]
pub struct OneStep<'a> {
    pub weights_root: [u8; 32],
    /// How many layers the model has (the last one has no requantization).
    pub layers: u32,
    pub layer: u32,
    pub unit: u32,
    /// The committed hash of this unit's input: [`activations_hash`] of the previous layer's
    /// output, or of the int8 input (layer `u32::MAX`) for layer 0.
    pub input_hash: [u8; 32],
    pub leaf: &'a [u8],
    pub index: usize,
    pub path: &'a [[u8; 32]],
    pub input: &'a [i64],
}

/// Re-executes one unit after checking every opening: the unit's true output given the
/// committed weights and input. Integer only, bounded by the leaf's width, and it never
/// panics: every value is checked before it is used.
pub fn one_step(s: &OneStep<'_>) -> Result<i64, OneStepError> {
    let leaf = UnitLeaf::from_bytes(s.leaf)?;
    if leaf.layer != s.layer || leaf.unit != s.unit {
        return Err(OneStepError::WrongUnit {
            got_layer: leaf.layer,
            got_unit: leaf.unit,
        });
    }
    if !verify_opening(&s.weights_root, s.leaf, s.index, s.path) {
        return Err(OneStepError::BadOpening);
    }
    if s.input.len() != leaf.inputs as usize {
        return Err(OneStepError::InputLength {
            got: s.input.len(),
            want: leaf.inputs as usize,
        });
    }
    let previous = s.layer.checked_sub(1).unwrap_or(u32::MAX);
    if activations_hash(previous, s.input) != s.input_hash {
        return Err(OneStepError::InputMismatch);
    }
    // What the previous stage can output: int8 inputs, or a hidden layer's 0..=127.
    let range = if s.layer == 0 { -127..=127 } else { 0..=127 };
    if let Some((index, &value)) = s
        .input
        .iter()
        .enumerate()
        .find(|(_, v)| !range.contains(*v))
    {
        return Err(OneStepError::InputOutOfRange { index, value });
    }
    let hidden = s.layer.saturating_add(1) < s.layers;
    if hidden && !(1..=62).contains(&leaf.shift) {
        return Err(OneStepError::BadLeaf("a hidden unit's shift is 1..=62"));
    }
    let dense = Dense {
        inputs: leaf.inputs,
        outputs: 1,
        w: leaf.w,
        b: vec![leaf.b],
        mult: leaf.mult,
        shift: leaf.shift,
    };
    Ok(dense.unit(0, s.input, hidden))
}

/// A model's widths as the chain records them: its input, then each layer's outputs.
pub fn widths(model: &QuantizedMlp) -> Vec<u32> {
    std::iter::once(model.inputs)
        .chain(model.layers.iter().map(|d| d.outputs))
        .collect()
}

/// The leaf index of unit `unit` of layer `layer` in a [`WeightTree`] of a model of `widths`
/// (see [`widths`]), if there is one.
pub fn unit_index(widths: &[u32], layer: usize, unit: usize) -> Option<usize> {
    let outputs = widths.get(1..)?;
    if unit >= *outputs.get(layer)? as usize {
        return None;
    }
    Some(outputs[..layer].iter().map(|&w| w as usize).sum::<usize>() + unit)
}

/// Values as a reveal or a one-step proof carries them: each an i64, little-endian.
pub fn encode_values(values: &[i64]) -> Vec<u8> {
    values.iter().flat_map(|v| v.to_le_bytes()).collect()
}

/// The inverse of [`encode_values`]; `None` unless the length is a multiple of 8.
pub fn decode_values(bytes: &[u8]) -> Option<Vec<i64>> {
    if !bytes.len().is_multiple_of(8) {
        return None;
    }
    Some(
        bytes
            .chunks_exact(8)
            .map(|c| i64::from_le_bytes(c.try_into().unwrap_or_default()))
            .collect(),
    )
}

/// A model of `widths` (input first) with parameters from a seeded xorshift: integer weights
/// over the whole int8 range, hidden layers requantized with shift 24. For tests and
/// benchmarks of the trace and the game, where the model's accuracy does not matter.
pub fn seeded_mlp(widths: &[u32], seed: u64) -> QuantizedMlp {
    let mut s = seed | 1;
    let mut next = move || {
        s ^= s << 13;
        s ^= s >> 7;
        s ^= s << 17;
        s
    };
    let layers = widths
        .windows(2)
        .enumerate()
        .map(|(i, w)| {
            let hidden = i + 2 < widths.len();
            Dense {
                inputs: w[0],
                outputs: w[1],
                w: (0..w[0] * w[1])
                    .map(|_| ((next() % 255) as i16 - 127) as i8)
                    .collect(),
                b: (0..w[1]).map(|_| (next() % 2001) as i32 - 1000).collect(),
                mult: if hidden {
                    (next() % (1 << 20)) as i32 + 1
                } else {
                    0
                },
                shift: if hidden { 24 } else { 0 },
            }
        })
        .collect();
    QuantizedMlp {
        inputs: widths[0],
        in_offset: vec![0; widths[0] as usize],
        in_mult: vec![1 << 16; widths[0] as usize],
        layers,
    }
}

/// The layers' outputs on the int8 input `q` with unit `unit` of layer `layer` off by one
/// (down from 127, else up) and every later layer computed, correctly, from it: a wrong
/// execution, for tests, demos and benchmarks of the fraud-proof game. Widths are not checked.
pub fn tampered_outputs(
    model: &QuantizedMlp,
    q: &[i8],
    layer: usize,
    unit: usize,
) -> Vec<Vec<i64>> {
    let n = model.layers.len();
    let mut a: Vec<i64> = q.iter().map(|&v| i64::from(v)).collect();
    let mut out = Vec::with_capacity(n);
    for (l, d) in model.layers.iter().enumerate() {
        a = d.forward(&a, l + 1 < n);
        if l == layer
            && let Some(v) = a.get_mut(unit)
        {
            *v = if *v >= 127 { *v - 1 } else { *v + 1 };
        }
        out.push(a.clone());
    }
    out
}

/// What an execution commits to: the weights' root, the input's hash and every layer's.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Trace {
    pub weights_root: [u8; 32],
    pub input_hash: [u8; 32],
    pub layer_hashes: Vec<[u8; 32]>,
}

impl Trace {
    /// The trace of `model` on the int8 input `q`, with every layer's output.
    pub fn of(
        model: &QuantizedMlp,
        tree: &WeightTree,
        q: &[i8],
    ) -> Result<(Self, Vec<Vec<i64>>), crate::ModelError> {
        let outputs = model.layer_outputs(q)?;
        Ok((Self::from_outputs(tree.root(), q, &outputs), outputs))
    }

    /// The commitment to `outputs` as the layers' outputs on input `q` (whatever computed
    /// them).
    pub fn from_outputs(weights_root: [u8; 32], q: &[i8], outputs: &[Vec<i64>]) -> Self {
        let input: Vec<i64> = q.iter().map(|&v| i64::from(v)).collect();
        Self {
            weights_root,
            input_hash: activations_hash(u32::MAX, &input),
            layer_hashes: outputs
                .iter()
                .enumerate()
                .map(|(l, o)| activations_hash(l as u32, o))
                .collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn model(widths: &[u32], seed: u64) -> QuantizedMlp {
        seeded_mlp(widths, seed)
    }

    #[test]
    fn committed_garbage_activations_are_refused_not_overflowed() {
        // A party that committed out-of-range activations cannot make the re-execution overflow.
        let d = Dense {
            inputs: 2,
            outputs: 1,
            w: vec![127, 127],
            b: vec![0],
            mult: 1 << 20,
            shift: 24,
        };
        let m = QuantizedMlp {
            inputs: 2,
            in_offset: vec![0; 2],
            in_mult: vec![1 << 16; 2],
            layers: vec![
                Dense {
                    inputs: 2,
                    outputs: 2,
                    w: vec![1; 4],
                    b: vec![0; 2],
                    mult: 1 << 20,
                    shift: 24,
                },
                d,
            ],
        };
        let tree = WeightTree::new(&m);
        let leaf = m.layers[1].unit_leaf(1, 0);
        let index = tree.index(&m, 1, 0).expect("unit");
        let path = tree.open(index);
        let input = [i64::MAX, i64::MAX];
        let step = OneStep {
            weights_root: tree.root(),
            layers: 2,
            layer: 1,
            unit: 0,
            input_hash: activations_hash(0, &input),
            leaf: &leaf,
            index,
            path: &path,
            input: &input,
        };
        assert_eq!(
            one_step(&step),
            Err(OneStepError::InputOutOfRange {
                index: 0,
                value: i64::MAX
            })
        );
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(32))]

        /// Every unit opens under the root and re-executes to the trace's value; another
        /// index, another leaf or a changed sibling does not open.
        #[test]
        fn every_unit_opens_and_re_executes(
            widths in proptest::collection::vec(1u32..9, 2..5),
            seed in any::<u64>(),
            q in proptest::collection::vec(-127i8..=127, 8),
        ) {
            let m = model(&widths, seed);
            prop_assume!(m.check().is_ok());
            let q = &q[..m.inputs as usize];
            let tree = WeightTree::new(&m);
            let (trace, outputs) = Trace::of(&m, &tree, q).expect("trace");
            let root = tree.root();
            let n = m.layers.len();
            let mut input: Vec<i64> = q.iter().map(|&v| i64::from(v)).collect();
            for (l, d) in m.layers.iter().enumerate() {
                prop_assert_eq!(activations_hash(l as u32, &outputs[l]), trace.layer_hashes[l]);
                for (j, &want) in outputs[l].iter().enumerate() {
                    let index = tree.index(&m, l, j).expect("unit");
                    let path = tree.open(index);
                    let leaf = d.unit_leaf(l as u32, j);
                    prop_assert!(verify_opening(&root, &leaf, index, &path));
                    prop_assert!(!verify_opening(&root, &leaf, index ^ 1, &path));
                    prop_assert!(!verify_opening(&root, &leaf, index + (1 << path.len()), &path));
                    let mut other = leaf.clone();
                    let last = other.len() - 1;
                    other[last] ^= 1;
                    prop_assert!(!verify_opening(&root, &other, index, &path));
                    if let Some(first) = path.first() {
                        let mut bent = path.clone();
                        bent[0] = node_hash(first, first);
                        prop_assert!(!verify_opening(&root, &leaf, index, &bent));
                    }
                    prop_assert_eq!(d.unit(j, &input, l + 1 < n), want);
                }
                input = outputs[l].clone();
            }
        }

        /// A one-step proof of every unit gives the trace's value; a wrong unit, opening or
        /// input is refused.
        #[test]
        fn one_step_re_executes_every_unit_and_refuses_bad_openings(
            widths in proptest::collection::vec(1u32..7, 2..5),
            seed in any::<u64>(),
            q in proptest::collection::vec(-127i8..=127, 8),
        ) {
            let m = model(&widths, seed);
            prop_assume!(m.check().is_ok());
            let q = &q[..m.inputs as usize];
            let tree = WeightTree::new(&m);
            let (trace, outputs) = Trace::of(&m, &tree, q).expect("trace");
            let layers = m.layers.len() as u32;
            let mut input: Vec<i64> = q.iter().map(|&v| i64::from(v)).collect();
            let mut input_hash = trace.input_hash;
            for (l, d) in m.layers.iter().enumerate() {
                for (j, &want) in outputs[l].iter().enumerate() {
                    let index = tree.index(&m, l, j).expect("unit");
                    let path = tree.open(index);
                    let leaf = d.unit_leaf(l as u32, j);
                    let step = OneStep {
                        weights_root: tree.root(),
                        layers,
                        layer: l as u32,
                        unit: j as u32,
                        input_hash,
                        leaf: &leaf,
                        index,
                        path: &path,
                        input: &input,
                    };
                    prop_assert_eq!(one_step(&step), Ok(want));
                    let other = OneStep { unit: j as u32 + 1, ..step };
                    let is_wrong_unit = matches!(one_step(&other), Err(OneStepError::WrongUnit { .. }));
                    prop_assert!(is_wrong_unit);
                    let other = OneStep { index: index ^ 1, ..step };
                    prop_assert_eq!(one_step(&other), Err(OneStepError::BadOpening));
                    let mut changed = input.clone();
                    changed[0] = if changed[0] == 0 { 1 } else { 0 };
                    let other = OneStep { input: &changed, ..step };
                    prop_assert_eq!(one_step(&other), Err(OneStepError::InputMismatch));
                    let other = OneStep { input: &input[1..], ..step };
                    let is_length = matches!(one_step(&other), Err(OneStepError::InputLength { .. }));
                    prop_assert!(is_length);
                }
                input = outputs[l].clone();
                input_hash = trace.layer_hashes[l];
            }
        }

        #[test]
        fn unit_leaves_from_random_bytes_never_panic(b in proptest::collection::vec(any::<u8>(), 0..64)) {
            let _ = UnitLeaf::from_bytes(&b);
        }
    }
}
