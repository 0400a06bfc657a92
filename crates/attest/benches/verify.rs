//! Verifications per second for each platform: `cargo bench -p lazai-attest`.
//!
//! Each platform's vendor sample (`testdata/`) is verified repeatedly at a time inside its
//! window, on one thread, and the figure is printed with the gas the chain charges
//! ([`lazai_attest::verification_gas`]) and the gas that would match the measured time at the
//! chain's rate of 100 gas per microsecond.

use lazai_attest::{Options, Platform, binding, dev, samples, verification_gas, verify};
use std::time::{Duration, Instant};

fn main() {
    let rd = binding::report_data(1, alloy_primitives::Address::ZERO, &[0; 32], 0);
    let dev_quote = dev::Simulator::random().quote(&rd);
    let mut cases: Vec<(Platform, Vec<u8>, &[u8], u64)> = samples::all()
        .into_iter()
        .map(|s| (s.platform, s.evidence, s.collateral, s.at))
        .collect();
    cases.push((Platform::Dev, dev_quote, &[], 0));
    let budget = Duration::from_secs(
        std::env::var("LAZAI_BENCH_SECONDS")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or(2),
    );
    println!(
        "{:<8} {:>12} {:>14} {:>14} {:>12}",
        "platform", "verifies/s", "µs/verify", "gas charged", "gas at rate"
    );
    for (platform, evidence, collateral, at) in cases {
        let options = Options { allow_dev: true };
        verify(&evidence, collateral, at, options).expect("sample verifies");
        let start = Instant::now();
        let mut n = 0u64;
        while start.elapsed() < budget {
            for _ in 0..8 {
                std::hint::black_box(
                    verify(std::hint::black_box(&evidence), collateral, at, options).is_ok(),
                );
            }
            n += 8;
        }
        let secs = start.elapsed().as_secs_f64();
        let micros = secs * 1e6 / n as f64;
        println!(
            "{:<8} {:>12.0} {:>14.1} {:>14} {:>12.0}",
            platform.name(),
            n as f64 / secs,
            micros,
            verification_gas(platform),
            micros * 100.0
        );
    }
}
