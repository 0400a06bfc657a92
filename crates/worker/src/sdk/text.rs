//! Scoring free text: the schema format `"text"`, and prose contributed through LazAI's SDK to
//! an iDAO whose format is `"any"` ([`evaluate_sdk`]).
//!
//! LazAI's SDK examples contribute Markdown and prose rather than tables. A text file is
//! scored line by line with the same bookkeeping as a table's rows, so that the score is
//! deterministic (integer arithmetic only, nothing read from the clock or a hash map's order)
//! and rows accepted before are recognised across files exactly as for tables.
//!
//! # Reading the file
//!
//! A leading UTF-8 byte order mark is skipped. The file must be UTF-8 without NUL bytes, or it
//! is not text ([`Reason::Malformed`]); a file with nothing but ASCII whitespace is
//! [`Reason::Empty`]. Lines end at LF, CR or CRLF; a line (up to its LF) may not exceed
//! [`Limits::max_row_bytes`], the file [`Limits::max_bytes`], and there may be at most
//! [`Limits::max_rows`] non-blank lines ([`Reason::TooLarge`]).
//!
//! **Units** are the non-blank lines, numbered from 1 in messages. A unit's **normal form**
//! ([`normalize`]) is the line with ASCII letters lower-cased and runs of ASCII whitespace
//! (space, TAB, FF) collapsed to one space, without leading or trailing whitespace. Only ASCII
//! is folded, so that the form (and the hash that goes on chain) never depends on a Unicode
//! version. A unit is **valid** when
//!
//! - it has no control character (Unicode category Cc) other than TAB,
//! - its normal form has at most [`MAX_UNIT_CHARS`] characters, and
//! - it has at least one letter (`char::is_alphabetic`).
//!
//! A valid unit's [`RowHash`] is that of its normal form as a single cell
//! (`RowHash::of_cells([normal form])`), so a line contributed before is `seen` like a table
//! row: it earns nothing and lowers uniqueness, and a file all of whose valid units were seen is
//! [`Reason::Duplicate`].
//!
//! # Score
//!
//! With R the units, V the valid units, S the valid units that are `seen`, C the characters
//! of the normal forms of the valid units not seen (repeats within the file included), Q those
//! of them that are **ordinary** — letters (`char::is_alphabetic`), digits
//! (`char::is_numeric`), the space, ASCII punctuation and the common typographic marks
//! ‘ ’ “ ” – — … « » ¡ ¿ · 、 。 ， ： ； ！ ？ （ ） 「 」 — and U the valid units whose hash is
//! neither seen nor that of an earlier valid unit of the file:
//!
//! ```text
//! v = 10000·(V−S)/(R−S)   q = 10000·Q/C   u = 10000·U/V   (integer floor division, u128)
//! score = clamp((4·v + 2·q + 4·u) / 10, 1, 10000)
//! ```
//!
//! — validity 40 %, quality 20 %, uniqueness 40 %; every division rounds down, and a zero
//! denominator makes its part 0. It is the table formula of [`crate::score`] with quality in
//! the place of completeness, computed by the same [`compute_score`]; the [`Evaluation`]
//! carries R, V, S, U in `rows`, `valid`, `seen`, `unique` and C, Q in `cells`, `filled`.
//!
//! A file is rejected when it has no valid unit ([`Reason::TooFewValid`]), when all its valid
//! units were seen ([`Reason::Duplicate`]), or when (V−S)·100 < minValidPercent·(R−S)
//! ([`Reason::TooFewValid`]). Messages name units by number and never quote the text.
//!
//! `char::is_alphabetic` and `char::is_numeric` follow the Unicode version of the Rust
//! toolchain the worker is built with; between versions they differ only for characters
//! assigned in the newer one.
//!
//! [`Evaluation`]: crate::score::Evaluation
//! [`compute_score`]: crate::score::compute_score

use std::io::{BufRead, Read};

use crate::schema::{Format, Schema};
use crate::score::row_hash::RowHash;
use crate::score::source::Source;
use crate::score::table::evaluate_table;
use crate::score::tally::{Reject, Tally, Units};
use crate::score::verdict::{Evaluation, Limits, Reason};

/// The most characters a unit's normal form may have and still be valid.
pub const MAX_UNIT_CHARS: usize = 10_000;

/// Typographic punctuation that counts as ordinary, besides ASCII punctuation.
const COMMON_PUNCTUATION: [char; 23] = [
    '‘', '’', '“', '”', '–', '—', '…', '«', '»', '¡', '¿', '·', '、', '。', '，', '：', '；', '！',
    '？', '（', '）', '「', '」',
];

/// The normal form of a line (see the [module docs](self)): ASCII lower case, runs of ASCII
/// whitespace as one space, trimmed.
pub fn normalize(line: &str) -> String {
    let mut out = String::with_capacity(line.len());
    normalize_into(line, &mut out);
    out
}

fn normalize_into(line: &str, out: &mut String) {
    out.clear();
    for word in line.split_ascii_whitespace() {
        if !out.is_empty() {
            out.push(' ');
        }
        out.extend(word.chars().map(|c| c.to_ascii_lowercase()));
    }
}

/// Whether `c` is an ordinary character of text (it counts towards quality).
fn is_ordinary(c: char) -> bool {
    c.is_alphabetic()
        || c.is_numeric()
        || c == ' '
        || c.is_ascii_punctuation()
        || COMMON_PUNCTUATION.contains(&c)
}

/// [`crate::score::evaluate`] for a file contributed through LazAI's SDK: with the format
/// `"any"`, a file that the table readers reject as neither a CSV table nor JSON Lines
/// ([`Reason::Malformed`]) is scored as text (the [module docs](self)) instead. Every other
/// verdict is the table's, so an iDAO that declares `"csv"` or `"jsonl"` still refuses prose;
/// a `"text"` iDAO scores text as on the flow path. `plaintext` is the decrypted file; `seen`
/// and `limits` are as for [`crate::score::evaluate`]. Never panics.
pub fn evaluate_sdk(
    plaintext: &[u8],
    schema: &Schema,
    seen: &impl Fn(&RowHash) -> bool,
    limits: &Limits,
) -> Evaluation {
    if schema.format() == Format::Text {
        return evaluate_text(plaintext, schema, seen, limits);
    }
    let table = evaluate_table(plaintext, schema, seen, limits);
    if schema.format() == Format::Any && table.reason == Reason::Malformed {
        return evaluate_text(plaintext, schema, seen, limits);
    }
    table
}

/// Scores `input` as text against `schema`'s `minValidPercent` (its format is not looked at:
/// the caller chose text). `seen` is as for [`crate::score::evaluate`]. Never panics.
pub(crate) fn evaluate_text(
    input: impl BufRead,
    schema: &Schema,
    seen: &impl Fn(&RowHash) -> bool,
    limits: &Limits,
) -> Evaluation {
    let mut src = Source::new(input, limits);
    let mut tally = Tally::new(Units::Lines, seen, limits);
    match read(&mut src, &mut tally) {
        Ok(()) => tally.finish(schema),
        Err(reject) => Evaluation::rejected(reject.reason, reject.detail),
    }
}

fn read<R: Read, F: Fn(&RowHash) -> bool>(
    src: &mut Source<R>,
    tally: &mut Tally<'_, F>,
) -> Result<(), Reject> {
    let first = src
        .skip_blank_lines()
        .map_err(|s| tally.stopped(s, "the first line"))?;
    if first.is_none() {
        return Err(Reject::new(
            Reason::Empty,
            "the file is empty or only whitespace",
        ));
    }
    let mut line = Vec::new();
    let mut normal = String::new();
    loop {
        let next = tally.rows() + 1;
        let more = src
            .read_line(&mut line)
            .map_err(|s| tally.stopped(s, &format!("line {next}")))?;
        if !more {
            return Ok(());
        }
        // LF is never inside a multi-byte character, so lines are UTF-8 exactly when the file is.
        let Ok(text) = std::str::from_utf8(&line) else {
            return Err(Reject::new(
                Reason::Malformed,
                format!("line {next} is not valid UTF-8: the file is not text"),
            ));
        };
        if text.contains('\0') {
            return Err(Reject::new(
                Reason::Malformed,
                format!("line {next} has a NUL byte: the file is not text"),
            ));
        }
        for unit in text.split('\r') {
            if unit.trim_ascii().is_empty() {
                continue;
            }
            let n = tally.begin_row()?;
            judge(n, unit, &mut normal, tally);
        }
    }
}

/// Counts unit `n`: valid or not, and if valid its hash and characters.
fn judge<F: Fn(&RowHash) -> bool>(
    n: u64,
    unit: &str,
    normal: &mut String,
    tally: &mut Tally<'_, F>,
) {
    if unit.chars().any(|c| c.is_control() && c != '\t') {
        tally.invalid(|| format!("line {n} has a control character"));
        return;
    }
    normalize_into(unit, normal);
    let (mut chars, mut ordinary, mut letter) = (0usize, 0u64, false);
    for c in normal.chars() {
        chars += 1;
        letter |= c.is_alphabetic();
        ordinary += u64::from(is_ordinary(c));
    }
    if chars > MAX_UNIT_CHARS {
        tally.invalid(|| format!("line {n} is longer than {MAX_UNIT_CHARS} characters"));
        return;
    }
    if !letter {
        tally.invalid(|| format!("line {n} has no letter"));
        return;
    }
    let chars = u64::try_from(chars).unwrap_or(u64::MAX);
    tally.valid_row(RowHash::of_joined(normal.as_bytes()), chars, ordinary);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normal_form_folds_ascii_case_and_whitespace_only() {
        assert_eq!(normalize("  Hello,\t\tWORLD  again "), "hello, world again");
        assert_eq!(normalize("Über ÉCOLE"), "Über École");
        assert_eq!(normalize("\u{a0}x"), "\u{a0}x");
        assert_eq!(normalize(" \t "), "");
    }

    #[test]
    fn ordinary_characters() {
        for c in ['a', 'Z', 'é', '中', '7', '٣', ' ', '#', '“', '。'] {
            assert!(is_ordinary(c), "{c:?}");
        }
        for c in ['\u{1F600}', '©', '€', '\u{FFFD}', '\u{E000}', '\t'] {
            assert!(!is_ordinary(c), "{c:?}");
        }
    }
}
