//! What the worker needs for files contributed through LazAI's SDKs: opening their OpenPGP
//! password encryption ([`pgp`]).

pub mod pgp;
