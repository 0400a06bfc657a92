//! Why a key, proof, public input list or verification was refused.

/// Every way input from outside can be refused. Each variant names the item (`what`, such as
/// `vk.IC[2]` or `proof.b`) where that helps find the fault.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ZkError {
    /// JSON text longer than [`crate::MAX_JSON_BYTES`].
    #[error("JSON text of {len} bytes is over the {max}-byte limit")]
    JsonTooLarge { len: usize, max: usize },
    /// Not JSON, or JSON missing a field or with a field of the wrong type.
    #[error("malformed JSON: {0}")]
    Json(String),
    /// A JSON array of the wrong length (coordinates of a point, pairs of an Fq2 element).
    #[error("{what}: {detail}")]
    Shape { what: String, detail: &'static str },
    /// snarkjs `protocol` field other than `"groth16"`.
    #[error("protocol is {0:?}, expected \"groth16\"")]
    Protocol(String),
    /// snarkjs `curve` field other than `"bn128"` (snarkjs's name for BN254).
    #[error("curve is {0:?}, expected \"bn128\" (BN254)")]
    Curve(String),
    /// A JSON number string that is not plain decimal digits (at most 78 of them).
    #[error("{what}: {value:?} is not a decimal number below 2^256")]
    Decimal { what: String, value: String },
    /// A point coordinate not below the base field modulus p (refused, never reduced).
    #[error("{what}: coordinate is not below the BN254 base field modulus")]
    CoordinateOverflow { what: String },
    /// A public input not below the scalar field modulus r (refused, never reduced).
    #[error("{what}: value is not below the BN254 scalar field modulus")]
    ScalarOverflow { what: String },
    /// A snarkjs projective point whose z is neither 1 (affine) nor 0 (infinity).
    #[error("{what}: projective z must be 1 (G1) or [1, 0] (G2)")]
    NotAffine { what: String },
    /// The point at infinity where no honest key or proof has it.
    #[error("{what}: the point at infinity is not allowed here")]
    Infinity { what: String },
    /// Coordinates that do not satisfy the curve equation.
    #[error("{what}: point is not on the curve")]
    NotOnCurve { what: String },
    /// A point on the curve but outside the prime-order subgroup (possible on G2, whose
    /// curve has a large cofactor).
    #[error("{what}: point is not in the prime-order subgroup")]
    NotInSubgroup { what: String },
    /// Binary input of the wrong length.
    #[error("{what}: expected {expected} bytes, got {got}")]
    Length {
        what: &'static str,
        expected: usize,
        got: usize,
    },
    /// More public inputs than [`crate::MAX_PUBLIC_INPUTS`].
    #[error("{what}: {got} public inputs, at most {max} allowed")]
    TooManyInputs {
        what: &'static str,
        got: usize,
        max: usize,
    },
    /// A verification key with no IC points (it needs `IC[0]` at least).
    #[error("verification key has no IC points")]
    EmptyIc,
    /// snarkjs `nPublic` disagreeing with the number of IC points.
    #[error("nPublic is {n_public} but IC has {ic} points (expected nPublic + 1)")]
    NPublic { n_public: u64, ic: usize },
    /// A verification given a number of public inputs other than the key's.
    #[error("{got} public inputs given, the verification key takes {expected}")]
    InputCount { expected: usize, got: usize },
}
