//! Unit tests of the VSC's pure rules.

use super::*;

#[test]
fn merkle_root_shapes() {
    let a = B256::repeat_byte(1);
    let b = B256::repeat_byte(2);
    let c = B256::repeat_byte(3);
    assert_eq!(merkle_root(&[]), B256::ZERO);
    assert_eq!(merkle_root(&[a]), a);
    let ab = {
        let mut buf = vec![1u8];
        buf.extend_from_slice(a.as_slice());
        buf.extend_from_slice(b.as_slice());
        keccak256(buf)
    };
    assert_eq!(merkle_root(&[a, b]), ab);
    let abc = {
        let mut buf = vec![1u8];
        buf.extend_from_slice(ab.as_slice());
        buf.extend_from_slice(c.as_slice());
        keccak256(buf)
    };
    assert_eq!(merkle_root(&[a, b, c]), abc);
    assert_ne!(merkle_root(&[b, a]), ab, "order matters");
}

#[test]
fn quorum_is_deterministic_distinct_and_seeded() {
    let nodes: Vec<Address> = (1..=10u8).map(Address::repeat_byte).collect();
    let q1 = choose_quorum(&nodes, 3, B256::repeat_byte(7), U256::from(1));
    assert_eq!(
        q1,
        choose_quorum(&nodes, 3, B256::repeat_byte(7), U256::from(1))
    );
    assert_eq!(q1.len(), 3);
    let mut dedup = q1.clone();
    dedup.sort();
    dedup.dedup();
    assert_eq!(dedup.len(), 3);
    assert!(q1.iter().all(|a| nodes.contains(a)));
    // Different seeds spread the load: over many flows every node serves.
    let mut served = std::collections::BTreeSet::new();
    for flow in 1..50u64 {
        served.extend(choose_quorum(
            &nodes,
            3,
            B256::repeat_byte(7),
            U256::from(flow),
        ));
    }
    assert_eq!(served.len(), nodes.len());
    assert_eq!(
        choose_quorum(&nodes, 10, B256::ZERO, U256::from(1)).len(),
        10
    );
}

#[test]
fn data_address_differs_per_idao() {
    assert_ne!(
        idao_data_address(U256::from(1)),
        idao_data_address(U256::from(2))
    );
    assert_ne!(idao_data_address(U256::from(1)), Address::ZERO);
}

#[test]
fn results_root_binds_every_field() {
    let r = |id: u64, score: u16, reason: u8| FileResult {
        fileId: U256::from(id),
        score,
        reason,
    };
    let base = results_root(&[r(1, 9000, 0), r(2, 0, 5)]);
    assert_ne!(base, results_root(&[r(1, 9001, 0), r(2, 0, 5)]));
    assert_ne!(base, results_root(&[r(1, 9000, 0), r(2, 0, 6)]));
    assert_ne!(base, results_root(&[r(3, 9000, 0), r(2, 0, 5)]));
    assert_ne!(
        results_digest(1, U256::from(1), base),
        results_digest(2, U256::from(1), base)
    );
    assert_ne!(
        results_digest(1, U256::from(1), base),
        results_digest(1, U256::from(2), base)
    );
}
