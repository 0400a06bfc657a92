//! The circuit in circom's binary formats, for a snarkjs ceremony: `.r1cs` (the constraints,
//! for `snarkjs groth16 setup` and `zkey contribute`) and `.wtns` (a witness, for
//! `snarkjs groth16 prove` with the ceremony's key).
//!
//! Wires are arkworks' variables in order: wire 0 the constant one, wires `1..=n` the public
//! inputs in [`crate::Statement::public_signals`] order (declared as circom public *inputs*,
//! so snarkjs's `public.json` has the same order), then the private witnesses. Field
//! elements are 32 bytes, little-endian, in normal (not Montgomery) form, as circom writes
//! them.

use ark_bn254::Fr;
use ark_ff::{BigInteger, PrimeField};
use ark_relations::r1cs::SynthesisMode;
use lazai_model::QuantizedMlp;

use crate::{InferenceCircuit, ZkmlError};

const N8: u32 = 32;

fn fr_le(f: &Fr, out: &mut Vec<u8>) {
    out.extend_from_slice(&f.into_bigint().to_bytes_le());
}

fn prime_le(out: &mut Vec<u8>) {
    out.extend_from_slice(&Fr::MODULUS.to_bytes_le());
}

fn section(out: &mut Vec<u8>, kind: u32, body: &[u8]) {
    out.extend_from_slice(&kind.to_le_bytes());
    out.extend_from_slice(&(body.len() as u64).to_le_bytes());
    out.extend_from_slice(body);
}

fn to_u32(n: usize, what: &str) -> Result<u32, ZkmlError> {
    u32::try_from(n).map_err(|_| ZkmlError::Synthesis(format!("{what}: {n} is too many for .r1cs")))
}

/// The circuit of `model` as a circom `.r1cs` file.
pub fn write_r1cs(model: &QuantizedMlp) -> Result<Vec<u8>, ZkmlError> {
    crate::check(model)?;
    let cs = crate::synthesize(InferenceCircuit::unassigned(model), SynthesisMode::Setup)?;
    cs.finalize();
    let m = cs
        .to_matrices()
        .ok_or_else(|| ZkmlError::Synthesis("no constraint matrices".into()))?;
    let wires = m.num_instance_variables + m.num_witness_variables;
    let n_pub = m.num_instance_variables - 1;

    let mut header = Vec::new();
    header.extend_from_slice(&N8.to_le_bytes());
    prime_le(&mut header);
    header.extend_from_slice(&to_u32(wires, "wires")?.to_le_bytes());
    header.extend_from_slice(&0u32.to_le_bytes()); // public outputs
    header.extend_from_slice(&to_u32(n_pub, "public inputs")?.to_le_bytes());
    header.extend_from_slice(&0u32.to_le_bytes()); // private inputs
    header.extend_from_slice(&(wires as u64).to_le_bytes()); // labels
    header.extend_from_slice(&to_u32(m.num_constraints, "constraints")?.to_le_bytes());

    let mut constraints = Vec::new();
    for i in 0..m.num_constraints {
        for matrix in [&m.a, &m.b, &m.c] {
            let row = &matrix[i];
            constraints.extend_from_slice(&to_u32(row.len(), "terms")?.to_le_bytes());
            for (coeff, wire) in row {
                constraints.extend_from_slice(&to_u32(*wire, "wire")?.to_le_bytes());
                fr_le(coeff, &mut constraints);
            }
        }
    }

    let mut labels = Vec::with_capacity(wires * 8);
    for w in 0..wires as u64 {
        labels.extend_from_slice(&w.to_le_bytes());
    }

    let mut out = Vec::new();
    out.extend_from_slice(b"r1cs");
    out.extend_from_slice(&1u32.to_le_bytes());
    out.extend_from_slice(&3u32.to_le_bytes());
    section(&mut out, 1, &header);
    section(&mut out, 2, &constraints);
    section(&mut out, 3, &labels);
    Ok(out)
}

/// A full witness of `model` on `input` for `task` as a snarkjs `.wtns` file (wire order of
/// [`write_r1cs`]).
pub fn write_wtns(
    model: &QuantizedMlp,
    input: &[i8],
    salt: Fr,
    task: Fr,
) -> Result<Vec<u8>, ZkmlError> {
    crate::check(model)?;
    crate::check_input(input)?;
    let cs = crate::synthesize(
        InferenceCircuit::assigned(model, input, salt, task),
        SynthesisMode::Prove {
            construct_matrices: false,
        },
    )?;
    let inner = cs
        .borrow()
        .ok_or_else(|| ZkmlError::Synthesis("constraint system in use".into()))?;
    let values: Vec<Fr> = inner
        .instance_assignment
        .iter()
        .chain(&inner.witness_assignment)
        .copied()
        .collect();

    let mut header = Vec::new();
    header.extend_from_slice(&N8.to_le_bytes());
    prime_le(&mut header);
    header.extend_from_slice(&to_u32(values.len(), "wires")?.to_le_bytes());
    let mut body = Vec::with_capacity(values.len() * 32);
    for v in &values {
        fr_le(v, &mut body);
    }
    let mut out = Vec::new();
    out.extend_from_slice(b"wtns");
    out.extend_from_slice(&2u32.to_le_bytes());
    out.extend_from_slice(&2u32.to_le_bytes());
    section(&mut out, 1, &header);
    section(&mut out, 2, &body);
    Ok(out)
}
