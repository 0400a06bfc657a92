//! The DataAnchoringToken module over JSON-RPC, through an independently written Solidity
//! interface (declared here, not imported from `lazai_ledger`): the legacy ERC-1155 face as
//! LazAI's SDK uses it, the ERC-8028 face with its revenue accounting, and custom-error
//! reverts decoded by alloy from `eth_call` / `eth_estimateGas` error data.

use crate::support::*;
use alloy::contract::SolCallBuilder;
use alloy::providers::{DynProvider, Provider};
use alloy::rpc::types::{BlockNumberOrTag, TransactionReceipt};
use alloy::sol;
use alloy::sol_types::{SolCall, SolError, SolEvent};
use alloy_primitives::{Address, B256, Bytes, FixedBytes, U256, address, keccak256};
use lazai_types::lazai;

sol! {
    /// The DAT as a dApp would declare it: written from the module's documentation, with
    /// its own names for the structs and parameters (ABI compatibility is about types and
    /// order only). `mint` is overloaded: `mint_0` is the legacy ERC-1155 one, `mint_1` the
    /// ERC-8028 one.
    #[sol(rpc)]
    #[derive(Debug, PartialEq, Eq)]
    interface IDat {
        struct ClassView { uint256 id; address creator; string metadataURI; bytes32 integrityHash; uint8 unitDecimals; string policyURI; bool fungible; bool verified; uint256 totalShare; uint256 totalValue; uint256 tokenCount; uint64 createdAt; }
        struct TokenView { uint256 id; uint256 classId; address owner; uint256 value; uint256 shareRatio; uint64 expireAt; bool expired; uint64 mintedAt; }

        // ---- LazAI's ERC-1155 face ----
        function mint(address to, uint256 amount, string calldata tokenURI, bool verified) external returns (uint256);
        function batchMint(address to, uint256[] calldata ids, uint256[] calldata amounts, string[] calldata tokenURIs) external returns (uint256[] memory);
        function uri(uint256 id) external view returns (string memory);
        function verified(uint256 id) external view returns (bool);
        function setTokenVerified(uint256 id, bool isVerified) external;
        function balanceOf(address account, uint256 id) external view returns (uint256);
        function balanceOfBatch(address[] calldata accounts, uint256[] calldata ids) external view returns (uint256[] memory);
        function setApprovalForAll(address operator, bool approved) external;
        function isApprovedForAll(address account, address operator) external view returns (bool);
        function safeTransferFrom(address from, address to, uint256 id, uint256 value, bytes calldata data) external;
        function safeBatchTransferFrom(address from, address to, uint256[] calldata ids, uint256[] calldata values, bytes calldata data) external;
        function supportsInterface(bytes4 interfaceId) external view returns (bool);

        // ---- ERC-8028 face ----
        function createClass(string calldata metadataURI, bytes32 integrityHash, uint8 unitDecimals, string calldata policyURI) external returns (uint256);
        function mint(uint256 classId, address to, uint256 value, uint256 shareRatio, uint64 expireAt) external returns (uint256);
        function transferToken(uint256 tokenId, address to) external;
        function approveForClass(uint256 classId, address operator, bool approved) external;
        function isApprovedForClass(address owner, uint256 classId, address operator) external view returns (bool);
        function transferValue(uint256 fromTokenId, uint256 toTokenId, uint256 value) external;
        function setClassService(uint256 classId, address service, bool authorised) external;
        function recordUsage(uint256 tokenId, bytes32 metricType, uint256 amount) external;
        function usageOf(uint256 tokenId, bytes32 metricType) external view returns (uint256);
        function settleRevenueETH(uint256 classId) external payable;
        function settleRevenueERC20(uint256 classId, address asset, uint256 amount) external;
        function claim(uint256 tokenId, address asset, address to) external returns (uint256);
        function pendingRevenue(uint256 tokenId, address asset) external view returns (uint256);
        function classRevenue(uint256 classId, address asset) external view returns (uint256 settled, uint256 claimed, uint256 acc, uint256 carry);
        function classInfo(uint256 classId) external view returns (ClassView memory);
        function tokenInfo(uint256 tokenId) external view returns (TokenView memory);
        function ownerOf(uint256 tokenId) external view returns (address);
        function valueOf(uint256 tokenId) external view returns (uint256);
        function holdingOf(uint256 classId, address owner) external view returns (uint256);
        function classCount() external view returns (uint256);
        function tokenCount() external view returns (uint256);
        function name() external view returns (string memory);

        event ClassCreated(uint256 indexed classId, address indexed creator, string metadataURI, bytes32 integrityHash, uint8 unitDecimals, string policyURI);
        event Minted(uint256 indexed tokenId, uint256 indexed classId, address indexed to, uint256 value, uint256 shareRatio, uint64 expireAt);
        event TransferToken(uint256 indexed tokenId, address indexed from, address indexed to);
        event ValueTransferred(uint256 indexed fromTokenId, uint256 indexed toTokenId, uint256 value);
        event UsageRecorded(uint256 indexed tokenId, bytes32 indexed metricType, uint256 amount, address actor);
        event RevenueSettled(uint256 indexed classId, address indexed asset, address indexed payer, uint256 amount, uint256 accRevenuePerShare);
        event Claimed(uint256 indexed tokenId, address indexed asset, address indexed to, uint256 amount);
        event Expired(uint256 indexed tokenId, uint256 indexed classId, uint64 expireAt);
        event ApprovalForClass(address indexed owner, uint256 indexed classId, address indexed operator, bool approved);
        event VerificationChanged(uint256 indexed id, bool verified);
        event TokenMinted(address indexed to, uint256 indexed tokenId, string tokenURI);
        event TransferSingle(address indexed operator, address indexed from, address indexed to, uint256 id, uint256 value);
        event TransferBatch(address indexed operator, address indexed from, address indexed to, uint256[] ids, uint256[] values);
        event ApprovalForAll(address indexed account, address indexed operator, bool approved);
        event URI(string value, uint256 indexed id);

        error ClassNotFound(uint256 classId);
        error TokenNotFound(uint256 tokenId);
        error NotMinter(uint256 classId, address caller);
        error NotVerifier(address caller);
        error NotTokenOwner(uint256 tokenId, address caller);
        error NotOwnerNorApproved(address owner, address caller);
        error UsageNotAuthorised(uint256 tokenId, address caller);
        error QuotaExceeded(uint256 tokenId, uint256 remaining, uint256 requested);
        error InsufficientBalance(address account, uint256 id, uint256 balance, uint256 requested);
        error ZeroTotalShare(uint256 classId);
        error ZeroAmount();
        error NothingToClaim(uint256 tokenId, address asset);
        error TokenExpired(uint256 tokenId, uint64 expireAt);
        error ExpiryNotInFuture(uint64 expireAt, uint64 now);
        error ClassMismatch(uint256 fromClassId, uint256 toClassId);
        error SameToken(uint256 tokenId);
        error InvalidRecipient(address to);
        error InvalidOperator(address operator);
        error UnsupportedAsset(address asset);
        error FungibleClass(uint256 classId);
        error NotFungibleClass(uint256 classId);
        error StringTooLong(uint256 length, uint256 max);
        error LengthMismatch();
        error UriMismatch(uint256 id);
    }
}

const DAT: Address = address!("0x2eD344c586303C98FC3c6D5B42C5616ED42f9D9d");
/// Native LAZAI as a revenue asset.
const LAZAI_ASSET: Address = Address::ZERO;

type Dat = IDat::IDatInstance<DynProvider>;

fn u(n: u64) -> U256 {
    U256::from(n)
}

fn ids(ns: &[u64]) -> Vec<U256> {
    ns.iter().map(|n| U256::from(*n)).collect()
}

/// The DAT as seen by `signer`'s wallet.
fn dat_for(devnet: &lazai_node::Devnet, signer: alloy_signer_local::PrivateKeySigner) -> Dat {
    IDat::new(DAT, provider(devnet, signer))
}

/// Sends a call, waits for its finalized receipt and requires success.
async fn mined<P: Provider, C: SolCall>(call: SolCallBuilder<P, C>) -> TransactionReceipt {
    let receipt = call
        .send()
        .await
        .unwrap_or_else(|e| panic!("{} not sent: {e}", C::SIGNATURE))
        .get_receipt()
        .await
        .expect("receipt");
    assert!(receipt.status(), "{} reverted: {receipt:?}", C::SIGNATURE);
    receipt
}

/// Sends a call with an explicit gas limit (so that no estimate refuses it first) and
/// requires it to be included and to fail.
async fn mined_failing<P: Provider, C: SolCall>(call: SolCallBuilder<P, C>) -> TransactionReceipt {
    let receipt = call
        .gas(500_000)
        .send()
        .await
        .unwrap_or_else(|e| panic!("{} not sent: {e}", C::SIGNATURE))
        .get_receipt()
        .await
        .expect("receipt");
    assert!(!receipt.status(), "{} succeeded", C::SIGNATURE);
    assert!(
        receipt.inner.logs().is_empty(),
        "a failed call logs nothing"
    );
    receipt
}

/// What a receipt's transaction paid in fees.
/// Every event `E` the DAT logged in `r`.
fn events<E: SolEvent>(r: &TransactionReceipt) -> Vec<E> {
    r.inner
        .logs()
        .iter()
        .filter_map(|l| l.log_decode::<E>().ok())
        .map(|l| {
            assert_eq!(l.inner.address, DAT);
            l.inner.data
        })
        .collect()
}

/// The one event `E` the DAT logged in `r`.
fn event<E: SolEvent>(r: &TransactionReceipt) -> E {
    let mut all = events::<E>(r);
    assert_eq!(all.len(), 1, "{} events in {r:?}", E::SIGNATURE);
    all.remove(0)
}

/// Requires `call` to revert with the DAT custom error `E` (see [`reverts_with`]).
async fn reverts<E, P, C>(call: &SolCallBuilder<P, C>) -> E
where
    E: SolError + PartialEq + std::fmt::Debug,
    P: Provider,
    C: SolCall,
{
    reverts_with::<E, IDat::IDatErrors, P, C>(call).await
}

/// Waits for a finalized block whose timestamp (seconds) is at least `at`.
async fn wait_for_timestamp(p: &DynProvider, at: u64) {
    for _ in 0..200 {
        let head = p
            .get_block_by_number(BlockNumberOrTag::Latest)
            .await
            .expect("rpc")
            .expect("head");
        if head.header.timestamp >= at {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    panic!("no block at or after {at}");
}

/// The ERC-165 id of the ERC-8028 interface, computed from this file's selectors.
fn erc8028_interface_id() -> FixedBytes<4> {
    let selectors = [
        IDat::createClassCall::SELECTOR,
        IDat::mint_1Call::SELECTOR,
        IDat::transferTokenCall::SELECTOR,
        IDat::approveForClassCall::SELECTOR,
        IDat::transferValueCall::SELECTOR,
        IDat::recordUsageCall::SELECTOR,
        IDat::settleRevenueETHCall::SELECTOR,
        IDat::settleRevenueERC20Call::SELECTOR,
        IDat::claimCall::SELECTOR,
        IDat::pendingRevenueCall::SELECTOR,
    ];
    let mut id = [0u8; 4];
    for s in selectors {
        for (a, b) in id.iter_mut().zip(s) {
            *a ^= b;
        }
    }
    FixedBytes(id)
}

#[test]
fn legacy_erc1155_face_as_lazai_sdk_uses_it() {
    let dir = tempfile::tempdir().expect("tempdir");
    with_devnet(dir.path(), 1, |devnet| async move {
        let (alice, bob, carol) = (account(0), account(1), account(2));
        let (a_addr, b_addr, c_addr) = (alice.address(), bob.address(), carol.address());
        let a = dat_for(&devnet, alice);
        let b = dat_for(&devnet, bob);
        let p = a.provider().clone();
        assert!(!p.get_code_at(DAT).await.expect("code").is_empty());
        assert_eq!(
            a.name().call().await.expect("name"),
            "LazAI Data Anchoring Token"
        );
        assert_eq!(a.classCount().call().await.expect("classCount"), u(0));

        // ERC-165.
        for (id, expected) in [
            ([0xd9, 0xb6, 0x7a, 0x26], true), // ERC-1155
            ([0x01, 0xff, 0xc9, 0xa7], true), // ERC-165
            ([0x0e, 0x89, 0x34, 0x1c], true), // ERC-1155 metadata URI
            ([0xff, 0xff, 0xff, 0xff], false),
            ([0x80, 0xac, 0x58, 0xcd], false), // ERC-721
        ] {
            assert_eq!(
                a.supportsInterface(FixedBytes(id))
                    .call()
                    .await
                    .expect("165"),
                expected,
                "{id:02x?}"
            );
        }
        assert!(
            a.supportsInterface(erc8028_interface_id())
                .call()
                .await
                .expect("165")
        );

        // The SDK's mint: a fresh id, 1, from the return value and from the logs.
        let mint = a.mint_0(a_addr, u(1_000), "ipfs://dataset-1".into(), false);
        assert_eq!(mint.call().await.expect("simulated mint"), u(1));
        let r = mined(mint).await;
        let minted = event::<IDat::TokenMinted>(&r);
        assert_eq!(
            minted,
            IDat::TokenMinted {
                to: a_addr,
                tokenId: u(1),
                tokenURI: "ipfs://dataset-1".into()
            }
        );
        assert_eq!(
            event::<IDat::TransferSingle>(&r),
            IDat::TransferSingle {
                operator: a_addr,
                from: Address::ZERO,
                to: a_addr,
                id: u(1),
                value: u(1_000)
            }
        );
        assert_eq!(
            event::<IDat::URI>(&r),
            IDat::URI {
                value: "ipfs://dataset-1".into(),
                id: u(1)
            }
        );
        assert!(events::<IDat::VerificationChanged>(&r).is_empty());
        assert_eq!(
            a.balanceOf(a_addr, u(1)).call().await.expect("bal"),
            u(1_000)
        );
        assert_eq!(a.balanceOf(b_addr, u(1)).call().await.expect("bal"), u(0));
        assert_eq!(a.uri(u(1)).call().await.expect("uri"), "ipfs://dataset-1");
        assert!(!a.verified(u(1)).call().await.expect("verified"));
        assert_eq!(a.classCount().call().await.expect("classCount"), u(1));
        let class = a.classInfo(u(1)).call().await.expect("classInfo");
        assert!(class.fungible);
        assert_eq!(class.creator, a_addr);
        assert_eq!(class.totalValue, u(1_000));
        assert_eq!(class.totalShare, u(1_000));

        // Operators.
        let r = mined(a.setApprovalForAll(b_addr, true)).await;
        assert_eq!(
            event::<IDat::ApprovalForAll>(&r),
            IDat::ApprovalForAll {
                account: a_addr,
                operator: b_addr,
                approved: true
            }
        );
        assert!(
            a.isApprovedForAll(a_addr, b_addr)
                .call()
                .await
                .expect("approved")
        );
        assert!(
            !a.isApprovedForAll(b_addr, a_addr)
                .call()
                .await
                .expect("approved")
        );

        // Bob, as Alice's operator, moves part of her balance to Carol.
        let r = mined(b.safeTransferFrom(a_addr, c_addr, u(1), u(300), Bytes::new())).await;
        assert_eq!(
            event::<IDat::TransferSingle>(&r),
            IDat::TransferSingle {
                operator: b_addr,
                from: a_addr,
                to: c_addr,
                id: u(1),
                value: u(300)
            }
        );
        assert_eq!(a.balanceOf(a_addr, u(1)).call().await.expect("bal"), u(700));
        assert_eq!(a.balanceOf(c_addr, u(1)).call().await.expect("bal"), u(300));
        assert_eq!(a.balanceOf(b_addr, u(1)).call().await.expect("bal"), u(0));
        // Revoked, Bob can no longer.
        mined(a.setApprovalForAll(b_addr, false)).await;
        assert!(
            !a.isApprovedForAll(a_addr, b_addr)
                .call()
                .await
                .expect("approved")
        );
        let e: IDat::NotOwnerNorApproved =
            reverts(&b.safeTransferFrom(a_addr, b_addr, u(1), u(1), Bytes::new())).await;
        assert_eq!((e.owner, e.caller), (a_addr, b_addr));

        // A second id, then a batch transfer of both.
        let r = mined(a.mint_0(a_addr, u(50), "ipfs://dataset-2".into(), false)).await;
        assert_eq!(event::<IDat::TokenMinted>(&r).tokenId, u(2));
        let r = mined(a.safeBatchTransferFrom(
            a_addr,
            b_addr,
            ids(&[1, 2]),
            ids(&[100, 20]),
            Bytes::new(),
        ))
        .await;
        assert_eq!(
            event::<IDat::TransferBatch>(&r),
            IDat::TransferBatch {
                operator: a_addr,
                from: a_addr,
                to: b_addr,
                ids: ids(&[1, 2]),
                values: ids(&[100, 20])
            }
        );
        assert!(events::<IDat::TransferSingle>(&r).is_empty());
        let batch = a
            .balanceOfBatch(
                vec![a_addr, a_addr, b_addr, b_addr, c_addr, c_addr],
                ids(&[1, 2, 1, 2, 1, 2]),
            )
            .call()
            .await
            .expect("balanceOfBatch");
        assert_eq!(batch, ids(&[600, 30, 100, 20, 300, 0]));

        // batchMint: id 0 creates a class (3), an existing id mints more of it.
        let batch_mint = a.batchMint(
            c_addr,
            ids(&[0, 1]),
            ids(&[5, 7]),
            vec!["ipfs://dataset-3".into(), String::new()],
        );
        assert_eq!(
            batch_mint.call().await.expect("simulated batchMint"),
            ids(&[3, 1])
        );
        let r = mined(batch_mint).await;
        assert_eq!(
            event::<IDat::TransferBatch>(&r),
            IDat::TransferBatch {
                operator: a_addr,
                from: Address::ZERO,
                to: c_addr,
                ids: ids(&[3, 1]),
                values: ids(&[5, 7])
            }
        );
        // One ERC-1155 event per batch: an indexer summing transfer events must not count
        // the new class's amount twice.
        assert!(events::<IDat::TransferSingle>(&r).is_empty());
        assert_eq!(
            event::<IDat::TokenMinted>(&r),
            IDat::TokenMinted {
                to: c_addr,
                tokenId: u(3),
                tokenURI: "ipfs://dataset-3".into()
            }
        );
        assert_eq!(
            a.balanceOfBatch(vec![c_addr, c_addr, a_addr], ids(&[3, 1, 3]))
                .call()
                .await
                .expect("balanceOfBatch"),
            ids(&[5, 307, 0])
        );
        assert_eq!(a.uri(u(3)).call().await.expect("uri"), "ipfs://dataset-3");
        assert_eq!(a.uri(u(1)).call().await.expect("uri"), "ipfs://dataset-1");
        assert_eq!(
            a.classInfo(u(3)).call().await.expect("classInfo").creator,
            a_addr
        );
        assert_eq!(
            a.classInfo(u(1))
                .call()
                .await
                .expect("classInfo")
                .totalValue,
            u(1_007)
        );
        assert_eq!(a.classCount().call().await.expect("classCount"), u(3));

        // Revenue of a fungible class is shared pro rata to balance, and what accrued before
        // a transfer stays with the sender. Class 2: Alice 30, Bob 20.
        let before = p.get_balance(DAT).await.expect("balance");
        mined(a.settleRevenueETH(u(2)).value(lazai(5))).await;
        let a_tok = a.holdingOf(u(2), a_addr).call().await.expect("holding");
        let b_tok = a.holdingOf(u(2), b_addr).call().await.expect("holding");
        assert_ne!(a_tok, b_tok);
        assert_eq!(a.ownerOf(b_tok).call().await.expect("owner"), b_addr);
        let pending = |id: U256| {
            let a = a.clone();
            async move {
                a.pendingRevenue(id, LAZAI_ASSET)
                    .call()
                    .await
                    .expect("pending")
            }
        };
        assert_eq!(pending(a_tok).await, lazai(3));
        assert_eq!(pending(b_tok).await, lazai(2));
        mined(b.safeTransferFrom(b_addr, a_addr, u(2), u(10), Bytes::new())).await;
        assert_eq!(pending(a_tok).await, lazai(3));
        assert_eq!(pending(b_tok).await, lazai(2));
        // Now Alice 40, Bob 10.
        mined(a.settleRevenueETH(u(2)).value(lazai(5))).await;
        assert_eq!(pending(a_tok).await, lazai(7));
        assert_eq!(pending(b_tok).await, lazai(3));
        let bob_before = p.get_balance(b_addr).await.expect("balance");
        let r = mined(b.claim(b_tok, LAZAI_ASSET, b_addr)).await;
        assert_eq!(event::<IDat::Claimed>(&r).amount, lazai(3));
        assert_eq!(
            p.get_balance(b_addr).await.expect("balance"),
            bob_before + lazai(3) - gas_fee(&r)
        );
        assert_eq!(
            p.get_balance(DAT).await.expect("balance"),
            before + lazai(7)
        );
    });
}

#[test]
fn erc8028_face_classes_revenue_and_usage() {
    let dir = tempfile::tempdir().expect("tempdir");
    with_devnet(dir.path(), 1, |devnet| async move {
        let (alice, bob, carol, dave) = (account(0), account(1), account(2), account(3));
        let (a_addr, b_addr, c_addr, d_addr) = (
            alice.address(),
            bob.address(),
            carol.address(),
            dave.address(),
        );
        let a = dat_for(&devnet, alice);
        let b = dat_for(&devnet, bob);
        let c = dat_for(&devnet, carol);
        let d = dat_for(&devnet, dave);
        let p = a.provider().clone();
        let hash = keccak256(b"model weights v1");
        let metric = keccak256(b"inference-tokens");
        let dat_start = p.get_balance(DAT).await.expect("balance");

        // A class, by anyone.
        let create = a.createClass("ipfs://model".into(), hash, 6, "ipfs://model/policy".into());
        assert_eq!(create.call().await.expect("simulated"), u(1));
        let r = mined(create).await;
        assert_eq!(
            event::<IDat::ClassCreated>(&r),
            IDat::ClassCreated {
                classId: u(1),
                creator: a_addr,
                metadataURI: "ipfs://model".into(),
                integrityHash: hash,
                unitDecimals: 6,
                policyURI: "ipfs://model/policy".into()
            }
        );

        // The creator mints to two holders, shares 1 and 3.
        let mint = a.mint_1(u(1), b_addr, u(100), u(1), 0);
        assert_eq!(mint.call().await.expect("simulated"), u(1));
        let r = mined(mint).await;
        assert_eq!(
            event::<IDat::Minted>(&r),
            IDat::Minted {
                tokenId: u(1),
                classId: u(1),
                to: b_addr,
                value: u(100),
                shareRatio: u(1),
                expireAt: 0
            }
        );
        assert_eq!(
            event::<IDat::TransferSingle>(&r),
            IDat::TransferSingle {
                operator: a_addr,
                from: Address::ZERO,
                to: b_addr,
                id: u(1),
                value: u(100)
            }
        );
        let r = mined(a.mint_1(u(1), c_addr, u(300), u(3), 0)).await;
        assert_eq!(event::<IDat::Minted>(&r).tokenId, u(2));
        assert_eq!(a.tokenCount().call().await.expect("tokenCount"), u(2));

        // The ERC-1155 view of a semi-fungible class.
        assert_eq!(a.balanceOf(b_addr, u(1)).call().await.expect("bal"), u(100));
        assert_eq!(a.balanceOf(c_addr, u(1)).call().await.expect("bal"), u(300));
        assert_eq!(a.uri(u(1)).call().await.expect("uri"), "ipfs://model");

        // Struct views.
        let class = a.classInfo(u(1)).call().await.expect("classInfo");
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .expect("clock")
            .as_secs();
        assert!(
            class.createdAt > 0 && class.createdAt.abs_diff(now) < 120,
            "createdAt {} vs now {now}",
            class.createdAt
        );
        assert_eq!(
            class,
            IDat::ClassView {
                id: u(1),
                creator: a_addr,
                metadataURI: "ipfs://model".into(),
                integrityHash: hash,
                unitDecimals: 6,
                policyURI: "ipfs://model/policy".into(),
                fungible: false,
                verified: false,
                totalShare: u(4),
                totalValue: u(400),
                tokenCount: u(2),
                createdAt: class.createdAt,
            }
        );
        let token = a.tokenInfo(u(2)).call().await.expect("tokenInfo");
        assert!(token.mintedAt >= class.createdAt);
        assert_eq!(
            token,
            IDat::TokenView {
                id: u(2),
                classId: u(1),
                owner: c_addr,
                value: u(300),
                shareRatio: u(3),
                expireAt: 0,
                expired: false,
                mintedAt: token.mintedAt,
            }
        );

        // Class 2, whose token 3 expires in a few seconds (checked at the end, once it has)
        // and token 4 never; 2 LAZAI settled while both are live.
        let head = p
            .get_block_by_number(BlockNumberOrTag::Latest)
            .await
            .expect("rpc")
            .expect("head");
        let expire_at = head.header.timestamp + 4;
        mined(a.createClass("ipfs://lease".into(), B256::ZERO, 0, String::new())).await;
        let r = mined(a.mint_1(u(2), c_addr, u(10), u(1), expire_at)).await;
        assert_eq!(event::<IDat::Minted>(&r).expireAt, expire_at);
        mined(a.mint_1(u(2), d_addr, u(10), u(1), 0)).await;
        assert!(!a.tokenInfo(u(3)).call().await.expect("info").expired);
        mined(a.settleRevenueETH(u(2)).value(lazai(2))).await;

        // Revenue: 4 LAZAI over shares 1 and 3, from a payer who holds nothing.
        let dat_before = p.get_balance(DAT).await.expect("balance");
        let r = mined(d.settleRevenueETH(u(1)).value(lazai(4))).await;
        let settled = event::<IDat::RevenueSettled>(&r);
        assert_eq!(
            (
                settled.classId,
                settled.asset,
                settled.payer,
                settled.amount
            ),
            (u(1), LAZAI_ASSET, d_addr, lazai(4))
        );
        // acc = 4e18 wei * 1e18 / 4 shares.
        let acc = lazai(1) * lazai(1);
        assert_eq!(settled.accRevenuePerShare, acc);
        assert_eq!(
            p.get_balance(DAT).await.expect("balance"),
            dat_before + lazai(4)
        );
        let pending = |id: u64| {
            let a = a.clone();
            async move {
                a.pendingRevenue(u(id), LAZAI_ASSET)
                    .call()
                    .await
                    .expect("pending")
            }
        };
        assert_eq!(pending(1).await, lazai(1));
        assert_eq!(pending(2).await, lazai(3));
        let rev = a
            .classRevenue(u(1), LAZAI_ASSET)
            .call()
            .await
            .expect("classRevenue");
        assert_eq!(
            (rev.settled, rev.claimed, rev.acc, rev.carry),
            (lazai(4), u(0), acc, u(0))
        );

        // Carol claims to herself: her balance rises by exactly the claim less the fee.
        let claim = c.claim(u(2), LAZAI_ASSET, c_addr);
        assert_eq!(claim.call().await.expect("simulated"), lazai(3));
        let carol_before = p.get_balance(c_addr).await.expect("balance");
        let r = mined(claim).await;
        assert_eq!(
            event::<IDat::Claimed>(&r),
            IDat::Claimed {
                tokenId: u(2),
                asset: LAZAI_ASSET,
                to: c_addr,
                amount: lazai(3)
            }
        );
        assert_eq!(
            p.get_balance(c_addr).await.expect("balance"),
            carol_before + lazai(3) - gas_fee(&r)
        );
        assert_eq!(pending(2).await, u(0));
        assert_eq!(pending(1).await, lazai(1));
        let rev = a
            .classRevenue(u(1), LAZAI_ASSET)
            .call()
            .await
            .expect("classRevenue");
        assert_eq!((rev.settled, rev.claimed), (lazai(4), lazai(3)));
        assert_eq!(
            p.get_balance(DAT).await.expect("balance"),
            dat_before + lazai(1)
        );
        let e: IDat::NothingToClaim = reverts(&c.claim(u(2), LAZAI_ASSET, c_addr)).await;
        assert_eq!((e.tokenId, e.asset), (u(2), LAZAI_ASSET));

        // transferValue moves quota, not revenue weight.
        let r = mined(c.transferValue(u(2), u(1), u(50))).await;
        assert_eq!(
            event::<IDat::ValueTransferred>(&r),
            IDat::ValueTransferred {
                fromTokenId: u(2),
                toTokenId: u(1),
                value: u(50)
            }
        );
        assert_eq!(
            event::<IDat::TransferSingle>(&r),
            IDat::TransferSingle {
                operator: c_addr,
                from: c_addr,
                to: b_addr,
                id: u(1),
                value: u(50)
            }
        );
        assert_eq!(a.valueOf(u(2)).call().await.expect("value"), u(250));
        assert_eq!(a.valueOf(u(1)).call().await.expect("value"), u(150));
        assert_eq!(a.balanceOf(b_addr, u(1)).call().await.expect("bal"), u(150));
        assert_eq!(a.balanceOf(c_addr, u(1)).call().await.expect("bal"), u(250));
        assert_eq!(
            a.tokenInfo(u(1)).call().await.expect("info").shareRatio,
            u(1)
        );
        assert_eq!(pending(1).await, lazai(1));

        // Usage: by the owner, then by a service the creator authorised.
        let r = mined(b.recordUsage(u(1), metric, u(40))).await;
        assert_eq!(
            event::<IDat::UsageRecorded>(&r),
            IDat::UsageRecorded {
                tokenId: u(1),
                metricType: metric,
                amount: u(40),
                actor: b_addr
            }
        );
        assert_eq!(
            event::<IDat::TransferSingle>(&r),
            IDat::TransferSingle {
                operator: b_addr,
                from: b_addr,
                to: Address::ZERO,
                id: u(1),
                value: u(40)
            }
        );
        let e: IDat::UsageNotAuthorised = reverts(&d.recordUsage(u(1), metric, u(1))).await;
        assert_eq!((e.tokenId, e.caller), (u(1), d_addr));
        mined(a.setClassService(u(1), d_addr, true)).await;
        mined(d.recordUsage(u(1), metric, u(10))).await;
        assert_eq!(a.usageOf(u(1), metric).call().await.expect("usage"), u(50));
        assert_eq!(
            a.usageOf(u(1), keccak256(b"other"))
                .call()
                .await
                .expect("usage"),
            u(0)
        );
        assert_eq!(a.valueOf(u(1)).call().await.expect("value"), u(100));
        assert_eq!(a.balanceOf(b_addr, u(1)).call().await.expect("bal"), u(100));
        let class = a.classInfo(u(1)).call().await.expect("classInfo");
        assert_eq!((class.totalValue, class.totalShare), (u(350), u(4)));
        let e: IDat::QuotaExceeded = reverts(&b.recordUsage(u(1), metric, u(101))).await;
        assert_eq!(
            (e.tokenId, e.remaining, e.requested),
            (u(1), u(100), u(101))
        );

        // transferToken moves the whole token with its unclaimed revenue.
        let r = mined(b.transferToken(u(1), d_addr)).await;
        assert_eq!(
            event::<IDat::TransferToken>(&r),
            IDat::TransferToken {
                tokenId: u(1),
                from: b_addr,
                to: d_addr
            }
        );
        assert_eq!(
            event::<IDat::TransferSingle>(&r),
            IDat::TransferSingle {
                operator: b_addr,
                from: b_addr,
                to: d_addr,
                id: u(1),
                value: u(100)
            }
        );
        assert_eq!(a.ownerOf(u(1)).call().await.expect("owner"), d_addr);
        assert_eq!(a.balanceOf(b_addr, u(1)).call().await.expect("bal"), u(0));
        assert_eq!(a.balanceOf(d_addr, u(1)).call().await.expect("bal"), u(100));
        let e: IDat::NotTokenOwner = reverts(&b.claim(u(1), LAZAI_ASSET, b_addr)).await;
        assert_eq!((e.tokenId, e.caller), (u(1), b_addr));
        let dave_before = p.get_balance(d_addr).await.expect("balance");
        let r = mined(d.claim(u(1), LAZAI_ASSET, d_addr)).await;
        assert_eq!(event::<IDat::Claimed>(&r).amount, lazai(1));
        assert_eq!(
            p.get_balance(d_addr).await.expect("balance"),
            dave_before + lazai(1) - gas_fee(&r)
        );

        // approveForClass lets an operator move the owner's tokens of that class.
        let e: IDat::NotOwnerNorApproved = reverts(&b.transferToken(u(2), b_addr)).await;
        assert_eq!((e.owner, e.caller), (c_addr, b_addr));
        let r = mined(c.approveForClass(u(1), b_addr, true)).await;
        assert_eq!(
            event::<IDat::ApprovalForClass>(&r),
            IDat::ApprovalForClass {
                owner: c_addr,
                classId: u(1),
                operator: b_addr,
                approved: true
            }
        );
        assert!(
            a.isApprovedForClass(c_addr, u(1), b_addr)
                .call()
                .await
                .expect("approved")
        );
        assert!(
            !a.isApprovedForClass(c_addr, u(2), b_addr)
                .call()
                .await
                .expect("approved")
        );
        mined(b.transferValue(u(2), u(1), u(25))).await;
        assert_eq!(a.valueOf(u(2)).call().await.expect("value"), u(225));
        assert_eq!(a.valueOf(u(1)).call().await.expect("value"), u(125));
        mined(b.transferToken(u(2), b_addr)).await;
        assert_eq!(a.ownerOf(u(2)).call().await.expect("owner"), b_addr);
        assert_eq!(a.balanceOf(b_addr, u(1)).call().await.expect("bal"), u(225));
        assert_eq!(a.balanceOf(c_addr, u(1)).call().await.expect("bal"), u(0));

        // A second settlement: 8 LAZAI, still by share (1 : 3), whoever owns the tokens now.
        mined(a.settleRevenueETH(u(1)).value(lazai(8))).await;
        assert_eq!(pending(1).await, lazai(2));
        assert_eq!(pending(2).await, lazai(6));
        let bob_before = p.get_balance(b_addr).await.expect("balance");
        let r = mined(b.claim(u(2), LAZAI_ASSET, b_addr)).await;
        assert_eq!(event::<IDat::Claimed>(&r).amount, lazai(6));
        assert_eq!(
            p.get_balance(b_addr).await.expect("balance"),
            bob_before + lazai(6) - gas_fee(&r)
        );
        let rev = a
            .classRevenue(u(1), LAZAI_ASSET)
            .call()
            .await
            .expect("classRevenue");
        assert_eq!(
            (rev.settled, rev.claimed, rev.carry),
            (lazai(12), lazai(10), u(0))
        );
        assert_eq!(rev.acc, lazai(3) * lazai(1));
        // The module holds exactly what is settled and not yet claimed.
        assert_eq!(
            p.get_balance(DAT).await.expect("balance"),
            dat_before + lazai(2)
        );
        let class = a.classInfo(u(1)).call().await.expect("classInfo");
        assert_eq!(
            (class.totalShare, class.totalValue, class.tokenCount),
            (u(4), u(350), u(2))
        );

        // Exact rounding (class 3, shares 1 and 2): 10 wei leave a carry of 1 scaled unit
        // and 1 wei of dust; the next 2 wei absorb both, and every wei is paid out.
        mined(a.createClass("ipfs://tiny".into(), B256::ZERO, 0, String::new())).await;
        let r = mined(a.mint_1(u(3), b_addr, u(1), u(1), 0)).await;
        assert_eq!(event::<IDat::Minted>(&r).tokenId, u(5));
        mined(a.mint_1(u(3), c_addr, u(1), u(2), 0)).await;
        mined(a.settleRevenueETH(u(3)).value(u(10))).await;
        let rev = a
            .classRevenue(u(3), LAZAI_ASSET)
            .call()
            .await
            .expect("classRevenue");
        assert_eq!((rev.acc, rev.carry), (u(3_333_333_333_333_333_333), u(1)));
        assert_eq!((pending(5).await, pending(6).await), (u(3), u(6)));
        mined(a.settleRevenueETH(u(3)).value(u(2))).await;
        let rev = a
            .classRevenue(u(3), LAZAI_ASSET)
            .call()
            .await
            .expect("classRevenue");
        assert_eq!((rev.acc, rev.carry, rev.settled), (lazai(4), u(0), u(12)));
        assert_eq!((pending(5).await, pending(6).await), (u(4), u(8)));
        assert_eq!(
            event::<IDat::Claimed>(&mined(c.claim(u(6), LAZAI_ASSET, c_addr)).await).amount,
            u(8)
        );
        assert_eq!(
            event::<IDat::Claimed>(&mined(b.claim(u(5), LAZAI_ASSET, b_addr)).await).amount,
            u(4)
        );

        // Expiry (class 2): accrued revenue stays claimable, nothing accrues after, quota is
        // frozen, the token may still move.
        wait_for_timestamp(&p, expire_at).await;
        let info = a.tokenInfo(u(3)).call().await.expect("info");
        assert!(info.expired);
        assert_eq!((info.expireAt, info.owner), (expire_at, c_addr));
        assert!(!a.tokenInfo(u(4)).call().await.expect("info").expired);
        assert_eq!(pending(3).await, lazai(1));
        assert_eq!(pending(4).await, lazai(1));
        let e: IDat::TokenExpired = reverts(&c.recordUsage(u(3), metric, u(1))).await;
        assert_eq!((e.tokenId, e.expireAt), (u(3), expire_at));
        let e: IDat::TokenExpired = reverts(&c.transferValue(u(3), u(4), u(1))).await;
        assert_eq!(e.tokenId, u(3));
        let e: IDat::TokenExpired = reverts(&d.transferValue(u(4), u(3), u(1))).await;
        assert_eq!(e.tokenId, u(3));
        // The settlement retires the expired share first: all 2 LAZAI go to token 4.
        mined(a.settleRevenueETH(u(2)).value(lazai(2))).await;
        assert_eq!(
            a.classInfo(u(2)).call().await.expect("info").totalShare,
            u(1)
        );
        assert_eq!(pending(3).await, lazai(1));
        assert_eq!(pending(4).await, lazai(3));
        let r = mined(c.transferToken(u(3), b_addr)).await;
        assert_eq!(
            event::<IDat::Expired>(&r),
            IDat::Expired {
                tokenId: u(3),
                classId: u(2),
                expireAt: expire_at
            }
        );
        assert_eq!(a.balanceOf(b_addr, u(2)).call().await.expect("bal"), u(10));
        let r = mined(b.claim(u(3), LAZAI_ASSET, b_addr)).await;
        assert_eq!(event::<IDat::Claimed>(&r).amount, lazai(1));
        assert!(events::<IDat::Expired>(&r).is_empty(), "noted once");
        let r = mined(d.claim(u(4), LAZAI_ASSET, d_addr)).await;
        assert_eq!(event::<IDat::Claimed>(&r).amount, lazai(3));
        let rev = a
            .classRevenue(u(2), LAZAI_ASSET)
            .call()
            .await
            .expect("classRevenue");
        assert_eq!((rev.settled, rev.claimed), (lazai(4), lazai(4)));
        // Settled 12 + 4, claimed 10 + 4.
        assert_eq!(
            p.get_balance(DAT).await.expect("balance"),
            dat_start + lazai(2)
        );
    });
}

#[test]
fn custom_errors_decode_and_failed_transactions_change_nothing() {
    let dir = tempfile::tempdir().expect("tempdir");
    with_devnet(dir.path(), 1, |devnet| async move {
        let (alice, bob, carol) = (account(0), account(1), account(2));
        let (a_addr, b_addr, c_addr) = (alice.address(), bob.address(), carol.address());
        let a = dat_for(&devnet, alice);
        let b = dat_for(&devnet, bob);
        let c = dat_for(&devnet, carol);
        let p = a.provider().clone();
        let metric = keccak256(b"queries");

        // Class 1: Bob's token 1 (value 100, share 1). Class 2: Bob's token 2 with share 0.
        // Class 3: a fungible class of Alice's (token 3).
        mined(a.createClass("ipfs://c1".into(), B256::ZERO, 0, String::new())).await;
        mined(a.mint_1(u(1), b_addr, u(100), u(1), 0)).await;
        mined(a.createClass("ipfs://c2".into(), B256::ZERO, 0, String::new())).await;
        mined(a.mint_1(u(2), b_addr, u(10), u(0), 0)).await;
        mined(a.mint_0(a_addr, u(10), "ipfs://c3".into(), false)).await;
        assert_eq!(a.classCount().call().await.expect("classCount"), u(3));
        assert_eq!(
            a.classInfo(u(2)).call().await.expect("info").totalShare,
            u(0)
        );

        // The errors the brief names.
        let e: IDat::NotMinter = reverts(&b.mint_1(u(1), b_addr, u(1), u(1), 0)).await;
        assert_eq!((e.classId, e.caller), (u(1), b_addr));
        let e: IDat::NotOwnerNorApproved = reverts(&c.transferToken(u(1), c_addr)).await;
        assert_eq!((e.owner, e.caller), (b_addr, c_addr));
        let e: IDat::QuotaExceeded = reverts(&b.recordUsage(u(1), metric, u(101))).await;
        assert_eq!(
            (e.tokenId, e.remaining, e.requested),
            (u(1), u(100), u(101))
        );
        let e: IDat::ZeroTotalShare = reverts(&a.settleRevenueETH(u(2)).value(lazai(1))).await;
        assert_eq!(e.classId, u(2));
        let e: IDat::NotTokenOwner = reverts(&c.claim(u(1), LAZAI_ASSET, c_addr)).await;
        assert_eq!((e.tokenId, e.caller), (u(1), c_addr));
        let e: IDat::NotVerifier = reverts(&b.mint_0(b_addr, u(1), "ipfs://v".into(), true)).await;
        assert_eq!(e.caller, b_addr);
        // Neither the creator of a fungible class nor of an ERC-8028 class may verify it.
        let e: IDat::NotVerifier = reverts(&a.setTokenVerified(u(3), true)).await;
        assert_eq!(e.caller, a_addr);
        let e: IDat::NotVerifier = reverts(&a.setTokenVerified(u(1), true)).await;
        assert_eq!(e.caller, a_addr);

        // More of the interface's errors.
        let e: IDat::ClassNotFound = reverts(&a.mint_1(u(9), b_addr, u(1), u(1), 0)).await;
        assert_eq!(e.classId, u(9));
        let e: IDat::TokenNotFound = reverts(&a.tokenInfo(u(9))).await;
        assert_eq!(e.tokenId, u(9));
        let e: IDat::FungibleClass = reverts(&a.mint_1(u(3), a_addr, u(1), u(1), 0)).await;
        assert_eq!(e.classId, u(3));
        let e: IDat::NotFungibleClass =
            reverts(&b.safeTransferFrom(b_addr, c_addr, u(1), u(1), Bytes::new())).await;
        assert_eq!(e.classId, u(1));
        let e: IDat::InsufficientBalance =
            reverts(&a.safeTransferFrom(a_addr, c_addr, u(3), u(11), Bytes::new())).await;
        assert_eq!(
            (e.account, e.id, e.balance, e.requested),
            (a_addr, u(3), u(10), u(11))
        );
        let e: IDat::NotMinter =
            reverts(&b.batchMint(b_addr, ids(&[3]), ids(&[1]), vec![String::new()])).await;
        assert_eq!((e.classId, e.caller), (u(3), b_addr));
        let e: IDat::UriMismatch =
            reverts(&a.batchMint(a_addr, ids(&[3]), ids(&[1]), vec!["ipfs://x".into()])).await;
        assert_eq!(e.id, u(3));
        let _: IDat::LengthMismatch =
            reverts(&a.batchMint(a_addr, ids(&[0, 0]), ids(&[1]), vec![String::new()])).await;
        let _: IDat::ZeroAmount = reverts(&a.mint_0(a_addr, u(0), String::new(), false)).await;
        let e: IDat::InvalidRecipient =
            reverts(&a.mint_0(Address::ZERO, u(1), String::new(), false)).await;
        assert_eq!(e.to, Address::ZERO);
        let e: IDat::StringTooLong =
            reverts(&a.createClass("x".repeat(1025), B256::ZERO, 0, String::new())).await;
        assert_eq!((e.length, e.max), (u(1025), u(1024)));
        let e: IDat::ExpiryNotInFuture = reverts(&a.mint_1(u(1), b_addr, u(1), u(1), 1)).await;
        assert_eq!(e.expireAt, 1);
        assert!(e.now > 1_600_000_000);
        let e: IDat::SameToken = reverts(&b.transferValue(u(1), u(1), u(1))).await;
        assert_eq!(e.tokenId, u(1));
        let e: IDat::ClassMismatch = reverts(&b.transferValue(u(1), u(2), u(1))).await;
        assert_eq!((e.fromClassId, e.toClassId), (u(1), u(2)));
        let e: IDat::InvalidOperator = reverts(&a.setApprovalForAll(a_addr, true)).await;
        assert_eq!(e.operator, a_addr);
        let e: IDat::UnsupportedAsset =
            reverts(&a.settleRevenueERC20(u(1), Address::repeat_byte(7), u(1))).await;
        assert_eq!(e.asset, Address::repeat_byte(7));
        let e: IDat::NothingToClaim = reverts(&b.claim(u(1), LAZAI_ASSET, b_addr)).await;
        assert_eq!(e.tokenId, u(1));
        // Value sent to anything but settleRevenueETH is refused with a plain reason.
        let err = a
            .mint_0(a_addr, u(1), String::new(), false)
            .value(u(1))
            .call()
            .await
            .expect_err("not payable");
        assert!(err.to_string().contains("not payable"), "{err}");

        // A failed transaction is included, charges gas and changes nothing else.
        let bob_before = p.get_balance(b_addr).await.expect("balance");
        let bob_nonce = p.get_transaction_count(b_addr).await.expect("nonce");
        let r = mined_failing(b.recordUsage(u(1), metric, u(101))).await;
        assert_eq!(
            p.get_balance(b_addr).await.expect("balance"),
            bob_before - gas_fee(&r)
        );
        assert_eq!(
            p.get_transaction_count(b_addr).await.expect("nonce"),
            bob_nonce + 1
        );
        assert_eq!(a.valueOf(u(1)).call().await.expect("value"), u(100));
        assert_eq!(a.usageOf(u(1), metric).call().await.expect("usage"), u(0));
        assert_eq!(a.balanceOf(b_addr, u(1)).call().await.expect("bal"), u(100));

        // With value: the value comes back, the module's balance and books are untouched.
        let alice_before = p.get_balance(a_addr).await.expect("balance");
        let dat_before = p.get_balance(DAT).await.expect("balance");
        let r = mined_failing(a.settleRevenueETH(u(2)).value(lazai(1))).await;
        assert_eq!(
            p.get_balance(a_addr).await.expect("balance"),
            alice_before - gas_fee(&r)
        );
        assert_eq!(p.get_balance(DAT).await.expect("balance"), dat_before);
        let rev = a
            .classRevenue(u(2), LAZAI_ASSET)
            .call()
            .await
            .expect("classRevenue");
        assert_eq!((rev.settled, rev.acc), (u(0), u(0)));

        // An unauthorised mint sent anyway: no class change, no token.
        let r = mined_failing(b.mint_1(u(1), b_addr, u(5), u(5), 0)).await;
        assert!(r.gas_used > 21_000);
        assert_eq!(a.tokenCount().call().await.expect("tokenCount"), u(3));
        let class = a.classInfo(u(1)).call().await.expect("classInfo");
        assert_eq!((class.totalShare, class.totalValue), (u(1), u(100)));
    });
}
