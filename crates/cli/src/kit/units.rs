//! Numbers as people type them: 256-bit integers, token units and LAZAI amounts, UTC dates
//! and expiries, metric ids, sizes and throughput.

use alloy_primitives::{B256, U256, keccak256};
use anyhow::{Context as _, Result, anyhow, bail};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// LAZAI's decimals.
pub const LAZAI_DECIMALS: u8 = 18;
/// The most decimals [`parse_units`] and [`format_units`] accept (10^77 > 2^256).
const MAX_DECIMALS: u8 = 76;

pub(crate) fn parse_u256(s: &str) -> Result<U256, String> {
    let s = s.trim();
    let parsed = match s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")) {
        Some(hex) if !hex.is_empty() => U256::from_str_radix(hex, 16),
        _ if !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) => U256::from_str_radix(s, 10),
        _ => return Err(format!("{s:?} is not a non-negative integer")),
    };
    parsed.map_err(|e| format!("{s:?}: {e}"))
}

pub(crate) fn parse_b256(s: &str) -> Result<B256, String> {
    let hex = s.trim();
    let hex = hex
        .strip_prefix("0x")
        .or_else(|| hex.strip_prefix("0X"))
        .unwrap_or(hex);
    if hex.len() != 64 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(format!("{s:?} is not 32 bytes of hex (64 hex digits)"));
    }
    hex.parse::<B256>().map_err(|e| e.to_string())
}

// ---- units ---------------------------------------------------------------------------------

/// Parses a non-negative decimal number (`12`, `1.5`, `0.000001`) into base units with
/// `decimals` decimals, exactly: more fractional digits than `decimals` are an error, never
/// rounded.
pub fn parse_units(s: &str, decimals: u8) -> Result<U256> {
    if decimals > MAX_DECIMALS {
        bail!("{decimals} decimals is too many");
    }
    let t = s.trim();
    let (int, frac) = match t.split_once('.') {
        Some((i, f)) => (i, Some(f)),
        None => (t, None),
    };
    let digits = |p: &str| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit());
    if !digits(int) || frac.is_some_and(|f| !digits(f)) {
        bail!("{s:?} is not a decimal number (like 12 or 1.5)");
    }
    let frac = frac.unwrap_or("");
    if frac.len() > usize::from(decimals) {
        bail!("{s:?} has more than {decimals} decimals");
    }
    let scale = U256::from(10u8).pow(U256::from(decimals));
    let too_large = || anyhow!("{s:?} is too large");
    let int = U256::from_str_radix(int, 10).map_err(|_| too_large())?;
    let frac_units = if frac.is_empty() {
        U256::ZERO
    } else {
        let pad = U256::from(10u8).pow(U256::from(usize::from(decimals) - frac.len()));
        U256::from_str_radix(frac, 10).map_err(|_| too_large())? * pad
    };
    int.checked_mul(scale)
        .and_then(|v| v.checked_add(frac_units))
        .ok_or_else(too_large)
}

/// Formats base units with `decimals` decimals, exactly, without trailing zeros: `1.5`, `3`,
/// `0.000000000000000001`.
pub fn format_units(value: U256, decimals: u8) -> String {
    let digits = value.to_string();
    let d = usize::from(decimals.min(MAX_DECIMALS));
    if d == 0 {
        return digits;
    }
    let padded = format!("{digits:0>width$}", width = d + 1);
    let (int, frac) = padded.split_at(padded.len() - d);
    let frac = frac.trim_end_matches('0');
    if frac.is_empty() {
        int.to_string()
    } else {
        format!("{int}.{frac}")
    }
}

/// Parses an amount of LAZAI: `1.5`, `1.5 LAZAI`, or an integer number of wei `1000wei`.
pub fn parse_lazai(s: &str) -> Result<U256> {
    let t = s.trim();
    let lower = t.to_ascii_lowercase();
    if let Some(wei) = lower.strip_suffix("wei") {
        let wei = wei.trim();
        return parse_units(wei, 0).with_context(|| format!("{s:?} is not an integer of wei"));
    }
    let t = match lower.strip_suffix("lazai") {
        Some(rest) => &t[..rest.len()],
        None => t,
    };
    parse_units(t, LAZAI_DECIMALS).with_context(|| format!("bad LAZAI amount {s:?}"))
}

/// Formats wei as LAZAI, exactly: `1.5 LAZAI`.
pub fn format_lazai(wei: U256) -> String {
    format!("{} LAZAI", format_units(wei, LAZAI_DECIMALS))
}

// ---- dates ---------------------------------------------------------------------------------

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
pub fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = if y >= 0 { y } else { y - 399 } / 400;
    let yoe = y - era * 400;
    let mp = i64::from((month + 9) % 12);
    let doy = (153 * mp + 2) / 5 + i64::from(day) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The proleptic Gregorian date (year, month, day) of a number of days since 1970-01-01.
pub fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = if z >= 0 { z } else { z - 146_096 } / 146_097;
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

pub(crate) fn days_in_month(year: i64, month: u32) -> u32 {
    match month {
        4 | 6 | 9 | 11 => 30,
        2 if year % 4 == 0 && (year % 100 != 0 || year % 400 == 0) => 29,
        2 => 28,
        _ => 31,
    }
}

/// A Unix time (seconds) as `YYYY-MM-DD HH:MM:SS UTC`.
pub fn format_utc(secs: u64) -> String {
    let days = (secs / 86_400) as i64;
    let rem = secs % 86_400;
    let (y, m, d) = civil_from_days(days);
    format!(
        "{y:04}-{m:02}-{d:02} {:02}:{:02}:{:02} UTC",
        rem / 3600,
        rem / 60 % 60,
        rem % 60
    )
}

/// Parses `YYYY-MM-DD`, optionally followed by `T` or a space and `HH:MM` or `HH:MM:SS`,
/// optionally ending in `Z` or ` UTC`: a UTC time, in Unix seconds.
pub fn parse_utc(s: &str) -> Result<u64> {
    let bad = || anyhow!("{s:?} is not a UTC date YYYY-MM-DD[THH:MM[:SS]][Z]");
    let t = s.trim();
    let t = t
        .strip_suffix('Z')
        .or_else(|| t.strip_suffix(" UTC"))
        .unwrap_or(t);
    let (date, time) = match t.split_once(['T', ' ']) {
        Some((d, tm)) => (d, Some(tm)),
        None => (t, None),
    };
    let num = |p: &str, len: usize| -> Result<u32> {
        if p.len() != len || !p.bytes().all(|b| b.is_ascii_digit()) {
            return Err(bad());
        }
        p.parse().map_err(|_| bad())
    };
    let parts: Vec<&str> = date.split('-').collect();
    let [y, m, d] = parts[..] else {
        return Err(bad());
    };
    let (year, month, day) = (i64::from(num(y, 4)?), num(m, 2)?, num(d, 2)?);
    if year < 1970 || !(1..=12).contains(&month) || day == 0 || day > days_in_month(year, month) {
        return Err(bad());
    }
    let (h, mi, sec) = match time {
        None => (0, 0, 0),
        Some(tm) => match tm.split(':').collect::<Vec<_>>()[..] {
            [h, mi] => (num(h, 2)?, num(mi, 2)?, 0),
            [h, mi, sec] => (num(h, 2)?, num(mi, 2)?, num(sec, 2)?),
            _ => return Err(bad()),
        },
    };
    if h > 23 || mi > 59 || sec > 59 {
        return Err(bad());
    }
    let days = days_from_civil(year, month, day);
    Ok(days as u64 * 86_400 + u64::from(h) * 3600 + u64::from(mi) * 60 + u64::from(sec))
}

/// Parses `--expires` at `now` (Unix seconds): `never`/`0` (0), a Unix time, a UTC date, or
/// `+N{s,m,h,d,w}`.
pub fn parse_expiry(s: &str, now: u64) -> Result<u64> {
    let t = s.trim();
    if t.eq_ignore_ascii_case("never") {
        return Ok(0);
    }
    if let Some(rel) = t.strip_prefix('+') {
        let bad = || anyhow!("{s:?}: expected +N followed by s, m, h, d or w (like +30d)");
        let split = rel.find(|c: char| !c.is_ascii_digit()).ok_or_else(bad)?;
        let (n, unit) = rel.split_at(split);
        let n: u64 = n.parse().map_err(|_| bad())?;
        let unit = match unit {
            "s" => 1,
            "m" => 60,
            "h" => 3600,
            "d" => 86_400,
            "w" => 7 * 86_400,
            _ => return Err(bad()),
        };
        return n
            .checked_mul(unit)
            .and_then(|d| d.checked_add(now))
            .ok_or_else(|| anyhow!("{s:?} is too far in the future"));
    }
    if !t.is_empty() && t.bytes().all(|b| b.is_ascii_digit()) {
        return t
            .parse()
            .map_err(|_| anyhow!("{s:?} is not a Unix time in seconds"));
    }
    parse_utc(t)
}

pub(crate) fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// The `bytes32` metric type of a metric name: `keccak256(name)`, or the value itself when the
/// name is `0x` and 64 hex digits.
pub fn metric_id(name: &str) -> B256 {
    if name.len() == 66
        && name.starts_with("0x")
        && let Ok(b) = parse_b256(name)
    {
        return b;
    }
    keccak256(name.as_bytes())
}

// ---- sizes ---------------------------------------------------------------------------------

/// Plaintext megabytes (10^6 bytes) per second.
pub fn megabytes_per_second(bytes: u64, elapsed: Duration) -> f64 {
    let secs = elapsed.as_secs_f64();
    if secs <= 0.0 {
        return 0.0;
    }
    bytes as f64 / 1e6 / secs
}

/// `1.5 GiB`, `12.0 MiB`, `512 B`.
pub fn human_bytes(n: u64) -> String {
    const UNITS: [&str; 4] = ["KiB", "MiB", "GiB", "TiB"];
    if n < 1024 {
        return format!("{n} B");
    }
    let mut value = n as f64 / 1024.0;
    let mut unit = 0;
    while value >= 1024.0 && unit + 1 < UNITS.len() {
        value /= 1024.0;
        unit += 1;
    }
    format!("{value:.1} {}", UNITS[unit])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn u(n: u128) -> U256 {
        U256::from(n)
    }

    #[test]
    fn parses_lazai_exactly() {
        const E18: u128 = 1_000_000_000_000_000_000;
        assert_eq!(parse_lazai("1.5").expect("ok"), u(E18 * 3 / 2));
        assert_eq!(parse_lazai("1.5 LAZAI").expect("ok"), u(E18 * 3 / 2));
        assert_eq!(parse_lazai(" 2lazai ").expect("ok"), u(2 * E18));
        assert_eq!(parse_lazai("0.000000000000000001").expect("ok"), u(1));
        assert_eq!(parse_lazai("0.1").expect("ok"), u(E18 / 10));
        assert_eq!(parse_lazai("123").expect("ok"), u(123 * E18));
        assert_eq!(parse_lazai("1000wei").expect("ok"), u(1000));
        assert_eq!(parse_lazai("7 wei").expect("ok"), u(7));
        // 0.1 + 0.2 is exactly 0.3 here, unlike in floating point.
        assert_eq!(
            parse_lazai("0.1").expect("ok") + parse_lazai("0.2").expect("ok"),
            parse_lazai("0.3").expect("ok")
        );
        for bad in [
            "",
            ".",
            "1.",
            ".5",
            "-1",
            "1e18",
            "1,5",
            "0x10",
            "1.2.3",
            "abc",
            "1.5 ETH",
            "1.5wei",
            "0.0000000000000000001",
        ] {
            assert!(parse_lazai(bad).is_err(), "{bad:?} should be refused");
        }
        // The largest U256 of wei is fine, one more is too large.
        let max = format_units(U256::MAX, 18);
        assert_eq!(parse_lazai(&max).expect("ok"), U256::MAX);
        assert!(parse_lazai(&format!("{max}1")).is_err());
        assert!(parse_units(&U256::MAX.to_string(), 1).is_err());
    }

    #[test]
    fn formats_lazai_exactly() {
        assert_eq!(format_lazai(u(1_500_000_000_000_000_000)), "1.5 LAZAI");
        assert_eq!(format_lazai(u(1)), "0.000000000000000001 LAZAI");
        assert_eq!(format_lazai(U256::ZERO), "0 LAZAI");
        assert_eq!(
            format_lazai(u(10_000_000_000_000_000_000_000)),
            "10000 LAZAI"
        );
        assert_eq!(
            format_lazai(u(1_125_000_000_000_000_001)),
            "1.125000000000000001 LAZAI"
        );
        assert_eq!(format_units(u(150), 2), "1.5");
        assert_eq!(format_units(u(5), 2), "0.05");
        assert_eq!(format_units(u(500), 2), "5");
        assert_eq!(format_units(u(42), 0), "42");
        for (s, d) in [("1.5", 18), ("0.05", 2), ("42", 0), ("3", 36), ("0", 6)] {
            assert_eq!(format_units(parse_units(s, d).expect("ok"), d), s);
        }
        assert!(parse_units("0.5", 0).is_err());
        assert_eq!(parse_units("10.00", 2).expect("ok"), u(1000));
        assert_eq!(parse_units("10", 2).expect("ok"), u(1000));
    }

    #[test]
    fn dates_round_trip() {
        assert_eq!(format_utc(0), "1970-01-01 00:00:00 UTC");
        assert_eq!(format_utc(951_782_400), "2000-02-29 00:00:00 UTC");
        assert_eq!(format_utc(1_700_000_000), "2023-11-14 22:13:20 UTC");
        assert_eq!(format_utc(4_102_444_799), "2099-12-31 23:59:59 UTC");
        assert_eq!(format_utc(u64::from(u32::MAX)), "2106-02-07 06:28:15 UTC");
        for days in [
            -719_468i64,
            -1,
            0,
            59,
            365,
            10_957,
            11_016,
            19_000,
            2_932_896,
        ] {
            let (y, m, d) = civil_from_days(days);
            assert_eq!(days_from_civil(y, m, d), days, "{y}-{m}-{d}");
        }
        // Every day of four centuries: consecutive and valid.
        let mut prev = civil_from_days(-1);
        for days in 0..146_097 {
            let (y, m, d) = civil_from_days(days);
            assert!((1..=12).contains(&m) && d >= 1 && d <= days_in_month(y, m));
            assert_eq!(days_from_civil(y, m, d), days);
            assert!((y, m, d) > prev);
            prev = (y, m, d);
        }
    }

    #[test]
    fn parses_dates_and_expiries() {
        assert_eq!(parse_utc("1970-01-01").expect("ok"), 0);
        assert_eq!(
            parse_utc("2023-11-14T22:13:20Z").expect("ok"),
            1_700_000_000
        );
        assert_eq!(
            parse_utc("2023-11-14 22:13:20 UTC").expect("ok"),
            1_700_000_000
        );
        assert_eq!(
            parse_utc("2023-11-14T22:13").expect("ok"),
            1_700_000_000 - 20
        );
        assert_eq!(parse_utc("2000-02-29").expect("ok"), 951_782_400);
        for bad in [
            "2023-02-29",
            "1900-02-29",
            "2023-13-01",
            "2023-00-10",
            "2023-04-31",
            "2023-1-1",
            "2023-11-14T24:00",
            "2023-11-14T10:60",
            "2023-11-14T10:00:60",
            "2023-11-14T10",
            "1969-12-31",
            "tomorrow",
            "",
        ] {
            assert!(parse_utc(bad).is_err(), "{bad:?} should be refused");
        }
        let now = 1_700_000_000;
        assert_eq!(parse_expiry("never", now).expect("ok"), 0);
        assert_eq!(parse_expiry("0", now).expect("ok"), 0);
        assert_eq!(parse_expiry("1800000000", now).expect("ok"), 1_800_000_000);
        assert_eq!(parse_expiry("+30d", now).expect("ok"), now + 30 * 86_400);
        assert_eq!(parse_expiry("+2w", now).expect("ok"), now + 14 * 86_400);
        assert_eq!(parse_expiry("+90m", now).expect("ok"), now + 5400);
        assert_eq!(parse_expiry("+12h", now).expect("ok"), now + 43_200);
        assert_eq!(parse_expiry("+45s", now).expect("ok"), now + 45);
        assert_eq!(parse_expiry("2030-01-01", now).expect("ok"), 1_893_456_000);
        for bad in [
            "+30",
            "+d",
            "+30y",
            "+-3d",
            "+99999999999999999999d",
            "soon",
        ] {
            assert!(parse_expiry(bad, now).is_err(), "{bad:?} should be refused");
        }
    }

    #[test]
    fn metric_ids() {
        assert_eq!(metric_id("inference"), keccak256(b"inference"));
        let raw = format!("{}", B256::repeat_byte(0xab));
        assert_eq!(metric_id(&raw), B256::repeat_byte(0xab));
    }

    #[test]
    fn human_sizes() {
        assert_eq!(human_bytes(0), "0 B");
        assert_eq!(human_bytes(1023), "1023 B");
        assert_eq!(human_bytes(1536), "1.5 KiB");
        assert_eq!(human_bytes(1 << 30), "1.0 GiB");
    }

    #[test]
    fn throughput() {
        assert_eq!(
            megabytes_per_second(10_000_000, Duration::from_secs(2)),
            5.0
        );
        assert_eq!(megabytes_per_second(1, Duration::ZERO), 0.0);
    }
}
