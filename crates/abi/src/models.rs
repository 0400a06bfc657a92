//! The model registry's Solidity interface, its limits, the usage metric it records and the
//! training report message a worker signs.

use crate::addresses::MODEL_REGISTRY_ADDRESS;
use alloy_primitives::{B256, U256, keccak256};
use alloy_sol_types::{SolValue, sol};

/// Most dataset classes in a model's lineage.
pub const MAX_LINEAGE: usize = 16;
/// Most tokens one `recordUsage` batch may name.
pub const MAX_USAGE_BATCH: usize = 256;
/// Longest model URI, in bytes.
pub const MAX_MODEL_URI_BYTES: usize = 512;
/// Basis points: `modelShareBps` is out of this.
pub const BPS: u16 = 10_000;

sol! {
    /// The model registry's Solidity interface.
    #[sol(abi)]
    #[derive(Debug, PartialEq, Eq)]
    interface IModelRegistry {
        struct Lineage { uint256 classId; uint256 weight; }
        struct Model { uint256 id; uint256 idaoId; uint256 classId; bytes32 modelHash; bytes32 reportHash; string uri; address worker; uint256 pricePerCall; uint16 modelShareBps; uint64 registeredAt; Lineage[] lineage; uint256 revenue; uint256 toData; uint256 callsSold; uint256 callsRecorded; }

        function registerModel(uint256 idaoId, bytes32 modelHash, bytes32 reportHash, string calldata uri, Lineage[] calldata lineage, uint256 pricePerCall, uint16 modelShareBps, bytes calldata reportSignature) external returns (uint256 modelId, uint256 classId);
        function reportMessage(uint256 idaoId, bytes32 modelHash, bytes32 reportHash, Lineage[] calldata lineage) external view returns (bytes32);
        function buyUsage(uint256 modelId, uint256 calls, uint64 expireAt) external payable returns (uint256 tokenId);
        function settleRevenue(uint256 modelId) external payable;
        function recordUsage(uint256 modelId, uint256[] calldata tokenIds, uint256[] calldata amounts, bytes32 receiptsRoot) external;
        /// The iDAO's owner only.
        function setPrice(uint256 modelId, uint256 pricePerCall) external;
        function getModel(uint256 modelId) external view returns (Model memory);
        function modelCount() external view returns (uint256);
        function modelOfClass(uint256 classId) external view returns (uint256);

        event ModelRegistered(uint256 indexed modelId, uint256 indexed idaoId, uint256 classId, bytes32 modelHash, bytes32 reportHash, address worker);
        event UsageBought(uint256 indexed modelId, uint256 indexed tokenId, address indexed buyer, uint256 calls, uint256 paid);
        event RevenueSplit(uint256 indexed modelId, uint256 amount, uint256 toModel, uint256 toData);
        event UsageBatchRecorded(uint256 indexed modelId, address indexed worker, uint256 calls, uint256 tokens, bytes32 receiptsRoot);
        event PriceSet(uint256 indexed modelId, uint256 pricePerCall);

        error ModelNotFound(uint256 modelId);
        error NotModelWorker(uint256 modelId, address caller);
        error WorkerNotAttested(uint256 idaoId, address worker);
        error BadReportSignature(address signer);
        error NotIdaoOwnerOrWorker(uint256 idaoId, address caller);
        error NotIdaoOwner(uint256 idaoId, address caller);
        error BadLineage(string reason);
        error BadShare(uint16 modelShareBps);
        error WrongPayment(uint256 expected, uint256 sent);
        error ZeroCalls();
        error NotModelToken(uint256 tokenId, uint256 modelId);
        error BatchMismatch();
        error BatchTooLarge(uint256 max);
        error StringTooLong(uint256 length, uint256 max);
        error AlreadyRegistered(bytes32 modelHash);
    }
}

use IModelRegistry as M;

/// The usage metric `recordUsage` records on the DAT: `keccak256("inference.calls")`.
pub fn calls_metric() -> B256 {
    keccak256(b"inference.calls")
}

/// What a training report signature covers (see the module docs).
pub fn report_message(
    chain_id: u64,
    idao_id: U256,
    model_hash: B256,
    report_hash: B256,
    lineage: &[M::Lineage],
) -> B256 {
    let tag = keccak256(b"LAZAI_TRAINING_REPORT_V1");
    keccak256(
        (
            tag,
            U256::from(chain_id),
            MODEL_REGISTRY_ADDRESS,
            idao_id,
            model_hash,
            report_hash,
            lineage.to_vec(),
        )
            .abi_encode_params(),
    )
}

/// The metadata URI of a model's class: a `data:` JSON naming what it is and where it came
/// from.
pub fn class_metadata(
    idao_id: U256,
    model_hash: B256,
    report_hash: B256,
    uri: &str,
    lineage: &[M::Lineage],
) -> String {
    let lineage: Vec<String> = lineage
        .iter()
        .map(|l| {
            format!(
                "{{\"classId\":\"{}\",\"weight\":\"{}\"}}",
                l.classId, l.weight
            )
        })
        .collect();
    let uri: String = uri
        .chars()
        .flat_map(|c| match c {
            '"' | '\\' => vec!['\\', c],
            c if c.is_control() => vec![],
            c => vec![c],
        })
        .collect();
    format!(
        "data:application/json,{{\"kind\":\"lazai-model\",\"idaoId\":\"{idao_id}\",\"modelHash\":\"{model_hash}\",\"trainingReportHash\":\"{report_hash}\",\"uri\":\"{uri}\",\"lineage\":[{}]}}",
        lineage.join(",")
    )
}
