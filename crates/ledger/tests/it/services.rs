//! Settlement and AIProcess (LazAI's paying path) and the model registry (models as DATs,
//! usage sold and recorded in batches, revenue split back to the data by lineage).

use crate::registry::{Net, expect};
use crate::support::{CHAIN_ID, tee};
use alloy_primitives::{Address, B256, Bytes, U256};
use alloy_signer::SignerSync;
use alloy_signer_local::PrivateKeySigner;
use alloy_sol_types::{SolCall, SolValue};
use lazai_abi::settlement::{Settlement, SettlementData};
use lazai_abi::{
    DAT_ADDRESS, IAIProcess as P, IDAO_REGISTRY_ADDRESS, IDataAnchoringToken as D, IIdaoRegistry,
    IModelRegistry as M, INFERENCE_ADDRESS, ISettlement as S, MODEL_REGISTRY_ADDRESS,
    SETTLEMENT_ADDRESS, user_request_message,
};

const GOV: usize = 0;
const NODE: usize = 1;
const OTHER: usize = 2;
const USER: usize = 3;
const OWNER: usize = 4;
const ETHER: u128 = 1_000_000_000_000_000_000;

fn signer(i: usize) -> PrivateKeySigner {
    crate::support::signer(i as u8)
}

fn now(n: &Net) -> u64 {
    n.env.timestamp_ms / 1000
}

fn balance(n: &Net, a: Address) -> U256 {
    n.state.account(&a).balance
}

/// An iDAO owned by OWNER with a dev-TEE policy; `node` attests for it.
pub(crate) fn attested_idao(n: &mut Net, node: usize) -> U256 {
    let r = n.ok(
        OWNER,
        IDAO_REGISTRY_ADDRESS,
        IIdaoRegistry::registerIdao_0Call {
            name: "services".into(),
            metadataUri: "ipfs://services".into(),
        }
        .abi_encode(),
        0,
    );
    let idao = U256::abi_decode(&r.output).expect("id");
    n.ok(OWNER, IDAO_REGISTRY_ADDRESS, tee::dev_policy(idao), 0);
    let t = now(n);
    let input = tee::submit(CHAIN_ID, idao, n.addr(node), B256::repeat_byte(9), t);
    n.ok(node, IDAO_REGISTRY_ADDRESS, input, 0);
    idao
}

fn user(n: &Net, a: Address) -> lazai_abi::settlement::User {
    n.view(SETTLEMENT_ADDRESS, S::getUserCall { user: a })
}

fn account(n: &Net, u: Address, node: Address) -> lazai_abi::settlement::Account {
    n.view(INFERENCE_ADDRESS, P::getAccountCall { user: u, node })
}

fn settle_call(n: &Net, by: usize, node: Address, nonce: u64, cost: u128) -> Vec<u8> {
    let u = n.addr(USER);
    let msg = user_request_message(U256::from(nonce), u, node);
    let sig = signer(by).sign_message_sync(msg.as_slice()).expect("sign");
    P::settlementFeesCall {
        settlement: Settlement {
            signature: Bytes::new(),
            data: SettlementData {
                id: format!("req-{nonce}"),
                user: u,
                cost: U256::from(cost),
                nonce: U256::from(nonce),
                userSignature: sig.as_bytes().to_vec().into(),
            },
        },
    }
    .abi_encode()
}

/// The exactness invariants of the module docs.
fn check_books(n: &Net, users: &[Address], nodes: &[Address]) {
    let mut available = U256::ZERO;
    let mut in_accounts = U256::ZERO;
    for &u in users {
        let rec = user(n, u);
        let mut mine = U256::ZERO;
        for &node in nodes {
            let exists = n.view(INFERENCE_ADDRESS, P::accountExistsCall { user: u, node });
            if exists {
                mine += account(n, u, node).balance;
            }
        }
        assert_eq!(rec.totalBalance, rec.availableBalance + mine, "user {u}");
        available += rec.availableBalance;
        in_accounts += mine;
    }
    assert_eq!(balance(n, SETTLEMENT_ADDRESS), available);
    assert_eq!(balance(n, INFERENCE_ADDRESS), in_accounts);
}

#[test]
fn settlement_keeps_exact_balances_and_settles_signed_requests_once() {
    let mut n = Net::new();
    attested_idao(&mut n, NODE);
    let (node, u) = (n.addr(NODE), n.addr(USER));
    let s = SETTLEMENT_ADDRESS;

    // Only attested nodes join an AIProcess; only governance adds them.
    let add = |a: Address| {
        P::addNodeCall {
            nodeAddress: a,
            url: "http://node".into(),
            publicKey: "0x".into(),
        }
        .abi_encode()
    };
    let r = n.send(OWNER, INFERENCE_ADDRESS, add(node), 0);
    expect(
        &r,
        P::NotGovernance {
            caller: n.addr(OWNER),
        },
    );
    let other = n.addr(OTHER);
    let r = n.send(GOV, INFERENCE_ADDRESS, add(other), 0);
    expect(&r, P::NodeNotAttested { nodeAddress: other });
    n.ok(GOV, INFERENCE_ADDRESS, add(node), 0);
    assert!(n.view(INFERENCE_ADDRESS, P::isNodeCall { nodeAddress: node }));

    // Deposits and withdrawals are exact (LazAI's deployed contract loses them).
    n.ok(USER, s, S::addUserCall {}.abi_encode(), 10 * ETHER);
    let r = n.send(USER, s, S::addUserCall {}.abi_encode(), 0);
    expect(&r, S::UserAlreadyExists { user: u });
    n.ok(USER, s, S::depositCall {}.abi_encode(), 5 * ETHER);
    let r = n.send(
        USER,
        s,
        S::withdrawCall {
            amount: U256::from(16 * ETHER),
        }
        .abi_encode(),
        0,
    );
    expect(&r, S::InsufficientBalance { user: u });
    let before = balance(&n, u);
    n.ok(
        USER,
        s,
        S::withdrawCall {
            amount: U256::from(2 * ETHER),
        }
        .abi_encode(),
        0,
    );
    assert!(balance(&n, u) > before, "withdrawal paid");
    let rec = user(&n, u);
    assert_eq!(rec.availableBalance, U256::from(13 * ETHER));
    assert_eq!(rec.totalBalance, U256::from(13 * ETHER));
    check_books(&n, &[u], &[node]);

    // Commit 6 to the node.
    n.ok(
        USER,
        s,
        S::depositInferenceCall {
            node,
            amount: U256::from(6 * ETHER),
        }
        .abi_encode(),
        0,
    );
    assert_eq!(user(&n, u).inferenceNodes, vec![node]);
    assert_eq!(account(&n, u, node).balance, U256::from(6 * ETHER));
    check_books(&n, &[u], &[node]);

    // The node settles a signed request; the nonce must strictly increase.
    let node_before = balance(&n, node);
    let r = n.ok(
        NODE,
        INFERENCE_ADDRESS,
        settle_call(&n, USER, node, 1, ETHER),
        0,
    );
    let fee_paid = U256::from(r.gas_used) * U256::from(n.env.base_fee + 1_000_000_000);
    assert!(balance(&n, node) + fee_paid >= node_before + U256::from(ETHER));
    assert_eq!(account(&n, u, node).nonce, U256::from(1));
    assert_eq!(user(&n, u).totalBalance, U256::from(12 * ETHER));
    let r = n.send(
        NODE,
        INFERENCE_ADDRESS,
        settle_call(&n, USER, node, 1, ETHER),
        0,
    );
    expect(&r, P::NonceTooLow {});
    let r = n.send(
        NODE,
        INFERENCE_ADDRESS,
        settle_call(&n, USER, node, 0, ETHER),
        0,
    );
    expect(&r, P::NonceTooLow {});
    // Signed by someone else, or for another node: refused.
    let r = n.send(
        NODE,
        INFERENCE_ADDRESS,
        settle_call(&n, OTHER, node, 2, ETHER),
        0,
    );
    assert!(!r.success);
    let r = n.send(
        NODE,
        INFERENCE_ADDRESS,
        settle_call(&n, USER, other, 2, ETHER),
        0,
    );
    assert!(!r.success);
    let r = n.send(
        OTHER,
        INFERENCE_ADDRESS,
        settle_call(&n, USER, other, 2, ETHER),
        0,
    );
    expect(&r, P::NodeNotActive {});
    let r = n.send(
        NODE,
        INFERENCE_ADDRESS,
        settle_call(&n, USER, node, 5, 6 * ETHER),
        0,
    );
    expect(&r, P::InsufficientBalance { user: u, node });
    check_books(&n, &[u], &[node]);

    // Retrieving starts a refund of what is left (5); a later request is still paid from it.
    n.ok(
        USER,
        s,
        S::retrieveInferenceCall { nodes: vec![node] }.abi_encode(),
        0,
    );
    let a = account(&n, u, node);
    assert_eq!(a.pendingRefund, U256::from(5 * ETHER));
    assert_eq!(a.refunds.len(), 1);
    // A deposit during a refund cancels that much of it first (nothing moves).
    n.ok(
        USER,
        s,
        S::depositInferenceCall {
            node,
            amount: U256::from(ETHER),
        }
        .abi_encode(),
        0,
    );
    let a = account(&n, u, node);
    assert_eq!(a.pendingRefund, U256::from(4 * ETHER));
    assert_eq!(a.balance, U256::from(5 * ETHER));
    assert_eq!(user(&n, u).availableBalance, U256::from(7 * ETHER));
    n.ok(
        NODE,
        INFERENCE_ADDRESS,
        settle_call(&n, USER, node, 7, 2 * ETHER),
        0,
    );
    let a = account(&n, u, node);
    assert_eq!(a.balance, U256::from(3 * ETHER));
    assert_eq!(a.pendingRefund, U256::from(3 * ETHER));
    check_books(&n, &[u], &[node]);
    // Not before the lock time.
    n.ok(
        USER,
        s,
        S::retrieveInferenceCall { nodes: vec![node] }.abi_encode(),
        0,
    );
    assert_eq!(user(&n, u).availableBalance, U256::from(7 * ETHER));
    let lock: U256 = n.view(s, S::lockTimeCall {});
    n.env.timestamp_ms += (lock.to::<u64>() + 1) * 1000;
    n.ok(
        USER,
        s,
        S::retrieveInferenceCall { nodes: vec![node] }.abi_encode(),
        0,
    );
    let rec = user(&n, u);
    assert_eq!(rec.availableBalance, U256::from(10 * ETHER));
    assert_eq!(rec.totalBalance, U256::from(10 * ETHER));
    assert!(account(&n, u, node).balance.is_zero());
    check_books(&n, &[u], &[node]);

    // The functions reserved for Settlement cannot be called directly.
    let r = n.send(
        USER,
        INFERENCE_ADDRESS,
        P::requestCall { user: u, node }.abi_encode(),
        0,
    );
    expect(&r, P::NotSettlement { caller: u });

    // A user with funds cannot be deleted; an empty one can.
    let r = n.send(USER, s, S::deleteUserCall {}.abi_encode(), 0);
    expect(
        &r,
        S::UserHasFunds {
            user: u,
            totalBalance: U256::from(10 * ETHER),
        },
    );
    n.ok(
        USER,
        s,
        S::withdrawCall {
            amount: U256::from(10 * ETHER),
        }
        .abi_encode(),
        0,
    );
    n.ok(USER, s, S::deleteUserCall {}.abi_encode(), 0);
    assert!(n.view(s, S::getAllUsersCall {}).is_empty());
    assert!(balance(&n, s).is_zero());
    assert!(balance(&n, INFERENCE_ADDRESS).is_zero());

    // A node whose evidence expired settles nothing.
    n.ok(USER, s, S::addUserCall {}.abi_encode(), ETHER);
    n.ok(
        USER,
        s,
        S::depositInferenceCall {
            node,
            amount: U256::from(ETHER),
        }
        .abi_encode(),
        0,
    );
    n.env.timestamp_ms += (tee::MAX_AGE + 1) * 1000;
    let r = n.send(
        NODE,
        INFERENCE_ADDRESS,
        settle_call(&n, USER, node, 9, 1),
        0,
    );
    expect(&r, P::NodeNotAttested { nodeAddress: node });
    // Attesting under another iDAO (its own, with any policy) changes nothing: the node is
    // judged by the iDAO it was listed under; re-attesting there brings it back.
    let listed_idao = U256::from(1);
    let other_idao = attested_idao(&mut n, NODE);
    assert_ne!(other_idao, listed_idao);
    let r = n.send(
        NODE,
        INFERENCE_ADDRESS,
        settle_call(&n, USER, node, 9, 1),
        0,
    );
    expect(&r, P::NodeNotAttested { nodeAddress: node });
    let t = now(&n);
    let input = tee::submit(CHAIN_ID, listed_idao, node, B256::repeat_byte(9), t);
    n.ok(NODE, IDAO_REGISTRY_ADDRESS, input, 0);
    // The last nonce outlives deleteUser: old signatures stay dead.
    let r = n.send(
        NODE,
        INFERENCE_ADDRESS,
        settle_call(&n, USER, node, 7, 1),
        0,
    );
    expect(&r, P::NonceTooLow {});
    n.ok(
        NODE,
        INFERENCE_ADDRESS,
        settle_call(&n, USER, node, 9, 1),
        0,
    );
}

/// A dataset class (created by OWNER) with two contributors' tokens of shares 3 and 1.
pub(crate) fn dataset(n: &mut Net) -> U256 {
    let r = n.ok(
        OWNER,
        DAT_ADDRESS,
        D::createClassCall {
            metadataURI: "ipfs://wine".into(),
            integrityHash: B256::ZERO,
            unitDecimals: 0,
            policyURI: String::new(),
        }
        .abi_encode(),
        0,
    );
    let class = U256::abi_decode(&r.output).expect("class");
    for (to, share) in [(USER, 3u64), (OTHER, 1)] {
        let to = n.addr(to);
        n.ok(
            OWNER,
            DAT_ADDRESS,
            D::mint_0Call {
                classId: class,
                to,
                value: U256::from(10),
                shareRatio: U256::from(share),
                expireAt: 0,
            }
            .abi_encode(),
            0,
        );
    }
    class
}

pub(crate) fn register_call(
    n: &Net,
    signer_index: usize,
    idao: U256,
    lineage: Vec<M::Lineage>,
    model_hash: B256,
) -> Vec<u8> {
    let report = B256::repeat_byte(0x22);
    let msg = lazai_abi::report_message(CHAIN_ID, idao, model_hash, report, &lineage);
    let sig = signer(signer_index)
        .sign_message_sync(msg.as_slice())
        .expect("sign");
    let _ = n;
    M::registerModelCall {
        idaoId: idao,
        modelHash: model_hash,
        reportHash: report,
        uri: "lazai-model://wine".into(),
        lineage,
        pricePerCall: U256::from(1_000_003u64),
        modelShareBps: 2_000,
        reportSignature: sig.as_bytes().to_vec().into(),
    }
    .abi_encode()
}

#[test]
fn a_model_sells_usage_records_it_in_batches_and_pays_its_data_by_lineage() {
    let mut n = Net::new();
    let idao = attested_idao(&mut n, NODE);
    let data = dataset(&mut n);
    let mr = MODEL_REGISTRY_ADDRESS;
    let lineage = vec![M::Lineage {
        classId: data,
        weight: U256::from(1_200),
    }];
    let hash = B256::repeat_byte(0x11);

    // The report must be signed by a worker attested for the iDAO, and sent by it or the owner.
    let r = n.send(
        OWNER,
        mr,
        register_call(&n, OTHER, idao, lineage.clone(), hash),
        0,
    );
    expect(
        &r,
        M::WorkerNotAttested {
            idaoId: idao,
            worker: n.addr(OTHER),
        },
    );
    let r = n.send(
        USER,
        mr,
        register_call(&n, NODE, idao, lineage.clone(), hash),
        0,
    );
    expect(
        &r,
        M::NotIdaoOwnerOrWorker {
            idaoId: idao,
            caller: n.addr(USER),
        },
    );
    let r = n.send(
        OWNER,
        mr,
        register_call(&n, NODE, idao, Vec::new(), hash),
        0,
    );
    assert!(!r.success, "empty lineage refused");
    let r = n.ok(
        NODE,
        mr,
        register_call(&n, NODE, idao, lineage.clone(), hash),
        0,
    );
    let (model_id, class) = <(U256, U256)>::abi_decode_params(&r.output).expect("ids");
    let model: M::Model = n.view(mr, M::getModelCall { modelId: model_id });
    assert_eq!(model.classId, class);
    assert_eq!(model.worker, n.addr(NODE));
    let info: D::DatClass = n.view(DAT_ADDRESS, D::classInfoCall { classId: class });
    assert_eq!(info.integrityHash, hash);
    assert!(
        info.metadataURI
            .contains(&format!("\"classId\":\"{data}\""))
    );
    let r = n.send(
        NODE,
        mr,
        register_call(&n, NODE, idao, lineage.clone(), hash),
        0,
    );
    expect(&r, M::AlreadyRegistered { modelHash: hash });

    // Buying 100 calls: exact payment only; a usage token of value 100 and share 0.
    let price = model.pricePerCall;
    let buy = M::buyUsageCall {
        modelId: model_id,
        calls: U256::from(100),
        expireAt: 0,
    }
    .abi_encode();
    let paid = price * U256::from(100);
    let r = n.send(USER, mr, buy.clone(), paid.to::<u128>() - 1);
    assert!(!r.success, "underpayment refused");
    let r = n.ok(USER, mr, buy, paid.to::<u128>());
    let token = U256::abi_decode(&r.output).expect("token");
    let t: D::DatToken = n.view(DAT_ADDRESS, D::tokenInfoCall { tokenId: token });
    assert_eq!(
        (t.classId, t.value, t.shareRatio),
        (class, U256::from(100), U256::ZERO)
    );

    // Only the model's worker records usage, in batches, never past the quota.
    let record = |amounts: Vec<u64>, tokens: Vec<U256>| {
        M::recordUsageCall {
            modelId: model_id,
            tokenIds: tokens,
            amounts: amounts.into_iter().map(U256::from).collect(),
            receiptsRoot: B256::repeat_byte(1),
        }
        .abi_encode()
    };
    let r = n.send(OWNER, mr, record(vec![1], vec![token]), 0);
    expect(
        &r,
        M::NotModelWorker {
            modelId: model_id,
            caller: n.addr(OWNER),
        },
    );
    let r = n.ok(NODE, mr, record(vec![60], vec![token]), 0);
    eprintln!("recordUsage of a 60-call batch: {} gas", r.gas_used);
    let r = n.send(NODE, mr, record(vec![41], vec![token]), 0);
    assert!(!r.success, "past the quota");
    let r = n.send(NODE, mr, record(vec![1], vec![U256::from(1)]), 0);
    assert!(!r.success, "a dataset token is not this model's");
    n.ok(NODE, mr, record(vec![40], vec![token]), 0);
    let t: D::DatToken = n.view(DAT_ADDRESS, D::tokenInfoCall { tokenId: token });
    assert!(t.value.is_zero());

    // Revenue: 20% to the model (its owner's share token), 80% to the dataset, 3:1.
    let model: M::Model = n.view(mr, M::getModelCall { modelId: model_id });
    assert_eq!(model.revenue, paid);
    let to_data = paid - paid * U256::from(2_000) / U256::from(10_000);
    assert_eq!(model.toData, to_data);
    let pending = |n: &Net, id: u64| -> U256 {
        n.view(
            DAT_ADDRESS,
            D::pendingRevenueCall {
                tokenId: U256::from(id),
                asset: Address::ZERO,
            },
        )
    };
    // Tokens 1, 2: the dataset's; 3: the model owner's; 4: the usage token.
    let (a, b, o, usage) = (
        pending(&n, 1),
        pending(&n, 2),
        pending(&n, 3),
        pending(&n, 4),
    );
    assert!(usage.is_zero());
    assert!(a > b * U256::from(2), "3:1 by share");
    let held = balance(&n, DAT_ADDRESS);
    assert_eq!(held, paid, "the DAT holds every wei paid");
    let dust = paid - (a + b + o);
    assert!(dust <= U256::from(4), "dust {dust}");
    eprintln!("paid {paid}: contributors {a} + {b}, model owner {o}, dust {dust}");

    // A payment too small to leave the model anything settles it all to the data.
    n.ok(
        OWNER,
        mr,
        M::setPriceCall {
            modelId: model_id,
            pricePerCall: U256::from(1),
        }
        .abi_encode(),
        0,
    );
    let one = M::buyUsageCall {
        modelId: model_id,
        calls: U256::from(1),
        expireAt: 0,
    }
    .abi_encode();
    n.ok(USER, mr, one, 1);
    let model: M::Model = n.view(mr, M::getModelCall { modelId: model_id });
    assert_eq!(model.toData, to_data + U256::from(1));
}

/// Served calls are always payable: a usage token's value can neither be moved to another
/// token nor consumed by its owner; a token transferred whole is still charged by the worker.
#[test]
fn usage_value_stays_payable_whoever_holds_the_token() {
    let mut n = Net::new();
    let idao = attested_idao(&mut n, NODE);
    let data = dataset(&mut n);
    let mr = MODEL_REGISTRY_ADDRESS;
    let lineage = vec![M::Lineage {
        classId: data,
        weight: U256::from(1),
    }];
    let r = n.ok(
        NODE,
        mr,
        register_call(&n, NODE, idao, lineage, B256::repeat_byte(0x33)),
        0,
    );
    let (model_id, _) = <(U256, U256)>::abi_decode_params(&r.output).expect("ids");
    let price = n
        .view(mr, M::getModelCall { modelId: model_id })
        .pricePerCall
        .to::<u128>();
    let buy = |calls: u64| {
        M::buyUsageCall {
            modelId: model_id,
            calls: U256::from(calls),
            expireAt: 0,
        }
        .abi_encode()
    };
    let r = n.ok(USER, mr, buy(10), 10 * price);
    let spent = U256::abi_decode(&r.output).expect("token");
    let r = n.ok(USER, mr, buy(1), price);
    let other = U256::abi_decode(&r.output).expect("token");
    let value = |n: &Net, t: U256| n.view(DAT_ADDRESS, D::tokenInfoCall { tokenId: t });

    // The owner (or an operator it approved) cannot move the value out…
    let u = n.addr(USER);
    let r = n.send(
        USER,
        DAT_ADDRESS,
        D::transferValueCall {
            fromTokenId: spent,
            toTokenId: other,
            value: U256::from(10),
        }
        .abi_encode(),
        0,
    );
    expect(
        &r,
        D::ValueLocked {
            tokenId: spent,
            caller: u,
        },
    );
    n.ok(
        USER,
        DAT_ADDRESS,
        D::setApprovalForAllCall {
            operator: n.addr(OTHER),
            approved: true,
        }
        .abi_encode(),
        0,
    );
    let r = n.send(
        OTHER,
        DAT_ADDRESS,
        D::transferValueCall {
            fromTokenId: spent,
            toTokenId: other,
            value: U256::from(1),
        }
        .abi_encode(),
        0,
    );
    expect(
        &r,
        D::ValueLocked {
            tokenId: spent,
            caller: n.addr(OTHER),
        },
    );
    // …nor burn it by recording usage itself.
    let r = n.send(
        USER,
        DAT_ADDRESS,
        D::recordUsageCall {
            tokenId: spent,
            metricType: B256::repeat_byte(7),
            amount: U256::from(10),
        }
        .abi_encode(),
        0,
    );
    expect(
        &r,
        D::ValueLocked {
            tokenId: spent,
            caller: u,
        },
    );
    assert_eq!(value(&n, spent).value, U256::from(10));

    // The worker served 4 calls; the owner gives the token away before they are recorded: the
    // batch still charges the token, now held by OWNER, and the rest of it stays usable.
    n.ok(
        USER,
        DAT_ADDRESS,
        D::transferTokenCall {
            tokenId: spent,
            to: n.addr(OWNER),
        }
        .abi_encode(),
        0,
    );
    n.ok(
        NODE,
        mr,
        M::recordUsageCall {
            modelId: model_id,
            tokenIds: vec![spent],
            amounts: vec![U256::from(4)],
            receiptsRoot: B256::repeat_byte(1),
        }
        .abi_encode(),
        0,
    );
    let t = value(&n, spent);
    assert_eq!((t.owner, t.value), (n.addr(OWNER), U256::from(6)));
    let used: U256 = n.view(
        DAT_ADDRESS,
        D::usageOfCall {
            tokenId: spent,
            metricType: lazai_abi::calls_metric(),
        },
    );
    assert_eq!(used, U256::from(4));
    // The new holder cannot move the value either.
    let r = n.send(
        OWNER,
        DAT_ADDRESS,
        D::transferValueCall {
            fromTokenId: spent,
            toTokenId: other,
            value: U256::from(6),
        }
        .abi_encode(),
        0,
    );
    expect(
        &r,
        D::ValueLocked {
            tokenId: spent,
            caller: n.addr(OWNER),
        },
    );
    // Classes created with createClass keep movable value.
    n.ok(
        USER,
        DAT_ADDRESS,
        D::transferValueCall {
            fromTokenId: U256::from(1),
            toTokenId: U256::from(2),
            value: U256::from(1),
        }
        .abi_encode(),
        0,
    );
}
