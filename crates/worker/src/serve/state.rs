//! The server's state: the model and its record, the signer, the store, and the meter — the
//! callers' nonces and each usage token's reserved, served and recorded calls.

use super::store::Store;
use alloy_primitives::{Address, B256, U256};
use lazai_abi::IModelRegistry as M;
use lazai_model::QuantizedMlp;
use serde::Serialize;
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;
use tokio::sync::Notify;

/// One usage token as the meter sees it.
#[derive(Clone, Debug)]
pub(super) struct TokenState {
    pub(super) owner: Address,
    pub(super) class: U256,
    pub(super) expire_at: u64,
    /// Its value on chain, as of the last recorded batch (or the last fresh read).
    pub(super) chain_value: U256,
    /// Calls reserved whose receipt is being signed and stored.
    pub(super) signing: u64,
    /// Calls served and not yet in a batch: (counter, receipt hash).
    pub(super) receipts: Vec<(u64, B256)>,
    /// Calls in the batch being recorded: (counter, receipt hash).
    pub(super) in_flight: Vec<(u64, B256)>,
    /// Calls ever reserved on it (for receipt counters).
    pub(super) used: u64,
    /// Usage of it the chain has recorded (`usageOf`), as far as this server knows.
    pub(super) recorded: u64,
    /// When owner, expiry and value were last read from the chain.
    pub(super) fetched: std::time::Instant,
}

impl TokenState {
    /// Calls taken from its value and not yet recorded on chain.
    pub(super) fn committed(&self) -> u64 {
        self.signing + (self.receipts.len() + self.in_flight.len()) as u64
    }
}

#[derive(Default)]
pub(super) struct Meter {
    /// The last nonce accepted from each user.
    pub(super) nonces: HashMap<Address, U256>,
    pub(super) tokens: std::collections::BTreeMap<U256, TokenState>,
    pub(super) waiting: u64,
    /// Incremented by every recorded batch (a chain read older than it is stale).
    pub(super) generation: u64,
    /// (token owner, caller) → (approved for the class or for all, when read).
    pub(super) approvals: HashMap<(Address, Address), (bool, std::time::Instant)>,
}

pub(super) struct Shared {
    pub(super) model: QuantizedMlp,
    pub(super) record: M::Model,
    pub(super) node: Address,
    pub(super) chain_id: u64,
    pub(super) signer: alloy_signer_local::PrivateKeySigner,
    pub(super) reader: lazai_client::Client,
    pub(super) metering: bool,
    pub(super) require_request_signature: bool,
    pub(super) batch_calls: u64,
    pub(super) store: Store,
    pub(super) meter: Mutex<Meter>,
    pub(super) stats: Mutex<ServeStats>,
    pub(super) flush: Notify,
    /// Proofs of inference, when on.
    pub(super) zk: Option<std::sync::Arc<super::prover::Zk>>,
    /// Optimistic results, when on.
    pub(super) optimistic: Option<std::sync::Arc<crate::optimistic::Poster>>,
}

pub(super) fn now_secs() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// Counters for the operator and the benchmark.
#[derive(Debug, Default, Clone, Copy, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ServeStats {
    pub calls: u64,
    pub batches: u64,
    pub calls_recorded: u64,
    pub batch_gas: u64,
    pub failed_batches: u64,
}

/// How long an approval read from the chain is trusted before it is read again.
pub const APPROVAL_TTL: Duration = Duration::from_secs(30);
/// How long a usage token's owner, expiry and value are trusted before they are read again.
pub const TOKEN_TTL: Duration = Duration::from_secs(10);
/// A usage DAT this close to its expiry is refused: its usage might not reach the chain
/// before it expires (the chain refuses usage on expired tokens).
pub const EXPIRY_MARGIN_SECS: u64 = 30;
