//! Proof of inference: a Groth16 proof over BN254 that `logits = model(input)` and
//! `class = argmax(logits)` for a [`QuantizedMlp`], bit for bit with its integer kernel
//! ([`QuantizedMlp::layer_outputs`]), with the input hidden behind a Poseidon commitment.
//!
//! # The layout, and why
//!
//! **Weights are constants of the circuit, one circuit per model.** A dense layer's product is
//! then linear in the activations, and linear combinations are free in R1CS: a layer costs one
//! constraint per unit plus its requantization (≈ 2·(B+2) + 12 constraints for a `B`-bit
//! range, `B` ≈ 50), whatever its fan-in. Weights as a witness with a committed hash would
//! cost a multiplication per weight and a hash over all of them (784-56-10: 44k products and
//! ≈ 350k Poseidon constraints, against ≈ 20k in all here). The price: one verifying key per
//! model, registered once — which is also what ties a proof to a model (`registerModelCircuit`
//! on the Verifier names the model, and only its owner or its server may do it).
//!
//! **The statement starts at the int8 input.** Quantizing features (thousandths) to int8 is a
//! public per-feature step of the model ([`QuantizedMlp::quantize_input`]) that the caller
//! redoes to check the commitment; proving it would cost two wide comparisons per feature
//! (≈ 130 constraints, six times the rest of an MNIST-size model).
//!
//! **The commitment** is Poseidon over the inputs packed 31 per field element and a salt
//! ([`commitment`]); with a random salt it hides the input, with salt 0 and the input shown
//! (`"clear"`) anyone can recompute it.
//!
//! Constraints in detail: [`circuit`]. Public signals: [`Statement::public_signals`]
//! (`task, input commitment, output commitment`, at [`TASK_SIGNAL`], [`INPUT_SIGNAL`] and
//! [`OUTPUT_SIGNAL`]): three for every model, so a verification's gas does not grow with the
//! classes; the output commitment is Poseidon over the logits and the class
//! ([`output_commitment`]), which whoever holds the answer recomputes.
//!
//! # Keys
//!
//! [`dev_setup`] derives keys from a seed fixed by the model's hash: anyone can recompute
//! them, so anyone can forge proofs with them. The chain accepts such keys only where genesis
//! enables dev setups, and marks them `dev`. For a real network the keys come from a
//! ceremony: [`r1cs::write_r1cs`] exports the circuit in circom's `.r1cs` format for snarkjs
//! (`snarkjs groth16 setup`, `zkey contribute`, `zkey export verificationkey`), and the
//! resulting `verification_key.json` is registered as it is.

pub mod circuit;
pub mod poseidon;
pub mod r1cs;

use ark_bn254::Bn254;
use ark_groth16::Groth16;
use ark_relations::r1cs::{
    ConstraintSynthesizer, ConstraintSystem, ConstraintSystemRef, OptimizationGoal, SynthesisMode,
};
use ark_snark::SNARK;
use lazai_model::QuantizedMlp;
use rand::{CryptoRng, RngCore, SeedableRng};

/// The BN254 scalar field: salts, commitments and public signals.
pub use ark_bn254::Fr;
pub use circuit::{
    INPUT_SIGNAL, INPUTS_PER_ELEMENT, InferenceCircuit, OUTPUT_SIGNAL, Private, SIGNALS, Statement,
    TASK_SIGNAL, commitment, fr_i128, output_commitment, pack,
};

/// The domain of the dev-setup seed.
pub const DEV_SETUP_DOMAIN: &str = "LAZAI_DEV_ZK_SETUP_V1";

/// Why proving or a setup failed.
#[derive(Debug, thiserror::Error)]
pub enum ZkmlError {
    #[error("model: {0}")]
    Model(#[from] lazai_model::ModelError),
    #[error("input {index} is {value}; a model's int8 input is within -127..=127")]
    InputOutOfRange { index: usize, value: i8 },
    #[error("constraint system: {0}")]
    Synthesis(String),
    #[error("key: {0}")]
    Key(#[from] lazai_zk::ZkError),
}

impl From<ark_relations::r1cs::SynthesisError> for ZkmlError {
    fn from(e: ark_relations::r1cs::SynthesisError) -> Self {
        Self::Synthesis(e.to_string())
    }
}

/// A proving key and its verifying key, for one model.
#[derive(Clone)]
pub struct Keys {
    pub proving: ark_groth16::ProvingKey<Bn254>,
    pub verifying: lazai_zk::VerifyingKey,
}

fn check(model: &QuantizedMlp) -> Result<(), ZkmlError> {
    Ok(model.check()?)
}

/// `-128` is an `i8` but never a quantized input, and the circuit's range excludes it.
fn check_input(input: &[i8]) -> Result<(), ZkmlError> {
    match input.iter().position(|&v| v == i8::MIN) {
        Some(index) => Err(ZkmlError::InputOutOfRange {
            index,
            value: i8::MIN,
        }),
        None => Ok(()),
    }
}

/// The seed of a model's dev setup: BLAKE3 of the domain and the model file's hash.
pub fn dev_seed(model: &QuantizedMlp) -> [u8; 32] {
    let mut h = blake3::Hasher::new();
    h.update(DEV_SETUP_DOMAIN.as_bytes());
    h.update(&model.hash());
    *h.finalize().as_bytes()
}

/// Keys from `rng` (a ceremony of one: only for tests and dev setups).
pub fn setup_with<R: RngCore + CryptoRng>(
    model: &QuantizedMlp,
    rng: &mut R,
) -> Result<Keys, ZkmlError> {
    check(model)?;
    let circuit = InferenceCircuit::unassigned(model);
    let (proving, vk) = Groth16::<Bn254>::circuit_specific_setup(circuit, rng)?;
    let verifying = lazai_zk::VerifyingKey::from_points(
        vk.alpha_g1,
        vk.beta_g2,
        vk.gamma_g2,
        vk.delta_g2,
        vk.gamma_abc_g1,
    )?;
    Ok(Keys { proving, verifying })
}

/// The dev setup of a model: keys from [`dev_seed`], the same on every machine (and so
/// forgeable by anyone: see the crate docs).
pub fn dev_setup(model: &QuantizedMlp) -> Result<Keys, ZkmlError> {
    let mut rng = rand_chacha::ChaCha20Rng::from_seed(dev_seed(model));
    setup_with(model, &mut rng)
}

/// The statement of `model` on `input` for `task`, computed natively.
pub fn statement(
    model: &QuantizedMlp,
    input: &[i8],
    salt: Fr,
    task: Fr,
) -> Result<Statement, ZkmlError> {
    check_input(input)?;
    let outputs = model.layer_outputs(input)?;
    let logits = outputs.last().cloned().unwrap_or_default();
    Ok(Statement {
        task,
        commitment: commitment(input, salt),
        class: lazai_model::argmax(&logits) as u32,
        logits,
    })
}

/// Proves `model` on the int8 `input` for `task` (randomness from the OS): the proof and
/// its statement.
pub fn prove(
    keys: &Keys,
    model: &QuantizedMlp,
    input: &[i8],
    salt: Fr,
    task: Fr,
) -> Result<(lazai_zk::Proof, Statement), ZkmlError> {
    check(model)?;
    let statement = statement(model, input, salt, task)?;
    let circuit = InferenceCircuit::assigned(model, input, salt, task);
    let proof = Groth16::<Bn254>::prove(&keys.proving, circuit, &mut rand::rngs::OsRng)?;
    let proof = lazai_zk::Proof::from_points(proof.a, proof.b, proof.c)?;
    Ok((proof, statement))
}

/// Whether the int8 `input` satisfies the circuit (every constraint), without proving: the
/// differential tests' check.
pub fn is_satisfied(
    model: &QuantizedMlp,
    input: &[i8],
    salt: Fr,
    task: Fr,
) -> Result<bool, ZkmlError> {
    check_input(input)?;
    let cs = synthesize(
        InferenceCircuit::assigned(model, input, salt, task),
        SynthesisMode::Prove {
            construct_matrices: true,
        },
    )?;
    Ok(cs.is_satisfied()?)
}

/// `circuit` laid out in a fresh constraint system in `mode` (constraint count as the goal,
/// as the prover and the setup use).
fn synthesize(
    circuit: InferenceCircuit<'_>,
    mode: SynthesisMode,
) -> Result<ConstraintSystemRef<Fr>, ZkmlError> {
    let cs = ConstraintSystem::<Fr>::new_ref();
    cs.set_optimization_goal(OptimizationGoal::Constraints);
    cs.set_mode(mode);
    circuit.generate_constraints(cs.clone())?;
    Ok(cs)
}

/// The circuit's size: constraints, public inputs (without the constant one) and private
/// witnesses.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Size {
    pub constraints: usize,
    pub public_inputs: usize,
    pub witnesses: usize,
}

/// Lays out the circuit of `model` (no values) and counts it.
pub fn size(model: &QuantizedMlp) -> Result<Size, ZkmlError> {
    check(model)?;
    let cs = synthesize(InferenceCircuit::unassigned(model), SynthesisMode::Setup)?;
    Ok(Size {
        constraints: cs.num_constraints(),
        public_inputs: cs.num_instance_variables() - 1,
        witnesses: cs.num_witness_variables(),
    })
}

/// A fresh random salt for a hiding commitment: 248 bits from the OS (below r by
/// construction).
pub fn random_salt() -> Fr {
    use ark_ff::PrimeField;
    let mut bytes = [0u8; 31];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    Fr::from_le_bytes_mod_order(&bytes)
}

/// A field element from 32 big-endian bytes (a salt or a public signal as the chain holds
/// it), refused at or above r.
pub fn fr_from_be(b: &[u8; 32]) -> Result<Fr, ZkmlError> {
    Ok(lazai_zk::public_inputs_from_bytes(b)?[0])
}

/// The 32 big-endian bytes of a field element.
pub fn fr_to_be(f: &Fr) -> [u8; 32] {
    let mut out = [0u8; 32];
    out.copy_from_slice(&lazai_zk::public_inputs_to_bytes(std::slice::from_ref(f)));
    out
}
