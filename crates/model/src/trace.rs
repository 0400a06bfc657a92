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
        let input: Vec<i64> = q.iter().map(|&v| i64::from(v)).collect();
        Ok((
            Self {
                weights_root: tree.root(),
                input_hash: activations_hash(u32::MAX, &input),
                layer_hashes: outputs
                    .iter()
                    .enumerate()
                    .map(|(l, o)| activations_hash(l as u32, o))
                    .collect(),
            },
            outputs,
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn model(widths: &[u32], seed: u64) -> QuantizedMlp {
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
    }
}
