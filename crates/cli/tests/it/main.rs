//! End-to-end tests of the `lazai` binary as separate processes: SIGKILL and restart, a
//! validator started from key, genesis and config files made by the CLI itself, and a cluster
//! of validator processes that loses and regains a member.

mod cluster;
mod process;
