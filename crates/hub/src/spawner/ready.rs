//! Waiting for a started server to answer HTTP, bounded by `hub.http_timeout_secs`, and
//! noticing a container that exits meanwhile instead of waiting out the timeout.
//!
//! An answer counts only when it comes from the container: with host networking, any process on
//! the host could hold the server's port (another student's code on a freed port), so an answer
//! at a loopback address is accepted once [`crate::listener_owner`] finds the listening socket
//! held by the container's own processes. Otherwise readiness keeps waiting, and the admin's
//! log names the process that holds the port.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
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

/// The pause between two readiness probes of a server while few servers are awaited. The
/// student waits for the first probe after the server listens, so the pause is time added to
/// every launch (half of it on average): 50 ms, as often as the floor of the benchmarks
/// (`benches/peer`) polls a server it started itself. A probe of a server not listening yet is
/// one refused loopback or bridge connect.
const PROBE_INTERVAL: Duration = Duration::from_millis(50);

/// The readiness probes per second of all awaited servers together, beyond which each server is
/// probed less often (a lecture hall's servers starting at once, with a raised
/// `hub.max_concurrent_spawns`, would otherwise cost a core's share in refused connects).
const PROBES_PER_SECOND: u32 = 400;

/// The longest pause between two probes of one server, however many are awaited.
const MAX_PROBE_INTERVAL: Duration = Duration::from_millis(500);

/// The pause between two probes of a server while `awaited` servers (this one included) are
/// waited for: [`PROBE_INTERVAL`], longer once the probes of all of them would pass
/// [`PROBES_PER_SECOND`], at most [`MAX_PROBE_INTERVAL`].
fn probe_interval(awaited: usize) -> Duration {
    let awaited = u32::try_from(awaited).unwrap_or(u32::MAX);
    (Duration::from_secs(1).saturating_mul(awaited) / PROBES_PER_SECOND)
        .clamp(PROBE_INTERVAL, MAX_PROBE_INTERVAL)
}

/// Counts one server as awaited (see [`probe_interval`]) for as long as it lives.
struct Awaited<'a>(&'a AtomicUsize);

impl<'a> Awaited<'a> {
    fn new(count: &'a AtomicUsize) -> Self {
        count.fetch_add(1, Ordering::Relaxed);
        Self(count)
    }
}

impl Drop for Awaited<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}

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
        let _awaited = Awaited::new(&self.awaited_servers);
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
            tokio::time::sleep(probe_interval(self.awaited_servers.load(Ordering::Relaxed))).await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn few_awaited_servers_are_probed_every_50_ms() {
        for awaited in [0, 1, 16, 20] {
            assert_eq!(
                probe_interval(awaited),
                Duration::from_millis(50),
                "{awaited}"
            );
        }
    }

    #[test]
    fn many_awaited_servers_share_the_probe_rate_up_to_half_a_second_each() {
        assert_eq!(probe_interval(40), Duration::from_millis(100));
        assert_eq!(probe_interval(100), Duration::from_millis(250));
        assert_eq!(probe_interval(200), Duration::from_millis(500));
        assert_eq!(probe_interval(usize::MAX), Duration::from_millis(500));
    }

    #[test]
    fn an_awaited_server_counts_while_it_is_awaited() {
        let count = AtomicUsize::new(0);
        {
            let _a = Awaited::new(&count);
            let _b = Awaited::new(&count);
            assert_eq!(count.load(Ordering::Relaxed), 2);
        }
        assert_eq!(count.load(Ordering::Relaxed), 0);
    }
}
