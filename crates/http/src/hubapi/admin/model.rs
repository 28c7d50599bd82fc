//! The user model JupyterHub 5 returns to a token with `admin:users` and `admin:servers`
//! (`GET /hub/api/users[/<name>]`), built from the store's records and the spawn manager's view.

use lticontainer_core::store::{ServerRecord, UserRecord};
use serde_json::{Map, Value, json};

use super::super::{HubApi, time};
use lticontainer_hub::spawner::SlotState;

/// The name the admin API gives `user`: the LMS's login of their last launch (Moodle's
/// `username`, which mod_lticontainer's user tab matches `name` against), also when the hub
/// name is its mapped form (`hanako.yamada@example.com` runs as `hanako.yamada-e-<hash>`);
/// the hub name for a user with no recorded login.
pub(super) fn api_name(user: &UserRecord) -> &str {
    user.last_launch
        .as_ref()
        .and_then(|l| l.get("lms_login"))
        .and_then(Value::as_str)
        .unwrap_or(&user.name)
}

/// One user as JupyterHub's `user_model` writes it: `kind`, `name` ([`api_name`]), `admin`, `roles`, `groups`,
/// `server` (the URL path while the server runs, else `null`), `pending` (`"spawn"` while it
/// starts, `"stop"` while its start is being cancelled), `created`, `last_activity`, `auth_state` (always `null`: the hub keeps none) and
/// `servers` (the active servers by name: `""` for the one server a user has).
pub(super) fn user_model(
    api: &HubApi,
    user: &UserRecord,
    server: Option<&ServerRecord>,
    slot: &SlotState,
    stopping: bool,
) -> Value {
    let url = api.config().server_prefix(&user.name);
    let (running, pending) = match slot {
        SlotState::Running(_) => (true, None),
        // A start being cancelled is JupyterHub's pending stop.
        SlotState::Spawning(_) if stopping => (false, Some("stop")),
        SlotState::Spawning(_) => (false, Some("spawn")),
        SlotState::Idle { .. } => (false, None),
    };
    let roles: &[&str] = if user.is_admin {
        &["admin", "user"]
    } else {
        &["user"]
    };
    let mut servers = Map::new();
    if running || pending.is_some() {
        servers.insert(
            String::new(),
            json!({
                "name": "",
                "last_activity": server
                    .and_then(|s| s.last_activity)
                    .or(user.last_activity)
                    .map(time::isoformat),
                "started": server.and_then(|s| s.started).map(time::isoformat),
                "pending": pending,
                "ready": running,
                "stopped": false,
                "url": url,
                "user_options": {},
                // DockerSpawner's state (LTIContainerSpawner is one), which JupyterHub shows
                // to a token with admin:server_state, as the admin service's is.
                "state": server.map_or_else(|| json!({}), |s| match &s.container_id {
                    Some(id) => json!({"object_id": id, "object_name": s.container_name}),
                    None => json!({}),
                }),
                "progress_url": format!(
                    "{}api/users/{}/server/progress",
                    api.config().hub_prefix, user.name
                ),
                "full_url": Value::Null,
                "full_progress_url": Value::Null,
            }),
        );
    }
    json!({
        "kind": "user",
        "name": api_name(user),
        "admin": user.is_admin,
        "roles": roles,
        "groups": [],
        "server": running.then_some(url),
        "pending": pending,
        "created": time::isoformat(user.created),
        "last_activity": user.last_activity.map(time::isoformat),
        "auth_state": Value::Null,
        "servers": servers,
    })
}
