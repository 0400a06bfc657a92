//! The `lazai` command's subcommands, and [`devnet::cluster`]: a local network of `lazai node`
//! processes, run by `lazai devnet --processes` and `lazai-bench cluster`.

pub mod attest;
pub mod dat;
pub mod data;
pub mod devnet;
pub mod explorer;
pub mod genesis;
pub mod keys;
pub mod kit;
pub mod model;
pub mod node;
pub mod optimistic;
pub mod status;
pub mod worker;
pub mod zk;

pub use kit::signal::shutdown_signal;
