//! `lazai-bench zk`: proof of inference for integer MLPs — constraints, setup and prove time,
//! native verification time, the chain's verification gas and the process's peak memory, for
//! (a) the demo's wine model (trained as the demo trains it), (b) a 784-56-10 MLP (MNIST
//! size) and (c) the largest dense MLP of a ladder of sizes that proves within the budget.
//!
//! The (b) and (c) models are float networks with seeded random weights quantized by
//! `QuantizedMlp::quantize_net` on 64 random inputs: what a proof costs depends on the
//! shapes and the requantization ranges, not on what the weights learned.

use anyhow::{Result, bail};
use ark_bn254::Fr;
use lazai_model::{FloatDense, FloatNet, QuantizedMlp, TrainConfig, train};
use std::time::{Duration, Instant};

/// `lazai-bench zk`.
#[derive(clap::Args, Debug)]
pub struct ZkArgs {
    /// Proofs per model for (a) and (b) (the median is printed).
    #[arg(long, default_value_t = 5)]
    pub proofs: usize,
    /// Prove-time budget, in seconds, for (c): the ladder stops at the first model over it.
    #[arg(long, default_value_t = 60)]
    pub budget_secs: u64,
    /// Leave out (c).
    #[arg(long)]
    pub skip_largest: bool,
}

/// Small deterministic generator (xorshift64*), for the random models.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// Uniform in [-1, 1).
    fn unit(&mut self) -> f32 {
        (self.next() >> 40) as f32 / (1u64 << 23) as f32 - 1.0
    }
}

/// The demo's model: its wine data, trained as the demo trains it.
fn wine_model() -> Result<QuantizedMlp> {
    let d = lazai_cli::devnet::demo::wine_dataset();
    let f = train(
        &d,
        &TrainConfig {
            epochs: 5,
            ..TrainConfig::default()
        },
    )?;
    Ok(QuantizedMlp::quantize(&f, &d.features))
}

/// A dense ReLU MLP of `widths` (inputs first) with seeded random weights, quantized.
pub fn random_mlp(widths: &[usize], seed: u64) -> Result<QuantizedMlp> {
    let mut rng = Rng(seed | 1);
    let inputs = widths[0];
    let layers = widths
        .windows(2)
        .map(|w| {
            let scale = (2.0 / w[0] as f32).sqrt();
            FloatDense {
                inputs: w[0],
                outputs: w[1],
                w: (0..w[0] * w[1]).map(|_| rng.unit() * scale).collect(),
                b: (0..w[1]).map(|_| rng.unit() * 0.1).collect(),
            }
        })
        .collect();
    let net = FloatNet {
        inputs,
        mean: vec![0.0; inputs],
        std: vec![1.0; inputs],
        layers,
    };
    let calibration: Vec<Vec<f32>> = (0..64)
        .map(|_| (0..inputs).map(|_| rng.unit() * 2.0).collect())
        .collect();
    Ok(QuantizedMlp::quantize_net(&net, &calibration)?)
}

/// The process's peak resident memory so far (VmHWM), in MiB.
fn peak_mib() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1).map(str::to_owned))
        })
        .and_then(|kb| kb.parse::<f64>().ok())
        .map_or(0.0, |kb| kb / 1024.0)
}

struct Row {
    name: String,
    params: u64,
    constraints: usize,
    setup: Duration,
    prove: Duration,
    verify: Duration,
    gas: u64,
    peak: f64,
}

fn measure(name: &str, model: &QuantizedMlp, proofs: usize) -> Result<Row> {
    let size = lazai_zkml::size(model)?;
    let t = Instant::now();
    let keys = lazai_zkml::dev_setup(model)?;
    let setup = t.elapsed();
    let mut rng = Rng(7);
    let mut times = Vec::new();
    let mut last = None;
    for i in 0..proofs.max(1) {
        let q: Vec<i8> = (0..model.inputs)
            .map(|_| ((rng.next() % 255) as i16 - 127) as i8)
            .collect();
        let t = Instant::now();
        let (proof, st) = lazai_zkml::prove(
            &keys,
            model,
            &q,
            Fr::from(rng.next()),
            Fr::from(i as u64 + 1),
        )?;
        times.push(t.elapsed());
        last = Some((proof, st));
    }
    times.sort();
    let Some((proof, st)) = last else {
        bail!("no proof");
    };
    let signals = st.public_signals();
    let runs = 20u32;
    let t = Instant::now();
    for _ in 0..runs {
        if !lazai_zk::verify(&keys.verifying, &proof, &signals)? {
            bail!("{name}: the proof does not verify");
        }
    }
    Ok(Row {
        name: name.to_owned(),
        params: model.parameters(),
        constraints: size.constraints,
        setup,
        prove: times[times.len() / 2],
        verify: t.elapsed() / runs,
        gas: lazai_zk::verify_gas(signals.len()),
        peak: peak_mib(),
    })
}

fn print(r: &Row) {
    println!(
        "{:<26} {:>9} {:>11} {:>9.2} s {:>9.3} s {:>8.2} ms {:>9} {:>9.0} MiB",
        r.name,
        r.params,
        r.constraints,
        r.setup.as_secs_f64(),
        r.prove.as_secs_f64(),
        r.verify.as_secs_f64() * 1e3,
        r.gas,
        r.peak
    );
}

pub fn run(args: ZkArgs) -> Result<()> {
    println!(
        "proof of inference, Groth16 over BN254 (arkworks), {} threads; prove = median of {} \
         (the ladder: one each); gas = the Verifier's pairing-check charge",
        rayon::current_num_threads(),
        args.proofs
    );
    println!(
        "{:<26} {:>9} {:>11} {:>11} {:>11} {:>11} {:>9} {:>13}",
        "model", "params", "constraints", "setup", "prove", "verify", "gas", "peak memory"
    );
    let wine = wine_model()?;
    let name = format!(
        "(a) wine {}",
        std::iter::once(wine.inputs)
            .chain(wine.layers.iter().map(|d| d.outputs))
            .map(|w| w.to_string())
            .collect::<Vec<_>>()
            .join("-")
    );
    print(&measure(&name, &wine, args.proofs)?);
    print(&measure(
        "(b) 784-56-10",
        &random_mlp(&[784, 56, 10], 1)?,
        args.proofs,
    )?);
    if args.skip_largest {
        return Ok(());
    }
    let ladder: [&[usize]; 6] = [
        &[784, 256, 10],
        &[784, 512, 512, 10],
        &[1024, 1024, 10],
        &[1024, 1024, 1024, 10],
        &[1024, 1024, 1024, 1024, 10],
        &[1024, 1024, 1024, 1024, 1000, 10],
    ];
    let mut best = None;
    for widths in ladder {
        let name = format!(
            "(c) {}",
            widths
                .iter()
                .map(|w| w.to_string())
                .collect::<Vec<_>>()
                .join("-")
        );
        let model = match random_mlp(widths, 2) {
            Ok(m) => m,
            Err(e) => {
                println!("{name}: not a valid model ({e})");
                break;
            }
        };
        let row = measure(&name, &model, 1)?;
        print(&row);
        if row.prove > Duration::from_secs(args.budget_secs) {
            println!("over the {} s budget: the ladder stops", args.budget_secs);
            break;
        }
        best = Some(row.name);
    }
    if let Some(name) = best {
        println!("largest proved within {} s: {name}", args.budget_secs);
    }
    Ok(())
}
