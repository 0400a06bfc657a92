//! Transfers, receipts, balances, logs, calls and gas estimates through alloy.

use crate::support::*;
use alloy::providers::{Provider, ProviderBuilder};
use alloy::rpc::types::{BlockNumberOrTag, Filter};
use alloy::sol;
use alloy_primitives::{Address, U256, address};
use lazai_types::lazai;

sol! {
    #[sol(rpc)]
    #[derive(Debug)]
    interface IIdaoRegistry {
        struct Idao { uint256 id; address owner; string name; string metadataUri; uint8 roles; bytes32 consensusKey; string p2pAddress; uint256 bonded; uint256 unbonding; bool jailed; }
        function name() external view returns (string memory);
        function version() external pure returns (uint256);
        function registerIdao(string calldata name, string calldata metadataUri) external returns (uint256 idaoId);
        function getIdao(uint256 idaoId) external view returns (Idao memory);
        function idaoCount() external view returns (uint256);
        event IdaoRegistered(uint256 indexed idaoId, address indexed owner, string name);
        error IdaoNotFound(uint256 idaoId);
    }
}

const REGISTRY: Address = address!("0xEA30BA91F4DB33Ef0360Fc04d8E201954474dbD1");

#[test]
fn transfers_receipts_and_blocks() {
    let dir = tempfile::tempdir().expect("tempdir");
    with_devnet(dir.path(), 1, |devnet| async move {
        let (alice, bob) = (account(0), account(1));
        let p = provider(&devnet, alice.clone());
        assert_eq!(p.get_chain_id().await.expect("chainId"), 133_718);
        let before = p.get_balance(bob.address()).await.expect("balance");
        assert_eq!(before, lazai(10_000));
        let receipt = transfer(&p, bob.address(), lazai(1)).await;
        assert!(receipt.status());
        assert_eq!(receipt.gas_used, 21_000);
        assert_eq!(receipt.from, alice.address());
        assert_eq!(
            p.get_balance(bob.address()).await.expect("balance"),
            lazai(10_001)
        );
        let fee = U256::from(receipt.gas_used) * U256::from(receipt.effective_gas_price);
        assert_eq!(
            p.get_balance(alice.address()).await.expect("balance"),
            lazai(10_000) - lazai(1) - fee
        );
        assert_eq!(
            p.get_transaction_count(alice.address())
                .await
                .expect("nonce"),
            1
        );

        let height = receipt.block_number.expect("mined");
        let block = p
            .get_block_by_number(BlockNumberOrTag::Number(height))
            .full()
            .await
            .expect("rpc")
            .expect("block");
        assert_eq!(block.header.hash, receipt.block_hash.expect("hash"));
        assert!(block.header.base_fee_per_gas.is_some());
        assert_eq!(block.transactions.len(), 1);
        let by_hash = p
            .get_block_by_hash(block.header.hash)
            .await
            .expect("rpc")
            .expect("block");
        assert_eq!(by_hash.header.state_root, block.header.state_root);
        let tx = p
            .get_transaction_by_hash(receipt.transaction_hash)
            .await
            .expect("rpc")
            .expect("tx");
        assert_eq!(tx.block_number, Some(height));
        // `latest` is the last finalized block.
        let latest = p
            .get_block_by_number(BlockNumberOrTag::Latest)
            .await
            .expect("rpc")
            .expect("latest");
        assert!(latest.header.number >= height);
    });
}

#[test]
fn native_module_calls_logs_and_estimates() {
    let dir = tempfile::tempdir().expect("tempdir");
    with_devnet(dir.path(), 1, |devnet| async move {
        let alice = account(0);
        let p = provider(&devnet, alice.clone());
        assert!(
            !p.get_code_at(REGISTRY).await.expect("code").is_empty(),
            "modules have code"
        );
        assert!(
            p.get_code_at(alice.address())
                .await
                .expect("code")
                .is_empty()
        );
        let registry = IIdaoRegistry::new(REGISTRY, p.clone());
        assert_eq!(
            registry.name().call().await.expect("name"),
            "LazAI iDAO Registry"
        );
        assert_eq!(
            registry.version().call().await.expect("version"),
            U256::from(1)
        );

        let call = registry.registerIdao("weather".into(), "ipfs://weather".into());
        let estimate = call.estimate_gas().await.expect("estimate");
        assert!(estimate > 21_000);
        let receipt = call
            .send()
            .await
            .expect("send")
            .get_receipt()
            .await
            .expect("receipt");
        assert!(receipt.status());
        assert!(receipt.gas_used <= estimate);
        let logs = receipt.inner.logs();
        assert_eq!(logs.len(), 1);
        let event = logs[0]
            .log_decode::<IIdaoRegistry::IdaoRegistered>()
            .expect("decodes");
        assert_eq!(event.inner.owner, alice.address());

        let filter = Filter::new()
            .address(REGISTRY)
            .event_signature(
                <IIdaoRegistry::IdaoRegistered as alloy::sol_types::SolEvent>::SIGNATURE_HASH,
            )
            .from_block(0);
        let found = p.get_logs(&filter).await.expect("logs");
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].transaction_hash, Some(receipt.transaction_hash));
        let none = p
            .get_logs(&Filter::new().address(alice.address()).from_block(0))
            .await
            .expect("logs");
        assert!(none.is_empty());

        // Genesis validators hold the first ids.
        assert_eq!(event.inner.idaoId, U256::from(2));
        let idao = registry
            .getIdao(event.inner.idaoId)
            .call()
            .await
            .expect("getIdao");
        assert_eq!(idao.name, "weather");
        assert_eq!(idao.bonded, U256::ZERO);
        let validator = registry
            .getIdao(U256::from(1))
            .call()
            .await
            .expect("getIdao");
        assert_eq!(validator.name, "validator-0");
        assert!(validator.bonded > U256::ZERO);
        let missing = registry
            .getIdao(U256::from(7))
            .call()
            .await
            .expect_err("reverts");
        let decoded = missing
            .as_decoded_error::<IIdaoRegistry::IdaoNotFound>()
            .expect("custom error");
        assert_eq!(decoded.idaoId, U256::from(7));
    });
}

#[test]
fn websocket_subscriptions_deliver_heads_and_logs() {
    use alloy::providers::WsConnect;
    use futures::StreamExt;
    let dir = tempfile::tempdir().expect("tempdir");
    with_devnet(dir.path(), 1, |devnet| async move {
        let alice = account(0);
        let ws = ProviderBuilder::new()
            .wallet(alloy::network::EthereumWallet::from(alice.clone()))
            .connect_ws(WsConnect::new(format!("ws://{}", devnet.rpc_addr())))
            .await
            .expect("ws connects");
        let mut heads = ws.subscribe_blocks().await.expect("newHeads").into_stream();
        let first = heads.next().await.expect("a head");
        let second = heads.next().await.expect("another head");
        assert_eq!(second.number, first.number + 1);
        assert_eq!(second.parent_hash, first.hash);

        let filter = Filter::new().address(REGISTRY);
        let mut logs = ws
            .subscribe_logs(&filter)
            .await
            .expect("logs")
            .into_stream();
        let registry = IIdaoRegistry::new(REGISTRY, ws.clone());
        let receipt = registry
            .registerIdao("ws".into(), String::new())
            .send()
            .await
            .expect("send")
            .get_receipt()
            .await
            .expect("receipt");
        let log = tokio::time::timeout(std::time::Duration::from_secs(10), logs.next())
            .await
            .expect("log in time")
            .expect("a log");
        assert_eq!(log.transaction_hash, Some(receipt.transaction_hash));
        assert_eq!(log.address(), REGISTRY);
    });
}

#[test]
fn filters_and_pending_transactions_through_alloy() {
    use alloy::providers::WsConnect;
    use alloy::rpc::types::Log;
    use alloy_primitives::B256;
    use futures::StreamExt;
    use std::time::Duration;
    let dir = tempfile::tempdir().expect("tempdir");
    with_devnet(dir.path(), 1, |devnet| async move {
        let alice = account(0);
        let p = provider(&devnet, alice.clone());
        wait_for_height(&p, 1).await;
        let every = Duration::from_millis(50);
        let registered = Filter::new().address(REGISTRY);
        // Polling filters over HTTP, by hand and through alloy's pollers.
        let blocks = p.new_block_filter().await.expect("newBlockFilter");
        let logs = p.new_filter(&registered).await.expect("newFilter");
        let pending = p
            .new_pending_transactions_filter(false)
            .await
            .expect("newPendingTransactionFilter");
        let mut watched_blocks = p
            .watch_blocks()
            .await
            .expect("watch_blocks")
            .with_poll_interval(every)
            .into_stream();
        let mut watched_logs = p
            .watch_logs(&registered)
            .await
            .expect("watch_logs")
            .with_poll_interval(every)
            .into_stream();
        let mut watched_pending = p
            .watch_pending_transactions()
            .await
            .expect("watch_pending_transactions")
            .with_poll_interval(every)
            .into_stream();
        // Subscriptions over WebSocket.
        let ws = ProviderBuilder::new()
            .connect_ws(WsConnect::new(format!("ws://{}", devnet.rpc_addr())))
            .await
            .expect("ws connects");
        let mut ws_pending = ws
            .subscribe_pending_transactions()
            .await
            .expect("newPendingTransactions")
            .into_stream();

        let registry = IIdaoRegistry::new(REGISTRY, p.clone());
        let sent = registry
            .registerIdao("filters".into(), String::new())
            .send()
            .await
            .expect("send");
        let tx_hash = *sent.tx_hash();
        let receipt = sent.get_receipt().await.expect("receipt");
        let block_hash = receipt.block_hash.expect("mined");
        let in_time = Duration::from_secs(20);

        tokio::time::timeout(in_time, async {
            while ws_pending.next().await.expect("subscription open") != tx_hash {}
        })
        .await
        .expect("the transaction's hash is pushed");

        let hashes: Vec<B256> = p.get_filter_changes(pending).await.expect("changes");
        assert!(hashes.contains(&tx_hash), "{hashes:?}");
        let new_blocks: Vec<B256> = p.get_filter_changes(blocks).await.expect("changes");
        assert!(new_blocks.contains(&block_hash), "{new_blocks:?}");
        let new_logs: Vec<Log> = p.get_filter_changes(logs).await.expect("changes");
        assert_eq!(new_logs.len(), 1, "{new_logs:?}");
        assert_eq!(new_logs[0].transaction_hash, Some(tx_hash));
        let again: Vec<Log> = p.get_filter_changes(logs).await.expect("changes");
        assert!(again.is_empty(), "reported once: {again:?}");
        let from_genesis = p
            .new_filter(&registered.clone().from_block(0))
            .await
            .expect("newFilter");
        let all = p
            .get_filter_logs(from_genesis)
            .await
            .expect("getFilterLogs");
        assert!(all.iter().any(|l| l.transaction_hash == Some(tx_hash)));
        assert!(p.uninstall_filter(logs).await.expect("uninstall"));
        assert!(!p.uninstall_filter(logs).await.expect("uninstall"));
        let gone = p
            .get_filter_changes::<Log>(logs)
            .await
            .expect_err("uninstalled");
        assert!(gone.to_string().contains("filter not found"), "{gone}");

        tokio::time::timeout(in_time, async {
            while !watched_blocks
                .next()
                .await
                .expect("poller runs")
                .contains(&block_hash)
            {}
            loop {
                let batch = watched_logs.next().await.expect("poller runs");
                if let Some(log) = batch.first() {
                    assert_eq!(log.transaction_hash, Some(tx_hash));
                    break;
                }
            }
            while !watched_pending
                .next()
                .await
                .expect("poller runs")
                .contains(&tx_hash)
            {}
        })
        .await
        .expect("pollers see the block, the log and the transaction");
    });
}
