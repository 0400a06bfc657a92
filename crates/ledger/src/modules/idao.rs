//! The iDAO registry: where an iDAO (a data community, model team, compute provider or app
//! team) registers itself. Today it holds identity (owner, name, metadata URI); stake, roles
//! and consensus keys build on it.

use super::{Call, Module, ModuleError, decode_call, revert_with};
use alloy_primitives::{Address, Bytes, U256, address};
use alloy_sol_types::{SolValue, sol};

/// The address LazAI reserves for the iDAO registry.
pub const IDAO_REGISTRY_ADDRESS: Address = address!("0xEA30BA91F4DB33Ef0360Fc04d8E201954474dbD1");

/// Longest iDAO name, in bytes.
pub const MAX_NAME_BYTES: usize = 64;
/// Longest metadata URI, in bytes.
pub const MAX_URI_BYTES: usize = 512;

sol! {
    /// The iDAO registry's Solidity interface.
    #[derive(Debug, PartialEq, Eq)]
    interface IIdaoRegistry {
        struct Idao { uint256 id; address owner; string name; string metadataUri; }

        function name() external view returns (string memory);
        function version() external pure returns (uint256);
        /// Registers an iDAO owned by the caller; ids start at 1. Not payable.
        function registerIdao(string calldata name, string calldata metadataUri) external returns (uint256 idaoId);
        /// Owner only: replaces the metadata URI.
        function updateMetadata(uint256 idaoId, string calldata metadataUri) external;
        function getIdao(uint256 idaoId) external view returns (Idao memory);
        function idaoCount() external view returns (uint256);

        event IdaoRegistered(uint256 indexed idaoId, address indexed owner, string name);
        event IdaoMetadataUpdated(uint256 indexed idaoId, string metadataUri);

        error IdaoNotFound(uint256 idaoId);
        error NotIdaoOwner(uint256 idaoId, address caller);
        error InvalidName();
        error MetadataUriTooLong(uint256 length, uint256 max);
    }
}

use IIdaoRegistry::IIdaoRegistryCalls as Calls;

const COUNT_SLOT: &[u8] = b"count";

fn idao_slot(id: U256) -> Vec<u8> {
    let mut slot = b"idao/".to_vec();
    slot.extend_from_slice(&id.to_be_bytes::<32>());
    slot
}

/// The iDAO registry module.
pub struct IdaoRegistry;

impl IdaoRegistry {
    fn load(call: &mut Call<'_>, id: U256) -> Result<IIdaoRegistry::Idao, ModuleError> {
        let raw = call.load(&idao_slot(id))?;
        if raw.is_empty() {
            return Err(revert_with(IIdaoRegistry::IdaoNotFound { idaoId: id }));
        }
        IIdaoRegistry::Idao::abi_decode(&raw)
            .map_err(|_| super::revert_msg("IdaoRegistry: corrupt record"))
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
}

impl Module for IdaoRegistry {
    fn name(&self) -> &'static str {
        "IdaoRegistry"
    }

    fn address(&self) -> Address {
        IDAO_REGISTRY_ADDRESS
    }

    /// Nothing in the registry is payable: value sent with any call reverts (and so returns
    /// to the sender) instead of being locked at the module's address.
    fn call(&self, call: &mut Call<'_>, input: &[u8]) -> Result<Vec<u8>, ModuleError> {
        call.non_payable()?;
        match decode_call::<Calls>(self.name(), input)? {
            Calls::name(_) => Ok("LazAI iDAO Registry".to_string().abi_encode()),
            Calls::version(_) => Ok(U256::from(1).abi_encode()),
            Calls::idaoCount(_) => Ok(call.load_u256(COUNT_SLOT)?.abi_encode()),
            Calls::getIdao(c) => Ok(Self::load(call, c.idaoId)?.abi_encode()),
            Calls::registerIdao(c) => {
                if c.name.is_empty() || c.name.len() > MAX_NAME_BYTES {
                    return Err(revert_with(IIdaoRegistry::InvalidName {}));
                }
                Self::check_uri(&c.metadataUri)?;
                let id = call.load_u256(COUNT_SLOT)? + U256::from(1);
                let record = IIdaoRegistry::Idao {
                    id,
                    owner: call.caller,
                    name: c.name.clone(),
                    metadataUri: c.metadataUri,
                };
                call.store(&idao_slot(id), Bytes::from(record.abi_encode()))?;
                call.store_u256(COUNT_SLOT, id)?;
                call.emit(&IIdaoRegistry::IdaoRegistered {
                    idaoId: id,
                    owner: call.caller,
                    name: c.name,
                })?;
                Ok(id.abi_encode())
            }
            Calls::updateMetadata(c) => {
                Self::check_uri(&c.metadataUri)?;
                let mut record = Self::load(call, c.idaoId)?;
                if record.owner != call.caller {
                    return Err(revert_with(IIdaoRegistry::NotIdaoOwner {
                        idaoId: c.idaoId,
                        caller: call.caller,
                    }));
                }
                record.metadataUri = c.metadataUri.clone();
                call.store(&idao_slot(c.idaoId), Bytes::from(record.abi_encode()))?;
                call.emit(&IIdaoRegistry::IdaoMetadataUpdated {
                    idaoId: c.idaoId,
                    metadataUri: c.metadataUri,
                })?;
                Ok(Vec::new())
            }
        }
    }
}
