//! Subscription and filter ids: 16 random bytes as a `0x`-prefixed hex string without leading
//! zeros, as geth sends them (`"0x9cef478923ff08bf67fde6c64013158d"`).
//!
//! Leading zeros are trimmed because some clients (alloy) read an id as a number and send it
//! back in minimal hex; [`canonical_id`] maps what a client sends back to the stored form.
//!
//! Clients expect a string: viem matches notifications to subscriptions by comparing strings
//! and web3.py fails on a numeric id. Ids are random so that one client cannot guess, poll or
//! uninstall another client's filter.

use jsonrpsee::core::traits::IdProvider;
use jsonrpsee::types::SubscriptionId;
use std::hash::{BuildHasher, Hasher};
use std::sync::atomic::{AtomicU64, Ordering};

/// A fresh random id.
pub fn random_hex_id() -> String {
    let mut bytes = [0u8; 16];
    if let Err(error) = getrandom::fill(&mut bytes) {
        // The OS source failing is exceptional; fall back to SipHash under a random key (the
        // standard library seeds it once per thread) over a counter.
        tracing::warn!(%error, "os randomness unavailable for an rpc id, using a keyed hash");
        static COUNTER: AtomicU64 = AtomicU64::new(0);
        let state = std::collections::hash_map::RandomState::new();
        for half in bytes.chunks_mut(8) {
            let mut hasher = state.build_hasher();
            hasher.write_u64(COUNTER.fetch_add(1, Ordering::Relaxed));
            half.copy_from_slice(&hasher.finish().to_le_bytes());
        }
    }
    canonical_id(&alloy_primitives::hex::encode(bytes))
}

/// `id` in the form ids are issued in: lowercase, `0x`-prefixed, no leading zeros.
pub fn canonical_id(id: &str) -> String {
    let digits = id
        .strip_prefix("0x")
        .or_else(|| id.strip_prefix("0X"))
        .unwrap_or(id)
        .trim_start_matches('0');
    if digits.is_empty() {
        "0x0".to_owned()
    } else {
        format!("0x{}", digits.to_ascii_lowercase())
    }
}

/// Gives every subscription a [`random_hex_id`].
#[derive(Clone, Copy, Debug, Default)]
pub struct HexIdProvider;

impl IdProvider for HexIdProvider {
    fn next_id(&self) -> SubscriptionId<'static> {
        SubscriptionId::Str(random_hex_id().into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_distinct_hex_strings_of_sixteen_bytes() {
        let (a, b) = (random_hex_id(), random_hex_id());
        assert_ne!(a, b);
        for id in [a, b] {
            assert!(id.len() <= 34 && id.len() > 20, "{id}");
            assert!(id.starts_with("0x") && !id.starts_with("0x0"), "{id}");
            assert!(id[2..].bytes().all(|c| c.is_ascii_hexdigit()));
            assert_eq!(canonical_id(&id), id);
        }
        assert!(matches!(HexIdProvider.next_id(), SubscriptionId::Str(s) if s.starts_with("0x")));
        assert_eq!(canonical_id("0x00AbC"), "0xabc");
        assert_eq!(canonical_id("0x000"), "0x0");
    }
}
