//! The DAT ledger's storage and its revenue arithmetic. Every function here is metered through
//! [`Call`]; every product and sum is checked and a failure reverts (never panics, never
//! wraps).

use super::records::{ClassRecord, ClassTotals, Position, Revenue, TokenRecord};
use crate::kernel::{Call, ModuleError, revert_msg, revert_with, slot};
use alloy_primitives::{Address, B256, Bytes, U256};
use alloy_sol_types::SolValue;
use lazai_abi::dat::IDataAnchoringToken as I;
use lazai_abi::{NATIVE_ASSET, SCALE};

/// Every revenue asset the ledger accounts for.
pub(crate) const SUPPORTED_ASSETS: [Address; 1] = [NATIVE_ASSET];

/// A class's accumulator stays below this (2¹⁶⁰).
pub const ACC_LIMIT: U256 = U256::from_limbs([0, 0, 1 << 32, 0]);

// ---- slots ----------------------------------------------------------------------------------

pub(super) const CLASS_COUNT: &[u8] = b"class-count";
pub(super) const TOKEN_COUNT: &[u8] = b"token-count";

fn w(v: U256) -> [u8; 32] {
    v.to_be_bytes::<32>()
}

fn class_slot(id: U256) -> Vec<u8> {
    slot(b"class/", &[&w(id)])
}
fn totals_slot(id: U256) -> Vec<u8> {
    slot(b"totals/", &[&w(id)])
}
fn token_slot(id: U256) -> Vec<u8> {
    slot(b"token/", &[&w(id)])
}
fn revenue_slot(class: U256, asset: Address) -> Vec<u8> {
    slot(b"rev/", &[&w(class), asset.as_slice()])
}
fn position_slot(token: U256, asset: Address) -> Vec<u8> {
    slot(b"pos/", &[&w(token), asset.as_slice()])
}
fn balance_slot(class: U256, owner: Address) -> Vec<u8> {
    slot(b"bal/", &[&w(class), owner.as_slice()])
}
fn holding_slot(class: U256, owner: Address) -> Vec<u8> {
    slot(b"holding/", &[&w(class), owner.as_slice()])
}
fn usage_slot(token: U256, metric: B256) -> Vec<u8> {
    slot(b"usage/", &[&w(token), metric.as_slice()])
}
fn approval_all_slot(owner: Address, operator: Address) -> Vec<u8> {
    slot(b"all/", &[owner.as_slice(), operator.as_slice()])
}
fn approval_class_slot(owner: Address, class: U256, operator: Address) -> Vec<u8> {
    slot(
        b"cls-op/",
        &[owner.as_slice(), &w(class), operator.as_slice()],
    )
}
fn service_slot(class: U256, account: Address) -> Vec<u8> {
    slot(b"service/", &[&w(class), account.as_slice()])
}
fn value_lock_slot(class: U256) -> Vec<u8> {
    slot(b"value-lock/", &[&w(class)])
}
fn heap_len_slot(class: U256) -> Vec<u8> {
    slot(b"heap-len/", &[&w(class)])
}
fn heap_slot(class: U256, index: u64) -> Vec<u8> {
    slot(b"heap/", &[&w(class), &index.to_be_bytes()])
}
fn bucket_slot(class: U256, expire_at: u64) -> Vec<u8> {
    slot(b"bucket/", &[&w(class), &expire_at.to_be_bytes()])
}
fn snapshot_slot(class: U256, expire_at: u64, asset: Address) -> Vec<u8> {
    slot(
        b"snap/",
        &[&w(class), &expire_at.to_be_bytes(), asset.as_slice()],
    )
}

fn corrupt() -> ModuleError {
    revert_msg("DataAnchoringToken: corrupt record")
}

fn load_abi<T>(call: &mut Call<'_>, slot: &[u8]) -> Result<Option<T>, ModuleError>
where
    T: SolValue + From<<T::SolType as alloy_sol_types::SolType>::RustType>,
{
    call.load_abi(slot)
}

fn store_abi<T: SolValue>(call: &mut Call<'_>, slot: &[u8], value: &T) -> Result<(), ModuleError> {
    call.store_abi(slot, value)
}

fn flag(call: &mut Call<'_>, slot: &[u8]) -> Result<bool, ModuleError> {
    call.load_flag(slot)
}

fn set_flag(call: &mut Call<'_>, slot: &[u8], on: bool) -> Result<(), ModuleError> {
    call.store_flag(slot, on)
}

/// A checked arithmetic failure in a class's accounting.
pub(super) fn overflow(class: U256) -> ModuleError {
    revert_with(I::RevenueOverflow { classId: class })
}

// ---- records --------------------------------------------------------------------------------

pub(super) fn next_id(call: &mut Call<'_>, counter: &[u8]) -> Result<U256, ModuleError> {
    let id = call.load_u256(counter)?.saturating_add(U256::from(1));
    call.store_u256(counter, id)?;
    Ok(id)
}

pub(super) fn class(call: &mut Call<'_>, id: U256) -> Result<ClassRecord, ModuleError> {
    load_abi::<ClassRecord>(call, &class_slot(id))?
        .ok_or_else(|| revert_with(I::ClassNotFound { classId: id }))
}

pub(super) fn put_class(
    call: &mut Call<'_>,
    id: U256,
    record: &ClassRecord,
) -> Result<(), ModuleError> {
    store_abi(call, &class_slot(id), record)
}

pub(super) fn totals(call: &mut Call<'_>, id: U256) -> Result<ClassTotals, ModuleError> {
    Ok(load_abi::<ClassTotals>(call, &totals_slot(id))?.unwrap_or_default())
}

pub(super) fn put_totals(
    call: &mut Call<'_>,
    id: U256,
    t: &ClassTotals,
) -> Result<(), ModuleError> {
    store_abi(call, &totals_slot(id), t)
}

pub(super) fn token(call: &mut Call<'_>, id: U256) -> Result<TokenRecord, ModuleError> {
    load_abi::<TokenRecord>(call, &token_slot(id))?
        .ok_or_else(|| revert_with(I::TokenNotFound { tokenId: id }))
}

pub(super) fn put_token(call: &mut Call<'_>, id: U256, t: &TokenRecord) -> Result<(), ModuleError> {
    store_abi(call, &token_slot(id), t)
}

pub(super) fn revenue(
    call: &mut Call<'_>,
    class: U256,
    asset: Address,
) -> Result<Revenue, ModuleError> {
    Ok(load_abi::<Revenue>(call, &revenue_slot(class, asset))?.unwrap_or_default())
}

pub(super) fn put_revenue(
    call: &mut Call<'_>,
    class: U256,
    asset: Address,
    r: &Revenue,
) -> Result<(), ModuleError> {
    store_abi(call, &revenue_slot(class, asset), r)
}

fn position(call: &mut Call<'_>, token: U256, asset: Address) -> Result<Position, ModuleError> {
    Ok(load_abi::<Position>(call, &position_slot(token, asset))?.unwrap_or_default())
}

/// Stores a position; an all-zero one deletes the slot.
fn put_position(
    call: &mut Call<'_>,
    token: U256,
    asset: Address,
    p: &Position,
) -> Result<(), ModuleError> {
    let slot = position_slot(token, asset);
    if p.debt.is_zero() && p.credit.is_zero() {
        if call.load(&slot)?.is_empty() {
            return Ok(());
        }
        return call.store(&slot, Bytes::new());
    }
    store_abi(call, &slot, p)
}

pub(super) fn balance(
    call: &mut Call<'_>,
    class: U256,
    owner: Address,
) -> Result<U256, ModuleError> {
    call.load_u256(&balance_slot(class, owner))
}

/// Adds `add` and subtracts `sub` from an owner's ERC-1155 balance of a class.
pub(super) fn adjust_balance(
    call: &mut Call<'_>,
    class: U256,
    owner: Address,
    add: U256,
    sub: U256,
) -> Result<(), ModuleError> {
    if add == sub {
        return Ok(());
    }
    let slot = balance_slot(class, owner);
    let b = call.load_u256(&slot)?;
    let b = b
        .checked_add(add)
        .and_then(|b| b.checked_sub(sub))
        .ok_or_else(corrupt)?;
    call.store_u256(&slot, b)
}

pub(super) fn holding(
    call: &mut Call<'_>,
    class: U256,
    owner: Address,
) -> Result<U256, ModuleError> {
    call.load_u256(&holding_slot(class, owner))
}

pub(super) fn set_holding(
    call: &mut Call<'_>,
    class: U256,
    owner: Address,
    token: U256,
) -> Result<(), ModuleError> {
    call.store_u256(&holding_slot(class, owner), token)
}

pub(super) fn usage(call: &mut Call<'_>, token: U256, metric: B256) -> Result<U256, ModuleError> {
    call.load_u256(&usage_slot(token, metric))
}

pub(super) fn add_usage(
    call: &mut Call<'_>,
    token: U256,
    metric: B256,
    amount: U256,
) -> Result<(), ModuleError> {
    let slot = usage_slot(token, metric);
    let total = call.load_u256(&slot)?.saturating_add(amount);
    call.store_u256(&slot, total)
}

pub(super) fn approved_for_all(
    call: &mut Call<'_>,
    owner: Address,
    operator: Address,
) -> Result<bool, ModuleError> {
    flag(call, &approval_all_slot(owner, operator))
}

pub(super) fn set_approved_for_all(
    call: &mut Call<'_>,
    owner: Address,
    operator: Address,
    on: bool,
) -> Result<(), ModuleError> {
    set_flag(call, &approval_all_slot(owner, operator), on)
}

pub(super) fn approved_for_class(
    call: &mut Call<'_>,
    owner: Address,
    class: U256,
    operator: Address,
) -> Result<bool, ModuleError> {
    flag(call, &approval_class_slot(owner, class, operator))
}

pub(super) fn set_approved_for_class(
    call: &mut Call<'_>,
    owner: Address,
    class: U256,
    operator: Address,
    on: bool,
) -> Result<(), ModuleError> {
    set_flag(call, &approval_class_slot(owner, class, operator), on)
}

pub(super) fn is_service(
    call: &mut Call<'_>,
    class: U256,
    account: Address,
) -> Result<bool, ModuleError> {
    flag(call, &service_slot(class, account))
}

pub(super) fn set_service(
    call: &mut Call<'_>,
    class: U256,
    account: Address,
    on: bool,
) -> Result<(), ModuleError> {
    set_flag(call, &service_slot(class, account), on)
}

/// Whether only the class's creator may move or consume its tokens' value (see the module
/// docs, "Locked value").
pub(super) fn is_value_locked(call: &mut Call<'_>, class: U256) -> Result<bool, ModuleError> {
    flag(call, &value_lock_slot(class))
}

pub(super) fn lock_value(call: &mut Call<'_>, class: U256) -> Result<(), ModuleError> {
    set_flag(call, &value_lock_slot(class), true)
}

// ---- expiry buckets: a min-heap of distinct expiry times per class ---------------------------

fn heap_len(call: &mut Call<'_>, class: U256) -> Result<u64, ModuleError> {
    u64::try_from(call.load_u256(&heap_len_slot(class))?).map_err(|_| corrupt())
}

fn heap_get(call: &mut Call<'_>, class: U256, i: u64) -> Result<u64, ModuleError> {
    u64::try_from(call.load_u256(&heap_slot(class, i))?).map_err(|_| corrupt())
}

fn heap_set(call: &mut Call<'_>, class: U256, i: u64, t: u64) -> Result<(), ModuleError> {
    call.store_u256(&heap_slot(class, i), U256::from(t))
}

fn heap_push(call: &mut Call<'_>, class: U256, t: u64) -> Result<(), ModuleError> {
    let mut i = heap_len(call, class)?;
    call.store_u256(&heap_len_slot(class), U256::from(i + 1))?;
    while i > 0 {
        let parent = (i - 1) / 2;
        let p = heap_get(call, class, parent)?;
        if p <= t {
            break;
        }
        heap_set(call, class, i, p)?;
        i = parent;
    }
    heap_set(call, class, i, t)
}

/// Removes and returns the earliest expiry time.
fn heap_pop(call: &mut Call<'_>, class: U256) -> Result<Option<u64>, ModuleError> {
    let n = heap_len(call, class)?;
    if n == 0 {
        return Ok(None);
    }
    let top = heap_get(call, class, 0)?;
    let last = heap_get(call, class, n - 1)?;
    call.store(&heap_slot(class, n - 1), Bytes::new())?;
    let n = n - 1;
    call.store_u256(&heap_len_slot(class), U256::from(n))?;
    if n > 0 {
        let mut i = 0u64;
        loop {
            let (l, r) = (2 * i + 1, 2 * i + 2);
            if l >= n {
                break;
            }
            let mut child = l;
            let mut cv = heap_get(call, class, l)?;
            if r < n {
                let rv = heap_get(call, class, r)?;
                if rv < cv {
                    child = r;
                    cv = rv;
                }
            }
            if cv >= last {
                break;
            }
            heap_set(call, class, i, cv)?;
            i = child;
        }
        heap_set(call, class, i, last)?;
    }
    Ok(Some(top))
}

/// Adds a token's share to the bucket of its expiry time.
pub(super) fn add_to_bucket(
    call: &mut Call<'_>,
    class: U256,
    expire_at: u64,
    share: U256,
) -> Result<(), ModuleError> {
    if share.is_zero() {
        return Ok(());
    }
    let slot = bucket_slot(class, expire_at);
    let current = call.load_u256(&slot)?;
    if current.is_zero() {
        heap_push(call, class, expire_at)?;
    }
    call.store_u256(
        &slot,
        current.checked_add(share).ok_or_else(|| overflow(class))?,
    )
}

/// Retires every bucket whose time has come (`expire_at <= now`): its share leaves the class's
/// total and the accumulators of every asset are recorded as that bucket's final values. Runs
/// before each settlement, so between an expiry and the settlement that retires it no revenue
/// was distributed: the recorded values are the accumulators at the expiry instant. Returns the
/// number of buckets retired, at most `limit` (each is retired once, so this is amortised O(1)
/// per mint).
pub(super) fn retire_expired(
    call: &mut Call<'_>,
    class: U256,
    totals: &mut ClassTotals,
    now: u64,
    limit: u64,
) -> Result<u64, ModuleError> {
    let mut retired = 0;
    while retired < limit && heap_len(call, class)? > 0 && heap_get(call, class, 0)? <= now {
        let Some(t) = heap_pop(call, class)? else {
            break;
        };
        let slot = bucket_slot(class, t);
        let share = call.load_u256(&slot)?;
        call.store(&slot, Bytes::new())?;
        totals.totalShare = totals.totalShare.checked_sub(share).ok_or_else(corrupt)?;
        for asset in SUPPORTED_ASSETS {
            // Stored as a full word: a zero accumulator must still read as "recorded".
            let acc = revenue(call, class, asset)?.acc;
            call.store(
                &snapshot_slot(class, t, asset),
                Bytes::from(acc.to_be_bytes::<32>().to_vec()),
            )?;
        }
        retired += 1;
    }
    Ok(retired)
}

// ---- revenue arithmetic ---------------------------------------------------------------------

/// Whether a token is expired at `now` (Unix seconds).
pub(super) fn is_expired(t: &TokenRecord, now: u64) -> bool {
    t.expireAt != 0 && now >= t.expireAt
}

/// The accumulator a token accrues against: the class's current one, or — once expired — the
/// one at its expiry instant (recorded when its bucket was retired; while it is not yet
/// retired, no settlement has happened since the expiry, so the current one is that value).
fn effective_acc(
    call: &mut Call<'_>,
    t: &TokenRecord,
    asset: Address,
    current: U256,
    now: u64,
) -> Result<U256, ModuleError> {
    if is_expired(t, now) {
        let raw = call.load(&snapshot_slot(t.classId, t.expireAt, asset))?;
        if !raw.is_empty() {
            if raw.len() != 32 {
                return Err(corrupt());
            }
            return Ok(U256::from_be_slice(&raw));
        }
    }
    Ok(current)
}

/// A token's whole accrued revenue in scaled units (wei × [`SCALE`]) and the `share × acc`
/// product it was computed at.
fn accrued(
    call: &mut Call<'_>,
    token_id: U256,
    t: &TokenRecord,
    asset: Address,
    now: u64,
) -> Result<(Position, U256), ModuleError> {
    let current = revenue(call, t.classId, asset)?.acc;
    let acc = effective_acc(call, t, asset, current, now)?;
    let p = position(call, token_id, asset)?;
    let product = t
        .shareRatio
        .checked_mul(acc)
        .ok_or_else(|| overflow(t.classId))?;
    let gained = product.checked_sub(p.debt).ok_or_else(corrupt)?;
    let credit = p
        .credit
        .checked_add(gained)
        .ok_or_else(|| overflow(t.classId))?;
    Ok((
        Position {
            debt: product,
            credit,
        },
        acc,
    ))
}

/// A token's pending revenue in wei (what `claim` would pay).
pub(super) fn pending(
    call: &mut Call<'_>,
    token_id: U256,
    t: &TokenRecord,
    asset: Address,
    now: u64,
) -> Result<U256, ModuleError> {
    let (p, _) = accrued(call, token_id, t, asset, now)?;
    Ok(p.credit / SCALE)
}

/// Brings a token's positions up to date before its share changes to `new_share`, and
/// re-bases them on it. Used by fungible classes, whose share is their value.
pub(super) fn reshare(
    call: &mut Call<'_>,
    token_id: U256,
    t: &TokenRecord,
    new_share: U256,
    now: u64,
) -> Result<(), ModuleError> {
    for asset in SUPPORTED_ASSETS {
        let (mut p, acc) = accrued(call, token_id, t, asset, now)?;
        p.debt = new_share
            .checked_mul(acc)
            .ok_or_else(|| overflow(t.classId))?;
        put_position(call, token_id, asset, &p)?;
    }
    Ok(())
}

/// Opens a new token's positions at the class's current accumulators.
pub(super) fn open_positions(
    call: &mut Call<'_>,
    token_id: U256,
    class: U256,
    share: U256,
) -> Result<(), ModuleError> {
    if share.is_zero() {
        return Ok(());
    }
    for asset in SUPPORTED_ASSETS {
        let acc = revenue(call, class, asset)?.acc;
        let debt = share.checked_mul(acc).ok_or_else(|| overflow(class))?;
        put_position(
            call,
            token_id,
            asset,
            &Position {
                debt,
                credit: U256::ZERO,
            },
        )?;
    }
    Ok(())
}

/// Distributes `amount` wei over `total_share`: the accumulator grows by
/// `(amount × SCALE + carry) / total_share` and the remainder is carried into the next
/// settlement of the class, so no wei is created or lost. Refuses growth to [`ACC_LIMIT`] or
/// beyond, which keeps every `share × acc` product below 2²⁵⁶.
pub(super) fn distribute(
    class: U256,
    rev: &mut Revenue,
    amount: U256,
    total_share: U256,
) -> Result<(), ModuleError> {
    if total_share.is_zero() {
        return Err(revert_with(I::ZeroTotalShare { classId: class }));
    }
    let scaled = amount
        .checked_mul(SCALE)
        .and_then(|s| s.checked_add(rev.carry))
        .ok_or_else(|| overflow(class))?;
    let inc = scaled / total_share;
    rev.carry = scaled % total_share;
    rev.acc = rev.acc.checked_add(inc).ok_or_else(|| overflow(class))?;
    if rev.acc >= ACC_LIMIT {
        return Err(overflow(class));
    }
    rev.settled = rev
        .settled
        .checked_add(amount)
        .ok_or_else(|| overflow(class))?;
    Ok(())
}

/// Takes a token's whole pending revenue: returns the wei to pay and keeps the sub-wei
/// remainder as its credit.
pub(super) fn take_pending(
    call: &mut Call<'_>,
    token_id: U256,
    t: &TokenRecord,
    asset: Address,
    now: u64,
) -> Result<U256, ModuleError> {
    let (mut p, _) = accrued(call, token_id, t, asset, now)?;
    let pay = p.credit / SCALE;
    if pay.is_zero() {
        return Ok(U256::ZERO);
    }
    p.credit %= SCALE;
    put_position(call, token_id, asset, &p)?;
    Ok(pay)
}
