//! Errors returned by the consensus crate.

/// Why the engine (or a helper) could not start or stopped.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A key could not be parsed.
    #[error("invalid key: {0}")]
    InvalidKey(String),
    /// The validator set is empty.
    #[error("the validator set is empty")]
    NoParticipants,
    /// The same key appears twice in the validator set.
    #[error("validator {0} appears twice in the validator set")]
    DuplicateParticipant(String),
    /// The local signer is not a member of the validator set.
    #[error("local key {0} is not in the validator set")]
    NotAParticipant(String),
    /// A configuration value is out of range.
    #[error("invalid configuration: {0}")]
    InvalidConfig(String),
    /// A network peer entry is missing or inconsistent.
    #[error("invalid peer list: {0}")]
    InvalidPeers(String),
    /// Persistent storage (journals, archives) failed.
    #[error("storage: {0}")]
    Storage(String),
    /// Registering a network channel failed.
    #[error("network: {0}")]
    Network(String),
    /// A task of the engine exited with a runtime error.
    #[error("runtime: {0}")]
    Runtime(#[from] commonware_runtime::Error),
    /// The executor's finalized height is ahead of what marshal can deliver, or a finalized block
    /// it needs is missing from local storage.
    #[error("finalized block at height {0} is missing from local storage")]
    MissingFinalized(u64),
}
