//! The request signature: LazAI's SDK signs only `(nonce, user, node)`, so whoever relays a
//! request could change its body or its usage token. Our clients also sign the whole request
//! in `X-LazAI-Request-Signature`: EIP-191 over [`request_digest`] =
//! `keccak256(abi.encode(keccak256("LAZAI_INFERENCE_REQUEST_V1"), chainId, node, user, nonce,
//! usageToken, keccak256(body)))`. The server checks it whenever it is present and can require
//! it. [`SignedRequest`] builds every header a client sends.

use alloy_primitives::{Address, B256, U256, keccak256};
use alloy_signer::SignerSync;
use lazai_abi::{parse_signature, user_request_message};

/// The header carrying the signature over the whole request.
pub const REQUEST_SIGNATURE_HEADER: &str = "x-lazai-request-signature";

/// What the caller signs for one request (see the module docs).
pub fn request_digest(
    chain_id: u64,
    node: Address,
    user: Address,
    nonce: U256,
    usage_token: U256,
    body: &[u8],
) -> B256 {
    use alloy::sol_types::SolValue;
    keccak256(
        (
            keccak256(b"LAZAI_INFERENCE_REQUEST_V1"),
            U256::from(chain_id),
            node,
            user,
            nonce,
            usage_token,
            keccak256(body),
        )
            .abi_encode_params(),
    )
}

/// The signer of an EIP-191 signature over `digest`, if it is a well-formed signature.
pub fn request_signer(digest: B256, signature: &[u8]) -> Option<Address> {
    parse_signature(signature)?
        .recover_address_from_msg(digest.as_slice())
        .ok()
}

/// The headers of one signed call to `/v1/predict`.
#[derive(Clone, Debug)]
pub struct SignedRequest {
    pub user: Address,
    pub nonce: U256,
    pub usage_token: U256,
    /// LazAI's signature over `(nonce, user, node)`, hex.
    pub sdk_signature: String,
    /// The signature over [`request_digest`], hex.
    pub request_signature: String,
}

impl SignedRequest {
    /// Signs a call of `body` to `node` on chain `chain_id`, charged to `usage_token`.
    pub fn sign(
        signer: &impl SignerSync,
        user: Address,
        chain_id: u64,
        node: Address,
        nonce: U256,
        usage_token: U256,
        body: &[u8],
    ) -> alloy_signer::Result<Self> {
        let sdk = signer.sign_message_sync(user_request_message(nonce, user, node).as_slice())?;
        let digest = request_digest(chain_id, node, user, nonce, usage_token, body);
        let full = signer.sign_message_sync(digest.as_slice())?;
        Ok(Self {
            user,
            nonce,
            usage_token,
            sdk_signature: alloy_primitives::hex::encode_prefixed(sdk.as_bytes()),
            request_signature: alloy_primitives::hex::encode_prefixed(full.as_bytes()),
        })
    }

    /// The header names and values to send.
    pub fn headers(&self) -> [(&'static str, String); 5] {
        [
            ("x-lazai-user", self.user.to_string()),
            ("x-lazai-nonce", self.nonce.to_string()),
            ("x-lazai-signature", self.sdk_signature.clone()),
            ("x-lazai-usage-token", self.usage_token.to_string()),
            (REQUEST_SIGNATURE_HEADER, self.request_signature.clone()),
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloy_signer_local::PrivateKeySigner;

    #[test]
    fn the_signature_binds_body_token_node_and_chain() {
        let key = PrivateKeySigner::random();
        let (node, user, nonce, token) = (
            Address::repeat_byte(1),
            key.address(),
            U256::from(7),
            U256::from(3),
        );
        let body = br#"{"features":[1]}"#;
        let r = SignedRequest::sign(&key, user, 5, node, nonce, token, body).expect("sign");
        let sig = alloy_primitives::hex::decode(&r.request_signature).expect("hex");
        let digest = |chain, node, token, body: &[u8]| {
            request_signer(request_digest(chain, node, user, nonce, token, body), &sig)
        };
        assert_eq!(digest(5, node, token, body), Some(user));
        assert_ne!(digest(5, node, token, b"{}"), Some(user));
        assert_ne!(digest(5, node, U256::from(4), body), Some(user));
        assert_ne!(digest(6, node, token, body), Some(user));
        assert_ne!(digest(5, Address::repeat_byte(2), token, body), Some(user));
        assert_eq!(request_signer(B256::ZERO, &[1, 2, 3]), None);
    }
}
