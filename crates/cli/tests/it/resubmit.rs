//! Blobs their verifiers cannot read, on an in-process devnet with one verifier worker: a blob
//! missing when its flow starts and back two seconds later is retried and verified; one still
//! missing when the worker's retries run out gets its file rejected as unavailable (reason 1),
//! which only the file's owner can undo with `lazai data resubmit` — the packager then puts it
//! into a new flow, which verifies it — while a rejection for the data's own fault (a blob that
//! does not match its root) stays final.

use crate::dat::{Cli, key_hex, s};
use alloy_primitives::{Address, U256};
use alloy_signer_local::PrivateKeySigner;
use lazai_abi::{IVsc as V, ROLE_DATA, VSC_ADDRESS};
use lazai_blob::{BlobStore, Fetcher};
use lazai_cli::devnet::demo::{WINE_SCHEMA, dev_tee_idao, submit_file, wait_flow, wine_slice};
use lazai_client::Client;
use lazai_consensus::runtime::{Runner as _, tokio as cw_tokio};
use lazai_crypto::generate_keypair;
use lazai_node::{NodeSettings, dev_account, devnet_genesis, start_devnet};
use lazai_types::{DEVNET_CHAIN_ID, lazai};
use lazai_worker::{Packager, Worker, WorkerConfig};
use std::path::{Path, PathBuf};
use std::time::Duration;

const TIMEOUT: Duration = Duration::from_secs(60);
/// How long the worker retries an unreadable blob.
const FETCH_RETRY: Duration = Duration::from_secs(10);
const FLOW_VERIFIED: u8 = 2;
const FILE_VERIFIED: u8 = 2;
const FILE_REJECTED: u8 = 3;
const VERIFIER: u32 = 7;

fn account(i: u32) -> PrivateKeySigner {
    dev_account(i).expect("dev account")
}

fn signing(rpc: &str, i: u32) -> Client {
    Client::signing(rpc, account(i), TIMEOUT).expect("client")
}

#[test]
fn unreadable_blobs_are_retried_and_resubmitted_by_their_owners_only() {
    let _ = tracing_subscriber::fmt()
        .with_env_filter(std::env::var("LAZAI_LOG").unwrap_or_else(|_| "warn".into()))
        .with_test_writer()
        .try_init();
    let dir = tempfile::tempdir().expect("tempdir");
    let accounts: Vec<Address> = (0..10).map(|i| account(i).address()).collect();
    let genesis = devnet_genesis(DEVNET_CHAIN_ID, 1, &accounts, lazai(10_000), 1_000_000_000);
    let settings = NodeSettings::new(
        genesis,
        dir.path().join("chain"),
        "127.0.0.1:0".parse().expect("addr"),
        Duration::from_millis(100),
    );
    let p2p = lazai_cli::devnet::cluster::free_port_run(1).expect("port");
    let keys = vec![lazai_consensus::devnet_key(0)];
    let runtime = settings.runtime().with_worker_threads(2);
    let root = dir.path().to_path_buf();
    cw_tokio::Runner::new(runtime).start(|context| async move {
        let devnet = start_devnet(context, settings, keys, p2p)
            .await
            .expect("devnet starts");
        let rpc = format!("http://{}", devnet.rpc_addr());
        run(&rpc, &root).await;
    });
}

/// The local path of file `file`'s blob in `store`.
async fn blob_path(store: &BlobStore, c: &Client, file: U256) -> PathBuf {
    let record = c
        .call(
            lazai_abi::DATA_REGISTRY_ADDRESS,
            lazai_abi::IDataRegistry::getFileCall { fileId: file },
        )
        .await
        .expect("file");
    let name = record.url.rsplit('/').next().expect("a name");
    store.staging_dir().expect("a local store").join(name)
}

async fn status(c: &Client, file: U256) -> V::FileStatus {
    c.call(VSC_ADDRESS, V::fileStatusCall { fileId: file })
        .await
        .expect("status")
}

/// `lazai data ARGS`, off the runtime that runs the devnet.
async fn cli(rpc: &str, args: Vec<String>) -> crate::dat::Run {
    let data = Cli {
        rpc: rpc.to_string(),
        group: "data",
    };
    tokio::task::spawn_blocking(move || {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        data.run(&args)
    })
    .await
    .expect("the CLI ran")
}

async fn run(rpc: &str, root: &Path) {
    let owner = signing(rpc, 0);
    let store = BlobStore::open(&root.join("blobs").display().to_string()).expect("store");
    let (secret, public) = generate_keypair();
    let (idao, _) = dev_tee_idao(
        &owner,
        "wine",
        "ipfs://wine",
        ROLE_DATA,
        V::DataParams {
            schema: WINE_SCHEMA.to_string(),
            workerKey: public.to_bytes().into(),
            storeUrl: store.base_url().to_string(),
            quorumSize: 1,
            threshold: 1,
            deadlineBlocks: 2_000,
            nodeFee: U256::ZERO,
            usageQuota: U256::from(100),
        },
    )
    .await
    .expect("iDAO");
    owner
        .send(
            VSC_ADDRESS,
            V::addVerifierCall {
                idaoId: idao,
                node: account(VERIFIER).address(),
                url: "worker".into(),
            },
            U256::ZERO,
        )
        .await
        .expect("addVerifier");
    let worker = Worker::new(WorkerConfig {
        poll: Duration::from_millis(100),
        max_blob: 1 << 30,
        fetch_retry: FETCH_RETRY,
        serve_jobs: false,
        tx_timeout: TIMEOUT,
        ..WorkerConfig::new(
            rpc,
            idao,
            account(VERIFIER),
            secret,
            Fetcher::new(vec![store.clone()]),
            root.join("worker"),
        )
    })
    .await
    .expect("worker");
    let (stop, mut stopped) = tokio::sync::watch::channel(false);
    let task = tokio::spawn(worker.run(async move {
        let _ = stopped.wait_for(|s| *s).await;
    }));
    let mut packager =
        Packager::new(rpc, account(0), idao, Duration::from_millis(100)).expect("packager");

    // 1. A blob that is missing when the flow starts and back two seconds later.
    let (alice, bob) = (signing(rpc, 1), signing(rpc, 2));
    let late = submit_file(&alice, &store, idao, root, &wine_slice(0..100))
        .await
        .expect("file");
    let late_blob = blob_path(&store, &owner, late).await;
    let aside = root.join("aside");
    std::fs::rename(&late_blob, &aside).expect("hide the blob");
    let flow = packager.submit(vec![late]).await.expect("flow");
    tokio::time::sleep(Duration::from_secs(2)).await;
    std::fs::rename(&aside, &late_blob).expect("restore the blob");
    let closed = wait_flow(&owner, flow, TIMEOUT).await.expect("flow closes");
    assert_eq!(closed.status, FLOW_VERIFIED);
    let st = status(&owner, late).await;
    assert_eq!(
        (st.state, st.reason),
        (FILE_VERIFIED, 0),
        "a late blob is verified"
    );

    // 2. A blob still missing when the retries run out, and a blob that is not what its
    // root commits to.
    let lost = submit_file(&alice, &store, idao, root, &wine_slice(100..200))
        .await
        .expect("file");
    let tampered = submit_file(&bob, &store, idao, root, &wine_slice(200..300))
        .await
        .expect("file");
    let lost_blob = blob_path(&store, &owner, lost).await;
    std::fs::rename(&lost_blob, &aside).expect("hide the blob");
    let tampered_blob = blob_path(&store, &owner, tampered).await;
    let mut bytes = std::fs::read(&tampered_blob).expect("read");
    let mid = bytes.len() / 2;
    bytes[mid] ^= 1;
    std::fs::write(&tampered_blob, bytes).expect("tamper");
    let flow = packager.submit(vec![lost, tampered]).await.expect("flow");
    let closed = wait_flow(&owner, flow, TIMEOUT).await.expect("flow closes");
    assert_eq!(closed.status, FLOW_VERIFIED);
    let st = status(&owner, lost).await;
    assert_eq!((st.state, st.reason), (FILE_REJECTED, 1), "unavailable");
    let st = status(&owner, tampered).await;
    assert_eq!((st.state, st.reason), (FILE_REJECTED, 2), "integrity");

    // Nobody but the owner may resubmit: the CLI says so, and so does the chain.
    let stranger = key_hex(&account(3));
    let err = cli(
        rpc,
        vec![
            "resubmit".into(),
            lost.to_string(),
            "--key".into(),
            stranger,
        ],
    )
    .await
    .failed();
    assert!(err.contains("only its owner may resubmit it"), "{err}");
    let refused = signing(rpc, 3)
        .send(
            VSC_ADDRESS,
            V::resubmitFileCall { fileId: lost },
            U256::ZERO,
        )
        .await
        .expect_err("a stranger cannot resubmit");
    assert!(
        format!("{refused:#}").contains("NotFileOwner"),
        "{refused:#}"
    );
    // A verdict on the data is final, even for its owner.
    let err = cli(
        rpc,
        vec![
            "resubmit".into(),
            tampered.to_string(),
            "--key".into(),
            key_hex(&account(2)),
        ],
    )
    .await
    .failed();
    assert!(err.contains("a verdict on its data is final"), "{err}");
    let refused = bob
        .send(
            VSC_ADDRESS,
            V::resubmitFileCall { fileId: tampered },
            U256::ZERO,
        )
        .await
        .expect_err("a data-fault rejection is final");
    assert!(
        format!("{refused:#}").contains("NotResubmittable"),
        "{refused:#}"
    );

    // The owner puts the blob back and resubmits; the packager takes it into a new flow, which
    // verifies it.
    std::fs::rename(&aside, &lost_blob).expect("restore the blob");
    let out = cli(
        rpc,
        vec![
            "resubmit".into(),
            lost.to_string(),
            "--key".into(),
            key_hex(&account(1)),
            "--json".into(),
        ],
    )
    .await
    .json();
    assert_eq!(s(&out["state"]), "resubmitted", "{out}");
    let flow = loop {
        if let Some(flow) = packager.poll().await.expect("packager poll") {
            break flow;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let files = owner
        .call(VSC_ADDRESS, V::flowFilesCall { flowId: flow })
        .await
        .expect("files");
    assert_eq!(
        files,
        vec![lost],
        "only the resubmitted file is taken again"
    );
    let closed = wait_flow(&owner, flow, TIMEOUT).await.expect("flow closes");
    assert_eq!(closed.status, FLOW_VERIFIED);
    let st = status(&owner, lost).await;
    assert_eq!(
        (st.state, st.flowId),
        (FILE_VERIFIED, flow),
        "verified at last"
    );
    assert!(!st.tokenId.is_zero(), "with its DAT");
    assert_eq!(status(&owner, tampered).await.state, FILE_REJECTED);

    let _ = stop.send(true);
    task.await.expect("worker stops");
}
