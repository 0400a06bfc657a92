//! A Byzantine validator that equivocates: it signs two different notarize (and finalize)
//! votes in every view it sees. Honest validators never finalize conflicting blocks, detect the
//! equivocation, verify it, and put the evidence in a finalized block for the chain to slash.

use crate::{
    assert_consistent, configs, init_logging,
    mock::{MockExecutor, network, runner, spawn_validator, wait_for},
};
use commonware_consensus::simplex::mocks::conflicter::{Config as ConflicterConfig, Conflicter};
use commonware_cryptography::Sha256;
use commonware_p2p::utils::mux::Muxer;
use commonware_runtime::{Runner, Spawner as _, Supervisor as _};
use commonware_utils::ordered::Set;
use lazai_consensus::{
    SigningScheme,
    evidence::{CONFLICTING_FINALIZE, CONFLICTING_NOTARIZE, Evidence},
    register_simulated,
};
use std::time::Duration;

#[test]
fn equivocating_validator_is_caught_and_evidence_is_finalized() {
    init_logging();
    let configs = configs(4, Duration::from_millis(200));
    let byzantine = configs[3].public_key();
    let executors: Vec<_> = (0..3).map(|_| MockExecutor::new()).collect();
    runner(11).start(|context| {
        let executors = executors.clone();
        let configs = configs.clone();
        let byzantine = byzantine.clone();
        async move {
            let oracle = network(&context, &configs[0].participants).await;
            for (i, config) in configs.iter().take(3).enumerate() {
                spawn_validator(&context, &oracle, i, config, &executors[i]);
            }

            // Validator 3 runs no engine: its vote channel (epoch 0's sub-channel) is driven by
            // a conflicter that signs a random proposal next to every one it sees.
            let channels = register_simulated(&oracle, byzantine.clone())
                .await
                .expect("channels");
            let (votes_sender, votes_receiver) = channels.votes;
            let (mux, mut handle) =
                Muxer::new(context.child("byzantine_mux"), votes_sender, votes_receiver);
            mux.start();
            let epoch_zero = handle.register(0).await.expect("sub-channel");
            let participants =
                Set::try_from(configs[0].participants.clone()).expect("distinct keys");
            let scheme = SigningScheme::signer(
                &configs[3].namespace(),
                participants,
                configs[3].signer.clone(),
            )
            .expect("a participant");
            Conflicter::<_, _, Sha256>::new(
                context.child("conflicter"),
                ConflicterConfig { scheme },
            )
            .start(epoch_zero);

            // Honest validators (3 of 4 is a quorum) keep finalizing, and evidence against
            // validator 3 lands in a finalized block.
            let mut target = 6;
            loop {
                wait_for(&context, &executors, target).await;
                let found = executors[0].blocks().iter().any(|b| !b.evidence.is_empty());
                if found || target > 60 {
                    break;
                }
                target += 6;
            }
        }
    });

    let finalized = assert_consistent(&executors);
    assert!(finalized >= 6, "honest validators kept finalizing");
    let evidence: Vec<Evidence> = executors[0]
        .blocks()
        .iter()
        .flat_map(|b| b.evidence.clone())
        .map(|item| Evidence::parse(&item).expect("well-formed evidence"))
        .collect();
    assert!(
        !evidence.is_empty(),
        "no equivocation evidence was finalized"
    );
    for e in &evidence {
        assert_eq!(
            e.key.as_slice(),
            byzantine.as_ref(),
            "only validator 3 equivocated"
        );
        assert_eq!(e.epoch, 0);
        assert!(matches!(
            e.kind,
            CONFLICTING_NOTARIZE | CONFLICTING_FINALIZE
        ));
    }
    // No item is finalized twice.
    let mut unique = evidence.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), evidence.len());
}

/// A validator that sends garbage, oversized and replayed messages on every consensus channel
/// is blocked by the honest validators, which keep finalizing without it.
#[test]
fn garbage_and_replayed_messages_get_the_sender_blocked() {
    use commonware_p2p::{Receiver as _, Recipients, Sender as _};
    init_logging();
    let configs = configs(4, Duration::from_millis(200));
    let attacker = configs[3].public_key();
    let executors: Vec<_> = (0..3).map(|_| MockExecutor::new()).collect();
    let blocked = runner(12).start(|context| {
        let executors = executors.clone();
        let configs = configs.clone();
        let attacker = attacker.clone();
        async move {
            let oracle = network(&context, &configs[0].participants).await;
            for (i, config) in configs.iter().take(3).enumerate() {
                spawn_validator(&context, &oracle, i, config, &executors[i]);
            }
            let channels = register_simulated(&oracle, attacker.clone())
                .await
                .expect("channels");

            // Replays: every vote the attacker hears goes straight back out, twice.
            let (mut vote_sender, mut vote_receiver) = channels.votes;
            context.child("replayer").spawn(move |_| async move {
                while let Ok((_, message)) = vote_receiver.recv().await {
                    for _ in 0..2 {
                        vote_sender.send(Recipients::All, message.clone(), false);
                    }
                }
            });
            // Garbage (well framed for epoch 0 and not) and an oversized-for-its-type payload
            // on the certificate, block broadcast and backfill channels.
            let mut senders = vec![
                channels.certificates.0,
                channels.broadcast.0,
                channels.backfill.0,
            ];
            let garbage: Vec<Vec<u8>> = vec![
                vec![0xff; 7],
                [vec![0u8], vec![0xab; 500]].concat(),
                [vec![0u8], vec![0x01; 60_000]].concat(),
            ];
            wait_for(&context, &executors, 3).await;
            for sender in &mut senders {
                for message in &garbage {
                    sender.send(Recipients::All, message.clone(), false);
                }
            }
            wait_for(&context, &executors, 12).await;
            oracle.blocked().await.expect("blocked list")
        }
    });
    assert!(
        assert_consistent(&executors) >= 12,
        "honest validators kept finalizing"
    );
    let blockers: std::collections::BTreeSet<_> = blocked
        .iter()
        .filter(|(_, peer)| *peer == attacker)
        .map(|(by, _)| by.clone())
        .collect();
    assert!(
        !blockers.is_empty(),
        "no honest validator blocked the attacker: {blocked:?}"
    );
}
