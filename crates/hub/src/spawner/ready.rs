//! Waiting for a started server to answer HTTP, bounded by `hub.http_timeout_secs`, and
//! noticing a container that exits meanwhile instead of waiting out the timeout.
//!
//! An answer counts only when it comes from the container: with host networking, any process on
//! the host could hold the server's port (another student's code on a freed port), so an answer
//! at a loopback address is accepted once [`crate::listener_owner`] finds the listening socket
//! held by the container's own processes. Otherwise readiness keeps waiting, and the admin's
//! log names the process that holds the port.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::Empty;
use hyper::Request;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;

use super::Spawner;
use super::failure::SpawnFailure;
use crate::listener_owner::{ListenerCheck, Sockets, needs_check};

/// The longest pause between two readiness probes. The student waits for the first probe after
/// the server listens, so a long pause is time added to every launch (with 500 ms, about 250 ms on
/// average); a probe of a server not listening yet is one refused loopback or bridge connect.
const MAX_PROBE_INTERVAL: Duration = Duration::from_millis(100);

/// The HTTP client of the readiness probes.
pub(super) type ProbeClient = Client<HttpConnector, Empty<Bytes>>;

/// A client with a short connect timeout, so a server that is not listening yet is noticed at
/// once; connections are not kept (each probe is one request).
pub(super) fn probe_client() -> ProbeClient {
    let mut connector = HttpConnector::new();
    connector.set_connect_timeout(Some(Duration::from_secs(3)));
    connector.set_nodelay(true);
    Client::builder(TokioExecutor::new())
        .pool_max_idle_per_host(0)
        .build(connector)
}

impl Spawner {
    /// Who holds the listener at `addr`, compared with container `container_id`: for a
    /// loopback address (host networking) the [`ListenerOwnership`](crate::listener_owner::ListenerOwnership)
    /// check on the blocking pool; a bridge or user-network address is the container's own.
    pub(super) async fn listener_check(
        &self,
        addr: SocketAddr,
        container_id: &str,
    ) -> ListenerCheck {
        if !needs_check(addr) {
            return ListenerCheck::Container(Sockets::default());
        }
        let listeners = std::sync::Arc::clone(&self.listeners);
        let id = container_id.to_owned();
        tokio::task::spawn_blocking(move || listeners.check(addr, &id))
            .await
            .unwrap_or_else(|e| ListenerCheck::Unknown(format!("the check did not finish: {e}")))
    }

    /// One quick readiness probe: true when the server at `addr` answers HTTP within 3 s.
    pub(super) async fn answers(&self, user: &str, addr: SocketAddr) -> bool {
        let Ok(req) = Request::get(format!("http://{addr}/user/{user}/api")).body(Empty::new())
        else {
            return false;
        };
        matches!(
            tokio::time::timeout(Duration::from_secs(3), self.http.request(req)).await,
            Ok(Ok(_))
        )
    }

    /// Polls `http://<addr>/user/<user>/api` until the server answers with any HTTP response
    /// (as JupyterHub does) from inside the container, the container stops, or the timeout
    /// passes. Returns the listening sockets vouched for as the container's.
    pub(super) async fn wait_ready(
        &self,
        user: &str,
        container_id: &str,
        addr: SocketAddr,
    ) -> Result<Sockets, SpawnFailure> {
        let timeout = self.hub.http_timeout();
        let url = format!("http://{addr}/user/{user}/api");
        let start = Instant::now();
        let mut delay = Duration::from_millis(50);
        let mut last_check = Instant::now();
        // What the admin's log last said about a listener outside the container (said once).
        let mut last_foreign: Option<String> = None;
        loop {
            let req = Request::get(&url).body(Empty::new()).map_err(|e| {
                SpawnFailure::new(
                    "The hub could not check your server.",
                    format!("building the readiness request {url}: {e}"),
                )
            })?;
            let last_error = match tokio::time::timeout(
                Duration::from_secs(5),
                self.http.request(req),
            )
            .await
            {
                Ok(Ok(resp)) => {
                    tracing::debug!(%user, status = %resp.status(), "server answered");
                    match self.listener_check(addr, container_id).await {
                        ListenerCheck::Container(sockets) => return Ok(sockets),
                        ListenerCheck::Unknown(why) => {
                            return Err(SpawnFailure::new(
                                "The hub could not check that the server answering is yours, so it does not open it. Please tell your teacher.",
                                format!(
                                    "cannot tell who listens at {addr} for container {container_id}: {why} \
                                         (with host networking the hub must run as root in the host's PID and network namespaces)"
                                ),
                            ));
                        }
                        other => {
                            let said = format!(
                                "{addr} answered, but not from container {container_id}: {other}"
                            );
                            if last_foreign.as_deref() != Some(said.as_str()) {
                                tracing::warn!(%user, container = %container_id, %addr, listener = %other, "something outside the container answers at the server's address; not trusting it, still waiting");
                                last_foreign = Some(said.clone());
                            }
                            said
                        }
                    }
                }
                Ok(Err(e)) => e.to_string(),
                Err(_) => "no answer within 5 s".to_owned(),
            };
            if start.elapsed() >= timeout {
                return Err(SpawnFailure::new(
                    format!(
                        "Your server started but did not answer within {} seconds. Please try again; if it keeps failing, tell your teacher.",
                        timeout.as_secs()
                    ),
                    format!(
                        "the server at {url} did not answer within {}s (hub.http_timeout_secs): {last_error}",
                        timeout.as_secs()
                    ),
                ));
            }
            if last_check.elapsed() >= Duration::from_secs(2) {
                last_check = Instant::now();
                match self.runtime.inspect(container_id).await {
                    Ok(info) if !info.state.is_running() => {
                        return Err(SpawnFailure::new(
                            "Your server stopped right after it started. Please tell your teacher; the hub's log has the details.",
                            format!(
                                "container {container_id} is {:?} before its server answered",
                                info.state
                            ),
                        ));
                    }
                    Err(e) if e.is_not_found() => {
                        return Err(SpawnFailure::new(
                            "Your server stopped right after it started. Please tell your teacher.",
                            format!("container {container_id} vanished before its server answered"),
                        ));
                    }
                    _ => {}
                }
            }
            tokio::time::sleep(delay).await;
            delay = (delay * 2).min(MAX_PROBE_INTERVAL);
        }
    }
}
