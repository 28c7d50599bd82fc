//! The part of JupyterHub's hub API that `jupyterhub-singleuser` (JupyterHub 5.x) calls, so stock
//! single-user images run unchanged behind lticontainer.
//!
//! [`HubApi::server_env`] issues a server's API token and OAuth client and returns the
//! `JUPYTERHUB_*` environment; [`router`] serves what the server then calls:
//!
//! | endpoint | caller | purpose |
//! |---|---|---|
//! | `GET /hub/api` | server at start | version check (`{"version"}` + `X-JupyterHub-Version`) |
//! | `GET /hub/api/oauth2/authorize` | the student's browser | issues a single-use code to the owner (or an admin) |
//! | `POST /hub/api/oauth2/token` | server | exchanges the code for an access token |
//! | `GET /hub/api/user` | server | identifies a token: the user model with its scopes |
//! | `POST /hub/api/users/<name>/activity` | server | activity reports |
//!
//! Any other path under `/hub/api/` is JupyterHub's JSON 404. Tokens, client secrets and codes are
//! kept only as SHA-256 hashes in the [`Store`].

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use axum::http::HeaderMap;
use lticontainer_core::store::{OAuthClient, Store, TokenKind, TokenRecord, hash_token};
use lticontainer_core::{Error, Result};

mod activity;
pub mod admin;
mod env;
mod error;
mod identity;
mod oauth;
mod router;
mod scopes;
mod time;

pub use env::ServerEnvOptions;
pub use router::router;

/// Finds the hub user a browser request is signed in as (from the hub's session cookie).
pub type SessionResolver = Arc<dyn Fn(&HeaderMap) -> Option<String> + Send + Sync>;

/// The JupyterHub version the API reports: the 5.x the project's Jupyter image installs, so
/// `jupyterhub-singleuser`'s version check passes without a mismatch warning.
pub const JUPYTERHUB_VERSION: &str = "5.5.4";

/// Where the hub API lives and how it behaves.
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
        }
    }
}

/// The JupyterHub-compatible hub API: issues server credentials and answers the servers' calls.
///
/// # Example
/// ```
/// use std::sync::Arc;
/// use lticontainer_core::store::InMemoryStore;
/// use lticontainer_http::hubapi::{HubApi, HubApiConfig, ServerEnvOptions, router};
/// # async fn demo() -> lticontainer_core::Result<()> {
/// let api = Arc::new(HubApi::new(
///     Arc::new(InMemoryStore::new()),
///     HubApiConfig::default(),
///     Arc::new(|_headers| None), // the hub's session cookie resolver
/// ));
/// let env = api.server_env("alice", 18001, &ServerEnvOptions::default()).await?;
/// assert_eq!(env["JUPYTERHUB_SERVICE_URL"], "http://127.0.0.1:18001/user/alice/");
/// let app: axum::Router = router(api);
/// # Ok(()) }
/// ```
pub struct HubApi {
    store: Arc<dyn Store>,
    config: HubApiConfig,
    session: SessionResolver,
}

impl fmt::Debug for HubApi {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HubApi")
            .field("store", &self.store)
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

impl HubApi {
    /// A hub API on `store`, identifying browsers with `session`.
    pub fn new(store: Arc<dyn Store>, config: HubApiConfig, session: SessionResolver) -> Self {
        Self {
            store,
            config,
            session,
        }
    }

    /// The configuration.
    pub fn config(&self) -> &HubApiConfig {
        &self.config
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
    async fn issue_server_credentials(&self, user: &str) -> Result<String> {
        check_user_name(user)?;
        let client_id = Self::client_id(user);
        let token = new_secret();
        let now = SystemTime::now();
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
                redirect_uri: self.oauth_callback(user),
                user: user.to_owned(),
                description: format!("Server at {}", self.server_prefix(user)),
            })
            .await?;
        Ok(token)
    }

    /// `/user/<user>/`.
    fn server_prefix(&self, user: &str) -> String {
        format!("{}{user}/", self.config.user_prefix)
    }

    /// `/user/<user>/oauth_callback`.
    fn oauth_callback(&self, user: &str) -> String {
        format!("{}oauth_callback", self.server_prefix(user))
    }
}

/// 32 random bytes as 64 hex digits: API tokens, access tokens and codes.
fn new_secret() -> String {
    let bytes: [u8; 32] = rand::random();
    bytes.iter().map(|b| format!("{b:02x}")).collect()
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

/// Constant-time equality of two hashes.
fn same_hash(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

/// The environment of one server; see [`HubApi::server_env`].
pub type ServerEnv = BTreeMap<String, String>;

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
        assert!(!same_hash("abc", "abd"));
        assert!(!same_hash("abc", "abcd"));
    }
}
