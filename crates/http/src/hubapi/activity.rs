//! `POST /hub/api/users/<name>/activity`: the single-user server's activity reports.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use serde_json::Value;

use super::error::JsonError;
use super::{HubApi, time};
use lticontainer_hub::scopes;

const SERVERS_SHAPE: &str =
    "servers must be a dict of the form {server_name: {last_activity: timestamp}}";

/// Parses one timestamp as JupyterHub's `_parse_timestamp`: 400 when unreadable or more than
/// 59 minutes in the future.
fn parse_timestamp(value: &Value, now: SystemTime) -> Result<SystemTime, JsonError> {
    let bad = || {
        // Python's `%r` of the value, as JupyterHub writes it.
        let shown = match value {
            Value::String(s) => format!("'{s}'"),
            other => other.to_string(),
        };
        JsonError::new(
            StatusCode::BAD_REQUEST,
            format!("Not a valid timestamp: {shown}"),
        )
    };
    let t = value.as_str().and_then(time::parse).ok_or_else(bad)?;
    if t > now + Duration::from_secs(59 * 60) {
        return Err(JsonError::new(
            StatusCode::BAD_REQUEST,
            format!(
                "Rejecting activity from more than an hour in the future: {}",
                time::isoformat(t)
            ),
        ));
    }
    Ok(t)
}

/// Handles an activity report with JupyterHub's checks and error replies.
///
/// * No valid token: 403 `Missing or invalid credentials.`
/// * A token for another user: 404 (JupyterHub hides whether the user exists); a token without
///   the activity scope: 403.
/// * A body that is not a JSON object, lacks both `last_activity` and `servers`, names a server
///   other than the user's, or carries a bad timestamp: 400, and nothing is recorded.
pub(crate) async fn post_activity(
    State(api): State<Arc<HubApi>>,
    Path(name): Path<String>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
    body: Bytes,
) -> Result<StatusCode, JsonError> {
    let caller = api
        .caller(&headers, query.as_deref())
        .await?
        .ok_or_else(|| JsonError::new(StatusCode::FORBIDDEN, "Missing or invalid credentials."))?;
    let held = scopes::expand(&caller.token.scopes);
    if !scopes::grants(&held, "users:activity", &name) {
        tracing::warn!(
            token_user = %caller.user.name,
            target = %name,
            "hub API: activity report refused, the token is not allowed to report for this user"
        );
        return Err(if scopes::holds_any(&held, "users:activity") {
            JsonError::new(
                StatusCode::NOT_FOUND,
                "No access to resources or resources not found",
            )
        } else {
            JsonError::new(
                StatusCode::FORBIDDEN,
                "Action is not authorized with current scopes; requires any of [users:activity]",
            )
        });
    }
    let store = api.store();
    let user = store
        .user(&name)
        .await
        .map_err(|e| JsonError::internal("user lookup", &e))?
        .ok_or_else(|| JsonError::new(StatusCode::NOT_FOUND, format!("No such user: '{name}'")))?;
    let body: Value = if body.iter().all(u8::is_ascii_whitespace) {
        Value::Null
    } else {
        serde_json::from_slice(&body).map_err(|_| {
            JsonError::new(StatusCode::BAD_REQUEST, "Invalid JSON in body of request")
        })?
    };
    let Value::Object(body) = body else {
        return Err(JsonError::new(
            StatusCode::BAD_REQUEST,
            "body must be a json dict",
        ));
    };
    let user_time = body.get("last_activity").filter(|v| is_truthy(v));
    let servers = body.get("servers").filter(|v| is_truthy(v));
    if user_time.is_none() && servers.is_none() {
        return Err(JsonError::new(
            StatusCode::BAD_REQUEST,
            "body must contain at least one of `last_activity` or `servers`",
        ));
    }
    let mut latest: Option<SystemTime> = None;
    if let Some(servers) = servers {
        let Value::Object(servers) = servers else {
            return Err(JsonError::new(StatusCode::BAD_REQUEST, SERVERS_SHAPE));
        };
        let has_server = store
            .server(&name)
            .await
            .map_err(|e| JsonError::internal("server lookup", &e))?
            .is_some();
        for (server_name, info) in servers {
            if !server_name.is_empty() || !has_server {
                return Err(JsonError::new(
                    StatusCode::BAD_REQUEST,
                    format!("No such server '{server_name}' for user {}", user.name),
                ));
            }
            let t = info
                .get("last_activity")
                .ok_or_else(|| JsonError::new(StatusCode::BAD_REQUEST, SERVERS_SHAPE))?;
            let t = parse_timestamp(t, api.now())?;
            latest = Some(latest.map_or(t, |l| l.max(t)));
        }
    }
    if let Some(t) = user_time {
        let t = parse_timestamp(t, api.now())?;
        latest = Some(latest.map_or(t, |l| l.max(t)));
    }
    if let Some(t) = latest {
        store
            .touch_activity(&name, t)
            .await
            .map_err(|e| JsonError::internal("recording activity", &e))?;
    }
    Ok(StatusCode::OK)
}

/// Python truthiness for the JSON values JupyterHub tests with `if value:`.
fn is_truthy(v: &Value) -> bool {
    match v {
        Value::Null => false,
        Value::Bool(b) => *b,
        Value::String(s) => !s.is_empty(),
        Value::Object(m) => !m.is_empty(),
        Value::Array(a) => !a.is_empty(),
        Value::Number(n) => n.as_f64() != Some(0.0),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_in_the_far_future_are_refused() {
        let now = SystemTime::now();
        let soon = time::isoformat(now + Duration::from_secs(60));
        assert!(parse_timestamp(&Value::String(soon), now).is_ok());
        let later = time::isoformat(now + Duration::from_secs(2 * 3600));
        let err = parse_timestamp(&Value::String(later), now).unwrap_err();
        assert_eq!(err.status(), StatusCode::BAD_REQUEST);
        assert!(parse_timestamp(&Value::from(12), now).is_err());
    }

    #[test]
    fn truthiness_follows_python() {
        assert!(!is_truthy(&Value::Null));
        assert!(!is_truthy(&Value::String(String::new())));
        assert!(!is_truthy(&serde_json::json!({})));
        assert!(is_truthy(&serde_json::json!({"": {}})));
    }
}
