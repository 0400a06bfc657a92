//! Tables: a file read as CSV or JSON Lines (the formats `"csv"`, `"jsonl"` and `"any"`), as
//! the [`crate::score`] module docs describe.

use std::io::{BufRead, Read};

use super::row_hash::RowHash;
use super::source::Source;
use super::tally::{Reject, Tally, Units};
use super::verdict::{Evaluation, Limits, Reason};
use super::{csv, jsonl};
use crate::schema::{Format, Schema};

/// Reads `input` as a table (CSV or JSON Lines, as the schema and the first byte decide) and
/// scores it; the arguments are [`crate::score::evaluate`]'s. Never panics.
pub(crate) fn evaluate_table(
    input: impl BufRead,
    schema: &Schema,
    seen: &impl Fn(&RowHash) -> bool,
    limits: &Limits,
) -> Evaluation {
    let mut src = Source::new(input, limits);
    let mut tally = Tally::new(Units::Rows, seen, limits);
    match read(&mut src, schema, &mut tally) {
        Ok(()) => tally.finish(schema),
        Err(reject) => Evaluation::rejected(reject.reason, reject.detail),
    }
}

fn read<R: Read, F: Fn(&RowHash) -> bool>(
    src: &mut Source<R>,
    schema: &Schema,
    tally: &mut Tally<'_, F>,
) -> Result<(), Reject> {
    let first = src
        .skip_blank_lines()
        .map_err(|s| tally.stopped(s, "the first line"))?;
    let Some(first) = first else {
        return Err(Reject::new(
            Reason::Empty,
            "the file is empty or only whitespace",
        ));
    };
    let jsonl = first == b'{';
    match (schema.format(), jsonl) {
        (Format::Csv, true) => Err(Reject::new(
            Reason::SchemaMismatch,
            "the schema expects CSV but the file starts like JSON Lines",
        )),
        (Format::Jsonl, false) => Err(Reject::new(
            Reason::SchemaMismatch,
            "the schema expects JSON Lines but the file does not start with '{'",
        )),
        (_, true) => jsonl::read(src, schema, tally),
        (_, false) => csv::read(src, schema, tally),
    }
}
