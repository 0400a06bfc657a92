//! The model on a real data set (wine quality, `crates/worker/testdata`): it learns, its
//! integer inference is deterministic across runs and threads and matches a plain reference,
//! and its file round-trips and refuses damage.

// The reference is written with plain index loops on purpose.
#![allow(clippy::needless_range_loop)]

use lazai_model::{Dataset, ModelError, QuantizedMlp, TrainConfig, to_milli, train};

const WINE: &str = include_str!("../../worker/testdata/winequality-red.csv");

/// (train, held out): every fifth row is held out; label = quality >= 6.
fn wine() -> (Dataset, Dataset) {
    let (mut tr, mut te) = (Dataset::default(), Dataset::default());
    tr.classes = 2;
    te.classes = 2;
    for (i, line) in WINE.lines().skip(1).enumerate() {
        let v: Vec<f32> = line
            .split(',')
            .map(|x| x.trim().parse().expect("number"))
            .collect();
        let (x, q) = v.split_at(v.len() - 1);
        let d = if i % 5 == 0 { &mut te } else { &mut tr };
        d.features.push(x.to_vec());
        d.labels.push(u32::from(q[0] >= 6.0));
    }
    (tr, te)
}

fn accuracy(pred: impl Fn(&[f32]) -> u32, d: &Dataset) -> f64 {
    let ok = d
        .features
        .iter()
        .zip(&d.labels)
        .filter(|(x, l)| pred(x) == **l)
        .count();
    ok as f64 / d.labels.len() as f64
}

fn model() -> (QuantizedMlp, Dataset, f64) {
    let (tr, te) = wine();
    let f = train(&tr, &TrainConfig::default()).expect("trains");
    let float_acc = accuracy(|x| f.predict(x), &te);
    (QuantizedMlp::quantize(&f, &tr.features), te, float_acc)
}

#[test]
fn the_quantized_model_beats_the_majority_class_on_held_out_data() {
    let (q, te, float_acc) = model();
    let ones = te.labels.iter().filter(|&&l| l == 1).count() as f64 / te.labels.len() as f64;
    let baseline = ones.max(1.0 - ones);
    let int_acc = accuracy(|x| q.predict(&to_milli(x)).expect("predict"), &te);
    eprintln!("held-out accuracy: f32 {float_acc:.3}, int8 {int_acc:.3}, majority {baseline:.3}");
    assert!(float_acc > baseline + 0.1, "f32 {float_acc} vs {baseline}");
    assert!(int_acc > baseline + 0.1, "int8 {int_acc} vs {baseline}");
    assert!(
        (float_acc - int_acc).abs() < 0.05,
        "quantization lost too much"
    );
}

/// A plain reference: the same arithmetic written out naively (one hidden layer).
fn reference(q: &QuantizedMlp, x: &[i32]) -> Vec<i64> {
    let (h1, out) = (&q.layers[0], &q.layers[1]);
    let (ni, nh) = (q.inputs as usize, q.hidden() as usize);
    let mut xin = vec![0i64; ni];
    for t in 0..ni {
        let c = (i64::from(x[t]) - i64::from(q.in_offset[t])) * i64::from(q.in_mult[t]);
        xin[t] = ((c + (1 << 15)) >> 16).clamp(-127, 127);
    }
    let mut h = vec![0i64; nh];
    for j in 0..nh {
        let mut a = i64::from(h1.b[j]);
        for t in 0..ni {
            a += i64::from(h1.w[j * ni + t]) * xin[t];
        }
        if a < 0 {
            a = 0;
        }
        let r = (a * i64::from(h1.mult) + (1i64 << (h1.shift - 1))) >> h1.shift;
        h[j] = r.clamp(0, 127);
    }
    let mut out_v = Vec::new();
    for k in 0..q.classes() as usize {
        let mut a = i64::from(out.b[k]);
        for j in 0..nh {
            a += i64::from(out.w[k * nh + j]) * h[j];
        }
        out_v.push(a);
    }
    out_v
}

#[test]
fn integer_inference_is_identical_across_runs_threads_and_the_reference() {
    let (q, te, _) = model();
    let inputs: Vec<Vec<i32>> = te.features.iter().map(|x| to_milli(x)).collect();
    let once: Vec<Vec<i64>> = inputs
        .iter()
        .map(|x| q.logits(x).expect("logits"))
        .collect();
    for (x, l) in inputs.iter().zip(&once) {
        assert_eq!(&reference(&q, x), l);
    }
    let threads: Vec<_> = (0..4)
        .map(|_| {
            let (q, inputs) = (q.clone(), inputs.clone());
            std::thread::spawn(move || {
                inputs
                    .iter()
                    .map(|x| q.logits(x).expect("logits"))
                    .collect::<Vec<_>>()
            })
        })
        .collect();
    for t in threads {
        assert_eq!(t.join().expect("thread"), once);
    }
    // Training is deterministic for a seed too: the same file, the same hash.
    let (again, _, _) = model();
    assert_eq!(again.hash(), q.hash());
}

#[test]
fn the_model_file_round_trips_and_refuses_damage() {
    let (q, _, _) = model();
    let bytes = q.to_bytes();
    let back = QuantizedMlp::from_bytes(&bytes).expect("parses");
    assert_eq!(back, q);
    assert_eq!(back.hash(), q.hash());
    assert_eq!(
        QuantizedMlp::from_bytes(&bytes[..bytes.len() - 1]).expect_err("refused"),
        ModelError::Truncated("b2")
    );
    let mut long = bytes.clone();
    long.push(0);
    assert_eq!(
        QuantizedMlp::from_bytes(&long).expect_err("refused"),
        ModelError::TrailingBytes(1)
    );
    let mut bad = bytes.clone();
    bad[0] ^= 1;
    assert_eq!(
        QuantizedMlp::from_bytes(&bad).expect_err("refused"),
        ModelError::BadMagic
    );
    let mut huge = bytes.clone();
    huge[8..12].copy_from_slice(&u32::MAX.to_le_bytes());
    assert_eq!(
        QuantizedMlp::from_bytes(&huge).expect_err("refused"),
        ModelError::BadDimension(u32::MAX)
    );
    // Random bytes never panic the parser.
    let mut s = 0x9e3779b97f4a7c15u64;
    for len in 0..2000 {
        let mut b = MAGIC_PREFIX.to_vec();
        for _ in 0..len % 300 {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            b.push(s as u8);
        }
        let _ = QuantizedMlp::from_bytes(&b);
    }
    assert_eq!(
        q.predict(&[1, 2]).expect_err("refused"),
        ModelError::InputLength { got: 2, want: 11 }
    );
}

const MAGIC_PREFIX: &[u8] = lazai_model::MAGIC;
