//! AI services on a running devnet: metered inference through the worker's HTTP endpoint (the
//! quota holds under 50 concurrent calls; replayed or reordered nonces, bad signatures,
//! foreign, unknown and expired usage DATs are refused with clear HTTP errors; receipts are
//! signed by the attested worker; usage lands on chain in batches), and LazAI's SDK settlement
//! path (`addUser` → `deposit` → `depositInference` → the node's `settlementFees`) through
//! `sol!` clients of exactly the `lazai-abi.md` signatures.

use crate::lazai_abi::{AIProcess, INFERENCE, SETTLEMENT, Settlement};
use crate::process::{Killed, free_port, lazai as lazai_cmd};
use crate::tee::{account, dev_policy, idao, with_chain, worker_config};
use alloy::network::EthereumWallet;
use alloy::providers::{Provider, ProviderBuilder};
use alloy::transports::http::reqwest;
use alloy_primitives::{Address, Bytes, U256};
use alloy_signer::SignerSync;
use alloy_signer_local::PrivateKeySigner;
use lazai_abi::{
    DAT_ADDRESS, IDataAnchoringToken as D, IModelRegistry as M, MODEL_REGISTRY_ADDRESS,
    user_request_message,
};
use lazai_cli::devnet::demo::registered_model;
use lazai_client::{Client, event};
use lazai_types::{DEVNET_CHAIN_ID, lazai};
use lazai_worker::serve::{REQUEST_SIGNATURE_HEADER, SignedRequest};
use lazai_worker::{ModelWorker, Prediction, ServeConfig};
use std::time::Duration;

const TIMEOUT: Duration = Duration::from_secs(60);

fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_secs()
}

async fn buy(c: &Client, model: U256, calls: u64, price: U256, expire_at: u64) -> U256 {
    let r = c
        .send(
            MODEL_REGISTRY_ADDRESS,
            M::buyUsageCall {
                modelId: model,
                calls: U256::from(calls),
                expireAt: expire_at,
            },
            price * U256::from(calls),
        )
        .await
        .expect("buyUsage");
    event::<M::UsageBought>(&r, MODEL_REGISTRY_ADDRESS)
        .expect("UsageBought")
        .tokenId
}

/// One call: (HTTP status, error code or prediction).
async fn call(
    http: &reqwest::Client,
    url: &str,
    signer: &PrivateKeySigner,
    user: Address,
    node: Address,
    nonce: u64,
    token: U256,
) -> (u16, serde_json::Value) {
    let nonce = U256::from(nonce);
    let sig = signer
        .sign_message_sync(user_request_message(nonce, user, node).as_slice())
        .expect("sign");
    let resp = http
        .post(url)
        .header("content-type", "application/json")
        .header("x-lazai-user", user.to_string())
        .header("x-lazai-nonce", nonce.to_string())
        .header(
            "x-lazai-signature",
            alloy_primitives::hex::encode_prefixed(sig.as_bytes()),
        )
        .header("x-lazai-usage-token", token.to_string())
        .body(r#"{"features":[7.4,0.7,0,1.9,0.076,11,34,0.9978,3.51,0.56,9.4]}"#)
        .send()
        .await
        .expect("http");
    let status = resp.status().as_u16();
    let body: serde_json::Value =
        serde_json::from_slice(&resp.bytes().await.expect("body")).expect("JSON answer");
    (status, body)
}

fn code(v: &serde_json::Value) -> &str {
    v["error"]["code"].as_str().unwrap_or("")
}

#[test]
fn metered_inference_keeps_the_quota_and_refuses_bad_calls() {
    with_chain(
        |_| {},
        |rpc, dir| async move {
            // An iDAO, a dataset class (its token 1), and a model registered by the attested
            // model worker (account 6).
            let price = lazai(1) / U256::from(1_000);
            let (worker, model, record) = registered_model(&rpc, &dir, 6, price, 1)
                .await
                .expect("registered model");
            let node = worker.address();
            let model_id = record.id;
            let hash = record.modelHash;
            let dataset_token = U256::from(1);

            // Dave (3) buys 30 calls, and 3 calls that expire in a few seconds; Erin (4) 5.
            let dave = Client::signing(&rpc, account(3), TIMEOUT).expect("client");
            let erin = Client::signing(&rpc, account(4), TIMEOUT).expect("client");
            let shared = buy(&dave, model_id, 30, price, 0).await;
            let expire_at = unix_now() + 4;
            let expiring = buy(&dave, model_id, 3, price, expire_at).await;
            let own = buy(&erin, model_id, 5, price, 0).await;
            // Dave lets 50 agents spend his DATs of the model's class.
            let agents: Vec<PrivateKeySigner> =
                (0..50).map(|_| PrivateKeySigner::random()).collect();
            for a in &agents {
                dave.send(
                    DAT_ADDRESS,
                    D::approveForClassCall {
                        classId: record.classId,
                        operator: a.address(),
                        approved: true,
                    },
                    U256::ZERO,
                )
                .await
                .expect("approveForClass");
            }

            let server = lazai_worker::serve::start(
                worker,
                model.clone(),
                record.clone(),
                ServeConfig {
                    listen: "127.0.0.1:0".parse().expect("addr"),
                    batch_calls: 8,
                    batch_interval: Duration::from_millis(300),
                    ..ServeConfig::default()
                },
            )
            .await
            .expect("server");
            let url = format!("http://{}/v1/predict", server.addr);
            let http = reqwest::Client::new();

            // 50 concurrent calls on a 30-call DAT: exactly 30 answered, 20 refused (402).
            let mut tasks = Vec::new();
            for a in agents.clone() {
                let (http, url) = (http.clone(), url.clone());
                tasks.push(tokio::spawn(async move {
                    call(&http, &url, &a, a.address(), node, 1, shared).await
                }));
            }
            let mut answered = Vec::new();
            let mut refused = 0;
            for t in tasks {
                let (status, body) = t.await.expect("task");
                match status {
                    200 => answered.push(body),
                    402 => {
                        assert_eq!(code(&body), "quota_exhausted");
                        refused += 1;
                    }
                    other => panic!("unexpected {other}: {body}"),
                }
            }
            assert_eq!((answered.len(), refused), (30, 20));
            let mut counters: Vec<u64> = Vec::new();
            for body in &answered {
                let p: Prediction = serde_json::from_value(body.clone()).expect("prediction");
                let receipt = p.receipt.expect("receipt");
                assert_eq!(
                    receipt.signer(),
                    Some(node),
                    "signed by the attested worker"
                );
                assert_eq!(receipt.model_hash, hash);
                assert_eq!(receipt.usage_token, shared);
                counters.push(receipt.counter);
            }
            counters.sort_unstable();
            assert_eq!(
                counters,
                (1..=30).collect::<Vec<u64>>(),
                "one receipt per call"
            );

            // Nonces: replayed or reordered are refused.
            let erin_key = account(4);
            let e = erin_key.address();
            let (s, _) = call(&http, &url, &erin_key, e, node, 5, own).await;
            assert_eq!(s, 200);
            let (s, b) = call(&http, &url, &erin_key, e, node, 5, own).await;
            assert_eq!((s, code(&b)), (409, "nonce_replayed"), "{b}");
            let (s, b) = call(&http, &url, &erin_key, e, node, 4, own).await;
            assert_eq!((s, code(&b)), (409, "nonce_replayed"), "{b}");
            // A signature by someone else, or for another node.
            let (s, b) = call(&http, &url, &account(5), e, node, 6, own).await;
            assert_eq!((s, code(&b)), (401, "bad_signature"), "{b}");
            let (s, b) = call(&http, &url, &erin_key, e, Address::repeat_byte(1), 6, own).await;
            assert_eq!((s, code(&b)), (401, "bad_signature"), "{b}");
            // Missing headers.
            let resp = http
                .post(&url)
                .body(r#"{"features":[]}"#)
                .send()
                .await
                .expect("http");
            assert_eq!(resp.status().as_u16(), 401);
            // Foreign DATs: Dave's (Erin is not approved), a dataset token, an unknown one.
            let (s, b) = call(&http, &url, &erin_key, e, node, 7, shared).await;
            assert_eq!((s, code(&b)), (403, "not_token_owner"), "{b}");
            let (s, b) = call(&http, &url, &erin_key, e, node, 8, dataset_token).await;
            assert_eq!((s, code(&b)), (403, "foreign_token"), "{b}");
            let (s, b) = call(&http, &url, &erin_key, e, node, 9, U256::from(9_999)).await;
            assert_eq!((s, code(&b)), (404, "unknown_token"), "{b}");
            // An expired DAT.
            while unix_now() <= expire_at {
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
            let dave_key = account(3);
            let (s, b) = call(
                &http,
                &url,
                &dave_key,
                dave_key.address(),
                node,
                1,
                expiring,
            )
            .await;
            assert_eq!((s, code(&b)), (403, "token_expired"), "{b}");
            // Bad input is refused before it is charged (Erin's DAT keeps its calls).
            let sig = erin_key
                .sign_message_sync(user_request_message(U256::from(10), e, node).as_slice())
                .expect("sign");
            let resp = http
                .post(&url)
                .header("x-lazai-user", e.to_string())
                .header("x-lazai-nonce", "10")
                .header(
                    "x-lazai-signature",
                    alloy_primitives::hex::encode_prefixed(sig.as_bytes()),
                )
                .header("x-lazai-usage-token", own.to_string())
                .body(r#"{"features":[1,2]}"#)
                .send()
                .await
                .expect("http");
            assert_eq!(resp.status().as_u16(), 400);
            let models: serde_json::Value = serde_json::from_slice(
                &http
                    .get(format!("http://{}/v1/models", server.addr))
                    .send()
                    .await
                    .expect("models")
                    .bytes()
                    .await
                    .expect("body"),
            )
            .expect("JSON");
            assert_eq!(models["data"][0]["modelHash"], hash.to_string());

            // Usage reaches the chain in batches: the 30-call DAT is used up, Erin's has 4 left.
            let stats = server.stop().await;
            assert_eq!(stats.calls_recorded, 31);
            assert!(
                stats.batches < 31,
                "batched: {} transactions",
                stats.batches
            );
            let reader = Client::read(&rpc).expect("reader");
            let value = |t: U256| {
                let reader = &reader;
                async move {
                    reader
                        .call(DAT_ADDRESS, D::tokenInfoCall { tokenId: t })
                        .await
                        .expect("token")
                        .value
                }
            };
            assert_eq!(value(shared).await, U256::ZERO);
            assert_eq!(value(own).await, U256::from(4));
            let m = reader
                .call(
                    MODEL_REGISTRY_ADDRESS,
                    M::getModelCall { modelId: model_id },
                )
                .await
                .expect("model");
            assert_eq!(m.callsRecorded, U256::from(31));
            assert_eq!(m.revenue, price * U256::from(38));
        },
    );
}

#[test]
fn lazai_sdk_settlement_path_through_sol_clients() {
    with_chain(
        |_| {},
        |rpc, dir| async move {
            let (secret, _) = lazai_crypto::generate_keypair();
            let idao = idao(&rpc, &secret, Some(dev_policy(Vec::new()))).await;
            // The node attests for the iDAO (dev TEE); governance (account 0) lists it.
            let worker = ModelWorker::new(worker_config(&rpc, idao, 6, &secret, &dir))
                .await
                .expect("attested node");
            let node = worker.address();
            let url: reqwest::Url = rpc.parse().expect("url");
            let wallet = |i: u32| {
                ProviderBuilder::new()
                    .wallet(EthereumWallet::from(account(i)))
                    .connect_http(url.clone())
                    .erased()
            };
            let inference_gov = AIProcess::new(INFERENCE, wallet(0));
            inference_gov
                .addNode(node, "http://127.0.0.1:8600".into(), "0x".into())
                .send()
                .await
                .expect("addNode")
                .get_receipt()
                .await
                .expect("receipt");
            assert!(inference_gov.isNode(node).call().await.expect("isNode"));

            let user = account(3).address();
            let settlement = Settlement::new(SETTLEMENT, wallet(3));
            assert_eq!(
                settlement.inference().call().await.expect("inference"),
                INFERENCE
            );
            let one = lazai(1);
            let tenth = one / U256::from(10);
            let r = settlement
                .addUser()
                .value(one)
                .send()
                .await
                .expect("addUser");
            assert!(r.get_receipt().await.expect("receipt").status());
            let r = settlement
                .deposit()
                .value(one / U256::from(2))
                .send()
                .await
                .expect("deposit");
            assert!(r.get_receipt().await.expect("receipt").status());
            let r = settlement
                .depositInference(node, tenth * U256::from(6))
                .send()
                .await
                .expect("depositInference");
            assert!(r.get_receipt().await.expect("receipt").status());
            let u = settlement.getUser(user).call().await.expect("getUser");
            assert_eq!(
                u.totalBalance,
                one + one / U256::from(2),
                "deposits are kept"
            );
            assert_eq!(u.availableBalance, tenth * U256::from(9));
            assert_eq!(u.inferenceNodes, vec![node]);

            // The node settles a request the user signed (nonce 1); a replay is refused.
            let signed = |nonce: u64| {
                let nonce = U256::from(nonce);
                let sig = account(3)
                    .sign_message_sync(user_request_message(nonce, user, node).as_slice())
                    .expect("sign");
                AIProcess::Settlement {
                    signature: Bytes::new(),
                    data: AIProcess::SettlementData {
                        id: "chat-1".into(),
                        user,
                        cost: tenth,
                        nonce,
                        userSignature: sig.as_bytes().to_vec().into(),
                    },
                }
            };
            let inference_node = AIProcess::new(INFERENCE, wallet(6));
            let before = worker
                .client()
                .provider()
                .get_balance(node)
                .await
                .expect("balance");
            let r = inference_node
                .settlementFees(signed(1))
                .send()
                .await
                .expect("settlementFees")
                .get_receipt()
                .await
                .expect("receipt");
            assert!(r.status());
            let after = worker
                .client()
                .provider()
                .get_balance(node)
                .await
                .expect("balance");
            let fee = U256::from(r.gas_used) * U256::from(r.effective_gas_price);
            assert_eq!(after + fee, before + tenth, "the node is paid the cost");
            let a = inference_node
                .getAccount(user, node)
                .call()
                .await
                .expect("getAccount");
            assert_eq!((a.nonce, a.balance), (U256::from(1), tenth * U256::from(5)));
            let replay = inference_node.settlementFees(signed(1)).call().await;
            let err = replay.expect_err("replayed nonce");
            assert!(
                format!("{err:?}").contains("NonceTooLow")
                    || err
                        .as_decoded_interface_error::<AIProcess::AIProcessErrors>()
                        .is_some(),
                "{err:?}"
            );
            let u = settlement.getUser(user).call().await.expect("getUser");
            assert_eq!(u.totalBalance, tenth * U256::from(14));
        },
    );
}

/// `lazai demo --json` as a new user runs it: exits 0, its numbers add up, and its chain can
/// be resumed and inspected with the CLI (`lazai model show`, `lazai model buy`).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_demo_runs_and_its_numbers_add_up() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("demo");
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_lazai"))
        .args([
            "--log",
            "warn",
            "demo",
            "--json",
            "--rpc-addr",
            "127.0.0.1:0",
        ])
        .arg("--data-dir")
        .arg(&data)
        .stdin(std::process::Stdio::null())
        .output()
        .expect("run lazai demo");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "demo failed: {stderr}");
    assert!(stderr.contains("verified"), "narration on stderr: {stderr}");
    let s: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON summary");
    let n = |k: &str| {
        s[k].as_u64()
            .map(u128::from)
            .unwrap_or_else(|| panic!("{k}: {s}"))
    };
    let (paid, claimed, unclaimed, dust) = (n("paid"), n("claimed"), n("unclaimed"), n("dust"));
    assert_eq!(paid, 100 * 10u128.pow(16), "100 calls at 0.01 LAZAI");
    assert_eq!(paid, claimed + unclaimed + dust);
    assert!(dust < 10, "dust {dust} wei");
    let rows = s["contributors"].as_array().expect("contributors");
    assert_eq!(rows.len(), 3);
    let mut earned = n("modelOwnerClaimed");
    for r in rows {
        let e = r["earned"].as_u64().expect("earned");
        assert!(e > 0, "{r}");
        earned += u128::from(e);
    }
    assert_eq!(
        earned + dust,
        paid,
        "every wei paid went to a holder or is dust"
    );
    assert_eq!(n("callsMade"), 100);
    assert_eq!(n("receiptsVerified"), 100);
    assert_eq!(
        n("zk_verified_tasks"),
        1,
        "one call proved in ZK and verified"
    );
    assert!(
        stderr.contains("verified on chain in zero knowledge"),
        "{stderr}"
    );
    // The optimistic step: the honest call left alone and final, the tampered result caught,
    // and the slashed bond accounted for to the wei (Dave refunded one call).
    assert_eq!(n("optimistic_final"), 1, "{s}");
    assert_eq!(n("frauds_proven"), 1, "{s}");
    let (slashed, refunded) = (n("slashed"), n("refunded"));
    assert_eq!(slashed, 10u128.pow(17), "the worker's 0.1 LAZAI bond");
    assert_eq!(refunded, 10u128.pow(16), "one call's price");
    assert_eq!(slashed, refunded + n("to_challenger") + n("burned"));
    assert!(n("usageBatches") < 100, "usage recorded in batches");
    assert!(
        s["heldOutAccuracyInt8"].as_f64().expect("accuracy")
            > s["majorityBaseline"].as_f64().expect("baseline")
    );
    // It leaves a data dir with the chain, the model and the summary.
    assert!(data.join("genesis.json").exists());
    assert!(data.join("demo-summary.json").exists());
    assert!(
        std::fs::read_dir(data.join("models"))
            .expect("models")
            .count()
            >= 2
    );

    // Resume its chain and inspect it with the CLI.
    let (rpc, p2p) = (free_port(), free_port());
    let rpc_addr = format!("127.0.0.1:{rpc}");
    let p2p_port = p2p.to_string();
    let data_dir = data.display().to_string();
    let _node = Killed(
        lazai_cmd(&[
            "devnet",
            "--data-dir",
            &data_dir,
            "--no-default-idao",
            "--rpc-addr",
            &rpc_addr,
            "--p2p-port",
            &p2p_port,
        ])
        .spawn()
        .expect("spawn lazai devnet"),
    );
    crate::process::wait_for_height(&crate::process::provider(rpc), 1).await;
    let url = format!("http://{rpc_addr}");
    let model_id = n("modelId").to_string();
    let out = lazai_cmd(&[
        "model",
        "show",
        "--model-id",
        &model_id,
        "--rpc",
        &url,
        "--json",
    ])
    .stdout(std::process::Stdio::piped())
    .output()
    .expect("model show");
    assert!(out.status.success());
    let shown: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
    assert_eq!(shown["modelHash"], s["modelHash"]);
    assert_eq!(shown["callsRecorded"], "100");
    let consumer = "0x47e179ec197488593b187f80a00eb0da91f1b9d0b13f8733639f19c30a34926a";
    let out = lazai_cmd(&[
        "model",
        "buy",
        "--model-id",
        &model_id,
        "--calls",
        "2",
        "--key",
        consumer,
        "--rpc",
        &url,
    ])
    .stdout(std::process::Stdio::piped())
    .output()
    .expect("model buy");
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).contains("usage DAT"));

    // The demo's proved call is a verified ZK task on a dev circuit; the CLI proves the same
    // model locally with the same (dev) keys, and the chain checks that proof, and refuses
    // it once a public signal is changed.
    // Tasks: 1 the optimistic call (final, undisputed), 2 the proved call, 3 the tampered
    // result (fraud, Erin's dispute won).
    let show = |id: &str| {
        let out = lazai_cmd(&["task", "show", id, "--rpc", &url, "--json"])
            .stdout(std::process::Stdio::piped())
            .output()
            .expect("task show");
        assert!(out.status.success());
        serde_json::from_slice::<serde_json::Value>(&out.stdout).expect("JSON")
    };
    let honest = show("1");
    assert_eq!(
        (honest["mode"].as_str(), honest["status"].as_str()),
        (Some("optimistic"), Some("verified"))
    );
    assert_eq!(
        honest["optimistic"]["disputes"].as_array().map(Vec::len),
        Some(0)
    );
    let lie = show("3");
    assert_eq!(lie["status"], "fraud");
    assert_eq!(lie["optimistic"]["disputes"][0]["status"], "challenger won");
    let task = show("2");
    assert_eq!(task["mode"], "zk");
    assert_eq!(task["verified"], true);
    assert_eq!(task["circuitDev"], true);
    let model_file = std::fs::read_dir(data.join("models"))
        .expect("models")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .find(|p| {
            std::fs::read(p)
                .ok()
                .and_then(|b| lazai_model::QuantizedMlp::from_bytes(&b).ok())
                .is_some_and(|m| {
                    format!("{}", alloy_primitives::B256::from(m.hash()))
                        == s["modelHash"].as_str().unwrap_or("")
                })
        })
        .expect("the demo's model file");
    let proof_dir = dir.path().join("proof");
    let out = lazai_cmd(&[
        "zk",
        "prove",
        "--model",
        &model_file.display().to_string(),
        "--features",
        "7.4,0.7,0,1.9,0.076,11,34,0.9978,3.51,0.56,9.4",
        "--task",
        "77",
        "--out",
        &proof_dir.display().to_string(),
    ])
    .stdout(std::process::Stdio::piped())
    .output()
    .expect("zk prove");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let verify = |public: &std::path::Path| {
        lazai_cmd(&[
            "zk",
            "verify",
            "--circuit",
            task["circuitId"].as_str().expect("circuit"),
            "--proof",
            &proof_dir.join("proof.json").display().to_string(),
            "--public",
            &public.display().to_string(),
            "--rpc",
            &url,
        ])
        .stdout(std::process::Stdio::piped())
        .output()
        .expect("zk verify")
        .status
        .success()
    };
    assert!(verify(&proof_dir.join("public.json")));
    let mut public: Vec<String> =
        serde_json::from_slice(&std::fs::read(proof_dir.join("public.json")).expect("public.json"))
            .expect("signals");
    public[0] = "78".into();
    let forged = proof_dir.join("forged.json");
    std::fs::write(&forged, serde_json::to_vec(&public).expect("json")).expect("write");
    assert!(
        !verify(&forged),
        "a proof for task 77 is not one for task 78"
    );
}

const BODY: &str = r#"{"features":[7.4,0.7,0,1.9,0.076,11,34,0.9978,3.51,0.56,9.4]}"#;

/// Sends `body` with `headers`: (HTTP status, JSON answer).
async fn send(
    http: &reqwest::Client,
    url: &str,
    headers: &[(&str, String)],
    body: Vec<u8>,
) -> (u16, serde_json::Value) {
    let mut req = http.post(url).header("content-type", "application/json");
    for (name, value) in headers {
        req = req.header(*name, value);
    }
    let resp = req.body(body).send().await.expect("http");
    let status = resp.status().as_u16();
    let bytes = resp.bytes().await.expect("body");
    let body = serde_json::from_slice(&bytes).unwrap_or_else(|_| {
        panic!(
            "a JSON answer, got {status} {:?}",
            String::from_utf8_lossy(&bytes)
        )
    });
    (status, body)
}

/// The headers our clients send for a call of `body`.
fn signed(
    key: &PrivateKeySigner,
    node: Address,
    nonce: u64,
    token: U256,
    body: &str,
) -> Vec<(&'static str, String)> {
    SignedRequest::sign(
        key,
        key.address(),
        DEVNET_CHAIN_ID,
        node,
        U256::from(nonce),
        token,
        body.as_bytes(),
    )
    .expect("sign")
    .headers()
    .to_vec()
}

async fn usage_of(reader: &Client, token: U256) -> (U256, U256, Address) {
    let t = reader
        .call(DAT_ADDRESS, D::tokenInfoCall { tokenId: token })
        .await
        .expect("token");
    let used = reader
        .call(
            DAT_ADDRESS,
            D::usageOfCall {
                tokenId: token,
                metricType: lazai_abi::calls_metric(),
            },
        )
        .await
        .expect("usageOf");
    (t.value, used, t.owner)
}

fn slow_batches() -> ServeConfig {
    ServeConfig {
        listen: "127.0.0.1:0".parse().expect("addr"),
        batch_calls: 1_000,
        batch_interval: Duration::from_secs(3_600),
        ..ServeConfig::default()
    }
}

/// A server restarted on the same work dir refuses the requests its predecessor served (409)
/// and records the calls its predecessor served and left unrecorded; nothing is charged twice.
#[test]
fn a_restarted_server_refuses_served_requests_and_records_what_was_served() {
    with_chain(
        |_| {},
        |rpc, dir| async move {
            let price = lazai(1) / U256::from(1_000);
            let (worker, model, record) = registered_model(&rpc, &dir, 6, price, 11)
                .await
                .expect("registered model");
            let node = worker.address();
            let cfg = worker.config().clone();
            let erin_key = account(4);
            let erin = Client::signing(&rpc, account(4), TIMEOUT).expect("client");
            let token = buy(&erin, record.id, 10, price, 0).await;
            let reader = Client::read(&rpc).expect("reader");
            let http = reqwest::Client::new();

            // The first server serves 3 calls, then halts before recording them (as a crash
            // or a chain outage would leave it).
            let first =
                lazai_worker::serve::start(worker, model.clone(), record.clone(), slow_batches())
                    .await
                    .expect("server");
            let url = format!("http://{}/v1/predict", first.addr);
            let mut served = Vec::new();
            for nonce in 1..=3 {
                let h = signed(&erin_key, node, nonce, token, BODY);
                let (s, b) = send(&http, &url, &h, BODY.into()).await;
                assert_eq!(s, 200, "{b}");
                served.push(h);
            }
            let stats = first.halt().await;
            assert_eq!((stats.calls, stats.calls_recorded), (3, 0));
            assert_eq!(
                usage_of(&reader, token).await.1,
                U256::ZERO,
                "nothing recorded yet"
            );

            // A new server on the same work dir: the served requests are refused…
            let worker = ModelWorker::new(cfg.clone()).await.expect("worker");
            let second =
                lazai_worker::serve::start(worker, model.clone(), record.clone(), slow_batches())
                    .await
                    .expect("server");
            let url = format!("http://{}/v1/predict", second.addr);
            for h in &served {
                let (s, b) = send(&http, &url, h, BODY.into()).await;
                assert_eq!((s, code(&b)), (409, "nonce_replayed"), "{b}");
            }
            // …a new one is served, counted after the restored calls…
            let (s, b) = send(
                &http,
                &url,
                &signed(&erin_key, node, 4, token, BODY),
                BODY.into(),
            )
            .await;
            assert_eq!(s, 200, "{b}");
            let p: Prediction = serde_json::from_value(b).expect("prediction");
            assert_eq!(p.receipt.expect("receipt").counter, 4);
            assert_eq!(p.remaining.as_deref(), Some("6"));
            // …and the calls of both runs are recorded once each.
            let stats = second.stop().await;
            assert_eq!(stats.calls_recorded, 4);
            let (value, used, _) = usage_of(&reader, token).await;
            assert_eq!((value, used), (U256::from(6), U256::from(4)));

            // After a clean stop too: a third server refuses the second's request and charges
            // nothing more.
            let worker = ModelWorker::new(cfg).await.expect("worker");
            let third = lazai_worker::serve::start(worker, model, record, slow_batches())
                .await
                .expect("server");
            let url = format!("http://{}/v1/predict", third.addr);
            let (s, b) = send(
                &http,
                &url,
                &signed(&erin_key, node, 4, token, BODY),
                BODY.into(),
            )
            .await;
            assert_eq!((s, code(&b)), (409, "nonce_replayed"), "{b}");
            let stats = third.stop().await;
            assert_eq!(stats.calls_recorded, 0);
            let (value, used, _) = usage_of(&reader, token).await;
            assert_eq!(
                (value, used),
                (U256::from(6), U256::from(4)),
                "not charged twice"
            );
        },
    );
}

/// Calls served from a usage DAT stay payable: its owner can neither move its value to
/// another token nor escape the charge by giving the token away before the batch.
#[test]
fn served_calls_are_recorded_after_the_owner_moves_value_or_token_away() {
    with_chain(
        |_| {},
        |rpc, dir| async move {
            let price = lazai(1) / U256::from(1_000);
            let (worker, model, record) = registered_model(&rpc, &dir, 6, price, 12)
                .await
                .expect("registered model");
            let node = worker.address();
            let dave_key = account(3);
            let dave = Client::signing(&rpc, account(3), TIMEOUT).expect("client");
            let spent = buy(&dave, record.id, 5, price, 0).await;
            let spare = buy(&dave, record.id, 1, price, 0).await;
            let reader = Client::read(&rpc).expect("reader");
            let http = reqwest::Client::new();
            let server = lazai_worker::serve::start(worker, model, record, slow_batches())
                .await
                .expect("server");
            let url = format!("http://{}/v1/predict", server.addr);
            for nonce in 1..=5 {
                let (s, b) = send(
                    &http,
                    &url,
                    &signed(&dave_key, node, nonce, spent, BODY),
                    BODY.into(),
                )
                .await;
                assert_eq!(s, 200, "{b}");
            }
            // Before the batch, Dave tries to take the quota back, then gives the token away.
            let moved = dave
                .send(
                    DAT_ADDRESS,
                    D::transferValueCall {
                        fromTokenId: spent,
                        toTokenId: spare,
                        value: U256::from(5),
                    },
                    U256::ZERO,
                )
                .await;
            let e = moved.expect_err("the value of a usage DAT cannot move");
            assert!(format!("{e:#}").contains("ValueLocked"), "{e:#}");
            let erin = account(4).address();
            dave.send(
                DAT_ADDRESS,
                D::transferTokenCall {
                    tokenId: spent,
                    to: erin,
                },
                U256::ZERO,
            )
            .await
            .expect("transferToken");
            // Every served call is recorded and paid from the token, whoever holds it now.
            let stats = server.stop().await;
            assert_eq!((stats.calls_recorded, stats.failed_batches), (5, 0));
            let (value, used, owner) = usage_of(&reader, spent).await;
            assert_eq!((value, used, owner), (U256::ZERO, U256::from(5), erin));
            assert_eq!(usage_of(&reader, spare).await.0, U256::from(1));
        },
    );
}

/// The request signature: checked whenever it is sent (a relay cannot change the body or the
/// usage token), required when the server asks for it (LazAI's SDK header alone is accepted
/// otherwise); `lazai model call` sends it; a body over the limit gets a JSON 413.
#[test]
fn the_request_signature_binds_body_and_token_and_can_be_required() {
    with_chain(
        |_| {},
        |rpc, dir| async move {
            let price = lazai(1) / U256::from(1_000);
            let (worker, model, record) = registered_model(&rpc, &dir, 6, price, 13)
                .await
                .expect("registered model");
            let node = worker.address();
            let cfg = worker.config().clone();
            let erin_key = account(4);
            let erin = Client::signing(&rpc, account(4), TIMEOUT).expect("client");
            let token = buy(&erin, record.id, 10, price, 0).await;
            let other = buy(&erin, record.id, 10, price, 0).await;
            let http = reqwest::Client::new();

            let open =
                lazai_worker::serve::start(worker, model.clone(), record.clone(), slow_batches())
                    .await
                    .expect("server");
            let url = format!("http://{}/v1/predict", open.addr);
            // Both signatures: accepted.
            let (s, b) = send(
                &http,
                &url,
                &signed(&erin_key, node, 1, token, BODY),
                BODY.into(),
            )
            .await;
            assert_eq!(s, 200, "{b}");
            // LazAI's SDK header alone: accepted when not required.
            let sdk_only: Vec<_> = signed(&erin_key, node, 2, token, BODY)
                .into_iter()
                .filter(|(n, _)| *n != REQUEST_SIGNATURE_HEADER)
                .collect();
            let (s, b) = send(&http, &url, &sdk_only, BODY.into()).await;
            assert_eq!(s, 200, "{b}");
            // A relay changes the body, or the usage token: refused.
            let other_body = r#"{"features":[9.9,0.7,0,1.9,0.076,11,34,0.9978,3.51,0.56,9.4]}"#;
            let h = signed(&erin_key, node, 3, token, BODY);
            let (s, b) = send(&http, &url, &h, other_body.into()).await;
            assert_eq!((s, code(&b)), (401, "bad_request_signature"), "{b}");
            let mut h = signed(&erin_key, node, 4, token, BODY);
            for (n, v) in h.iter_mut() {
                if *n == "x-lazai-usage-token" {
                    *v = other.to_string();
                }
            }
            let (s, b) = send(&http, &url, &h, BODY.into()).await;
            assert_eq!((s, code(&b)), (401, "bad_request_signature"), "{b}");
            // A body over the limit: the server's JSON error shape.
            let big = format!(r#"{{"features":[{}1]}}"#, "1,".repeat(40_000));
            let (s, b) = send(
                &http,
                &url,
                &signed(&erin_key, node, 5, token, &big),
                big.clone().into(),
            )
            .await;
            assert_eq!((s, code(&b)), (413, "body_too_large"), "{b}");
            let stats = open.stop().await;
            assert_eq!(stats.calls_recorded, 2, "refused calls are not charged");

            // A server that requires it.
            let worker = ModelWorker::new(cfg).await.expect("worker");
            let strict = lazai_worker::serve::start(
                worker,
                model,
                record,
                ServeConfig {
                    require_request_signature: true,
                    ..slow_batches()
                },
            )
            .await
            .expect("server");
            let url = format!("http://{}/v1/predict", strict.addr);
            let sdk_only: Vec<_> = signed(&erin_key, node, 6, token, BODY)
                .into_iter()
                .filter(|(n, _)| *n != REQUEST_SIGNATURE_HEADER)
                .collect();
            let (s, b) = send(&http, &url, &sdk_only, BODY.into()).await;
            assert_eq!((s, code(&b)), (401, "request_signature_required"), "{b}");
            let (s, b) = send(
                &http,
                &url,
                &signed(&erin_key, node, 7, token, BODY),
                BODY.into(),
            )
            .await;
            assert_eq!(s, 200, "{b}");
            // Our CLI signs the whole request.
            let base = format!("http://{}", strict.addr);
            let key = alloy_primitives::hex::encode(erin_key.to_bytes());
            let token_arg = token.to_string();
            let out = tokio::task::spawn_blocking(move || {
                lazai_cmd(&[
                    "model",
                    "call",
                    "--url",
                    &base,
                    "--token",
                    &token_arg,
                    "--features",
                    "7.4,0.7,0,1.9,0.076,11,34,0.9978,3.51,0.56,9.4",
                    "--key",
                    &key,
                ])
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped())
                .output()
                .expect("lazai model call")
            })
            .await
            .expect("join");
            assert!(
                out.status.success(),
                "{}",
                String::from_utf8_lossy(&out.stderr)
            );
            assert!(String::from_utf8_lossy(&out.stdout).contains("(valid)"));
            let stats = strict.stop().await;
            assert_eq!(stats.calls_recorded, 2);
        },
    );
}

/// A call asking for a proof of inference: answered with a ZK task, proved by the worker in
/// the background, verified by the chain's Verifier against the model's registered circuit —
/// for the answer's logits and class on the committed input. A full proof queue is a 503
/// and charges nothing; a server started without proofs refuses with a clear 400.
#[test]
fn a_call_proved_in_zk_is_verified_on_chain() {
    with_chain(
        |_| {},
        |rpc, dir| async move {
            use lazai_abi::{IVerifier as X, TASK_VERIFIED, VERIFIER_ADDRESS};
            let price = lazai(1) / U256::from(1_000);
            let (worker, model, record) = registered_model(&rpc, &dir, 6, price, 3)
                .await
                .expect("registered model");
            let node = worker.address();
            let dave_key = account(3);
            let dave = Client::signing(&rpc, dave_key.clone(), TIMEOUT).expect("client");
            let token = buy(&dave, record.id, 20, price, 0).await;
            let server = lazai_worker::serve::start(
                worker,
                model.clone(),
                record.clone(),
                ServeConfig {
                    listen: "127.0.0.1:0".parse().expect("addr"),
                    zk: Some(lazai_worker::serve::ZkServe { queue: 1 }),
                    ..ServeConfig::default()
                },
            )
            .await
            .expect("server with proofs");
            // The model's circuit is on chain, from a dev setup.
            let reader = Client::read(&rpc).expect("reader");
            let circuit = reader
                .call(VERIFIER_ADDRESS, X::modelCircuitCall { modelId: record.id })
                .await
                .expect("modelCircuit");
            let info = reader
                .call(VERIFIER_ADDRESS, X::getCircuitCall { circuitId: circuit })
                .await
                .expect("getCircuit");
            assert!(info.dev);
            assert_eq!(info.modelId, record.id);

            let base = format!("http://{}", server.addr);
            let served = lazai_worker::serve::ServedModel::new(&base, node, DEVNET_CHAIN_ID);
            let features = [
                7.4, 0.7, 0.0, 1.9, 0.076, 11.0, 34.0, 0.9978, 3.51, 0.56, 9.4,
            ];
            let p = served
                .call_proved(&dave_key, U256::from(1), token, &features, false)
                .await
                .expect("proved call");
            let zk = p.zk.clone().expect("a ZK task");
            assert_eq!(zk.circuit_id, circuit);
            let receipt = p.receipt.clone().expect("receipt");
            assert_eq!(
                receipt.task_id,
                Some(zk.task_id),
                "the receipt names the task"
            );
            assert_eq!(receipt.signer(), Some(node));
            let milli = lazai_worker::serve::features_to_milli(&features).expect("features");
            assert_eq!(p.logits, model.logits(&milli).expect("logits"));
            lazai_cli::zk::wait_verified(&rpc, &zk, &p, Duration::from_secs(120))
                .await
                .expect("verified on chain");
            assert!(
                reader
                    .call(VERIFIER_ADDRESS, X::verifyResultCall { taskId: zk.task_id })
                    .await
                    .expect("verifyResult")
            );
            let task = reader
                .call(VERIFIER_ADDRESS, X::getTaskCall { taskId: zk.task_id })
                .await
                .expect("getTask");
            assert_eq!(
                (task.status, task.worker, task.modelId),
                (TASK_VERIFIED, node, record.id)
            );

            // Salt 0 on request ("clear"): anyone shown the input recomputes the commitment.
            let p = served
                .call_proved(&dave_key, U256::from(2), token, &features, true)
                .await
                .expect("clear call");
            let zk = p.zk.clone().expect("task");
            assert_eq!(zk.salt, alloy_primitives::B256::ZERO);
            let q = model.quantize_input(&milli).expect("quantize");
            assert_eq!(zk.input, q);
            assert_eq!(
                zk.input_commitment,
                alloy_primitives::B256::from(lazai_zkml::fr_to_be(&lazai_zkml::commitment(
                    &q,
                    lazai_zkml::Fr::from(0u64)
                )))
            );
            lazai_cli::zk::wait_verified(&rpc, &zk, &p, Duration::from_secs(120))
                .await
                .expect("verified on chain");

            // Malformed proof requests: clear 400s, before anything is charged or opened.
            let modulus = "0x30644e72e131a029b85045b68181585d2833e84879b9709143e1f593f0000001";
            let bad_bodies = [
                (
                    serde_json::json!({"features": features, "proof": "tee"}),
                    "bad_proof",
                ),
                (
                    serde_json::json!({"features": features, "proof": "zk", "salt": modulus}),
                    "bad_salt",
                ),
                (
                    serde_json::json!({"features": features, "proof": "zk", "clear": true, "salt": "0x01"}),
                    "bad_body",
                ),
                (
                    serde_json::json!({"features": features, "proof": "zk", "clear": true, "salt": format!("0x{}", "00".repeat(32))}),
                    "bad_salt",
                ),
            ];
            let tasks_before = reader
                .call(VERIFIER_ADDRESS, X::tasksCountCall {})
                .await
                .expect("tasksCount");
            for (i, (body, want)) in bad_bodies.into_iter().enumerate() {
                match served
                    .call_signed_body(&dave_key, U256::from(10 + i as u64), token, body)
                    .await
                {
                    Err(lazai_worker::serve::PredictError::Refused { status, body }) => {
                        assert_eq!(status.as_u16(), 400, "{body}");
                        assert!(body.contains(want), "{want}: {body}");
                    }
                    other => panic!("expected a refusal ({want}), got {other:?}"),
                }
            }
            assert_eq!(
                reader
                    .call(VERIFIER_ADDRESS, X::tasksCountCall {})
                    .await
                    .expect("tasksCount"),
                tasks_before,
                "no task opened for a refused call"
            );

            // A queue of one: concurrent proof requests beyond it get 503 and pay nothing
            // (six agents of Dave's, so that no nonce orders them).
            let mut calls = Vec::new();
            for _ in 0..6 {
                let agent = PrivateKeySigner::random();
                dave.send(
                    DAT_ADDRESS,
                    D::approveForClassCall {
                        classId: record.classId,
                        operator: agent.address(),
                        approved: true,
                    },
                    U256::ZERO,
                )
                .await
                .expect("approveForClass");
                calls.push(agent);
            }
            let calls: Vec<_> = calls
                .into_iter()
                .map(|agent| {
                    let served = served.clone();
                    tokio::spawn(async move {
                        served
                            .call_proved(&agent, U256::from(1), token, &features, false)
                            .await
                    })
                })
                .collect();
            let (mut ok, mut busy) = (0u64, 0u64);
            for c in calls {
                match c.await.expect("task") {
                    Ok(_) => ok += 1,
                    Err(lazai_worker::serve::PredictError::Refused { status, body }) => {
                        assert_eq!(status.as_u16(), 503, "{body}");
                        assert!(body.contains("proof_queue_full"), "{body}");
                        busy += 1;
                    }
                    Err(e) => panic!("{e}"),
                }
            }
            assert!(busy >= 1 && ok >= 1, "{ok} answered, {busy} refused");
            let stats = server.stop().await;
            assert_eq!(stats.calls, 2 + ok, "refused calls are not served");

            // Without proofs: a clear refusal.
            let (worker, model, record) = registered_model(&rpc, &dir, 7, price, 4)
                .await
                .expect("second model");
            let plain = lazai_worker::serve::start(
                worker,
                model,
                record.clone(),
                ServeConfig {
                    listen: "127.0.0.1:0".parse().expect("addr"),
                    ..ServeConfig::default()
                },
            )
            .await
            .expect("server");
            let token = buy(&dave, record.id, 2, price, 0).await;
            let served = lazai_worker::serve::ServedModel::new(
                &format!("http://{}", plain.addr),
                record.worker,
                DEVNET_CHAIN_ID,
            );
            match served
                .call_proved(&dave_key, U256::from(1), token, &features, false)
                .await
            {
                Err(lazai_worker::serve::PredictError::Refused { status, body }) => {
                    assert_eq!(status.as_u16(), 400);
                    assert!(body.contains("zk_unavailable"), "{body}");
                }
                other => panic!("expected a refusal, got {other:?}"),
            }
            // Nor optimistic results; an unknown proof kind names both; nothing is charged.
            match served
                .call_optimistic(&dave_key, U256::from(2), token, &features)
                .await
            {
                Err(lazai_worker::serve::PredictError::Refused { status, body }) => {
                    assert_eq!(status.as_u16(), 400);
                    assert!(body.contains("optimistic_unavailable"), "{body}");
                }
                other => panic!("expected a refusal, got {other:?}"),
            }
            match served
                .call_signed_body(
                    &dave_key,
                    U256::from(3),
                    token,
                    serde_json::json!({"features": features, "proof": "fraud"}),
                )
                .await
            {
                Err(lazai_worker::serve::PredictError::Refused { status, body }) => {
                    assert_eq!(status.as_u16(), 400);
                    assert!(
                        body.contains("bad_proof") && body.contains("optimistic"),
                        "{body}"
                    );
                }
                other => panic!("expected a refusal, got {other:?}"),
            }
            plain.stop().await;
        },
    );
}

/// On a chain whose genesis does not enable dev ZK setups, a server asked to prove refuses
/// to start (it has only dev keys), and says why.
#[test]
fn a_server_with_proofs_refuses_a_chain_without_dev_setups() {
    with_chain(
        |g| g.dev_zk_setups = false,
        |rpc, dir| async move {
            let price = lazai(1) / U256::from(1_000);
            let (worker, model, record) = registered_model(&rpc, &dir, 6, price, 5)
                .await
                .expect("registered model");
            let err = match lazai_worker::serve::start(
                worker,
                model,
                record,
                ServeConfig {
                    listen: "127.0.0.1:0".parse().expect("addr"),
                    zk: Some(lazai_worker::serve::ZkServe::default()),
                    ..ServeConfig::default()
                },
            )
            .await
            {
                Ok(_) => panic!("a server with dev keys started on a chain without dev setups"),
                Err(e) => format!("{e:#}"),
            };
            assert!(err.contains("does not accept dev ZK setups"), "{err}");
        },
    );
}
