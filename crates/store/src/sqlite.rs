//! [`SqliteStore`]: the [`Store`] on one SQLite file.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use async_trait::async_trait;
use lticontainer_core::store::{
    OAuthClient, OAuthCode, ServerRecord, Store, TokenRecord, UserRecord,
};
use lticontainer_core::{Error, Result};
use rusqlite::{Connection, ErrorCode, OptionalExtension, TransactionBehavior, params};

use crate::convert::{self, to_nanos};
use crate::error::{self, BACKEND};
use crate::schema::{self, MigrateError};

/// Where `lticontainer serve` keeps its state unless configured otherwise.
pub const DEFAULT_PATH: &str = "/var/lib/lticontainer/state.sqlite";

/// How [`SqliteStore::open_with`] opens the database.
#[derive(Debug, Clone)]
pub struct SqliteOptions {
    busy_timeout: Duration,
    max_pages: Option<u32>,
}

impl Default for SqliteOptions {
    fn default() -> Self {
        Self {
            busy_timeout: Duration::from_secs(5),
            max_pages: None,
        }
    }
}

impl SqliteOptions {
    /// The defaults: wait up to 5 s for a lock held by another process, no size limit.
    pub fn new() -> Self {
        Self::default()
    }

    /// How long a call waits for a lock another process holds before failing as
    /// [`Unavailable`](Error::Unavailable).
    pub fn busy_timeout(mut self, timeout: Duration) -> Self {
        self.busy_timeout = timeout;
        self
    }

    /// Caps the database at `pages` pages (4 KiB each by default); a write beyond it fails as a
    /// full disk does.
    pub fn max_pages(mut self, pages: u32) -> Self {
        self.max_pages = Some(pages);
        self
    }
}

/// The hub's state in one SQLite file (WAL mode), created and migrated when opened.
///
/// Each call runs on Tokio's blocking pool; calls are serialised on one connection, which takes
/// microseconds per call. Another process opening the same file waits up to the busy timeout.
///
/// # Example
/// ```no_run
/// use std::sync::Arc;
/// use lticontainer_core::store::Store;
/// use lticontainer_store::SqliteStore;
/// # async fn demo() -> lticontainer_core::Result<()> {
/// let store: Arc<dyn Store> = Arc::new(SqliteStore::open(lticontainer_store::DEFAULT_PATH).await?);
/// println!("{} servers", store.servers().await?.len());
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct SqliteStore {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    path: PathBuf,
    conn: Mutex<Connection>,
}

impl SqliteStore {
    /// Opens (creating when missing) the database at `path` with the default options.
    ///
    /// # Errors
    /// [`Unavailable`](Error::Unavailable) naming the file when it cannot be created, opened or
    /// written, is not a database, or has a schema from a newer lticontainer.
    pub async fn open(path: impl Into<PathBuf>) -> Result<Self> {
        Self::open_with(path, SqliteOptions::default()).await
    }

    /// Opens (creating when missing) the database at `path` with `options`.
    ///
    /// # Errors
    /// As [`SqliteStore::open`].
    pub async fn open_with(path: impl Into<PathBuf>, options: SqliteOptions) -> Result<Self> {
        let path = path.into();
        tokio::task::spawn_blocking(move || Self::open_blocking(path, &options))
            .await
            .map_err(join_error)?
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.inner.path
    }

    fn open_blocking(path: PathBuf, options: &SqliteOptions) -> Result<Self> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|e| {
                let detail = format!(
                    "{}: cannot create the directory {}: {e}",
                    path.display(),
                    dir.display()
                );
                Error::unavailable_because(BACKEND, detail, e)
            })?;
        }
        let sql = |e| error::map(&path, e);
        let mut conn = Connection::open(&path).map_err(sql)?;
        owner_only(&path)?;
        conn.busy_timeout(options.busy_timeout).map_err(sql)?;
        let mode: String = conn
            .pragma_update_and_check(None, "journal_mode", "WAL", |r| r.get(0))
            .map_err(sql)?;
        if !mode.eq_ignore_ascii_case("wal") {
            tracing::warn!(path = %path.display(), mode, "SQLite refused WAL mode; using {mode}");
        }
        conn.pragma_update(None, "synchronous", "NORMAL")
            .map_err(sql)?;
        if let Some(pages) = options.max_pages {
            conn.pragma_update(None, "max_page_count", pages)
                .map_err(sql)?;
        }
        schema::migrate(&mut conn).map_err(|e| match e {
            MigrateError::Sqlite(e) => sql(e),
            too_new @ MigrateError::TooNew { .. } => {
                Error::unavailable(BACKEND, format!("{}: {too_new}", path.display()))
            }
        })?;
        Ok(Self {
            inner: Arc::new(Inner {
                path,
                conn: Mutex::new(conn),
            }),
        })
    }

    /// Runs `f` on the connection on the blocking pool. `f` returns SQLite failures in the
    /// outer result and semantic outcomes (already exists, not found) in the inner one.
    pub(crate) async fn call<T, F>(&self, f: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&mut Connection) -> rusqlite::Result<Result<T>> + Send + 'static,
    {
        let inner = Arc::clone(&self.inner);
        tokio::task::spawn_blocking(move || {
            // A panic inside `f` rolls its transaction back, so a poisoned lock is still usable.
            let mut conn = inner.conn.lock().unwrap_or_else(|p| p.into_inner());
            f(&mut conn).map_err(|e| error::map(&inner.path, e))?
        })
        .await
        .map_err(join_error)?
    }
}

/// Makes the database readable by its owner only: it holds the LMS's web-service tokens (the
/// analytics outbox). SQLite gives its `-wal` and `-shm` files the database's permissions.
fn owner_only(path: &Path) -> Result<()> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600)).map_err(|e| {
        let detail = format!(
            "{}: cannot make the file private (mode 0600): {e}",
            path.display()
        );
        Error::unavailable_because(BACKEND, detail, e)
    })
}

pub(crate) fn join_error(e: tokio::task::JoinError) -> Error {
    Error::Backend {
        backend: BACKEND,
        source: Box::new(e),
    }
}

fn is_constraint(e: &rusqlite::Error) -> bool {
    e.sqlite_error_code() == Some(ErrorCode::ConstraintViolation)
}

fn opt_nanos(t: Option<SystemTime>) -> Option<i64> {
    t.map(to_nanos)
}

#[async_trait]
impl Store for SqliteStore {
    async fn upsert_user(&self, user: UserRecord) -> Result<()> {
        let launch = match &user.last_launch {
            Some(v) => Some(serde_json::to_string(v).map_err(|e| Error::Backend {
                backend: BACKEND,
                source: Box::new(e),
            })?),
            None => None,
        };
        self.call(move |c| {
            c.execute(
                "INSERT INTO users (name, lti_user_id, consumer_key, is_admin, last_launch, created, last_activity)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)
                 ON CONFLICT (name) DO UPDATE SET
                   lti_user_id = excluded.lti_user_id, consumer_key = excluded.consumer_key,
                   is_admin = excluded.is_admin, last_launch = excluded.last_launch,
                   last_activity = excluded.last_activity",
                params![
                    user.name,
                    user.lti_user_id,
                    user.consumer_key,
                    user.is_admin,
                    launch,
                    to_nanos(user.created),
                    opt_nanos(user.last_activity)
                ],
            )?;
            Ok(Ok(()))
        })
        .await
    }

    async fn user(&self, name: &str) -> Result<Option<UserRecord>> {
        let name = name.to_owned();
        self.call(move |c| {
            let sql = format!(
                "SELECT {} FROM users WHERE name = ?1",
                convert::USER_COLUMNS
            );
            c.query_row(&sql, [name], convert::user).optional().map(Ok)
        })
        .await
    }

    async fn users(&self) -> Result<Vec<UserRecord>> {
        self.call(|c| {
            let sql = format!("SELECT {} FROM users ORDER BY name", convert::USER_COLUMNS);
            let mut stmt = c.prepare(&sql)?;
            let rows = stmt.query_map([], convert::user)?;
            rows.collect::<rusqlite::Result<Vec<_>>>().map(Ok)
        })
        .await
    }

    async fn delete_user(&self, name: &str) -> Result<bool> {
        let name = name.to_owned();
        self.call(move |c| {
            let tx = c.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let their_clients = "SELECT id FROM oauth_clients WHERE user = ?1";
            tx.execute(
                &format!("DELETE FROM tokens WHERE user = ?1 OR client_id IN ({their_clients})"),
                [&name],
            )?;
            tx.execute(
                &format!(
                    "DELETE FROM oauth_codes WHERE user = ?1 OR client_id IN ({their_clients})"
                ),
                [&name],
            )?;
            tx.execute("DELETE FROM oauth_clients WHERE user = ?1", [&name])?;
            tx.execute("DELETE FROM servers WHERE user = ?1", [&name])?;
            let n = tx.execute("DELETE FROM users WHERE name = ?1", [&name])?;
            tx.commit()?;
            Ok(Ok(n > 0))
        })
        .await
    }

    async fn touch_activity(&self, name: &str, time: SystemTime) -> Result<()> {
        let name = name.to_owned();
        let t = to_nanos(time);
        self.call(move |c| {
            let tx = c.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let n = tx.execute(
                "UPDATE users SET last_activity = MAX(COALESCE(last_activity, ?2), ?2) WHERE name = ?1",
                params![name, t],
            )?;
            if n == 0 {
                return Ok(Err(Error::not_found(format!("user {name:?}"))));
            }
            tx.execute(
                "UPDATE servers SET last_activity = MAX(COALESCE(last_activity, ?2), ?2) WHERE user = ?1",
                params![name, t],
            )?;
            tx.commit()?;
            Ok(Ok(()))
        })
        .await
    }

    async fn put_server(&self, server: ServerRecord) -> Result<()> {
        self.call(move |c| {
            let tx = c.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let holder: Option<String> = tx
                .query_row(
                    "SELECT user FROM servers WHERE port = ?1 AND user <> ?2",
                    params![server.port, server.user],
                    |r| r.get(0),
                )
                .optional()?;
            if let Some(holder) = holder {
                return Ok(Err(Error::already_exists(format!(
                    "port {} (used by the server of {holder:?})",
                    server.port
                ))));
            }
            let (state, failure) = convert::state_columns(&server.state);
            tx.execute(
                "INSERT INTO servers (user, container_id, container_name, address, port, state, failure, started, last_activity)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)
                 ON CONFLICT (user) DO UPDATE SET
                   container_id = excluded.container_id, container_name = excluded.container_name,
                   address = excluded.address, port = excluded.port, state = excluded.state,
                   failure = excluded.failure, started = excluded.started,
                   last_activity = excluded.last_activity",
                params![
                    server.user,
                    server.container_id,
                    server.container_name,
                    server.address,
                    server.port,
                    state,
                    failure,
                    opt_nanos(server.started),
                    opt_nanos(server.last_activity)
                ],
            )?;
            tx.commit()?;
            Ok(Ok(()))
        })
        .await
    }

    async fn server(&self, user: &str) -> Result<Option<ServerRecord>> {
        let user = user.to_owned();
        self.call(move |c| {
            let sql = format!(
                "SELECT {} FROM servers WHERE user = ?1",
                convert::SERVER_COLUMNS
            );
            c.query_row(&sql, [user], convert::server)
                .optional()
                .map(Ok)
        })
        .await
    }

    async fn servers(&self) -> Result<Vec<ServerRecord>> {
        self.call(|c| {
            let sql = format!(
                "SELECT {} FROM servers ORDER BY user",
                convert::SERVER_COLUMNS
            );
            let mut stmt = c.prepare(&sql)?;
            let rows = stmt.query_map([], convert::server)?;
            rows.collect::<rusqlite::Result<Vec<_>>>().map(Ok)
        })
        .await
    }

    async fn delete_server(&self, user: &str) -> Result<()> {
        let user = user.to_owned();
        self.call(move |c| {
            c.execute("DELETE FROM servers WHERE user = ?1", [user])?;
            Ok(Ok(()))
        })
        .await
    }

    async fn used_ports(&self) -> Result<BTreeSet<u16>> {
        self.call(|c| {
            let mut stmt = c.prepare("SELECT port FROM servers")?;
            let rows = stmt.query_map([], |r| r.get::<_, u16>(0))?;
            rows.collect::<rusqlite::Result<BTreeSet<_>>>().map(Ok)
        })
        .await
    }

    async fn insert_token(&self, token: TokenRecord) -> Result<()> {
        let scopes = serde_json::to_string(&token.scopes).map_err(|e| Error::Backend {
            backend: BACKEND,
            source: Box::new(e),
        })?;
        self.call(move |c| {
            let done = c.execute(
                "INSERT INTO tokens (hash, user, kind, client_id, scopes, created, expires)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                params![
                    token.hash,
                    token.user,
                    token.kind.name(),
                    token.client_id,
                    scopes,
                    to_nanos(token.created),
                    opt_nanos(token.expires)
                ],
            );
            match done {
                Ok(_) => Ok(Ok(())),
                Err(e) if is_constraint(&e) => {
                    Ok(Err(Error::already_exists("token with this hash")))
                }
                Err(e) => Err(e),
            }
        })
        .await
    }

    async fn token(&self, hash: &str) -> Result<Option<TokenRecord>> {
        let hash = hash.to_owned();
        self.call(move |c| {
            let sql = format!(
                "SELECT {} FROM tokens WHERE hash = ?1",
                convert::TOKEN_COLUMNS
            );
            c.query_row(&sql, [hash], convert::token).optional().map(Ok)
        })
        .await
    }

    async fn delete_tokens(&self, user: &str, client_id: Option<&str>) -> Result<u64> {
        let user = user.to_owned();
        let client_id = client_id.map(str::to_owned);
        self.call(move |c| {
            let n = c.execute(
                "DELETE FROM tokens WHERE user = ?1 AND (?2 IS NULL OR client_id = ?2)",
                params![user, client_id],
            )?;
            Ok(Ok(n as u64))
        })
        .await
    }

    async fn put_oauth_client(&self, client: OAuthClient) -> Result<()> {
        self.call(move |c| {
            c.execute(
                "INSERT OR REPLACE INTO oauth_clients (id, secret_hash, redirect_uri, user, description)
                 VALUES (?1, ?2, ?3, ?4, ?5)",
                params![
                    client.id,
                    client.secret_hash,
                    client.redirect_uri,
                    client.user,
                    client.description
                ],
            )?;
            Ok(Ok(()))
        })
        .await
    }

    async fn oauth_client(&self, id: &str) -> Result<Option<OAuthClient>> {
        let id = id.to_owned();
        self.call(move |c| {
            c.query_row(
                "SELECT id, secret_hash, redirect_uri, user, description FROM oauth_clients WHERE id = ?1",
                [id],
                convert::client,
            )
            .optional()
            .map(Ok)
        })
        .await
    }

    async fn put_oauth_code(&self, code: OAuthCode) -> Result<()> {
        self.call(move |c| {
            let done = c.execute(
                "INSERT INTO oauth_codes (code_hash, client_id, user, redirect_uri, expires)
                 VALUES (?1, ?2, ?3, ?4, ?5)",
                params![
                    code.code_hash,
                    code.client_id,
                    code.user,
                    code.redirect_uri,
                    to_nanos(code.expires)
                ],
            );
            match done {
                Ok(_) => Ok(Ok(())),
                Err(e) if is_constraint(&e) => {
                    Ok(Err(Error::already_exists("OAuth code with this hash")))
                }
                Err(e) => Err(e),
            }
        })
        .await
    }

    async fn take_oauth_code(&self, code_hash: &str) -> Result<Option<OAuthCode>> {
        let code_hash = code_hash.to_owned();
        self.call(move |c| {
            c.query_row(
                "DELETE FROM oauth_codes WHERE code_hash = ?1
                 RETURNING code_hash, client_id, user, redirect_uri, expires",
                [code_hash],
                convert::code,
            )
            .optional()
            .map(Ok)
        })
        .await
    }

    async fn purge_expired(&self, now: SystemTime) -> Result<u64> {
        let t = to_nanos(now);
        self.call(move |c| {
            let tx = c.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let tokens = tx.execute(
                "DELETE FROM tokens WHERE expires IS NOT NULL AND expires <= ?1",
                [t],
            )?;
            let codes = tx.execute("DELETE FROM oauth_codes WHERE expires <= ?1", [t])?;
            tx.commit()?;
            Ok(Ok((tokens + codes) as u64))
        })
        .await
    }
}
