//! The VSC (verified service coordinator): LazAI Flows, the batches an iDAO sends to a quorum
//! of its verifier nodes, and the anchoring of their verdicts.
//!
//! 1. The iDAO's owner declares how its data is verified with `configureIdao`: the schema its
//!    workers check files against (a JSON text the workers interpret), the X25519 public key
//!    contributors seal data keys to (`workerKey`), the quorum size `k`, the agreement
//!    threshold `t`, the deadline in blocks, the fee per node and the usage quota of each DAT.
//!    The first call creates the iDAO's dataset class in the DAT module (this module is its
//!    creator, so it may mint into it).
//! 2. A contributor registers a file in the DataRegistry and grants a permission (the sealed
//!    data key) to the iDAO's *data address*, [`idao_data_address`]: that is how a file is
//!    submitted to an iDAO.
//! 3. The owner packages submitted files into a flow with `submitFlow(idaoId, fileIds)`
//!    (payable, at least `k × nodeFee`). The flow records a Merkle root over the file ids and
//!    their commitments ([`files_root`]) and a quorum of `k` of the iDAO's verifiers chosen
//!    from the parent block hash ([`choose_quorum`]) — among the verifiers attested now under
//!    the iDAO's TEE policy for its `workerKey` (see [`super::tee`]); verifiers with stale
//!    evidence or refused by a policy change are not drawn.
//! 4. Each quorum member posts `postResults(flowId, results, signature)`: one
//!    `(fileId, score, reason)` per file in flow order, and an EIP-191 signature over
//!    [`results_message`] — which binds the chain id, this module, the flow id (the nonce:
//!    one post per node per flow) and the Merkle root of the results ([`results_root`]). Anyone
//!    may relay the transaction; the signature says who posted.
//! 5. When `t` posts agree on a root the flow is **verified**: the root is anchored, each file
//!    with a score gets a DAT in the iDAO's class (value = the usage quota, `shareRatio` =
//!    score, never expiring) minted to its owner, each rejected file records its reason
//!    code, the agreeing nodes earn the fee, and the fees of dissenting and silent nodes go
//!    back to the submitter. `FlowVerified` names all three groups.
//!    A file rejected with reason [`REASON_UNAVAILABLE`] (the quorum could not read its blob:
//!    a verdict on the store, not on the data) may be put back by its owner with
//!    `resubmitFile`; the iDAO's packager then takes it into a later flow. A rejection for any
//!    other reason is final.
//! 6. When no root can reach `t` any more (every node posted), or the deadline passes
//!    (`finalizeFlow`, anyone may call it), the flow is **disputed**: nothing is anchored, no
//!    node earns, the submitter gets every fee back, and its files may go into a new flow.
//!
//! A file verified through a flow cannot also be rewarded through the DataRegistry's
//! `requestReward`, and a file rewarded there cannot enter a flow.
//!
//! Fees: `feePerNode = msg.value / k`; the remainder of that division is refunded to the
//! submitter at once.
//!
//! # Storage slots (module storage of [`VSC_ADDRESS`])
//!
//! | slot                              | value                                    |
//! | --------------------------------- | ---------------------------------------- |
//! | `cfg/` ‖ idao                     | ABI of `DataConfig`                      |
//! | `verifiers/` ‖ idao               | ABI of `address[]`, in order added       |
//! | `verifier/` ‖ idao ‖ node         | ABI of `Verifier`                        |
//! | `flow-n`                          | number of flows (ids from 1)             |
//! | `flow/` ‖ id                      | ABI of `Flow`                            |
//! | `flow-files/` ‖ id                | ABI of `uint256[]`                       |
//! | `post/` ‖ flow ‖ node             | the results root the node posted         |
//! | `results/` ‖ flow ‖ root          | ABI of `FileResult[]` (first post)       |
//! | `votes/` ‖ flow ‖ root            | posts for that root                      |
//! | `file/` ‖ fileId                  | ABI of `FileStatus`                      |
//! | `earned/` ‖ node                  | fees a node may claim                    |

mod dispatch;
pub(crate) mod facade;
mod storage;
#[cfg(test)]
mod tests;

use super::dat::facade as dat;
use super::idao::facade as idao_registry;
use super::registry::facade as registry;
use crate::gas;
use crate::kernel::{Call, ModuleError, revert_msg, revert_with};
use alloy_primitives::{Address, B256, U256, keccak256};
use alloy_sol_types::SolValue;
use lazai_abi::DAT_ADDRESS;
use lazai_abi::vsc::*;
use storage::*;

/// The quorum of flow `flow_id`: the first `k` of `verifiers` after a partial Fisher–Yates
/// shuffle driven by `seed = keccak256(parentHash ‖ flowId)`: for `i` in `0..k`, swap position
/// `i` with `i + keccak256(seed ‖ i) mod (n − i)` (the bias of reducing a 256-bit number
/// modulo at most 64 is below 2⁻²⁵⁰). `k ≤ verifiers.len()` is the caller's to check.
pub fn choose_quorum(
    verifiers: &[Address],
    k: usize,
    parent_hash: B256,
    flow_id: U256,
) -> Vec<Address> {
    let mut pool = verifiers.to_vec();
    let mut seed_input = [0u8; 64];
    seed_input[..32].copy_from_slice(parent_hash.as_slice());
    seed_input[32..].copy_from_slice(&w(flow_id));
    let seed = keccak256(seed_input);
    let n = pool.len();
    for i in 0..k.min(n) {
        let mut input = [0u8; 40];
        input[..32].copy_from_slice(seed.as_slice());
        input[32..].copy_from_slice(&(i as u64).to_be_bytes());
        let draw = U256::from_be_bytes(keccak256(input).0);
        let span = U256::from(n - i);
        let offset = (draw % span).to::<u64>() as usize;
        pool.swap(i, i + offset);
    }
    pool.truncate(k.min(n));
    pool
}

/// The VSC module.
#[derive(Clone, Debug, Default)]
pub struct Vsc;

impl Vsc {
    fn owned(call: &mut Call<'_>, idao: U256) -> Result<(), ModuleError> {
        let record = idao_registry::idao(call, idao)?;
        if record.owner != call.caller {
            return Err(revert_with(IVsc::NotIdaoOwner {
                idaoId: idao,
                caller: call.caller,
            }));
        }
        Ok(())
    }

    fn config(call: &mut Call<'_>, idao: U256) -> Result<DataConfig, ModuleError> {
        call.load_abi::<DataConfig>(&cfg_slot(idao))?
            .ok_or_else(|| revert_with(IVsc::NotConfigured { idaoId: idao }))
    }

    fn flow(call: &mut Call<'_>, id: U256) -> Result<Flow, ModuleError> {
        call.load_abi::<Flow>(&flow_slot(id))?
            .ok_or_else(|| revert_with(IVsc::FlowNotFound { flowId: id }))
    }

    fn verifier_list(call: &mut Call<'_>, idao: U256) -> Result<Vec<Address>, ModuleError> {
        Ok(call
            .load_abi::<Vec<Address>>(&verifiers_slot(idao))?
            .unwrap_or_default())
    }

    fn check_params(p: &DataParams) -> Result<(), ModuleError> {
        let bad = |reason: &str| {
            Err(revert_with(IVsc::InvalidConfig {
                reason: reason.into(),
            }))
        };
        if p.schema.is_empty() || p.schema.len() > MAX_SCHEMA_BYTES {
            return bad("schema must be 1 to 16384 bytes");
        }
        if p.storeUrl.len() > MAX_VERIFIER_URL_BYTES {
            return bad("storeUrl must be at most 512 bytes");
        }
        if p.workerKey.is_zero() {
            return bad("workerKey must be an X25519 public key");
        }
        if p.quorumSize == 0 || p.quorumSize > MAX_QUORUM {
            return bad("quorumSize must be 1 to 16");
        }
        if p.threshold == 0 || p.threshold > p.quorumSize {
            return bad("threshold must be 1 to quorumSize");
        }
        if p.deadlineBlocks == 0 || p.deadlineBlocks > MAX_DEADLINE_BLOCKS {
            return bad("deadlineBlocks must be 1 to 1000000");
        }
        if p.usageQuota.is_zero() {
            return bad("usageQuota must be at least 1");
        }
        Ok(())
    }

    fn configure(call: &mut Call<'_>, idao: U256, p: DataParams) -> Result<Vec<u8>, ModuleError> {
        Self::owned(call, idao)?;
        Self::check_params(&p)?;
        let class_id = match call.load_abi::<DataConfig>(&cfg_slot(idao))? {
            Some(existing) => existing.classId,
            None => {
                let metadata = format!("lazai://idao/{idao}/dataset");
                let integrity = keccak256(p.schema.as_bytes());
                call.enter(DAT_ADDRESS, |c| {
                    dat::create_class(c, metadata, integrity, String::new())
                })?
            }
        };
        let config = DataConfig {
            schema: p.schema,
            workerKey: p.workerKey,
            storeUrl: p.storeUrl,
            quorumSize: p.quorumSize,
            threshold: p.threshold,
            deadlineBlocks: p.deadlineBlocks,
            nodeFee: p.nodeFee,
            usageQuota: p.usageQuota,
            classId: class_id,
        };
        call.store_abi(&cfg_slot(idao), &config)?;
        call.emit(&IVsc::IdaoConfigured {
            idaoId: idao,
            classId: class_id,
            quorumSize: config.quorumSize,
            threshold: config.threshold,
        })?;
        Ok(class_id.abi_encode())
    }

    fn add_verifier(
        call: &mut Call<'_>,
        idao: U256,
        node: Address,
        url: String,
    ) -> Result<Vec<u8>, ModuleError> {
        Self::owned(call, idao)?;
        if url.len() > MAX_VERIFIER_URL_BYTES || node.is_zero() {
            return Err(revert_with(IVsc::InvalidUrl {}));
        }
        let mut list = Self::verifier_list(call, idao)?;
        if list.contains(&node) {
            return Err(revert_with(IVsc::VerifierAlreadyAdded { node }));
        }
        if list.len() >= MAX_VERIFIERS {
            return Err(revert_with(IVsc::TooManyVerifiers {
                max: U256::from(MAX_VERIFIERS),
            }));
        }
        list.push(node);
        call.store_abi(&verifiers_slot(idao), &list)?;
        call.store_abi(
            &verifier_slot(idao, node),
            &Verifier {
                node,
                url: url.clone(),
                addedAt: call.block.height,
                flowsServed: U256::ZERO,
            },
        )?;
        call.emit(&IVsc::VerifierAdded {
            idaoId: idao,
            node,
            url,
        })?;
        Ok(Vec::new())
    }

    fn remove_verifier(
        call: &mut Call<'_>,
        idao: U256,
        node: Address,
    ) -> Result<Vec<u8>, ModuleError> {
        Self::owned(call, idao)?;
        let mut list = Self::verifier_list(call, idao)?;
        let Some(pos) = list.iter().position(|a| *a == node) else {
            return Err(revert_with(IVsc::VerifierNotFound { node }));
        };
        list.remove(pos);
        call.store_abi(&verifiers_slot(idao), &list)?;
        call.store(&verifier_slot(idao, node), Default::default())?;
        call.emit(&IVsc::VerifierRemoved { idaoId: idao, node })?;
        Ok(Vec::new())
    }

    fn submit(call: &mut Call<'_>, idao: U256, files: Vec<U256>) -> Result<Vec<u8>, ModuleError> {
        Self::owned(call, idao)?;
        let config = Self::config(call, idao)?;
        if files.is_empty() {
            return Err(revert_with(IVsc::EmptyFlow {}));
        }
        if files.len() > MAX_FLOW_FILES {
            return Err(revert_with(IVsc::FlowTooLarge {
                count: U256::from(files.len()),
                max: U256::from(MAX_FLOW_FILES),
            }));
        }
        let k = config.quorumSize as usize;
        // Only verifiers attested now, under the iDAO's current TEE policy, for the iDAO's
        // worker key (the key contributors seal to) are drawn.
        let mut verifiers = Vec::new();
        for v in Self::verifier_list(call, idao)? {
            if idao_registry::attested_key(call, idao, v)? == Some(config.workerKey) {
                verifiers.push(v);
            }
        }
        if verifiers.len() < k {
            return Err(revert_with(IVsc::NotEnoughVerifiers {
                active: U256::from(verifiers.len()),
                needed: U256::from(k),
            }));
        }
        let needed = config.nodeFee.saturating_mul(U256::from(k));
        if call.value < needed {
            return Err(revert_with(IVsc::InsufficientFee {
                sent: call.value,
                needed,
            }));
        }
        let id = call.load_u256(FLOW_N)? + U256::from(1);
        let data_address = idao_data_address(idao);
        let mut hashes = Vec::with_capacity(files.len());
        for &file in &files {
            let status = call.load_abi::<FileStatus>(&file_slot(file))?;
            if let Some(s) = &status
                && !matches!(s.state, FILE_DISPUTED | FILE_RESUBMITTED)
            {
                return Err(revert_with(IVsc::FileNotAvailable {
                    fileId: file,
                    state: s.state,
                }));
            }
            let record = registry::file_record(call, file)?;
            let shared = registry::has_permission(call, file, data_address)?;
            let Some(record) = record else {
                return Err(revert_with(IVsc::FileNotFound { fileId: file }));
            };
            if !record.rewardProofIndex.is_zero() {
                return Err(revert_with(IVsc::FileAlreadyRewarded { fileId: file }));
            }
            if !shared {
                return Err(revert_with(IVsc::NotSharedWithIdao {
                    fileId: file,
                    dataAddress: data_address,
                }));
            }
            // Marking it now also catches a file listed twice.
            call.store_abi(
                &file_slot(file),
                &FileStatus {
                    idaoId: idao,
                    flowId: id,
                    state: FILE_IN_FLOW,
                    score: 0,
                    reason: 0,
                    tokenId: U256::ZERO,
                },
            )?;
            hashes.push(record.hash);
        }
        call.charge(gas::KECCAK_WORD.saturating_mul(4 * files.len() as u64))?;
        let pairs: Vec<(U256, &str)> = files
            .iter()
            .copied()
            .zip(hashes.iter().map(String::as_str))
            .collect();
        let root = files_root(&pairs);
        let quorum = choose_quorum(&verifiers, k, call.block.parent_hash, id);
        let fee_per_node = call.value / U256::from(k);
        let change = call.value - fee_per_node * U256::from(k);
        let deadline = call.block.height.saturating_add(config.deadlineBlocks);
        let flow = Flow {
            id,
            idaoId: idao,
            submitter: call.caller,
            filesRoot: root,
            fileCount: U256::from(files.len()),
            status: FLOW_PENDING,
            submittedAt: call.block.height,
            deadline,
            feePerNode: fee_per_node,
            quorum: quorum.clone(),
            threshold: config.threshold,
            posted: U256::ZERO,
            bestVotes: U256::ZERO,
            resultsRoot: B256::ZERO,
            classId: config.classId,
            usageQuota: config.usageQuota,
        };
        call.store_u256(FLOW_N, id)?;
        call.store_abi(&flow_slot(id), &flow)?;
        call.store_abi(&flow_files_slot(id), &files)?;
        let caller = call.caller;
        call.pay(caller, change)?;
        call.emit(&IVsc::FlowSubmitted {
            flowId: id,
            idaoId: idao,
            filesRoot: root,
            fileCount: U256::from(files.len()),
            quorum,
            deadline,
        })?;
        Ok(id.abi_encode())
    }

    fn post(
        call: &mut Call<'_>,
        id: U256,
        results: Vec<FileResult>,
        signature: &[u8],
    ) -> Result<Vec<u8>, ModuleError> {
        let mut flow = Self::flow(call, id)?;
        if flow.status != FLOW_PENDING {
            return Err(revert_with(IVsc::FlowClosed {
                flowId: id,
                status: flow.status,
            }));
        }
        if call.block.height > flow.deadline {
            return Err(revert_with(IVsc::DeadlinePassed {
                flowId: id,
                deadline: flow.deadline,
            }));
        }
        let files = call
            .load_abi::<Vec<U256>>(&flow_files_slot(id))?
            .unwrap_or_default();
        if results.len() != files.len() {
            return Err(revert_with(IVsc::ResultsMismatch {
                index: U256::from(results.len().min(files.len())),
            }));
        }
        for (i, (r, file)) in results.iter().zip(&files).enumerate() {
            if r.fileId != *file {
                return Err(revert_with(IVsc::ResultsMismatch {
                    index: U256::from(i),
                }));
            }
            let valid = if r.score == 0 {
                r.reason != 0
            } else {
                r.score <= MAX_SCORE && r.reason == 0
            };
            if !valid {
                return Err(revert_with(IVsc::InvalidResult {
                    index: U256::from(i),
                }));
            }
        }
        call.charge(gas::KECCAK_WORD.saturating_mul(4 * results.len() as u64))?;
        let root = results_root(&results);
        call.charge(gas::ECRECOVER)?;
        let signer =
            results_signer(call.block.chain_id, id, root, signature).unwrap_or(Address::ZERO);
        if !flow.quorum.contains(&signer) {
            return Err(revert_with(IVsc::NotInQuorum { signer }));
        }
        if !call.load(&post_slot(id, signer))?.is_empty() {
            return Err(revert_with(IVsc::AlreadyPosted { node: signer }));
        }
        call.store(&post_slot(id, signer), root.0.to_vec().into())?;
        let votes = call.load_u256(&votes_slot(id, root))? + U256::from(1);
        call.store_u256(&votes_slot(id, root), votes)?;
        if votes == U256::from(1) {
            call.store_abi(&results_slot(id, root), &results)?;
        }
        flow.posted += U256::from(1);
        flow.bestVotes = flow.bestVotes.max(votes);
        call.emit(&IVsc::ResultsPosted {
            flowId: id,
            node: signer,
            resultsRoot: root,
        })?;
        let remaining = U256::from(flow.quorum.len()) - flow.posted;
        if votes >= U256::from(flow.threshold) {
            Self::anchor(call, flow, &files, root, &results)?;
        } else if flow.bestVotes + remaining < U256::from(flow.threshold) {
            Self::dispute(call, flow, &files)?;
        } else {
            call.store_abi(&flow_slot(id), &flow)?;
        }
        Ok(Vec::new())
    }

    /// Who posted `root`, who posted another, and who posted nothing.
    fn tally(
        call: &mut Call<'_>,
        flow: &Flow,
        root: Option<B256>,
    ) -> Result<[Vec<Address>; 3], ModuleError> {
        let mut groups: [Vec<Address>; 3] = Default::default();
        for node in &flow.quorum {
            let posted = call.load(&post_slot(flow.id, *node))?;
            let group = if posted.is_empty() {
                2
            } else if Some(B256::from_slice(&posted)) == root {
                0
            } else {
                1
            };
            groups[group].push(*node);
        }
        Ok(groups)
    }

    fn anchor(
        call: &mut Call<'_>,
        mut flow: Flow,
        files: &[U256],
        root: B256,
        results: &[FileResult],
    ) -> Result<(), ModuleError> {
        let [agreeing, dissenting, silent] = Self::tally(call, &flow, Some(root))?;
        flow.status = FLOW_VERIFIED;
        flow.resultsRoot = root;
        call.store_abi(&flow_slot(flow.id), &flow)?;
        for node in &agreeing {
            let earned = call.load_u256(&earned_slot(*node))?;
            call.store_u256(&earned_slot(*node), earned.saturating_add(flow.feePerNode))?;
            if let Some(mut v) = call.load_abi::<Verifier>(&verifier_slot(flow.idaoId, *node))? {
                v.flowsServed += U256::from(1);
                call.store_abi(&verifier_slot(flow.idaoId, *node), &v)?;
            }
        }
        let unpaid = U256::from(dissenting.len() + silent.len()) * flow.feePerNode;
        call.pay(flow.submitter, unpaid)?;
        for (r, file) in results.iter().zip(files) {
            let mut status = FileStatus {
                idaoId: flow.idaoId,
                flowId: flow.id,
                state: FILE_REJECTED,
                score: r.score,
                reason: r.reason,
                tokenId: U256::ZERO,
            };
            if r.score > 0 {
                let owner = registry::file_record(call, *file)?
                    .map(|f| f.ownerAddress)
                    .ok_or_else(|| revert_msg("VSC: file vanished"))?;
                let (class, quota, share) = (flow.classId, flow.usageQuota, U256::from(r.score));
                status.tokenId =
                    call.enter(DAT_ADDRESS, |c| dat::mint(c, class, owner, quota, share, 0))?;
                status.state = FILE_VERIFIED;
                call.emit(&IVsc::FileVerified {
                    fileId: *file,
                    flowId: flow.id,
                    score: U256::from(r.score),
                    tokenId: status.tokenId,
                })?;
            } else {
                call.emit(&IVsc::FileRejected {
                    fileId: *file,
                    flowId: flow.id,
                    reason: r.reason,
                })?;
            }
            call.store_abi(&file_slot(*file), &status)?;
        }
        call.emit(&IVsc::FlowVerified {
            flowId: flow.id,
            idaoId: flow.idaoId,
            resultsRoot: root,
            filesRoot: flow.filesRoot,
            agreeing,
            dissenting,
            silent,
        })
    }

    fn dispute(call: &mut Call<'_>, mut flow: Flow, files: &[U256]) -> Result<(), ModuleError> {
        let [_, posted, silent] = Self::tally(call, &flow, None)?;
        flow.status = FLOW_DISPUTED;
        call.store_abi(&flow_slot(flow.id), &flow)?;
        call.pay(
            flow.submitter,
            flow.feePerNode * U256::from(flow.quorum.len()),
        )?;
        for file in files {
            call.store_abi(
                &file_slot(*file),
                &FileStatus {
                    idaoId: flow.idaoId,
                    flowId: flow.id,
                    state: FILE_DISPUTED,
                    score: 0,
                    reason: 0,
                    tokenId: U256::ZERO,
                },
            )?;
        }
        call.emit(&IVsc::FlowDisputed {
            flowId: flow.id,
            idaoId: flow.idaoId,
            posted,
            silent,
        })
    }

    fn finalize(call: &mut Call<'_>, id: U256) -> Result<Vec<u8>, ModuleError> {
        let flow = Self::flow(call, id)?;
        if flow.status != FLOW_PENDING {
            return Err(revert_with(IVsc::FlowClosed {
                flowId: id,
                status: flow.status,
            }));
        }
        if call.block.height <= flow.deadline {
            return Err(revert_with(IVsc::DeadlineNotReached {
                flowId: id,
                deadline: flow.deadline,
            }));
        }
        let files = call
            .load_abi::<Vec<U256>>(&flow_files_slot(id))?
            .unwrap_or_default();
        Self::dispute(call, flow, &files)?;
        Ok(Vec::new())
    }

    fn resubmit(call: &mut Call<'_>, file: U256) -> Result<Vec<u8>, ModuleError> {
        let owner = registry::file_record(call, file)?
            .map(|f| f.ownerAddress)
            .ok_or_else(|| revert_with(IVsc::FileNotFound { fileId: file }))?;
        if owner != call.caller {
            return Err(revert_with(IVsc::NotFileOwner {
                fileId: file,
                caller: call.caller,
            }));
        }
        let Some(mut status) = call.load_abi::<FileStatus>(&file_slot(file))? else {
            return Err(revert_with(IVsc::NotResubmittable {
                fileId: file,
                state: FILE_NONE,
                reason: 0,
            }));
        };
        if status.state != FILE_REJECTED || status.reason != REASON_UNAVAILABLE {
            return Err(revert_with(IVsc::NotResubmittable {
                fileId: file,
                state: status.state,
                reason: status.reason,
            }));
        }
        status.state = FILE_RESUBMITTED;
        call.store_abi(&file_slot(file), &status)?;
        call.emit(&IVsc::FileResubmitted {
            fileId: file,
            idaoId: status.idaoId,
            rejectedInFlow: status.flowId,
        })?;
        Ok(Vec::new())
    }

    fn claim(call: &mut Call<'_>) -> Result<Vec<u8>, ModuleError> {
        let node = call.caller;
        let amount = call.load_u256(&earned_slot(node))?;
        if amount.is_zero() {
            return Err(revert_with(IVsc::NothingToClaim {}));
        }
        call.store_u256(&earned_slot(node), U256::ZERO)?;
        call.pay(node, amount)?;
        call.emit(&IVsc::FeesClaimed { node, amount })?;
        Ok(amount.abi_encode())
    }
}
