//! The `lazai` binary as a user runs it.

use alloy::network::{EthereumWallet, TransactionBuilder};
use alloy::providers::{DynProvider, Provider, ProviderBuilder};
use alloy::rpc::types::{BlockNumberOrTag, TransactionRequest};
use alloy_primitives::{Address, U256};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

pub(crate) const DEV_KEY_0: &str =
    "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80";

pub(crate) fn free_port() -> u16 {
    lazai_cli::devnet::cluster::free_ports(1).expect("a free port")[0]
}

pub(crate) fn lazai(args: &[&str]) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_lazai"));
    cmd.args(args)
        .env("LAZAI_LOG", "warn")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    cmd
}

/// Kills the child with SIGKILL when dropped, so a failing test leaves no process behind.
pub(crate) struct Killed(pub(crate) Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

pub(crate) fn provider(rpc: u16) -> DynProvider {
    let signer: alloy_signer_local::PrivateKeySigner = DEV_KEY_0.parse().expect("key");
    let url = format!("http://127.0.0.1:{rpc}").parse().expect("url");
    ProviderBuilder::new()
        .wallet(EthereumWallet::from(signer))
        .connect_http(url)
        .erased()
}

pub(crate) async fn wait_for_height(p: &DynProvider, height: u64) -> u64 {
    for _ in 0..1200 {
        if let Ok(h) = p.get_block_number().await
            && h >= height
        {
            return h;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("node did not reach height {height}");
}

/// Sends `value` wei to `to` from dev account 0 and waits for the finalized receipt.
pub(crate) async fn transfer(
    p: &DynProvider,
    to: Address,
    value: U256,
) -> alloy::rpc::types::TransactionReceipt {
    let tx = TransactionRequest::default().with_to(to).with_value(value);
    p.send_transaction(tx)
        .await
        .expect("send")
        .get_receipt()
        .await
        .expect("receipt")
}

fn devnet(dir: &Path, rpc: u16, p2p: u16) -> Killed {
    let (dir, rpc, p2p) = (
        dir.display().to_string(),
        format!("127.0.0.1:{rpc}"),
        p2p.to_string(),
    );
    let args = [
        "devnet",
        "--data-dir",
        &dir,
        "--rpc-addr",
        &rpc,
        "--p2p-port",
        &p2p,
        "--block-time",
        "100",
    ];
    Killed(lazai(&args).spawn().expect("spawn lazai devnet"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_and_restart_keeps_every_finalized_transaction() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (rpc, p2p) = (free_port(), free_port());
    let recipient = Address::repeat_byte(0x55);
    let mut node = devnet(dir.path(), rpc, p2p);
    let p = provider(rpc);
    wait_for_height(&p, 1).await;
    for i in 1..=5u64 {
        assert!(transfer(&p, recipient, U256::from(i)).await.status());
    }
    // Kill it mid-flight: keep sending while it dies.
    let tx = TransactionRequest::default()
        .with_to(recipient)
        .with_value(U256::from(100));
    let _ = p.send_transaction(tx).await;
    node.0.kill().expect("SIGKILL");
    node.0.wait().expect("reaped");
    drop(node);

    // Kill it a few more times at arbitrary points of its life: each restart must reopen a
    // consistent chain (the node refuses to start on a state root mismatch).
    for delay_ms in [0u64, 150, 400] {
        let mut node = devnet(dir.path(), rpc, p2p);
        tokio::time::sleep(Duration::from_millis(delay_ms)).await;
        node.0.kill().expect("SIGKILL");
        node.0.wait().expect("reaped");
    }

    let _node = devnet(dir.path(), rpc, p2p);
    let p = provider(rpc);
    let height = wait_for_height(&p, 1).await;
    let balance = p.get_balance(recipient).await.expect("balance");
    let sender: alloy_signer_local::PrivateKeySigner = DEV_KEY_0.parse().expect("key");
    let nonce = p
        .get_transaction_count(sender.address())
        .await
        .expect("nonce");
    // The five confirmed transfers survived; the one in flight either finalized or was lost
    // whole, never half.
    assert!(
        balance == U256::from(15) || balance == U256::from(115),
        "balance {balance}"
    );
    assert_eq!(nonce, if balance == U256::from(15) { 5 } else { 6 });
    // Every block up to the restart height is there with a consistent state root chain.
    let block = p
        .get_block_by_number(BlockNumberOrTag::Number(height))
        .await
        .expect("rpc")
        .expect("block");
    let parent = p
        .get_block_by_number(BlockNumberOrTag::Number(height - 1))
        .await
        .expect("rpc")
        .expect("parent");
    assert_eq!(block.header.parent_hash, parent.header.hash);
    // The state survived whole: a proof of the recipient checks against its block's header,
    // and the state of the block before is still readable.
    let proof = lazai_client::proof::get_proof(&p, recipient, &[], None)
        .await
        .expect("lazai_getProof");
    let at: u64 = proof.block_number.to();
    let proven = p
        .get_block_by_number(BlockNumberOrTag::Number(at))
        .await
        .expect("rpc")
        .expect("proof block");
    lazai_client::proof::verify(proven.header.state_root, &proof).expect("proof verifies");
    assert_eq!(proof.balance, balance);
    let before = p
        .get_balance(recipient)
        .block_id((at - 1).into())
        .await
        .expect("balance at the block before");
    assert!(before <= balance);
    // And it keeps finalizing.
    wait_for_height(&p, height + 5).await;
    assert!(transfer(&p, recipient, U256::from(1)).await.status());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn validator_from_cli_made_key_genesis_and_config() {
    let dir = tempfile::tempdir().expect("tempdir");
    let d = dir.path();
    let key = d.join("validator.key");
    let genesis = d.join("genesis.json");
    let (rpc, p2p) = (free_port(), free_port());
    assert!(
        lazai(&["keys", "generate", "--out", &key.display().to_string()])
            .status()
            .expect("run")
            .success()
    );
    assert!(
        !lazai(&["keys", "generate", "--out", &key.display().to_string()])
            .status()
            .expect("run")
            .success(),
        "refuses to overwrite"
    );
    let spec = format!("{}@127.0.0.1:{p2p}", key.display());
    let out = genesis.display().to_string();
    let status = lazai(&[
        "genesis",
        "--validator",
        &spec,
        "--dev-accounts",
        "2",
        "--out",
        &out,
    ])
    .status()
    .expect("run");
    assert!(status.success());
    std::fs::write(
        d.join("node.toml"),
        format!("genesis = \"genesis.json\"\nkey = \"validator.key\"\ndata_dir = \"data\"\nrpc_addr = \"127.0.0.1:{rpc}\"\np2p_addr = \"127.0.0.1:{p2p}\"\nblock_time_ms = 100\n"),
    )
    .expect("config");
    let config = d.join("node.toml").display().to_string();
    let _node = Killed(
        lazai(&["node", "--config", &config])
            .spawn()
            .expect("spawn"),
    );
    let p = provider(rpc);
    wait_for_height(&p, 3).await;
    assert!(
        transfer(&p, Address::repeat_byte(0x66), U256::from(7))
            .await
            .status()
    );
    let status = Command::new(env!("CARGO_BIN_EXE_lazai"))
        .args([
            "status",
            "--json",
            "--rpc",
            &format!("http://127.0.0.1:{rpc}"),
        ])
        .output()
        .expect("status");
    assert!(status.status.success());
    let json: serde_json::Value = serde_json::from_slice(&status.stdout).expect("json");
    assert_eq!(json["chainId"], 133_718);
    assert_eq!(json["validators"].as_array().map(|v| v.len()), Some(1));

    // A bad config is a clear error, not a panic.
    std::fs::write(d.join("bad.toml"), "genesis = 5\n").expect("write");
    let bad = Command::new(env!("CARGO_BIN_EXE_lazai"))
        .args([
            "node",
            "--config",
            &d.join("bad.toml").display().to_string(),
        ])
        .output()
        .expect("run");
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("error:"));
}
