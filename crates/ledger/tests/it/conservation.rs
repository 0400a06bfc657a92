//! Conservation of LAZAI: balances plus burned fees never change, whatever the transactions.

use crate::support::*;
use alloy_primitives::U256;
use alloy_sol_types::SolCall;
use lazai_ledger::modules::{IDAO_REGISTRY_ADDRESS, IIdaoRegistry};
use lazai_ledger::total_supply;
use proptest::prelude::*;

proptest! {
    #![proptest_config(ProptestConfig::with_cases(32))]
    #[test]
    fn transfers_conserve_supply(ops in proptest::collection::vec((0u8..4, 0u8..5, 0u64..2_000_000_000_000_000, 0u128..3), 1..24)) {
        let signers: Vec<_> = (0..4).map(signer).collect();
        let refs: Vec<_> = signers.iter().collect();
        let mut state = funded(&refs, U256::from(10u128.pow(18)));
        let env = env();
        let l = ledger();
        let mut holders: Vec<_> = signers.iter().map(|s| s.address()).collect();
        holders.push(env.proposer);
        holders.push(IDAO_REGISTRY_ADDRESS);
        let supply = total_supply(&state, &holders);
        let mut cumulative = 0;
        for (from, to, value, tip) in ops {
            let s = &signers[from as usize];
            let nonce = state.nonce(&s.address());
            // Recipient 4 is a native module: a call carrying value (and sometimes a
            // registration) must keep or return every wei.
            let mut t = if to == 4 {
                let input = IIdaoRegistry::registerIdaoCall { name: "d".into(), metadataUri: String::new() }.abi_encode();
                let mut t = Tx::call(nonce, IDAO_REGISTRY_ADDRESS, if value % 2 == 0 { input } else { vec![0; 4] });
                t.value = U256::from(value % 1000);
                t
            } else {
                Tx::transfer(nonce, signers[to as usize].address(), U256::from(value))
            };
            t.tip = tip * GWEI / 2;
            let tx = recover(&t.eip1559(s));
            let before = state.root();
            match l.apply(&mut state, &env, &tx, cumulative) {
                Ok(r) => cumulative = r.cumulative_gas_used,
                Err(_) => prop_assert_eq!(state.root(), before),
            }
            prop_assert_eq!(total_supply(&state, &holders), supply);
        }
    }
}
