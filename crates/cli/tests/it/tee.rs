//! TEE attestation on a running devnet: a dev-TEE worker registers on a chain whose genesis
//! enables the dev TEE and is refused on one that does not; a node whose evidence expires stops
//! receiving jobs; a policy change takes nodes out of assignment at once.

use alloy_primitives::{Address, B256, Bytes, U256};
use alloy_signer_local::PrivateKeySigner;
use lazai_abi::{
    DATA_REGISTRY_ADDRESS, IDAO_REGISTRY_ADDRESS, IDataRegistry as R, IIdaoRegistry as G,
    ITeeRegistry as T, IVerifiedComputing as VC, IVsc as V, ROLE_DATA, TeePolicy,
    VERIFIED_COMPUTING_ADDRESS, VSC_ADDRESS,
};
use lazai_attest::{Platform, binding, dev::Simulator, source::Source};
use lazai_blob::{BlobStore, Fetcher};
use lazai_client::{Client, event};
use lazai_consensus::runtime::{Runner as _, tokio as cw_tokio};
use lazai_node::{NodeSettings, dev_account, devnet_genesis, start_devnet};
use lazai_types::{DEVNET_CHAIN_ID, Genesis, lazai};
use lazai_worker::{Worker, WorkerConfig};
use std::future::Future;
use std::path::{Path, PathBuf};
use std::time::Duration;

const TIMEOUT: Duration = Duration::from_secs(60);
const MAX_AGE: u64 = 3_600;

pub(crate) fn account(i: u32) -> PrivateKeySigner {
    dev_account(i).expect("dev account")
}

fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_secs()
}

/// Runs `test(rpc, dir)` against an in-process one-validator devnet whose genesis `tweak`
/// adjusted.
pub(crate) fn with_chain<F, Fut>(tweak: impl FnOnce(&mut Genesis), test: F)
where
    F: FnOnce(String, PathBuf) -> Fut + Send + 'static,
    Fut: Future<Output = ()> + Send + 'static,
{
    let dir = tempfile::tempdir().expect("tempdir");
    let accounts: Vec<Address> = (0..10).map(|i| account(i).address()).collect();
    let mut genesis = devnet_genesis(DEVNET_CHAIN_ID, 1, &accounts, lazai(10_000), 1_000_000_000);
    tweak(&mut genesis);
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
        test(format!("http://{}", devnet.rpc_addr()), root).await;
    });
}

/// An iDAO owned by account 1, configured for data with `secret`'s worker key, with `policy`.
pub(crate) async fn idao(
    rpc: &str,
    secret: &lazai_crypto::SecretKey,
    policy: Option<TeePolicy>,
) -> U256 {
    let owner = Client::signing(rpc, account(1), TIMEOUT).expect("client");
    let r = owner
        .send(
            IDAO_REGISTRY_ADDRESS,
            G::registerIdao_1Call {
                name: "tee".into(),
                metadataUri: "ipfs://tee".into(),
                roles: ROLE_DATA,
            },
            U256::ZERO,
        )
        .await
        .expect("register");
    let id = event::<G::IdaoRegistered>(&r, IDAO_REGISTRY_ADDRESS)
        .expect("IdaoRegistered")
        .idaoId;
    owner
        .send(
            VSC_ADDRESS,
            V::configureIdaoCall {
                idaoId: id,
                params: V::DataParams {
                    schema: r#"{"format":"csv","columns":[{"name":"a","type":"int"}]}"#.into(),
                    workerKey: secret.public_key().to_bytes().into(),
                    storeUrl: String::new(),
                    quorumSize: 1,
                    threshold: 1,
                    deadlineBlocks: 100,
                    nodeFee: U256::ZERO,
                    usageQuota: U256::from(1),
                },
            },
            U256::ZERO,
        )
        .await
        .expect("configure");
    if let Some(policy) = policy {
        owner
            .send(
                IDAO_REGISTRY_ADDRESS,
                T::setTeePolicyCall { idaoId: id, policy },
                U256::ZERO,
            )
            .await
            .expect("setTeePolicy");
    }
    id
}

pub(crate) fn dev_policy(measurements: Vec<B256>) -> TeePolicy {
    TeePolicy {
        platforms: Platform::Dev.bit(),
        measurements,
        minTcbStatus: 0,
        maxEvidenceAge: MAX_AGE,
    }
}

pub(crate) fn worker_config(
    rpc: &str,
    idao: U256,
    i: u32,
    secret: &lazai_crypto::SecretKey,
    dir: &Path,
) -> WorkerConfig {
    let store = BlobStore::open(dir.join("blobs").to_str().expect("utf-8")).expect("store");
    WorkerConfig {
        poll: Duration::from_millis(100),
        tx_timeout: TIMEOUT,
        tee: Source::Dev(Simulator::random()),
        ..WorkerConfig::new(
            rpc,
            idao,
            account(i),
            secret.clone(),
            Fetcher::new(vec![store]),
            dir.join(format!("w{i}")),
        )
    }
}

/// A file registered by account 6 and a proof job for it; the assigned node, or the revert.
async fn job(rpc: &str, tag: &str) -> Result<Address, String> {
    let c = Client::signing(rpc, account(6), TIMEOUT).expect("client");
    let r = c
        .send(
            DATA_REGISTRY_ADDRESS,
            R::addFileCall {
                url: format!("file:///{tag}"),
                hash: "0xabc".into(),
            },
            U256::ZERO,
        )
        .await
        .expect("addFile");
    let file = event::<R::FileAdded>(&r, DATA_REGISTRY_ADDRESS)
        .expect("FileAdded")
        .fileId;
    match c
        .send(
            VERIFIED_COMPUTING_ADDRESS,
            VC::requestProofCall { fileId: file },
            U256::ZERO,
        )
        .await
    {
        Ok(r) => Ok(event::<VC::JobSubmitted>(&r, VERIFIED_COMPUTING_ADDRESS)
            .expect("JobSubmitted")
            .nodeAddress),
        Err(e) => Err(format!("{e:#}")),
    }
}

async fn assignable(rpc: &str, node: Address) -> bool {
    Client::read(rpc)
        .expect("client")
        .call(
            VERIFIED_COMPUTING_ADDRESS,
            VC::isAssignableCall { nodeAddress: node },
        )
        .await
        .expect("isAssignable")
}

#[test]
fn a_dev_tee_worker_is_refused_on_a_chain_without_dev_tee() {
    with_chain(
        |g| g.dev_tee = false,
        |rpc, dir| async move {
            let (secret, _) = lazai_crypto::generate_keypair();
            // A dev policy cannot even be set here.
            let owner = Client::signing(&rpc, account(1), TIMEOUT).expect("client");
            let id = idao(&rpc, &secret, None).await;
            let err = owner
                .send(
                    IDAO_REGISTRY_ADDRESS,
                    T::setTeePolicyCall {
                        idaoId: id,
                        policy: dev_policy(Vec::new()),
                    },
                    U256::ZERO,
                )
                .await
                .expect_err("a dev policy on a chain without dev TEE");
            assert!(format!("{err:#}").contains("InvalidTeePolicy"), "{err:#}");
            // Under a hardware-only policy the dev-TEE worker refuses to start, saying why.
            owner
                .send(
                    IDAO_REGISTRY_ADDRESS,
                    T::setTeePolicyCall {
                        idaoId: id,
                        policy: TeePolicy {
                            platforms: Platform::Tdx.bit() | Platform::SevSnp.bit(),
                            ..dev_policy(Vec::new())
                        },
                    },
                    U256::ZERO,
                )
                .await
                .expect("hardware policy");
            let err = Worker::new(worker_config(&rpc, id, 7, &secret, &dir))
                .await
                .err()
                .expect("the worker is refused");
            let text = format!("{err:#}");
            assert!(text.contains("does not accept the dev TEE"), "{text}");
            assert!(!assignable(&rpc, account(7).address()).await);
        },
    );
}

#[test]
fn attested_workers_get_jobs_until_their_evidence_expires_or_the_policy_drops_them() {
    with_chain(
        |g| assert!(g.dev_tee, "devnets enable the dev TEE"),
        |rpc, dir| async move {
            let (secret, public) = lazai_crypto::generate_keypair();
            let id = idao(&rpc, &secret, Some(dev_policy(Vec::new()))).await;
            Client::signing(&rpc, account(0), TIMEOUT)
                .expect("client")
                .send(
                    VERIFIED_COMPUTING_ADDRESS,
                    VC::allowNodeIdaoCall {
                        idaoId: id,
                        allowed: true,
                    },
                    U256::ZERO,
                )
                .await
                .expect("governance allows the iDAO's nodes");
            // A real worker registers itself with dev evidence when it starts.
            let worker = Worker::new(worker_config(&rpc, id, 7, &secret, &dir))
                .await
                .expect("the dev-TEE worker registers");
            assert_eq!(worker.attestation().platform, "dev");
            let w = account(7).address();
            assert!(assignable(&rpc, w).await);

            // A second node registers with evidence that is about to age out.
            let node = account(8);
            let issued = unix_now() - MAX_AGE + 4;
            let rd =
                binding::report_data(DEVNET_CHAIN_ID, node.address(), &public.to_bytes(), issued);
            let c = Client::signing(&rpc, node.clone(), TIMEOUT).expect("client");
            c.send(
                VERIFIED_COMPUTING_ADDRESS,
                VC::registerAttestedNodeCall {
                    idaoId: id,
                    url: "https://node8".into(),
                    hpkePublicKey: public.to_bytes().into(),
                    rsaPublicKey: String::new(),
                    evidence: Bytes::from(Simulator::random().quote(&rd)),
                    collateral: Bytes::new(),
                },
                U256::ZERO,
            )
            .await
            .expect("registerAttestedNode");
            assert!(assignable(&rpc, node.address()).await);
            // Round robin over both while both are attested.
            let first = [job(&rpc, "a").await, job(&rpc, "b").await];
            assert!(
                first.contains(&Ok(w)) && first.contains(&Ok(node.address())),
                "{first:?}"
            );

            // After its evidence expires, node 8 gets no job, though it is still listed.
            tokio::time::sleep(Duration::from_secs(6)).await;
            assert!(!assignable(&rpc, node.address()).await);
            for tag in ["c", "d", "e"] {
                assert_eq!(job(&rpc, tag).await, Ok(w), "job {tag}");
            }

            // The owner allows only another measurement: the worker is out at once.
            let owner = Client::signing(&rpc, account(1), TIMEOUT).expect("client");
            owner
                .send(
                    IDAO_REGISTRY_ADDRESS,
                    T::setTeePolicyCall {
                        idaoId: id,
                        policy: dev_policy(vec![B256::repeat_byte(9)]),
                    },
                    U256::ZERO,
                )
                .await
                .expect("policy change");
            assert!(!assignable(&rpc, w).await);
            let err = job(&rpc, "f").await.expect_err("nobody is assignable");
            assert!(err.contains("NoAttestedNode"), "{err}");
            drop(worker);
        },
    );
}

/// `lazai attest verify` on the vendor samples, as a user runs it.
#[test]
fn attest_verify_checks_evidence_files_offline() {
    let lazai = env!("CARGO_BIN_EXE_lazai");
    let data = Path::new(env!("CARGO_MANIFEST_DIR")).join("../attest/testdata");
    let run = |args: &[&str]| {
        let out = std::process::Command::new(lazai)
            .arg("attest")
            .arg("verify")
            .args(args)
            .output()
            .expect("run lazai");
        (
            out.status.success(),
            String::from_utf8_lossy(&out.stdout).to_string(),
            String::from_utf8_lossy(&out.stderr).to_string(),
        )
    };
    let p = |f: &str| data.join(f).to_str().expect("utf-8").to_string();
    // SGX quote with collateral, inside its window: valid, JSON names platform and TCB.
    let (ok, out, err) = run(&[
        "--quote",
        &p("sgx_quote"),
        "--collateral",
        &p("sgx_quote_collateral.json"),
        "--at",
        "1750420800",
        "--json",
    ]);
    assert!(ok, "{err}");
    let v: serde_json::Value = serde_json::from_str(&out).expect("json");
    assert_eq!(v["valid"], true);
    assert_eq!(v["platform"], "sgx");
    assert_eq!(v["tcbStatus"], "ConfigurationAndSWHardeningNeeded");
    assert!(
        v["measurements"]["mrenclave"]
            .as_str()
            .expect("mrenclave")
            .starts_with("0x")
    );
    // The same after its collateral expired: exit 1, the reason on stderr.
    let (ok, _, err) = run(&[
        "--quote",
        &p("sgx_quote"),
        "--collateral",
        &p("sgx_quote_collateral.json"),
        "--at",
        "1800000000",
    ]);
    assert!(!ok);
    assert!(err.contains("expired"), "{err}");
    // The SEV-SNP report is hex text; its VCEK is DER.
    let (ok, out, err) = run(&[
        "--quote",
        &p("report_milan.hex"),
        "--collateral",
        &p("vcek_milan.der"),
        "--at",
        "1750420800",
    ]);
    assert!(ok, "{err}");
    assert!(out.contains("platform      sev-snp"), "{out}");
    // Nitro needs no collateral; before its chain was valid it is refused.
    let (ok, _, _) = run(&[
        "--quote",
        &p("nitro_attestation.cose"),
        "--at",
        "1736180000",
    ]);
    assert!(ok);
    let (ok, _, err) = run(&[
        "--quote",
        &p("nitro_attestation.cose"),
        "--at",
        "1700000000",
    ]);
    assert!(!ok && err.contains("not yet valid"), "{err}");
    // Missing collateral and garbage are clear errors.
    let (ok, _, err) = run(&["--quote", &p("tdx_quote"), "--at", "1750420800"]);
    assert!(!ok && err.contains("needs collateral"), "{err}");
    let (ok, _, err) = run(&["--quote", &p("README.md")]);
    assert!(!ok && err.contains("unrecognized evidence"), "{err}");
    // A dev quote is refused unless allowed, and labelled dev when it is.
    let dir = tempfile::tempdir().expect("tempdir");
    let quote = dir.path().join("dev.quote");
    let rd = binding::report_data(1, Address::ZERO, &[0; 32], 5);
    std::fs::write(
        &quote,
        alloy_primitives::hex::encode(Simulator::random().quote(&rd)),
    )
    .expect("write");
    let q = quote.to_str().expect("utf-8");
    let (ok, _, err) = run(&["--quote", q]);
    assert!(!ok && err.contains("dev TEE is not enabled"), "{err}");
    let (ok, out, _) = run(&["--quote", q, "--allow-dev"]);
    assert!(ok && out.contains("dev (simulated TEE"), "{out}");
}
