//! The VSC (LazAI Flows) through signed transactions: an iDAO's owner configures its data
//! verification and its verifier nodes, packages contributors' DataRegistry files into a flow,
//! the flow's quorum posts signed verdicts, and t-of-k agreement anchors the flow and mints
//! the DATs — or disagreement and silence dispute it and refund the fees. Every refusal is a
//! decodable custom error that changes nothing but the sender's nonce and gas fee.

use crate::support::*;
use IVsc::{DataParams, FileResult};
use alloy_primitives::{Address, B256, Bytes, U256, keccak256};
use alloy_signer::SignerSync;
use alloy_signer_local::PrivateKeySigner;
use alloy_sol_types::{SolCall, SolError, SolEvent, SolInterface, SolValue};
use lazai_abi::{
    DAT_ADDRESS, DATA_REGISTRY_ADDRESS, FILE_NONE, FILE_REJECTED, FILE_RESUBMITTED, FILE_VERIFIED,
    IDAO_REGISTRY_ADDRESS, IDataAnchoringToken as D, IDataRegistry as R, IIdaoRegistry,
    IVerifiedComputing as V, IVsc, MAX_FLOW_FILES, REASON_UNAVAILABLE, VERIFIED_COMPUTING_ADDRESS,
    VSC_ADDRESS, files_root, idao_data_address, proof_digest, results_digest, results_root,
    results_signer,
};
use lazai_ledger::modules::choose_quorum;
use lazai_ledger::{BlockEnv, CallParams, Ledger, RecoveredTx, State, total_supply};
use lazai_types::{Receipt, StakingParams};
use proptest::prelude::*;
use std::sync::Arc;

// ---- actors ----------------------------------------------------------------------------------

/// Governance (administers VerifiedComputing).
const GOV: usize = 0;
/// The iDAO's owner: configures it and submits its flows.
const OWNER: usize = 1;
/// The iDAO's verifier nodes, in the order they are added.
const VERIFIERS: [usize; 4] = [2, 3, 4, 5];
/// Contributors.
const ALICE: usize = 6;
const BOB: usize = 7;
/// Holds no role anywhere.
const STRANGER: usize = 8;
/// Owns another iDAO.
const OTHER_OWNER: usize = 9;
/// A VerifiedComputing node (the SDK path).
const SDK_NODE: usize = 10;
const ACTORS: u8 = 11;

const NODE_FEE: u128 = 1_000_000_000_000_000; // 0.001 LAZAI
const QUOTA: u64 = 1_000;
const DEADLINE: u64 = 20;
const START: u64 = 100;
const GAS: u64 = 3_000_000;

/// A ledger and a state with funded signers, driven one transaction at a time. The block
/// environment (height, parent hash) only changes when a test changes it.
#[derive(Clone)]
struct Net {
    ledger: Ledger,
    state: State,
    env: BlockEnv,
    signers: Vec<PrivateKeySigner>,
    nonces: Vec<u64>,
    /// Every transaction applied, with the environment it ran in (for replays).
    log: Vec<(BlockEnv, Arc<RecoveredTx>)>,
}

impl Net {
    fn new() -> Self {
        Self::with_parent(keccak256(b"the parent block"))
    }

    fn with_parent(parent_hash: B256) -> Self {
        let signers: Vec<_> = (0..ACTORS).map(signer).collect();
        let refs: Vec<_> = signers.iter().collect();
        let mut state = funded(&refs, U256::from(10u128.pow(24)));
        lazai_ledger::modules::enable_dev_tee(&mut state);
        let _ = state.take_changes();
        let ledger =
            Ledger::with_config(CHAIN_ID, StakingParams::default(), signers[GOV].address());
        let mut env = env();
        env.height = START;
        env.parent_hash = parent_hash;
        Self {
            ledger,
            state,
            env,
            nonces: vec![0; ACTORS as usize],
            signers,
            log: Vec::new(),
        }
    }

    fn addr(&self, i: usize) -> Address {
        self.signers[i].address()
    }

    /// The signer index of an address.
    fn who(&self, a: Address) -> usize {
        self.signers
            .iter()
            .position(|s| s.address() == a)
            .unwrap_or_else(|| panic!("{a} is not a test signer"))
    }

    fn send_gas(
        &mut self,
        from: usize,
        to: Address,
        input: Vec<u8>,
        value: U256,
        gas: u64,
    ) -> Receipt {
        let tx = Tx {
            value,
            gas,
            ..Tx::call(self.nonces[from], to, input)
        };
        let tx = Arc::new(recover(&tx.eip1559(&self.signers[from])));
        self.nonces[from] += 1;
        let r = self
            .ledger
            .apply(&mut self.state, &self.env, &tx, 0)
            .expect("valid transaction");
        self.log.push((self.env.clone(), tx));
        r
    }

    fn send(&mut self, from: usize, to: Address, input: Vec<u8>, value: u128) -> Receipt {
        self.send_gas(from, to, input, U256::from(value), GAS)
    }

    fn ok(&mut self, from: usize, to: Address, input: Vec<u8>, value: u128) -> Receipt {
        let r = self.send(from, to, input, value);
        assert!(r.success, "reverted: {}", describe(&r.output));
        r
    }

    fn vsc(&mut self, from: usize, c: impl SolCall) -> Receipt {
        self.ok(from, VSC_ADDRESS, c.abi_encode(), 0)
    }

    fn view_at<C: SolCall>(&self, to: Address, c: C) -> C::Return {
        let out = self
            .ledger
            .call(
                &self.state,
                &self.env,
                &CallParams {
                    from: Address::ZERO,
                    to: Some(to),
                    value: U256::ZERO,
                    input: c.abi_encode().into(),
                    gas_limit: 30_000_000,
                    ..Default::default()
                },
            )
            .expect("call");
        assert!(out.success, "view reverted: {}", describe(&out.output));
        C::abi_decode_returns(&out.output).expect("decodes")
    }

    fn view<C: SolCall>(&self, c: C) -> C::Return {
        self.view_at(VSC_ADDRESS, c)
    }

    fn flow(&self, id: U256) -> IVsc::Flow {
        self.view(IVsc::getFlowCall { flowId: id })
    }

    fn status(&self, file: U256) -> IVsc::FileStatus {
        self.view(IVsc::fileStatusCall { fileId: file })
    }

    fn earned(&self, i: usize) -> U256 {
        self.view(IVsc::earnedCall { node: self.addr(i) })
    }

    fn balance(&self, i: usize) -> U256 {
        self.state.balance(&self.addr(i))
    }

    /// The flow's quorum as signer indices, in quorum order.
    fn quorum(&self, id: U256) -> Vec<usize> {
        self.flow(id).quorum.iter().map(|a| self.who(*a)).collect()
    }

    /// Every address that can hold LAZAI in these tests.
    fn holders(&self) -> Vec<Address> {
        let mut all: Vec<Address> = self.signers.iter().map(|s| s.address()).collect();
        all.extend([
            self.env.proposer,
            VSC_ADDRESS,
            DAT_ADDRESS,
            DATA_REGISTRY_ADDRESS,
            VERIFIED_COMPUTING_ADDRESS,
            IDAO_REGISTRY_ADDRESS,
        ]);
        all
    }
}

/// The address of test signer `i`.
fn addr(i: usize) -> Address {
    signer(i as u8).address()
}

/// Revert data, decoded when it is one of the VSC's custom errors.
fn describe(out: &Bytes) -> String {
    match IVsc::IVscErrors::abi_decode(out) {
        Ok(e) => format!("{e:?}"),
        Err(_) => format!("{out}"),
    }
}

/// The gas fee a receipt's sender paid.
fn gas_fee(r: &Receipt) -> U256 {
    U256::from(r.gas_used) * U256::from(r.effective_gas_price)
}

fn expect_error<E: SolError + PartialEq + std::fmt::Debug>(r: &Receipt, want: E) {
    assert!(!r.success, "expected {} but it succeeded", E::SIGNATURE);
    assert!(r.logs.is_empty(), "a revert keeps no logs");
    let got = E::abi_decode(&r.output)
        .unwrap_or_else(|_| panic!("expected {}, got {}", E::SIGNATURE, describe(&r.output)));
    assert_eq!(got, want);
}

/// Checks that `r` (applied to `before`, giving `after`) changed nothing but its sender's
/// nonce and gas fee: the proposer's tip and the burned base fee. Any value sent came back.
fn assert_fee_only(before: &State, after: &State, env: &BlockEnv, r: &Receipt) {
    let sender_before = before.account(&r.from);
    let sender_after = after.account(&r.from);
    assert_eq!(sender_after.nonce, sender_before.nonce + 1);
    assert_eq!(
        sender_after.balance,
        sender_before.balance - gas_fee(r),
        "only the gas fee left the sender"
    );
    let burned = U256::from(r.gas_used) * U256::from(env.base_fee);
    assert_eq!(after.burned(), before.burned() + burned);
    assert_eq!(
        after.balance(&env.proposer),
        before.balance(&env.proposer) + gas_fee(r) - burned
    );
    let mut expected = before.clone();
    expected.set_account(&r.from, sender_after);
    expected.set_account(&env.proposer, after.account(&env.proposer));
    expected.add_burned(burned);
    assert_eq!(
        expected.root(),
        after.root(),
        "a refusal changes nothing but the fee"
    );
}

/// Sends a transaction that must revert with `want` and change nothing but the fee.
fn refused<E: SolError + PartialEq + std::fmt::Debug>(
    n: &mut Net,
    from: usize,
    to: Address,
    input: Vec<u8>,
    value: u128,
    want: E,
) -> Receipt {
    let before = n.state.clone();
    let r = n.send(from, to, input, value);
    expect_error(&r, want);
    assert_fee_only(&before, &n.state, &n.env, &r);
    r
}

/// Like [`refused`], for a call to the VSC.
fn vsc_refused<E: SolError + PartialEq + std::fmt::Debug>(
    n: &mut Net,
    from: usize,
    c: impl SolCall,
    want: E,
) -> Receipt {
    refused(n, from, VSC_ADDRESS, c.abi_encode(), 0, want)
}

/// Every log of `E` the VSC emitted in `r`.
fn events<E: SolEvent>(r: &Receipt) -> Vec<E> {
    r.logs
        .iter()
        .filter(|l| l.address == VSC_ADDRESS)
        .filter_map(|l| E::decode_log_data(&l.data).ok())
        .collect()
}

fn event<E: SolEvent>(r: &Receipt) -> E {
    let mut all = events::<E>(r);
    assert_eq!(all.len(), 1, "exactly one {}", E::SIGNATURE);
    all.remove(0)
}

// ---- scenario helpers ------------------------------------------------------------------------

fn params(k: u8, t: u8) -> DataParams {
    DataParams {
        schema: r#"{"type":"object","required":["text"]}"#.into(),
        workerKey: B256::repeat_byte(0x11),
        storeUrl: "https://blobs.example/idao".into(),
        quorumSize: k,
        threshold: t,
        deadlineBlocks: DEADLINE,
        nodeFee: U256::from(NODE_FEE),
        usageQuota: U256::from(QUOTA),
    }
}

fn register_idao(n: &mut Net, owner: usize, name: &str) -> U256 {
    let r = n.ok(
        owner,
        IDAO_REGISTRY_ADDRESS,
        IIdaoRegistry::registerIdao_0Call {
            name: name.into(),
            metadataUri: format!("ipfs://{name}"),
        }
        .abi_encode(),
        0,
    );
    U256::abi_decode(&r.output).expect("iDAO id")
}

fn configure(n: &mut Net, idao: U256, p: DataParams) -> U256 {
    let r = n.vsc(
        OWNER,
        IVsc::configureIdaoCall {
            idaoId: idao,
            params: p,
        },
    );
    U256::abi_decode(&r.output).expect("class id")
}

fn add_verifier(n: &mut Net, idao: U256, node: usize) {
    let c = IVsc::addVerifierCall {
        idaoId: idao,
        node: addr(node),
        url: format!("https://verifier{node}.example"),
    };
    n.vsc(OWNER, c);
    attest(n, idao, node);
}

/// Sets the dev TEE policy on `idao` (its owner must be [`OWNER`]).
fn dev_policy(n: &mut Net, idao: U256) {
    n.ok(OWNER, IDAO_REGISTRY_ADDRESS, tee::dev_policy(idao), 0);
}

/// `node` attests for `idao` with dev evidence binding the iDAO's worker key, issued now.
fn attest(n: &mut Net, idao: U256, node: usize) {
    let hpke = params(1, 1).workerKey;
    let now = n.env.timestamp_ms / 1000;
    let input = tee::submit(CHAIN_ID, idao, addr(node), hpke, now);
    n.ok(node, IDAO_REGISTRY_ADDRESS, input, 0);
}

/// An iDAO owned by [`OWNER`], configured with quorum `k` and threshold `t`, with the first
/// `verifiers` of [`VERIFIERS`]. Returns (iDAO id, class id).
fn setup(n: &mut Net, k: u8, t: u8, verifiers: usize) -> (U256, U256) {
    let idao = register_idao(n, OWNER, "data-idao");
    dev_policy(n, idao);
    let class = configure(n, idao, params(k, t));
    for &v in &VERIFIERS[..verifiers] {
        add_verifier(n, idao, v);
    }
    (idao, class)
}

/// A sealed key, as a contributor's SDK would produce it (hex).
fn sealed_key(tag: &str) -> String {
    format!(
        "0x{}",
        alloy_primitives::hex::encode(keccak256(tag.as_bytes()))
    )
}

/// Registers a file owned by `who`; returns its id.
fn add_file(n: &mut Net, who: usize, tag: &str) -> U256 {
    let r = n.ok(
        who,
        DATA_REGISTRY_ADDRESS,
        R::addFileCall {
            url: format!("https://blobs.example/{tag}"),
            hash: format!(
                "{}:{}",
                keccak256(tag.as_bytes()),
                keccak256(tag.to_uppercase())
            ),
        }
        .abi_encode(),
        0,
    );
    U256::abi_decode(&r.output).expect("file id")
}

/// Grants `file`'s sealed key to `idao`'s data address: submits it to the iDAO.
fn share(n: &mut Net, who: usize, file: U256, idao: U256) {
    let data_address = n.view(IVsc::idaoDataAddressCall { idaoId: idao });
    n.ok(
        who,
        DATA_REGISTRY_ADDRESS,
        R::addPermissionForFileCall {
            fileId: file,
            account: data_address,
            key: sealed_key(&format!("{file}")),
        }
        .abi_encode(),
        0,
    );
}

/// A file registered and submitted to `idao` in one transaction.
fn contribute(n: &mut Net, who: usize, tag: &str, idao: U256) -> U256 {
    let r = n.ok(
        who,
        DATA_REGISTRY_ADDRESS,
        R::addFileWithPermissionsCall {
            url: format!("https://blobs.example/{tag}"),
            hash: format!("{}", keccak256(tag.as_bytes())),
            ownerAddress: addr(who),
            permissions: vec![R::Permission {
                account: idao_data_address(idao),
                key: sealed_key(tag),
            }],
        }
        .abi_encode(),
        0,
    );
    U256::abi_decode(&r.output).expect("file id")
}

fn submit_call(idao: U256, files: &[U256]) -> Vec<u8> {
    IVsc::submitFlowCall {
        idaoId: idao,
        fileIds: files.to_vec(),
    }
    .abi_encode()
}

/// Submits a flow by [`OWNER`] with `value`; returns (flow id, receipt).
fn submit(n: &mut Net, idao: U256, files: &[U256], value: U256) -> (U256, Receipt) {
    let r = n.send_gas(
        OWNER,
        VSC_ADDRESS,
        submit_call(idao, files),
        value,
        30_000_000,
    );
    assert!(r.success, "submitFlow reverted: {}", describe(&r.output));
    (U256::abi_decode(&r.output).expect("flow id"), r)
}

/// Verdicts: `(score, reason)` per file, in order.
fn verdicts(files: &[U256], scores: &[(u16, u8)]) -> Vec<FileResult> {
    files
        .iter()
        .zip(scores)
        .map(|(f, (score, reason))| FileResult {
            fileId: *f,
            score: *score,
            reason: *reason,
        })
        .collect()
}

/// Every file accepted with `score`.
fn all(files: &[U256], score: u16) -> Vec<FileResult> {
    verdicts(files, &vec![(score, 0); files.len()])
}

/// `node`'s EIP-191 signature over the digest of `results` for `flow` on `chain`.
fn sign_results(n: &Net, node: usize, chain: u64, flow: U256, results: &[FileResult]) -> Bytes {
    let digest = results_digest(chain, flow, results_root(results));
    let sig = n.signers[node].sign_hash_sync(&digest).expect("sign");
    Bytes::from(sig.as_bytes().to_vec())
}

fn post_call(flow: U256, results: &[FileResult], signature: Bytes) -> IVsc::postResultsCall {
    IVsc::postResultsCall {
        flowId: flow,
        results: results.to_vec(),
        signature,
    }
}

/// `node`'s results, signed by it and sent by `sender`.
fn post_as(n: &mut Net, sender: usize, node: usize, flow: U256, results: &[FileResult]) -> Receipt {
    let sig = sign_results(n, node, CHAIN_ID, flow, results);
    let input = post_call(flow, results, sig).abi_encode();
    n.send_gas(sender, VSC_ADDRESS, input, U256::ZERO, 30_000_000)
}

/// `node` posts its own results; must succeed.
fn post(n: &mut Net, node: usize, flow: U256, results: &[FileResult]) -> Receipt {
    let r = post_as(n, node, node, flow, results);
    assert!(r.success, "postResults reverted: {}", describe(&r.output));
    r
}

/// The flow's files root, computed from the DataRegistry's records.
fn expected_files_root(n: &Net, files: &[U256]) -> B256 {
    let hashes: Vec<String> = files
        .iter()
        .map(|f| {
            n.view_at(DATA_REGISTRY_ADDRESS, R::getFileCall { fileId: *f })
                .hash
        })
        .collect();
    let pairs: Vec<(U256, &str)> = files
        .iter()
        .copied()
        .zip(hashes.iter().map(String::as_str))
        .collect();
    files_root(&pairs)
}

fn fee(k: u128) -> U256 {
    U256::from(k * NODE_FEE)
}

// ---- 1. the happy path -----------------------------------------------------------------------

#[test]
fn a_flow_with_two_agreeing_nodes_anchors_mints_and_pays_them() {
    let mut n = Net::new();
    let supply = total_supply(&n.state, &n.holders());

    // The owner registers an iDAO and configures it: the first call creates the dataset class,
    // whose creator is the VSC.
    let idao = register_idao(&mut n, OWNER, "data-idao");
    assert!(!n.view(IVsc::isConfiguredCall { idaoId: idao }));
    let classes_before = n.view_at(DAT_ADDRESS, D::classCountCall {});
    let r = n.vsc(
        OWNER,
        IVsc::configureIdaoCall {
            idaoId: idao,
            params: params(3, 2),
        },
    );
    let class = U256::abi_decode(&r.output).expect("class id");
    assert_eq!(
        event::<IVsc::IdaoConfigured>(&r),
        IVsc::IdaoConfigured {
            idaoId: idao,
            classId: class,
            quorumSize: 3,
            threshold: 2
        }
    );
    assert_eq!(
        n.view_at(DAT_ADDRESS, D::classCountCall {}),
        classes_before + U256::from(1)
    );
    let info = n.view_at(DAT_ADDRESS, D::classInfoCall { classId: class });
    assert_eq!(info.id, class);
    assert_eq!(info.creator, VSC_ADDRESS, "the VSC created the class");
    assert!(!info.fungible);
    assert_eq!(info.metadataURI, format!("lazai://idao/{idao}/dataset"));
    assert_eq!(
        info.integrityHash,
        keccak256(params(3, 2).schema.as_bytes())
    );
    assert_eq!(info.tokenCount, U256::ZERO);
    assert!(n.view(IVsc::isConfiguredCall { idaoId: idao }));
    let config = n.view(IVsc::dataConfigCall { idaoId: idao });
    let p = params(3, 2);
    assert_eq!(
        (
            config.schema,
            config.workerKey,
            config.storeUrl,
            config.quorumSize,
            config.threshold
        ),
        (p.schema, p.workerKey, p.storeUrl, 3, 2)
    );
    assert_eq!(
        (
            config.deadlineBlocks,
            config.nodeFee,
            config.usageQuota,
            config.classId
        ),
        (DEADLINE, U256::from(NODE_FEE), U256::from(QUOTA), class)
    );

    // Reconfiguring replaces the parameters and keeps the class.
    let mut changed = params(3, 2);
    changed.schema = r#"{"type":"object"}"#.into();
    assert_eq!(configure(&mut n, idao, changed.clone()), class);
    assert_eq!(
        n.view_at(DAT_ADDRESS, D::classCountCall {}),
        classes_before + U256::from(1),
        "no second class"
    );
    assert_eq!(
        n.view(IVsc::dataConfigCall { idaoId: idao }).schema,
        changed.schema
    );
    assert_eq!(configure(&mut n, idao, params(3, 2)), class);

    // Four verifiers, listed in the order added.
    for &v in &VERIFIERS {
        let c = IVsc::addVerifierCall {
            idaoId: idao,
            node: addr(v),
            url: format!("https://verifier{v}.example"),
        };
        let r = n.vsc(OWNER, c);
        let added = event::<IVsc::VerifierAdded>(&r);
        assert_eq!((added.idaoId, added.node), (idao, addr(v)));
    }
    let nodes: Vec<Address> = VERIFIERS.iter().map(|&v| addr(v)).collect();
    assert_eq!(n.view(IVsc::verifiersCall { idaoId: idao }), nodes);
    // Each attests (dev TEE) for the iDAO's worker key under the iDAO's policy.
    dev_policy(&mut n, idao);
    for &v in &VERIFIERS {
        attest(&mut n, idao, v);
    }
    let v = n.view(IVsc::getVerifierCall {
        idaoId: idao,
        node: addr(VERIFIERS[0]),
    });
    assert_eq!(
        (v.node, v.url.as_str(), v.addedAt, v.flowsServed),
        (
            addr(VERIFIERS[0]),
            "https://verifier2.example",
            START,
            U256::ZERO
        )
    );

    // Contributors register files and grant their sealed keys to the iDAO's data address.
    let data_address = n.view(IVsc::idaoDataAddressCall { idaoId: idao });
    assert_eq!(data_address, idao_data_address(idao));
    let f1 = add_file(&mut n, ALICE, "alice-1");
    let f2 = add_file(&mut n, BOB, "bob-1");
    let f3 = add_file(&mut n, ALICE, "alice-2");
    for (who, f) in [(ALICE, f1), (BOB, f2), (ALICE, f3)] {
        share(&mut n, who, f, idao);
        assert_eq!(
            n.view_at(
                DATA_REGISTRY_ADDRESS,
                R::getFilePermissionCall {
                    fileId: f,
                    account: data_address
                }
            ),
            sealed_key(&format!("{f}"))
        );
    }
    let files = vec![f1, f2, f3];
    for f in &files {
        assert_eq!(n.status(*f).state, 0, "never in a flow");
    }

    // The owner submits the flow with more than k × nodeFee: feePerNode = value / k, and the
    // remainder comes back at once.
    let value = fee(3) + U256::from(3 * 5 + 2);
    let fee_per_node = U256::from(NODE_FEE + 5);
    let owner_before = n.balance(OWNER);
    let (flow, submitted_receipt) = submit(&mut n, idao, &files, value);
    let r = submitted_receipt.clone();
    assert_eq!(flow, U256::from(1));
    assert_eq!(n.view(IVsc::flowCountCall {}), U256::from(1));
    assert_eq!(
        n.balance(OWNER),
        owner_before - value + U256::from(2) - gas_fee(&r),
        "the remainder of value % k came back"
    );
    assert_eq!(n.state.balance(&VSC_ADDRESS), fee_per_node * U256::from(3));
    let quorum = choose_quorum(&nodes, 3, n.env.parent_hash, flow);
    let root = expected_files_root(&n, &files);
    let submitted = event::<IVsc::FlowSubmitted>(&r);
    assert_eq!(
        submitted,
        IVsc::FlowSubmitted {
            flowId: flow,
            idaoId: idao,
            filesRoot: root,
            fileCount: U256::from(3),
            quorum: quorum.clone(),
            deadline: START + DEADLINE,
        }
    );
    let stored = n.flow(flow);
    assert_eq!(stored.id, flow);
    assert_eq!(stored.idaoId, idao);
    assert_eq!(stored.submitter, addr(OWNER));
    assert_eq!(stored.filesRoot, root);
    assert_eq!(stored.fileCount, U256::from(3));
    assert_eq!(stored.status, 1);
    assert_eq!(stored.submittedAt, START);
    assert_eq!(stored.deadline, START + DEADLINE);
    assert_eq!(stored.feePerNode, fee_per_node);
    assert_eq!(stored.quorum, quorum);
    assert_eq!(stored.threshold, 2);
    assert_eq!((stored.posted, stored.bestVotes), (U256::ZERO, U256::ZERO));
    assert_eq!(stored.resultsRoot, B256::ZERO);
    assert_eq!(n.view(IVsc::flowFilesCall { flowId: flow }), files);
    for f in &files {
        let s = n.status(*f);
        assert_eq!((s.idaoId, s.flowId, s.state), (idao, flow, 1));
    }
    let q = n.quorum(flow);
    let outsider = *VERIFIERS.iter().find(|v| !q.contains(v)).expect("4 > 3");

    // Node q0 accepts f1 and f2 and rejects f3; q1 disagrees (another root); q2 agrees with
    // q0, which anchors the flow.
    let a = verdicts(&files, &[(8_000, 0), (10_000, 0), (0, 7)]);
    let b = verdicts(&files, &[(8_000, 0), (9_999, 0), (0, 7)]);
    let (root_a, root_b) = (results_root(&a), results_root(&b));
    assert_ne!(root_a, root_b);
    let r = post(&mut n, q[0], flow, &a);
    assert_eq!(
        event::<IVsc::ResultsPosted>(&r),
        IVsc::ResultsPosted {
            flowId: flow,
            node: addr(q[0]),
            resultsRoot: root_a
        }
    );
    assert!(events::<IVsc::FlowVerified>(&r).is_empty());
    assert_eq!(
        n.view(IVsc::postedRootCall {
            flowId: flow,
            node: addr(q[0])
        }),
        root_a
    );
    assert_eq!(
        n.view(IVsc::resultsDigestCall {
            flowId: flow,
            resultsRoot: root_a
        }),
        results_digest(CHAIN_ID, flow, root_a)
    );
    let r = post(&mut n, q[1], flow, &b);
    assert!(events::<IVsc::FlowVerified>(&r).is_empty());
    assert!(events::<IVsc::FlowDisputed>(&r).is_empty());
    let pending = n.flow(flow);
    assert_eq!(
        (pending.status, pending.posted, pending.bestVotes),
        (1, U256::from(2), U256::from(1))
    );
    let tokens_before = n.view_at(DAT_ADDRESS, D::tokenCountCall {});
    let r = post(&mut n, q[2], flow, &a);
    assert!(
        r.logs.iter().any(|l| l.address == DAT_ADDRESS),
        "the DATs were minted"
    );
    assert_eq!(
        event::<IVsc::FlowVerified>(&r),
        IVsc::FlowVerified {
            flowId: flow,
            idaoId: idao,
            resultsRoot: root_a,
            filesRoot: root,
            agreeing: vec![addr(q[0]), addr(q[2])],
            dissenting: vec![addr(q[1])],
            silent: vec![],
        }
    );
    let verified = events::<IVsc::FileVerified>(&r);
    assert_eq!(verified.len(), 2);
    assert_eq!(
        event::<IVsc::FileRejected>(&r),
        IVsc::FileRejected {
            fileId: f3,
            flowId: flow,
            reason: 7
        }
    );
    assert_eq!(
        n.view_at(DAT_ADDRESS, D::tokenCountCall {}),
        tokens_before + U256::from(2)
    );

    // The flow, its results and every file's status.
    let done = n.flow(flow);
    assert_eq!(done.status, 2);
    assert_eq!(done.resultsRoot, root_a);
    assert_eq!(
        (done.posted, done.bestVotes),
        (U256::from(3), U256::from(2))
    );
    assert_eq!(
        n.view(IVsc::flowResultsCall {
            flowId: flow,
            resultsRoot: root_a
        }),
        a
    );
    assert_eq!(
        n.view(IVsc::flowResultsCall {
            flowId: flow,
            resultsRoot: root_b
        }),
        b
    );
    assert_eq!(
        n.view(IVsc::flowResultsCall {
            flowId: flow,
            resultsRoot: B256::repeat_byte(9)
        }),
        vec![]
    );
    for (i, (f, owner, score)) in [(f1, ALICE, 8_000u16), (f2, BOB, 10_000)]
        .into_iter()
        .enumerate()
    {
        let s = n.status(f);
        assert_eq!(
            (s.idaoId, s.flowId, s.state, s.score, s.reason),
            (idao, flow, 2, score, 0)
        );
        assert!(!s.tokenId.is_zero());
        assert_eq!(
            verified[i],
            IVsc::FileVerified {
                fileId: f,
                flowId: flow,
                score: U256::from(score),
                tokenId: s.tokenId
            }
        );
        let token = n.view_at(DAT_ADDRESS, D::tokenInfoCall { tokenId: s.tokenId });
        assert_eq!(token.id, s.tokenId);
        assert_eq!(token.classId, class, "minted into the iDAO's class");
        assert_eq!(token.owner, addr(owner), "to the file's owner");
        assert_eq!(token.value, U256::from(QUOTA), "value = usage quota");
        assert_eq!(token.shareRatio, U256::from(score), "share = score");
        assert_eq!(token.expireAt, 0, "never expires");
        assert!(!token.expired);
    }
    let s = n.status(f3);
    assert_eq!(
        (s.idaoId, s.flowId, s.state, s.score, s.reason, s.tokenId),
        (idao, flow, 3, 0, 7, U256::ZERO)
    );
    let info = n.view_at(DAT_ADDRESS, D::classInfoCall { classId: class });
    assert_eq!(info.tokenCount, U256::from(2));
    assert_eq!(info.totalValue, U256::from(2 * QUOTA));
    assert_eq!(info.totalShare, U256::from(18_000));

    // Fees: the agreeing nodes earned feePerNode; the dissenter's fee went back to the owner,
    // who sent nothing since the submission.
    assert_eq!(n.earned(q[0]), fee_per_node);
    assert_eq!(n.earned(q[2]), fee_per_node);
    assert_eq!(n.earned(q[1]), U256::ZERO);
    assert_eq!(n.earned(outsider), U256::ZERO);
    assert_eq!(
        n.balance(OWNER),
        owner_before - gas_fee(&submitted_receipt) - fee_per_node * U256::from(2),
        "the submitter paid exactly the two agreeing nodes' fees and its gas"
    );
    assert_eq!(n.state.balance(&VSC_ADDRESS), fee_per_node * U256::from(2));
    for (node, served) in [(q[0], 1u64), (q[1], 0), (q[2], 1), (outsider, 0)] {
        let v = n.view(IVsc::getVerifierCall {
            idaoId: idao,
            node: addr(node),
        });
        assert_eq!(v.flowsServed, U256::from(served), "flowsServed of {node}");
    }

    // A closed flow takes no more posts.
    let late = post_call(flow, &a, sign_results(&n, q[1], CHAIN_ID, flow, &a));
    vsc_refused(
        &mut n,
        outsider,
        late,
        IVsc::FlowClosed {
            flowId: flow,
            status: 2,
        },
    );

    // claimFees pays the earned fee once.
    let before = n.balance(q[0]);
    let r = n.vsc(q[0], IVsc::claimFeesCall {});
    assert_eq!(U256::abi_decode(&r.output).expect("amount"), fee_per_node);
    assert_eq!(
        event::<IVsc::FeesClaimed>(&r),
        IVsc::FeesClaimed {
            node: addr(q[0]),
            amount: fee_per_node
        }
    );
    assert_eq!(n.balance(q[0]), before + fee_per_node - gas_fee(&r));
    assert_eq!(n.earned(q[0]), U256::ZERO);
    vsc_refused(
        &mut n,
        q[0],
        IVsc::claimFeesCall {},
        IVsc::NothingToClaim {},
    );
    vsc_refused(
        &mut n,
        q[1],
        IVsc::claimFeesCall {},
        IVsc::NothingToClaim {},
    );
    vsc_refused(
        &mut n,
        STRANGER,
        IVsc::claimFeesCall {},
        IVsc::NothingToClaim {},
    );
    n.vsc(q[2], IVsc::claimFeesCall {});
    assert_eq!(
        n.state.balance(&VSC_ADDRESS),
        U256::ZERO,
        "every fee is paid out"
    );

    // Verified and rejected files never enter another flow.
    vsc_refused(
        &mut n,
        OWNER,
        IVsc::submitFlowCall {
            idaoId: idao,
            fileIds: vec![f1],
        },
        IVsc::InsufficientFee {
            sent: U256::ZERO,
            needed: fee(3),
        },
    );
    for (f, state) in [(f1, 2u8), (f3, 3)] {
        refused(
            &mut n,
            OWNER,
            VSC_ADDRESS,
            submit_call(idao, &[f]),
            3 * NODE_FEE,
            IVsc::FileNotAvailable { fileId: f, state },
        );
    }

    // LAZAI is conserved: balances plus burned fees.
    assert_eq!(total_supply(&n.state, &n.holders()), supply);
}

/// An iDAO with quorum 3, threshold 2 and four verifiers, and a pending flow of three files
/// (two of Alice's, one of Bob's) paid exactly k × nodeFee.
struct Pending {
    idao: U256,
    class: U256,
    files: Vec<U256>,
    flow: U256,
    /// The flow's quorum (signer indices, quorum order).
    q: Vec<usize>,
    /// The verifier not in the quorum.
    outsider: usize,
}

fn pending(n: &mut Net) -> Pending {
    let (idao, class) = setup(n, 3, 2, 4);
    let files = vec![
        contribute(n, ALICE, "a1", idao),
        contribute(n, BOB, "b1", idao),
        contribute(n, ALICE, "a2", idao),
    ];
    let (flow, _) = submit(n, idao, &files, fee(3));
    let q = n.quorum(flow);
    let outsider = *VERIFIERS.iter().find(|v| !q.contains(v)).expect("4 > 3");
    Pending {
        idao,
        class,
        files,
        flow,
        q,
        outsider,
    }
}

// ---- 2. relayed posts ------------------------------------------------------------------------

#[test]
fn a_relayed_post_counts_for_the_node_that_signed_it() {
    let mut n = Net::new();
    let p = pending(&mut n);
    let results = all(&p.files, 5_000);
    let root = results_root(&results);
    let owner_before = n.balance(OWNER);

    // A stranger relays q0's signed results: they count as q0's.
    let r = post_as(&mut n, STRANGER, p.q[0], p.flow, &results);
    assert!(r.success, "{}", describe(&r.output));
    assert_eq!(event::<IVsc::ResultsPosted>(&r).node, addr(p.q[0]));
    assert_eq!(
        n.view(IVsc::postedRootCall {
            flowId: p.flow,
            node: addr(p.q[0])
        }),
        root
    );
    assert_eq!(
        n.view(IVsc::postedRootCall {
            flowId: p.flow,
            node: addr(STRANGER)
        }),
        B256::ZERO
    );

    // The same signed post relayed again is a replay.
    let sig = sign_results(&n, p.q[0], CHAIN_ID, p.flow, &results);
    vsc_refused(
        &mut n,
        BOB,
        post_call(p.flow, &results, sig),
        IVsc::AlreadyPosted { node: addr(p.q[0]) },
    );

    // q1's results relayed by the outsider verifier anchor the flow; q2 stays silent.
    let r = post_as(&mut n, p.outsider, p.q[1], p.flow, &results);
    assert!(r.success, "{}", describe(&r.output));
    let verified = event::<IVsc::FlowVerified>(&r);
    assert_eq!(verified.agreeing, vec![addr(p.q[0]), addr(p.q[1])]);
    assert!(verified.dissenting.is_empty());
    assert_eq!(verified.silent, vec![addr(p.q[2])]);
    let fee_per_node = U256::from(NODE_FEE);
    assert_eq!(n.earned(p.q[0]), fee_per_node);
    assert_eq!(n.earned(p.q[1]), fee_per_node);
    assert_eq!(n.earned(p.q[2]), U256::ZERO);
    assert_eq!(n.earned(STRANGER), U256::ZERO);
    assert_eq!(n.earned(p.outsider), U256::ZERO, "relaying earns nothing");
    assert_eq!(
        n.balance(OWNER),
        owner_before + fee_per_node,
        "the silent node's fee"
    );
    assert_eq!(n.state.balance(&VSC_ADDRESS), fee_per_node * U256::from(2));
    // Every file scored > 0 got a DAT in the class.
    for f in &p.files {
        let s = n.status(*f);
        assert_eq!(s.state, 2);
        let token = n.view_at(DAT_ADDRESS, D::tokenInfoCall { tokenId: s.tokenId });
        assert_eq!(token.classId, p.class);
    }
}

// ---- 3. refusals -----------------------------------------------------------------------------

#[test]
fn configuration_refusals_change_nothing() {
    let mut n = Net::new();
    let idao = register_idao(&mut n, OWNER, "data-idao");
    let configure_as = |p: DataParams| IVsc::configureIdaoCall {
        idaoId: idao,
        params: p,
    };

    // Only the iDAO's owner; an unknown iDAO is the registry's IdaoNotFound.
    vsc_refused(
        &mut n,
        STRANGER,
        configure_as(params(3, 2)),
        IVsc::NotIdaoOwner {
            idaoId: idao,
            caller: addr(STRANGER),
        },
    );
    vsc_refused(
        &mut n,
        OWNER,
        IVsc::configureIdaoCall {
            idaoId: U256::from(99),
            params: params(3, 2),
        },
        IIdaoRegistry::IdaoNotFound {
            idaoId: U256::from(99),
        },
    );

    // Bad parameters.
    let bad = |reason: &str| IVsc::InvalidConfig {
        reason: reason.into(),
    };
    let mut cases: Vec<(DataParams, &str)> = vec![
        (params(2, 3), "threshold must be 1 to quorumSize"),
        (params(3, 0), "threshold must be 1 to quorumSize"),
        (params(0, 0), "quorumSize must be 1 to 16"),
        (params(17, 2), "quorumSize must be 1 to 16"),
    ];
    let mut p = params(3, 2);
    p.workerKey = B256::ZERO;
    cases.push((p, "workerKey must be an X25519 public key"));
    let mut p = params(3, 2);
    p.schema = String::new();
    cases.push((p, "schema must be 1 to 16384 bytes"));
    let mut p = params(3, 2);
    p.schema = "x".repeat(16 * 1024 + 1);
    cases.push((p, "schema must be 1 to 16384 bytes"));
    let mut p = params(3, 2);
    p.storeUrl = "u".repeat(513);
    cases.push((p, "storeUrl must be at most 512 bytes"));
    let mut p = params(3, 2);
    p.deadlineBlocks = 0;
    cases.push((p, "deadlineBlocks must be 1 to 1000000"));
    let mut p = params(3, 2);
    p.deadlineBlocks = 1_000_001;
    cases.push((p, "deadlineBlocks must be 1 to 1000000"));
    let mut p = params(3, 2);
    p.usageQuota = U256::ZERO;
    cases.push((p, "usageQuota must be at least 1"));
    for (p, reason) in cases {
        vsc_refused(&mut n, OWNER, configure_as(p), bad(reason));
    }
    assert!(!n.view(IVsc::isConfiguredCall { idaoId: idao }));
    // The limits themselves are accepted (on a second iDAO, to keep this one unconfigured).
    let edge = register_idao(&mut n, OWNER, "edge");
    let mut p = params(16, 16);
    p.schema = "x".repeat(16 * 1024);
    p.storeUrl = "u".repeat(512);
    p.deadlineBlocks = 1_000_000;
    p.nodeFee = U256::ZERO;
    configure(&mut n, edge, p);

    // Not payable.
    refused(
        &mut n,
        OWNER,
        VSC_ADDRESS,
        configure_as(params(3, 2)).abi_encode(),
        1,
        alloy_sol_types::Revert::from("function is not payable"),
    );

    // Verifiers: owner only, no zero address, no duplicate, no unknown removal.
    let add = |node: Address| IVsc::addVerifierCall {
        idaoId: idao,
        node,
        url: "https://v.example".into(),
    };
    vsc_refused(
        &mut n,
        STRANGER,
        add(addr(VERIFIERS[0])),
        IVsc::NotIdaoOwner {
            idaoId: idao,
            caller: addr(STRANGER),
        },
    );
    vsc_refused(&mut n, OWNER, add(Address::ZERO), IVsc::InvalidUrl {});
    vsc_refused(
        &mut n,
        OWNER,
        IVsc::addVerifierCall {
            idaoId: idao,
            node: addr(VERIFIERS[0]),
            url: "u".repeat(513),
        },
        IVsc::InvalidUrl {},
    );
    n.vsc(OWNER, add(addr(VERIFIERS[0])));
    vsc_refused(
        &mut n,
        OWNER,
        add(addr(VERIFIERS[0])),
        IVsc::VerifierAlreadyAdded {
            node: addr(VERIFIERS[0]),
        },
    );
    vsc_refused(
        &mut n,
        STRANGER,
        IVsc::removeVerifierCall {
            idaoId: idao,
            node: addr(VERIFIERS[0]),
        },
        IVsc::NotIdaoOwner {
            idaoId: idao,
            caller: addr(STRANGER),
        },
    );
    vsc_refused(
        &mut n,
        OWNER,
        IVsc::removeVerifierCall {
            idaoId: idao,
            node: addr(VERIFIERS[1]),
        },
        IVsc::VerifierNotFound {
            node: addr(VERIFIERS[1]),
        },
    );
    let r = n.vsc(
        OWNER,
        IVsc::removeVerifierCall {
            idaoId: idao,
            node: addr(VERIFIERS[0]),
        },
    );
    assert_eq!(event::<IVsc::VerifierRemoved>(&r).node, addr(VERIFIERS[0]));
    assert!(n.view(IVsc::verifiersCall { idaoId: idao }).is_empty());
    let out = n
        .ledger
        .call(
            &n.state,
            &n.env,
            &CallParams {
                from: Address::ZERO,
                to: Some(VSC_ADDRESS),
                value: U256::ZERO,
                input: IVsc::getVerifierCall {
                    idaoId: idao,
                    node: addr(VERIFIERS[0]),
                }
                .abi_encode()
                .into(),
                gas_limit: 1_000_000,
                ..Default::default()
            },
        )
        .expect("call");
    assert_eq!(
        IVsc::VerifierNotFound::abi_decode(&out.output).expect("VerifierNotFound"),
        IVsc::VerifierNotFound {
            node: addr(VERIFIERS[0])
        }
    );

    // At most 64 verifiers.
    for i in 0..64u8 {
        n.vsc(OWNER, add(Address::repeat_byte(i + 1)));
    }
    vsc_refused(
        &mut n,
        OWNER,
        add(Address::repeat_byte(0xee)),
        IVsc::TooManyVerifiers {
            max: U256::from(64),
        },
    );
}

#[test]
fn submission_refusals_change_nothing() {
    let mut n = Net::new();
    let (idao, _) = setup(&mut n, 3, 2, 4);
    let shared = contribute(&mut n, ALICE, "shared", idao);
    let other = contribute(&mut n, BOB, "other", idao);

    // Not the owner.
    refused(
        &mut n,
        STRANGER,
        VSC_ADDRESS,
        submit_call(idao, &[shared]),
        3 * NODE_FEE,
        IVsc::NotIdaoOwner {
            idaoId: idao,
            caller: addr(STRANGER),
        },
    );
    // Another iDAO's owner, for this iDAO.
    let unconfigured = register_idao(&mut n, OTHER_OWNER, "unconfigured");
    refused(
        &mut n,
        OTHER_OWNER,
        VSC_ADDRESS,
        submit_call(idao, &[shared]),
        3 * NODE_FEE,
        IVsc::NotIdaoOwner {
            idaoId: idao,
            caller: addr(OTHER_OWNER),
        },
    );
    // An unconfigured iDAO.
    refused(
        &mut n,
        OTHER_OWNER,
        VSC_ADDRESS,
        submit_call(unconfigured, &[shared]),
        3 * NODE_FEE,
        IVsc::NotConfigured {
            idaoId: unconfigured,
        },
    );
    // Empty, too large.
    refused(
        &mut n,
        OWNER,
        VSC_ADDRESS,
        submit_call(idao, &[]),
        3 * NODE_FEE,
        IVsc::EmptyFlow {},
    );
    let many: Vec<U256> = (1..=MAX_FLOW_FILES as u64 + 1).map(U256::from).collect();
    refused(
        &mut n,
        OWNER,
        VSC_ADDRESS,
        submit_call(idao, &many),
        3 * NODE_FEE,
        IVsc::FlowTooLarge {
            count: U256::from(MAX_FLOW_FILES + 1),
            max: U256::from(MAX_FLOW_FILES),
        },
    );
    // A file that does not exist (after a good one: nothing of the good one is kept).
    refused(
        &mut n,
        OWNER,
        VSC_ADDRESS,
        submit_call(idao, &[shared, U256::from(99)]),
        3 * NODE_FEE,
        IVsc::FileNotFound {
            fileId: U256::from(99),
        },
    );
    // A file not shared with the iDAO, and one shared with another iDAO's data address only.
    let private = add_file(&mut n, ALICE, "private");
    refused(
        &mut n,
        OWNER,
        VSC_ADDRESS,
        submit_call(idao, &[shared, private]),
        3 * NODE_FEE,
        IVsc::NotSharedWithIdao {
            fileId: private,
            dataAddress: idao_data_address(idao),
        },
    );
    let elsewhere = contribute(&mut n, ALICE, "elsewhere", unconfigured);
    refused(
        &mut n,
        OWNER,
        VSC_ADDRESS,
        submit_call(idao, &[elsewhere]),
        3 * NODE_FEE,
        IVsc::NotSharedWithIdao {
            fileId: elsewhere,
            dataAddress: idao_data_address(idao),
        },
    );
    // A permission granted to the owner's own address does not count either.
    let r = n.ok(
        ALICE,
        DATA_REGISTRY_ADDRESS,
        R::addPermissionForFileCall {
            fileId: private,
            account: addr(OWNER),
            key: sealed_key("to the owner"),
        }
        .abi_encode(),
        0,
    );
    assert!(r.success);
    refused(
        &mut n,
        OWNER,
        VSC_ADDRESS,
        submit_call(idao, &[private]),
        3 * NODE_FEE,
        IVsc::NotSharedWithIdao {
            fileId: private,
            dataAddress: idao_data_address(idao),
        },
    );
    // A file listed twice.
    refused(
        &mut n,
        OWNER,
        VSC_ADDRESS,
        submit_call(idao, &[shared, other, shared]),
        3 * NODE_FEE,
        IVsc::FileNotAvailable {
            fileId: shared,
            state: 1,
        },
    );
    // Too little fee: k × nodeFee − 1.
    refused(
        &mut n,
        OWNER,
        VSC_ADDRESS,
        submit_call(idao, &[shared]),
        3 * NODE_FEE - 1,
        IVsc::InsufficientFee {
            sent: fee(3) - U256::from(1),
            needed: fee(3),
        },
    );
    // Too few verifiers: remove two of four for a quorum of three.
    for &v in &VERIFIERS[2..] {
        n.vsc(
            OWNER,
            IVsc::removeVerifierCall {
                idaoId: idao,
                node: addr(v),
            },
        );
    }
    refused(
        &mut n,
        OWNER,
        VSC_ADDRESS,
        submit_call(idao, &[shared]),
        3 * NODE_FEE,
        IVsc::NotEnoughVerifiers {
            active: U256::from(2),
            needed: U256::from(3),
        },
    );
    for &v in &VERIFIERS[2..] {
        add_verifier(&mut n, idao, v);
    }
    // The exact fee is enough; then the file is in a pending flow and cannot enter another.
    let (flow, _) = submit(&mut n, idao, &[shared], fee(3));
    assert_eq!(n.state.balance(&VSC_ADDRESS), fee(3));
    refused(
        &mut n,
        OWNER,
        VSC_ADDRESS,
        submit_call(idao, &[other, shared]),
        3 * NODE_FEE,
        IVsc::FileNotAvailable {
            fileId: shared,
            state: 1,
        },
    );
    assert_eq!(n.status(shared).flowId, flow);
    assert_eq!(
        n.status(other).state,
        0,
        "untouched by the refused submission"
    );
    assert_eq!(n.view(IVsc::flowCountCall {}), U256::from(1));
    // Views of flows that do not exist revert.
    let out = n
        .ledger
        .call(
            &n.state,
            &n.env,
            &CallParams {
                from: Address::ZERO,
                to: Some(VSC_ADDRESS),
                value: U256::ZERO,
                input: IVsc::getFlowCall {
                    flowId: U256::from(2),
                }
                .abi_encode()
                .into(),
                gas_limit: 1_000_000,
                ..Default::default()
            },
        )
        .expect("call");
    expect_view_error(
        &out.output,
        IVsc::FlowNotFound {
            flowId: U256::from(2),
        },
    );
}

fn expect_view_error<E: SolError + PartialEq + std::fmt::Debug>(out: &Bytes, want: E) {
    let got = E::abi_decode(out)
        .unwrap_or_else(|_| panic!("expected {}, got {}", E::SIGNATURE, describe(out)));
    assert_eq!(got, want);
}

#[test]
fn post_refusals_change_nothing() {
    let mut n = Net::new();
    let p = pending(&mut n);
    let (flow, files, q) = (p.flow, p.files.clone(), p.q.clone());
    let good = all(&files, 7_000);

    // Signed by a verifier of the iDAO outside the quorum, or by anyone else.
    for signer in [p.outsider, STRANGER, OWNER] {
        let sig = sign_results(&n, signer, CHAIN_ID, flow, &good);
        vsc_refused(
            &mut n,
            signer,
            post_call(flow, &good, sig),
            IVsc::NotInQuorum {
                signer: addr(signer),
            },
        );
    }
    // Signed by a quorum node for another chain id, or for another flow id, or over other
    // results: the signature recovers to an address outside the quorum.
    let root = results_root(&good);
    let other_results = all(&files, 7_001);
    for sig in [
        sign_results(&n, q[0], CHAIN_ID + 1, flow, &good),
        sign_results(&n, q[0], CHAIN_ID, flow + U256::from(1), &good),
        sign_results(&n, q[0], CHAIN_ID, flow, &other_results),
    ] {
        let recovered = results_signer(CHAIN_ID, flow, root, &sig).expect("well formed");
        assert_ne!(recovered, addr(q[0]));
        vsc_refused(
            &mut n,
            q[0],
            post_call(flow, &good, sig),
            IVsc::NotInQuorum { signer: recovered },
        );
    }
    // Garbage signature bytes never panic: the signer is zero or an address outside the
    // quorum.
    let valid = sign_results(&n, q[0], CHAIN_ID, flow, &good);
    let mut wrong_v = valid.to_vec();
    wrong_v[64] = 5;
    let mut high_v = valid.to_vec();
    high_v[64] = 0xff;
    let mut flipped = valid.to_vec();
    flipped[10] ^= 0xff;
    let garbage: Vec<Vec<u8>> = vec![
        vec![],
        vec![0; 64],
        vec![0; 65],
        vec![0xff; 65],
        valid[..64].to_vec(),
        [valid.to_vec(), vec![0]].concat(),
        wrong_v,
        high_v,
        flipped,
        vec![0x42; 1000],
    ];
    for sig in garbage {
        let before = n.state.clone();
        let r = n.send(
            q[1],
            VSC_ADDRESS,
            post_call(flow, &good, sig.into()).abi_encode(),
            0,
        );
        assert!(!r.success);
        let e = IVsc::NotInQuorum::abi_decode(&r.output)
            .unwrap_or_else(|_| panic!("NotInQuorum, got {}", describe(&r.output)));
        assert!(!p.q.iter().any(|&i| addr(i) == e.signer));
        assert_fee_only(&before, &n.state, &n.env, &r);
    }

    // Results that do not match the flow's files: length, order, ids.
    let sign = |n: &Net, results: &[FileResult]| sign_results(n, q[0], CHAIN_ID, flow, results);
    let mismatches: Vec<(Vec<FileResult>, u64)> = vec![
        (good[..2].to_vec(), 2),
        (vec![], 0),
        ([good.clone(), all(&[U256::from(77)], 1)].concat(), 3),
        (vec![good[1].clone(), good[0].clone(), good[2].clone()], 0),
        (all(&[files[0], files[1], U256::from(77)], 1), 2),
        (all(&[files[0], files[1], files[1]], 1), 2),
    ];
    for (results, index) in mismatches {
        let sig = sign(&n, &results);
        vsc_refused(
            &mut n,
            q[0],
            post_call(flow, &results, sig),
            IVsc::ResultsMismatch {
                index: U256::from(index),
            },
        );
    }
    // Invalid verdicts: a rejection without a reason, a score above 10000, an acceptance with
    // a reason.
    for (scores, index) in [
        ([(1u16, 0u8), (0, 0), (1, 0)], 1u64),
        ([(10_001, 0), (1, 0), (1, 0)], 0),
        ([(1, 0), (1, 0), (u16::MAX, 0)], 2),
        ([(1, 0), (5_000, 3), (1, 0)], 1),
    ] {
        let results = verdicts(&files, &scores);
        let sig = sign(&n, &results);
        vsc_refused(
            &mut n,
            q[0],
            post_call(flow, &results, sig),
            IVsc::InvalidResult {
                index: U256::from(index),
            },
        );
    }
    // The edges are valid: score 10000 and score 0 with reason 255.
    let edge = verdicts(&files, &[(10_000, 0), (0, 255), (1, 0)]);
    post(&mut n, q[0], flow, &edge);
    // A replay, and a second, different post by the same node.
    let sig = sign(&n, &edge);
    vsc_refused(
        &mut n,
        STRANGER,
        post_call(flow, &edge, sig),
        IVsc::AlreadyPosted { node: addr(q[0]) },
    );
    let sig = sign(&n, &good);
    vsc_refused(
        &mut n,
        q[0],
        post_call(flow, &good, sig),
        IVsc::AlreadyPosted { node: addr(q[0]) },
    );
    // An unknown flow; value sent to a non-payable function.
    let sig = sign_results(&n, q[1], CHAIN_ID, U256::from(9), &good);
    vsc_refused(
        &mut n,
        q[1],
        post_call(U256::from(9), &good, sig),
        IVsc::FlowNotFound {
            flowId: U256::from(9),
        },
    );
    let sig = sign_results(&n, q[1], CHAIN_ID, flow, &good);
    refused(
        &mut n,
        q[1],
        VSC_ADDRESS,
        post_call(flow, &good, sig.clone()).abi_encode(),
        1,
        alloy_sol_types::Revert::from("function is not payable"),
    );
    // Past the deadline.
    let deadline = n.flow(flow).deadline;
    n.env.height = deadline + 1;
    vsc_refused(
        &mut n,
        q[1],
        post_call(flow, &good, sig.clone()),
        IVsc::DeadlinePassed {
            flowId: flow,
            deadline,
        },
    );
    // Closed (disputed by finalizeFlow).
    n.vsc(STRANGER, IVsc::finalizeFlowCall { flowId: flow });
    vsc_refused(
        &mut n,
        q[1],
        post_call(flow, &good, sig),
        IVsc::FlowClosed {
            flowId: flow,
            status: 3,
        },
    );
    let _ = p.idao;
}

#[test]
fn garbage_calldata_is_refused_without_panicking() {
    let mut n = Net::new();
    let p = pending(&mut n);
    let flow = p.flow;
    // Truncated and padded versions of a valid post, and junk with each selector.
    let sig = sign_results(&n, p.q[0], CHAIN_ID, flow, &all(&p.files, 1));
    let valid = post_call(flow, &all(&p.files, 1), sig).abi_encode();
    let mut inputs: Vec<Vec<u8>> = vec![
        vec![],
        vec![0x01],
        vec![0, 0, 0],
        valid[..4].to_vec(),
        valid[..36].to_vec(),
        valid[..valid.len() - 1].to_vec(),
    ];
    let mut junk = valid.clone();
    junk[4 + 32 + 31] = 0xff; // the results offset points past the end
    inputs.push(junk);
    let mut huge = valid.clone();
    huge[4 + 3 * 32 + 31] = 0xff; // results length 255 with no elements
    inputs.push(huge);
    for selector in IVsc::IVscCalls::SELECTORS {
        let mut input = selector.to_vec();
        input.extend_from_slice(&[0xff; 100]);
        inputs.push(input);
        inputs.push(selector.to_vec());
    }
    for input in inputs {
        let before = n.state.clone();
        let r = n.send(STRANGER, VSC_ADDRESS, input.clone(), 0);
        if !r.success {
            assert_fee_only(&before, &n.state, &n.env, &r);
        }
    }
    // The pending flow is untouched.
    assert_eq!(n.flow(flow).posted, U256::ZERO);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]
    /// Random calldata — real selectors with random arguments, and random selectors — from
    /// the owner, a quorum node or a stranger, with or without value, never panics the VSC:
    /// it answers or reverts, and a revert changes nothing but the fee.
    #[test]
    fn random_calldata_never_panics(
        selector in prop_oneof![
            3 => proptest::sample::select(IVsc::IVscCalls::SELECTORS.to_vec()),
            1 => any::<[u8; 4]>(),
        ],
        words in proptest::collection::vec(prop_oneof![
            Just(U256::ZERO), Just(U256::from(1)), Just(U256::from(2)), Just(U256::from(3)),
            Just(U256::from(32)), Just(U256::from(64)), Just(U256::from(65)), Just(U256::MAX),
            any::<[u8; 32]>().prop_map(U256::from_be_bytes),
        ], 0..14),
        tail in proptest::collection::vec(any::<u8>(), 0..40),
        from in proptest::sample::select(vec![OWNER, VERIFIERS[0], VERIFIERS[1], STRANGER]),
        value in prop_oneof![Just(0u128), Just(3 * NODE_FEE), 1u128..1_000_000],
        dt in 0u64..40,
    ) {
        let mut n = populated();
        n.env.height += dt;
        let mut input = selector.to_vec();
        for w in words {
            input.extend_from_slice(&w.to_be_bytes::<32>());
        }
        input.extend_from_slice(&tail);
        let before = n.state.clone();
        let r = n.send(from, VSC_ADDRESS, input, value);
        if !r.success {
            assert_fee_only(&before, &n.state, &n.env, &r);
        }
    }
}

/// A net with a configured iDAO, a pending flow with one post, and a verified flow.
fn populated() -> Net {
    thread_local! {
        static NET: Net = {
            let mut n = Net::new();
            let p = pending(&mut n);
            post(&mut n, p.q[0], p.flow, &all(&p.files, 3));
            let f = contribute(&mut n, BOB, "b2", p.idao);
            let (second, _) = submit(&mut n, p.idao, &[f], fee(3));
            let q = n.quorum(second);
            post(&mut n, q[0], second, &all(&[f], 9));
            post(&mut n, q[1], second, &all(&[f], 9));
            n
        };
    }
    NET.with(Clone::clone)
}

// ---- 4. disputes -----------------------------------------------------------------------------

#[test]
fn three_different_roots_dispute_the_flow_and_refund_every_fee() {
    let mut n = Net::new();
    let supply = total_supply(&n.state, &n.holders());
    let (idao, class) = setup(&mut n, 3, 2, 4);
    let files = vec![
        contribute(&mut n, ALICE, "a1", idao),
        contribute(&mut n, BOB, "b1", idao),
    ];
    let owner_before = n.balance(OWNER);
    let tokens_before = n.view_at(DAT_ADDRESS, D::tokenCountCall {});
    let value = fee(3) + U256::from(7);
    let (flow, submitted) = submit(&mut n, idao, &files, value);
    let q = n.quorum(flow);

    // Three nodes, three roots. After two, agreement is still possible.
    let r = post(&mut n, q[0], flow, &all(&files, 1_000));
    assert!(events::<IVsc::FlowDisputed>(&r).is_empty());
    let r = post(&mut n, q[1], flow, &all(&files, 2_000));
    assert!(events::<IVsc::FlowDisputed>(&r).is_empty());
    assert_eq!(n.flow(flow).status, 1);
    let r = post(&mut n, q[2], flow, &all(&files, 3_000));
    assert_eq!(
        event::<IVsc::FlowDisputed>(&r),
        IVsc::FlowDisputed {
            flowId: flow,
            idaoId: idao,
            posted: q.iter().map(|&i| addr(i)).collect(),
            silent: vec![],
        }
    );
    assert!(events::<IVsc::FlowVerified>(&r).is_empty());
    assert!(
        r.logs.iter().all(|l| l.address == VSC_ADDRESS),
        "no DAT minted"
    );
    let f = n.flow(flow);
    assert_eq!((f.status, f.resultsRoot), (3, B256::ZERO));
    assert_eq!((f.posted, f.bestVotes), (U256::from(3), U256::from(1)));
    for file in &files {
        let s = n.status(*file);
        assert_eq!(
            (s.idaoId, s.flowId, s.state, s.score, s.reason, s.tokenId),
            (idao, flow, 4, 0, 0, U256::ZERO)
        );
    }
    assert_eq!(n.view_at(DAT_ADDRESS, D::tokenCountCall {}), tokens_before);
    assert_eq!(
        n.view_at(DAT_ADDRESS, D::classInfoCall { classId: class })
            .tokenCount,
        U256::ZERO
    );
    // Nobody earned; the submitter got every fee back (it only paid gas).
    for &i in &q {
        assert_eq!(n.earned(i), U256::ZERO);
        let v = n.view(IVsc::getVerifierCall {
            idaoId: idao,
            node: addr(i),
        });
        assert_eq!(v.flowsServed, U256::ZERO);
    }
    assert_eq!(n.balance(OWNER), owner_before - gas_fee(&submitted));
    assert_eq!(n.state.balance(&VSC_ADDRESS), U256::ZERO);
    assert_eq!(total_supply(&n.state, &n.holders()), supply);

    // The disputed files go into a new flow, which can be verified.
    let (second, _) = submit(&mut n, idao, &files, fee(3));
    assert_eq!(second, flow + U256::from(1));
    for file in &files {
        let s = n.status(*file);
        assert_eq!((s.flowId, s.state), (second, 1));
    }
    let q2 = n.quorum(second);
    let results = all(&files, 4_242);
    post(&mut n, q2[0], second, &results);
    let r = post(&mut n, q2[1], second, &results);
    assert_eq!(event::<IVsc::FlowVerified>(&r).flowId, second);
    for file in &files {
        let s = n.status(*file);
        assert_eq!((s.flowId, s.state, s.score), (second, 2, 4_242));
    }
    // The first flow's posts are still readable.
    assert_eq!(
        n.view(IVsc::postedRootCall {
            flowId: flow,
            node: addr(q[0])
        }),
        results_root(&all(&files, 1_000))
    );
}

#[test]
fn a_threshold_out_of_reach_disputes_before_everyone_posted() {
    // k = 3, t = 3: two different roots make agreement impossible.
    let mut n = Net::new();
    let (idao, _) = setup(&mut n, 3, 3, 3);
    let files = vec![contribute(&mut n, ALICE, "a1", idao)];
    let (flow, _) = submit(&mut n, idao, &files, fee(3));
    let q = n.quorum(flow);
    post(&mut n, q[0], flow, &all(&files, 1));
    let r = post(&mut n, q[1], flow, &all(&files, 2));
    assert_eq!(
        event::<IVsc::FlowDisputed>(&r),
        IVsc::FlowDisputed {
            flowId: flow,
            idaoId: idao,
            posted: vec![addr(q[0]), addr(q[1])],
            silent: vec![addr(q[2])],
        }
    );
    let sig = sign_results(&n, q[2], CHAIN_ID, flow, &all(&files, 1));
    vsc_refused(
        &mut n,
        q[2],
        post_call(flow, &all(&files, 1), sig),
        IVsc::FlowClosed {
            flowId: flow,
            status: 3,
        },
    );
    // k = 3, t = 1: the first post anchors.
    let mut n = Net::new();
    let (idao, _) = setup(&mut n, 3, 1, 3);
    let files = vec![contribute(&mut n, ALICE, "a1", idao)];
    let (flow, _) = submit(&mut n, idao, &files, fee(3));
    let q = n.quorum(flow);
    let r = post(&mut n, q[1], flow, &all(&files, 1));
    let v = event::<IVsc::FlowVerified>(&r);
    assert_eq!(v.agreeing, vec![addr(q[1])]);
    assert_eq!(v.silent, vec![addr(q[0]), addr(q[2])]);
}

#[test]
fn silence_past_the_deadline_disputes_the_flow() {
    let mut n = Net::new();
    let (idao, _) = setup(&mut n, 3, 2, 4);
    let files = vec![
        contribute(&mut n, ALICE, "a1", idao),
        contribute(&mut n, BOB, "b1", idao),
    ];
    let owner_before = n.balance(OWNER);
    let (flow, submitted) = submit(&mut n, idao, &files, fee(3));
    let q = n.quorum(flow);
    let deadline = START + DEADLINE;
    assert_eq!(n.flow(flow).deadline, deadline);

    post(&mut n, q[0], flow, &all(&files, 9_000));
    // Up to and including the deadline block, nobody may finalize.
    for height in [START, deadline - 1, deadline] {
        n.env.height = height;
        vsc_refused(
            &mut n,
            STRANGER,
            IVsc::finalizeFlowCall { flowId: flow },
            IVsc::DeadlineNotReached {
                flowId: flow,
                deadline,
            },
        );
    }
    // The deadline block still takes a post (a different root: no agreement yet).
    post(&mut n, q[1], flow, &all(&files, 8_000));
    // After it, no post; anyone may finalize.
    n.env.height = deadline + 1;
    let sig = sign_results(&n, q[2], CHAIN_ID, flow, &all(&files, 9_000));
    vsc_refused(
        &mut n,
        q[2],
        post_call(flow, &all(&files, 9_000), sig),
        IVsc::DeadlinePassed {
            flowId: flow,
            deadline,
        },
    );
    vsc_refused(
        &mut n,
        STRANGER,
        IVsc::finalizeFlowCall {
            flowId: U256::from(5),
        },
        IVsc::FlowNotFound {
            flowId: U256::from(5),
        },
    );
    refused(
        &mut n,
        STRANGER,
        VSC_ADDRESS,
        IVsc::finalizeFlowCall { flowId: flow }.abi_encode(),
        1,
        alloy_sol_types::Revert::from("function is not payable"),
    );
    let r = n.vsc(STRANGER, IVsc::finalizeFlowCall { flowId: flow });
    assert_eq!(
        event::<IVsc::FlowDisputed>(&r),
        IVsc::FlowDisputed {
            flowId: flow,
            idaoId: idao,
            posted: vec![addr(q[0]), addr(q[1])],
            silent: vec![addr(q[2])],
        }
    );
    assert_eq!(n.flow(flow).status, 3);
    for file in &files {
        assert_eq!(n.status(*file).state, 4);
    }
    assert_eq!(
        n.balance(OWNER),
        owner_before - gas_fee(&submitted),
        "every fee back"
    );
    assert_eq!(n.state.balance(&VSC_ADDRESS), U256::ZERO);
    for &i in &q {
        assert_eq!(n.earned(i), U256::ZERO);
    }
    vsc_refused(
        &mut n,
        STRANGER,
        IVsc::finalizeFlowCall { flowId: flow },
        IVsc::FlowClosed {
            flowId: flow,
            status: 3,
        },
    );

    // A verified flow cannot be finalized either, even after its deadline.
    let (second, _) = submit(&mut n, idao, &files, fee(3));
    let q = n.quorum(second);
    post(&mut n, q[0], second, &all(&files, 1));
    post(&mut n, q[1], second, &all(&files, 1));
    n.env.height += DEADLINE + 1;
    vsc_refused(
        &mut n,
        STRANGER,
        IVsc::finalizeFlowCall { flowId: second },
        IVsc::FlowClosed {
            flowId: second,
            status: 2,
        },
    );
}

// ---- 4b. resubmission after an unavailable rejection -----------------------------------------

fn resubmit(file: U256) -> IVsc::resubmitFileCall {
    IVsc::resubmitFileCall { fileId: file }
}

#[test]
fn only_the_owner_resubmits_and_only_a_file_rejected_as_unavailable() {
    let mut n = Net::new();
    let (idao, class) = setup(&mut n, 1, 1, 1);
    let lost = contribute(&mut n, ALICE, "lost", idao);
    let tampered = contribute(&mut n, BOB, "tampered", idao);
    let fresh = contribute(&mut n, BOB, "fresh", idao);
    let (flow, _) = submit(&mut n, idao, &[lost, tampered], fee(1));
    let node = n.quorum(flow)[0];
    // The quorum could not read `lost`'s blob; `tampered` does not match its root (reason 2).
    post(
        &mut n,
        node,
        flow,
        &verdicts(&[lost, tampered], &[(0, REASON_UNAVAILABLE), (0, 2)]),
    );
    assert_eq!(n.status(lost).state, FILE_REJECTED);
    // A rejected file cannot enter a flow until its owner puts it back.
    refused(
        &mut n,
        OWNER,
        VSC_ADDRESS,
        submit_call(idao, &[lost]),
        NODE_FEE,
        IVsc::FileNotAvailable {
            fileId: lost,
            state: FILE_REJECTED,
        },
    );

    // Nobody but the owner may resubmit it.
    for who in [STRANGER, OWNER, node] {
        vsc_refused(
            &mut n,
            who,
            resubmit(lost),
            IVsc::NotFileOwner {
                fileId: lost,
                caller: addr(who),
            },
        );
    }
    // A rejection that is the data's fault is final, even for its owner.
    vsc_refused(
        &mut n,
        BOB,
        resubmit(tampered),
        IVsc::NotResubmittable {
            fileId: tampered,
            state: FILE_REJECTED,
            reason: 2,
        },
    );
    // So is a file that was never rejected.
    vsc_refused(
        &mut n,
        BOB,
        resubmit(fresh),
        IVsc::NotResubmittable {
            fileId: fresh,
            state: FILE_NONE,
            reason: 0,
        },
    );
    vsc_refused(
        &mut n,
        ALICE,
        resubmit(U256::from(999)),
        IVsc::FileNotFound {
            fileId: U256::from(999),
        },
    );

    // The owner puts it back: it keeps the record of its rejection and may enter a new flow.
    let r = n.vsc(ALICE, resubmit(lost));
    assert_eq!(
        event::<IVsc::FileResubmitted>(&r),
        IVsc::FileResubmitted {
            fileId: lost,
            idaoId: idao,
            rejectedInFlow: flow,
        }
    );
    let s = n.status(lost);
    assert_eq!(
        (s.idaoId, s.flowId, s.state, s.reason),
        (idao, flow, FILE_RESUBMITTED, REASON_UNAVAILABLE)
    );
    vsc_refused(
        &mut n,
        ALICE,
        resubmit(lost),
        IVsc::NotResubmittable {
            fileId: lost,
            state: FILE_RESUBMITTED,
            reason: REASON_UNAVAILABLE,
        },
    );
    // The data-fault rejection still cannot enter a flow.
    refused(
        &mut n,
        OWNER,
        VSC_ADDRESS,
        submit_call(idao, &[tampered]),
        NODE_FEE,
        IVsc::FileNotAvailable {
            fileId: tampered,
            state: FILE_REJECTED,
        },
    );

    // This time the blob is there: the file is verified and its owner gets the DAT.
    let (again, _) = submit(&mut n, idao, &[lost], fee(1));
    let node = n.quorum(again)[0];
    post(&mut n, node, again, &all(&[lost], 7_000));
    let s = n.status(lost);
    assert_eq!((s.flowId, s.state, s.score), (again, FILE_VERIFIED, 7_000));
    let token = n.view_at(DAT_ADDRESS, D::tokenInfoCall { tokenId: s.tokenId });
    assert_eq!((token.owner, token.classId), (addr(ALICE), class));
    // A verified file is not resubmittable either.
    vsc_refused(
        &mut n,
        ALICE,
        resubmit(lost),
        IVsc::NotResubmittable {
            fileId: lost,
            state: FILE_VERIFIED,
            reason: 0,
        },
    );
}

// ---- 5. the SDK path -------------------------------------------------------------------------

/// Lists [`SDK_NODE`] in VerifiedComputing (governance) with a fee of `NODE_FEE`, after it
/// attested (dev TEE) for an iDAO of its own.
fn sdk_node(n: &mut Net) {
    let idao = register_idao(n, OWNER, "sdk-nodes");
    dev_policy(n, idao);
    attest(n, idao, SDK_NODE);
    n.ok(
        GOV,
        VERIFIED_COMPUTING_ADDRESS,
        V::addNodeCall {
            nodeAddress: addr(SDK_NODE),
            url: "https://sdk-node.example".into(),
            publicKey: "0x01".into(),
        }
        .abi_encode(),
        0,
    );
    n.ok(
        GOV,
        VERIFIED_COMPUTING_ADDRESS,
        V::updateNodeFeeCall {
            newNodeFee: U256::from(NODE_FEE),
        }
        .abi_encode(),
        0,
    );
}

/// The SDK path up to the reward: a proof job for `file` (paid by its owner), the node's
/// proof (index 1) and the completed job. Returns the job id.
fn sdk_proof(n: &mut Net, owner: usize, file: U256, score: u64) -> U256 {
    n.ok(
        owner,
        VERIFIED_COMPUTING_ADDRESS,
        V::requestProofCall { fileId: file }.abi_encode(),
        NODE_FEE,
    );
    let job: U256 = n.view_at(VERIFIED_COMPUTING_ADDRESS, V::jobsCountCall {});
    let url = n
        .view_at(DATA_REGISTRY_ADDRESS, R::getFileCall { fileId: file })
        .url;
    let data = R::ProofData {
        id: file,
        score: U256::from(score),
        fileUrl: url,
        proofUrl: "https://proofs.example/1".into(),
    };
    let (message, _) = proof_digest(&data);
    let signature = n.signers[SDK_NODE]
        .sign_message_sync(message.as_slice())
        .expect("sign");
    let proof = R::Proof {
        signature: Bytes::from(signature.as_bytes().to_vec()),
        data,
    };
    n.ok(
        SDK_NODE,
        DATA_REGISTRY_ADDRESS,
        R::addProofCall {
            fileId: file,
            proof,
        }
        .abi_encode(),
        0,
    );
    n.ok(
        SDK_NODE,
        VERIFIED_COMPUTING_ADDRESS,
        V::completeJobCall { jobId: job }.abi_encode(),
        0,
    );
    job
}

fn reward(file: U256) -> Vec<u8> {
    R::requestRewardCall {
        fileId: file,
        proofIndex: U256::from(1),
    }
    .abi_encode()
}

#[test]
fn the_sdk_reward_and_a_flow_exclude_each_other() {
    let mut n = Net::new();
    sdk_node(&mut n);
    let (idao, _) = setup(&mut n, 3, 2, 4);
    let via_flow = contribute(&mut n, ALICE, "via-flow", idao);
    let rejected = contribute(&mut n, ALICE, "rejected", idao);
    let pending_file = contribute(&mut n, ALICE, "pending", idao);
    let disputed = contribute(&mut n, ALICE, "disputed", idao);
    let via_sdk = contribute(&mut n, ALICE, "via-sdk", idao);
    for f in [via_flow, rejected, pending_file, disputed, via_sdk] {
        sdk_proof(&mut n, ALICE, f, 6_000);
    }

    // A file rewarded through requestReward cannot enter a flow.
    n.ok(ALICE, DATA_REGISTRY_ADDRESS, reward(via_sdk), 0);
    assert_eq!(
        n.view_at(DATA_REGISTRY_ADDRESS, R::getFileCall { fileId: via_sdk })
            .proofIndex,
        U256::from(1)
    );
    refused(
        &mut n,
        OWNER,
        VSC_ADDRESS,
        submit_call(idao, &[via_flow, via_sdk]),
        3 * NODE_FEE,
        IVsc::FileAlreadyRewarded { fileId: via_sdk },
    );

    // A file verified or rejected through a flow cannot be rewarded.
    let (flow, _) = submit(&mut n, idao, &[via_flow, rejected], fee(3));
    let q = n.quorum(flow);
    let results = verdicts(&[via_flow, rejected], &[(9_500, 0), (0, 2)]);
    post(&mut n, q[0], flow, &results);
    post(&mut n, q[1], flow, &results);
    assert_eq!(n.status(via_flow).state, 2);
    assert_eq!(n.status(rejected).state, 3);
    for f in [via_flow, rejected] {
        refused(
            &mut n,
            ALICE,
            DATA_REGISTRY_ADDRESS,
            reward(f),
            0,
            R::FileAlreadyRewarded {},
        );
    }
    // Nor a file in a pending flow.
    let (pending_flow, _) = submit(&mut n, idao, &[pending_file], fee(3));
    refused(
        &mut n,
        ALICE,
        DATA_REGISTRY_ADDRESS,
        reward(pending_file),
        0,
        R::FileAlreadyRewarded {},
    );
    assert_eq!(n.status(pending_file).flowId, pending_flow);

    // A file whose flow was disputed is free again: it may be rewarded, and then it cannot
    // enter another flow.
    let (disputed_flow, _) = submit(&mut n, idao, &[disputed], fee(3));
    n.env.height += DEADLINE + 1;
    n.vsc(
        STRANGER,
        IVsc::finalizeFlowCall {
            flowId: disputed_flow,
        },
    );
    assert_eq!(n.status(disputed).state, 4);
    let r = n.ok(ALICE, DATA_REGISTRY_ADDRESS, reward(disputed), 0);
    assert!(r.logs.iter().any(|l| l.address == DAT_ADDRESS));
    refused(
        &mut n,
        OWNER,
        VSC_ADDRESS,
        submit_call(idao, &[disputed]),
        3 * NODE_FEE,
        IVsc::FileAlreadyRewarded { fileId: disputed },
    );
}

// ---- 6. determinism --------------------------------------------------------------------------

/// A scenario touching every state-changing function: configure, verifiers, a verified flow
/// with a dissenter, a disputed flow, a deadline, claims, a removal.
fn scenario(n: &mut Net) -> Vec<Receipt> {
    let start = n.log.len();
    let (idao, _) = setup(n, 3, 2, 4);
    let a1 = contribute(n, ALICE, "a1", idao);
    let b1 = add_file(n, BOB, "b1");
    share(n, BOB, b1, idao);
    let a2 = contribute(n, ALICE, "a2", idao);
    let files = vec![a1, b1, a2];
    let (flow, _) = submit(n, idao, &files, fee(3) + U256::from(1));
    let q = n.quorum(flow);
    let good = verdicts(&files, &[(9_000, 0), (0, 4), (1, 0)]);
    post(n, q[0], flow, &good);
    post(n, q[1], flow, &all(&files, 2));
    post_as(n, STRANGER, q[2], flow, &good);
    n.vsc(q[0], IVsc::claimFeesCall {});
    let more = vec![
        contribute(n, BOB, "b2", idao),
        contribute(n, BOB, "b3", idao),
    ];
    n.env.height += 1;
    let (second, _) = submit(n, idao, &more, fee(3));
    let q = n.quorum(second);
    post(n, q[1], second, &all(&more, 5));
    n.env.height += DEADLINE + 1;
    n.vsc(STRANGER, IVsc::finalizeFlowCall { flowId: second });
    n.vsc(
        OWNER,
        IVsc::removeVerifierCall {
            idaoId: idao,
            node: addr(VERIFIERS[0]),
        },
    );
    let (third, _) = submit(n, idao, &more, fee(3) * U256::from(2));
    let q = n.quorum(third);
    post(n, q[2], third, &all(&more, 6));
    post(n, q[0], third, &all(&more, 6));
    // Replay the log on a fresh state to collect the receipts.
    n.log[start..]
        .iter()
        .scan(Net::with_parent(n.env.parent_hash), |fresh, (env, tx)| {
            fresh.env = env.clone();
            Some(
                fresh
                    .ledger
                    .apply(&mut fresh.state, &fresh.env, tx, 0)
                    .expect("replays"),
            )
        })
        .collect()
}

#[test]
fn the_same_transactions_give_the_same_state_root() {
    let mut one = Net::new();
    let mut two = Net::new();
    let receipts_one = scenario(&mut one);
    let receipts_two = scenario(&mut two);
    assert_eq!(receipts_one, receipts_two);
    assert!(receipts_one.iter().all(|r| r.success));
    assert_eq!(one.state.root(), two.state.root());
    let entries =
        |s: &lazai_ledger::State| -> Vec<_> { s.writes().map(|(k, v)| (*k, v.cloned())).collect() };
    assert_eq!(entries(&one.state), entries(&two.state));

    // The same transactions as blocks on two fresh states: the same state roots and receipts
    // roots, block by block. Each test transaction reserves a whole block's gas, so each is a
    // block of its own, in the environment it ran in.
    let blocks: Vec<(BlockEnv, Vec<Arc<RecoveredTx>>)> = one
        .log
        .iter()
        .map(|(env, tx)| (env.clone(), vec![tx.clone()]))
        .collect();
    let fresh = Net::new();
    let (mut a, mut b) = (fresh.state.clone(), fresh.state.clone());
    let ledger_b = Ledger::with_config(CHAIN_ID, StakingParams::default(), addr(GOV));
    for (env, txs) in blocks {
        let x = fresh
            .ledger
            .execute_block(&a, &env, txs.clone())
            .expect("valid block");
        let y = ledger_b.execute_block(&b, &env, txs).expect("valid block");
        assert_eq!(x.state_root, y.state_root);
        assert_eq!(x.receipts_root, y.receipts_root);
        assert!(x.receipts.iter().all(|r| r.success));
        (a, b) = (x.state, y.state);
    }
    assert_eq!(a.root(), b.root());

    // Another parent hash draws other quorums: the flows record them, so the roots differ.
    let mut other = Net::with_parent(keccak256(b"another parent"));
    scenario(&mut other);
    assert_ne!(other.state.root(), one.state.root());
}

// ---- gas -------------------------------------------------------------------------------------

/// A flow of `count` files (one contributor each, round-robin Alice/Bob) with k = 3, t = 2;
/// returns the gas of submitFlow, of the first post and of the anchoring post.
fn flow_gas(count: usize) -> (Receipt, Receipt, Receipt) {
    let mut n = Net::new();
    let (idao, _) = setup(&mut n, 3, 2, 4);
    let files: Vec<U256> = (0..count)
        .map(|i| contribute(&mut n, [ALICE, BOB][i % 2], &format!("f{i}"), idao))
        .collect();
    let (flow, submitted) = submit(&mut n, idao, &files, fee(3));
    let q = n.quorum(flow);
    let results: Vec<FileResult> = files
        .iter()
        .enumerate()
        .map(|(i, f)| FileResult {
            fileId: *f,
            score: if i % 10 == 9 { 0 } else { 1 + i as u16 },
            reason: if i % 10 == 9 { 1 } else { 0 },
        })
        .collect();
    let first = post(&mut n, q[0], flow, &results);
    let anchoring = post(&mut n, q[1], flow, &results);
    assert_eq!(n.flow(flow).status, 2);
    (submitted, first, anchoring)
}

#[test]
fn gas_of_a_flow_of_3_and_of_100_files() {
    for count in [3, 100] {
        let (submitted, first, anchoring) = flow_gas(count);
        println!(
            "VSC gas, {count} files: submitFlow {}, first postResults {}, anchoring postResults {}",
            submitted.gas_used, first.gas_used, anchoring.gas_used
        );
        assert!(anchoring.gas_used < 30_000_000);
    }
}

/// The largest flow `submitFlow` accepts must be able to anchor within a block's gas limit
/// (30,000,000 in these tests), or it can only ever be disputed.
#[test]
fn a_flow_of_the_most_files_anchors_within_the_block_gas_limit() {
    let (submitted, first, anchoring) = flow_gas(MAX_FLOW_FILES);
    println!(
        "VSC gas, {MAX_FLOW_FILES} files: submitFlow {}, first postResults {}, anchoring postResults {}",
        submitted.gas_used, first.gas_used, anchoring.gas_used
    );
}

/// A flow mints with the usage quota its iDAO had when it was submitted: reconfiguring the
/// iDAO while the flow is pending changes later flows only.
#[test]
fn a_pending_flow_keeps_the_quota_it_was_submitted_with() {
    let mut n = Net::new();
    let (idao, class) = setup(&mut n, 3, 2, 3);
    let files = vec![contribute(&mut n, ALICE, "q1", idao)];
    let (flow, _) = submit(&mut n, idao, &files, fee(3));
    let mut changed = params(3, 2);
    changed.usageQuota = U256::from(QUOTA) * U256::from(7);
    assert_eq!(configure(&mut n, idao, changed), class);
    let q = n.quorum(flow);
    post(&mut n, q[0], flow, &all(&files, 5_000));
    post(&mut n, q[1], flow, &all(&files, 5_000));
    let s = n.status(files[0]);
    let token = n.view_at(DAT_ADDRESS, D::tokenInfoCall { tokenId: s.tokenId });
    assert_eq!(token.value, U256::from(QUOTA));
    assert_eq!(token.classId, class);
}
