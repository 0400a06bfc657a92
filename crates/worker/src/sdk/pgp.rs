//! Opening the files LazAI's SDKs contribute: OpenPGP messages encrypted with a password.
//!
//! The SDKs (alith, in Python, Rust and Node) derive the password from the contributor's wallet
//! (the EIP-191 signature of a fixed text, as hex) and encrypt the file as an OpenPGP
//! *symmetric* message: one or more password packets (SKESK) and the encrypted data. The
//! Python SDK runs gpg through python-gnupg (binary output, gpg's defaults: AES-256, iterated
//! and salted S2K, ZIP compression, SEIPD v1 with its MDC); the Rust SDK uses sequoia
//! (ASCII armor, AES-256, SEIPD v1, no compression). [`decrypt_symmetric`] opens both.
//!
//! # What is accepted
//!
//! - **Framing:** binary packets, or ASCII armor (`-----BEGIN PGP MESSAGE-----`, leading
//!   whitespace allowed); the armor's optional CRC24 is not checked (RFC 9580 §6.1: the
//!   encryption's own integrity check covers the bytes). Marker and padding packets are
//!   skipped.
//! - **Password packets:** SKESK v4 (with or without an encrypted session key), v6 and GnuPG's
//!   v5; at most [`MAX_PASSWORD_PACKETS`] of them. S2K: simple, salted, iterated and salted
//!   (any hash rPGP knows), and Argon2 up to [`MAX_ARGON2_MEMORY_KIB`] and
//!   [`MAX_ARGON2_PASSES`] (rPGP itself allows 2 GiB and 32 passes, too much for a worker that
//!   opens files anyone may send).
//! - **Encrypted data:** SEIPD v1 (CFB with the MDC, what gpg 2.2 and sequoia write), SEIPD v2
//!   (RFC 9580 AEAD) and GnuPG's OCB packet (type 20, what gpg 2.3+ may write for `-c`). The
//!   legacy SED packet without integrity protection is refused ([`PgpError::Unsupported`]).
//! - **Inside:** literal data, under at most [`MAX_COMPRESSION_LAYERS`] compression layers
//!   (uncompressed, ZIP, ZLIB and BZip2: gpg can write all three); a signed message (gpg
//!   `--sign --symmetric`) is read without checking its signature. The plaintext is the
//!   literal data's bytes, unchanged.
//!
//! # What is refused, and how
//!
//! Every refusal is a [`PgpError`]; no input makes the function panic. The plaintext is read as
//! a stream and stops at `max_plaintext` bytes, so a compression bomb is refused after
//! inflating at most `max_plaintext` plus one read (8 KiB), whatever the ratio.
//!
//! A truncated or malformed framing is refused before the password is used: the
//! deliberately slow password hashing only runs on a message whose packets are complete.
//!
//! **A wrong password and an altered message.** With SEIPD v1 and a v4 password packet (the
//! SDKs' format), nothing in the message checks the password itself: a wrong password
//! decrypts to noise, which the MDC then rejects — exactly as it rejects an altered
//! ciphertext. Both are [`PgpError::WrongPassword`], whose message says both. The "quick
//! check" bytes of the CFB prefix could tell the two apart, but they are deliberately not
//! used: a service that answers whether they matched is a decryption oracle (RFC 9580 §13.4,
//! Mister–Zuccherato). With v5/v6 password packets (AEAD), the password packet itself is
//! authenticated: a wrong password (or an altered password packet) is
//! [`PgpError::WrongPassword`], and a failing integrity check on the data afterwards is
//! [`PgpError::Tampered`].
//!
//! # Secrets
//!
//! The plaintext is returned in [`Zeroizing`] memory, and the buffer it is read into is
//! zeroized whenever it grows. rPGP's own buffers (the decrypted SEIPD v1 body is held whole
//! to check the MDC before anything is released) are outside this module's control.

use std::borrow::Cow;
use std::io::{self, ErrorKind, Read};

use pgp::armor::{BlockType, Dearmor};
use pgp::composed::{
    DecryptionOptions, Message, PacketBodyReader, PlainSessionKey, TheRing,
    decrypt_session_key_with_password,
};
use pgp::errors::Error as RpgpError;
use pgp::packet::{PacketHeader, SymKeyEncryptedSessionKey};
use pgp::types::{Password, SkeskVersion, StringToKey, Tag};
use zeroize::Zeroizing;

/// The most password packets (SKESK) a message may have. Each costs a password hashing that
/// the message's sender chooses to be slow; gpg writes one, sequoia one per password.
pub const MAX_PASSWORD_PACKETS: usize = 4;
/// The most memory an Argon2 S2K may ask for, in KiB (256 MiB; RFC 9580's second
/// recommended setting uses 64 MiB).
pub const MAX_ARGON2_MEMORY_KIB: u32 = 1 << 18;
/// The most passes an Argon2 S2K may ask for.
pub const MAX_ARGON2_PASSES: u8 = 8;
/// The most compression layers around the literal data (gpg writes one).
pub const MAX_COMPRESSION_LAYERS: usize = 2;

/// How many plaintext bytes are read at a time.
const READ_CHUNK: usize = 8 * 1024;

/// Why a message could not be opened. The messages never quote the plaintext.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PgpError {
    /// Not an OpenPGP message: empty, neither OpenPGP packets nor ASCII armor, malformed
    /// packets or armor, or another kind of OpenPGP data (a key, a signature).
    #[error("not an OpenPGP message: {0}")]
    NotOpenPgp(&'static str),

    /// An OpenPGP message that is not encrypted with a password: encrypted to public keys
    /// only, or not encrypted at all (literal, compressed or signed data).
    #[error("not a password-encrypted OpenPGP message: {0}")]
    NotSymmetric(String),

    /// The password does not open the message — or the message was altered where the format
    /// cannot tell the difference (see the [module docs](self)): the password packet refuses
    /// the password, or (SEIPD v1) the integrity check fails after it.
    #[error(
        "the password does not open the message, or the message was altered (OpenPGP's \
         password encryption fails the same check for both)"
    )]
    WrongPassword,

    /// The password opened the message but its content fails an integrity check (an AEAD tag
    /// after an authenticated password packet), or the decrypted content is not a well-formed
    /// message (corrupt packets or compressed data, trailing packets).
    #[error("the message was altered or is corrupt: {0}")]
    Tampered(&'static str),

    /// The message ends early: a packet, the armor or the list of packets is cut short.
    #[error("the message is truncated")]
    Truncated,

    /// The plaintext (after decompression) is longer than the caller's limit.
    #[error("the plaintext is larger than the limit of {limit} bytes")]
    TooLarge {
        /// The caller's `max_plaintext`.
        limit: usize,
    },

    /// An algorithm, packet version or parameter this worker does not accept (see the
    /// [module docs](self)); the text names it.
    #[error("unsupported OpenPGP message: {0}")]
    Unsupported(String),
}

/// Decrypts an OpenPGP message encrypted with `password` and returns its plaintext, refusing
/// plaintexts longer than `max_plaintext` bytes.
///
/// `message` is binary OpenPGP or ASCII-armored; `password` is used as bytes, exactly (the
/// SDK password is 130 lowercase hex characters, without `0x` and without a newline). What is
/// accepted and how failures are told apart is in the [module docs](self). Never panics.
pub fn decrypt_symmetric(
    message: &[u8],
    password: &[u8],
    max_plaintext: usize,
) -> Result<Zeroizing<Vec<u8>>, PgpError> {
    let binary = unarmor(message)?;
    let outline = outline(&binary)?;
    let keys = session_keys(&outline, password)?;

    for key in keys {
        match open_with(&binary, key.key, key.authenticated, max_plaintext) {
            // Another password packet may hold the key (only ever with several packets).
            Err(PgpError::WrongPassword) => {}
            other => return other,
        }
    }
    Err(PgpError::WrongPassword)
}

/// The binary packets of `message`: the bytes themselves, or the armor's content.
fn unarmor(message: &[u8]) -> Result<Cow<'_, [u8]>, PgpError> {
    let text = message.trim_ascii_start();
    if text.is_empty() {
        return Err(PgpError::NotOpenPgp("it is empty or only whitespace"));
    }
    if !text.starts_with(b"-----BEGIN PGP ") {
        // Every OpenPGP packet header starts with a byte whose top bit is set.
        if message[0] & 0x80 == 0 {
            return Err(PgpError::NotOpenPgp(
                "it starts with neither an OpenPGP packet nor ASCII armor",
            ));
        }
        return Ok(Cow::Borrowed(message));
    }
    let mut dearmor = Dearmor::new(text);
    if dearmor.read_header().is_err() {
        return Err(PgpError::NotOpenPgp("its ASCII armor header is malformed"));
    }
    if !matches!(dearmor.typ, Some(BlockType::Message | BlockType::File)) {
        return Err(PgpError::NotOpenPgp(
            "its ASCII armor holds a key, a signature or other data, not a message",
        ));
    }
    // The armor's content is shorter than the armor: this is bounded by the input.
    let mut binary = Vec::with_capacity(text.len() / 4 * 3);
    if dearmor.read_to_end(&mut binary).is_err() {
        return Err(if has_end_line(text) {
            PgpError::NotOpenPgp("its ASCII armor is malformed")
        } else {
            PgpError::Truncated
        });
    }
    if binary.is_empty() {
        return Err(PgpError::NotOpenPgp("its ASCII armor is empty"));
    }
    Ok(Cow::Owned(binary))
}

/// Whether the armor has its closing `-----END PGP` line (an armor without one was cut).
fn has_end_line(text: &[u8]) -> bool {
    text.windows(12).any(|w| w == b"-----END PGP")
}

/// What the encrypted data is, which decides which password packets go with it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Container {
    /// SEIPD v1: CFB and the MDC; v4 password packets.
    SeipdV1,
    /// SEIPD v2: AEAD; v6 password packets.
    SeipdV2,
    /// GnuPG's OCB packet: v4 and v5 password packets.
    GnupgAead,
}

/// The outer packets of a message whose framing is complete.
struct Outline {
    skesks: Vec<SymKeyEncryptedSessionKey>,
    pkesks: usize,
    container: Container,
}

/// Walks the outer packets: every packet must be complete and the message must be password
/// packets and public-key packets followed by one encrypted data packet. No key is derived.
fn outline(bytes: &[u8]) -> Result<Outline, PgpError> {
    let mut rest = bytes;
    let mut skesks = Vec::new();
    let mut pkesks = 0usize;
    let mut container = None;
    while !rest.is_empty() {
        let header = PacketHeader::try_from_reader(&mut rest);
        let header = header.map_err(|e| cut_or(&e, rest, "a packet header is malformed"))?;
        let tag = header.tag();
        if container.is_some() && !matches!(tag, Tag::Marker | Tag::Padding) {
            return Err(PgpError::NotOpenPgp(
                "packets other than padding follow its encrypted data",
            ));
        }
        let keep = match tag {
            Tag::SymKeyEncryptedSessionKey => u64::MAX,
            Tag::SymEncryptedProtectedData | Tag::GnupgAeadData => 1,
            _ => 0,
        };
        let body = read_body(header, &mut rest, keep);
        let body = body.map_err(|e| cut_or(&e, rest, "a packet is malformed"))?;
        match tag {
            Tag::SymKeyEncryptedSessionKey => {
                let skesk =
                    SymKeyEncryptedSessionKey::try_from_reader(header, &body[..]).map_err(|e| {
                        match classify(&e, Stage::Framing) {
                            unsupported @ PgpError::Unsupported(_) => unsupported,
                            _ => PgpError::NotOpenPgp("a password packet is malformed"),
                        }
                    })?;
                skesks.push(skesk);
            }
            Tag::PublicKeyEncryptedSessionKey => pkesks += 1,
            Tag::SymEncryptedProtectedData | Tag::GnupgAeadData => {
                container = Some(match (tag, body.first()) {
                    (Tag::GnupgAeadData, _) => Container::GnupgAead,
                    (_, Some(1)) => Container::SeipdV1,
                    (_, Some(2)) => Container::SeipdV2,
                    (_, Some(v)) => {
                        return Err(PgpError::Unsupported(format!(
                            "encrypted data packet version {v}"
                        )));
                    }
                    (_, None) => return Err(PgpError::NotOpenPgp("its encrypted data is empty")),
                });
            }
            Tag::SymEncryptedData => {
                return Err(PgpError::Unsupported(
                    "legacy encrypted data without integrity protection (SED packet)".into(),
                ));
            }
            Tag::Marker | Tag::Padding => {}
            Tag::LiteralData | Tag::CompressedData | Tag::OnePassSignature | Tag::Signature => {
                return Err(PgpError::NotSymmetric(
                    "it is not encrypted (literal, compressed or signed data)".into(),
                ));
            }
            _ => {
                return Err(PgpError::NotOpenPgp(
                    "it holds packets that are not part of a message (a key or other data)",
                ));
            }
        }
    }
    let Some(container) = container else {
        return Err(if skesks.is_empty() && pkesks == 0 {
            PgpError::NotOpenPgp("it has no encrypted data")
        } else {
            PgpError::Truncated
        });
    };
    Ok(Outline {
        skesks,
        pkesks,
        container,
    })
}

/// Reads a packet's body to its end (which checks that it is complete) and returns its first
/// `keep` bytes.
fn read_body(header: PacketHeader, rest: &mut &[u8], keep: u64) -> io::Result<Vec<u8>> {
    let mut body = PacketBodyReader::new(header, &mut *rest)?;
    let mut kept = Vec::new();
    (&mut body).take(keep).read_to_end(&mut kept)?;
    io::copy(&mut body, &mut io::sink())?;
    Ok(kept)
}

/// A failure to read the outer packets: a truncation when it used up the input (whatever
/// rPGP calls it), else `malformed`.
fn cut_or(e: &io::Error, rest: &[u8], malformed: &'static str) -> PgpError {
    if rest.is_empty() || e.kind() == ErrorKind::UnexpectedEof {
        return PgpError::Truncated;
    }
    match classify_io(e, Stage::Framing) {
        unsupported @ PgpError::Unsupported(_) => unsupported,
        _ => PgpError::NotOpenPgp(malformed),
    }
}

/// A session key from a password packet, and whether that packet authenticated it (AEAD).
struct Candidate {
    key: PlainSessionKey,
    authenticated: bool,
}

/// Derives the session key of every password packet that goes with the encrypted data.
fn session_keys(outline: &Outline, password: &[u8]) -> Result<Vec<Candidate>, PgpError> {
    if outline.skesks.is_empty() {
        return Err(PgpError::NotSymmetric(match outline.pkesks {
            0 => "it has no password packet".into(),
            1 => "it is encrypted to a public key and has no password packet".into(),
            n => format!("it is encrypted to {n} public keys and has no password packet"),
        }));
    }
    if outline.skesks.len() > MAX_PASSWORD_PACKETS {
        return Err(PgpError::Unsupported(format!(
            "{} password packets; at most {MAX_PASSWORD_PACKETS} are accepted",
            outline.skesks.len()
        )));
    }
    // RFC 9580 §10.3.2.1: password packets of another generation than the data are ignored.
    let fits = |v: SkeskVersion| match outline.container {
        Container::SeipdV1 => v == SkeskVersion::V4,
        Container::SeipdV2 => v == SkeskVersion::V6,
        Container::GnupgAead => matches!(v, SkeskVersion::V4 | SkeskVersion::V5),
    };
    let password = Password::from(password);
    let mut keys = Vec::new();
    let mut refused = None;
    for skesk in outline.skesks.iter().filter(|s| fits(s.version())) {
        check_parameters(skesk)?;
        match decrypt_session_key_with_password(skesk, &password) {
            Ok(key) => keys.push(Candidate {
                key,
                authenticated: skesk.version() != SkeskVersion::V4,
            }),
            Err(e) => {
                refused = Some(match e {
                    RpgpError::Unsupported { message, .. }
                    | RpgpError::Unimplemented { message, .. } => PgpError::Unsupported(message),
                    _ => PgpError::WrongPassword,
                });
            }
        }
    }
    if keys.is_empty() {
        return Err(refused.unwrap_or_else(|| {
            PgpError::Unsupported(format!(
                "no password packet of a version that goes with {}",
                match outline.container {
                    Container::SeipdV1 => "SEIPD v1 data",
                    Container::SeipdV2 => "SEIPD v2 data",
                    Container::GnupgAead => "GnuPG OCB data",
                }
            ))
        }));
    }
    Ok(keys)
}

/// Refuses password packets whose cipher is unknown or whose S2K costs more than a worker
/// spends on one file.
fn check_parameters(skesk: &SymKeyEncryptedSessionKey) -> Result<(), PgpError> {
    if let Some(alg) = skesk.sym_algorithm()
        && alg.key_size() == 0
    {
        return Err(PgpError::Unsupported(format!(
            "password packet cipher {alg:?}"
        )));
    }
    if let Some(StringToKey::Argon2 { t, m_enc, .. }) = skesk.s2k() {
        let memory_ok = u32::from(*m_enc) < 32 && (1u32 << m_enc) <= MAX_ARGON2_MEMORY_KIB;
        if !memory_ok || *t > MAX_ARGON2_PASSES {
            return Err(PgpError::Unsupported(format!(
                "Argon2 password hashing with 2^{m_enc} KiB and {t} passes; at most \
                 {MAX_ARGON2_MEMORY_KIB} KiB and {MAX_ARGON2_PASSES} passes are accepted"
            )));
        }
    }
    Ok(())
}

/// Decrypts the message with one session key and reads its plaintext.
fn open_with(
    binary: &[u8],
    key: PlainSessionKey,
    authenticated: bool,
    max_plaintext: usize,
) -> Result<Zeroizing<Vec<u8>>, PgpError> {
    let stage = Stage::Decrypted { authenticated };
    let message = Message::from_bytes(binary).map_err(|e| classify(&e, Stage::Framing))?;
    let ring = TheRing {
        session_keys: vec![key],
        decrypt_options: DecryptionOptions::new().enable_gnupg_aead(),
        ..TheRing::default()
    };
    let (message, _) = message
        .decrypt_the_ring(ring, true)
        .map_err(|e| classify(&e, stage))?;
    let mut message = open_layers(message, stage)?;
    read_bounded(&mut message, max_plaintext).map_err(|e| match e {
        Bounded::TooLarge => PgpError::TooLarge {
            limit: max_plaintext,
        },
        Bounded::Io(e) => classify_io(&e, stage),
    })
}

/// Unwraps compression (and a signature) down to the literal data.
fn open_layers<'a>(mut message: Message<'a>, stage: Stage) -> Result<Message<'a>, PgpError> {
    for _ in 0..=MAX_COMPRESSION_LAYERS {
        match &message {
            Message::Literal { .. } => return Ok(message),
            Message::Signed { reader, .. } => {
                return if reader.get_ref().is_literal() {
                    Ok(message)
                } else {
                    Err(PgpError::Unsupported(
                        "a signed message whose content is not literal data".into(),
                    ))
                };
            }
            Message::Encrypted { .. } => {
                return Err(PgpError::Unsupported(
                    "an encrypted message inside the encrypted message".into(),
                ));
            }
            Message::Compressed { .. } => {
                message = message.decompress().map_err(|e| classify(&e, stage))?;
            }
        }
    }
    Err(PgpError::Unsupported(format!(
        "more than {MAX_COMPRESSION_LAYERS} compression layers"
    )))
}

/// Why [`read_bounded`] stopped.
enum Bounded {
    TooLarge,
    Io(io::Error),
}

/// Reads `reader` to its end into zeroizing memory, or stops as soon as more than `limit`
/// bytes came out.
fn read_bounded(reader: &mut impl Read, limit: usize) -> Result<Zeroizing<Vec<u8>>, Bounded> {
    let mut out = Zeroizing::new(Vec::new());
    let mut chunk = Zeroizing::new([0u8; READ_CHUNK]);
    loop {
        let n = match reader.read(&mut chunk[..]) {
            Ok(0) => return Ok(out),
            Ok(n) => n.min(READ_CHUNK),
            Err(e) if e.kind() == ErrorKind::Interrupted => continue,
            Err(e) => return Err(Bounded::Io(e)),
        };
        if n > limit - out.len() {
            return Err(Bounded::TooLarge);
        }
        if out.capacity() - out.len() < n {
            // Grow by hand so that the old buffer is zeroized, not just freed.
            let wanted = out.len() + n;
            let capacity = wanted.max(out.capacity().saturating_mul(2)).min(limit);
            let mut bigger = Zeroizing::new(Vec::with_capacity(capacity));
            bigger.extend_from_slice(&out);
            out = bigger;
        }
        out.extend_from_slice(&chunk[..n]);
    }
}

/// Where an error happened, which decides what it means.
#[derive(Debug, Clone, Copy)]
enum Stage {
    /// Reading the outer packets, before any key.
    Framing,
    /// Decrypting or reading the content with a session key; `authenticated` when the
    /// password packet proved the key (AEAD), so that a failing integrity check afterwards
    /// means the data was altered.
    Decrypted { authenticated: bool },
}

/// The meaning of one of rPGP's errors.
fn classify(e: &RpgpError, stage: Stage) -> PgpError {
    match e {
        RpgpError::MdcError | RpgpError::Aead { .. } => integrity(stage),
        RpgpError::IO { source, .. } => classify_io(source, stage),
        RpgpError::InvalidPacketContent { source } => classify(source, stage),
        RpgpError::Unsupported { message, .. } | RpgpError::Unimplemented { message, .. } => {
            PgpError::Unsupported(message.clone())
        }
        RpgpError::PacketIncomplete { .. } => ended_early(stage),
        RpgpError::PacketParsing { source } if source.is_incomplete() => ended_early(stage),
        _ => malformed(stage),
    }
}

/// The meaning of an I/O error out of rPGP's readers (which wrap rPGP's errors).
fn classify_io(e: &io::Error, stage: Stage) -> PgpError {
    if let Some(inner) = e.get_ref().and_then(|i| i.downcast_ref::<RpgpError>()) {
        return classify(inner, stage);
    }
    if e.kind() == ErrorKind::UnexpectedEof {
        return ended_early(stage);
    }
    let text = e.to_string();
    if text.starts_with("unsupported") {
        return PgpError::Unsupported(text);
    }
    malformed(stage)
}

fn integrity(stage: Stage) -> PgpError {
    match stage {
        Stage::Decrypted {
            authenticated: true,
        } => PgpError::Tampered("an integrity check (AEAD tag) of the encrypted data failed"),
        Stage::Framing | Stage::Decrypted { .. } => PgpError::WrongPassword,
    }
}

fn ended_early(stage: Stage) -> PgpError {
    match stage {
        Stage::Framing => PgpError::Truncated,
        // The outer packets were complete: what ends early is the decrypted content.
        Stage::Decrypted { .. } => PgpError::Tampered("the decrypted content ends early"),
    }
}

fn malformed(stage: Stage) -> PgpError {
    match stage {
        Stage::Framing => PgpError::NotOpenPgp("its packets are malformed"),
        Stage::Decrypted { .. } => {
            PgpError::Tampered("the decrypted content is not a well-formed OpenPGP message")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn read_bounded_stops_at_the_limit() {
        let data = vec![7u8; 100_000];
        let out = read_bounded(&mut &data[..], 100_000).ok().expect("fits");
        assert_eq!(&out[..], &data[..]);
        assert!(matches!(
            read_bounded(&mut &data[..], 99_999),
            Err(Bounded::TooLarge)
        ));
        assert!(matches!(read_bounded(&mut &b""[..], 0), Ok(v) if v.is_empty()));
        assert!(matches!(
            read_bounded(&mut &b"x"[..], 0),
            Err(Bounded::TooLarge)
        ));
        // An endless stream (what a compression bomb looks like from here) stops at the limit.
        assert!(matches!(
            read_bounded(&mut io::repeat(0), 1 << 20),
            Err(Bounded::TooLarge)
        ));
    }

    #[test]
    fn garbage_is_not_openpgp() {
        for bad in [&b""[..], b"   \n", b"hello", b"{\"a\":1}", b"\x00\x01\x02"] {
            assert!(
                matches!(
                    decrypt_symmetric(bad, b"pw", 1024),
                    Err(PgpError::NotOpenPgp(_))
                ),
                "{bad:?}"
            );
        }
    }
}
