//! The input of an optimistic result, for the iDAO's registered challengers only: the int8
//! input encrypted under a fresh data key (lazai-crypto's blob format, stored in the blob
//! store as `<root>.lzenc`), and that key sealed with HPKE to each challenger's X25519 key
//! (bound to the blob's root) in `<root>.keys.json`. The chain sees only the root
//! (`inputBlob`) and the input's hash; the user, the worker and the challengers see the input.

use alloy_primitives::{Address, B256};
use anyhow::{Context as _, Result, anyhow, bail};
use lazai_blob::{BlobStore, object_name};
use lazai_crypto::{EncryptParams, PublicKey, Root, SealedKey, SecretKey, decrypt, encrypt};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Largest sealed input read back, in bytes (a 4096-wide input is a few KiB).
pub const MAX_SEALED_INPUT: u64 = 1 << 20;

#[derive(Serialize, Deserialize)]
struct Plain {
    input: Vec<i8>,
}

/// Who can open a sealed input: each challenger's sealed data key.
#[derive(Serialize, Deserialize, Default)]
pub struct SealedKeys {
    pub keys: BTreeMap<Address, String>,
}

fn keys_name(root: &Root) -> String {
    format!("{}.keys.json", hex_root(root))
}

fn hex_root(root: &Root) -> String {
    alloy_primitives::hex::encode(root.as_bytes())
}

/// Seals `input` to `challengers` (address, X25519 key) and stores it; returns the root.
pub async fn seal_input(
    store: &BlobStore,
    input: &[i8],
    challengers: &[(Address, B256)],
) -> Result<B256> {
    let plain = serde_json::to_vec(&Plain {
        input: input.to_vec(),
    })?;
    let mut blob = Vec::new();
    let summary = encrypt(&plain[..], &mut blob, &EncryptParams::default())?;
    let mut sealed = SealedKeys::default();
    for (who, key) in challengers {
        let Ok(pk) = PublicKey::from_bytes(key.as_slice()) else {
            tracing::warn!(challenger = %who, "a challenger's X25519 key does not parse; it cannot open inputs");
            continue;
        };
        let s = lazai_crypto::seal_data_key(&pk, &summary.data_key, &summary.root)?;
        sealed.keys.insert(*who, s.to_hex());
    }
    store
        .put_bytes(&object_name(&summary.root), blob.into())
        .await
        .context("store the sealed input")?;
    store
        .put_bytes(
            &keys_name(&summary.root),
            serde_json::to_vec(&sealed)?.into(),
        )
        .await
        .context("store the input's sealed keys")?;
    Ok(B256::from(*summary.root.as_bytes()))
}

/// Opens the input sealed under `root` for challenger `me`.
pub async fn open_input(
    store: &BlobStore,
    root: B256,
    me: Address,
    secret: &SecretKey,
) -> Result<Vec<i8>> {
    let root = Root::from_bytes(root.0);
    let keys_url = store.url_for(&keys_name(&root))?;
    let raw = store
        .get_raw(&keys_url)
        .await
        .context("read the input's sealed keys")?;
    if raw.len() as u64 > MAX_SEALED_INPUT {
        bail!("the sealed keys are {} bytes", raw.len());
    }
    let sealed: SealedKeys = serde_json::from_slice(&raw).context("sealed keys")?;
    let mine = sealed
        .keys
        .get(&me)
        .ok_or_else(|| anyhow!("the input was not sealed to this challenger"))?;
    let key = lazai_crypto::open_data_key(secret, &SealedKey::from_hex(mine)?, &root)?;
    let dir = tempfile::tempdir()?;
    let dest = dir.path().join("input");
    store
        .fetch_verified(
            &store.url_for(&object_name(&root))?,
            &root,
            MAX_SEALED_INPUT,
            &dest,
        )
        .await
        .context("fetch the sealed input")?;
    let blob = std::fs::read(&dest)?;
    let mut plain = Vec::new();
    decrypt(&blob[..], &mut plain, &key, Some(&root))?;
    let p: Plain = serde_json::from_slice(&plain).context("the sealed input")?;
    Ok(p.input)
}

/// A challenger's X25519 key, derived from its account key so that nothing more has to be
/// kept: `keccak256("LAZAI_CHALLENGER_HPKE_V1" ‖ account secret)`.
pub fn challenger_secret(account: &alloy_signer_local::PrivateKeySigner) -> Result<SecretKey> {
    let mut seed = b"LAZAI_CHALLENGER_HPKE_V1".to_vec();
    seed.extend_from_slice(&account.to_bytes().0);
    let digest = alloy_primitives::keccak256(&seed);
    zeroize::Zeroize::zeroize(&mut seed);
    Ok(SecretKey::from_bytes(digest.as_slice())?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_sealed_input_opens_for_its_challengers_only() {
        let store = BlobStore::open("memory://").expect("store");
        let (a, b, c) = (
            lazai_crypto::generate_keypair(),
            lazai_crypto::generate_keypair(),
            lazai_crypto::generate_keypair(),
        );
        let (who_a, who_b, who_c) = (
            Address::repeat_byte(1),
            Address::repeat_byte(2),
            Address::repeat_byte(3),
        );
        let input = vec![-127i8, 0, 5, 127];
        let root = seal_input(
            &store,
            &input,
            &[
                (who_a, B256::from(a.1.to_bytes())),
                (who_b, B256::from(b.1.to_bytes())),
            ],
        )
        .await
        .expect("seal");
        for (who, key) in [(who_a, &a.0), (who_b, &b.0)] {
            assert_eq!(
                open_input(&store, root, who, key).await.expect("open"),
                input
            );
        }
        // Not sealed to c; b's sealed key does not open with c's secret; nothing under
        // another root.
        assert!(open_input(&store, root, who_c, &c.0).await.is_err());
        assert!(open_input(&store, root, who_b, &c.0).await.is_err());
        assert!(
            open_input(&store, B256::repeat_byte(9), who_a, &a.0)
                .await
                .is_err()
        );
    }

    #[test]
    fn a_challenger_key_is_derived_from_its_account_and_differs_per_account() {
        let k1 = alloy_signer_local::PrivateKeySigner::random();
        let k2 = alloy_signer_local::PrivateKeySigner::random();
        let a = challenger_secret(&k1).expect("key").public_key().to_bytes();
        assert_eq!(
            a,
            challenger_secret(&k1).expect("key").public_key().to_bytes()
        );
        assert_ne!(
            a,
            challenger_secret(&k2).expect("key").public_key().to_bytes()
        );
    }
}
