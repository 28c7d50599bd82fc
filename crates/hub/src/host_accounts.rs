//! Host accounts through the system's name service (NSS: `getpwnam_r`/`getgrnam_r`/`getgrgid_r`):
//! the real lookup behind the spec's identity resolution (a host account's uid/gid win over the
//! LMS's values). Every source `/etc/nsswitch.conf` names is asked (`files`, LDAP/SSSD,
//! `extrausers`, …), so a directory user keeps their uid and home.
//!
//! Each lookup asks NSS again (an admin may add accounts while the hub runs; NSS caches, e.g.
//! `nscd`/`sssd`, apply). A lookup that fails (not "no such account" but an error of the name
//! service) counts as "no such account", with a warning in the log naming the cause.

use lticontainer_core::spec::IdentityLookup;
use nix::unistd::{Gid, Group, User};

/// Looks host accounts up through NSS, as `getent passwd`/`getent group` does.
#[derive(Debug, Clone, Copy, Default)]
pub struct NssIdentity;

impl NssIdentity {
    /// The uid and primary gid of the host account `name`.
    pub fn user(&self, name: &str) -> Option<(u32, u32)> {
        let user = answer("passwd", name, User::from_name(name))?;
        Some((user.uid.as_raw(), user.gid.as_raw()))
    }

    /// The name of the host group with id `gid`.
    pub fn group_name(&self, gid: u32) -> Option<String> {
        let key = gid.to_string();
        answer("group", &key, Group::from_gid(Gid::from_raw(gid))).map(|g| g.name)
    }

    /// The id of the host group called `name`.
    pub fn group_gid(&self, name: &str) -> Option<u32> {
        answer("group", name, Group::from_name(name)).map(|g| g.gid.as_raw())
    }
}

/// The entry NSS found, or `None` for no entry or a failed lookup (logged for the admin).
fn answer<T>(database: &str, key: &str, found: nix::Result<Option<T>>) -> Option<T> {
    found.unwrap_or_else(|e| {
        tracing::warn!(database, key, error = %e, "the host's name service (NSS, /etc/nsswitch.conf) failed to look up an account; treating it as unknown");
        None
    })
}

impl IdentityLookup for NssIdentity {
    fn user(&self, name: &str) -> Option<(u32, u32)> {
        NssIdentity::user(self, name)
    }
    fn group_name(&self, gid: u32) -> Option<String> {
        NssIdentity::group_name(self, gid)
    }
    fn group_gid(&self, name: &str) -> Option<u32> {
        NssIdentity::group_gid(self, name)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn root_and_its_group_are_found() {
        let id = NssIdentity;
        assert_eq!(id.user("root"), Some((0, 0)));
        assert_eq!(id.group_name(0).as_deref(), Some("root"));
        assert_eq!(id.group_gid("root"), Some(0));
    }

    #[test]
    fn unknown_accounts_are_none() {
        let id = NssIdentity;
        assert_eq!(id.user("lticontainer-no-such-user"), None);
        assert_eq!(id.group_gid("lticontainer-no-such-group"), None);
        assert_eq!(id.group_name(4_000_000_000), None);
        assert_eq!(id.user("bad:name"), None);
    }
}
