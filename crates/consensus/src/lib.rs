//! Binds the LazChain ledger to commonware Simplex consensus with marshal.

mod executor;

pub use executor::Executor;
