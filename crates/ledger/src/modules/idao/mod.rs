//! The iDAO registry: where an iDAO (a data community, model team, compute provider or app
//! team) registers itself, declares its roles, bonds LAZAI and — to validate — registers an
//! ed25519 consensus key. The validator set of each epoch is elected from this registry by the
//! rule in [`crate::staking`].
//!
//! Bonded and unbonding LAZAI stay in the module's own account balance; only `bond` is payable,
//! and only `withdrawUnbonded` (to the owner) and slashing (burned) take LAZAI out of it.
//!
//! # Storage slots (module storage of [`IDAO_REGISTRY_ADDRESS`])
//!
//! | slot                                            | value                                      |
//! | ----------------------------------------------- | ------------------------------------------ |
//! | `count`                                         | number of iDAOs (U256, trimmed big-endian) |
//! | `idao/` ‖ id (32 B BE)                          | ABI of `Idao`                              |
//! | `unbonding/` ‖ id (32 B BE)                     | ABI of `Unbonding[]`, oldest first         |
//! | `key/` ‖ consensusKey (32 B)                    | id of the iDAO holding that key (U256)     |
//! | `keyed-count`                                   | number of iDAOs that registered a key      |
//! | `keyed/` ‖ index (32 B BE, from 0)              | id of the index-th iDAO to register a key  |
//! | `validators`                                    | ABI of `validatorSet()`'s return values    |
//! | `evidence-count`                                | number of recorded equivocations           |
//! | `evidence/` ‖ index (32 B BE, from 0)           | ABI of `Evidence`                          |
//! | `evidence-seen/` ‖ key (32 B) ‖ epoch ‖ view (8 B BE each) | `0x01` once recorded            |

pub(crate) mod facade;
pub mod staking;
mod storage;
pub(crate) mod tee;

use crate::gas;
use crate::kernel::{Call, Module, ModuleError, decode_call, revert_msg, revert_with};
use alloy_primitives::{Address, B256, U256};
use alloy_sol_types::{SolCall, SolValue};
use commonware_codec::{Copying, DecodeExt};
use commonware_cryptography::{Verifier, ed25519};
use lazai_types::StakingParams;
use storage::*;

pub use lazai_abi::IDAO_REGISTRY_ADDRESS;
pub use lazai_abi::idao::*;

use IIdaoRegistry::IIdaoRegistryCalls as Calls;
use IIdaoRegistry::{Evidence, Idao, Unbonding};

// ---- the module -----------------------------------------------------------------------------

/// Whether `signature` is `key`'s ed25519 signature of `msg` under
/// [`CONSENSUS_KEY_NAMESPACE`]. Undecodable keys or signatures are simply invalid.
pub fn verify_consensus_key_signature(key: &[u8; 32], msg: &[u8], signature: &[u8]) -> bool {
    if key == &[0u8; 32] {
        return false;
    }
    let Ok(public) = ed25519::PublicKey::decode(Copying(&key[..])) else {
        return false;
    };
    let Ok(signature) = ed25519::Signature::decode(Copying(signature)) else {
        return false;
    };
    public.verify(CONSENSUS_KEY_NAMESPACE, msg, &signature)
}

/// The iDAO registry module, with the chain's staking parameters.
#[derive(Clone, Debug, Default)]
pub struct IdaoRegistry {
    params: StakingParams,
}

impl IdaoRegistry {
    pub fn new(params: StakingParams) -> Self {
        Self { params }
    }

    pub fn params(&self) -> &StakingParams {
        &self.params
    }

    /// Loads an iDAO and checks that the caller owns it.
    fn owned(call: &mut Call<'_>, id: U256) -> Result<Idao, ModuleError> {
        let record = load_idao(call, id)?;
        if record.owner != call.caller {
            return Err(revert_with(IIdaoRegistry::NotIdaoOwner {
                idaoId: id,
                caller: call.caller,
            }));
        }
        Ok(record)
    }

    fn check_uri(uri: &str) -> Result<(), ModuleError> {
        if uri.len() > MAX_URI_BYTES {
            return Err(revert_with(IIdaoRegistry::MetadataUriTooLong {
                length: U256::from(uri.len()),
                max: U256::from(MAX_URI_BYTES),
            }));
        }
        Ok(())
    }

    fn check_roles(roles: u8) -> Result<(), ModuleError> {
        if roles & !ROLES_MASK != 0 {
            return Err(revert_with(IIdaoRegistry::InvalidRoles { roles }));
        }
        Ok(())
    }

    fn check_p2p(addr: &str) -> Result<(), ModuleError> {
        if !valid_p2p_address(addr) {
            return Err(revert_with(IIdaoRegistry::InvalidP2pAddress {}));
        }
        Ok(())
    }

    fn register(
        call: &mut Call<'_>,
        name: String,
        metadata_uri: String,
        roles: Option<u8>,
    ) -> Result<Vec<u8>, ModuleError> {
        if name.is_empty() || name.len() > MAX_NAME_BYTES {
            return Err(revert_with(IIdaoRegistry::InvalidName {}));
        }
        Self::check_uri(&metadata_uri)?;
        if let Some(roles) = roles {
            Self::check_roles(roles)?;
        }
        let id = call.load_u256(COUNT_SLOT)?.saturating_add(U256::from(1));
        let record = Idao {
            id,
            owner: call.caller,
            name: name.clone(),
            metadataUri: metadata_uri,
            roles: roles.unwrap_or(0),
            consensusKey: B256::ZERO,
            p2pAddress: String::new(),
            bonded: U256::ZERO,
            unbonding: U256::ZERO,
            jailed: false,
        };
        store_idao(call, &record)?;
        set_idao_count(call, id)?;
        call.emit(&IIdaoRegistry::IdaoRegistered {
            idaoId: id,
            owner: call.caller,
            name,
        })?;
        if let Some(roles) = roles {
            call.emit(&IIdaoRegistry::RolesUpdated { idaoId: id, roles })?;
        }
        Ok(id.abi_encode())
    }

    fn bond(call: &mut Call<'_>, id: U256) -> Result<Vec<u8>, ModuleError> {
        let mut record = Self::owned(call, id)?;
        if call.value.is_zero() {
            return Err(revert_with(IIdaoRegistry::ZeroAmount {}));
        }
        if record.jailed {
            return Err(revert_with(IIdaoRegistry::IdaoJailed { idaoId: id }));
        }
        // The value is already in the module's balance (see `Call::value`).
        record.bonded = record
            .bonded
            .checked_add(call.value)
            .ok_or_else(|| revert_msg("IdaoRegistry: stake overflow"))?;
        store_idao(call, &record)?;
        call.emit(&IIdaoRegistry::StakeBonded {
            idaoId: id,
            amount: call.value,
            bonded: record.bonded,
        })?;
        Ok(Vec::new())
    }

    fn unbond(&self, call: &mut Call<'_>, id: U256, amount: U256) -> Result<Vec<u8>, ModuleError> {
        let mut record = Self::owned(call, id)?;
        if amount.is_zero() {
            return Err(revert_with(IIdaoRegistry::ZeroAmount {}));
        }
        if amount > record.bonded {
            return Err(revert_with(IIdaoRegistry::InsufficientBond {
                bonded: record.bonded,
                requested: amount,
            }));
        }
        let mut entries = load_unbondings(call, id)?;
        if entries.len() >= MAX_UNBONDINGS {
            return Err(revert_with(IIdaoRegistry::TooManyUnbondings {
                max: U256::from(MAX_UNBONDINGS),
            }));
        }
        let release = call
            .block
            .height
            .saturating_add(self.params.unbonding_delay);
        entries.push(Unbonding {
            amount,
            releaseHeight: release,
        });
        record.bonded -= amount;
        record.unbonding = record.unbonding.saturating_add(amount);
        store_unbondings(call, id, &entries)?;
        store_idao(call, &record)?;
        call.emit(&IIdaoRegistry::UnbondingStarted {
            idaoId: id,
            amount,
            releaseHeight: release,
        })?;
        Ok(Vec::new())
    }

    fn withdraw(call: &mut Call<'_>, id: U256) -> Result<Vec<u8>, ModuleError> {
        let mut record = Self::owned(call, id)?;
        let entries = load_unbondings(call, id)?;
        let height = call.block.height;
        let (matured, pending): (Vec<_>, Vec<_>) =
            entries.into_iter().partition(|e| e.releaseHeight <= height);
        let total = matured
            .iter()
            .try_fold(U256::ZERO, |acc, e| acc.checked_add(e.amount))
            .ok_or_else(corrupt)?;
        if matured.is_empty() {
            return Err(revert_with(IIdaoRegistry::NothingToWithdraw {}));
        }
        record.unbonding = record.unbonding.checked_sub(total).ok_or_else(corrupt)?;
        store_unbondings(call, id, &pending)?;
        store_idao(call, &record)?;
        call.pay(record.owner, total)?;
        call.emit(&IIdaoRegistry::UnbondedWithdrawn {
            idaoId: id,
            amount: total,
        })?;
        Ok(total.abi_encode())
    }

    fn register_key(
        call: &mut Call<'_>,
        c: IIdaoRegistry::registerConsensusKeyCall,
    ) -> Result<Vec<u8>, ModuleError> {
        let id = c.idaoId;
        let mut record = Self::owned(call, id)?;
        if !record.consensusKey.is_zero() {
            return Err(revert_with(IIdaoRegistry::ConsensusKeyAlreadySet {
                idaoId: id,
            }));
        }
        let key: [u8; 32] = c.consensusKey.0;
        if let Some(holder) = key_holder(call, &key)? {
            return Err(revert_with(IIdaoRegistry::ConsensusKeyTaken {
                key: c.consensusKey,
                holder,
            }));
        }
        Self::check_p2p(&c.p2pAddress)?;
        call.charge(gas::ED25519_VERIFY)?;
        let msg = consensus_key_message(call.block.chain_id, id, record.owner, &key);
        if !verify_consensus_key_signature(&key, &msg, &c.signature) {
            return Err(revert_with(IIdaoRegistry::InvalidConsensusKeySignature {}));
        }
        record.consensusKey = c.consensusKey;
        record.p2pAddress = c.p2pAddress.clone();
        store_idao(call, &record)?;
        index_key(call, id, &key)?;
        call.emit(&IIdaoRegistry::ConsensusKeyRegistered {
            idaoId: id,
            consensusKey: c.consensusKey,
            p2pAddress: c.p2pAddress,
        })?;
        Ok(Vec::new())
    }
}

impl Module for IdaoRegistry {
    fn name(&self) -> &'static str {
        "IdaoRegistry"
    }

    fn address(&self) -> Address {
        IDAO_REGISTRY_ADDRESS
    }

    /// Only `bond` is payable: value sent with any other call reverts (and so returns to the
    /// sender) instead of being locked at the module's address.
    fn call(&self, call: &mut Call<'_>, input: &[u8]) -> Result<Vec<u8>, ModuleError> {
        if input.get(..4) != Some(&IIdaoRegistry::bondCall::SELECTOR[..]) {
            call.non_payable()?;
        }
        if tee::handles(input) {
            return tee::call(call, input);
        }
        match decode_call::<Calls>(self.name(), input)? {
            Calls::name(_) => Ok("LazAI iDAO Registry".to_string().abi_encode()),
            Calls::version(_) => Ok(U256::from(1).abi_encode()),
            Calls::idaoCount(_) => Ok(call.load_u256(COUNT_SLOT)?.abi_encode()),
            Calls::getIdao(c) => Ok(load_idao(call, c.idaoId)?.abi_encode()),
            Calls::registerIdao_0(c) => Self::register(call, c.name, c.metadataUri, None),
            Calls::registerIdao_1(c) => Self::register(call, c.name, c.metadataUri, Some(c.roles)),
            Calls::updateMetadata(c) => {
                Self::check_uri(&c.metadataUri)?;
                let mut record = Self::owned(call, c.idaoId)?;
                record.metadataUri = c.metadataUri.clone();
                store_idao(call, &record)?;
                call.emit(&IIdaoRegistry::IdaoMetadataUpdated {
                    idaoId: c.idaoId,
                    metadataUri: c.metadataUri,
                })?;
                Ok(Vec::new())
            }
            Calls::setRoles(c) => {
                Self::check_roles(c.roles)?;
                let mut record = Self::owned(call, c.idaoId)?;
                record.roles = c.roles;
                store_idao(call, &record)?;
                call.emit(&IIdaoRegistry::RolesUpdated {
                    idaoId: c.idaoId,
                    roles: c.roles,
                })?;
                Ok(Vec::new())
            }
            Calls::bond(c) => Self::bond(call, c.idaoId),
            Calls::unbond(c) => self.unbond(call, c.idaoId, c.amount),
            Calls::withdrawUnbonded(c) => Self::withdraw(call, c.idaoId),
            Calls::registerConsensusKey(c) => Self::register_key(call, c),
            Calls::setP2pAddress(c) => {
                Self::check_p2p(&c.p2pAddress)?;
                let mut record = Self::owned(call, c.idaoId)?;
                record.p2pAddress = c.p2pAddress.clone();
                store_idao(call, &record)?;
                call.emit(&IIdaoRegistry::P2pAddressUpdated {
                    idaoId: c.idaoId,
                    p2pAddress: c.p2pAddress,
                })?;
                Ok(Vec::new())
            }
            Calls::stakeOf(c) => {
                let record = load_idao(call, c.idaoId)?;
                Ok(IIdaoRegistry::stakeOfCall::abi_encode_returns(
                    &IIdaoRegistry::stakeOfReturn {
                        bonded: record.bonded,
                        unbonding: record.unbonding,
                    },
                ))
            }
            Calls::getUnbondings(c) => {
                load_idao(call, c.idaoId)?;
                Ok(load_unbondings(call, c.idaoId)?.abi_encode())
            }
            Calls::currentEpoch(_) => Ok(U256::from(staking::epoch_of(
                call.block.height,
                self.params.epoch_length,
            ))
            .abi_encode()),
            Calls::epochLength(_) => Ok(U256::from(self.params.epoch_length).abi_encode()),
            Calls::validatorSet(_) => {
                let raw = call.load(VALIDATORS_SLOT)?;
                if raw.is_empty() {
                    return Ok(IIdaoRegistry::validatorSetCall::abi_encode_returns(
                        &IIdaoRegistry::validatorSetReturn {
                            epoch: U256::ZERO,
                            validators: Vec::new(),
                        },
                    ));
                }
                Ok(raw.to_vec())
            }
            Calls::evidenceCount(_) => Ok(call.load_u256(EVIDENCE_COUNT_SLOT)?.abi_encode()),
            Calls::getEvidence(c) => {
                let raw = call.load(&evidence_slot(c.index))?;
                if raw.is_empty() {
                    return Err(revert_with(IIdaoRegistry::EvidenceNotFound {
                        index: c.index,
                    }));
                }
                let evidence = Evidence::abi_decode(&raw).map_err(|_| corrupt())?;
                Ok(evidence.abi_encode())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn p2p_addresses() {
        for ok in ["127.0.0.1:30303", "node-1.lazai.network:1", "[::1]:65535"] {
            assert!(valid_p2p_address(ok), "{ok}");
        }
        let long = format!("{}:1", "a".repeat(MAX_P2P_ADDRESS_BYTES));
        for bad in [
            "",
            "host",
            ":30303",
            "host:",
            "host:0",
            "host:65536",
            "host:+1",
            "host:12a",
            "ho st:1",
            "host:1\n",
            long.as_str(),
        ] {
            assert!(!valid_p2p_address(bad), "{bad:?}");
        }
    }

    #[test]
    fn consensus_key_message_layout() {
        let key = [7u8; 32];
        let owner = Address::repeat_byte(0xaa);
        let msg = consensus_key_message(0x0102, U256::from(3), owner, &key);
        assert_eq!(msg.len(), 92);
        assert_eq!(&msg[..8], &[0, 0, 0, 0, 0, 0, 1, 2]);
        assert_eq!(msg[39], 3);
        assert_eq!(&msg[40..60], owner.as_slice());
        assert_eq!(&msg[60..], &key);
    }

    #[test]
    fn garbage_keys_and_signatures_are_invalid_not_panics() {
        let msg = [1u8; 92];
        assert!(!verify_consensus_key_signature(&[0; 32], &msg, &[0; 64]));
        assert!(!verify_consensus_key_signature(&[0xff; 32], &msg, &[0; 64]));
        assert!(!verify_consensus_key_signature(&[9; 32], &msg, &[0; 63]));
        assert!(!verify_consensus_key_signature(&[9; 32], &msg, &[0; 65]));
        assert!(!verify_consensus_key_signature(&[9; 32], &msg, &[]));
    }
}
