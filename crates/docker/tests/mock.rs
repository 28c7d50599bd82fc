//! A loopback mock of the Docker Engine API on a Unix socket in a temporary directory.
//!
//! It answers `GET /version` with API 1.41 (what Debian's docker.io 20.10 speaks), records every
//! request, and hands all others to the test's handler.

use std::future::Future;
use std::path::PathBuf;
use std::pin::Pin;
use std::sync::{Arc, Mutex};

use http_body_util::{BodyExt, Full};
use hyper::body::{Bytes, Incoming};
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use lticontainer_docker::{DockerRuntime, DockerRuntimeBuilder};

/// One request the mock received.
#[derive(Debug, Clone)]
pub(crate) struct Call {
    /// `GET`, `POST`, …
    pub(crate) method: String,
    /// The API version the path carried, e.g. `1.41`.
    pub(crate) version: String,
    /// The path without the version prefix, e.g. `/containers/create`.
    pub(crate) path: String,
    /// The query string, empty when there was none.
    pub(crate) query: String,
    /// The request body.
    pub(crate) body: String,
}

impl Call {
    /// `"METHOD /path"`, for matching and assertions.
    pub(crate) fn route(&self) -> String {
        format!("{} {}", self.method, self.path)
    }
}

/// A reply: status and JSON (or newline-delimited JSON) body.
pub(crate) type Reply = (u16, String);

/// Answers one call.
pub(crate) type Handler =
    Arc<dyn Fn(Call) -> Pin<Box<dyn Future<Output = Reply> + Send>> + Send + Sync>;

/// Builds a [`Handler`] from an async closure body.
pub(crate) fn handler<F, Fut>(f: F) -> Handler
where
    F: Fn(Call) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Reply> + Send + 'static,
{
    Arc::new(move |call| Box::pin(f(call)))
}

/// The Docker error body for `message`.
pub(crate) fn error(status: u16, message: &str) -> Reply {
    (
        status,
        serde_json::json!({ "message": message }).to_string(),
    )
}

/// A running mock engine; stops when dropped.
pub(crate) struct MockEngine {
    socket: PathBuf,
    calls: Arc<Mutex<Vec<Call>>>,
    task: tokio::task::JoinHandle<()>,
    _dir: tempfile::TempDir,
}

impl MockEngine {
    /// Starts the mock; `handler` answers everything but `/version`.
    pub(crate) fn start(handler: Handler) -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        let socket = dir.path().join("docker.sock");
        let listener = tokio::net::UnixListener::bind(&socket).expect("bind the mock socket");
        let calls: Arc<Mutex<Vec<Call>>> = Arc::default();
        let log = calls.clone();
        let task = tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let handler = handler.clone();
                let log = log.clone();
                let service = service_fn(move |req: Request<Incoming>| {
                    let handler = handler.clone();
                    let log = log.clone();
                    async move {
                        let call = read_call(req).await;
                        log.lock().expect("call log").push(call.clone());
                        let (status, body) = if call.route() == "GET /version" {
                            (
                                200,
                                r#"{"ApiVersion":"1.41","Version":"20.10.24"}"#.to_owned(),
                            )
                        } else {
                            handler(call).await
                        };
                        Response::builder()
                            .status(status)
                            .header("content-type", "application/json")
                            .body(Full::new(Bytes::from(body)))
                    }
                });
                tokio::spawn(async move {
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
        });
        Self {
            socket,
            calls,
            task,
            _dir: dir,
        }
    }

    /// The socket path.
    pub(crate) fn socket(&self) -> &str {
        self.socket.to_str().expect("utf-8 temp path")
    }

    /// A runtime talking to this mock.
    pub(crate) fn runtime(&self) -> DockerRuntime {
        DockerRuntimeBuilder::new()
            .with_socket(self.socket())
            .build()
            .expect("the mock socket exists")
    }

    /// Every call so far, in arrival order.
    pub(crate) fn calls(&self) -> Vec<Call> {
        self.calls.lock().expect("call log").clone()
    }

    /// The routes (`"METHOD /path"`) called so far, without `/version`.
    pub(crate) fn routes(&self) -> Vec<String> {
        self.calls()
            .iter()
            .map(Call::route)
            .filter(|r| r != "GET /version")
            .collect()
    }
}

impl Drop for MockEngine {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn read_call(req: Request<Incoming>) -> Call {
    let method = req.method().to_string();
    let full = req.uri().path().to_owned();
    let query = req.uri().query().unwrap_or_default().to_owned();
    let (version, path) = match full.strip_prefix("/v") {
        Some(rest) => match rest.split_once('/') {
            Some((v, p)) => (v.to_owned(), format!("/{p}")),
            None => (String::new(), full.clone()),
        },
        None => (String::new(), full.clone()),
    };
    let body = req
        .into_body()
        .collect()
        .await
        .map(|b| String::from_utf8_lossy(&b.to_bytes()).into_owned())
        .unwrap_or_default();
    Call {
        method,
        version,
        path,
        query,
        body,
    }
}
