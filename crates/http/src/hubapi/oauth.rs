//! JupyterHub's OAuth2 provider: `GET /hub/api/oauth2/authorize` (browser, needs a hub session)
//! and `POST /hub/api/oauth2/token` (the server exchanging its code for an access token).

use std::collections::HashMap;
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{OriginalUri, RawQuery, State};
use axum::http::header::{AUTHORIZATION, CACHE_CONTROL, CONTENT_TYPE, LOCATION, PRAGMA};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use lticontainer_core::store::{OAuthCode, TokenKind, TokenRecord, hash_token};
use serde_json::json;

use super::HubApi;
use crate::pages;
use lticontainer_hub::credentials::{new_secret, same_hash};
use lticontainer_hub::scopes;

fn params(query: Option<&str>) -> HashMap<String, String> {
    url::form_urlencoded::parse(query.unwrap_or_default().as_bytes())
        .into_owned()
        .collect()
}

/// `redirect_uri` with `pairs` added to its query.
fn with_query(redirect_uri: &str, pairs: &[(&str, &str)]) -> String {
    let mut q = url::form_urlencoded::Serializer::new(String::new());
    for (k, v) in pairs {
        q.append_pair(k, v);
    }
    let sep = if redirect_uri.contains('?') { '&' } else { '?' };
    format!("{redirect_uri}{sep}{}", q.finish())
}

fn redirect(to: &str) -> Response {
    (
        StatusCode::FOUND,
        [
            (LOCATION, to.to_owned()),
            (CACHE_CONTROL, "no-store".to_owned()),
        ],
    )
        .into_response()
}

fn error_page(status: StatusCode, text: &str) -> Response {
    pages::message(status, "Cannot sign you in to your server", text)
}

/// `GET /hub/api/oauth2/authorize?client_id&redirect_uri&response_type=code&state`.
///
/// * No hub session: the login URL (with `next`) or the "start from your course" page.
/// * Unknown client, or a `redirect_uri` other than the client's: a 400 page, no redirect.
/// * A signed-in user who is neither the server's owner nor an admin: a 403 page.
/// * Otherwise: a single-use code, and a 302 to `redirect_uri?code=…&state=…`.
pub(crate) async fn authorize(
    State(api): State<Arc<HubApi>>,
    headers: HeaderMap,
    OriginalUri(uri): OriginalUri,
    RawQuery(query): RawQuery,
) -> Response {
    let Some(current) = (api.session)(&headers) else {
        return match &api.config().login_url {
            Some(login) => {
                let next = uri.to_string();
                redirect(&with_query(login, &[("next", &next)]))
            }
            None => pages::launch_from_course(),
        };
    };
    let p = params(query.as_deref());
    let Some(client_id) = p.get("client_id").filter(|c| !c.is_empty()) else {
        return error_page(StatusCode::BAD_REQUEST, "Missing client_id parameter.");
    };
    let client = match api.store().oauth_client(client_id).await {
        Ok(Some(c)) => c,
        Ok(None) => {
            tracing::warn!(client_id, user = current, "OAuth authorize: no such client");
            return error_page(
                StatusCode::BAD_REQUEST,
                "Invalid client_id parameter value. Your server may have been restarted; open \
                 the Jupyter activity in your course again.",
            );
        }
        Err(e) => return store_failure("OAuth client lookup", &e),
    };
    let redirect_uri = match p.get("redirect_uri") {
        Some(r) if *r != client.redirect_uri => {
            tracing::warn!(
                client_id,
                redirect_uri = r,
                expected = client.redirect_uri,
                "OAuth authorize: redirect URI mismatch"
            );
            return error_page(StatusCode::BAD_REQUEST, "Mismatching redirect URI.");
        }
        _ => client.redirect_uri.clone(),
    };
    let state = p.get("state").cloned().unwrap_or_default();
    let with_state = |mut pairs: Vec<(&'static str, String)>| {
        if !state.is_empty() {
            pairs.push(("state", state.clone()));
        }
        let pairs: Vec<(&str, &str)> = pairs.iter().map(|(k, v)| (*k, v.as_str())).collect();
        with_query(&redirect_uri, &pairs)
    };
    if p.get("response_type").map(String::as_str) != Some("code") {
        return redirect(&with_state(vec![(
            "error",
            "unsupported_response_type".into(),
        )]));
    }
    if current != client.user {
        // An admin opens another user's server only with `hub.admin_access` (off by default).
        let admin = api.config().admin_access
            && match api.store().user(&current).await {
                Ok(u) => u.is_some_and(|u| u.is_admin),
                Err(e) => return store_failure("user lookup", &e),
            };
        if !admin {
            tracing::warn!(
                user = current,
                client_id,
                "OAuth authorize: not the server's owner"
            );
            return pages::message(
                StatusCode::FORBIDDEN,
                "Not your server",
                &format!(
                    "You are signed in as \"{current}\" and do not have permission to access {}. \
                     Open the Jupyter activity in your course to reach your own server.",
                    client.description
                ),
            );
        }
    }
    let code = new_secret();
    let record = OAuthCode {
        code_hash: hash_token(&code),
        client_id: client.id.clone(),
        user: current,
        redirect_uri: redirect_uri.clone(),
        expires: api.now() + api.config().oauth_code_expires_in,
    };
    if let Err(e) = api.store().put_oauth_code(record).await {
        return store_failure("storing an OAuth code", &e);
    }
    redirect(&with_state(vec![("code", code)]))
}

fn store_failure(what: &str, err: &lticontainer_core::Error) -> Response {
    tracing::error!(error = %err, cause = ?std::error::Error::source(err), "hub API: {what} failed");
    error_page(
        StatusCode::SERVICE_UNAVAILABLE,
        "The hub cannot reach its state store right now. Please try again in a minute; if it \
         keeps happening, tell your teacher.",
    )
}

/// An OAuth2 error reply as oauthlib writes it: `{"error": …, "error_description"?: …}`.
fn oauth_error(status: StatusCode, error: &str, description: Option<&str>) -> Response {
    let mut body = json!({ "error": error });
    if let Some(d) = description {
        body["error_description"] = json!(d);
    }
    json_reply(status, body.to_string())
}

fn json_reply(status: StatusCode, body: String) -> Response {
    (
        status,
        [
            (CONTENT_TYPE, "application/json"),
            (CACHE_CONTROL, "no-store"),
            (PRAGMA, "no-cache"),
        ],
        body,
    )
        .into_response()
}

/// The client credentials of a token request: HTTP Basic first, else the body's
/// `client_id`/`client_secret` (RFC 6749 §2.3.1).
fn client_credentials(
    headers: &HeaderMap,
    form: &HashMap<String, String>,
) -> (Option<String>, Option<String>) {
    let basic = headers
        .get(AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split_once(' '))
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("basic"))
        .and_then(|(_, b64)| {
            base64::engine::general_purpose::STANDARD
                .decode(b64.trim())
                .ok()
        })
        .and_then(|raw| String::from_utf8(raw).ok());
    if let Some((id, secret)) = basic.as_deref().and_then(|s| s.split_once(':')) {
        let decode = |s: &str| percent_decode(s);
        return (Some(decode(id)), Some(decode(secret)));
    }
    (
        form.get("client_id").cloned(),
        form.get("client_secret").cloned(),
    )
}

fn percent_decode(s: &str) -> String {
    url::form_urlencoded::parse(format!("x={s}").as_bytes())
        .next()
        .map(|(_, v)| v.into_owned())
        .unwrap_or_default()
}

/// `POST /hub/api/oauth2/token` with `grant_type=authorization_code`, checked in oauthlib's
/// order: grant type (400 `unsupported_grant_type`), code present (400 `invalid_request`),
/// client credentials (401 `invalid_client`), code valid, unexpired and issued to this client
/// (400 `invalid_grant`; the code is used up either way), redirect URI as issued (400
/// `invalid_request`).
pub(crate) async fn token(
    State(api): State<Arc<HubApi>>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
    body: Bytes,
) -> Response {
    let mut form = params(query.as_deref());
    form.extend(url::form_urlencoded::parse(&body).into_owned());
    match form.get("grant_type").map(String::as_str) {
        Some("authorization_code") => {}
        _ => return oauth_error(StatusCode::BAD_REQUEST, "unsupported_grant_type", None),
    }
    let Some(code) = form.get("code").filter(|c| !c.is_empty()) else {
        return oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            Some("Missing code parameter."),
        );
    };
    let (Some(client_id), Some(secret)) = client_credentials(&headers, &form) else {
        return oauth_error(StatusCode::UNAUTHORIZED, "invalid_client", None);
    };
    let client = match api.store().oauth_client(&client_id).await {
        Ok(c) => c,
        Err(e) => return token_store_failure("OAuth client lookup", &e),
    };
    let Some(client) =
        client.filter(|c| !secret.is_empty() && same_hash(&c.secret_hash, &hash_token(&secret)))
    else {
        tracing::warn!(client_id, "OAuth token: client authentication failed");
        return oauth_error(StatusCode::UNAUTHORIZED, "invalid_client", None);
    };
    let taken = match api.store().take_oauth_code(&hash_token(code)).await {
        Ok(c) => c,
        Err(e) => return token_store_failure("taking an OAuth code", &e),
    };
    let now = api.now();
    let Some(code) = taken.filter(|c| c.client_id == client.id && c.expires > now) else {
        tracing::warn!(
            client_id,
            "OAuth token: unknown, used, expired or foreign code"
        );
        return oauth_error(StatusCode::BAD_REQUEST, "invalid_grant", None);
    };
    if form.get("redirect_uri") != Some(&code.redirect_uri) {
        tracing::warn!(
            client_id,
            "OAuth token: redirect URI differs from the authorization's"
        );
        return oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            Some("Mismatching redirect URI."),
        );
    }
    let access = new_secret();
    let granted = scopes::oauth_token_scopes(&client.user, &code.user);
    let expires_in = api.config().oauth_token_expires_in;
    let record = TokenRecord {
        hash: hash_token(&access),
        user: code.user.clone(),
        kind: TokenKind::OAuthAccess,
        client_id: Some(client.id.clone()),
        scopes: granted.clone(),
        created: now,
        expires: Some(now + expires_in),
    };
    if let Err(e) = api.store().insert_token(record).await {
        return token_store_failure("storing an access token", &e);
    }
    let body = json!({
        "access_token": access,
        "expires_in": expires_in.as_secs(),
        "token_type": "Bearer",
        "scope": granted.join(" "),
    });
    json_reply(StatusCode::OK, body.to_string())
}

fn token_store_failure(what: &str, err: &lticontainer_core::Error) -> Response {
    tracing::error!(error = %err, cause = ?std::error::Error::source(err), "hub API: {what} failed");
    json_reply(
        StatusCode::SERVICE_UNAVAILABLE,
        json!({ "status": 503, "message": "the hub's state store is unavailable" }).to_string(),
    )
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use axum::http::HeaderValue;

    use super::*;

    #[test]
    fn query_is_appended_and_encoded() {
        assert_eq!(
            with_query(
                "/user/a/oauth_callback",
                &[("code", "c"), ("state", "a b&c")]
            ),
            "/user/a/oauth_callback?code=c&state=a+b%26c"
        );
        assert_eq!(with_query("/x?y=1", &[("code", "c")]), "/x?y=1&code=c");
    }

    #[test]
    fn basic_credentials_win_over_the_body() {
        let mut h = HeaderMap::new();
        let b64 = base64::engine::general_purpose::STANDARD.encode("jupyterhub-user-a:s%3Acret");
        h.insert(
            AUTHORIZATION,
            HeaderValue::from_str(&format!("Basic {b64}")).unwrap(),
        );
        let form = HashMap::from([("client_id".to_owned(), "other".to_owned())]);
        let (id, secret) = client_credentials(&h, &form);
        assert_eq!(id.as_deref(), Some("jupyterhub-user-a"));
        assert_eq!(secret.as_deref(), Some("s:cret"));
        let (id, secret) = client_credentials(&HeaderMap::new(), &form);
        assert_eq!((id.as_deref(), secret), (Some("other"), None));
    }
}
