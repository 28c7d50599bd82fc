//! [`RegisteredPlatforms`]: the LTI 1.3 platforms that registered the tool by Dynamic
//! Registration, kept in `<state_dir>/lti13-platforms.json` so their launches work after a
//! restart, beside the platforms of the configuration.

use std::path::{Path, PathBuf};
use std::sync::{Mutex, PoisonError};

use lticontainer_core::lti13::PlatformConfig;

use crate::state_file::write_atomically;

/// The file under the state directory.
pub const PLATFORMS_FILE: &str = "lti13-platforms.json";

/// The registered platforms' file; one writer (the hub) at a time.
#[derive(Debug)]
pub struct RegisteredPlatforms {
    path: PathBuf,
    write: Mutex<()>,
}

impl RegisteredPlatforms {
    /// The file under `state_dir`.
    pub fn new(state_dir: &Path) -> Self {
        Self {
            path: state_dir.join(PLATFORMS_FILE),
            write: Mutex::new(()),
        }
    }

    /// The file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The platforms in the file; none when it does not exist.
    ///
    /// # Errors
    /// A message for the admin when the file exists but cannot be read or parsed: the hub does
    /// not start without platforms it registered (their launches would fail).
    pub fn load(&self) -> Result<Vec<PlatformConfig>, String> {
        match std::fs::read(&self.path) {
            Ok(bytes) => serde_json::from_slice(&bytes).map_err(|e| {
                format!(
                    "{} (the LTI 1.3 platforms registered by Dynamic Registration) cannot be \
                     parsed: {e}; fix it, or move it away and register the platforms again",
                    self.path.display()
                )
            }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Vec::new()),
            Err(e) => Err(format!("cannot read {}: {e}", self.path.display())),
        }
    }

    /// Adds `platform`, replacing an entry of the same issuer and client id (a registration
    /// made again), and writes the file.
    ///
    /// # Errors
    /// The message of [`load`](Self::load) or of the write.
    pub fn add(&self, platform: PlatformConfig) -> Result<Vec<PlatformConfig>, String> {
        let _one_writer = self.write.lock().unwrap_or_else(PoisonError::into_inner);
        let mut all = self.load()?;
        all.retain(|p| !(p.issuer == platform.issuer && p.client_id == platform.client_id));
        all.push(platform);
        let text = serde_json::to_vec_pretty(&all)
            .unwrap_or_else(|e| unreachable!("platforms serialise: {e}"));
        write_atomically(&self.path, &text)
            .map_err(|e| format!("cannot write {}: {e}", self.path.display()))?;
        Ok(all)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn platforms_are_added_replaced_and_reloaded() {
        let dir = tempfile::tempdir().unwrap();
        let store = RegisteredPlatforms::new(dir.path());
        assert!(store.load().unwrap().is_empty());
        store.add(PlatformConfig::moodle("https://m", "a")).unwrap();
        store.add(PlatformConfig::moodle("https://m", "b")).unwrap();
        let again = store
            .add(PlatformConfig::moodle("https://m", "a").with_deployments(["7"]))
            .unwrap();
        assert_eq!(again.len(), 2);
        let loaded = RegisteredPlatforms::new(dir.path()).load().unwrap();
        assert_eq!(loaded, again);
        assert_eq!(loaded[1].deployment_ids, ["7"]);
        std::fs::write(store.path(), "{").unwrap();
        assert!(
            store
                .load()
                .unwrap_err()
                .contains("register the platforms again")
        );
    }
}
