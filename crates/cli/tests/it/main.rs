//! End-to-end tests of the `lazai` binary as separate processes: SIGKILL and restart, a
//! validator started from key, genesis and config files made by the CLI itself, a cluster
//! of validator processes that loses and regains a member, and `lazai dat` (DataAnchoringToken
//! classes, tokens, usage and revenue) against a devnet.

mod alith;
mod cluster;
mod contribute;
mod dat;
#[cfg(unix)]
mod devnet;
#[cfg(unix)]
mod explorer;
#[cfg(unix)]
mod explorer_browser;
mod flow;
mod hardhat;
#[path = "../../../node/tests/it/lazai_abi.rs"]
mod lazai_abi;
mod optimistic;
mod process;
mod resubmit;
mod sdk_journey;
mod services;
mod tee;
