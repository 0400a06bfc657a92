//! Files that name their own columns (the default schema `"any"`): CSV tables and JSON Lines of
//! objects are data; prose, Markdown, ragged or headerless text is malformed.

use lazai_worker::{Evaluation, Reason, Schema};

use crate::{WINE, eval, wine_header, wine_rows, wine_schema};

const README: &str = include_str!("../../../../README.md");
const TESTDATA_README: &str = include_str!("../../testdata/README.md");

fn assert_malformed(e: &Evaluation, detail: &str) {
    assert_eq!(e.reason, Reason::Malformed, "{}", e.detail);
    assert_eq!(e.detail, detail);
    assert_eq!(e.score, 0);
    assert!(e.new_rows.is_empty());
}

#[test]
fn prose_and_markdown_are_malformed() {
    for text in [README, TESTDATA_README] {
        let e = eval(text.as_bytes(), &Schema::any());
        assert_eq!(e.reason, Reason::Malformed, "{}", e.detail);
        assert_eq!(e.score, 0);
    }
    assert_eq!(Reason::Malformed.code(), 10);

    let e = eval(b"# Notes\n\nSome text about wine.\n", &Schema::any());
    assert_malformed(
        &e,
        "the first line has no ',', ';' or tab: not a CSV header of two or more columns",
    );
    // A first line with a comma reads as a header of two columns; the next line is not a row.
    let prose =
        "Wine, as everyone knows, is old.\nIt is made from grapes.\nSome, not all, is red.\n";
    let e = eval(prose.as_bytes(), &Schema::any());
    assert_malformed(&e, "row 1 has 1 field, the header has 3: not a CSV table");
    // A Markdown table has no delimiter the CSV reader knows.
    let table = "| a | b |\n|---|---|\n| 1 | 2 |\n";
    assert_eq!(
        eval(table.as_bytes(), &Schema::any()).reason,
        Reason::Malformed
    );
}

#[test]
fn ragged_csv_is_malformed() {
    let e = eval(b"a,b,c\n1,2,3\n4,5\n6,7,8\n", &Schema::any());
    assert_malformed(&e, "row 2 has 2 fields, the header has 3: not a CSV table");
    let e = eval(b"a;b\n1;2\n3;4;5\n", &Schema::any());
    assert_malformed(&e, "row 2 has 3 fields, the header has 2: not a CSV table");

    // The wine file with one extra field on its last row.
    let ragged = format!("{}1\n", WINE.trim_end_matches('\n').to_string() + ",");
    let e = eval(ragged.as_bytes(), &Schema::any());
    assert_malformed(
        &e,
        "row 1599 has 13 fields, the header has 12: not a CSV table",
    );
    // With declared columns a ragged row is an invalid row, and the file is scored.
    let e = eval(ragged.as_bytes(), &wine_schema());
    assert_eq!((e.reason, e.rows, e.valid), (Reason::Accepted, 1599, 1598));
}

#[test]
fn a_header_must_name_columns() {
    let headerless = format!("{}\n", wine_rows()[..5].join("\n"));
    let e = eval(headerless.as_bytes(), &Schema::any());
    assert_malformed(
        &e,
        "the first line names no column (its fields are empty or numbers): not a CSV header",
    );
    assert_eq!(eval(b",\n1,2\n", &Schema::any()).reason, Reason::Malformed);
    // Some names may be numbers or empty, as long as one is a name.
    let e = eval(b",2019,region\n1,5,north\n2,6,south\n", &Schema::any());
    assert_eq!(e.reason, Reason::Accepted, "{}", e.detail);
}

#[test]
fn cells_are_typed_by_their_column_first_value() {
    // "score" is numeric from its first value; "name" is text and takes numbers too.
    let data = "name,score\nalice,1\nbob,x\n1984,3.5\ncarol,\n";
    let e = eval(data.as_bytes(), &Schema::any());
    assert_eq!(e.reason, Reason::Accepted, "{}", e.detail);
    assert_eq!((e.rows, e.valid, e.cells, e.filled), (4, 3, 6, 5));
    assert!(
        e.detail
            .ends_with("first invalid: row 2: column 2 is not a number, unlike its first value"),
        "{}",
        e.detail
    );
    // A column of mostly text after a number: too few valid rows.
    let data = "id,value\n1,2\n2,two\n3,three\n4,four\n";
    let e = eval(data.as_bytes(), &Schema::any());
    assert_eq!(e.reason, Reason::TooFewValid, "{}", e.detail);
    // Empty leading cells do not decide the type.
    let data = "id,value\n1,\n2,abc\n3,7\n";
    let e = eval(data.as_bytes(), &Schema::any());
    assert_eq!((e.reason, e.valid), (Reason::Accepted, 3));
}

#[test]
fn the_wine_data_is_a_table() {
    let e = eval(WINE.as_bytes(), &Schema::any());
    assert_eq!(
        (e.reason, e.score),
        (Reason::Accepted, 9399),
        "{}",
        e.detail
    );
    let slice = format!("{}\n{}\n", wine_header(), wine_rows()[..300].join("\n"));
    assert_eq!(
        eval(slice.as_bytes(), &Schema::any()).reason,
        Reason::Accepted
    );
}

#[test]
fn jsonl_of_objects_is_accepted_and_other_lines_are_malformed() {
    let data = "{\"a\": 1, \"b\": \"x\"}\n{\"b\": \"y\", \"a\": 2.5}\n\n{\"a\": 3, \"c\": true}\n";
    let e = eval(data.as_bytes(), &Schema::any());
    assert_eq!(e.reason, Reason::Accepted, "{}", e.detail);
    assert_eq!((e.rows, e.valid, e.cells, e.filled), (3, 3, 6, 5));
    assert_eq!(e.unique, 3);

    let e = eval(b"{\"a\": 1}\n[1, 2]\n{\"a\": 2}\n", &Schema::any());
    assert_malformed(&e, "row 2 is not a JSON object: not JSON Lines of objects");
    let e = eval(b"{\"a\": 1}\n\"text\"\n", &Schema::any());
    assert_eq!(e.reason, Reason::Malformed);
    // A number where the first object had one, then text: an invalid row, not a malformed file.
    let e = eval(b"{\"a\": 1}\n{\"a\": 2}\n{\"a\": \"x\"}\n", &Schema::any());
    assert_eq!((e.reason, e.rows, e.valid), (Reason::Accepted, 3, 2));
}
