//! The [`Store`] trait: the hub's persistent state (users, servers, hashed tokens, OAuth clients
//! and codes), and the record types it keeps.
//!
//! `lticontainer-store` implements it on SQLite; [`InMemoryStore`] is the fake for unit tests.

use std::collections::BTreeSet;
use std::fmt::Debug;
use std::sync::Arc;
use std::time::SystemTime;

use async_trait::async_trait;

use crate::Result;

mod analytics;
mod grades;
mod memory;

pub use analytics::{
    AnalyticsStore, HISTORY_MAX, HistoryEntry, OutboxEntry, OutboxItem, TaughtActivity,
};
pub use grades::{GradeSent, GradeStore, GradeTargetRecord};
pub use memory::InMemoryStore;

/// How the store keeps secrets (tokens, client secrets, OAuth codes): their hash.
pub use crate::auth::hash_token;

/// A user the hub knows, recorded at every LTI launch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserRecord {
    /// The hub user name (also the container and URL name: `/user/<name>/`).
    pub name: String,
    /// The LTI `user_id` of the launch that created or last updated the user.
    pub lti_user_id: String,
    /// The `oauth_consumer_key` of that launch.
    pub consumer_key: String,
    /// Whether the user may reach every server (the hub's admin role).
    pub is_admin: bool,
    /// The parameters of the last launch; they apply at the next spawn.
    pub last_launch: Option<serde_json::Value>,
    /// When the user was first recorded. [`Store::upsert_user`] keeps the first value.
    pub created: SystemTime,
    /// The last activity the hub saw (a launch, a proxied request, an activity report).
    pub last_activity: Option<SystemTime>,
}

/// Where a user's server is in its life.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ServerState {
    /// A spawn is under way.
    Pending,
    /// The server answered and is being proxied.
    Running,
    /// The server was stopped or its container vanished.
    Stopped,
    /// The spawn failed; the text says why, for the admin.
    Failed(String),
}

impl ServerState {
    /// The state's name without the failure text: `pending`, `running`, `stopped` or `failed`.
    pub fn name(&self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Running => "running",
            Self::Stopped => "stopped",
            Self::Failed(_) => "failed",
        }
    }
}

/// A user's (single, unnamed) server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerRecord {
    /// The owner's user name; one server per user.
    pub user: String,
    /// The engine's container id, once the container exists.
    pub container_id: Option<String>,
    /// The container name the hub chose.
    pub container_name: String,
    /// Where the server answers (`host:port`), once known.
    pub address: Option<String>,
    /// The port allocated to the server; unique among the servers in the store.
    pub port: u16,
    /// The server's state.
    pub state: ServerState,
    /// When the spawn started.
    pub started: Option<SystemTime>,
    /// The last activity reported for the server.
    pub last_activity: Option<SystemTime>,
}

/// What a token was issued as.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenKind {
    /// An API token given to a single-user server (`JUPYTERHUB_API_TOKEN`).
    Api,
    /// An OAuth access token issued by `/hub/api/oauth2/token`.
    OAuthAccess,
}

impl TokenKind {
    /// The kind's stored name: `api` or `oauth_access`.
    pub fn name(self) -> &'static str {
        match self {
            Self::Api => "api",
            Self::OAuthAccess => "oauth_access",
        }
    }

    /// Parses a stored name written by [`TokenKind::name`].
    pub fn from_name(name: &str) -> Option<Self> {
        match name {
            "api" => Some(Self::Api),
            "oauth_access" => Some(Self::OAuthAccess),
            _ => None,
        }
    }
}

/// A token, kept by hash: the plaintext is handed out once and never stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenRecord {
    /// [`hash_token`] of the plaintext; the key.
    pub hash: String,
    /// The user the token acts for.
    pub user: String,
    /// What the token was issued as.
    pub kind: TokenKind,
    /// The OAuth client the token was issued to, for [`TokenKind::OAuthAccess`] tokens and
    /// for API tokens that belong to a server's client.
    pub client_id: Option<String>,
    /// The JupyterHub scopes the token grants.
    pub scopes: Vec<String>,
    /// When the token was issued.
    pub created: SystemTime,
    /// When the token stops being valid; `None` never expires.
    pub expires: Option<SystemTime>,
}

impl TokenRecord {
    /// Whether the token has expired at `now`.
    pub fn is_expired(&self, now: SystemTime) -> bool {
        self.expires.is_some_and(|e| e <= now)
    }
}

/// An OAuth client: one per user server (`jupyterhub-user-<name>`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OAuthClient {
    /// The client id.
    pub id: String,
    /// [`hash_token`] of the client secret.
    pub secret_hash: String,
    /// The only redirect URI the client may use.
    pub redirect_uri: String,
    /// The user whose server the client is.
    pub user: String,
    /// A human description, e.g. `Server at /user/alice/`.
    pub description: String,
}

/// An OAuth authorization code waiting to be exchanged for a token (single use).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OAuthCode {
    /// [`hash_token`] of the code; the key.
    pub code_hash: String,
    /// The client the code was issued to.
    pub client_id: String,
    /// The user who authorized the client.
    pub user: String,
    /// The redirect URI the code was issued for; the token request must repeat it.
    pub redirect_uri: String,
    /// When the code stops being valid.
    pub expires: SystemTime,
}

/// The hub's persistent state, used as `Arc<dyn Store>`.
///
/// # Contract
/// * Every method is safe to call concurrently from many tasks; each call is atomic.
/// * Secrets are kept only as [`hash_token`] hashes; the store never sees a plaintext token.
/// * Times round-trip exactly (to the nanosecond) for times after 1970.
/// * Reading something missing returns `Ok(None)`, never an error.
/// * A store that cannot be read or written (disk full, database locked, file read-only) is
///   [`Unavailable`](crate::Error::Unavailable) with a message that names the file and the cause;
///   the call changes nothing.
///
/// # Errors
/// See each method.
///
/// # Example
/// ```
/// use std::sync::Arc;
/// use std::time::SystemTime;
/// use lticontainer_core::store::{InMemoryStore, Store, UserRecord};
/// # async fn demo() -> lticontainer_core::Result<()> {
/// let store: Arc<dyn Store> = Arc::new(InMemoryStore::new());
/// store.upsert_user(UserRecord {
///     name: "alice".into(),
///     lti_user_id: "42".into(),
///     consumer_key: "moodle".into(),
///     is_admin: false,
///     last_launch: None,
///     created: SystemTime::now(),
///     last_activity: None,
/// }).await?;
/// assert!(store.user("alice").await?.is_some());
/// # Ok(()) }
/// ```
#[async_trait]
pub trait Store: Send + Sync + Debug + 'static {
    /// Inserts the user or updates every field of an existing one.
    ///
    /// # Behavior
    /// * An existing user keeps its first `created` time; the other fields are replaced.
    async fn upsert_user(&self, user: UserRecord) -> Result<()>;

    /// The user called `name`, if recorded.
    async fn user(&self, name: &str) -> Result<Option<UserRecord>>;

    /// Every recorded user, ordered by name.
    async fn users(&self) -> Result<Vec<UserRecord>>;

    /// Forgets the user called `name` and everything recorded for them, in one step: their
    /// server, their tokens, their OAuth clients, and the tokens and codes issued to those
    /// clients. Returns whether the user was recorded.
    ///
    /// # Behavior
    /// * Deleting a missing user returns `Ok(false)`; records left under the name are still
    ///   deleted.
    /// * Other users' records are left alone, except tokens and codes issued to `name`'s
    ///   OAuth clients.
    async fn delete_user(&self, name: &str) -> Result<bool>;

    /// Records activity at `time` for the user and, when it has one, the user's server.
    ///
    /// # Behavior
    /// * A time older than the recorded activity leaves the recorded activity as it is.
    /// * An unknown user is [`NotFound`](crate::Error::NotFound).
    async fn touch_activity(&self, name: &str, time: SystemTime) -> Result<()>;

    /// Inserts or replaces the server of `server.user`.
    ///
    /// # Behavior
    /// * A port already used by another user's server is [`AlreadyExists`](crate::Error::AlreadyExists)
    ///   and changes nothing.
    async fn put_server(&self, server: ServerRecord) -> Result<()>;

    /// The server of `user`, if recorded.
    async fn server(&self, user: &str) -> Result<Option<ServerRecord>>;

    /// Every recorded server, ordered by user name.
    async fn servers(&self) -> Result<Vec<ServerRecord>>;

    /// Forgets the server of `user`.
    ///
    /// # Behavior
    /// * Deleting a missing server succeeds.
    async fn delete_server(&self, user: &str) -> Result<()>;

    /// The ports of every recorded server, whatever its state.
    async fn used_ports(&self) -> Result<BTreeSet<u16>>;

    /// Stores a token.
    ///
    /// # Behavior
    /// * A hash already stored is [`AlreadyExists`](crate::Error::AlreadyExists).
    async fn insert_token(&self, token: TokenRecord) -> Result<()>;

    /// The token with this hash, if stored, expired or not (the caller checks
    /// [`TokenRecord::is_expired`]).
    async fn token(&self, hash: &str) -> Result<Option<TokenRecord>>;

    /// Deletes the tokens of `user`: those issued to `client_id` when it is `Some`, all of them
    /// when it is `None`. Returns how many were deleted.
    async fn delete_tokens(&self, user: &str, client_id: Option<&str>) -> Result<u64>;

    /// Inserts or replaces the OAuth client with this id.
    async fn put_oauth_client(&self, client: OAuthClient) -> Result<()>;

    /// The OAuth client with this id, if stored.
    async fn oauth_client(&self, id: &str) -> Result<Option<OAuthClient>>;

    /// Stores an authorization code.
    ///
    /// # Behavior
    /// * A code hash already stored is [`AlreadyExists`](crate::Error::AlreadyExists).
    async fn put_oauth_code(&self, code: OAuthCode) -> Result<()>;

    /// Removes and returns the code with this hash: a code can be taken once.
    ///
    /// # Behavior
    /// * A missing or already taken code is `Ok(None)`; expiry is the caller's check.
    /// * Two concurrent takes of one code return it to exactly one of them.
    async fn take_oauth_code(&self, code_hash: &str) -> Result<Option<OAuthCode>>;

    /// Deletes the tokens and codes that have expired at `now`. Returns how many were deleted.
    ///
    /// # Behavior
    /// * Tokens without an expiry are kept.
    async fn purge_expired(&self, now: SystemTime) -> Result<u64>;
}

macro_rules! forward_store {
    ($ty:ty) => {
        #[deny(clippy::missing_trait_methods)]
        #[async_trait]
        impl<T: Store + ?Sized> Store for $ty {
            async fn upsert_user(&self, user: UserRecord) -> Result<()> {
                (**self).upsert_user(user).await
            }
            async fn user(&self, name: &str) -> Result<Option<UserRecord>> {
                (**self).user(name).await
            }
            async fn users(&self) -> Result<Vec<UserRecord>> {
                (**self).users().await
            }
            async fn delete_user(&self, name: &str) -> Result<bool> {
                (**self).delete_user(name).await
            }
            async fn touch_activity(&self, name: &str, time: SystemTime) -> Result<()> {
                (**self).touch_activity(name, time).await
            }
            async fn put_server(&self, server: ServerRecord) -> Result<()> {
                (**self).put_server(server).await
            }
            async fn server(&self, user: &str) -> Result<Option<ServerRecord>> {
                (**self).server(user).await
            }
            async fn servers(&self) -> Result<Vec<ServerRecord>> {
                (**self).servers().await
            }
            async fn delete_server(&self, user: &str) -> Result<()> {
                (**self).delete_server(user).await
            }
            async fn used_ports(&self) -> Result<BTreeSet<u16>> {
                (**self).used_ports().await
            }
            async fn insert_token(&self, token: TokenRecord) -> Result<()> {
                (**self).insert_token(token).await
            }
            async fn token(&self, hash: &str) -> Result<Option<TokenRecord>> {
                (**self).token(hash).await
            }
            async fn delete_tokens(&self, user: &str, client_id: Option<&str>) -> Result<u64> {
                (**self).delete_tokens(user, client_id).await
            }
            async fn put_oauth_client(&self, client: OAuthClient) -> Result<()> {
                (**self).put_oauth_client(client).await
            }
            async fn oauth_client(&self, id: &str) -> Result<Option<OAuthClient>> {
                (**self).oauth_client(id).await
            }
            async fn put_oauth_code(&self, code: OAuthCode) -> Result<()> {
                (**self).put_oauth_code(code).await
            }
            async fn take_oauth_code(&self, code_hash: &str) -> Result<Option<OAuthCode>> {
                (**self).take_oauth_code(code_hash).await
            }
            async fn purge_expired(&self, now: SystemTime) -> Result<u64> {
                (**self).purge_expired(now).await
            }
        }
    };
}

forward_store!(Arc<T>);
forward_store!(Box<T>);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hash_token_is_sha256_hex() {
        assert_eq!(
            hash_token("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }

    #[test]
    fn token_kind_names_round_trip() {
        for k in [TokenKind::Api, TokenKind::OAuthAccess] {
            assert_eq!(TokenKind::from_name(k.name()), Some(k));
        }
        assert_eq!(TokenKind::from_name("cookie"), None);
    }

    #[test]
    fn expiry_is_inclusive() {
        let now = SystemTime::now();
        let mut t = TokenRecord {
            hash: hash_token("t"),
            user: "u".into(),
            kind: TokenKind::Api,
            client_id: None,
            scopes: vec![],
            created: now,
            expires: None,
        };
        assert!(!t.is_expired(now));
        t.expires = Some(now);
        assert!(t.is_expired(now));
    }
}
