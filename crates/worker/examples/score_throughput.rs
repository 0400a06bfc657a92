//! Throughput of [`evaluate`]: the wine-quality file repeated to about a million rows, scored
//! against its schema, as CSV and as JSON Lines.
//!
//! ```text
//! cargo run --release -p lazai-worker --example score_throughput -- [--rows N] [--runs N]
//! ```
//!
//! Each repetition adds 1000 × its number to "total sulfur dioxide", so the rows of different
//! repetitions differ and the set of new rows grows as it would for a real file. The data is
//! built in memory first; only `evaluate` is timed. Each format runs `--runs` times (default 3)
//! and the best run is reported.

use std::time::{Duration, Instant};

use lazai_worker::{Limits, RowHash, Schema, evaluate};

const WINE: &str = include_str!("../testdata/winequality-red.csv");
const WINE_SCHEMA: &str = include_str!("../testdata/winequality-red.schema.json");

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut rows = 1_000_000usize;
    let mut runs = 3usize;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let value = args.next().ok_or(format!("{arg} needs a value"))?;
        match arg.as_str() {
            "--rows" => rows = value.parse()?,
            "--runs" => runs = value.parse::<usize>()?.max(1),
            other => return Err(format!("unknown argument {other}").into()),
        }
    }

    let mut lines = WINE.lines();
    let header = lines.next().ok_or("empty test file")?;
    let wine: Vec<Vec<&str>> = lines.map(|l| l.split(',').collect()).collect();
    let names: Vec<String> = header
        .split(',')
        .map(|n| n.trim_matches('"').to_string())
        .collect();

    let mut csv = String::with_capacity(rows * 60);
    let mut jsonl = String::with_capacity(rows * 300);
    csv.push_str(header);
    csv.push('\n');
    for i in 0..rows {
        let rep = i / wine.len();
        let mut fields = wine[i % wine.len()].clone();
        let total: f64 = fields[6].parse()?;
        let total = (total + 1000.0 * rep as f64).to_string();
        fields[6] = &total;
        csv.push_str(&fields.join(","));
        csv.push('\n');
        let pairs: Vec<String> = names
            .iter()
            .zip(&fields)
            .map(|(n, v)| format!("\"{n}\":{v}"))
            .collect();
        jsonl.push('{');
        jsonl.push_str(&pairs.join(","));
        jsonl.push_str("}\n");
    }

    let csv_schema = Schema::parse(WINE_SCHEMA)?;
    let jsonl_schema = Schema::parse(&WINE_SCHEMA.replace(
        "\"format\": \"csv\",\n  \"delimiter\": \",\",",
        "\"format\": \"jsonl\",",
    ))?;
    let limits = Limits::default();
    for (name, data, schema) in [("csv", &csv, &csv_schema), ("jsonl", &jsonl, &jsonl_schema)] {
        let mut best = Duration::MAX;
        let mut result = None;
        for _ in 0..runs {
            let start = Instant::now();
            let e = evaluate(data.as_bytes(), schema, &|_: &RowHash| false, &limits);
            best = best.min(start.elapsed());
            result = Some(e);
        }
        let e = result.ok_or("no run")?;
        let secs = best.as_secs_f64();
        println!(
            "{name:>5}: {} rows, {:.1} MB in {:.3} s: {:.0} rows/s, {:.0} MB/s; score {} ({}), {} new rows",
            e.rows,
            data.len() as f64 / 1e6,
            secs,
            e.rows as f64 / secs,
            data.len() as f64 / 1e6 / secs,
            e.score,
            e.detail,
            e.new_rows.len(),
        );
    }
    Ok(())
}
