//! Tokio runtime + real authenticated p2p on loopback: a local network of four validators in one
//! process, as `lazai devnet` runs it.

use crate::{assert_consistent, configs, init_logging, mock::MockExecutor};
use commonware_runtime::{Clock, Runner, Supervisor, tokio};
use lazai_consensus::{Executor, LocalValidator, start_local_network};
use std::{
    net::{SocketAddr, TcpListener},
    time::Duration,
};

fn free_addr() -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind loopback");
    listener.local_addr().expect("local addr")
}

#[test]
fn local_network_over_authenticated_p2p() {
    init_logging();
    let storage = tempfile::tempdir().expect("tempdir");
    let runner = tokio::Runner::new(
        tokio::Config::new()
            .with_worker_threads(2)
            .with_storage_directory(storage.path()),
    );
    let executors: Vec<_> = (0..4).map(|_| MockExecutor::new()).collect();
    let target = 5;
    let reached = runner.start(|context| {
        let executors = executors.clone();
        async move {
            let validators = configs(4, Duration::from_millis(250))
                .into_iter()
                .zip(&executors)
                .map(|(config, executor)| LocalValidator {
                    config,
                    p2p_addr: free_addr(),
                    executor: executor.clone(),
                })
                .collect();
            let handles = start_local_network(context.child("devnet"), validators).expect("starts");
            let deadline = context.current() + Duration::from_secs(45);
            let mut reached = false;
            while context.current() < deadline {
                if executors
                    .iter()
                    .all(|e| e.last_finalized_height() >= target)
                {
                    reached = true;
                    break;
                }
                context.sleep(Duration::from_millis(100)).await;
            }
            // A peer may be reconnecting at the moment the height is reached: wait for every
            // validator to see two peers again rather than sampling once.
            let connected = |handles: &[lazai_consensus::ValidatorHandle]| {
                handles.iter().all(|h| h.status.active_peers() >= 2)
            };
            let peers_deadline = context.current() + Duration::from_secs(20);
            while reached && !connected(&handles) && context.current() < peers_deadline {
                context.sleep(Duration::from_millis(100)).await;
            }
            for handle in &handles {
                assert_eq!(handle.status.participants().len(), 4);
                if reached {
                    assert!(
                        handle.status.active_peers() >= 2,
                        "a validator sees {} peers",
                        handle.status.active_peers()
                    );
                }
                handle.abort();
            }
            reached
        }
    });
    assert!(
        reached,
        "validators did not finalize {target} blocks in time"
    );
    assert!(assert_consistent(&executors) >= target as usize);
}
