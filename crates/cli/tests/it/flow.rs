//! A LazAI Flow end to end on an in-process devnet: an iDAO with a quorum of three verifier
//! workers (t = 2), three contributors sending encrypted slices of the wine-quality data set,
//! one a malformed file and one a duplicate; the flow is verified, good files get DATs whose
//! share ratios are their scores, the malformed file is rejected with its reason on chain, the
//! duplicate is rejected as one and earns nothing, and the blob store holds no plaintext. Then
//! the same verifiers serve LazAI's SDK path (`addFile` → `addPermissionForFile` →
//! `requestProof` → the worker's `addProof` + `completeJob` → `requestReward` → `balanceOf`).

use crate::lazai_abi::{
    DAT, DataAnchoringToken, DataRegistry, REGISTRY, VERIFIED, VerifiedComputing,
};
use alloy::network::EthereumWallet;
use alloy::providers::{Provider, ProviderBuilder};
use alloy::transports::http::reqwest;
use alloy_primitives::{Address, U256};
use alloy_signer_local::PrivateKeySigner;
use lazai_abi::{
    DAT_ADDRESS, IDAO_REGISTRY_ADDRESS, IDataAnchoringToken as D, IIdaoRegistry as G, IVsc as V,
    ROLE_DATA, VSC_ADDRESS,
};
use lazai_blob::{BlobStore, Fetcher};
use lazai_cli::devnet::demo::{WINE, WINE_SCHEMA, wine_slice};
use lazai_client::{Client, event};
use lazai_consensus::runtime::{Runner as _, tokio as cw_tokio};
use lazai_crypto::{EncryptParams, generate_keypair};
use lazai_node::{NodeSettings, dev_account, devnet_genesis, start_devnet};
use lazai_types::{DEVNET_CHAIN_ID, lazai};
use lazai_worker::{Packager, Worker, WorkerConfig, contribute};
use std::path::Path;
use std::time::Duration;

const TIMEOUT: Duration = Duration::from_secs(60);
const FLOW_VERIFIED: u8 = 2;
const FILE_VERIFIED: u8 = 2;
const FILE_REJECTED: u8 = 3;

fn account(i: u32) -> PrivateKeySigner {
    dev_account(i).expect("dev account")
}

fn signing(rpc: &str, i: u32) -> Client {
    Client::signing(rpc, account(i), TIMEOUT).expect("client")
}

/// Encrypts, uploads, registers and shares `text` with `idao`; the file id.
async fn submit_file(c: &Client, store: &BlobStore, idao: U256, dir: &Path, text: &str) -> U256 {
    lazai_cli::devnet::demo::submit_file(c, store, idao, dir, text)
        .await
        .expect("submit a file")
}

fn worker_config(
    rpc: &str,
    idao: U256,
    i: u32,
    secret: &lazai_crypto::SecretKey,
    store: &BlobStore,
    dir: &Path,
) -> WorkerConfig {
    WorkerConfig {
        poll: Duration::from_millis(100),
        max_blob: 1 << 30,
        tx_timeout: TIMEOUT,
        ..WorkerConfig::new(
            rpc,
            idao,
            account(i),
            secret.clone(),
            Fetcher::new(vec![store.clone()]),
            dir.join(format!("worker-{i}")),
        )
    }
}

async fn wait_flow(c: &Client, flow: U256) -> V::Flow {
    lazai_cli::devnet::demo::wait_flow(c, flow, Duration::from_secs(60))
        .await
        .expect("flow closes")
}

#[test]
fn a_quorum_of_three_verifies_a_flow_and_serves_the_sdk_path() {
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
        run_flow(&rpc, &root).await;
    });
}

async fn run_flow(rpc: &str, root: &Path) {
    let owner = signing(rpc, 0);
    let blobs = root.join("blobs");
    let store = BlobStore::open(&blobs.display().to_string()).expect("store");
    let (secret, public) = generate_keypair();

    // The iDAO: wine schema, a quorum of 3 of its 3 verifiers, 2 must agree.
    let registered = owner
        .send(
            IDAO_REGISTRY_ADDRESS,
            G::registerIdao_1Call {
                name: "wine".into(),
                metadataUri: "ipfs://wine".into(),
                roles: ROLE_DATA,
            },
            U256::ZERO,
        )
        .await
        .expect("register");
    let idao = event::<G::IdaoRegistered>(&registered, IDAO_REGISTRY_ADDRESS)
        .expect("IdaoRegistered")
        .idaoId;
    let fee = lazai(1) / U256::from(100);
    owner
        .send(
            VSC_ADDRESS,
            V::configureIdaoCall {
                idaoId: idao,
                params: V::DataParams {
                    schema: WINE_SCHEMA.to_string(),
                    workerKey: public.to_bytes().into(),
                    storeUrl: store.base_url().to_string(),
                    quorumSize: 3,
                    threshold: 2,
                    deadlineBlocks: 200,
                    nodeFee: fee,
                    usageQuota: U256::from(500),
                },
            },
            U256::ZERO,
        )
        .await
        .expect("configure");
    let class = owner
        .call(VSC_ADDRESS, V::dataConfigCall { idaoId: idao })
        .await
        .expect("config")
        .classId;
    // The iDAO accepts the dev TEE (this devnet's genesis enables it); each worker attests
    // when it starts.
    owner
        .send(
            IDAO_REGISTRY_ADDRESS,
            lazai_abi::ITeeRegistry::setTeePolicyCall {
                idaoId: idao,
                policy: lazai_abi::TeePolicy {
                    platforms: lazai_attest::Platform::Dev.bit(),
                    measurements: Vec::new(),
                    minTcbStatus: 0,
                    maxEvidenceAge: 3_600,
                },
            },
            U256::ZERO,
        )
        .await
        .expect("setTeePolicy");
    // Governance (account 0, also the iDAO's owner here) lets this iDAO's attested workers
    // register as VerifiedComputing nodes (LazAI's SDK path).
    owner
        .send(
            lazai_abi::VERIFIED_COMPUTING_ADDRESS,
            lazai_abi::IVerifiedComputing::allowNodeIdaoCall {
                idaoId: idao,
                allowed: true,
            },
            U256::ZERO,
        )
        .await
        .expect("allowNodeIdao");
    let verifier_ids = [7u32, 8, 9];
    for &i in &verifier_ids {
        owner
            .send(
                VSC_ADDRESS,
                V::addVerifierCall {
                    idaoId: idao,
                    node: account(i).address(),
                    url: format!("worker-{i}"),
                },
                U256::ZERO,
            )
            .await
            .expect("addVerifier");
    }
    let (stop, rx) = tokio::sync::watch::channel(false);
    let mut tasks = Vec::new();
    for &i in &verifier_ids {
        let worker = Worker::new(worker_config(rpc, idao, i, &secret, &store, root))
            .await
            .expect("worker");
        let mut rx = rx.clone();
        tasks.push(tokio::spawn(worker.run(async move {
            let _ = rx.wait_for(|s| *s).await;
        })));
    }

    // Contributions: three disjoint slices, a malformed file, a duplicate of slice one.
    let slices = [
        wine_slice(0..400),
        wine_slice(400..800),
        wine_slice(800..1200),
    ];
    let malformed = "this is not,the wine schema\n1,2\n3\n".to_string();
    let mut files = Vec::new();
    for (i, text) in slices.iter().enumerate() {
        files.push(submit_file(&signing(rpc, 1 + i as u32), &store, idao, root, text).await);
    }
    let bad = submit_file(&signing(rpc, 4), &store, idao, root, &malformed).await;
    let dup = submit_file(&signing(rpc, 5), &store, idao, root, &slices[0]).await;

    // The blob store holds ciphertext only.
    for entry in std::fs::read_dir(&blobs).expect("blobs") {
        let bytes = std::fs::read(entry.expect("entry").path()).expect("read blob");
        for needle in [
            "fixed acidity",
            "this is not",
            WINE.lines().nth(1).expect("row"),
        ] {
            assert!(
                !bytes.windows(needle.len()).any(|w| w == needle.as_bytes()),
                "plaintext {needle:?} in the blob store"
            );
        }
    }

    // The iDAO packages all of them into one flow.
    let mut packager =
        Packager::new(rpc, account(0), idao, Duration::from_millis(100)).expect("packager");
    let submitter_before = owner
        .provider()
        .get_balance(owner.from())
        .await
        .expect("balance");
    let flow_files = vec![files[0], files[1], files[2], bad, dup];
    let flow_id = packager
        .submit(flow_files.clone())
        .await
        .expect("submitFlow");
    let flow = wait_flow(&owner, flow_id).await;
    assert_eq!(flow.status, FLOW_VERIFIED, "the flow is verified");
    assert!(!flow.resultsRoot.is_zero(), "its results root is anchored");
    assert!(flow.bestVotes >= U256::from(2));
    let submitter_after = owner
        .provider()
        .get_balance(owner.from())
        .await
        .expect("balance");
    assert!(submitter_after < submitter_before);

    for (i, &f) in files.iter().enumerate() {
        let st = owner
            .call(VSC_ADDRESS, V::fileStatusCall { fileId: f })
            .await
            .expect("status");
        assert_eq!(st.state, FILE_VERIFIED, "slice {i} verified");
        assert!(st.score > 0 && st.score <= 10_000);
        let token = owner
            .call(
                DAT_ADDRESS,
                D::tokenInfoCall {
                    tokenId: st.tokenId,
                },
            )
            .await
            .expect("token");
        assert_eq!(token.classId, class, "minted into the iDAO's dataset class");
        assert_eq!(
            token.owner,
            account(1 + i as u32).address(),
            "to its contributor"
        );
        assert_eq!(
            token.shareRatio,
            U256::from(st.score),
            "share ratio = score"
        );
        assert_eq!(token.value, U256::from(500), "value = the usage quota");
    }
    let rejected = owner
        .call(VSC_ADDRESS, V::fileStatusCall { fileId: bad })
        .await
        .expect("status");
    assert_eq!(rejected.state, FILE_REJECTED);
    assert_eq!(rejected.score, 0);
    assert!(rejected.reason > 0, "the rejection's reason is on chain");
    assert!(rejected.tokenId.is_zero(), "no DAT for a rejected file");
    let duplicate = owner
        .call(VSC_ADDRESS, V::fileStatusCall { fileId: dup })
        .await
        .expect("status");
    // Every row of the copy is the first slice's, accepted earlier in the same flow.
    assert_eq!(duplicate.state, FILE_REJECTED, "the duplicate is rejected");
    assert_eq!(duplicate.reason, 9, "as a duplicate");
    assert!(duplicate.tokenId.is_zero(), "no DAT for a duplicate");
    // Every verifier that agreed earned its fee.
    for &i in &verifier_ids {
        let earned = owner
            .call(
                VSC_ADDRESS,
                V::earnedCall {
                    node: account(i).address(),
                },
            )
            .await
            .expect("earned");
        assert!(earned == fee || earned.is_zero());
    }

    sdk_path(rpc, &store, &secret, root, verifier_ids[0]).await;

    let _ = stop.send(true);
    for t in tasks {
        t.await.expect("worker stops");
    }
}

/// LazAI's SDK path through `sol!` clients of exactly the `lazai-abi.md` signatures, with the
/// proof posted by the real worker `node`.
async fn sdk_path(
    rpc: &str,
    store: &BlobStore,
    secret: &lazai_crypto::SecretKey,
    root: &Path,
    node: u32,
) {
    let url: reqwest::Url = rpc.parse().expect("url");
    let wallet = |i: u32| {
        ProviderBuilder::new()
            .wallet(EthereumWallet::from(account(i)))
            .connect_http(url.clone())
            .erased()
    };
    // No governance listing: each worker registered itself with its (dev) TEE evidence when it
    // started, so it is an active node with its HPKE key, in the order they started.
    let verified = VerifiedComputing::new(VERIFIED, wallet(0));
    let info = verified
        .getNode(account(node).address())
        .call()
        .await
        .expect("getNode");
    assert_eq!(info.status, VerifiedComputing::NodeStatus::Active);
    assert_eq!(
        info.publicKey,
        format!(
            "0x{}",
            alloy_primitives::hex::encode(secret.public_key().to_bytes())
        )
    );
    assert_eq!(
        verified.activeNodeList().call().await.expect("list")[0],
        account(node).address()
    );
    let contributor = account(6).address();
    // One provider, so one nonce manager, for the contributor's three clients.
    let p = wallet(6);
    let registry = DataRegistry::new(REGISTRY, p.clone());
    let verified = VerifiedComputing::new(VERIFIED, p.clone());
    let dat = DataAnchoringToken::new(DAT, p);

    let path = root.join("sdk.csv");
    std::fs::write(&path, wine_slice(1200..1599)).expect("write");
    let contribution = contribute(
        &path,
        store,
        &secret.public_key(),
        root,
        EncryptParams::default(),
    )
    .await
    .expect("contribute");
    let receipt = registry
        .addFile(contribution.url.clone(), contribution.hash.to_string())
        .send()
        .await
        .expect("addFile")
        .get_receipt()
        .await
        .expect("receipt");
    assert!(receipt.status());
    let file = registry
        .getFileIdByUrl(contribution.url.clone())
        .call()
        .await
        .expect("getFileIdByUrl");
    registry
        .addPermissionForFile(
            file,
            account(node).address(),
            contribution.sealed_key.to_hex(),
        )
        .send()
        .await
        .expect("addPermissionForFile")
        .get_receipt()
        .await
        .expect("receipt");
    let fee = verified.nodeFee().call().await.expect("nodeFee");
    let receipt = verified
        .requestProof(file)
        .value(fee)
        .send()
        .await
        .expect("requestProof")
        .get_receipt()
        .await
        .expect("receipt");
    assert!(receipt.status());

    // The worker posts the proof and completes the job.
    let job = verified.fileJobIds(file).call().await.expect("fileJobIds")[0];
    let mut completed = false;
    for _ in 0..600 {
        let j = verified.getJob(job).call().await.expect("getJob");
        assert_eq!(j.nodeAddress, account(node).address());
        if j.status == VerifiedComputing::JobStatus::Completed {
            completed = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(completed, "the worker completed the job");
    let index = U256::from(1);
    let proof = registry
        .getFileProof(file, index)
        .call()
        .await
        .expect("getFileProof");
    let score = proof.data.score;
    assert!(score > U256::ZERO && score <= U256::from(10_000));
    assert_eq!(proof.data.id, file);
    let receipt = registry
        .requestReward(file, index)
        .send()
        .await
        .expect("requestReward")
        .get_receipt()
        .await
        .expect("receipt");
    assert!(receipt.status());
    let rewarded = registry.getFile(file).call().await.expect("getFile");
    assert_eq!(rewarded.rewardAmount, score);
    let minted = receipt
        .inner
        .logs()
        .iter()
        .find_map(|l| l.log_decode::<DataAnchoringToken::TokenMinted>().ok())
        .expect("TokenMinted")
        .inner
        .data;
    assert_eq!(minted.to, contributor);
    assert_eq!(
        dat.balanceOf(contributor, minted.tokenId)
            .call()
            .await
            .expect("balanceOf"),
        score,
        "balanceOf shows the DAT, amount = score"
    );
    assert_eq!(
        dat.uri(minted.tokenId).call().await.expect("uri"),
        contribution.url
    );
    assert!(dat.verified(minted.tokenId).call().await.expect("verified"));
    // A second reward is refused.
    let again = registry
        .requestReward(file, index)
        .call()
        .await
        .expect_err("a second reward is refused");
    assert!(
        again
            .as_decoded_error::<DataRegistry::FileAlreadyRewarded>()
            .is_some(),
        "{again}"
    );
}
