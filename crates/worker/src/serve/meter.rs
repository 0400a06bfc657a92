//! Charging calls to usage tokens: reading a token and its owner's approvals from the chain
//! (cached), reserving one call under the meter's lock, settling it once served.

use super::auth::Auth;
use super::errors::{ApiError, err};
use super::state::{APPROVAL_TTL, EXPIRY_MARGIN_SECS, Shared, TOKEN_TTL, TokenState, now_secs};
use alloy_primitives::{Address, B256, U256};
use axum::http::StatusCode;
use lazai_abi::{DAT_ADDRESS, IDataAnchoringToken as D, calls_metric};

impl Shared {
    pub(super) async fn token_state(&self, id: U256) -> Result<TokenState, ApiError> {
        let generation = {
            let m = self.meter.lock().expect("meter");
            if let Some(t) = m.tokens.get(&id)
                && t.fetched.elapsed() < TOKEN_TTL
            {
                return Ok(t.clone());
            }
            m.generation
        };
        let info = self
            .reader
            .call(DAT_ADDRESS, D::tokenInfoCall { tokenId: id })
            .await
            .map_err(|e| {
                let text = format!("{e:#}");
                if text.contains("TokenNotFound") || text.contains("not found") {
                    err(
                        StatusCode::NOT_FOUND,
                        "unknown_token",
                        format!("usage token {id} does not exist"),
                    )
                } else {
                    err(
                        StatusCode::SERVICE_UNAVAILABLE,
                        "chain_unavailable",
                        format!("cannot read usage token {id}: {text}"),
                    )
                }
            })?;
        if info.classId != self.record.classId {
            // Not cached: only the model's own tokens take memory.
            return Err(err(
                StatusCode::FORBIDDEN,
                "foreign_token",
                format!(
                    "usage token {id} belongs to DAT class {}, not to model {}'s class {}",
                    info.classId, self.record.id, self.record.classId
                ),
            ));
        }
        let used = self
            .reader
            .call(
                DAT_ADDRESS,
                D::usageOfCall {
                    tokenId: id,
                    metricType: calls_metric(),
                },
            )
            .await
            .map(|u| u64::try_from(u).unwrap_or(u64::MAX))
            .unwrap_or_default();
        let mut m = self.meter.lock().expect("meter");
        let fresh = m.generation == generation;
        let t = m.tokens.entry(id).or_insert_with(|| TokenState {
            owner: info.owner,
            class: info.classId,
            expire_at: info.expireAt,
            chain_value: info.value,
            signing: 0,
            receipts: Vec::new(),
            in_flight: Vec::new(),
            used,
            recorded: used,
            fetched: std::time::Instant::now(),
        });
        // A refresh: the owner and expiry may have changed (a transfer); the value too (value
        // moved in or out), but a read is only trusted when no batch was recorded meanwhile.
        t.owner = info.owner;
        t.expire_at = info.expireAt;
        if fresh && t.in_flight.is_empty() {
            t.chain_value = info.value;
        }
        t.fetched = std::time::Instant::now();
        Ok(t.clone())
    }

    /// Reads (and caches) whether `owner` approved `caller` for the model's class.
    pub(super) async fn check_approval(
        &self,
        owner: Address,
        caller: Address,
    ) -> Result<(), ApiError> {
        if owner == caller {
            return Ok(());
        }
        let cached = self
            .meter
            .lock()
            .expect("meter")
            .approvals
            .get(&(owner, caller))
            .copied();
        if matches!(cached, Some((_, at)) if at.elapsed() < APPROVAL_TTL) {
            return Ok(());
        }
        let unavailable = |e: anyhow::Error| {
            err(
                StatusCode::SERVICE_UNAVAILABLE,
                "chain_unavailable",
                format!("cannot read the token owner's approvals: {e:#}"),
            )
        };
        let for_class = self
            .reader
            .call(
                DAT_ADDRESS,
                D::isApprovedForClassCall {
                    owner,
                    classId: self.record.classId,
                    operator: caller,
                },
            )
            .await
            .map_err(unavailable)?;
        let approved = for_class
            || self
                .reader
                .call(
                    DAT_ADDRESS,
                    D::isApprovedForAllCall {
                        account: owner,
                        operator: caller,
                    },
                )
                .await
                .map_err(unavailable)?;
        // Only approvals are cached: refusals take no memory, whoever asks.
        if approved {
            self.meter
                .lock()
                .expect("meter")
                .approvals
                .insert((owner, caller), (true, std::time::Instant::now()));
        }
        Ok(())
    }

    /// Checks the nonce and the token and reserves one call; returns the call's counter and
    /// the calls left.
    pub(super) fn reserve(&self, auth: &Auth) -> Result<(u64, U256), ApiError> {
        let mut m = self.meter.lock().expect("meter");
        let last = m.nonces.get(&auth.user).copied().unwrap_or_default();
        if auth.nonce <= last {
            return Err(err(
                StatusCode::CONFLICT,
                "nonce_replayed",
                format!(
                    "nonce {} is not above {}'s last nonce {last} at this node (replayed or reordered)",
                    auth.nonce, auth.user
                ),
            ));
        }
        let class = self.record.classId;
        let t = m.tokens.get_mut(&auth.token).ok_or_else(|| {
            err(
                StatusCode::SERVICE_UNAVAILABLE,
                "chain_unavailable",
                "token state was dropped; retry",
            )
        })?;
        if t.class != class {
            return Err(err(
                StatusCode::FORBIDDEN,
                "foreign_token",
                format!(
                    "usage token {} belongs to DAT class {}, not to model {}'s class {class}",
                    auth.token, t.class, self.record.id
                ),
            ));
        }
        let owner = t.owner;
        if owner != auth.user
            && !matches!(m.approvals.get(&(owner, auth.user)), Some((true, at)) if at.elapsed() < APPROVAL_TTL)
        {
            return Err(err(
                StatusCode::FORBIDDEN,
                "not_token_owner",
                format!(
                    "usage token {} is owned by {owner}, who has not approved {} to use it",
                    auth.token, auth.user
                ),
            ));
        }
        let t = m.tokens.get_mut(&auth.token).ok_or_else(|| {
            err(
                StatusCode::SERVICE_UNAVAILABLE,
                "chain_unavailable",
                "token state was dropped; retry",
            )
        })?;
        if t.expire_at != 0 && now_secs().saturating_add(EXPIRY_MARGIN_SECS) >= t.expire_at {
            return Err(err(
                StatusCode::FORBIDDEN,
                "token_expired",
                format!(
                    "usage token {} expires at {} (refused from {EXPIRY_MARGIN_SECS} s before, so its usage can reach the chain)",
                    auth.token, t.expire_at
                ),
            ));
        }
        let left = t.chain_value.saturating_sub(U256::from(t.committed()));
        if left.is_zero() {
            return Err(err(
                StatusCode::PAYMENT_REQUIRED,
                "quota_exhausted",
                format!("usage token {} has no calls left", auth.token),
            ));
        }
        t.signing += 1;
        t.used += 1;
        let counter = t.used;
        m.nonces.insert(auth.user, auth.nonce);
        Ok((counter, left - U256::from(1)))
    }

    /// Ends a reservation: the call was served (its receipt stored) or not. Returns the calls
    /// waiting for a batch.
    pub(super) fn settle(&self, token: U256, receipt: Option<(u64, B256)>) -> u64 {
        let mut m = self.meter.lock().expect("meter");
        let Some(t) = m.tokens.get_mut(&token) else {
            return m.waiting;
        };
        t.signing = t.signing.saturating_sub(1);
        if let Some(r) = receipt {
            t.receipts.push(r);
            m.waiting += 1;
        }
        m.waiting
    }
}
