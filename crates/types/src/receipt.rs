//! Transaction receipts as the ledger produces them and the Ethereum surface reports them.

use alloy_primitives::{Address, B256, Bloom, Bytes, Log};
use alloy_rlp::{RlpDecodable, RlpEncodable};

/// The outcome of one transaction in a block.
#[derive(Clone, Debug, PartialEq, Eq, RlpEncodable, RlpDecodable)]
#[rlp(trailing)]
pub struct Receipt {
    /// EIP-2718 type of the transaction (0 legacy, 1 EIP-2930, 2 EIP-1559).
    pub tx_type: u8,
    /// `true` when the call succeeded; a reverted call still pays gas and bumps the nonce.
    pub success: bool,
    /// Gas used by this transaction.
    pub gas_used: u64,
    /// Gas used by this and every earlier transaction of the block.
    pub cumulative_gas_used: u64,
    /// Price per gas actually paid (base fee + effective priority fee).
    pub effective_gas_price: u128,
    /// Logs emitted (empty when the call reverted).
    pub logs: Vec<Log>,
    /// Revert data (Solidity `Error(string)` or a custom error), empty on success.
    pub output: Bytes,
    /// Sender, recovered once at admission.
    pub from: Address,
    /// Recipient; the zero address for a contract creation (see `contract_address`).
    pub to: Address,
    /// Transaction hash.
    pub tx_hash: B256,
    /// For a contract creation, the address of the contract (as geth reports it, also when
    /// the creation failed and nothing was deployed); `None` for calls. Receipts stored before
    /// contracts existed decode with `None`.
    pub contract_address: Option<Address>,
}

impl Receipt {
    /// The Ethereum consensus receipt encoding (EIP-2718 envelope), used for the receipts root.
    pub fn consensus_encoding(&self) -> Vec<u8> {
        use alloy_consensus::{Eip658Value, ReceiptWithBloom, TxType};
        let receipt = alloy_consensus::Receipt {
            status: Eip658Value::Eip658(self.success),
            cumulative_gas_used: self.cumulative_gas_used,
            logs: self.logs.clone(),
        };
        let with_bloom = ReceiptWithBloom::new(receipt, self.bloom());
        let ty = TxType::try_from(self.tx_type).unwrap_or(TxType::Legacy);
        let envelope = alloy_consensus::ReceiptEnvelope::from_typed(ty, with_bloom);
        let mut out = Vec::new();
        alloy_eips::eip2718::Encodable2718::encode_2718(&envelope, &mut out);
        out
    }

    /// Bloom over this receipt's logs.
    pub fn bloom(&self) -> Bloom {
        logs_bloom(self.logs.iter())
    }
}

/// Bloom over a set of logs, as Ethereum computes it.
pub fn logs_bloom<'a>(logs: impl Iterator<Item = &'a Log>) -> Bloom {
    let mut bloom = Bloom::ZERO;
    for log in logs {
        bloom.accrue_log(log);
    }
    bloom
}
