//! Rows contributed before: an identical re-upload is rejected, a partial duplicate is scored on
//! its new rows, and copies within one flow are decided by their order in it.

use std::collections::HashSet;

use lazai_worker::{Evaluation, Limits, Reason, RowHash, compute_score, evaluate};

use crate::{WINE, eval, formula, wine_header, wine_rows, wine_schema};

/// Evaluates `data` against the wine schema with `accepted` as the rows accepted before.
fn eval_seen(data: &str, accepted: &HashSet<RowHash>) -> Evaluation {
    evaluate(
        data.as_bytes(),
        &wine_schema(),
        &|h: &RowHash| accepted.contains(h),
        &Limits::default(),
    )
}

fn file(rows: &[String]) -> String {
    let mut out = format!("{}\n", wine_header());
    for row in rows {
        out.push_str(row);
        out.push('\n');
    }
    out
}

/// The first `n` distinct rows of the wine file.
fn distinct_rows(n: usize) -> Vec<String> {
    let mut set = HashSet::new();
    wine_rows()
        .into_iter()
        .filter(|r| set.insert(*r))
        .take(n)
        .map(str::to_string)
        .collect()
}

fn with_field(line: &str, i: usize, value: &str) -> String {
    let mut fields: Vec<&str> = line.split(',').collect();
    fields[i] = value;
    fields.join(",")
}

#[test]
fn an_identical_reupload_is_rejected_as_a_duplicate() {
    let first = eval(WINE.as_bytes(), &wine_schema());
    assert_eq!(first.reason, Reason::Accepted);
    let accepted: HashSet<RowHash> = first.new_rows.iter().copied().collect();

    let again = eval_seen(WINE, &accepted);
    assert_eq!(again.reason, Reason::Duplicate, "{}", again.detail);
    assert_eq!(again.score, 0);
    assert!(again.new_rows.is_empty());
    assert_eq!(
        (again.rows, again.valid, again.seen, again.unique),
        (1599, 1599, 1599, 0)
    );
    assert_eq!(
        again.detail,
        "all 1599 valid rows of the file were accepted before"
    );
    assert_eq!(Reason::Duplicate.code(), 9);

    // Invalid rows added to the copy contribute nothing: still a duplicate.
    let mut padded: Vec<String> = wine_rows().iter().map(|r| r.to_string()).collect();
    padded.push(with_field(wine_rows()[0], 8, "abc"));
    let e = eval_seen(&file(&padded), &accepted);
    assert_eq!(e.reason, Reason::Duplicate, "{}", e.detail);
    assert!(
        e.detail
            .ends_with("first invalid: row 1600: column \"pH\" is not a float")
    );

    // One row accepted before, alone.
    let one = file(&distinct_rows(1));
    let accepted: HashSet<RowHash> = eval(one.as_bytes(), &wine_schema())
        .new_rows
        .into_iter()
        .collect();
    let e = eval_seen(&one, &accepted);
    assert_eq!(
        (e.reason, e.detail.as_str()),
        (
            Reason::Duplicate,
            "the file's one valid row was accepted before"
        )
    );
}

#[test]
fn half_new_rows_are_scored_on_the_new_half() {
    let rows = distinct_rows(100);
    let (old, new) = rows.split_at(50);
    let accepted: HashSet<RowHash> = eval(file(old).as_bytes(), &wine_schema())
        .new_rows
        .into_iter()
        .collect();
    assert_eq!(accepted.len(), 50);

    // The new half: 10 rows with a type error (invalid), 10 with an empty cell.
    let new: Vec<String> = new
        .iter()
        .enumerate()
        .map(|(i, r)| match i % 5 {
            0 => with_field(r, 8, "abc"),
            1 => with_field(r, 10, ""),
            _ => r.clone(),
        })
        .collect();
    let alone = eval(file(&new).as_bytes(), &wine_schema());
    assert_eq!(alone.reason, Reason::Accepted, "{}", alone.detail);
    assert_eq!(
        (
            alone.rows,
            alone.valid,
            alone.cells,
            alone.filled,
            alone.unique
        ),
        (50, 40, 480, 470, 40)
    );
    // v = 8000, c = 10000·470/480 = 9791, u = 10000.
    assert!(
        alone
            .detail
            .starts_with("validity 8000, completeness 9791, uniqueness 10000;"),
        "{}",
        alone.detail
    );

    let both: Vec<String> = old.iter().chain(&new).cloned().collect();
    let e = eval_seen(&file(&both), &accepted);
    assert_eq!(e.reason, Reason::Accepted, "{}", e.detail);
    assert_eq!(
        (e.rows, e.valid, e.seen, e.cells, e.filled, e.unique),
        (100, 90, 50, 480, 470, 40)
    );
    // Validity and completeness are the new half's; uniqueness is 40 new of 90 valid rows.
    assert!(
        e.detail.starts_with(
            "validity 8000, completeness 9791, uniqueness 4444; 50 rows accepted before;"
        ),
        "{}",
        e.detail
    );
    // (4·8000 + 2·9791 + 4·4444) / 10, below the new half alone: padding never pays.
    assert_eq!(e.score, 6935);
    assert_eq!(e.score, formula(100, 90, 50, 480, 470, 40));
    assert_eq!(e.score, compute_score(100, 90, 50, 480, 470, 40));
    assert!(e.score < alone.score);
    assert_eq!(e.new_rows, alone.new_rows);
}

#[test]
fn valid_rows_seen_before_do_not_carry_invalid_new_ones() {
    let rows = distinct_rows(100);
    let (old, new) = rows.split_at(50);
    let accepted: HashSet<RowHash> = eval(file(old).as_bytes(), &wine_schema())
        .new_rows
        .into_iter()
        .collect();
    // 20 of the 50 new rows are valid: 40 %, under the schema's 50 %.
    let new: Vec<String> = new
        .iter()
        .enumerate()
        .map(|(i, r)| {
            if i % 5 < 3 {
                with_field(r, 8, "abc")
            } else {
                r.clone()
            }
        })
        .collect();
    let both: Vec<String> = old.iter().chain(&new).cloned().collect();
    let e = eval_seen(&file(&both), &accepted);
    assert_eq!(e.reason, Reason::TooFewValid, "{}", e.detail);
    assert_eq!(
        e.detail,
        "20 of 50 rows not accepted before are valid, 50 % must be; first invalid: row 51: \
         column \"pH\" is not a float"
    );
    assert!(e.new_rows.is_empty());
}

#[test]
fn copies_in_one_flow_are_decided_by_flow_order() {
    // What every worker of the quorum does for a flow: each file is scored against the
    // iDAO's accepted rows and the rows of the accepted files before it in the flow.
    let slice = file(&distinct_rows(200)[..100]);
    let other = file(&distinct_rows(200)[100..]);
    let flow = [&slice, &other, &slice];
    let run = || {
        let mut in_flow: HashSet<RowHash> = HashSet::new();
        flow.iter()
            .map(|data| {
                let e = eval_seen(data, &in_flow);
                in_flow.extend(e.new_rows.iter().copied());
                (e.score, e.reason)
            })
            .collect::<Vec<_>>()
    };
    let verdicts = run();
    assert_eq!(verdicts[0], (10_000, Reason::Accepted));
    assert_eq!(verdicts[1], (10_000, Reason::Accepted));
    assert_eq!(verdicts[2], (0, Reason::Duplicate));
    // The same on every run: the verdict depends only on the order in the flow.
    assert_eq!(run(), verdicts);
}
