//! End to end on the real ledger: a validator that signs conflicting votes is caught by the
//! honest validators, the evidence is finalized in a block, the registry records it, jails the
//! validator's iDAO and burns part of its stake, and from the next epoch consensus runs without
//! it. Deterministic runtime and simulated network, three honest `Chain`s.

use alloy::sol_types::SolCall;
use alloy_primitives::{Address, U256};
use commonware_consensus::simplex::mocks::conflicter::{Config as ConflicterConfig, Conflicter};
use commonware_cryptography::Sha256;
use commonware_p2p::{
    simulated::{self, Link, Network},
    utils::mux::Muxer,
};
use commonware_runtime::{Clock as _, Runner as _, Spawner as _, Supervisor as _, deterministic};
use commonware_utils::{NZUsize, ordered::Set};
use lazai_consensus::{
    Engine, EngineConfig, Executor, SigningScheme, devnet_key, keys, max_message_size,
    register_simulated, run_simulated,
};
use lazai_node::{Chain, ChainConfig, Mempool, MempoolConfig, NodeApi, devnet_genesis};
use lazai_rpc::{CallRequest, ChainApi};
use lazai_types::{DEVNET_CHAIN_ID, lazai};
use std::{num::NonZeroU64, sync::Arc, time::Duration};

alloy::sol! {
    struct Idao { uint256 id; address owner; string name; string metadataUri; uint8 roles; bytes32 consensusKey; string p2pAddress; uint256 bonded; uint256 unbonding; bool jailed; }
    struct Evidence { bytes32 consensusKey; uint256 idaoId; uint64 epoch; uint64 view; uint8 kind; uint256 slashed; uint64 height; }
    function getIdao(uint256 idaoId) external view returns (Idao memory);
    function evidenceCount() external view returns (uint256);
    function getEvidence(uint256 index) external view returns (Evidence memory);
}

const REGISTRY: Address = alloy_primitives::address!("0xEA30BA91F4DB33Ef0360Fc04d8E201954474dbD1");
const EPOCH_LENGTH: u64 = 10;

fn call(api: &NodeApi, input: Vec<u8>) -> Vec<u8> {
    let outcome = api
        .call(
            &CallRequest {
                from: None,
                to: Some(REGISTRY),
                value: None,
                input: input.into(),
                gas: None,
                ..Default::default()
            },
            lazai_rpc::StateAt::Head,
        )
        .expect("call");
    assert!(outcome.success, "registry call reverted");
    outcome.output.to_vec()
}

#[test]
fn equivocation_is_recorded_slashed_and_removes_the_validator() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut genesis = devnet_genesis(
        DEVNET_CHAIN_ID,
        4,
        &[Address::repeat_byte(1)],
        lazai(10),
        30_000_000,
    );
    // The deterministic runtime's clock starts at the Unix epoch.
    genesis.timestamp_ms = 0;
    genesis.staking.epoch_length = EPOCH_LENGTH;
    genesis.staking.unbonding_delay = EPOCH_LENGTH;
    let participants = keys::genesis_participants(&genesis).expect("keys");
    let byzantine = participants[3].clone();
    let chains: Vec<Chain> = (0..3)
        .map(|i| {
            Chain::open(
                ChainConfig {
                    genesis: genesis.clone(),
                    db_path: dir.path().join(format!("chain-{i}.redb")),
                    max_block_txs: 1000,
                    max_block_tx_bytes: 1 << 20,
                    history: lazai_storage::DEFAULT_HISTORY,
                    db_cache_bytes: lazai_storage::DEFAULT_CACHE_BYTES,
                },
                Arc::new(Mempool::new(MempoolConfig::default())),
            )
            .expect("open chain")
        })
        .collect();

    let runner = deterministic::Runner::new(
        deterministic::Config::default()
            .with_seed(5)
            .with_timeout(Some(Duration::from_secs(600))),
    );
    let config = genesis.clone();
    let executors = chains.clone();
    let attacker = byzantine.clone();
    runner.start(|context| async move {
        let (network, oracle) = Network::new_with_peers(
            context.child("network"),
            simulated::Config {
                max_size: max_message_size(4, 1 << 20),
                max_peers_per_set: NZUsize!(8),
                disconnect_on_block: true,
                tracked_peer_sets: NZUsize!(3),
            },
            participants.clone(),
        )
        .await;
        network.start();
        let link = Link {
            latency: Duration::from_millis(20),
            jitter: Duration::from_millis(5),
            success_rate: commonware_utils::probability!(1.0),
        };
        for a in &participants {
            for b in participants.iter().filter(|b| *b != a) {
                oracle
                    .add_link(a.clone(), b.clone(), link.clone())
                    .await
                    .expect("link");
            }
        }
        for (i, chain) in executors.iter().enumerate() {
            let mut engine_config = EngineConfig::new(
                devnet_key(i),
                config.validators[i].fee_recipient,
                participants.clone(),
                DEVNET_CHAIN_ID,
            );
            engine_config.partition_prefix = format!("v{i}");
            engine_config.block_time = Duration::from_millis(200);
            engine_config.max_block_bytes = 1 << 20;
            engine_config.epoch_length = NonZeroU64::new(EPOCH_LENGTH);
            let engine = Engine::new(engine_config, chain.clone()).expect("engine");
            let oracle = oracle.clone();
            context.child("validator").with_attribute("index", i).spawn(
                move |context| async move {
                    run_simulated(context, engine, &oracle)
                        .await
                        .expect("validator runs");
                },
            );
        }

        // Validator 3 signs a second, random proposal next to every vote it sees.
        let channels = register_simulated(&oracle, attacker)
            .await
            .expect("channels");
        let (mux, mut handle) =
            Muxer::new(context.child("mux"), channels.votes.0, channels.votes.1);
        mux.start();
        let epoch_zero = handle.register(0).await.expect("sub-channel");
        let scheme = SigningScheme::signer(
            &lazai_consensus::namespace(DEVNET_CHAIN_ID),
            Set::try_from(participants.clone()).expect("distinct"),
            devnet_key(3),
        )
        .expect("participant");
        Conflicter::<_, _, Sha256>::new(context.child("conflicter"), ConflicterConfig { scheme })
            .start(epoch_zero);

        // Run into epoch 2: the set elected at the end of epoch 0 or 1 excludes the jailed iDAO.
        while executors
            .iter()
            .any(|c| c.finalized_height() < 2 * EPOCH_LENGTH + 3)
        {
            context.sleep(Duration::from_millis(100)).await;
        }
    });

    let api = NodeApi::new(chains[0].clone(), Vec::new(), None);
    let count =
        evidenceCountCall::abi_decode_returns(&call(&api, evidenceCountCall {}.abi_encode()))
            .expect("decode");
    assert!(count >= U256::from(1), "no evidence recorded");
    let evidence = getEvidenceCall::abi_decode_returns(&call(
        &api,
        getEvidenceCall { index: U256::ZERO }.abi_encode(),
    ))
    .expect("decode");
    assert_eq!(evidence.consensusKey.as_slice(), byzantine.as_ref());
    assert_eq!(
        evidence.idaoId,
        U256::from(4),
        "genesis validator 3 is iDAO 4"
    );
    assert!(evidence.slashed > U256::ZERO);
    let idao = getIdaoCall::abi_decode_returns(&call(
        &api,
        getIdaoCall {
            idaoId: U256::from(4),
        }
        .abi_encode(),
    ))
    .expect("decode");
    assert!(idao.jailed);
    // Exactly what was slashed left the stake: nothing created or lost.
    let mut slashed = U256::ZERO;
    for index in 0..count.to::<u64>() {
        let item = getEvidenceCall::abi_decode_returns(&call(
            &api,
            getEvidenceCall {
                index: U256::from(index),
            }
            .abi_encode(),
        ))
        .expect("decode");
        assert_eq!(
            item.consensusKey.as_slice(),
            byzantine.as_ref(),
            "only validator 3 equivocated"
        );
        slashed += item.slashed;
    }
    assert_eq!(
        idao.bonded + idao.unbonding + slashed,
        lazai_types::DEFAULT_GENESIS_STAKE
    );

    // Consensus moved on without it, and every honest chain agrees.
    let set = chains[0].validator_set().expect("epochs");
    assert!(set.epoch >= 2);
    assert_eq!(set.validators.len(), 3);
    assert!(set.validators.iter().all(|v| v.key != byzantine));
    let apis: Vec<NodeApi> = chains
        .iter()
        .map(|c| NodeApi::new(c.clone(), Vec::new(), None))
        .collect();
    let height = chains
        .iter()
        .map(Chain::finalized_height)
        .min()
        .unwrap_or(0);
    assert!(height >= 2 * EPOCH_LENGTH + 3);
    for h in 1..=height {
        let hashes: Vec<_> = apis
            .iter()
            .map(|a| a.block_by_height(h).expect("finalized").hash())
            .collect();
        assert!(hashes.iter().all(|x| *x == hashes[0]), "height {h}");
    }
}
