//! [`SessionRevocations`]: sessions that were valid when issued but may no longer be used, e.g.
//! every session of a user the admin deleted (a deleted user's cookie must not open their pages,
//! nor reach the server a later launch starts).
//!
//! Kept per user as "sessions issued at or before this second are revoked", in memory for the
//! per-request check and in `<state_dir>/revoked-sessions.json` so a hub restart keeps them. An
//! entry is dropped once every session it could revoke has expired (`hub.session_max_age_secs`).

use std::collections::BTreeMap;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::{Arc, PoisonError, RwLock};

use lticontainer_hub::state_file::{read_json_or_default, write_atomically};

/// The file under the state directory.
pub(crate) const FILE: &str = "revoked-sessions.json";

/// Revoked sessions by user; cheap to clone (shared).
#[derive(Debug, Clone, Default)]
pub(crate) struct SessionRevocations {
    path: Option<PathBuf>,
    max_age_secs: u64,
    revoked_at: Arc<RwLock<BTreeMap<String, u64>>>,
}

impl SessionRevocations {
    /// Revocations kept in `state_dir`, for sessions that live `max_age_secs`. A missing file is
    /// no revocations; an unreadable one is logged and read as none (the file only ever narrows
    /// who gets in, and an admin can delete the user again).
    pub(crate) fn load(state_dir: &Path, max_age_secs: u64) -> Self {
        let path = state_dir.join(FILE);
        let revoked_at = read_json_or_default(&path, "the revoked sessions");
        Self {
            path: Some(path),
            max_age_secs,
            revoked_at: Arc::new(RwLock::new(revoked_at)),
        }
    }

    /// True when a session of `user` issued at `issued` is revoked.
    pub(crate) fn is_revoked(&self, user: &str, issued: u64) -> bool {
        self.revoked_at
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .get(user)
            .is_some_and(|at| issued <= *at)
    }

    /// Revokes every session of `user` issued up to `now` and saves the list.
    ///
    /// # Errors
    /// The file cannot be written (the revocation still holds until the hub restarts).
    pub(crate) fn revoke(&self, user: &str, now: u64) -> io::Result<()> {
        let snapshot = {
            let mut map = self
                .revoked_at
                .write()
                .unwrap_or_else(PoisonError::into_inner);
            map.insert(user.to_owned(), now);
            let oldest_live = now.saturating_sub(self.max_age_secs);
            map.retain(|_, at| *at >= oldest_live);
            serde_json::to_vec(&*map).map_err(io::Error::other)?
        };
        match &self.path {
            Some(path) => write_atomically(path, &snapshot),
            None => Ok(()),
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn revoked_sessions_stay_revoked_across_a_restart_until_they_expire() {
        let dir = tempfile::tempdir().unwrap();
        let r = SessionRevocations::load(dir.path(), 100);
        assert!(!r.is_revoked("alice", 50));
        r.revoke("alice", 1000).unwrap();
        assert!(r.is_revoked("alice", 999) && r.is_revoked("alice", 1000));
        assert!(!r.is_revoked("alice", 1001), "a later session is good");
        assert!(!r.is_revoked("bob", 10));

        let again = SessionRevocations::load(dir.path(), 100);
        assert!(
            again.is_revoked("alice", 1000),
            "kept in the state directory"
        );
        // Once every session it could revoke has expired, the entry goes.
        again.revoke("bob", 1200).unwrap();
        let text = std::fs::read_to_string(dir.path().join(FILE)).unwrap();
        assert!(!text.contains("alice") && text.contains("bob"), "{text}");
    }

    #[test]
    fn an_unreadable_file_means_no_revocations() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join(FILE), "not json").unwrap();
        assert!(!SessionRevocations::load(dir.path(), 100).is_revoked("alice", 1));
    }
}
