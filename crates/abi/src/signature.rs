//! The one accepted encoding of an ECDSA signature taken from calldata or a header.

use alloy_primitives::{Signature, U256};

/// Half the secp256k1 group order: a signature's `s` above it is the malleable twin of a
/// low-`s` signature (EIP-2).
const SECP256K1N_HALF: U256 = alloy_primitives::uint!(
    0x7FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF5D576E7357A4501DDFE92F46681B20A0_U256
);

/// Parses a 65-byte `r ‖ s ‖ v` signature strictly, as modules take signatures from
/// calldata: exactly 65 bytes, `v` 27 or 28 (0 or 1 accepted too), `s` in the lower half. One
/// signed message therefore has one accepted encoding (no `v` or high-`s` variants).
pub fn parse_signature(bytes: &[u8]) -> Option<Signature> {
    if bytes.len() != 65 {
        return None;
    }
    let parity = match bytes[64] {
        0 | 27 => false,
        1 | 28 => true,
        _ => return None,
    };
    let r = U256::from_be_slice(&bytes[..32]);
    let s = U256::from_be_slice(&bytes[32..64]);
    if s > SECP256K1N_HALF {
        return None;
    }
    Some(Signature::new(r, s, parity))
}
