//! [`Clock`]: the one place lticontainer reads the time — the launch verifier, the spawner, the
//! hub's sessions and records — so tests can set it.

use std::fmt::Debug;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// A source of the current time.
pub trait Clock: Send + Sync + Debug + 'static {
    /// The current Unix time in whole seconds.
    fn now_unix(&self) -> i64;

    /// The current time as a [`SystemTime`] (for records that keep sub-second precision).
    /// By default the whole seconds of [`Clock::now_unix`]; a time before 1970 reads as 1970.
    fn now(&self) -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(u64::try_from(self.now_unix()).unwrap_or(0))
    }

    /// [`Clock::now_unix`] as unsigned seconds (a time before 1970 reads as 0), for session
    /// expiry and other counters that cannot be negative.
    fn now_secs(&self) -> u64 {
        u64::try_from(self.now_unix()).unwrap_or(0)
    }
}

/// The system's wall clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> SystemTime {
        SystemTime::now()
    }

    fn now_unix(&self) -> i64 {
        match SystemTime::now().duration_since(UNIX_EPOCH) {
            Ok(d) => i64::try_from(d.as_secs()).unwrap_or(i64::MAX),
            // A clock before 1970 is broken; negative seconds keep the arithmetic honest.
            Err(e) => i64::try_from(e.duration().as_secs()).map_or(i64::MIN, |s| -s),
        }
    }
}

/// A clock that stays where it is set: for tests, and for replaying recorded launches.
///
/// # Example
/// ```
/// use lticontainer_core::clock::{Clock, ManualClock};
/// let clock = ManualClock::new(1_700_000_000);
/// clock.advance(30);
/// assert_eq!(clock.now_unix(), 1_700_000_030);
/// ```
#[derive(Debug, Default)]
pub struct ManualClock(AtomicI64);

impl ManualClock {
    /// A clock that reads `now` (Unix seconds).
    pub fn new(now: i64) -> Self {
        Self(AtomicI64::new(now))
    }

    /// Sets the time to `now`.
    pub fn set(&self, now: i64) {
        self.0.store(now, Ordering::SeqCst);
    }

    /// Moves the time by `secs` (negative goes back).
    pub fn advance(&self, secs: i64) {
        self.0.fetch_add(secs, Ordering::SeqCst);
    }
}

impl Clock for ManualClock {
    fn now_unix(&self) -> i64 {
        self.0.load(Ordering::SeqCst)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn system_clock_is_after_2020() {
        assert!(SystemClock.now_unix() > 1_577_836_800);
        assert_eq!(
            SystemClock
                .now()
                .duration_since(UNIX_EPOCH)
                .map(|d| d.as_secs() / 10)
                .ok(),
            u64::try_from(SystemClock.now_unix() / 10).ok()
        );
    }

    #[test]
    fn a_manual_clock_gives_every_form_of_now() {
        let c = ManualClock::new(1_700_000_000);
        assert_eq!(c.now_secs(), 1_700_000_000);
        assert_eq!(c.now(), UNIX_EPOCH + Duration::from_secs(1_700_000_000));
        c.set(-5);
        assert_eq!(c.now_secs(), 0);
        assert_eq!(c.now(), UNIX_EPOCH);
    }
}
