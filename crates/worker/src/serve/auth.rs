//! The headers of a metered call: who calls, with which nonce and usage token, and the
//! signatures that prove it (see the module docs of [`super`]).

use super::errors::{ApiError, err};
use super::request::{REQUEST_SIGNATURE_HEADER, request_digest, request_signer};
use alloy_primitives::{Address, U256};
use axum::http::{HeaderMap, StatusCode};
use lazai_abi::user_request_signer;

fn header<'a>(h: &'a HeaderMap, name: &str) -> Result<&'a str, ApiError> {
    h.get(name)
        .ok_or_else(|| {
            err(
                StatusCode::UNAUTHORIZED,
                "missing_header",
                format!("header {name} is required"),
            )
        })?
        .to_str()
        .map_err(|_| {
            err(
                StatusCode::BAD_REQUEST,
                "bad_header",
                format!("{name} is not text"),
            )
        })
}

pub(super) struct Auth {
    pub(super) user: Address,
    pub(super) nonce: U256,
    pub(super) token: U256,
}

/// Checks the headers of a call of `body` to `node` on chain `chain_id`.
pub(super) fn parse_auth(
    h: &HeaderMap,
    node: Address,
    chain_id: u64,
    body: &[u8],
    require_request_signature: bool,
) -> Result<Auth, ApiError> {
    let bad = |name: &str, what: &str| {
        err(
            StatusCode::BAD_REQUEST,
            "bad_header",
            format!("{name} must be {what}"),
        )
    };
    let user: Address = header(h, "x-lazai-user")?
        .parse()
        .map_err(|_| bad("X-LazAI-User", "an address"))?;
    let nonce = U256::from_str_radix(header(h, "x-lazai-nonce")?.trim(), 10)
        .map_err(|_| bad("X-LazAI-Nonce", "a decimal number"))?;
    let sig_hex = header(h, "x-lazai-signature")?;
    let sig = alloy_primitives::hex::decode(sig_hex.trim())
        .map_err(|_| bad("X-LazAI-Signature", "65 bytes of hex"))?;
    let token = U256::from_str_radix(header(h, "x-lazai-usage-token")?.trim(), 10)
        .map_err(|_| bad("X-LazAI-Usage-Token", "a decimal token id"))?;
    if user_request_signer(nonce, user, node, &sig) != Some(user) {
        return Err(err(
            StatusCode::UNAUTHORIZED,
            "bad_signature",
            format!(
                "X-LazAI-Signature is not {user}'s EIP-191 signature of keccak256(abi.encode(nonce, user, node {node}))"
            ),
        ));
    }
    match h.get(REQUEST_SIGNATURE_HEADER) {
        None if require_request_signature => {
            return Err(err(
                StatusCode::UNAUTHORIZED,
                "request_signature_required",
                "this server requires X-LazAI-Request-Signature: the user's EIP-191 signature over the request digest (chain id, node, user, nonce, usage token, keccak256 of the body)",
            ));
        }
        None => {}
        Some(v) => {
            let sig = v
                .to_str()
                .ok()
                .and_then(|v| alloy_primitives::hex::decode(v.trim()).ok())
                .ok_or_else(|| bad("X-LazAI-Request-Signature", "65 bytes of hex"))?;
            let digest = request_digest(chain_id, node, user, nonce, token, body);
            if request_signer(digest, &sig) != Some(user) {
                return Err(err(
                    StatusCode::UNAUTHORIZED,
                    "bad_request_signature",
                    format!(
                        "X-LazAI-Request-Signature is not {user}'s signature of this request (chain {chain_id}, node {node}, nonce {nonce}, usage token {token}, this body)"
                    ),
                ));
            }
        }
    }
    Ok(Auth { user, nonce, token })
}
