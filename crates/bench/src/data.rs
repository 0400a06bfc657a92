//! `lazai-bench data`: the two throughputs of a data contribution.
//!
//! 1. **Contribute.** A CSV file of `--size` MiB (the wine-quality rows, repeated with a
//!    varying column so every row is distinct) is written under `--dir`, then contributed as
//!    `lazai data contribute` does it — encrypt in chunks over both cores, Merkle-commit the
//!    ciphertext, commit the plaintext, seal the data key with HPKE, upload to a local blob
//!    store — and timed; encryption + commitment alone (file to file) is timed too. With
//!    `--compare`, `age` and `gpg --symmetric --cipher-algo AES256` encrypt the same file when
//!    they are on the PATH.
//! 2. **Verify.** The worker's verification of that blob: fetch it from the store checked
//!    against its root, unseal the key, decrypt and score every row against the wine schema
//!    with the same pipeline the worker runs; rows per second.
//!
//! Every figure is the best of `--runs` runs. The input was just written, so it is read from the
//! page cache; `--dir` defaults to `/dev/shm` where it exists so writes measure the pipeline, not
//! the disk.

use anyhow::{Context as _, Result, bail};
use clap::Args;
use lazai_blob::{BlobStore, Fetcher};
use lazai_cli::devnet::demo::{WINE, WINE_SCHEMA};
use lazai_cli::kit::units::megabytes_per_second as mbps;
use lazai_crypto::{EncryptParams, encrypt_file, generate_keypair};
use lazai_worker::verify::{FetchFailure, FileInput, fetch, score_blob};
use lazai_worker::{Limits, Schema, contribute};
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

#[derive(Args, Debug, Clone)]
pub struct DataArgs {
    /// Size of the generated CSV file, in MiB.
    #[arg(long, default_value_t = 1024)]
    pub size: u64,
    /// Runs of each measurement (the best is reported).
    #[arg(long, default_value_t = 3)]
    pub runs: usize,
    /// Directory for the input, the ciphertext and the blob store (default: /dev/shm if it
    /// exists, else the system temporary directory).
    #[arg(long)]
    pub dir: Option<PathBuf>,
    /// Also time `age` and `gpg --symmetric --cipher-algo AES256` on the same file.
    #[arg(long)]
    pub compare: bool,
}

/// The best of `runs` timings of `f`.
fn best<T>(runs: usize, mut f: impl FnMut() -> Result<T>) -> Result<(Duration, T)> {
    let mut best: Option<(Duration, T)> = None;
    for _ in 0..runs.max(1) {
        let started = Instant::now();
        let out = f()?;
        let took = started.elapsed();
        if best.as_ref().is_none_or(|(b, _)| took < *b) {
            best = Some((took, out));
        }
    }
    best.context("no run")
}

/// Writes a CSV of at least `bytes` bytes: the wine header, then its rows again and again,
/// each repetition adding its number to "total sulfur dioxide" (column 7) so no two rows are
/// equal. Returns the number of data rows.
fn write_input(path: &Path, bytes: u64) -> Result<u64> {
    let mut lines = WINE.lines();
    let header = lines.next().context("wine header")?;
    let rows: Vec<Vec<&str>> = lines.map(|l| l.split(',').collect()).collect();
    let mut out = std::io::BufWriter::with_capacity(1 << 20, std::fs::File::create(path)?);
    writeln!(out, "{header}")?;
    let (mut written, mut count, mut rep) = (header.len() as u64 + 1, 0u64, 0u64);
    while written < bytes {
        for fields in &rows {
            let mut line = String::with_capacity(128);
            for (i, f) in fields.iter().enumerate() {
                if i > 0 {
                    line.push(',');
                }
                if i == 6 {
                    line.push_str(
                        &(rep * 1000 + f.parse::<f64>().unwrap_or(0.0) as u64).to_string(),
                    );
                } else {
                    line.push_str(f);
                }
            }
            line.push('\n');
            out.write_all(line.as_bytes())?;
            written += line.len() as u64;
            count += 1;
        }
        rep += 1;
    }
    out.flush()?;
    Ok(count)
}

fn tool_on_path(name: &str) -> bool {
    Command::new(name)
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok()
}

fn run_tool(cmd: &mut Command) -> Result<()> {
    let status = cmd.stdin(Stdio::null()).stdout(Stdio::null()).status()?;
    if !status.success() {
        bail!("{cmd:?} exited with {status}");
    }
    Ok(())
}

/// `age` and `gpg --symmetric` encrypting the same input, where they are on the PATH.
fn compare_tools(dir: &Path, input: &Path, size: u64, runs: usize) -> Result<()> {
    let age_out = dir.join("out.age");
    if tool_on_path("age") {
        let (took, _) = best(runs, || {
            let _ = std::fs::remove_file(&age_out);
            run_tool(
                Command::new("age")
                    .args(["-r", AGE_RECIPIENT, "-o"])
                    .arg(&age_out)
                    .arg(input),
            )
        })?;
        println!(
            "age -r (X25519, ChaCha20-Poly1305)                                   {:>8.0} MB/s  ({:.2} s)",
            mbps(size, took),
            took.as_secs_f64()
        );
        let _ = std::fs::remove_file(&age_out);
    } else {
        println!("age: not on the PATH (apt install age)");
    }
    if tool_on_path("gpg") {
        let home = dir.join("gnupg");
        std::fs::create_dir_all(&home)?;
        let gpg_out = dir.join("out.gpg");
        let (took, _) = best(runs, || {
            run_tool(
                Command::new("gpg")
                    .arg("--homedir")
                    .arg(&home)
                    .args([
                        "--batch",
                        "--yes",
                        "--quiet",
                        "--pinentry-mode",
                        "loopback",
                        "--passphrase",
                        "lazai-bench",
                        "--symmetric",
                        "--cipher-algo",
                        "AES256",
                        "-o",
                    ])
                    .arg(&gpg_out)
                    .arg(input)
                    .stderr(Stdio::null()),
            )
        })?;
        println!(
            "gpg --symmetric --cipher-algo AES256                                 {:>8.0} MB/s  ({:.2} s)",
            mbps(size, took),
            took.as_secs_f64()
        );
        let _ = std::fs::remove_file(&gpg_out);
    } else {
        println!("gpg: not on the PATH (apt install gnupg)");
    }
    Ok(())
}

pub fn run(args: DataArgs) -> Result<()> {
    if args.size == 0 {
        bail!("--size must be at least 1 MiB");
    }
    let base = args.dir.clone().unwrap_or_else(|| {
        let shm = PathBuf::from("/dev/shm");
        if shm.is_dir() {
            shm
        } else {
            std::env::temp_dir()
        }
    });
    let dir = tempfile::Builder::new()
        .prefix("lazai-bench-data-")
        .tempdir_in(&base)
        .with_context(|| format!("create a directory under {}", base.display()))?;
    let input = dir.path().join("input.csv");
    println!(
        "writing {} MiB of CSV under {} …",
        args.size,
        base.display()
    );
    let rows = write_input(&input, args.size << 20)?;
    let size = std::fs::metadata(&input)?.len();
    println!(
        "input: {size} bytes, {rows} rows; best of {} runs",
        args.runs
    );

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    let (secret, public) = generate_keypair();
    let store = BlobStore::open(&dir.path().join("blobs").display().to_string())?;

    // Encryption + commitment, file to file.
    let out = dir.path().join("out.lzenc");
    let (took, _) = best(args.runs, || {
        Ok(encrypt_file(&input, &out, &EncryptParams::default())?)
    })?;
    println!(
        "encrypt+commit (AES-256-GCM, BLAKE3 Merkle, plaintext commitment)  {:>8.0} MB/s  ({:.2} s)",
        mbps(size, took),
        took.as_secs_f64()
    );
    let _ = std::fs::remove_file(&out);

    // The whole contribution as `lazai data contribute` runs it, minus the two transactions.
    let (took, contribution) = best(args.runs, || {
        Ok(runtime.block_on(contribute(
            &input,
            &store,
            &public,
            dir.path(),
            EncryptParams::default(),
        ))?)
    })?;
    println!(
        "lazai data contribute (encrypt+commit+seal+upload to a local store)  {:>8.0} MB/s  ({:.2} s)",
        mbps(size, took),
        took.as_secs_f64()
    );

    if args.compare {
        compare_tools(dir.path(), &input, size, args.runs)?;
    }

    // The worker's side: verified fetch, unseal, decrypt and score.
    let schema = Schema::parse(WINE_SCHEMA).context("the wine schema")?;
    let fetcher = Fetcher::new(vec![store]);
    let file = FileInput {
        url: contribution.url.clone(),
        hash: contribution.hash.to_string(),
        sealed_key: contribution.sealed_key.to_hex(),
    };
    let work = dir.path().join("worker");
    std::fs::create_dir_all(&work)?;
    let limits = Limits {
        max_rows: u64::MAX,
        ..Limits::default()
    };
    let (took, verdict) = best(args.runs, || {
        let (blob, key, hash) = runtime
            .block_on(fetch(&fetcher, &secret, &file, &work, u64::MAX))
            .map_err(|f| match f {
                FetchFailure::Reject(v) => anyhow::anyhow!("rejected: {}", v.detail),
                FetchFailure::Retry(why) => anyhow::anyhow!("fetch failed: {why}"),
            })?;
        let verdict = score_blob(&blob, &key, &hash, &schema, &|_| false, &limits);
        let _ = std::fs::remove_file(&blob);
        Ok(verdict)
    })?;
    if verdict.score == 0 {
        bail!("the worker rejected the benchmark file: {}", verdict.detail);
    }
    println!(
        "worker verification (fetch+verify root, unseal, decrypt, score)      {:>8.0} rows/s  ({:.0} MB/s, {:.2} s, score {})",
        rows as f64 / took.as_secs_f64().max(1e-9),
        mbps(size, took),
        took.as_secs_f64(),
        verdict.score
    );
    Ok(())
}

/// A fixed age recipient for the comparison (its identity is not needed: nothing is decrypted).
const AGE_RECIPIENT: &str = "age1ql3z7hjy54pw3hyww5ayyfg7zqgvc7w3j2elw8zmrj2kg5sfn9aqmcac8p";
