//! Optimistic results on a running devnet with `lazai challenger` as its own process: an
//! honest worker's result is re-executed and left alone (final after its window), a result the
//! same worker tampered with is disputed and proven wrong by the challenger process — the
//! worker slashed, the caller refunded — and `lazai task show` shows the dispute.

use crate::process::{Killed, lazai as lazai_cmd};
use crate::tee::{account, with_chain};
use alloy_primitives::{Address, U256};
use lazai_abi::verifier::DISPUTE_CHALLENGER_WON;
use lazai_abi::{IVerifier as X, TASK_FRAUD, TASK_VERIFIED, VERIFIER_ADDRESS};
use lazai_cli::devnet::demo::registered_model;
use lazai_client::Client;
use lazai_types::lazai;
use lazai_worker::optimistic::{OptimisticServe, Poster};
use std::process::Stdio;
use std::time::{Duration, Instant};

const TIMEOUT: Duration = Duration::from_secs(60);
const OWNER: u32 = 1;
const DAVE: u32 = 3;
const ERIN: u32 = 5;

async fn wait_status(c: &Client, task: U256, want: u8, timeout: Duration) {
    let deadline = Instant::now() + timeout;
    loop {
        let t = c
            .call(VERIFIER_ADDRESS, X::getTaskCall { taskId: task })
            .await
            .expect("task");
        if t.status == want {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "task {task} is {} after {timeout:?}, not {want}",
            t.status
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn balance_of(c: &Client, who: Address) -> impl std::future::Future<Output = U256> + '_ {
    use alloy::providers::Provider as _;
    async move { c.provider().get_balance(who).await.expect("balance") }
}

#[test]
fn lazai_challenger_catches_a_wrong_result_and_leaves_a_right_one_alone() {
    with_chain(
        |_| {},
        |rpc, dir| async move {
            let price = lazai(1) / U256::from(1_000);
            let (worker, model, record) = registered_model(&rpc, &dir, 6, price, 3)
                .await
                .expect("registered model");
            // The iDAO's owner sets short terms with the CLI; anyone reads them.
            let owner_key = alloy_primitives::hex::encode_prefixed(account(OWNER).to_bytes());
            let idao = record.idaoId.to_string();
            let set = lazai_cmd(&[
                "task",
                "terms",
                "--idao",
                &idao,
                "--window",
                "25",
                "--move-time",
                "25",
                "--worker-bond",
                "0.1",
                "--challenger-bond",
                "0.05",
                "--rpc",
                &rpc,
            ])
            .env("LAZAI_PRIVATE_KEY", &owner_key)
            .status()
            .expect("task terms");
            assert!(set.success());
            let out = lazai_cmd(&["task", "terms", "--idao", &idao, "--rpc", &rpc, "--json"])
                .stdout(Stdio::piped())
                .output()
                .expect("task terms");
            let terms: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
            assert_eq!(terms["window"], 25);
            assert_eq!(
                terms["challengerBond"],
                (lazai(1) / U256::from(20)).to_string()
            );
            // Only the owner.
            let stranger = lazai_cmd(&[
                "task", "terms", "--idao", &idao, "--window", "1", "--rpc", &rpc,
            ])
            .env(
                "LAZAI_PRIVATE_KEY",
                alloy_primitives::hex::encode_prefixed(account(DAVE).to_bytes()),
            )
            .status()
            .expect("task terms");
            assert!(!stranger.success());
            let model_file = dir.join("wine.lzmlp");
            std::fs::write(&model_file, model.to_bytes()).expect("model file");
            let blobs = dir.join("blobs");
            std::fs::create_dir_all(&blobs).expect("blobs");
            let blobs = blobs.display().to_string();
            let erin = account(ERIN);
            let erin_key = alloy_primitives::hex::encode_prefixed(erin.to_bytes());

            // The challenger, as a user runs it.
            let mut cmd = lazai_cmd(&[
                "challenger",
                "--idao",
                &record.idaoId.to_string(),
                "--model",
                &model_file.display().to_string(),
                "--blobs",
                &blobs,
                "--rpc",
                &rpc,
                "--poll-ms",
                "100",
            ]);
            cmd.env("LAZAI_PRIVATE_KEY", &erin_key)
                .stdout(Stdio::piped());
            let challenger = Killed(cmd.spawn().expect("lazai challenger"));
            let reader = Client::read(&rpc).expect("reader");
            let registered = Instant::now();
            while reader
                .call(
                    VERIFIER_ADDRESS,
                    X::getChallengerCall {
                        idaoId: record.idaoId,
                        account: erin.address(),
                    },
                )
                .await
                .is_err()
            {
                assert!(
                    registered.elapsed() < TIMEOUT,
                    "the challenger never registered"
                );
                tokio::time::sleep(Duration::from_millis(100)).await;
            }

            let dave = account(DAVE).address();
            let poster = Poster::start(
                worker.client().clone(),
                &account(6),
                &model,
                &record,
                &OptimisticServe {
                    blobs: blobs.clone(),
                },
            )
            .await
            .expect("poster");
            let q: Vec<i8> = (0..model.inputs as i8).map(|i| i * 9 - 40).collect();

            // Honest: re-executed, left alone, final once anyone finalizes after the window.
            let honest = poster.post(&q, dave).await.expect("honest post");
            let o = reader
                .call(
                    VERIFIER_ADDRESS,
                    X::getOptimisticCall {
                        taskId: honest.task_id,
                    },
                )
                .await
                .expect("optimistic");
            use alloy::providers::Provider as _;
            while reader.provider().get_block_number().await.expect("height")
                <= o.postedAt + o.window
            {
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            let fin = lazai_cmd(&[
                "task",
                "finalize",
                &honest.task_id.to_string(),
                "--rpc",
                &rpc,
            ])
            .env("LAZAI_PRIVATE_KEY", &owner_key)
            .status()
            .expect("task finalize");
            assert!(fin.success());
            wait_status(&reader, honest.task_id, TASK_VERIFIED, TIMEOUT).await;
            let disputes = reader
                .call(
                    VERIFIER_ADDRESS,
                    X::disputesCall {
                        taskId: honest.task_id,
                    },
                )
                .await
                .expect("disputes");
            assert!(disputes.is_empty(), "an honest result was disputed");

            // Tampered: one hidden unit off by one, the logits computed from it.
            let outputs = lazai_model::trace::tampered_outputs(&model, &q, 0, 1);
            let dave_before = balance_of(&reader, dave).await;
            let wrong = poster.post_outputs(&q, outputs, dave).await.expect("post");
            wait_status(&reader, wrong.task_id, TASK_FRAUD, TIMEOUT).await;
            let d = reader
                .call(
                    VERIFIER_ADDRESS,
                    X::getDisputeCall {
                        taskId: wrong.task_id,
                        challenger: erin.address(),
                    },
                )
                .await
                .expect("dispute");
            assert_eq!((d.status, d.layer, d.unit), (DISPUTE_CHALLENGER_WON, 0, 1));
            assert_ne!(d.claimed, d.actual);
            assert!(d.moves <= 3, "{} moves", d.moves);
            assert_eq!(balance_of(&reader, dave).await - dave_before, price);
            assert!(
                !reader
                    .call(
                        VERIFIER_ADDRESS,
                        X::verifyResultCall {
                            taskId: wrong.task_id
                        }
                    )
                    .await
                    .expect("verifyResult")
            );

            // `lazai task show` shows the dispute.
            let out = lazai_cmd(&[
                "task",
                "show",
                &wrong.task_id.to_string(),
                "--rpc",
                &rpc,
                "--json",
            ])
            .stdout(Stdio::piped())
            .output()
            .expect("task show");
            assert!(out.status.success());
            let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
            assert_eq!(v["status"], "fraud");
            assert_eq!(v["mode"], "optimistic");
            assert_eq!(v["optimistic"]["disputes"][0]["status"], "challenger won");
            assert_eq!(v["optimistic"]["disputes"][0]["unit"], 1);

            // Stopped by a signal, the challenger says what it did.
            let mut challenger = challenger;
            let child = &mut challenger.0;
            let pid = child.id().to_string();
            let _ = std::process::Command::new("kill")
                .args(["-INT", &pid])
                .status();
            let mut stdout = String::new();
            use std::io::Read as _;
            child
                .stdout
                .take()
                .expect("stdout")
                .read_to_string(&mut stdout)
                .expect("read");
            let _ = child.wait();
            let stats: serde_json::Value =
                serde_json::from_str(stdout.lines().last().expect("a line of stats"))
                    .expect("stats json");
            assert_eq!(stats["checked"], 2, "{stdout}");
            assert_eq!(stats["correct"], 1);
            assert_eq!(stats["challenged"], 1);
            assert_eq!(stats["fraudsProven"], 1);
            assert_eq!(stats["lost"], 0);
        },
    );
}

/// A worker stopped after posting and started again mid-dispute still defends its result: the
/// input was sealed to it too, so it recomputes its layers and reveals the disputed one; the
/// false challenge loses its bond, and the result becomes final.
#[test]
fn a_restarted_worker_defends_the_results_it_posted_before() {
    with_chain(
        |_| {},
        |rpc, dir| async move {
            use alloy::providers::Provider as _;
            use lazai_abi::verifier::{DISPUTE_WORKER_WON, TURN_CHALLENGER};
            let price = lazai(1) / U256::from(1_000);
            let (worker, model, record) = registered_model(&rpc, &dir, 6, price, 4)
                .await
                .expect("registered model");
            let owner = Client::signing(&rpc, account(OWNER), TIMEOUT).expect("owner");
            owner
                .send(
                    VERIFIER_ADDRESS,
                    X::setOptimisticParamsCall {
                        idaoId: record.idaoId,
                        params: X::OptimisticParams {
                            window: 60,
                            moveTime: 20,
                            workerBond: lazai(1) / U256::from(10),
                            challengerBond: lazai(1) / U256::from(20),
                        },
                    },
                    U256::ZERO,
                )
                .await
                .expect("terms");
            let blobs = dir.join("blobs");
            std::fs::create_dir_all(&blobs).expect("blobs");
            let cfg = OptimisticServe {
                blobs: blobs.display().to_string(),
            };
            let erin = Client::signing(&rpc, account(ERIN), TIMEOUT).expect("erin");
            let erin_key = lazai_worker::optimistic::challenger_secret(&account(ERIN))
                .expect("key")
                .public_key()
                .to_bytes();
            erin.send(
                VERIFIER_ADDRESS,
                X::registerChallengerCall {
                    idaoId: record.idaoId,
                    hpkeKey: erin_key.into(),
                },
                lazai(1) / U256::from(20),
            )
            .await
            .expect("register");

            let poster = Poster::start(worker.client().clone(), &account(6), &model, &record, &cfg)
                .await
                .expect("poster");
            let q: Vec<i8> = (0..model.inputs as i8).map(|i| 50 - i * 7).collect();
            let task = poster
                .post(&q, account(DAVE).address())
                .await
                .expect("post")
                .task_id;
            drop(poster);
            tokio::time::sleep(Duration::from_millis(600)).await;

            // Erin disputes layer 0 falsely while the worker is down.
            let chain = erin.provider().get_chain_id().await.expect("chain id");
            let outputs = model.layer_outputs(&q).expect("outputs");
            let claim: Vec<_> = outputs
                .iter()
                .enumerate()
                .map(|(l, o)| {
                    let h = if l == 0 {
                        alloy_primitives::B256::repeat_byte(0xee)
                    } else {
                        alloy_primitives::B256::from(lazai_model::trace::activations_hash(
                            l as u32, o,
                        ))
                    };
                    lazai_abi::claim_commitment(chain, task, erin.from(), h)
                })
                .collect();
            erin.send(
                VERIFIER_ADDRESS,
                X::challengeCall {
                    taskId: task,
                    claim,
                },
                U256::ZERO,
            )
            .await
            .expect("challenge");

            // The restarted worker takes the result back and reveals.
            let _restarted =
                Poster::start(worker.client().clone(), &account(6), &model, &record, &cfg)
                    .await
                    .expect("restarted poster");
            let dispute = || reader_call(&rpc, task, erin.from());
            let deadline = Instant::now() + TIMEOUT;
            let d = loop {
                let d = dispute().await;
                if d.turn == TURN_CHALLENGER {
                    break d;
                }
                assert!(
                    Instant::now() < deadline,
                    "the restarted worker never revealed"
                );
                tokio::time::sleep(Duration::from_millis(100)).await;
            };
            // Erin has nothing to prove; once her clock ran out anyone ends the dispute.
            while erin.provider().get_block_number().await.expect("height")
                <= d.lastMoveAt + d.challengerClock
            {
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            owner
                .send(
                    VERIFIER_ADDRESS,
                    X::timeoutCall {
                        taskId: task,
                        challenger: erin.from(),
                    },
                    U256::ZERO,
                )
                .await
                .expect("timeout");
            assert_eq!(dispute().await.status, DISPUTE_WORKER_WON);
            let deposit = Client::read(&rpc)
                .expect("reader")
                .call(
                    VERIFIER_ADDRESS,
                    X::getChallengerCall {
                        idaoId: record.idaoId,
                        account: erin.from(),
                    },
                )
                .await
                .expect("challenger")
                .deposit;
            assert_eq!(deposit, U256::ZERO, "the false challenge lost its bond");
        },
    );
}

async fn reader_call(rpc: &str, task: U256, challenger: Address) -> X::Dispute {
    Client::read(rpc)
        .expect("reader")
        .call(
            VERIFIER_ADDRESS,
            X::getDisputeCall {
                taskId: task,
                challenger,
            },
        )
        .await
        .expect("dispute")
}

/// A challenger restarted mid-dispute finds its dispute on chain and plays it to the end.
#[test]
fn a_restarted_challenger_plays_its_dispute_on() {
    with_chain(
        |_| {},
        |rpc, dir| async move {
            use alloy_primitives::B256;
            use lazai_model::trace::{self, WeightTree};
            use lazai_worker::optimistic::{Watcher, challenger_secret, seal_input};
            let price = lazai(1) / U256::from(1_000);
            let (worker, model, record) = registered_model(&rpc, &dir, 6, price, 8)
                .await
                .expect("registered model");
            let owner = Client::signing(&rpc, account(OWNER), TIMEOUT).expect("owner");
            owner
                .send(
                    VERIFIER_ADDRESS,
                    X::setOptimisticParamsCall {
                        idaoId: record.idaoId,
                        params: X::OptimisticParams {
                            window: 60,
                            moveTime: 60,
                            workerBond: lazai(1) / U256::from(10),
                            challengerBond: lazai(1) / U256::from(20),
                        },
                    },
                    U256::ZERO,
                )
                .await
                .expect("terms");
            let blobs = dir.join("blobs");
            std::fs::create_dir_all(&blobs).expect("blobs");
            let blobs = blobs.display().to_string();
            let w = worker.client();
            let tree = WeightTree::new(&model);
            w.send(
                VERIFIER_ADDRESS,
                X::setModelWeightsCall {
                    modelId: record.id,
                    root: B256::from(tree.root()),
                    widths: trace::widths(&model),
                },
                U256::ZERO,
            )
            .await
            .expect("weights");
            let erin = || Client::signing(&rpc, account(ERIN), TIMEOUT).expect("erin");
            let mut first = Watcher::start(
                erin(),
                &account(ERIN),
                record.idaoId,
                vec![model.clone()],
                &blobs,
            )
            .await
            .expect("watcher");

            // The worker posts a lie by hand (no automatic defence) with the input sealed to Erin.
            let q: Vec<i8> = (0..model.inputs as i8).map(|i| i * 11 - 60).collect();
            let outputs = trace::tampered_outputs(&model, &q, 0, 2);
            let store = lazai_blob::BlobStore::open(&blobs).expect("store");
            let key = challenger_secret(&account(ERIN))
                .expect("key")
                .public_key()
                .to_bytes();
            let blob = seal_input(&store, &q, &[(account(ERIN).address(), B256::from(key))])
                .await
                .expect("seal");
            let input: Vec<i64> = q.iter().map(|&v| i64::from(v)).collect();
            let r = w
                .send(
                    VERIFIER_ADDRESS,
                    X::postOptimisticResultCall {
                        idaoId: record.idaoId,
                        modelId: record.id,
                        inputHash: B256::from(trace::activations_hash(u32::MAX, &input)),
                        layerHashes: outputs
                            .iter()
                            .enumerate()
                            .map(|(l, o)| B256::from(trace::activations_hash(l as u32, o)))
                            .collect(),
                        inputBlob: blob,
                        user: Address::ZERO,
                    },
                    lazai(1) / U256::from(10),
                )
                .await
                .expect("post");
            let task = lazai_client::event::<X::OptimisticPosted>(&r, VERIFIER_ADDRESS)
                .expect("posted")
                .taskId;

            // The first run challenges, then stops before the worker answers.
            first.step().await.expect("step");
            assert_eq!(first.stats.challenged, 1);
            drop(first);
            w.send(
                VERIFIER_ADDRESS,
                X::revealLayerCall {
                    taskId: task,
                    layer: 0,
                    values: trace::encode_values(&outputs[0]).into(),
                },
                U256::ZERO,
            )
            .await
            .expect("reveal");

            // A new run resumes the dispute and proves the fraud.
            let mut second = Watcher::start(
                erin(),
                &account(ERIN),
                record.idaoId,
                vec![model.clone()],
                &blobs,
            )
            .await
            .expect("watcher");
            let deadline = Instant::now() + TIMEOUT;
            while second.stats.frauds_proven == 0 {
                second.step().await.expect("step");
                assert!(
                    Instant::now() < deadline,
                    "the restarted challenger never proved"
                );
            }
            assert_eq!(second.stats.challenged, 0, "it did not challenge twice");
            let reader = Client::read(&rpc).expect("reader");
            wait_status(&reader, task, TASK_FRAUD, TIMEOUT).await;
        },
    );
}
