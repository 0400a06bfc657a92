//! Free text: the `"text"` schema on both paths, prose on the SDK path of an `"any"` iDAO, the
//! pinned score of the SDK fixture, repeats, lines seen before, what is not text, and tables
//! that stay tables.

use std::collections::HashSet;

use lazai_worker::sdk::text::{MAX_UNIT_CHARS, normalize};
use lazai_worker::{
    Evaluation, Limits, Reason, RowHash, Schema, compute_score, evaluate, evaluate_sdk,
};
use proptest::prelude::*;

use crate::sdk_pgp::{BINARY, PASSWORD, PLAIN};
use crate::{WINE, eval, eval_trickle, nothing_seen, wine_schema};

fn text() -> Schema {
    Schema::parse(r#"{"format":"text"}"#).expect("text schema")
}

fn sdk(data: &[u8], schema: &Schema) -> Evaluation {
    evaluate_sdk(data, schema, &nothing_seen, &Limits::default())
}

/// The (non-blank) lines of `text`.
fn lines(text: &str) -> Vec<&str> {
    text.lines().filter(|l| !l.trim().is_empty()).collect()
}

#[test]
fn the_sdk_fixture_scores_as_pinned() {
    let e = eval(PLAIN, &text());
    println!("plain.md: score {} ({})", e.score, e.detail);
    assert_eq!(e.reason, Reason::Accepted, "{}", e.detail);
    // 37 non-blank lines of 2741 characters in their normal forms, all of them ordinary.
    let units = lines(std::str::from_utf8(PLAIN).expect("utf-8")).len() as u64;
    assert_eq!(units, 37);
    assert_eq!(
        (e.rows, e.valid, e.seen, e.unique),
        (units, units, 0, units)
    );
    assert_eq!(e.new_rows.len() as u64, units);
    assert_eq!(e.cells, e.filled);
    assert_eq!(e.cells, 2741);
    assert_eq!(e.score, 10_000);
    assert_eq!(
        e.score,
        compute_score(e.rows, e.valid, e.seen, e.cells, e.filled, e.unique)
    );
    assert_eq!(e.detail, "validity 10000, quality 10000, uniqueness 10000");
    // A unit's hash is that of its normal form as one cell.
    let first = lines(std::str::from_utf8(PLAIN).expect("utf-8"))[0];
    assert_eq!(
        e.new_rows[0],
        RowHash::of_cells([normalize(first).as_str()])
    );

    // The same on the SDK path of an "any" iDAO, decrypted from gpg's file, and however the
    // reads are split.
    let plain = lazai_worker::sdk::pgp::decrypt_symmetric(BINARY, PASSWORD.as_bytes(), 1 << 20)
        .expect("decrypt");
    assert_eq!(sdk(&plain, &Schema::any()), e);
    assert_eq!(sdk(&plain, &text()), e);
    for step in [1, 7, 64, 4096] {
        assert_eq!(eval_trickle(PLAIN, step, &text(), &Limits::default()), e);
    }
}

#[test]
fn the_flow_path_still_rejects_prose_for_any() {
    let e = eval(PLAIN, &Schema::any());
    assert_eq!(e.reason, Reason::Malformed, "{}", e.detail);
    // ...and a text iDAO scores it on the flow path too.
    assert_eq!(eval(PLAIN, &text()).reason, Reason::Accepted);
}

#[test]
fn repeats_in_the_file_lower_uniqueness() {
    let once = eval(PLAIN, &text());
    let twice = eval(&[PLAIN, b"\n", PLAIN].concat(), &text());
    assert_eq!(twice.reason, Reason::Accepted);
    assert_eq!(twice.rows, 2 * once.rows);
    assert_eq!(twice.unique, once.unique);
    assert_eq!(twice.new_rows, once.new_rows);
    assert!(twice.score < once.score, "{} < {}", twice.score, once.score);
    assert!(twice.detail.contains("uniqueness 5000"), "{}", twice.detail);
    // Case and spacing do not make a line new.
    let e = eval(
        b"The cat sat.\nthe   CAT sat.\n\tThe cat  sat.  \n",
        &text(),
    );
    assert_eq!((e.rows, e.valid, e.unique), (3, 3, 1));
}

#[test]
fn lines_seen_before_earn_nothing() {
    let first = eval(PLAIN, &text());
    let accepted: HashSet<RowHash> = first.new_rows.iter().copied().collect();
    let seen = |h: &RowHash| accepted.contains(h);
    let again = evaluate(PLAIN, &text(), &seen, &Limits::default());
    assert_eq!(again.reason, Reason::Duplicate, "{}", again.detail);
    assert_eq!(again.score, 0);
    assert!(again.new_rows.is_empty());
    assert_eq!(
        again.detail,
        format!(
            "all {} valid lines of the file were accepted before",
            first.valid
        )
    );
    // The same for the SDK path, and with different case and spacing.
    let shouted = String::from_utf8_lossy(PLAIN)
        .to_uppercase()
        .replace(' ', "  ");
    let e = evaluate_sdk(
        shouted.as_bytes(),
        &Schema::any(),
        &seen,
        &Limits::default(),
    );
    assert_eq!(e.reason, Reason::Duplicate, "{}", e.detail);

    // One new line among old ones: scored on the new line, with the old ones against uniqueness.
    let mut more = PLAIN.to_vec();
    more.extend_from_slice(b"\nA new closing line about the radios.\n");
    let e = evaluate(&more[..], &text(), &seen, &Limits::default());
    assert_eq!(e.reason, Reason::Accepted, "{}", e.detail);
    assert_eq!((e.seen, e.unique, e.new_rows.len()), (first.valid, 1, 1));
    assert!(
        e.detail
            .ends_with(&format!("; {} lines accepted before", first.valid))
    );
}

#[test]
fn what_is_not_text_is_malformed() {
    for bad in [
        &b"caf\xe9 au lait\n"[..],
        b"\xff\xfe\x00h\x00i",
        b"plain words\nthen a NUL \0 byte\n",
        b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR",
    ] {
        let e = sdk(bad, &text());
        assert_eq!(e.reason, Reason::Malformed, "{bad:?}: {}", e.detail);
        assert_eq!(e, eval(bad, &text()));
        // With "any", the table readers' verdict on bytes that are not UTF-8 stands (reason
        // 4); what is UTF-8 but neither a table nor text is malformed.
        let e = sdk(bad, &Schema::any());
        assert!(
            matches!(e.reason, Reason::Encoding | Reason::Malformed),
            "{bad:?}: {}",
            e.detail
        );
    }
    assert_eq!(Reason::Malformed.code(), 10);
    assert_eq!(
        sdk(b"words\n\0\n", &Schema::any()).reason,
        Reason::Malformed
    );
    let e = eval(b"caf\xe9\n", &text());
    assert_eq!(e.detail, "line 1 is not valid UTF-8: the file is not text");
    for empty in [&b""[..], b"  \n\r\n\t", b"\xef\xbb\xbf\n "] {
        assert_eq!(eval(empty, &text()).reason, Reason::Empty);
        assert_eq!(sdk(empty, &Schema::any()).reason, Reason::Empty);
    }
}

#[test]
fn which_lines_are_valid() {
    let long = "word ".repeat(MAX_UNIT_CHARS / 5 + 1);
    let data = format!(
        "A fine line.\n12345 678\n---\nEsc \u{1b} here\nForm\u{c}feed\nTabs\tare fine\n{long}\n中文也可以\n"
    );
    let e = eval(
        data.as_bytes(),
        &Schema::parse(r#"{"format":"text","minValidPercent":0}"#).expect("schema"),
    );
    assert_eq!(e.reason, Reason::Accepted, "{}", e.detail);
    assert_eq!((e.rows, e.valid), (8, 3));
    assert!(
        e.detail.ends_with("first invalid: line 2 has no letter"),
        "{}",
        e.detail
    );
    // minValidPercent is the share of valid lines: 3 of 8 is 37 %.
    let strict = Schema::parse(r#"{"format":"text","minValidPercent":40}"#).expect("schema");
    let e = eval(data.as_bytes(), &strict);
    assert_eq!(e.reason, Reason::TooFewValid);
    assert!(
        e.detail.starts_with("3 of 8 lines are valid, 40 % must be"),
        "{}",
        e.detail
    );
    let e = eval(b"1234\n----\n", &text());
    assert_eq!(e.reason, Reason::TooFewValid);
    assert_eq!(
        e.detail,
        "no valid line among 2 lines; first invalid: line 1 has no letter"
    );
    // CR and CRLF end lines too.
    let e = eval(b"one line\rtwo lines\r\nthree lines\n", &text());
    assert_eq!((e.rows, e.valid, e.unique), (3, 3, 3));
}

#[test]
fn quality_counts_ordinary_characters() {
    let e = eval("Plain words, nothing else.\n".as_bytes(), &text());
    assert!(e.detail.contains("quality 10000"), "{}", e.detail);
    // 26 characters, of which the 4 emoji and 3 symbols are not ordinary: 10000·19/26 = 7307.
    let e = eval("Emoji 😀😀😀😀 and symbols ©®™\n".as_bytes(), &text());
    assert_eq!((e.cells, e.filled), (26, 19));
    assert_eq!(e.detail, "validity 10000, quality 7307, uniqueness 10000");
    // (4·10000 + 2·7307 + 4·10000) / 10 = 9461.
    assert_eq!(e.score, 9461);
    assert_eq!(e.score, compute_score(1, 1, 0, 26, 19, 1));
}

#[test]
fn limits_apply_to_lines() {
    let limits = Limits {
        max_rows: 3,
        ..Limits::default()
    };
    let e = evaluate(&b"a\nb\nc\nd\n"[..], &text(), &nothing_seen, &limits);
    assert_eq!(e.reason, Reason::TooLarge);
    assert_eq!(e.detail, "the file has more than the limit of 3 lines");
    let limits = Limits {
        max_row_bytes: 10,
        ..Limits::default()
    };
    let e = evaluate(
        &b"short\nthis line is too long\n"[..],
        &text(),
        &nothing_seen,
        &limits,
    );
    assert_eq!(e.reason, Reason::TooLarge);
    assert_eq!(e.detail, "line 2 is longer than the limit of 10 bytes");
}

#[test]
fn declared_tables_refuse_prose_on_both_paths() {
    let csv = Schema::parse(r#"{"format":"csv"}"#).expect("csv");
    let jsonl = Schema::parse(r#"{"format":"jsonl"}"#).expect("jsonl");
    for schema in [csv, jsonl, wine_schema()] {
        let flow = eval(PLAIN, &schema);
        let sdk = sdk(PLAIN, &schema);
        assert!(!flow.is_accepted() && !sdk.is_accepted(), "{schema:?}");
        assert_eq!(flow, sdk);
    }
}

#[test]
fn tables_stay_tables_on_the_sdk_path() {
    let e = sdk(WINE.as_bytes(), &Schema::any());
    assert_eq!(
        (e.reason, e.score),
        (Reason::Accepted, 9399),
        "{}",
        e.detail
    );
    assert_eq!(e, eval(WINE.as_bytes(), &Schema::any()));
    assert_eq!(sdk(WINE.as_bytes(), &wine_schema()).score, 9399);
    // JSON Lines too; and a JSON Lines file that is not JSON keeps its own verdict.
    let jsonl = b"{\"a\": 1, \"b\": \"x\"}\n{\"a\": 2, \"b\": \"y\"}\n";
    assert_eq!(sdk(jsonl, &Schema::any()), eval(jsonl, &Schema::any()));
    assert_eq!(sdk(b"{not json\n", &Schema::any()).reason, Reason::Encoding);
    // A text iDAO reads a CSV file as lines of text: lines of numbers are not text.
    let e = eval(WINE.as_bytes(), &text());
    assert_eq!((e.reason, e.rows, e.valid), (Reason::TooFewValid, 1600, 1));
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn any_bytes_as_text_never_panic_and_do_not_depend_on_reads(
        data in prop::collection::vec(prop::sample::select(b"aZ9 .,\t\r\n\x00\x1b\xc3\xa9\xe4\xb8\xad\xff#".to_vec()), 0..400),
        step in 1usize..17,
    ) {
        let whole = eval(&data, &text());
        prop_assert!(whole.score <= 10_000);
        prop_assert_eq!(whole.score == 0, !whole.is_accepted());
        prop_assert!(whole.valid <= whole.rows && whole.unique + whole.seen <= whole.valid);
        prop_assert!(whole.filled <= whole.cells);
        prop_assert_eq!(eval_trickle(&data, step, &text(), &Limits::default()), whole.clone());
        let sdk_any = sdk(&data, &Schema::any());
        prop_assert!(sdk_any.score <= 10_000);
        if sdk_any.reason != eval(&data, &Schema::any()).reason {
            prop_assert_eq!(sdk_any, whole);
        }
    }
}
