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

pub mod onnx;
mod protobuf;

/// Magic and format version 1 (one hidden layer) at the start of a model file.
pub const MAGIC: &[u8; 8] = b"LZMLP\0\0\x01";
/// Magic and format version 2 (any number of layers) at the start of a model file.
pub const MAGIC_V2: &[u8; 8] = b"LZMLP\0\0\x02";
/// Most inputs, hidden units or classes a model file may declare (any layer's width).
pub const MAX_DIM: u32 = 1024;
/// Most layers (hidden layers and the output layer) a model may have.
pub const MAX_LAYERS: u32 = 16;
/// Most weights and biases, in all, a model may have.
pub const MAX_PARAMS: u64 = 1 << 22;
/// Input scale: standardized features in [-4, 4] map to [-127, 127].
const INPUT_RANGE: f32 = 4.0;

/// Why a model file was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ModelError {
    #[error("not a LazAI model file (bad magic or version)")]
    BadMagic,
    #[error("model file truncated: {0}")]
    Truncated(&'static str),
    #[error("model dimension {0} out of range 1..={MAX_DIM}")]
    BadDimension(u32),
    #[error("{0} bytes after the end of the model")]
    TrailingBytes(usize),
    #[error("requantization shift {0} out of range 1..=62")]
    BadShift(u8),
    #[error("input has {got} features, the model takes {want}")]
    InputLength { got: usize, want: usize },
    #[error("training data is empty or ragged")]
    BadData,
    #[error("model layer count {0} out of range 1..={MAX_LAYERS} (2 is written as version 1)")]
    BadLayerCount(u32),
    #[error("model has {0} weights and biases, more than {MAX_PARAMS}")]
    TooManyParameters(u64),
    #[error("inconsistent model: {0}")]
    Inconsistent(String),
    #[error("ONNX import: {0}")]
    Onnx(String),
}

/// Labelled tabular data.
#[derive(Clone, Debug, Default)]
pub struct Dataset {
    pub features: Vec<Vec<f32>>,
    pub labels: Vec<u32>,
    pub classes: u32,
}

/// Training settings.
#[derive(Clone, Copy, Debug)]
pub struct TrainConfig {
    pub hidden: usize,
    pub epochs: usize,
    pub learning_rate: f32,
    pub momentum: f32,
    pub seed: u64,
}

impl Default for TrainConfig {
    fn default() -> Self {
        Self {
            hidden: 16,
            epochs: 60,
            learning_rate: 0.003,
            momentum: 0.9,
            seed: 1,
        }
    }
}

struct XorShift(u64);

impl XorShift {
    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        x
    }
    /// Uniform in [-1, 1).
    fn unit(&mut self) -> f32 {
        (self.next() >> 40) as f32 / (1u64 << 23) as f32 - 1.0
    }
}

/// The f32 model: standardization, then `relu(W1 x + b1)`, then `W2 h + b2`.
#[derive(Clone, Debug, PartialEq)]
pub struct FloatMlp {
    pub inputs: usize,
    pub hidden: usize,
    pub classes: usize,
    pub mean: Vec<f32>,
    pub std: Vec<f32>,
    pub w1: Vec<f32>,
    pub b1: Vec<f32>,
    pub w2: Vec<f32>,
    pub b2: Vec<f32>,
}

impl FloatMlp {
    fn standardize(&self, x: &[f32]) -> Vec<f32> {
        x.iter()
            .zip(self.mean.iter().zip(&self.std))
            .map(|(v, (m, s))| ((v - m) / s).clamp(-INPUT_RANGE, INPUT_RANGE))
            .collect()
    }

    fn hidden_of(&self, z: &[f32]) -> Vec<f32> {
        (0..self.hidden)
            .map(|j| {
                let row = &self.w1[j * self.inputs..(j + 1) * self.inputs];
                let a: f32 = row.iter().zip(z).map(|(w, x)| w * x).sum::<f32>() + self.b1[j];
                a.max(0.0)
            })
            .collect()
    }

    fn logits_of(&self, h: &[f32]) -> Vec<f32> {
        (0..self.classes)
            .map(|k| {
                let row = &self.w2[k * self.hidden..(k + 1) * self.hidden];
                row.iter().zip(h).map(|(w, x)| w * x).sum::<f32>() + self.b2[k]
            })
            .collect()
    }

    /// The predicted class of raw features.
    pub fn predict(&self, x: &[f32]) -> u32 {
        argmax_f(&self.logits_of(&self.hidden_of(&self.standardize(x))))
    }
}

fn argmax_f(v: &[f32]) -> u32 {
    let mut best = 0;
    for (i, x) in v.iter().enumerate() {
        if *x > v[best] {
            best = i;
        }
    }
    best as u32
}

/// Per feature: the mean and the standard deviation (at least 10⁻³) of `rows`, each `inputs`
/// wide; what standardizes a model's inputs.
pub(crate) fn mean_std(rows: &[Vec<f32>], inputs: usize) -> (Vec<f32>, Vec<f32>) {
    let n = rows.len();
    let mut mean = vec![0f32; inputs];
    for f in rows {
        for (m, v) in mean.iter_mut().zip(f) {
            *m += v / n as f32;
        }
    }
    let mut std = vec![0f32; inputs];
    for f in rows {
        for ((s, v), m) in std.iter_mut().zip(f).zip(&mean) {
            *s += (v - m) * (v - m) / n as f32;
        }
    }
    for s in &mut std {
        *s = s.sqrt().max(1e-3);
    }
    (mean, std)
}

/// Trains a [`FloatMlp`] on `data` (deterministic for `cfg.seed`).
pub fn train(data: &Dataset, cfg: &TrainConfig) -> Result<FloatMlp, ModelError> {
    let n = data.features.len();
    let inputs = data.features.first().map(Vec::len).unwrap_or(0);
    if n == 0
        || inputs == 0
        || data.labels.len() != n
        || data.classes < 2
        || data.features.iter().any(|f| f.len() != inputs)
        || data.labels.iter().any(|&l| l >= data.classes)
        || cfg.hidden == 0
    {
        return Err(ModelError::BadData);
    }
    let classes = data.classes as usize;
    let (mean, std) = mean_std(&data.features, inputs);
    let mut rng = XorShift(cfg.seed.max(1));
    let a1 = (6.0 / (inputs + cfg.hidden) as f32).sqrt();
    let a2 = (6.0 / (cfg.hidden + classes) as f32).sqrt();
    let mut m = FloatMlp {
        inputs,
        hidden: cfg.hidden,
        classes,
        mean,
        std,
        w1: (0..cfg.hidden * inputs).map(|_| rng.unit() * a1).collect(),
        b1: vec![0.0; cfg.hidden],
        w2: (0..classes * cfg.hidden).map(|_| rng.unit() * a2).collect(),
        b2: vec![0.0; classes],
    };
    let z: Vec<Vec<f32>> = data.features.iter().map(|f| m.standardize(f)).collect();
    let (mut vw1, mut vb1) = (vec![0f32; m.w1.len()], vec![0f32; m.b1.len()]);
    let (mut vw2, mut vb2) = (vec![0f32; m.w2.len()], vec![0f32; m.b2.len()]);
    let mut order: Vec<usize> = (0..n).collect();
    for _ in 0..cfg.epochs {
        for i in (1..n).rev() {
            let j = (rng.next() % (i as u64 + 1)) as usize;
            order.swap(i, j);
        }
        for &i in &order {
            let x = &z[i];
            let h = m.hidden_of(x);
            let logits = m.logits_of(&h);
            let top = logits.iter().copied().fold(f32::MIN, f32::max);
            let exp: Vec<f32> = logits.iter().map(|l| (l - top).exp()).collect();
            let sum: f32 = exp.iter().sum();
            let dl: Vec<f32> = exp
                .iter()
                .enumerate()
                .map(|(k, e)| e / sum - if k as u32 == data.labels[i] { 1.0 } else { 0.0 })
                .collect();
            let mut dh = vec![0f32; m.hidden];
            for k in 0..classes {
                for j in 0..m.hidden {
                    dh[j] += dl[k] * m.w2[k * m.hidden + j];
                    let g = dl[k] * h[j];
                    let v = &mut vw2[k * m.hidden + j];
                    *v = cfg.momentum * *v - cfg.learning_rate * g;
                    m.w2[k * m.hidden + j] += *v;
                }
                vb2[k] = cfg.momentum * vb2[k] - cfg.learning_rate * dl[k];
                m.b2[k] += vb2[k];
            }
            for j in 0..m.hidden {
                if h[j] <= 0.0 {
                    continue;
                }
                for (t, xv) in x.iter().enumerate() {
                    let v = &mut vw1[j * inputs + t];
                    *v = cfg.momentum * *v - cfg.learning_rate * dh[j] * xv;
                    m.w1[j * inputs + t] += *v;
                }
                vb1[j] = cfg.momentum * vb1[j] - cfg.learning_rate * dh[j];
                m.b1[j] += vb1[j];
            }
        }
    }
    Ok(m)
}

/// One f32 dense layer: `y = W·x + b`, `w` row-major `outputs × inputs`.
#[derive(Clone, Debug, PartialEq)]
pub struct FloatDense {
    pub inputs: usize,
    pub outputs: usize,
    pub w: Vec<f32>,
    pub b: Vec<f32>,
}

/// The f32 model of any depth: standardization (clamped to ±4), then dense layers with ReLU
/// after every one but the last, whose outputs are the logits.
#[derive(Clone, Debug, PartialEq)]
pub struct FloatNet {
    pub inputs: usize,
    pub mean: Vec<f32>,
    pub std: Vec<f32>,
    pub layers: Vec<FloatDense>,
}

impl FloatDense {
    fn forward(&self, x: &[f32], relu: bool) -> Vec<f32> {
        (0..self.outputs)
            .map(|j| {
                let row = &self.w[j * self.inputs..(j + 1) * self.inputs];
                let a: f32 = row.iter().zip(x).map(|(w, x)| w * x).sum::<f32>() + self.b[j];
                if relu { a.max(0.0) } else { a }
            })
            .collect()
    }
}

impl FloatMlp {
    /// The same model as a [`FloatNet`] with one hidden layer.
    pub fn to_net(&self) -> FloatNet {
        FloatNet {
            inputs: self.inputs,
            mean: self.mean.clone(),
            std: self.std.clone(),
            layers: vec![
                FloatDense {
                    inputs: self.inputs,
                    outputs: self.hidden,
                    w: self.w1.clone(),
                    b: self.b1.clone(),
                },
                FloatDense {
                    inputs: self.hidden,
                    outputs: self.classes,
                    w: self.w2.clone(),
                    b: self.b2.clone(),
                },
            ],
        }
    }
}

impl FloatNet {
    fn standardize(&self, x: &[f32]) -> Vec<f32> {
        x.iter()
            .zip(self.mean.iter().zip(&self.std))
            .map(|(v, (m, s))| ((v - m) / s).clamp(-INPUT_RANGE, INPUT_RANGE))
            .collect()
    }

    /// Every layer's output on raw features: hidden activations (after ReLU), then the logits.
    fn activations(&self, x: &[f32]) -> Vec<Vec<f32>> {
        let mut a = self.standardize(x);
        let mut out = Vec::with_capacity(self.layers.len());
        for (l, d) in self.layers.iter().enumerate() {
            a = d.forward(&a, l + 1 < self.layers.len());
            out.push(a.clone());
        }
        out
    }

    /// The f32 logits of raw features (empty for a model without layers).
    pub fn logits(&self, x: &[f32]) -> Vec<f32> {
        self.activations(x).pop().unwrap_or_default()
    }

    /// The predicted class of raw features.
    pub fn predict(&self, x: &[f32]) -> u32 {
        argmax_f(&self.logits(x))
    }

    /// Whether the shapes chain (`inputs` → each layer → the next) within the model limits.
    fn check(&self) -> Result<(), ModelError> {
        let bad = |what: String| Err(ModelError::Inconsistent(what));
        if self.layers.is_empty() || self.layers.len() > MAX_LAYERS as usize {
            return Err(ModelError::BadLayerCount(
                u32::try_from(self.layers.len()).unwrap_or(u32::MAX),
            ));
        }
        if self.mean.len() != self.inputs || self.std.len() != self.inputs {
            return bad("standardization width differs from the inputs".into());
        }
        let mut n_in = self.inputs;
        let mut params = 0u64;
        for (l, d) in self.layers.iter().enumerate() {
            for n in [d.inputs, d.outputs] {
                if n == 0 || n > MAX_DIM as usize {
                    return Err(ModelError::BadDimension(
                        u32::try_from(n).unwrap_or(u32::MAX),
                    ));
                }
            }
            if d.inputs != n_in {
                return bad(format!(
                    "layer {l} takes {} inputs, the previous stage gives {n_in}",
                    d.inputs
                ));
            }
            if d.w.len() != d.inputs * d.outputs || d.b.len() != d.outputs {
                return bad(format!(
                    "layer {l}: weight or bias length differs from its shape"
                ));
            }
            params += (d.w.len() + d.b.len()) as u64;
            n_in = d.outputs;
        }
        if params > MAX_PARAMS {
            return Err(ModelError::TooManyParameters(params));
        }
        Ok(())
    }
}

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
    fn forward(&self, a: &[i64], hidden: bool) -> Vec<i64> {
        let n_in = self.inputs as usize;
        (0..self.outputs as usize)
            .map(|j| {
                let mut acc = i64::from(self.b[j]);
                for (t, &x) in a.iter().enumerate() {
                    acc += i64::from(self.w[j * n_in + t]) * x;
                }
                if hidden {
                    requant(acc.max(0), i64::from(self.mult), self.shift).clamp(0, 127)
                } else {
                    acc
                }
            })
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
        self.check()?;
        let mut a: Vec<i64> = self.quantize_input(x)?.into_iter().map(i64::from).collect();
        let n = self.layers.len();
        for (l, d) in self.layers.iter().enumerate() {
            a = d.forward(&a, l + 1 < n);
        }
        Ok(a)
    }

    /// The predicted class (lowest index on a tie).
    pub fn predict(&self, x: &[i32]) -> Result<u32, ModelError> {
        let l = self.logits(x)?;
        let mut best = 0;
        for (i, v) in l.iter().enumerate() {
            if *v > l[best] {
                best = i;
            }
        }
        Ok(best as u32)
    }

    /// The model file: version 1 for one hidden layer, version 2 otherwise.
    pub fn to_bytes(&self) -> Vec<u8> {
        let ints = |out: &mut Vec<u8>, v: &[i32]| {
            for x in v {
                out.extend_from_slice(&x.to_le_bytes());
            }
        };
        let mut out;
        if let [h, o] = self.layers.as_slice() {
            out = MAGIC.to_vec();
            for d in [self.inputs, h.outputs, o.outputs] {
                out.extend_from_slice(&d.to_le_bytes());
            }
        } else {
            out = MAGIC_V2.to_vec();
            out.extend_from_slice(&self.inputs.to_le_bytes());
            out.extend_from_slice(&(self.layers.len() as u32).to_le_bytes());
            for d in &self.layers {
                out.extend_from_slice(&d.outputs.to_le_bytes());
            }
        }
        ints(&mut out, &self.in_offset);
        ints(&mut out, &self.in_mult);
        let n = self.layers.len();
        for (l, d) in self.layers.iter().enumerate() {
            out.extend(d.w.iter().map(|&w| w as u8));
            ints(&mut out, &d.b);
            if l + 1 < n {
                out.extend_from_slice(&d.mult.to_le_bytes());
                out.push(d.shift);
            }
        }
        out
    }

    /// BLAKE3 of the model file.
    pub fn hash(&self) -> [u8; 32] {
        *blake3::hash(&self.to_bytes()).as_bytes()
    }

    /// Parses a model file (version 1 or 2), checking every length before reading it.
    pub fn from_bytes(b: &[u8]) -> Result<Self, ModelError> {
        let mut r = Reader { b, at: 0 };
        let magic = r.take(8, "magic")?;
        let m = if magic == MAGIC {
            Self::read_v1(&mut r)?
        } else if magic == MAGIC_V2 {
            Self::read_v2(&mut r)?
        } else {
            return Err(ModelError::BadMagic);
        };
        if r.at != b.len() {
            return Err(ModelError::TrailingBytes(b.len() - r.at));
        }
        m.check()?;
        Ok(m)
    }

    fn read_v1(r: &mut Reader<'_>) -> Result<Self, ModelError> {
        let (inputs, hidden, classes) = (r.dim()?, r.dim()?, r.dim()?);
        let (ni, nh, nc) = (inputs as usize, hidden as usize, classes as usize);
        let in_offset = r.i32s(ni, "input offsets")?;
        let in_mult = r.i32s(ni, "input multipliers")?;
        let w1 = r.i8s(nh * ni, "w1")?;
        let b1 = r.i32s(nh, "b1")?;
        let mult = r.i32s(1, "multiplier")?[0];
        let shift = r.take(1, "shift")?[0];
        if !(1..=62).contains(&shift) {
            return Err(ModelError::BadShift(shift));
        }
        let w2 = r.i8s(nc * nh, "w2")?;
        let b2 = r.i32s(nc, "b2")?;
        Ok(Self {
            inputs,
            in_offset,
            in_mult,
            layers: vec![
                Dense {
                    inputs,
                    outputs: hidden,
                    w: w1,
                    b: b1,
                    mult,
                    shift,
                },
                Dense {
                    inputs: hidden,
                    outputs: classes,
                    w: w2,
                    b: b2,
                    mult: 0,
                    shift: 0,
                },
            ],
        })
    }

    fn read_v2(r: &mut Reader<'_>) -> Result<Self, ModelError> {
        let inputs = r.dim()?;
        let n = r.u32("layer count")?;
        if n == 0 || n == 2 || n > MAX_LAYERS {
            return Err(ModelError::BadLayerCount(n));
        }
        let mut widths = Vec::with_capacity(n as usize);
        let mut params = 0u64;
        let mut n_in = u64::from(inputs);
        for _ in 0..n {
            let w = r.dim()?;
            params += n_in * u64::from(w) + u64::from(w);
            n_in = u64::from(w);
            widths.push(w);
        }
        if params > MAX_PARAMS {
            return Err(ModelError::TooManyParameters(params));
        }
        let ni = inputs as usize;
        let in_offset = r.i32s(ni, "input offsets")?;
        let in_mult = r.i32s(ni, "input multipliers")?;
        let mut layers = Vec::with_capacity(widths.len());
        let mut n_in = inputs;
        for (l, &outputs) in widths.iter().enumerate() {
            let w = r.i8s(outputs as usize * n_in as usize, "weights")?;
            let b = r.i32s(outputs as usize, "biases")?;
            let (mult, shift) = if l + 1 < widths.len() {
                let mult = r.i32s(1, "multiplier")?[0];
                let shift = r.take(1, "shift")?[0];
                if !(1..=62).contains(&shift) {
                    return Err(ModelError::BadShift(shift));
                }
                (mult, shift)
            } else {
                (0, 0)
            };
            layers.push(Dense {
                inputs: n_in,
                outputs,
                w,
                b,
                mult,
                shift,
            });
            n_in = outputs;
        }
        Ok(Self {
            inputs,
            in_offset,
            in_mult,
            layers,
        })
    }
}

struct Reader<'a> {
    b: &'a [u8],
    at: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize, what: &'static str) -> Result<&'a [u8], ModelError> {
        let end = self.at.checked_add(n).ok_or(ModelError::Truncated(what))?;
        let s = self
            .b
            .get(self.at..end)
            .ok_or(ModelError::Truncated(what))?;
        self.at = end;
        Ok(s)
    }
    fn dim(&mut self) -> Result<u32, ModelError> {
        let d = self.u32("dimensions")?;
        if d == 0 || d > MAX_DIM {
            return Err(ModelError::BadDimension(d));
        }
        Ok(d)
    }
    fn u32(&mut self, what: &'static str) -> Result<u32, ModelError> {
        let s = self.take(4, what)?;
        Ok(u32::from_le_bytes([s[0], s[1], s[2], s[3]]))
    }
    fn i32s(&mut self, n: usize, what: &'static str) -> Result<Vec<i32>, ModelError> {
        let s = self.take(n.checked_mul(4).ok_or(ModelError::Truncated(what))?, what)?;
        Ok(s.chunks_exact(4)
            .map(|c| i32::from_le_bytes([c[0], c[1], c[2], c[3]]))
            .collect())
    }
    fn i8s(&mut self, n: usize, what: &'static str) -> Result<Vec<i8>, ModelError> {
        Ok(self.take(n, what)?.iter().map(|&v| v as i8).collect())
    }
}
