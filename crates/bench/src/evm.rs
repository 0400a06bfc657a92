//! `lazai-bench evm`: ERC-20 transfers (the `Token` contract of `contracts/`) through the whole
//! node beside native transfers in the same run, contract calls into the DAT module, and the
//! EVM's execution rate alone.
//!
//! Through the node: sender 0 deploys the token and hands every other sender a balance, and
//! deploys a `Probe` contract; then the other senders send `--txs` token transfers (each to a
//! fresh or reused recipient), then `--txs` native transfers, then `--txs` calls of
//! `Probe.forward(DAT, createClass(…))` (a contract calling the native DAT module, which records a
//! class owned by the contract); each phase reports finalized transactions per second. Alone:
//! the same transactions applied by `Ledger::apply` on an in-memory state, in Mgas/s.

use crate::args::LoadArgs;
use crate::load::{Workload, chain_feed, collect, report, sender_key, submit};
use alloy::providers::Provider as _;
use alloy_consensus::{SignableTransaction, TxEip1559, TxEnvelope};
use alloy_eips::eip2718::Encodable2718;
use alloy_primitives::{Address, Bytes, TxKind, U256, keccak256};
use alloy_signer::SignerSync;
use alloy_signer_local::PrivateKeySigner;
use alloy_sol_types::{SolCall, SolValue, sol};
use anyhow::{Context as _, Result, bail};
use clap::Args;
use lazai_consensus::runtime::{Runner as _, tokio as cw_tokio};
use lazai_ledger::{BlockEnv, Ledger, State, decode_and_recover};
use lazai_node::start_devnet;
use lazai_types::{DEVNET_CHAIN_ID, lazai};
use rayon::prelude::*;
use std::time::{Duration, Instant};

sol! {
    function transfer(address to, uint256 value) external returns (bool);
    function forward(address target, bytes data) external payable returns (bool ok, bytes ret);
}

/// Gas limit of one token transfer (a transfer to a new holder uses about 52k).
const TRANSFER_GAS: u64 = 80_000;
/// Gas limit of one contract call into the DAT module (a new class writes a few records).
const DAT_CALL_GAS: u64 = 400_000;

/// What one phase's transactions do.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Phase {
    Erc20,
    Native,
    DatCall,
}

#[derive(Args, Debug, Clone)]
pub struct EvmArgs {
    #[command(flatten)]
    pub load: LoadArgs,
}

fn initcode(json: &str, name: &str, args: &[u8]) -> Result<Vec<u8>> {
    let artifact: serde_json::Value = serde_json::from_str(json)?;
    let hex = artifact["bytecode"]
        .as_str()
        .with_context(|| format!("{name} bytecode"))?;
    let mut code = alloy_primitives::hex::decode(hex)?;
    code.extend_from_slice(args);
    Ok(code)
}

fn token_initcode(supply: U256) -> Result<Vec<u8>> {
    initcode(
        include_str!("../../../contracts/out/Token.json"),
        "Token",
        &("Bench".to_string(), "BNCH".to_string(), supply).abi_encode_params(),
    )
}

fn probe_initcode() -> Result<Vec<u8>> {
    initcode(
        include_str!("../../../contracts/out/Probe.json"),
        "Probe",
        &U256::ZERO.abi_encode(),
    )
}

/// `forward(DAT, createClass(…))`: the probe contract creates a DAT class.
fn dat_call(n: u64) -> Vec<u8> {
    use lazai_abi::IDataAnchoringToken as I;
    let create = I::createClassCall {
        metadataURI: format!("ipfs://bench/{n}"),
        integrityHash: Default::default(),
        unitDecimals: 0,
        policyURI: String::new(),
    };
    forwardCall {
        target: lazai_abi::DAT_ADDRESS,
        data: create.abi_encode().into(),
    }
    .abi_encode()
}

fn sign(
    signer: &PrivateKeySigner,
    nonce: u64,
    to: TxKind,
    input: Vec<u8>,
    gas_limit: u64,
) -> Result<Bytes> {
    let tx = TxEip1559 {
        chain_id: DEVNET_CHAIN_ID,
        nonce,
        gas_limit,
        max_fee_per_gas: 10_000_000_000,
        max_priority_fee_per_gas: 1_000_000_000,
        to,
        value: if input.is_empty() {
            U256::from(1_000 + nonce)
        } else {
            U256::ZERO
        },
        input: input.into(),
        access_list: Default::default(),
    };
    let sig = signer.sign_hash_sync(&tx.signature_hash())?;
    Ok(TxEnvelope::from(tx.into_signed(sig)).encoded_2718().into())
}

/// The three phases' signed transactions.
struct Plan {
    senders: Vec<Address>,
    token: Address,
    probe: Address,
    setup: Workload,
    erc20: Workload,
    native: Workload,
    dat_calls: Workload,
}

impl Plan {
    fn sign(load: &LoadArgs) -> Result<Self> {
        if load.senders < 2 || load.txs < load.senders - 1 {
            bail!("need at least 2 senders and txs >= senders - 1");
        }
        eprintln!(
            "signing {} token transfers, {} native transfers and {} DAT-module calls from {} senders ...",
            load.txs,
            load.txs,
            load.txs,
            load.senders - 1
        );
        let keys: Vec<PrivateKeySigner> =
            (0..load.senders).map(sender_key).collect::<Result<_>>()?;
        let senders: Vec<Address> = keys.iter().map(|k| k.address()).collect();
        let deployer = &keys[0];
        let token = deployer.address().create(0);
        let share = U256::from(1_000_000_000u64);
        let supply = share * U256::from(load.senders);
        let mut setup = vec![sign(
            deployer,
            0,
            TxKind::Create,
            token_initcode(supply)?,
            3_000_000,
        )?];
        for (i, to) in senders.iter().enumerate().skip(1) {
            let input = transferCall {
                to: *to,
                value: share,
            }
            .abi_encode();
            setup.push(sign(
                deployer,
                i as u64,
                TxKind::Call(token),
                input,
                TRANSFER_GAS,
            )?);
        }
        let probe = deployer.address().create(load.senders as u64);
        setup.push(sign(
            deployer,
            load.senders as u64,
            TxKind::Create,
            probe_initcode()?,
            3_000_000,
        )?);
        let recipients: Vec<Address> = (0..1024u64)
            .map(|i| Address::from_word(keccak256(i.to_be_bytes())))
            .collect();
        let workers = load.senders - 1;
        let (each, extra) = (load.txs / workers, load.txs % workers);
        let per_sender = |phase: Phase| -> Result<Vec<Vec<Bytes>>> {
            let mut all: Vec<Vec<Bytes>> = keys[1..]
                .par_iter()
                .enumerate()
                .map(|(i, key)| {
                    let count = (each + usize::from(i < extra)) as u64;
                    let first = match phase {
                        Phase::Erc20 => 0,
                        Phase::Native => count,
                        Phase::DatCall => 2 * count,
                    };
                    (0..count)
                        .map(|n| {
                            let to = recipients[(i + n as usize) % recipients.len()];
                            let nonce = first + n;
                            match phase {
                                Phase::Erc20 => {
                                    let input = transferCall {
                                        to,
                                        value: U256::from(1 + n),
                                    }
                                    .abi_encode();
                                    sign(key, nonce, TxKind::Call(token), input, TRANSFER_GAS)
                                }
                                Phase::Native => {
                                    sign(key, nonce, TxKind::Call(to), Vec::new(), 21_000)
                                }
                                Phase::DatCall => sign(
                                    key,
                                    nonce,
                                    TxKind::Call(probe),
                                    dat_call(nonce),
                                    DAT_CALL_GAS,
                                ),
                            }
                        })
                        .collect()
                })
                .collect::<Result<_>>()?;
            all.insert(0, Vec::new());
            Ok(all)
        };
        let workload = |signed: Vec<Vec<Bytes>>| Workload {
            senders: senders.clone(),
            total: signed.iter().map(Vec::len).sum(),
            signed,
        };
        let mut setup_signed = vec![setup];
        setup_signed.extend(std::iter::repeat_n(Vec::new(), workers));
        Ok(Self {
            token,
            setup: workload(setup_signed),
            erc20: workload(per_sender(Phase::Erc20)?),
            native: workload(per_sender(Phase::Native)?),
            dat_calls: workload(per_sender(Phase::DatCall)?),
            probe,
            senders,
        })
    }
}

pub fn run(args: EvmArgs) -> Result<()> {
    let plan = Plan::sign(&args.load)?;
    execution_alone(&plan)?;

    let net = crate::devnet::load_devnet("evm", &plan.senders, 1, &args.load)?;
    let runtime = net.runtime();
    let crate::devnet::LoadDevnet {
        settings,
        keys,
        p2p,
        dir: _dir,
    } = net;
    let load = args.load.clone();
    cw_tokio::Runner::new(runtime).start(|context| async move {
        let devnet = start_devnet(context, settings, keys, p2p).await?;
        let url = format!("http://{}", devnet.rpc_addr());
        let mut feed = chain_feed(devnet.nodes[0].chain());
        let timeout = Duration::from_secs(load.timeout);
        for (label, work) in [
            ("setup (deploy + token to each sender)", &plan.setup),
            ("ERC-20 transfers", &plan.erc20),
            ("native transfers", &plan.native),
            ("contract calls into the DAT module", &plan.dat_calls),
        ] {
            let sub = submit(&url, work, &load).await?;
            let fin = collect(&mut feed, &sub, work.total - sub.rejected, timeout).await?;
            report(label, work.total, &sub, &fin, load.timeout)?;
        }
        // Finalized is not succeeded: check the token exists and the transfers did not revert.
        let provider = alloy::providers::ProviderBuilder::new().connect_http(url.parse()?);
        if provider.get_code_at(plan.token).await?.is_empty()
            || provider.get_code_at(plan.probe).await?.is_empty()
        {
            bail!("the token or the probe was not deployed");
        }
        // Every DAT call made its class (the probe does not revert when its call does).
        let count = lazai_abi::IDataAnchoringToken::classCountCall {};
        let request = alloy::rpc::types::TransactionRequest::default()
            .to(lazai_abi::DAT_ADDRESS)
            .input(count.abi_encode().into());
        let classes = U256::abi_decode(&provider.call(request).await?)?;
        if classes != U256::from(plan.dat_calls.total) {
            bail!("{} DAT calls made {classes} classes", plan.dat_calls.total);
        }
        let sample = plan.erc20.signed.iter().flatten();
        for raw in sample.clone().take(1).chain(sample.last()) {
            let hash = keccak256(raw);
            let receipt = provider
                .get_transaction_receipt(hash)
                .await?
                .context("a finalized transfer has a receipt")?;
            if !receipt.status() {
                bail!("token transfer {hash} reverted");
            }
        }
        Ok::<_, anyhow::Error>(())
    })?;
    Ok(())
}

/// Applies the token transfers with `Ledger::apply` on an in-memory state: the EVM's rate alone,
/// without consensus, RPC, signature recovery or disk.
fn execution_alone(plan: &Plan) -> Result<()> {
    let ledger = Ledger::new(DEVNET_CHAIN_ID);
    let mut state = State::default();
    for s in &plan.senders {
        state.set_account(
            s,
            lazai_ledger::Account {
                nonce: 0,
                balance: lazai(1_000),
            },
        );
    }
    let env = BlockEnv {
        chain_id: DEVNET_CHAIN_ID,
        height: 1,
        parent_hash: Default::default(),
        timestamp_ms: 1_700_000_000_000,
        proposer: Address::repeat_byte(0xfe),
        base_fee: 1_000_000_000,
        gas_limit: u64::MAX,
        evidence: Vec::new(),
    };
    let recover = |work: &Workload| -> Result<Vec<_>> {
        let rounds = work.rounds();
        let mut out = Vec::with_capacity(work.total);
        for n in 0..rounds {
            for txs in &work.signed {
                if let Some(raw) = txs.get(n) {
                    out.push(decode_and_recover(raw, DEVNET_CHAIN_ID)?);
                }
            }
        }
        Ok(out)
    };
    for tx in recover(&plan.setup)? {
        let r = ledger.apply(&mut state, &env, &tx, 0)?;
        if !r.success {
            bail!("setup transaction reverted");
        }
    }
    for (label, work, makes_classes) in [
        ("ERC-20 transfers", &plan.erc20, false),
        ("native transfers", &plan.native, false),
        ("contract calls into the DAT module", &plan.dat_calls, true),
    ] {
        let txs = recover(work)?;
        let start = Instant::now();
        let mut gas = 0u64;
        for tx in &txs {
            let r = ledger.apply(&mut state, &env, tx, 0)?;
            if !r.success {
                bail!("{label}: a transaction reverted");
            }
            gas += r.gas_used;
        }
        let elapsed = start.elapsed().as_secs_f64();
        // The probe does not revert when its call does: count the classes made.
        if makes_classes {
            let classes = ledger.call(
                &state,
                &env,
                &lazai_ledger::CallParams {
                    to: Some(lazai_abi::DAT_ADDRESS),
                    input: lazai_abi::IDataAnchoringToken::classCountCall {}
                        .abi_encode()
                        .into(),
                    gas_limit: 1_000_000,
                    ..Default::default()
                },
            )?;
            if U256::abi_decode(&classes.output)? != U256::from(txs.len()) {
                bail!("{label}: not every call made its class");
            }
        }
        println!(
            "execution alone, {label}: {:.0} tx/s, {:.1} Mgas/s ({} txs, {:.1} Mgas, avg {} gas)",
            txs.len() as f64 / elapsed,
            gas as f64 / elapsed / 1e6,
            txs.len(),
            gas as f64 / 1e6,
            gas / txs.len().max(1) as u64
        );
    }
    Ok(())
}
