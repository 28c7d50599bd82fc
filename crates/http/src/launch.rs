//! `POST /hub/lti/launch`: verify the LTI 1.1 launch, then [`start`]: record the user, set the
//! session cookie, start the spawn in the background and send the browser to the progress page
//! at once. The LTI 1.3 launch (`crate::lti13`) verifies its own way and goes on with [`start`].

use std::time::Instant;

use axum::extract::{Request, State};
use axum::http::header::{AUTHORIZATION, LOCATION, SET_COOKIE};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use lticontainer_core::auth::LaunchRequest;
use lticontainer_core::launch::LtiLaunch;
use lticontainer_core::spec::is_teacher;
use lticontainer_core::store::UserRecord;
use lticontainer_hub::accounts::check_owner;
use lticontainer_hub::metrics::LaunchOutcome;
use lticontainer_hub::spawner::SpawnRequest;

use crate::error::PageError;
use crate::frame::MAX_LEARNED_ORIGINS_PER_CONSUMER;
use crate::limits::MAX_LAUNCH_BODY;
use crate::peer::peer_ip;
use crate::public_url::request_public_url;
use crate::session::{CookieMode, set_cookie_header};
use crate::state::AppState;
use crate::stored_launch::launch_to_json;

fn header<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

/// The handler of `POST /hub/lti/launch`.
/// Every launch is counted by outcome in the hub's metrics; an accepted one is logged here, with
/// its duration, a refused one by its [`PageError`].
pub(crate) async fn launch(State(state): State<AppState>, req: Request) -> Response {
    let started = Instant::now();
    let result = async {
        let (launch, https) = verify(&state, req).await?;
        start(&state, launch, https, started).await
    }
    .await;
    counted(&state, result)
}

/// Counts a launch's outcome in the hub's metrics and answers with its response or page.
pub(crate) fn counted(state: &AppState, result: Result<Response, PageError>) -> Response {
    let outcome = match &result {
        Ok(_) => LaunchOutcome::Accepted,
        Err(PageError::Internal { .. }) => LaunchOutcome::Error,
        Err(_) => LaunchOutcome::Refused,
    };
    state.spawner.metrics().launch(outcome);
    result.into_response()
}

/// Verifies an LTI 1.1 launch: the launch, and whether it reached the hub over HTTPS.
async fn verify(state: &AppState, req: Request) -> Result<(LtiLaunch, bool), PageError> {
    let peer = peer_ip(&req);
    let (parts, body) = req.into_parts();
    // The body gate (`crate::limits`) has read the body within its deadline and limit already;
    // the limit here only repeats it.
    let body = axum::body::to_bytes(body, MAX_LAUNCH_BODY)
        .await
        .map_err(|e| PageError::BadRequest(format!("The launch could not be read ({e}). Go back to your course and click the activity again.")))?;
    let headers = &parts.headers;
    let url = request_public_url(&state.public_url, peer, &parts)?;
    let https = url.starts_with("https://");
    let authorization = header(headers, AUTHORIZATION.as_str()).map(str::to_owned);
    let request = LaunchRequest::from_body(url, &body, authorization)?;
    Ok((state.auth.authenticate(&request).await?, https))
}

/// Goes on with a verified launch of either LTI version: checks the account's owner, records
/// the user and the launch, sets the session cookie (over HTTPS when `https`), starts the spawn
/// and sends the browser to the progress page.
pub(crate) async fn start(
    state: &AppState,
    launch: LtiLaunch,
    https: bool,
    started: Instant,
) -> Result<Response, PageError> {
    let user = launch.username.clone();

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

    if let Some(grades) = &state.grades {
        // Where this student's grade goes; a failure costs the grade target, never the launch.
        if let Err(e) = grades.note_launch(&user, &launch).await {
            tracing::error!(%user, error = %e, "grades: cannot record where this user's grade goes");
        }
    }
    let request = SpawnRequest::new(launch);
    if let Some(analytics) = &state.analytics {
        // Where this student's notebook logs go; a failure costs the logs, never the launch.
        if let Err(e) = analytics
            .note_launch(&user, request.launch(), request.params())
            .await
        {
            tracing::error!(%user, error = %e, "analytics: cannot record where this user's notebook logs go");
        }
        // Which dashboards this user may open: a failure costs the teacher that, never the launch.
        let teacher = is_teacher(
            state.spawner.spec_config(),
            request.launch(),
            request.params(),
        );
        if let Err(e) = analytics
            .note_teaching(&user, request.params(), teacher)
            .await
        {
            tracing::error!(%user, error = %e, "analytics: cannot record whether this user teaches the activity");
        }
    }
    let launch = request.launch();
    let iframe = request.params().iframe;
    // The LMS origin comes from what the LMS signed, never from the unsigned Origin/Referer.
    if iframe && state.frames.learn_from(launch).is_none() {
        tracing::warn!(%user, consumer = %launch.consumer_key, "lms_iframe=1 but the launch names no LMS origin that can be accepted (launch_presentation_return_url, lis_outcome_service_url; at most {MAX_LEARNED_ORIGINS_PER_CONSUMER} per consumer); set hub.lms_origins");
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
    let (consumer, course) = (launch.consumer_key.clone(), launch.context_id.clone());
    state.spawner.request(request).await;
    tracing::info!(%user, %consumer, ?course, secs = started.elapsed().as_secs_f32(), outcome = LaunchOutcome::Accepted.label(), "LTI launch accepted");
    Ok((
        StatusCode::FOUND,
        [
            (LOCATION, format!("/hub/spawn-pending/{user}{next}")),
            (SET_COOKIE, cookie),
        ],
    )
        .into_response())
}
