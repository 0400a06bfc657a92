//! The DataAnchoringToken through signed transactions: both faces, every refusal as a
//! decodable custom error, and a model-checked property test of the revenue ledger.

use crate::support::*;
use alloy_primitives::{Address, B256, Bytes, U256};
use alloy_signer_local::PrivateKeySigner;
use alloy_sol_types::{SolCall, SolError, SolEvent, SolInterface, SolValue};
use lazai_abi::{
    DAT_ADDRESS, DAT_INTERFACE_ID, DATA_REGISTRY_ADDRESS, IDataAnchoringToken as I, SCALE,
};
use lazai_ledger::modules::{Call, Dat, IdaoRegistry, Module, ModuleError, Modules};
use lazai_ledger::{BlockEnv, CallParams, Ledger, State};
use lazai_types::Receipt;
use proptest::prelude::*;
use std::sync::Arc;

use I::IDataAnchoringTokenErrors as Errors;

/// A ledger and a state with funded signers, driven one transaction at a time.
struct Bench {
    ledger: Ledger,
    state: State,
    env: BlockEnv,
    signers: Vec<PrivateKeySigner>,
    nonces: Vec<u64>,
}

impl Bench {
    fn new(n: u8) -> Self {
        Self::with_ledger(n, ledger())
    }

    fn with_ledger(n: u8, ledger: Ledger) -> Self {
        let signers: Vec<_> = (0..n).map(signer).collect();
        let refs: Vec<_> = signers.iter().collect();
        let state = funded(&refs, U256::from(10u128.pow(24)));
        Self {
            ledger,
            state,
            env: env(),
            nonces: vec![0; n as usize],
            signers,
        }
    }

    fn addr(&self, i: usize) -> Address {
        self.signers[i].address()
    }

    fn now(&self) -> u64 {
        self.env.timestamp_ms / 1000
    }

    fn send_value(&mut self, from: usize, input: Vec<u8>, value: U256) -> Receipt {
        let tx = Tx {
            value,
            gas: 2_000_000,
            ..Tx::call(self.nonces[from], DAT_ADDRESS, input)
        };
        let tx = recover(&tx.eip1559(&self.signers[from]));
        self.nonces[from] += 1;
        self.env.height += 1;
        self.ledger
            .apply(&mut self.state, &self.env, &tx, 0)
            .expect("transaction is valid")
    }

    fn send(&mut self, from: usize, input: Vec<u8>) -> Receipt {
        self.send_value(from, input, U256::ZERO)
    }

    /// Sends and requires success.
    fn ok(&mut self, from: usize, input: Vec<u8>) -> Receipt {
        let r = self.send(from, input);
        assert!(r.success, "reverted: {:?}", decode_error(&r.output));
        r
    }

    fn view<C: SolCall>(&self, c: C) -> C::Return {
        let out = self
            .ledger
            .call(
                &self.state,
                &self.env,
                &CallParams {
                    from: Address::ZERO,
                    to: Some(DAT_ADDRESS),
                    value: U256::ZERO,
                    input: c.abi_encode().into(),
                    gas_limit: 10_000_000,
                    ..Default::default()
                },
            )
            .expect("call");
        assert!(
            out.success,
            "view reverted: {:?}",
            decode_error(&out.output)
        );
        C::abi_decode_returns(&out.output).expect("decodes")
    }

    fn pending(&self, token: u64) -> U256 {
        self.view(I::pendingRevenueCall {
            tokenId: U256::from(token),
            asset: Address::ZERO,
        })
    }
}

fn decode_error(out: &Bytes) -> Result<Errors, String> {
    Errors::abi_decode(out).map_err(|_| format!("not a DAT custom error: {out}"))
}

fn expect_error<E: SolError + PartialEq + std::fmt::Debug>(r: &Receipt, want: E) {
    assert!(!r.success, "expected {} but succeeded", E::SIGNATURE);
    assert!(r.logs.is_empty(), "a revert keeps no logs");
    let got = E::abi_decode(&r.output).unwrap_or_else(|_| {
        panic!(
            "expected {}, got {:?}",
            E::SIGNATURE,
            decode_error(&r.output)
        )
    });
    assert_eq!(got, want);
}

fn create_class(b: &mut Bench, from: usize) -> U256 {
    let r = b.ok(
        from,
        I::createClassCall {
            metadataURI: "ipfs://dataset".into(),
            integrityHash: B256::repeat_byte(7),
            unitDecimals: 0,
            policyURI: "ipfs://policy".into(),
        }
        .abi_encode(),
    );
    U256::abi_decode(&r.output).expect("class id")
}

fn mint(
    b: &mut Bench,
    from: usize,
    class: U256,
    to: Address,
    value: u64,
    share: u64,
    expire_at: u64,
) -> Receipt {
    b.send(
        from,
        I::mint_0Call {
            classId: class,
            to,
            value: U256::from(value),
            shareRatio: U256::from(share),
            expireAt: expire_at,
        }
        .abi_encode(),
    )
}

fn settle(b: &mut Bench, from: usize, class: U256, wei: u128) -> Receipt {
    b.send_value(
        from,
        I::settleRevenueETHCall { classId: class }.abi_encode(),
        U256::from(wei),
    )
}

fn claim(b: &mut Bench, from: usize, token: u64, to: Address) -> Receipt {
    b.send(
        from,
        I::claimCall {
            tokenId: U256::from(token),
            asset: Address::ZERO,
            to,
        }
        .abi_encode(),
    )
}

const LAZAI: u128 = 1_000_000_000_000_000_000;

#[test]
fn interface_ids_and_erc165() {
    let b = Bench::new(1);
    assert_eq!(
        alloy_primitives::hex::encode(DAT_INTERFACE_ID),
        "ada7a129",
        "the DAT interface id documented in the module and README"
    );
    for (id, want) in [
        ([0x01, 0xff, 0xc9, 0xa7], true),
        ([0xd9, 0xb6, 0x7a, 0x26], true),
        ([0x0e, 0x89, 0x34, 0x1c], true),
        (DAT_INTERFACE_ID, true),
        ([0xff, 0xff, 0xff, 0xff], false),
        ([0x80, 0xac, 0x58, 0xcd], false),
    ] {
        let got = b.view(I::supportsInterfaceCall {
            interfaceId: id.into(),
        });
        assert_eq!(
            got,
            want,
            "supportsInterface(0x{})",
            alloy_primitives::hex::encode(id)
        );
    }
}

#[test]
fn legacy_face_behaves_as_erc1155() {
    let mut b = Bench::new(3);
    let (alice, bob) = (b.addr(1), b.addr(2));
    let r = b.ok(
        0,
        I::mint_1Call {
            to: alice,
            amount: U256::from(100),
            tokenURI: "ipfs://file-1".into(),
            verified: false,
        }
        .abi_encode(),
    );
    assert_eq!(
        U256::abi_decode(&r.output).expect("decodes"),
        U256::from(1),
        "ids start at 1"
    );
    let minted = r
        .logs
        .iter()
        .find_map(|l| I::TokenMinted::decode_log_data(&l.data).ok())
        .expect("TokenMinted");
    assert_eq!((minted.to, minted.tokenId), (alice, U256::from(1)));
    assert!(
        r.logs
            .iter()
            .any(|l| I::TransferSingle::decode_log_data(&l.data).is_ok())
    );
    assert!(
        r.logs
            .iter()
            .any(|l| I::URI::decode_log_data(&l.data).is_ok())
    );
    let id = U256::from(1);
    assert_eq!(
        b.view(I::balanceOfCall { account: alice, id }),
        U256::from(100)
    );
    assert_eq!(b.view(I::uriCall { id }), "ipfs://file-1");
    assert!(!b.view(I::verifiedCall { id }));

    // A second mint gets the next id, as LazAI's auto-incrementing contract does.
    let r = b.ok(
        0,
        I::mint_1Call {
            to: bob,
            amount: U256::from(5),
            tokenURI: "ipfs://file-2".into(),
            verified: false,
        }
        .abi_encode(),
    );
    assert_eq!(U256::abi_decode(&r.output).expect("decodes"), U256::from(2));

    // Alice moves 30 to Bob; Bob's holding of class 1 is created on receipt.
    b.ok(
        1,
        I::safeTransferFromCall {
            from: alice,
            to: bob,
            id,
            value: U256::from(30),
            data: Bytes::new(),
        }
        .abi_encode(),
    );
    let balances = b.view(I::balanceOfBatchCall {
        accounts: vec![alice, bob, bob],
        ids: vec![id, id, U256::from(2)],
    });
    assert_eq!(
        balances,
        vec![U256::from(70), U256::from(30), U256::from(5)]
    );

    // Bob may not move Alice's balance until she approves him for all.
    let steal = I::safeTransferFromCall {
        from: alice,
        to: bob,
        id,
        value: U256::from(1),
        data: Bytes::new(),
    }
    .abi_encode();
    let r = b.send(2, steal.clone());
    expect_error(
        &r,
        I::NotOwnerNorApproved {
            owner: alice,
            caller: bob,
        },
    );
    b.ok(
        1,
        I::setApprovalForAllCall {
            operator: bob,
            approved: true,
        }
        .abi_encode(),
    );
    assert!(b.view(I::isApprovedForAllCall {
        account: alice,
        operator: bob
    }));
    b.ok(2, steal);
    // More than the balance: a clear error, nothing moves.
    let r = b.send(
        1,
        I::safeBatchTransferFromCall {
            from: alice,
            to: bob,
            ids: vec![id],
            values: vec![U256::from(70)],
            data: Bytes::new(),
        }
        .abi_encode(),
    );
    expect_error(
        &r,
        I::InsufficientBalance {
            account: alice,
            id,
            balance: U256::from(69),
            requested: U256::from(70),
        },
    );

    // batchMint: id 0 creates a class; an existing id mints more of it (creator only).
    let r = b.ok(
        0,
        I::batchMintCall {
            to: alice,
            ids: vec![U256::ZERO, id],
            amounts: vec![U256::from(9), U256::from(1)],
            tokenURIs: vec!["ipfs://file-3".into(), String::new()],
        }
        .abi_encode(),
    );
    assert_eq!(
        <Vec<U256>>::abi_decode(&r.output).expect("decodes"),
        vec![U256::from(3), id]
    );
    assert_eq!(
        b.view(I::balanceOfCall { account: alice, id }),
        U256::from(70)
    );
    let r = b.send(
        2,
        I::batchMintCall {
            to: bob,
            ids: vec![id],
            amounts: vec![U256::from(1)],
            tokenURIs: vec![String::new()],
        }
        .abi_encode(),
    );
    expect_error(
        &r,
        I::NotMinter {
            classId: id,
            caller: bob,
        },
    );

    // The class view agrees: fungible, share equals value.
    let info = b.view(I::classInfoCall { classId: id });
    assert!(info.fungible);
    assert_eq!(info.totalValue, U256::from(101));
    assert_eq!(info.totalShare, U256::from(101));
}

#[test]
fn only_the_verification_path_sets_verified() {
    let mut b = Bench::new(2);
    let user = b.addr(1);
    let r = b.send(
        1,
        I::mint_1Call {
            to: user,
            amount: U256::from(1),
            tokenURI: "u".into(),
            verified: true,
        }
        .abi_encode(),
    );
    expect_error(&r, I::NotVerifier { caller: user });
    b.ok(
        1,
        I::mint_1Call {
            to: user,
            amount: U256::from(1),
            tokenURI: "u".into(),
            verified: false,
        }
        .abi_encode(),
    );
    // Not even the class creator (who is also the owner).
    let r = b.send(
        1,
        I::setTokenVerifiedCall {
            id: U256::from(1),
            verified: true,
        }
        .abi_encode(),
    );
    expect_error(&r, I::NotVerifier { caller: user });
    assert!(!b.view(I::verifiedCall { id: U256::from(1) }));
}

/// A stand-in for the verification path (the real DataRegistry is its own module): a module
/// at the DataRegistry's address that, when called, enters the DAT as itself and runs the
/// calldata it was given.
struct Registrar;

impl Module for Registrar {
    fn name(&self) -> &'static str {
        "TestRegistrar"
    }
    fn address(&self) -> Address {
        DATA_REGISTRY_ADDRESS
    }
    fn call(&self, call: &mut Call<'_>, input: &[u8]) -> Result<Vec<u8>, ModuleError> {
        call.enter(DAT_ADDRESS, |c| Dat::default().call(c, input))
    }
}

#[test]
fn the_minter_role_verifies_and_mints_into_any_class() {
    let modules = Modules::new(vec![
        Arc::new(IdaoRegistry::default()),
        Arc::new(Dat::default()),
        Arc::new(Registrar),
    ]);
    let mut b = Bench::with_ledger(
        3,
        Ledger {
            modules,
            ..ledger()
        },
    );
    let user = b.addr(1);
    let class = create_class(&mut b, 2);
    let via_registrar = |b: &mut Bench, input: Vec<u8>| {
        let tx = Tx {
            gas: 2_000_000,
            ..Tx::call(b.nonces[0], DATA_REGISTRY_ADDRESS, input)
        };
        let tx = recover(&tx.eip1559(&b.signers[0]));
        b.nonces[0] += 1;
        b.ledger.apply(&mut b.state, &b.env, &tx, 0).expect("valid")
    };
    let r = via_registrar(
        &mut b,
        I::mint_1Call {
            to: user,
            amount: U256::from(8000),
            tokenURI: "ipfs://verified".into(),
            verified: true,
        }
        .abi_encode(),
    );
    assert!(r.success, "{:?}", decode_error(&r.output));
    assert!(
        r.logs.iter().all(|l| l.address == DAT_ADDRESS),
        "logs are the DAT's"
    );
    let id = U256::abi_decode(&r.output).expect("decodes");
    assert!(b.view(I::verifiedCall { id }));
    let r = via_registrar(
        &mut b,
        I::mint_0Call {
            classId: class,
            to: user,
            value: U256::from(1),
            shareRatio: U256::from(1),
            expireAt: 0,
        }
        .abi_encode(),
    );
    assert!(r.success, "a minter mints into a class it did not create");
    let r = via_registrar(
        &mut b,
        I::setTokenVerifiedCall {
            id: class,
            verified: true,
        }
        .abi_encode(),
    );
    assert!(r.success);
    assert!(b.view(I::verifiedCall { id: class }));
}

#[test]
fn refusals_are_decodable_custom_errors_and_change_nothing() {
    let mut b = Bench::new(3);
    let (creator, alice, mallory) = (b.addr(0), b.addr(1), b.addr(2));
    let class = create_class(&mut b, 0);

    // Unauthorised mint.
    let r = mint(&mut b, 2, class, mallory, 10, 1, 0);
    expect_error(
        &r,
        I::NotMinter {
            classId: class,
            caller: mallory,
        },
    );
    assert_eq!(b.view(I::tokenCountCall {}), U256::ZERO);

    // Settling into a class with zero total share.
    let r = mint(&mut b, 0, class, alice, 10, 0, 0);
    assert!(r.success);
    let r = settle(&mut b, 2, class, LAZAI);
    expect_error(&r, I::ZeroTotalShare { classId: class });
    assert_eq!(
        b.state.balance(&DAT_ADDRESS),
        U256::ZERO,
        "the value went back"
    );

    // Transfer of someone else's token.
    let before = b.state.root();
    let r = b.send(
        2,
        I::transferTokenCall {
            tokenId: U256::from(1),
            to: mallory,
        }
        .abi_encode(),
    );
    expect_error(
        &r,
        I::NotOwnerNorApproved {
            owner: alice,
            caller: mallory,
        },
    );
    // Only the sender's nonce and fee changed.
    assert_ne!(before, b.state.root());
    assert_eq!(
        b.view(I::ownerOfCall {
            tokenId: U256::from(1)
        }),
        alice
    );

    // Usage beyond quota.
    let r = b.send(
        1,
        I::recordUsageCall {
            tokenId: U256::from(1),
            metricType: B256::repeat_byte(1),
            amount: U256::from(11),
        }
        .abi_encode(),
    );
    expect_error(
        &r,
        I::QuotaExceeded {
            tokenId: U256::from(1),
            remaining: U256::from(10),
            requested: U256::from(11),
        },
    );
    // A stranger may not record usage; the creator's authorised service may.
    let usage = I::recordUsageCall {
        tokenId: U256::from(1),
        metricType: B256::repeat_byte(1),
        amount: U256::from(4),
    }
    .abi_encode();
    let r = b.send(2, usage.clone());
    expect_error(
        &r,
        I::UsageNotAuthorised {
            tokenId: U256::from(1),
            caller: mallory,
        },
    );
    b.ok(
        0,
        I::setClassServiceCall {
            classId: class,
            service: mallory,
            authorised: true,
        }
        .abi_encode(),
    );
    let r = b.ok(2, usage);
    let used = r
        .logs
        .iter()
        .find_map(|l| I::UsageRecorded::decode_log_data(&l.data).ok())
        .expect("UsageRecorded");
    assert_eq!((used.amount, used.actor), (U256::from(4), mallory));
    assert_eq!(
        b.view(I::valueOfCall {
            tokenId: U256::from(1)
        }),
        U256::from(6)
    );
    assert_eq!(
        b.view(I::usageOfCall {
            tokenId: U256::from(1),
            metricType: B256::repeat_byte(1)
        }),
        U256::from(4)
    );
    assert_eq!(
        b.view(I::balanceOfCall {
            account: alice,
            id: class
        }),
        U256::from(6)
    );

    // Claim on a token you don't own.
    mint(&mut b, 0, class, alice, 1, 5, 0);
    assert!(settle(&mut b, 0, class, LAZAI).success);
    let r = claim(&mut b, 1, 2, DAT_ADDRESS);
    expect_error(&r, I::InvalidRecipient { to: DAT_ADDRESS });
    let r = claim(&mut b, 2, 2, mallory);
    expect_error(
        &r,
        I::NotTokenOwner {
            tokenId: U256::from(2),
            caller: mallory,
        },
    );
    // The owner claims it all, once.
    let sink = Address::repeat_byte(0xc1);
    let r = claim(&mut b, 1, 2, sink);
    assert!(r.success);
    assert_eq!(b.state.balance(&sink), U256::from(LAZAI));
    let r = claim(&mut b, 1, 2, sink);
    expect_error(
        &r,
        I::NothingToClaim {
            tokenId: U256::from(2),
            asset: Address::ZERO,
        },
    );

    // Other refusals.
    let t = b.now();
    let r = mint(&mut b, 0, class, alice, 1, 1, t);
    expect_error(
        &r,
        I::ExpiryNotInFuture {
            expireAt: b.now(),
            now: b.now(),
        },
    );
    let r = mint(&mut b, 0, class, Address::ZERO, 1, 1, 0);
    expect_error(&r, I::InvalidRecipient { to: Address::ZERO });
    let r = b.send(
        0,
        I::settleRevenueERC20Call {
            classId: class,
            asset: Address::repeat_byte(9),
            amount: U256::from(1),
        }
        .abi_encode(),
    );
    expect_error(
        &r,
        I::UnsupportedAsset {
            asset: Address::repeat_byte(9),
        },
    );
    // The native asset through the ERC-20 form: taken from the caller's balance.
    let (module_before, payer_before) = (b.state.balance(&DAT_ADDRESS), b.state.balance(&creator));
    let r = b.send(
        0,
        I::settleRevenueERC20Call {
            classId: class,
            asset: Address::ZERO,
            amount: U256::from(LAZAI),
        }
        .abi_encode(),
    );
    assert!(r.success, "{:?}", decode_error(&r.output));
    assert_eq!(
        b.state.balance(&DAT_ADDRESS),
        module_before + U256::from(LAZAI)
    );
    let fee = U256::from(r.gas_used) * U256::from(r.effective_gas_price);
    assert_eq!(
        b.state.balance(&creator),
        payer_before - U256::from(LAZAI) - fee
    );
    let r = b.send(
        0,
        I::settleRevenueERC20Call {
            classId: class,
            asset: Address::ZERO,
            amount: U256::MAX,
        }
        .abi_encode(),
    );
    expect_error(
        &r,
        I::InsufficientFunds {
            account: creator,
            requested: U256::MAX,
        },
    );
    let r = b.send(
        0,
        I::transferValueCall {
            fromTokenId: U256::from(1),
            toTokenId: U256::from(1),
            value: U256::from(1),
        }
        .abi_encode(),
    );
    expect_error(
        &r,
        I::SameToken {
            tokenId: U256::from(1),
        },
    );
    let r = b.send(
        0,
        I::classInfoCall {
            classId: U256::from(99),
        }
        .abi_encode(),
    );
    expect_error(
        &r,
        I::ClassNotFound {
            classId: U256::from(99),
        },
    );
    let r = b.send(
        0,
        I::createClassCall {
            metadataURI: "x".repeat(2000),
            integrityHash: B256::ZERO,
            unitDecimals: 0,
            policyURI: String::new(),
        }
        .abi_encode(),
    );
    expect_error(
        &r,
        I::StringTooLong {
            length: U256::from(2000),
            max: U256::from(1024),
        },
    );
    // Value sent to a non-payable function reverts (and returns).
    let r = b.send_value(0, I::classCountCall {}.abi_encode(), U256::from(1));
    assert!(!r.success);
}

#[test]
fn settlement_is_constant_gas_in_the_number_of_holders() {
    let mut b = Bench::new(2);
    let small = create_class(&mut b, 0);
    let large = create_class(&mut b, 0);
    let one = b.addr(1);
    assert!(mint(&mut b, 0, small, one, 1, 1, 0).success);
    for i in 0..500u64 {
        let holder = Address::from_word(B256::from(U256::from(i + 1)));
        assert!(mint(&mut b, 0, large, holder, 1, 1 + i % 7, 0).success);
    }
    // The first settlement of a class creates its revenue record; compare the next ones.
    assert!(settle(&mut b, 1, small, LAZAI).success);
    assert!(settle(&mut b, 1, large, LAZAI).success);
    let g_small = settle(&mut b, 1, small, LAZAI).gas_used;
    let g_large = settle(&mut b, 1, large, LAZAI).gas_used;
    assert_eq!(
        g_small, g_large,
        "settle costs the same for 1 and 500 holders"
    );
    // And the large class's holders accrued pro rata: holder 7 (share 7) has 7/total.
    let total = b.view(I::classInfoCall { classId: large }).totalShare;
    let expected = U256::from(2 * LAZAI) * U256::from(7) / total;
    let got = b.pending(1 + 1 + 6);
    assert!(
        got == expected || got + U256::from(1) == expected,
        "{got} vs {expected}"
    );
}

#[test]
fn expired_tokens_keep_accrued_revenue_and_accrue_nothing_new() {
    let mut b = Bench::new(2);
    let class = create_class(&mut b, 0);
    let now = b.now();
    let one = b.addr(1);
    assert!(mint(&mut b, 0, class, one, 5, 1, now + 100).success); // token 1 expires
    assert!(mint(&mut b, 0, class, one, 5, 1, 0).success); // token 2 never does
    assert!(settle(&mut b, 0, class, 2 * LAZAI).success);
    assert_eq!(b.pending(1), U256::from(LAZAI));
    b.env.timestamp_ms += 100_000;
    assert!(
        b.view(I::tokenInfoCall {
            tokenId: U256::from(1)
        })
        .expired
    );
    assert!(settle(&mut b, 0, class, 2 * LAZAI).success);
    assert_eq!(b.pending(1), U256::from(LAZAI), "nothing new after expiry");
    assert_eq!(
        b.pending(2),
        U256::from(3 * LAZAI),
        "the rest goes to the live token"
    );
    assert_eq!(
        b.view(I::classInfoCall { classId: class }).totalShare,
        U256::from(1)
    );
    // Usage and value transfers refuse the expired token; a claim still pays.
    let r = b.send(
        1,
        I::recordUsageCall {
            tokenId: U256::from(1),
            metricType: B256::ZERO,
            amount: U256::from(1),
        }
        .abi_encode(),
    );
    expect_error(
        &r,
        I::TokenExpired {
            tokenId: U256::from(1),
            expireAt: now + 100,
        },
    );
    let r = claim(&mut b, 1, 1, one);
    assert!(r.success);
    assert!(
        r.logs
            .iter()
            .any(|l| l.topics()[0] == I::Expired::SIGNATURE_HASH),
        "the first touch after expiry emits Expired"
    );
    let r = claim(&mut b, 1, 2, one);
    assert!(r.success);
    let (settled, claimed, _, _) = {
        let r = b.view(I::classRevenueCall {
            classId: class,
            asset: Address::ZERO,
        });
        (r.settled, r.claimed, r.accRevenuePerShare, r.carry)
    };
    assert_eq!(settled, U256::from(4 * LAZAI));
    assert_eq!(claimed, U256::from(4 * LAZAI));
    assert_eq!(b.state.balance(&DAT_ADDRESS), U256::ZERO);
    // Every token of a class expired: settlement has nobody to pay.
    let t = b.now() + 10;
    assert!(mint(&mut b, 0, class, one, 1, 1, t).success);
    b.env.timestamp_ms += 3_600_000;
    let other = create_class(&mut b, 0);
    let t = b.now() + 10;
    assert!(mint(&mut b, 0, other, one, 1, 1, t).success);
    b.env.timestamp_ms += 10_000;
    expect_error(
        &settle(&mut b, 0, other, 1),
        I::ZeroTotalShare { classId: other },
    );

    // Due buckets can be retired in bounded chunks by anyone.
    let third = create_class(&mut b, 0);
    for dt in [10, 20, 30] {
        let t = b.now() + dt;
        assert!(mint(&mut b, 0, third, one, 1, 2, t).success);
    }
    assert!(mint(&mut b, 0, third, one, 1, 1, 0).success);
    b.env.timestamp_ms += 60_000;
    let retire = |b: &mut Bench| {
        let r = b.ok(
            1,
            I::retireExpiredCall {
                classId: third,
                maxBuckets: U256::from(2),
            }
            .abi_encode(),
        );
        U256::abi_decode(&r.output).expect("count")
    };
    assert_eq!(retire(&mut b), U256::from(2));
    assert_eq!(
        b.view(I::classInfoCall { classId: third }).totalShare,
        U256::from(3)
    );
    assert_eq!(retire(&mut b), U256::from(1));
    assert_eq!(retire(&mut b), U256::ZERO);
    assert_eq!(
        b.view(I::classInfoCall { classId: third }).totalShare,
        U256::from(1)
    );
    assert!(settle(&mut b, 0, third, 5).success);
    let last = b.view(I::tokenCountCall {}).to::<u64>();
    assert_eq!(b.pending(last), U256::from(5));
}

// ---- the property test ------------------------------------------------------------------------

const ACTORS: usize = 4;
/// Actor 0 creates the ERC-8028 class, actor 1 the fungible (ERC-1155) one.
const SEMI: usize = 0;
const FUNGIBLE: usize = 1;

#[derive(Clone, Debug)]
enum Op {
    Mint {
        actor: usize,
        to: usize,
        value: u64,
        share: u64,
        ttl: Option<u64>,
    },
    TopUp {
        actor: usize,
        to: usize,
        amount: u64,
    },
    TransferToken {
        actor: usize,
        token: usize,
        to: usize,
    },
    TransferValue {
        actor: usize,
        from: usize,
        to: usize,
        value: u64,
    },
    SafeTransfer {
        actor: usize,
        from: usize,
        to: usize,
        amount: u64,
    },
    Usage {
        actor: usize,
        token: usize,
        amount: u64,
    },
    Settle {
        actor: usize,
        class: usize,
        wei: u128,
    },
    Claim {
        actor: usize,
        token: usize,
    },
    ApproveAll {
        actor: usize,
        operator: usize,
        on: bool,
    },
    ApproveClass {
        actor: usize,
        class: usize,
        operator: usize,
        on: bool,
    },
    Advance {
        secs: u64,
    },
}

/// Actor numbers at or above `ACTORS` stand for "the rightful actor" of the op (the class's
/// creator, the token's owner), so that successes are as common as refusals.
fn op() -> impl Strategy<Value = Op> {
    let a = 0..ACTORS + 3;
    prop_oneof![
        4 => (a.clone(), a.clone(), 0u64..50, 0u64..20, proptest::option::of(1u64..200))
            .prop_map(|(actor, to, value, share, ttl)| Op::Mint { actor, to, value, share, ttl }),
        2 => (a.clone(), a.clone(), 1u64..30).prop_map(|(actor, to, amount)| Op::TopUp { actor, to, amount }),
        2 => (a.clone(), 0usize..16, a.clone()).prop_map(|(actor, token, to)| Op::TransferToken { actor, token, to }),
        3 => (a.clone(), 0usize..16, 0usize..16, 0u64..30)
            .prop_map(|(actor, from, to, value)| Op::TransferValue { actor, from, to, value }),
        2 => (a.clone(), a.clone(), a.clone(), 0u64..30)
            .prop_map(|(actor, from, to, amount)| Op::SafeTransfer { actor, from, to, amount }),
        3 => (a.clone(), 0usize..16, 0u64..30).prop_map(|(actor, token, amount)| Op::Usage { actor, token, amount }),
        4 => (a.clone(), 0usize..2, 0u128..5_000_000_000_000_000_000)
            .prop_map(|(actor, class, wei)| Op::Settle { actor, class, wei }),
        3 => (a.clone(), 0usize..16).prop_map(|(actor, token)| Op::Claim { actor, token }),
        1 => (a.clone(), a.clone(), any::<bool>()).prop_map(|(actor, operator, on)| Op::ApproveAll { actor, operator, on }),
        1 => (a.clone(), 0usize..2, a.clone(), any::<bool>())
            .prop_map(|(actor, class, operator, on)| Op::ApproveClass { actor, class, operator, on }),
        2 => (1u64..150).prop_map(|secs| Op::Advance { secs }),
    ]
}

/// What the model knows of a token.
#[derive(Clone, Debug)]
struct Tok {
    class: usize,
    owner: usize,
    value: u64,
    share: u64,
    expire_at: u64,
    /// Exact entitlement so far, in wei × SCALE (floored per settlement).
    entitled: U256,
    claimed: U256,
}

struct Model {
    classes: [U256; 2],
    tokens: Vec<Tok>,
    all: Vec<(usize, usize)>,
    per_class: Vec<(usize, usize, usize)>,
    settled: [U256; 2],
    claimed_total: U256,
}

impl Model {
    fn live_share(&self, class: usize, now: u64) -> u64 {
        self.tokens
            .iter()
            .filter(|t| t.class == class && !(t.expire_at != 0 && now >= t.expire_at))
            .map(|t| t.share)
            .sum()
    }
    fn may_move(&self, owner: usize, class: usize, actor: usize) -> bool {
        actor == owner
            || self.all.contains(&(owner, actor))
            || self.per_class.contains(&(owner, class, actor))
    }
    fn expired(&self, t: usize, now: u64) -> bool {
        let e = self.tokens[t].expire_at;
        e != 0 && now >= e
    }
    fn holding(&self, owner: usize) -> Option<usize> {
        self.tokens
            .iter()
            .position(|t| t.class == FUNGIBLE && t.owner == owner)
    }
}

fn sink(actor: usize) -> Address {
    Address::repeat_byte(0xc0 + actor as u8)
}

/// The actor an op's `actor` number stands for.
fn who(actor: usize, rightful: usize) -> usize {
    if actor >= ACTORS { rightful } else { actor }
}

/// Resolves "rightful actor" numbers against the model, and recipients to real actors.
fn resolve(m: &Model, op: &Op) -> Op {
    let owner = |t: usize| m.tokens.get(t).map(|t| t.owner).unwrap_or(0);
    let r = |x: usize| x % ACTORS;
    match op.clone() {
        Op::Mint {
            actor,
            to,
            value,
            share,
            ttl,
        } => Op::Mint {
            actor: who(actor, SEMI),
            to: r(to),
            value,
            share,
            ttl,
        },
        Op::TopUp { actor, to, amount } => Op::TopUp {
            actor: who(actor, FUNGIBLE),
            to: r(to),
            amount,
        },
        Op::TransferToken { actor, token, to } => Op::TransferToken {
            actor: who(actor, owner(token)),
            token,
            to: r(to),
        },
        Op::TransferValue {
            actor,
            from,
            to,
            value,
        } => Op::TransferValue {
            actor: who(actor, owner(from)),
            from,
            to,
            value,
        },
        Op::SafeTransfer {
            actor,
            from,
            to,
            amount,
        } => Op::SafeTransfer {
            actor: who(actor, r(from)),
            from: r(from),
            to: r(to),
            amount,
        },
        Op::Usage {
            actor,
            token,
            amount,
        } => Op::Usage {
            actor: who(actor, owner(token)),
            token,
            amount,
        },
        Op::Settle { actor, class, wei } => Op::Settle {
            actor: r(actor),
            class,
            wei,
        },
        Op::Claim { actor, token } => Op::Claim {
            actor: who(actor, owner(token)),
            token,
        },
        Op::ApproveAll {
            actor,
            operator,
            on,
        } => Op::ApproveAll {
            actor: r(actor),
            operator: r(operator),
            on,
        },
        Op::ApproveClass {
            actor,
            class,
            operator,
            on,
        } => Op::ApproveClass {
            actor: r(actor),
            class,
            operator: r(operator),
            on,
        },
        other => other,
    }
}

/// Applies one op to chain and model; asserts the chain succeeded exactly when the model says
/// it should.
fn step(b: &mut Bench, m: &mut Model, op: &Op) {
    let op = &resolve(m, op);
    let now = b.now();
    let addr = |b: &Bench, i: usize| b.addr(i);
    let tid = |t: usize| U256::from(t + 1);
    match *op {
        Op::Mint {
            actor,
            to,
            value,
            share,
            ttl,
        } => {
            let expire_at = ttl.map(|t| now + t).unwrap_or(0);
            let r = mint(
                b,
                actor,
                m.classes[SEMI],
                addr(b, to),
                value,
                share,
                expire_at,
            );
            assert_eq!(
                r.success,
                actor == SEMI,
                "mint by {actor}: {:?}",
                decode_error(&r.output)
            );
            if r.success {
                assert_eq!(
                    U256::abi_decode(&r.output).expect("decodes"),
                    tid(m.tokens.len())
                );
                m.tokens.push(Tok {
                    class: SEMI,
                    owner: to,
                    value,
                    share,
                    expire_at,
                    entitled: U256::ZERO,
                    claimed: U256::ZERO,
                });
            } else {
                expect_error(
                    &r,
                    I::NotMinter {
                        classId: m.classes[SEMI],
                        caller: addr(b, actor),
                    },
                );
            }
        }
        Op::TopUp { actor, to, amount } => {
            let r = b.send(
                actor,
                I::batchMintCall {
                    to: addr(b, to),
                    ids: vec![m.classes[FUNGIBLE]],
                    amounts: vec![U256::from(amount)],
                    tokenURIs: vec![String::new()],
                }
                .abi_encode(),
            );
            assert_eq!(
                r.success,
                actor == FUNGIBLE,
                "{:?}",
                decode_error(&r.output)
            );
            if r.success {
                match m.holding(to) {
                    Some(h) => {
                        m.tokens[h].value += amount;
                        m.tokens[h].share += amount;
                    }
                    None => m.tokens.push(Tok {
                        class: FUNGIBLE,
                        owner: to,
                        value: amount,
                        share: amount,
                        expire_at: 0,
                        entitled: U256::ZERO,
                        claimed: U256::ZERO,
                    }),
                }
            }
        }
        Op::TransferToken { actor, token, to } => {
            if token >= m.tokens.len() {
                return;
            }
            let t = m.tokens[token].clone();
            let blocked = t.class == FUNGIBLE && to != t.owner && m.holding(to).is_some();
            let want = m.may_move(t.owner, t.class, actor) && !blocked;
            let r = b.send(
                actor,
                I::transferTokenCall {
                    tokenId: tid(token),
                    to: addr(b, to),
                }
                .abi_encode(),
            );
            assert_eq!(r.success, want, "{op:?}: {:?}", decode_error(&r.output));
            if want {
                m.tokens[token].owner = to;
            }
        }
        Op::TransferValue {
            actor,
            from,
            to,
            value,
        } => {
            if from >= m.tokens.len() || to >= m.tokens.len() {
                return;
            }
            let (f, t) = (m.tokens[from].clone(), m.tokens[to].clone());
            let want = from != to
                && value > 0
                && f.class == t.class
                && !m.expired(from, now)
                && !m.expired(to, now)
                && m.may_move(f.owner, f.class, actor)
                && value <= f.value;
            let r = b.send(
                actor,
                I::transferValueCall {
                    fromTokenId: tid(from),
                    toTokenId: tid(to),
                    value: U256::from(value),
                }
                .abi_encode(),
            );
            assert_eq!(r.success, want, "{op:?}: {:?}", decode_error(&r.output));
            if want {
                m.tokens[from].value -= value;
                m.tokens[to].value += value;
                if f.class == FUNGIBLE {
                    m.tokens[from].share -= value;
                    m.tokens[to].share += value;
                }
            }
        }
        Op::SafeTransfer {
            actor,
            from,
            to,
            amount,
        } => {
            let src = m.holding(from);
            let balance = src.map(|h| m.tokens[h].value).unwrap_or(0);
            let want = m.may_move(from, FUNGIBLE, actor) && amount <= balance;
            let r = b.send(
                actor,
                I::safeTransferFromCall {
                    from: addr(b, from),
                    to: addr(b, to),
                    id: m.classes[FUNGIBLE],
                    value: U256::from(amount),
                    data: Bytes::new(),
                }
                .abi_encode(),
            );
            assert_eq!(r.success, want, "{op:?}: {:?}", decode_error(&r.output));
            if want && amount > 0 && from != to {
                let src = src.expect("a holding");
                let dst = match m.holding(to) {
                    Some(h) => h,
                    None => {
                        m.tokens.push(Tok {
                            class: FUNGIBLE,
                            owner: to,
                            value: 0,
                            share: 0,
                            expire_at: 0,
                            entitled: U256::ZERO,
                            claimed: U256::ZERO,
                        });
                        m.tokens.len() - 1
                    }
                };
                m.tokens[src].value -= amount;
                m.tokens[src].share -= amount;
                m.tokens[dst].value += amount;
                m.tokens[dst].share += amount;
            }
        }
        Op::Usage {
            actor,
            token,
            amount,
        } => {
            if token >= m.tokens.len() {
                return;
            }
            let t = m.tokens[token].clone();
            let want = amount > 0
                && !m.expired(token, now)
                && m.may_move(t.owner, t.class, actor)
                && amount <= t.value;
            let r = b.send(
                actor,
                I::recordUsageCall {
                    tokenId: tid(token),
                    metricType: B256::repeat_byte(3),
                    amount: U256::from(amount),
                }
                .abi_encode(),
            );
            assert_eq!(r.success, want, "{op:?}: {:?}", decode_error(&r.output));
            if want {
                m.tokens[token].value -= amount;
                if t.class == FUNGIBLE {
                    m.tokens[token].share -= amount;
                }
            } else if amount > t.value
                && amount > 0
                && !m.expired(token, now)
                && m.may_move(t.owner, t.class, actor)
            {
                expect_error(
                    &r,
                    I::QuotaExceeded {
                        tokenId: tid(token),
                        remaining: U256::from(t.value),
                        requested: U256::from(amount),
                    },
                );
            }
        }
        Op::Settle { actor, class, wei } => {
            let total = m.live_share(class, now);
            let want = wei > 0 && total > 0;
            let r = settle(b, actor, m.classes[class], wei);
            assert_eq!(r.success, want, "{op:?}: {:?}", decode_error(&r.output));
            if want {
                m.settled[class] += U256::from(wei);
                for (i, t) in m.tokens.clone().iter().enumerate() {
                    if t.class == class && !m.expired(i, now) {
                        m.tokens[i].entitled +=
                            U256::from(wei) * U256::from(t.share) * SCALE / U256::from(total);
                    }
                }
            } else if wei > 0 {
                expect_error(
                    &r,
                    I::ZeroTotalShare {
                        classId: m.classes[class],
                    },
                );
            }
        }
        Op::Claim { actor, token } => {
            if token >= m.tokens.len() {
                return;
            }
            let pending = b.pending(token as u64 + 1);
            let owner = m.tokens[token].owner;
            let want = actor == owner && !pending.is_zero();
            let before = b.state.balance(&sink(actor));
            let r = claim(b, actor, token as u64 + 1, sink(actor));
            assert_eq!(r.success, want, "{op:?}: {:?}", decode_error(&r.output));
            if want {
                let got = b.state.balance(&sink(actor)) - before;
                assert_eq!(got, pending, "a claim pays exactly the pending revenue");
                m.tokens[token].claimed += got;
                m.claimed_total += got;
            } else if actor != owner {
                expect_error(
                    &r,
                    I::NotTokenOwner {
                        tokenId: tid(token),
                        caller: addr(b, actor),
                    },
                );
            }
        }
        Op::ApproveAll {
            actor,
            operator,
            on,
        } => {
            let r = b.send(
                actor,
                I::setApprovalForAllCall {
                    operator: addr(b, operator),
                    approved: on,
                }
                .abi_encode(),
            );
            assert_eq!(r.success, actor != operator);
            if r.success {
                m.all.retain(|x| *x != (actor, operator));
                if on {
                    m.all.push((actor, operator));
                }
            }
        }
        Op::ApproveClass {
            actor,
            class,
            operator,
            on,
        } => {
            let r = b.send(
                actor,
                I::approveForClassCall {
                    classId: m.classes[class],
                    operator: addr(b, operator),
                    approved: on,
                }
                .abi_encode(),
            );
            assert_eq!(r.success, actor != operator);
            if r.success {
                m.per_class.retain(|x| *x != (actor, class, operator));
                if on {
                    m.per_class.push((actor, class, operator));
                }
            }
        }
        Op::Advance { secs } => b.env.timestamp_ms += secs * 1000,
    }
}

/// Checks the chain against the model after every step.
fn check(b: &Bench, m: &Model, snapshot: &mut Vec<(U256, bool)>) {
    let now = b.now();
    let mut unclaimed = [U256::ZERO; 2];
    let mut count = [0u64; 2];
    for (i, t) in m.tokens.iter().enumerate() {
        let info = b.view(I::tokenInfoCall {
            tokenId: U256::from(i + 1),
        });
        assert_eq!(info.value, U256::from(t.value), "value of token {}", i + 1);
        assert_eq!(
            info.shareRatio,
            U256::from(t.share),
            "share of token {}",
            i + 1
        );
        assert_eq!(info.owner, b.addr(t.owner), "owner of token {}", i + 1);
        let pending = b.pending(i as u64 + 1);
        // Pro rata: what the token got (claimed + pending) is its exact entitlement within
        // one wei.
        let got = t.claimed + pending;
        let exact = t.entitled / SCALE;
        assert!(
            got <= exact + U256::from(1) && got + U256::from(1) >= exact,
            "token {}: got {got}, exact {exact}",
            i + 1
        );
        // Expired tokens accrue nothing new.
        let expired = t.expire_at != 0 && now >= t.expire_at;
        if let Some((prev_got, prev_expired)) = snapshot.get(i).copied()
            && prev_expired
        {
            assert_eq!(got, prev_got, "expired token {} accrued", i + 1);
        }
        if i < snapshot.len() {
            snapshot[i] = (got, expired);
        } else {
            snapshot.push((got, expired));
        }
        unclaimed[t.class] += pending;
        count[t.class] += 1;
    }
    let mut held = U256::ZERO;
    for c in 0..2 {
        let r = b.view(I::classRevenueCall {
            classId: m.classes[c],
            asset: Address::ZERO,
        });
        assert_eq!(r.settled, m.settled[c]);
        // settled = claimed + unclaimed + dust, dust never negative and at most one wei per
        // token plus the carried remainder (below one wei here: shares are small).
        let dust = r.settled - r.claimed - unclaimed[c];
        assert!(
            dust <= U256::from(count[c] + 1),
            "class {c}: dust {dust} with {} tokens",
            count[c]
        );
        held += r.settled - r.claimed;
    }
    assert_eq!(
        b.state.balance(&DAT_ADDRESS),
        held,
        "the module holds exactly what is unclaimed"
    );
    let paid: U256 = (0..ACTORS)
        .map(|a| b.state.balance(&sink(a)))
        .fold(U256::ZERO, |x, y| x + y);
    assert_eq!(paid, m.claimed_total, "claims paid what they reported");
    assert_eq!(m.settled[0] + m.settled[1], m.claimed_total + held);
}

/// A state with a class of each kind, tokens, revenue and approvals, for the garbage test.
fn populated() -> Bench {
    let mut b = Bench::new(2);
    let class = create_class(&mut b, 0);
    let (one, t) = (b.addr(1), b.now() + 5);
    assert!(mint(&mut b, 0, class, one, 10, 3, t).success);
    assert!(mint(&mut b, 0, class, one, 10, 3, 0).success);
    assert!(settle(&mut b, 0, class, LAZAI).success);
    b.ok(
        0,
        I::mint_1Call {
            to: one,
            amount: U256::from(7),
            tokenURI: "u".into(),
            verified: false,
        }
        .abi_encode(),
    );
    b
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]
    /// Random calldata — real selectors with random arguments, and random selectors — never
    /// panics the module: it answers or reverts.
    #[test]
    fn random_calldata_never_panics(
        selector in prop_oneof![
            3 => proptest::sample::select(I::IDataAnchoringTokenCalls::SELECTORS.to_vec()),
            1 => any::<[u8; 4]>(),
        ],
        words in proptest::collection::vec(prop_oneof![
            Just(U256::ZERO), Just(U256::from(1)), Just(U256::from(2)), Just(U256::from(3)),
            Just(U256::from(32)), Just(U256::from(64)), Just(U256::MAX), any::<[u8; 32]>().prop_map(U256::from_be_bytes),
        ], 0..12),
        value in prop_oneof![Just(0u64), 1u64..1_000_000],
        dt in 0u64..20,
    ) {
        let mut b = populated();
        b.env.timestamp_ms += dt * 1000;
        let mut input = selector.to_vec();
        for w in words {
            input.extend_from_slice(&w.to_be_bytes::<32>());
        }
        let before = b.state.balance(&DAT_ADDRESS);
        let r = b.send_value(1, input, U256::from(value));
        if !r.success {
            prop_assert_eq!(b.state.balance(&DAT_ADDRESS), before, "a revert keeps nothing");
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]
    #[test]
    fn revenue_is_exact_and_only_owners_move_tokens(ops in proptest::collection::vec(op(), 1..60)) {
        let mut b = Bench::new(ACTORS as u8);
        let semi = create_class(&mut b, SEMI);
        let r = b.ok(FUNGIBLE, I::mint_1Call { to: b.addr(FUNGIBLE), amount: U256::from(10), tokenURI: "ipfs://f".into(), verified: false }.abi_encode());
        let fungible = U256::abi_decode(&r.output).expect("decodes");
        let mut m = Model {
            classes: [semi, fungible],
            tokens: vec![Tok { class: FUNGIBLE, owner: FUNGIBLE, value: 10, share: 10, expire_at: 0, entitled: U256::ZERO, claimed: U256::ZERO }],
            all: vec![],
            per_class: vec![],
            settled: [U256::ZERO; 2],
            claimed_total: U256::ZERO,
        };
        let mut snapshot = Vec::new();
        for op in &ops {
            step(&mut b, &mut m, op);
            check(&b, &m, &mut snapshot);
        }
    }
}
