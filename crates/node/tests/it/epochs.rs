//! Epochs on a running network: the validator set is re-elected from stake at every boundary
//! and consensus moves to it without a fork.

use crate::support::*;
use alloy::providers::Provider;
use alloy_primitives::{Address, U256};
use lazai_rpc::ChainApi;

/// Waits until every node has finalized `height`.
async fn all_reach(devnet: &lazai_node::Devnet, height: u64) {
    for _ in 0..1200 {
        if devnet.nodes.iter().all(|n| n.finalized_height() >= height) {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("not every node reached height {height}");
}

fn assert_same_chain(devnet: &lazai_node::Devnet, through: u64) {
    for h in 1..=through {
        let hashes: Vec<_> = devnet
            .nodes
            .iter()
            .map(|n| n.block_by_height(h).expect("finalized everywhere").hash())
            .collect();
        assert!(
            hashes.iter().all(|x| *x == hashes[0]),
            "height {h}: {hashes:?}"
        );
    }
}

#[test]
fn consensus_crosses_epoch_boundaries() {
    let dir = tempfile::tempdir().expect("tempdir");
    with_devnet_genesis(
        dir.path(),
        4,
        |g| {
            g.staking.epoch_length = 4;
            g.staking.unbonding_delay = 8;
        },
        |devnet| async move {
            let p = provider(&devnet, account(1));
            let receipt = transfer(&p, Address::repeat_byte(0x55), U256::from(7)).await;
            assert!(receipt.status());
            // Heights 0..=3 are epoch 0; 17 is in epoch 4.
            all_reach(&devnet, 17).await;
            assert_same_chain(&devnet, 17);
            let status = devnet.nodes[0].status();
            assert!(status.epoch >= 4, "epoch {}", status.epoch);
            assert_eq!(status.validators.len(), 4);
            assert!(status.validators.iter().all(|v| v.stake > U256::ZERO));
            // A transaction after several transitions still finalizes.
            let receipt = transfer(&p, Address::repeat_byte(0x55), U256::from(8)).await;
            assert!(receipt.status());
            let balance = p
                .get_balance(Address::repeat_byte(0x55))
                .await
                .expect("balance");
            assert_eq!(balance, U256::from(15));
        },
    );
}

alloy::sol! {
    #[sol(rpc)]
    #[derive(Debug)]
    interface IStaking {
        struct Validator { uint256 idaoId; address owner; bytes32 consensusKey; string p2pAddress; uint256 stake; }
        function registerIdao(string calldata name, string calldata metadataUri, uint8 roles) external returns (uint256 idaoId);
        function bond(uint256 idaoId) external payable;
        function unbond(uint256 idaoId, uint256 amount) external;
        function registerConsensusKey(uint256 idaoId, bytes32 consensusKey, string calldata p2pAddress, bytes calldata signature) external;
        function validatorSet() external view returns (uint256 epoch, Validator[] memory validators);
        event IdaoRegistered(uint256 indexed idaoId, address indexed owner, string name);
        error ZeroAmount();
        error InsufficientBond(uint256 bonded, uint256 requested);
        error ConsensusKeyAlreadySet(uint256 idaoId);
    }
}

#[test]
fn stake_elects_the_next_epochs_validators() {
    let dir = tempfile::tempdir().expect("tempdir");
    with_devnet_genesis(
        dir.path(),
        4,
        |g| {
            g.staking.epoch_length = 6;
            g.staking.unbonding_delay = 12;
            g.staking.max_validators = 4;
        },
        |devnet| async move {
            let alice = account(2);
            let p = provider(&devnet, alice.clone());
            let registry = IStaking::new(
                alloy_primitives::address!("0xEA30BA91F4DB33Ef0360Fc04d8E201954474dbD1"),
                p.clone(),
            );
            let receipt = registry
                .registerIdao("newcomer".into(), "ipfs://newcomer".into(), 4)
                .send()
                .await
                .expect("send")
                .get_receipt()
                .await
                .expect("receipt");
            let id = receipt.inner.logs()[0]
                .log_decode::<IStaking::IdaoRegistered>()
                .expect("event")
                .inner
                .idaoId;

            // Reverts a user gets back with a reason.
            let zero = registry
                .bond(id)
                .value(U256::ZERO)
                .call()
                .await
                .expect_err("zero bond");
            assert!(
                zero.as_decoded_error::<IStaking::ZeroAmount>().is_some(),
                "{zero}"
            );
            let over = registry
                .unbond(id, U256::from(1))
                .call()
                .await
                .expect_err("unbond");
            assert!(
                over.as_decoded_error::<IStaking::InsufficientBond>()
                    .is_some(),
                "{over}"
            );

            // Outstake every genesis validator with a key that no running node holds.
            let stake = lazai_types::lazai(5_000);
            let receipt = registry
                .bond(id)
                .value(stake)
                .send()
                .await
                .expect("bond")
                .get_receipt()
                .await
                .expect("receipt");
            assert!(receipt.status());
            let newcomer = lazai_consensus::devnet_key(9);
            let key = lazai_consensus::keys::public_key(&newcomer);
            let key_bytes: [u8; 32] = key.as_ref().try_into().expect("32 bytes");
            let message = lazai_abi::consensus_key_message(
                lazai_types::DEVNET_CHAIN_ID,
                id,
                alice.address(),
                &key_bytes,
            );
            let signature = lazai_consensus::keys::sign(
                &newcomer,
                lazai_abi::CONSENSUS_KEY_NAMESPACE,
                &message,
            );
            let register = registry.registerConsensusKey(
                id,
                key_bytes.into(),
                "127.0.0.1:9".into(),
                signature.clone().into(),
            );
            let receipt = register
                .send()
                .await
                .expect("register key")
                .get_receipt()
                .await
                .expect("receipt");
            assert!(receipt.status());
            let again = registry
                .registerConsensusKey(id, key_bytes.into(), "127.0.0.1:9".into(), signature.into())
                .call()
                .await
                .expect_err("twice");
            assert!(
                again
                    .as_decoded_error::<IStaking::ConsensusKeyAlreadySet>()
                    .is_some(),
                "{again}"
            );

            // At the next boundary the newcomer replaces the lowest-ranked genesis validator
            // (equal stakes rank by iDAO id); three running validators of four keep finalizing.
            let registered_at = p.get_block_number().await.expect("height");
            let next_boundary = (registered_at / 6 + 1) * 6;
            all_reach(&devnet, next_boundary + 6).await;
            let (epoch, set) = {
                let r = registry.validatorSet().call().await.expect("validatorSet");
                (r.epoch, r.validators)
            };
            assert!(epoch >= U256::from(next_boundary / 6));
            assert_eq!(set.len(), 4);
            assert_eq!(set[0].idaoId, id, "highest stake ranks first");
            assert_eq!(set[0].stake, stake);
            assert!(
                !set.iter().any(|v| v.idaoId == U256::from(4)),
                "validator-3 left the set"
            );
            let status = devnet.nodes[0].status();
            let key_hex = lazai_consensus::keys::public_key_to_hex(&key);
            assert!(status.validators.iter().any(|v| v.consensus_key == key_hex));
            assert_eq!(status.validators.len(), 4);
            assert_same_chain(&devnet, next_boundary + 6);
        },
    );
}
