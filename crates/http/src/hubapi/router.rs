//! [`router`]: the hub API's routes, with JupyterHub's version header on every reply.

use std::sync::Arc;

use axum::Router;
use axum::http::HeaderValue;
use axum::http::header::ACCESS_CONTROL_ALLOW_ORIGIN;
use axum::response::Response;
use axum::routing::{any, get, post};
use serde_json::json;

use super::error::{method_not_allowed, not_found};
use super::{HubApi, activity, caller, oauth};

/// The hub API's routes under `<hub_prefix>api` (e.g. `/hub/api`), with their own state, to be
/// merged into the hub's router. Every reply carries `X-JupyterHub-Version`.
///
/// The router has no fallback of its own (merging would clash); unknown paths under the API
/// prefix answer JupyterHub's JSON 404 through a catch-all route, which more specific routes of
/// the merged router (e.g. the spawn progress stream) take precedence over.
pub fn router(api: Arc<HubApi>) -> Router {
    routes(api, Callers::BrowsersAndServers)
}

/// The routes single-user servers call, and nothing else: `<hub_prefix>api` (version),
/// `…/user`, `…/oauth2/token` and `…/users/<name>/activity`, with JupyterHub's JSON 404 for every
/// other path under the API prefix (the browser's `…/oauth2/authorize` and Moodle's admin API
/// among them). With isolated networking this is what the hub answers on the address the
/// containers reach (see `crate::container_api`).
pub fn server_router(api: Arc<HubApi>) -> Router {
    routes(api, Callers::ServersOnly)
}

/// Who a router answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Callers {
    /// The hub's main listener: servers and browsers (the OAuth authorize step).
    BrowsersAndServers,
    /// The listener containers reach: servers only.
    ServersOnly,
}

fn routes(api: Arc<HubApi>, callers: Callers) -> Router {
    let base = format!("{}api", api.config().hub_prefix);
    let version = HeaderValue::from_str(&api.config().version)
        .unwrap_or_else(|_| HeaderValue::from_static(super::JUPYTERHUB_VERSION));
    let root_version = api.config().version.clone();
    let root = get(move || {
        let body = json!({ "version": root_version }).to_string();
        async move {
            (
                [
                    (axum::http::header::CONTENT_TYPE, "application/json"),
                    (ACCESS_CONTROL_ALLOW_ORIGIN, "*"),
                ],
                body,
            )
        }
    })
    .fallback(method_not_allowed);
    let mut router = Router::new()
        .route(&base, root.clone())
        .route(&format!("{base}/"), root)
        .route(
            &format!("{base}/user"),
            get(caller::get_self).fallback(method_not_allowed),
        );
    if callers == Callers::BrowsersAndServers {
        router = router.route(
            &format!("{base}/oauth2/authorize"),
            get(oauth::authorize).fallback(method_not_allowed),
        );
    }
    router
        .route(
            &format!("{base}/oauth2/token"),
            post(oauth::token).fallback(method_not_allowed),
        )
        .route(
            &format!("{base}/users/{{name}}/activity"),
            post(activity::post_activity).fallback(method_not_allowed),
        )
        .route(&format!("{base}/{{*rest}}"), any(not_found))
        .with_state(api)
        .layer(axum::middleware::map_response(move |mut res: Response| {
            let version = version.clone();
            async move {
                res.headers_mut().insert("x-jupyterhub-version", version);
                res
            }
        }))
}
