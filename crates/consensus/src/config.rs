//! Engine configuration: the validator's identity and set, storage naming, block pacing, and the
//! consensus timeouts derived from the target block time.

use crate::{
    error::Error,
    executor::Validator,
    executor::ValidatorSet,
    keys::{PrivateKey, PublicKey, public_key_to_hex},
};
use commonware_cryptography::Signer;
use lazai_types::{Address, U256};
use std::{
    collections::{BTreeMap, BTreeSet},
    num::NonZeroU64,
    time::Duration,
};

/// Default target block time.
pub const DEFAULT_BLOCK_TIME: Duration = Duration::from_secs(1);

/// Default tolerated lead of a proposer's clock over ours.
pub const DEFAULT_MAX_FUTURE_DRIFT: Duration = Duration::from_secs(3);

/// Everything one validator needs to run consensus (besides its executor and network).
#[derive(Clone, Debug)]
pub struct EngineConfig {
    /// This validator's ed25519 identity (signs votes, authenticates p2p connections).
    pub signer: PrivateKey,
    /// Fee recipient written into the blocks this validator proposes.
    pub fee_recipient: Address,
    /// Every validator's fee recipient. When set, a block is valid only if its `proposer`
    /// field is the fee recipient of the view's leader, so a leader cannot credit its tips to
    /// another validator's identity; empty disables the check.
    pub fee_recipients: BTreeMap<PublicKey, Address>,
    /// The validator set of a chain without epochs (genesis order; consensus sorts it
    /// internally). On a chain with epochs the executor's state names each epoch's set and this
    /// is only the fallback.
    pub participants: Vec<PublicKey>,
    /// Blocks per epoch (at least 2); `None` runs one endless epoch with `participants`.
    pub epoch_length: Option<NonZeroU64>,
    /// Most validators any epoch can have (sizes p2p message and peer-set limits); at least
    /// `participants.len()`.
    pub max_validators: usize,
    /// Prefix of every storage partition this validator writes (alphanumeric, `-`, `_`). Two
    /// validators sharing a storage directory need different prefixes.
    pub partition_prefix: String,
    /// Target block time; proposers wait until `parent.timestamp + block_time` before building.
    pub block_time: Duration,
    /// Chain id, bound into the consensus and p2p namespaces so chains never cross-talk.
    pub chain_id: u64,
    /// Largest RLP-encoded block accepted from peers (and sized into p2p message limits).
    pub max_block_bytes: usize,
    /// Capacity of the engine's internal mailboxes.
    pub mailbox_size: usize,
    /// How far ahead of our clock a block timestamp may be before verification waits for it.
    pub max_future_drift: Duration,
    /// A devnet's controls: blocks on demand (with a zero `block_time`) and a movable clock,
    /// shared by its in-process validators. `None` on every real network.
    pub dev: Option<lazai_types::DevControls>,
}

impl EngineConfig {
    /// A configuration with default pacing and limits.
    pub fn new(
        signer: PrivateKey,
        fee_recipient: Address,
        participants: Vec<PublicKey>,
        chain_id: u64,
    ) -> Self {
        Self {
            signer,
            fee_recipient,
            fee_recipients: BTreeMap::new(),
            max_validators: participants.len(),
            participants,
            epoch_length: None,
            partition_prefix: "lazai".to_string(),
            block_time: DEFAULT_BLOCK_TIME,
            chain_id,
            max_block_bytes: lazai_types::MAX_BLOCK_BYTES,
            mailbox_size: 1024,
            max_future_drift: DEFAULT_MAX_FUTURE_DRIFT,
            dev: None,
        }
    }

    /// This validator's public key.
    pub fn public_key(&self) -> PublicKey {
        self.signer.public_key()
    }

    /// Checks the configuration; returns the first problem found.
    pub fn validate(&self) -> Result<(), Error> {
        if self.participants.is_empty() {
            return Err(Error::NoParticipants);
        }
        let mut seen = BTreeSet::new();
        for participant in &self.participants {
            if !seen.insert(participant.clone()) {
                return Err(Error::DuplicateParticipant(public_key_to_hex(participant)));
            }
        }
        if self.max_validators < self.participants.len() {
            return Err(Error::InvalidConfig(format!(
                "max validators {} is below the {} configured participants",
                self.max_validators,
                self.participants.len()
            )));
        }
        if self.epoch_length.is_some_and(|length| length.get() < 2) {
            return Err(Error::InvalidConfig(
                "an epoch must span at least two blocks".into(),
            ));
        }
        if self.partition_prefix.is_empty() {
            return Err(Error::InvalidConfig("partition prefix is empty".into()));
        }
        if !self
            .partition_prefix
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        {
            return Err(Error::InvalidConfig(format!(
                "partition prefix {:?} may only contain ascii letters, digits, '-' and '_'",
                self.partition_prefix
            )));
        }
        let on_demand = self.dev.as_ref().is_some_and(|d| d.on_demand());
        if on_demand != self.block_time.is_zero() {
            return Err(Error::InvalidConfig(
                "a zero block time means blocks on demand, which only a devnet's controls provide"
                    .into(),
            ));
        }
        if self.block_time > Duration::from_secs(60) {
            return Err(Error::InvalidConfig(format!(
                "block time {:?} must be at most 60s",
                self.block_time
            )));
        }
        if self.max_block_bytes == 0 || self.max_block_bytes > lazai_types::MAX_BLOCK_BYTES {
            return Err(Error::InvalidConfig(format!(
                "max block bytes {} must be in (0, {}]",
                self.max_block_bytes,
                lazai_types::MAX_BLOCK_BYTES
            )));
        }
        if self.mailbox_size == 0 {
            return Err(Error::InvalidConfig("mailbox size must be non-zero".into()));
        }
        Ok(())
    }

    /// The set of a chain without epochs: `participants` with their configured fee recipients
    /// (zero when none is configured, which disables the proposer check).
    pub(crate) fn static_validator_set(&self, genesis: crate::digest::BlockDigest) -> ValidatorSet {
        ValidatorSet {
            epoch: 0,
            validators: self
                .participants
                .iter()
                .map(|key| Validator {
                    key: key.clone(),
                    fee_recipient: self.fee_recipients.get(key).copied().unwrap_or_default(),
                    stake: U256::ZERO,
                    p2p_addr: None,
                })
                .collect(),
            boundary: genesis.to_b256(),
        }
    }

    /// Namespace bound into every consensus signature and p2p handshake of this chain.
    pub fn namespace(&self) -> Vec<u8> {
        namespace(self.chain_id)
    }

    /// The consensus timeouts derived from [`Self::block_time`].
    pub fn timeouts(&self) -> Timeouts {
        if self.block_time.is_zero() {
            Timeouts::on_demand()
        } else {
            Timeouts::from_block_time(self.block_time)
        }
    }
}

/// Namespace for a chain id: `b"lazai-consensus-" || chain_id (big endian)`.
pub fn namespace(chain_id: u64) -> Vec<u8> {
    let mut namespace = b"lazai-consensus-".to_vec();
    namespace.extend_from_slice(&chain_id.to_be_bytes());
    namespace
}

/// Simplex and resolver timeouts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Timeouts {
    /// How long to wait for the leader's proposal in a view.
    pub leader: Duration,
    /// How long to wait for a view to certify before voting to skip it.
    pub certification: Duration,
    /// How often to rebroadcast a nullify vote while stuck in a view.
    pub retry: Duration,
    /// Inactivity after which an unresponsive leader may be skipped early.
    pub skip: Duration,
    /// How long to wait for a peer to answer a fetch.
    pub fetch: Duration,
}

impl Timeouts {
    /// Timeouts for a target block time: the leader gets the pacing delay plus a second of slack
    /// to build and relay; every other timeout follows from it.
    pub fn from_block_time(block_time: Duration) -> Self {
        let leader = block_time * 2 + Duration::from_secs(1);
        let certification = leader * 2;
        let retry = leader;
        let skip = certification + leader;
        let fetch = Duration::from_secs(2).max(block_time * 2);
        Self {
            leader,
            certification,
            retry,
            skip,
            fetch,
        }
    }

    /// Timeouts of a devnet that makes blocks on demand: a leader waits (for a transaction or a
    /// request) as long as it takes, so no view is skipped for want of a proposal.
    pub fn on_demand() -> Self {
        let hour = Duration::from_secs(3600);
        Self {
            leader: hour,
            certification: hour * 2,
            retry: hour,
            skip: hour * 3,
            fetch: Duration::from_secs(2),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keys::key_from_seed;

    fn config() -> EngineConfig {
        let keys: Vec<_> = (0..4).map(key_from_seed).collect();
        EngineConfig::new(
            keys[0].clone(),
            Address::ZERO,
            keys.iter().map(|k| k.public_key()).collect(),
            7,
        )
    }

    #[test]
    fn validates() {
        assert!(config().validate().is_ok());

        let mut c = config();
        c.epoch_length = NonZeroU64::new(1);
        assert!(matches!(c.validate(), Err(Error::InvalidConfig(_))));

        let mut c = config();
        c.participants.push(c.participants[1].clone());
        assert!(matches!(c.validate(), Err(Error::DuplicateParticipant(_))));

        let mut c = config();
        c.partition_prefix = "a/b".into();
        assert!(matches!(c.validate(), Err(Error::InvalidConfig(_))));
    }

    #[test]
    fn timeouts_are_ordered() {
        for ms in [50, 200, 1000, 5000] {
            let t = Timeouts::from_block_time(Duration::from_millis(ms));
            assert!(t.certification > t.leader);
            assert!(t.skip > t.certification && t.skip > t.retry);
            assert!(t.leader > Duration::from_millis(ms));
        }
    }
}
