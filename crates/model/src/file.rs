//! The model file: [`QuantizedMlp::to_bytes`], [`QuantizedMlp::from_bytes`] and
//! [`QuantizedMlp::hash`] (formats in the crate docs).

use crate::spec::{MAGIC, MAGIC_V2, MAX_DIM, MAX_LAYERS, MAX_PARAMS, ModelError};
use crate::{Dense, QuantizedMlp};

impl QuantizedMlp {
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
