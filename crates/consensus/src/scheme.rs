//! The types every part of the engine names: the signing scheme, the context consensus hands
//! the application, marshal's mailbox and the finality gate. A leaf: it imports no other file
//! of the engine but the block, digest and key types.

use crate::{block::ConsensusBlock, digest::BlockDigest, keys::PublicKey};
use commonware_consensus::{
    marshal::{core::Mailbox, standard::Standard},
    simplex::types::Context,
};
use std::sync::Arc;

/// The signing scheme votes and certificates use: ed25519, attributable.
pub type SigningScheme = commonware_consensus::simplex::scheme::ed25519::Scheme;

/// Consensus metadata handed to propose/verify.
pub type ConsensusContext = Context<BlockDigest, PublicKey>;

/// Marshal's mailbox for our block type.
pub type MarshalMailbox = Mailbox<SigningScheme, Standard<ConsensusBlock>>;

/// Serializes the executor's finality with the checks around `propose`/`verify`: those hold it
/// shared while they confirm their parent is still usable and call the executor; the finalizer
/// holds it exclusively while it applies a block. Without it, finality could pass a parent
/// between the check and the call, and the executor would be asked to build on a superseded
/// finalized block.
pub(crate) type FinalityGate = Arc<parking_lot::RwLock<()>>;
