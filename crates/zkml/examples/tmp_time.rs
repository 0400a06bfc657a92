use ark_bn254::Fr;
use std::time::Instant;
fn main() {
    let widths: Vec<usize> = std::env::args().nth(1).unwrap_or("784,56,10".into()).split(',').map(|s| s.parse().unwrap()).collect();
    let mut layers = Vec::new();
    let mut seed = 12345u64;
    let mut next = || { seed ^= seed << 13; seed ^= seed >> 7; seed ^= seed << 17; seed };
    for w in widths.windows(2) {
        let last = layers.len() + 2 == widths.len();
        layers.push(lazai_model::Dense { inputs: w[0] as u32, outputs: w[1] as u32,
            w: (0..w[0]*w[1]).map(|_| ((next() % 255) as i16 - 127) as i8).collect(),
            b: (0..w[1]).map(|_| (next() % 1000) as i32 - 500).collect(),
            mult: if last {0} else {1 << 20}, shift: if last {0} else {40} });
    }
    let m = lazai_model::QuantizedMlp { inputs: widths[0] as u32, in_offset: vec![0; widths[0]], in_mult: vec![1<<16; widths[0]], layers };
    m.check().unwrap();
    println!("{:?}", lazai_zkml::size(&m).unwrap());
    let t = Instant::now();
    let keys = lazai_zkml::dev_setup(&m).unwrap();
    println!("setup {:?}", t.elapsed());
    let q: Vec<i8> = (0..widths[0]).map(|i| ((i % 255) as i16 - 127) as i8).collect();
    for _ in 0..3 {
        let t = Instant::now();
        let (p, st) = lazai_zkml::prove(&keys, &m, &q, Fr::from(5u64), Fr::from(1u64)).unwrap();
        println!("prove {:?}", t.elapsed());
        let t = Instant::now();
        assert!(lazai_zk::verify(&keys.verifying, &p, &st.public_signals()).unwrap());
        println!("verify {:?}", t.elapsed());
    }
}
