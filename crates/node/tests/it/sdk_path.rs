//! LazAI's SDK path over JSON-RPC, the way its Python SDK drives it: governance registers
//! verifier nodes and sets the fee, a contributor registers a file and grants a node its sealed
//! key, pays for a proof job, the assigned node signs and posts its proof, completes the job
//! and claims the fee, and the contributor is rewarded with a verified DAT — plus the refusals
//! along the way, decoded as the modules' custom errors and shown to change nothing.
//!
//! The clients are declared in [`crate::lazai_abi`] from `../shared/lazai-abi.md` (its struct
//! and function names), not imported from `lazai_ledger`.

use crate::lazai_abi::*;
use crate::support::*;
use alloy::contract::SolCallBuilder;
use alloy::providers::{DynProvider, Provider};
use alloy::rpc::types::TransactionReceipt;
use alloy::signers::Signer;
use alloy::sol_types::{SolCall, SolError, SolEvent, SolInterface, SolValue};
use alloy_primitives::{Address, Bytes, Signature, U256, keccak256};
use alloy_signer_local::PrivateKeySigner;

fn u(n: u64) -> U256 {
    U256::from(n)
}

/// 0.001 LAZAI in wei.
fn node_fee() -> U256 {
    lazai_types::lazai(1) / u(1_000)
}

/// A party of the flow: its key and its view of the three modules.
struct Party {
    key: PrivateKeySigner,
    registry: Registry,
    verified: Verified,
}

impl Party {
    fn new(devnet: &lazai_node::Devnet, key: PrivateKeySigner) -> Self {
        let p = provider(devnet, key.clone());
        Self {
            registry: DataRegistry::new(REGISTRY, p.clone()),
            verified: VerifiedComputing::new(VERIFIED, p),
            key,
        }
    }

    fn address(&self) -> Address {
        self.key.address()
    }
}

/// LazAI's SDK proof signature: `message_hash = keccak256(abi.encode(data))`, then an EIP-191
/// `personal_sign` of those 32 bytes.
async fn sign_proof(key: &PrivateKeySigner, data: DataRegistry::ProofData) -> DataRegistry::Proof {
    let message_hash = keccak256(data.abi_encode());
    let signature = key
        .sign_message(message_hash.as_slice())
        .await
        .expect("sign");
    let bytes = signature.as_bytes();
    assert!(matches!(bytes[64], 27 | 28), "eth_account's v: 27 or 28");
    DataRegistry::Proof {
        signature: Bytes::from(bytes.to_vec()),
        data,
    }
}

/// Sends raw calldata from `key` to `to`; requires success.
async fn send_raw(
    devnet: &lazai_node::Devnet,
    key: &PrivateKeySigner,
    to: Address,
    input: Vec<u8>,
) -> TransactionReceipt {
    use alloy::network::TransactionBuilder;
    let tx = alloy::rpc::types::TransactionRequest::default()
        .with_to(to)
        .with_input(input);
    let receipt = provider(devnet, key.clone())
        .send_transaction(tx)
        .await
        .expect("sent")
        .get_receipt()
        .await
        .expect("receipt");
    assert!(receipt.status(), "reverted: {receipt:?}");
    receipt
}

/// The first of `keys` registers an iDAO with a dev-TEE policy; every key attests for it with
/// dev evidence binding its address (and a throwaway HPKE key) on this chain.
async fn attest_nodes(devnet: &lazai_node::Devnet, keys: &[PrivateKeySigner]) {
    use lazai_abi::{IDAO_REGISTRY_ADDRESS as IDAO, IIdaoRegistry, ITeeRegistry as T};
    let owner = &keys[0];
    let register = IIdaoRegistry::registerIdao_0Call {
        name: "attested nodes".into(),
        metadataUri: "ipfs://nodes".into(),
    };
    send_raw(devnet, owner, IDAO, register.abi_encode()).await;
    let p = provider(devnet, owner.clone());
    let count = IIdaoRegistry::idaoCountCall {};
    let out = p
        .call({
            use alloy::network::TransactionBuilder;
            alloy::rpc::types::TransactionRequest::default()
                .with_to(IDAO)
                .with_input(count.abi_encode())
        })
        .await
        .expect("idaoCount");
    let idao = IIdaoRegistry::idaoCountCall::abi_decode_returns(&out).expect("decodes");
    let policy = T::setTeePolicyCall {
        idaoId: idao,
        policy: lazai_abi::TeePolicy {
            platforms: lazai_attest::Platform::Dev.bit(),
            measurements: Vec::new(),
            minTcbStatus: 0,
            maxEvidenceAge: 3_600,
        },
    };
    send_raw(devnet, owner, IDAO, policy.abi_encode()).await;
    let chain_id = p.get_chain_id().await.expect("chain id");
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_secs();
    for key in keys {
        let hpke = [7u8; 32];
        let rd = lazai_attest::binding::report_data(chain_id, key.address(), &hpke, now);
        let submit = T::submitAttestationCall {
            idaoId: idao,
            hpkePublicKey: hpke.into(),
            evidence: lazai_attest::dev::Simulator::random().quote(&rd).into(),
            collateral: Bytes::new(),
        };
        send_raw(devnet, key, IDAO, submit.abi_encode()).await;
    }
}

/// Sends a call, waits for its finalized receipt and requires success.
async fn mined<P: Provider, C: SolCall>(call: SolCallBuilder<P, C>) -> TransactionReceipt {
    let receipt = call
        .send()
        .await
        .unwrap_or_else(|e| panic!("{} not sent: {e}", C::SIGNATURE))
        .get_receipt()
        .await
        .expect("receipt");
    assert!(receipt.status(), "{} reverted: {receipt:?}", C::SIGNATURE);
    receipt
}

/// What a receipt's transaction paid in fees.
/// Every event `E` that `emitter` logged in `r`.
fn events<E: SolEvent>(r: &TransactionReceipt, emitter: Address) -> Vec<E> {
    r.inner
        .logs()
        .iter()
        .filter(|l| l.address() == emitter)
        .filter_map(|l| l.log_decode::<E>().ok())
        .map(|l| l.inner.data)
        .collect()
}

/// The one event `E` that `emitter` logged in `r`.
fn event<E: SolEvent>(r: &TransactionReceipt, emitter: Address) -> E {
    let mut all = events::<E>(r, emitter);
    assert_eq!(all.len(), 1, "{} events in {r:?}", E::SIGNATURE);
    all.remove(0)
}

/// Everything the refusals could touch, read over RPC.
#[derive(Debug, PartialEq)]
struct Snapshot {
    files: U256,
    file: Option<DataRegistry::FileResponse>,
    permission: Option<String>,
    proofs: Vec<Option<DataRegistry::Proof>>,
    jobs: U256,
    file_jobs: Option<Vec<U256>>,
    job: Option<VerifiedComputing::Job>,
    nodes: Vec<Address>,
    active: Vec<Address>,
    node_infos: Vec<VerifiedComputing::NodeInfo>,
    fee: U256,
    verified_balance: U256,
    dat_balance: U256,
}

/// The devnet's parties and the DAT.
struct World {
    governance: Party,
    node1: Party,
    node2: Party,
    contributor: Party,
    dat: Dat,
    p: DynProvider,
}

impl World {
    async fn snapshot(&self) -> Snapshot {
        let r = &self.governance.registry;
        let v = &self.governance.verified;
        let contributor = self.contributor.address();
        let mut proofs = Vec::new();
        for i in 1..=2 {
            proofs.push(r.getFileProof(u(1), u(i)).call().await.ok());
        }
        let mut node_infos = Vec::new();
        for n in [
            &self.node1,
            &self.node2,
            &self.contributor,
            &self.governance,
        ] {
            node_infos.push(v.getNode(n.address()).call().await.expect("getNode"));
        }
        Snapshot {
            files: r.filesCount().call().await.expect("filesCount"),
            file: r.getFile(u(1)).call().await.ok(),
            permission: r
                .getFilePermission(u(1), self.node1.address())
                .call()
                .await
                .ok(),
            proofs,
            jobs: v.jobsCount().call().await.expect("jobsCount"),
            file_jobs: v.fileJobIds(u(1)).call().await.ok(),
            job: v.getJob(u(1)).call().await.ok(),
            nodes: v.nodeList().call().await.expect("nodeList"),
            active: v.activeNodeList().call().await.expect("activeNodeList"),
            node_infos,
            fee: v.nodeFee().call().await.expect("nodeFee"),
            verified_balance: self.p.get_balance(VERIFIED).await.expect("balance"),
            dat_balance: self
                .dat
                .balanceOf(contributor, u(1))
                .call()
                .await
                .expect("balanceOf"),
        }
    }

    /// Requires `call` (from `sender`) to be refused with the custom error `E` of interface `I`:
    /// under `eth_call` and `eth_estimateGas` (decoded by alloy from the JSON-RPC error data),
    /// then as a transaction with an explicit gas limit, which is included, fails, logs
    /// nothing, costs `sender` its gas only and leaves every module's state as it was.
    async fn refused<E, I, P, C>(&self, sender: Address, call: SolCallBuilder<P, C>) -> E
    where
        E: SolError + PartialEq + std::fmt::Debug,
        I: SolInterface,
        P: Provider,
        C: SolCall,
    {
        let decoded = reverts_with::<E, I, P, C>(&call).await;

        let before = self.snapshot().await;
        let balance = self.p.get_balance(sender).await.expect("balance");
        let receipt = call
            .gas(1_000_000)
            .send()
            .await
            .unwrap_or_else(|e| panic!("{} not sent: {e}", C::SIGNATURE))
            .get_receipt()
            .await
            .expect("receipt");
        assert!(!receipt.status(), "{} succeeded", C::SIGNATURE);
        assert_eq!(receipt.from, sender);
        assert!(
            receipt.inner.logs().is_empty(),
            "a failed call logs nothing"
        );
        assert_eq!(
            self.p.get_balance(sender).await.expect("balance"),
            balance - gas_fee(&receipt),
            "{}: the sender pays gas only",
            C::SIGNATURE
        );
        assert_eq!(
            self.snapshot().await,
            before,
            "{} changed state",
            C::SIGNATURE
        );
        decoded
    }
}

#[test]
fn lazai_sdk_path_register_prove_complete_claim_reward() {
    let dir = tempfile::tempdir().expect("tempdir");
    with_devnet(dir.path(), 1, |devnet| async move {
        let w = World {
            governance: Party::new(&devnet, account(0)),
            node1: Party::new(&devnet, account(1)),
            node2: Party::new(&devnet, account(2)),
            contributor: Party::new(&devnet, account(3)),
            dat: DataAnchoringToken::new(DAT, provider(&devnet, account(0))),
            p: provider(&devnet, account(0)),
        };
        let (gov, n1, n2, c) = (
            w.governance.address(),
            w.node1.address(),
            w.node2.address(),
            w.contributor.address(),
        );
        let fee = node_fee();
        assert_eq!(fee, u(1_000_000_000_000_000));

        // The modules are there, wired to each other.
        let reg = &w.contributor.registry;
        let vc = &w.contributor.verified;
        assert!(!w.p.get_code_at(REGISTRY).await.expect("code").is_empty());
        assert!(!w.p.get_code_at(VERIFIED).await.expect("code").is_empty());
        assert_eq!(reg.name().call().await.expect("name"), "DataRegistry");
        assert_eq!(reg.version().call().await.expect("version"), u(1));
        assert_eq!(vc.version().call().await.expect("version"), u(1));
        assert_eq!(reg.token().call().await.expect("token"), DAT);
        assert_eq!(reg.verifiedComputing().call().await.expect("vc"), VERIFIED);
        assert_eq!(vc.nodeFee().call().await.expect("fee"), u(0));
        assert_eq!(vc.nodesCount().call().await.expect("nodes"), u(0));

        // 0. Trust comes from TEE evidence: node 1 registers an iDAO with a dev-TEE policy (this
        //    devnet's genesis enables the dev TEE) and both nodes attest for it; governance can
        //    list only attested nodes.
        attest_nodes(&devnet, &[account(1), account(2)]).await;

        // 1. Governance registers two nodes and sets the fee.
        let g = &w.governance.verified;
        for (node, i) in [(n1, 1), (n2, 2)] {
            let r =
                mined(g.addNode(node, format!("https://node{i}.lazai"), format!("pk-{i}"))).await;
            assert_eq!(
                event::<VerifiedComputing::NodeAdded>(&r, VERIFIED).nodeAddress,
                node
            );
        }
        let r = mined(g.updateNodeFee(fee)).await;
        assert!(r.inner.logs().iter().all(|l| l.address() == VERIFIED));
        assert_eq!(vc.nodeFee().call().await.expect("fee"), fee);
        assert_eq!(vc.nodesCount().call().await.expect("nodes"), u(2));
        assert_eq!(vc.activeNodesCount().call().await.expect("active"), u(2));
        assert_eq!(vc.nodeList().call().await.expect("list"), vec![n1, n2]);
        assert_eq!(
            vc.activeNodeList().call().await.expect("list"),
            vec![n1, n2]
        );
        assert!(vc.isNode(n1).call().await.expect("isNode"));
        assert!(vc.isNode(n2).call().await.expect("isNode"));
        assert!(!vc.isNode(c).call().await.expect("isNode"));
        let info = vc.getNode(n1).call().await.expect("getNode");
        assert_eq!(
            info,
            VerifiedComputing::NodeInfo {
                nodeAddress: n1,
                url: "https://node1.lazai".into(),
                status: VerifiedComputing::NodeStatus::Active,
                amount: u(0),
                jobsCount: u(0),
                // The key it attested (its evidence binds it), not the string governance gave.
                publicKey: format!("0x{}", "07".repeat(32)),
            }
        );
        assert_eq!(
            vc.nodeListAt(u(1)).call().await.expect("at").nodeAddress,
            n2
        );
        assert_eq!(
            vc.activeNodeListAt(u(0))
                .call()
                .await
                .expect("at")
                .nodeAddress,
            n1
        );

        // 2. The contributor registers a file and grants node 1 its sealed key.
        let url = "ipfs://bafy-contribution-1".to_string();
        let hash = "0x5eed-data-hash".to_string();
        let add = reg.addFile(url.clone(), hash.clone());
        assert_eq!(add.call().await.expect("simulated addFile"), u(1));
        let r = mined(add).await;
        assert_eq!(
            event::<DataRegistry::FileAdded>(&r, REGISTRY),
            DataRegistry::FileAdded {
                fileId: u(1),
                ownerAddress: c,
                url: url.clone()
            }
        );
        let file_id = reg.getFileIdByUrl(url.clone()).call().await.expect("id");
        assert_eq!(file_id, u(1));
        assert_eq!(
            reg.getFileIdByUrl("ipfs://absent".into())
                .call()
                .await
                .expect("id"),
            u(0)
        );
        assert_eq!(reg.filesCount().call().await.expect("count"), u(1));
        let r = mined(reg.addPermissionForFile(file_id, n1, "sealed-key".into())).await;
        assert_eq!(
            event::<DataRegistry::PermissionGranted>(&r, REGISTRY),
            DataRegistry::PermissionGranted {
                fileId: file_id,
                account: n1
            }
        );
        assert_eq!(
            reg.getFilePermission(file_id, n1)
                .call()
                .await
                .expect("perm"),
            "sealed-key"
        );
        assert_eq!(
            reg.getFilePermission(file_id, n2)
                .call()
                .await
                .expect("perm"),
            ""
        );
        assert_eq!(
            reg.getFile(file_id).call().await.expect("getFile"),
            DataRegistry::FileResponse {
                id: file_id,
                ownerAddress: c,
                url: url.clone(),
                hash: hash.clone(),
                proofIndex: u(0),
                rewardAmount: u(0),
            }
        );

        // Refused: a non-governance account adding a node (itself).
        let e: VerifiedComputing::NotGovernance = w
            .refused::<_, VerifiedComputing::VerifiedComputingErrors, _, _>(
                c,
                vc.addNode(c, "https://rogue".into(), "pk-rogue".into()),
            )
            .await;
        assert_eq!(e.caller, c);
        // Refused: a proof request below the fee.
        let _: VerifiedComputing::InsufficientFee = w
            .refused::<_, VerifiedComputing::VerifiedComputingErrors, _, _>(
                c,
                vc.requestProof(file_id).value(fee - u(1)),
            )
            .await;
        let _: VerifiedComputing::InsufficientFee = w
            .refused::<_, VerifiedComputing::VerifiedComputingErrors, _, _>(
                c,
                vc.requestProof(file_id),
            )
            .await;

        // 3. The contributor pays for a proof job; round-robin gives job 1 to node 1.
        let c_before = w.p.get_balance(c).await.expect("balance");
        let r = mined(vc.requestProof(file_id).value(fee)).await;
        assert_eq!(
            w.p.get_balance(c).await.expect("balance"),
            c_before - fee - gas_fee(&r)
        );
        assert_eq!(w.p.get_balance(VERIFIED).await.expect("balance"), fee);
        let submitted = event::<VerifiedComputing::JobSubmitted>(&r, VERIFIED);
        assert_eq!(
            submitted,
            VerifiedComputing::JobSubmitted {
                jobId: u(1),
                fileId: file_id,
                nodeAddress: n1,
                bidAmount: fee
            }
        );
        let job_id = submitted.jobId;
        assert_eq!(
            vc.fileJobIds(file_id).call().await.expect("jobs"),
            vec![job_id]
        );
        assert_eq!(vc.jobsCount().call().await.expect("jobs"), u(1));
        let block =
            w.p.get_block_by_number(r.block_number.expect("block").into())
                .await
                .expect("rpc")
                .expect("block");
        assert_eq!(
            vc.getJob(job_id).call().await.expect("getJob"),
            VerifiedComputing::Job {
                fileId: file_id,
                bidAmount: fee,
                status: VerifiedComputing::JobStatus::Submitted,
                addedTimestamp: u(block.header.timestamp),
                ownerAddress: c,
                nodeAddress: n1,
            }
        );
        assert_eq!(vc.getNode(n1).call().await.expect("node").jobsCount, u(1));
        assert_eq!(vc.getNode(n2).call().await.expect("node").jobsCount, u(0));

        // 4. Node 1 signs its proof as LazAI's SDK does.
        let proof_url = "ipfs://bafy-proof-1".to_string();
        let data = DataRegistry::ProofData {
            id: file_id,
            score: u(8000),
            fileUrl: url.clone(),
            proofUrl: proof_url.clone(),
        };
        // abi.encode of the struct as eth_abi encodes `(uint256,uint256,string,string)`: one
        // dynamic tuple, so an offset word first.
        let encoded = data.abi_encode();
        let word = |i: usize| U256::from_be_slice(&encoded[i * 32..(i + 1) * 32]);
        assert_eq!(
            (word(0), word(1), word(2), word(3), word(4)),
            (u(0x20), file_id, u(8000), u(0x80), u(0xc0))
        );
        assert_eq!(word(5), U256::from(url.len()));
        assert_eq!(encoded.len(), 32 * 9);
        let proof = sign_proof(&w.node1.key, data.clone()).await;
        let message_hash = keccak256(data.abi_encode());
        let sig = Signature::try_from(proof.signature.as_ref()).expect("65 bytes");
        assert_eq!(
            sig.recover_address_from_msg(message_hash.as_slice())
                .expect("recover"),
            n1
        );

        // Refused before the real proof: node 2 is not assigned this file's job.
        let own = sign_proof(&w.node2.key, data.clone()).await;
        let _: DataRegistry::NoPermission = w
            .refused::<_, DataRegistry::DataRegistryErrors, _, _>(
                n2,
                w.node2.registry.addProof(file_id, own),
            )
            .await;
        let _: DataRegistry::NoPermission = w
            .refused::<_, DataRegistry::DataRegistryErrors, _, _>(
                n2,
                w.node2.registry.addProof(file_id, proof.clone()),
            )
            .await;
        // Refused: node 1 posting a proof another key signed (an active node's, then a
        // non-node's).
        for other in [&w.node2.key, &w.governance.key] {
            let forged = sign_proof(other, data.clone()).await;
            let e: DataRegistry::InvalidAttestator = w
                .refused::<_, DataRegistry::DataRegistryErrors, _, _>(
                    n1,
                    w.node1.registry.addProof(file_id, forged.clone()),
                )
                .await;
            assert_eq!(
                e,
                DataRegistry::InvalidAttestator {
                    messageHash: message_hash,
                    signature: forged.signature,
                    signer: other.address(),
                }
            );
        }
        // Refused: node 1's own proof with the score raised after signing.
        let mut tampered = proof.clone();
        tampered.data.score = u(9000);
        let tampered_hash = keccak256(tampered.data.abi_encode());
        assert_ne!(tampered_hash, message_hash);
        let recovered = sig
            .recover_address_from_msg(tampered_hash.as_slice())
            .expect("recover");
        assert_ne!(recovered, n1);
        let e: DataRegistry::InvalidAttestator = w
            .refused::<_, DataRegistry::DataRegistryErrors, _, _>(
                n1,
                w.node1.registry.addProof(file_id, tampered.clone()),
            )
            .await;
        assert_eq!(
            e,
            DataRegistry::InvalidAttestator {
                messageHash: tampered_hash,
                signature: proof.signature.clone(),
                signer: recovered,
            }
        );
        // Refused: completing the job before any proof, and completing it as another node.
        let _: VerifiedComputing::InvalidJobNode = w
            .refused::<_, VerifiedComputing::VerifiedComputingErrors, _, _>(
                n2,
                w.node2.verified.completeJob(job_id),
            )
            .await;
        assert!(w.node1.verified.completeJob(job_id).call().await.is_err());

        // The real proof: index 1.
        let r = mined(w.node1.registry.addProof(file_id, proof.clone())).await;
        assert_eq!(
            event::<DataRegistry::ProofAdded>(&r, REGISTRY),
            DataRegistry::ProofAdded {
                fileId: file_id,
                ownerAddress: c,
                proofIndex: u(1),
                proofUrl: proof_url.clone()
            }
        );
        assert_eq!(
            reg.getFileProof(file_id, u(1)).call().await.expect("proof"),
            proof
        );
        assert!(reg.getFileProof(file_id, u(2)).call().await.is_err());

        // Refused: replaying the same proof (one proof per job).
        let _: DataRegistry::NoPermission = w
            .refused::<_, DataRegistry::DataRegistryErrors, _, _>(
                n1,
                w.node1.registry.addProof(file_id, proof.clone()),
            )
            .await;

        // Completion makes the bid node 1's.
        let r = mined(w.node1.verified.completeJob(job_id)).await;
        assert_eq!(
            event::<VerifiedComputing::JobComplete>(&r, VERIFIED),
            VerifiedComputing::JobComplete {
                attestator: n1,
                jobId: job_id,
                fileId: file_id
            }
        );
        let job = vc.getJob(job_id).call().await.expect("job");
        assert_eq!(job.status, VerifiedComputing::JobStatus::Completed);
        assert_eq!(vc.getNode(n1).call().await.expect("node").amount, fee);
        // Refused: completing it again; replaying the proof after completion; node 2 claiming.
        let _: VerifiedComputing::InvalidJobStatus = w
            .refused::<_, VerifiedComputing::VerifiedComputingErrors, _, _>(
                n1,
                w.node1.verified.completeJob(job_id),
            )
            .await;
        let _: DataRegistry::NoPermission = w
            .refused::<_, DataRegistry::DataRegistryErrors, _, _>(
                n1,
                w.node1.registry.addProof(file_id, proof.clone()),
            )
            .await;
        let _: VerifiedComputing::NothingToClaim = w
            .refused::<_, VerifiedComputing::VerifiedComputingErrors, _, _>(
                n2,
                w.node2.verified.claim(),
            )
            .await;

        // Node 1 claims: its balance rises by the fee minus gas; the module holds nothing.
        let n1_before = w.p.get_balance(n1).await.expect("balance");
        let r = mined(w.node1.verified.claim()).await;
        assert_eq!(
            event::<VerifiedComputing::Claimed>(&r, VERIFIED),
            VerifiedComputing::Claimed {
                nodeAddress: n1,
                amount: fee
            }
        );
        assert_eq!(
            w.p.get_balance(n1).await.expect("balance"),
            n1_before + fee - gas_fee(&r)
        );
        assert!(gas_fee(&r) < fee, "the claim is worth its gas");
        assert_eq!(w.p.get_balance(VERIFIED).await.expect("balance"), u(0));
        assert_eq!(vc.getNode(n1).call().await.expect("node").amount, u(0));

        // 5. The contributor's reward: a verified DAT of `score` units, URI = the file URL.
        assert_eq!(w.dat.balanceOf(c, u(1)).call().await.expect("bal"), u(0));
        let r = mined(reg.requestReward(file_id, u(1))).await;
        assert_eq!(
            event::<DataRegistry::RewardRequested>(&r, REGISTRY),
            DataRegistry::RewardRequested {
                contributorAddress: c,
                fileId: file_id,
                proofIndex: u(1),
                rewardAmount: u(8000)
            }
        );
        assert!(r.inner.logs().iter().any(|l| l.address() == DAT));
        assert_eq!(w.dat.balanceOf(c, u(1)).call().await.expect("bal"), u(8000));
        assert_eq!(w.dat.uri(u(1)).call().await.expect("uri"), url);
        assert!(w.dat.verified(u(1)).call().await.expect("verified"));
        assert_eq!(w.dat.balanceOf(n1, u(1)).call().await.expect("bal"), u(0));
        let f = reg.getFile(file_id).call().await.expect("getFile");
        assert_eq!((f.proofIndex, f.rewardAmount), (u(1), u(8000)));

        // 6 (rest). Refused: a second reward; a reward asked by a stranger.
        let _: DataRegistry::FileAlreadyRewarded = w
            .refused::<_, DataRegistry::DataRegistryErrors, _, _>(
                c,
                reg.requestReward(file_id, u(1)),
            )
            .await;
        let _: DataRegistry::NotFileOwner = w
            .refused::<_, DataRegistry::DataRegistryErrors, _, _>(
                n2,
                w.node2.registry.requestReward(file_id, u(1)),
            )
            .await;
        let _: DataRegistry::NotFileOwner = w
            .refused::<_, DataRegistry::DataRegistryErrors, _, _>(
                gov,
                w.governance.registry.requestReward(file_id, u(1)),
            )
            .await;
        assert_eq!(w.dat.balanceOf(c, u(1)).call().await.expect("bal"), u(8000));
        assert_eq!(w.dat.balanceOf(gov, u(1)).call().await.expect("bal"), u(0));

        // Round-robin goes on: job 2 to node 2, job 3 back to node 1.
        for (job, node) in [(2, n2), (3, n1)] {
            let r = mined(vc.requestProof(file_id).value(fee)).await;
            let submitted = event::<VerifiedComputing::JobSubmitted>(&r, VERIFIED);
            assert_eq!((submitted.jobId, submitted.nodeAddress), (u(job), node));
            assert_eq!(
                vc.getJob(u(job)).call().await.expect("job").nodeAddress,
                node
            );
        }
        assert_eq!(
            vc.fileJobIds(file_id).call().await.expect("jobs"),
            vec![u(1), u(2), u(3)]
        );
        assert_eq!(vc.getNode(n1).call().await.expect("node").jobsCount, u(2));
        assert_eq!(vc.getNode(n2).call().await.expect("node").jobsCount, u(1));
        assert_eq!(
            w.p.get_balance(VERIFIED).await.expect("balance"),
            fee * u(2)
        );
    });
}
