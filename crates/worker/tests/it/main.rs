//! Integration tests of lazai-worker: the wine-quality data set against its schema, JSON Lines,
//! rejections and limits, schema parsing, reason codes, determinism, random input, rows
//! contributed before, the structure asked of files that name their own columns, fetching
//! blobs that are late or unreadable, and the LazAI SDK's OpenPGP files and free text.

mod duplicates;
mod fetch;
mod fuzz;
mod jsonl;
mod reason;
mod rejects;
mod schema;
mod sdk_pgp;
mod sdk_text;
mod structure;
mod wine;

use std::io::{BufReader, Read};

use lazai_worker::{Evaluation, Limits, RowHash, Schema, evaluate};

/// The wine-quality CSV (1599 rows, 12 columns, comma).
pub const WINE: &str = include_str!("../../testdata/winequality-red.csv");
/// Its schema.
pub const WINE_SCHEMA: &str = include_str!("../../testdata/winequality-red.schema.json");

pub fn wine_schema() -> Schema {
    Schema::parse(WINE_SCHEMA).expect("wine schema parses")
}

/// The header line of the wine file.
pub fn wine_header() -> &'static str {
    WINE.lines().next().expect("header")
}

/// The data lines of the wine file.
pub fn wine_rows() -> Vec<&'static str> {
    WINE.lines().skip(1).collect()
}

/// `seen` for a worker that has accepted nothing yet.
pub fn nothing_seen(_: &RowHash) -> bool {
    false
}

/// Evaluates `data` with default limits and nothing seen.
pub fn eval(data: &[u8], schema: &Schema) -> Evaluation {
    evaluate(data, schema, &nothing_seen, &Limits::default())
}

/// The score formula, written out again independently of the crate: `s` of the `v` valid rows
/// were seen before and are set aside from validity and completeness.
pub fn formula(r: u64, v: u64, s: u64, t: u64, f: u64, u: u64) -> u16 {
    let v_ = 10_000 * (v - s) / (r - s);
    let c_ = 10_000 * f / t;
    let u_ = 10_000 * u / v;
    ((4 * v_ + 2 * c_ + 4 * u_) / 10).clamp(1, 10_000) as u16
}

/// A reader that hands out at most `step` bytes per read, to check that chunking changes
/// nothing.
pub struct Trickle<'a> {
    data: &'a [u8],
    step: usize,
}

impl Read for Trickle<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.step.min(buf.len()).min(self.data.len());
        buf[..n].copy_from_slice(&self.data[..n]);
        self.data = &self.data[n..];
        Ok(n)
    }
}

/// Evaluates `data` read `step` bytes at a time.
pub fn eval_trickle(data: &[u8], step: usize, schema: &Schema, limits: &Limits) -> Evaluation {
    let reader = BufReader::with_capacity(step.max(1), Trickle { data, step });
    evaluate(reader, schema, &nothing_seen, limits)
}
