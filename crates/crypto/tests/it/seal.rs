//! HPKE sealing of data keys.

use lazai_crypto::{
    DataKey, Error, PublicKey, Root, SEALED_KEY_LEN, SealedKey, SecretKey, generate_keypair,
    open_data_key, seal_data_key,
};

fn root(byte: u8) -> Root {
    Root::from_bytes([byte; 32])
}

#[test]
fn seal_and_open() {
    let (sk, pk) = generate_keypair();
    let key = DataKey::generate();
    let sealed = seal_data_key(&pk, &key, &root(1)).expect("seal");
    assert_eq!(sealed.as_bytes().len(), SEALED_KEY_LEN);
    assert_eq!(open_data_key(&sk, &sealed, &root(1)).expect("open"), key);
}

#[test]
fn wrong_recipient_key() {
    let (_, pk) = generate_keypair();
    let (other_sk, _) = generate_keypair();
    let sealed = seal_data_key(&pk, &DataKey::generate(), &root(1)).expect("seal");
    assert!(matches!(
        open_data_key(&other_sk, &sealed, &root(1)),
        Err(Error::Unseal)
    ));
}

#[test]
fn wrong_root_aad() {
    let (sk, pk) = generate_keypair();
    let sealed = seal_data_key(&pk, &DataKey::generate(), &root(1)).expect("seal");
    assert!(matches!(
        open_data_key(&sk, &sealed, &root(2)),
        Err(Error::Unseal)
    ));
}

#[test]
fn every_modified_byte_fails() {
    let (sk, pk) = generate_keypair();
    let sealed = seal_data_key(&pk, &DataKey::generate(), &root(1)).expect("seal");
    for pos in 0..SEALED_KEY_LEN {
        let mut bytes = *sealed.as_bytes();
        bytes[pos] ^= 0x01;
        let bad = SealedKey::from_bytes(&bytes).expect("80 bytes");
        assert!(open_data_key(&sk, &bad, &root(1)).is_err(), "byte {pos}");
    }
}

#[test]
fn sealing_is_randomized() {
    let (_, pk) = generate_keypair();
    let key = DataKey::generate();
    let a = seal_data_key(&pk, &key, &root(1)).expect("seal");
    let b = seal_data_key(&pk, &key, &root(1)).expect("seal");
    assert_ne!(a, b);
}

#[test]
fn encodings_round_trip() {
    let (sk, pk) = generate_keypair();
    let sealed = seal_data_key(&pk, &DataKey::generate(), &root(1)).expect("seal");
    let text = sealed.to_hex();
    assert!(text.starts_with("0x"));
    assert_eq!(text.len(), 2 + 2 * SEALED_KEY_LEN);
    assert_eq!(text.parse::<SealedKey>().expect("parse"), sealed);
    assert_eq!(SealedKey::from_hex(&text[2..]).expect("bare hex"), sealed);
    assert_eq!(
        SealedKey::from_bytes(sealed.as_bytes()).expect("bytes"),
        sealed
    );

    assert_eq!(pk.to_string().parse::<PublicKey>().expect("pk"), pk);
    assert_eq!(PublicKey::from_bytes(&pk.to_bytes()).expect("pk"), pk);
    let sk2 = SecretKey::from_hex(&sk.to_hex()).expect("sk");
    assert_eq!(sk2.public_key(), pk);
    assert_eq!(sk2.to_bytes(), sk.to_bytes());
}

#[test]
fn bad_encodings_are_refused() {
    for text in ["", "0x", "0x1234", "zz", &"ab".repeat(SEALED_KEY_LEN + 1)] {
        assert!(matches!(
            text.parse::<SealedKey>(),
            Err(Error::InvalidEncoding { .. })
        ));
    }
    assert!(SealedKey::from_bytes(&[0; 79]).is_err());
    assert!(PublicKey::from_hex("0x00").is_err());
    assert!(SecretKey::from_bytes(&[1; 31]).is_err());
}

#[test]
fn low_order_public_key_is_refused() {
    // The all-zero point gives an all-zero shared secret, which RFC 9180 requires refusing.
    let pk = PublicKey::from_bytes(&[0; 32]).expect("32 bytes");
    assert!(matches!(
        seal_data_key(&pk, &DataKey::generate(), &root(1)),
        Err(Error::Seal(_))
    ));
}

#[test]
fn garbage_sealed_keys_never_open() {
    let (sk, _) = generate_keypair();
    for seed in 0..64u64 {
        let bytes = crate::data(SEALED_KEY_LEN, seed);
        let sealed = SealedKey::from_bytes(&bytes).expect("80 bytes");
        assert!(matches!(
            open_data_key(&sk, &sealed, &root(1)),
            Err(Error::Unseal)
        ));
    }
}
