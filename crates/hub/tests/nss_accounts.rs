//! Host accounts from an NSS source other than `/etc/passwd`: a user in `libnss-extrausers`'s
//! `/var/lib/extrausers/passwd`, with `extrausers` added to `/etc/nsswitch.conf` for the test,
//! is found with its uid, gid and group, as an LDAP/SSSD user would be.
//!
//! It changes the host (as root), so it is ignored by plain `cargo test`; `scripts/test-all`
//! installs `libnss-extrausers` and runs it. Every change is undone when the test ends, panic
//! included, and a lock file keeps two runs on one machine from overlapping.

use std::fs::File;
use std::path::{Path, PathBuf};

use lticontainer_hub::host_accounts::NssIdentity;

const NSSWITCH: &str = "/etc/nsswitch.conf";
const EXTRA_DIR: &str = "/var/lib/extrausers";
const LOCK: &str = "/run/lticontainer-nss-test.lock";

/// The host's files as they were, written back when dropped; holds the lock meanwhile.
struct HostChanges {
    _lock: File,
    saved: Vec<(PathBuf, Option<Vec<u8>>)>,
    made_dir: bool,
}

impl HostChanges {
    fn begin() -> Self {
        let lock = File::create(LOCK).expect("create the test's lock file (run as root)");
        rustix::fs::flock(&lock, rustix::fs::FlockOperation::LockExclusive).expect("lock");
        let made_dir = !Path::new(EXTRA_DIR).exists();
        std::fs::create_dir_all(EXTRA_DIR).expect("create /var/lib/extrausers (run as root)");
        let saved = [
            NSSWITCH,
            "/var/lib/extrausers/passwd",
            "/var/lib/extrausers/group",
        ]
        .iter()
        .map(|p| (PathBuf::from(p), std::fs::read(p).ok()))
        .collect();
        Self {
            _lock: lock,
            saved,
            made_dir,
        }
    }

    /// Appends `line` to the file at `path` (as saved at the start).
    fn append(&self, path: &str, line: &str) {
        let old = self
            .saved
            .iter()
            .find(|(p, _)| p == Path::new(path))
            .and_then(|(_, c)| c.clone())
            .unwrap_or_default();
        let mut text = String::from_utf8(old).expect("utf-8");
        if !text.is_empty() && !text.ends_with('\n') {
            text.push('\n');
        }
        text.push_str(line);
        text.push('\n');
        std::fs::write(path, text).expect("write");
    }

    /// Adds `extrausers` to the `passwd` and `group` lines of `/etc/nsswitch.conf`.
    fn enable_extrausers(&self) {
        let text = std::fs::read_to_string(NSSWITCH).unwrap_or_default();
        let mut seen = (false, false);
        let mut out: Vec<String> = text
            .lines()
            .map(|l| {
                let db = l.split(':').next().unwrap_or_default().trim();
                let hit = match db {
                    "passwd" => &mut seen.0,
                    "group" => &mut seen.1,
                    _ => return l.to_owned(),
                };
                *hit = true;
                if l.contains("extrausers") {
                    l.to_owned()
                } else {
                    format!("{l} extrausers")
                }
            })
            .collect();
        if !seen.0 {
            out.push("passwd: files extrausers".into());
        }
        if !seen.1 {
            out.push("group: files extrausers".into());
        }
        std::fs::write(NSSWITCH, out.join("\n") + "\n").expect("write nsswitch.conf");
    }
}

impl Drop for HostChanges {
    fn drop(&mut self) {
        for (path, content) in &self.saved {
            let _ = match content {
                Some(c) => std::fs::write(path, c),
                None => std::fs::remove_file(path),
            };
        }
        if self.made_dir {
            let _ = std::fs::remove_dir(EXTRA_DIR);
        }
    }
}

#[test]
#[ignore = "changes /etc/nsswitch.conf as root and needs libnss-extrausers; scripts/test-all runs it"]
fn a_user_from_extrausers_is_found_through_nss() {
    assert!(
        Path::new("/usr/lib/libnss_extrausers.so.2").exists()
            || Path::new("/lib/x86_64-linux-gnu/libnss_extrausers.so.2").exists(),
        "install libnss-extrausers (apt-get install libnss-extrausers)"
    );
    let name = format!("ltinss{}", std::process::id());
    let group = format!("{name}g");
    let (uid, gid) = (61_234_u32, 61_235_u32);
    let id = NssIdentity;
    let host = HostChanges::begin();
    assert_eq!(
        id.user(&name),
        None,
        "{name} must not exist before the test"
    );
    host.append(
        "/var/lib/extrausers/passwd",
        &format!("{name}:x:{uid}:{gid}:NSS test:/home/{name}:/bin/sh"),
    );
    host.append("/var/lib/extrausers/group", &format!("{group}:x:{gid}:"));
    // Written, but not yet a source NSS asks: still unknown, so what follows comes from NSS.
    assert_eq!(id.user(&name), None);
    host.enable_extrausers();
    assert_eq!(id.user(&name), Some((uid, gid)));
    assert_eq!(id.group_name(gid).as_deref(), Some(group.as_str()));
    assert_eq!(id.group_gid(&group), Some(gid));
    drop(host);
    assert_eq!(id.user(&name), None, "the host is restored after the test");
}
