//! Signed transactions: decoding of untrusted bytes, stateless checks and sender recovery.

use crate::error::TxError;
use alloy_consensus::{Transaction, TxEnvelope, transaction::SignerRecoverable};
use alloy_eips::eip2718::{Decodable2718, Encodable2718};
use alloy_primitives::{Address, B256, Bytes, TxKind, U256};
use lazai_types::MAX_TX_BYTES;
use rayon::prelude::*;
use std::sync::Arc;

/// A decoded, signature-checked transaction with its sender recovered once.
#[derive(Clone, Debug)]
pub struct RecoveredTx {
    pub hash: B256,
    pub sender: Address,
    pub envelope: TxEnvelope,
    /// The EIP-2718 encoding, exactly as received (what blocks carry).
    pub raw: Bytes,
}

impl RecoveredTx {
    pub fn nonce(&self) -> u64 {
        self.envelope.nonce()
    }
    pub fn gas_limit(&self) -> u64 {
        self.envelope.gas_limit()
    }
    pub fn max_fee_per_gas(&self) -> u128 {
        self.envelope.max_fee_per_gas()
    }
    /// The tip cap: `max_priority_fee_per_gas` for EIP-1559, the gas price otherwise.
    pub fn max_priority_fee_per_gas(&self) -> u128 {
        self.envelope
            .max_priority_fee_per_gas()
            .unwrap_or_else(|| self.envelope.max_fee_per_gas())
    }
    pub fn to(&self) -> Option<Address> {
        match self.envelope.kind() {
            TxKind::Call(to) => Some(to),
            TxKind::Create => None,
        }
    }
    pub fn value(&self) -> U256 {
        self.envelope.value()
    }
    pub fn input(&self) -> &Bytes {
        self.envelope.input()
    }
    pub fn tx_type(&self) -> u8 {
        self.envelope.tx_type() as u8
    }
    pub fn chain_id(&self) -> Option<u64> {
        self.envelope.chain_id()
    }
    /// Price per gas paid at a given base fee (`None` when the fee cap is below it).
    pub fn effective_gas_price(&self, base_fee: u64) -> Option<u128> {
        let base = u128::from(base_fee);
        let cap = self.max_fee_per_gas();
        if cap < base {
            return None;
        }
        Some(cap.min(base.saturating_add(self.max_priority_fee_per_gas())))
    }
}

/// Decodes an EIP-2718 transaction from untrusted bytes and recovers its sender.
///
/// Accepts legacy (EIP-155 only: a transaction without a chain id is refused), EIP-2930 and
/// EIP-1559 transactions for `chain_id`; refuses high-s (malleable) signatures, trailing bytes,
/// and anything larger than `MAX_TX_BYTES`. Never panics.
pub fn decode_and_recover(raw: &[u8], chain_id: u64) -> Result<RecoveredTx, TxError> {
    let envelope = decode(raw, chain_id)?;
    // Rejects high-s signatures (EIP-2) and recovers with libsecp256k1.
    let sender = envelope
        .recover_signer()
        .map_err(|_| TxError::BadSignature)?;
    Ok(RecoveredTx {
        hash: envelope.trie_hash(),
        sender,
        envelope,
        raw: Bytes::copy_from_slice(raw),
    })
}

/// Decodes a transaction whose sender is already known (one this chain finalized, whose
/// receipt records the sender), without recovering the signature again.
pub fn decode_with_sender(
    raw: &[u8],
    chain_id: u64,
    sender: Address,
) -> Result<RecoveredTx, TxError> {
    let envelope = decode(raw, chain_id)?;
    Ok(RecoveredTx {
        hash: envelope.trie_hash(),
        sender,
        envelope,
        raw: Bytes::copy_from_slice(raw),
    })
}

/// The stateless checks of [`decode_and_recover`], without the signature.
fn decode(raw: &[u8], chain_id: u64) -> Result<TxEnvelope, TxError> {
    if raw.len() > MAX_TX_BYTES {
        return Err(TxError::Oversized {
            size: raw.len(),
            max: MAX_TX_BYTES,
        });
    }
    if raw.is_empty() {
        return Err(TxError::Decode("empty transaction".into()));
    }
    let mut slice = raw;
    let envelope =
        TxEnvelope::decode_2718(&mut slice).map_err(|e| TxError::Decode(e.to_string()))?;
    if !slice.is_empty() {
        return Err(TxError::Decode(format!("{} trailing bytes", slice.len())));
    }
    match &envelope {
        TxEnvelope::Legacy(_) | TxEnvelope::Eip2930(_) | TxEnvelope::Eip1559(_) => {}
        other => return Err(TxError::UnsupportedType(other.tx_type() as u8)),
    }
    match envelope.chain_id() {
        None => return Err(TxError::MissingChainId),
        Some(id) if id != chain_id => {
            return Err(TxError::WrongChainId {
                expected: chain_id,
                got: id,
            });
        }
        Some(_) => {}
    }
    if envelope
        .max_priority_fee_per_gas()
        .is_some_and(|tip| tip > envelope.max_fee_per_gas())
    {
        return Err(TxError::TipAboveFeeCap);
    }
    Ok(envelope)
}

/// Recovers many transactions in parallel across cores (the expensive part is the signature).
pub fn decode_and_recover_many(
    raws: &[Bytes],
    chain_id: u64,
) -> Vec<Result<Arc<RecoveredTx>, TxError>> {
    raws.par_iter()
        .map(|raw| decode_and_recover(raw, chain_id).map(Arc::new))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn decoder_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..1024)) {
            let _ = decode_and_recover(&bytes, 1);
        }

        #[test]
        fn typed_prefix_garbage_never_panics(ty in 0u8..5, rest in proptest::collection::vec(any::<u8>(), 0..512)) {
            let mut bytes = vec![ty];
            bytes.extend(rest);
            let _ = decode_and_recover(&bytes, 1);
        }
    }
}
