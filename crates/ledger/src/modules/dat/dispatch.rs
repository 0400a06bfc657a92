//! The module's ABI entry point: decodes a call and dispatches it to the [`Dat`] method that
//! serves it.

use super::*;
use crate::kernel::revert_msg;

impl Module for Dat {
    fn name(&self) -> &'static str {
        "DataAnchoringToken"
    }

    fn address(&self) -> Address {
        DAT_ADDRESS
    }

    /// Only `settleRevenueETH` is payable: value sent with any other call reverts (and so
    /// returns to the sender) instead of being locked at the module's address.
    fn call(&self, call: &mut Call<'_>, input: &[u8]) -> Result<Vec<u8>, ModuleError> {
        if input.get(..4) != Some(&I::settleRevenueETHCall::SELECTOR[..]) {
            call.non_payable()?;
        }
        match decode_call::<Calls>(self.name(), input)? {
            Calls::name(_) => Ok("LazAI Data Anchoring Token".to_string().abi_encode()),
            Calls::version(_) => Ok(U256::from(1).abi_encode()),
            Calls::supportsInterface(c) => {
                Ok(Self::supports_interface(c.interfaceId.0).abi_encode())
            }
            Calls::isMinter(c) => Ok(self.is_minter(&c.account).abi_encode()),

            Calls::createClass(c) => Ok(Self::create_class(
                call,
                c.metadataURI,
                c.integrityHash,
                c.unitDecimals,
                c.policyURI,
                false,
            )?
            .abi_encode()),
            Calls::mint_0(c) => self.mint(call, c.classId, c.to, c.value, c.shareRatio, c.expireAt),
            Calls::transferToken(c) => Self::transfer_token(call, c.tokenId, c.to),
            Calls::approveForClass(c) => {
                if c.operator == call.caller {
                    return Err(revert_with(I::InvalidOperator {
                        operator: c.operator,
                    }));
                }
                book::class(call, c.classId)?;
                let owner = call.caller;
                book::set_approved_for_class(call, owner, c.classId, c.operator, c.approved)?;
                call.emit(&I::ApprovalForClass {
                    owner,
                    classId: c.classId,
                    operator: c.operator,
                    approved: c.approved,
                })?;
                Ok(Vec::new())
            }
            Calls::isApprovedForClass(c) => {
                Ok(book::approved_for_class(call, c.owner, c.classId, c.operator)?.abi_encode())
            }
            Calls::transferValue(c) => {
                Self::transfer_value(call, c.fromTokenId, c.toTokenId, c.value)
            }
            Calls::setClassService(c) => {
                let class = book::class(call, c.classId)?;
                if class.creator != call.caller {
                    return Err(revert_with(I::NotClassCreator {
                        classId: c.classId,
                        caller: call.caller,
                    }));
                }
                book::set_service(call, c.classId, c.service, c.authorised)?;
                call.emit(&I::ClassServiceSet {
                    classId: c.classId,
                    service: c.service,
                    authorised: c.authorised,
                })?;
                Ok(Vec::new())
            }
            Calls::isClassService(c) => {
                Ok(book::is_service(call, c.classId, c.account)?.abi_encode())
            }
            Calls::recordUsage(c) => Self::record_usage(call, c.tokenId, c.metricType, c.amount),
            Calls::usageOf(c) => {
                book::token(call, c.tokenId)?;
                Ok(book::usage(call, c.tokenId, c.metricType)?.abi_encode())
            }
            Calls::settleRevenueETH(c) => {
                let amount = call.value;
                Self::settle(call, c.classId, NATIVE_ASSET, amount)?;
                Ok(Vec::new())
            }
            Calls::settleRevenueERC20(c) => {
                check_asset(c.asset)?;
                nonzero(c.amount)?;
                if !call.collect(c.amount)? {
                    return Err(revert_with(I::InsufficientFunds {
                        account: call.caller,
                        requested: c.amount,
                    }));
                }
                Self::settle(call, c.classId, c.asset, c.amount)?;
                Ok(Vec::new())
            }
            Calls::claim(c) => Self::claim(call, c.tokenId, c.asset, c.to),
            Calls::retireExpired(c) => {
                book::class(call, c.classId)?;
                let mut totals = book::totals(call, c.classId)?;
                let now = now(call);
                let limit = u64::try_from(c.maxBuckets).unwrap_or(u64::MAX);
                let retired = book::retire_expired(call, c.classId, &mut totals, now, limit)?;
                if retired > 0 {
                    book::put_totals(call, c.classId, &totals)?;
                }
                Ok(U256::from(retired).abi_encode())
            }
            Calls::pendingRevenue(c) => {
                Ok(Self::pending_revenue(call, c.tokenId, c.asset)?.abi_encode())
            }
            Calls::classRevenue(c) => {
                book::class(call, c.classId)?;
                let r = book::revenue(call, c.classId, c.asset)?;
                Ok((r.settled, r.claimed, r.acc, r.carry).abi_encode_params())
            }
            Calls::classCount(_) => Ok(call.load_u256(book::CLASS_COUNT)?.abi_encode()),
            Calls::tokenCount(_) => Ok(call.load_u256(book::TOKEN_COUNT)?.abi_encode()),
            Calls::classInfo(c) => Ok(Self::class_info(call, c.classId)?.abi_encode()),
            Calls::tokenInfo(c) => Ok(Self::token_info(call, c.tokenId)?.abi_encode()),
            Calls::ownerOf(c) => Ok(book::token(call, c.tokenId)?.owner.abi_encode()),
            Calls::valueOf(c) => Ok(book::token(call, c.tokenId)?.value.abi_encode()),
            Calls::holdingOf(c) => Ok(book::holding(call, c.classId, c.owner)?.abi_encode()),

            legacy => self.erc1155_face(call, legacy),
        }
    }
}

impl Dat {
    /// The legacy ERC-1155 face (and LazAI's legacy `mint`, `batchMint`, `verified`,
    /// `setTokenVerified`); every other call is answered by [`Module::call`].
    fn erc1155_face(&self, call: &mut Call<'_>, decoded: Calls) -> Result<Vec<u8>, ModuleError> {
        match decoded {
            Calls::mint_1(c) => {
                let to = c.to;
                let id = self.legacy_mint(call, to, c.amount, c.tokenURI, c.verified)?;
                call.emit(&I::TransferSingle {
                    operator: call.caller,
                    from: Address::ZERO,
                    to,
                    id,
                    value: c.amount,
                })?;
                receiver::accept_single(call, Address::ZERO, to, id, c.amount, Bytes::new())?;
                Ok(id.abi_encode())
            }
            Calls::batchMint(c) => self.batch_mint(call, c),
            Calls::uri(c) => Ok(book::class(call, c.id)?.metadataURI.abi_encode()),
            Calls::verified(c) => Ok(book::totals(call, c.id)?.verified.abi_encode()),
            Calls::setTokenVerified(c) => {
                self.require_verifier(call)?;
                book::class(call, c.id)?;
                let mut totals = book::totals(call, c.id)?;
                totals.verified = c.verified;
                book::put_totals(call, c.id, &totals)?;
                call.emit(&I::VerificationChanged {
                    id: c.id,
                    verified: c.verified,
                })?;
                Ok(Vec::new())
            }
            Calls::balanceOf(c) => Ok(book::balance(call, c.id, c.account)?.abi_encode()),
            Calls::balanceOfBatch(c) => {
                if c.accounts.len() != c.ids.len() {
                    return Err(revert_with(I::LengthMismatch {}));
                }
                check_batch(c.ids.len())?;
                let mut out = Vec::with_capacity(c.ids.len());
                for (account, id) in c.accounts.iter().zip(&c.ids) {
                    out.push(book::balance(call, *id, *account)?);
                }
                Ok(out.abi_encode())
            }
            Calls::setApprovalForAll(c) => {
                if c.operator == call.caller {
                    return Err(revert_with(I::InvalidOperator {
                        operator: c.operator,
                    }));
                }
                let owner = call.caller;
                book::set_approved_for_all(call, owner, c.operator, c.approved)?;
                call.emit(&I::ApprovalForAll {
                    account: owner,
                    operator: c.operator,
                    approved: c.approved,
                })?;
                Ok(Vec::new())
            }
            Calls::isApprovedForAll(c) => {
                Ok(book::approved_for_all(call, c.account, c.operator)?.abi_encode())
            }
            Calls::safeTransferFrom(c) => {
                Self::transfer_fungible(call, c.from, c.to, c.id, c.value)?;
                call.emit(&I::TransferSingle {
                    operator: call.caller,
                    from: c.from,
                    to: c.to,
                    id: c.id,
                    value: c.value,
                })?;
                receiver::accept_single(call, c.from, c.to, c.id, c.value, c.data)?;
                Ok(Vec::new())
            }
            Calls::safeBatchTransferFrom(c) => Self::safe_batch_transfer(call, c),
            _ => Err(revert_msg("DataAnchoringToken: not an ERC-1155 call")),
        }
    }
}
