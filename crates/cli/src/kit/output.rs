//! How commands print: transaction lines, one JSON object with `--json`, dashes for what is
//! empty, and progress on a terminal.

use super::units::format_utc;
use alloy::rpc::types::TransactionReceipt;
use alloy_primitives::U256;
use anyhow::Result;
use serde_json::{Value, json};
use std::io::{IsTerminal as _, Write as _};
use std::time::{Duration, Instant};

pub(crate) fn tx_json(receipt: &TransactionReceipt) -> Value {
    json!({
        "tx": receipt.transaction_hash.to_string(),
        "block": receipt.block_number,
        "gasUsed": receipt.gas_used,
    })
}

pub(crate) fn print_tx(receipt: &TransactionReceipt) {
    println!(
        "tx            {} (block {}, gas {})",
        receipt.transaction_hash,
        receipt.block_number.unwrap_or_default(),
        receipt.gas_used
    );
}

pub(crate) fn print_tx_named(label: &str, receipt: &TransactionReceipt) {
    println!(
        "{label:<13} {} (block {}, gas {})",
        receipt.transaction_hash,
        receipt.block_number.unwrap_or_default(),
        receipt.gas_used
    );
}

pub(crate) fn print_json(mut base: Value, extra: Value) -> Result<()> {
    if let (Some(b), Value::Object(e)) = (base.as_object_mut(), extra) {
        b.extend(e);
    }
    println!("{}", serde_json::to_string_pretty(&base)?);
    Ok(())
}

pub(crate) fn yes_no(b: bool) -> &'static str {
    if b { "yes" } else { "no" }
}

pub(crate) fn or_dash(s: &str) -> &str {
    if s.is_empty() { "-" } else { s }
}

pub(crate) fn utc_or_never(t: u64) -> String {
    if t == 0 {
        "never".to_string()
    } else {
        format_utc(t)
    }
}

pub(crate) fn dash_if_zero(v: U256) -> String {
    if v.is_zero() {
        "-".to_string()
    } else {
        v.to_string()
    }
}

pub(crate) fn opt_u256(v: U256) -> Value {
    if v.is_zero() {
        Value::Null
    } else {
        Value::String(v.to_string())
    }
}

/// Progress lines on stderr, only when it is a terminal.
pub(crate) struct Progress(bool);

impl Progress {
    pub(crate) fn new() -> Self {
        Self(std::io::stderr().is_terminal())
    }

    pub(crate) fn step(&self, msg: &str) {
        if self.0 {
            eprintln!("{msg}");
        }
    }

    /// Runs `work`, redrawing `label` with the elapsed time on one line every 250 ms while it
    /// runs (on a terminal only).
    pub(crate) async fn ticking<T>(
        &self,
        label: &str,
        work: impl std::future::Future<Output = T>,
    ) -> T {
        if !self.0 {
            return work.await;
        }
        let started = Instant::now();
        tokio::pin!(work);
        let mut tick = tokio::time::interval(Duration::from_millis(250));
        let out = loop {
            tokio::select! {
                out = &mut work => break out,
                _ = tick.tick() => {
                    eprint!("\r{label} {:.1} s", started.elapsed().as_secs_f64());
                    let _ = std::io::stderr().flush();
                }
            }
        };
        eprintln!("\r{label} done in {:.1} s", started.elapsed().as_secs_f64());
        out
    }
}
