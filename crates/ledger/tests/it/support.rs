//! Signing helpers and a funded test state.

use alloy_consensus::{SignableTransaction, TxEip1559, TxEip2930, TxEnvelope, TxLegacy};
use alloy_eips::eip2718::Encodable2718;
use alloy_primitives::{Address, Bytes, Signature, TxKind, U256};
use alloy_signer::SignerSync;
use alloy_signer_local::PrivateKeySigner;
use lazai_ledger::{BlockEnv, Ledger, RecoveredTx, State, decode_and_recover};

pub const CHAIN_ID: u64 = 133_718;
pub const BASE_FEE: u64 = 1_000_000_000;
pub const GWEI: u128 = 1_000_000_000;

pub fn signer(i: u8) -> PrivateKeySigner {
    let mut key = [0u8; 32];
    key[31] = i + 1;
    PrivateKeySigner::from_slice(&key).expect("valid key")
}

pub fn env() -> BlockEnv {
    BlockEnv {
        chain_id: CHAIN_ID,
        height: 1,
        parent_hash: Default::default(),
        timestamp_ms: 1_700_000_000_000,
        proposer: Address::repeat_byte(0xfe),
        base_fee: BASE_FEE,
        gas_limit: 30_000_000,
        evidence: Vec::new(),
    }
}

pub fn funded(signers: &[&PrivateKeySigner], wei: U256) -> State {
    let mut state = State::default();
    for s in signers {
        let mut a = state.account(&s.address());
        a.balance = wei;
        state.set_account(&s.address(), a);
    }
    let _ = state.take_changes();
    state
}

pub fn ledger() -> Ledger {
    Ledger::new(CHAIN_ID)
}

pub struct Tx {
    pub nonce: u64,
    pub to: Address,
    pub value: U256,
    pub input: Bytes,
    pub gas: u64,
    pub max_fee: u128,
    pub tip: u128,
    pub chain_id: u64,
    /// Creates a contract with `input` as initcode (`to` is ignored).
    pub create: bool,
}

impl Tx {
    pub fn transfer(nonce: u64, to: Address, value: U256) -> Self {
        Self {
            nonce,
            to,
            value,
            input: Bytes::new(),
            gas: 21_000,
            max_fee: 2 * GWEI,
            tip: GWEI,
            chain_id: CHAIN_ID,
            create: false,
        }
    }
    /// A contract creation running `initcode`.
    pub fn create(nonce: u64, initcode: Vec<u8>) -> Self {
        Self {
            input: initcode.into(),
            gas: 3_000_000,
            create: true,
            ..Self::transfer(nonce, Address::ZERO, U256::ZERO)
        }
    }
    fn kind(&self) -> TxKind {
        if self.create {
            TxKind::Create
        } else {
            TxKind::Call(self.to)
        }
    }
    pub fn call(nonce: u64, to: Address, input: Vec<u8>) -> Self {
        Self {
            input: input.into(),
            gas: 200_000,
            ..Self::transfer(nonce, to, U256::ZERO)
        }
    }

    fn unsigned_1559(&self) -> TxEip1559 {
        TxEip1559 {
            chain_id: self.chain_id,
            nonce: self.nonce,
            gas_limit: self.gas,
            max_fee_per_gas: self.max_fee,
            max_priority_fee_per_gas: self.tip,
            to: self.kind(),
            value: self.value,
            input: self.input.clone(),
            access_list: Default::default(),
        }
    }

    pub fn eip1559(&self, s: &PrivateKeySigner) -> Vec<u8> {
        sign(self.unsigned_1559(), s)
    }

    pub fn legacy(&self, s: &PrivateKeySigner, chain_id: Option<u64>) -> Vec<u8> {
        let tx = TxLegacy {
            chain_id,
            nonce: self.nonce,
            gas_price: self.max_fee,
            gas_limit: self.gas,
            to: self.kind(),
            value: self.value,
            input: self.input.clone(),
        };
        sign(tx, s)
    }

    pub fn eip2930(&self, s: &PrivateKeySigner) -> Vec<u8> {
        let tx = TxEip2930 {
            chain_id: self.chain_id,
            nonce: self.nonce,
            gas_price: self.max_fee,
            gas_limit: self.gas,
            to: self.kind(),
            value: self.value,
            input: self.input.clone(),
            access_list: Default::default(),
        };
        sign(tx, s)
    }

    /// The same EIP-1559 transaction with its signature's `s` flipped to the high half.
    pub fn eip1559_high_s(&self, s: &PrivateKeySigner) -> Vec<u8> {
        let tx = self.unsigned_1559();
        let sig = s.sign_hash_sync(&tx.signature_hash()).expect("sign");
        let n = U256::from_str_radix(
            "fffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141",
            16,
        )
        .expect("n");
        let high = Signature::new(sig.r(), n - sig.s(), !sig.v());
        TxEnvelope::from(tx.into_signed(high)).encoded_2718()
    }
}

/// Signs `tx` with `s` and returns its EIP-2718 encoding.
fn sign<T>(tx: T, s: &PrivateKeySigner) -> Vec<u8>
where
    T: SignableTransaction<Signature>,
    TxEnvelope: From<alloy_consensus::Signed<T>>,
{
    let sig = s.sign_hash_sync(&tx.signature_hash()).expect("sign");
    TxEnvelope::from(tx.into_signed(sig)).encoded_2718()
}

pub fn recover(raw: &[u8]) -> RecoveredTx {
    decode_and_recover(raw, CHAIN_ID).expect("valid transaction")
}

/// Dev-TEE attestation helpers: the chain under test enables the dev TEE
/// ([`lazai_ledger::modules::enable_dev_tee`]) and iDAOs set a dev policy.
pub mod tee {
    use alloy_primitives::{Address, B256, Bytes, U256};
    use alloy_sol_types::SolCall;
    use lazai_abi::{ITeeRegistry as T, IVerifiedComputing as V, TeePolicy};
    use lazai_attest::{Platform, binding, dev::Simulator};

    /// The maximum evidence age of [`dev_policy`].
    pub const MAX_AGE: u64 = 3_600;

    /// `setTeePolicy` calldata: the dev platform, any measurement, an hour of evidence age.
    pub fn dev_policy(idao: U256) -> Vec<u8> {
        T::setTeePolicyCall {
            idaoId: idao,
            policy: TeePolicy {
                platforms: Platform::Dev.bit(),
                measurements: Vec::new(),
                minTcbStatus: 0,
                maxEvidenceAge: MAX_AGE,
            },
        }
        .abi_encode()
    }

    /// A dev quote binding `node` and `hpke` on `chain_id`, issued at `issued_at` (seconds).
    pub fn evidence(chain_id: u64, node: Address, hpke: B256, issued_at: u64) -> Bytes {
        let rd = binding::report_data(chain_id, node, &hpke.0, issued_at);
        Simulator::from_seed(node.as_slice()).quote(&rd).into()
    }

    /// `submitAttestation` calldata with dev evidence.
    pub fn submit(chain_id: u64, idao: U256, node: Address, hpke: B256, issued_at: u64) -> Vec<u8> {
        T::submitAttestationCall {
            idaoId: idao,
            hpkePublicKey: hpke,
            evidence: evidence(chain_id, node, hpke, issued_at),
            collateral: Bytes::new(),
        }
        .abi_encode()
    }

    /// `registerAttestedNode` calldata with dev evidence.
    pub fn register(
        chain_id: u64,
        idao: U256,
        node: Address,
        hpke: B256,
        issued_at: u64,
    ) -> Vec<u8> {
        V::registerAttestedNodeCall {
            idaoId: idao,
            url: format!("https://{node}.example"),
            hpkePublicKey: hpke,
            rsaPublicKey: String::new(),
            evidence: evidence(chain_id, node, hpke, issued_at),
            collateral: Bytes::new(),
        }
        .abi_encode()
    }
}
