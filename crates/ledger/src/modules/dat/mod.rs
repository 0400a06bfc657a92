//! The DataAnchoringToken (DAT): at once an ownership certificate of an AI asset, a usage
//! right (a quota) and a share of the revenue of everything built on the asset. One ledger,
//! two faces: ERC-8028 (classes of semi-fungible tokens) and the ERC-1155 LazAI deployed.
//!
//! # The ledger
//!
//! - A **class** is one asset (a dataset, a model, a file): metadata URI, integrity hash, unit
//!   decimals, policy URI, its creator, whether it is *verified*, and its revenue accumulators.
//!   Class ids start at 1.
//! - A **token** belongs to one class and one owner and carries a `value` (its remaining usage
//!   quota, in the class's units), a `shareRatio` (its weight in the class's revenue) and an
//!   `expireAt` (Unix seconds, 0 = never). Token ids start at 1, in their own sequence.
//!
//! # The two faces on it
//!
//! - **ERC-1155 id = class id.** `balanceOf(account, id)` is the sum of the values of
//!   `account`'s tokens in class `id`; `uri(id)` is the class's metadata URI; `verified(id)` is
//!   the class's verified flag. Every change of value — mint, token transfer, value transfer
//!   between owners, usage — emits `TransferSingle`/`TransferBatch`, so an ERC-1155 indexer
//!   sees every balance of every class.
//! - **The legacy `mint(to, amount, tokenURI, verified)`** creates a new *fungible* class whose
//!   URI is `tokenURI` and mints one token of value `amount` to `to`; the returned ERC-1155 id
//!   is the class id, auto-incrementing from 1 as LazAI's contract does. In a fungible class
//!   each holder has exactly one token (`holdingOf`), ERC-1155 transfers move value between
//!   holdings (creating the recipient's on first receipt), and a token's revenue weight is
//!   always equal to its value: revenue is shared pro rata to balance.
//! - **ERC-8028 classes** (`createClass`) are semi-fungible: an owner may hold many tokens, each
//!   with its own share and expiry; they are moved with `transferToken`/`transferValue`. ERC-1155
//!   transfers of such a class revert with `NotFungibleClass` (there is no single token to
//!   move), and ERC-8028 `mint` into a fungible class reverts with `FungibleClass`.
//!
//! # Answers to ERC-8028's open questions
//!
//! - **Value and quota.** They are one number: `value` *is* the remaining quota. `recordUsage`
//!   decrements it and reverts with `QuotaExceeded` instead of going below zero;
//!   `transferValue` moves quota between tokens of a class. Quota and revenue are independent
//!   in ERC-8028 classes — consuming quota does not reduce `shareRatio` — and the same in
//!   fungible classes by construction (there, balance is both quota and weight, so consuming
//!   it lowers both).
//! - **Who records usage.** The token's owner, an operator the owner approved (for the class or
//!   for all), or a service the class's creator authorised with `setClassService` (for example
//!   the worker that serves a model). Nobody else; usage is never recorded on an expired token.
//! - **Locked value.** A module that creates a class may lock its value (the model registry
//!   does, for every model class): then `transferValue` out of its tokens reverts with
//!   `ValueLocked` for anyone but the class's creator, and only the class's services record
//!   usage on them (its owner and operators get `ValueLocked`). Value bought as a quota stays
//!   with its token, so what a service has served from it can always be recorded.
//!   `transferToken` still moves the whole token, value included, and the service records
//!   usage on the token whoever holds it.
//! - **How `verified` is enforced.** Only an address with the minter role — the DataRegistry
//!   and verification modules, i.e. the verification path — may set it (`setTokenVerified`, or
//!   `mint(…, verified = true)`). An owner or a class creator never can: `NotVerifier`.
//! - **Minting.** The minter-role modules may mint into any class; a class's creator may mint
//!   into it; anyone may create a class (and so mint into their own). Anything else is
//!   `NotMinter`.
//! - **Revenue rights at expiry.** Revenue accrued up to `expireAt` stays claimable forever;
//!   nothing accrues after. From the block whose timestamp reaches `expireAt`, the token's share
//!   leaves the class's total at the next settlement, and its accrual is frozen at the
//!   accumulator of that instant. `transferValue` and `recordUsage` refuse expired tokens;
//!   `transferToken` and `claim` still work. `Expired` is emitted by the first successful
//!   transaction that touches the token (a transfer or a claim) after it expired.
//! - **ERC-165.** `supportsInterface` is true for ERC-165 (`0x01ffc9a7`), ERC-1155
//!   (`0xd9b67a26`), ERC-1155 metadata URI (`0x0e89341c`) and the DAT interface id
//!   [`DAT_INTERFACE_ID`] (`0xada7a129`), the XOR of the selectors of the ERC-8028 functions.
//!
//! # Revenue accounting (pull-based, exact)
//!
//! Per class and asset: an accumulator `acc` (wei per unit of share, scaled by
//! [`SCALE`] = 10¹⁸) and a `carry`. Settling `amount` over the class's total unexpired share
//! `S` does `acc += (amount·SCALE + carry) / S` and keeps `carry = (amount·SCALE + carry) mod S`
//! for the next settlement: O(1) whatever the number of holders. A token accrues
//! `shareRatio · Δacc` scaled units; claiming pays the whole wei part and keeps the sub-wei
//! remainder in the token. Hence, exactly, for every class and asset:
//!
//! `settled = claimed + Σ pending(token) + dust`, with
//! `dust = (carry + Σ sub-wei remainders of the tokens) / SCALE` — an integer, at most
//! `1 + number of tokens` wei, held by the module for the class; it is never paid out nor
//! created. Settlement reverts with `ZeroTotalShare` when no unexpired token has a share.
//!
//! Expiry is applied lazily with a per-class min-heap of distinct expiry times (bucket =
//! summed share): a settlement first retires every due bucket (each once, amortised O(1) per
//! mint) and records the accumulators at that instant for the bucket's tokens. A class whose
//! minters gave thousands of tokens distinct expiry times that all pass between two
//! settlements makes that settlement pay for all of them; `retireExpired(classId, max)` lets
//! anyone retire them in bounded chunks first.
//!
//! Bounds: a class's total share is at most [`MAX_CLASS_SHARE`] (2⁹⁶) and `acc` below
//! [`ACC_LIMIT`] (2¹⁶⁰), so every `share · acc` product fits in 256 bits; anything beyond
//! reverts with `RevenueOverflow`. Strings are at most [`MAX_STRING_BYTES`], batches at most
//! [`MAX_BATCH`] items.
//!
//! LAZAI (asset `address(0)`) is the only revenue asset: `settleRevenueETH` settles the value
//! sent, `settleRevenueERC20(classId, address(0), amount)` takes `amount` from the caller's
//! balance (`InsufficientFunds` when short), and any other asset reverts with
//! `UnsupportedAsset` until ERC-20-like module assets exist.

mod book;
mod dispatch;
pub(crate) mod facade;
mod receiver;
mod records;
mod revenue;
mod transfer;

use lazai_abi::dat::*;
use lazai_abi::{DAT_ADDRESS, DATA_REGISTRY_ADDRESS, VERIFIED_COMPUTING_ADDRESS};

use crate::kernel::{Call, Module, ModuleError, decode_call, revert_with};
use I::IDataAnchoringTokenCalls as Calls;
use alloy_primitives::{Address, B256, Bytes, U256};
use alloy_sol_types::{SolCall, SolValue};
use lazai_abi::dat::IDataAnchoringToken as I;
use records::{ClassRecord, ClassTotals, TokenRecord};

pub use book::ACC_LIMIT;
use book::SUPPORTED_ASSETS;

/// The DataAnchoringToken module, with the addresses holding the minter role.
#[derive(Clone, Debug)]
pub struct Dat {
    minters: Vec<Address>,
}

impl Default for Dat {
    /// The DataRegistry and VerifiedComputing modules are the minters.
    fn default() -> Self {
        Self::new(vec![DATA_REGISTRY_ADDRESS, VERIFIED_COMPUTING_ADDRESS])
    }
}

fn now(call: &Call<'_>) -> u64 {
    call.block.timestamp_ms / 1000
}

fn check_string(s: &str) -> Result<(), ModuleError> {
    if s.len() > MAX_STRING_BYTES {
        return Err(revert_with(I::StringTooLong {
            length: U256::from(s.len()),
            max: U256::from(MAX_STRING_BYTES),
        }));
    }
    Ok(())
}

fn check_batch(n: usize) -> Result<(), ModuleError> {
    if n > MAX_BATCH {
        return Err(revert_with(I::TooManyItems {
            count: U256::from(n),
            max: U256::from(MAX_BATCH),
        }));
    }
    Ok(())
}

/// A recipient of tokens or revenue: neither the zero address nor the module itself (whose
/// balance is the class's unclaimed revenue, so a payment to it would be lost in place).
fn check_recipient(to: Address) -> Result<(), ModuleError> {
    if to == Address::ZERO || to == DAT_ADDRESS {
        return Err(revert_with(I::InvalidRecipient { to }));
    }
    Ok(())
}

fn check_asset(asset: Address) -> Result<(), ModuleError> {
    if !SUPPORTED_ASSETS.contains(&asset) {
        return Err(revert_with(I::UnsupportedAsset { asset }));
    }
    Ok(())
}

fn nonzero(amount: U256) -> Result<(), ModuleError> {
    if amount.is_zero() {
        return Err(revert_with(I::ZeroAmount {}));
    }
    Ok(())
}

/// Adds minted share and value to a class's totals; the total share may not pass
/// [`MAX_CLASS_SHARE`].
fn add_to_totals(
    class_id: U256,
    totals: &mut ClassTotals,
    share: U256,
    value: U256,
) -> Result<(), ModuleError> {
    totals.totalShare = totals
        .totalShare
        .checked_add(share)
        .filter(|s| *s <= MAX_CLASS_SHARE)
        .ok_or_else(|| {
            revert_with(I::ShareLimitExceeded {
                classId: class_id,
                limit: MAX_CLASS_SHARE,
            })
        })?;
    totals.totalValue = totals
        .totalValue
        .checked_add(value)
        .ok_or_else(|| book::overflow(class_id))?;
    Ok(())
}

/// Whether `actor` may move `owner`'s tokens of `class`: the owner, or an operator approved
/// for all of the owner's tokens or for that class.
fn may_move(
    call: &mut Call<'_>,
    owner: Address,
    class: U256,
    actor: Address,
) -> Result<bool, ModuleError> {
    Ok(actor == owner
        || book::approved_for_all(call, owner, actor)?
        || book::approved_for_class(call, owner, class, actor)?)
}

fn require_mover(call: &mut Call<'_>, owner: Address, class: U256) -> Result<(), ModuleError> {
    let actor = call.caller;
    if !may_move(call, owner, class, actor)? {
        return Err(revert_with(I::NotOwnerNorApproved {
            owner,
            caller: actor,
        }));
    }
    Ok(())
}

/// Emits `Expired` the first time a touched token is found expired; true when the record
/// changed (the caller stores it).
fn note_expired(
    call: &mut Call<'_>,
    id: U256,
    t: &mut TokenRecord,
    now: u64,
) -> Result<bool, ModuleError> {
    if book::is_expired(t, now) && !t.expiredNoted {
        t.expiredNoted = true;
        call.emit(&I::Expired {
            tokenId: id,
            classId: t.classId,
            expireAt: t.expireAt,
        })?;
        return Ok(true);
    }
    Ok(false)
}

impl Dat {
    pub fn new(minters: Vec<Address>) -> Self {
        Self { minters }
    }

    /// Whether `account` has the minter role.
    pub fn is_minter(&self, account: &Address) -> bool {
        self.minters.contains(account)
    }

    fn require_minter_of(
        &self,
        call: &Call<'_>,
        class_id: U256,
        class: &ClassRecord,
    ) -> Result<(), ModuleError> {
        if call.caller != class.creator && !self.is_minter(&call.caller) {
            return Err(revert_with(I::NotMinter {
                classId: class_id,
                caller: call.caller,
            }));
        }
        Ok(())
    }

    fn require_verifier(&self, call: &Call<'_>) -> Result<(), ModuleError> {
        if !self.is_minter(&call.caller) {
            return Err(revert_with(I::NotVerifier {
                caller: call.caller,
            }));
        }
        Ok(())
    }

    // ---- classes and minting ----------------------------------------------------------------

    fn create_class(
        call: &mut Call<'_>,
        metadata_uri: String,
        integrity_hash: B256,
        unit_decimals: u8,
        policy_uri: String,
        fungible: bool,
    ) -> Result<U256, ModuleError> {
        check_string(&metadata_uri)?;
        check_string(&policy_uri)?;
        if unit_decimals > MAX_UNIT_DECIMALS {
            return Err(revert_with(I::InvalidUnitDecimals {
                unitDecimals: unit_decimals,
                max: MAX_UNIT_DECIMALS,
            }));
        }
        let id = book::next_id(call, book::CLASS_COUNT)?;
        let record = ClassRecord {
            creator: call.caller,
            metadataURI: metadata_uri,
            integrityHash: integrity_hash,
            unitDecimals: unit_decimals,
            policyURI: policy_uri,
            fungible,
            createdAt: now(call),
        };
        book::put_class(call, id, &record)?;
        call.emit(&I::ClassCreated {
            classId: id,
            creator: record.creator,
            metadataURI: record.metadataURI,
            integrityHash: record.integrityHash,
            unitDecimals: record.unitDecimals,
            policyURI: record.policyURI,
        })?;
        Ok(id)
    }

    /// Creates a token (no permission check: callers check). The caller stores `totals`.
    #[allow(clippy::too_many_arguments)]
    fn new_token(
        call: &mut Call<'_>,
        class_id: U256,
        totals: &mut ClassTotals,
        to: Address,
        value: U256,
        share: U256,
        expire_at: u64,
    ) -> Result<U256, ModuleError> {
        check_recipient(to)?;
        let now = now(call);
        if expire_at != 0 && expire_at <= now {
            return Err(revert_with(I::ExpiryNotInFuture {
                expireAt: expire_at,
                now,
            }));
        }
        add_to_totals(class_id, totals, share, value)?;
        totals.tokenCount = totals.tokenCount.saturating_add(U256::from(1));
        let id = book::next_id(call, book::TOKEN_COUNT)?;
        let record = TokenRecord {
            classId: class_id,
            owner: to,
            value,
            shareRatio: share,
            expireAt: expire_at,
            mintedAt: now,
            expiredNoted: false,
        };
        book::put_token(call, id, &record)?;
        book::open_positions(call, id, class_id, share)?;
        if expire_at != 0 {
            book::add_to_bucket(call, class_id, expire_at, share)?;
        }
        book::adjust_balance(call, class_id, to, value, U256::ZERO)?;
        call.emit(&I::Minted {
            tokenId: id,
            classId: class_id,
            to,
            value,
            shareRatio: share,
            expireAt: expire_at,
        })?;
        Ok(id)
    }

    /// Mints `amount` into `to`'s holding of a fungible class (creating it on first receipt).
    /// The caller stores `totals` and emits the ERC-1155 event.
    fn credit_holding(
        call: &mut Call<'_>,
        class_id: U256,
        totals: &mut ClassTotals,
        to: Address,
        amount: U256,
    ) -> Result<U256, ModuleError> {
        check_recipient(to)?;
        let held = book::holding(call, class_id, to)?;
        if held.is_zero() {
            let id = Self::new_token(call, class_id, totals, to, amount, amount, 0)?;
            book::set_holding(call, class_id, to, id)?;
            return Ok(id);
        }
        add_to_totals(class_id, totals, amount, amount)?;
        let mut t = book::token(call, held)?;
        let now = now(call);
        // At most the class total, which was just checked.
        let share = t
            .shareRatio
            .checked_add(amount)
            .ok_or_else(|| book::overflow(class_id))?;
        book::reshare(call, held, &t, share, now)?;
        t.shareRatio = share;
        t.value = t
            .value
            .checked_add(amount)
            .ok_or_else(|| book::overflow(class_id))?;
        book::put_token(call, held, &t)?;
        book::adjust_balance(call, class_id, to, amount, U256::ZERO)?;
        call.emit(&I::Minted {
            tokenId: held,
            classId: class_id,
            to,
            value: amount,
            shareRatio: amount,
            expireAt: 0,
        })?;
        Ok(held)
    }

    fn mint(
        &self,
        call: &mut Call<'_>,
        class_id: U256,
        to: Address,
        value: U256,
        share: U256,
        expire_at: u64,
    ) -> Result<Vec<u8>, ModuleError> {
        let class = book::class(call, class_id)?;
        self.require_minter_of(call, class_id, &class)?;
        if class.fungible {
            return Err(revert_with(I::FungibleClass { classId: class_id }));
        }
        let mut totals = book::totals(call, class_id)?;
        let id = Self::new_token(call, class_id, &mut totals, to, value, share, expire_at)?;
        book::put_totals(call, class_id, &totals)?;
        call.emit(&I::TransferSingle {
            operator: call.caller,
            from: Address::ZERO,
            to,
            id: class_id,
            value,
        })?;
        receiver::accept_single(call, Address::ZERO, to, class_id, value, Bytes::new())?;
        Ok(id.abi_encode())
    }

    /// The legacy mint: a new fungible class with one holding.
    fn legacy_mint(
        &self,
        call: &mut Call<'_>,
        to: Address,
        amount: U256,
        uri: String,
        verified: bool,
    ) -> Result<U256, ModuleError> {
        if verified {
            self.require_verifier(call)?;
        }
        nonzero(amount)?;
        check_recipient(to)?;
        let class_id = Self::create_class(call, uri.clone(), B256::ZERO, 0, String::new(), true)?;
        let mut totals = ClassTotals {
            verified,
            ..Default::default()
        };
        Self::credit_holding(call, class_id, &mut totals, to, amount)?;
        book::put_totals(call, class_id, &totals)?;
        call.emit(&I::TokenMinted {
            to,
            tokenId: class_id,
            tokenURI: uri.clone(),
        })?;
        call.emit(&I::URI {
            value: uri,
            id: class_id,
        })?;
        if verified {
            call.emit(&I::VerificationChanged {
                id: class_id,
                verified,
            })?;
        }
        Ok(class_id)
    }

    fn batch_mint(&self, call: &mut Call<'_>, c: I::batchMintCall) -> Result<Vec<u8>, ModuleError> {
        let n = c.ids.len();
        if c.amounts.len() != n || c.tokenURIs.len() != n {
            return Err(revert_with(I::LengthMismatch {}));
        }
        check_batch(n)?;
        check_recipient(c.to)?;
        let mut ids = Vec::with_capacity(n);
        for ((id, amount), uri) in c.ids.into_iter().zip(c.amounts.iter()).zip(c.tokenURIs) {
            nonzero(*amount)?;
            if id.is_zero() {
                // The batch emits the ERC-1155 transfer event for every item.
                ids.push(self.legacy_mint(call, c.to, *amount, uri, false)?);
                continue;
            }
            let class = book::class(call, id)?;
            if !class.fungible {
                return Err(revert_with(I::NotFungibleClass { classId: id }));
            }
            self.require_minter_of(call, id, &class)?;
            if !uri.is_empty() && uri != class.metadataURI {
                return Err(revert_with(I::UriMismatch { id }));
            }
            let mut totals = book::totals(call, id)?;
            Self::credit_holding(call, id, &mut totals, c.to, *amount)?;
            book::put_totals(call, id, &totals)?;
            ids.push(id);
        }
        call.emit(&I::TransferBatch {
            operator: call.caller,
            from: Address::ZERO,
            to: c.to,
            ids: ids.clone(),
            values: c.amounts.clone(),
        })?;
        receiver::accept_batch(
            call,
            Address::ZERO,
            c.to,
            ids.clone(),
            c.amounts,
            Bytes::new(),
        )?;
        Ok(ids.abi_encode())
    }

    // ---- views ------------------------------------------------------------------------------

    fn class_info(call: &mut Call<'_>, id: U256) -> Result<I::DatClass, ModuleError> {
        let c = book::class(call, id)?;
        let t = book::totals(call, id)?;
        Ok(I::DatClass {
            id,
            creator: c.creator,
            metadataURI: c.metadataURI,
            integrityHash: c.integrityHash,
            unitDecimals: c.unitDecimals,
            policyURI: c.policyURI,
            fungible: c.fungible,
            verified: t.verified,
            totalShare: t.totalShare,
            totalValue: t.totalValue,
            tokenCount: t.tokenCount,
            createdAt: c.createdAt,
        })
    }

    fn token_info(call: &mut Call<'_>, id: U256) -> Result<I::DatToken, ModuleError> {
        let t = book::token(call, id)?;
        Ok(I::DatToken {
            id,
            classId: t.classId,
            owner: t.owner,
            value: t.value,
            shareRatio: t.shareRatio,
            expireAt: t.expireAt,
            expired: book::is_expired(&t, now(call)),
            mintedAt: t.mintedAt,
        })
    }

    fn pending_revenue(call: &mut Call<'_>, id: U256, asset: Address) -> Result<U256, ModuleError> {
        let t = book::token(call, id)?;
        if !SUPPORTED_ASSETS.contains(&asset) {
            return Ok(U256::ZERO);
        }
        let now = now(call);
        book::pending(call, id, &t, asset, now)
    }

    fn supports_interface(id: [u8; 4]) -> bool {
        [
            ERC165_INTERFACE_ID,
            ERC1155_INTERFACE_ID,
            ERC1155_METADATA_URI_INTERFACE_ID,
            DAT_INTERFACE_ID,
        ]
        .contains(&id)
    }
}
