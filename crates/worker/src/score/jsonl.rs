//! JSON Lines: one object per non-blank line, declared columns looked up by key.

use std::{borrow::Cow, collections::HashSet, fmt, io::Read};

use serde::{
    Deserialize, Deserializer,
    de::{IgnoredAny, MapAccess, Visitor},
};
use serde_json::Value;

use super::row_hash::RowHash;
use super::source::Source;
use super::tally::{Reject, Tally};
use super::verdict::Reason;
use crate::schema::{MAX_COLUMNS, Schema};

/// Reads a JSON Lines file from its first non-blank line on.
pub(super) fn read<R: Read, F: Fn(&RowHash) -> bool>(
    src: &mut Source<R>,
    schema: &Schema,
    tally: &mut Tally<'_, F>,
) -> Result<(), Reject> {
    let mut line = Vec::new();
    // The names of the columns, once known (from the schema or the first object).
    let mut names: Option<Vec<String>> = None;
    loop {
        let row = tally.rows() + 1;
        let more = src
            .read_line(&mut line)
            .map_err(|s| tally.stopped(s, &format!("row {row}")))?;
        if !more {
            return Ok(());
        }
        let bytes = line.trim_ascii();
        if bytes.is_empty() {
            continue;
        }
        let row = tally.begin_row()?;
        let Ok(text) = std::str::from_utf8(bytes) else {
            return Err(Reject::new(
                Reason::Encoding,
                format!("row {row} is not valid UTF-8"),
            ));
        };
        let value: Value = serde_json::from_str(text).map_err(|e| {
            let kind = match e.classify() {
                serde_json::error::Category::Eof => "it ends early",
                _ => "syntax error",
            };
            Reject::new(
                Reason::Encoding,
                format!(
                    "row {row} is not valid JSON ({kind} at column {})",
                    e.column()
                ),
            )
        })?;

        if names.is_none() {
            names = Some(columns_from_first(text, &value, schema, tally)?);
        }
        let Some(names) = &names else { continue };
        let Value::Object(object) = value else {
            if schema.columns().is_none() {
                // Columns named by the file: a line that is not an object is not JSON Lines data.
                return Err(Reject::new(
                    Reason::Malformed,
                    format!("row {row} is not a JSON object: not JSON Lines of objects"),
                ));
            }
            tally.invalid(|| format!("row {row} is not a JSON object"));
            continue;
        };
        let owned: Vec<Cow<'_, str>> = names
            .iter()
            .map(|name| match object.get(name) {
                None | Some(Value::Null) => Cow::Borrowed(""),
                Some(Value::String(s)) => Cow::Borrowed(s.as_str()),
                Some(other) => Cow::Owned(other.to_string()),
            })
            .collect();
        let cells: Vec<&str> = owned.iter().map(|c| c.trim_ascii()).collect();
        tally.cells(row, &cells);
    }
}

/// Checks the first object against the schema, or takes the columns from its keys, and tells
/// `tally`; returns the column names.
fn columns_from_first<F: Fn(&RowHash) -> bool>(
    text: &str,
    value: &Value,
    schema: &Schema,
    tally: &mut Tally<'_, F>,
) -> Result<Vec<String>, Reject> {
    let Value::Object(object) = value else {
        return Err(Reject::new(
            Reason::SchemaMismatch,
            "the first line is not a JSON object",
        ));
    };
    match schema.columns() {
        Some(columns) => {
            if let Some(missing) = columns
                .iter()
                .find(|c| c.required && !object.contains_key(&c.name))
            {
                return Err(Reject::new(
                    Reason::SchemaMismatch,
                    format!("the first object has no key {:?}", missing.name),
                ));
            }
            let names: Vec<String> = columns.iter().map(|c| c.name.clone()).collect();
            tally.set_columns(columns.iter().map(|c| c.ty).collect(), names.clone());
            Ok(names)
        }
        None => {
            // The value parsed, so this parses too; it only adds the order of the keys.
            let keys = serde_json::from_str::<KeyOrder>(text)
                .map_err(|_| Reject::new(Reason::Encoding, "row 1 is not valid JSON"))?;
            if keys.overflow {
                return Err(Reject::new(
                    Reason::TooLarge,
                    format!("the first object has more than {MAX_COLUMNS} keys"),
                ));
            }
            if keys.keys.is_empty() {
                return Err(Reject::new(
                    Reason::SchemaMismatch,
                    "the first object has no keys to take the columns from",
                ));
            }
            tally.infer_columns(keys.keys.len());
            Ok(keys.keys)
        }
    }
}

/// The distinct keys of a JSON object in the order they first appear (up to one more than
/// [`MAX_COLUMNS`]).
struct KeyOrder {
    keys: Vec<String>,
    overflow: bool,
}

impl<'de> Deserialize<'de> for KeyOrder {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<KeyOrder, D::Error> {
        deserializer.deserialize_map(KeyOrderVisitor)
    }
}

struct KeyOrderVisitor;

impl<'de> Visitor<'de> for KeyOrderVisitor {
    type Value = KeyOrder;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<KeyOrder, A::Error> {
        let mut seen = HashSet::new();
        let mut keys = Vec::new();
        let mut overflow = false;
        while let Some(key) = map.next_key::<String>()? {
            map.next_value::<IgnoredAny>()?;
            if overflow || seen.contains(&key) {
                continue;
            }
            if keys.len() == MAX_COLUMNS {
                overflow = true;
                continue;
            }
            seen.insert(key.clone());
            keys.push(key);
        }
        Ok(KeyOrder { keys, overflow })
    }
}
