//! LazAI's own contribution journey, as its SDK (alith) runs it, against a `lazai devnet`
//! process: the file is an OpenPGP message made by gpg with the wallet's signature of "Sign
//! to retrieve your encryption key" as password, served over HTTP; the contributor registers
//! its URL and SHA-256 (`addFile`), wraps the password to `DataRegistry.publicKey()` for
//! `addPermissionForFile(file, DataRegistry, key)`, pays for a job (`requestProof`), reads the
//! job's node, its URL and RSA key, posts the SDK's `ProofRequest` to `<url>/proof`, and
//! requests its reward: a DAT. Bad requests on the way get clear errors and post nothing.

use crate::dat::{devnet, free_port};
use crate::process::{provider, wait_for_height};
use alloy::providers::Provider as _;
use alloy_primitives::U256;
use alloy_signer::SignerSync as _;
use lazai_abi::{
    DAT_ADDRESS, DATA_REGISTRY_ADDRESS, IDataAnchoringToken as D, IDataRegistry as R,
    IVerifiedComputing as V, VERIFIED_COMPUTING_ADDRESS,
};
use lazai_client::Client;
use lazai_node::dev_account;
use rsa::pkcs1::DecodeRsaPublicKey as _;
use rsa::{Pkcs1v15Encrypt, RsaPublicKey};
use serde_json::{Value, json};
use sha2::Digest as _;
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../worker/tests/fixtures/sdk");
const SEED: &str = "Sign to retrieve your encryption key";

fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(format!("{FIXTURES}/{name}")).expect("fixture")
}

/// A file server on 127.0.0.1 as the contributor's upload target: `/data.gpg` (gpg's
/// message; any query string), `/tampered.gpg` (one byte of it flipped), and 404 for
/// anything else.
async fn file_server(data: Vec<u8>) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    let mut tampered = data.clone();
    let at = tampered.len() / 2;
    tampered[at] ^= 0x40;
    tokio::spawn(async move {
        loop {
            let Ok((mut stream, _)) = listener.accept().await else {
                return;
            };
            let (data, tampered) = (data.clone(), tampered.clone());
            tokio::spawn(async move {
                let mut head = Vec::new();
                let mut byte = [0u8; 1];
                while !head.ends_with(b"\r\n\r\n") {
                    match stream.read(&mut byte).await {
                        Ok(1) => head.push(byte[0]),
                        _ => return,
                    }
                }
                let head = String::from_utf8_lossy(&head);
                let target = head.split_whitespace().nth(1).unwrap_or("/");
                let path = target.split('?').next().unwrap_or("/");
                let (status, body) = match path {
                    "/data.gpg" => ("200 OK", data),
                    "/tampered.gpg" => ("200 OK", tampered),
                    _ => ("404 Not Found", b"not found".to_vec()),
                };
                let response = format!(
                    "HTTP/1.1 {status}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                    body.len()
                );
                let _ = stream.write_all(response.as_bytes()).await;
                let _ = stream.write_all(&body).await;
            });
        }
    });
    format!("http://{addr}")
}

/// What alith does with a node's or the registry's key: PKCS#1 PEM, RSA PKCS#1 v1.5, hex.
fn wrap(pem: &str, password: &[u8]) -> String {
    let key = RsaPublicKey::from_pkcs1_pem(pem.trim()).expect("a PKCS#1 PEM key");
    let wrapped = key
        .encrypt(&mut rand::rngs::OsRng, Pkcs1v15Encrypt, password)
        .expect("wrap");
    alloy_primitives::hex::encode(wrapped)
}

/// POSTs `body` to `url` and returns the status and JSON answer.
async fn post(url: &str, body: String) -> (u16, Value) {
    let response = alloy::transports::http::reqwest::Client::new()
        .post(url)
        .header("content-type", "application/json")
        .body(body)
        .send()
        .await
        .expect("an answer");
    let status = response.status().as_u16();
    let text = response.text().await.expect("body");
    let value = serde_json::from_str(&text).unwrap_or_else(|_| json!({ "raw": text }));
    (status, value)
}

fn error_type(v: &Value) -> &str {
    v["error"]["type"].as_str().unwrap_or("")
}

/// A file registered with `url` and SHA-256 `hash`, a job for it, and the job's node.
async fn file_and_job(user: &Client, url: &str, hash: &str) -> (U256, U256, V::NodeInfo) {
    let file = user
        .call(
            DATA_REGISTRY_ADDRESS,
            R::getFileIdByUrlCall { url: url.into() },
        )
        .await
        .expect("getFileIdByUrl");
    assert!(file.is_zero());
    user.send(
        DATA_REGISTRY_ADDRESS,
        R::addFileCall {
            url: url.into(),
            hash: hash.into(),
        },
        U256::ZERO,
    )
    .await
    .expect("addFile");
    let file = user
        .call(
            DATA_REGISTRY_ADDRESS,
            R::getFileIdByUrlCall { url: url.into() },
        )
        .await
        .expect("getFileIdByUrl");
    user.send(
        VERIFIED_COMPUTING_ADDRESS,
        V::requestProofCall { fileId: file },
        U256::from(100),
    )
    .await
    .expect("requestProof");
    let jobs = user
        .call(
            VERIFIED_COMPUTING_ADDRESS,
            V::fileJobIdsCall { fileId: file },
        )
        .await
        .expect("fileJobIds");
    let job = *jobs.last().expect("a job");
    let record = user
        .call(VERIFIED_COMPUTING_ADDRESS, V::getJobCall { jobId: job })
        .await
        .expect("getJob");
    let node = user
        .call(
            VERIFIED_COMPUTING_ADDRESS,
            V::getNodeCall {
                nodeAddress: record.nodeAddress,
            },
        )
        .await
        .expect("getNode");
    (file, job, node)
}

async fn proved(user: &Client, job: U256) -> bool {
    user.call(DATA_REGISTRY_ADDRESS, R::jobProvedCall { jobId: job })
        .await
        .expect("jobProved")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lazai_sdk_contribution_journey_ends_with_a_dat() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (rpc_port, p2p) = (free_port(), free_port());
    let _devnet = devnet(&dir.path().join("chain"), rpc_port, p2p, &[]);
    wait_for_height(&provider(rpc_port), 1).await;
    let rpc = format!("http://127.0.0.1:{rpc_port}");
    let signer = dev_account(1).expect("account 1");
    let user = Client::signing(&rpc, signer.clone(), Duration::from_secs(60)).expect("client");

    // The devnet's worker registers as a node and publishes its RSA key.
    let mut registry_key = String::new();
    for _ in 0..600 {
        registry_key = user
            .call(DATA_REGISTRY_ADDRESS, R::publicKeyCall {})
            .await
            .expect("publicKey");
        if !registry_key.is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(
        registry_key.starts_with("-----BEGIN RSA PUBLIC KEY-----"),
        "{registry_key:?}"
    );

    // The SDK's password: the wallet's signature of the seed, hex without 0x.
    let password = alloy_primitives::hex::encode(
        signer
            .sign_message_sync(SEED.as_bytes())
            .expect("sign")
            .as_bytes(),
    );
    assert_eq!(
        password,
        String::from_utf8(fixture("password.txt"))
            .expect("utf-8")
            .trim(),
        "the fixture was made with this account's SDK password"
    );
    let plain = fixture("plain.md");
    let sha256 = alloy_primitives::hex::encode(sha2::Sha256::digest(&plain));
    let files = file_server(fixture("plain.md.gpg")).await;

    let started = Instant::now();
    let url = format!("{files}/data.gpg");
    let (file, job, node) = file_and_job(&user, &url, &sha256).await;
    user.send(
        DATA_REGISTRY_ADDRESS,
        R::addPermissionForFileCall {
            fileId: file,
            account: DATA_REGISTRY_ADDRESS,
            key: wrap(&registry_key, password.as_bytes()),
        },
        U256::ZERO,
    )
    .await
    .expect("addPermissionForFile");
    assert!(node.url.starts_with("http://127.0.0.1:"), "{}", node.url);
    let proof_url = format!("{}/proof", node.url);
    let encryption_key = wrap(&node.publicKey, password.as_bytes());
    let request = |job: U256, file: U256, url: &str, key: &str| {
        json!({
            "job_id": job.to::<u64>(),
            "file_id": file.to::<u64>(),
            "file_url": url,
            "encryption_key": key,
            "encryption_seed": SEED,
            "proof_url": null,
            "nonce": null,
        })
        .to_string()
    };

    // Bad requests: each a clear error, nothing posted.
    let (status, v) = post(&proof_url, "not json".into()).await;
    assert_eq!((status, error_type(&v)), (400, "invalid_request"), "{v}");
    let (status, v) = post(
        &proof_url,
        request(job, file, "http://elsewhere/x", &encryption_key),
    )
    .await;
    assert_eq!((status, error_type(&v)), (400, "url_mismatch"), "{v}");
    let (status, v) = post(
        &proof_url,
        request(job, file + U256::from(1), &url, &encryption_key),
    )
    .await;
    assert_eq!((status, error_type(&v)), (400, "file_mismatch"), "{v}");
    let (status, v) = post(
        &proof_url,
        request(U256::from(999), file, &url, &encryption_key),
    )
    .await;
    assert_eq!((status, error_type(&v)), (404, "job_not_found"), "{v}");
    let (status, v) = post(&proof_url, request(job, file, &url, "zz")).await;
    assert_eq!(
        (status, error_type(&v)),
        (400, "invalid_encryption_key"),
        "{v}"
    );
    // A ciphertext that is not a wrapped password and a wrapped wrong password fail alike.
    let garbage = "5a".repeat(384);
    let (status, v) = post(&proof_url, request(job, file, &url, &garbage)).await;
    assert_eq!((status, error_type(&v)), (422, "wrong_key"), "{v}");
    let wrong = wrap(&node.publicKey, "ab".repeat(65).as_bytes());
    let (status, v2) = post(&proof_url, request(job, file, &url, &wrong)).await;
    assert_eq!((status, error_type(&v2)), (422, "wrong_key"), "{v2}");
    assert_eq!(v["error"]["message"], v2["error"]["message"]);
    assert!(!proved(&user, job).await);

    // The journey's proof request.
    let (status, v) = post(&proof_url, request(job, file, &url, &encryption_key)).await;
    assert_eq!(status, 200, "{v}");
    assert_eq!(v["success"], true, "{v}");
    let score = v["score"].as_u64().expect("score");
    assert!((1..=10_000).contains(&score), "{v}");
    assert!(proved(&user, job).await);
    let record = user
        .call(VERIFIED_COMPUTING_ADDRESS, V::getJobCall { jobId: job })
        .await
        .expect("getJob");
    assert_eq!(record.status, V::JobStatus::Completed);

    // The reward: a DAT of `score` to the contributor.
    let receipt = user
        .send(
            DATA_REGISTRY_ADDRESS,
            R::requestRewardCall {
                fileId: file,
                proofIndex: U256::from(1),
            },
            U256::ZERO,
        )
        .await
        .expect("requestReward");
    let elapsed = started.elapsed();
    let minted = lazai_client::event::<D::TokenMinted>(&receipt, DAT_ADDRESS).expect("minted");
    assert_eq!(minted.to, signer.address());
    let balance = user
        .call(
            DAT_ADDRESS,
            D::balanceOfCall {
                account: signer.address(),
                id: minted.tokenId,
            },
        )
        .await
        .expect("balanceOf");
    assert_eq!(balance, U256::from(score));
    eprintln!("LazAI SDK journey (addFile to DAT) on a devnet: {elapsed:?}, score {score}");

    // Replayed: the job is completed; nothing changes.
    let (status, v) = post(&proof_url, request(job, file, &url, &encryption_key)).await;
    assert_eq!((status, error_type(&v)), (409, "job_closed"), "{v}");

    // A tampered message and a URL that 404s: clear errors, no proof.
    let bad = format!("{files}/tampered.gpg");
    let (file2, job2, _) = file_and_job(&user, &bad, &sha256).await;
    let (status, v) = post(&proof_url, request(job2, file2, &bad, &encryption_key)).await;
    // OpenPGP cannot always tell an altered message from a wrong password (both fail the
    // integrity check): either answer, never a proof.
    assert_eq!(status, 422, "{v}");
    assert!(
        ["wrong_key", "undecryptable_file"].contains(&error_type(&v)),
        "{v}"
    );
    assert!(!proved(&user, job2).await);
    let gone = format!("{files}/gone.gpg");
    let (file3, job3, _) = file_and_job(&user, &gone, &sha256).await;
    let (status, v) = post(&proof_url, request(job3, file3, &gone, &encryption_key)).await;
    assert_eq!((status, error_type(&v)), (502, "fetch_failed"), "{v}");
    assert!(!proved(&user, job3).await);
    // The same plaintext under another URL: every line was contributed already.
    let copy = format!("{files}/data.gpg?copy");
    let (file4, job4, _) = file_and_job(&user, &copy, &sha256).await;
    let (status, v) = post(&proof_url, request(job4, file4, &copy, &encryption_key)).await;
    assert_eq!((status, error_type(&v)), (422, "rejected"), "{v}");
    assert!(
        v["error"]["message"]
            .as_str()
            .unwrap_or("")
            .contains("reason 9"),
        "{v}"
    );

    // A request body over the limit gets the same JSON error shape.
    let (status, v) = post(&proof_url, "x".repeat(100 * 1024)).await;
    assert_eq!((status, error_type(&v)), (413, "invalid_request"), "{v}");

    // Another node's job: a second attested node joins, and a job assigned to it is refused
    // by this node's API.
    let other = dev_account(5).expect("account 5");
    let block = user
        .provider()
        .get_block_by_number(alloy::eips::BlockNumberOrTag::Latest)
        .await
        .expect("rpc")
        .expect("block");
    let rd = lazai_attest::binding::report_data(
        lazai_types::DEVNET_CHAIN_ID,
        other.address(),
        &[9; 32],
        block.header.timestamp,
    );
    Client::signing(&rpc, other.clone(), Duration::from_secs(60))
        .expect("client")
        .send(
            VERIFIED_COMPUTING_ADDRESS,
            V::registerAttestedNodeCall {
                idaoId: U256::from(1),
                url: "http://127.0.0.1:9".into(),
                hpkePublicKey: [9; 32].into(),
                rsaPublicKey: String::new(),
                evidence: lazai_attest::dev::Simulator::random().quote(&rd).into(),
                collateral: Default::default(),
            },
            U256::ZERO,
        )
        .await
        .expect("a second node registers");
    let mut refused = false;
    for i in 0..2 {
        let url = format!("{files}/data.gpg?other={i}");
        let (file, job, node) = file_and_job(&user, &url, &sha256).await;
        if node.nodeAddress == other.address() {
            let (status, v) = post(&proof_url, request(job, file, &url, &encryption_key)).await;
            assert_eq!((status, error_type(&v)), (403, "wrong_node"), "{v}");
            assert!(!proved(&user, job).await);
            refused = true;
            break;
        }
    }
    assert!(
        refused,
        "round robin assigned one of two jobs to the second node"
    );
}
