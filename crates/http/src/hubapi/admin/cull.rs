//! `POST /hub/api/cull` (lticontainer's own): one round of the culler now, for the admin's
//! `lticontainer cull`; the servers stopped and why.

use axum::Json;
use axum::extract::State;
use serde_json::{Value, json};

use super::AdminState;
use super::auth::AdminCaller;
use super::model::api_name;

/// Checks every running server against its limits (activity limit, `hub.cull_idle_secs`,
/// `hub.cull_max_age_secs`) as the culler's round does, and stops those over one:
/// `{"culled": [{"name": <name as the user list has it>, "reason": "act_limit" | "idle" | "max_age"}]}`.
pub(super) async fn cull_now(_caller: AdminCaller, State(state): State<AdminState>) -> Json<Value> {
    let culled = state.spawner.cull_once().await;
    tracing::info!(
        caller = AdminCaller::NAME,
        culled = culled.len(),
        "admin API: culled now"
    );
    let mut listed = Vec::with_capacity(culled.len());
    for (name, reason) in &culled {
        // The name the user list shows (the LMS login), so the admin recognises it.
        let user = state.api.store().user(name).await.ok().flatten();
        let name = user.as_ref().map_or(name.as_str(), api_name);
        listed.push(json!({"name": name, "reason": reason.name()}));
    }
    Json(json!({ "culled": listed }))
}
