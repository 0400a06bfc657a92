//! The VSC's Solidity interface, its status and reason codes and limits, and the pure functions
//! its clients share with it: the iDAO data address, the files and results Merkle roots, and the
//! results message a quorum member signs.

use crate::addresses::VSC_ADDRESS;
use crate::signature::parse_signature;
use alloy_primitives::{Address, B256, U256, keccak256};
use alloy_sol_types::{SolValue, sol};

fn w(v: U256) -> [u8; 32] {
    v.to_be_bytes::<32>()
}

/// Most files in one flow.
pub const MAX_FLOW_FILES: usize = 256;
/// Most verifier nodes an iDAO may register.
pub const MAX_VERIFIERS: usize = 64;
/// Largest quorum.
pub const MAX_QUORUM: u8 = 16;
/// Longest schema text, in bytes.
pub const MAX_SCHEMA_BYTES: usize = 16 * 1024;
/// Longest verifier URL, in bytes.
pub const MAX_VERIFIER_URL_BYTES: usize = 512;
/// Longest deadline, in blocks.
pub const MAX_DEADLINE_BLOCKS: u64 = 1_000_000;
/// The highest score.
pub const MAX_SCORE: u16 = 10_000;

/// Flow status codes.
pub const FLOW_PENDING: u8 = 1;
pub const FLOW_VERIFIED: u8 = 2;
pub const FLOW_DISPUTED: u8 = 3;

/// File status codes (`FileStatus.state`).
pub const FILE_NONE: u8 = 0;
pub const FILE_IN_FLOW: u8 = 1;
pub const FILE_VERIFIED: u8 = 2;
pub const FILE_REJECTED: u8 = 3;
pub const FILE_DISPUTED: u8 = 4;
pub const FILE_RESUBMITTED: u8 = 5;

/// The one rejection reason a file's owner may resubmit after: the quorum could not fetch or
/// read the file's blob (a store outage, a blob uploaded late), which says nothing about the
/// data. Every other reason (a root mismatch, a key that does not open, the data's own
/// failures) is the data's fault and final.
pub const REASON_UNAVAILABLE: u8 = 1;

sol! {
    /// The VSC's Solidity interface.
    #[sol(abi)]
    #[derive(Debug, PartialEq, Eq)]
    interface IVsc {
        /// What an iDAO's owner declares (see the module docs). `storeUrl` is where the
        /// iDAO takes contributions' ciphertext (a blob store base URL, at most 512 bytes):
        /// contributors upload there unless they choose another store its workers trust.
        struct DataParams { string schema; bytes32 workerKey; string storeUrl; uint8 quorumSize; uint8 threshold; uint64 deadlineBlocks; uint256 nodeFee; uint256 usageQuota; }
        /// `DataParams` plus the iDAO's dataset class in the DAT module.
        struct DataConfig { string schema; bytes32 workerKey; string storeUrl; uint8 quorumSize; uint8 threshold; uint64 deadlineBlocks; uint256 nodeFee; uint256 usageQuota; uint256 classId; }
        struct Verifier { address node; string url; uint64 addedAt; uint256 flowsServed; }
        /// `status`: 1 pending, 2 verified, 3 disputed. `deadline` is the last block a result
        /// may be posted in. `resultsRoot` is the anchored root (zero unless verified).
        /// `classId` and `usageQuota` are the iDAO's at submission: a later `configureIdao`
        /// does not change what a pending flow mints.
        struct Flow { uint256 id; uint256 idaoId; address submitter; bytes32 filesRoot; uint256 fileCount; uint8 status; uint64 submittedAt; uint64 deadline; uint256 feePerNode; address[] quorum; uint8 threshold; uint256 posted; uint256 bestVotes; bytes32 resultsRoot; uint256 classId; uint256 usageQuota; }
        /// One verdict: `score` 1..=10000 accepts the file, 0 rejects it with `reason` (> 0).
        struct FileResult { uint256 fileId; uint16 score; uint8 reason; }
        /// `state`: 0 never in a flow, 1 in a pending flow, 2 verified, 3 rejected, 4 its last
        /// flow was disputed (it may enter another), 5 resubmitted by its owner after a
        /// rejection as unavailable (it may enter another; `flowId` and `reason` still name
        /// that rejection). `tokenId` is its DAT when verified.
        struct FileStatus { uint256 idaoId; uint256 flowId; uint8 state; uint16 score; uint8 reason; uint256 tokenId; }

        function name() external view returns (string memory);
        function version() external pure returns (uint256);
        /// iDAO owner only. The first call creates the dataset class and returns its id;
        /// later calls replace the parameters and keep the class.
        function configureIdao(uint256 idaoId, DataParams calldata params) external returns (uint256 classId);
        function dataConfig(uint256 idaoId) external view returns (DataConfig memory);
        function isConfigured(uint256 idaoId) external view returns (bool);
        /// The address a contributor grants a file's sealed key to, to submit it to the iDAO.
        function idaoDataAddress(uint256 idaoId) external pure returns (address);
        /// iDAO owner only.
        function addVerifier(uint256 idaoId, address node, string calldata url) external;
        function removeVerifier(uint256 idaoId, address node) external;
        function verifiers(uint256 idaoId) external view returns (address[] memory);
        function getVerifier(uint256 idaoId, address node) external view returns (Verifier memory);
        /// iDAO owner only; payable (at least quorumSize × nodeFee).
        function submitFlow(uint256 idaoId, uint256[] calldata fileIds) external payable returns (uint256 flowId);
        /// A quorum member's verdict on every file of the flow, in flow order.
        function postResults(uint256 flowId, FileResult[] calldata results, bytes calldata signature) external;
        /// Anyone, after the deadline: closes a flow that did not reach agreement.
        function finalizeFlow(uint256 flowId) external;
        /// The file's owner only, for a file rejected with reason 1 (unavailable): puts it
        /// back for a later flow (state 5), which any iDAO it is shared with may submit. Reverts `NotFileOwner`, or
        /// `NotResubmittable` for any other state or reason.
        function resubmitFile(uint256 fileId) external;
        function flowCount() external view returns (uint256);
        function getFlow(uint256 flowId) external view returns (Flow memory);
        function flowFiles(uint256 flowId) external view returns (uint256[] memory);
        /// The results root a node posted for a flow (zero when it has not).
        function postedRoot(uint256 flowId, address node) external view returns (bytes32);
        function flowResults(uint256 flowId, bytes32 resultsRoot) external view returns (FileResult[] memory);
        function fileStatus(uint256 fileId) external view returns (FileStatus memory);
        /// The digest a quorum member signs (EIP-191 over `results_message`).
        function resultsDigest(uint256 flowId, bytes32 resultsRoot) external view returns (bytes32);
        function earned(address node) external view returns (uint256);
        /// A verifier withdraws the fees it earned.
        function claimFees() external returns (uint256 amount);

        event IdaoConfigured(uint256 indexed idaoId, uint256 classId, uint8 quorumSize, uint8 threshold);
        event VerifierAdded(uint256 indexed idaoId, address indexed node, string url);
        event VerifierRemoved(uint256 indexed idaoId, address indexed node);
        event FlowSubmitted(uint256 indexed flowId, uint256 indexed idaoId, bytes32 filesRoot, uint256 fileCount, address[] quorum, uint64 deadline);
        event ResultsPosted(uint256 indexed flowId, address indexed node, bytes32 resultsRoot);
        event FlowVerified(uint256 indexed flowId, uint256 indexed idaoId, bytes32 resultsRoot, bytes32 filesRoot, address[] agreeing, address[] dissenting, address[] silent);
        event FlowDisputed(uint256 indexed flowId, uint256 indexed idaoId, address[] posted, address[] silent);
        event FileVerified(uint256 indexed fileId, uint256 indexed flowId, uint256 score, uint256 tokenId);
        event FileRejected(uint256 indexed fileId, uint256 indexed flowId, uint8 reason);
        event FileResubmitted(uint256 indexed fileId, uint256 indexed idaoId, uint256 rejectedInFlow);
        event FeesClaimed(address indexed node, uint256 amount);

        error NotIdaoOwner(uint256 idaoId, address caller);
        error NotConfigured(uint256 idaoId);
        error InvalidConfig(string reason);
        error VerifierAlreadyAdded(address node);
        error VerifierNotFound(address node);
        error TooManyVerifiers(uint256 max);
        error InvalidUrl();
        error EmptyFlow();
        error FlowTooLarge(uint256 count, uint256 max);
        error FileNotFound(uint256 fileId);
        error FileAlreadyRewarded(uint256 fileId);
        error FileNotAvailable(uint256 fileId, uint8 state);
        error NotFileOwner(uint256 fileId, address caller);
        error NotResubmittable(uint256 fileId, uint8 state, uint8 reason);
        error NotSharedWithIdao(uint256 fileId, address dataAddress);
        error NotEnoughVerifiers(uint256 active, uint256 needed);
        error InsufficientFee(uint256 sent, uint256 needed);
        error FlowNotFound(uint256 flowId);
        error FlowClosed(uint256 flowId, uint8 status);
        error DeadlinePassed(uint256 flowId, uint64 deadline);
        error DeadlineNotReached(uint256 flowId, uint64 deadline);
        error ResultsMismatch(uint256 index);
        error InvalidResult(uint256 index);
        error NotInQuorum(address signer);
        error AlreadyPosted(address node);
        error NothingToClaim();
    }
}

pub use IVsc::{DataConfig, DataParams, FileResult, FileStatus, Flow, Verifier};

/// The address a contributor grants a file's sealed key to, to submit it to iDAO `idao_id`:
/// the last 20 bytes of `keccak256("lazai.idao.data" ‖ idaoId)` (32 bytes big-endian). Nobody
/// holds its key; it only names the iDAO in `addPermissionForFile`.
pub fn idao_data_address(idao_id: U256) -> Address {
    let mut buf = Vec::with_capacity(47);
    buf.extend_from_slice(b"lazai.idao.data");
    buf.extend_from_slice(&w(idao_id));
    Address::from_slice(&keccak256(buf)[12..])
}

/// A binary Merkle root over `leaves` with keccak256: inner nodes are
/// `keccak256(0x01 ‖ left ‖ right)`, an odd node at the end of a level moves up unchanged,
/// and the root of no leaves is zero. Leaves are hashed with a `0x00` prefix by their makers,
/// so a leaf can never pass for an inner node.
pub fn merkle_root(leaves: &[B256]) -> B256 {
    if leaves.is_empty() {
        return B256::ZERO;
    }
    let mut level = leaves.to_vec();
    let mut buf = [0u8; 65];
    buf[0] = 1;
    while level.len() > 1 {
        let mut next = Vec::with_capacity(level.len().div_ceil(2));
        for pair in level.chunks(2) {
            match pair {
                [l, r] => {
                    buf[1..33].copy_from_slice(l.as_slice());
                    buf[33..].copy_from_slice(r.as_slice());
                    next.push(keccak256(buf));
                }
                [single] => next.push(*single),
                _ => unreachable!("chunks(2) yields one or two"),
            }
        }
        level = next;
    }
    level[0]
}

fn leaf(encoded: Vec<u8>) -> B256 {
    let mut buf = Vec::with_capacity(encoded.len() + 1);
    buf.push(0);
    buf.extend_from_slice(&encoded);
    keccak256(buf)
}

/// The flow's files root: leaf `i` is `keccak256(0x00 ‖ abi.encode(fileId, keccak256(hash)))`
/// where `hash` is the file's DataRegistry hash string (its ciphertext root and plaintext
/// commitment).
pub fn files_root(files: &[(U256, &str)]) -> B256 {
    let leaves: Vec<B256> = files
        .iter()
        .map(|(id, hash)| leaf((*id, keccak256(hash.as_bytes())).abi_encode()))
        .collect();
    merkle_root(&leaves)
}

/// The root of a node's verdicts: leaf `i` is
/// `keccak256(0x00 ‖ abi.encode(fileId, score, reason))`.
pub fn results_root(results: &[FileResult]) -> B256 {
    let leaves: Vec<B256> = results
        .iter()
        .map(|r| leaf((r.fileId, U256::from(r.score), U256::from(r.reason)).abi_encode()))
        .collect();
    merkle_root(&leaves)
}

/// The message a quorum member signs: `keccak256(abi.encode(keccak256("LAZAI_VSC_RESULTS_V1"),
/// chainId, VSC_ADDRESS, flowId, resultsRoot))`.
pub fn results_message(chain_id: u64, flow_id: U256, root: B256) -> B256 {
    let tag = keccak256(b"LAZAI_VSC_RESULTS_V1");
    keccak256((tag, U256::from(chain_id), VSC_ADDRESS, flow_id, root).abi_encode())
}

/// The EIP-191 (`personal_sign`) digest of [`results_message`]: what a node's key signs.
pub fn results_digest(chain_id: u64, flow_id: U256, root: B256) -> B256 {
    let mut prefixed = Vec::with_capacity(60);
    prefixed.extend_from_slice(b"\x19Ethereum Signed Message:\n32");
    prefixed.extend_from_slice(results_message(chain_id, flow_id, root).as_slice());
    keccak256(prefixed)
}

/// The signer of a results post, if the signature is well formed.
pub fn results_signer(
    chain_id: u64,
    flow_id: U256,
    root: B256,
    signature: &[u8],
) -> Option<Address> {
    let signature = parse_signature(signature)?;
    signature
        .recover_address_from_prehash(&results_digest(chain_id, flow_id, root))
        .ok()
}
