//! The store's clock, injected: the stores read the time only from a [`Clock`], so that tests can
//! set it and move it on ([`ManualClock`]) instead of waiting for the system's.

use std::{
    fmt::Debug,
    sync::{
        Arc,
        atomic::{AtomicI64, Ordering},
    },
};

/// Where a store reads the current time.
pub trait Clock: Send + Sync + Debug {
    /// Now, in unix milliseconds.
    fn now_ms(&self) -> i64;

    /// Now, in unix seconds (rounded down).
    fn now_secs(&self) -> i64 {
        self.now_ms().div_euclid(1000)
    }
}

/// A clock a store holds, shared with whoever set it up.
pub type SharedClock = Arc<dyn Clock>;

/// The system's wall clock (what the verifier runs on).
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl SystemClock {
    /// The system clock, shared.
    pub fn shared() -> SharedClock {
        Arc::new(SystemClock)
    }
}

impl Clock for SystemClock {
    fn now_ms(&self) -> i64 {
        i64::try_from(time::OffsetDateTime::now_utc().unix_timestamp_nanos() / 1_000_000).unwrap_or(i64::MAX)
    }
}

/// A clock that only moves when told: tests set it and advance it.
#[derive(Debug, Default)]
pub struct ManualClock {
    ms: AtomicI64,
}

impl ManualClock {
    /// A clock standing at `ms` (unix milliseconds).
    pub fn at_ms(ms: i64) -> Arc<ManualClock> {
        Arc::new(ManualClock { ms: AtomicI64::new(ms) })
    }

    /// A clock standing at the system's time now.
    pub fn from_system() -> Arc<ManualClock> {
        ManualClock::at_ms(SystemClock.now_ms())
    }

    /// Sets the time to `ms` (unix milliseconds).
    pub fn set_ms(&self, ms: i64) {
        self.ms.store(ms, Ordering::SeqCst);
    }

    /// Moves the time on by `by`.
    pub fn advance(&self, by: std::time::Duration) {
        let by = i64::try_from(by.as_millis()).unwrap_or(i64::MAX);
        self.ms.fetch_add(by, Ordering::SeqCst);
    }
}

impl Clock for ManualClock {
    fn now_ms(&self) -> i64 {
        self.ms.load(Ordering::SeqCst)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_manual_clock_moves_only_when_told() {
        let clock = ManualClock::at_ms(1_700_000_000_500);
        assert_eq!(clock.now_ms(), 1_700_000_000_500);
        assert_eq!(clock.now_secs(), 1_700_000_000);
        clock.advance(std::time::Duration::from_millis(600));
        assert_eq!(clock.now_ms(), 1_700_000_001_100);
        assert_eq!(clock.now_secs(), 1_700_000_001);
        clock.set_ms(-1);
        assert_eq!(clock.now_secs(), -1, "seconds round down, before 1970 too");
    }

    #[test]
    fn the_system_clock_is_past_2024() {
        // 2024-01-01T00:00:00Z.
        assert!(SystemClock.now_ms() > 1_704_067_200_000);
    }
}
