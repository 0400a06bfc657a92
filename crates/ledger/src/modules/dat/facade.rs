//! What other modules do on the DAT as a class creator or service, called from inside
//! `call.enter(DAT_ADDRESS, …)` (so `call.caller` is the acting module).

use super::{Call, Dat, ModuleError, U256, book, now};
use alloy_primitives::{Address, B256};

/// A semi-fungible class created by the caller; returns its id.
pub(crate) fn create_class(
    call: &mut Call<'_>,
    metadata_uri: String,
    integrity_hash: B256,
    policy_uri: String,
) -> Result<U256, ModuleError> {
    Dat::create_class(call, metadata_uri, integrity_hash, 0, policy_uri, false)
}

/// Authorises (or not) `service` to record usage on the caller's class.
pub(crate) fn set_service(
    call: &mut Call<'_>,
    class_id: U256,
    service: Address,
    on: bool,
) -> Result<(), ModuleError> {
    book::set_service(call, class_id, service, on)
}

/// Locks the value of a class the caller created: from now on only the caller moves
/// value between its tokens and only its services record usage on them.
pub(crate) fn lock_value(call: &mut Call<'_>, class_id: U256) -> Result<(), ModuleError> {
    let class = book::class(call, class_id)?;
    if class.creator != call.caller {
        return Err(super::revert_with(super::I::NotClassCreator {
            classId: class_id,
            caller: call.caller,
        }));
    }
    book::lock_value(call, class_id)
}

/// Mints a token into a class the caller created.
pub(crate) fn mint(
    call: &mut Call<'_>,
    class_id: U256,
    to: Address,
    value: U256,
    share: U256,
    expire_at: u64,
) -> Result<U256, ModuleError> {
    let out = Dat::default().mint(call, class_id, to, value, share, expire_at)?;
    Ok(U256::from_be_slice(&out))
}

/// Records usage as the caller (the owner, an approved operator or a class service).
pub(crate) fn record_usage(
    call: &mut Call<'_>,
    token_id: U256,
    metric: B256,
    amount: U256,
) -> Result<(), ModuleError> {
    Dat::record_usage(call, token_id, metric, amount).map(|_| ())
}

/// The class's total unexpired share now (retiring due expiries first).
pub(crate) fn live_share(call: &mut Call<'_>, class_id: U256) -> Result<U256, ModuleError> {
    book::class(call, class_id)?;
    let mut totals = book::totals(call, class_id)?;
    if book::retire_expired(call, class_id, &mut totals, now(call), u64::MAX)? > 0 {
        book::put_totals(call, class_id, &totals)?;
    }
    Ok(totals.totalShare)
}

/// Settles `amount` native LAZAI, already paid to the DAT module, over the class.
pub(crate) fn settle(call: &mut Call<'_>, class_id: U256, amount: U256) -> Result<(), ModuleError> {
    Dat::settle(call, class_id, super::NATIVE_ASSET, amount)
}

/// A token's class, owner, remaining value and expiry.
pub(crate) fn token(
    call: &mut Call<'_>,
    id: U256,
) -> Result<(U256, Address, U256, u64), ModuleError> {
    let t = book::token(call, id)?;
    Ok((t.classId, t.owner, t.value, t.expireAt))
}

/// Mints on the legacy ERC-1155 face as the caller (a minter): a token of the legacy class
/// with `amount` and `uri`, to `to`; emits `TransferSingle` as the ABI call does. Returns its
/// id.
pub(crate) fn legacy_mint(
    call: &mut Call<'_>,
    to: Address,
    amount: U256,
    uri: String,
    verified: bool,
) -> Result<U256, ModuleError> {
    let id = Dat::default().legacy_mint(call, to, amount, uri, verified)?;
    call.emit(&super::I::TransferSingle {
        operator: call.caller,
        from: Address::ZERO,
        to,
        id,
        value: amount,
    })?;
    super::receiver::accept_single(call, Address::ZERO, to, id, amount, Default::default())?;
    Ok(id)
}
