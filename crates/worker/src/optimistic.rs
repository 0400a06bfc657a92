//! Optimistic results off chain: the worker posts and defends ([`post`]), challengers watch
//! and dispute ([`watch`]), and the input travels sealed to the challengers ([`input`]). The
//! game itself is the Verifier module's (lazai-ledger, `verifier::optimistic`).

pub mod input;
pub mod post;
pub mod watch;

pub use input::{challenger_secret, open_input, seal_input};
pub use post::{OptimisticServe, OptimisticTask, Poster};
pub use watch::{WatchStats, Watcher, one_step_evidence};
