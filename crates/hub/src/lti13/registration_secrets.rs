//! [`RegistrationSecrets`]: the one-use secrets that gate LTI Dynamic Registration.
//!
//! `lticontainer lti13 registration-url` issues one ([`RegistrationSecrets::issue`]) and prints
//! the registration URL carrying it; the hub takes it ([`RegistrationSecrets::take`]) before it
//! fetches anything the request names. Each secret is a file in
//! `<state_dir>/lti13-registration/` named by the secret's SHA-256 (the secret itself is never
//! stored) and holding its expiry; taking a secret removes its file, so of two requests with the
//! same secret only one wins, across processes too.

use std::io;
use std::os::unix::fs::DirBuilderExt as _;
use std::path::{Path, PathBuf};

use lticontainer_core::store::hash_token;

use crate::credentials::new_secret;
use crate::state_file::write_private_atomically;

/// The folder under the state directory.
pub const SECRETS_DIR: &str = "lti13-registration";

/// How long an issued registration URL is valid by default, in seconds (one hour).
pub const DEFAULT_SECRET_TTL_SECS: u64 = 3600;

/// Why a registration secret was refused (the admin gets a new URL from the command).
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[non_exhaustive]
pub enum SecretRefusal {
    /// No such secret: never issued, or already used.
    #[error("the registration URL is not valid: it was never issued here or was already used")]
    Unknown,
    /// The secret was issued but has expired (it is removed now).
    #[error("the registration URL expired {0} s ago")]
    Expired(i64),
    /// The secrets' folder could not be read.
    #[error("the registration secrets cannot be read: {0}")]
    Io(String),
}

/// The one-use registration secrets in a state directory.
#[derive(Debug, Clone)]
pub struct RegistrationSecrets {
    dir: PathBuf,
}

impl RegistrationSecrets {
    /// The secrets kept under `state_dir`.
    pub fn new(state_dir: &Path) -> Self {
        Self {
            dir: state_dir.join(SECRETS_DIR),
        }
    }

    /// A new secret valid until `now + ttl_secs`; expired ones are cleared on the way.
    ///
    /// # Errors
    /// The file system's, e.g. when the state directory cannot be written.
    pub fn issue(&self, now: i64, ttl_secs: u64) -> io::Result<String> {
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(&self.dir)?;
        self.clear_expired(now);
        let secret = new_secret();
        let expires = now.saturating_add(i64::try_from(ttl_secs).unwrap_or(i64::MAX));
        write_private_atomically(&self.file(&secret), expires.to_string().as_bytes())?;
        Ok(secret)
    }

    /// Takes `secret` once: it must have been issued, unused and unexpired at `now`.
    ///
    /// # Errors
    /// [`SecretRefusal`]: unknown or used, expired, or the folder unreadable.
    pub fn take(&self, secret: &str, now: i64) -> Result<(), SecretRefusal> {
        if secret.is_empty() || secret.len() > 256 {
            return Err(SecretRefusal::Unknown);
        }
        let path = self.file(secret);
        let text = match std::fs::read_to_string(&path) {
            Ok(t) => t,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Err(SecretRefusal::Unknown),
            Err(e) => return Err(SecretRefusal::Io(e.to_string())),
        };
        match std::fs::remove_file(&path) {
            Ok(()) => {}
            // Another request took it first.
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Err(SecretRefusal::Unknown),
            Err(e) => return Err(SecretRefusal::Io(e.to_string())),
        }
        let expires: i64 = text.trim().parse().unwrap_or(0);
        if expires <= now {
            return Err(SecretRefusal::Expired(now - expires));
        }
        Ok(())
    }

    fn file(&self, secret: &str) -> PathBuf {
        self.dir.join(hash_token(secret))
    }

    fn clear_expired(&self, now: i64) {
        let Ok(entries) = std::fs::read_dir(&self.dir) else {
            return;
        };
        // Files being written (`.name.pid`, see `write_private_atomically`) are left alone.
        for entry in entries
            .flatten()
            .filter(|e| !e.file_name().to_string_lossy().starts_with('.'))
        {
            let expired = std::fs::read_to_string(entry.path())
                .ok()
                .and_then(|t| t.trim().parse::<i64>().ok())
                .is_none_or(|expires| expires <= now);
            if expired {
                let _ = std::fs::remove_file(entry.path());
            }
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn a_secret_serves_once() {
        let dir = tempfile::tempdir().unwrap();
        let secrets = RegistrationSecrets::new(dir.path());
        let s = secrets.issue(100, 60).unwrap();
        let stored: Vec<_> = std::fs::read_dir(dir.path().join(SECRETS_DIR))
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        assert_eq!(stored.len(), 1);
        assert_ne!(stored[0], s, "stored hashed");
        assert_eq!(secrets.take(&s, 159), Ok(()));
        assert_eq!(secrets.take(&s, 159), Err(SecretRefusal::Unknown));
        assert_eq!(secrets.take("made-up", 100), Err(SecretRefusal::Unknown));
        assert_eq!(secrets.take("", 100), Err(SecretRefusal::Unknown));
    }

    #[test]
    fn an_expired_secret_is_refused_and_gone() {
        let dir = tempfile::tempdir().unwrap();
        let secrets = RegistrationSecrets::new(dir.path());
        let s = secrets.issue(100, 60).unwrap();
        assert_eq!(secrets.take(&s, 160), Err(SecretRefusal::Expired(0)));
        assert_eq!(secrets.take(&s, 100), Err(SecretRefusal::Unknown));
        // Issuing clears what has expired.
        let old = secrets.issue(100, 10).unwrap();
        let _new = secrets.issue(200, 10).unwrap();
        assert_eq!(secrets.take(&old, 105), Err(SecretRefusal::Unknown));
    }
}
