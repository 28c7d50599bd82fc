//! Who holds a TCP listener: the check that what answers at a server's address is the container
//! the hub started.
//!
//! With host networking (the default) a user's server listens on `127.0.0.1:<port>` in the
//! host's network namespace, which every other container on the host network shares. When a
//! server stops, its port is free for anyone: another student's code may bind it and would then
//! receive the browser's requests meant for the stopped server — with that student's hub-origin
//! cookies (`jupyterhub-user-<name>`, `_xsrf`) — and could serve a page that runs on the hub's
//! origin. An HTTP answer therefore proves nothing about *who* answers. Before the spawner
//! trusts an answer (readiness, the running-server check at a launch, the re-check after the
//! engine's event stream resubscribes), it asks [`ListenerOwnership::check`] who holds the
//! listening socket that would take the connection, and accepts only the container's own
//! processes.
//!
//! [`ProcListeners`] answers from `/proc` on the host, which needs the hub to run as root in the
//! host's PID and network namespaces (as it does; it also creates home directories as root):
//!
//! 1. `/proc/net/tcp` and `/proc/net/tcp6` list the sockets of the hub's network namespace —
//!    the host's, the one host-network containers use. The listening (`0A`) sockets on the port
//!    that would accept a connection to the address are its *receivers*: those bound to the
//!    address itself (or its IPv4-mapped IPv6 form) when there is one, as the kernel prefers
//!    them, else those bound to the wildcard (`0.0.0.0`, `::`).
//! 2. The processes holding each receiver's inode are found by scanning `/proc/<pid>/fd/*` for
//!    links to `socket:[<inode>]`.
//! 3. Each holder's `/proc/<pid>/cgroup` must name the container. Docker puts a container in
//!    `docker-<id>.scope` (systemd driver) or `/docker/<id>` (cgroupfs); Podman in
//!    `libpod-<id>.scope` (systemd), `libpod-<id>` under `libpod_parent` (cgroupfs, as on the
//!    test machine, cgroup v1) or `libpod-payload-<id>` (split cgroups). Podman's monitor lives
//!    in `libpod-conmon-<id>.scope` or `libpod_parent/conmon`: *not* the container. Only the
//!    first container-like component of a path counts, so a process of container A in a child
//!    cgroup named after container B (`/docker/<A>/<B>`) is still A's.
//!
//! Every receiver must be held by the container's processes only. A listener held by anyone
//! else is [`ListenerCheck::Foreign`], with the pids for the admin's log.
//!
//! The full check scans every process's descriptors, too slow for every proxied connection. It
//! returns the receivers it vouched for ([`Sockets`], socket inodes); [`ListenerOwnership::sockets`]
//! reads only `/proc/net/tcp{,6}` and tells whether the same sockets still listen there. A socket
//! keeps its inode for its whole life and a new socket gets a new one, so "the same receivers as
//! vouched for" means "still the container's listener"; anything else needs the full check again.
//!
//! With a bridge or user-defined network the check is not needed and not made: the address is
//! the container's own IP in its own network namespace ([`ContainerInfo::address`]), where no
//! process outside the container can listen. [`needs_check`] tells the two apart by the
//! address: a loopback address is reached in the hub's own namespace, i.e. host networking.
//!
//! [`AssumeContainer`] answers [`ListenerCheck::Container`] without looking; it is for engines
//! whose "containers" are not processes (the in-memory fakes of the tests, whose servers run
//! as tasks inside the test process). Never use it with Docker or Podman.
//!
//! [`ContainerInfo::address`]: lticontainer_core::container::ContainerInfo::address

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::path::{Path, PathBuf};

/// What holds the listener that would take a connection to a server's address.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ListenerCheck {
    /// Every receiving listener is held by processes of the container, and only by them; these
    /// are the receivers.
    Container(Sockets),
    /// Nothing listens at the address.
    NoListener,
    /// Processes outside the container hold a receiving listener.
    Foreign(Vec<Holder>),
    /// A receiving listener exists but no process holding it can be seen (the hub does not see
    /// the host's processes, or the holder just exited).
    Unseen,
    /// The check could not be made (e.g. `/proc/net/tcp` cannot be read).
    Unknown(String),
}

impl ListenerCheck {
    /// True when the listener is the container's.
    pub fn is_container(&self) -> bool {
        matches!(self, Self::Container(_))
    }
}

/// The listening sockets (by inode) that would take a connection to an address.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Sockets(BTreeSet<u64>);

impl Sockets {
    /// The sockets with these inodes.
    pub fn new(inodes: impl IntoIterator<Item = u64>) -> Self {
        Self(inodes.into_iter().collect())
    }

    /// True when nothing listens.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Display for ListenerCheck {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Container(_) => f.write_str("the container's own process listens"),
            Self::NoListener => f.write_str("nothing listens"),
            Self::Foreign(holders) => {
                f.write_str("a process outside the container holds the port: ")?;
                for (i, h) in holders.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{h}")?;
                }
                Ok(())
            }
            Self::Unseen => f.write_str(
                "a socket listens but no process holding it is visible (is the hub in the host's PID namespace, as root?)",
            ),
            Self::Unknown(why) => write!(f, "cannot tell who listens: {why}"),
        }
    }
}

/// A process that holds a listening socket.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Holder {
    /// Its pid (in the hub's PID namespace).
    pub pid: u32,
    /// Its command name (`/proc/<pid>/comm`), when readable.
    pub comm: String,
    /// The container its cgroup names, if any.
    pub container: Option<String>,
}

impl fmt::Display for Holder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "pid {} ({})", self.pid, self.comm)?;
        match &self.container {
            Some(c) => write!(f, " in container {}", short(c)),
            None => f.write_str(" on the host"),
        }
    }
}

fn short(id: &str) -> &str {
    id.get(..12).unwrap_or(id)
}

/// Tells whether the listener at a server's address belongs to the server's container.
///
/// Implementations block (they read files); the spawner calls them on the blocking pool.
pub trait ListenerOwnership: Send + Sync + fmt::Debug + 'static {
    /// Who holds the listener that would take a connection to `addr`, compared with container
    /// `container_id` (the engine's full id).
    fn check(&self, addr: SocketAddr, container_id: &str) -> ListenerCheck;

    /// The sockets that would take a connection to `addr` now, without finding their holders:
    /// equal to the [`ListenerCheck::Container`] sockets of an earlier check means the same
    /// listener still answers there.
    ///
    /// # Errors
    /// Why the socket tables cannot be read.
    fn sockets(&self, addr: SocketAddr) -> Result<Sockets, String>;
}

/// True when a server at `addr` shares the hub's network namespace (host networking), so
/// another process could listen there and [`ListenerOwnership::check`] must vouch for it. A
/// bridge or user-network address is the container's own and needs no check.
pub fn needs_check(addr: SocketAddr) -> bool {
    addr.ip().is_loopback()
}

/// [`ListenerOwnership`] from the host's `/proc` (see the module docs). The hub must run as
/// root in the host's PID namespace.
#[derive(Debug, Clone)]
pub struct ProcListeners {
    root: PathBuf,
}

impl Default for ProcListeners {
    fn default() -> Self {
        Self::new("/proc")
    }
}

impl ProcListeners {
    /// Reads the process table mounted at `root` (normally `/proc`; a fixture tree in tests).
    pub fn new(root: impl Into<PathBuf>) -> Self {
        Self { root: root.into() }
    }

    /// The listening sockets of the network namespace, IPv4 and IPv6.
    fn listening(&self) -> io::Result<Vec<Listening>> {
        let mut sockets = parse_proc_net_tcp(&read_or_empty(&self.root.join("net/tcp"))?, false);
        sockets.extend(parse_proc_net_tcp(
            &read_or_empty(&self.root.join("net/tcp6"))?,
            true,
        ));
        Ok(sockets)
    }

    fn check_inner(&self, addr: SocketAddr, container_id: &str) -> io::Result<ListenerCheck> {
        let receivers = receivers(&self.listening()?, addr);
        if receivers.is_empty() {
            return Ok(ListenerCheck::NoListener);
        }
        let holders = socket_holders(&self.root, &receivers)?;
        let mut foreign = Vec::new();
        let mut unseen = false;
        for inode in &receivers {
            let mut ours = 0;
            let mut theirs = 0;
            for pid in holders.get(inode).into_iter().flatten() {
                let cgroup = std::fs::read_to_string(self.root.join(format!("{pid}/cgroup")));
                let Ok(cgroup) = cgroup else {
                    // The process exited since its fds were read: it holds nothing now.
                    continue;
                };
                let containers = cgroup_containers(&cgroup);
                if containers.len() == 1 && containers.contains(container_id) {
                    ours += 1;
                    continue;
                }
                theirs += 1;
                let comm = std::fs::read_to_string(self.root.join(format!("{pid}/comm")))
                    .map(|c| c.trim().to_owned())
                    .unwrap_or_else(|_| "?".to_owned());
                foreign.push(Holder {
                    pid: *pid,
                    comm,
                    container: containers.into_iter().find(|c| c != container_id),
                });
            }
            // A receiver is vouched for only by a holder seen in the container.
            unseen |= ours == 0 && theirs == 0;
        }
        Ok(if !foreign.is_empty() {
            ListenerCheck::Foreign(foreign)
        } else if unseen {
            ListenerCheck::Unseen
        } else {
            ListenerCheck::Container(Sockets(receivers))
        })
    }
}

impl ListenerOwnership for ProcListeners {
    fn check(&self, addr: SocketAddr, container_id: &str) -> ListenerCheck {
        self.check_inner(addr, container_id)
            .unwrap_or_else(|e| ListenerCheck::Unknown(format!("{}: {e}", self.root.display())))
    }

    fn sockets(&self, addr: SocketAddr) -> Result<Sockets, String> {
        self.listening()
            .map(|all| Sockets(receivers(&all, addr)))
            .map_err(|e| format!("{}: {e}", self.root.display()))
    }
}

/// [`ListenerOwnership`] that trusts every listener: only for engines whose "containers" are
/// not processes (the in-memory test fakes). Never use it with Docker or Podman.
#[derive(Debug, Clone, Copy, Default)]
pub struct AssumeContainer;

impl ListenerOwnership for AssumeContainer {
    fn check(&self, _addr: SocketAddr, _container_id: &str) -> ListenerCheck {
        ListenerCheck::Container(Sockets::default())
    }

    fn sockets(&self, _addr: SocketAddr) -> Result<Sockets, String> {
        Ok(Sockets::default())
    }
}

/// A file's text; a missing file (no IPv6 in the kernel) reads as empty.
fn read_or_empty(path: &Path) -> io::Result<String> {
    match std::fs::read_to_string(path) {
        Ok(s) => Ok(s),
        Err(e) if e.kind() == io::ErrorKind::NotFound && path.ends_with("tcp6") => {
            Ok(String::new())
        }
        Err(e) => Err(e),
    }
}

/// One listening socket of `/proc/net/tcp{,6}`.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Listening {
    ip: IpAddr,
    port: u16,
    inode: u64,
}

/// The listening (state `0A`) sockets of a `/proc/net/tcp` (`v6` false) or `/proc/net/tcp6`
/// text; other states and lines that do not parse are skipped.
fn parse_proc_net_tcp(text: &str, v6: bool) -> Vec<Listening> {
    proc_net_tcp_entries(text, v6)
        .filter(|(_, _, state, inode)| *state == "0A" && *inode != 0)
        .map(|(ip, port, _, inode)| Listening { ip, port, inode })
        .collect()
}

/// Every socket line of a `/proc/net/tcp{,6}` text as (local address, local port, state as the
/// kernel writes it, inode); lines that do not parse are skipped.
fn proc_net_tcp_entries(text: &str, v6: bool) -> impl Iterator<Item = (IpAddr, u16, &str, u64)> {
    text.lines().skip(1).filter_map(move |line| {
        // sl local_address rem_address st tx:rx tr:when retrnsmt uid timeout inode …
        let fields: Vec<&str> = line.split_whitespace().collect();
        let (ip, port) = fields.get(1)?.split_once(':')?;
        let ip = if v6 { parse_ipv6(ip)? } else { parse_ipv4(ip)? };
        let port = u16::from_str_radix(port, 16).ok()?;
        let inode: u64 = fields.get(9)?.parse().ok()?;
        Some((ip, port, *fields.get(3)?, inode))
    })
}

/// The local ports of every TCP socket on the host, in any state (listening, connected, in
/// `TIME_WAIT`): a port here can make a server that tries to listen on it fail to start.
///
/// # Errors
/// `/proc/net/tcp` cannot be read.
pub(crate) fn local_tcp_ports(root: &Path) -> io::Result<BTreeSet<u16>> {
    let mut ports = BTreeSet::new();
    for (file, v6) in [("net/tcp", false), ("net/tcp6", true)] {
        let text = read_or_empty(&root.join(file))?;
        ports.extend(proc_net_tcp_entries(&text, v6).map(|(_, port, _, _)| port));
    }
    Ok(ports)
}

/// The kernel prints an IPv4 address as the `%08X` of its network-order 32-bit word as stored,
/// i.e. in the machine's byte order.
fn parse_ipv4(hex: &str) -> Option<IpAddr> {
    if hex.len() != 8 {
        return None;
    }
    let word = u32::from_str_radix(hex, 16).ok()?;
    Some(IpAddr::V4(Ipv4Addr::from(word.to_ne_bytes())))
}

/// An IPv6 address is four such 32-bit words.
fn parse_ipv6(hex: &str) -> Option<IpAddr> {
    if hex.len() != 32 {
        return None;
    }
    let mut bytes = [0u8; 16];
    for (i, chunk) in bytes.chunks_exact_mut(4).enumerate() {
        let word = u32::from_str_radix(hex.get(i * 8..i * 8 + 8)?, 16).ok()?;
        chunk.copy_from_slice(&word.to_ne_bytes());
    }
    Some(IpAddr::V6(Ipv6Addr::from(bytes)))
}

/// The inodes of the listening sockets that would accept a connection to `addr`: those bound to
/// the address itself when there are any (the kernel looks them up first), else those bound to
/// the wildcard. An IPv6 wildcard socket counts for IPv4 too (dual-stack unless `IPV6_V6ONLY`,
/// which `/proc` does not show; counting it errs on the safe side).
fn receivers(sockets: &[Listening], addr: SocketAddr) -> BTreeSet<u64> {
    let on_port = || sockets.iter().filter(|s| s.port == addr.port());
    let exact: BTreeSet<u64> = on_port()
        .filter(|s| same_address(s.ip, addr.ip()))
        .map(|s| s.inode)
        .collect();
    if !exact.is_empty() {
        return exact;
    }
    on_port()
        .filter(|s| match (s.ip, addr.ip()) {
            (IpAddr::V4(l), IpAddr::V4(_)) => l.is_unspecified(),
            (IpAddr::V6(l), _) => l.is_unspecified(),
            (IpAddr::V4(_), IpAddr::V6(_)) => false,
        })
        .map(|s| s.inode)
        .collect()
}

/// True when a socket bound to `local` is bound to `target` itself (an IPv4-mapped IPv6
/// address counts as its IPv4 address).
fn same_address(local: IpAddr, target: IpAddr) -> bool {
    match (local, target) {
        (IpAddr::V6(l), IpAddr::V4(t)) => l.to_ipv4_mapped() == Some(t),
        (l, t) => l == t,
    }
}

/// The pids holding each of `inodes`, from the `/proc/<pid>/fd/*` links. Processes that vanish
/// or cannot be read while scanning are skipped.
fn socket_holders(root: &Path, inodes: &BTreeSet<u64>) -> io::Result<BTreeMap<u64, Vec<u32>>> {
    let mut found: BTreeMap<u64, Vec<u32>> = BTreeMap::new();
    for entry in std::fs::read_dir(root)? {
        let Ok(entry) = entry else { continue };
        let Some(pid) = entry
            .file_name()
            .to_str()
            .and_then(|n| n.parse::<u32>().ok())
        else {
            continue;
        };
        let Ok(fds) = std::fs::read_dir(entry.path().join("fd")) else {
            continue;
        };
        for fd in fds.flatten() {
            let Ok(target) = std::fs::read_link(fd.path()) else {
                continue;
            };
            let Some(inode) = socket_inode(&target) else {
                continue;
            };
            if inodes.contains(&inode) {
                let pids = found.entry(inode).or_default();
                if !pids.contains(&pid) {
                    pids.push(pid);
                }
            }
        }
    }
    for pids in found.values_mut() {
        pids.sort_unstable();
    }
    Ok(found)
}

/// The inode of an fd link `socket:[<inode>]`.
fn socket_inode(target: &Path) -> Option<u64> {
    target
        .to_str()?
        .strip_prefix("socket:[")?
        .strip_suffix(']')?
        .parse()
        .ok()
}

/// The containers a `/proc/<pid>/cgroup` text names: per line, the first path component that
/// names a Docker or Podman container (see the module docs). Empty for a host process.
fn cgroup_containers(text: &str) -> BTreeSet<String> {
    text.lines()
        .filter_map(|line| {
            // hierarchy-id:controllers:path
            let path = line.splitn(3, ':').nth(2)?;
            container_of_path(path)
        })
        .collect()
}

/// The container the first container-like component of a cgroup path names.
fn container_of_path(path: &str) -> Option<String> {
    let mut previous = "";
    for component in path.split('/').filter(|c| !c.is_empty()) {
        let named = component
            .strip_prefix("docker-")
            .and_then(|r| r.strip_suffix(".scope"))
            .or_else(|| {
                component
                    .strip_prefix("libpod-payload-")
                    .or_else(|| component.strip_prefix("libpod-"))
                    .map(|r| r.strip_suffix(".scope").unwrap_or(r))
            })
            .or_else(|| (previous == "docker").then_some(component));
        if let Some(id) = named.filter(|id| is_container_id(id)) {
            return Some(id.to_owned());
        }
        previous = component;
    }
    None
}

/// Docker and Podman ids are 64 lowercase hex digits.
fn is_container_id(s: &str) -> bool {
    s.len() == 64 && s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use std::os::unix::fs::symlink;

    use super::*;

    const A: &str = "8ba47eea3cd7657f5de402f646b0aa8f687a9f3b599c25760072926590ffc546";
    const B: &str = "1baabc4db86a0cd82fdbc0ac0f9028fb4c7456091806365f34496929bb120d07";

    /// `/proc/net/tcp` as the kernel writes it (little-endian machine): a listener on
    /// 127.0.0.1:41000 (inode 111), one on 0.0.0.0:41001 (inode 222), an established
    /// connection on 41000, and a listener on 127.0.0.1:8000.
    const TCP: &str = "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 0100007F:A028 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 111 1 0000000000000000 100 0 0 10 0
   1: 00000000:A029 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 222 1 0000000000000000 100 0 0 10 0
   2: 0100007F:A028 0100007F:D6D8 01 00000000:00000000 00:00000000 00000000     0        0 333 1 0000000000000000 20 4 30 10 -1
   3: 0100007F:1F40 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 444 1 0000000000000000 100 0 0 10 0
";

    /// `/proc/net/tcp6`: `[::]:41002` (inode 555) and `[::ffff:127.0.0.1]:41003` (inode 666).
    const TCP6: &str = "  sl  local_address                         remote_address                        st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 00000000000000000000000000000000:A02A 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 555 1 0000000000000000 100 0 0 10 0
   1: 0000000000000000FFFF00000100007F:A02B 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 666 1 0000000000000000 100 0 0 10 0
";

    fn addr(port: u16) -> SocketAddr {
        SocketAddr::from((Ipv4Addr::LOCALHOST, port))
    }

    #[cfg(target_endian = "little")]
    #[test]
    fn listening_sockets_are_read_from_proc_net_tcp() {
        let v4 = parse_proc_net_tcp(TCP, false);
        assert_eq!(
            v4,
            vec![
                Listening {
                    ip: Ipv4Addr::LOCALHOST.into(),
                    port: 41000,
                    inode: 111
                },
                Listening {
                    ip: Ipv4Addr::UNSPECIFIED.into(),
                    port: 41001,
                    inode: 222
                },
                Listening {
                    ip: Ipv4Addr::LOCALHOST.into(),
                    port: 8000,
                    inode: 444
                },
            ]
        );
        let v6 = parse_proc_net_tcp(TCP6, true);
        assert_eq!(v6[0].ip, IpAddr::V6(Ipv6Addr::UNSPECIFIED));
        assert_eq!(v6[0].port, 41002);
        assert_eq!(
            v6[1].ip,
            IpAddr::V6(Ipv4Addr::LOCALHOST.to_ipv6_mapped()),
            "{v6:?}"
        );
        assert!(parse_proc_net_tcp("header\n   0: garbage\n", false).is_empty());
    }

    #[cfg(target_endian = "little")]
    #[test]
    fn receivers_prefer_the_exact_address_over_the_wildcard() {
        let mut all = parse_proc_net_tcp(TCP, false);
        all.extend(parse_proc_net_tcp(TCP6, true));
        let set = |v: &[u64]| v.iter().copied().collect::<BTreeSet<u64>>();
        assert_eq!(receivers(&all, addr(41000)), set(&[111]));
        assert_eq!(receivers(&all, addr(41001)), set(&[222]), "v4 wildcard");
        assert_eq!(receivers(&all, addr(41002)), set(&[555]), "v6 wildcard");
        assert_eq!(receivers(&all, addr(41003)), set(&[666]), "v4-mapped");
        assert!(receivers(&all, addr(41004)).is_empty());
        // A wildcard listener on the same port does not receive what an exact one does.
        all.push(Listening {
            ip: Ipv4Addr::UNSPECIFIED.into(),
            port: 41000,
            inode: 777,
        });
        assert_eq!(receivers(&all, addr(41000)), set(&[111]));
        // An IPv6 target is not received by an IPv4 wildcard.
        let v6 = SocketAddr::from((Ipv6Addr::LOCALHOST, 41001));
        assert!(receivers(&all, v6).is_empty());
    }

    #[test]
    fn cgroups_name_the_container_of_both_engines() {
        let docker_cgroupfs = format!("12:pids:/docker/{A}\n0::/docker/{A}\n");
        let docker_systemd = format!("0::/system.slice/docker-{A}.scope\n");
        let podman_cgroupfs =
            format!("9:name=systemd:/libpod_parent/libpod-{B}\n0::/libpod_parent/libpod-{B}\n");
        let podman_systemd = format!("0::/machine.slice/libpod-{B}.scope/container\n");
        let podman_split = format!("0::/user.slice/libpod-payload-{B}\n");
        for (text, id) in [
            (&docker_cgroupfs, A),
            (&docker_systemd, A),
            (&podman_cgroupfs, B),
            (&podman_systemd, B),
            (&podman_split, B),
        ] {
            assert_eq!(
                cgroup_containers(text),
                BTreeSet::from([id.to_owned()]),
                "{text}"
            );
        }
        // Podman's monitor and host processes are in no container.
        for text in [
            format!("0::/machine.slice/libpod-conmon-{B}.scope\n"),
            "8:pids:/libpod_parent/conmon\n".to_owned(),
            "0::/user.slice/user-0.slice/session-1.scope\n".to_owned(),
            "4:memory:/process_api/020b1af50ca0963dec738fadabb61bf6\n0::/\n".to_owned(),
        ] {
            assert!(cgroup_containers(&text).is_empty(), "{text}");
        }
        // A child cgroup named after another container is still the outer container's.
        assert_eq!(
            cgroup_containers(&format!("0::/docker/{A}/{B}\n")),
            BTreeSet::from([A.to_owned()])
        );
        assert_eq!(
            cgroup_containers(&format!(
                "0::/system.slice/docker-{A}.scope/docker-{B}.scope\n"
            )),
            BTreeSet::from([A.to_owned()])
        );
    }

    /// A fake `/proc` with the socket tables and processes: (pid, comm, cgroup text, inodes).
    fn fake_proc(processes: &[(u32, &str, String, &[u64])]) -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("net")).unwrap();
        std::fs::write(dir.path().join("net/tcp"), TCP).unwrap();
        std::fs::write(dir.path().join("net/tcp6"), TCP6).unwrap();
        for (pid, comm, cgroup, inodes) in processes {
            let p = dir.path().join(pid.to_string());
            std::fs::create_dir_all(p.join("fd")).unwrap();
            std::fs::write(p.join("comm"), format!("{comm}\n")).unwrap();
            std::fs::write(p.join("cgroup"), cgroup).unwrap();
            symlink("/dev/null", p.join("fd/0")).unwrap();
            symlink("pipe:[9]", p.join("fd/1")).unwrap();
            for (i, inode) in inodes.iter().enumerate() {
                symlink(format!("socket:[{inode}]"), p.join(format!("fd/{}", i + 3))).unwrap();
            }
        }
        dir
    }

    #[cfg(target_endian = "little")]
    #[test]
    fn the_container_s_own_listener_passes_and_others_do_not() {
        let in_a = format!("0::/docker/{A}\n");
        let in_b = format!("0::/libpod_parent/libpod-{B}\n");
        let proc = fake_proc(&[
            (10, "jupyterhub-sin", in_a.clone(), &[111]),
            (11, "python3", in_a.clone(), &[111]),
            (20, "python3", in_b, &[222]),
            (30, "python3", "0::/user.slice\n".into(), &[555]),
            (31, "nc", "0::/user.slice\n".into(), &[]),
        ]);
        let check = ProcListeners::new(proc.path());
        assert_eq!(
            check.check(addr(41000), A),
            ListenerCheck::Container(Sockets::new([111]))
        );
        assert_eq!(check.sockets(addr(41000)), Ok(Sockets::new([111])));
        assert_eq!(check.sockets(addr(41004)), Ok(Sockets::default()));
        match check.check(addr(41000), B) {
            ListenerCheck::Foreign(h) => {
                assert_eq!(h.iter().map(|h| h.pid).collect::<Vec<_>>(), [10, 11]);
                assert_eq!(h[0].container.as_deref(), Some(A));
                assert!(
                    h[0].to_string().contains("in container 8ba47eea3cd7"),
                    "{}",
                    h[0]
                );
            }
            other => panic!("{other:?}"),
        }
        match check.check(addr(41001), A) {
            ListenerCheck::Foreign(h) => assert_eq!(h[0].container.as_deref(), Some(B)),
            other => panic!("{other:?}"),
        }
        match check.check(addr(41002), A) {
            ListenerCheck::Foreign(h) => {
                assert_eq!(
                    (h[0].pid, h[0].comm.as_str(), h[0].container.clone()),
                    (30, "python3", None)
                );
                let text = ListenerCheck::Foreign(h).to_string();
                assert!(text.contains("pid 30 (python3) on the host"), "{text}");
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(check.check(addr(41003), A), ListenerCheck::Unseen);
        assert_eq!(check.check(addr(41004), A), ListenerCheck::NoListener);
        assert!(matches!(
            ProcListeners::new("/nonexistent-proc").check(addr(41000), A),
            ListenerCheck::Unknown(_)
        ));
    }

    #[test]
    fn only_loopback_addresses_are_checked() {
        assert!(needs_check(addr(41000)));
        assert!(needs_check(SocketAddr::from((Ipv6Addr::LOCALHOST, 41000))));
        assert!(!needs_check("10.88.0.7:8888".parse().unwrap()));
        assert!(AssumeContainer.check(addr(1), A).is_container());
        assert_eq!(AssumeContainer.sockets(addr(1)), Ok(Sockets::default()));
    }

    /// Against the real `/proc`: a listener of this test process is a host process's.
    #[test]
    fn a_listener_of_this_process_is_foreign_to_any_container() {
        let listener = std::net::TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).unwrap();
        let at = listener.local_addr().unwrap();
        match ProcListeners::default().check(at, A) {
            ListenerCheck::Foreign(h) => {
                assert!(h.iter().any(|h| h.pid == std::process::id()), "{h:?}");
            }
            // Without root or the host's /proc this cannot be seen; the check then refuses too.
            other => assert!(!other.is_container(), "{other:?}"),
        }
        drop(listener);
        assert_eq!(
            ProcListeners::default().check(at, A),
            ListenerCheck::NoListener
        );
    }
}
