//! The verdict on a file: why it was rejected (the on-chain reason codes), the limits a file is
//! read under, the evaluation and how its score is computed. A leaf of `score`: the readers and
//! the tally take these names from here.

use super::row_hash::RowHash;
use std::fmt;

/// Why a file was rejected, or [`Reason::Accepted`]. The codes are stable: they go on chain.
///
/// Codes 1–3 are decided by the caller (fetching the blob, checking its root, unsealing the
/// data key); [`evaluate`] returns the others.
#[repr(u8)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Reason {
    /// The file was scored.
    Accepted = 0,
    /// The file could not be fetched or read (also: the reader given to [`evaluate`] failed).
    Unavailable = 1,
    /// The file does not match its on-chain root.
    Integrity = 2,
    /// The data key could not be unsealed.
    KeyRejected = 3,
    /// Not UTF-8, or a JSON Lines line that is not JSON.
    Encoding = 4,
    /// A missing declared column, no header, a first object without a required key, or a file
    /// in the other format than the schema's.
    SchemaMismatch = 5,
    /// No data rows, no valid rows, or fewer valid rows than `minValidPercent`.
    TooFewValid = 6,
    /// A [`Limits`] was exceeded (or a header with more than
    /// [`MAX_COLUMNS`](crate::schema::MAX_COLUMNS) columns).
    TooLarge = 7,
    /// No bytes, or only whitespace.
    Empty = 8,
    /// Every valid row was accepted before (an earlier file of the iDAO, or an earlier file of
    /// the same flow).
    Duplicate = 9,
    /// Without declared columns: not CSV with a header and the same number of fields on every
    /// row, or not JSON Lines of objects (see the [module docs](self)). For the format
    /// `"text"`: not text (invalid UTF-8, or a NUL byte).
    Malformed = 10,
}

impl Reason {
    /// Every reason, in code order.
    pub const ALL: [Reason; 11] = [
        Reason::Accepted,
        Reason::Unavailable,
        Reason::Integrity,
        Reason::KeyRejected,
        Reason::Encoding,
        Reason::SchemaMismatch,
        Reason::TooFewValid,
        Reason::TooLarge,
        Reason::Empty,
        Reason::Duplicate,
        Reason::Malformed,
    ];

    /// The stable code.
    pub fn code(self) -> u8 {
        self as u8
    }

    /// The reason with this code, if any.
    pub fn from_code(code: u8) -> Option<Reason> {
        Reason::ALL.get(usize::from(code)).copied()
    }

    /// A sentence for people.
    pub fn describe(self) -> &'static str {
        match self {
            Reason::Accepted => "the file was accepted",
            Reason::Unavailable => "the file could not be fetched or read",
            Reason::Integrity => "the file does not match its on-chain commitment",
            Reason::KeyRejected => "the data key could not be unsealed by this worker",
            Reason::Encoding => "the file is not valid UTF-8 or its structure cannot be parsed",
            Reason::SchemaMismatch => "the file does not match the iDAO's schema",
            Reason::TooFewValid => "too few rows of the file are valid",
            Reason::TooLarge => "the file exceeds a size limit",
            Reason::Empty => "the file is empty",
            Reason::Duplicate => "every row of the file was already contributed",
            Reason::Malformed => "the file is not CSV with a header or JSON lines",
        }
    }
}

impl fmt::Display for Reason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.describe())
    }
}

/// Bounds on what [`evaluate`] reads; going past one rejects the file with
/// [`Reason::TooLarge`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Most data rows (default 10 million).
    pub max_rows: u64,
    /// Most bytes in one row, counting its line ending and any empty lines before it (default
    /// 1 MiB). The CSV header is a row here.
    pub max_row_bytes: usize,
    /// Most bytes in the file (default 16 GiB).
    pub max_bytes: u64,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            max_rows: 10_000_000,
            max_row_bytes: 1 << 20,
            max_bytes: 16 << 30,
        }
    }
}

/// The verdict on one file.
///
/// When the file is rejected the score is 0 and `new_rows` is empty; the counts are kept for
/// [`Reason::TooFewValid`] and [`Reason::Duplicate`] (they are complete then) and are 0 for
/// every other reason.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Evaluation {
    /// `1..=10000`, or 0 when rejected.
    pub score: u16,
    /// [`Reason::Accepted`] or why not.
    pub reason: Reason,
    /// A short explanation that never quotes the file's content.
    pub detail: String,
    /// R: data rows (for text: non-blank lines).
    pub rows: u64,
    /// V: valid rows.
    pub valid: u64,
    /// S: valid rows that were accepted before (`seen`).
    pub seen: u64,
    /// U: valid rows that are new (not `seen`, not repeated in the file).
    pub unique: u64,
    /// T: (V − S) × number of declared columns (for text: the characters of the valid lines
    /// not `seen`).
    pub cells: u64,
    /// F: non-empty declared cells of the valid rows not `seen` (for text: the ordinary
    /// characters among T, see [`crate::sdk::text`]).
    pub filled: u64,
    /// The hashes of the new rows, in file order, to add to the accepted set if the file is
    /// accepted.
    pub new_rows: Vec<RowHash>,
}

impl Evaluation {
    /// A rejection with no counts, e.g. for the reasons the caller decides.
    pub fn rejected(reason: Reason, detail: impl Into<String>) -> Evaluation {
        Evaluation {
            score: 0,
            reason,
            detail: detail.into(),
            rows: 0,
            valid: 0,
            seen: 0,
            unique: 0,
            cells: 0,
            filled: 0,
            new_rows: Vec::new(),
        }
    }

    /// Whether the file was accepted.
    pub fn is_accepted(&self) -> bool {
        self.reason == Reason::Accepted
    }
}

/// The score formula of the [module docs](self), from the counts R, V, S, T, F and U. A zero
/// denominator makes its part 0.
pub fn compute_score(
    rows: u64,
    valid: u64,
    seen: u64,
    cells: u64,
    filled: u64,
    unique: u64,
) -> u16 {
    let (v, c, u) = parts(rows, valid, seen, cells, filled, unique);
    let score = ((4 * v + 2 * c + 4 * u) / 10).clamp(1, 10_000);
    u16::try_from(score).unwrap_or(10_000)
}

/// Validity, completeness and uniqueness in basis points (see [`compute_score`]).
pub(super) fn parts(
    rows: u64,
    valid: u64,
    seen: u64,
    cells: u64,
    filled: u64,
    unique: u64,
) -> (u128, u128, u128) {
    let part = |num: u64, den: u64| {
        if den == 0 {
            0
        } else {
            10_000 * u128::from(num) / u128::from(den)
        }
    };
    (
        part(valid.saturating_sub(seen), rows.saturating_sub(seen)),
        part(filled, cells),
        part(unique, valid),
    )
}

/// `n` and the noun, singular or plural.
pub(super) fn count(n: u64, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}
