//! `GET /hub/metrics`: the hub's counters in Prometheus text format
//! ([`lticontainer_hub::metrics`]), for the admin token, or for anyone with
//! `[hub] metrics_public = true`.

use axum::extract::{FromRequestParts, State};
use axum::http::header::CONTENT_TYPE;
use axum::http::request::Parts;
use axum::response::{IntoResponse, Response};
use lticontainer_hub::metrics::{Gauges, active_users, render};

use super::AdminState;
use super::auth::AdminCaller;

/// Prometheus' text exposition format.
const CONTENT: &str = "text/plain; version=0.0.4; charset=utf-8";

/// The metrics, read now.
pub(super) async fn scrape(State(state): State<AdminState>, mut parts: Parts) -> Response {
    if !state.spawner.config().metrics_public
        && let Err(refused) = AdminCaller::from_request_parts(&mut parts, &state).await
    {
        return refused.into_response();
    }
    let (running_servers, pending_spawns) = state.spawner.server_counts();
    let (total_users, active_users) = match state.api.store().users().await {
        Ok(users) => (
            u64::try_from(users.len()).ok(),
            Some(active_users(
                users.iter().map(|u| u.last_activity),
                state.spawner.now(),
            )),
        ),
        Err(e) => {
            tracing::warn!(error = %e, "metrics: cannot count the users; jupyterhub_total_users and jupyterhub_active_users left out");
            (None, None)
        }
    };
    let gauges = Gauges {
        running_servers,
        pending_spawns,
        total_users,
        active_users,
        analytics: state.analytics.as_ref().map(|a| a.snapshot()),
    };
    (
        [(CONTENT_TYPE, CONTENT)],
        render(state.spawner.metrics(), &gauges),
    )
        .into_response()
}
