//! Decoders fed garbage return errors and never panic.

use lazai_crypto::{DataKey, compute_root, decrypt, format::Header};
use proptest::prelude::*;

use crate::{data, seal};

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn random_bytes_as_a_blob(bytes in proptest::collection::vec(any::<u8>(), 0..5000)) {
        let mut out = Vec::new();
        prop_assert!(decrypt(&bytes[..], &mut out, &DataKey::from_bytes([1; 32]), None).is_err());
        prop_assert!(out.is_empty());
        prop_assert!(compute_root(&bytes[..]).is_err());
        let _ = Header::decode(&bytes);
    }

    #[test]
    fn valid_header_then_random_bytes(
        body in proptest::collection::vec(any::<u8>(), 0..5000),
        chunk_shift in 10u32..13,
    ) {
        let (blob, summary) = seal(b"", 1 << chunk_shift);
        let mut bad = blob[..lazai_crypto::HEADER_LEN].to_vec();
        bad.extend_from_slice(&body);
        let mut out = Vec::new();
        prop_assert!(decrypt(&bad[..], &mut out, &summary.data_key, None).is_err());
        prop_assert!(out.is_empty());
        let _ = compute_root(&bad[..]);
    }

    #[test]
    fn plausible_framing_with_random_contents(
        flags in proptest::collection::vec(0u8..2, 1..6),
        seed in any::<u64>(),
    ) {
        let (blob, summary) = seal(b"", 1024);
        let mut bad = blob[..lazai_crypto::HEADER_LEN].to_vec();
        for (i, flag) in flags.iter().enumerate() {
            let len: u32 = if *flag == 1 { 1 + (seed % 1024) as u32 } else { 1024 };
            bad.push(*flag);
            bad.extend_from_slice(&len.to_be_bytes());
            bad.extend_from_slice(&data(len as usize + 16, seed ^ i as u64));
        }
        let mut out = Vec::new();
        prop_assert!(decrypt(&bad[..], &mut out, &summary.data_key, None).is_err());
        prop_assert!(out.is_empty());
    }
}
