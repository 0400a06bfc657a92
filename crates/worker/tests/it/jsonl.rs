//! JSON Lines: the same rows as CSV hash alike; keys, nulls, non-objects, bad JSON, formats.

use lazai_worker::{Reason, RowHash, Schema};

use crate::{WINE_SCHEMA, eval, wine_header, wine_rows, wine_schema};

/// The wine schema with `"format": "any"` and no delimiter.
fn wine_schema_any_format() -> Schema {
    let json = WINE_SCHEMA.replace(
        "\"format\": \"csv\",\n  \"delimiter\": \",\",",
        "\"format\": \"any\",",
    );
    let schema = Schema::parse(&json).expect("schema");
    assert_eq!(schema.format(), lazai_worker::Format::Any);
    schema
}

fn header_names() -> Vec<String> {
    wine_header()
        .split(',')
        .map(|n| n.trim_matches('"').to_string())
        .collect()
}

/// A wine row as a JSON object, numbers written as in the CSV; `quote` selects the columns
/// written as JSON strings instead.
fn wine_object(row: &str, quote: impl Fn(usize) -> bool) -> String {
    let names = header_names();
    let fields: Vec<String> = row
        .split(',')
        .enumerate()
        .map(|(i, v)| {
            let value = if quote(i) {
                format!("\"{v}\"")
            } else {
                v.to_string()
            };
            format!("\"{}\": {value}", names[i])
        })
        .collect();
    format!("{{{}}}", fields.join(", "))
}

#[test]
fn jsonl_rows_hash_like_the_csv_rows() {
    let rows = &wine_rows()[..20];
    let csv = format!("{}\n{}\n", wine_header(), rows.join("\n"));
    let jsonl: String = rows
        .iter()
        .enumerate()
        .map(|(n, r)| wine_object(r, |i| (i + n) % 3 == 0) + "\n")
        .collect();
    let schema = wine_schema_any_format();
    let from_csv = eval(csv.as_bytes(), &schema);
    let from_jsonl = eval(jsonl.as_bytes(), &schema);
    assert_eq!(from_csv.reason, Reason::Accepted);
    assert_eq!(from_jsonl, from_csv);
    assert_eq!(
        (from_jsonl.rows, from_jsonl.valid, from_jsonl.unique),
        (20, 20, 18)
    );
    assert_eq!(
        from_jsonl.new_rows[0],
        RowHash::of_cells(rows[0].split(','))
    );

    // The file's own columns (no schema) give the same hashes too: the keys are in the same
    // order as the CSV header.
    assert_eq!(
        eval(jsonl.as_bytes(), &Schema::any()).new_rows,
        from_csv.new_rows
    );
    assert_eq!(
        eval(csv.as_bytes(), &Schema::any()).new_rows,
        from_csv.new_rows
    );
}

#[test]
fn key_order_extra_keys_null_and_missing() {
    let schema = Schema::parse(
        r#"{"format":"jsonl","columns":[{"name":"x","type":"int"},{"name":"y","type":"string","required":false},{"name":"z","type":"bool"}]}"#,
    )
    .expect("schema");
    let data = concat!(
        "{\"z\": true, \"x\": 1, \"extra\": [1, 2]}\n",
        "{\"x\": 2, \"y\": null, \"z\": false}\n",
        "\n   \n",
        "{\"x\": \" 3 \", \"y\": \"hi\"}\n",
        "{\"y\": \"only\", \"x\": null}\n",
        "{\"x\": 1.5, \"z\": true}\n",
        "[1, 2, 3]\n",
        "{}\n",
    );
    let e = eval(data.as_bytes(), &schema);
    assert_eq!(e.reason, Reason::Accepted, "{}", e.detail);
    // Rows 1–4 are valid (row 4 has only y), 5 (1.5 is no int), 6 (an array), 7 (all empty) not.
    assert_eq!((e.rows, e.valid, e.cells, e.filled), (7, 4, 12, 7));
    assert_eq!(e.unique, 4);
    assert_eq!(e.new_rows[0], RowHash::of_cells(["1", "", "true"]));
    assert_eq!(e.new_rows[2], RowHash::of_cells(["3", "hi", ""]));
    assert!(
        e.detail
            .ends_with("first invalid: row 5: column \"x\" is not an int"),
        "{}",
        e.detail
    );
}

#[test]
fn first_object_keys_define_the_columns_in_order() {
    let data =
        "{\"b\": 1, \"a\": \"x\", \"c\": [1, 2.5, \"s\"], \"b\": 7}\n{\"a\": \"y\", \"b\": 8}\n";
    let e = eval(data.as_bytes(), &Schema::any());
    assert_eq!(e.reason, Reason::Accepted, "{}", e.detail);
    assert_eq!((e.rows, e.valid, e.cells, e.filled), (2, 2, 6, 5));
    // Columns b, a, c in order of first appearance; a repeated key's last value counts.
    assert_eq!(
        e.new_rows,
        vec![
            RowHash::of_cells(["7", "x", "[1,2.5,\"s\"]"]),
            RowHash::of_cells(["8", "y", ""]),
        ]
    );
}

#[test]
fn first_object_must_have_the_required_keys() {
    let rows = wine_rows();
    let mut first = wine_object(rows[0], |_| false);
    first = first.replace(", \"quality\": 5", "");
    let data = format!("{first}\n{}\n", wine_object(rows[1], |_| false));
    let e = eval(data.as_bytes(), &wine_schema_any_format());
    assert_eq!(e.reason, Reason::SchemaMismatch);
    assert_eq!(e.detail, "the first object has no key \"quality\"");

    // Later objects may lack keys: their cells are empty.
    let data = format!("{}\n{first}\n", wine_object(rows[1], |_| false));
    let e = eval(data.as_bytes(), &wine_schema_any_format());
    assert_eq!(e.reason, Reason::Accepted);
    assert_eq!((e.rows, e.valid, e.cells, e.filled), (2, 2, 24, 23));

    let e = eval(b"{}\n{\"a\": 1}\n", &Schema::any());
    assert_eq!(e.reason, Reason::SchemaMismatch);
    let e = eval(b"{\"a\": 1}\n{\"a\": 2}\n", &wine_schema_any_format());
    assert_eq!(e.detail, "the first object has no key \"fixed acidity\"");
}

#[test]
fn bad_json_is_an_encoding_error() {
    let e = eval(b"{\"a\": 1}\n{\"a\": 2,}\n", &Schema::any());
    assert_eq!(e.reason, Reason::Encoding);
    assert_eq!(
        e.detail,
        "row 2 is not valid JSON (syntax error at column 9)"
    );
    let e = eval(b"{\"a\": 1}\n{\"a\": \n", &Schema::any());
    assert_eq!(e.reason, Reason::Encoding);
    assert_eq!(
        e.detail,
        "row 2 is not valid JSON (it ends early at column 5)"
    );
    let e = eval(b"{\"a\": \"\xff\"}\n", &Schema::any());
    assert_eq!(
        (e.reason, e.detail.as_str()),
        (Reason::Encoding, "row 1 is not valid UTF-8")
    );
    // Nesting deeper than serde_json's recursion limit.
    let deep = format!("{{\"a\": {}1{}}}\n", "[".repeat(10_000), "]".repeat(10_000));
    assert_eq!(
        eval(deep.as_bytes(), &Schema::any()).reason,
        Reason::Encoding
    );
}

#[test]
fn format_must_match_the_schema() {
    let rows = wine_rows();
    let jsonl = format!("{}\n", wine_object(rows[0], |_| false));
    let e = eval(jsonl.as_bytes(), &wine_schema());
    assert_eq!(e.reason, Reason::SchemaMismatch);
    assert_eq!(
        e.detail,
        "the schema expects CSV but the file starts like JSON Lines"
    );

    let jsonl_schema = Schema::parse(r#"{"format":"jsonl"}"#).expect("schema");
    let e = eval(crate::WINE.as_bytes(), &jsonl_schema);
    assert_eq!(e.reason, Reason::SchemaMismatch);
    assert_eq!(
        e.detail,
        "the schema expects JSON Lines but the file does not start with '{'"
    );

    // A first line that is JSON but not an object.
    let e = eval(b"{\"a\":1}", &jsonl_schema);
    assert_eq!(e.reason, Reason::Accepted);
    let e = eval(b"  {\"a\":1} x", &jsonl_schema);
    assert_eq!(e.reason, Reason::Encoding);
}
