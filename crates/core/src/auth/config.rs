//! [`Lti11Config`]: the consumers, window and limits of LTI 1.1 launch verification.

use std::collections::BTreeMap;
use std::fmt;

use serde::Deserialize;

use crate::launch::DEFAULT_USERNAME_KEY;

/// The default timestamp window in seconds (±5 minutes: IMS's guidance and Moodle's own
/// `timestamp_threshold`).
pub const DEFAULT_TIMESTAMP_WINDOW_SECS: u64 = 300;

/// The default bound of the in-memory nonce store: enough for more than 200 launches per second
/// sustained over a 300 s window, at about 100 bytes per entry (≈ 6.5 MB at most).
pub const DEFAULT_NONCE_CAPACITY: usize = 65_536;

/// How LTI 1.1 launches are verified. Deserialises from the hub's configuration file; every
/// field has a default.
///
/// `Debug` prints the consumer keys but never their secrets.
///
/// # Example
/// ```
/// use lticontainer_core::auth::Lti11Config;
/// let config = Lti11Config::default().with_consumer("moodle", "s3cret");
/// assert_eq!(config.timestamp_window_secs, 300);
/// assert!(!format!("{config:?}").contains("s3cret"));
/// ```
#[derive(Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
#[non_exhaustive]
pub struct Lti11Config {
    /// Consumer key → shared secret, one entry per LMS (or per course, if keys are per course).
    /// Default: none, which refuses every launch.
    pub consumers: BTreeMap<String, String>,
    /// How far `oauth_timestamp` may lie from the hub's clock, either way, in seconds; also how
    /// long a nonce is remembered. Default: 300.
    pub timestamp_window_secs: u64,
    /// The launch parameter that carries the username; `user_id` is the fallback when it is
    /// absent (Moodle sends `ext_user_username` only when it shares the launcher's name).
    /// Default: `ext_user_username`.
    pub username_key: String,
    /// The most nonces the in-memory store keeps at once; when full, launches get a 503 until the
    /// oldest expire. Default: 65 536.
    pub nonce_capacity: usize,
}

impl Default for Lti11Config {
    fn default() -> Self {
        Self {
            consumers: BTreeMap::new(),
            timestamp_window_secs: DEFAULT_TIMESTAMP_WINDOW_SECS,
            username_key: DEFAULT_USERNAME_KEY.to_owned(),
            nonce_capacity: DEFAULT_NONCE_CAPACITY,
        }
    }
}

impl Lti11Config {
    /// Adds (or replaces) a consumer key and its secret.
    pub fn with_consumer(mut self, key: impl Into<String>, secret: impl Into<String>) -> Self {
        self.consumers.insert(key.into(), secret.into());
        self
    }

    /// Sets the timestamp window in seconds.
    pub fn with_timestamp_window_secs(mut self, secs: u64) -> Self {
        self.timestamp_window_secs = secs;
        self
    }

    /// Sets the parameter that carries the username.
    pub fn with_username_key(mut self, key: impl Into<String>) -> Self {
        self.username_key = key.into();
        self
    }

    /// Sets the bound of the in-memory nonce store.
    pub fn with_nonce_capacity(mut self, capacity: usize) -> Self {
        self.nonce_capacity = capacity;
        self
    }

    /// Checks the configuration for values that would make every launch fail or weaken it.
    ///
    /// # Errors
    /// [`crate::Error::InvalidInput`] naming the field: a blank consumer key or secret, a
    /// secret with surrounding whitespace (a copy-paste slip that makes every signature fail),
    /// a window of 0 or over one day, a blank username key, or a nonce capacity of 0.
    pub fn validate(&self) -> crate::Result<()> {
        for (key, secret) in &self.consumers {
            if key.trim().is_empty() {
                return Err(crate::Error::invalid(
                    "lti.consumers has a blank consumer key",
                ));
            }
            if secret.is_empty() {
                return Err(crate::Error::invalid(format!(
                    "lti.consumers: the secret of consumer key {key:?} is empty"
                )));
            }
            if secret.trim() != secret {
                return Err(crate::Error::invalid(format!(
                    "lti.consumers: the secret of consumer key {key:?} starts or ends with whitespace; \
                     the LMS signs with the exact secret, so remove it (or the LMS side has it too)"
                )));
            }
        }
        if self.timestamp_window_secs == 0 || self.timestamp_window_secs > 86_400 {
            return Err(crate::Error::invalid(format!(
                "lti.timestamp_window_secs is {}; use 1 to 86400 seconds (300 is Moodle's own)",
                self.timestamp_window_secs
            )));
        }
        if self.username_key.trim().is_empty() {
            return Err(crate::Error::invalid("lti.username_key is blank"));
        }
        if self.nonce_capacity == 0 {
            return Err(crate::Error::invalid(
                "lti.nonce_capacity is 0, which would refuse every launch",
            ));
        }
        Ok(())
    }
}

impl fmt::Debug for Lti11Config {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Lti11Config")
            .field("consumers", &self.consumers.keys().collect::<Vec<_>>())
            .field("timestamp_window_secs", &self.timestamp_window_secs)
            .field("username_key", &self.username_key)
            .field("nonce_capacity", &self.nonce_capacity)
            .finish()
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_documented_values() {
        let c = Lti11Config::default();
        assert_eq!(c.timestamp_window_secs, 300);
        assert_eq!(c.username_key, "ext_user_username");
        assert_eq!(c.nonce_capacity, 65_536);
        assert!(c.consumers.is_empty());
    }

    #[test]
    fn deserialises_with_defaults() {
        let c: Lti11Config =
            serde_json::from_str(r#"{"consumers": {"moodle": "s"}, "timestamp_window_secs": 60}"#)
                .unwrap();
        assert_eq!(c.consumers["moodle"], "s");
        assert_eq!(c.timestamp_window_secs, 60);
        assert_eq!(c.username_key, "ext_user_username");
        assert!(serde_json::from_str::<Lti11Config>(r#"{"consumer": {}}"#).is_err());
    }

    #[test]
    fn validate_names_the_bad_field() {
        let ok = Lti11Config::default().with_consumer("k", "s");
        ok.validate().unwrap();
        let cases = [
            (ok.clone().with_consumer(" ", "s"), "blank consumer key"),
            (ok.clone().with_consumer("k", ""), "is empty"),
            (ok.clone().with_consumer("k", "s "), "whitespace"),
            (
                ok.clone().with_timestamp_window_secs(0),
                "timestamp_window_secs",
            ),
            (
                ok.clone().with_timestamp_window_secs(86_401),
                "timestamp_window_secs",
            ),
            (ok.clone().with_username_key(""), "username_key"),
            (ok.clone().with_nonce_capacity(0), "nonce_capacity"),
        ];
        for (config, needle) in cases {
            let err = config.validate().unwrap_err().to_string();
            assert!(err.contains(needle), "{err} lacks {needle}");
        }
    }

    #[test]
    fn debug_hides_secrets() {
        let c = Lti11Config::default().with_consumer("key1", "topsecret");
        let d = format!("{c:?}");
        assert!(d.contains("key1") && !d.contains("topsecret"), "{d}");
    }
}
