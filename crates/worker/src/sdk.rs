//! What the worker needs for files contributed through LazAI's SDKs: opening their OpenPGP
//! password encryption ([`pgp`]) and scoring free text ([`text`]).

pub mod pgp;
pub mod text;
