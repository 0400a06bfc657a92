//! Usage recorded on tokens and revenue settled on classes and claimed by holders.

use super::*;

impl Dat {
    // ---- usage ------------------------------------------------------------------------------

    pub(super) fn record_usage(
        call: &mut Call<'_>,
        id: U256,
        metric: B256,
        amount: U256,
    ) -> Result<Vec<u8>, ModuleError> {
        nonzero(amount)?;
        let mut t = book::token(call, id)?;
        let now = now(call);
        if book::is_expired(&t, now) {
            return Err(revert_with(I::TokenExpired {
                tokenId: id,
                expireAt: t.expireAt,
            }));
        }
        let actor = call.caller;
        if !book::is_service(call, t.classId, actor)? {
            if !may_move(call, t.owner, t.classId, actor)? {
                return Err(revert_with(I::UsageNotAuthorised {
                    tokenId: id,
                    caller: actor,
                }));
            }
            if book::is_value_locked(call, t.classId)? {
                return Err(revert_with(I::ValueLocked {
                    tokenId: id,
                    caller: actor,
                }));
            }
        }
        if amount > t.value {
            return Err(revert_with(I::QuotaExceeded {
                tokenId: id,
                remaining: t.value,
                requested: amount,
            }));
        }
        let class = book::class(call, t.classId)?;
        let mut totals = book::totals(call, t.classId)?;
        if class.fungible {
            let share = t
                .shareRatio
                .checked_sub(amount)
                .ok_or_else(|| book::overflow(t.classId))?;
            book::reshare(call, id, &t, share, now)?;
            t.shareRatio = share;
            totals.totalShare = totals
                .totalShare
                .checked_sub(amount)
                .ok_or_else(|| book::overflow(t.classId))?;
        }
        t.value -= amount;
        totals.totalValue = totals.totalValue.saturating_sub(amount);
        book::put_token(call, id, &t)?;
        book::put_totals(call, t.classId, &totals)?;
        book::add_usage(call, id, metric, amount)?;
        book::adjust_balance(call, t.classId, t.owner, U256::ZERO, amount)?;
        call.emit(&I::UsageRecorded {
            tokenId: id,
            metricType: metric,
            amount,
            actor,
        })?;
        call.emit(&I::TransferSingle {
            operator: actor,
            from: t.owner,
            to: Address::ZERO,
            id: t.classId,
            value: amount,
        })?;
        Ok(Vec::new())
    }

    // ---- revenue ----------------------------------------------------------------------------

    /// Distributes `amount` of `asset`, already held by the module, over a class's unexpired
    /// tokens. O(1) in the number of holders (plus each due expiry bucket, once).
    pub(crate) fn settle(
        call: &mut Call<'_>,
        class_id: U256,
        asset: Address,
        amount: U256,
    ) -> Result<(), ModuleError> {
        nonzero(amount)?;
        check_asset(asset)?;
        book::class(call, class_id)?;
        let mut totals = book::totals(call, class_id)?;
        let now = now(call);
        if book::retire_expired(call, class_id, &mut totals, now, u64::MAX)? > 0 {
            book::put_totals(call, class_id, &totals)?;
        }
        let mut rev = book::revenue(call, class_id, asset)?;
        book::distribute(class_id, &mut rev, amount, totals.totalShare)?;
        book::put_revenue(call, class_id, asset, &rev)?;
        call.emit(&I::RevenueSettled {
            classId: class_id,
            asset,
            payer: call.caller,
            amount,
            accRevenuePerShare: rev.acc,
        })
    }

    pub(super) fn claim(
        call: &mut Call<'_>,
        id: U256,
        asset: Address,
        to: Address,
    ) -> Result<Vec<u8>, ModuleError> {
        check_asset(asset)?;
        check_recipient(to)?;
        let mut t = book::token(call, id)?;
        if t.owner != call.caller {
            return Err(revert_with(I::NotTokenOwner {
                tokenId: id,
                caller: call.caller,
            }));
        }
        let now = now(call);
        let pay = book::take_pending(call, id, &t, asset, now)?;
        if pay.is_zero() {
            return Err(revert_with(I::NothingToClaim { tokenId: id, asset }));
        }
        let mut rev = book::revenue(call, t.classId, asset)?;
        rev.claimed = rev
            .claimed
            .checked_add(pay)
            .ok_or_else(|| book::overflow(t.classId))?;
        book::put_revenue(call, t.classId, asset, &rev)?;
        if note_expired(call, id, &mut t, now)? {
            book::put_token(call, id, &t)?;
        }
        call.pay(to, pay)?;
        call.emit(&I::Claimed {
            tokenId: id,
            asset,
            to,
            amount: pay,
        })?;
        Ok(pay.abi_encode())
    }
}
