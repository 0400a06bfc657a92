//! Ledger integration tests: signed transactions through `Ledger::apply` and blocks.

mod support;
mod transfers;
mod modules;
mod conservation;
