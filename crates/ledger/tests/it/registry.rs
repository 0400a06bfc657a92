//! LazAI's SDK path through DataRegistry and VerifiedComputing: addFile → addPermissionForFile
//! → requestProof → addProof (assigned node, EIP-191) → completeJob → claim → requestReward →
//! the DAT; and every hole of LazAI's deployed contracts closed with a clear error.

use crate::support::*;
use alloy_primitives::{Address, B256, Bytes, U256};
use alloy_signer::SignerSync;
use alloy_signer_local::PrivateKeySigner;
use alloy_sol_types::{SolCall, SolError, SolValue};
use lazai_abi::{
    DAT_ADDRESS, DATA_REGISTRY_ADDRESS, IDataAnchoringToken as D, IDataRegistry as R,
    IVerifiedComputing as V, VERIFIED_COMPUTING_ADDRESS, proof_digest,
};
use lazai_ledger::{BlockEnv, CallParams, Ledger, State};
use lazai_types::{Receipt, StakingParams};

const FEE: u128 = 1_000_000_000_000_000; // 0.001 LAZAI

pub(crate) struct Net {
    ledger: Ledger,
    pub(crate) state: State,
    pub(crate) env: BlockEnv,
    signers: Vec<PrivateKeySigner>,
    nonces: Vec<u64>,
}

/// Signer 0 is governance; 1 and 2 are nodes; 3 is a contributor; 4 a stranger.
impl Net {
    pub(crate) fn new() -> Self {
        let mut n = Self::without_dev_tee();
        lazai_ledger::modules::enable_dev_tee(&mut n.state);
        let _ = n.state.take_changes();
        n
    }

    /// A chain whose genesis did not enable the dev TEE.
    pub(crate) fn without_dev_tee() -> Self {
        let signers: Vec<_> = (0..5).map(signer).collect();
        let refs: Vec<_> = signers.iter().collect();
        let state = funded(&refs, U256::from(10u128.pow(22)));
        let ledger = Ledger::with_config(CHAIN_ID, StakingParams::default(), signers[0].address());
        Self {
            ledger,
            state,
            env: env(),
            nonces: vec![0; 5],
            signers,
        }
    }

    pub(crate) fn addr(&self, i: usize) -> Address {
        self.signers[i].address()
    }

    /// Signer `i`'s EIP-191 signature of `message`.
    pub(crate) fn sign_message(&self, i: usize, message: &[u8]) -> Bytes {
        Bytes::from(
            self.signers[i]
                .sign_message_sync(message)
                .expect("sign")
                .as_bytes()
                .to_vec(),
        )
    }

    pub(crate) fn send(
        &mut self,
        from: usize,
        to: Address,
        input: Vec<u8>,
        value: u128,
    ) -> Receipt {
        let tx = Tx {
            value: U256::from(value),
            gas: 3_000_000,
            ..Tx::call(self.nonces[from], to, input)
        };
        let tx = recover(&tx.eip1559(&self.signers[from]));
        self.nonces[from] += 1;
        self.ledger
            .apply(&mut self.state, &self.env, &tx, 0)
            .expect("valid transaction")
    }

    pub(crate) fn ok(&mut self, from: usize, to: Address, input: Vec<u8>, value: u128) -> Receipt {
        let r = self.send(from, to, input, value);
        assert!(r.success, "reverted: {}", r.output);
        r
    }

    pub(crate) fn view<C: SolCall>(&self, to: Address, c: C) -> C::Return {
        match self.try_view(to, c) {
            Ok(v) => v,
            Err(output) => panic!("view reverted: {output}"),
        }
    }

    /// A view call, or its revert data.
    pub(crate) fn try_view<C: SolCall>(&self, to: Address, c: C) -> Result<C::Return, Bytes> {
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
                    gas_limit: 10_000_000,
                    ..Default::default()
                },
            )
            .expect("call");
        if !out.success {
            return Err(out.output);
        }
        Ok(C::abi_decode_returns(&out.output).expect("decodes"))
    }

    fn proof(&self, signer: usize, file: u64, score: u64) -> R::Proof {
        let data = R::ProofData {
            id: U256::from(file),
            score: U256::from(score),
            fileUrl: "file:///blob/1".into(),
            proofUrl: "file:///proof/1".into(),
        };
        let (message, _) = proof_digest(&data);
        let signature = self.signers[signer]
            .sign_message_sync(message.as_slice())
            .expect("sign");
        R::Proof {
            signature: Bytes::from(signature.as_bytes().to_vec()),
            data,
        }
    }
}

pub(crate) fn expect<E: SolError + PartialEq + std::fmt::Debug>(r: &Receipt, want: E) {
    assert!(!r.success, "expected {}", E::SIGNATURE);
    assert_eq!(E::abi_decode(&r.output).expect(E::SIGNATURE), want);
}

#[test]
fn the_sdk_path_ends_with_a_verified_dat() {
    let mut n = Net::new();
    let (gov, node1, node2, alice) = (0, 1, 2, 3);
    let vc = VERIFIED_COMPUTING_ADDRESS;
    let dr = DATA_REGISTRY_ADDRESS;

    // Nodes must be attested before governance may list them: an iDAO (owned by signer 4)
    // sets a dev-TEE policy and both nodes attest for it; a node that did not is refused.
    let owner = 4;
    let r = n.ok(
        owner,
        lazai_abi::IDAO_REGISTRY_ADDRESS,
        lazai_abi::IIdaoRegistry::registerIdao_0Call {
            name: "nodes".into(),
            metadataUri: "ipfs://nodes".into(),
        }
        .abi_encode(),
        0,
    );
    let idao = U256::abi_decode(&r.output).expect("iDAO id");
    n.ok(
        owner,
        lazai_abi::IDAO_REGISTRY_ADDRESS,
        tee::dev_policy(idao),
        0,
    );
    let unattested = V::addNodeCall {
        nodeAddress: n.addr(node1),
        url: "http://node1".into(),
        publicKey: "0x01".into(),
    }
    .abi_encode();
    let r = n.send(gov, vc, unattested, 0);
    expect(
        &r,
        V::NodeNotAttested {
            nodeAddress: n.addr(node1),
        },
    );
    let now = n.env.timestamp_ms / 1000;
    for node in [node1, node2] {
        let input = tee::submit(
            CHAIN_ID,
            idao,
            n.addr(node),
            B256::repeat_byte(node as u8),
            now,
        );
        n.ok(node, lazai_abi::IDAO_REGISTRY_ADDRESS, input, 0);
    }

    // Governance lists two nodes and sets the fee; nobody else may.
    let add = |n: &Net, i: usize| {
        V::addNodeCall {
            nodeAddress: n.addr(i),
            url: format!("http://node{i}"),
            publicKey: format!("0x{i:02x}"),
        }
        .abi_encode()
    };
    let r = n.send(alice, vc, add(&n, node1), 0);
    expect(
        &r,
        V::NotGovernance {
            caller: n.addr(alice),
        },
    );
    let input = add(&n, node1);
    n.ok(gov, vc, input, 0);
    let input = add(&n, node2);
    n.ok(gov, vc, input, 0);
    let input = add(&n, node1);
    let r = n.send(gov, vc, input, 0);
    expect(&r, V::NodeAlreadyAdded {});
    n.ok(
        gov,
        vc,
        V::updateNodeFeeCall {
            newNodeFee: U256::from(FEE),
        }
        .abi_encode(),
        0,
    );
    assert_eq!(
        n.view(vc, V::activeNodeListCall {}),
        vec![n.addr(node1), n.addr(node2)]
    );

    // The contributor registers a file and gives node 1 its sealed key.
    let r = n.ok(
        alice,
        dr,
        R::addFileCall {
            url: "file:///blob/1".into(),
            hash: "0xabc".into(),
        }
        .abi_encode(),
        0,
    );
    let file = U256::abi_decode(&r.output).expect("id");
    assert_eq!(file, U256::from(1));
    let r = n.send(
        alice,
        dr,
        R::addFileCall {
            url: "file:///blob/1".into(),
            hash: String::new(),
        }
        .abi_encode(),
        0,
    );
    expect(&r, R::FileUrlAlreadyUsed {});
    let grant = R::addPermissionForFileCall {
        fileId: file,
        account: n.addr(node1),
        key: "sealed".into(),
    }
    .abi_encode();
    let r = n.send(4, dr, grant.clone(), 0);
    expect(&r, R::NotFileOwner {});
    n.ok(alice, dr, grant, 0);
    assert_eq!(
        n.view(
            dr,
            R::getFilePermissionCall {
                fileId: file,
                account: n.addr(node1)
            }
        ),
        "sealed"
    );

    // A proof job below the fee is refused; at the fee it goes to node 1 (round-robin).
    let r = n.send(
        alice,
        vc,
        V::requestProofCall { fileId: file }.abi_encode(),
        FEE - 1,
    );
    expect(&r, V::InsufficientFee {});
    n.ok(
        alice,
        vc,
        V::requestProofCall { fileId: file }.abi_encode(),
        FEE,
    );
    let job = n.view(
        vc,
        V::getJobCall {
            jobId: U256::from(1),
        },
    );
    assert_eq!(
        (job.nodeAddress, job.fileId, job.bidAmount),
        (n.addr(node1), file, U256::from(FEE))
    );
    assert_eq!(n.state.balance(&vc), U256::from(FEE));

    // Holes of the deployed contract: a node that was not assigned, a proof for another file,
    // a proof signed by someone else, completing before the proof.
    let proof = n.proof(node2, 1, 8000);
    let r = n.send(
        node2,
        dr,
        R::addProofCall {
            fileId: file,
            proof,
        }
        .abi_encode(),
        0,
    );
    expect(&r, R::NoPermission {});
    let proof = n.proof(node1, 2, 8000);
    let r = n.send(
        node1,
        dr,
        R::addProofCall {
            fileId: file,
            proof,
        }
        .abi_encode(),
        0,
    );
    expect(
        &r,
        R::ProofFileMismatch {
            fileId: file,
            proofFileId: U256::from(2),
        },
    );
    let forged = n.proof(node2, 1, 8000);
    let r = n.send(
        node1,
        dr,
        R::addProofCall {
            fileId: file,
            proof: forged.clone(),
        }
        .abi_encode(),
        0,
    );
    assert!(!r.success);
    let e = R::InvalidAttestator::abi_decode(&r.output).expect("InvalidAttestator");
    assert_eq!(e.signer, n.addr(node2));
    let r = n.send(
        node1,
        vc,
        V::completeJobCall {
            jobId: U256::from(1),
        }
        .abi_encode(),
        0,
    );
    expect(
        &r,
        V::NoProofForJob {
            jobId: U256::from(1),
        },
    );
    let proof = n.proof(node1, 1, 0);
    let r = n.send(
        node1,
        dr,
        R::addProofCall {
            fileId: file,
            proof,
        }
        .abi_encode(),
        0,
    );
    expect(
        &r,
        R::InvalidScore {
            score: U256::ZERO,
            max: U256::from(10_000),
        },
    );

    // The assigned node posts its proof (index 1), once; a replay is refused.
    let proof = n.proof(node1, 1, 8000);
    n.ok(
        node1,
        dr,
        R::addProofCall {
            fileId: file,
            proof: proof.clone(),
        }
        .abi_encode(),
        0,
    );
    let r = n.send(
        node1,
        dr,
        R::addProofCall {
            fileId: file,
            proof,
        }
        .abi_encode(),
        0,
    );
    expect(&r, R::NoPermission {});
    let stored = n.view(
        dr,
        R::getFileProofCall {
            fileId: file,
            index: U256::from(1),
        },
    );
    assert_eq!(stored.data.score, U256::from(8000));

    // Only the assigned node completes; then it claims its fee, once.
    let r = n.send(
        node2,
        vc,
        V::completeJobCall {
            jobId: U256::from(1),
        }
        .abi_encode(),
        0,
    );
    expect(&r, V::InvalidJobNode {});
    n.ok(
        node1,
        vc,
        V::completeJobCall {
            jobId: U256::from(1),
        }
        .abi_encode(),
        0,
    );
    let r = n.send(
        node1,
        vc,
        V::completeJobCall {
            jobId: U256::from(1),
        }
        .abi_encode(),
        0,
    );
    expect(&r, V::InvalidJobStatus {});
    let before = n.state.balance(&n.addr(node1));
    let r = n.ok(node1, vc, V::claimCall {}.abi_encode(), 0);
    let fee_paid = U256::from(r.gas_used) * U256::from(r.effective_gas_price);
    assert_eq!(
        n.state.balance(&n.addr(node1)),
        before + U256::from(FEE) - fee_paid
    );
    assert_eq!(n.state.balance(&vc), U256::ZERO);
    let r = n.send(node1, vc, V::claimCall {}.abi_encode(), 0);
    expect(&r, V::NothingToClaim {});

    // The reward: only the owner, once; the DAT is minted verified with amount = score.
    let reward = R::requestRewardCall {
        fileId: file,
        proofIndex: U256::from(1),
    }
    .abi_encode();
    let r = n.send(4, dr, reward.clone(), 0);
    expect(&r, R::NotFileOwner {});
    let r = n.ok(alice, dr, reward.clone(), 0);
    assert!(
        r.logs.iter().any(|l| l.address == DAT_ADDRESS),
        "the DAT minted"
    );
    let r = n.send(alice, dr, reward, 0);
    expect(&r, R::FileAlreadyRewarded {});
    let info = n.view(dr, R::getFileCall { fileId: file });
    assert_eq!(
        (info.proofIndex, info.rewardAmount),
        (U256::from(1), U256::from(8000))
    );
    let class = U256::from(1);
    assert_eq!(
        n.view(
            DAT_ADDRESS,
            D::balanceOfCall {
                account: n.addr(alice),
                id: class
            }
        ),
        U256::from(8000)
    );
    assert!(n.view(DAT_ADDRESS, D::verifiedCall { id: class }));
    assert_eq!(
        n.view(DAT_ADDRESS, D::uriCall { id: class }),
        "file:///blob/1"
    );

    // Jobs rotate: the next one goes to node 2; its owner may cancel it and get the bid back.
    let r = n.ok(
        alice,
        dr,
        R::addFileCall {
            url: "file:///blob/2".into(),
            hash: String::new(),
        }
        .abi_encode(),
        0,
    );
    let second = U256::abi_decode(&r.output).expect("id");
    n.ok(
        alice,
        vc,
        V::requestProofCall { fileId: second }.abi_encode(),
        FEE,
    );
    assert_eq!(
        n.view(
            vc,
            V::getJobCall {
                jobId: U256::from(2)
            }
        )
        .nodeAddress,
        n.addr(node2)
    );
    let r = n.send(
        4,
        vc,
        V::cancelJobCall {
            jobId: U256::from(2),
        }
        .abi_encode(),
        0,
    );
    expect(&r, V::NotJobOwner {});
    n.ok(
        alice,
        vc,
        V::cancelJobCall {
            jobId: U256::from(2),
        }
        .abi_encode(),
        0,
    );
    assert_eq!(n.state.balance(&vc), U256::ZERO);

    // A removed node's later proofs are not rewarded; no active node, no job.
    n.ok(
        gov,
        vc,
        V::removeNodeCall {
            nodeAddress: n.addr(node1),
        }
        .abi_encode(),
        0,
    );
    n.ok(
        gov,
        vc,
        V::removeNodeCall {
            nodeAddress: n.addr(node2),
        }
        .abi_encode(),
        0,
    );
    let r = n.send(
        alice,
        vc,
        V::requestProofCall { fileId: second }.abi_encode(),
        FEE,
    );
    expect(&r, V::NoActiveNode {});
    assert!(!n.view(
        vc,
        V::isNodeCall {
            nodeAddress: n.addr(node1)
        }
    ));
    assert_eq!(n.view(vc, V::nodesCountCall {}), U256::from(2));
    let r = n.send(
        alice,
        vc,
        V::requestProofCall {
            fileId: U256::from(99),
        }
        .abi_encode(),
        FEE,
    );
    expect(&r, V::FileNotFound {});
}
