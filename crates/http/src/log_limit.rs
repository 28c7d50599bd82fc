//! [`LogLimit`]: at most so many log lines of one kind per time window, so a flood of bad
//! requests (anyone can send a launch) cannot fill the admin's disk. What was left out is
//! counted and said in the next line that is written.

use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

/// Whether an event may be logged now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Admit {
    /// Log it; `suppressed` events of this kind were left out since the last line.
    Log {
        /// How many were left out before this one.
        suppressed: u64,
    },
    /// Leave it out (it is counted).
    Skip,
}

/// A budget of `max` log lines per `window`.
#[derive(Debug)]
pub(crate) struct LogLimit {
    max: u32,
    window: Duration,
    state: Mutex<Option<Window>>,
}

#[derive(Debug)]
struct Window {
    started: Instant,
    logged: u32,
    suppressed: u64,
}

impl LogLimit {
    /// At most `max` lines per `window`.
    pub(crate) const fn new(max: u32, window: Duration) -> Self {
        Self {
            max,
            window,
            state: Mutex::new(None),
        }
    }

    /// Whether the event happening `now` may be logged.
    pub(crate) fn admit_at(&self, now: Instant) -> Admit {
        let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        let w = state.get_or_insert(Window {
            started: now,
            logged: 0,
            suppressed: 0,
        });
        if now.saturating_duration_since(w.started) >= self.window {
            w.started = now;
            w.logged = 0;
        }
        if w.logged < self.max {
            w.logged += 1;
            let suppressed = std::mem::take(&mut w.suppressed);
            Admit::Log { suppressed }
        } else {
            w.suppressed += 1;
            Admit::Skip
        }
    }

    /// Whether an event happening now may be logged.
    pub(crate) fn admit(&self) -> Admit {
        self.admit_at(Instant::now())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_flood_is_cut_to_the_budget_and_counted() {
        let limit = LogLimit::new(3, Duration::from_secs(10));
        let t0 = Instant::now();
        let admitted: Vec<Admit> = (0..1000).map(|_| limit.admit_at(t0)).collect();
        let logged = admitted.iter().filter(|a| **a != Admit::Skip).count();
        assert_eq!(logged, 3);
        // The next window's first line says how many were left out.
        assert_eq!(
            limit.admit_at(t0 + Duration::from_secs(10)),
            Admit::Log { suppressed: 997 }
        );
        assert_eq!(
            limit.admit_at(t0 + Duration::from_secs(10)),
            Admit::Log { suppressed: 0 }
        );
    }
}
