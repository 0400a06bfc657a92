//! The kit every command shares, apart from the commands themselves: arguments ([`args`]),
//! numbers, units and dates as people type them ([`units`]), printing ([`output`]) and
//! reaching the node ([`client`]) and the signals that stop a long-running command
//! ([`signal`]).

pub mod args;
pub mod client;
pub mod output;
pub mod signal;
pub mod units;
