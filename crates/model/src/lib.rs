//! A small multilayer perceptron for tabular data, trained in f32 and served in integers.
//!
//! - [`train`]: one hidden ReLU layer, softmax cross-entropy, plain SGD with momentum over
//!   standardized features; deterministic for a seed (its own xorshift generator).
//! - [`QuantizedMlp::quantize`] (one hidden layer, from [`FloatMlp`]) and
//!   [`QuantizedMlp::quantize_net`] (any depth, from [`FloatNet`]): int8 weights (one scale per
//!   layer), int32 biases, i64 accumulators, a fixed-point requantization
//!   `(acc · M + 2^(s-1)) >> s` after each hidden layer, integer input quantization from
//!   features given in thousandths (`x · 1000`, rounded).
//! - [`onnx::import`]: a dense ReLU MLP exported to ONNX (PyTorch `Gemm`, scikit-learn
//!   `MatMul` + `Add`), quantized the same way.
//! - [`QuantizedMlp::predict`]: integers only, so every machine gives the same logits, which is
//!   what lets a ZK proof or an optimistic re-execution check it.
//! - [`trace`]: commitments to one execution (a Merkle tree over the units' weights, a hash
//!   per layer output) and [`Dense::unit`], the one integer kernel a single unit re-runs.
//! - [`QuantizedMlp::to_bytes`] / [`QuantizedMlp::from_bytes`]: the model file (formats below)
//!   and [`QuantizedMlp::hash`] (BLAKE3 of the file).
//!
//! # Integer semantics
//!
//! Features arrive in thousandths (`x[t]`, i32). Input `t` is quantized to
//! `q[t] = clamp((c · in_mult[t] + 2^15) >> 16, -127, 127)` with
//! `c = x[t] - in_offset[t]` (all in i128, so no input overflows). Then for each layer `l` of
//! [`QuantizedMlp::layers`], with `a` its int input vector (`q` for the first layer):
//! `acc[j] = b[j] + Σ_t w[j·inputs + t] · a[t]` in i64; a hidden layer (every layer but the
//! last) outputs `clamp((max(acc[j], 0) · mult + 2^(shift-1)) >> shift, 0, 127)` (arithmetic
//! shift, i64; the limits below keep every product inside i64), the last layer outputs `acc`
//! itself: the logits. The predicted class is the first index of the largest logit.
//!
//! # Model files (little-endian)
//!
//! Version 1, exactly one hidden layer: `"LZMLP\0\0\x01"` ([`MAGIC`]) ‖ in, hidden, classes
//! (u32 each) ‖ input offsets (i32 × in, thousandths) ‖ input multipliers (i32 × in, Q16) ‖
//! w1 (i8 × hidden·in, row-major by hidden unit) ‖ b1 (i32 × hidden) ‖ requant multiplier
//! (i32) and shift (u8) ‖ w2 (i8 × classes·hidden) ‖ b2 (i32 × classes).
//!
//! Version 2, any other number of layers: `"LZMLP\0\0\x02"` ([`MAGIC_V2`]: the same prefix,
//! the last byte is the version) ‖ in (u32) ‖ L, the number of layers (u32, 1..=[`MAX_LAYERS`],
//! never 2) ‖ the L layer widths (u32 each; the last is the number of classes) ‖ input offsets
//! (i32 × in) ‖ input multipliers (i32 × in) ‖ then per layer `l` with `n_l` inputs (`in` for
//! the first, the previous width after) and `m_l` outputs: w (i8 × m_l·n_l, row-major by
//! output) ‖ b (i32 × m_l) ‖ for every layer but the last: requant multiplier (i32) and
//! shift (u8, 1..=62). Nothing follows the last layer.
//!
//! The encoding is canonical: a model with one hidden layer is always written as version 1
//! (so a version 1 file keeps its bytes and its hash), and a version 2 file declaring two
//! layers is refused; every file [`QuantizedMlp::from_bytes`] accepts is given back byte for
//! byte by [`QuantizedMlp::to_bytes`]. Every width is 1..=[`MAX_DIM`] and weights plus biases
//! total at most [`MAX_PARAMS`].

mod file;
mod float;
pub mod onnx;
mod protobuf;
mod spec;
pub mod trace;

pub use float::{Dataset, FloatDense, FloatMlp, FloatNet, TrainConfig, train};
use spec::INPUT_RANGE;
pub use spec::{MAGIC, MAGIC_V2, MAX_DIM, MAX_LAYERS, MAX_PARAMS, ModelError};

/// One integer dense layer, what a proving circuit checks.
///
/// `acc[j] = b[j] + Σ_t w[j·inputs + t] · a[t]` in i64 over the layer's int input `a`. A hidden
/// layer outputs `clamp((max(acc[j], 0) · mult + 2^(shift-1)) >> shift, 0, 127)` (int8
/// activations in 0..=127); the last layer of a model outputs `acc` as the logits, and its
/// `mult` and `shift` are 0.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Dense {
    pub inputs: u32,
    pub outputs: u32,
    /// Row-major `outputs × inputs`.
    pub w: Vec<i8>,
    pub b: Vec<i32>,
    /// Requantization multiplier (hidden layers; 0 on the last layer).
    pub mult: i32,
    /// Requantization shift, 1..=62 (hidden layers; 0 on the last layer).
    pub shift: u8,
}

impl Dense {
    /// The layer on int inputs; `hidden` applies ReLU and the requantization.
    pub fn forward(&self, a: &[i64], hidden: bool) -> Vec<i64> {
        (0..self.outputs as usize)
            .map(|j| self.unit(j, a, hidden))
            .collect()
    }
}

/// The integer model: input quantization, then [`Dense`] layers (see the module docs for the
/// exact semantics).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct QuantizedMlp {
    pub inputs: u32,
    /// Per input: the mean, in thousandths.
    pub in_offset: Vec<i32>,
    /// Per input: Q16 multiplier from thousandths to the int8 input scale.
    pub in_mult: Vec<i32>,
    /// The hidden layers, then the output layer (at least one layer).
    pub layers: Vec<Dense>,
}

fn quantize_weights(w: &[f32]) -> (Vec<i8>, f32) {
    let max = w.iter().fold(0f32, |m, v| m.max(v.abs())).max(1e-8);
    let scale = max / 127.0;
    (
        w.iter()
            .map(|v| (v / scale).round().clamp(-127.0, 127.0) as i8)
            .collect(),
        scale,
    )
}

/// The fixed-point `(mult, shift)` closest to `ratio` with `mult` below 2^30.
fn fixed_point(ratio: f64) -> (i32, u8) {
    let mut shift = 0u8;
    let mut r = ratio;
    while r < (1u64 << 29) as f64 && shift < 62 {
        r *= 2.0;
        shift += 1;
    }
    (r.round() as i32, shift.max(1))
}

/// Rounds `(acc · mult) / 2^shift` to nearest, in i64 (callers keep the product in range).
fn requant(acc: i64, mult: i64, shift: u8) -> i64 {
    (acc * mult + (1i64 << (shift - 1))) >> shift
}

/// Raw features in thousandths (`round(x · 1000)`), what [`QuantizedMlp::predict`] takes.
pub fn to_milli(x: &[f32]) -> Vec<i32> {
    x.iter().map(|v| (v * 1000.0).round() as i32).collect()
}

impl QuantizedMlp {
    /// Quantizes a trained model; `calibration` (raw features) sets the hidden layer's scale.
    pub fn quantize(m: &FloatMlp, calibration: &[Vec<f32>]) -> Self {
        Self::quantize_layers(&m.to_net(), calibration)
    }

    /// Quantizes a float model of any depth: int8 weights with one symmetric scale per layer,
    /// each hidden layer's output scale from the largest activation `calibration` (raw
    /// features) gives it.
    pub fn quantize_net(m: &FloatNet, calibration: &[Vec<f32>]) -> Result<Self, ModelError> {
        m.check()?;
        if calibration.iter().any(|x| x.len() != m.inputs) {
            return Err(ModelError::BadData);
        }
        Ok(Self::quantize_layers(m, calibration))
    }

    fn quantize_layers(m: &FloatNet, calibration: &[Vec<f32>]) -> Self {
        let s_in = INPUT_RANGE / 127.0;
        let hidden = m.layers.len().saturating_sub(1);
        let mut max_h = vec![1e-6f32; hidden];
        for x in calibration {
            for (mx, a) in max_h.iter_mut().zip(m.activations(x)) {
                for h in a {
                    *mx = mx.max(h);
                }
            }
        }
        let mut s_prev = s_in;
        let layers = m
            .layers
            .iter()
            .enumerate()
            .map(|(l, d)| {
                let (w, s_w) = quantize_weights(&d.w);
                let b =
                    d.b.iter()
                        .map(|b| (b / (s_w * s_prev)).round() as i32)
                        .collect();
                let (mult, shift) = if l < hidden {
                    let s_h = max_h[l] / 127.0;
                    let fp = fixed_point((s_w * s_prev / s_h) as f64);
                    s_prev = s_h;
                    fp
                } else {
                    (0, 0)
                };
                Dense {
                    inputs: d.inputs as u32,
                    outputs: d.outputs as u32,
                    w,
                    b,
                    mult,
                    shift,
                }
            })
            .collect();
        Self {
            inputs: m.inputs as u32,
            in_offset: m.mean.iter().map(|v| (v * 1000.0).round() as i32).collect(),
            in_mult: m
                .std
                .iter()
                .map(|s| (65536.0 / (1000.0 * s * s_in) as f64).round() as i32)
                .collect(),
            layers,
        }
    }

    /// The number of classes: the last layer's width.
    pub fn classes(&self) -> u32 {
        self.layers.last().map_or(0, |d| d.outputs)
    }

    /// The first hidden layer's width (0 for a model without hidden layer).
    pub fn hidden(&self) -> u32 {
        match self.layers.as_slice() {
            [first, _, ..] => first.outputs,
            _ => 0,
        }
    }

    /// Weights and biases in all.
    pub fn parameters(&self) -> u64 {
        self.layers
            .iter()
            .map(|d| d.w.len() as u64 + d.b.len() as u64)
            .sum()
    }

    /// Whether every length agrees with the shapes, within the limits, and the shifts are in
    /// range: what [`QuantizedMlp::from_bytes`] guarantees and inference relies on.
    pub fn check(&self) -> Result<(), ModelError> {
        let bad = |what: String| Err(ModelError::Inconsistent(what));
        if self.inputs == 0 || self.inputs > MAX_DIM {
            return Err(ModelError::BadDimension(self.inputs));
        }
        if self.in_offset.len() != self.inputs as usize
            || self.in_mult.len() != self.inputs as usize
        {
            return bad("input quantization width differs from the inputs".into());
        }
        let n = self.layers.len();
        if n == 0 || n > MAX_LAYERS as usize {
            return Err(ModelError::BadLayerCount(
                u32::try_from(n).unwrap_or(u32::MAX),
            ));
        }
        let mut n_in = self.inputs;
        let mut params = 0u64;
        for (l, d) in self.layers.iter().enumerate() {
            for w in [d.inputs, d.outputs] {
                if w == 0 || w > MAX_DIM {
                    return Err(ModelError::BadDimension(w));
                }
            }
            if d.inputs != n_in {
                return bad(format!(
                    "layer {l} takes {} inputs, the previous stage gives {n_in}",
                    d.inputs
                ));
            }
            if d.w.len() != d.inputs as usize * d.outputs as usize
                || d.b.len() != d.outputs as usize
            {
                return bad(format!(
                    "layer {l}: weight or bias length differs from its shape"
                ));
            }
            if l + 1 < n {
                if !(1..=62).contains(&d.shift) {
                    return Err(ModelError::BadShift(d.shift));
                }
            } else if d.mult != 0 || d.shift != 0 {
                return bad("the output layer has a requantization".into());
            }
            params += d.w.len() as u64 + d.b.len() as u64;
            n_in = d.outputs;
        }
        if params > MAX_PARAMS {
            return Err(ModelError::TooManyParameters(params));
        }
        Ok(())
    }

    /// The int8 input of features in thousandths.
    pub fn quantize_input(&self, x: &[i32]) -> Result<Vec<i8>, ModelError> {
        if x.len() != self.inputs as usize || self.in_offset.len() != x.len() {
            return Err(ModelError::InputLength {
                got: x.len(),
                want: self.inputs as usize,
            });
        }
        Ok(x.iter()
            .zip(self.in_offset.iter().zip(&self.in_mult))
            .map(|(&v, (&o, &mlt))| {
                let centered = i128::from(v) - i128::from(o);
                ((centered * i128::from(mlt) + (1 << 15)) >> 16).clamp(-127, 127) as i8
            })
            .collect())
    }

    /// Integer logits of features in thousandths.
    pub fn logits(&self, x: &[i32]) -> Result<Vec<i64>, ModelError> {
        let q = self.quantize_input(x)?;
        let mut outputs = self.layer_outputs(&q)?;
        Ok(outputs.pop().unwrap_or_default())
    }

    /// Every layer's output on an int8 input (what [`QuantizedMlp::quantize_input`] gives),
    /// in order; the last is the logits. The one integer kernel: inference, proofs and
    /// re-execution all run this.
    pub fn layer_outputs(&self, q: &[i8]) -> Result<Vec<Vec<i64>>, ModelError> {
        self.check()?;
        if q.len() != self.inputs as usize {
            return Err(ModelError::InputLength {
                got: q.len(),
                want: self.inputs as usize,
            });
        }
        let mut a: Vec<i64> = q.iter().map(|&v| i64::from(v)).collect();
        let n = self.layers.len();
        let mut outputs = Vec::with_capacity(n);
        for (l, d) in self.layers.iter().enumerate() {
            a = d.forward(&a, l + 1 < n);
            outputs.push(a.clone());
        }
        Ok(outputs)
    }

    /// The predicted class (lowest index on a tie).
    pub fn predict(&self, x: &[i32]) -> Result<u32, ModelError> {
        Ok(argmax(&self.logits(x)?) as u32)
    }
}

/// The predicted class of `logits`: the first index of the largest (0 when empty).
pub fn argmax(logits: &[i64]) -> usize {
    let mut best = 0;
    for (i, v) in logits.iter().enumerate() {
        if *v > logits[best] {
            best = i;
        }
    }
    best
}
