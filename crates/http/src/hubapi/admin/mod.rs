//! The part of JupyterHub's REST API that Moodle's mod_lticontainer calls (its "JupyterHub
//! User" tab), with the admin service token `[hub] api_token`, so existing Moodle sites keep
//! working with lticontainer:
//!
//! | endpoint | what |
//! |---|---|
//! | `GET /hub/api/users` | the users' models: `offset`, `limit`, `name_filter`, `state` (`active`, `ready`, `inactive`), `sort` (`id`, `name`, `last_activity`, `-` for descending); the pagination envelope with `Accept: application/jupyterhub-pagination+json` |
//! | `GET /hub/api/users/<name>` | one user's model, with `servers`; 404 for an unknown user |
//! | `POST /hub/api/users/<name>/server` | starts the server with the user's last launch: 201 ready, 202 still starting, 400 already running |
//! | `DELETE /hub/api/users/<name>/server` | stops and removes the user's container (a start under way is cancelled), revokes its tokens; 204, or 202 while it is still stopping |
//! | `DELETE /hub/api/users/<name>` | the same, then forgets the user and all their records; 204 |
//! | `GET /hub/metrics` | lticontainer's own: the hub's counters in Prometheus text format (JupyterHub's metric names where it has them); without the token only with `[hub] metrics_public = true` |
//! | `POST /hub/api/cull` | lticontainer's own: one round of the culler now (`lticontainer cull`); the servers it stopped and why |
//! | `POST /hub/api/grades/<activity>` | lticontainer's own: a `tocsv` CSV column sent to the LMS as grades (`lticontainer grades send`), or previewed with `dry_run` |
//! | `GET /hub/api/grades/<activity>` | lticontainer's own: what was sent for the activity and what the LMS answered |
//! | `GET /hub/api/analytics` | lticontainer's own: the learning-analytics counters and the outbox's length; 404 when analytics are off |
//!
//! Requests carry `Authorization: token <api_token>` (or `Bearer`). Without a configured token
//! the admin API is off: every call is JupyterHub's 403 (Moodle shows "Missmatch api token").
//! Every action is logged with its caller and user.
//!
//! **Names.** The plugin matches each Moodle user's `username` to a model's `name` and deletes
//! by it, so a user's `name` here is the LMS login of their last launch, also when the hub runs
//! them under a mapped name (an e-mail-style login; `core::launch` says why it maps), and
//! `<name>` in a path may be either the LMS login or the hub name. The model's `server` URL
//! keeps the hub name, as the browser sees it.

use std::sync::Arc;

use axum::Router;
use axum::http::HeaderValue;
use axum::response::Response;
use axum::routing::get;
use lticontainer_core::auth::PublicUrlConfig;
use lticontainer_hub::analytics::Analytics;
use lticontainer_hub::grades::Grades;
use lticontainer_hub::spawner::Spawner;

use super::HubApi;
use super::error::method_not_allowed;
use crate::extract::Sessions;

mod analytics;
mod auth;
mod cull;
mod grades;
mod metrics;
mod model;
mod query;
mod users;

pub use lticontainer_hub::admin_token::{AdminToken, MIN_ADMIN_TOKEN_LEN};

/// What the admin routes use: the spawn manager (servers, and the `[hub]` settings with the
/// admin token), the hub API (the store, tokens, prefixes) and the browser sessions (revoked
/// when a user is deleted).
#[derive(Debug, Clone)]
pub(crate) struct AdminState {
    spawner: Arc<Spawner>,
    api: Arc<HubApi>,
    sessions: Sessions,
    public_url: Arc<PublicUrlConfig>,
    analytics: Option<Arc<Analytics>>,
    grades: Option<Arc<Grades>>,
}

impl AdminState {
    /// The admin API over `spawner`, `api`, `sessions` and, when on, the learning analytics;
    /// `public_url` builds the absolute URLs of the pagination envelope.
    pub(crate) fn new(
        spawner: Arc<Spawner>,
        api: Arc<HubApi>,
        sessions: Sessions,
        public_url: Arc<PublicUrlConfig>,
        analytics: Option<Arc<Analytics>>,
    ) -> Self {
        Self {
            spawner,
            api,
            sessions,
            public_url,
            analytics,
            grades: None,
        }
    }

    /// With grades back to the LMS, when on.
    pub(crate) fn with_grades(mut self, grades: Option<Arc<Grades>>) -> Self {
        self.grades = grades;
        self
    }
}

/// The admin routes under `<hub_prefix>api`, to be merged into the hub's router. Every reply
/// carries `X-JupyterHub-Version`, as the rest of the hub API does.
pub(crate) fn router(state: AdminState) -> Router {
    let api = state.api.config();
    let base = format!("{}api", api.hub_prefix);
    let version = HeaderValue::from_str(&api.version)
        .unwrap_or_else(|_| HeaderValue::from_static(super::JUPYTERHUB_VERSION));
    Router::new()
        .route(
            &format!("{base}/users"),
            get(users::list).fallback(method_not_allowed),
        )
        .route(
            &format!("{base}/users/{{name}}"),
            get(users::get_user)
                .delete(users::delete_user)
                .fallback(method_not_allowed),
        )
        .route(
            &format!("{base}/users/{{name}}/server"),
            axum::routing::post(users::post_server)
                .delete(users::delete_server)
                .fallback(method_not_allowed),
        )
        .route(
            &format!("{base}/analytics"),
            get(analytics::counters).fallback(method_not_allowed),
        )
        .route(
            &format!("{base}/grades/{{activity}}"),
            get(grades::sent)
                .post(grades::send)
                .fallback(method_not_allowed),
        )
        .route(
            &format!("{base}/cull"),
            axum::routing::post(cull::cull_now).fallback(method_not_allowed),
        )
        .route(
            &format!("{}metrics", api.hub_prefix),
            get(metrics::scrape).fallback(method_not_allowed),
        )
        .with_state(state)
        .layer(axum::middleware::map_response(move |mut res: Response| {
            let version = version.clone();
            async move {
                res.headers_mut().insert("x-jupyterhub-version", version);
                res
            }
        }))
}
