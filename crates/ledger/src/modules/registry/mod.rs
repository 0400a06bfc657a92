//! DataRegistry: files (encrypted data contributions), the permissions that hold their sealed
//! keys, the proofs verifier nodes post about them, and the reward (a DAT) their owners
//! request — with exactly the ABI of LazAI's contract (`../shared/lazai-abi.md`) and its holes
//! closed:
//!
//! - `addFile(url, hash)` registers a file owned by the caller; ids start at 1; a URL (at most
//!   [`MAX_URL_BYTES`], not empty) is registered once. `addFileWithPermissions` does the same
//!   with permissions, and only for `ownerAddress == msg.sender` (LazAI's contract let anyone
//!   attribute files to anyone).
//! - `addPermissionForFile` is the file owner's only; a permission's `key` is the data key
//!   sealed to `account` (at most [`MAX_KEY_BYTES`]).
//! - `addProof(fileId, proof)` is accepted only from an **active node assigned a submitted job
//!   for that file** in VerifiedComputing that has not posted a proof for it yet, only when
//!   `proof.data.id == fileId` and `1 <= score <= 10000`, and only with a valid EIP-191
//!   signature by that node over `keccak256(abi.encode(proof.data))` (LazAI's contract had no
//!   access control). One proof per job, so a proof cannot be replayed. Proof indices start at
//!   1, as LazAI's SDK assumes.
//! - `requestReward(fileId, proofIndex)` is the file owner's only, once per file: it checks the
//!   proof's signer is an active node again and mints a verified DAT with `amount = score` and
//!   URI = the file's URL to the owner (the DAT's legacy `mint`, through the minter role).
//! - `updatePublicKey` is the governance address's, or the key publisher's governance named
//!   (`setKeyPublisher`: a verifier node that publishes its own key), and takes only a PKCS#1 PEM RSA key
//!   (2048–4096 bits) that an active VerifiedComputing node attested now binds in its TEE
//!   evidence (LazAI's SDK wraps a file's password to `publicKey()`; its private half must be
//!   in a TEE). The key is stored in canonical PEM form.
//!
//! The proof signature is LazAI's format (no chain id in it): what binds a proof to this chain
//! is that it can only be posted for a job assigned on this chain, once.

pub(crate) mod facade;
mod storage;

use super::dat::facade as dat;
use super::verified::facade as verified;
use super::vsc::facade as vsc;
use crate::gas;
use crate::kernel::{Call, Module, ModuleError, decode_call, load_address, revert_with};
use crate::rsa_key;
use alloy_primitives::{Address, U256};
use alloy_sol_types::SolValue;
use lazai_abi::registry::*;
use lazai_abi::{DAT_ADDRESS, DATA_REGISTRY_ADDRESS, VERIFIED_COMPUTING_ADDRESS};
use storage::*;

use IDataRegistry as R;
use R::IDataRegistryCalls as Calls;

fn check_len(s: &str, max: usize) -> Result<(), ModuleError> {
    if s.len() > max {
        return Err(revert_with(R::StringTooLong {
            length: U256::from(s.len()),
            max: U256::from(max),
        }));
    }
    Ok(())
}

/// The DataRegistry module, administered by the governance address.
#[derive(Clone, Debug)]
pub struct DataRegistry {
    governance: Address,
}

impl DataRegistry {
    pub fn new(governance: Address) -> Self {
        Self { governance }
    }

    fn only_governance(&self, call: &Call<'_>) -> Result<(), ModuleError> {
        if call.caller != self.governance {
            return Err(revert_with(R::NotGovernance {
                caller: call.caller,
            }));
        }
        Ok(())
    }

    fn add_file(
        call: &mut Call<'_>,
        url: String,
        hash: String,
        owner: Address,
        permissions: Vec<R::Permission>,
    ) -> Result<Vec<u8>, ModuleError> {
        if owner != call.caller {
            return Err(revert_with(R::NotFileOwner {}));
        }
        if url.is_empty() || url.len() > MAX_URL_BYTES {
            return Err(revert_with(R::InvalidUrl {}));
        }
        check_len(&hash, MAX_HASH_BYTES)?;
        if permissions.len() > MAX_PERMISSIONS {
            return Err(revert_with(R::TooManyPermissions {
                count: U256::from(permissions.len()),
                max: U256::from(MAX_PERMISSIONS),
            }));
        }
        if !call.load(&url_slot(&url))?.is_empty() {
            return Err(revert_with(R::FileUrlAlreadyUsed {}));
        }
        let id = call.load_u256(FILES_N)? + U256::from(1);
        call.store_u256(FILES_N, id)?;
        call.store_u256(&url_slot(&url), id)?;
        call.store_abi(
            &file_slot(id),
            &FileRecord {
                ownerAddress: owner,
                url: url.clone(),
                hash,
                proofsCount: U256::ZERO,
                rewardProofIndex: U256::ZERO,
                rewardAmount: U256::ZERO,
            },
        )?;
        call.emit(&R::FileAdded {
            fileId: id,
            ownerAddress: owner,
            url,
        })?;
        for p in permissions {
            Self::grant(call, id, p.account, p.key)?;
        }
        Ok(id.abi_encode())
    }

    fn grant(
        call: &mut Call<'_>,
        id: U256,
        account: Address,
        key: String,
    ) -> Result<(), ModuleError> {
        check_len(&key, MAX_KEY_BYTES)?;
        call.store(&permission_slot(id, account), key.into_bytes().into())?;
        call.emit(&R::PermissionGranted {
            fileId: id,
            account,
        })
    }

    fn add_proof(call: &mut Call<'_>, id: U256, proof: R::Proof) -> Result<Vec<u8>, ModuleError> {
        let mut record = file(call, id)?;
        if proof.data.id != id {
            return Err(revert_with(R::ProofFileMismatch {
                fileId: id,
                proofFileId: proof.data.id,
            }));
        }
        if proof.data.score.is_zero() || proof.data.score > U256::from(MAX_SCORE) {
            return Err(revert_with(R::InvalidScore {
                score: proof.data.score,
                max: U256::from(MAX_SCORE),
            }));
        }
        check_len(&proof.data.fileUrl, MAX_URL_BYTES)?;
        check_len(&proof.data.proofUrl, MAX_PROOF_URL_BYTES)?;
        let node = call.caller;
        if !verified::is_active_node(call, node)? {
            return Err(revert_with(R::NoPermission {}));
        }
        let Some(job) = verified::open_job_of(call, id, node, job_has_proof)? else {
            return Err(revert_with(R::NoPermission {}));
        };
        call.charge(gas::ECRECOVER)?;
        let signer = proof_signer(&proof).unwrap_or(Address::ZERO);
        if signer != node {
            let (message, _) = proof_digest(&proof.data);
            return Err(revert_with(R::InvalidAttestator {
                messageHash: message,
                signature: proof.signature,
                signer,
            }));
        }
        let index = record.proofsCount + U256::from(1);
        record.proofsCount = index;
        let proof_url = proof.data.proofUrl.clone();
        call.store_abi(&proof_slot(id, index), &proof)?;
        call.store_u256(&job_proof_slot(job), index)?;
        call.store_abi(&file_slot(id), &record)?;
        call.emit(&R::ProofAdded {
            fileId: id,
            ownerAddress: record.ownerAddress,
            proofIndex: index,
            proofUrl: proof_url,
        })?;
        Ok(Vec::new())
    }

    fn proof(call: &mut Call<'_>, id: U256, index: U256) -> Result<R::Proof, ModuleError> {
        file(call, id)?;
        call.load_abi::<R::Proof>(&proof_slot(id, index))?
            .ok_or_else(|| revert_with(R::ProofNotFound { fileId: id, index }))
    }

    fn request_reward(call: &mut Call<'_>, id: U256, index: U256) -> Result<Vec<u8>, ModuleError> {
        let mut record = file(call, id)?;
        if record.ownerAddress != call.caller {
            return Err(revert_with(R::NotFileOwner {}));
        }
        if !record.rewardProofIndex.is_zero() || vsc::file_taken(call, id)? {
            return Err(revert_with(R::FileAlreadyRewarded {}));
        }
        let proof = Self::proof(call, id, index)?;
        call.charge(gas::ECRECOVER)?;
        let signer = proof_signer(&proof).unwrap_or(Address::ZERO);
        if !verified::is_active_node(call, signer)? {
            let (message, _) = proof_digest(&proof.data);
            return Err(revert_with(R::InvalidAttestator {
                messageHash: message,
                signature: proof.signature,
                signer,
            }));
        }
        let score = proof.data.score;
        let (owner, url) = (record.ownerAddress, record.url.clone());
        // The reward is recorded before the mint: the owner may be a contract whose receiver
        // hook calls back in, and must find the file already rewarded.
        record.rewardProofIndex = index;
        record.rewardAmount = score;
        call.store_abi(&file_slot(id), &record)?;
        call.enter(DAT_ADDRESS, |c| {
            dat::legacy_mint(c, owner, score, url, true)
        })?;
        call.emit(&R::RewardRequested {
            contributorAddress: record.ownerAddress,
            fileId: id,
            proofIndex: index,
            rewardAmount: score,
        })?;
        Ok(Vec::new())
    }
}

impl Module for DataRegistry {
    fn name(&self) -> &'static str {
        "DataRegistry"
    }

    fn address(&self) -> Address {
        DATA_REGISTRY_ADDRESS
    }

    /// Nothing is payable.
    fn call(&self, call: &mut Call<'_>, input: &[u8]) -> Result<Vec<u8>, ModuleError> {
        call.non_payable()?;
        match decode_call::<Calls>(self.name(), input)? {
            Calls::name(_) => Ok("DataRegistry".to_string().abi_encode()),
            Calls::version(_) => Ok(U256::from(1).abi_encode()),
            Calls::token(_) => Ok(DAT_ADDRESS.abi_encode()),
            Calls::verifiedComputing(_) => Ok(VERIFIED_COMPUTING_ADDRESS.abi_encode()),
            Calls::publicKey(_) => {
                let raw = call.load(PUBLIC_KEY)?;
                Ok(String::from_utf8_lossy(&raw).into_owned().abi_encode())
            }
            Calls::keyPublisher(_) => Ok(load_address(call, KEY_PUBLISHER)?.abi_encode()),
            Calls::setKeyPublisher(c) => {
                self.only_governance(call)?;
                call.store(KEY_PUBLISHER, c.publisher.to_vec().into())?;
                call.emit(&R::KeyPublisherSet {
                    publisher: c.publisher,
                })?;
                Ok(Vec::new())
            }
            Calls::updatePublicKey(c) => {
                let publisher = load_address(call, KEY_PUBLISHER)?;
                if call.caller != publisher || publisher == Address::ZERO {
                    self.only_governance(call)?;
                }
                check_len(&c.newPublicKey, MAX_KEY_BYTES)?;
                call.charge(rsa_key::RSA_KEY_GAS)?;
                let key = rsa_key::parse(&c.newPublicKey)
                    .map_err(|reason| revert_with(R::InvalidRsaKey { reason }))?;
                // Only the key of a worker attested now: its private half stays in a TEE.
                if !verified::rsa_key_attested(call, key.hash)? {
                    return Err(revert_with(R::KeyNotAttested { keyHash: key.hash }));
                }
                call.store(PUBLIC_KEY, key.pem.clone().into_bytes().into())?;
                call.emit(&R::PublicKeyUpdated {
                    newPublicKey: key.pem,
                })?;
                Ok(Vec::new())
            }
            Calls::addFile(c) => {
                let owner = call.caller;
                Self::add_file(call, c.url, c.hash, owner, Vec::new())
            }
            Calls::addFileWithPermissions(c) => {
                Self::add_file(call, c.url, c.hash, c.ownerAddress, c.permissions)
            }
            Calls::addPermissionForFile(c) => {
                let record = file(call, c.fileId)?;
                if record.ownerAddress != call.caller {
                    return Err(revert_with(R::NotFileOwner {}));
                }
                Self::grant(call, c.fileId, c.account, c.key)?;
                Ok(Vec::new())
            }
            Calls::getFile(c) => {
                let f = file(call, c.fileId)?;
                Ok(R::FileResponse {
                    id: c.fileId,
                    ownerAddress: f.ownerAddress,
                    url: f.url,
                    hash: f.hash,
                    proofIndex: f.rewardProofIndex,
                    rewardAmount: f.rewardAmount,
                }
                .abi_encode())
            }
            Calls::getFileIdByUrl(c) => Ok(call.load_u256(&url_slot(&c.url))?.abi_encode()),
            Calls::getFilePermission(c) => {
                let raw = call.load(&permission_slot(c.fileId, c.account))?;
                Ok(String::from_utf8_lossy(&raw).into_owned().abi_encode())
            }
            Calls::getFileProof(c) => Ok(Self::proof(call, c.fileId, c.index)?.abi_encode()),
            Calls::filesCount(_) => Ok(call.load_u256(FILES_N)?.abi_encode()),
            Calls::addProof(c) => Self::add_proof(call, c.fileId, c.proof),
            Calls::jobProved(c) => Ok(job_has_proof(call, c.jobId)?.abi_encode()),
            Calls::requestReward(c) => Self::request_reward(call, c.fileId, c.proofIndex),
        }
    }
}
