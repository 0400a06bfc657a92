//! Starting a devnet inside the commonware tokio runtime for a test.

use alloy::network::EthereumWallet;
use alloy::providers::{DynProvider, Provider, ProviderBuilder};
use alloy_signer_local::PrivateKeySigner;
use lazai_consensus::runtime::{Runner as _, tokio as cw_tokio};
use lazai_node::{Devnet, NodeSettings, dev_account, devnet_genesis, start_devnet};
use lazai_types::{DEVNET_CHAIN_ID, Genesis, lazai};
use std::future::Future;
use std::path::Path;
use std::time::Duration;

pub fn account(i: u32) -> PrivateKeySigner {
    dev_account(i).expect("dev account")
}

/// The devnet genesis kept in `dir` (created on first use with `tweak` applied, reused on
/// restart).
fn genesis(dir: &Path, validators: usize, tweak: impl FnOnce(&mut Genesis)) -> Genesis {
    let path = dir.join("genesis.json");
    if let Ok(text) = std::fs::read_to_string(&path) {
        return Genesis::parse(&text).expect("stored genesis");
    }
    let accounts: Vec<_> = (0..4).map(|i| account(i).address()).collect();
    let mut g = devnet_genesis(
        DEVNET_CHAIN_ID,
        validators,
        &accounts,
        lazai(10_000),
        1_000_000_000,
    );
    tweak(&mut g);
    std::fs::write(&path, serde_json::to_string(&g).expect("json")).expect("write genesis");
    g
}

/// Runs `test` against a devnet whose state lives in `dir`; returns when `test` does, dropping
/// the whole runtime without a graceful shutdown (as a killed process would).
pub fn with_devnet<F, Fut, T>(dir: &Path, validators: usize, test: F) -> T
where
    F: FnOnce(Devnet) -> Fut + Send + 'static,
    Fut: Future<Output = T> + Send + 'static,
    T: Send + 'static,
{
    with_devnet_genesis(dir, validators, |_| {}, test)
}

/// [`with_devnet`] with `tweak` applied to a freshly created genesis.
pub fn with_devnet_genesis<F, Fut, T>(
    dir: &Path,
    validators: usize,
    tweak: impl FnOnce(&mut Genesis),
    test: F,
) -> T
where
    F: FnOnce(Devnet) -> Fut + Send + 'static,
    Fut: Future<Output = T> + Send + 'static,
    T: Send + 'static,
{
    with_devnet_settings(dir, validators, tweak, |_| {}, test)
}

/// [`with_devnet_genesis`] with `settings` applied to the node settings too.
pub fn with_devnet_settings<F, Fut, T>(
    dir: &Path,
    validators: usize,
    tweak: impl FnOnce(&mut Genesis),
    settings_tweak: impl FnOnce(&mut NodeSettings),
    test: F,
) -> T
where
    F: FnOnce(Devnet) -> Fut + Send + 'static,
    Fut: Future<Output = T> + Send + 'static,
    T: Send + 'static,
{
    let mut settings = NodeSettings::new(
        genesis(dir, validators, tweak),
        dir.to_path_buf(),
        "127.0.0.1:0".parse().expect("addr"),
        Duration::from_millis(100),
    );
    // As `lazai devnet` does: the node signs for the public dev accounts, and offers the devnet
    // controls.
    settings.rpc.dev_accounts = lazai_rpc::dev::DevAccounts((0..10).map(account).collect());
    settings.dev = Some(lazai_types::DevControls::new(false));
    settings_tweak(&mut settings);
    let keys = (0..validators).map(lazai_consensus::devnet_key).collect();
    let p2p = lazai_node::ports::free_port_run(validators).expect("free loopback ports");
    let runtime = settings.runtime().with_worker_threads(2);
    cw_tokio::Runner::new(runtime).start(|context| async move {
        let devnet = start_devnet(context, settings, keys, p2p)
            .await
            .expect("devnet starts");
        test(devnet).await
    })
}

/// An alloy provider that signs with `signer` and talks HTTP to the devnet.
pub fn provider(devnet: &Devnet, signer: PrivateKeySigner) -> DynProvider {
    let url = format!("http://{}", devnet.rpc_addr())
        .parse()
        .expect("url");
    ProviderBuilder::new()
        .wallet(EthereumWallet::from(signer))
        .connect_http(url)
        .erased()
}

/// Waits until the devnet's RPC reports at least `height`.
pub async fn wait_for_height(p: &DynProvider, height: u64) {
    for _ in 0..600 {
        if p.get_block_number().await.expect("blockNumber") >= height {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("devnet did not reach height {height}");
}

/// A raw JSON-RPC request over HTTP: the HTTP status and the reply body as JSON (or as
/// `{"raw": text}` when it is not JSON); `Err` when the server cut the connection.
pub async fn raw_post(
    devnet: &Devnet,
    body: serde_json::Value,
) -> Result<(u16, serde_json::Value), String> {
    let url = format!("http://{}", devnet.rpc_addr());
    let client = alloy::transports::http::reqwest::Client::new();
    let resp = client
        .post(url)
        .header("content-type", "application/json")
        .body(serde_json::to_vec(&body).expect("json"))
        .send()
        .await
        .map_err(|e| e.to_string())?;
    let status = resp.status().as_u16();
    let bytes = resp.bytes().await.map_err(|e| e.to_string())?;
    let json = serde_json::from_slice(&bytes)
        .unwrap_or_else(|_| serde_json::json!({ "raw": String::from_utf8_lossy(&bytes) }));
    Ok((status, json))
}

/// A raw JSON-RPC call over HTTP; returns the whole reply object.
pub async fn raw_call(devnet: &Devnet, body: serde_json::Value) -> serde_json::Value {
    raw_post(devnet, body).await.expect("post").1
}

/// Sends `value` wei to `to` from the provider's wallet and waits for the finalized receipt.
pub async fn transfer(
    p: &DynProvider,
    to: alloy_primitives::Address,
    value: alloy_primitives::U256,
) -> alloy::rpc::types::TransactionReceipt {
    use alloy::network::TransactionBuilder;
    let tx = alloy::rpc::types::TransactionRequest::default()
        .with_to(to)
        .with_value(value);
    p.send_transaction(tx)
        .await
        .expect("send")
        .get_receipt()
        .await
        .expect("receipt")
}

/// What a transaction's sender paid for gas.
pub fn gas_fee(r: &alloy::rpc::types::TransactionReceipt) -> alloy_primitives::U256 {
    alloy_primitives::U256::from(r.gas_used) * alloy_primitives::U256::from(r.effective_gas_price)
}

/// Requires `call` to revert, both under `eth_call` and `eth_estimateGas`, with the custom
/// error `E` of interface `I` (decoded by alloy from the JSON-RPC error data); returns it.
pub async fn reverts_with<E, I, P, C>(call: &alloy::contract::SolCallBuilder<P, C>) -> E
where
    E: alloy::sol_types::SolError + PartialEq + std::fmt::Debug,
    I: alloy::sol_types::SolInterface,
    P: Provider,
    C: alloy::sol_types::SolCall,
{
    let err = match call.call().await {
        Ok(_) => panic!(
            "{} did not revert (expected {})",
            C::SIGNATURE,
            E::SIGNATURE
        ),
        Err(e) => e,
    };
    let decoded = err
        .as_decoded_error::<E>()
        .unwrap_or_else(|| panic!("{}: expected {}, got {err}", C::SIGNATURE, E::SIGNATURE));
    let any = err
        .as_decoded_interface_error::<I>()
        .unwrap_or_else(|| panic!("{}: not an error of the interface", E::SIGNATURE));
    assert_eq!(any.selector(), E::SELECTOR);
    let estimated = call
        .estimate_gas()
        .await
        .expect_err("estimateGas reverts too");
    assert_eq!(estimated.as_decoded_error::<E>().as_ref(), Some(&decoded));
    decoded
}
