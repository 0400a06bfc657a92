//! The running counts of one file's evaluation: rows, valid rows, filled cells, unique rows
//! and the first invalid row, and the [`Evaluation`] they make. Tables count rows and cells;
//! free text ([`crate::sdk::text`]) counts lines and characters with the same bookkeeping.

use super::row_hash::PassThrough;
use super::row_hash::{CELL_SEPARATOR, RowHash};
use super::source::{Limit, Stop};
use super::verdict::{Evaluation, Limits, Reason, compute_score, count, parts};
use crate::schema::{ColumnType, Schema};
use std::collections::HashSet;
use std::hash::BuildHasherDefault;

/// A rejection on its way out.
#[derive(Debug)]
pub(crate) struct Reject {
    pub(crate) reason: Reason,
    pub(crate) detail: String,
}

impl Reject {
    pub(crate) fn new(reason: Reason, detail: impl Into<String>) -> Reject {
        Reject {
            reason,
            detail: detail.into(),
        }
    }
}

/// What a file is made of, for the words of the verdict.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Units {
    /// Data rows, whose cells are filled or not (completeness).
    Rows,
    /// Lines of text, whose characters are ordinary or not (quality).
    Lines,
}

impl Units {
    fn one(self) -> &'static str {
        match self {
            Units::Rows => "row",
            Units::Lines => "line",
        }
    }

    fn many(self) -> &'static str {
        match self {
            Units::Rows => "rows",
            Units::Lines => "lines",
        }
    }

    /// The name of the middle part of the score.
    fn measure(self) -> &'static str {
        match self {
            Units::Rows => "completeness",
            Units::Lines => "quality",
        }
    }

    fn count(self, n: u64) -> String {
        count(n, self.one(), self.many())
    }
}

/// The running counts.
pub(crate) struct Tally<'a, F> {
    pub(super) units: Units,
    pub(super) seen: &'a F,
    pub(super) limits: Limits,
    pub(super) types: Vec<ColumnType>,
    /// Whether the file named the columns: each column's type is then taken from its first
    /// non-empty cell (`Any` until then).
    pub(super) infer: bool,
    /// Declared names, for messages; `None` when the file named the columns (its names are
    /// content and stay out of messages).
    pub(super) names: Option<Vec<String>>,
    pub(super) rows: u64,
    pub(super) valid: u64,
    pub(super) seen_rows: u64,
    /// T: the cells (or characters) of the valid rows not `seen`.
    pub(super) cells: u64,
    pub(super) filled: u64,
    pub(super) unique: u64,
    pub(super) new_rows: Vec<RowHash>,
    pub(super) set: HashSet<RowHash, BuildHasherDefault<PassThrough>>,
    pub(super) joined: Vec<u8>,
    pub(super) first_invalid: Option<String>,
}

impl<'a, F: Fn(&RowHash) -> bool> Tally<'a, F> {
    /// Counts for a file of `units`.
    pub(crate) fn new(units: Units, seen: &'a F, limits: &Limits) -> Tally<'a, F> {
        Tally {
            units,
            seen,
            limits: *limits,
            types: Vec::new(),
            infer: false,
            names: None,
            rows: 0,
            valid: 0,
            seen_rows: 0,
            cells: 0,
            filled: 0,
            unique: 0,
            new_rows: Vec::new(),
            set: HashSet::default(),
            joined: Vec::new(),
            first_invalid: None,
        }
    }

    /// The declared columns' types and names.
    pub(super) fn set_columns(&mut self, types: Vec<ColumnType>, names: Vec<String>) {
        self.types = types;
        self.names = Some(names);
    }

    /// `n` columns named by the file, typed by their first non-empty cells.
    pub(super) fn infer_columns(&mut self, n: usize) {
        self.types = vec![ColumnType::Any; n];
        self.infer = true;
    }

    pub(crate) fn rows(&self) -> u64 {
        self.rows
    }

    /// Counts a new data row and returns its number (from 1).
    pub(crate) fn begin_row(&mut self) -> Result<u64, Reject> {
        if self.rows >= self.limits.max_rows {
            return Err(Reject::new(
                Reason::TooLarge,
                format!(
                    "the file has more than the limit of {} {}",
                    self.limits.max_rows,
                    self.units.many()
                ),
            ));
        }
        self.rows += 1;
        Ok(self.rows)
    }

    /// Notes an invalid row; `why` is only called for the first.
    pub(crate) fn invalid(&mut self, why: impl FnOnce() -> String) {
        if self.first_invalid.is_none() {
            self.first_invalid = Some(why());
        }
    }

    /// A well-formed row's declared cells (trimmed), in declared order.
    pub(super) fn cells(&mut self, row: u64, cells: &[&str]) {
        let mut filled = 0u64;
        if self.infer {
            for (cell, ty) in cells.iter().zip(self.types.iter_mut()) {
                if !cell.is_empty() && *ty == ColumnType::Any {
                    *ty = if ColumnType::Float.accepts(cell) {
                        ColumnType::Float
                    } else {
                        ColumnType::String
                    };
                }
            }
        }
        for (i, (cell, &ty)) in cells.iter().zip(&self.types).enumerate() {
            if cell.is_empty() {
                continue;
            }
            if !ty.accepts(cell) {
                if self.first_invalid.is_none() {
                    let why = if self.infer {
                        format!(
                            "row {row}: {} is not a number, unlike its first value",
                            self.label(i)
                        )
                    } else {
                        let article = if matches!(ty, ColumnType::Int | ColumnType::Any) {
                            "an"
                        } else {
                            "a"
                        };
                        format!("row {row}: {} is not {article} {ty}", self.label(i))
                    };
                    self.first_invalid = Some(why);
                }
                return;
            }
            filled += 1;
        }
        if filled == 0 {
            self.invalid(|| format!("row {row}: every declared cell is empty"));
            return;
        }
        self.joined.clear();
        for (i, cell) in cells.iter().enumerate() {
            if i > 0 {
                self.joined.push(CELL_SEPARATOR);
            }
            self.joined.extend_from_slice(cell.as_bytes());
        }
        let hash = RowHash::of_joined(&self.joined);
        let width = u64::try_from(self.types.len()).unwrap_or(u64::MAX);
        self.valid_row(hash, width, filled);
    }

    /// A valid row (or line) with this hash, `cells` cells (characters) of which `filled` are
    /// filled (ordinary).
    pub(crate) fn valid_row(&mut self, hash: RowHash, cells: u64, filled: u64) {
        self.valid += 1;
        if !self.set.contains(&hash) && (self.seen)(&hash) {
            // Accepted before: it earns nothing and counts only against uniqueness.
            self.seen_rows += 1;
            return;
        }
        self.cells = self.cells.saturating_add(cells);
        self.filled = self.filled.saturating_add(filled);
        // A repeat within the file lowers uniqueness only.
        if self.set.insert(hash) {
            self.new_rows.push(hash);
            self.unique += 1;
        }
    }

    /// How a column is named in messages.
    pub(super) fn label(&self, i: usize) -> String {
        match self.names.as_ref().and_then(|n| n.get(i)) {
            Some(name) => format!("column {name:?}"),
            None => format!("column {}", i + 1),
        }
    }

    /// The rejection for a stopped stream; `what` names the row being read.
    pub(crate) fn stopped(&self, stop: Stop, what: &str) -> Reject {
        match stop {
            Stop::Io(kind) => Reject::new(
                Reason::Unavailable,
                format!("reading the file failed: {kind}"),
            ),
            Stop::Limit(Limit::File) => Reject::new(
                Reason::TooLarge,
                format!(
                    "the file is larger than the limit of {} bytes",
                    self.limits.max_bytes
                ),
            ),
            Stop::Limit(Limit::Row) => Reject::new(
                Reason::TooLarge,
                format!(
                    "{what} is longer than the limit of {} bytes",
                    self.limits.max_row_bytes
                ),
            ),
        }
    }

    pub(crate) fn finish(self, schema: &Schema) -> Evaluation {
        // Rows accepted before are set aside: the file is judged on the others.
        let fresh_rows = self.rows - self.seen_rows;
        let fresh_valid = self.valid - self.seen_rows;
        let cells = self.cells;
        let units = self.units;
        let mut eval = Evaluation {
            score: 0,
            reason: Reason::TooFewValid,
            detail: String::new(),
            rows: self.rows,
            valid: self.valid,
            seen: self.seen_rows,
            unique: self.unique,
            cells,
            filled: self.filled,
            new_rows: Vec::new(),
        };
        let first_invalid = match &self.first_invalid {
            Some(why) => format!("; first invalid: {why}"),
            None => String::new(),
        };
        let percent = u128::from(schema.min_valid_percent());
        if self.rows == 0 {
            eval.detail = format!("the file has no data {}", units.many());
        } else if self.valid == 0 {
            eval.detail = format!(
                "no valid {} among {}{first_invalid}",
                units.one(),
                units.count(self.rows)
            );
        } else if self.unique == 0 {
            // Only `seen` rows can leave a file with valid rows and no unique one.
            eval.reason = Reason::Duplicate;
            eval.detail = format!(
                "{} accepted before{first_invalid}",
                if self.valid == 1 {
                    format!("the file's one valid {} was", units.one())
                } else {
                    format!("all {} valid {} of the file were", self.valid, units.many())
                }
            );
        } else if u128::from(fresh_valid) * 100 < percent * u128::from(fresh_rows) {
            let rows = if self.seen_rows == 0 {
                units.many().to_string()
            } else {
                format!("{} not accepted before", units.many())
            };
            eval.detail = format!(
                "{fresh_valid} of {fresh_rows} {rows} are valid, {percent} % must be{first_invalid}"
            );
        } else {
            let (rows, valid, seen, filled, unique) = (
                self.rows,
                self.valid,
                self.seen_rows,
                self.filled,
                self.unique,
            );
            eval.score = compute_score(rows, valid, seen, cells, filled, unique);
            eval.reason = Reason::Accepted;
            let (v, c, u) = parts(rows, valid, seen, cells, filled, unique);
            let seen = if self.seen_rows == 0 {
                String::new()
            } else {
                format!("; {} accepted before", units.count(self.seen_rows))
            };
            let measure = units.measure();
            eval.detail =
                format!("validity {v}, {measure} {c}, uniqueness {u}{seen}{first_invalid}");
            eval.new_rows = self.new_rows;
        }
        eval
    }
}
