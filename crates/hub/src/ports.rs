//! Port allocation for host networking: one port per user server, from a configured range.
//!
//! A port is handed out only when no recorded server uses it, no spawn in flight holds it, and a
//! bind test on `127.0.0.1` shows nothing else listens there.

use std::collections::BTreeSet;
use std::net::{Ipv4Addr, TcpListener};
use std::ops::RangeInclusive;
use std::sync::{Mutex, PoisonError};

/// Hands out free ports from a range.
#[derive(Debug)]
pub(crate) struct PortAllocator {
    range: RangeInclusive<u16>,
    inner: Mutex<Inner>,
}

#[derive(Debug)]
struct Inner {
    held: BTreeSet<u16>,
    next: u16,
}

impl PortAllocator {
    /// An allocator for the ports in `range` (both ends included).
    pub(crate) fn new(range: RangeInclusive<u16>) -> Self {
        let next = *range.start();
        Self {
            range,
            inner: Mutex::new(Inner {
                held: BTreeSet::new(),
                next,
            }),
        }
    }

    /// A free port, held until [`PortAllocator::release`]; `None` when the range is exhausted.
    ///
    /// `used` is the set of ports the store records for existing servers.
    pub(crate) fn allocate(&self, used: &BTreeSet<u16>) -> Option<u16> {
        let mut inner = self.inner.lock().unwrap_or_else(PoisonError::into_inner);
        let (start, end) = (*self.range.start(), *self.range.end());
        if start > end {
            return None;
        }
        let len = u32::from(end - start) + 1;
        let first = if self.range.contains(&inner.next) {
            inner.next
        } else {
            start
        };
        for i in 0..len {
            let offset = (u32::from(first - start) + i) % len;
            // `offset < len <= 65536` and `start + offset <= end`, so this fits in u16.
            let port = start + u16::try_from(offset).ok()?;
            if used.contains(&port) || inner.held.contains(&port) || !is_free(port) {
                continue;
            }
            inner.held.insert(port);
            inner.next = if port == end { start } else { port + 1 };
            return Some(port);
        }
        None
    }

    /// Marks `port` as held (a re-adopted server's port).
    pub(crate) fn hold(&self, port: u16) {
        self.inner
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .held
            .insert(port);
    }

    /// Gives `port` back.
    pub(crate) fn release(&self, port: u16) {
        self.inner
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .held
            .remove(&port);
    }
}

/// True when nothing listens on `127.0.0.1:port`.
fn is_free(port: u16) -> bool {
    TcpListener::bind((Ipv4Addr::LOCALHOST, port)).is_ok()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    /// A block of `n` ports that is free right now. Each test passes its own `lane`, so tests
    /// running side by side in this process never pick the same block.
    fn free_range(n: u16, lane: u16) -> RangeInclusive<u16> {
        let mut base = 47000 + lane * 2000 + u16::try_from(std::process::id() % 100).unwrap() * 10;
        while base < 47000 + (lane + 1) * 2000 + 1000 {
            if (base..base + n).all(is_free) {
                return base..=base + n - 1;
            }
            base += n;
        }
        panic!("no free port block");
    }

    #[test]
    fn ports_do_not_collide() {
        let range = free_range(3, 0);
        let a = PortAllocator::new(range.clone());
        let ports: BTreeSet<u16> = (0..3)
            .filter_map(|_| a.allocate(&BTreeSet::new()))
            .collect();
        assert_eq!(ports.len(), 3);
        assert_eq!(a.allocate(&BTreeSet::new()), None, "range exhausted");
        a.release(*range.start());
        assert_eq!(a.allocate(&BTreeSet::new()), Some(*range.start()));
    }

    #[test]
    fn stored_ports_are_skipped() {
        let range = free_range(2, 1);
        let a = PortAllocator::new(range.clone());
        let used = BTreeSet::from([*range.start()]);
        assert_eq!(a.allocate(&used), Some(*range.end()));
        assert_eq!(a.allocate(&used), None);
    }

    #[test]
    fn ports_in_use_by_others_are_skipped() {
        let range = free_range(2, 2);
        let _listener = TcpListener::bind((Ipv4Addr::LOCALHOST, *range.start())).unwrap();
        let a = PortAllocator::new(range.clone());
        assert_eq!(a.allocate(&BTreeSet::new()), Some(*range.end()));
    }

    #[test]
    fn empty_range_gives_nothing() {
        #[allow(clippy::reversed_empty_ranges)]
        let a = PortAllocator::new(10..=9);
        assert_eq!(a.allocate(&BTreeSet::new()), None);
    }
}
