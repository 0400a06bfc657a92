//! Controls a development network offers and no real network has: blocks on demand and a
//! movable clock. One [`DevControls`] is shared by a devnet's in-process validators (which read
//! it when they propose and verify blocks) and its JSON-RPC server (`evm_mine`,
//! `evm_increaseTime`, `evm_setNextBlockTimestamp`). Moving the clock moves every validator's
//! view of "now" at once, so blocks stamped in the moved time verify everywhere.

use std::sync::Arc;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, Ordering};

/// A devnet's controls (cheap to clone; clones share them).
#[derive(Clone, Debug, Default)]
pub struct DevControls(Arc<Inner>);

/// Two handles are equal when they share the same controls.
impl PartialEq for DevControls {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
    }
}

impl Eq for DevControls {}

#[derive(Debug, Default)]
struct Inner {
    /// Blocks are made only when a transaction waits or a block is asked for.
    on_demand: AtomicBool,
    /// Blocks asked for and not yet proposed.
    requested: AtomicU64,
    /// Added to the wall clock, in milliseconds.
    offset_ms: AtomicI64,
    /// The exact timestamp of the next block, when set.
    next_timestamp_ms: Mutex<Option<u64>>,
}

impl DevControls {
    /// Controls for a devnet; `on_demand` makes blocks only when needed (`--block-time 0`).
    pub fn new(on_demand: bool) -> Self {
        let controls = Self::default();
        controls.0.on_demand.store(on_demand, Ordering::Relaxed);
        controls
    }

    /// Whether blocks are made on demand.
    pub fn on_demand(&self) -> bool {
        self.0.on_demand.load(Ordering::Relaxed)
    }

    /// Asks for one block (on demand: it is made even without transactions).
    pub fn request_block(&self) {
        self.0.requested.fetch_add(1, Ordering::Relaxed);
    }

    /// Takes one block request, if any is waiting.
    pub fn take_block_request(&self) -> bool {
        self.0
            .requested
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |n| n.checked_sub(1))
            .is_ok()
    }

    /// The devnet's "now" for a wall-clock reading.
    pub fn now_ms(&self, clock_ms: u64) -> u64 {
        let offset = self.0.offset_ms.load(Ordering::Relaxed);
        clock_ms.saturating_add_signed(offset)
    }

    /// Moves the clock forward by `seconds`; returns the whole offset from the wall clock, in
    /// seconds.
    pub fn increase_time(&self, seconds: u64) -> i64 {
        let ms = i64::try_from(seconds.saturating_mul(1000)).unwrap_or(i64::MAX);
        let total = self
            .0
            .offset_ms
            .fetch_add(ms, Ordering::Relaxed)
            .saturating_add(ms);
        total / 1000
    }

    /// Makes the next block's timestamp exactly `timestamp_ms` (the caller checked that it is
    /// after the latest block's).
    pub fn set_next_timestamp(&self, timestamp_ms: u64) {
        *self.lock() = Some(timestamp_ms);
    }

    /// The timestamp a block proposed now on a parent stamped `parent_ms` carries: the pending
    /// exact timestamp if one was set (the clock then continues from it), else the devnet's now;
    /// always after the parent's.
    pub fn block_timestamp(&self, clock_ms: u64, parent_ms: u64) -> u64 {
        if let Some(next) = self.lock().take() {
            let offset = i64::try_from(i128::from(next) - i128::from(clock_ms)).unwrap_or(0);
            self.0.offset_ms.store(offset, Ordering::Relaxed);
            return next.max(parent_ms.saturating_add(1));
        }
        self.now_ms(clock_ms).max(parent_ms.saturating_add(1))
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Option<u64>> {
        // The guarded value is a plain Option: a panicked holder cannot leave it half-written.
        self.0
            .next_timestamp_ms
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_are_taken_once_each() {
        let c = DevControls::new(true);
        assert!(!c.take_block_request());
        c.request_block();
        c.request_block();
        assert!(c.take_block_request());
        assert!(c.take_block_request());
        assert!(!c.take_block_request());
    }

    #[test]
    fn the_clock_moves_for_every_clone() {
        let c = DevControls::new(false);
        let other = c.clone();
        assert_eq!(c.increase_time(60), 60);
        assert_eq!(other.now_ms(1_000), 61_000);
        assert_eq!(other.block_timestamp(1_000, 0), 61_000);
        // A block never goes back in time.
        assert_eq!(other.block_timestamp(1_000, 70_000), 70_001);
    }

    #[test]
    fn an_exact_timestamp_is_used_once_and_the_clock_follows_it() {
        let c = DevControls::new(false);
        c.set_next_timestamp(5_000_000);
        assert_eq!(c.block_timestamp(1_000, 0), 5_000_000);
        assert_eq!(c.block_timestamp(1_500, 5_000_000), 5_000_500);
        // Setting one in the past of the moved clock moves it back.
        c.set_next_timestamp(5_000_100);
        assert_eq!(c.block_timestamp(2_000, 0), 5_000_100);
        assert_eq!(c.now_ms(2_000), 5_000_100);
    }
}
