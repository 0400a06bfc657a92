//! Measures native Groth16 verification time for 1, 4 and 16 public inputs, the figures
//! `VERIFY_GAS_BASE` and `VERIFY_GAS_PER_INPUT` are set against.
//!
//! `cargo run -p lazai-zk --example verify_time` (the dev profile builds dependencies, where
//! the pairing arithmetic lives, at opt-level 2). The key is the snarkjs fixture's with its
//! IC points repeated to the wanted count; the work of a verification does not depend on
//! whether it succeeds, so the failing checks of these made-up keys time the same.
//!
//! Besides wall time it reports the thread's on-CPU time (Linux `/proc/thread-self/schedstat`),
//! which stays meaningful on a machine shared with other work.

use std::time::Instant;

use lazai_zk::{Fr, G1_LEN, Proof, VK_FIXED_LEN, VerifyingKey, verify, verify_gas};

fn main() {
    let vk = VerifyingKey::from_snarkjs_json(include_str!("../testdata/verification_key.json"))
        .expect("fixture key");
    let proof = Proof::from_snarkjs_json(include_str!("../testdata/proof.json")).expect("proof");
    let base = vk.to_bytes();
    let ic: Vec<&[u8]> = base[VK_FIXED_LEN..].chunks(G1_LEN).collect();
    let mut rows = Vec::new();
    for n in [0usize, 1, 4, 16] {
        let mut b = base[..VK_FIXED_LEN - 4].to_vec();
        b.extend_from_slice(&((n + 1) as u32).to_be_bytes());
        for i in 0..=n {
            b.extend_from_slice(ic[i % ic.len()]);
        }
        let key = VerifyingKey::from_bytes(&b).expect("key");
        // Full-width scalars (-(i + 1) mod r), the costliest multiplications.
        let inputs: Vec<Fr> = (0..n as u64).map(|i| -Fr::from(i + 1)).collect();
        let _ = verify(&key, &proof, &inputs);
        let runs = 100;
        let cpu_start = cpu_ns();
        let start = Instant::now();
        for _ in 0..runs {
            std::hint::black_box(verify(&key, &proof, &inputs).expect("count"));
        }
        let wall_us = start.elapsed().as_secs_f64() * 1e6 / f64::from(runs);
        let us = match (cpu_start, cpu_ns()) {
            (Some(a), Some(b)) => (b - a) as f64 / 1e3 / f64::from(runs),
            _ => wall_us,
        };
        rows.push((n, us));
        println!(
            "{n:>2} public inputs: {us:>8.1} µs on CPU ({wall_us:.1} µs wall) per verify, {} gas, {:.0} gas/µs",
            verify_gas(n),
            verify_gas(n) as f64 / us
        );
    }
    if let (Some((_, t0)), Some((_, t16))) = (rows.first(), rows.last()) {
        println!("fit: {t0:.1} µs + {:.1} µs per input", (t16 - t0) / 16.0);
    }
}

/// Nanoseconds this thread has run on a CPU, where Linux tells.
fn cpu_ns() -> Option<u64> {
    let s = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    s.split_whitespace().next()?.parse().ok()
}
