//! The interface of LazChain's native modules, as their clients see it: every module's Solidity
//! interface (`sol!`), the fixed module addresses, status, reason and role codes, the limits
//! calls are checked against, and the pure digest and message functions that workers, clients
//! and the ledger must compute alike (results roots and messages, proof digests, training
//! report messages, consensus key messages, user request messages).
//!
//! Nothing here touches state: the ledger implements these interfaces, and `lazai-client`,
//! `lazai-worker` and the CLI speak them without linking the state machine.

pub mod dat;
pub mod idao;
pub mod models;
pub mod registry;
pub mod settlement;
pub mod state;
pub mod tee;
pub mod verified;
pub mod verifier;
pub mod vsc;

mod addresses;
mod signature;

pub use addresses::*;
pub use signature::parse_signature;

pub use dat::{
    DAT_INTERFACE_ID, ERC165_INTERFACE_ID, ERC1155_INTERFACE_ID, ERC1155_METADATA_URI_INTERFACE_ID,
    IDataAnchoringToken, IERC1155Receiver, MAX_BATCH, MAX_CLASS_SHARE, MAX_STRING_BYTES,
    NATIVE_ASSET, SCALE,
};
pub use idao::{
    CONSENSUS_KEY_NAMESPACE, IIdaoRegistry, MAX_NAME_BYTES, MAX_P2P_ADDRESS_BYTES, MAX_UNBONDINGS,
    MAX_URI_BYTES, ROLE_APPLICATION, ROLE_COMPUTE, ROLE_DATA, ROLE_MODEL, ROLES_MASK,
    consensus_key_message, valid_p2p_address,
};
pub use models::{
    BPS, IModelRegistry, MAX_LINEAGE, MAX_USAGE_BATCH, calls_metric, class_metadata, report_message,
};
pub use registry::{IDataRegistry, proof_digest, proof_signer};
pub use settlement::{
    DEFAULT_LOCK_TIME, IAIProcess, ISettlement, MAX_PENDING_REFUNDS, user_request_message,
    user_request_signer,
};
pub use tee::{Attestation, ITeeRegistry, MAX_EVIDENCE_AGE, MAX_POLICY_MEASUREMENTS, TeePolicy};
pub use verified::IVerifiedComputing;
pub use verifier::{
    IVerifier, MODE_OPTIMISTIC, MODE_TEE, MODE_ZK, TASK_CHALLENGED, TASK_FRAUD, TASK_PENDING,
    TASK_REJECTED, TASK_VERIFIED, claim_commitment, model_circuit_id, tee_result_digest,
    zk_result_hash,
};
pub use vsc::{
    FILE_DISPUTED, FILE_IN_FLOW, FILE_NONE, FILE_REJECTED, FILE_RESUBMITTED, FILE_VERIFIED,
    FLOW_DISPUTED, FLOW_PENDING, FLOW_VERIFIED, IVsc, MAX_FLOW_FILES, MAX_QUORUM, MAX_VERIFIERS,
    REASON_UNAVAILABLE, files_root, idao_data_address, merkle_root, results_digest,
    results_message, results_root, results_signer,
};
