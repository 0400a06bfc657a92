//! Rejections: empty files, garbage, missing headers, too few valid rows, limits, read errors.

use std::io::{BufReader, Read};

use lazai_worker::{Evaluation, Limits, Reason, Schema, evaluate};

use crate::{WINE, eval, eval_trickle, nothing_seen, wine_header, wine_rows, wine_schema};

fn with_limits(data: &[u8], schema: &Schema, limits: Limits) -> Evaluation {
    let e = evaluate(data, schema, &nothing_seen, &limits);
    // Reading in small pieces changes nothing, limits included.
    assert_eq!(eval_trickle(data, 7, schema, &limits), e);
    e
}

fn assert_rejected(e: &Evaluation, reason: Reason, detail: &str) {
    assert_eq!(e.reason, reason, "{}", e.detail);
    assert_eq!(e.detail, detail);
    assert_eq!(e.score, 0);
    assert!(e.new_rows.is_empty());
    assert!(!e.is_accepted());
}

#[test]
fn empty_and_whitespace_files() {
    for data in [
        &b""[..],
        b" ",
        b"\n\n",
        b"  \t\r\n \x0c \n  ",
        b"\xef\xbb\xbf",
        b"\xef\xbb\xbf \n",
    ] {
        for schema in [Schema::any(), wine_schema()] {
            let e = eval(data, &schema);
            assert_rejected(&e, Reason::Empty, "the file is empty or only whitespace");
            assert_eq!((e.rows, e.valid), (0, 0));
        }
    }
    let spaces = vec![b' '; 3000];
    let e = with_limits(
        &spaces,
        &Schema::any(),
        Limits {
            max_bytes: 2000,
            ..Limits::default()
        },
    );
    assert_rejected(
        &e,
        Reason::TooLarge,
        "the file is larger than the limit of 2000 bytes",
    );
}

#[test]
fn garbage_binary_is_an_encoding_error() {
    let mut garbage = vec![0u8; 64 * 1024];
    blake3::Hasher::new()
        .update(b"garbage")
        .finalize_xof()
        .fill(&mut garbage);
    for schema in [Schema::any(), wine_schema()] {
        let e = eval(&garbage, &schema);
        assert_eq!(e.reason, Reason::Encoding, "{}", e.detail);
        assert_eq!(e.score, 0);
    }
    let png = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x10";
    let e = eval(png, &wine_schema());
    assert_rejected(&e, Reason::Encoding, "the header is not valid UTF-8");
    // Looks like JSON Lines, is not.
    let e = eval(b"{\x00\x01\x02}", &Schema::any());
    assert_eq!(e.reason, Reason::Encoding);
}

#[test]
fn no_header_and_no_rows() {
    let e = eval(b"\"\"\n\n\"  \"\n", &Schema::any());
    assert_rejected(&e, Reason::SchemaMismatch, "the file has no header row");

    let header_only = format!("{}\n", wine_header());
    let e = eval(header_only.as_bytes(), &wine_schema());
    assert_rejected(&e, Reason::TooFewValid, "the file has no data rows");

    // A headerless file: its first row is taken as the header and lacks the columns.
    let headerless = format!("{}\n", wine_rows()[..5].join("\n"));
    let e = eval(headerless.as_bytes(), &wine_schema());
    assert_rejected(
        &e,
        Reason::SchemaMismatch,
        "missing column \"fixed acidity\"",
    );
}

#[test]
fn no_valid_rows_is_too_few_even_at_zero_percent() {
    let zero = Schema::parse(
        &crate::WINE_SCHEMA.replace("\"minValidPercent\": 50", "\"minValidPercent\": 0"),
    )
    .expect("schema");
    let data = format!("{}\nx,y\n,,,,,,,,,,,\n", wine_header());
    let e = eval(data.as_bytes(), &zero);
    assert_rejected(
        &e,
        Reason::TooFewValid,
        "no valid row among 2 rows; first invalid: row 1 has 2 fields, the header has 12",
    );
    assert_eq!((e.rows, e.valid, e.cells), (2, 0, 0));

    // With one valid row of three, 0 % accepts: v = 3333, c = 10000, u = 10000.
    let data = format!("{}\nx,y\n{}\n,,,,,,,,,,,\n", wine_header(), wine_rows()[0]);
    let e = eval(data.as_bytes(), &zero);
    assert_eq!(e.reason, Reason::Accepted);
    // (4·3333 + 2·10000 + 4·10000) / 10.
    assert_eq!(e.score, 7333);
}

#[test]
fn row_limit() {
    let schema = wine_schema();
    let e = with_limits(
        WINE.as_bytes(),
        &schema,
        Limits {
            max_rows: 100,
            ..Limits::default()
        },
    );
    assert_rejected(
        &e,
        Reason::TooLarge,
        "the file has more than the limit of 100 rows",
    );
    assert_eq!(e.rows, 0);
    let e = with_limits(
        WINE.as_bytes(),
        &schema,
        Limits {
            max_rows: 1599,
            ..Limits::default()
        },
    );
    assert_eq!(e.score, 9399);
}

#[test]
fn row_length_limit() {
    let schema = wine_schema();
    let header_len = wine_header().len();
    // The header line with its newline fits exactly.
    let e = with_limits(
        WINE.as_bytes(),
        &schema,
        Limits {
            max_row_bytes: header_len + 1,
            ..Limits::default()
        },
    );
    assert_eq!(e.score, 9399);
    let e = with_limits(
        WINE.as_bytes(),
        &schema,
        Limits {
            max_row_bytes: header_len,
            ..Limits::default()
        },
    );
    assert_rejected(
        &e,
        Reason::TooLarge,
        &format!("the header is longer than the limit of {header_len} bytes"),
    );

    // A long data row.
    let longest = wine_rows().iter().map(|r| r.len()).max().unwrap_or(0);
    let long_row = format!("{}{}", wine_rows()[0], " ".repeat(200));
    let data = format!("{}\n{}\n{long_row}\n", wine_header(), wine_rows()[1]);
    let e = with_limits(
        data.as_bytes(),
        &schema,
        Limits {
            max_row_bytes: header_len + 1,
            ..Limits::default()
        },
    );
    assert!(longest < header_len);
    assert_rejected(
        &e,
        Reason::TooLarge,
        &format!("row 2 is longer than the limit of {} bytes", header_len + 1),
    );

    // An unterminated quote runs to the end of the file: one long record.
    let data = format!("{}\n\"{}", wine_header(), "abc\n".repeat(1000));
    let e = with_limits(data.as_bytes(), &schema, Limits::default());
    assert_rejected(
        &e,
        Reason::TooFewValid,
        "no valid row among 1 row; first invalid: row 1 has 1 field, the header has 12",
    );
    let e = with_limits(
        data.as_bytes(),
        &schema,
        Limits {
            max_row_bytes: 1000,
            ..Limits::default()
        },
    );
    assert_rejected(
        &e,
        Reason::TooLarge,
        "row 1 is longer than the limit of 1000 bytes",
    );
}

#[test]
fn file_size_limit() {
    let schema = wine_schema();
    let len = WINE.len() as u64;
    let e = with_limits(
        WINE.as_bytes(),
        &schema,
        Limits {
            max_bytes: len,
            ..Limits::default()
        },
    );
    assert_eq!(e.score, 9399);
    let e = with_limits(
        WINE.as_bytes(),
        &schema,
        Limits {
            max_bytes: len - 1,
            ..Limits::default()
        },
    );
    assert_rejected(
        &e,
        Reason::TooLarge,
        &format!("the file is larger than the limit of {} bytes", len - 1),
    );
}

#[test]
fn jsonl_limits() {
    let data = "{\"a\": 1}\n{\"a\": 2, \"b\": \"0123456789\"}\n{\"a\": 3}\n";
    let e = with_limits(
        data.as_bytes(),
        &Schema::any(),
        Limits {
            max_row_bytes: 20,
            ..Limits::default()
        },
    );
    assert_rejected(
        &e,
        Reason::TooLarge,
        "row 2 is longer than the limit of 20 bytes",
    );
    let e = with_limits(
        data.as_bytes(),
        &Schema::any(),
        Limits {
            max_rows: 2,
            ..Limits::default()
        },
    );
    assert_rejected(
        &e,
        Reason::TooLarge,
        "the file has more than the limit of 2 rows",
    );
    let e = with_limits(
        data.as_bytes(),
        &Schema::any(),
        Limits {
            max_bytes: data.len() as u64,
            max_row_bytes: 31,
            ..Limits::default()
        },
    );
    assert_eq!(e.reason, Reason::Accepted, "{}", e.detail);
    assert_eq!((e.rows, e.valid, e.unique), (3, 3, 3));
}

struct Failing;

impl Read for Failing {
    fn read(&mut self, _: &mut [u8]) -> std::io::Result<usize> {
        Err(std::io::Error::other("disk on fire"))
    }
}

#[test]
fn read_errors_are_unavailable() {
    let e = evaluate(
        BufReader::new(Failing),
        &Schema::any(),
        &nothing_seen,
        &Limits::default(),
    );
    assert_rejected(
        &e,
        Reason::Unavailable,
        "reading the file failed: other error",
    );
    // Failing after some rows.
    let reader = BufReader::new(wine_header().as_bytes().chain(Failing));
    let e = evaluate(reader, &wine_schema(), &nothing_seen, &Limits::default());
    assert_eq!(e.reason, Reason::Unavailable);
}
