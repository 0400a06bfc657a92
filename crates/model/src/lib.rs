//! A small multilayer perceptron for tabular data, trained in f32 and served in integers.
//!
//! - [`train`]: one hidden ReLU layer, softmax cross-entropy, plain SGD with momentum over
//!   standardized features; deterministic for a seed (its own xorshift generator).
//! - [`QuantizedMlp::quantize`]: int8 weights (one scale per layer), int32 biases and
//!   accumulators, a fixed-point requantization `(acc · M + 2^(s-1)) >> s` between layers,
//!   integer input quantization from features given in thousandths (`x · 1000`, rounded).
//! - [`QuantizedMlp::predict`]: integers only, so every machine gives the same logits, which is
//!   what lets a ZK proof or an optimistic re-execution check it.
//! - [`QuantizedMlp::to_bytes`] / [`QuantizedMlp::from_bytes`]: the model file (format below)
//!   and [`QuantizedMlp::hash`] (BLAKE3 of the file).
//!
//! Model file, little-endian: `"LZMLP\0\0\x01"` (magic and version 1) ‖ in, hidden, classes
//! (u32 each) ‖ input offsets (i32 × in, thousandths) ‖ input multipliers (i32 × in, Q16) ‖
//! w1 (i8 × hidden·in, row-major by hidden unit) ‖ b1 (i32 × hidden) ‖ requant multiplier
//! (i32) and shift (u8) ‖ w2 (i8 × classes·hidden) ‖ b2 (i32 × classes).

/// Magic and format version at the start of a model file.
pub const MAGIC: &[u8; 8] = b"LZMLP\0\0\x01";
/// Most inputs, hidden units or classes a model file may declare.
pub const MAX_DIM: u32 = 1024;
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
    let mut mean = vec![0f32; inputs];
    for f in &data.features {
        for (m, v) in mean.iter_mut().zip(f) {
            *m += v / n as f32;
        }
    }
    let mut std = vec![0f32; inputs];
    for f in &data.features {
        for ((s, v), m) in std.iter_mut().zip(f).zip(&mean) {
            *s += (v - m) * (v - m) / n as f32;
        }
    }
    for s in &mut std {
        *s = s.sqrt().max(1e-3);
    }
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

/// The integer model.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct QuantizedMlp {
    pub inputs: u32,
    pub hidden: u32,
    pub classes: u32,
    /// Per input: the mean, in thousandths.
    pub in_offset: Vec<i32>,
    /// Per input: Q16 multiplier from thousandths to the int8 input scale.
    pub in_mult: Vec<i32>,
    pub w1: Vec<i8>,
    pub b1: Vec<i32>,
    /// Hidden requantization: `q_h = clamp((acc · mult + 2^(shift-1)) >> shift, 0, 127)`.
    pub mult: i32,
    pub shift: u8,
    pub w2: Vec<i8>,
    pub b2: Vec<i32>,
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

/// Rounds `(acc · mult) / 2^shift` to nearest, in i64.
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
        let s_in = INPUT_RANGE / 127.0;
        let (w1, s_w1) = quantize_weights(&m.w1);
        let (w2, s_w2) = quantize_weights(&m.w2);
        let mut max_h = 1e-6f32;
        for x in calibration {
            for h in m.hidden_of(&m.standardize(x)) {
                max_h = max_h.max(h);
            }
        }
        let s_h = max_h / 127.0;
        let (mult, shift) = fixed_point((s_w1 * s_in / s_h) as f64);
        Self {
            inputs: m.inputs as u32,
            hidden: m.hidden as u32,
            classes: m.classes as u32,
            in_offset: m.mean.iter().map(|v| (v * 1000.0).round() as i32).collect(),
            in_mult: m
                .std
                .iter()
                .map(|s| (65536.0 / (1000.0 * s * s_in) as f64).round() as i32)
                .collect(),
            w1,
            b1: m
                .b1
                .iter()
                .map(|b| (b / (s_w1 * s_in)).round() as i32)
                .collect(),
            mult,
            shift,
            w2,
            b2: m
                .b2
                .iter()
                .map(|b| (b / (s_w2 * s_h)).round() as i32)
                .collect(),
        }
    }

    /// The int8 input of features in thousandths.
    pub fn quantize_input(&self, x: &[i32]) -> Result<Vec<i8>, ModelError> {
        if x.len() != self.inputs as usize {
            return Err(ModelError::InputLength {
                got: x.len(),
                want: self.inputs as usize,
            });
        }
        Ok(x.iter()
            .zip(self.in_offset.iter().zip(&self.in_mult))
            .map(|(&v, (&o, &mlt))| {
                let centered = i64::from(v) - i64::from(o);
                requant(centered, i64::from(mlt), 16).clamp(-127, 127) as i8
            })
            .collect())
    }

    /// Integer logits of features in thousandths.
    pub fn logits(&self, x: &[i32]) -> Result<Vec<i64>, ModelError> {
        let q = self.quantize_input(x)?;
        let (n_in, n_h) = (self.inputs as usize, self.hidden as usize);
        let mut h = vec![0i64; n_h];
        for (j, hj) in h.iter_mut().enumerate() {
            let mut acc = i64::from(self.b1[j]);
            for (t, &xq) in q.iter().enumerate() {
                acc += i64::from(self.w1[j * n_in + t]) * i64::from(xq);
            }
            *hj = requant(acc.max(0), i64::from(self.mult), self.shift).clamp(0, 127);
        }
        Ok((0..self.classes as usize)
            .map(|k| {
                let mut acc = i64::from(self.b2[k]);
                for (j, &hj) in h.iter().enumerate() {
                    acc += i64::from(self.w2[k * n_h + j]) * hj;
                }
                acc
            })
            .collect())
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

    /// The model file.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = MAGIC.to_vec();
        for d in [self.inputs, self.hidden, self.classes] {
            out.extend_from_slice(&d.to_le_bytes());
        }
        let ints = |out: &mut Vec<u8>, v: &[i32]| {
            for x in v {
                out.extend_from_slice(&x.to_le_bytes());
            }
        };
        ints(&mut out, &self.in_offset);
        ints(&mut out, &self.in_mult);
        out.extend(self.w1.iter().map(|&w| w as u8));
        ints(&mut out, &self.b1);
        out.extend_from_slice(&self.mult.to_le_bytes());
        out.push(self.shift);
        out.extend(self.w2.iter().map(|&w| w as u8));
        ints(&mut out, &self.b2);
        out
    }

    /// BLAKE3 of the model file.
    pub fn hash(&self) -> [u8; 32] {
        *blake3::hash(&self.to_bytes()).as_bytes()
    }

    /// Parses a model file, checking every length.
    pub fn from_bytes(b: &[u8]) -> Result<Self, ModelError> {
        let mut r = Reader { b, at: 0 };
        if r.take(8, "magic")? != MAGIC {
            return Err(ModelError::BadMagic);
        }
        let dim = |r: &mut Reader<'_>| -> Result<u32, ModelError> {
            let d = r.u32("dimensions")?;
            if d == 0 || d > MAX_DIM {
                return Err(ModelError::BadDimension(d));
            }
            Ok(d)
        };
        let (inputs, hidden, classes) = (dim(&mut r)?, dim(&mut r)?, dim(&mut r)?);
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
        if r.at != b.len() {
            return Err(ModelError::TrailingBytes(b.len() - r.at));
        }
        Ok(Self {
            inputs,
            hidden,
            classes,
            in_offset,
            in_mult,
            w1,
            b1,
            mult,
            shift,
            w2,
            b2,
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
