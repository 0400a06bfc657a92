//! Schema parsing: defaults, the canonical form, and every error.

use lazai_worker::{
    Column, ColumnType, Format, Schema, SchemaError,
    schema::{MAX_COLUMNS, MAX_SCHEMA_BYTES},
};

use crate::{WINE_SCHEMA, wine_schema};

#[test]
fn the_wine_schema() {
    let s = wine_schema();
    assert_eq!(s.format(), Format::Csv);
    assert_eq!(s.delimiter(), Some(b','));
    assert_eq!(s.min_valid_percent(), 50);
    let columns = s.columns().expect("columns");
    assert_eq!(columns.len(), 12);
    assert_eq!(
        columns[8],
        Column {
            name: "pH".into(),
            ty: ColumnType::Float,
            required: true
        }
    );
    assert_eq!(columns[11].ty, ColumnType::Int);
    assert!(WINE_SCHEMA.parse::<Schema>().is_ok());
}

#[test]
fn defaults_and_any() {
    let any = Schema::any();
    assert_eq!(any, Schema::parse(r#"{"format":"any"}"#).expect("parse"));
    assert_eq!(any, Schema::parse("{}").expect("parse"));
    assert_eq!(any, Schema::default());
    assert_eq!(any.to_json(), r#"{"format":"any"}"#);
    assert_eq!(
        (any.format(), any.delimiter(), any.columns()),
        (Format::Any, None, None)
    );
    assert_eq!(any.min_valid_percent(), 50);

    let s = Schema::parse(r#"{"columns":[{"name":"a"},{"name":"b","required":false}]}"#)
        .expect("parse");
    let columns = s.columns().expect("columns");
    assert_eq!(
        (columns[0].ty, columns[0].required),
        (ColumnType::Any, true)
    );
    assert_eq!(
        (columns[1].ty, columns[1].required),
        (ColumnType::Any, false)
    );
}

#[test]
fn canonical_form_round_trips() {
    let canonical = concat!(
        r#"{"format":"csv","delimiter":"\t","columns":[{"name":"fixed acidity","type":"float"},"#,
        r#"{"name":"q \"x\"","type":"int","required":false},{"name":"b","type":"bool"},"#,
        r#"{"name":"s","type":"string"},{"name":"é","type":"any"}],"minValidPercent":0}"#
    );
    let s = Schema::parse(canonical).expect("parse");
    assert_eq!(s.to_json(), canonical);
    assert_eq!(Schema::parse(&s.to_json()).expect("reparse"), s);

    // Whitespace, field order and explicit defaults do not change the canonical form.
    let loose = r#"{ "minValidPercent": 50, "columns": [ {"required": true, "type": "int", "name": "x"} ],
                    "format": "jsonl" }"#;
    let s = Schema::parse(loose).expect("parse");
    assert_eq!(
        s.to_json(),
        r#"{"format":"jsonl","columns":[{"name":"x","type":"int"}]}"#
    );

    let wine = wine_schema();
    assert_eq!(Schema::parse(&wine.to_json()).expect("reparse"), wine);
    assert!(wine.to_json().starts_with(
        r#"{"format":"csv","delimiter":",","columns":[{"name":"fixed acidity","type":"float"},"#
    ));
}

#[test]
fn the_text_format() {
    let s = Schema::parse(r#"{"format":"text"}"#).expect("parse");
    assert_eq!(
        (
            s.format(),
            s.delimiter(),
            s.columns(),
            s.min_valid_percent()
        ),
        (Format::Text, None, None, 50)
    );
    assert_eq!(s.to_json(), r#"{"format":"text"}"#);
    assert_eq!(Format::Text.to_string(), "text");
    let strict = Schema::parse(r#"{ "minValidPercent": 90, "format": "text" }"#).expect("parse");
    assert_eq!(
        strict.to_json(),
        r#"{"format":"text","minValidPercent":90}"#
    );
    assert_eq!(Schema::parse(&strict.to_json()).expect("reparse"), strict);
}

fn err(json: &str) -> SchemaError {
    Schema::parse(json).expect_err(json)
}

fn json_err(json: &str) -> String {
    match err(json) {
        SchemaError::Json(message) => message,
        other => panic!("{json}: expected a JSON error, got {other:?}"),
    }
}

#[test]
fn parse_errors() {
    assert_eq!(
        err(&format!(
            "{{\"format\":\"any\"{}}}",
            " ".repeat(MAX_SCHEMA_BYTES)
        )),
        SchemaError::TooLarge {
            len: MAX_SCHEMA_BYTES + 16
        }
    );
    assert!(json_err("").contains("EOF"));
    assert_eq!(json_err("[]"), "expected a JSON object");
    assert_eq!(
        json_err(r#"["csv", null, null, 50]"#),
        "expected a JSON object"
    );
    assert_eq!(
        json_err(r#"{"columns":[{"name":"a"},["b","int",true]]}"#),
        "columns[1]: expected a JSON object"
    );
    assert!(json_err(r#"{"columns":{"name":"a"}}"#).contains("invalid type"));
    assert!(json_err(r#"{"format":"csv","extra":1}"#).contains("unknown field `extra`"));
    assert!(json_err(r#"{"format":"xml"}"#).contains("unknown variant `xml`"));
    assert!(json_err(r#"{"format":"csv","format":"csv"}"#).contains("duplicate field `format`"));
    assert!(
        json_err(r#"{"columns":[{"name":"a","type":"date"}]}"#).contains("unknown variant `date`")
    );
    assert!(
        json_err(r#"{"columns":[{"name":"a","nullable":true}]}"#)
            .contains("unknown field `nullable`")
    );
    assert!(json_err(r#"{"columns":[{"type":"int"}]}"#).contains("missing field `name`"));
    assert!(json_err(r#"{"columns":[{"name":"a","required":"yes"}]}"#).contains("invalid type"));
    assert!(json_err(r#"{"minValidPercent":-1}"#).contains("invalid value"));
    assert!(json_err(r#"{"minValidPercent":50.5}"#).contains("invalid type"));
    assert!(json_err(r#"{"delimiter":44}"#).contains("invalid type"));

    assert_eq!(
        err(r#"{"minValidPercent":101}"#),
        SchemaError::MinValidPercent(101)
    );
    assert_eq!(
        err(r#"{"minValidPercent":256}"#),
        SchemaError::MinValidPercent(256)
    );
    for d in ["", ",,", "\"", "\n", "\r", "é"] {
        let json = format!("{{\"delimiter\":{}}}", serde_json::Value::from(d));
        assert_eq!(err(&json), SchemaError::Delimiter(d.into()), "{json}");
    }
    assert_eq!(
        err(r#"{"format":"jsonl","delimiter":";"}"#),
        SchemaError::DelimiterWithJsonl
    );
    assert_eq!(
        err(r#"{"format":"text","delimiter":","}"#),
        SchemaError::DelimiterWithText
    );
    for columns in ["[]", r#"[{"name":"a"}]"#] {
        assert_eq!(
            err(&format!(r#"{{"format":"text","columns":{columns}}}"#)),
            SchemaError::ColumnsWithText
        );
    }
    assert_eq!(err(r#"{"columns":[]}"#), SchemaError::NoColumns);
    assert_eq!(
        err(r#"{"columns":[{"name":""}]}"#),
        SchemaError::EmptyName { index: 0 }
    );
    let long = "n".repeat(129);
    assert_eq!(
        err(&format!(
            r#"{{"columns":[{{"name":"a"}},{{"name":"{long}"}}]}}"#
        )),
        SchemaError::NameTooLong { index: 1, len: 129 }
    );
    assert!(
        Schema::parse(&format!(
            r#"{{"columns":[{{"name":"{}"}}]}}"#,
            "n".repeat(128)
        ))
        .is_ok()
    );
    assert_eq!(
        err(r#"{"columns":[{"name":" a"}]}"#),
        SchemaError::UntrimmedName {
            index: 0,
            name: " a".into()
        }
    );
    assert_eq!(
        err(r#"{"columns":[{"name":"a"},{"name":"b"},{"name":"a"}]}"#),
        SchemaError::DuplicateName {
            index: 2,
            name: "a".into()
        }
    );

    let many: Vec<String> = (0..=MAX_COLUMNS)
        .map(|i| format!("{{\"name\":\"{i}\"}}"))
        .collect();
    let json = format!("{{\"columns\":[{}]}}", many.join(","));
    assert!(json.len() <= MAX_SCHEMA_BYTES);
    assert_eq!(
        err(&json),
        SchemaError::TooManyColumns {
            count: MAX_COLUMNS + 1
        }
    );
    let json = format!("{{\"columns\":[{}]}}", many[..MAX_COLUMNS].join(","));
    assert_eq!(
        Schema::parse(&json)
            .expect("1024 columns")
            .columns()
            .map(<[_]>::len),
        Some(1024)
    );
}

#[test]
fn messages_are_clear() {
    assert_eq!(
        err(r#"{"columns":[{"name":"a"},{"name":"a"}]}"#).to_string(),
        "columns[1]: the name \"a\" is already used by an earlier column"
    );
    assert_eq!(
        err(r#"{"minValidPercent":150}"#).to_string(),
        "minValidPercent is 150; it must be between 0 and 100"
    );
    assert_eq!(
        err(r#"{"format":"text","columns":[{"name":"a"}]}"#).to_string(),
        "columns do not apply to the format \"text\": text is scored by lines"
    );
    let message = err(r#"{"format":"csv","delimeter":","}"#).to_string();
    assert!(
        message.starts_with("invalid schema: unknown field `delimeter`, expected one of"),
        "{message}"
    );
    assert!(message.contains("line 1 column"), "{message}");
}

#[test]
fn column_types() {
    use ColumnType::*;
    for (ty, yes, no) in [
        (
            Int,
            &["0", "-12", "+7", "9223372036854775807"][..],
            &["1.0", "1e3", "9223372036854775808", "x", "0x10"][..],
        ),
        (
            Float,
            &["1.5", "-3", "2e-3", ".5", "5.", "1E10"][..],
            &["NaN", "inf", "-infinity", "1e400", "1,5", "x"][..],
        ),
        (
            Bool,
            &["true", "false"][..],
            &["True", "1", "yes", "FALSE"][..],
        ),
        (String, &["anything", "1"][..], &[][..]),
        (Any, &["anything", "{}"][..], &[][..]),
    ] {
        for cell in yes {
            assert!(ty.accepts(cell), "{ty} {cell}");
        }
        for cell in no {
            assert!(!ty.accepts(cell), "{ty} {cell}");
        }
    }
}
