//! Models of any depth: version 1 files still load with the same logits and hash, deeper
//! models round-trip as version 2, one hidden layer is computed exactly as version 1 was, and
//! no byte string panics the parser.

use lazai_model::{
    Dense, FloatDense, FloatNet, MAGIC, MAGIC_V2, MAX_PARAMS, ModelError, QuantizedMlp, to_milli,
};
use proptest::prelude::*;

const WINE: &str = include_str!("../../worker/testdata/winequality-red.csv");

/// Training and quantization give the same file as before the format gained layers.
#[test]
fn quantize_gives_the_version_1_fixture_byte_for_byte() {
    let mut d = lazai_model::Dataset {
        classes: 2,
        ..Default::default()
    };
    for line in WINE.lines().skip(1) {
        let v: Vec<f32> = line
            .split(',')
            .map(|x| x.trim().parse().expect("number"))
            .collect();
        let (x, q) = v.split_at(v.len() - 1);
        d.features.push(x.to_vec());
        d.labels.push(u32::from(q[0] >= 6.0));
    }
    let cfg = lazai_model::TrainConfig {
        hidden: 8,
        epochs: 5,
        ..Default::default()
    };
    let f = lazai_model::train(&d, &cfg).expect("trains");
    let q = QuantizedMlp::quantize(&f, &d.features);
    assert_eq!(
        q.to_bytes(),
        include_bytes!("../testdata/wine-v1.lzmlp").to_vec()
    );
    // And the float model reads the same as a one-hidden-layer FloatNet.
    let net = f.to_net();
    for x in d.features.iter().step_by(50) {
        assert_eq!(net.predict(x), f.predict(x));
    }
}

/// `wine-v1.lzmlp` (11-8-2) and `wine-v1.logits` were written by the version 1 encoder before
/// the format gained layers: `train` on the whole wine CSV (hidden 8, 5 epochs, seed 1),
/// `quantize`, `to_bytes`; the logits file holds the file's BLAKE3 and, for every 40th row,
/// its features in thousandths and the logits that code computed.
#[test]
fn version_1_files_load_with_the_same_logits_and_hash() {
    let bytes = include_bytes!("../testdata/wine-v1.lzmlp");
    let text = include_str!("../testdata/wine-v1.logits");
    let q = QuantizedMlp::from_bytes(bytes).expect("a version 1 file parses");
    assert_eq!(q.layers.len(), 2);
    assert_eq!((q.inputs, q.hidden(), q.classes()), (11, 8, 2));
    assert_eq!(
        q.to_bytes(),
        bytes.to_vec(),
        "re-encoded as the same version 1 bytes"
    );
    let mut lines = text.lines().skip(1);
    let hash = lines.next().expect("hash line");
    assert_eq!(blake3::Hash::from(q.hash()).to_hex().as_str(), hash);
    let mut rows = 0;
    for line in lines {
        let (x, l) = line.split_once(" : ").expect("row");
        let x: Vec<i32> = x.split(',').map(|v| v.parse().expect("int")).collect();
        let l: Vec<i64> = l.split(',').map(|v| v.parse().expect("int")).collect();
        assert_eq!(q.logits(&x).expect("logits"), l);
        rows += 1;
    }
    assert_eq!(rows, 40);
}

fn xorshift(s: &mut u64) -> u64 {
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    *s
}

/// A random float model with the given widths (inputs first).
fn float_net(widths: &[usize], seed: u64) -> FloatNet {
    let mut s = seed.max(1);
    let mut unit = move || (xorshift(&mut s) >> 40) as f32 / (1u64 << 23) as f32 - 1.0;
    let layers = widths
        .windows(2)
        .map(|w| FloatDense {
            inputs: w[0],
            outputs: w[1],
            w: (0..w[0] * w[1]).map(|_| unit()).collect(),
            b: (0..w[1]).map(|_| unit() * 0.1).collect(),
        })
        .collect();
    FloatNet {
        inputs: widths[0],
        mean: (0..widths[0]).map(|i| i as f32).collect(),
        std: (0..widths[0]).map(|i| 1.0 + i as f32 / 4.0).collect(),
        layers,
    }
}

fn rows(n: usize, width: usize, seed: u64) -> Vec<Vec<f32>> {
    let mut s = seed.max(1);
    (0..n)
        .map(|_| {
            (0..width)
                .map(|i| i as f32 + ((xorshift(&mut s) >> 40) as f32 / (1u64 << 22) as f32 - 2.0))
                .collect()
        })
        .collect()
}

#[test]
fn a_three_hidden_layer_model_round_trips_as_version_2() {
    let f = float_net(&[7, 12, 9, 5, 3], 42);
    let calib = rows(200, 7, 7);
    let q = QuantizedMlp::quantize_net(&f, &calib).expect("quantizes");
    assert_eq!(q.layers.len(), 4);
    assert_eq!(
        q.parameters(),
        7 * 12 + 12 + 12 * 9 + 9 + 9 * 5 + 5 + 5 * 3 + 3
    );
    let bytes = q.to_bytes();
    assert_eq!(&bytes[..8], MAGIC_V2);
    let back = QuantizedMlp::from_bytes(&bytes).expect("parses");
    assert_eq!(back, q);
    assert_eq!(back.hash(), q.hash());
    assert_eq!(back.to_bytes(), bytes);
    // The integer model follows its float model on most rows.
    let agree = calib
        .iter()
        .filter(|x| q.predict(&to_milli(x)).expect("predict") == f.predict(x))
        .count();
    assert!(agree * 10 >= calib.len() * 8, "{agree} of {}", calib.len());
    // Damage is refused with the layer it hit.
    assert_eq!(
        QuantizedMlp::from_bytes(&bytes[..bytes.len() - 1]).expect_err("refused"),
        ModelError::Truncated("biases")
    );
    let mut long = bytes.clone();
    long.push(0);
    assert_eq!(
        QuantizedMlp::from_bytes(&long).expect_err("refused"),
        ModelError::TrailingBytes(1)
    );
}

#[test]
fn headers_beyond_the_limits_are_refused_before_any_allocation() {
    let header = |layers: u32, widths: &[u32]| {
        let mut b = MAGIC_V2.to_vec();
        b.extend_from_slice(&1024u32.to_le_bytes());
        b.extend_from_slice(&layers.to_le_bytes());
        for w in widths {
            b.extend_from_slice(&w.to_le_bytes());
        }
        b
    };
    assert_eq!(
        QuantizedMlp::from_bytes(&header(2, &[4, 2])).expect_err("refused"),
        ModelError::BadLayerCount(2),
        "one hidden layer is written as version 1 only"
    );
    assert_eq!(
        QuantizedMlp::from_bytes(&header(u32::MAX, &[])).expect_err("refused"),
        ModelError::BadLayerCount(u32::MAX)
    );
    let params = 1024 * 1024 * 5 + 1024 * 5 + 1024 * 10 + 10;
    assert!(params > MAX_PARAMS);
    assert_eq!(
        QuantizedMlp::from_bytes(&header(6, &[1024, 1024, 1024, 1024, 1024, 10]))
            .expect_err("refused"),
        ModelError::TooManyParameters(params)
    );
    assert_eq!(
        QuantizedMlp::from_bytes(&header(3, &[8, 0, 2])).expect_err("refused"),
        ModelError::BadDimension(0)
    );
}

#[test]
fn hand_built_inconsistent_models_are_errors_not_panics() {
    let f = float_net(&[3, 4, 4, 2], 3);
    let q = QuantizedMlp::quantize_net(&f, &rows(20, 3, 1)).expect("quantizes");
    let mut bad = q.clone();
    bad.layers[1].w.pop();
    assert!(matches!(
        bad.logits(&[0, 0, 0]),
        Err(ModelError::Inconsistent(_))
    ));
    let mut bad = q.clone();
    bad.layers[2].shift = 3;
    assert!(matches!(
        bad.logits(&[0, 0, 0]),
        Err(ModelError::Inconsistent(_))
    ));
    let mut bad = q;
    bad.layers.clear();
    assert_eq!(bad.logits(&[0, 0, 0]), Err(ModelError::BadLayerCount(0)));
}

/// The version 1 arithmetic, written out for a model with one hidden layer.
fn v1_logits(q: &QuantizedMlp, x: &[i32]) -> Vec<i64> {
    let (h, o): (&Dense, &Dense) = (&q.layers[0], &q.layers[1]);
    let xin: Vec<i64> = x
        .iter()
        .zip(q.in_offset.iter().zip(&q.in_mult))
        .map(|(&v, (&off, &m))| {
            (((i64::from(v) - i64::from(off)) * i64::from(m) + (1 << 15)) >> 16).clamp(-127, 127)
        })
        .collect();
    let hid: Vec<i64> = (0..h.outputs as usize)
        .map(|j| {
            let mut a = i64::from(h.b[j]);
            for (t, xv) in xin.iter().enumerate() {
                a += i64::from(h.w[j * xin.len() + t]) * xv;
            }
            ((a.max(0) * i64::from(h.mult) + (1i64 << (h.shift - 1))) >> h.shift).clamp(0, 127)
        })
        .collect();
    (0..o.outputs as usize)
        .map(|k| {
            let mut a = i64::from(o.b[k]);
            for (j, hv) in hid.iter().enumerate() {
                a += i64::from(o.w[k * hid.len() + j]) * hv;
            }
            a
        })
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn random_bytes_never_panic_the_parser(
        version in 0u8..3,
        body in proptest::collection::vec(any::<u8>(), 0..400),
    ) {
        let mut b = if version == 0 { Vec::new() } else if version == 1 { MAGIC.to_vec() } else { MAGIC_V2.to_vec() };
        b.extend_from_slice(&body);
        if let Ok(q) = QuantizedMlp::from_bytes(&b) {
            prop_assert_eq!(q.to_bytes(), b);
        }
    }

    #[test]
    fn small_version_2_headers_with_random_bodies_never_panic(
        widths in proptest::collection::vec(1u32..5, 1..5),
        body in proptest::collection::vec(any::<u8>(), 0..300),
    ) {
        let mut b = MAGIC_V2.to_vec();
        b.extend_from_slice(&3u32.to_le_bytes());
        b.extend_from_slice(&(widths.len() as u32).to_le_bytes());
        for w in &widths {
            b.extend_from_slice(&w.to_le_bytes());
        }
        b.extend_from_slice(&body);
        if let Ok(q) = QuantizedMlp::from_bytes(&b) {
            prop_assert_eq!(q.to_bytes(), b);
            let _ = q.logits(&[1, -2, 3]);
        }
    }

    #[test]
    fn one_hidden_layer_gives_the_version_1_logits_bit_for_bit(
        seed in 1u64..u64::MAX,
        inputs in 1usize..12,
        hidden in 1usize..20,
        classes in 2usize..6,
        x in proptest::collection::vec(-1_000_000i32..1_000_000, 12),
    ) {
        let f = float_net(&[inputs, hidden, classes], seed);
        let q = QuantizedMlp::quantize_net(&f, &rows(30, inputs, seed ^ 5)).expect("quantizes");
        let back = QuantizedMlp::from_bytes(&q.to_bytes()).expect("parses");
        prop_assert_eq!(&q.to_bytes()[..8], MAGIC);
        let x = &x[..inputs];
        prop_assert_eq!(back.logits(x).expect("logits"), v1_logits(&q, x));
    }
}
