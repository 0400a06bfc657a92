//! Checking a `lazai_getProof` answer against a block's `stateRoot`, trusting nothing the node
//! says but the root (which a light client takes from a finalized header).
//!
//! The state is one Merkle-Patricia trie: an account under `keccak256(0x00 || address)` with the
//! value `rlp([nonce, balance])`, slot `s` of the module at `address` under
//! `keccak256(0x01 || address || s)` with its raw bytes (see `lazai_abi::state`). A leaf holds the
//! RLP string of the value; an empty account and an unset slot are absent from the trie, and their
//! proofs show the path ending before them. Every key is recomputed here from the address and
//! the slot, so a proof of another key cannot pass for the one asked.

use alloy::providers::Provider;
use alloy::rpc::types::BlockId;
use alloy_primitives::{Address, B256, Bytes};
use alloy_trie::Nibbles;
use anyhow::Context as _;
use lazai_abi::state::{Account, account_key, leaf_value, module_key};
pub use lazai_abi::state::{SlotProof, StateProof};

/// Why a proof does not hold.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProofError {
    #[error("the proof names key {got} for {what}, which lives under {expected}")]
    WrongKey {
        what: String,
        got: B256,
        expected: B256,
    },
    #[error("{what} does not verify against state root {root}: {reason}")]
    Invalid {
        what: String,
        root: B256,
        reason: String,
    },
}

fn check(
    root: B256,
    what: String,
    key: B256,
    expected: B256,
    value: Option<&[u8]>,
    proof: &[Bytes],
) -> Result<(), ProofError> {
    if key != expected {
        return Err(ProofError::WrongKey {
            what,
            got: key,
            expected,
        });
    }
    alloy_trie::proof::verify_proof(root, Nibbles::unpack(key), value.map(leaf_value), proof)
        .map_err(|e| ProofError::Invalid {
            what,
            root,
            reason: e.to_string(),
        })
}

/// Checks every part of `proof` (the account, then each slot) against `root`.
pub fn verify(root: B256, proof: &StateProof) -> Result<(), ProofError> {
    let address = proof.address;
    let nonce: u64 = proof.nonce.to();
    let account = Account {
        nonce,
        balance: proof.balance,
    };
    let account = (!account.is_empty()).then(|| alloy_rlp::encode(account));
    check(
        root,
        format!("account {address}"),
        proof.account_key,
        account_key(&address),
        account.as_deref(),
        &proof.account_proof,
    )?;
    for slot in &proof.storage_proof {
        check(
            root,
            format!("slot {} of {address}", slot.slot),
            slot.key,
            module_key(&address, &slot.slot),
            slot.value.as_ref().map(|v| v.as_ref()),
            &slot.proof,
        )?;
    }
    Ok(())
}

/// Asks a node for a proof of `address` and `slots` at `block` (the finalized head when `None`).
/// The answer is not checked: pass it to [`verify`] with a root you trust.
pub async fn get_proof(
    provider: &impl Provider,
    address: Address,
    slots: &[Bytes],
    block: Option<BlockId>,
) -> anyhow::Result<StateProof> {
    provider
        .raw_request("lazai_getProof".into(), (address, slots, block))
        .await
        .context("lazai_getProof")
}
