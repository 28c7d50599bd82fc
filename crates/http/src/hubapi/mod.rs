//! The part of JupyterHub's hub API that `jupyterhub-singleuser` (JupyterHub 5.x) calls, so stock
//! single-user images run unchanged behind lticontainer.
//!
//! The spawner issues a server's API token and OAuth client and its `JUPYTERHUB_*` environment
//! ([`ServerCredentials`]); [`router`] serves what the server then calls:
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

use std::fmt;
use std::sync::Arc;

use axum::http::HeaderMap;
use lticontainer_core::store::Store;
use lticontainer_hub::credentials::ServerCredentials;

mod activity;
pub mod admin;
mod caller;
mod error;
mod oauth;
mod router;
pub(crate) mod time;

pub use lticontainer_hub::credentials::{
    HubApiConfig, JUPYTERHUB_VERSION, ServerEnv, ServerEnvOptions,
};
pub use router::{router, server_router};

/// Finds the hub user a browser request is signed in as (from the hub's session cookie).
pub type SessionResolver = Arc<dyn Fn(&HeaderMap) -> Option<String> + Send + Sync>;

/// The JupyterHub-compatible hub API: answers the servers' calls with the credentials the
/// spawner issued ([`ServerCredentials`]).
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
/// let env = api.credentials().server_env("alice", 18001, &ServerEnvOptions::default()).await?;
/// assert_eq!(env["JUPYTERHUB_SERVICE_URL"], "http://127.0.0.1:18001/user/alice/");
/// let app: axum::Router = router(api);
/// # Ok(()) }
/// ```
pub struct HubApi {
    credentials: Arc<ServerCredentials>,
    session: SessionResolver,
}

impl fmt::Debug for HubApi {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HubApi")
            .field("credentials", &self.credentials)
            .finish_non_exhaustive()
    }
}

impl HubApi {
    /// A hub API on `store`, identifying browsers with `session`.
    pub fn new(store: Arc<dyn Store>, config: HubApiConfig, session: SessionResolver) -> Self {
        Self::from_credentials(Arc::new(ServerCredentials::new(store, config)), session)
    }

    /// A hub API answering for the servers `credentials` issues, identifying browsers with
    /// `session`.
    pub fn from_credentials(credentials: Arc<ServerCredentials>, session: SessionResolver) -> Self {
        Self {
            credentials,
            session,
        }
    }

    /// The configuration.
    pub fn config(&self) -> &HubApiConfig {
        self.credentials.config()
    }

    /// The credentials of users' servers.
    pub fn credentials(&self) -> &Arc<ServerCredentials> {
        &self.credentials
    }

    fn store(&self) -> &Arc<dyn Store> {
        self.credentials.store()
    }

    fn now(&self) -> std::time::SystemTime {
        self.credentials.clock().now()
    }
}
