//! LazAI's SDK contribution path: OpenPGP files, RSA-wrapped passwords, text data and the
//! node HTTP API (`POST /proof`) the SDK calls.

pub mod fetch;
pub mod node_key;
pub mod pgp;
pub mod proof_api;
pub mod text;
