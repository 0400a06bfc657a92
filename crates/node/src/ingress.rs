//! Ingress: every way a transaction enters this node's mempool, and the next-block environment
//! admission judges it against.
//!
//! Transactions arrive from RPC (one at a time or in batches, signatures recovered in
//! parallel) and from peers' gossip. RPC submissions are gossiped on once admitted; gossiped
//! ones are not forwarded again (every node sends to all of its peers).

use crate::chain::Chain;
use crate::mempool::AdmitError;
use futures::channel::mpsc::UnboundedSender;
use lazai_ledger::{
    BlockEnv, RecoveredTx, State, TxError, decode_and_recover, decode_and_recover_many,
};
use lazai_types::{Address, B256, Bytes};
use std::sync::Arc;

/// Where transactions enter: the chain (its head, ledger and mempool) plus, on a networked
/// node, the queue of admitted transactions to gossip to peers.
#[derive(Clone)]
pub(crate) struct Ingress {
    chain: Chain,
    /// Where admitted transactions go to be gossiped to peers.
    gossip: Option<UnboundedSender<Bytes>>,
}

impl Ingress {
    pub(crate) fn new(chain: Chain) -> Self {
        Self {
            chain,
            gossip: None,
        }
    }

    /// Sends every transaction admitted from RPC to `gossip`.
    pub(crate) fn set_gossip(&mut self, gossip: UnboundedSender<Bytes>) {
        self.gossip = Some(gossip);
    }

    pub(crate) fn chain(&self) -> &Chain {
        &self.chain
    }

    /// The finalized state and the environment of the next block as far as this node can tell
    /// before a proposer picks it: a child of the finalized head, 1 ms later, with no fee
    /// recipient. Admission and read-only calls are judged against it.
    pub(crate) fn next_block(&self) -> (State, BlockEnv) {
        let head = self.chain.head();
        let ts = head.block.header.timestamp_ms + 1;
        let env = self.chain.child_env(&head.block.header, ts, Address::ZERO);
        (head.state, env)
    }

    /// Validates and admits one signed transaction (EIP-2718 bytes) and gossips it.
    pub(crate) fn submit(&self, raw: &Bytes) -> Result<B256, AdmitError> {
        let chain_id = self.chain.genesis().chain_id;
        self.admit(decode_and_recover(raw, chain_id).map(Arc::new), true)
    }

    /// [`Self::submit`] for many, signatures recovered in parallel; results in input order.
    pub(crate) fn submit_many(&self, raws: &[Bytes]) -> Vec<Result<B256, AdmitError>> {
        decode_and_recover_many(raws, self.chain.genesis().chain_id)
            .into_iter()
            .map(|r| self.admit(r, true))
            .collect()
    }

    /// Admits transactions a peer gossiped. They are not gossiped again; invalid or
    /// already-known ones are dropped quietly.
    pub(crate) fn receive_gossip(&self, raws: Vec<Bytes>) {
        let total = raws.len();
        let admitted = decode_and_recover_many(&raws, self.chain.genesis().chain_id)
            .into_iter()
            .map(|r| self.admit(r, false))
            .filter(Result::is_ok)
            .count();
        tracing::debug!(total, admitted, "admitted gossiped transactions");
    }

    /// Admits a transaction; `announce` gossips it to peers once admitted.
    fn admit(
        &self,
        tx: Result<Arc<RecoveredTx>, TxError>,
        announce: bool,
    ) -> Result<B256, AdmitError> {
        let tx = tx?;
        let announce = if announce { self.gossip.as_ref() } else { None };
        self.chain.mempool().admit_and_announce(
            self.chain.ledger(),
            tx,
            || self.next_block(),
            announce,
        )
    }
}
