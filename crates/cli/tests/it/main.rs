//! End-to-end tests of the `lazai` binary as separate processes: SIGKILL and restart, and a
//! validator started from key, genesis and config files made by the CLI itself.

mod process;
