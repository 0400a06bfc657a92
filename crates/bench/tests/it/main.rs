//! Benchmarks in tiny configurations, through the library.

mod dat;
