//! Ledger integration tests: signed transactions through `Ledger::apply` and blocks.

mod conservation;
mod dat;
mod evm;
mod modules;
mod optimistic;
mod receiver;
mod registry;
mod services;
mod staking;
mod support;
mod tee;
mod transfers;
mod verifier;
mod vsc;
