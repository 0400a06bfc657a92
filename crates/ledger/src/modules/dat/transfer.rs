//! Moving DATs: whole tokens, value between tokens of a class, fungible amounts, ERC-1155
//! batch transfers.

use super::*;

impl Dat {
    pub(super) fn transfer_token(
        call: &mut Call<'_>,
        id: U256,
        to: Address,
    ) -> Result<Vec<u8>, ModuleError> {
        check_recipient(to)?;
        let mut t = book::token(call, id)?;
        let from = t.owner;
        require_mover(call, from, t.classId)?;
        let class = book::class(call, t.classId)?;
        if class.fungible && from != to {
            let held = book::holding(call, t.classId, to)?;
            if !held.is_zero() {
                return Err(revert_with(I::RecipientHoldsClassToken {
                    classId: t.classId,
                    tokenId: held,
                }));
            }
            book::set_holding(call, t.classId, from, U256::ZERO)?;
            book::set_holding(call, t.classId, to, id)?;
        }
        let now = now(call);
        note_expired(call, id, &mut t, now)?;
        if from != to {
            book::adjust_balance(call, t.classId, from, U256::ZERO, t.value)?;
            book::adjust_balance(call, t.classId, to, t.value, U256::ZERO)?;
        }
        t.owner = to;
        book::put_token(call, id, &t)?;
        call.emit(&I::TransferToken {
            tokenId: id,
            from,
            to,
        })?;
        call.emit(&I::TransferSingle {
            operator: call.caller,
            from,
            to,
            id: t.classId,
            value: t.value,
        })?;
        receiver::accept_single(call, from, to, t.classId, t.value, Bytes::new())?;
        Ok(Vec::new())
    }

    /// Moves `value` between two tokens of one class; shares follow value in fungible
    /// classes. Checks neither permissions nor expiry (callers do).
    pub(super) fn move_value(
        call: &mut Call<'_>,
        from_id: U256,
        f: &mut TokenRecord,
        to_id: U256,
        t: &mut TokenRecord,
        value: U256,
        fungible: bool,
    ) -> Result<(), ModuleError> {
        if value > f.value {
            return Err(revert_with(I::InsufficientValue {
                tokenId: from_id,
                value: f.value,
                requested: value,
            }));
        }
        if fungible {
            let now = now(call);
            let f_share = f
                .shareRatio
                .checked_sub(value)
                .ok_or_else(|| book::overflow(f.classId))?;
            let t_share = t
                .shareRatio
                .checked_add(value)
                .ok_or_else(|| book::overflow(t.classId))?;
            book::reshare(call, from_id, f, f_share, now)?;
            book::reshare(call, to_id, t, t_share, now)?;
            f.shareRatio = f_share;
            t.shareRatio = t_share;
        }
        f.value -= value;
        t.value = t
            .value
            .checked_add(value)
            .ok_or_else(|| book::overflow(t.classId))?;
        book::put_token(call, from_id, f)?;
        book::put_token(call, to_id, t)?;
        if f.owner != t.owner {
            book::adjust_balance(call, f.classId, f.owner, U256::ZERO, value)?;
            book::adjust_balance(call, t.classId, t.owner, value, U256::ZERO)?;
        }
        call.emit(&I::ValueTransferred {
            fromTokenId: from_id,
            toTokenId: to_id,
            value,
        })
    }

    pub(super) fn transfer_value(
        call: &mut Call<'_>,
        from_id: U256,
        to_id: U256,
        value: U256,
    ) -> Result<Vec<u8>, ModuleError> {
        if from_id == to_id {
            return Err(revert_with(I::SameToken { tokenId: from_id }));
        }
        nonzero(value)?;
        let mut f = book::token(call, from_id)?;
        let mut t = book::token(call, to_id)?;
        if f.classId != t.classId {
            return Err(revert_with(I::ClassMismatch {
                fromClassId: f.classId,
                toClassId: t.classId,
            }));
        }
        let now = now(call);
        for (id, rec) in [(from_id, &f), (to_id, &t)] {
            if book::is_expired(rec, now) {
                return Err(revert_with(I::TokenExpired {
                    tokenId: id,
                    expireAt: rec.expireAt,
                }));
            }
        }
        let class = book::class(call, f.classId)?;
        if call.caller != class.creator && book::is_value_locked(call, f.classId)? {
            return Err(revert_with(I::ValueLocked {
                tokenId: from_id,
                caller: call.caller,
            }));
        }
        require_mover(call, f.owner, f.classId)?;
        Self::move_value(call, from_id, &mut f, to_id, &mut t, value, class.fungible)?;
        if f.owner != t.owner {
            call.emit(&I::TransferSingle {
                operator: call.caller,
                from: f.owner,
                to: t.owner,
                id: f.classId,
                value,
            })?;
            receiver::accept_single(call, f.owner, t.owner, f.classId, value, Bytes::new())?;
        }
        Ok(Vec::new())
    }

    /// One ERC-1155 transfer of a fungible class (the caller emits the event).
    pub(super) fn transfer_fungible(
        call: &mut Call<'_>,
        from: Address,
        to: Address,
        class_id: U256,
        amount: U256,
    ) -> Result<(), ModuleError> {
        check_recipient(to)?;
        let class = book::class(call, class_id)?;
        if !class.fungible {
            return Err(revert_with(I::NotFungibleClass { classId: class_id }));
        }
        require_mover(call, from, class_id)?;
        let src = book::holding(call, class_id, from)?;
        let mut f = if src.is_zero() {
            None
        } else {
            Some(book::token(call, src)?)
        };
        let balance = f.as_ref().map(|f| f.value).unwrap_or_default();
        if amount > balance {
            return Err(revert_with(I::InsufficientBalance {
                account: from,
                id: class_id,
                balance,
                requested: amount,
            }));
        }
        let Some(f) = f.as_mut() else {
            return Ok(()); // nothing held and nothing moved
        };
        if amount.is_zero() || from == to {
            return Ok(());
        }
        let mut dst = book::holding(call, class_id, to)?;
        if dst.is_zero() {
            let mut totals = book::totals(call, class_id)?;
            dst = Self::new_token(call, class_id, &mut totals, to, U256::ZERO, U256::ZERO, 0)?;
            book::put_totals(call, class_id, &totals)?;
            book::set_holding(call, class_id, to, dst)?;
        }
        let mut t = book::token(call, dst)?;
        Self::move_value(call, src, f, dst, &mut t, amount, true)
    }

    pub(super) fn safe_batch_transfer(
        call: &mut Call<'_>,
        c: I::safeBatchTransferFromCall,
    ) -> Result<Vec<u8>, ModuleError> {
        if c.ids.len() != c.values.len() {
            return Err(revert_with(I::LengthMismatch {}));
        }
        check_batch(c.ids.len())?;
        for (id, value) in c.ids.iter().zip(&c.values) {
            Self::transfer_fungible(call, c.from, c.to, *id, *value)?;
        }
        call.emit(&I::TransferBatch {
            operator: call.caller,
            from: c.from,
            to: c.to,
            ids: c.ids.clone(),
            values: c.values.clone(),
        })?;
        receiver::accept_batch(call, c.from, c.to, c.ids, c.values, c.data)?;
        Ok(Vec::new())
    }
}
