//! Token authentication and `GET /hub/api/user`: who a token belongs to, and with what scopes.

use std::sync::Arc;

use axum::Json;
use axum::extract::{RawQuery, State};
use axum::http::header::AUTHORIZATION;
use axum::http::{HeaderMap, StatusCode};
use lticontainer_core::store::{TokenKind, TokenRecord, UserRecord, hash_token};
use serde_json::{Value, json};

use super::error::JsonError;
use super::{HubApi, time};
use lticontainer_hub::scopes;

/// A valid token and its owner.
#[derive(Debug)]
pub(crate) struct Caller {
    pub(crate) token: TokenRecord,
    pub(crate) user: UserRecord,
}

/// The token a request carries: `Authorization: token <t>` or `Bearer <t>` (any case), else a
/// `?token=<t>` query parameter, as JupyterHub accepts them.
pub(crate) fn request_token(headers: &HeaderMap, query: Option<&str>) -> Option<String> {
    if let Some(value) = headers.get(AUTHORIZATION).and_then(|v| v.to_str().ok()) {
        let value = value.trim();
        let (scheme, rest) = value.split_once(char::is_whitespace)?;
        let rest = rest.trim();
        if (scheme.eq_ignore_ascii_case("token") || scheme.eq_ignore_ascii_case("bearer"))
            && !rest.is_empty()
        {
            return Some(rest.to_owned());
        }
        return None;
    }
    url::form_urlencoded::parse(query?.as_bytes())
        .find(|(k, _)| k == "token")
        .map(|(_, v)| v.into_owned())
        .filter(|v| !v.is_empty())
}

impl HubApi {
    /// The caller a request's token identifies; `None` for a missing, unknown or expired token
    /// or a token whose user is gone.
    pub(crate) async fn caller(
        &self,
        headers: &HeaderMap,
        query: Option<&str>,
    ) -> Result<Option<Caller>, JsonError> {
        let Some(plain) = request_token(headers, query) else {
            return Ok(None);
        };
        let token = self
            .store()
            .token(&hash_token(&plain))
            .await
            .map_err(|e| JsonError::internal("token lookup", &e))?;
        let Some(token) = token.filter(|t| !t.is_expired(self.now())) else {
            return Ok(None);
        };
        let user = self
            .store()
            .user(&token.user)
            .await
            .map_err(|e| JsonError::internal("user lookup", &e))?;
        Ok(user.map(|user| Caller { token, user }))
    }
}

/// A token id in JupyterHub's shape (`a…` for API tokens, `o…` for OAuth tokens), derived from
/// the hash so it never reveals the token.
fn token_id(token: &TokenRecord) -> String {
    let prefix = match token.kind {
        TokenKind::Api => 'a',
        TokenKind::OAuthAccess => 'o',
    };
    format!("{prefix}{}", token.hash.get(..16).unwrap_or(&token.hash))
}

/// The user model JupyterHub's `SelfAPIHandler` returns: the fields the token's scopes allow
/// (plus the identify fields every token may read), `token_id`, `session_id` and the token's
/// own expanded scopes.
pub(crate) fn self_model(caller: &Caller) -> Value {
    let user = &caller.user;
    let held = scopes::expand(&caller.token.scopes);
    let mut model = serde_json::Map::new();
    model.insert("kind".into(), json!("user"));
    model.insert("name".into(), json!(user.name));
    model.insert("admin".into(), json!(user.is_admin));
    model.insert("groups".into(), json!([]));
    if scopes::grants(&held, "read:users:activity", &user.name) {
        model.insert(
            "last_activity".into(),
            json!(user.last_activity.map(time::isoformat)),
        );
    }
    model.insert("token_id".into(), json!(token_id(&caller.token)));
    model.insert("session_id".into(), Value::Null);
    model.insert("scopes".into(), json!(held));
    Value::Object(model)
}

/// `GET /hub/api/user`: 403 `Forbidden` without a valid token, as JupyterHub answers.
pub(crate) async fn get_self(
    State(api): State<Arc<HubApi>>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Result<Json<Value>, JsonError> {
    let caller = api
        .caller(&headers, query.as_deref())
        .await?
        .ok_or_else(|| JsonError::bare(StatusCode::FORBIDDEN))?;
    Ok(Json(self_model(&caller)))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use axum::http::HeaderValue;

    use super::*;

    fn with_auth(v: &'static str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(AUTHORIZATION, HeaderValue::from_static(v));
        h
    }

    #[test]
    fn tokens_from_headers_and_query() {
        assert_eq!(
            request_token(&with_auth("token abc"), None).as_deref(),
            Some("abc")
        );
        assert_eq!(
            request_token(&with_auth("Bearer  abc "), None).as_deref(),
            Some("abc")
        );
        assert_eq!(
            request_token(&with_auth("TOKEN abc"), None).as_deref(),
            Some("abc")
        );
        assert_eq!(request_token(&with_auth("Basic abc"), None), None);
        assert_eq!(request_token(&with_auth("token"), None), None);
        let none = HeaderMap::new();
        assert_eq!(
            request_token(&none, Some("a=1&token=xyz")).as_deref(),
            Some("xyz")
        );
        assert_eq!(request_token(&none, Some("token=")), None);
        assert_eq!(request_token(&none, None), None);
    }
}
