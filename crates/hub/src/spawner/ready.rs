//! Waiting for a started server to answer HTTP, bounded by `hub.http_timeout_secs`, and
//! noticing a container that exits meanwhile instead of waiting out the timeout.

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
    /// (as JupyterHub does), the container stops, or the timeout passes.
    pub(super) async fn wait_ready(
        &self,
        user: &str,
        container_id: &str,
        addr: SocketAddr,
    ) -> Result<(), SpawnFailure> {
        let timeout = self.hub.http_timeout();
        let url = format!("http://{addr}/user/{user}/api");
        let start = Instant::now();
        let mut delay = Duration::from_millis(50);
        let mut last_check = Instant::now();
        loop {
            let req = Request::get(&url)
                .body(Empty::new())
                .map_err(|e| SpawnFailure {
                    student: "The hub could not check your server.".into(),
                    admin: format!("building the readiness request {url}: {e}"),
                })?;
            let last_error =
                match tokio::time::timeout(Duration::from_secs(5), self.http.request(req)).await {
                    Ok(Ok(resp)) => {
                        tracing::debug!(%user, status = %resp.status(), "server answered");
                        return Ok(());
                    }
                    Ok(Err(e)) => e.to_string(),
                    Err(_) => "no answer within 5 s".to_owned(),
                };
            if start.elapsed() >= timeout {
                return Err(SpawnFailure {
                    student: format!(
                        "Your server started but did not answer within {} seconds. Please try again; if it keeps failing, tell your teacher.",
                        timeout.as_secs()
                    ),
                    admin: format!(
                        "the server at {url} did not answer within {}s (hub.http_timeout_secs): {last_error}",
                        timeout.as_secs()
                    ),
                });
            }
            if last_check.elapsed() >= Duration::from_secs(2) {
                last_check = Instant::now();
                match self.runtime.inspect(container_id).await {
                    Ok(info) if !info.state.is_running() => {
                        return Err(SpawnFailure {
                            student: "Your server stopped right after it started. Please tell your teacher; the hub's log has the details.".into(),
                            admin: format!("container {container_id} is {:?} before its server answered", info.state),
                        });
                    }
                    Err(e) if e.is_not_found() => {
                        return Err(SpawnFailure {
                            student: "Your server stopped right after it started. Please tell your teacher.".into(),
                            admin: format!("container {container_id} vanished before its server answered"),
                        });
                    }
                    _ => {}
                }
            }
            tokio::time::sleep(delay).await;
            delay = (delay * 2).min(Duration::from_millis(500));
        }
    }
}
