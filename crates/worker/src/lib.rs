//! The LazAI verifier worker.
//!
//! A worker decrypts a contributed file inside its TEE, checks it against the iDAO's declared
//! [`Schema`] and gives it a deterministic score ([`evaluate`]); several workers scoring the
//! same file against the same accepted rows get exactly the same [`Evaluation`].
//!
//! Files contributed through LazAI's SDKs come encrypted with a password (OpenPGP,
//! [`sdk::pgp`]) and are often free text, scored line by line ([`sdk::text`],
//! [`evaluate_sdk`]).

pub mod contribution;
pub mod optimistic;
pub mod packager;
pub mod schema;
pub mod score;
pub mod sdk;
pub mod serve;
pub mod tee;
pub mod train;
pub mod verifier;
pub mod verify;

pub use contribution::register::{
    ContributeProgress, Destination, Registered, Unaffordable, contribute_and_register,
    price_registration,
};
pub use contribution::{Contribution, Encrypted, FileHash, contribute, encrypt_for};
pub use packager::{Packager, flow_fee};
pub use schema::{Column, ColumnType, Format, Schema, SchemaError};
pub use score::{Evaluation, Limits, Reason, RowHash, compute_score, evaluate};
pub use sdk::text::evaluate_sdk;
pub use serve::{Prediction, Receipt, ServeConfig, ServeStats, ServerHandle};
pub use tee::{Attested, Attestor};
pub use train::{ModelWorker, TrainingJob, TrainingOutcome, TrainingReport, load_registered_model};
pub use verifier::{
    DEFAULT_FETCH_RETRY, DEFAULT_MAX_BLOB, UNSET_NODE_URL, Worker, WorkerConfig, describe_reason,
};
pub use verify::{FileInput, Verdict};
