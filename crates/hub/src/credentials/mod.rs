//! [`ServerCredentials`]: what a single-user server needs to talk to the hub — its API token,
//! its OAuth client `jupyterhub-user-<name>`, and the `JUPYTERHUB_*` environment that carries
//! them — issued at each spawn and revoked when the server stops.
//!
//! Tokens and client secrets are kept only as SHA-256 hashes in the [`Store`]. The HTTP front end
//! answers the server's calls with the same [`HubApiConfig`] (`lticontainer-http`'s `hubapi`).

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use lticontainer_core::clock::{Clock, SystemClock};
use lticontainer_core::store::{OAuthClient, Store, TokenKind, TokenRecord, hash_token};
use lticontainer_core::{Error, Result};

use crate::scopes;

mod env;

pub use env::{ServerEnvOptions, hub_env};

/// The JupyterHub version the API reports: the 5.x the project's Jupyter image installs, so
/// `jupyterhub-singleuser`'s version check passes without a mismatch warning.
pub const JUPYTERHUB_VERSION: &str = "5.5.4";

/// Where the hub API lives and how it behaves; shared by the credentials a spawn issues and the
/// HTTP front end that answers the servers' calls.
#[derive(Debug, Clone)]
pub struct HubApiConfig {
    /// The hub's public URL prefix, with both slashes: `/hub/`.
    pub hub_prefix: String,
    /// The prefix of user servers, with both slashes: `/user/` (servers live at `/user/<name>/`).
    pub user_prefix: String,
    /// The hub API URL the containers call (`JUPYTERHUB_API_URL`), e.g.
    /// `http://127.0.0.1:8081/hub/api` with host networking.
    pub api_url: String,
    /// The public host of the hub (`JUPYTERHUB_HOST`): empty when the hub and the servers share
    /// one origin, as they do behind lticontainer's proxy.
    pub public_host: String,
    /// The version reported to single-user servers.
    pub version: String,
    /// How long OAuth access tokens (kept in the browser's cookie for the server) stay valid.
    pub oauth_token_expires_in: Duration,
    /// How long an authorization code may wait for its exchange.
    pub oauth_code_expires_in: Duration,
    /// Where a browser without a hub session is sent by `/hub/api/oauth2/authorize`, with
    /// `?next=<the authorize URL>`; `None` shows the "start from your course" page instead.
    pub login_url: Option<String>,
    /// Whether an admin's session may complete another user's server's OAuth step (open their
    /// server): `hub.admin_access`. Default: `false`.
    pub admin_access: bool,
}

impl Default for HubApiConfig {
    fn default() -> Self {
        Self {
            hub_prefix: "/hub/".into(),
            user_prefix: "/user/".into(),
            api_url: "http://127.0.0.1:8081/hub/api".into(),
            public_host: String::new(),
            version: JUPYTERHUB_VERSION.into(),
            // JupyterHub's default: cookie_max_age_days (14) in seconds.
            oauth_token_expires_in: Duration::from_secs(14 * 24 * 3600),
            oauth_code_expires_in: Duration::from_secs(300),
            login_url: None,
            admin_access: false,
        }
    }
}

impl HubApiConfig {
    /// `/user/<user>/`.
    pub fn server_prefix(&self, user: &str) -> String {
        format!("{}{user}/", self.user_prefix)
    }

    /// `/user/<user>/oauth_callback`.
    pub fn oauth_callback(&self, user: &str) -> String {
        format!("{}oauth_callback", self.server_prefix(user))
    }
}

/// The environment of one server; see [`ServerCredentials::server_env`].
pub type ServerEnv = BTreeMap<String, String>;

/// Issues and revokes the credentials of users' servers.
///
/// # Example
/// ```
/// use std::sync::Arc;
/// use lticontainer_core::store::InMemoryStore;
/// use lticontainer_hub::credentials::{HubApiConfig, ServerCredentials, ServerEnvOptions};
/// # async fn demo() -> lticontainer_core::Result<()> {
/// let creds = ServerCredentials::new(Arc::new(InMemoryStore::new()), HubApiConfig::default());
/// let env = creds.server_env("alice", 18001, &ServerEnvOptions::default()).await?;
/// assert_eq!(env["JUPYTERHUB_SERVICE_URL"], "http://127.0.0.1:18001/user/alice/");
/// # Ok(()) }
/// ```
pub struct ServerCredentials {
    store: Arc<dyn Store>,
    config: HubApiConfig,
    clock: Arc<dyn Clock>,
}

impl fmt::Debug for ServerCredentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ServerCredentials")
            .field("store", &self.store)
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

impl ServerCredentials {
    /// Credentials kept in `store`, for servers under `config`'s prefixes, on the system clock.
    pub fn new(store: Arc<dyn Store>, config: HubApiConfig) -> Self {
        Self {
            store,
            config,
            clock: Arc::new(SystemClock),
        }
    }

    /// The same, reading the time from `clock`.
    #[must_use]
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// The configuration.
    pub fn config(&self) -> &HubApiConfig {
        &self.config
    }

    /// The store the credentials live in.
    pub fn store(&self) -> &Arc<dyn Store> {
        &self.store
    }

    /// The clock the credentials read.
    pub fn clock(&self) -> &Arc<dyn Clock> {
        &self.clock
    }

    /// The OAuth client id of `user`'s server: `jupyterhub-user-<user>`, as JupyterHub names it.
    pub fn client_id(user: &str) -> String {
        format!("jupyterhub-user-{user}")
    }

    /// Revokes every token issued for `user`'s server (its API token and the access tokens of
    /// its OAuth client), as JupyterHub does when a server stops. Returns how many were revoked.
    ///
    /// # Errors
    /// The store's errors.
    pub async fn revoke_server(&self, user: &str) -> Result<u64> {
        self.store
            .delete_tokens(user, Some(&Self::client_id(user)))
            .await
    }

    /// Issues a fresh API token and OAuth client for `user`'s server and stores them (hashed).
    /// Earlier tokens of the server are revoked. Returns the token's plaintext.
    async fn issue(&self, user: &str) -> Result<String> {
        check_user_name(user)?;
        let client_id = Self::client_id(user);
        let token = new_secret();
        let now = self.clock.now();
        self.revoke_server(user).await?;
        // Expired OAuth tokens and unused codes pile up otherwise; a spawn is a good moment.
        let purged = self.store.purge_expired(now).await?;
        if purged > 0 {
            tracing::debug!(purged, "hub API: purged expired tokens and codes");
        }
        self.store
            .insert_token(TokenRecord {
                hash: hash_token(&token),
                user: user.to_owned(),
                kind: TokenKind::Api,
                client_id: Some(client_id.clone()),
                scopes: scopes::server_token_scopes(user),
                created: now,
                expires: None,
            })
            .await?;
        // As in JupyterHub, the client secret is the server's API token.
        self.store
            .put_oauth_client(OAuthClient {
                id: client_id,
                secret_hash: hash_token(&token),
                redirect_uri: self.config.oauth_callback(user),
                user: user.to_owned(),
                description: format!("Server at {}", self.config.server_prefix(user)),
            })
            .await?;
        Ok(token)
    }
}

/// 32 random bytes as 64 hex digits: API tokens, access tokens and codes.
pub fn new_secret() -> String {
    let bytes: [u8; 32] = rand::random();
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Constant-time equality of two hashes.
pub fn same_hash(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

/// Refuses names that cannot appear unescaped in `/user/<name>/` and in a client id.
fn check_user_name(user: &str) -> Result<()> {
    let bad = user.is_empty()
        || user
            .chars()
            .any(|c| c.is_whitespace() || c.is_control() || "/?#%\\\"'<>".contains(c));
    if bad {
        return Err(Error::invalid(format!(
            "user name {user:?} cannot be used in a server URL; names must not be empty or \
             contain spaces or any of / ? # % \\ \" ' < >"
        )));
    }
    Ok(())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_64_hex_digits_and_differ() {
        let (a, b) = (new_secret(), new_secret());
        assert_eq!(a.len(), 64);
        assert!(a.chars().all(|c| c.is_ascii_hexdigit()));
        assert_ne!(a, b);
    }

    #[test]
    fn user_names_for_urls() {
        assert!(check_user_name("alice-2.b_c").is_ok());
        for bad in ["", "a/b", "a b", "a?b", "a%2f", "a\"b"] {
            assert!(check_user_name(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn hash_comparison() {
        assert!(same_hash("abc", "abc"));
        assert!(!same_hash("abc", "abcd"));
        assert!(!same_hash("abc", "abd"));
    }
}
