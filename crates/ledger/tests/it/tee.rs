//! TEE policies and attestations on chain: the dev TEE only where genesis enables it, key
//! binding, evidence expiry and policy changes taking nodes out of assignment, the real vendor
//! samples verified inside a transaction, and the gas each platform costs.

use crate::registry::{Net, expect};
use crate::support::{CHAIN_ID, tee};
use alloy_primitives::{Address, B256, Bytes, U256};
use alloy_sol_types::{SolCall, SolError, SolValue};
use lazai_abi::{
    DATA_REGISTRY_ADDRESS, IDAO_REGISTRY_ADDRESS, IDataRegistry as R, IIdaoRegistry,
    ITeeRegistry as T, IVerifiedComputing as V, TeePolicy, VERIFIED_COMPUTING_ADDRESS,
};
use lazai_attest::{Platform, TcbStatus};

const GOV: usize = 0;
const NODE1: usize = 1;
const NODE2: usize = 2;
const ALICE: usize = 3;
const OWNER: usize = 4;
const VC: Address = VERIFIED_COMPUTING_ADDRESS;
const REG: Address = IDAO_REGISTRY_ADDRESS;

fn new_idao(n: &mut Net, name: &str) -> U256 {
    let r = n.ok(
        OWNER,
        REG,
        IIdaoRegistry::registerIdao_0Call {
            name: name.into(),
            metadataUri: format!("ipfs://{name}"),
        }
        .abi_encode(),
        0,
    );
    U256::abi_decode(&r.output).expect("iDAO id")
}

fn now(n: &Net) -> u64 {
    n.env.timestamp_ms / 1000
}

/// Governance lets nodes register themselves under `idao`'s policy.
fn allow(n: &mut Net, idao: U256) {
    n.ok(
        GOV,
        VC,
        V::allowNodeIdaoCall {
            idaoId: idao,
            allowed: true,
        }
        .abi_encode(),
        0,
    );
}

fn register(n: &mut Net, node: usize, idao: U256) -> u64 {
    let input = tee::register(CHAIN_ID, idao, n.addr(node), B256::repeat_byte(7), now(n));
    let r = n.ok(node, VC, input, 0);
    u64::abi_decode(&r.output).expect("expiry")
}

fn refused_reason(out: &Bytes) -> String {
    T::AttestationRefused::abi_decode(out)
        .map(|e| e.reason)
        .unwrap_or_else(|_| format!("not AttestationRefused: {out}"))
}

/// A file and a proof request by Alice; returns the assigned node.
fn request(n: &mut Net, tag: &str) -> Result<Address, Bytes> {
    let r = n.ok(
        ALICE,
        DATA_REGISTRY_ADDRESS,
        R::addFileCall {
            url: format!("file:///{tag}"),
            hash: "0xabc".into(),
        }
        .abi_encode(),
        0,
    );
    let file = U256::abi_decode(&r.output).expect("file id");
    let r = n.send(
        ALICE,
        VC,
        V::requestProofCall { fileId: file }.abi_encode(),
        0,
    );
    if !r.success {
        return Err(r.output);
    }
    let job = n.view(VC, V::jobsCountCall {});
    Ok(n.view(VC, V::getJobCall { jobId: job }).nodeAddress)
}

#[test]
fn a_dev_node_registers_and_is_assigned_until_its_evidence_expires() {
    let mut n = Net::new();
    let idao = new_idao(&mut n, "compute");
    n.ok(OWNER, REG, tee::dev_policy(idao), 0);
    assert!(n.view(REG, T::devTeeEnabledCall {}));

    // Only under an iDAO governance allowed.
    let input = tee::register(CHAIN_ID, idao, n.addr(NODE1), B256::repeat_byte(7), now(&n));
    let r = n.send(NODE1, VC, input, 0);
    expect(&r, V::IdaoNotAllowed { idaoId: idao });
    allow(&mut n, idao);

    let expires = register(&mut n, NODE1, idao);
    assert_eq!(expires, now(&n) + tee::MAX_AGE);
    let info = n.view(
        VC,
        V::getNodeCall {
            nodeAddress: n.addr(NODE1),
        },
    );
    assert_eq!(info.status, V::NodeStatus::Active);
    assert_eq!(info.publicKey, format!("0x{}", "07".repeat(32)));
    let a = n.view(
        REG,
        T::attestationOfCall {
            idaoId: idao,
            node: n.addr(NODE1),
        },
    );
    assert_eq!(a.platform, Platform::Dev.code());
    assert_eq!(a.hpkePublicKey, B256::repeat_byte(7));
    assert_eq!(
        n.view(
            REG,
            T::attestedUntilCall {
                idaoId: idao,
                node: n.addr(NODE1)
            }
        ),
        expires
    );
    assert_eq!(request(&mut n, "a"), Ok(n.addr(NODE1)));

    // NODE2 registers too; jobs alternate.
    register(&mut n, NODE2, idao);
    let assigned: Vec<_> = (0..4)
        .map(|i| request(&mut n, &format!("b{i}")).expect("assigned"))
        .collect();
    assert!(assigned.contains(&n.addr(NODE1)) && assigned.contains(&n.addr(NODE2)));

    // Half an hour later NODE2 refreshes; NODE1 does not. After NODE1's hour, every job goes
    // to NODE2, and NODE1 is still listed active but not assignable.
    n.env.timestamp_ms += 1_800_000;
    register(&mut n, NODE2, idao);
    n.env.timestamp_ms += 1_800_000 + 1_000;
    assert!(!n.view(
        VC,
        V::isAssignableCall {
            nodeAddress: n.addr(NODE1)
        }
    ));
    assert!(n.view(
        VC,
        V::isAssignableCall {
            nodeAddress: n.addr(NODE2)
        }
    ));
    assert!(!n.view(
        REG,
        T::isAttestedCall {
            idaoId: idao,
            node: n.addr(NODE1)
        }
    ));
    for i in 0..4 {
        assert_eq!(request(&mut n, &format!("c{i}")), Ok(n.addr(NODE2)));
    }
    assert!(
        n.view(VC, V::activeNodeListCall {})
            .contains(&n.addr(NODE1))
    );

    // When NODE2 expires too, no node can take a job.
    n.env.timestamp_ms += 3_600_000;
    let err = request(&mut n, "d").expect_err("no attested node");
    assert_eq!(err, Bytes::from(V::NoAttestedNode {}.abi_encode()));

    // Fresh evidence brings NODE1 back.
    register(&mut n, NODE1, idao);
    assert_eq!(request(&mut n, "e"), Ok(n.addr(NODE1)));
}

#[test]
fn a_policy_change_removes_a_node_from_assignment_at_once() {
    let mut n = Net::new();
    let idao = new_idao(&mut n, "compute");
    n.ok(OWNER, REG, tee::dev_policy(idao), 0);
    allow(&mut n, idao);
    register(&mut n, NODE1, idao);
    register(&mut n, NODE2, idao);

    // The owner allows only a measurement neither node has: both are out at once.
    let set = |measurements: Vec<B256>, platforms: u32| T::setTeePolicyCall {
        idaoId: idao,
        policy: TeePolicy {
            platforms,
            measurements,
            minTcbStatus: TcbStatus::UpToDate.code(),
            maxEvidenceAge: tee::MAX_AGE,
        },
    };
    n.ok(
        OWNER,
        REG,
        set(vec![B256::repeat_byte(1)], Platform::Dev.bit()).abi_encode(),
        0,
    );
    assert!(!n.view(
        VC,
        V::isAssignableCall {
            nodeAddress: n.addr(NODE1)
        }
    ));
    assert!(request(&mut n, "x").is_err());

    // Allowing the dev measurement again restores them; dropping the dev platform removes them.
    let dev_hash = n
        .view(
            REG,
            T::attestationOfCall {
                idaoId: idao,
                node: n.addr(NODE1),
            },
        )
        .measurementHash;
    n.ok(
        OWNER,
        REG,
        set(vec![dev_hash], Platform::Dev.bit()).abi_encode(),
        0,
    );
    assert!(request(&mut n, "y").is_ok());
    n.ok(
        OWNER,
        REG,
        set(Vec::new(), Platform::Sgx.bit()).abi_encode(),
        0,
    );
    assert!(!n.view(
        VC,
        V::isAssignableCall {
            nodeAddress: n.addr(NODE2)
        }
    ));
    assert!(request(&mut n, "z").is_err());

    // Only the iDAO's owner sets its policy; nonsense policies are refused.
    let r = n.send(
        ALICE,
        REG,
        set(Vec::new(), Platform::Dev.bit()).abi_encode(),
        0,
    );
    expect(
        &r,
        IIdaoRegistry::NotIdaoOwner {
            idaoId: idao,
            caller: n.addr(ALICE),
        },
    );
    for bad in [0u32, 1, 1 << 9] {
        let r = n.send(OWNER, REG, set(Vec::new(), bad).abi_encode(), 0);
        assert!(
            !r.success && T::InvalidTeePolicy::abi_decode(&r.output).is_ok(),
            "mask {bad}"
        );
    }
}

#[test]
fn evidence_must_bind_the_callers_key_on_this_chain() {
    let mut n = Net::new();
    let idao = new_idao(&mut n, "compute");
    n.ok(OWNER, REG, tee::dev_policy(idao), 0);
    allow(&mut n, idao);
    let hpke = B256::repeat_byte(7);
    let t = now(&n);
    // NODE2's evidence submitted by NODE1; evidence for another chain; another HPKE key.
    for evidence in [
        tee::evidence(CHAIN_ID, n.addr(NODE2), hpke, t),
        tee::evidence(CHAIN_ID + 1, n.addr(NODE1), hpke, t),
        tee::evidence(CHAIN_ID, n.addr(NODE1), B256::repeat_byte(8), t),
    ] {
        let input = V::registerAttestedNodeCall {
            idaoId: idao,
            url: "https://n1".into(),
            hpkePublicKey: hpke,
            rsaPublicKey: String::new(),
            evidence,
            collateral: Bytes::new(),
        }
        .abi_encode();
        let r = n.send(NODE1, VC, input, 0);
        assert!(!r.success);
        assert!(
            refused_reason(&r.output).contains("report data does not bind"),
            "{}",
            refused_reason(&r.output)
        );
    }
    // Too old and from the future.
    for (issued, why) in [
        (t - tee::MAX_AGE - 1, "older than the policy's maximum age"),
        (t + 3_600, "in the future"),
    ] {
        let input = tee::register(CHAIN_ID, idao, n.addr(NODE1), hpke, issued);
        let r = n.send(NODE1, VC, input, 0);
        assert!(!r.success, "issued at {issued}");
        assert!(
            refused_reason(&r.output).contains(why),
            "{}",
            refused_reason(&r.output)
        );
    }
    // No policy: refused with NoTeePolicy; garbage evidence: refused.
    let other = new_idao(&mut n, "no-policy");
    allow(&mut n, other);
    let r = n.send(
        NODE1,
        VC,
        tee::register(CHAIN_ID, other, n.addr(NODE1), hpke, t),
        0,
    );
    expect(&r, T::NoTeePolicy { idaoId: other });
    let input = T::submitAttestationCall {
        idaoId: idao,
        hpkePublicKey: hpke,
        evidence: Bytes::from(vec![0xAB; 100]),
        collateral: Bytes::new(),
    }
    .abi_encode();
    let r = n.send(NODE1, REG, input, 0);
    assert!(refused_reason(&r.output).contains("unrecognized evidence"));
    assert!(!n.view(
        VC,
        V::isNodeCall {
            nodeAddress: n.addr(NODE1)
        }
    ));
}

#[test]
fn a_chain_without_dev_tee_refuses_dev_evidence_and_dev_policies() {
    let mut n = Net::without_dev_tee();
    let idao = new_idao(&mut n, "compute");
    assert!(!n.view(REG, T::devTeeEnabledCall {}));
    let r = n.send(OWNER, REG, tee::dev_policy(idao), 0);
    assert!(!r.success && T::InvalidTeePolicy::abi_decode(&r.output).is_ok());
    // Even under a policy that names only hardware platforms, dev evidence is refused as dev.
    let policy = T::setTeePolicyCall {
        idaoId: idao,
        policy: TeePolicy {
            platforms: Platform::Sgx.bit() | Platform::Tdx.bit(),
            measurements: Vec::new(),
            minTcbStatus: 0,
            maxEvidenceAge: 3_600,
        },
    };
    n.ok(OWNER, REG, policy.abi_encode(), 0);
    allow(&mut n, idao);
    let input = tee::register(CHAIN_ID, idao, n.addr(NODE1), B256::repeat_byte(7), now(&n));
    let r = n.send(NODE1, VC, input, 0);
    assert!(
        refused_reason(&r.output).contains("dev TEE is not enabled"),
        "{}",
        refused_reason(&r.output)
    );
    let r = n.send(
        GOV,
        VC,
        V::addNodeCall {
            nodeAddress: n.addr(NODE1),
            url: "u".into(),
            publicKey: "k".into(),
        }
        .abi_encode(),
        0,
    );
    expect(
        &r,
        V::NodeNotAttested {
            nodeAddress: n.addr(NODE1),
        },
    );
}

/// The vendor samples run through the chain's verifier inside a transaction (at a block time
/// inside each sample's window). Their report data binds no LazAI key, so each is refused
/// *after* full verification, with the report-data error — and pays the platform's gas.
#[test]
fn vendor_samples_verify_on_chain_and_pay_their_gas() {
    let mut n = Net::new();
    let idao = new_idao(&mut n, "hardware");
    let all = Platform::ALL.iter().fold(0, |m, p| m | p.bit());
    let policy = T::setTeePolicyCall {
        idaoId: idao,
        policy: TeePolicy {
            platforms: all,
            measurements: Vec::new(),
            minTcbStatus: TcbStatus::OutOfDateConfigurationNeeded.code(),
            maxEvidenceAge: lazai_abi::MAX_EVIDENCE_AGE,
        },
    };
    n.ok(OWNER, REG, policy.abi_encode(), 0);
    for lazai_attest::samples::Sample {
        platform,
        evidence,
        collateral,
        at,
    } in lazai_attest::samples::all()
    {
        n.env.timestamp_ms = at * 1000;
        let input = T::submitAttestationCall {
            idaoId: idao,
            hpkePublicKey: B256::repeat_byte(7),
            evidence: evidence.clone().into(),
            collateral: Bytes::copy_from_slice(collateral),
        }
        .abi_encode();
        let r = n.send(NODE1, REG, input.clone(), 0);
        assert!(!r.success);
        let reason = refused_reason(&r.output);
        assert!(
            reason.contains("report data does not bind"),
            "{platform}: {reason}"
        );
        assert!(
            r.gas_used > lazai_attest::verification_gas(platform),
            "{platform}"
        );
        eprintln!(
            "gas {platform}: {} ({} verification + calldata and the rest; {} bytes of evidence and collateral)",
            r.gas_used,
            lazai_attest::verification_gas(platform),
            evidence.len() + collateral.len()
        );
        // A byte flipped in the signed body is refused by signature, not by binding.
        let mut bad = evidence.clone();
        bad[100] ^= 1;
        let input = T::submitAttestationCall {
            idaoId: idao,
            hpkePublicKey: B256::repeat_byte(7),
            evidence: bad.into(),
            collateral: Bytes::copy_from_slice(collateral),
        }
        .abi_encode();
        let r = n.send(NODE1, REG, input, 0);
        assert!(!r.success);
        assert!(
            refused_reason(&r.output).contains("signature")
                || refused_reason(&r.output).contains("malformed"),
            "{platform}: {}",
            refused_reason(&r.output)
        );
        // Out of its window: expired.
        n.env.timestamp_ms = (at + 6 * 366 * 86_400) * 1000;
        let r = n.send(
            NODE1,
            REG,
            T::submitAttestationCall {
                idaoId: idao,
                hpkePublicKey: B256::repeat_byte(7),
                evidence: evidence.into(),
                collateral: Bytes::copy_from_slice(collateral),
            }
            .abi_encode(),
            0,
        );
        assert!(
            refused_reason(&r.output).contains("expired"),
            "{platform}: {}",
            refused_reason(&r.output)
        );
    }
    // The dev platform, accepted: the whole registration's gas.
    n.env.timestamp_ms = 1_750_420_800_000;
    let input = tee::submit(CHAIN_ID, idao, n.addr(NODE2), B256::repeat_byte(7), now(&n));
    let r = n.ok(NODE2, REG, input, 0);
    eprintln!("gas dev (accepted, first record): {}", r.gas_used);
}

#[test]
fn a_node_is_judged_by_the_idao_it_registered_for_and_governance_keeps_control() {
    let mut n = Net::new();
    let idao = new_idao(&mut n, "compute");
    n.ok(OWNER, REG, tee::dev_policy(idao), 0);
    allow(&mut n, idao);
    register(&mut n, NODE1, idao);
    assert_eq!(
        n.view(
            VC,
            V::nodeIdaoCall {
                nodeAddress: n.addr(NODE1)
            }
        ),
        idao
    );

    // Attesting for a lax iDAO of its own (not allowed by governance) changes nothing: when
    // the registered iDAO's policy drops it, it is out.
    let lax = new_idao(&mut n, "lax");
    n.ok(OWNER, REG, tee::dev_policy(lax), 0);
    let input = tee::submit(CHAIN_ID, lax, n.addr(NODE1), B256::repeat_byte(7), now(&n));
    n.ok(NODE1, REG, input, 0);
    let strict = T::setTeePolicyCall {
        idaoId: idao,
        policy: TeePolicy {
            platforms: Platform::Sgx.bit(),
            measurements: Vec::new(),
            minTcbStatus: 0,
            maxEvidenceAge: 3_600,
        },
    };
    n.ok(OWNER, REG, strict.abi_encode(), 0);
    assert!(!n.view(
        VC,
        V::isAssignableCall {
            nodeAddress: n.addr(NODE1)
        }
    ));
    assert_eq!(
        n.view(
            VC,
            V::nodeIdaoCall {
                nodeAddress: n.addr(NODE1)
            }
        ),
        idao
    );
    n.ok(OWNER, REG, tee::dev_policy(idao), 0);
    assert!(n.view(
        VC,
        V::isAssignableCall {
            nodeAddress: n.addr(NODE1)
        }
    ));

    // Re-attesting the registered iDAO with another HPKE key (without refreshing the node
    // record) makes the record's key stale: not assignable until it registers again.
    let input = tee::submit(CHAIN_ID, idao, n.addr(NODE1), B256::repeat_byte(8), now(&n));
    n.ok(NODE1, REG, input, 0);
    assert!(!n.view(
        VC,
        V::isAssignableCall {
            nodeAddress: n.addr(NODE1)
        }
    ));
    let input = tee::register(CHAIN_ID, idao, n.addr(NODE1), B256::repeat_byte(8), now(&n));
    n.ok(NODE1, VC, input, 0);
    assert!(n.view(
        VC,
        V::isAssignableCall {
            nodeAddress: n.addr(NODE1)
        }
    ));

    // A node governance removed cannot put itself back.
    n.ok(
        GOV,
        VC,
        V::removeNodeCall {
            nodeAddress: n.addr(NODE1),
        }
        .abi_encode(),
        0,
    );
    let input = tee::register(CHAIN_ID, idao, n.addr(NODE1), B256::repeat_byte(8), now(&n));
    let r = n.send(NODE1, VC, input, 0);
    expect(
        &r,
        V::NodeRemovedByGovernance {
            nodeAddress: n.addr(NODE1),
        },
    );

    // Governance's addNode takes the attested key, not the string it is given.
    let add = V::addNodeCall {
        nodeAddress: n.addr(NODE2),
        url: "https://node2".into(),
        publicKey: "whatever".into(),
    };
    let input = tee::submit(CHAIN_ID, idao, n.addr(NODE2), B256::repeat_byte(9), now(&n));
    n.ok(NODE2, REG, input, 0);
    n.ok(GOV, VC, add.abi_encode(), 0);
    let info = n.view(
        VC,
        V::getNodeCall {
            nodeAddress: n.addr(NODE2),
        },
    );
    assert_eq!(info.publicKey, format!("0x{}", "09".repeat(32)));
    assert!(n.view(
        VC,
        V::isAssignableCall {
            nodeAddress: n.addr(NODE2)
        }
    ));
}

const RSA_PEM: &str = include_str!("../fixtures/rsa2048.pem");
const OTHER_RSA_PEM: &str = include_str!("../fixtures/rsa2048-b.pem");
const SMALL_RSA_PEM: &str = include_str!("../fixtures/rsa1024.pem");

/// `registerAttestedNode` calldata with an RSA key and evidence binding `bound` (`None`: the
/// HPKE key only).
fn register_with_rsa(n: &Net, node: usize, idao: U256, pem: &str, bound: Option<&str>) -> Vec<u8> {
    let hpke = B256::repeat_byte(7);
    let rsa = bound.map(|p| lazai_ledger::rsa_key::parse(p).expect("key").hash.0);
    let rd = lazai_attest::binding::report_data_with_rsa(
        CHAIN_ID,
        n.addr(node),
        &hpke.0,
        rsa.as_ref(),
        now(n),
    );
    V::registerAttestedNodeCall {
        idaoId: idao,
        url: "http://127.0.0.1:8000".into(),
        hpkePublicKey: hpke,
        rsaPublicKey: pem.into(),
        evidence: lazai_attest::dev::Simulator::from_seed(n.addr(node).as_slice())
            .quote(&rd)
            .into(),
        collateral: Bytes::new(),
    }
    .abi_encode()
}

fn update_public_key(pem: &str) -> Vec<u8> {
    R::updatePublicKeyCall {
        newPublicKey: pem.into(),
    }
    .abi_encode()
}

#[test]
fn a_node_binds_its_rsa_key_and_only_an_attested_key_is_published() {
    let mut n = Net::new();
    let idao = new_idao(&mut n, "sdk");
    n.ok(OWNER, REG, tee::dev_policy(idao), 0);
    allow(&mut n, idao);
    let key = lazai_ledger::rsa_key::parse(RSA_PEM).expect("key");

    // The RSA key must be bound by the evidence: HPKE-only evidence, or evidence for another
    // RSA key, does not register it.
    for bound in [None, Some(OTHER_RSA_PEM)] {
        let r = n.send(
            NODE1,
            VC,
            register_with_rsa(&n, NODE1, idao, RSA_PEM, bound),
            0,
        );
        assert!(!r.success);
        assert!(refused_reason(&r.output).contains("report data does not bind"));
    }
    // Not a key, or too small a key.
    for (bad, why) in [("0x1234", "PKCS#1"), (SMALL_RSA_PEM, "1024-bit")] {
        let r = n.send(
            NODE1,
            VC,
            register_with_rsa(&n, NODE1, idao, bad, Some(RSA_PEM)),
            0,
        );
        assert!(!r.success);
        let reason = V::InvalidRsaKey::abi_decode(&r.output)
            .expect("InvalidRsaKey")
            .reason;
        assert!(reason.contains(why), "{reason}");
    }
    // Bound: the node record publishes the PEM (canonical form), and the node is assigned.
    let crlf = RSA_PEM.replace('\n', "\r\n");
    n.ok(
        NODE1,
        VC,
        register_with_rsa(&n, NODE1, idao, &crlf, Some(RSA_PEM)),
        0,
    );
    let node = n.view(
        VC,
        V::getNodeCall {
            nodeAddress: n.addr(NODE1),
        },
    );
    assert_eq!(node.publicKey, key.pem);
    assert!(n.view(
        VC,
        V::isAssignableCall {
            nodeAddress: n.addr(NODE1)
        }
    ));

    // DataRegistry.publicKey(): governance only, an RSA key, attested by an active node now.
    let r = n.send(ALICE, DATA_REGISTRY_ADDRESS, update_public_key(RSA_PEM), 0);
    expect(
        &r,
        R::NotGovernance {
            caller: n.addr(ALICE),
        },
    );
    let r = n.send(
        GOV,
        DATA_REGISTRY_ADDRESS,
        update_public_key("not a key"),
        0,
    );
    assert!(
        R::InvalidRsaKey::abi_decode(&r.output).is_ok(),
        "{}",
        r.output
    );
    let other = lazai_ledger::rsa_key::parse(OTHER_RSA_PEM).expect("key");
    let r = n.send(
        GOV,
        DATA_REGISTRY_ADDRESS,
        update_public_key(OTHER_RSA_PEM),
        0,
    );
    expect(
        &r,
        R::KeyNotAttested {
            keyHash: other.hash,
        },
    );
    n.ok(GOV, DATA_REGISTRY_ADDRESS, update_public_key(&crlf), 0);
    assert_eq!(n.view(DATA_REGISTRY_ADDRESS, R::publicKeyCall {}), key.pem);
    // Governance may name a key publisher (a node publishing its own key); only governance.
    let publisher = |a| R::setKeyPublisherCall { publisher: a }.abi_encode();
    let r = n.send(NODE1, DATA_REGISTRY_ADDRESS, publisher(n.addr(NODE1)), 0);
    expect(
        &r,
        R::NotGovernance {
            caller: n.addr(NODE1),
        },
    );
    let r = n.send(NODE1, DATA_REGISTRY_ADDRESS, update_public_key(RSA_PEM), 0);
    expect(
        &r,
        R::NotGovernance {
            caller: n.addr(NODE1),
        },
    );
    n.ok(GOV, DATA_REGISTRY_ADDRESS, publisher(n.addr(NODE1)), 0);
    assert_eq!(
        n.view(DATA_REGISTRY_ADDRESS, R::keyPublisherCall {}),
        n.addr(NODE1)
    );
    n.ok(NODE1, DATA_REGISTRY_ADDRESS, update_public_key(RSA_PEM), 0);
    let r = n.send(
        NODE1,
        DATA_REGISTRY_ADDRESS,
        update_public_key(OTHER_RSA_PEM),
        0,
    );
    expect(
        &r,
        R::KeyNotAttested {
            keyHash: other.hash,
        },
    );
    let r = n.send(ALICE, DATA_REGISTRY_ADDRESS, update_public_key(RSA_PEM), 0);
    expect(
        &r,
        R::NotGovernance {
            caller: n.addr(ALICE),
        },
    );

    // Evidence that no longer names the RSA key (plain submitAttestation) takes the node out
    // of assignment, and its key can no longer be published.
    let input = tee::submit(CHAIN_ID, idao, n.addr(NODE1), B256::repeat_byte(7), now(&n));
    n.ok(NODE1, REG, input, 0);
    assert!(!n.view(
        VC,
        V::isAssignableCall {
            nodeAddress: n.addr(NODE1)
        }
    ));
    let r = n.send(GOV, DATA_REGISTRY_ADDRESS, update_public_key(RSA_PEM), 0);
    expect(&r, R::KeyNotAttested { keyHash: key.hash });
    // Registering again with the key brings it back.
    n.ok(
        NODE1,
        VC,
        register_with_rsa(&n, NODE1, idao, RSA_PEM, Some(RSA_PEM)),
        0,
    );
    assert!(n.view(
        VC,
        V::isAssignableCall {
            nodeAddress: n.addr(NODE1)
        }
    ));
}

#[test]
fn governance_adds_a_node_with_the_rsa_key_it_attested_and_no_other() {
    let mut n = Net::new();
    let idao = new_idao(&mut n, "sdk");
    n.ok(OWNER, REG, tee::dev_policy(idao), 0);
    allow(&mut n, idao);
    n.ok(
        NODE1,
        VC,
        register_with_rsa(&n, NODE1, idao, RSA_PEM, Some(RSA_PEM)),
        0,
    );
    n.ok(
        GOV,
        VC,
        V::removeNodeCall {
            nodeAddress: n.addr(NODE1),
        }
        .abi_encode(),
        0,
    );
    let add = |pem: &str| V::addNodeCall {
        nodeAddress: Address::ZERO,
        url: "http://node".into(),
        publicKey: pem.into(),
    };
    let mut call = add(OTHER_RSA_PEM);
    call.nodeAddress = n.addr(NODE1);
    let r = n.send(GOV, VC, call.abi_encode(), 0);
    expect(
        &r,
        V::RsaKeyNotAttested {
            nodeAddress: n.addr(NODE1),
        },
    );
    let mut call = add(RSA_PEM);
    call.nodeAddress = n.addr(NODE1);
    n.ok(GOV, VC, call.abi_encode(), 0);
    let node = n.view(
        VC,
        V::getNodeCall {
            nodeAddress: n.addr(NODE1),
        },
    );
    assert_eq!(
        node.publicKey,
        lazai_ledger::rsa_key::parse(RSA_PEM).expect("key").pem
    );
    assert!(n.view(
        VC,
        V::isAssignableCall {
            nodeAddress: n.addr(NODE1)
        }
    ));
}
