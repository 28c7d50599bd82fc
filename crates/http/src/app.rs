//! [`app`]: the hub's router — launch, progress, hub API, and the proxy to users' servers —
//! with the `frame-ancestors` policy on every response.

use std::sync::Arc;

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::http::header::LOCATION;
use axum::http::{HeaderMap, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, get, post};

use crate::extract::Sessions;
use crate::frame::frame_ancestors_layer;
use crate::hubapi::admin::AdminState;
use crate::limits::{BodyLimits, body_gate};
use crate::state::AppState;
use crate::{
    dashboard, grades, home, hubapi, lab_notice, launch, logout, lti13, lti13_tool, pages, pending,
    user_proxy,
};

/// The hub's whole HTTP surface for `state`.
///
/// | route | what |
/// |---|---|
/// | `POST /hub/lti/launch` | LTI 1.1 launch → session cookie, background spawn, 302 to the progress page |
/// | `GET`/`POST /hub/lti13/login` | LTI 1.3 login initiation → 302 to the platform's authentication URL |
/// | `POST /hub/lti13/launch` | LTI 1.3 launch (`id_token`, `state`) → as the 1.1 launch |
/// | `GET /hub/lti13/jwks` | the tool's public key set (LTI 1.3 on) |
/// | `GET /hub/lti13/register` | LTI Dynamic Registration with a one-use `secret` (`lticontainer lti13 registration-url`) |
/// | `GET /hub/spawn-pending/<name>` | progress page (follows the event stream, then opens the server) |
/// | `GET /hub/api/users/<name>/server/progress` | JupyterHub's progress event stream (SSE) |
/// | `POST /hub/spawn/<name>` | start again with the last launch's parameters (form token) |
/// | `GET /hub/home` | the student's server: status, open, stop, start, restart, log out |
/// | `POST /hub/stop/<name>`, `POST /hub/restart/<name>` | stop (or cancel the start), restart (form token) |
/// | `GET`/`POST /hub/logout` | end the session; with `[hub] shutdown_on_logout`, stop the server |
/// | `/hub/api/…` | the JupyterHub hub API single-user servers call ([`hubapi`]) |
/// | `/hub/api/users[/<name>[/server]]` | the admin API Moodle's mod_lticontainer calls ([`hubapi::admin`]) |
/// | `/user/<name>/…` | reverse proxy (HTTP and WebSocket) to the user's server |
/// | `GET /hub/user-redirect/<path>` | JupyterHub's deep link: `/user/<signed-in user>/<path>` (nbgitpuller links) |
/// | `GET /hub/dashboard[/<lti id>[/events]]` | the teachers' live dashboard of an activity (`dashboard`) |
/// | `GET /hub/static/dashboard.{js,css}` | its script and style |
/// | `GET /hub/grades[/<activity>]`, `POST /hub/grades/<activity>` | the teachers' grades page: a `tocsv` CSV previewed and sent to the LMS (`grades`) |
/// | `GET /hub/static/grades.js` | its script |
/// | `GET /hub/lab-notice.js`, `GET /hub/notice/<name>` | the bar inside JupyterLab: the script the proxy adds to its pages, and what it says now (`lab_notice`) |
/// | `GET /hub/health` | `ok` while the hub serves |
///
/// Every request passes the body gate first: a declared body larger than the endpoint takes
/// (256 KiB for the launch, 64 KiB for the hub API and pages, `[hub] max_proxy_body_bytes` for the
/// proxy) is answered 413 before it is read; a launch or hub API body that is not complete within
/// `[hub] body_timeout_secs` is answered 408; a proxied body is cut when it pauses longer than
/// `[hub] proxy_body_idle_secs`. Serve it with [`crate::serve::serve`] for the connection limits.
pub fn app(state: AppState) -> Router {
    let frames = state.frames.clone();
    let limits = Arc::new(BodyLimits::new(
        &state.config,
        format!("{}api", state.hubapi.config().hub_prefix),
    ));
    Router::new()
        .route("/hub/lti/launch", post(launch::launch))
        .route("/hub/lti13/login", get(lti13::login).post(lti13::login))
        .route(lti13::LAUNCH_PATH, post(lti13::launch))
        .route("/hub/lti13/jwks", get(lti13_tool::jwks))
        .route("/hub/lti13/register", get(lti13_tool::register))
        .route("/hub/spawn-pending/{name}", get(pending::page))
        .route("/hub/spawn/{name}", post(pending::start))
        .route("/hub/stop/{name}", post(home::stop))
        .route("/hub/restart/{name}", post(home::restart))
        .route("/hub/logout", get(logout::get).post(logout::post))
        .route(
            "/hub/api/users/{name}/server/progress",
            get(pending::progress),
        )
        .route("/user/{*rest}", any(user_proxy::user_proxy))
        .route("/hub/user-redirect/{*rest}", get(user_redirect))
        .route("/hub/health", get(|| async { "ok" }))
        .route("/", get(to_server))
        .route("/hub", get(to_server))
        .route("/hub/", get(to_server))
        .route("/hub/home", get(home::page))
        .route("/hub/dashboard", get(dashboard::index))
        .route("/hub/dashboard/{lti_id}", get(dashboard::show))
        .route("/hub/dashboard/{lti_id}/events", get(dashboard::events))
        .route("/hub/static/dashboard.js", get(dashboard::script))
        .route("/hub/static/dashboard.css", get(dashboard::style))
        .route("/hub/grades", get(grades::index))
        .route(
            "/hub/grades/{activity}",
            get(grades::show).post(grades::post),
        )
        .route("/hub/static/grades.js", get(grades::script))
        .route("/hub/lab-notice.js", get(lab_notice::script))
        .route("/hub/notice/{name}", get(lab_notice::notice))
        .fallback(not_found)
        .with_state(state.clone())
        .merge(hubapi::router(state.hubapi.clone()))
        .merge(hubapi::admin::router(
            AdminState::new(
                state.spawner.clone(),
                state.hubapi.clone(),
                state.sessions.clone(),
                state.public_url.clone(),
                state.analytics.clone(),
            )
            .with_grades(state.grades.clone()),
        ))
        .layer(axum::middleware::from_fn_with_state(limits, body_gate))
        .layer(axum::middleware::from_fn_with_state(
            frames,
            frame_ancestors_layer,
        ))
}

async fn to_server(State(sessions): State<Sessions>, headers: HeaderMap) -> Response {
    match sessions.user(&headers) {
        Some(user) => (
            StatusCode::FOUND,
            [(LOCATION, format!("/hub/spawn-pending/{user}"))],
        )
            .into_response(),
        None => pages::launch_from_course(),
    }
}

/// `/hub/user-redirect/<path>?<query>` → `/user/<session user>/<path>?<query>`, as in JupyterHub.
async fn user_redirect(State(sessions): State<Sessions>, uri: Uri, headers: HeaderMap) -> Response {
    let Some(user) = sessions.user(&headers) else {
        return pages::launch_from_course();
    };
    let rest = uri
        .path()
        .strip_prefix("/hub/user-redirect/")
        .unwrap_or_default();
    let query = uri.query().map_or_else(String::new, |q| format!("?{q}"));
    (
        StatusCode::FOUND,
        [(LOCATION, format!("/user/{user}/{rest}{query}"))],
    )
        .into_response()
}

async fn not_found() -> Response {
    pages::message(
        StatusCode::NOT_FOUND,
        "Not found",
        "There is nothing at this address. Open the Jupyter activity in your course to reach your server.",
    )
}
