//! The float side: labelled data, training of the one-hidden-layer MLP, and float networks of
//! any depth (what an ONNX file holds) that [`crate::QuantizedMlp`] quantizes.

use crate::spec::{INPUT_RANGE, MAX_DIM, MAX_LAYERS, MAX_PARAMS, ModelError};

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
    pub(crate) fn standardize(&self, x: &[f32]) -> Vec<f32> {
        x.iter()
            .zip(self.mean.iter().zip(&self.std))
            .map(|(v, (m, s))| ((v - m) / s).clamp(-INPUT_RANGE, INPUT_RANGE))
            .collect()
    }

    pub(crate) fn hidden_of(&self, z: &[f32]) -> Vec<f32> {
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
    pub(crate) fn standardize(&self, x: &[f32]) -> Vec<f32> {
        x.iter()
            .zip(self.mean.iter().zip(&self.std))
            .map(|(v, (m, s))| ((v - m) / s).clamp(-INPUT_RANGE, INPUT_RANGE))
            .collect()
    }

    /// Every layer's output on raw features: hidden activations (after ReLU), then the logits.
    pub(crate) fn activations(&self, x: &[f32]) -> Vec<Vec<f32>> {
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
    pub(crate) fn check(&self) -> Result<(), ModelError> {
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
