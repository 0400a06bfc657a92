//! Random input never panics, and how the input is split into reads never matters.

use lazai_worker::{Limits, RowHash, Schema, evaluate};
use proptest::prelude::*;

use crate::eval_trickle;

fn schemas() -> Vec<Schema> {
    [
        r#"{"format":"any"}"#,
        r#"{"format":"csv","columns":[{"name":"a","type":"int"},{"name":"b","type":"float","required":false}],"minValidPercent":0}"#,
        r#"{"format":"jsonl","columns":[{"name":"a","type":"bool"},{"name":"b","type":"string"}]}"#,
        r#"{"format":"csv","delimiter":";"}"#,
        r#"{"format":"text","minValidPercent":0}"#,
    ]
    .iter()
    .map(|s| Schema::parse(s).expect("schema"))
    .collect()
}

/// Bytes that are mostly the interesting ones for CSV and JSON.
fn structured() -> impl Strategy<Value = Vec<u8>> {
    prop::collection::vec(
        prop::sample::select(
            b"ab1.5-e,;\t\"\n\r {}[]:\\x0truefalsenull\xc3\xa9\xff\xef\xbb\xbf".to_vec(),
        ),
        0..400,
    )
}

fn small_limits() -> impl Strategy<Value = Limits> {
    (0u64..50, 0usize..120, 0u64..500).prop_map(|(max_rows, max_row_bytes, max_bytes)| Limits {
        max_rows,
        max_row_bytes,
        max_bytes,
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn random_bytes_never_panic(data in prop::collection::vec(any::<u8>(), 0..2000)) {
        for schema in schemas() {
            let e = evaluate(&data[..], &schema, &|_: &RowHash| false, &Limits::default());
            prop_assert!(e.score <= 10_000);
            prop_assert_eq!(e.score == 0, !e.is_accepted());
        }
    }

    #[test]
    fn structured_bytes_never_panic_and_do_not_depend_on_reads(
        data in structured(),
        step in 1usize..17,
        limits in prop_oneof![Just(Limits::default()), small_limits()],
        seen_bit in any::<bool>(),
    ) {
        for schema in schemas() {
            let seen = |h: &RowHash| seen_bit && h.0[0].is_multiple_of(2);
            let whole = evaluate(&data[..], &schema, &seen, &limits);
            prop_assert!(whole.score <= 10_000);
            prop_assert!(whole.valid <= whole.rows && whole.unique + whole.seen <= whole.valid);
            prop_assert!(whole.filled <= whole.cells);
            prop_assert_eq!(whole.new_rows.len() as u64, if whole.is_accepted() { whole.unique } else { 0 });
            if !seen_bit {
                prop_assert_eq!(eval_trickle(&data, step, &schema, &limits), whole);
            }
        }
    }
}
