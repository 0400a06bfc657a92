//! Field elements and points, from snarkjs decimal strings and to and from big-endian bytes,
//! with every check a point from outside needs.

use ark_bn254::{Fq, Fq2, Fr, G1Affine, G2Affine};
use ark_ff::{BigInt, PrimeField, Zero};

use crate::error::ZkError;

/// Bytes of one field element (big-endian).
pub const FIELD_LEN: usize = 32;
/// Bytes of an uncompressed G1 point: x ‖ y.
pub const G1_LEN: usize = 2 * FIELD_LEN;
/// Bytes of an uncompressed G2 point in EIP-197 order: x.c1 ‖ x.c0 ‖ y.c1 ‖ y.c0.
pub const G2_LEN: usize = 4 * FIELD_LEN;

/// Longest decimal string accepted (2^256 has 78 digits).
const MAX_DECIMAL_DIGITS: usize = 78;

/// A 256-bit integer (little-endian limbs) from decimal digits; `None` unless the string is
/// 1 to 78 ASCII digits with a value below 2^256.
fn decimal_to_bigint(s: &str) -> Option<BigInt<4>> {
    if s.is_empty() || s.len() > MAX_DECIMAL_DIGITS || !s.bytes().all(|c| c.is_ascii_digit()) {
        return None;
    }
    let mut limbs = [0u64; 4];
    for c in s.bytes() {
        // limbs = limbs * 10 + digit, refusing a carry out of the top limb.
        let mut carry = u128::from(c - b'0');
        for limb in limbs.iter_mut() {
            let v = u128::from(*limb) * 10 + carry;
            *limb = v as u64;
            carry = v >> 64;
        }
        if carry != 0 {
            return None;
        }
    }
    Some(BigInt::new(limbs))
}

/// A 256-bit integer from 32 big-endian bytes.
fn be_to_bigint(b: &[u8; FIELD_LEN]) -> BigInt<4> {
    let mut limbs = [0u64; 4];
    for (i, limb) in limbs.iter_mut().enumerate() {
        let start = FIELD_LEN - 8 * (i + 1);
        let mut word = [0u8; 8];
        word.copy_from_slice(&b[start..start + 8]);
        *limb = u64::from_be_bytes(word);
    }
    BigInt::new(limbs)
}

/// 32 big-endian bytes of a field element's canonical integer.
fn field_to_be<F: PrimeField<BigInt = BigInt<4>>>(f: &F) -> [u8; FIELD_LEN] {
    let limbs = f.into_bigint().0;
    let mut out = [0u8; FIELD_LEN];
    for (i, limb) in limbs.iter().enumerate() {
        let start = FIELD_LEN - 8 * (i + 1);
        out[start..start + 8].copy_from_slice(&limb.to_be_bytes());
    }
    out
}

fn fq_from_bigint(n: BigInt<4>, what: &str) -> Result<Fq, ZkError> {
    Fq::from_bigint(n).ok_or_else(|| ZkError::CoordinateOverflow {
        what: what.to_owned(),
    })
}

fn fr_from_bigint(n: BigInt<4>, what: &str) -> Result<Fr, ZkError> {
    Fr::from_bigint(n).ok_or_else(|| ZkError::ScalarOverflow {
        what: what.to_owned(),
    })
}

fn decimal(s: &str, what: &str) -> Result<BigInt<4>, ZkError> {
    decimal_to_bigint(s).ok_or_else(|| ZkError::Decimal {
        what: what.to_owned(),
        // Enough of the value to recognize it, never the whole of a long string.
        value: s.chars().take(90).collect(),
    })
}

/// A base field element from a decimal string, below p.
pub fn fq_from_decimal(s: &str, what: &str) -> Result<Fq, ZkError> {
    fq_from_bigint(decimal(s, what)?, what)
}

/// A scalar (public input) from a decimal string, below r.
pub fn fr_from_decimal(s: &str, what: &str) -> Result<Fr, ZkError> {
    fr_from_bigint(decimal(s, what)?, what)
}

/// A scalar from 32 big-endian bytes, below r.
pub fn fr_from_be(b: &[u8; FIELD_LEN], what: &str) -> Result<Fr, ZkError> {
    fr_from_bigint(be_to_bigint(b), what)
}

/// 32 big-endian bytes of a scalar.
pub fn fr_to_be(f: &Fr) -> [u8; FIELD_LEN] {
    field_to_be(f)
}

fn fq_from_be(b: &[u8], what: &str) -> Result<Fq, ZkError> {
    let mut word = [0u8; FIELD_LEN];
    word.copy_from_slice(&b[..FIELD_LEN]);
    fq_from_bigint(be_to_bigint(&word), what)
}

/// A G1 point from affine coordinates: not infinity (which in the EIP-197 encoding is (0, 0)),
/// on the curve, in the subgroup (the whole curve for BN254's G1, checked all the same).
pub fn g1_checked(x: Fq, y: Fq, what: &str) -> Result<G1Affine, ZkError> {
    if x.is_zero() && y.is_zero() {
        return Err(ZkError::Infinity {
            what: what.to_owned(),
        });
    }
    let p = G1Affine::new_unchecked(x, y);
    if !p.is_on_curve() {
        return Err(ZkError::NotOnCurve {
            what: what.to_owned(),
        });
    }
    if !p.is_in_correct_subgroup_assuming_on_curve() {
        return Err(ZkError::NotInSubgroup {
            what: what.to_owned(),
        });
    }
    Ok(p)
}

/// A G2 point from affine coordinates: not infinity ((0, 0) in EIP-197), on the twist, and in
/// the prime-order subgroup (an explicit check: the twist's cofactor is not 1).
pub fn g2_checked(x: Fq2, y: Fq2, what: &str) -> Result<G2Affine, ZkError> {
    if x.is_zero() && y.is_zero() {
        return Err(ZkError::Infinity {
            what: what.to_owned(),
        });
    }
    let p = G2Affine::new_unchecked(x, y);
    if !p.is_on_curve() {
        return Err(ZkError::NotOnCurve {
            what: what.to_owned(),
        });
    }
    if !p.is_in_correct_subgroup_assuming_on_curve() {
        return Err(ZkError::NotInSubgroup {
            what: what.to_owned(),
        });
    }
    Ok(p)
}

/// A G1 point from exactly [`G1_LEN`] bytes: x ‖ y, big-endian.
pub fn g1_from_be(b: &[u8], what: &str) -> Result<G1Affine, ZkError> {
    let x = fq_from_be(&b[..FIELD_LEN], what)?;
    let y = fq_from_be(&b[FIELD_LEN..G1_LEN], what)?;
    g1_checked(x, y, what)
}

/// A G2 point from exactly [`G2_LEN`] bytes: x.c1 ‖ x.c0 ‖ y.c1 ‖ y.c0, big-endian.
pub fn g2_from_be(b: &[u8], what: &str) -> Result<G2Affine, ZkError> {
    let x_c1 = fq_from_be(&b[..FIELD_LEN], what)?;
    let x_c0 = fq_from_be(&b[FIELD_LEN..2 * FIELD_LEN], what)?;
    let y_c1 = fq_from_be(&b[2 * FIELD_LEN..3 * FIELD_LEN], what)?;
    let y_c0 = fq_from_be(&b[3 * FIELD_LEN..G2_LEN], what)?;
    g2_checked(Fq2::new(x_c0, x_c1), Fq2::new(y_c0, y_c1), what)
}

/// Appends a (validated, finite) G1 point: x ‖ y.
pub fn g1_to_be(p: &G1Affine, out: &mut Vec<u8>) {
    out.extend_from_slice(&field_to_be(&p.x));
    out.extend_from_slice(&field_to_be(&p.y));
}

/// Appends a (validated, finite) G2 point in EIP-197 order: x.c1 ‖ x.c0 ‖ y.c1 ‖ y.c0.
pub fn g2_to_be(p: &G2Affine, out: &mut Vec<u8>) {
    out.extend_from_slice(&field_to_be(&p.x.c1));
    out.extend_from_slice(&field_to_be(&p.x.c0));
    out.extend_from_slice(&field_to_be(&p.y.c1));
    out.extend_from_slice(&field_to_be(&p.y.c0));
}

/// A G1 point from snarkjs's `[x, y, z]` decimal strings: z = "1" for an affine point; z = "0"
/// (snarkjs's infinity, `["0", "1", "0"]`) is refused as infinity, any other z as not affine.
pub fn g1_from_snarkjs(c: &[String], what: &str) -> Result<G1Affine, ZkError> {
    let [x, y, z] = c else {
        return Err(ZkError::Shape {
            what: what.to_owned(),
            detail: "expected [x, y, z]",
        });
    };
    match z.as_str() {
        "1" => {}
        "0" => {
            return Err(ZkError::Infinity {
                what: what.to_owned(),
            });
        }
        _ => {
            return Err(ZkError::NotAffine {
                what: what.to_owned(),
            });
        }
    }
    g1_checked(fq_from_decimal(x, what)?, fq_from_decimal(y, what)?, what)
}

fn fq2_from_snarkjs(c: &[String], what: &str) -> Result<Fq2, ZkError> {
    let [c0, c1] = c else {
        return Err(ZkError::Shape {
            what: what.to_owned(),
            detail: "expected an [c0, c1] pair",
        });
    };
    Ok(Fq2::new(
        fq_from_decimal(c0, what)?,
        fq_from_decimal(c1, what)?,
    ))
}

/// A G2 point from snarkjs's `[[x.c0, x.c1], [y.c0, y.c1], [z.c0, z.c1]]`: z = ["1", "0"] for
/// an affine point; z = ["0", "0"] is refused as infinity, any other z as not affine.
pub fn g2_from_snarkjs(c: &[Vec<String>], what: &str) -> Result<G2Affine, ZkError> {
    let [x, y, z] = c else {
        return Err(ZkError::Shape {
            what: what.to_owned(),
            detail: "expected [x, y, z]",
        });
    };
    let [z0, z1] = z.as_slice() else {
        return Err(ZkError::Shape {
            what: what.to_owned(),
            detail: "expected an [c0, c1] pair",
        });
    };
    match (z0.as_str(), z1.as_str()) {
        ("1", "0") => {}
        ("0", "0") => {
            return Err(ZkError::Infinity {
                what: what.to_owned(),
            });
        }
        _ => {
            return Err(ZkError::NotAffine {
                what: what.to_owned(),
            });
        }
    }
    g2_checked(fq2_from_snarkjs(x, what)?, fq2_from_snarkjs(y, what)?, what)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decimal_limits() {
        assert_eq!(decimal_to_bigint("0"), Some(BigInt::new([0; 4])));
        assert_eq!(
            decimal_to_bigint("18446744073709551616"),
            Some(BigInt::new([0, 1, 0, 0]))
        );
        // 2^256 - 1 fits, 2^256 does not.
        let max = "115792089237316195423570985008687907853269984665640564039457584007913129639935";
        assert_eq!(decimal_to_bigint(max), Some(BigInt::new([u64::MAX; 4])));
        let over = "115792089237316195423570985008687907853269984665640564039457584007913129639936";
        assert_eq!(decimal_to_bigint(over), None);
        for bad in ["", "-1", "+1", "1.0", "0x10", " 1", "1e3", "١"] {
            assert_eq!(decimal_to_bigint(bad), None, "{bad:?}");
        }
        assert_eq!(decimal_to_bigint(&"9".repeat(79)), None);
    }

    #[test]
    fn be_round_trip() {
        let f = Fr::from(0x0102_0304_0506_0708u64);
        let b = fr_to_be(&f);
        assert_eq!(&b[24..], &[1, 2, 3, 4, 5, 6, 7, 8]);
        assert_eq!(fr_from_be(&b, "x"), Ok(f));
    }
}
