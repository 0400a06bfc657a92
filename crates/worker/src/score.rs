//! Checking a decrypted contribution against its iDAO's [`Schema`] and scoring it.
//!
//! [`evaluate`] streams the file row by row (line by line for the `"text"` format, see
//! [`crate::sdk::text`]) and returns an [`Evaluation`]: a score in
//! `1..=10000`, or 0 and a [`Reason`] when the file is rejected. Independent workers must agree
//! on the result exactly, so it depends only on the bytes, the schema, the set of rows accepted
//! before (`seen`) and the [`Limits`]: integer arithmetic only, no floating point in the score,
//! no hash-map order in the output, and limits that are byte positions in the stream (so how a
//! reader splits its reads changes nothing).
//!
//! # Reading the file
//!
//! A leading UTF-8 byte order mark and leading blank lines are skipped. With the schema's
//! format `"any"`, a file whose first non-whitespace byte is `{` is JSON Lines, anything else
//! CSV; a file that has only whitespace is [`Reason::Empty`].
//!
//! - **CSV:** RFC 4180 quoting (`"` quotes, `""` inside quotes; records end at LF, CR or CRLF).
//!   The first record is the header; it must name every required declared column (header names
//!   are trimmed; extra columns are ignored; the columns are found wherever they are). Blank
//!   lines are not rows.
//! - **JSON Lines:** every non-blank line must be JSON, and is a row. Declared columns are looked up by key; a missing key or `null` is an
//!   empty cell, a string is its text, any other value its compact JSON text (`5`, `0.5`, `true`,
//!   `[1,2]`). The first object must have every required declared key.
//!
//! # Files that name their own columns
//!
//! Without declared columns (the default schema `{"format":"any"}`), the file's structure is
//! the only evidence that it is data at all, so it is checked strictly; a file that fails is
//! [`Reason::Malformed`]:
//!
//! - **CSV:** the header (the first record) has at least two fields, and at least one of its
//!   names is text that is not a number (a file of numbers has no header); every data record has
//!   exactly as many fields as the header. The columns are the header's fields, in order.
//! - **JSON Lines:** every non-blank line is a JSON object. The columns are the first object's
//!   keys, in order; a later object's other keys are ignored and its missing keys are empty
//!   cells.
//!
//! Cells are typed by their column: a column whose first non-empty cell is a number (a finite
//! `f64`, as for `"float"`) is numeric, and a later non-empty cell of it that is not a number
//! makes its row invalid; any other column is text and takes anything. So prose, Markdown and
//! other text files are rejected instead of being read as one-column CSV.
//!
//! With declared columns the schema does this job: a record with a different number of fields
//! than the header, a cell that is not of its column's type or a line that is not an object is
//! an invalid row, and `minValidPercent` decides.
//!
//! Cells are trimmed of ASCII whitespace before anything else.
//!
//! A row is **valid** when it is well-formed (the header's number of fields / an object), every
//! non-empty declared cell is a value of its column's type, and at least one declared cell is not
//! empty. Empty cells lower completeness, not validity.
//!
//! # Rows contributed before
//!
//! A valid row whose [`RowHash`] is `seen` was accepted before (in an earlier file of the iDAO,
//! or an earlier accepted file of the same flow): it earns nothing. A file all of whose valid
//! rows were seen is [`Reason::Duplicate`], so an identical re-upload never earns a DAT. A file
//! with some seen rows is scored on the others: seen rows count in neither validity, nor
//! completeness, nor `minValidPercent`, and they lower uniqueness, so padding new rows with old
//! ones only lowers the score.
//!
//! # Score
//!
//! With R the data rows, V the valid rows, S the valid rows that are `seen`, T = (V − S) × (number
//! of declared columns) the cells of the valid rows not seen, F the non-empty cells among them,
//! and U the valid rows whose [`RowHash`] is neither `seen` nor that of an earlier valid row of
//! the same file:
//!
//! ```text
//! v = 10000·(V−S)/(R−S)   c = 10000·F/T   u = 10000·U/V   (integer floor division, u128)
//! score = clamp((4·v + 2·c + 4·u) / 10, 1, 10000)
//! ```
//!
//! — validity 40 %, completeness 20 %, uniqueness 40 %; the remainder of every division goes
//! nowhere (floored). With nothing seen (S = 0) validity is V/R. Repeats within the file are not
//! set aside: they lower uniqueness only. [`compute_score`] is this formula.
//!
//! # Rejection
//!
//! A file is rejected (score 0) when it is empty ([`Reason::Empty`]), not UTF-8 or not JSON
//! ([`Reason::Encoding`]), not the structure of the [section above](#files-that-name-their-own-columns)
//! ([`Reason::Malformed`]), does not fit the schema ([`Reason::SchemaMismatch`]), breaks a
//! [`Limits`] ([`Reason::TooLarge`]), has no data rows or no valid rows
//! ([`Reason::TooFewValid`]), has valid rows that were all seen ([`Reason::Duplicate`]), or has
//! fewer valid rows than `minValidPercent` asks for among the rows not seen
//! ((V−S)·100 < minValidPercent·(R−S), [`Reason::TooFewValid`]). The [`Evaluation::detail`]
//! says why in a sentence that names rows by number and columns by their declared name (or
//! position), and never contains anything read from the file.
//!
//! # Memory
//!
//! One row at a time is held (at most [`Limits::max_row_bytes`]), plus the hashes of the file's
//! unique valid rows: 16 bytes each in [`Evaluation::new_rows`] and in a set.
//!
//! # Files from LazAI's SDK
//!
//! LazAI's SDKs contribute free text (Markdown prose) as often as tables.
//! [`crate::sdk::text::evaluate_sdk`] is [`evaluate`] for files that came through the SDK:
//! with the schema's format `"any"`, a file that is neither a CSV table nor JSON Lines
//! ([`Reason::Malformed`]) is scored as text instead of being rejected. Every other verdict is
//! [`evaluate`]'s, and an iDAO that declares `"csv"` or `"jsonl"` still refuses prose;
//! [`evaluate`] itself (the flow path) keeps rejecting prose for `"any"`.

mod csv;
mod jsonl;
pub(crate) mod row_hash;
pub(crate) mod source;
pub(crate) mod table;
pub(crate) mod tally;
pub(crate) mod verdict;

pub use row_hash::{CELL_SEPARATOR, RowHash};

use crate::schema::{Format, Schema};
use crate::sdk::text;
use std::io::BufRead;
pub use verdict::{Evaluation, Limits, Reason, compute_score};

/// Checks `input` against `schema` and scores it.
///
/// `seen` tells whether a row was accepted before (in any earlier file); it must not change
/// during the call. Never panics, whatever the bytes.
pub fn evaluate(
    input: impl BufRead,
    schema: &Schema,
    seen: &impl Fn(&RowHash) -> bool,
    limits: &Limits,
) -> Evaluation {
    match schema.format() {
        Format::Text => text::evaluate_text(input, schema, seen, limits),
        Format::Csv | Format::Jsonl | Format::Any => {
            table::evaluate_table(input, schema, seen, limits)
        }
    }
}
