//! Throughput of file encryption: encrypt+commit and decrypt+verify of a generated file, temp
//! file to temp file, optionally next to `age` and `gpg` on the same file.
//!
//! ```text
//! cargo run --release -p lazai-crypto --example throughput -- \
//!     [--size MiB] [--chunk-size KiB] [--runs N] [--dir PATH] [--compare]
//! ```
//!
//! Each measurement runs `--runs` times (default 3) and reports the median and the best run.
//! Besides file to file, it times a plain copy of the file (the file system's write ceiling on
//! this machine) and the same pipelines writing to `/dev/null` (the cryptography and the
//! pipeline without the cost of writing). The temporary files go to `--dir`, by default
//! `/dev/shm` where it exists (memory-backed, so no disk write-back); the input was just written,
//! so it is read from the page cache.

use std::{
    fs::File,
    io::{self, BufWriter, Write},
    path::{Path, PathBuf},
    process::{Command, Stdio},
    time::{Duration, Instant},
};

use lazai_crypto::{
    EncryptParams, Summary, decrypt, decrypt_file, encrypt, encrypt_file, verify_root,
};

type BoxResult<T> = Result<T, Box<dyn std::error::Error>>;

struct Args {
    size_mib: u64,
    chunk_kib: u32,
    runs: usize,
    dir: PathBuf,
    compare: bool,
}

fn parse_args() -> Result<Args, String> {
    let mut args = Args {
        size_mib: 1024,
        chunk_kib: lazai_crypto::DEFAULT_CHUNK_SIZE / 1024,
        runs: 3,
        dir: default_dir(),
        compare: false,
    };
    let mut it = std::env::args().skip(1);
    while let Some(arg) = it.next() {
        let mut value = |name: &str| it.next().ok_or(format!("{name} needs a value"));
        match arg.as_str() {
            "--size" => {
                args.size_mib = value("--size")?
                    .parse()
                    .map_err(|e| format!("--size: {e}"))?;
            }
            "--chunk-size" => {
                args.chunk_kib = value("--chunk-size")?
                    .parse()
                    .map_err(|e| format!("--chunk-size: {e}"))?;
            }
            "--runs" => {
                args.runs = value("--runs")?
                    .parse()
                    .map_err(|e| format!("--runs: {e}"))?;
                args.runs = args.runs.max(1);
            }
            "--dir" => args.dir = PathBuf::from(value("--dir")?),
            "--compare" => args.compare = true,
            "-h" | "--help" => {
                return Err(
                    "usage: throughput [--size MiB (1024)] [--chunk-size KiB (1024)] \
                            [--runs N (3)] [--dir PATH (/dev/shm)] [--compare]"
                        .into(),
                );
            }
            other => return Err(format!("unknown argument {other}")),
        }
    }
    Ok(args)
}

fn default_dir() -> PathBuf {
    let shm = Path::new("/dev/shm");
    if shm.is_dir() {
        shm.to_path_buf()
    } else {
        std::env::temp_dir()
    }
}

struct Bench {
    bytes: u64,
    runs: usize,
}

impl Bench {
    /// Runs `work` `self.runs` times and prints the median and best rate, and how many cores
    /// were busy on average (CPU time of this process and its children over wall time).
    /// `output`, if any, is deleted (untimed) before each run, so every run writes a new file
    /// into memory the previous run freed, as a plain copy over an old file would.
    fn measure<T>(
        &self,
        what: &str,
        output: Option<&Path>,
        mut work: impl FnMut() -> BoxResult<T>,
    ) -> BoxResult<T> {
        let mut times = Vec::with_capacity(self.runs);
        let mut last = None;
        let (mut cpu, mut wall) = (0.0, 0.0);
        for _ in 0..self.runs {
            if let Some(path) = output {
                let _ = std::fs::remove_file(path);
            }
            let cpu_start = cpu_seconds();
            let start = Instant::now();
            last = Some(work()?);
            let elapsed = start.elapsed();
            times.push(elapsed);
            wall += elapsed.as_secs_f64();
            cpu += cpu_seconds().zip(cpu_start).map_or(0.0, |(b, a)| b - a);
        }
        let busy = format!("{:>4.0}% cpu", 100.0 * cpu / wall);
        times.sort();
        let rate = |d: Duration| self.bytes as f64 / d.as_secs_f64() / 1e6;
        let median = times[times.len() / 2];
        println!(
            "{what:<34} median {:>6.0} MB/s ({:>5.3} s)   best {:>6.0} MB/s   {busy}",
            rate(median),
            median.as_secs_f64(),
            rate(times[0]),
        );
        if std::env::var_os("THROUGHPUT_VERBOSE").is_some() {
            let all: Vec<String> = times.iter().map(|t| format!("{:.0}", rate(*t))).collect();
            println!("  every run (MB/s, fastest first): {}", all.join(" "));
        }
        last.ok_or_else(|| "no run".into())
    }
}

fn main() -> BoxResult<()> {
    let args = parse_args()?;
    let dir = tempfile::Builder::new()
        .prefix("lazai-throughput-")
        .tempdir_in(&args.dir)?;
    let input = dir.path().join("input.bin");
    let blob = dir.path().join("input.lazai");
    let output = dir.path().join("output.bin");
    let bytes = args.size_mib << 20;
    let bench = Bench {
        bytes,
        runs: args.runs,
    };

    generate(&input, bytes)?;
    let params = EncryptParams::new(args.chunk_kib.saturating_mul(1024))?;
    println!(
        "{} MiB of random data in {}, chunk size {} KiB, {} rayon threads, {} runs each",
        args.size_mib,
        args.dir.display(),
        params.chunk_size() / 1024,
        rayon::current_num_threads(),
        args.runs,
    );

    bench.measure("plain copy (write ceiling)", Some(&output), || {
        io::copy(&mut File::open(&input)?, &mut File::create(&output)?)?;
        Ok(())
    })?;
    let summary: Summary =
        bench.measure("lazai encrypt+commit  file→file", Some(&blob), || {
            Ok(encrypt_file(&input, &blob, &params)?)
        })?;
    bench.measure("lazai decrypt+verify  file→file", Some(&output), || {
        let opened = decrypt_file(&blob, &output, &summary.data_key, Some(&summary.root))?;
        assert_eq!(opened.plaintext_commitment, summary.plaintext_commitment);
        Ok(())
    })?;
    std::fs::remove_file(&output)?;
    bench.measure("lazai encrypt+commit  file→null", None, || {
        Ok(encrypt(File::open(&input)?, io::sink(), &params)?)
    })?;
    bench.measure("lazai decrypt+verify  file→null", None, || {
        let key = &summary.data_key;
        Ok(decrypt(
            File::open(&blob)?,
            io::sink(),
            key,
            Some(&summary.root),
        )?)
    })?;
    bench.measure("lazai verify root (no key)", None, || {
        Ok(verify_root(File::open(&blob)?, &summary.root)?)
    })?;
    println!("  root {}  chunks {}", summary.root, summary.chunk_count);
    if let Some(peak) = peak_rss_mib() {
        println!("  peak resident memory of this process: {peak} MiB");
    }

    if args.compare {
        compare_age(&bench, dir.path(), &input)?;
        compare_gpg(dir.path(), &input, bytes)?;
    }
    Ok(())
}

/// Writes `bytes` of pseudo-random data (BLAKE3 output) in 8 MiB pieces.
fn generate(path: &Path, bytes: u64) -> io::Result<()> {
    let mut out = BufWriter::new(File::create(path)?);
    let mut xof = blake3::Hasher::new().update(b"throughput").finalize_xof();
    let mut buf = vec![0u8; 8 << 20];
    let mut left = bytes;
    while left > 0 {
        let n = left.min(buf.len() as u64) as usize;
        xof.fill(&mut buf[..n]);
        out.write_all(&buf[..n])?;
        left -= n as u64;
    }
    out.flush()
}

/// User and system CPU seconds of this process and its reaped children (Linux `/proc`).
fn cpu_seconds() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // Fields after the parenthesized command name; utime is field 14 of the whole line.
    let rest = stat.rsplit_once(')')?.1;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks: f64 = fields
        .get(11..15)?
        .iter()
        .map(|f| f.parse::<f64>().unwrap_or(0.0))
        .sum();
    // The kernel's USER_HZ is 100 on every mainstream Linux configuration.
    Some(ticks / 100.0)
}

fn peak_rss_mib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|line| line.starts_with("VmHWM:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib / 1024)
}

fn on_path(tool: &str) -> bool {
    Command::new(tool)
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok()
}

/// Runs a command to completion; an error if it failed.
fn run(command: &mut Command) -> BoxResult<()> {
    let out = command
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .output()?;
    if !out.status.success() {
        let stderr = String::from_utf8_lossy(&out.stderr);
        return Err(format!("{command:?} failed: {stderr}").into());
    }
    Ok(())
}

fn compare_age(bench: &Bench, dir: &Path, input: &Path) -> BoxResult<()> {
    if !on_path("age") || !on_path("age-keygen") {
        println!("age / age-keygen not on PATH: skipped");
        return Ok(());
    }
    let identity = dir.join("age.key");
    run(Command::new("age-keygen").arg("-o").arg(&identity))?;
    let recipient = std::fs::read_to_string(&identity)?
        .lines()
        .find_map(|line| line.strip_prefix("# public key: ").map(str::to_owned))
        .ok_or("age-keygen wrote no public key")?;
    let sealed = dir.join("input.age");
    let output = dir.join("output.age.bin");
    bench.measure("age -r (encrypt)      file→file", Some(&sealed), || {
        run(Command::new("age")
            .arg("-r")
            .arg(&recipient)
            .arg("-o")
            .arg(&sealed)
            .arg(input))
    })?;
    bench.measure("age -d (decrypt)      file→file", Some(&output), || {
        run(Command::new("age")
            .arg("-d")
            .arg("-i")
            .arg(&identity)
            .arg("-o")
            .arg(&output)
            .arg(&sealed))
    })?;
    std::fs::remove_file(&output)?;
    Ok(())
}

/// gpg is an order of magnitude slower, so it runs once.
fn compare_gpg(dir: &Path, input: &Path, bytes: u64) -> BoxResult<()> {
    if !on_path("gpg") {
        println!("gpg not on PATH: skipped");
        return Ok(());
    }
    // A private home keeps the user's keyring and agent out of it.
    let home = dir.join("gnupg");
    std::fs::create_dir(&home)?;
    let sealed = dir.join("input.gpg");
    let output = dir.join("output.gpg.bin");
    let gpg = |extra: &[&str], out: &Path, inp: &Path| {
        let mut command = Command::new("gpg");
        command
            .arg("--homedir")
            .arg(&home)
            .args(["--batch", "--yes", "--passphrase", "x"])
            .args(["--pinentry-mode", "loopback"])
            .args(extra)
            .arg("-o")
            .arg(out)
            .arg(inp);
        command
    };
    let once = Bench { bytes, runs: 1 };
    once.measure("gpg --symmetric AES256 file→file", Some(&sealed), || {
        run(&mut gpg(
            &["--symmetric", "--cipher-algo", "AES256"],
            &sealed,
            input,
        ))
    })?;
    once.measure("gpg --decrypt         file→file", Some(&output), || {
        run(&mut gpg(&["--decrypt"], &output, &sealed))
    })?;
    Ok(())
}
