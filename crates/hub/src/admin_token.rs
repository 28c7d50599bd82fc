//! [`AdminToken`]: the admin service's API token (`[hub] api_token`), kept only as its hash.

use std::fmt;

use lticontainer_core::Error;
use lticontainer_core::store::hash_token;
use serde::Deserialize;

/// The fewest characters an admin token may have, as in the original's `api_token`.
pub const MIN_ADMIN_TOKEN_LEN: usize = 8;

/// The token of the admin service: Moodle's mod_lticontainer sends it (its "JupyterHub API
/// Token") to list users and to stop or delete them. Only its SHA-256 hash is kept, and
/// `Debug` prints no part of it.
///
/// # Example
/// ```
/// use lticontainer_hub::admin_token::AdminToken;
/// let token = AdminToken::new("0123456789abcdef").unwrap();
/// assert!(token.matches("0123456789abcdef"));
/// assert!(!token.matches("0123456789abcdeF"));
/// assert!(AdminToken::new("short").is_err());
/// ```
#[derive(Clone, PartialEq, Eq, Deserialize)]
#[serde(try_from = "String")]
pub struct AdminToken {
    hash: String,
}

impl AdminToken {
    /// The admin token `plain`.
    ///
    /// # Errors
    /// [`Error::InvalidInput`] when `plain` is shorter than [`MIN_ADMIN_TOKEN_LEN`] characters
    /// or contains whitespace (which no `Authorization` header could carry).
    pub fn new(plain: &str) -> lticontainer_core::Result<Self> {
        let chars = plain.chars().count();
        if chars < MIN_ADMIN_TOKEN_LEN {
            return Err(Error::invalid(format!(
                "hub.api_token has {chars} characters; it needs at least {MIN_ADMIN_TOKEN_LEN} \
                 (make one with `openssl rand -hex 32` and give Moodle the same value)"
            )));
        }
        if plain.chars().any(char::is_whitespace) {
            return Err(Error::invalid(
                "hub.api_token contains whitespace, which an Authorization header cannot carry",
            ));
        }
        Ok(Self {
            hash: hash_token(plain),
        })
    }

    /// Whether `presented` is this token, compared by hash in constant time.
    pub fn matches(&self, presented: &str) -> bool {
        crate::credentials::same_hash(&self.hash, &hash_token(presented))
    }
}

impl TryFrom<String> for AdminToken {
    type Error = Error;

    fn try_from(plain: String) -> lticontainer_core::Result<Self> {
        Self::new(&plain)
    }
}

impl fmt::Debug for AdminToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("AdminToken(<hidden>)")
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn short_or_spaced_tokens_are_refused_with_the_field_name() {
        for bad in ["", "1234567", "1234 5678"] {
            let e = AdminToken::new(bad).unwrap_err().to_string();
            assert!(e.contains("hub.api_token"), "{e}");
        }
        assert!(AdminToken::new("12345678").is_ok());
    }

    #[test]
    fn debug_hides_the_token_and_its_hash() {
        let t = AdminToken::new("secret-admin-token").unwrap();
        let shown = format!("{t:?}");
        assert!(!shown.contains("secret"), "{shown}");
        assert!(
            !shown.contains(&hash_token("secret-admin-token")),
            "{shown}"
        );
    }

    #[test]
    fn deserializes_from_a_string_and_checks_it() {
        let t: AdminToken = serde_json::from_str("\"abcdefgh\"").unwrap();
        assert!(t.matches("abcdefgh"));
        let e = serde_json::from_str::<AdminToken>("\"abc\"").unwrap_err();
        assert!(e.to_string().contains("at least 8"), "{e}");
    }
}
