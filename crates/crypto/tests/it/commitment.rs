//! The keyed plaintext commitment.

use lazai_crypto::{DataKey, commit_plaintext, commit_plaintext_bytes};

use crate::{data, open, seal};

#[test]
fn differs_across_keys_for_the_same_plaintext() {
    let plaintext = b"yes".to_vec();
    let a = commit_plaintext_bytes(&DataKey::generate(), &plaintext);
    let b = commit_plaintext_bytes(&DataKey::generate(), &plaintext);
    assert_ne!(a, b);
    let (_, sa) = seal(&plaintext, 1024);
    let (_, sb) = seal(&plaintext, 1024);
    assert_ne!(sa.plaintext_commitment, sb.plaintext_commitment);
    // Not a plain hash that anyone could recompute from a guess.
    assert_ne!(
        sa.plaintext_commitment.as_bytes(),
        blake3::hash(&plaintext).as_bytes()
    );
}

#[test]
fn same_key_same_plaintext_same_commitment() {
    let key = DataKey::from_bytes([3; 32]);
    let plaintext = data(100_000, 1);
    assert_eq!(
        commit_plaintext_bytes(&key, &plaintext),
        commit_plaintext(&key, &plaintext[..]).expect("read")
    );
    assert_ne!(
        commit_plaintext_bytes(&key, &plaintext),
        commit_plaintext_bytes(&key, &plaintext[1..])
    );
}

#[test]
fn owner_and_worker_agree() {
    for len in [0usize, 1, 1024, 1025, 4096 * 3 + 5, 300_000] {
        let plaintext = data(len, len as u64);
        let (blob, summary) = seal(&plaintext, 4096);
        let worker = open(&blob, &summary.data_key, Some(&summary.root))
            .0
            .expect("decrypt");
        assert_eq!(worker.plaintext_commitment, summary.plaintext_commitment);
        assert_eq!(
            summary.plaintext_commitment,
            commit_plaintext(&summary.data_key, &plaintext[..]).expect("read"),
            "len {len}"
        );
    }
}
