//! `Watchers`: how many live dashboards are open, per teacher and in all, so that a teacher
//! reloading in a loop, or many tabs, cannot hold an unbounded number of streams.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

/// The most dashboards one teacher may have open at once.
pub const MAX_PER_TEACHER: usize = 4;

/// The most dashboards open at once on the hub.
pub const MAX_TOTAL: usize = 256;

/// The open dashboards, counted per teacher.
#[derive(Debug, Default)]
pub(crate) struct Watchers {
    open: Arc<Mutex<HashMap<String, usize>>>,
}

/// One open dashboard's place; dropping it frees the place.
#[derive(Debug)]
pub struct WatchPermit {
    open: Arc<Mutex<HashMap<String, usize>>>,
    teacher: String,
}

impl Watchers {
    /// A place for one more dashboard of `teacher`, or `None` when they have
    /// [`MAX_PER_TEACHER`] open or the hub [`MAX_TOTAL`].
    pub(crate) fn enter(&self, teacher: &str) -> Option<WatchPermit> {
        let mut open = self.open.lock().unwrap_or_else(PoisonError::into_inner);
        let total: usize = open.values().sum();
        let mine = open.get(teacher).copied().unwrap_or(0);
        if mine >= MAX_PER_TEACHER || total >= MAX_TOTAL {
            return None;
        }
        open.insert(teacher.to_owned(), mine + 1);
        Some(WatchPermit {
            open: Arc::clone(&self.open),
            teacher: teacher.to_owned(),
        })
    }
}

impl Drop for WatchPermit {
    fn drop(&mut self) {
        let mut open = self.open.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(n) = open.get_mut(&self.teacher) {
            *n -= 1;
            if *n == 0 {
                open.remove(&self.teacher);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn places_are_bounded_per_teacher_and_in_all_and_freed_on_drop() {
        let w = Watchers::default();
        let mine: Vec<_> = (0..MAX_PER_TEACHER).filter_map(|_| w.enter("t")).collect();
        assert_eq!(mine.len(), MAX_PER_TEACHER);
        assert!(w.enter("t").is_none());
        drop(mine);
        assert!(w.enter("t").is_some(), "freed");
        let all: Vec<_> = (0..MAX_TOTAL)
            .filter_map(|i| w.enter(&format!("t{}", i % 100)))
            .collect();
        assert_eq!(all.len(), MAX_TOTAL);
        assert!(w.enter("another").is_none());
        drop(all);
        assert!(
            w.open
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .is_empty()
        );
    }
}
