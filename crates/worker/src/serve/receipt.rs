//! What a call is answered with: the prediction and the receipt the worker signs for it, and
//! the hashes a receipt commits to.

use alloy_primitives::{Address, B256, Bytes, U256, keccak256};
use serde::{Deserialize, Serialize};

/// What the worker signs for one call.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct Receipt {
    /// `keccak256(abi.encode(chainId, node, user, nonce))`.
    pub request_id: B256,
    pub chain_id: u64,
    pub node: Address,
    pub user: Address,
    pub nonce: U256,
    pub model_id: U256,
    pub model_hash: B256,
    /// keccak-256 of the input features in thousandths, each a big-endian i32.
    pub input_hash: B256,
    /// keccak-256 of the predicted class (big-endian u32) and the logits (big-endian i64 each).
    pub output_hash: B256,
    pub usage_token: U256,
    /// This call's ordinal on the usage token (1 for its first call ever).
    pub counter: u64,
    /// The Verifier task of a call answered with a proof (absent otherwise).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub task_id: Option<U256>,
    /// EIP-191 over [`Receipt::message`] by `node`.
    pub signature: Bytes,
}

impl Receipt {
    /// What the node signs: [`Receipt::message_v1`] for a call without a task; with one,
    /// `keccak256(abi.encode(keccak256("LAZAI_INFERENCE_RECEIPT_V2"), v1, taskId))`.
    pub fn message(&self) -> B256 {
        use alloy::sol_types::SolValue;
        match self.task_id {
            None => self.message_v1(),
            Some(task) => keccak256(
                (
                    keccak256(b"LAZAI_INFERENCE_RECEIPT_V2"),
                    self.message_v1(),
                    task,
                )
                    .abi_encode_params(),
            ),
        }
    }

    /// `keccak256(abi.encode(keccak256("LAZAI_INFERENCE_RECEIPT_V1"), chainId, node,
    /// requestId, modelId, modelHash, inputHash, outputHash, usageToken, counter))`.
    pub fn message_v1(&self) -> B256 {
        use alloy::sol_types::SolValue;
        keccak256(
            (
                keccak256(b"LAZAI_INFERENCE_RECEIPT_V1"),
                U256::from(self.chain_id),
                self.node,
                self.request_id,
                self.model_id,
                self.model_hash,
                self.input_hash,
                self.output_hash,
                self.usage_token,
                U256::from(self.counter),
            )
                .abi_encode_params(),
        )
    }

    /// The receipt's signer (compare with the node's attested address).
    pub fn signer(&self) -> Option<Address> {
        let sig = lazai_abi::parse_signature(&self.signature)?;
        sig.recover_address_from_msg(self.message().as_slice()).ok()
    }
}

/// `keccak256(abi.encode(chainId, node, user, nonce))`.
pub fn request_id(chain_id: u64, node: Address, user: Address, nonce: U256) -> B256 {
    use alloy::sol_types::SolValue;
    keccak256((U256::from(chain_id), node, user, nonce).abi_encode_params())
}

/// keccak-256 of features in thousandths (big-endian i32 each).
pub fn input_hash(milli: &[i32]) -> B256 {
    let bytes: Vec<u8> = milli.iter().flat_map(|v| v.to_be_bytes()).collect();
    keccak256(bytes)
}

/// keccak-256 of the class (big-endian u32) and the logits (big-endian i64 each).
pub fn output_hash(class: u32, logits: &[i64]) -> B256 {
    let mut bytes = class.to_be_bytes().to_vec();
    for l in logits {
        bytes.extend_from_slice(&l.to_be_bytes());
    }
    keccak256(bytes)
}

/// The answer to a prediction.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Prediction {
    pub class: u32,
    pub logits: Vec<i64>,
    /// Absent with metering off.
    pub receipt: Option<Receipt>,
    /// Calls left on the usage token after this one (absent with metering off).
    pub remaining: Option<String>,
    /// The call's ZK task, when a proof was asked for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub zk: Option<super::prover::ZkTask>,
    /// The call's optimistic result, when one was asked for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub optimistic: Option<crate::optimistic::OptimisticTask>,
}
