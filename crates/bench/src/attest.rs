//! `lazai-bench attest`: TEE evidence verifications per second for each platform, alone and
//! inside the node's transaction execution (`submitAttestation` applied by the ledger), with
//! the gas each transaction pays.
//!
//! The evidence is the vendor samples (`crates/attest/testdata`: dcap-qvl's SGX and TDX
//! quotes, sev's Milan report, nitro_attest's document) at a block time inside each one's
//! window, and dev quotes. A vendor sample's report data binds no LazAI key, so its
//! transaction is refused *after* the full verification — which is what it pays for.

use alloy::sol_types::{SolCall, SolValue};
use alloy_consensus::{SignableTransaction, TxEip1559, TxEnvelope};
use alloy_eips::eip2718::Encodable2718;
use alloy_primitives::{Address, B256, Bytes, TxKind, U256};
use alloy_signer::SignerSync;
use alloy_signer_local::PrivateKeySigner;
use anyhow::{Context as _, Result, bail};
use clap::Args;
use lazai_abi::{IDAO_REGISTRY_ADDRESS, IIdaoRegistry, ITeeRegistry as T, TeePolicy};
use lazai_attest::samples::Sample;
use lazai_attest::{Options, Platform, TcbStatus, binding, dev::Simulator, verification_gas};
use lazai_ledger::{BlockEnv, Ledger, State};
use lazai_types::{DEVNET_CHAIN_ID, Genesis, GenesisAccount, lazai};
use std::time::{Duration, Instant};

#[derive(Args, Debug, Clone)]
pub struct AttestArgs {
    /// Seconds spent on each platform in each part.
    #[arg(long, value_name = "SECS", default_value_t = 2)]
    pub seconds: u64,
}

fn key(i: u64) -> Result<PrivateKeySigner> {
    let seed = alloy_primitives::keccak256(format!("lazai-bench-attest-{i}"));
    PrivateKeySigner::from_slice(seed.as_slice()).context("bench key")
}

fn sign(signer: &PrivateKeySigner, nonce: u64, to: Address, input: Vec<u8>) -> Result<Bytes> {
    let tx = TxEip1559 {
        chain_id: DEVNET_CHAIN_ID,
        nonce,
        gas_limit: 3_000_000,
        max_fee_per_gas: 10_000_000_000,
        max_priority_fee_per_gas: 1_000_000_000,
        to: TxKind::Call(to),
        value: U256::ZERO,
        input: input.into(),
        access_list: Default::default(),
    };
    let sig = signer.sign_hash_sync(&tx.signature_hash())?;
    Ok(TxEnvelope::from(tx.into_signed(sig)).encoded_2718().into())
}

/// A ledger with an iDAO (owned by key 0) whose TEE policy accepts every platform.
struct Node {
    ledger: Ledger,
    state: State,
    env: BlockEnv,
    nonces: Vec<u64>,
    keys: Vec<PrivateKeySigner>,
    idao: U256,
}

impl Node {
    fn new() -> Result<Self> {
        let keys: Vec<_> = (0..2).map(key).collect::<Result<_>>()?;
        let accounts: Vec<Address> = keys.iter().map(|k| k.address()).collect();
        let mut genesis: Genesis =
            lazai_node::devnet_genesis(DEVNET_CHAIN_ID, 1, &[], lazai(1), 1_000_000_000);
        genesis
            .alloc
            .extend(accounts.iter().map(|&address| GenesisAccount {
                address,
                balance: lazai(1_000_000),
            }));
        let state = lazai_ledger::genesis_state(&genesis)?;
        let env = BlockEnv {
            chain_id: genesis.chain_id,
            height: 1,
            parent_hash: B256::ZERO,
            timestamp_ms: genesis.timestamp_ms,
            proposer: genesis.validators[0].fee_recipient,
            base_fee: genesis.initial_base_fee,
            gas_limit: genesis.gas_limit,
            evidence: Vec::new(),
        };
        let mut node = Self {
            ledger: Ledger::from_genesis(&genesis),
            state,
            env,
            nonces: vec![0; keys.len()],
            keys,
            idao: U256::ZERO,
        };
        let out = node.send(
            0,
            IIdaoRegistry::registerIdao_0Call {
                name: "bench".into(),
                metadataUri: "ipfs://bench".into(),
            }
            .abi_encode(),
            true,
        )?;
        node.idao = U256::abi_decode(&out.output).context("iDAO id")?;
        let all = Platform::ALL.iter().fold(0, |m, p| m | p.bit());
        let policy = T::setTeePolicyCall {
            idaoId: node.idao,
            policy: TeePolicy {
                platforms: all,
                measurements: Vec::new(),
                minTcbStatus: TcbStatus::OutOfDateConfigurationNeeded.code(),
                maxEvidenceAge: lazai_abi::MAX_EVIDENCE_AGE,
            },
        };
        node.send(0, policy.abi_encode(), true)?;
        Ok(node)
    }

    fn signed(&mut self, from: usize, input: Vec<u8>) -> Result<lazai_ledger::RecoveredTx> {
        let raw = sign(
            &self.keys[from],
            self.nonces[from],
            IDAO_REGISTRY_ADDRESS,
            input,
        )?;
        self.nonces[from] += 1;
        Ok(lazai_ledger::decode_and_recover(&raw, DEVNET_CHAIN_ID)?)
    }

    fn send(
        &mut self,
        from: usize,
        input: Vec<u8>,
        must_succeed: bool,
    ) -> Result<lazai_types::Receipt> {
        let tx = self.signed(from, input)?;
        let r = self.ledger.apply(&mut self.state, &self.env, &tx, 0)?;
        if must_succeed && !r.success {
            bail!("reverted: {}", lazai_client::describe_revert(&r.output));
        }
        Ok(r)
    }
}

fn submit_input(idao: U256, evidence: Vec<u8>, collateral: Vec<u8>) -> Vec<u8> {
    T::submitAttestationCall {
        idaoId: idao,
        hpkePublicKey: B256::repeat_byte(7),
        evidence: evidence.into(),
        collateral: collateral.into(),
    }
    .abi_encode()
}

pub fn run(args: AttestArgs) -> Result<()> {
    let budget = Duration::from_secs(args.seconds.max(1));
    let mut node = Node::new()?;
    let me = node.keys[1].address();
    let dev = Simulator::random();
    let mut all = lazai_attest::samples::all();
    let now = node.env.timestamp_ms / 1000;
    all.push(Sample {
        platform: Platform::Dev,
        evidence: dev.quote(&binding::report_data(DEVNET_CHAIN_ID, me, &[7; 32], now)),
        collateral: &[],
        at: now,
    });
    println!(
        "{:<8} {:>12} {:>12} {:>14} {:>12} {:>14}",
        "platform", "verify/s", "µs each", "in-node tx/s", "tx gas", "verify gas"
    );
    for s in all {
        let options = Options { allow_dev: true };
        lazai_attest::verify(&s.evidence, s.collateral, s.at, options)
            .with_context(|| format!("the {} sample verifies", s.platform))?;
        let start = Instant::now();
        let mut n = 0u64;
        while start.elapsed() < budget {
            std::hint::black_box(
                lazai_attest::verify(&s.evidence, s.collateral, s.at, options).is_ok(),
            );
            n += 1;
        }
        let alone = n as f64 / start.elapsed().as_secs_f64();

        // The same evidence as transactions the ledger executes (signing and recovery outside
        // the timed part).
        node.env.timestamp_ms = s.at * 1000;
        let input = submit_input(node.idao, s.evidence.clone(), s.collateral.to_vec());
        let probe = node.send(1, input.clone(), false)?;
        if s.platform == Platform::Dev && !probe.success {
            bail!(
                "the dev attestation was refused: {}",
                lazai_client::describe_revert(&probe.output)
            );
        }
        let batch = ((alone * budget.as_secs_f64()) as usize).clamp(8, 4_000);
        let txs: Vec<_> = (0..batch)
            .map(|_| node.signed(1, input.clone()))
            .collect::<Result<_>>()?;
        let start = Instant::now();
        let mut gas = 0;
        for tx in &txs {
            let r = node.ledger.apply(&mut node.state, &node.env, tx, 0)?;
            gas = r.gas_used;
        }
        let in_node = batch as f64 / start.elapsed().as_secs_f64();
        println!(
            "{:<8} {:>12.0} {:>12.0} {:>14.0} {:>12} {:>14}",
            s.platform.name(),
            alone,
            1e6 / alone,
            in_node,
            gas,
            verification_gas(s.platform)
        );
    }
    println!(
        "\nvendor samples bind no LazAI key: their transactions are refused after full \
         verification (report data), and pay for it; dev is accepted."
    );
    Ok(())
}
