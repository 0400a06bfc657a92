//! The schema an iDAO declares for its data: file format, columns and their types, and how many
//! rows must be valid.
//!
//! A schema is a small JSON document (at most [`MAX_SCHEMA_BYTES`]), for example
//!
//! ```json
//! {"format":"csv","delimiter":",","columns":[{"name":"fixed acidity","type":"float"},
//!  {"name":"quality","type":"int","required":true}],"minValidPercent":50}
//! ```
//!
//! | field | meaning | default |
//! |---|---|---|
//! | `format` | `"csv"`, `"jsonl"`, `"text"` (free UTF-8 text, see below) or `"any"` (per file: JSON Lines if the first non-whitespace byte is `{`, else CSV) | `"any"` |
//! | `delimiter` | CSV only: one ASCII character other than `"`, CR and LF | the most frequent of `,` `;` TAB in the header line; ties go to `,` |
//! | `columns` | the declared columns, in order: `name`, `type`, `required` | the file's header (CSV) or the first object's keys (JSONL), all `"any"` and required |
//! | `minValidPercent` | the share of rows (lines, for text) (0–100) that must be valid | 50 |
//!
//! Without `columns`, the file's structure is checked strictly (a CSV table with a header, or
//! JSON Lines of objects) and each column is typed by its first value; see
//! [`crate::score`].
//!
//! With `"text"` the file is free UTF-8 text — prose, Markdown, notes, what LazAI's SDK
//! examples contribute — scored line by line as [`crate::sdk::text`] describes: it has lines,
//! not columns, so `columns` and `delimiter` are errors, and `minValidPercent` is the share of
//! its lines that must be valid. (With `"any"`, prose is rejected, except for files contributed
//! through the SDK: see [`crate::sdk::text::evaluate_sdk`].)
//!
//! Column types: `"int"` (an `i64`), `"float"` (a finite `f64`), `"bool"` (`true` or `false`,
//! lower case), `"string"` and `"any"` (anything); `type` defaults to `"any"`. A column that is
//! `required` (the default) must be in the file's header (CSV) or among the first object's keys
//! (JSONL); an optional column may be missing from the file, and its cells are then empty. At
//! most [`MAX_COLUMNS`] columns with unique names of 1 to [`MAX_NAME_BYTES`] bytes and no
//! leading or trailing whitespace may be declared.
//!
//! Parsing is strict: unknown fields, repeated fields and values of the wrong type are errors.
//! [`Schema::to_json`] gives a canonical form (fields in the order above, `format` and each
//! column's `type` always written, other fields only when they differ from their default) that
//! parses back to the same schema.

use std::{fmt, str::FromStr};

use serde::Deserialize;

/// The largest schema text [`Schema::parse`] accepts, in bytes.
pub const MAX_SCHEMA_BYTES: usize = 16 * 1024;
/// The most columns a schema may declare (and a file's header may define).
pub const MAX_COLUMNS: usize = 1024;
/// The longest column name, in bytes.
pub const MAX_NAME_BYTES: usize = 128;
/// `minValidPercent` when the schema does not set it.
pub const DEFAULT_MIN_VALID_PERCENT: u8 = 50;

/// Why a schema text was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SchemaError {
    /// The text is longer than [`MAX_SCHEMA_BYTES`].
    #[error("schema is {len} bytes; at most {MAX_SCHEMA_BYTES} are allowed")]
    TooLarge {
        /// Length of the text.
        len: usize,
    },

    /// Not JSON, or not a schema object: syntax errors, unknown or repeated fields, unknown
    /// formats or types, values of the wrong JSON type. The message is serde_json's and names
    /// the line and column.
    #[error("invalid schema: {0}")]
    Json(String),

    /// `delimiter` is not a single ASCII character other than `"`, CR and LF.
    #[error(
        "invalid delimiter {0:?}: it must be a single ASCII character other than '\"', CR and LF"
    )]
    Delimiter(String),

    /// `delimiter` is set although `format` is `"jsonl"`.
    #[error("delimiter only applies to CSV, but the format is \"jsonl\"")]
    DelimiterWithJsonl,

    /// `delimiter` is set although `format` is `"text"`.
    #[error("delimiter only applies to CSV, but the format is \"text\"")]
    DelimiterWithText,

    /// `columns` is set although `format` is `"text"`, which has lines, not columns.
    #[error("columns do not apply to the format \"text\": text is scored by lines")]
    ColumnsWithText,

    /// `columns` is an empty list.
    #[error("columns is empty; leave it out to take the columns from the file")]
    NoColumns,

    /// More than [`MAX_COLUMNS`] columns.
    #[error("{count} columns declared; at most {MAX_COLUMNS} are allowed")]
    TooManyColumns {
        /// Columns declared.
        count: usize,
    },

    /// A column name is empty.
    #[error("columns[{index}]: the name is empty")]
    EmptyName {
        /// Position of the column in `columns`, from 0.
        index: usize,
    },

    /// A column name is longer than [`MAX_NAME_BYTES`].
    #[error("columns[{index}]: the name is {len} bytes long; at most {MAX_NAME_BYTES} are allowed")]
    NameTooLong {
        /// Position of the column in `columns`, from 0.
        index: usize,
        /// Length of the name in bytes.
        len: usize,
    },

    /// A column name starts or ends with whitespace (header names are trimmed before they are
    /// compared, so such a name could never match).
    #[error("columns[{index}]: the name {name:?} has leading or trailing whitespace")]
    UntrimmedName {
        /// Position of the column in `columns`, from 0.
        index: usize,
        /// The name.
        name: String,
    },

    /// Two columns have the same name.
    #[error("columns[{index}]: the name {name:?} is already used by an earlier column")]
    DuplicateName {
        /// Position of the second column in `columns`, from 0.
        index: usize,
        /// The name.
        name: String,
    },

    /// `minValidPercent` is above 100.
    #[error("minValidPercent is {0}; it must be between 0 and 100")]
    MinValidPercent(u64),
}

/// How the contributed file is laid out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    /// Comma (or other delimiter) separated values with a header row, RFC 4180 quoting.
    Csv,
    /// JSON Lines: one JSON object per line.
    Jsonl,
    /// Free UTF-8 text, scored by lines ([`crate::sdk::text`]).
    Text,
    /// Decided per file: JSON Lines if the first non-whitespace byte is `{`, else CSV.
    #[default]
    Any,
}

impl Format {
    /// The schema spelling: `"csv"`, `"jsonl"`, `"text"` or `"any"`.
    pub fn as_str(self) -> &'static str {
        match self {
            Format::Csv => "csv",
            Format::Jsonl => "jsonl",
            Format::Text => "text",
            Format::Any => "any",
        }
    }
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The type of a column's cells. Empty cells are never checked against the type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ColumnType {
    /// A signed 64-bit integer in decimal (`-12`, `+7`).
    Int,
    /// A finite 64-bit float as Rust's `f64::from_str` reads it (`1.5`, `-3`, `2e-3`); `NaN`
    /// and infinities are not finite.
    Float,
    /// `true` or `false`, lower case.
    Bool,
    /// Any text.
    String,
    /// Anything.
    #[default]
    Any,
}

impl ColumnType {
    /// The schema spelling: `"int"`, `"float"`, `"bool"`, `"string"` or `"any"`.
    pub fn as_str(self) -> &'static str {
        match self {
            ColumnType::Int => "int",
            ColumnType::Float => "float",
            ColumnType::Bool => "bool",
            ColumnType::String => "string",
            ColumnType::Any => "any",
        }
    }

    /// Whether `cell` (already trimmed, not empty) is a value of this type.
    pub fn accepts(self, cell: &str) -> bool {
        match self {
            ColumnType::Int => cell.parse::<i64>().is_ok(),
            ColumnType::Float => cell.parse::<f64>().is_ok_and(f64::is_finite),
            ColumnType::Bool => cell == "true" || cell == "false",
            ColumnType::String | ColumnType::Any => true,
        }
    }
}

impl fmt::Display for ColumnType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One declared column.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Column {
    /// The name, as it appears (after trimming) in the CSV header or as a JSON key.
    pub name: String,
    /// The type of its cells.
    pub ty: ColumnType,
    /// Whether the column must be present in the file (see the [module docs](self)).
    pub required: bool,
}

/// A validated schema. Build one with [`Schema::parse`] or [`Schema::any`].
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Schema {
    format: Format,
    delimiter: Option<u8>,
    columns: Option<Vec<Column>>,
    min_valid_percent: u8,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct RawSchema {
    #[serde(default)]
    format: Format,
    delimiter: Option<String>,
    columns: Option<Vec<RawColumn>>,
    min_valid_percent: Option<u64>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawColumn {
    name: String,
    #[serde(rename = "type", default)]
    ty: ColumnType,
    required: Option<bool>,
}

impl Schema {
    /// A schema that accepts any CSV or JSON Lines file and takes its columns from the file;
    /// the same as parsing `{"format":"any"}`.
    pub fn any() -> Schema {
        Schema {
            format: Format::Any,
            delimiter: None,
            columns: None,
            min_valid_percent: DEFAULT_MIN_VALID_PERCENT,
        }
    }

    /// Parses and validates a schema's JSON text.
    pub fn parse(json: &str) -> Result<Schema, SchemaError> {
        if json.len() > MAX_SCHEMA_BYTES {
            return Err(SchemaError::TooLarge { len: json.len() });
        }
        // serde's derived structs also take arrays (`["csv", ...]`); only objects are schemas.
        let value: serde_json::Value =
            serde_json::from_str(json).map_err(|e| SchemaError::Json(e.to_string()))?;
        let Some(object) = value.as_object() else {
            return Err(SchemaError::Json("expected a JSON object".into()));
        };
        if let Some(serde_json::Value::Array(columns)) = object.get("columns")
            && let Some(index) = columns.iter().position(|c| !c.is_object())
        {
            return Err(SchemaError::Json(format!(
                "columns[{index}]: expected a JSON object"
            )));
        }
        let raw: RawSchema =
            serde_json::from_str(json).map_err(|e| SchemaError::Json(e.to_string()))?;

        let delimiter = match raw.delimiter {
            None => None,
            Some(d) => match d.as_bytes() {
                [b] if b.is_ascii() && !matches!(b, b'"' | b'\r' | b'\n') => Some(*b),
                _ => return Err(SchemaError::Delimiter(d)),
            },
        };
        if delimiter.is_some() {
            match raw.format {
                Format::Jsonl => return Err(SchemaError::DelimiterWithJsonl),
                Format::Text => return Err(SchemaError::DelimiterWithText),
                Format::Csv | Format::Any => {}
            }
        }
        if raw.columns.is_some() && raw.format == Format::Text {
            return Err(SchemaError::ColumnsWithText);
        }

        let columns = match raw.columns {
            None => None,
            Some(raw_columns) => {
                if raw_columns.is_empty() {
                    return Err(SchemaError::NoColumns);
                }
                if raw_columns.len() > MAX_COLUMNS {
                    return Err(SchemaError::TooManyColumns {
                        count: raw_columns.len(),
                    });
                }
                let mut names = std::collections::BTreeSet::new();
                let mut columns = Vec::with_capacity(raw_columns.len());
                for (index, c) in raw_columns.into_iter().enumerate() {
                    if c.name.is_empty() {
                        return Err(SchemaError::EmptyName { index });
                    }
                    if c.name.len() > MAX_NAME_BYTES {
                        return Err(SchemaError::NameTooLong {
                            index,
                            len: c.name.len(),
                        });
                    }
                    if c.name.trim_ascii() != c.name {
                        return Err(SchemaError::UntrimmedName {
                            index,
                            name: c.name,
                        });
                    }
                    if !names.insert(c.name.clone()) {
                        return Err(SchemaError::DuplicateName {
                            index,
                            name: c.name,
                        });
                    }
                    columns.push(Column {
                        name: c.name,
                        ty: c.ty,
                        required: c.required.unwrap_or(true),
                    });
                }
                Some(columns)
            }
        };

        let min_valid_percent = match raw.min_valid_percent {
            None => DEFAULT_MIN_VALID_PERCENT,
            Some(p) => u8::try_from(p)
                .ok()
                .filter(|p| *p <= 100)
                .ok_or(SchemaError::MinValidPercent(p))?,
        };

        Ok(Schema {
            format: raw.format,
            delimiter,
            columns,
            min_valid_percent,
        })
    }

    /// The canonical JSON text of this schema (see the [module docs](self)); parsing it gives
    /// back an equal schema.
    pub fn to_json(&self) -> String {
        let text = |s: &str| serde_json::Value::from(s).to_string();
        let mut fields = vec![format!("\"format\":{}", text(self.format.as_str()))];
        if let Some(d) = self.delimiter {
            fields.push(format!(
                "\"delimiter\":{}",
                text(&char::from(d).to_string())
            ));
        }
        if let Some(columns) = &self.columns {
            let columns: Vec<String> = columns
                .iter()
                .map(|c| {
                    let required = if c.required {
                        ""
                    } else {
                        ",\"required\":false"
                    };
                    format!(
                        "{{\"name\":{},\"type\":{}{required}}}",
                        text(&c.name),
                        text(c.ty.as_str())
                    )
                })
                .collect();
            fields.push(format!("\"columns\":[{}]", columns.join(",")));
        }
        if self.min_valid_percent != DEFAULT_MIN_VALID_PERCENT {
            fields.push(format!("\"minValidPercent\":{}", self.min_valid_percent));
        }
        format!("{{{}}}", fields.join(","))
    }

    /// The declared file format.
    pub fn format(&self) -> Format {
        self.format
    }

    /// The declared CSV delimiter, or `None` to detect it from the header line.
    pub fn delimiter(&self) -> Option<u8> {
        self.delimiter
    }

    /// The declared columns, or `None` when the file's own header or first object defines them.
    pub fn columns(&self) -> Option<&[Column]> {
        self.columns.as_deref()
    }

    /// The share of rows, in percent, that must be valid for a file to be accepted.
    pub fn min_valid_percent(&self) -> u8 {
        self.min_valid_percent
    }
}

impl Default for Schema {
    fn default() -> Schema {
        Schema::any()
    }
}

impl FromStr for Schema {
    type Err = SchemaError;

    fn from_str(s: &str) -> Result<Schema, SchemaError> {
        Schema::parse(s)
    }
}
