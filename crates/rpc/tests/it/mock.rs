//! An in-memory `ChainApi` with a genesis block and one block holding one transfer.

use alloy_consensus::{SignableTransaction, TxEip1559, TxEnvelope};
use alloy_eips::eip2718::Encodable2718;
use alloy_primitives::{Address, B256, Bytes, Log, LogData, TxKind, U256};
use alloy_signer::SignerSync;
use alloy_signer_local::PrivateKeySigner;
use alloy_sol_types::{Revert, SolError};
use lazai_ledger::{Account, CallOutcome, RecoveredTx, TxError, decode_and_recover};
use lazai_rpc::{
    CallRequest, ChainApi, EthError, FinalizedBlock, NodeStatus, ProvenEntry, StateAt, SubmitError,
    TxInBlock, TxLookup,
};
use lazai_types::{Block, Header, Receipt, logs_bloom};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use tokio::sync::broadcast;

pub const CHAIN_ID: u64 = 133_718;
pub const BASE_FEE: u64 = 1_000_000_000;
pub const TIP: u128 = 1_000_000_000;
/// Nonce the mock reports for every account; lower nonces are refused.
pub const ACCOUNT_NONCE: u64 = 5;
/// Calldata prefix that makes `call` revert with `Error("nope")`.
pub const REVERT_INPUT: [u8; 2] = [0xde, 0xad];
/// Calldata that makes `call` run out of gas.
pub const OOG_INPUT: [u8; 1] = [0xff];

pub fn signer() -> PrivateKeySigner {
    PrivateKeySigner::from_bytes(&B256::repeat_byte(0x11)).expect("valid key")
}

/// A signed EIP-1559 transfer of 1 wei to `0x22..22`.
pub fn signed_transfer(nonce: u64) -> Bytes {
    let tx = TxEip1559 {
        chain_id: CHAIN_ID,
        nonce,
        gas_limit: 21_000,
        max_fee_per_gas: 2 * u128::from(BASE_FEE),
        max_priority_fee_per_gas: TIP,
        to: TxKind::Call(Address::repeat_byte(0x22)),
        value: U256::from(1),
        access_list: Default::default(),
        input: Bytes::new(),
    };
    let signature = signer()
        .sign_hash_sync(&tx.signature_hash())
        .expect("signs");
    TxEnvelope::from(tx.into_signed(signature))
        .encoded_2718()
        .into()
}

pub fn event_log() -> Log {
    Log {
        address: Address::repeat_byte(0x33),
        data: LogData::new_unchecked(
            vec![B256::repeat_byte(0x44), B256::repeat_byte(0x55)],
            Bytes::from_static(b"data"),
        ),
    }
}

pub struct Mock {
    pub blocks: Vec<Arc<Block>>,
    pub receipts: Vec<Arc<Vec<Receipt>>>,
    pub tx: Arc<RecoveredTx>,
    pub finalized: broadcast::Sender<FinalizedBlock>,
    /// Announces "admitted" transaction hashes to the server.
    pub pending: broadcast::Sender<B256>,
    /// The finalized head: blocks above it are not served yet (1 unless a test lowers it).
    pub head: AtomicU64,
    pub submit_many_calls: AtomicUsize,
    pub submit_calls: AtomicUsize,
}

impl Mock {
    pub fn new() -> Arc<Self> {
        let genesis = Block {
            header: Header {
                height: 0,
                timestamp_ms: 1_700_000_000_000,
                base_fee: BASE_FEE,
                gas_limit: 30_000_000,
                ..Default::default()
            },
            transactions: Vec::new(),
            evidence: Vec::new(),
        };
        let raw = signed_transfer(0);
        let tx = Arc::new(decode_and_recover(&raw, CHAIN_ID).expect("valid tx"));
        let receipt = Receipt {
            tx_type: 2,
            success: true,
            gas_used: 21_000,
            cumulative_gas_used: 21_000,
            effective_gas_price: u128::from(BASE_FEE) + TIP,
            logs: vec![event_log()],
            output: Bytes::new(),
            from: tx.sender,
            to: Address::repeat_byte(0x22),
            tx_hash: tx.hash,
            contract_address: None,
        };
        let mut block = Block {
            header: Header {
                parent_hash: genesis.hash(),
                height: 1,
                timestamp_ms: 1_700_000_001_500,
                proposer: Address::repeat_byte(0x99),
                logs_bloom: logs_bloom(receipt.logs.iter()),
                base_fee: BASE_FEE,
                gas_limit: 30_000_000,
                gas_used: 21_000,
                ..Default::default()
            },
            transactions: vec![raw],
            evidence: Vec::new(),
        };
        block.header.transactions_root = block.compute_transactions_root();
        let (finalized, _) = broadcast::channel(16);
        Arc::new(Self {
            blocks: vec![Arc::new(genesis), Arc::new(block)],
            receipts: vec![Arc::new(Vec::new()), Arc::new(vec![receipt])],
            tx,
            finalized,
            pending: broadcast::channel(16).0,
            head: AtomicU64::new(1),
            submit_many_calls: AtomicUsize::new(0),
            submit_calls: AtomicUsize::new(0),
        })
    }

    fn admit(&self, raw: &[u8]) -> Result<B256, SubmitError> {
        let tx = decode_and_recover(raw, CHAIN_ID)?;
        if tx.nonce() < ACCOUNT_NONCE {
            return Err(TxError::NonceTooLow {
                expected: ACCOUNT_NONCE,
                got: tx.nonce(),
            }
            .into());
        }
        Ok(tx.hash)
    }
}

impl Mock {
    /// The mock keeps the state of the head only (a history window of one block).
    fn keeps(&self, at: StateAt) -> Result<(), EthError> {
        let finalized = self.finalized_height();
        match at {
            StateAt::Block(requested) if requested < finalized => Err(EthError::HistoricalState {
                requested,
                finalized,
                window: 1,
            }),
            _ => Ok(()),
        }
    }
}

impl ChainApi for Mock {
    fn chain_id(&self) -> u64 {
        CHAIN_ID
    }
    fn client_version(&self) -> String {
        "lazai/test".to_owned()
    }
    fn finalized_height(&self) -> u64 {
        self.head.load(Ordering::SeqCst)
    }
    fn block_by_height(&self, height: u64) -> Option<Arc<Block>> {
        if height > self.finalized_height() {
            return None;
        }
        self.blocks.get(usize::try_from(height).ok()?).cloned()
    }
    fn block_by_hash(&self, hash: &B256) -> Option<Arc<Block>> {
        self.blocks.iter().find(|b| b.hash() == *hash).cloned()
    }
    fn receipts(&self, height: u64) -> Option<Arc<Vec<Receipt>>> {
        self.receipts.get(usize::try_from(height).ok()?).cloned()
    }
    fn transaction(&self, hash: &B256) -> Option<TxLookup> {
        (*hash == self.tx.hash).then(|| TxLookup {
            tx: self.tx.clone(),
            location: Some(TxInBlock {
                block_hash: self.blocks[1].hash(),
                height: 1,
                index: 0,
            }),
        })
    }
    fn account(&self, _address: &Address, at: StateAt, pending: bool) -> Result<Account, EthError> {
        self.keeps(at)?;
        Ok(Account {
            nonce: if pending {
                ACCOUNT_NONCE + 2
            } else {
                ACCOUNT_NONCE
            },
            balance: U256::from(1_000_000u64),
        })
    }
    fn code(&self, _address: &Address, at: StateAt) -> Result<Bytes, EthError> {
        self.keeps(at)?;
        Ok(Bytes::new())
    }
    fn storage(&self, _address: &Address, _slot: &B256, at: StateAt) -> Result<B256, EthError> {
        self.keeps(at)?;
        Ok(B256::ZERO)
    }
    fn call(&self, request: &CallRequest, at: StateAt) -> Result<CallOutcome, EthError> {
        self.keeps(at)?;
        let input = request.input.clone();
        let revert = input.starts_with(&REVERT_INPUT);
        let out_of_gas = input.as_ref() == OOG_INPUT;
        Ok(CallOutcome {
            success: !revert && !out_of_gas,
            output: if revert {
                Revert::from("nope").abi_encode().into()
            } else {
                input.clone()
            },
            gas_used: 21_000 + input.len() as u64,
            logs: Vec::new(),
            out_of_gas,
        })
    }
    fn prove(&self, keys: &[B256], at: StateAt) -> Result<(u64, B256, Vec<ProvenEntry>), EthError> {
        self.keeps(at)?;
        let entries = keys
            .iter()
            .map(|key| ProvenEntry {
                key: *key,
                value: None,
                proof: Vec::new(),
            })
            .collect();
        Ok((self.finalized_height(), lazai_ledger::EMPTY_ROOT, entries))
    }
    fn next_base_fee(&self) -> u64 {
        BASE_FEE + 1
    }
    fn suggested_priority_fee(&self) -> u128 {
        TIP
    }
    fn gas_limit(&self) -> u64 {
        30_000_000
    }
    fn submit(&self, raw: Bytes) -> Result<B256, SubmitError> {
        self.submit_calls.fetch_add(1, Ordering::SeqCst);
        self.admit(&raw)
    }
    fn submit_many(&self, raws: Vec<Bytes>) -> Vec<Result<B256, SubmitError>> {
        self.submit_many_calls.fetch_add(1, Ordering::SeqCst);
        raws.iter().map(|raw| self.admit(raw)).collect()
    }
    fn subscribe(&self) -> broadcast::Receiver<FinalizedBlock> {
        self.finalized.subscribe()
    }
    /// The pool holds one transaction: the next nonce of the mock's sender.
    fn pool(&self, from: Option<Address>, max: usize) -> lazai_rpc::PoolView {
        let tx = Arc::new(decode_and_recover(&signed_transfer(1), CHAIN_ID).expect("valid tx"));
        if from.is_some_and(|from| from != tx.sender) {
            return Default::default();
        }
        lazai_rpc::PoolView {
            pending: 1,
            queued: 0,
            listed_pending: if max > 0 { vec![tx] } else { Vec::new() },
            listed_queued: Vec::new(),
        }
    }
    fn pending_transactions(&self) -> broadcast::Receiver<B256> {
        self.pending.subscribe()
    }
    fn status(&self) -> NodeStatus {
        NodeStatus {
            chain_id: CHAIN_ID,
            height: self.finalized_height(),
            finalized_height: self.finalized_height(),
            finalized_hash: self.blocks[1].hash(),
            state_root: B256::ZERO,
            epoch: 0,
            validators: Vec::new(),
            peers: 3,
            mempool_size: 0,
            client_version: self.client_version(),
        }
    }
}
