//! Conservation of LAZAI: balances (the iDAO registry's included, which holds every stake)
//! plus burned fees and slashes never change, whatever the transactions and evidence.

use crate::support::*;
use alloy_primitives::{Address, U256};
use alloy_sol_types::SolCall;
use commonware_cryptography::{Signer as _, ed25519};
use lazai_abi::{IDAO_REGISTRY_ADDRESS, IIdaoRegistry};
use lazai_ledger::{BlockEnv, Equivocation, Ledger, genesis_state, total_supply, validator_set};
use lazai_types::{Genesis, GenesisAccount, GenesisValidator, StakingParams, lazai};
use proptest::prelude::*;
use std::sync::Arc;

/// A registry call chosen by `pick`, on iDAO 1.
fn registry_call(pick: u64, amount: u64) -> (Vec<u8>, U256) {
    let id = U256::from(1);
    let amount = U256::from(amount % 1000);
    match pick % 5 {
        0 => (
            IIdaoRegistry::registerIdao_0Call {
                name: "d".into(),
                metadataUri: String::new(),
            }
            .abi_encode(),
            amount,
        ),
        1 => (IIdaoRegistry::bondCall { idaoId: id }.abi_encode(), amount),
        2 => (
            IIdaoRegistry::unbondCall { idaoId: id, amount }.abi_encode(),
            U256::ZERO,
        ),
        3 => (
            IIdaoRegistry::withdrawUnbondedCall { idaoId: id }.abi_encode(),
            U256::ZERO,
        ),
        _ => (vec![0; 4], amount),
    }
}

fn consensus_key(seed: u64) -> [u8; 32] {
    ed25519::PrivateKey::from_seed(seed)
        .public_key()
        .as_ref()
        .try_into()
        .expect("32 bytes")
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(32))]
    #[test]
    fn transfers_conserve_supply(ops in proptest::collection::vec((0u8..4, 0u8..5, 0u64..2_000_000_000_000_000, 0u128..3), 1..24)) {
        let signers: Vec<_> = (0..4).map(signer).collect();
        let refs: Vec<_> = signers.iter().collect();
        let mut state = funded(&refs, U256::from(10u128.pow(18)));
        let env = env();
        // No unbonding delay, so a withdrawal right after an unbond pays out.
        let l = Ledger::with_staking(CHAIN_ID, StakingParams { unbonding_delay: 0, ..Default::default() });
        let mut holders: Vec<_> = signers.iter().map(|s| s.address()).collect();
        holders.push(env.proposer);
        holders.push(IDAO_REGISTRY_ADDRESS);
        let supply = total_supply(&state, &holders);
        let mut cumulative = 0;
        for (from, to, value, tip) in ops {
            let s = &signers[from as usize];
            let nonce = state.nonce(&s.address());
            // Recipient 4 is the registry: registrations, bonds, unbonds, withdrawals and
            // garbage, with or without value, must keep or return every wei.
            let mut t = if to == 4 {
                let (input, value) = registry_call(value / 1000, value);
                let mut t = Tx::call(nonce, IDAO_REGISTRY_ADDRESS, input);
                t.value = value;
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

    #[test]
    fn blocks_with_stake_and_evidence_conserve_supply(
        slash_bps in 0u32..=10_000,
        blocks in proptest::collection::vec((
            proptest::collection::vec((0u8..3, 0u64..5, 0u64..50), 0..4),
            proptest::collection::vec((0u64..3, 0u64..3, 0u8..4), 0..3),
        ), 1..12),
    ) {
        let signers: Vec<_> = (0..3).map(signer).collect();
        let staking = StakingParams {
            epoch_length: 3,
            max_validators: 2,
            min_validator_stake: lazai(1),
            unbonding_delay: 3,
            slash_bps,
        };
        let genesis = Genesis {
            chain_id: CHAIN_ID,
            timestamp_ms: 0,
            gas_limit: 30_000_000,
            initial_base_fee: BASE_FEE,
            min_base_fee: BASE_FEE,
            governance: Address::ZERO,
            validators: (0..2)
                .map(|i| GenesisValidator {
                    name: format!("g{i}"),
                    consensus_key: alloy_primitives::hex::encode(consensus_key(i)),
                    fee_recipient: Address::repeat_byte(0x10 + i as u8),
                    p2p_addr: None,
                    stake: lazai(10 + i),
                    owner: Some(signers[i as usize].address()),
                })
                .collect(),
            alloc: signers
                .iter()
                .map(|s| GenesisAccount { address: s.address(), balance: lazai(100) })
                .collect(),
            staking,
            dev_tee: false,
            dev_zk_setups: false,
            calls: Vec::new(),
        };
        genesis.validate().expect("valid genesis");
        let l = Ledger::from_genesis(&genesis);
        let mut state = genesis_state(&genesis).expect("valid genesis");
        let mut holders: Vec<_> = signers.iter().map(|s| s.address()).collect();
        holders.push(env().proposer);
        holders.push(IDAO_REGISTRY_ADDRESS);
        let supply = total_supply(&state, &holders);
        for (height, (ops, evidence)) in blocks.into_iter().enumerate() {
            let mut nonces: Vec<_> = signers.iter().map(|s| state.nonce(&s.address())).collect();
            let txs: Vec<_> = ops
                .into_iter()
                .map(|(who, pick, amount)| {
                    let (input, value) = registry_call(pick, amount);
                    let mut t = Tx::call(nonces[who as usize], IDAO_REGISTRY_ADDRESS, input);
                    nonces[who as usize] += 1;
                    // Whole LAZAI so bonds matter for the election.
                    t.value = value * U256::from(10u64.pow(17));
                    t.gas = 1_000_000;
                    Arc::new(recover(&t.eip1559(&signers[who as usize])))
                })
                .collect();
            let env = BlockEnv {
                height: height as u64 + 1,
                evidence: evidence
                    .into_iter()
                    .map(|(seed, view, kind)| Equivocation {
                        consensus_key: consensus_key(seed),
                        epoch: 0,
                        view,
                        kind,
                    })
                    .collect(),
                ..env()
            };
            let (built, _) = l.build_block(&state, &env, txs);
            let executed = l
                .execute_block(&state, &env, built.transactions.clone())
                .expect("a built block is valid");
            prop_assert_eq!(built.state_root, executed.state_root);
            prop_assert_eq!(&built.changes, &executed.changes);
            state = executed.state;
            prop_assert_eq!(total_supply(&state, &holders), supply);
            prop_assert!(!validator_set(&state).1.is_empty(), "never without validators");
        }
    }
}
