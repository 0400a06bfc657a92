//! Every native module's fixed address, in one place.

use alloy_primitives::{Address, address};

/// The address LazAI reserves for the iDAO registry (staking, consensus keys, evidence and TEE
/// attestations share it).
pub const IDAO_REGISTRY_ADDRESS: Address = address!("0xEA30BA91F4DB33Ef0360Fc04d8E201954474dbD1");
/// The DataAnchoringToken's address (LazAI's devnet address).
pub const DAT_ADDRESS: Address = address!("0x2eD344c586303C98FC3c6D5B42C5616ED42f9D9d");
/// The DataRegistry's address; it has the DAT's minter role.
pub const DATA_REGISTRY_ADDRESS: Address = address!("0xEAd077726dC83ecF385e3763ed4A0A50E8Ac5AA0");
/// The VerifiedComputing module's address; it has the DAT's minter role.
pub const VERIFIED_COMPUTING_ADDRESS: Address =
    address!("0x815da22D880E3560bCEcc85b6e4938b30c8202C4");
/// The address of the VSC module.
pub const VSC_ADDRESS: Address = address!("0x5C5C0000000000000000000000000000000F1005");
/// The model registry's address.
pub const MODEL_REGISTRY_ADDRESS: Address = address!("0x5C5C000000000000000000000000000000004D01");
/// Settlement's address (LazAI's devnet address).
pub const SETTLEMENT_ADDRESS: Address = address!("0xBE94646A0C6C1032c289Eea47169798e09dB5299");
/// AIProcess (query).
pub const QUERY_ADDRESS: Address = address!("0xE747fd70269a8a540403ddE802D6906CB18C9F50");
/// AIProcess (inference).
pub const INFERENCE_ADDRESS: Address = address!("0xbb969eaafB3A7124b8dCdf9a6d5Cd5BAa0381361");
/// AIProcess (training).
pub const TRAINING_ADDRESS: Address = address!("0xb578AB78bb4780D9007Cc836b358468467814B3E");
/// The Verifier module's address (tasks, TEE and ZK proofs, circuits).
pub const VERIFIER_ADDRESS: Address = address!("0x5C5C000000000000000000000000000000007E01");
