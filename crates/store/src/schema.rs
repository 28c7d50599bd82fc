//! The database schema and its migrations, versioned by `PRAGMA user_version`.

use rusqlite::Connection;

/// The schema version this build writes.
pub(crate) const VERSION: i64 = 5;

/// The statements that take a database from version `i` to `i + 1`.
const MIGRATIONS: &[&str] = &[
    // 0 → 1: the first schema.
    "CREATE TABLE users (
        name          TEXT PRIMARY KEY NOT NULL,
        lti_user_id   TEXT NOT NULL,
        consumer_key  TEXT NOT NULL,
        is_admin      INTEGER NOT NULL,
        last_launch   TEXT,
        created       INTEGER NOT NULL,
        last_activity INTEGER
    );
    CREATE TABLE servers (
        user           TEXT PRIMARY KEY NOT NULL,
        container_id   TEXT,
        container_name TEXT NOT NULL,
        address        TEXT,
        port           INTEGER NOT NULL UNIQUE,
        state          TEXT NOT NULL,
        failure        TEXT,
        started        INTEGER,
        last_activity  INTEGER
    );
    CREATE TABLE tokens (
        hash      TEXT PRIMARY KEY NOT NULL,
        user      TEXT NOT NULL,
        kind      TEXT NOT NULL,
        client_id TEXT,
        scopes    TEXT NOT NULL,
        created   INTEGER NOT NULL,
        expires   INTEGER
    );
    CREATE INDEX tokens_by_user ON tokens (user, client_id);
    CREATE TABLE oauth_clients (
        id           TEXT PRIMARY KEY NOT NULL,
        secret_hash  TEXT NOT NULL,
        redirect_uri TEXT NOT NULL,
        user         TEXT NOT NULL,
        description  TEXT NOT NULL
    );
    CREATE TABLE oauth_codes (
        code_hash    TEXT PRIMARY KEY NOT NULL,
        client_id    TEXT NOT NULL,
        user         TEXT NOT NULL,
        redirect_uri TEXT NOT NULL,
        expires      INTEGER NOT NULL
    );",
    // 1 → 2: learning analytics: each user's LMS target and the outbox of notebook logs.
    "CREATE TABLE lms_targets (
        user     TEXT PRIMARY KEY NOT NULL,
        inst_id  INTEGER NOT NULL,
        lti_id   INTEGER NOT NULL,
        endpoint TEXT NOT NULL,
        token    TEXT NOT NULL
    );
    CREATE TABLE outbox (
        id       INTEGER PRIMARY KEY AUTOINCREMENT,
        user     TEXT NOT NULL,
        endpoint TEXT NOT NULL,
        token    TEXT NOT NULL,
        log      TEXT NOT NULL,
        captured INTEGER NOT NULL
    );",
    // 2 → 3: the history of the latest notebook logs (the teachers' dashboard), delivered or not.
    "CREATE TABLE nb_history (
        id       INTEGER PRIMARY KEY NOT NULL,
        user     TEXT NOT NULL,
        log      TEXT NOT NULL,
        captured INTEGER NOT NULL
    );",
    // 3 → 4: grades back to the LMS: each student's grade target per activity (the LTI 1.1
    // sourcedid, a secret of the LMS) and what was sent for each activity, column and student.
    "CREATE TABLE grade_targets (
        activity TEXT NOT NULL,
        user     TEXT NOT NULL,
        login    TEXT,
        target   TEXT NOT NULL,
        updated  INTEGER NOT NULL,
        PRIMARY KEY (activity, user)
    );
    CREATE TABLE grades_sent (
        activity TEXT NOT NULL,
        col      TEXT NOT NULL,
        user     TEXT NOT NULL,
        score    REAL NOT NULL,
        max      REAL NOT NULL,
        success  INTEGER NOT NULL,
        answer   TEXT NOT NULL,
        sent     INTEGER NOT NULL,
        PRIMARY KEY (activity, col, user)
    );",
    // 4 → 5: the activities each teacher launched from as a teacher (their dashboards).
    "CREATE TABLE taught (
        user    TEXT NOT NULL,
        lti_id  INTEGER NOT NULL,
        inst_id INTEGER NOT NULL,
        title   TEXT NOT NULL,
        PRIMARY KEY (user, lti_id)
    );",
];

/// What [`migrate`] found wrong with a database.
#[derive(Debug, thiserror::Error)]
pub(crate) enum MigrateError {
    /// SQLite failed.
    #[error(transparent)]
    Sqlite(#[from] rusqlite::Error),
    /// The file was written by a newer lticontainer.
    #[error(
        "the database has schema version {found}, newer than this lticontainer understands ({VERSION}); upgrade lticontainer"
    )]
    TooNew {
        /// The version in the file.
        found: i64,
    },
}

/// Brings the database to [`VERSION`], each step in one transaction.
pub(crate) fn migrate(conn: &mut Connection) -> Result<(), MigrateError> {
    loop {
        let found: i64 = conn.pragma_query_value(None, "user_version", |r| r.get(0))?;
        if found > VERSION {
            return Err(MigrateError::TooNew { found });
        }
        let Some(step) = usize::try_from(found).ok().and_then(|i| MIGRATIONS.get(i)) else {
            return Ok(());
        };
        let tx = conn.transaction()?;
        tx.execute_batch(step)?;
        tx.pragma_update(None, "user_version", found + 1)?;
        tx.commit()?;
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn migrations_reach_the_current_version_and_are_idempotent() {
        assert_eq!(MIGRATIONS.len() as i64, VERSION);
        let mut conn = Connection::open_in_memory().unwrap();
        migrate(&mut conn).unwrap();
        migrate(&mut conn).unwrap();
        let v: i64 = conn
            .pragma_query_value(None, "user_version", |r| r.get(0))
            .unwrap();
        assert_eq!(v, VERSION);
    }

    #[test]
    fn a_version_3_database_keeps_its_records_and_gets_the_grade_tables() {
        let mut conn = Connection::open_in_memory().unwrap();
        for step in &MIGRATIONS[..3] {
            conn.execute_batch(step).unwrap();
        }
        conn.pragma_update(None, "user_version", 3).unwrap();
        conn.execute(
            "INSERT INTO users (name, lti_user_id, consumer_key, is_admin, created) \
             VALUES ('amy', '4', 'moodle', 0, 1)",
            [],
        )
        .unwrap();
        migrate(&mut conn).unwrap();
        let users: i64 = conn
            .query_row("SELECT COUNT(*) FROM users", [], |r| r.get(0))
            .unwrap();
        assert_eq!(users, 1);
        for table in ["grade_targets", "grades_sent"] {
            let n: i64 = conn
                .query_row(&format!("SELECT COUNT(*) FROM {table}"), [], |r| r.get(0))
                .unwrap();
            assert_eq!(n, 0, "{table}");
        }
    }

    #[test]
    fn a_newer_schema_is_refused() {
        let mut conn = Connection::open_in_memory().unwrap();
        conn.pragma_update(None, "user_version", VERSION + 1)
            .unwrap();
        let err = migrate(&mut conn).unwrap_err();
        assert!(err.to_string().contains("upgrade lticontainer"), "{err}");
    }
}
