//! `lazai-bench dat` in a tiny configuration, through the library: every DAT operation it sends
//! to the in-process devnet finalizes and succeeds (the bench fails on any revert), and a
//! settlement costs the same gas in a class of 1 holder as in one of 200 (as does a claim).
//! Nothing here depends on wall-clock time.

use lazai_bench::{DatArgs, run_dat};

#[test]
fn tiny_bench_dat_succeeds_and_settlement_gas_is_flat_in_the_holders() {
    let report = run_dat(DatArgs {
        ops: 50,
        holders: 200,
        senders: 500,
        settles: 50,
        block_time: 250,
        timeout: 120,
    })
    .expect("bench dat");

    let kinds: Vec<(&str, usize)> = report
        .in_node
        .iter()
        .map(|f| (f.kind.as_str(), f.ops))
        .collect();
    // 50 ops over at most 25 senders (every class gets two tokens), one class each.
    assert_eq!(
        kinds,
        [
            ("createClass", 25),
            ("mint", 50),
            ("transferValue", 50),
            ("recordUsage", 50),
            ("settleRevenueETH", 50),
            ("claim", 50),
        ]
    );
    for f in &report.in_node {
        assert!(f.blocks >= 1 && f.gas_min > 21_000, "{f:?}");
    }
    assert_eq!(report.holder_mints.ops, 1 + 100 + 200);
    let settled: Vec<(usize, usize)> = report
        .holder_settles
        .iter()
        .map(|(n, f)| (*n, f.ops))
        .collect();
    assert_eq!(settled, [(1, 50), (100, 50), (200, 50)]);

    let holders: Vec<usize> = report.execution.iter().map(|f| f.holders).collect();
    assert_eq!(holders, [1, 100, 200]);
    let (one, many) = (&report.execution[0], &report.execution[2]);
    assert_eq!(one.settle_gas, many.settle_gas, "{one:?}\n{many:?}");
    assert_eq!(one.settle_exec_gas, many.settle_exec_gas);
    assert_eq!(one.claim_exec_gas, many.claim_exec_gas);
    assert_eq!(report.execution[1].settle_gas, one.settle_gas);
    assert!(report.flat_gas());
    assert!(one.settle_gas > one.settle_exec_gas && one.settle_exec_gas > 0);
}
