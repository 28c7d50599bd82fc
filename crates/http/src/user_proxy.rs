//! `/user/<name>/…`: the owner's (or an admin's) requests go to the user's server; everyone
//! else is turned away with a clear page, and a missing server sends the browser to the
//! progress page instead of hanging.

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::http::header::{AUTHORIZATION, LOCATION};
use axum::response::{IntoResponse, Response};
use lticontainer_core::auth::{PublicUrlConfig, RequestOrigin, public_scheme};
use lticontainer_core::store::Store;
use lticontainer_hub::analytics::Analytics;
use lticontainer_hub::metrics::ErrorKind;
use lticontainer_hub::spawner::Spawner;

use crate::error::PageError;
use crate::extract::Sessions;
use crate::lab_notice;
use crate::pages;
use crate::peer::peer_ip;
use crate::proxy::{Forwarded, ProxyClient, ProxyError, forward};
use crate::stored_launch::launch_from_json;
use crate::ws_tap::{CaptureRequest, kernel_channel_session};

/// The handler of every request under `/user/`.
pub(crate) async fn user_proxy(
    State(sessions): State<Sessions>,
    State(spawner): State<Arc<Spawner>>,
    State(public_url): State<Arc<PublicUrlConfig>>,
    State(client): State<ProxyClient>,
    State(analytics): State<Option<Arc<Analytics>>>,
    State(store): State<Arc<dyn Store>>,
    mut req: Request,
) -> Response {
    let path = req.uri().path().to_owned();
    let rest = path.strip_prefix("/user/").unwrap_or_default();
    let (owner, has_slash) = match rest.split_once('/') {
        Some((o, _)) => (o.to_owned(), true),
        None => (rest.to_owned(), false),
    };
    if owner.is_empty() {
        return pages::message(
            StatusCode::NOT_FOUND,
            "Not found",
            "This address names no user.",
        );
    }
    if !has_slash {
        let query = req
            .uri()
            .query()
            .map_or_else(String::new, |q| format!("?{q}"));
        return (
            StatusCode::FOUND,
            [(LOCATION, format!("/user/{owner}/{query}"))],
        )
            .into_response();
    }
    // A request with a Jupyter API token (`token …` / `Bearer …`) goes through without a hub
    // session: the user's server checks the token's scopes with the hub API, as in JupyterHub.
    let token_only = req
        .headers()
        .get(AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split_once(' '))
        .is_some_and(|(scheme, value)| {
            (scheme.eq_ignore_ascii_case("token") || scheme.eq_ignore_ascii_case("bearer"))
                && !value.trim().is_empty()
        });
    let signed_in = match sessions.user(req.headers()) {
        Some(me) if me == owner || sessions.may_open_others_servers(&me) => true,
        Some(me) => {
            return PageError::Forbidden {
                user: me,
                target: owner,
            }
            .into_response();
        }
        None if token_only => false,
        None => return PageError::NotSignedIn.into_response(),
    };
    let Some(server) = spawner.running(&owner) else {
        return (
            StatusCode::FOUND,
            [(LOCATION, format!("/hub/spawn-pending/{owner}"))],
        )
            .into_response();
    };

    let peer = peer_ip(&req);
    let tls = crate::peer::served_tls(req.extensions());
    let trusted = public_url.trusts(peer);
    let headers = req.headers_mut();
    let origin = RequestOrigin {
        peer,
        tls,
        host: None,
        forwarded_proto: headers
            .get("x-forwarded-proto")
            .and_then(|v| v.to_str().ok()),
        forwarded_host: None,
        path_and_query: "",
    };
    // A trusted proxy that sends a scheme other than http or https gets `http`, as before.
    let proto = public_scheme(&public_url, &origin)
        .unwrap_or("http")
        .to_owned();
    if !trusted {
        for h in ["x-forwarded-for", "x-forwarded-proto", "x-forwarded-host"] {
            headers.remove(h);
        }
    }
    let fwd = Forwarded {
        client_ip: (!peer.is_unspecified()).then_some(peer),
        proto,
    };
    let capture = match (
        analytics,
        kernel_channel_session(req.uri().path(), req.uri().query()),
    ) {
        (Some(analytics), Some(session_id)) => Some(CaptureRequest {
            analytics,
            report_as: lms_login(store.as_ref(), &owner).await,
            user: owner.clone(),
            session_id,
        }),
        _ => None,
    };
    // A page of JupyterLab a signed-in browser opens gets the hub's notice bar.
    let page = signed_in && lab_notice::is_page_request(&req, &owner);
    if page {
        lab_notice::prepare_request(req.headers_mut());
    }
    let metrics = spawner.metrics();
    match forward(&client, server.addr, req, &fwd, capture).await {
        Ok(resp) => {
            spawner.note_activity(&owner);
            metrics.proxied(resp.status() == StatusCode::SWITCHING_PROTOCOLS);
            if page {
                lab_notice::add_script(resp, &owner).await
            } else {
                resp
            }
        }
        Err(e @ ProxyError::Unreachable { .. }) => {
            metrics.error(ErrorKind::ProxyUnreachable);
            tracing::warn!(user = %owner, container = %server.container_id, error = %e, "the server is gone; marking it stopped");
            spawner.mark_stopped(&owner, &server.container_id).await;
            pages::html(
                StatusCode::SERVICE_UNAVAILABLE,
                "Your server has stopped",
                &format!(
                    "<p>The Jupyter server of {u} is not running any more. Open the Jupyter activity in your \
                     course to start it again, or <a href=\"/hub/spawn-pending/{u}\">start it here</a>.</p>",
                    u = pages::escape(&owner)
                ),
            )
        }
        Err(e @ ProxyError::Failed { .. }) => {
            tracing::warn!(user = %owner, error = %e, "proxy request failed");
            metrics.error(ErrorKind::ProxyFailed);
            pages::message(
                StatusCode::BAD_GATEWAY,
                "The server did not answer",
                "Your Jupyter server did not answer this request. Reload the page; if it keeps happening, \
                 open the activity in your course again.",
            )
        }
        Err(e @ ProxyError::BadRequest(_)) => PageError::BadRequest(e.to_string()).into_response(),
    }
}

/// `user`'s LMS login, from their stored launch: the name the LMS knows them by where the hub
/// runs them under another (an e-mail-style login); the hub name when the store has none.
async fn lms_login(store: &dyn Store, user: &str) -> String {
    let stored = match store.user(user).await {
        Ok(record) => record.and_then(|r| r.last_launch),
        Err(e) => {
            tracing::warn!(%user, error = %e, "cannot read the user's stored launch; notebook logs carry the hub name");
            None
        }
    };
    stored
        .as_ref()
        .and_then(launch_from_json)
        .and_then(|launch| launch.lms_login)
        .unwrap_or_else(|| user.to_owned())
}
