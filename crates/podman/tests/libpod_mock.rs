//! A loopback mock of the libpod API on a unix socket in a temporary directory: it records every
//! request and answers from a routing function, so the runtime's handling of engine replies is
//! tested without Podman.

use std::convert::Infallible;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use http_body_util::Full;
use hyper::body::{Bytes, Incoming};
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use lticontainer_podman::{PodmanRuntime, PodmanRuntimeBuilder};
use tokio::net::UnixListener;

/// One canned reply: status, JSON body, and an optional delay before answering.
pub(crate) struct Reply {
    pub(crate) status: u16,
    pub(crate) body: String,
    pub(crate) delay: Duration,
}

/// A reply with this status and body, at once.
pub(crate) fn reply(status: u16, body: impl Into<String>) -> Reply {
    Reply {
        status,
        body: body.into(),
        delay: Duration::ZERO,
    }
}

/// Podman's error body for a failure.
pub(crate) fn fault(status: u16, message: &str, cause: &str) -> Reply {
    reply(
        status,
        serde_json::json!({"message": message, "cause": cause, "response": status}).to_string(),
    )
}

type Route = dyn Fn(&str, &str) -> Reply + Send + Sync;

/// A running mock; the socket lives as long as this value.
pub(crate) struct MockLibpod {
    _dir: tempfile::TempDir,
    socket: PathBuf,
    requests: Arc<Mutex<Vec<String>>>,
}

impl MockLibpod {
    /// Serves `route(method, path_and_query_after_the_version)` on a fresh socket, e.g.
    /// `route("POST", "/libpod/containers/abc/start")`.
    pub(crate) fn start(route: impl Fn(&str, &str) -> Reply + Send + Sync + 'static) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let socket = dir.path().join("podman.sock");
        let listener = UnixListener::bind(&socket).unwrap();
        let requests = Arc::new(Mutex::new(Vec::new()));
        let route: Arc<Route> = Arc::new(route);
        let seen = requests.clone();
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let route = route.clone();
                let seen = seen.clone();
                tokio::spawn(async move {
                    let service = hyper::service::service_fn(move |req: Request<Incoming>| {
                        let route = route.clone();
                        let seen = seen.clone();
                        async move {
                            let method = req.method().to_string();
                            let full = req.uri().path_and_query().map_or("", |p| p.as_str());
                            // Drop the `/v4.x.y` version prefix.
                            let path = full.find("/libpod").map_or(full, |i| &full[i..]);
                            seen.lock().unwrap().push(format!("{method} {path}"));
                            let r = route(&method, path);
                            tokio::time::sleep(r.delay).await;
                            let response = Response::builder()
                                .status(r.status)
                                .header("content-type", "application/json")
                                .body(Full::new(Bytes::from(r.body)))
                                .unwrap();
                            Ok::<_, Infallible>(response)
                        }
                    });
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
        });
        Self {
            _dir: dir,
            socket,
            requests,
        }
    }

    /// A runtime talking to this mock, with a 1 s request timeout.
    pub(crate) fn runtime(&self) -> PodmanRuntime {
        PodmanRuntimeBuilder::new()
            .with_socket(&self.socket)
            .with_request_timeout(Duration::from_secs(1))
            .build()
            .unwrap()
    }

    /// Every request so far, as `METHOD /libpod/…?query`.
    pub(crate) fn requests(&self) -> Vec<String> {
        self.requests.lock().unwrap().clone()
    }
}

/// An inspect reply for a running container on the host network.
pub(crate) fn inspect_body(id: &str, name: &str, status: &str) -> String {
    serde_json::json!({
        "Id": id, "Name": name, "ImageName": "localhost/lticontainer-test/busybox:latest",
        "State": {"Status": status, "ExitCode": 0, "Running": status == "running"},
        "Config": {"Labels": {"lticontainer.port": "8888"}},
        "HostConfig": {"NetworkMode": "host"}
    })
    .to_string()
}
