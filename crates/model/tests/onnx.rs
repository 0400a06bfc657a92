//! ONNX import: the fixtures of `testdata/make_onnx.py` (an 11-16-8-6 ReLU MLP over the wine
//! features, exported as PyTorch and as scikit-learn write it) become integer models that
//! agree with the float model, and malformed files are refused with a reason.

use lazai_model::{MAGIC_V2, ModelError, QuantizedMlp, onnx, to_milli};

const WINE: &str = include_str!("../../worker/testdata/winequality-red.csv");
const GEMM: &[u8] = include_bytes!("../testdata/wine-gemm.onnx");
const MATMUL: &[u8] = include_bytes!("../testdata/wine-matmul.onnx");
/// numpy's float32 forward pass of the same weights: one predicted class per CSV row.
const LABELS: &str = include_str!("../testdata/wine-onnx.labels");

fn features() -> Vec<Vec<f32>> {
    WINE.lines()
        .skip(1)
        .map(|l| {
            let v: Vec<f32> = l
                .split(',')
                .map(|x| x.trim().parse().expect("number"))
                .collect();
            v[..v.len() - 1].to_vec()
        })
        .collect()
}

fn check(bytes: &[u8]) {
    let rows = features();
    let expected: Vec<u32> = LABELS.trim().bytes().map(|c| u32::from(c - b'0')).collect();
    assert_eq!(expected.len(), rows.len());
    let q = onnx::import(bytes, &rows).expect("imports");
    let widths: Vec<u32> = q.layers.iter().map(|d| d.outputs).collect();
    assert_eq!((q.inputs, widths), (11, vec![16, 8, 6]));
    // The float model as read (standardization folded in) matches numpy's forward pass.
    let f = onnx::float_net(bytes, &rows).expect("float model");
    let inside = |x: &[f32]| {
        x.iter()
            .zip(f.mean.iter().zip(&f.std))
            .all(|(v, (m, s))| ((v - m) / s).abs() <= 4.0)
    };
    for (x, e) in rows.iter().zip(&expected) {
        if inside(x) {
            assert_eq!(f.predict(x), *e, "row {x:?} within the clamp");
        }
    }
    let float_agree = rows
        .iter()
        .zip(&expected)
        .filter(|(x, e)| f.predict(x) == **e)
        .count();
    // The integer model matches it on most rows.
    let int_agree = rows
        .iter()
        .zip(&expected)
        .filter(|(x, e)| q.predict(&to_milli(x)).expect("predict") == **e)
        .count();
    eprintln!(
        "agreement with the float reference: f32 {float_agree}, int8 {int_agree} of {}",
        rows.len()
    );
    // (It differs only where a feature lies beyond 4 standard deviations, which the model
    // clamps, as trained models do.)
    assert!(float_agree * 100 >= rows.len() * 98, "f32 {float_agree}");
    assert!(int_agree * 10 >= rows.len() * 9, "int8 {int_agree}");
    // A version 2 file that round-trips.
    let bytes = q.to_bytes();
    assert_eq!(&bytes[..8], MAGIC_V2);
    let back = QuantizedMlp::from_bytes(&bytes).expect("parses");
    assert_eq!(back, q);
    assert_eq!(back.hash(), q.hash());
}

#[test]
fn a_pytorch_style_gemm_export_imports() {
    check(GEMM);
}

#[test]
fn a_scikit_learn_style_matmul_add_export_imports() {
    check(MATMUL);
}

fn onnx_err(bytes: &[u8]) -> String {
    match onnx::import(bytes, &features()) {
        Err(ModelError::Onnx(m)) => m,
        other => panic!("expected an ONNX error, got {other:?}"),
    }
}

#[test]
fn malformed_files_are_refused_with_a_reason() {
    // Truncated anywhere: an error, never a panic.
    for n in [1, 10, GEMM.len() / 2, GEMM.len() - 1] {
        assert!(onnx::import(&GEMM[..n], &features()).is_err(), "cut at {n}");
    }
    let m = onnx_err(&GEMM[..GEMM.len() / 2]);
    assert!(m.contains("protobuf") || m.contains("graph"), "{m}");
    // An unknown op is named.
    let sig = replace(GEMM, b"Relu", b"Tanh");
    assert!(onnx_err(&sig).contains("Tanh"), "{}", onnx_err(&sig));
    // Mismatched shapes: the second layer's weights declared 8 wide instead of 16.
    let bad = replace_dims(GEMM, "1.weight", &[8, 16], &[16, 8]);
    let m = onnx_err(&bad);
    assert!(m.contains("inputs"), "{m}");
    // Calibration rows of the wrong width.
    assert!(matches!(
        onnx::import(GEMM, &[vec![1.0; 3]]),
        Err(ModelError::Onnx(_))
    ));
    assert!(onnx_err(b"").contains("no graph"));
}

fn replace(b: &[u8], from: &[u8], to: &[u8]) -> Vec<u8> {
    assert_eq!(from.len(), to.len());
    let mut v = b.to_vec();
    let mut hits = 0;
    let mut i = 0;
    while i + from.len() <= v.len() {
        if &v[i..i + from.len()] == from {
            v[i..i + from.len()].copy_from_slice(to);
            hits += 1;
        }
        i += 1;
    }
    assert!(hits > 0);
    v
}

/// Swaps the dims of the initializer `name` (packed varints `dims` for `to`, same length).
fn replace_dims(b: &[u8], name: &str, from: &[u8], to: &[u8]) -> Vec<u8> {
    // dims field (1) as written by onnx.helper: unpacked, one `0x08 d` per dim.
    let mut f = Vec::new();
    for d in from {
        f.extend_from_slice(&[0x08, *d]);
    }
    let mut t = Vec::new();
    for d in to {
        t.extend_from_slice(&[0x08, *d]);
    }
    let at = b
        .windows(name.len())
        .position(|w| w == name.as_bytes())
        .expect("name");
    let start = at.saturating_sub(40);
    let pos = b[start..]
        .windows(f.len())
        .position(|w| w == f.as_slice())
        .expect("dims")
        + start;
    let mut v = b.to_vec();
    v[pos..pos + f.len()].copy_from_slice(&t);
    v
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(128))]

    /// Damaged files (bytes overwritten anywhere, or cut) give errors or models, never panics.
    #[test]
    fn damaged_files_never_panic(
        edits in proptest::collection::vec((0usize..4096, proptest::prelude::any::<u8>()), 1..6),
        cut in 0usize..4096,
    ) {
        let rows = features();
        let mut b = GEMM.to_vec();
        for (at, v) in edits {
            let n = b.len();
            b[at % n] = v;
        }
        let _ = onnx::import(&b, &rows[..50]);
        let _ = onnx::import(&b[..cut.min(b.len())], &rows[..50]);
    }
}
