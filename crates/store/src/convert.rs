//! Conversions between core records and SQLite columns.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use lticontainer_core::store::{
    OAuthClient, OAuthCode, ServerRecord, ServerState, TokenKind, TokenRecord, UserRecord,
};
use rusqlite::Row;
use rusqlite::types::Type;

/// A time as nanoseconds since 1970 (negative before), exact for 1678–2262.
pub(crate) fn to_nanos(t: SystemTime) -> i64 {
    match t.duration_since(UNIX_EPOCH) {
        Ok(d) => i64::try_from(d.as_nanos()).unwrap_or(i64::MAX),
        Err(e) => i64::try_from(e.duration().as_nanos()).map_or(i64::MIN, |n| -n),
    }
}

/// The inverse of [`to_nanos`].
pub(crate) fn from_nanos(n: i64) -> SystemTime {
    let d = Duration::from_nanos(n.unsigned_abs());
    if n >= 0 {
        UNIX_EPOCH + d
    } else {
        UNIX_EPOCH - d
    }
}

fn bad_column(idx: usize, ty: Type, msg: String) -> rusqlite::Error {
    rusqlite::Error::FromSqlConversionFailure(idx, ty, msg.into())
}

fn opt_time(row: &Row<'_>, idx: usize) -> rusqlite::Result<Option<SystemTime>> {
    Ok(row.get::<_, Option<i64>>(idx)?.map(from_nanos))
}

/// The columns of `users`, in the order [`user`] reads them.
pub(crate) const USER_COLUMNS: &str =
    "name, lti_user_id, consumer_key, is_admin, last_launch, created, last_activity";

/// Reads a [`UserRecord`] from a row of [`USER_COLUMNS`].
pub(crate) fn user(row: &Row<'_>) -> rusqlite::Result<UserRecord> {
    let last_launch = match row.get::<_, Option<String>>(4)? {
        None => None,
        Some(text) => Some(
            serde_json::from_str(&text)
                .map_err(|e| bad_column(4, Type::Text, format!("last_launch is not JSON: {e}")))?,
        ),
    };
    Ok(UserRecord {
        name: row.get(0)?,
        lti_user_id: row.get(1)?,
        consumer_key: row.get(2)?,
        is_admin: row.get(3)?,
        last_launch,
        created: from_nanos(row.get(5)?),
        last_activity: opt_time(row, 6)?,
    })
}

/// The columns of `servers`, in the order [`server`] reads them.
pub(crate) const SERVER_COLUMNS: &str =
    "user, container_id, container_name, address, port, state, failure, started, last_activity";

/// Splits a [`ServerState`] into its stored name and failure text.
pub(crate) fn state_columns(state: &ServerState) -> (&'static str, Option<&str>) {
    match state {
        ServerState::Failed(why) => (state.name(), Some(why.as_str())),
        other => (other.name(), None),
    }
}

/// Reads a [`ServerRecord`] from a row of [`SERVER_COLUMNS`].
pub(crate) fn server(row: &Row<'_>) -> rusqlite::Result<ServerRecord> {
    let name: String = row.get(5)?;
    let state = match name.as_str() {
        "pending" => ServerState::Pending,
        "running" => ServerState::Running,
        "stopped" => ServerState::Stopped,
        "failed" => ServerState::Failed(row.get::<_, Option<String>>(6)?.unwrap_or_default()),
        other => {
            return Err(bad_column(
                5,
                Type::Text,
                format!("unknown server state {other:?}"),
            ));
        }
    };
    Ok(ServerRecord {
        user: row.get(0)?,
        container_id: row.get(1)?,
        container_name: row.get(2)?,
        address: row.get(3)?,
        port: row.get(4)?,
        state,
        started: opt_time(row, 7)?,
        last_activity: opt_time(row, 8)?,
    })
}

/// The columns of `tokens`, in the order [`token`] reads them.
pub(crate) const TOKEN_COLUMNS: &str = "hash, user, kind, client_id, scopes, created, expires";

/// Reads a [`TokenRecord`] from a row of [`TOKEN_COLUMNS`].
pub(crate) fn token(row: &Row<'_>) -> rusqlite::Result<TokenRecord> {
    let kind: String = row.get(2)?;
    let kind = TokenKind::from_name(&kind)
        .ok_or_else(|| bad_column(2, Type::Text, format!("unknown token kind {kind:?}")))?;
    let scopes: String = row.get(4)?;
    let scopes = serde_json::from_str(&scopes)
        .map_err(|e| bad_column(4, Type::Text, format!("scopes are not a JSON list: {e}")))?;
    Ok(TokenRecord {
        hash: row.get(0)?,
        user: row.get(1)?,
        kind,
        client_id: row.get(3)?,
        scopes,
        created: from_nanos(row.get(5)?),
        expires: opt_time(row, 6)?,
    })
}

/// Reads an [`OAuthClient`] from a row of `id, secret_hash, redirect_uri, user, description`.
pub(crate) fn client(row: &Row<'_>) -> rusqlite::Result<OAuthClient> {
    Ok(OAuthClient {
        id: row.get(0)?,
        secret_hash: row.get(1)?,
        redirect_uri: row.get(2)?,
        user: row.get(3)?,
        description: row.get(4)?,
    })
}

/// Reads an [`OAuthCode`] from a row of `code_hash, client_id, user, redirect_uri, expires`.
pub(crate) fn code(row: &Row<'_>) -> rusqlite::Result<OAuthCode> {
    Ok(OAuthCode {
        code_hash: row.get(0)?,
        client_id: row.get(1)?,
        user: row.get(2)?,
        redirect_uri: row.get(3)?,
        expires: from_nanos(row.get(4)?),
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn times_round_trip_to_the_nanosecond() {
        for t in [
            UNIX_EPOCH,
            UNIX_EPOCH + Duration::new(1_700_000_000, 123_456_789),
            UNIX_EPOCH - Duration::new(5, 7),
        ] {
            assert_eq!(from_nanos(to_nanos(t)), t);
        }
    }
}
