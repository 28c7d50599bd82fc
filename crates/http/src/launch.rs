//! `POST /hub/lti/launch`: verify the launch, record the user, set the session cookie, start the
//! spawn in the background and send the browser to the progress page at once.

use axum::extract::{Request, State};
use axum::http::header::{AUTHORIZATION, LOCATION, SET_COOKIE};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use lticontainer_core::auth::LaunchRequest;
use lticontainer_core::launch::{DEFAULT_USERNAME_KEY, LtiLaunch};
use lticontainer_core::store::UserRecord;
use lticontainer_hub::accounts::check_owner;
use lticontainer_hub::spawner::SpawnRequest;
use serde_json::json;

use crate::error::PageError;
use crate::frame::MAX_LEARNED_ORIGINS_PER_CONSUMER;
use crate::limits::MAX_LAUNCH_BODY;
use crate::peer::peer_ip;
use crate::public_url::public_url;
use crate::session::{CookieMode, set_cookie_header};
use crate::state::AppState;

fn header<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

/// The handler of `POST /hub/lti/launch`.
pub(crate) async fn launch(
    State(state): State<AppState>,
    req: Request,
) -> Result<Response, PageError> {
    let peer = peer_ip(&req);
    let (parts, body) = req.into_parts();
    // The body gate (`crate::limits`) has read the body within its deadline and limit already;
    // the limit here only repeats it.
    let body = axum::body::to_bytes(body, MAX_LAUNCH_BODY)
        .await
        .map_err(|e| PageError::BadRequest(format!("The launch could not be read ({e}). Go back to your course and click the activity again.")))?;
    let headers = &parts.headers;
    let url = public_url(&state.public_url, peer, &parts.headers, &parts.uri, None)?;
    let https = url.starts_with("https://");
    let authorization = header(headers, AUTHORIZATION.as_str()).map(str::to_owned);
    let request = LaunchRequest::from_body(url, &body, authorization)?;
    let launch = state.auth.authenticate(&request).await?;
    let user = launch.username.clone();
    tracing::info!(%user, consumer = %launch.consumer_key, course = ?launch.context_id, "LTI launch accepted");

    let existing = state
        .store
        .user(&user)
        .await
        .map_err(|e| PageError::internal("reading the user", e))?;
    check_owner(existing.as_ref(), &launch)?;

    let now = state.clock.now();
    state
        .store
        .upsert_user(UserRecord {
            name: user.clone(),
            lti_user_id: launch.user_id.clone(),
            consumer_key: launch.consumer_key.clone(),
            is_admin: state.config.is_admin(&user),
            last_launch: Some(launch_to_json(&launch)),
            created: now,
            last_activity: Some(now),
        })
        .await
        .map_err(|e| PageError::internal("recording the launch", e))?;

    let request = SpawnRequest::new(launch);
    if let Some(analytics) = &state.analytics {
        // Where this student's notebook logs go; a failure costs the logs, never the launch.
        if let Err(e) = analytics.note_launch(&user, request.params()).await {
            tracing::error!(%user, error = %e, "analytics: cannot record where this user's notebook logs go");
        }
    }
    let launch = request.launch();
    let iframe = request.params().iframe;
    // The LMS origin comes from what the LMS signed, never from the unsigned Origin/Referer.
    if iframe && state.frames.learn_from(launch).is_none() {
        tracing::warn!(%user, consumer = %launch.consumer_key, "lms_iframe=1 but the launch names no LMS origin that can be accepted (custom_lms_serverurl, launch_presentation_return_url, lis_outcome_service_url; at most {MAX_LEARNED_ORIGINS_PER_CONSUMER} per consumer); set hub.lms_origins");
    }
    let mode = if iframe || state.frames.has_configured() {
        CookieMode::CrossSite
    } else {
        CookieMode::Lax
    };
    let max_age = state.config.session_max_age_secs;
    let cookie = set_cookie_header(&state.sessions.sign(&user, max_age), max_age, mode, https);

    // ltiauthenticator sends the browser to `custom_next` after the launch (nbgitpuller links).
    let next = launch
        .params
        .get("custom_next")
        .and_then(|n| crate::pages::safe_next(n.trim()))
        .map(|n| {
            format!(
                "?next={}",
                url::form_urlencoded::byte_serialize(n.as_bytes()).collect::<String>()
            )
        })
        .unwrap_or_default();
    state.spawner.request(request).await;
    Ok((
        StatusCode::FOUND,
        [
            (LOCATION, format!("/hub/spawn-pending/{user}{next}")),
            (SET_COOKIE, cookie),
        ],
    )
        .into_response())
}

/// Launch parameters that are secrets of the LMS and not stored with the launch: `lms_rpctoken`
/// is a Moodle web-service token, kept only as the user's analytics target
/// (`lticontainer_hub::analytics`), for delivery.
const NOT_STORED: [&str; 1] = ["custom_lms_rpctoken"];

/// What the store keeps of a launch: enough to spawn again with the same parameters, without
/// the LMS's secrets ([`NOT_STORED`]).
pub(crate) fn launch_to_json(launch: &LtiLaunch) -> serde_json::Value {
    let params: serde_json::Map<String, serde_json::Value> = launch
        .params
        .iter()
        .filter(|(k, _)| !NOT_STORED.contains(k))
        .map(|(k, v)| (k.to_owned(), serde_json::Value::from(v)))
        .collect();
    json!({
        "consumer_key": launch.consumer_key,
        "username": launch.username,
        "lms_login": launch.lms_login,
        "params": params,
    })
}

/// Rebuilds a launch stored by [`launch_to_json`]; `None` when the record is unusable.
pub(crate) fn launch_from_json(value: &serde_json::Value) -> Option<LtiLaunch> {
    let consumer = value.get("consumer_key")?.as_str()?;
    let username = value.get("username")?.as_str()?;
    let params: Vec<(String, String)> = value
        .get("params")?
        .as_object()?
        .iter()
        .filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_owned())))
        .collect();
    let mut launch = LtiLaunch::from_params(consumer, &params, DEFAULT_USERNAME_KEY).ok()?;
    launch.username = username.to_owned();
    if let Some(login) = value.get("lms_login") {
        launch.lms_login = login.as_str().map(str::to_owned);
    }
    Some(launch)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn launch() -> LtiLaunch {
        let params: Vec<(String, String)> = [
            ("user_id", "17"),
            ("resource_link_id", "r1"),
            ("ext_user_username", "Alice"),
            ("custom_lms_defurl", "/tree"),
            ("oauth_nonce", "n"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
        LtiLaunch::from_params("moodle", &params, DEFAULT_USERNAME_KEY).unwrap()
    }

    #[test]
    fn stored_launch_round_trips() {
        let l = launch();
        let back = launch_from_json(&launch_to_json(&l)).unwrap();
        assert_eq!(back, l);
        assert_eq!(back.username, "alice");
        assert_eq!(back.lms_login.as_deref(), Some("alice"));
        assert!(
            !back.params.contains_key("oauth_nonce"),
            "OAuth parameters are never stored"
        );
    }

    #[test]
    fn the_lms_web_service_token_is_not_stored() {
        let mut params: Vec<(String, String)> = launch()
            .params
            .iter()
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect();
        params.push(("custom_lms_rpctoken".into(), "0123456789abcdef".into()));
        let l = LtiLaunch::from_params("moodle", &params, DEFAULT_USERNAME_KEY).unwrap();
        let stored = launch_to_json(&l).to_string();
        assert!(!stored.contains("0123456789abcdef"), "{stored}");
        assert!(!stored.contains("rpctoken"), "{stored}");
        let back = launch_from_json(&launch_to_json(&l)).unwrap();
        assert_eq!(back.params.get("custom_lms_defurl"), Some("/tree"));
    }

    #[test]
    fn unusable_stored_launch_is_none() {
        for v in [
            json!(null),
            json!({"consumer_key": "k", "username": "a"}),
            json!({"consumer_key": "k", "username": "a", "params": {"resource_link_id": "r"}}),
        ] {
            assert!(launch_from_json(&v).is_none(), "{v}");
        }
    }
}
