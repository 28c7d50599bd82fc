//! Port allocation for host networking: one port per user server, from a configured range.
//!
//! A port is handed out only when no recorded server uses it, no spawn in flight holds it, no
//! TCP socket on the host has it as its local port (listening, connected or in `TIME_WAIT`:
//! `/proc/net/tcp{,6}`), and a bind test on `127.0.0.1` succeeds.
//!
//! With host networking every student's kernel binds its five ZMQ ports, and every outgoing
//! connection its source port, from the kernel's ephemeral range
//! (`/proc/sys/net/ipv4/ip_local_port_range`, 32768–60999 by default). A server port inside
//! that range can be taken between the check and the server's own bind; so the default range
//! lies below it, and [`ephemeral_overlap`] says at start-up when a configured range overlaps
//! the ephemeral ports the kernel has not reserved (`ip_local_reserved_ports`).

use std::collections::BTreeSet;
use std::net::{Ipv4Addr, TcpListener};
use std::ops::RangeInclusive;
use std::path::Path;
use std::sync::{Mutex, PoisonError};

use crate::listener_owner::local_tcp_ports;

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
        let (start, end) = (*self.range.start(), *self.range.end());
        if start > end {
            return None;
        }
        // Ports any socket on the host holds; when /proc cannot be read the bind test alone
        // decides. Read before taking the lock, so concurrent spawns do not queue behind it.
        let busy = local_tcp_ports(Path::new("/proc")).unwrap_or_default();
        let mut inner = self.inner.lock().unwrap_or_else(PoisonError::into_inner);
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
            if used.contains(&port)
                || inner.held.contains(&port)
                || busy.contains(&port)
                || !is_free(port)
            {
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

/// How a configured port range meets the kernel's ephemeral ports, read from `proc` (the
/// `/proc` of the host): `None` when no port of the range can be handed out by the kernel,
/// else a sentence for the admin naming the overlap and the two ways out.
pub(crate) fn ephemeral_overlap(range: &RangeInclusive<u16>, proc: &Path) -> Option<String> {
    let read = |name: &str| std::fs::read_to_string(proc.join("sys/net/ipv4").join(name)).ok();
    let ephemeral = parse_port_range(&read("ip_local_port_range")?)?;
    let reserved = read("ip_local_reserved_ports")
        .map(|s| parse_port_list(&s))
        .unwrap_or_default();
    let exposed: Vec<u16> = range
        .clone()
        .filter(|p| ephemeral.contains(p) && !reserved.iter().any(|r| r.contains(p)))
        .collect();
    let (first, last) = (exposed.first()?, exposed.last()?);
    Some(format!(
        "hub.port_min..=hub.port_max ({}..={}) overlaps the kernel's ephemeral ports ({}-{}) in \
         {} ports ({first}..={last}) that are not reserved: with host networking, students' kernels \
         and outgoing connections take ports from there, and a server whose port was taken fails \
         to start (the hub then retries once on another port). Move the range below {}, or \
         reserve it: sysctl -w net.ipv4.ip_local_reserved_ports={}-{}",
        range.start(),
        range.end(),
        ephemeral.start(),
        ephemeral.end(),
        exposed.len(),
        ephemeral.start(),
        range.start(),
        range.end(),
    ))
}

/// `ip_local_port_range`: two numbers.
fn parse_port_range(text: &str) -> Option<RangeInclusive<u16>> {
    let mut it = text.split_whitespace().map(str::parse::<u16>);
    Some(it.next()?.ok()?..=it.next()?.ok()?)
}

/// `ip_local_reserved_ports`: `a,b-c,…` (empty for none).
fn parse_port_list(text: &str) -> Vec<RangeInclusive<u16>> {
    text.trim()
        .split(',')
        .filter_map(|item| {
            let item = item.trim();
            match item.split_once('-') {
                Some((a, b)) => Some(a.parse().ok()?..=b.parse().ok()?),
                None => {
                    let p = item.parse().ok()?;
                    Some(p..=p)
                }
            }
        })
        .collect()
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

    fn fake_proc(range: &str, reserved: &str) -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        let ipv4 = dir.path().join("sys/net/ipv4");
        std::fs::create_dir_all(&ipv4).unwrap();
        std::fs::write(ipv4.join("ip_local_port_range"), range).unwrap();
        std::fs::write(ipv4.join("ip_local_reserved_ports"), reserved).unwrap();
        dir
    }

    #[test]
    fn a_range_inside_the_unreserved_ephemeral_ports_is_named() {
        let proc = fake_proc("32768\t60999\n", "\n");
        let said = ephemeral_overlap(&(40000..=40999), proc.path()).unwrap();
        assert!(said.contains("1000 ports (40000..=40999)"), "{said}");
        assert!(
            said.contains("ip_local_reserved_ports=40000-40999"),
            "{said}"
        );
        assert_eq!(ephemeral_overlap(&(20000..=20999), proc.path()), None);
        let partly = ephemeral_overlap(&(32000..=32999), proc.path()).unwrap();
        assert!(partly.contains("232 ports (32768..=32999)"), "{partly}");
    }

    #[test]
    fn reserved_ports_do_not_count() {
        let proc = fake_proc("32768 60999", "40000-40499,40500-40998,40999\n");
        assert_eq!(ephemeral_overlap(&(40000..=40999), proc.path()), None);
        let proc = fake_proc("32768 60999", "40000-40499");
        assert!(
            ephemeral_overlap(&(40000..=40999), proc.path())
                .unwrap()
                .contains("500 ports (40500..=40999)")
        );
    }

    #[test]
    fn a_port_any_socket_holds_is_skipped() {
        // A connected socket (not a listener) whose local port is in the range: the bind test
        // with SO_REUSEADDR may pass, but a server there could still fail to start.
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).unwrap();
        let client = std::net::TcpStream::connect(listener.local_addr().unwrap()).unwrap();
        let (_server_side, _) = listener.accept().unwrap();
        let local = client.local_addr().unwrap().port();
        let a = PortAllocator::new(local..=local);
        assert_eq!(
            a.allocate(&BTreeSet::new()),
            None,
            "port {local} is a client's"
        );
    }
}
