//! Host accounts from `/etc/passwd` and `/etc/group`: the real lookup behind the spec's
//! identity resolution (a host account's uid/gid win over the LMS's values).
//!
//! The files are read at each lookup (they are small, and an admin may add accounts while the
//! hub runs). A file that cannot be read counts as "no such account", with a warning in the log.

use std::path::{Path, PathBuf};

use lticontainer_core::spec::IdentityLookup;

/// Reads host accounts from passwd/group files (by default `/etc/passwd` and `/etc/group`).
#[derive(Debug, Clone)]
pub struct EtcIdentity {
    passwd: PathBuf,
    group: PathBuf,
}

impl Default for EtcIdentity {
    fn default() -> Self {
        Self::new("/etc/passwd", "/etc/group")
    }
}

impl EtcIdentity {
    /// Reads the given passwd and group files (tests point these at temporary files).
    pub fn new(passwd: impl Into<PathBuf>, group: impl Into<PathBuf>) -> Self {
        Self {
            passwd: passwd.into(),
            group: group.into(),
        }
    }

    /// The uid and primary gid of the host account `name`.
    pub fn user(&self, name: &str) -> Option<(u32, u32)> {
        read_lines(&self.passwd)?.lines().find_map(|line| {
            let f: Vec<&str> = line.split(':').collect();
            (f.len() >= 4 && f[0] == name)
                .then(|| Some((f[2].parse().ok()?, f[3].parse().ok()?)))?
        })
    }

    /// The name of the host group with id `gid`.
    pub fn group_name(&self, gid: u32) -> Option<String> {
        read_lines(&self.group)?.lines().find_map(|line| {
            let f: Vec<&str> = line.split(':').collect();
            (f.len() >= 3 && f[2].parse::<u32>().ok() == Some(gid)).then(|| f[0].to_owned())
        })
    }

    /// The id of the host group called `name`.
    pub fn group_gid(&self, name: &str) -> Option<u32> {
        read_lines(&self.group)?.lines().find_map(|line| {
            let f: Vec<&str> = line.split(':').collect();
            (f.len() >= 3 && f[0] == name).then(|| f[2].parse().ok())?
        })
    }
}

impl IdentityLookup for EtcIdentity {
    fn user(&self, name: &str) -> Option<(u32, u32)> {
        EtcIdentity::user(self, name)
    }
    fn group_name(&self, gid: u32) -> Option<String> {
        EtcIdentity::group_name(self, gid)
    }
    fn group_gid(&self, name: &str) -> Option<u32> {
        EtcIdentity::group_gid(self, name)
    }
}

fn read_lines(path: &Path) -> Option<String> {
    match std::fs::read_to_string(path) {
        Ok(s) => Some(s),
        Err(e) => {
            tracing::warn!(file = %path.display(), error = %e, "cannot read the host account file; treating every account as unknown");
            None
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn files() -> (tempfile::TempDir, EtcIdentity) {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("passwd");
        let g = dir.path().join("group");
        std::fs::write(
            &p,
            "root:x:0:0:root:/root:/bin/bash\n# comment\nbroken line\nalice:x:1001:100:Alice:/home/alice:/bin/sh\nbad:x:notanumber:1::/:\n",
        )
        .unwrap();
        std::fs::write(&g, "root:x:0:\nusers:x:100:\nothers:x:1500:alice\n").unwrap();
        let id = EtcIdentity::new(p, g);
        (dir, id)
    }

    #[test]
    fn users_and_groups_are_found() {
        let (_d, id) = files();
        assert_eq!(id.user("alice"), Some((1001, 100)));
        assert_eq!(id.user("root"), Some((0, 0)));
        assert_eq!(id.group_name(100).as_deref(), Some("users"));
        assert_eq!(id.group_gid("others"), Some(1500));
    }

    #[test]
    fn unknown_and_malformed_entries_are_none() {
        let (_d, id) = files();
        assert_eq!(id.user("bob"), None);
        assert_eq!(id.user("bad"), None);
        assert_eq!(id.user("broken line"), None);
        assert_eq!(id.group_name(4242), None);
        assert_eq!(id.group_gid("nogroup-here"), None);
    }

    #[test]
    fn missing_files_mean_unknown_accounts() {
        let id = EtcIdentity::new("/nonexistent/passwd", "/nonexistent/group");
        assert_eq!(id.user("root"), None);
        assert_eq!(id.group_gid("root"), None);
    }
}
