//! [`Forwarding`]: keeping what a user's container sends on its own network.
//!
//! With isolated networking each server's container sits on a bridge network of its own, and
//! the host is its gateway. Neither engine stops the host from routing the container's packets
//! further on its own: Docker 20.10's internal networks still give the container a default route
//! (their isolation is iptables rules, absent when dockerd runs with `--iptables=false`), and
//! Podman 4.3's CNI internal networks take the host's address off the bridge, which would cut
//! the hub off too. With `net.ipv4.ip_forward = 1` (any host running containers), one student's
//! container could then reach another's network through the host.
//!
//! So the hub turns IPv4 forwarding off on each server network's bridge interface
//! (`net.ipv4.conf.<bridge>.forwarding = 0`): a packet that arrives on the bridge is delivered
//! when it is for one of the host's own addresses (the hub API at the gateway) and dropped when
//! it would have to be routed — to another user's network, the site's network or the internet.
//! The host itself still reaches every container. See `docs/security.md`.

use std::fmt;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, PoisonError};

use lticontainer_core::network::MAX_INTERFACE_NAME;

/// Turns off the host's forwarding of what arrives on a bridge interface.
pub trait Forwarding: Send + Sync + fmt::Debug {
    /// Makes the host drop packets that arrive on `interface` for anything but its own
    /// addresses.
    ///
    /// # Errors
    /// The interface does not exist or the setting cannot be written (the hub is not root, or
    /// runs outside the host's network namespace).
    fn disable(&self, interface: &str) -> io::Result<()>;
}

/// Where Linux keeps the per-interface IPv4 settings.
pub const PROC_SYS_IPV4_CONF: &str = "/proc/sys/net/ipv4/conf";

/// [`Forwarding`] through `/proc/sys/net/ipv4/conf/<interface>/forwarding` (needs root in the
/// host's network namespace).
#[derive(Debug, Clone)]
pub struct ProcSysForwarding {
    conf_dir: PathBuf,
}

impl Default for ProcSysForwarding {
    fn default() -> Self {
        Self::at(PROC_SYS_IPV4_CONF)
    }
}

impl ProcSysForwarding {
    /// Settings under `conf_dir` instead of [`PROC_SYS_IPV4_CONF`] (for tests).
    pub fn at(conf_dir: impl Into<PathBuf>) -> Self {
        Self {
            conf_dir: conf_dir.into(),
        }
    }

    /// Checks that the hub may change interface settings at all (opens `default/forwarding`
    /// for writing, writes nothing): run at start-up to warn early that isolated servers cannot
    /// be started.
    ///
    /// # Errors
    /// The settings cannot be opened for writing (not root, or a read-only `/proc/sys`).
    pub fn check_writable(&self) -> io::Result<()> {
        let path = self.conf_dir.join("default").join("forwarding");
        std::fs::OpenOptions::new()
            .write(true)
            .open(&path)
            .map(drop)
            .map_err(|e| io::Error::new(e.kind(), format!("{}: {e}", path.display())))
    }

    fn setting(&self, interface: &str) -> io::Result<PathBuf> {
        let b = interface.as_bytes();
        let plain = !b.is_empty()
            && b.len() <= MAX_INTERFACE_NAME
            && b.iter()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'_' | b'-'));
        if !plain {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("{interface:?} is not an interface name of [A-Za-z0-9_-]"),
            ));
        }
        Ok(self.conf_dir.join(interface).join("forwarding"))
    }
}

impl Forwarding for ProcSysForwarding {
    fn disable(&self, interface: &str) -> io::Result<()> {
        let path = self.setting(interface)?;
        let context = |e: io::Error| io::Error::new(e.kind(), format!("{}: {e}", path.display()));
        write_existing(&path, b"0").map_err(context)?;
        let now = std::fs::read_to_string(&path).map_err(context)?;
        if now.trim() != "0" {
            return Err(io::Error::other(format!(
                "{} reads {:?} after writing 0",
                path.display(),
                now.trim()
            )));
        }
        Ok(())
    }
}

/// Writes `value` to an existing file (a missing interface is an error, not a new file).
fn write_existing(path: &Path, value: &[u8]) -> io::Result<()> {
    use std::io::Write;
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .truncate(true)
        .open(path)?;
    f.write_all(value)
}

/// A [`Forwarding`] that only records the interfaces it was asked about: for hubs on an
/// in-memory engine, whose networks have no host interface.
#[derive(Debug, Default)]
pub struct RecordedForwarding {
    disabled: Mutex<Vec<String>>,
}

impl RecordedForwarding {
    /// The interfaces [`Forwarding::disable`] was called for, in order.
    pub fn disabled(&self) -> Vec<String> {
        self.disabled
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }
}

impl Forwarding for RecordedForwarding {
    fn disable(&self, interface: &str) -> io::Result<()> {
        self.disabled
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(interface.to_owned());
        Ok(())
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn writes_zero_to_an_existing_interface_setting_only() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("ltc0ad50010")).unwrap();
        let setting = dir.path().join("ltc0ad50010/forwarding");
        std::fs::write(&setting, "1\n").unwrap();
        let f = ProcSysForwarding::at(dir.path());
        assert_eq!(
            f.check_writable().unwrap_err().kind(),
            io::ErrorKind::NotFound
        );
        std::fs::create_dir(dir.path().join("default")).unwrap();
        std::fs::write(dir.path().join("default/forwarding"), "1\n").unwrap();
        f.check_writable().unwrap();
        assert_eq!(
            std::fs::read_to_string(dir.path().join("default/forwarding")).unwrap(),
            "1\n",
            "the check writes nothing"
        );
        f.disable("ltc0ad50010").unwrap();
        assert_eq!(std::fs::read_to_string(&setting).unwrap(), "0");

        let err = f.disable("ltc0ad50020").unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::NotFound);
        assert!(err.to_string().contains("ltc0ad50020"), "{err}");
        assert!(!dir.path().join("ltc0ad50020").exists());
        for bad in ["", "../all", "all/../x", "a-much-too-long-name"] {
            assert_eq!(
                f.disable(bad).unwrap_err().kind(),
                io::ErrorKind::InvalidInput
            );
        }
    }

    #[test]
    fn the_recorder_remembers() {
        let r = RecordedForwarding::default();
        r.disable("ltc1").unwrap();
        assert_eq!(r.disabled(), ["ltc1"]);
    }
}
