//! The reverse proxy to users' servers: streams HTTP bodies both ways and bridges WebSocket
//! upgrades, over a pooled hyper client.
//!
//! The request path is kept as it is (the single-user server serves under `/user/<name>/`), the
//! `Host` header is kept (Jupyter compares it with `Origin` on WebSocket requests), the hub's
//! session cookie is taken out, and `X-Forwarded-For`/`-Proto`/`-Host` are set.

use std::future::Future;
use std::net::{IpAddr, SocketAddr};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use axum::body::Body;
use axum::extract::Request;
use axum::http::header::{self, HeaderMap, HeaderName, HeaderValue};
use axum::http::{StatusCode, Uri};
use axum::response::Response;
use hyper::Uri as HyperUri;
use hyper::upgrade::OnUpgrade;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::{TokioExecutor, TokioIo};
use lticontainer_hub::spawner::Spawner;
use tokio::net::TcpStream;

use crate::session::strip_session_cookie;
use crate::ws_tap::{self, CaptureRequest};

/// The pooled HTTP client the proxy uses.
pub(crate) type ProxyClient = Client<VouchedConnector, Body>;

/// The most the proxy buffers per upstream connection, each way (hyper's default is ~400 KiB):
/// with a browser that stops reading, or a server that stops reading an upload, a proxied
/// request pins at most this much in the client besides the hub's own per-connection buffers
/// (`crate::serve::MAX_HEAD_BYTES`).
pub(crate) const UPSTREAM_BUF_BYTES: usize = 64 * 1024;

/// A client with pooled keep-alive connections, a short connect timeout (so a vanished server
/// is noticed at once instead of hanging the browser) and bounded buffers. Every new connection
/// is vouched for by `spawner` before it is used ([`VouchedConnector`]).
pub(crate) fn client(spawner: Arc<Spawner>) -> ProxyClient {
    let mut connector = HttpConnector::new();
    connector.set_connect_timeout(Some(Duration::from_secs(3)));
    connector.set_nodelay(true);
    Client::builder(TokioExecutor::new())
        .pool_idle_timeout(Duration::from_secs(60))
        .pool_max_idle_per_host(32)
        .http1_max_buf_size(UPSTREAM_BUF_BYTES)
        .build(VouchedConnector {
            inner: connector,
            spawner,
        })
}

/// Opens the proxy's connections, each vouched for by [`Spawner::vouch_for_connection`] before
/// the request goes over it: with host networking, what accepts a connection at a server's
/// address must be the server's container, not a process that bound the port after the
/// server stopped. A refused connection is a connect error, which the proxy answers like a
/// server that is gone.
#[derive(Clone)]
pub(crate) struct VouchedConnector {
    inner: HttpConnector,
    spawner: Arc<Spawner>,
}

impl std::fmt::Debug for VouchedConnector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VouchedConnector").finish_non_exhaustive()
    }
}

impl tower::Service<HyperUri> for VouchedConnector {
    type Response = TokioIo<TcpStream>;
    type Error = Box<dyn std::error::Error + Send + Sync>;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, Self::Error>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx).map_err(Into::into)
    }

    fn call(&mut self, uri: HyperUri) -> Self::Future {
        let connecting = self.inner.call(uri);
        let spawner = Arc::clone(&self.spawner);
        Box::pin(async move {
            let io = connecting.await?;
            let peer = io.inner().peer_addr()?;
            spawner
                .vouch_for_connection(peer)
                .await
                .map_err(|why| std::io::Error::new(std::io::ErrorKind::ConnectionRefused, why))?;
            Ok(io)
        })
    }
}

/// Why a request could not be forwarded.
#[derive(Debug, thiserror::Error)]
pub(crate) enum ProxyError {
    /// The server did not accept the connection (it is gone or not listening).
    #[error("cannot connect to the server at {addr}: {source}")]
    Unreachable {
        /// Where the server should be.
        addr: SocketAddr,
        /// The connection error.
        #[source]
        source: hyper_util::client::legacy::Error,
    },
    /// The connection broke while the request was under way.
    #[error("the server at {addr} failed to answer: {source}")]
    Failed {
        /// Where the server is.
        addr: SocketAddr,
        /// The client error.
        #[source]
        source: hyper_util::client::legacy::Error,
    },
    /// The request cannot be expressed for the upstream (a malformed URI).
    #[error("cannot build the upstream request: {0}")]
    BadRequest(String),
}

/// Headers that describe one hop, never forwarded (RFC 9110 §7.6.1).
const HOP_BY_HOP: [HeaderName; 8] = [
    header::CONNECTION,
    HeaderName::from_static("keep-alive"),
    header::PROXY_AUTHENTICATE,
    header::PROXY_AUTHORIZATION,
    header::TE,
    header::TRAILER,
    header::TRANSFER_ENCODING,
    header::UPGRADE,
];

fn strip_hop_by_hop(headers: &mut HeaderMap) {
    let listed: Vec<HeaderName> = headers
        .get_all(header::CONNECTION)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .filter_map(|name| HeaderName::from_bytes(name.trim().as_bytes()).ok())
        .collect();
    for name in HOP_BY_HOP.iter().chain(listed.iter()) {
        headers.remove(name);
    }
}

/// True when the request asks to switch to the WebSocket protocol.
pub(crate) fn is_websocket_upgrade(headers: &HeaderMap) -> bool {
    let has_token = |name: HeaderName, token: &str| {
        headers.get_all(name).iter().any(|v| {
            v.to_str()
                .is_ok_and(|s| s.split(',').any(|t| t.trim().eq_ignore_ascii_case(token)))
        })
    };
    has_token(header::CONNECTION, "upgrade") && has_token(header::UPGRADE, "websocket")
}

/// Who asked and how, for the `X-Forwarded-*` headers.
#[derive(Debug, Clone)]
pub(crate) struct Forwarded {
    /// The client's address, as far as the hub can tell.
    pub client_ip: Option<IpAddr>,
    /// `http` or `https`: the scheme the browser used.
    pub proto: String,
}

/// Forwards `req` to the server at `upstream` and returns its response, streaming. A WebSocket
/// upgrade with `capture` is bridged with learning-analytics capture ([`ws_tap`]).
///
/// # Errors
/// [`ProxyError::Unreachable`] when nothing accepts the connection (the caller answers 503 and
/// marks the server stopped); [`ProxyError::Failed`] for a connection that broke.
pub(crate) async fn forward(
    client: &ProxyClient,
    upstream: SocketAddr,
    mut req: Request,
    fwd: &Forwarded,
    capture: Option<CaptureRequest>,
) -> Result<Response, ProxyError> {
    let websocket = is_websocket_upgrade(req.headers());
    let capture = capture.filter(|_| websocket);
    if capture.is_some() {
        ws_tap::prepare_request(req.headers_mut());
    }
    let client_upgrade = if websocket {
        req.extensions_mut().remove::<OnUpgrade>()
    } else {
        None
    };
    let path = req
        .uri()
        .path_and_query()
        .map_or("/", |p| p.as_str())
        .to_owned();
    let uri: Uri = format!("http://{upstream}{path}")
        .parse()
        .map_err(|e| ProxyError::BadRequest(format!("{path:?}: {e}")))?;
    *req.uri_mut() = uri;
    *req.version_mut() = axum::http::Version::HTTP_11;

    let headers = req.headers_mut();
    let upgrade_value = headers.get(header::UPGRADE).cloned();
    strip_hop_by_hop(headers);
    if websocket {
        headers.insert(header::CONNECTION, HeaderValue::from_static("upgrade"));
        if let Some(v) = upgrade_value {
            headers.insert(header::UPGRADE, v);
        }
    }
    let cookie = headers
        .get(header::COOKIE)
        .and_then(|v| v.to_str().ok())
        .map(strip_session_cookie);
    if let Some(cookie) = cookie {
        headers.remove(header::COOKIE);
        if let Some(v) = cookie.and_then(|c| HeaderValue::from_str(&c).ok()) {
            headers.insert(header::COOKIE, v);
        }
    }
    set_forwarded(headers, fwd);

    let mut resp = client.request(req).await.map_err(|source| {
        if source.is_connect() {
            ProxyError::Unreachable {
                addr: upstream,
                source,
            }
        } else {
            ProxyError::Failed {
                addr: upstream,
                source,
            }
        }
    })?;

    if resp.status() == StatusCode::SWITCHING_PROTOCOLS {
        if let Some(client_upgrade) = client_upgrade {
            let upstream_upgrade = hyper::upgrade::on(&mut resp);
            let protocol = ws_tap::chosen_protocol(resp.headers());
            tokio::spawn(async move {
                match tokio::try_join!(client_upgrade, upstream_upgrade) {
                    Ok((browser, server)) => {
                        let mut browser = TokioIo::new(browser);
                        let mut server = TokioIo::new(server);
                        let bridged = match capture {
                            Some(c) => ws_tap::bridge(browser, server, c, protocol).await,
                            None => tokio::io::copy_bidirectional(&mut browser, &mut server)
                                .await
                                .map(|_| ()),
                        };
                        if let Err(e) = bridged {
                            tracing::debug!(%upstream, error = %e, "websocket bridge closed with an error");
                        }
                    }
                    Err(e) => {
                        tracing::warn!(%upstream, error = %e, "websocket upgrade failed");
                    }
                }
            });
        }
        let (parts, _) = resp.into_parts();
        return Ok(Response::from_parts(parts, Body::empty()));
    }

    let (mut parts, body) = resp.into_parts();
    strip_hop_by_hop(&mut parts.headers);
    Ok(Response::from_parts(parts, Body::new(body)))
}

fn set_forwarded(headers: &mut HeaderMap, fwd: &Forwarded) {
    if let Some(ip) = fwd.client_ip {
        let value = match headers.get("x-forwarded-for").and_then(|v| v.to_str().ok()) {
            Some(prev) if !prev.trim().is_empty() => format!("{prev}, {ip}"),
            _ => ip.to_string(),
        };
        if let Ok(v) = HeaderValue::from_str(&value) {
            headers.insert("x-forwarded-for", v);
        }
    }
    if let Ok(v) = HeaderValue::from_str(&fwd.proto) {
        headers.insert("x-forwarded-proto", v);
    }
    if let Some(host) = headers.get(header::HOST).cloned() {
        headers.insert("x-forwarded-host", host);
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn hop_by_hop_headers_go_including_listed_ones() {
        let mut h = HeaderMap::new();
        h.insert(
            header::CONNECTION,
            HeaderValue::from_static("keep-alive, x-secret"),
        );
        h.insert("x-secret", HeaderValue::from_static("1"));
        h.insert(
            header::TRANSFER_ENCODING,
            HeaderValue::from_static("chunked"),
        );
        h.insert(header::ACCEPT, HeaderValue::from_static("*/*"));
        strip_hop_by_hop(&mut h);
        assert_eq!(h.len(), 1);
        assert!(h.contains_key(header::ACCEPT));
    }

    #[test]
    fn websocket_upgrades_are_recognised() {
        let mut h = HeaderMap::new();
        h.insert(
            header::CONNECTION,
            HeaderValue::from_static("keep-alive, Upgrade"),
        );
        h.insert(header::UPGRADE, HeaderValue::from_static("websocket"));
        assert!(is_websocket_upgrade(&h));
        h.insert(header::UPGRADE, HeaderValue::from_static("h2c"));
        assert!(!is_websocket_upgrade(&h));
    }

    #[test]
    fn forwarded_headers_are_appended() {
        let mut h = HeaderMap::new();
        h.insert(header::HOST, HeaderValue::from_static("hub.example"));
        h.insert("x-forwarded-for", HeaderValue::from_static("10.0.0.1"));
        set_forwarded(
            &mut h,
            &Forwarded {
                client_ip: Some("127.0.0.1".parse().unwrap()),
                proto: "https".into(),
            },
        );
        assert_eq!(h["x-forwarded-for"], "10.0.0.1, 127.0.0.1");
        assert_eq!(h["x-forwarded-proto"], "https");
        assert_eq!(h["x-forwarded-host"], "hub.example");
    }
}
