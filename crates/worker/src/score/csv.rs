//! CSV: RFC 4180 records (via `csv-core`), a header row, declared columns found by name.

use std::io::Read;

use csv_core::{ReadRecordResult, Reader, ReaderBuilder};

use super::row_hash::RowHash;
use super::source::{Source, Stop};
use super::tally::{Reject, Tally};
use super::verdict::{Reason, count};
use crate::schema::{ColumnType, MAX_COLUMNS, Schema};

/// The delimiters that are sniffed, in order of preference on a tie.
const CANDIDATES: [u8; 3] = [b',', b';', b'\t'];

/// The most frequent of `,` `;` TAB in the header line; `,` on a tie.
pub(super) fn sniff_delimiter(line: &[u8]) -> u8 {
    let count = |d: u8| line.iter().filter(|&&b| b == d).count();
    let mut best = CANDIDATES[0];
    let mut best_count = count(best);
    for d in &CANDIDATES[1..] {
        let c = count(*d);
        if c > best_count {
            best = *d;
            best_count = c;
        }
    }
    best
}

/// One parsed record: the unescaped fields back to back and where each ends.
struct Record {
    out: Vec<u8>,
    len: usize,
    ends: Vec<usize>,
    fields: usize,
}

impl Record {
    fn new() -> Record {
        Record {
            out: vec![0; 1024],
            len: 0,
            ends: vec![0; 64],
            fields: 0,
        }
    }

    fn field(&self, i: usize) -> &[u8] {
        let start = if i == 0 { 0 } else { self.ends[i - 1] };
        &self.out[start..self.ends[i]]
    }

    /// A record that is a single whitespace-only field: a blank line, not a row.
    fn is_blank(&self) -> bool {
        self.fields == 1 && self.field(0).trim_ascii().is_empty()
    }

    /// The fields as text, or `None` if any field is not valid UTF-8.
    fn texts<'a>(&'a self, into: &mut Vec<&'a str>) -> Option<()> {
        into.clear();
        let all = std::str::from_utf8(&self.out[..self.len]).ok()?;
        let mut start = 0;
        for &end in &self.ends[..self.fields] {
            // Each field is valid UTF-8 exactly when the whole is and every boundary is a
            // character boundary.
            into.push(all.get(start..end)?);
            start = end;
        }
        Some(())
    }
}

/// Reads the next record into `rec`; `false` at the end of input.
fn next_record<R: Read>(
    src: &mut Source<R>,
    rdr: &mut Reader,
    rec: &mut Record,
) -> Result<bool, Stop> {
    rec.len = 0;
    rec.fields = 0;
    let start = src.pos();
    loop {
        let (cap, limit) = src.budget(start);
        if rec.len == rec.out.len() {
            let len = rec.out.len() * 2;
            rec.out.resize(len, 0);
        }
        if rec.fields == rec.ends.len() {
            let len = rec.ends.len() * 2;
            rec.ends.resize(len, 0);
        }
        let buf = src.fill()?;
        let input = if buf.is_empty() {
            buf
        } else if cap == 0 {
            return Err(Stop::Limit(limit));
        } else {
            &buf[..buf.len().min(cap)]
        };
        let (res, nin, nout, nend) =
            rdr.read_record(input, &mut rec.out[rec.len..], &mut rec.ends[rec.fields..]);
        src.consume(nin);
        rec.len += nout;
        rec.fields += nend;
        match res {
            ReadRecordResult::Record => return Ok(true),
            ReadRecordResult::End => return Ok(false),
            ReadRecordResult::InputEmpty
            | ReadRecordResult::OutputFull
            | ReadRecordResult::OutputEndsFull => {}
        }
    }
}

/// Reads a CSV file from its first non-blank line on.
pub(super) fn read<R: Read, F: Fn(&RowHash) -> bool>(
    src: &mut Source<R>,
    schema: &Schema,
    tally: &mut Tally<'_, F>,
) -> Result<(), Reject> {
    let delimiter = match schema.delimiter() {
        Some(d) => d,
        None => sniff_delimiter(
            src.current_line()
                .map_err(|s| tally.stopped(s, "the header"))?,
        ),
    };
    let mut rdr = ReaderBuilder::new().delimiter(delimiter).build();
    let mut rec = Record::new();

    // The header: the first record that is not blank.
    loop {
        let more =
            next_record(src, &mut rdr, &mut rec).map_err(|s| tally.stopped(s, "the header"))?;
        if !more {
            return Err(Reject::new(
                Reason::SchemaMismatch,
                "the file has no header row",
            ));
        }
        if !rec.is_blank() {
            break;
        }
    }
    let mut texts = Vec::new();
    if rec.texts(&mut texts).is_none() {
        return Err(Reject::new(
            Reason::Encoding,
            "the header is not valid UTF-8",
        ));
    }
    let header_fields = rec.fields;
    // For each declared column, its field in the header (None: optional and absent).
    let positions: Vec<Option<usize>> = match schema.columns() {
        Some(columns) => {
            let mut positions = vec![None; columns.len()];
            let index: std::collections::HashMap<&str, usize> = columns
                .iter()
                .enumerate()
                .map(|(i, c)| (c.name.as_str(), i))
                .collect();
            for (field, name) in texts.iter().enumerate() {
                if let Some(&i) = index.get(name.trim_ascii()) {
                    if positions[i].is_some() {
                        return Err(Reject::new(
                            Reason::SchemaMismatch,
                            format!(
                                "column {:?} appears more than once in the header",
                                columns[i].name
                            ),
                        ));
                    }
                    positions[i] = Some(field);
                }
            }
            if let Some(missing) = columns
                .iter()
                .zip(&positions)
                .find(|(c, p)| c.required && p.is_none())
            {
                return Err(Reject::new(
                    Reason::SchemaMismatch,
                    format!("missing column {:?}", missing.0.name),
                ));
            }
            tally.set_columns(
                columns.iter().map(|c| c.ty).collect(),
                columns.iter().map(|c| c.name.clone()).collect(),
            );
            positions
        }
        None => {
            if header_fields > MAX_COLUMNS {
                return Err(Reject::new(
                    Reason::TooLarge,
                    format!(
                        "the header has {header_fields} columns; at most {MAX_COLUMNS} are supported"
                    ),
                ));
            }
            check_own_header(&texts)?;
            tally.infer_columns(header_fields);
            (0..header_fields).map(Some).collect()
        }
    };
    drop(texts);
    // Columns named by the file: a ragged record means the file is not a table at all.
    let strict = schema.columns().is_none();

    let mut texts: Vec<&str> = Vec::new();
    let mut cells: Vec<&str> = Vec::with_capacity(positions.len());
    loop {
        let row = tally.rows() + 1;
        let more = next_record(src, &mut rdr, &mut rec)
            .map_err(|s| tally.stopped(s, &format!("row {row}")))?;
        if !more {
            return Ok(());
        }
        if rec.is_blank() {
            continue;
        }
        let row = tally.begin_row()?;
        let mut spare_texts = recycle(std::mem::take(&mut texts));
        if rec.texts(&mut spare_texts).is_none() {
            return Err(Reject::new(
                Reason::Encoding,
                format!("row {row} is not valid UTF-8"),
            ));
        }
        if rec.fields != header_fields && strict {
            return Err(Reject::new(
                Reason::Malformed,
                format!(
                    "row {row} has {}, the header has {header_fields}: not a CSV table",
                    count(rec.fields as u64, "field", "fields")
                ),
            ));
        } else if rec.fields != header_fields {
            let fields = rec.fields;
            tally.invalid(|| {
                format!(
                    "row {row} has {}, the header has {header_fields}",
                    count(fields as u64, "field", "fields")
                )
            });
        } else {
            let mut row_cells = recycle(std::mem::take(&mut cells));
            row_cells.extend(
                positions
                    .iter()
                    .map(|p| p.map_or("", |p| spare_texts[p].trim_ascii())),
            );
            tally.cells(row, &row_cells);
            cells = recycle(row_cells);
        }
        texts = recycle(spare_texts);
    }
}

/// Checks that a header that defines the columns looks like one: at least two fields, one of
/// them a name that is not a number.
fn check_own_header(names: &[&str]) -> Result<(), Reject> {
    if names.len() < 2 {
        return Err(Reject::new(
            Reason::Malformed,
            "the first line has no ',', ';' or tab: not a CSV header of two or more columns",
        ));
    }
    let is_name = |name: &&str| {
        let name = name.trim_ascii();
        !name.is_empty() && !ColumnType::Float.accepts(name)
    };
    if !names.iter().any(is_name) {
        return Err(Reject::new(
            Reason::Malformed,
            "the first line names no column (its fields are empty or numbers): not a CSV header",
        ));
    }
    Ok(())
}

/// An empty vector of string slices with the allocation of `v`, for any lifetime (the
/// collect reuses the allocation because the element layout is the same).
fn recycle<'b>(mut v: Vec<&str>) -> Vec<&'b str> {
    v.clear();
    v.into_iter().map(|_| "").collect()
}
