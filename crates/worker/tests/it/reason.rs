//! Reason codes are stable.

use lazai_worker::{Evaluation, Reason};

#[test]
fn codes_are_stable() {
    let expected = [
        (Reason::Accepted, 0),
        (Reason::Unavailable, 1),
        (Reason::Integrity, 2),
        (Reason::KeyRejected, 3),
        (Reason::Encoding, 4),
        (Reason::SchemaMismatch, 5),
        (Reason::TooFewValid, 6),
        (Reason::TooLarge, 7),
        (Reason::Empty, 8),
        (Reason::Duplicate, 9),
        (Reason::Malformed, 10),
    ];
    for (reason, code) in expected {
        assert_eq!(reason.code(), code);
        assert_eq!(reason as u8, code);
        assert_eq!(Reason::from_code(code), Some(reason));
        assert!(!reason.describe().is_empty());
        assert_eq!(reason.to_string(), reason.describe());
    }
    assert_eq!(Reason::ALL.len(), expected.len());
    for code in 11..=u8::MAX {
        assert_eq!(Reason::from_code(code), None);
    }
    assert_eq!(
        Reason::SchemaMismatch.describe(),
        "the file does not match the iDAO's schema"
    );
}

#[test]
fn caller_rejections() {
    let e = Evaluation::rejected(Reason::Integrity, "root mismatch");
    assert_eq!((e.score, e.reason, e.rows), (0, Reason::Integrity, 0));
    assert_eq!(e.detail, "root mismatch");
    assert!(!e.is_accepted());
}
