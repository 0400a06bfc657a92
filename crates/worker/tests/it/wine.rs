//! The wine-quality data set against its schema: pinned scores, partly seen rows, duplicates,
//! type errors, missing columns, layout variants, determinism and what `detail` may say.

use std::collections::HashSet;

use lazai_worker::{Limits, Reason, RowHash, Schema, compute_score, evaluate};

use crate::{WINE, eval, eval_trickle, formula, nothing_seen, wine_header, wine_rows, wine_schema};

/// Header plus the given data lines, LF-terminated.
fn file(header: &str, rows: &[&str]) -> String {
    let mut out = String::from(header);
    out.push('\n');
    for row in rows {
        out.push_str(row);
        out.push('\n');
    }
    out
}

/// Replaces field `i` of a comma-separated line.
fn with_field(line: &str, i: usize, value: &str) -> String {
    let mut fields: Vec<&str> = line.split(',').collect();
    fields[i] = value;
    fields.join(",")
}

#[test]
fn wine_scores_as_pinned() {
    let e = eval(WINE.as_bytes(), &wine_schema());
    println!("wine-quality red: score {} ({})", e.score, e.detail);
    assert_eq!(e.reason, Reason::Accepted);
    assert_eq!(e.rows, 1599);
    assert_eq!(e.valid, 1599);
    assert_eq!(e.cells, 1599 * 12);
    assert_eq!(e.filled, 1599 * 12);
    // 240 of the 1599 rows repeat an earlier one.
    assert_eq!(e.unique, 1359);
    assert_eq!(e.new_rows.len(), 1359);
    assert_eq!(
        e.detail,
        "validity 10000, completeness 10000, uniqueness 8499"
    );
    // v = 10000, c = 10000, u = 10000·1359/1599 = 8499; (40000 + 20000 + 33996) / 10.
    assert_eq!(e.score, 9399);
    assert_eq!(e.score, formula(1599, 1599, 0, 19188, 19188, 1359));
    assert_eq!(e.score, compute_score(1599, 1599, 0, 19188, 19188, 1359));
}

#[test]
fn row_hash_is_of_the_declared_cells() {
    let e = eval(WINE.as_bytes(), &wine_schema());
    let first = wine_rows()[0];
    assert_eq!(e.new_rows[0], RowHash::of_cells(first.split(',')));
    // Distinct rows of the file, in order of first appearance.
    let mut set = HashSet::new();
    let distinct: Vec<RowHash> = wine_rows()
        .iter()
        .map(|r| RowHash::of_cells(r.split(',')))
        .filter(|h| set.insert(*h))
        .collect();
    assert_eq!(e.new_rows, distinct);
    // Pinned, so that any change to the hashing shows.
    assert_eq!(
        RowHash::of_cells(first.split(',')).to_string(),
        hex_of_blake3_prefix(&first.replace(',', "\u{1f}"))
    );
}

fn hex_of_blake3_prefix(s: &str) -> String {
    blake3_hex(s.as_bytes())[..32].to_string()
}

fn blake3_hex(bytes: &[u8]) -> String {
    // The crate uses blake3; the test re-derives the same bytes independently.
    let mut hasher = blake3::Hasher::new();
    hasher.update(bytes);
    hasher.finalize().to_hex().to_string()
}

#[test]
fn partly_seen_rows_score_by_the_formula() {
    let rows = wine_rows();
    let first_part = eval(file(wine_header(), &rows[..800]).as_bytes(), &wine_schema());
    let accepted: HashSet<RowHash> = first_part.new_rows.iter().copied().collect();
    let e = evaluate(
        WINE.as_bytes(),
        &wine_schema(),
        &|h: &RowHash| accepted.contains(h),
        &Limits::default(),
    );
    // Independently: distinct rows of the whole file not among the first 800 lines.
    let early: HashSet<&str> = rows[..800].iter().copied().collect();
    let later_new: HashSet<&str> = rows
        .iter()
        .copied()
        .filter(|r| !early.contains(r))
        .collect();
    assert_eq!(e.unique, later_new.len() as u64);
    // Rows equal to one of the first 800 were accepted before and are set aside.
    let seen = rows.iter().filter(|r| early.contains(*r)).count() as u64;
    assert_eq!(e.seen, seen);
    let fresh = 1599 - seen;
    assert_eq!((e.cells, e.filled), (fresh * 12, fresh * 12));
    assert_eq!(
        e.score,
        formula(1599, 1599, seen, fresh * 12, fresh * 12, e.unique)
    );
    assert!(e.score > 6000 && e.score < 9399, "score {}", e.score);
}

#[test]
fn distinct_rows_only_score_10000() {
    let mut set = HashSet::new();
    let distinct: Vec<&str> = wine_rows().into_iter().filter(|r| set.insert(*r)).collect();
    assert_eq!(distinct.len(), 1359);
    let e = eval(file(wine_header(), &distinct).as_bytes(), &wine_schema());
    assert_eq!((e.rows, e.valid, e.unique), (1359, 1359, 1359));
    assert_eq!(
        e.detail,
        "validity 10000, completeness 10000, uniqueness 10000"
    );
    assert_eq!(e.score, 10_000);
}

#[test]
fn duplicates_in_one_file_lower_uniqueness() {
    let rows = wine_rows();
    // Rows 1 and 5 of the file are equal, so the first 10 hold 9 distinct rows.
    let twice: Vec<&str> = rows[..10].iter().chain(&rows[..10]).copied().collect();
    let e = eval(file(wine_header(), &twice).as_bytes(), &wine_schema());
    assert_eq!((e.rows, e.valid, e.unique), (20, 20, 9));
    assert_eq!(e.new_rows.len(), 9);
    // u = 10000·9/20 = 4500; (40000 + 20000 + 18000) / 10.
    assert_eq!(e.score, 7800);
}

#[test]
fn half_the_rows_with_a_type_error() {
    let rows = wine_rows();
    let mixed: Vec<String> = rows[..100]
        .iter()
        .enumerate()
        .map(|(i, r)| {
            if i % 2 == 0 {
                with_field(r, 8, "abc") // pH
            } else {
                r.to_string()
            }
        })
        .collect();
    let mixed: Vec<&str> = mixed.iter().map(String::as_str).collect();
    let data = file(wine_header(), &mixed);

    let e = eval(data.as_bytes(), &wine_schema());
    assert_eq!(e.reason, Reason::Accepted, "{}", e.detail);
    assert_eq!((e.rows, e.valid), (100, 50));
    assert_eq!((e.cells, e.filled), (600, 600));
    // Rows 2, 4, …, 100 (the valid ones) hold 48 distinct rows.
    assert_eq!(e.unique, 48);
    assert_eq!(
        e.detail,
        "validity 5000, completeness 10000, uniqueness 9600; first invalid: row 1: column \"pH\" is not a float"
    );
    // (4·5000 + 2·10000 + 4·9600) / 10.
    assert_eq!(e.score, 7840);

    // 50 % valid is exactly the default minimum; 51 % is not met.
    let strict = wine_schema_with_min(51);
    let e = eval(data.as_bytes(), &strict);
    assert_eq!(e.reason, Reason::TooFewValid);
    assert_eq!(e.score, 0);
    assert_eq!((e.rows, e.valid, e.unique), (100, 50, 48));
    assert!(e.new_rows.is_empty());
    assert_eq!(
        e.detail,
        "50 of 100 rows are valid, 51 % must be; first invalid: row 1: column \"pH\" is not a float"
    );
}

fn wine_schema_with_min(percent: u8) -> Schema {
    let json = crate::WINE_SCHEMA.replace(
        "\"minValidPercent\": 50",
        &format!("\"minValidPercent\": {percent}"),
    );
    Schema::parse(&json).expect("schema")
}

#[test]
fn empty_cells_lower_completeness_not_validity() {
    let rows = wine_rows();
    // Empty "alcohol" in the first 10 rows; an all-empty row is invalid.
    let mut lines: Vec<String> = rows[..10].iter().map(|r| with_field(r, 10, "")).collect();
    lines.push(",,,,,,,,,,,".to_string());
    let lines: Vec<&str> = lines.iter().map(String::as_str).collect();
    let e = eval(file(wine_header(), &lines).as_bytes(), &wine_schema());
    assert_eq!(e.reason, Reason::Accepted, "{}", e.detail);
    assert_eq!((e.rows, e.valid, e.cells, e.filled), (11, 10, 120, 110));
    // Rows 1 and 5 still collide.
    assert_eq!(e.unique, 9);
    assert_eq!(e.score, formula(11, 10, 0, 120, 110, 9));
    assert!(
        e.detail
            .ends_with("first invalid: row 11: every declared cell is empty")
    );
}

#[test]
fn wrong_field_count_is_an_invalid_row() {
    let rows = wine_rows();
    let mut lines: Vec<String> = rows[..9].iter().map(|r| r.to_string()).collect();
    lines.push(format!("{},1", rows[9]));
    let lines: Vec<&str> = lines.iter().map(String::as_str).collect();
    let e = eval(file(wine_header(), &lines).as_bytes(), &wine_schema());
    assert_eq!((e.rows, e.valid), (10, 9));
    assert!(
        e.detail
            .ends_with("first invalid: row 10 has 13 fields, the header has 12"),
        "{}",
        e.detail
    );
}

#[test]
fn a_missing_column_is_a_schema_mismatch() {
    let without_ph: String = WINE
        .lines()
        .map(|l| {
            let mut f: Vec<&str> = l.split(',').collect();
            f.remove(8);
            f.join(",") + "\n"
        })
        .collect();
    let e = eval(without_ph.as_bytes(), &wine_schema());
    assert_eq!(e.reason, Reason::SchemaMismatch);
    assert_eq!(e.score, 0);
    assert_eq!(e.detail, "missing column \"pH\"");
    assert_eq!((e.rows, e.valid, e.unique), (0, 0, 0));

    // Declared optional, the column may be missing; its cells count as empty.
    let optional = Schema::parse(&crate::WINE_SCHEMA.replace(
        "{\"name\": \"pH\", \"type\": \"float\"}",
        "{\"name\": \"pH\", \"type\": \"float\", \"required\": false}",
    ))
    .expect("schema");
    let e = eval(without_ph.as_bytes(), &optional);
    assert_eq!(e.reason, Reason::Accepted, "{}", e.detail);
    assert_eq!(
        (e.rows, e.valid, e.cells, e.filled),
        (1599, 1599, 19188, 17589)
    );
    assert_eq!(e.unique, 1359);
    // c = 10000·11/12 = 9166: (40000 + 18332 + 33996) / 10.
    assert_eq!(e.score, 9232);
}

#[test]
fn column_order_extra_columns_quoting_and_line_endings_do_not_matter() {
    let base = eval(WINE.as_bytes(), &wine_schema());

    // Columns reversed, an extra id column, every field quoted, CRLF.
    let mut variant = String::new();
    for (i, line) in WINE.lines().enumerate() {
        let mut fields: Vec<String> = line
            .split(',')
            .rev()
            .map(|f| format!("\"{}\"", f.trim_matches('"')))
            .collect();
        fields.insert(
            3,
            if i == 0 {
                "\"id\"".into()
            } else {
                format!("\"{i}\"")
            },
        );
        variant.push_str(&fields.join(","));
        variant.push_str("\r\n");
    }
    let e = eval(variant.as_bytes(), &wine_schema());
    assert_eq!(e, base);

    // Semicolons, with the delimiter left to detection.
    let semicolons = WINE.replace(',', ";");
    let sniffing =
        Schema::parse(&crate::WINE_SCHEMA.replace("\"delimiter\": \",\",\n", "")).expect("schema");
    assert_eq!(eval(semicolons.as_bytes(), &sniffing), base);
    let tabs = WINE.replace(',', "\t");
    assert_eq!(eval(tabs.as_bytes(), &sniffing), base);
    // A declared comma does not split a semicolon file.
    assert_eq!(
        eval(semicolons.as_bytes(), &wine_schema()).reason,
        Reason::SchemaMismatch
    );

    // Byte order mark, blank lines, spaces around cells.
    let body: String = wine_rows()
        .iter()
        .map(|r| format!(" {} \n\n \t\n", r.replace(',', " , ")))
        .collect();
    let padded = format!("\u{feff}\n  \n{}\n{body}", wine_header());
    assert_eq!(eval(padded.as_bytes(), &wine_schema()), base);
}

#[test]
fn schema_any_takes_the_header() {
    let e = eval(WINE.as_bytes(), &Schema::any());
    assert_eq!(e.reason, Reason::Accepted);
    assert_eq!(
        (e.rows, e.valid, e.cells, e.unique),
        (1599, 1599, 19188, 1359)
    );
    assert_eq!(e.score, 9399);
    // Same cells in the same order: same hashes as with the declared schema.
    assert_eq!(e.new_rows, eval(WINE.as_bytes(), &wine_schema()).new_rows);
}

#[test]
fn evaluation_is_deterministic() {
    let schema = wine_schema();
    let a = eval(WINE.as_bytes(), &schema);
    let b = eval(WINE.as_bytes(), &schema);
    assert_eq!(a, b);
    for step in [1, 3, 7, 64, 4096, 1 << 20] {
        assert_eq!(
            eval_trickle(WINE.as_bytes(), step, &schema, &Limits::default()),
            a
        );
    }
    // Also when a limit is hit: the same row, the same message.
    let limits = Limits {
        max_bytes: 50_000,
        ..Limits::default()
    };
    let whole = evaluate(WINE.as_bytes(), &schema, &nothing_seen, &limits);
    assert_eq!(whole.reason, Reason::TooLarge);
    for step in [1, 5, 333, 8192] {
        assert_eq!(eval_trickle(WINE.as_bytes(), step, &schema, &limits), whole);
    }
}

#[test]
fn detail_never_quotes_the_file() {
    const SECRET: &str = "s3cr3t";
    let rows = wine_rows();
    let schema = wine_schema();
    let mut details = Vec::new();

    // A type error, a wrong field count, too few valid rows, an all-empty row.
    let mut lines: Vec<String> = rows[..4].iter().map(|r| with_field(r, 0, SECRET)).collect();
    lines.push(format!("{},{SECRET}", rows[4]));
    lines.push(format!("{SECRET},,,,,,,,,,,"));
    lines.push(",,,,,,,,,,,".into());
    let lines: Vec<&str> = lines.iter().map(String::as_str).collect();
    details.push(eval(file(wine_header(), &lines).as_bytes(), &schema).detail);
    details.push(eval(file(wine_header(), &lines[2..]).as_bytes(), &schema).detail);

    // Columns taken from the file: its header names are content too.
    let header = wine_header().replace("pH", SECRET);
    let bad: Vec<String> = rows[..3].iter().map(|r| with_field(r, 8, "")).collect();
    let bad: Vec<&str> = bad.iter().map(String::as_str).collect();
    let typed_any = Schema::any();
    details.push(eval(file(&header, &bad).as_bytes(), &typed_any).detail);
    details.push(eval(file(&header, &[",,,,,,,,,,,"]).as_bytes(), &typed_any).detail);

    // Missing column, not UTF-8, bad JSON, not an object, limits.
    details.push(eval(file(&header, &rows[..3]).as_bytes(), &schema).detail);
    let mut not_utf8 = file(wine_header(), &rows[..3]).into_bytes();
    not_utf8.extend_from_slice(b"\xff\xfe");
    not_utf8.extend_from_slice(SECRET.as_bytes());
    details.push(eval(&not_utf8, &schema).detail);
    let json = format!("{{\"a\":\"{SECRET}\"}}\n{{\"a\": {SECRET}}}\n");
    details.push(eval(json.as_bytes(), &Schema::any()).detail);
    let json = format!("{{\"a\":\"{SECRET}\"}}\n[\"{SECRET}\"]\n\"{SECRET}\"\n");
    details.push(eval(json.as_bytes(), &Schema::any()).detail);
    let tiny = Limits {
        max_row_bytes: 40,
        ..Limits::default()
    };
    details.push(evaluate(WINE.as_bytes(), &schema, &nothing_seen, &tiny).detail);
    details.push(eval(WINE.as_bytes(), &schema).detail);

    let values: HashSet<&str> = rows
        .iter()
        .flat_map(|r| r.split(','))
        .filter(|v| v.contains('.'))
        .collect();
    for detail in &details {
        assert!(!detail.is_empty());
        assert!(!detail.contains(SECRET), "{detail}");
        for v in &values {
            assert!(!detail.contains(v), "{detail} quotes {v}");
        }
    }
    println!("{details:#?}");
}

#[test]
fn csv_rows_that_are_not_utf8_reject_the_file() {
    let mut data = file(wine_header(), &wine_rows()[..3]).into_bytes();
    data.extend_from_slice(b"7.4,0.7,0,1.9,0.076,11,34,0.9978,3.51,0.56,9.4,\xc3\n");
    let e = eval(&data, &wine_schema());
    assert_eq!(e.reason, Reason::Encoding);
    assert_eq!(e.detail, "row 4 is not valid UTF-8");
    // A multi-byte character split by a delimiter is not UTF-8 either.
    let e = eval(b"a,b\n\xc3,\xa9\n", &Schema::any());
    assert_eq!(e.reason, Reason::Encoding);
    let e = eval("a,b\né,é\n".as_bytes(), &Schema::any());
    assert_eq!(e.reason, Reason::Accepted);
}
