//! Optimistic results and their fraud-proof game.
//!
//! A worker posts a result with a bond (`postOptimisticResult`, one transaction): the hash of
//! every layer's output of its execution (lazai-model's `Trace`), under the model's registered
//! weights root and widths (`setModelWeights`), and the root of the input sealed to the iDAO's
//! registered challengers. The result is final once its window passed with no dispute open.
//!
//! **The game**, one dispute per challenger, each independent (a dishonest challenger never
//! blocks an honest one):
//!
//! 1. `challenge(taskId, claim)`: a registered challenger, within the window, posts its own
//!    claim about every layer, each bound to the chain, the task and itself
//!    ([`lazai_abi::claim_commitment`]: a copy of another's claim, or a claim replayed from
//!    another task, disagrees with the worker at layer 0 and loses). The chain finds the
//!    first layer `l` where the claim and the worker's hashes differ: both agree on the input
//!    of layer `l` (the previous layer's hash, or the task's input hash).
//! 2. `revealLayer(taskId, l, values)`: the worker reveals its output of layer `l`, which must
//!    hash to what it posted. One reveal answers every dispute on that layer.
//! 3. `submitFraudProof(taskId, OneStepProof, challenger)`: the challenger names one unit of
//!    layer `l`, opens its parameters under the weights root and gives the agreed input of the
//!    layer; the chain re-executes that unit with lazai-model's kernel (`trace::one_step`)
//!    and compares with the revealed value. Different: fraud proven. The same: reverts
//!    `NotFraud` (the challenger may try another unit while its clock runs).
//!
//! So a dispute takes at most three moves whatever the model's size, and one step reads one
//! unit (at most `MAX_OPTIMISTIC_WIDTH` inputs). Each party has a chess clock of
//! `moveTime` blocks spent only on its own turn; `timeout` ends a dispute whose awaited party
//! ran out: a worker that never reveals loses as if proven wrong, a challenger that never
//! proves loses its bond.
//!
//! **Money** (integer, every wei accounted): a proven fraud takes the worker's bond: the
//! user's refund first (the model's price per call, at most the bond), then
//! `WINNER_SHARE_BPS` of the rest to the challenger, the rest (with the division's
//! remainder) burned, so a worker challenging itself never profits. A lost challenge takes the
//! challenger's bond: the same share to the worker, the rest burned. Other disputes of a task
//! proven wrong close without a winner and unlock their bonds. Nothing is paid before the
//! outcome is decided; the worker's bond comes back at `finalize` (anyone may send it, and
//! each post finalizes up to four of the worker's earlier results).
//!
//! Files: `store.rs` (slots, gas, loaders, the clock), `terms.rs` (parameters, weights,
//! challengers), `game.rs` (the moves and views), `settle.rs` (finality, slashing, bonds).

mod game;
mod settle;
mod store;
mod terms;

pub(crate) use game::*;
pub(crate) use settle::finalize;
pub(crate) use store::params;
pub use store::{
    HASH_GAS_PER_WORD, MERKLE_GAS_PER_LEVEL, ONE_STEP_GAS_BASE, ONE_STEP_GAS_PER_INPUT,
    one_step_gas,
};
pub(crate) use terms::*;
