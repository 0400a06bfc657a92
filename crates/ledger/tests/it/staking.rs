//! The stake-elected validator set: bonding, consensus keys, epochs, unbonding, slashing.

use crate::support::*;
use alloy_primitives::{Address, B256, Bytes, U256};
use alloy_signer_local::PrivateKeySigner;
use alloy_sol_types::{SolCall, SolError, SolEvent};
use commonware_cryptography::{Signer as _, ed25519};
use lazai_abi::{
    CONSENSUS_KEY_NAMESPACE, IDAO_REGISTRY_ADDRESS, IIdaoRegistry, MAX_UNBONDINGS, ROLE_COMPUTE,
    ROLE_DATA, ROLE_MODEL, consensus_key_message,
};
use lazai_ledger::{
    ActiveValidator, BlockEnv, CallParams, EQUIVOCATION_CONFLICTING_FINALIZE,
    EQUIVOCATION_CONFLICTING_NOTARIZE, EQUIVOCATION_NULLIFY_FINALIZE, Equivocation, Ledger, State,
    TxError, genesis_state, total_supply, validator_set,
};
use lazai_types::{Genesis, GenesisAccount, GenesisValidator, Receipt, StakingParams, lazai};
use std::sync::Arc;

const PROPOSER: Address = Address::repeat_byte(0xfe);

fn params() -> StakingParams {
    StakingParams {
        epoch_length: 4,
        max_validators: 2,
        min_validator_stake: lazai(10),
        unbonding_delay: 6,
        slash_bps: 1_000,
    }
}

fn consensus_key(seed: u64) -> ed25519::PrivateKey {
    ed25519::PrivateKey::from_seed(seed)
}

fn public(key: &ed25519::PrivateKey) -> [u8; 32] {
    key.public_key()
        .as_ref()
        .try_into()
        .expect("32-byte public key")
}

/// The proof of possession the registry wants for `key` on iDAO `id` owned by `owner`.
fn possession(key: &ed25519::PrivateKey, id: u64, owner: Address) -> Vec<u8> {
    let msg = consensus_key_message(CHAIN_ID, U256::from(id), owner, &public(key));
    key.sign(CONSENSUS_KEY_NAMESPACE, &msg).as_ref().to_vec()
}

/// A chain on a ledger with test staking parameters, advanced block by block; every block is
/// executed by `execute_block` and built by `build_block`, which must agree exactly.
struct Net {
    ledger: Ledger,
    state: State,
    height: u64,
    accounts: Vec<PrivateKeySigner>,
}

impl Net {
    /// Genesis with one validator (iDAO 1, 100 LAZAI, consensus key seed 1000, owned by
    /// `accounts[9]`'s address) and ten accounts holding 1000 LAZAI each.
    fn new(params: StakingParams) -> Self {
        let accounts: Vec<_> = (0..10).map(signer).collect();
        let genesis = Genesis {
            chain_id: CHAIN_ID,
            timestamp_ms: 0,
            gas_limit: 30_000_000,
            initial_base_fee: BASE_FEE,
            min_base_fee: BASE_FEE,
            governance: Address::ZERO,
            validators: vec![GenesisValidator {
                name: "genesis-0".into(),
                consensus_key: alloy_primitives::hex::encode(public(&consensus_key(1000))),
                fee_recipient: Address::repeat_byte(0x11),
                p2p_addr: Some("10.0.0.1:30303".into()),
                stake: lazai(100),
                owner: Some(accounts[9].address()),
            }],
            alloc: accounts
                .iter()
                .map(|s| GenesisAccount {
                    address: s.address(),
                    balance: lazai(1000),
                })
                .collect(),
            staking: params,
            dev_tee: false,
            dev_zk_setups: false,
            calls: Vec::new(),
        };
        genesis.validate().expect("valid genesis");
        Self {
            ledger: Ledger::from_genesis(&genesis),
            state: genesis_state(&genesis).expect("valid genesis"),
            height: 0,
            accounts,
        }
    }

    fn holders(&self) -> Vec<Address> {
        let mut h: Vec<_> = self.accounts.iter().map(|s| s.address()).collect();
        h.push(PROPOSER);
        h.push(IDAO_REGISTRY_ADDRESS);
        h
    }

    fn supply(&self) -> U256 {
        total_supply(&self.state, &self.holders())
    }

    fn env(&self, evidence: Vec<Equivocation>) -> BlockEnv {
        BlockEnv {
            height: self.height + 1,
            proposer: PROPOSER,
            evidence,
            ..env()
        }
    }

    /// Applies the next block; returns its receipts.
    fn block(&mut self, txs: Vec<Vec<u8>>, evidence: Vec<Equivocation>) -> Vec<Receipt> {
        let env = self.env(evidence);
        let txs: Vec<_> = txs.iter().map(|raw| Arc::new(recover(raw))).collect();
        let executed = self
            .ledger
            .execute_block(&self.state, &env, txs.clone())
            .expect("valid block");
        let (built, skipped) = self.ledger.build_block(&self.state, &env, txs);
        assert!(skipped.is_empty(), "{skipped:?}");
        assert_eq!(
            built.state_root, executed.state_root,
            "build and execute agree"
        );
        assert_eq!(built.changes, executed.changes);
        assert_eq!(built.receipts_root, executed.receipts_root);
        assert_eq!(executed.state.root(), executed.state_root);
        self.state = executed.state;
        self.height += 1;
        executed.receipts
    }

    fn empty_blocks_until(&mut self, height: u64) {
        while self.height < height {
            self.block(vec![], vec![]);
        }
    }

    fn tx(&self, who: usize, input: Vec<u8>, value: U256) -> Vec<u8> {
        let s = &self.accounts[who];
        let mut t = Tx::call(self.state.nonce(&s.address()), IDAO_REGISTRY_ADDRESS, input);
        t.value = value;
        t.gas = 1_000_000;
        t.eip1559(s)
    }

    /// Sends one call from `accounts[who]` in a block of its own.
    fn send(&mut self, who: usize, call: impl SolCall, value: U256) -> Receipt {
        let raw = self.tx(who, call.abi_encode(), value);
        self.block(vec![raw], vec![]).remove(0)
    }

    fn ok(&mut self, who: usize, call: impl SolCall, value: U256) -> Receipt {
        let r = self.send(who, call, value);
        assert!(r.success, "reverted: {}", r.output);
        r
    }

    fn fails<E: SolError>(&mut self, who: usize, call: impl SolCall, value: U256) -> E {
        let r = self.send(who, call, value);
        assert!(!r.success, "expected {} revert", E::SIGNATURE);
        E::abi_decode(&r.output)
            .unwrap_or_else(|_| panic!("expected {}: {}", E::SIGNATURE, r.output))
    }

    fn view<C: SolCall>(&self, call: C) -> C::Return {
        let out = self
            .ledger
            .call(
                &self.state,
                &self.env(vec![]),
                &CallParams {
                    from: Address::ZERO,
                    to: Some(IDAO_REGISTRY_ADDRESS),
                    value: U256::ZERO,
                    input: call.abi_encode().into(),
                    gas_limit: 10_000_000,
                    ..Default::default()
                },
            )
            .expect("call");
        assert!(out.success, "view reverted: {}", out.output);
        C::abi_decode_returns(&out.output).expect("decodes")
    }

    fn view_revert(&self, call: impl SolCall) -> Bytes {
        let out = self
            .ledger
            .call(
                &self.state,
                &self.env(vec![]),
                &CallParams {
                    from: Address::ZERO,
                    to: Some(IDAO_REGISTRY_ADDRESS),
                    value: U256::ZERO,
                    input: call.abi_encode().into(),
                    gas_limit: 10_000_000,
                    ..Default::default()
                },
            )
            .expect("call");
        assert!(!out.success);
        out.output
    }

    fn idao(&self, id: u64) -> IIdaoRegistry::Idao {
        self.view(IIdaoRegistry::getIdaoCall {
            idaoId: U256::from(id),
        })
    }

    /// `accounts[who]` registers an iDAO; returns its id.
    fn register(&mut self, who: usize, name: &str) -> u64 {
        let r = self.ok(
            who,
            IIdaoRegistry::registerIdao_0Call {
                name: name.into(),
                metadataUri: String::new(),
            },
            U256::ZERO,
        );
        IIdaoRegistry::registerIdao_0Call::abi_decode_returns(&r.output)
            .expect("id")
            .to::<u64>()
    }

    fn bond(&mut self, who: usize, id: u64, amount: U256) -> Receipt {
        self.ok(
            who,
            IIdaoRegistry::bondCall {
                idaoId: U256::from(id),
            },
            amount,
        )
    }

    fn key_call(
        &self,
        id: u64,
        key: &ed25519::PrivateKey,
        signature: Vec<u8>,
    ) -> IIdaoRegistry::registerConsensusKeyCall {
        IIdaoRegistry::registerConsensusKeyCall {
            idaoId: U256::from(id),
            consensusKey: B256::from(public(key)),
            p2pAddress: format!("10.0.0.{id}:30303"),
            signature: signature.into(),
        }
    }

    /// In one block, for each `(who, stake, seed)`: `accounts[who]` registers an iDAO, bonds
    /// `stake` (if any) and registers consensus key `seed`. Returns the new ids. Each account
    /// may appear once.
    fn setup(&mut self, specs: &[(usize, U256, u64)]) -> Vec<u64> {
        let first_id = self.view(IIdaoRegistry::idaoCountCall {}).to::<u64>() + 1;
        let mut txs = Vec::new();
        let mut ids = Vec::new();
        for (id, &(who, stake, seed)) in (first_id..).zip(specs) {
            let s = &self.accounts[who];
            let owner = s.address();
            let key = consensus_key(seed);
            let mut calls = vec![(
                IIdaoRegistry::registerIdao_0Call {
                    name: format!("v{who}"),
                    metadataUri: String::new(),
                }
                .abi_encode(),
                U256::ZERO,
            )];
            if !stake.is_zero() {
                calls.push((
                    IIdaoRegistry::bondCall {
                        idaoId: U256::from(id),
                    }
                    .abi_encode(),
                    stake,
                ));
            }
            calls.push((
                self.key_call(id, &key, possession(&key, id, owner))
                    .abi_encode(),
                U256::ZERO,
            ));
            for (nonce, (input, value)) in (self.state.nonce(&owner)..).zip(calls) {
                let mut t = Tx::call(nonce, IDAO_REGISTRY_ADDRESS, input);
                t.value = value;
                t.gas = 1_000_000;
                txs.push(t.eip1559(s));
            }
            ids.push(id);
        }
        let receipts = self.block(txs, vec![]);
        for r in &receipts {
            assert!(r.success, "setup reverted: {}", r.output);
        }
        ids
    }

    fn validator(&mut self, who: usize, stake: U256, seed: u64) -> u64 {
        self.setup(&[(who, stake, seed)])[0]
    }

    /// The first epoch-closing height after the current one.
    fn next_boundary(&self) -> u64 {
        let l = self.ledger.staking.epoch_length;
        let h = self.height + 1;
        h + (l - 1 - h % l)
    }

    fn set_ids(&self) -> (u64, Vec<u64>) {
        let (epoch, set) = validator_set(&self.state);
        (epoch, set.iter().map(|v| v.idao_id.to::<u64>()).collect())
    }
}

#[test]
fn genesis_registers_validators_as_idaos_and_elects_epoch_zero() {
    let net = Net::new(params());
    let (epoch, set) = validator_set(&net.state);
    assert_eq!(epoch, 0);
    assert_eq!(
        set,
        vec![ActiveValidator {
            idao_id: U256::from(1),
            owner: net.accounts[9].address(),
            consensus_key: public(&consensus_key(1000)),
            p2p_address: "10.0.0.1:30303".into(),
            stake: lazai(100),
        }]
    );
    let idao = net.idao(1);
    assert_eq!(idao.name, "genesis-0");
    assert_eq!(idao.roles, ROLE_COMPUTE);
    assert_eq!(idao.bonded, lazai(100));
    assert!(!idao.jailed);
    assert_eq!(net.view(IIdaoRegistry::idaoCountCall {}), U256::from(1));
    assert_eq!(
        lazai_ledger::staking::idao_of_consensus_key(&net.state, &public(&consensus_key(1000))),
        Some(U256::from(1))
    );
    assert_eq!(
        lazai_ledger::staking::idao_of_consensus_key(&net.state, &[9; 32]),
        None
    );
    assert_eq!(net.state.balance(&IDAO_REGISTRY_ADDRESS), lazai(100));
    assert_eq!(net.supply(), lazai(10 * 1000 + 100));
    // The view returns the same set.
    let view = net.view(IIdaoRegistry::validatorSetCall {});
    assert_eq!(view.epoch, U256::ZERO);
    assert_eq!(view.validators.len(), 1);
    assert_eq!(view.validators[0].stake, lazai(100));
    assert_eq!(net.view(IIdaoRegistry::epochLengthCall {}), U256::from(4));
    assert_eq!(net.view(IIdaoRegistry::currentEpochCall {}), U256::ZERO);
}

#[test]
fn genesis_owner_defaults_to_fee_recipient_and_state_is_deterministic() {
    let g = |owner| {
        let mut genesis = Genesis {
            chain_id: CHAIN_ID,
            timestamp_ms: 0,
            gas_limit: 30_000_000,
            initial_base_fee: BASE_FEE,
            min_base_fee: BASE_FEE,
            governance: Address::ZERO,
            validators: vec![],
            alloc: vec![],
            staking: params(),
            dev_tee: false,
            dev_zk_setups: false,
            calls: Vec::new(),
        };
        for seed in [1u64, 2, 3] {
            genesis.validators.push(GenesisValidator {
                name: format!("g{seed}"),
                consensus_key: alloy_primitives::hex::encode(public(&consensus_key(seed))),
                fee_recipient: Address::repeat_byte(seed as u8),
                p2p_addr: None,
                stake: lazai(10 * seed),
                owner,
            });
        }
        genesis.validate().expect("valid");
        genesis
    };
    let state = genesis_state(&g(None)).expect("valid genesis");
    assert_eq!(
        state.root(),
        genesis_state(&g(None)).expect("valid genesis").root()
    );
    assert_ne!(
        state.root(),
        genesis_state(&g(Some(Address::ZERO)))
            .expect("valid genesis")
            .root()
    );
    let (epoch, set) = validator_set(&state);
    assert_eq!(epoch, 0);
    // K = 2 of three, by stake.
    let ids: Vec<_> = set.iter().map(|v| v.idao_id.to::<u64>()).collect();
    assert_eq!(ids, vec![3, 2]);
    assert_eq!(set[0].owner, Address::repeat_byte(3));
    assert_eq!(set[0].p2p_address, "");
    assert_eq!(state.balance(&IDAO_REGISTRY_ADDRESS), lazai(60));
}

#[test]
fn election_at_the_boundary_takes_the_top_k_by_stake_then_id() {
    let mut net = Net::new(params());
    let supply = net.supply();
    // Block 1: alice (iDAO 2) ties with the genesis validator, bob (3) leads, carol (4) is
    // below the minimum.
    let ids = net.setup(&[(0, lazai(100), 1), (1, lazai(200), 2), (2, lazai(5), 3)]);
    let (alice, bob) = (ids[0], ids[1]);
    assert_eq!(ids, vec![2, 3, 4]);
    assert_eq!(net.next_boundary(), 3);
    // The set changes only after the last block of the epoch.
    net.empty_blocks_until(2);
    assert_eq!(net.set_ids(), (0, vec![1]), "still the genesis set");
    net.empty_blocks_until(3);
    assert_eq!(
        net.set_ids(),
        (1, vec![bob, 1]),
        "top 2 by stake; the tie goes to the lower id"
    );
    let (_, set) = validator_set(&net.state);
    assert_eq!(set[0].owner, net.accounts[1].address());
    assert_eq!(set[0].stake, lazai(200));
    assert_eq!(set[0].p2p_address, "10.0.0.3:30303");
    assert_eq!(set[0].consensus_key, public(&consensus_key(2)));
    let view = net.view(IIdaoRegistry::validatorSetCall {});
    assert_eq!(view.epoch, U256::from(1));
    assert_eq!(view.validators.len(), 2);
    assert_eq!(
        net.view(IIdaoRegistry::currentEpochCall {}),
        U256::from(1),
        "the pending block is the first of the new epoch"
    );
    // Bonding more moves alice ahead at the next boundary, not before.
    net.bond(0, alice, lazai(150));
    net.empty_blocks_until(6);
    assert_eq!(net.set_ids(), (1, vec![bob, 1]));
    net.empty_blocks_until(7);
    assert_eq!(net.set_ids(), (2, vec![alice, bob]));
    assert_eq!(net.supply(), supply);
}

#[test]
fn a_larger_max_validators_takes_everyone_eligible() {
    let mut net = Net::new(StakingParams {
        max_validators: 100,
        ..params()
    });
    let specs: Vec<_> = (0..5)
        .map(|who| (who, lazai(10 + who as u64), 10 + who as u64))
        .collect();
    net.setup(&specs);
    // One without a key and one with too little stake are not candidates.
    let keyless = net.register(5, "keyless");
    net.bond(5, keyless, lazai(500));
    net.validator(6, lazai(9), 77);
    net.empty_blocks_until(net.next_boundary());
    assert_eq!(net.set_ids().1, vec![1, 6, 5, 4, 3, 2]);
}

#[test]
fn unbonded_stake_leaves_the_next_set_and_is_withdrawable_after_the_delay() {
    let mut net = Net::new(params());
    let supply = net.supply();
    let ids = net.setup(&[(0, lazai(100), 1), (1, lazai(200), 2)]);
    let (alice, bob) = (ids[0], ids[1]);
    net.empty_blocks_until(net.next_boundary());
    assert_eq!(net.set_ids(), (1, vec![bob, 1]));
    let unbond = |amount| IIdaoRegistry::unbondCall {
        idaoId: U256::from(bob),
        amount,
    };
    let withdraw = || IIdaoRegistry::withdrawUnbondedCall {
        idaoId: U256::from(bob),
    };

    // Bob unbonds all but 5 LAZAI (below the minimum), in two steps.
    let r = net.ok(1, unbond(lazai(150)), U256::ZERO);
    let first_release = net.height + 6;
    let started = IIdaoRegistry::UnbondingStarted::decode_log_data(&r.logs[0].data).expect("log");
    assert_eq!(started.releaseHeight, first_release);
    assert_eq!(started.amount, lazai(150));
    net.ok(1, unbond(lazai(45)), U256::ZERO);
    let stake = net.view(IIdaoRegistry::stakeOfCall {
        idaoId: U256::from(bob),
    });
    assert_eq!((stake.bonded, stake.unbonding), (lazai(5), lazai(195)));
    let entries = net.view(IIdaoRegistry::getUnbondingsCall {
        idaoId: U256::from(bob),
    });
    assert_eq!(entries.len(), 2);
    assert_eq!(entries[1].releaseHeight, first_release + 1);
    assert_eq!(
        net.set_ids(),
        (1, vec![bob, 1]),
        "unchanged until the boundary"
    );

    net.empty_blocks_until(net.next_boundary());
    assert_eq!(net.set_ids(), (2, vec![1, alice]), "bob is out");
    let e: IIdaoRegistry::InsufficientBond = net.fails(1, unbond(lazai(6)), U256::ZERO);
    assert_eq!((e.bonded, e.requested), (lazai(5), lazai(6)));

    // Before the delay: nothing to withdraw.
    assert!(net.height + 1 < first_release);
    let _: IIdaoRegistry::NothingToWithdraw = net.fails(1, withdraw(), U256::ZERO);
    // Exactly at the first release height only the first entry is paid.
    net.empty_blocks_until(first_release - 1);
    let before = net.state.balance(&net.accounts[1].address());
    let r = net.ok(1, withdraw(), U256::ZERO);
    assert_eq!(net.height, first_release);
    let paid = IIdaoRegistry::withdrawUnbondedCall::abi_decode_returns(&r.output).expect("amount");
    assert_eq!(paid, lazai(150));
    let fee = U256::from(r.gas_used) * U256::from(r.effective_gas_price);
    assert_eq!(
        net.state.balance(&net.accounts[1].address()),
        before + lazai(150) - fee
    );
    let withdrawn =
        IIdaoRegistry::UnbondedWithdrawn::decode_log_data(&r.logs[0].data).expect("log");
    assert_eq!(withdrawn.amount, lazai(150));
    let stake = net.view(IIdaoRegistry::stakeOfCall {
        idaoId: U256::from(bob),
    });
    assert_eq!((stake.bonded, stake.unbonding), (lazai(5), lazai(45)));
    // The next block releases the second.
    let r = net.ok(1, withdraw(), U256::ZERO);
    assert_eq!(
        IIdaoRegistry::withdrawUnbondedCall::abi_decode_returns(&r.output).expect("amount"),
        lazai(45)
    );
    let stake = net.view(IIdaoRegistry::stakeOfCall {
        idaoId: U256::from(bob),
    });
    assert_eq!((stake.bonded, stake.unbonding), (lazai(5), U256::ZERO));
    let _: IIdaoRegistry::NothingToWithdraw = net.fails(1, withdraw(), U256::ZERO);
    let _: IIdaoRegistry::ZeroAmount = net.fails(1, unbond(U256::ZERO), U256::ZERO);
    assert_eq!(
        net.state.balance(&IDAO_REGISTRY_ADDRESS),
        lazai(100 + 100 + 5)
    );
    assert_eq!(net.supply(), supply);
}

#[test]
fn at_most_sixteen_pending_unbondings() {
    let mut net = Net::new(params());
    let id = net.validator(0, lazai(100), 1);
    let unbond = || IIdaoRegistry::unbondCall {
        idaoId: U256::from(id),
        amount: lazai(1),
    };
    let txs: Vec<_> = (0..MAX_UNBONDINGS as u64)
        .map(|i| {
            let s = &net.accounts[0];
            let mut t = Tx::call(
                net.state.nonce(&s.address()) + i,
                IDAO_REGISTRY_ADDRESS,
                unbond().abi_encode(),
            );
            t.gas = 1_000_000;
            t.eip1559(s)
        })
        .collect();
    let receipts = net.block(txs, vec![]);
    assert!(receipts.iter().all(|r| r.success));
    let e: IIdaoRegistry::TooManyUnbondings = net.fails(0, unbond(), U256::ZERO);
    assert_eq!(e.max, U256::from(16));
}

#[test]
fn registration_and_ownership_reverts() {
    let mut net = Net::new(params());
    let alice = net.register(0, "alice");
    let bob = net.register(1, "bob");
    let (ka, kb) = (consensus_key(1), consensus_key(2));
    let alice_addr = net.accounts[0].address();
    let bob_addr = net.accounts[1].address();

    // Bad signatures: by another key, over another owner, another iDAO, garbage, short.
    for sig in [
        possession(&kb, alice, alice_addr),
        possession(&ka, alice, bob_addr),
        possession(&ka, bob, alice_addr),
        vec![0u8; 64],
        possession(&ka, alice, alice_addr)[..63].to_vec(),
        Vec::new(),
    ] {
        let call = net.key_call(alice, &ka, sig);
        let _: IIdaoRegistry::InvalidConsensusKeySignature = net.fails(0, call, U256::ZERO);
    }
    // A signature for another chain id.
    let msg = consensus_key_message(CHAIN_ID + 1, U256::from(alice), alice_addr, &public(&ka));
    let other_chain = ka.sign(CONSENSUS_KEY_NAMESPACE, &msg).as_ref().to_vec();
    let call = net.key_call(alice, &ka, other_chain);
    let _: IIdaoRegistry::InvalidConsensusKeySignature = net.fails(0, call, U256::ZERO);
    // A zero key is never valid.
    let mut call = net.key_call(alice, &ka, vec![0; 64]);
    call.consensusKey = B256::ZERO;
    let _: IIdaoRegistry::InvalidConsensusKeySignature = net.fails(0, call, U256::ZERO);
    // Bad p2p addresses.
    for addr in [
        "",
        "nohost",
        "host:0",
        "host:99999",
        "host:port",
        &"a".repeat(129),
    ] {
        let mut call = net.key_call(alice, &ka, possession(&ka, alice, alice_addr));
        call.p2pAddress = addr.to_string();
        let _: IIdaoRegistry::InvalidP2pAddress = net.fails(0, call, U256::ZERO);
    }
    // Not the owner.
    let call = net.key_call(alice, &ka, possession(&ka, alice, alice_addr));
    let e: IIdaoRegistry::NotIdaoOwner = net.fails(1, call, U256::ZERO);
    assert_eq!((e.idaoId, e.caller), (U256::from(alice), bob_addr));

    // Success, with its event.
    let call = net.key_call(alice, &ka, possession(&ka, alice, alice_addr));
    let r = net.ok(0, call, U256::ZERO);
    let log = IIdaoRegistry::ConsensusKeyRegistered::decode_log_data(&r.logs[0].data).expect("log");
    assert_eq!(log.consensusKey, B256::from(public(&ka)));
    assert_eq!(log.p2pAddress, format!("10.0.0.{alice}:30303"));
    assert_eq!(net.idao(alice).consensusKey, B256::from(public(&ka)));

    // Twice on the same iDAO, even with another key.
    let call = net.key_call(alice, &kb, possession(&kb, alice, alice_addr));
    let e: IIdaoRegistry::ConsensusKeyAlreadySet = net.fails(0, call, U256::ZERO);
    assert_eq!(e.idaoId, U256::from(alice));
    // The same key on another iDAO.
    let call = net.key_call(bob, &ka, possession(&ka, bob, bob_addr));
    let e: IIdaoRegistry::ConsensusKeyTaken = net.fails(1, call, U256::ZERO);
    assert_eq!(
        (e.key, e.holder),
        (B256::from(public(&ka)), U256::from(alice))
    );
    // The genesis validator's key is taken too.
    let kg = consensus_key(1000);
    let call = net.key_call(bob, &kg, possession(&kg, bob, bob_addr));
    let e: IIdaoRegistry::ConsensusKeyTaken = net.fails(1, call, U256::ZERO);
    assert_eq!(e.holder, U256::from(1));

    // setP2pAddress: owner only, validated.
    let set = |addr: &str| IIdaoRegistry::setP2pAddressCall {
        idaoId: U256::from(alice),
        p2pAddress: addr.into(),
    };
    let _: IIdaoRegistry::NotIdaoOwner = net.fails(1, set("h:1"), U256::ZERO);
    let _: IIdaoRegistry::InvalidP2pAddress = net.fails(0, set("h:"), U256::ZERO);
    net.ok(0, set("node.example:4000"), U256::ZERO);
    assert_eq!(net.idao(alice).p2pAddress, "node.example:4000");

    // Stake calls by a non-owner.
    let e: IIdaoRegistry::NotIdaoOwner = net.fails(
        1,
        IIdaoRegistry::bondCall {
            idaoId: U256::from(alice),
        },
        lazai(1),
    );
    assert_eq!(e.caller, bob_addr);
    net.bond(0, alice, lazai(20));
    let _: IIdaoRegistry::NotIdaoOwner = net.fails(
        1,
        IIdaoRegistry::unbondCall {
            idaoId: U256::from(alice),
            amount: lazai(1),
        },
        U256::ZERO,
    );
    let _: IIdaoRegistry::NotIdaoOwner = net.fails(
        1,
        IIdaoRegistry::withdrawUnbondedCall {
            idaoId: U256::from(alice),
        },
        U256::ZERO,
    );
    let _: IIdaoRegistry::NotIdaoOwner = net.fails(
        1,
        IIdaoRegistry::setRolesCall {
            idaoId: U256::from(alice),
            roles: 1,
        },
        U256::ZERO,
    );
    let e: IIdaoRegistry::IdaoNotFound = net.fails(
        0,
        IIdaoRegistry::bondCall {
            idaoId: U256::from(99),
        },
        lazai(1),
    );
    assert_eq!(e.idaoId, U256::from(99));
}

#[test]
fn bonding_needs_value_and_funds() {
    let mut net = Net::new(params());
    let id = net.register(0, "alice");
    let registry_before = net.state.balance(&IDAO_REGISTRY_ADDRESS);
    let _: IIdaoRegistry::ZeroAmount = net.fails(
        0,
        IIdaoRegistry::bondCall {
            idaoId: U256::from(id),
        },
        U256::ZERO,
    );
    // More than the sender has: the transaction itself is refused.
    let raw = net.tx(
        0,
        IIdaoRegistry::bondCall {
            idaoId: U256::from(id),
        }
        .abi_encode(),
        lazai(1001),
    );
    let tx = Arc::new(recover(&raw));
    let env = net.env(vec![]);
    let mut scratch = net.state.clone();
    let err = net
        .ledger
        .apply(&mut scratch, &env, &tx, 0)
        .expect_err("refused");
    assert!(matches!(err, TxError::InsufficientFunds { .. }), "{err}");
    let (built, skipped) = net.ledger.build_block(&net.state, &env, vec![tx]);
    assert!(built.transactions.is_empty());
    assert!(matches!(skipped[0].1, TxError::InsufficientFunds { .. }));

    // A successful bond keeps the value in the registry and logs it.
    let r = net.bond(0, id, lazai(7));
    let log = IIdaoRegistry::StakeBonded::decode_log_data(&r.logs[0].data).expect("log");
    assert_eq!((log.amount, log.bonded), (lazai(7), lazai(7)));
    net.bond(0, id, lazai(3));
    assert_eq!(net.idao(id).bonded, lazai(10));
    assert_eq!(
        net.state.balance(&IDAO_REGISTRY_ADDRESS),
        registry_before + lazai(10)
    );
    // Every other function refuses value (and the value goes back).
    let before = net.state.balance(&net.accounts[0].address());
    let r = net.send(
        0,
        IIdaoRegistry::setRolesCall {
            idaoId: U256::from(id),
            roles: 1,
        },
        lazai(1),
    );
    assert!(!r.success);
    let fee = U256::from(r.gas_used) * U256::from(r.effective_gas_price);
    assert_eq!(net.state.balance(&net.accounts[0].address()), before - fee);
}

#[test]
fn roles_are_a_four_bit_mask() {
    let mut net = Net::new(params());
    let r = net.ok(
        0,
        IIdaoRegistry::registerIdao_1Call {
            name: "team".into(),
            metadataUri: "ipfs://x".into(),
            roles: ROLE_DATA | ROLE_MODEL,
        },
        U256::ZERO,
    );
    assert_eq!(r.logs.len(), 2);
    let id = IIdaoRegistry::registerIdao_1Call::abi_decode_returns(&r.output).expect("id");
    assert_eq!(net.idao(id.to()).roles, 3);
    let e: IIdaoRegistry::InvalidRoles = net.fails(
        0,
        IIdaoRegistry::registerIdao_1Call {
            name: "bad".into(),
            metadataUri: String::new(),
            roles: 16,
        },
        U256::ZERO,
    );
    assert_eq!(e.roles, 16);
    let r = net.ok(
        0,
        IIdaoRegistry::setRolesCall {
            idaoId: id,
            roles: 15,
        },
        U256::ZERO,
    );
    let log = IIdaoRegistry::RolesUpdated::decode_log_data(&r.logs[0].data).expect("log");
    assert_eq!((log.idaoId, log.roles), (id, 15));
    let _: IIdaoRegistry::InvalidRoles = net.fails(
        0,
        IIdaoRegistry::setRolesCall {
            idaoId: id,
            roles: 0x80,
        },
        U256::ZERO,
    );
    assert_eq!(net.idao(id.to()).roles, 15);
}

#[test]
fn equivocation_slashes_burns_exactly_and_jails() {
    // 75% so the slash reaches into unbonding entries.
    let mut net = Net::new(StakingParams {
        slash_bps: 7_500,
        ..params()
    });
    let supply = net.supply();
    let odd = lazai(20) + U256::from(3);
    let bob = net.validator(1, odd, 2);
    net.ok(
        1,
        IIdaoRegistry::unbondCall {
            idaoId: U256::from(bob),
            amount: lazai(10),
        },
        U256::ZERO,
    );
    net.ok(
        1,
        IIdaoRegistry::unbondCall {
            idaoId: U256::from(bob),
            amount: lazai(5),
        },
        U256::ZERO,
    );
    // bonded 5 LAZAI + 3 wei, unbonding [10, 5] LAZAI.
    let burned = net.state.burned();
    let registry = net.state.balance(&IDAO_REGISTRY_ADDRESS);
    let key = public(&consensus_key(2));
    let evidence = Equivocation {
        consensus_key: key,
        epoch: 3,
        view: 41,
        kind: EQUIVOCATION_CONFLICTING_NOTARIZE,
    };
    let unknown = Equivocation {
        consensus_key: [0x55; 32],
        ..evidence.clone()
    };
    net.block(vec![], vec![unknown.clone(), evidence.clone()]);
    let total = odd; // bonded + unbonding
    let slash = total * U256::from(7_500) / U256::from(10_000);
    assert_eq!(
        slash,
        lazai(15) + U256::from(2),
        "the odd wei is not slashed"
    );
    assert_eq!(
        net.state.burned(),
        burned + slash,
        "no fees in an empty block"
    );
    assert_eq!(net.state.balance(&IDAO_REGISTRY_ADDRESS), registry - slash);
    assert_eq!(net.supply(), supply);
    let idao = net.idao(bob);
    assert!(idao.jailed);
    assert_eq!(idao.bonded, U256::ZERO, "bonded stake goes first");
    assert_eq!(idao.unbonding, total - slash);
    let entries = net.view(IIdaoRegistry::getUnbondingsCall {
        idaoId: U256::from(bob),
    });
    // 5 LAZAI + 3 wei from bonded, then 10 LAZAI - 1 wei of the oldest entry.
    assert_eq!(entries.len(), 2, "the oldest entry is used first");
    assert_eq!(entries[0].amount, U256::from(1));
    assert_eq!(entries[1].amount, lazai(5));
    assert_eq!(
        net.view(IIdaoRegistry::evidenceCountCall {}),
        U256::from(1),
        "the unknown key was skipped"
    );
    let recorded = net.view(IIdaoRegistry::getEvidenceCall { index: U256::ZERO });
    assert_eq!(recorded.consensusKey, B256::from(key));
    assert_eq!(recorded.idaoId, U256::from(bob));
    assert_eq!((recorded.epoch, recorded.view), (3, 41));
    assert_eq!(recorded.kind, EQUIVOCATION_CONFLICTING_NOTARIZE);
    assert_eq!(recorded.slashed, slash);
    assert_eq!(recorded.height, net.height);
    let out = net.view_revert(IIdaoRegistry::getEvidenceCall {
        index: U256::from(1),
    });
    assert_eq!(
        IIdaoRegistry::EvidenceNotFound::abi_decode(&out)
            .expect("custom error")
            .index,
        U256::from(1)
    );

    // The same (key, epoch, view) again, whatever its kind: a no-op. Another view slashes again.
    let again = Equivocation {
        kind: EQUIVOCATION_NULLIFY_FINALIZE,
        ..evidence.clone()
    };
    let bad_kind = Equivocation {
        view: 99,
        kind: 3,
        ..evidence.clone()
    };
    let with = net
        .ledger
        .execute_block(&net.state, &net.env(vec![again, bad_kind, unknown]), vec![])
        .expect("valid");
    let without = net
        .ledger
        .execute_block(&net.state, &net.env(vec![]), vec![])
        .expect("valid");
    assert_eq!(
        with.state_root, without.state_root,
        "duplicates, bad kinds and unknown keys change nothing"
    );
    assert_eq!(with.changes, without.changes);
    let second = Equivocation {
        view: 42,
        kind: EQUIVOCATION_CONFLICTING_FINALIZE,
        ..evidence.clone()
    };
    let before = net.idao(bob).unbonding;
    net.block(vec![], vec![second]);
    let slash2 = before * U256::from(7_500) / U256::from(10_000);
    assert_eq!(net.idao(bob).unbonding, before - slash2);
    assert_eq!(net.view(IIdaoRegistry::evidenceCountCall {}), U256::from(2));
    assert_eq!(net.supply(), supply);

    // Jailed: never elected, cannot bond, can still withdraw what is left.
    net.empty_blocks_until(net.next_boundary());
    assert_eq!(net.set_ids().1, vec![1]);
    let e: IIdaoRegistry::IdaoJailed = net.fails(
        1,
        IIdaoRegistry::bondCall {
            idaoId: U256::from(bob),
        },
        lazai(100),
    );
    assert_eq!(e.idaoId, U256::from(bob));
    net.empty_blocks_until(net.height + 6);
    let left = net.idao(bob).unbonding;
    let r = net.ok(
        1,
        IIdaoRegistry::withdrawUnbondedCall {
            idaoId: U256::from(bob),
        },
        U256::ZERO,
    );
    assert_eq!(
        IIdaoRegistry::withdrawUnbondedCall::abi_decode_returns(&r.output).expect("amount"),
        left
    );
    assert_eq!(net.state.balance(&IDAO_REGISTRY_ADDRESS), lazai(100));
    assert_eq!(net.supply(), supply);
}

#[test]
fn with_no_candidate_the_previous_set_is_kept() {
    let mut net = Net::new(params());
    // The only validator equivocates in block 1 and is jailed.
    net.block(
        vec![],
        vec![Equivocation {
            consensus_key: public(&consensus_key(1000)),
            epoch: 0,
            view: 1,
            kind: EQUIVOCATION_CONFLICTING_FINALIZE,
        }],
    );
    assert!(net.idao(1).jailed);
    assert_eq!(net.idao(1).bonded, lazai(90));
    net.empty_blocks_until(3);
    let (epoch, set) = validator_set(&net.state);
    assert_eq!(epoch, 1, "the kept set is stored for the next epoch");
    assert_eq!(set.len(), 1);
    assert_eq!(set[0].idao_id, U256::from(1));
    assert_eq!(set[0].stake, lazai(100), "kept verbatim");
    // A qualified candidate replaces it at the next boundary.
    let alice = net.validator(0, lazai(10), 1);
    let boundary = net.next_boundary();
    net.empty_blocks_until(boundary);
    assert_eq!(net.set_ids(), (boundary / 4 + 1, vec![alice]));
}

#[test]
fn build_and_execute_agree_at_a_boundary_with_evidence_and_transactions() {
    let mut net = Net::new(params());
    let ids = net.setup(&[(0, lazai(50), 1), (1, lazai(60), 2)]);
    let (alice, bob) = (ids[0], ids[1]);
    let carol = net.register(2, "carol");
    let boundary = net.next_boundary();
    net.empty_blocks_until(boundary - 1);
    // The boundary block carries evidence against bob, carol's bond and key, and an unbond by
    // alice: the election sees all of them.
    let key = consensus_key(3);
    let carol_addr = net.accounts[2].address();
    let register_key = {
        let s = &net.accounts[2];
        let call = net.key_call(carol, &key, possession(&key, carol, carol_addr));
        let mut t = Tx::call(
            net.state.nonce(&s.address()) + 1,
            IDAO_REGISTRY_ADDRESS,
            call.abi_encode(),
        );
        t.gas = 1_000_000;
        t.eip1559(s)
    };
    let txs = vec![
        net.tx(
            2,
            IIdaoRegistry::bondCall {
                idaoId: U256::from(carol),
            }
            .abi_encode(),
            lazai(70),
        ),
        register_key,
        net.tx(
            0,
            IIdaoRegistry::unbondCall {
                idaoId: U256::from(alice),
                amount: lazai(45),
            }
            .abi_encode(),
            U256::ZERO,
        ),
    ];
    let supply = net.supply();
    // `Net::block` asserts that build_block and execute_block agree on root and write set.
    let receipts = net.block(
        txs,
        vec![Equivocation {
            consensus_key: public(&consensus_key(2)),
            epoch: boundary / 4,
            view: 7,
            kind: EQUIVOCATION_CONFLICTING_NOTARIZE,
        }],
    );
    assert_eq!(net.height, boundary);
    assert!(receipts.iter().all(|r| r.success));
    assert_eq!(net.supply(), supply);
    assert!(net.idao(bob).jailed);
    // bob is jailed and alice below the minimum: the genesis validator and carol.
    assert_eq!(net.set_ids(), (boundary / 4 + 1, vec![1, carol]));
}
