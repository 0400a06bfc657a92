//! Optimistic results and the fraud-proof game: an honest result final after its window for one
//! transaction, every attack a precise revert or the rule's outcome, and an exhaustive check
//! over every combination of honest and dishonest play by a worker and two challengers on a
//! 3-layer model: the honest party always wins and no wei is created or lost.

use crate::registry::{Net, expect};
use crate::support::CHAIN_ID;
use alloy_primitives::{Address, B256, Bytes, U256};
use alloy_sol_types::{SolCall, SolError, SolValue};
use lazai_abi::verifier::*;
use lazai_abi::{IDAO_REGISTRY_ADDRESS, IModelRegistry as M, MODEL_REGISTRY_ADDRESS};
use lazai_abi::{IVerifier as X, VERIFIER_ADDRESS as V, claim_commitment};
use lazai_ledger::total_supply;
use lazai_model::QuantizedMlp;
use lazai_model::trace::{self, WeightTree};

const GOV: usize = 0;
const WORKER: usize = 1;
const CH1: usize = 2;
const CH2: usize = 3;
const OWNER: usize = 4;
const WINDOW: u64 = 6;
const MOVE: u64 = 3;
const WORKER_BOND: u128 = 1_000_003;
const CHALLENGER_BOND: u128 = 500_001;
const PRICE: u128 = 1_000_003; // register_call's price per call

/// A registered 3-layer model with its weights committed, on an iDAO with short game terms.
struct Game {
    n: Net,
    idao: U256,
    model_id: U256,
    model: QuantizedMlp,
    tree: WeightTree,
    widths: Vec<u32>,
    holders: Vec<Address>,
    supply: U256,
}

fn hashes(outputs: &[Vec<i64>]) -> Vec<B256> {
    outputs
        .iter()
        .enumerate()
        .map(|(l, o)| B256::from(trace::activations_hash(l as u32, o)))
        .collect()
}

fn input_values(q: &[i8]) -> Vec<i64> {
    q.iter().map(|&v| i64::from(v)).collect()
}

/// The layers' outputs when layer `wrong` (if any) gets unit 0 off by one and every later
/// layer is computed, correctly, from that.
fn outputs(model: &QuantizedMlp, q: &[i8], wrong: Option<usize>) -> Vec<Vec<i64>> {
    trace::tampered_outputs(model, q, wrong.unwrap_or(usize::MAX), 0)
}

impl Game {
    fn new() -> Self {
        let mut n = Net::new();
        let idao = crate::services::attested_idao(&mut n, WORKER);
        let data = crate::services::dataset(&mut n);
        let model = trace::seeded_mlp(&[6, 5, 4, 3], 11);
        let lineage = vec![M::Lineage {
            classId: data,
            weight: U256::from(1),
        }];
        let call =
            crate::services::register_call(&n, WORKER, idao, lineage, B256::from(model.hash()));
        let r = n.ok(WORKER, MODEL_REGISTRY_ADDRESS, call, 0);
        let model_id = U256::abi_decode(&r.output).expect("model id");
        let tree = WeightTree::new(&model);
        let widths = trace::widths(&model);
        n.ok(
            OWNER,
            V,
            X::setOptimisticParamsCall {
                idaoId: idao,
                params: X::OptimisticParams {
                    window: WINDOW,
                    moveTime: MOVE,
                    workerBond: U256::from(WORKER_BOND),
                    challengerBond: U256::from(CHALLENGER_BOND),
                },
            }
            .abi_encode(),
            0,
        );
        n.ok(
            WORKER,
            V,
            X::setModelWeightsCall {
                modelId: model_id,
                root: B256::from(tree.root()),
                widths: widths.clone(),
            }
            .abi_encode(),
            0,
        );
        let mut holders: Vec<Address> = (0..5).map(|i| n.addr(i)).collect();
        holders.extend([n.env.proposer, V, IDAO_REGISTRY_ADDRESS]);
        let supply = total_supply(&n.state, &holders);
        Self {
            n,
            idao,
            model_id,
            model,
            tree,
            widths,
            holders,
            supply,
        }
    }

    fn conserved(&self) {
        assert_eq!(
            total_supply(&self.n.state, &self.holders),
            self.supply,
            "wei created or lost"
        );
    }

    fn balance(&self, i: usize) -> U256 {
        self.n.state.account(&self.n.addr(i)).balance
    }

    fn register(&mut self, who: usize, deposit: u128) {
        self.n.ok(
            who,
            V,
            X::registerChallengerCall {
                idaoId: self.idao,
                hpkeKey: B256::repeat_byte(who as u8 + 1),
            }
            .abi_encode(),
            deposit,
        );
    }

    fn post_call(&self, q: &[i8], outs: &[Vec<i64>]) -> Vec<u8> {
        X::postOptimisticResultCall {
            idaoId: self.idao,
            modelId: self.model_id,
            inputHash: B256::from(trace::activations_hash(u32::MAX, &input_values(q))),
            layerHashes: hashes(outs),
            inputBlob: B256::repeat_byte(0xb1),
            user: self.n.addr(OWNER),
        }
        .abi_encode()
    }

    fn post(&mut self, q: &[i8], outs: &[Vec<i64>]) -> U256 {
        let call = self.post_call(q, outs);
        let r = self.n.ok(WORKER, V, call, WORKER_BOND);
        U256::abi_decode(&r.output).expect("task id")
    }

    fn claim(&self, who: usize, task: U256, layer_hashes: &[B256]) -> Vec<u8> {
        X::challengeCall {
            taskId: task,
            claim: layer_hashes
                .iter()
                .map(|&h| claim_commitment(CHAIN_ID, task, self.n.addr(who), h))
                .collect(),
        }
        .abi_encode()
    }

    fn reveal(task: U256, layer: u32, values: &[i64]) -> Vec<u8> {
        X::revealLayerCall {
            taskId: task,
            layer,
            values: trace::encode_values(values).into(),
        }
        .abi_encode()
    }

    /// A one-step proof of `unit` of `layer` on `previous`, against the worker's `revealed`.
    fn proof(&self, layer: usize, unit: usize, previous: &[i64], revealed: &[i64]) -> Bytes {
        let index = trace::unit_index(&self.widths, layer, unit).expect("unit");
        X::OneStepProof {
            unit: unit as u32,
            previous: trace::encode_values(previous).into(),
            revealed: trace::encode_values(revealed).into(),
            leaf: self.model.layers[layer]
                .unit_leaf(layer as u32, unit)
                .into(),
            index: U256::from(index),
            path: self.tree.open(index).into_iter().map(B256::from).collect(),
        }
        .abi_encode()
        .into()
    }

    fn fraud(&self, who: usize, task: U256, evidence: Bytes) -> Vec<u8> {
        X::submitFraudProofCall {
            taskId: task,
            evidence,
            challenger: self.n.addr(who),
        }
        .abi_encode()
    }

    fn task(&self, task: U256) -> X::Task {
        self.n.view(V, X::getTaskCall { taskId: task })
    }

    fn dispute(&self, task: U256, who: usize) -> X::Dispute {
        self.n.view(
            V,
            X::getDisputeCall {
                taskId: task,
                challenger: self.n.addr(who),
            },
        )
    }

    fn deposit(&self, who: usize) -> U256 {
        self.n
            .view(
                V,
                X::getChallengerCall {
                    idaoId: self.idao,
                    account: self.n.addr(who),
                },
            )
            .deposit
    }

    fn advance(&mut self, blocks: u64) {
        self.n.env.height += blocks;
    }
}

fn q(model: &QuantizedMlp, seed: i8) -> Vec<i8> {
    (0..model.inputs as i8)
        .map(|i| i.wrapping_mul(37).wrapping_add(seed) % 127)
        .collect()
}

#[test]
fn an_honest_result_is_final_after_its_window_for_one_worker_transaction() {
    let mut g = Game::new();
    let x = q(&g.model, 5);
    let honest = outputs(&g.model, &x, None);
    let before = g.balance(WORKER);
    let task = g.post(&x, &honest);
    let t = g.task(task);
    assert_eq!((t.mode, t.status), (MODE_OPTIMISTIC, TASK_PENDING));
    assert_eq!(t.resultHash, *hashes(&honest).last().expect("result"));
    assert!(!g.n.view(V, X::verifyResultCall { taskId: task }));

    // The wrong bond, or no weights for the model: refused.
    let call = g.post_call(&x, &honest);
    expect(
        &g.n.send(WORKER, V, call.clone(), 5),
        X::WrongBond {
            sent: U256::from(5),
            want: U256::from(WORKER_BOND),
        },
    );
    let r = g.n.send(GOV, V, call, WORKER_BOND);
    assert!(!r.success, "only an attested worker posts");

    // A registered challenger agreeing everywhere has nothing to dispute; a stranger cannot.
    g.register(CH1, CHALLENGER_BOND);
    let claim = g.claim(CH1, task, &hashes(&honest));
    expect(
        &g.n.send(CH1, V, claim, 0),
        X::NoDisagreement { taskId: task },
    );
    let claim = g.claim(GOV, task, &hashes(&honest));
    expect(
        &g.n.send(GOV, V, claim, 0),
        X::NotChallenger {
            idaoId: g.idao,
            caller: g.n.addr(GOV),
        },
    );
    let posted = g.n.env.height;
    expect(
        &g.n.send(GOV, V, X::finalizeCall { taskId: task }.abi_encode(), 0),
        X::WindowOpen {
            taskId: task,
            closesAt: posted + WINDOW,
        },
    );
    g.advance(WINDOW + 1);
    let mut wrong = hashes(&honest);
    wrong[1] = B256::repeat_byte(1);
    let claim = g.claim(CH1, task, &wrong);
    expect(
        &g.n.send(CH1, V, claim, 0),
        X::WindowClosed {
            taskId: task,
            closedAt: posted + WINDOW,
        },
    );

    // The worker's next post finalizes it: still one transaction per result.
    let task2 = g.post(&x, &honest);
    assert_eq!(g.task(task).status, TASK_VERIFIED);
    assert!(g.n.view(V, X::verifyResultCall { taskId: task }));
    assert_eq!(g.task(task2).status, TASK_PENDING);
    g.advance(WINDOW + 1);
    g.n.ok(GOV, V, X::finalizeCall { taskId: task2 }.abi_encode(), 0);
    assert_eq!(g.task(task2).status, TASK_VERIFIED);
    // Both bonds came back: the Verifier holds only the challenger's deposit, the worker paid
    // only gas.
    assert_eq!(g.n.state.account(&V).balance, U256::from(CHALLENGER_BOND));
    assert!(before - g.balance(WORKER) < U256::from(10u128.pow(16)));
    g.conserved();
}

/// One dishonest post, one honest challenger, each refusal on the way.
#[test]
fn a_wrong_result_is_proven_with_one_unit_and_every_bad_move_is_refused() {
    let mut g = Game::new();
    g.register(CH1, CHALLENGER_BOND * 2);
    let x = q(&g.model, 9);
    let honest = outputs(&g.model, &x, None);
    let lie = outputs(&g.model, &x, Some(1));
    let task = g.post(&x, &lie);
    let (user0, ch0) = (g.balance(OWNER), g.balance(CH1));

    // The claim has one hash per layer; a good claim disputes layer 1, the first difference.
    let short = g.claim(CH1, task, &hashes(&honest)[..2]);
    assert!(!g.n.send(CH1, V, short, 0).success);
    let claim = g.claim(CH1, task, &hashes(&honest));
    g.n.ok(CH1, V, claim.clone(), 0);
    expect(
        &g.n.send(CH1, V, claim, 0),
        X::AlreadyChallenged {
            taskId: task,
            challenger: g.n.addr(CH1),
        },
    );
    let d = g.dispute(task, CH1);
    assert_eq!((d.layer, d.turn, d.status), (1, TURN_WORKER, DISPUTE_OPEN));
    assert_eq!(g.task(task).status, TASK_CHALLENGED);

    // Out of turn: the challenger before the reveal.
    let early = g.proof(1, 0, &honest[0], &lie[1]);
    expect(
        &g.n.send(CH1, V, g.fraud(CH1, task, early), 0),
        X::NotYourTurn {
            taskId: task,
            caller: g.n.addr(CH1),
        },
    );
    // The reveal must be what was posted, by the worker, for a disputed layer.
    expect(
        &g.n.send(WORKER, V, Game::reveal(task, 1, &honest[1]), 0),
        X::RevealMismatch {
            taskId: task,
            layer: 1,
        },
    );
    assert!(!g.n.send(CH1, V, Game::reveal(task, 1, &lie[1]), 0).success);
    expect(
        &g.n.send(WORKER, V, Game::reveal(task, 0, &lie[0]), 0),
        X::NotDisputed {
            taskId: task,
            layer: 0,
        },
    );
    g.advance(1);
    g.n.ok(WORKER, V, Game::reveal(task, 1, &lie[1]), 0);
    let d = g.dispute(task, CH1);
    assert_eq!((d.turn, d.workerClock), (TURN_CHALLENGER, MOVE - 1));

    // Bad one-step proofs: a unit the worker got right, openings that do not match, the
    // wrong neuron, another's dispute, garbage.
    let right = g.proof(1, 1, &honest[0], &lie[1]);
    expect(
        &g.n.send(CH1, V, g.fraud(CH1, task, right), 0),
        X::NotFraud {
            taskId: task,
            unit: 1,
            value: lie[1][1],
        },
    );
    let mut forged: X::OneStepProof =
        SolValue::abi_decode(&g.proof(1, 0, &honest[0], &lie[1])).expect("proof");
    forged.leaf = {
        let mut leaf = forged.leaf.to_vec();
        leaf[12] ^= 1; // one weight changed
        leaf.into()
    };
    let r =
        g.n.send(CH1, V, g.fraud(CH1, task, forged.abi_encode().into()), 0);
    assert!(!r.success);
    let reason = <X::InvalidOneStep as SolError>::abi_decode(&r.output).expect("InvalidOneStep");
    assert!(reason.reason.contains("weights root"), "{}", reason.reason);
    let mut wrong_unit: X::OneStepProof =
        SolValue::abi_decode(&g.proof(1, 1, &honest[0], &lie[1])).expect("proof");
    wrong_unit.unit = 0;
    let r = g.n.send(
        CH1,
        V,
        g.fraud(CH1, task, wrong_unit.abi_encode().into()),
        0,
    );
    assert!(
        <X::InvalidOneStep as SolError>::abi_decode(&r.output).is_ok(),
        "{}",
        r.output
    );
    let mut bad_input: X::OneStepProof =
        SolValue::abi_decode(&g.proof(1, 0, &honest[0], &lie[1])).expect("proof");
    bad_input.previous = trace::encode_values(&honest[1][..4]).into();
    let r =
        g.n.send(CH1, V, g.fraud(CH1, task, bad_input.abi_encode().into()), 0);
    assert!(<X::InvalidOneStep as SolError>::abi_decode(&r.output).is_ok());
    let r =
        g.n.send(CH1, V, g.fraud(CH1, task, Bytes::from(vec![7u8; 99])), 0);
    assert!(<X::InvalidOneStep as SolError>::abi_decode(&r.output).is_ok());
    let good = g.proof(1, 0, &honest[0], &lie[1]);
    let r = g.n.send(GOV, V, g.fraud(CH1, task, good.clone()), 0);
    expect(
        &r,
        X::NotChallenger {
            idaoId: g.idao,
            caller: g.n.addr(GOV),
        },
    );
    expect(
        &g.n.send(GOV, V, g.fraud(GOV, task, good.clone()), 0),
        X::DisputeNotFound {
            taskId: task,
            challenger: g.n.addr(GOV),
        },
    );
    expect(
        &g.n.send(
            GOV,
            V,
            X::timeoutCall {
                taskId: task,
                challenger: g.n.addr(CH1),
            }
            .abi_encode(),
            0,
        ),
        X::ClockRunning {
            taskId: task,
            leftBlocks: MOVE,
        },
    );

    // The proof: fraud, the user refunded, half the rest to the challenger, the rest burned.
    let burned = g.n.state.burned();
    g.n.ok(CH1, V, g.fraud(CH1, task, good.clone()), 0);
    let t = g.task(task);
    assert_eq!(t.status, TASK_FRAUD);
    assert!(!g.n.view(V, X::verifyResultCall { taskId: task }));
    let d = g.dispute(task, CH1);
    assert_eq!(
        (d.status, d.unit, d.claimed, d.actual),
        (DISPUTE_CHALLENGER_WON, 0, lie[1][0], honest[1][0])
    );
    let rest = WORKER_BOND - PRICE.min(WORKER_BOND);
    let share = rest * 5_000 / 10_000;
    assert_eq!(g.balance(OWNER) - user0, U256::from(PRICE.min(WORKER_BOND)));
    assert!(g.balance(CH1) + U256::from(10u128.pow(16)) > ch0 + U256::from(share));
    assert!(g.n.state.burned() - burned >= U256::from(rest - share));
    assert_eq!(g.deposit(CH1), U256::from(CHALLENGER_BOND * 2));
    // Nothing more to do on it: replayed proof, finalize, a new challenge.
    assert!(!g.n.send(CH1, V, g.fraud(CH1, task, good), 0).success);
    g.advance(WINDOW + 1);
    assert!(
        !g.n.send(GOV, V, X::finalizeCall { taskId: task }.abi_encode(), 0)
            .success
    );
    // The whole deposit comes back.
    g.n.ok(
        CH1,
        V,
        X::withdrawChallengerCall {
            idaoId: g.idao,
            amount: U256::from(CHALLENGER_BOND * 2),
        }
        .abi_encode(),
        0,
    );
    g.conserved();
}

#[test]
fn late_moves_lose_and_a_silent_worker_is_slashed() {
    let mut g = Game::new();
    g.register(CH1, CHALLENGER_BOND);
    let x = q(&g.model, 3);
    let honest = outputs(&g.model, &x, None);
    let lie = outputs(&g.model, &x, Some(2));
    let task = g.post(&x, &lie);
    g.n.ok(CH1, V, g.claim(CH1, task, &hashes(&honest)), 0);
    g.advance(MOVE + 1);
    // Too late to reveal: the worker's clock ran out.
    expect(
        &g.n.send(WORKER, V, Game::reveal(task, 2, &lie[2]), 0),
        X::ClockExpired {
            taskId: task,
            lastMoveAt: g.dispute(task, CH1).lastMoveAt,
            clock: MOVE,
        },
    );
    g.n.ok(
        GOV,
        V,
        X::timeoutCall {
            taskId: task,
            challenger: g.n.addr(CH1),
        }
        .abi_encode(),
        0,
    );
    assert_eq!(g.task(task).status, TASK_FRAUD);
    assert_eq!(g.dispute(task, CH1).status, DISPUTE_CHALLENGER_WON);

    // A challenger that does not prove in time loses its bond to the worker and the burn.
    let task = g.post(&x, &honest);
    let mut wrong = hashes(&honest);
    wrong[0] = B256::repeat_byte(3);
    g.n.ok(CH1, V, g.claim(CH1, task, &wrong), 0);
    g.n.ok(WORKER, V, Game::reveal(task, 0, &honest[0]), 0);
    g.advance(MOVE + 1);
    let proof = g.proof(0, 0, &input_values(&x), &honest[0]);
    let r = g.n.send(CH1, V, g.fraud(CH1, task, proof), 0);
    assert!(
        <X::ClockExpired as SolError>::abi_decode(&r.output).is_ok(),
        "{}",
        r.output
    );
    let worker0 = g.balance(WORKER);
    g.n.ok(
        GOV,
        V,
        X::timeoutCall {
            taskId: task,
            challenger: g.n.addr(CH1),
        }
        .abi_encode(),
        0,
    );
    assert_eq!(g.dispute(task, CH1).status, DISPUTE_WORKER_WON);
    assert_eq!(g.task(task).status, TASK_PENDING);
    assert_eq!(
        g.balance(WORKER) - worker0,
        U256::from(CHALLENGER_BOND * 5_000 / 10_000)
    );
    assert_eq!(g.deposit(CH1), U256::ZERO);
    g.advance(WINDOW);
    g.n.ok(GOV, V, X::finalizeCall { taskId: task }.abi_encode(), 0);
    assert_eq!(g.task(task).status, TASK_VERIFIED);
    g.conserved();
}

#[test]
fn claims_and_moves_do_not_replay_across_tasks_or_challengers() {
    let mut g = Game::new();
    g.register(CH1, CHALLENGER_BOND * 2);
    g.register(CH2, CHALLENGER_BOND);
    let x = q(&g.model, 1);
    let honest = outputs(&g.model, &x, None);
    let lie = outputs(&g.model, &x, Some(2));
    let t1 = g.post(&x, &lie);
    let t2 = g.post(&x, &lie);
    // CH1's claim for t1, replayed in t2 by CH1 and copied into t1 by CH2: both are bound to
    // another task or challenger, so they disagree with the worker at layer 0, not layer 2.
    let c1 = g.claim(CH1, t1, &hashes(&honest));
    g.n.ok(CH1, V, c1.clone(), 0);
    assert_eq!(g.dispute(t1, CH1).layer, 2);
    let mut replayed: X::challengeCall = SolCall::abi_decode(&c1).expect("claim");
    replayed.taskId = t2;
    g.n.ok(CH1, V, replayed.abi_encode(), 0);
    assert_eq!(g.dispute(t2, CH1).layer, 0);
    g.n.ok(CH2, V, c1, 0);
    assert_eq!(g.dispute(t1, CH2).layer, 0);
    // A fraud proof for t1 does not serve in t2 (its dispute there is on layer 0).
    g.n.ok(WORKER, V, Game::reveal(t1, 2, &lie[2]), 0);
    let proof = g.proof(2, 0, &honest[1], &lie[2]);
    g.n.ok(WORKER, V, Game::reveal(t2, 0, &lie[0]), 0);
    let r = g.n.send(CH1, V, g.fraud(CH1, t2, proof.clone()), 0);
    assert!(!r.success);
    // The copycat CH2 is not blocking CH1: CH1 proves the fraud, CH2's dispute closes moot.
    g.n.ok(CH1, V, g.fraud(CH1, t1, proof), 0);
    assert_eq!(g.task(t1).status, TASK_FRAUD);
    assert_eq!(g.dispute(t1, CH2).status, DISPUTE_MOOT);
    assert_eq!(g.deposit(CH2), U256::from(CHALLENGER_BOND));
    g.conserved();
}

// ---- the exhaustive game ----------------------------------------------------------------

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Worker {
    Honest,
    /// Wrong from this layer on.
    Wrong(usize),
    /// Wrong at layer 1 and never answers.
    Silent,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Challenger {
    Honest,
    /// Claims a wrong hash for this layer, whatever the worker posted.
    Liar(usize),
    /// Copies the other challenger's claim bytes once it is on chain.
    Copycat,
    Absent,
}

/// Plays one game to its end; returns the task's status.
fn play(worker: Worker, parties: [Challenger; 2]) -> u8 {
    let mut g = Game::new();
    let who = [CH1, CH2];
    for &c in &who {
        g.register(c, CHALLENGER_BOND);
    }
    let deposits0 = [g.deposit(CH1), g.deposit(CH2)];
    let x = q(&g.model, 7);
    let honest = outputs(&g.model, &x, None);
    let posted = match worker {
        Worker::Honest => honest.clone(),
        Worker::Wrong(l) => outputs(&g.model, &x, Some(l)),
        Worker::Silent => outputs(&g.model, &x, Some(1)),
    };
    let worker0 = g.balance(WORKER);
    let task = g.post(&x, &posted);
    let mut claims: [Option<Vec<u8>>; 2] = [None, None];
    for _round in 0..(WINDOW + 4 * MOVE + 4) {
        for i in 0..2 {
            let me = who[i];
            let open = g.n.view(V, X::getTaskCall { taskId: task }).status == TASK_CHALLENGED
                || g.task(task).status == TASK_PENDING;
            if claims[i].is_none() && open {
                let call = match parties[i] {
                    Challenger::Honest if hashes(&posted) != hashes(&honest) => {
                        Some(g.claim(me, task, &hashes(&honest)))
                    }
                    Challenger::Liar(l) => {
                        let mut h = hashes(&honest);
                        h[l] = B256::repeat_byte(0xee);
                        Some(g.claim(me, task, &h))
                    }
                    Challenger::Copycat => claims[1 - i].clone(),
                    _ => None,
                };
                if let Some(call) = call
                    && g.n.send(me, V, call.clone(), 0).success
                {
                    claims[i] = Some(call);
                }
            }
            // Its move: a proof at the first unit where the revealed layer is not the
            // re-execution of the agreed input (liars and copycats try unit 0 on their own
            // view of the input and fail when the worker is right).
            let Ok(d) = g.n.try_view(
                V,
                X::getDisputeCall {
                    taskId: task,
                    challenger: g.n.addr(me),
                },
            ) else {
                continue;
            };
            if d.status != DISPUTE_OPEN || d.turn != TURN_CHALLENGER {
                continue;
            }
            let l = d.layer as usize;
            let previous = if l == 0 {
                input_values(&x)
            } else {
                posted[l - 1].clone()
            };
            let truth = g.model.layers[l].forward(&previous, l + 1 < g.model.layers.len());
            let unit = (0..truth.len())
                .find(|&u| truth[u] != posted[l][u])
                .unwrap_or(0);
            // Only the worker's own previous layer opens against its hash; a challenger whose
            // claim differed earlier than the worker's lie has the honest one.
            let mine = if l == 0 {
                input_values(&x)
            } else {
                honest[l - 1].clone()
            };
            let proof = g.proof(l, unit, &mine, &posted[l]);
            let _ = g.n.send(me, V, g.fraud(me, task, proof), 0);
        }
        // The worker answers every dispute awaiting it (unless silent).
        if worker != Worker::Silent {
            let ds: Vec<X::Dispute> = g.n.view(V, X::disputesCall { taskId: task });
            for d in ds {
                if d.status == DISPUTE_OPEN && d.turn == TURN_WORKER {
                    let l = d.layer as usize;
                    let _ =
                        g.n.send(WORKER, V, Game::reveal(task, d.layer, &posted[l]), 0);
                }
            }
        }
        // Anyone ends disputes whose clock ran out, then finalizes.
        let ds: Vec<X::Dispute> = g.n.view(V, X::disputesCall { taskId: task });
        for d in ds {
            if d.status == DISPUTE_OPEN {
                let call = X::timeoutCall {
                    taskId: task,
                    challenger: d.challenger,
                };
                let _ = g.n.send(OWNER, V, call.abi_encode(), 0);
            }
        }
        let _ =
            g.n.send(OWNER, V, X::finalizeCall { taskId: task }.abi_encode(), 0);
        g.advance(1);
    }
    let status = g.task(task).status;
    let label = format!("{worker:?} vs {parties:?}");
    assert!(
        status == TASK_VERIFIED || status == TASK_FRAUD,
        "{label}: unsettled ({status})"
    );
    let honest_challenger = parties.contains(&Challenger::Honest);
    match worker {
        Worker::Honest => {
            assert_eq!(status, TASK_VERIFIED, "{label}");
            // An honest worker never loses its bond: it ends with at least what it had, less gas.
            let gas_allowance = U256::from(10u128.pow(16));
            assert!(g.balance(WORKER) + gas_allowance > worker0, "{label}");
        }
        _ if honest_challenger => assert_eq!(status, TASK_FRAUD, "{label}"),
        _ => {}
    }
    // An honest challenger never loses its deposit.
    for i in 0..2 {
        if parties[i] == Challenger::Honest {
            assert_eq!(
                g.deposit(who[i]),
                deposits0[i],
                "{label}: honest challenger lost"
            );
        }
        // A challenge against an honest worker always loses its bond.
        if worker == Worker::Honest && claims[i].is_some() {
            assert!(
                g.deposit(who[i]) < deposits0[i],
                "{label}: a false challenge won"
            );
        }
    }
    g.conserved();
    status
}

#[test]
fn the_honest_party_always_wins_every_small_game() {
    let workers = [
        Worker::Honest,
        Worker::Wrong(0),
        Worker::Wrong(1),
        Worker::Wrong(2),
        Worker::Silent,
    ];
    let challengers = [
        Challenger::Honest,
        Challenger::Liar(0),
        Challenger::Liar(1),
        Challenger::Liar(2),
        Challenger::Copycat,
        Challenger::Absent,
    ];
    let mut frauds = 0;
    let mut games = 0;
    for &w in &workers {
        for &a in &challengers {
            for &b in &challengers {
                if play(w, [a, b]) == TASK_FRAUD {
                    frauds += 1;
                }
                games += 1;
            }
        }
    }
    assert_eq!(games, 180);
    // Every dishonest worker facing an honest challenger was caught (asserted per game).
    assert!(frauds >= 4 * 11, "{frauds} frauds");
}

// ---- garbage and random play ----------------------------------------------------------------

use proptest::prelude::*;

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]

    /// Any sequence of moves by anyone, with garbage mixed in, in any order and at any time:
    /// never a panic, and every wei stays accounted for (balances + burned constant).
    #[test]
    fn random_play_conserves_every_wei(ops in proptest::collection::vec((0u8..9, 0usize..5, any::<u16>()), 1..40)) {
        let mut g = Game::new();
        g.register(CH1, CHALLENGER_BOND * 3);
        g.register(CH2, CHALLENGER_BOND);
        let x = q(&g.model, 2);
        let honest = outputs(&g.model, &x, None);
        let lie = outputs(&g.model, &x, Some(1));
        let mut tasks = vec![];
        for (op, who, arg) in ops {
            let task = tasks.get(arg as usize % tasks.len().max(1)).copied().unwrap_or(U256::from(1));
            let l = arg as usize % 3;
            let input = match op {
                0 => {
                    let outs = if arg % 2 == 0 { &honest } else { &lie };
                    let call = g.post_call(&x, outs);
                    let r = g.n.send(WORKER, V, call, WORKER_BOND);
                    if r.success {
                        tasks.push(U256::abi_decode(&r.output).expect("id"));
                    }
                    continue;
                }
                1 => {
                    let mut h = hashes(&honest);
                    if arg % 3 == 0 { h[l] = B256::repeat_byte(arg as u8); }
                    g.claim(who, task, &h)
                }
                2 => Game::reveal(task, l as u32, if arg % 2 == 0 { &lie[l] } else { &honest[l] }),
                3 => {
                    let previous = if l == 0 { input_values(&x) } else { honest[l - 1].clone() };
                    let unit = arg as usize % honest[l].len();
                    g.fraud(who, task, g.proof(l, unit, &previous, &lie[l]))
                }
                4 => X::timeoutCall { taskId: task, challenger: g.n.addr(who) }.abi_encode(),
                5 => X::finalizeCall { taskId: task }.abi_encode(),
                6 => X::withdrawChallengerCall { idaoId: g.idao, amount: U256::from(arg) * U256::from(1_000u64) }.abi_encode(),
                7 => {
                    g.advance(u64::from(arg % 5));
                    continue;
                }
                _ => {
                    // Garbage: random evidence, a truncated call, random values.
                    let mut raw = X::submitFraudProofCall { taskId: task, evidence: vec![arg as u8; arg as usize % 300].into(), challenger: g.n.addr(who) }.abi_encode();
                    raw.truncate(raw.len().saturating_sub(arg as usize % 3));
                    raw
                }
            };
            let _ = g.n.send(who, V, input, 0);
            g.conserved();
        }
        g.conserved();
    }
}

#[test]
fn a_model_commitment_is_its_controllers_and_the_worker_commits_once() {
    let mut g = Game::new();
    let model_id = g.model_id;
    let set = |root: B256, widths: Vec<u32>| {
        X::setModelWeightsCall {
            modelId: model_id,
            root,
            widths,
        }
        .abi_encode()
    };
    let root = B256::from(g.tree.root());
    let widths = g.widths.clone();
    // Game::new committed it as the worker: the worker cannot swap it, a stranger cannot
    // touch it, the iDAO's owner can replace it.
    let r =
        g.n.send(WORKER, V, set(B256::repeat_byte(1), widths.clone()), 0);
    let e = <X::InvalidWeights as SolError>::abi_decode(&r.output).expect("InvalidWeights");
    assert!(e.reason.contains("only the iDAO's owner"), "{}", e.reason);
    expect(
        &g.n.send(CH1, V, set(root, widths.clone()), 0),
        X::NotModelController {
            modelId: g.model_id,
            caller: g.n.addr(CH1),
        },
    );
    for bad in [
        set(B256::ZERO, widths.clone()),
        set(root, vec![6]),
        set(root, vec![6, 0, 3]),
        set(root, vec![6, MAX_OPTIMISTIC_WIDTH + 1, 3]),
        set(root, vec![1; MAX_OPTIMISTIC_LAYERS + 2]),
    ] {
        let r = g.n.send(OWNER, V, bad, 0);
        assert!(<X::InvalidWeights as SolError>::abi_decode(&r.output).is_ok());
    }
    // A result keeps the commitment current when it was posted.
    let x = q(&g.model, 4);
    let task = g.post(&x, &outputs(&g.model, &x, None));
    g.n.ok(OWNER, V, set(B256::repeat_byte(2), widths.clone()), 0);
    let o = g.n.view(V, X::getOptimisticCall { taskId: task });
    assert_eq!(o.weightsRoot, root);
    let w = g.n.view(
        V,
        X::modelWeightsCall {
            modelId: g.model_id,
        },
    );
    assert_eq!((w.root, w.setBy), (B256::repeat_byte(2), g.n.addr(OWNER)));
}
