//! Opening the SDK's password-encrypted OpenPGP files: gpg's binary and armored output (the
//! Python SDK), rPGP's armored SEIPD v1 (like the Rust SDK's sequoia), SEIPD v2 and GnuPG's
//! OCB, and everything that must be refused — wrong passwords, truncation, altered bytes, a
//! compression bomb, public-key messages, garbage — without a panic.

use std::time::Instant;

use alloy_primitives::hex;
use alloy_signer::SignerSync;
use alloy_signer_local::{MnemonicBuilder, PrivateKeySigner, coins_bip39::English};
use lazai_worker::sdk::pgp::{PgpError, decrypt_symmetric};
use pgp::composed::{ArmorOptions, MessageBuilder};
use pgp::crypto::aead::{AeadAlgorithm, ChunkSize};
use pgp::crypto::hash::HashAlgorithm;
use pgp::crypto::sym::SymmetricKeyAlgorithm;
use pgp::packet::{PacketTrait, SymEncryptedProtectedData, SymKeyEncryptedSessionKey};
use pgp::types::{CompressionAlgorithm, StringToKey};
use proptest::prelude::*;
use rand::SeedableRng;
use rand::rngs::StdRng;

/// The plaintext of the fixtures.
pub const PLAIN: &[u8] = include_bytes!("../fixtures/sdk/plain.md");
/// `plain.md` encrypted by gpg as python-gnupg runs it (binary).
pub const BINARY: &[u8] = include_bytes!("../fixtures/sdk/plain.md.gpg");
/// The same, ASCII-armored.
const ARMORED: &[u8] = include_bytes!("../fixtures/sdk/plain.md.asc");
/// 50 MiB of zeros, ZLIB-compressed by gpg and encrypted with the same password.
const BOMB: &[u8] = include_bytes!("../fixtures/sdk/bomb.gpg");
/// `plain.md` encrypted by gpg to a throwaway public key.
const PUBKEY: &[u8] = include_bytes!("../fixtures/sdk/pubkey.gpg");
/// `plain.md` signed with that key and encrypted with the password (`gpg --sign --symmetric`).
const SIGNED: &[u8] = include_bytes!("../fixtures/sdk/signed.gpg");
/// The SDK password of devnet contributor account 1.
pub const PASSWORD: &str = include_str!("../fixtures/sdk/password.txt");

const MIB: usize = 1 << 20;

/// The text LazAI's SDKs sign to derive the encryption password.
const SDK_MESSAGE: &[u8] = b"Sign to retrieve your encryption key";

fn open(message: &[u8], password: &[u8]) -> Result<Vec<u8>, PgpError> {
    decrypt_symmetric(message, password, MIB).map(|p| p.to_vec())
}

/// A message made by rPGP: SEIPD v1, AES-256, no compression, a v4 password packet with a
/// cheap S2K (so that tests can afford many decryptions), armored or binary.
fn rpgp_seipd_v1(plain: &[u8], password: &str, seed: u64, armored: bool) -> Vec<u8> {
    let mut rng = StdRng::seed_from_u64(seed);
    let mut builder = MessageBuilder::from_bytes("", plain.to_vec())
        .seipd_v1(&mut rng, SymmetricKeyAlgorithm::AES256);
    let s2k = StringToKey::new_iterated(&mut rng, HashAlgorithm::Sha256, 0);
    builder
        .encrypt_with_password(s2k, &password.into())
        .expect("encrypt");
    if armored {
        builder
            .to_armored_string(&mut rng, ArmorOptions::default())
            .expect("armor")
            .into_bytes()
    } else {
        builder.to_vec(&mut rng).expect("serialize")
    }
}

/// A message made by rPGP: SEIPD v2 (OCB) with a v6 password packet (Argon2, 1 MiB), binary.
fn rpgp_seipd_v2(plain: &[u8], password: &str, s2k: StringToKey, seed: u64) -> Vec<u8> {
    let mut rng = StdRng::seed_from_u64(seed);
    let mut builder = MessageBuilder::from_bytes("", plain.to_vec()).seipd_v2(
        &mut rng,
        SymmetricKeyAlgorithm::AES256,
        AeadAlgorithm::Ocb,
        ChunkSize::default(),
    );
    builder
        .encrypt_with_password(&mut rng, s2k, &password.into())
        .expect("encrypt");
    builder.to_vec(&mut rng).expect("serialize")
}

/// A SEIPD v1 message whose decrypted content is `inner` byte for byte (normally a literal or
/// compressed packet; here anything), with a valid MDC: what a sender who knows the password
/// can make.
fn seal_v1(inner: &[u8], password: &str, seed: u64) -> Vec<u8> {
    let mut rng = StdRng::seed_from_u64(seed);
    let alg = SymmetricKeyAlgorithm::AES256;
    let session_key = alg.new_session_key(&mut rng);
    let s2k = StringToKey::new_iterated(&mut rng, HashAlgorithm::Sha256, 0);
    let skesk = SymKeyEncryptedSessionKey::encrypt_v4(&password.into(), &session_key, s2k, alg)
        .expect("skesk");
    let seipd =
        SymEncryptedProtectedData::encrypt_seipdv1(&mut rng, alg, session_key.as_ref(), inner)
            .expect("seipd");
    let mut out = Vec::new();
    skesk.to_writer_with_header(&mut out).expect("write");
    seipd.to_writer_with_header(&mut out).expect("write");
    out
}

/// An unencrypted message of `plain`: a literal packet, in a compressed one if `compression`.
fn unencrypted(plain: &[u8], compression: Option<CompressionAlgorithm>) -> Vec<u8> {
    let mut builder = MessageBuilder::from_bytes("", plain.to_vec());
    if let Some(compression) = compression {
        builder.compression(compression);
    }
    builder.to_vec(StdRng::seed_from_u64(9)).expect("serialize")
}

#[test]
fn password_is_the_sdk_signature_of_account_1() {
    assert_eq!(PASSWORD.len(), 130);
    assert!(
        PASSWORD
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    );
    let key: PrivateKeySigner =
        "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d"
            .parse()
            .expect("key");
    let from_mnemonic = MnemonicBuilder::<English>::default()
        .phrase("test test test test test test test test test test test junk")
        .index(1)
        .expect("index")
        .build()
        .expect("signer");
    assert_eq!(key.address(), from_mnemonic.address());
    assert_eq!(
        key.address().to_string(),
        "0x70997970C51812dc3A010C7d01b50e0d17dc79C8"
    );
    let signature = key.sign_message_sync(SDK_MESSAGE).expect("sign");
    assert_eq!(hex::encode(signature.as_bytes()), PASSWORD);
}

#[test]
fn gpg_binary_and_armored_output_decrypt() {
    assert_eq!(open(BINARY, PASSWORD.as_bytes()).expect("binary"), PLAIN);
    assert_eq!(open(ARMORED, PASSWORD.as_bytes()).expect("armored"), PLAIN);
    // Exactly the plaintext's length is within the limit; one byte less is not.
    let exact = decrypt_symmetric(BINARY, PASSWORD.as_bytes(), PLAIN.len()).expect("fits");
    assert_eq!(&exact[..], PLAIN);
    assert_eq!(
        decrypt_symmetric(BINARY, PASSWORD.as_bytes(), PLAIN.len() - 1),
        Err(PgpError::TooLarge {
            limit: PLAIN.len() - 1
        })
    );
    // Leading whitespace and CRLF line endings around armor are fine.
    let mut crlf = b"\r\n ".to_vec();
    crlf.extend(
        String::from_utf8_lossy(ARMORED)
            .replace('\n', "\r\n")
            .into_bytes(),
    );
    assert_eq!(open(&crlf, PASSWORD.as_bytes()).expect("crlf"), PLAIN);
}

#[test]
fn a_signed_message_is_read_without_its_signature_checked() {
    assert_eq!(open(SIGNED, PASSWORD.as_bytes()).expect("signed"), PLAIN);
}

#[test]
fn wrong_password_is_refused() {
    let mut near = PASSWORD.as_bytes().to_vec();
    near[0] ^= 1;
    let with_newline = format!("{PASSWORD}\n");
    let with_prefix = format!("0x{PASSWORD}");
    for message in [BINARY, ARMORED] {
        for password in [
            &near[..],
            with_newline.as_bytes(),
            with_prefix.as_bytes(),
            PASSWORD.to_uppercase().as_bytes(),
            b"",
        ] {
            let e = open(message, password).expect_err("wrong password");
            assert!(matches!(e, PgpError::WrongPassword), "{e}");
            assert!(e.to_string().contains("or the message was altered"), "{e}");
        }
    }
}

#[test]
fn every_truncation_is_an_error() {
    for len in 0..BINARY.len() {
        match open(&BINARY[..len], PASSWORD.as_bytes()) {
            Err(PgpError::Truncated) => {}
            Err(PgpError::NotOpenPgp(_)) if len == 0 => {}
            other => panic!("binary cut at {len}: {other:?}"),
        }
    }
    for len in 0..ARMORED.len() {
        match open(&ARMORED[..len], PASSWORD.as_bytes()) {
            // Only the final newline after the armor's last line may go.
            Ok(plain) => assert!(
                plain == PLAIN && len + 1 == ARMORED.len(),
                "armor cut at {len}"
            ),
            Err(PgpError::Truncated | PgpError::NotOpenPgp(_)) => {}
            Err(e) => panic!("armor cut at {len}: {e:?}"),
        }
    }
}

#[test]
fn altered_bytes_never_give_other_plaintext() {
    // Every byte of the headers and the password packet, and a sample of the encrypted data
    // (each of these runs gpg's full-strength S2K, so not all of them).
    let positions: Vec<usize> = (0..40).chain((40..BINARY.len()).step_by(149)).collect();
    for &i in &positions {
        for mask in [0x01u8, 0xff] {
            let mut altered = BINARY.to_vec();
            altered[i] ^= mask;
            if let Ok(plain) = open(&altered, PASSWORD.as_bytes()) {
                assert_eq!(plain, PLAIN, "byte {i} ^ {mask:#x}");
            }
        }
    }
}

#[test]
fn altered_encrypted_data_is_refused() {
    // Past the password packet and the data packet's header: the ciphertext itself.
    let mut altered = BINARY.to_vec();
    altered[BINARY.len() / 2] ^= 0x20;
    let e = open(&altered, PASSWORD.as_bytes()).expect_err("altered");
    assert!(matches!(e, PgpError::WrongPassword), "{e}");
}

#[test]
fn a_compression_bomb_stops_at_the_limit() {
    assert!(BOMB.len() < 100_000);
    let started = Instant::now();
    let e = decrypt_symmetric(BOMB, PASSWORD.as_bytes(), MIB).expect_err("bomb");
    assert_eq!(e, PgpError::TooLarge { limit: MIB });
    let limited = started.elapsed();

    // It really is 50 MiB of zeros inside.
    let started = Instant::now();
    let all = decrypt_symmetric(BOMB, PASSWORD.as_bytes(), 64 * MIB).expect("inflates");
    let whole = started.elapsed();
    assert_eq!(all.len(), 50 * MIB);
    assert!(all.iter().all(|&b| b == 0));
    println!("bomb: refused at 1 MiB in {limited:?}, inflated whole in {whole:?}");
}

#[test]
fn a_public_key_message_is_not_symmetric() {
    let e = open(PUBKEY, PASSWORD.as_bytes()).expect_err("pubkey");
    assert_eq!(
        e,
        PgpError::NotSymmetric("it is encrypted to a public key and has no password packet".into())
    );
}

#[test]
fn unencrypted_and_legacy_messages_are_refused() {
    let mut rng = StdRng::seed_from_u64(1);
    let literal = MessageBuilder::from_bytes("", PLAIN.to_vec())
        .to_vec(&mut rng)
        .expect("literal");
    assert!(matches!(
        open(&literal, b"x"),
        Err(PgpError::NotSymmetric(_))
    ));

    // gpg's password packet followed by a legacy SED packet (tag 9, no integrity check).
    let skesk_len = 2 + usize::from(BINARY[1]);
    let mut sed = BINARY[..skesk_len].to_vec();
    sed.extend_from_slice(&[0xc9, 20]);
    sed.extend_from_slice(&[0x55; 20]);
    let e = open(&sed, PASSWORD.as_bytes()).expect_err("sed");
    assert!(matches!(e, PgpError::Unsupported(_)), "{e}");

    // A public key block is not a message.
    let key =
        b"-----BEGIN PGP PUBLIC KEY BLOCK-----\n\nxjMEZ\n-----END PGP PUBLIC KEY BLOCK-----\n";
    assert!(matches!(open(key, b"x"), Err(PgpError::NotOpenPgp(_))));
}

#[test]
fn rpgp_seipd_v1_armored_like_sequoia_decrypts() {
    let message = rpgp_seipd_v1(PLAIN, PASSWORD, 7, true);
    assert!(message.starts_with(b"-----BEGIN PGP MESSAGE-----"));
    assert_eq!(open(&message, PASSWORD.as_bytes()).expect("open"), PLAIN);
    let e = open(&message, b"another password").expect_err("wrong");
    assert!(matches!(e, PgpError::WrongPassword), "{e}");
}

#[test]
fn seipd_v2_tells_a_wrong_password_from_altered_data() {
    let mut rng = StdRng::seed_from_u64(3);
    let s2k = StringToKey::new_argon2(&mut rng, 1, 1, 10);
    let message = rpgp_seipd_v2(PLAIN, PASSWORD, s2k, 4);
    assert_eq!(open(&message, PASSWORD.as_bytes()).expect("open"), PLAIN);
    let e = open(&message, b"not it").expect_err("wrong");
    assert!(matches!(e, PgpError::WrongPassword), "{e}");

    // The password packet is authenticated: a changed data byte is tampering.
    let mut altered = message.clone();
    let last = altered.len() - 20;
    altered[last] ^= 1;
    assert!(matches!(
        open(&altered, PASSWORD.as_bytes()),
        Err(PgpError::Tampered(_))
    ));
}

#[test]
fn argon2_beyond_the_limit_is_refused_before_hashing() {
    let mut rng = StdRng::seed_from_u64(5);
    let s2k = StringToKey::new_argon2(&mut rng, 1, 1, 10);
    let StringToKey::Argon2 { salt, .. } = s2k.clone() else {
        unreachable!("argon2");
    };
    let message = rpgp_seipd_v2(b"x", "pw", s2k, 6);
    let mut pattern = salt.to_vec();
    pattern.extend_from_slice(&[1, 1, 10]);
    let at = message
        .windows(pattern.len())
        .position(|w| w == pattern)
        .expect("s2k in the password packet")
        + salt.len();
    // 4 GiB of memory, then 64 passes.
    for (offset, value) in [(2, 22u8), (0, 64)] {
        let mut costly = message.clone();
        costly[at + offset] = value;
        let started = Instant::now();
        let e = open(&costly, b"pw").expect_err("costly");
        assert!(matches!(e, PgpError::Unsupported(_)), "{e}");
        assert!(started.elapsed().as_secs() < 5);
    }
}

/// GnuPG's OCB format (gpg 2.3+ writes it for `gpg -c` unless told otherwise): the test vector
/// of draft-koch-librepgp-03 ("Complete OCB encrypted packet sequence", password "password").
#[test]
fn gnupg_ocb_decrypts() {
    const SKESK5: &str = "c3 3d 05 07 02 03 08 9f  0b 7d a3 e5 ea 64 77 90
                          99 e3 26 e5 40 0a 90 93  6c ef b4 e8 eb a0 8c 67
                          73 71 6d 1f 27 14 54 0a  38 fc ac 52 99 49 da c5
                          29 d3 de 31 e1 5b 4a eb  72 9e 33 00 33 db ed";
    const OCB: &str = "d4 49 01 07 02 0e 5e d2  bc 1e 47 0a be 8f 1d 64
                       4c 7a 6c 8a 56 7b 0f 77  01 19 66 11 a1 54 ba 9c
                       25 74 cd 05 62 84 a8 ef  68 03 5c 62 3d 93 cc 70
                       8a 43 21 1b b6 ea f2 b2  7f 7c 18 d5 71 bc d8 3b
                       20 ad d3 a0 8b 73 af 15  b9 a0 98";
    let hex_text: String = [SKESK5, OCB].concat().split_ascii_whitespace().collect();
    let message = hex::decode(hex_text).expect("hex");
    assert_eq!(
        open(&message, b"password").expect("ocb"),
        b"Hello, world!\n"
    );
    assert!(matches!(
        open(&message, b"Password"),
        Err(PgpError::WrongPassword)
    ));
}

#[test]
fn what_a_sender_puts_inside_is_checked() {
    // Sealed by hand, a literal packet and a compressed one open like the builder's.
    for compression in [
        None,
        Some(CompressionAlgorithm::ZIP),
        Some(CompressionAlgorithm::ZLIB),
        Some(CompressionAlgorithm::BZip2),
    ] {
        let message = seal_v1(&unencrypted(PLAIN, compression), "pw", 1);
        assert_eq!(
            open(&message, b"pw").expect("open"),
            PLAIN,
            "{compression:?}"
        );
    }
    // Compression in compression in compression: too many layers.
    let mut nested = unencrypted(PLAIN, Some(CompressionAlgorithm::ZIP));
    nested = compressed_packet(&nested);
    assert_eq!(
        open(&seal_v1(&nested, "pw", 2), b"pw").expect("two layers"),
        PLAIN
    );
    nested = compressed_packet(&nested);
    let e = open(&seal_v1(&nested, "pw", 2), b"pw").expect_err("three layers");
    assert!(matches!(e, PgpError::Unsupported(_)), "{e}");
    // An encrypted message inside: not opened.
    let inner = rpgp_seipd_v1(PLAIN, "pw", 3, false);
    let e = open(&seal_v1(&inner, "pw", 4), b"pw").expect_err("nested encryption");
    assert!(matches!(e, PgpError::Unsupported(_)), "{e}");
    // Garbage inside a valid MDC is corrupt content, not a wrong password.
    let e = open(&seal_v1(b"not a packet", "pw", 5), b"pw").expect_err("garbage");
    assert!(matches!(e, PgpError::Tampered(_)), "{e}");
    // Two literal packets.
    let two = [unencrypted(b"a", None), unencrypted(b"b", None)].concat();
    let e = open(&seal_v1(&two, "pw", 6), b"pw").expect_err("two literals");
    assert!(matches!(e, PgpError::Tampered(_)), "{e}");
}

/// `inner` (an OpenPGP message) in an uncompressed compressed data packet.
fn compressed_packet(inner: &[u8]) -> Vec<u8> {
    let body_len = inner.len() + 1;
    let mut out = vec![0xc8, 0xff];
    out.extend_from_slice(&u32::try_from(body_len).expect("small").to_be_bytes());
    out.push(0); // uncompressed
    out.extend_from_slice(inner);
    out
}

/// Random single-byte edits, cuts and insertions into a message that opens.
fn mutations() -> impl Strategy<Value = (usize, u8, u8)> {
    (any::<usize>(), any::<u8>(), 0u8..3)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn arbitrary_bytes_never_panic(
        data in prop::collection::vec(any::<u8>(), 0..600),
        lead in prop::sample::select(vec![None, Some(0x8cu8), Some(0xc3), Some(0xd2), Some(0xd4), Some(0xa3), Some(0xcb), Some(0xc9)]),
        password in prop::collection::vec(any::<u8>(), 0..40),
    ) {
        let mut message = data;
        if let Some(lead) = lead {
            message.insert(0, lead);
        }
        let _ = decrypt_symmetric(&message, &password, MIB);
    }

    #[test]
    fn mutated_messages_never_panic_or_lie(edits in prop::collection::vec(mutations(), 1..4), armored in any::<bool>()) {
        let mut message = rpgp_seipd_v1(PLAIN, "pw", 11, armored);
        for (at, byte, kind) in edits {
            if message.is_empty() {
                break;
            }
            let at = at % message.len();
            match kind {
                0 => message[at] ^= byte | 1,
                1 => message.truncate(at),
                _ => message.insert(at, byte),
            }
        }
        if let Ok(plain) = decrypt_symmetric(&message, b"pw", MIB) {
            prop_assert_eq!(&plain[..], PLAIN);
        }
    }

    /// The sender knows the password and puts edited packets inside a valid MDC.
    #[test]
    fn edited_content_never_panics(
        edits in prop::collection::vec(mutations(), 1..4),
        compression in prop::sample::select(vec![None, Some(CompressionAlgorithm::ZIP), Some(CompressionAlgorithm::ZLIB), Some(CompressionAlgorithm::BZip2)]),
    ) {
        let mut inner = unencrypted(&PLAIN[..300], compression);
        for (at, byte, kind) in edits {
            if inner.is_empty() {
                break;
            }
            let at = at % inner.len();
            match kind {
                0 => inner[at] ^= byte | 1,
                1 => inner.truncate(at),
                _ => inner.insert(at, byte),
            }
        }
        match decrypt_symmetric(&seal_v1(&inner, "pw", 8), b"pw", MIB) {
            Ok(_) | Err(PgpError::Tampered(_) | PgpError::Unsupported(_) | PgpError::TooLarge { .. }) => {}
            Err(e) => prop_assert!(false, "{e}"),
        }
    }
}
