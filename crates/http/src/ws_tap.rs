//! The kernel channel WebSocket bridge with learning-analytics capture: the bytes are forwarded
//! first and read after ([`KernelTap::inspect`]), so capture never delays, reorders or changes a
//! message; the proxy keeps `permessage-deflate` from being negotiated on these connections
//! ([`prepare_request`]), so every frame can be read.

use std::sync::Arc;

use axum::http::HeaderMap;
use axum::http::header::{HeaderValue, SEC_WEBSOCKET_EXTENSIONS, SEC_WEBSOCKET_PROTOCOL};
use lticontainer_core::analytics::{Direction, KernelProtocol};
use lticontainer_hub::analytics::Analytics;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::sync::Mutex;

/// The read buffer of each direction.
const BUF: usize = 16 * 1024;

/// A kernel channel connection to capture: the analytics and whose server it is.
#[derive(Debug, Clone)]
pub(crate) struct CaptureRequest {
    pub(crate) analytics: Arc<Analytics>,
    pub(crate) user: String,
    /// The user's LMS login, the name the server records carry.
    pub(crate) report_as: String,
    pub(crate) session_id: String,
}

/// The notebook session of a kernel channel WebSocket request:
/// `/user/<u>/api/kernels/<kernel id>/channels?session_id=<id>`; `None` for any other path.
pub(crate) fn kernel_channel_session(path: &str, query: Option<&str>) -> Option<String> {
    let rest = path.strip_prefix("/user/")?;
    let (_, rest) = rest.split_once('/')?;
    let kernel = rest.strip_prefix("api/kernels/")?;
    let (id, tail) = kernel.split_once('/')?;
    if id.is_empty() || id.contains('/') || tail.trim_end_matches('/') != "channels" {
        return None;
    }
    url::form_urlencoded::parse(query?.as_bytes())
        .find(|(k, _)| k == "session_id")
        .map(|(_, v)| v.into_owned())
        .filter(|v| !v.is_empty())
}

/// Takes the extension offer out of the upgrade request, so that the server negotiates no
/// compression and every frame stays readable.
pub(crate) fn prepare_request(headers: &mut HeaderMap) {
    headers.remove(SEC_WEBSOCKET_EXTENSIONS);
}

/// The protocol the server chose in its 101 answer.
pub(crate) fn chosen_protocol(headers: &HeaderMap) -> KernelProtocol {
    KernelProtocol::from_subprotocol(
        headers
            .get(SEC_WEBSOCKET_PROTOCOL)
            .and_then(|v: &HeaderValue| v.to_str().ok()),
    )
}

/// Opens the tap for `capture` (none when the user's latest launch named no LMS) and bridges
/// `browser` and `server` until both sides are done or either fails.
pub(crate) async fn bridge<B, S>(
    browser: B,
    server: S,
    capture: CaptureRequest,
    protocol: KernelProtocol,
) -> std::io::Result<()>
where
    B: AsyncRead + AsyncWrite + Unpin,
    S: AsyncRead + AsyncWrite + Unpin,
{
    let tap = capture
        .analytics
        .open_kernel_channel(
            &capture.user,
            &capture.report_as,
            &capture.session_id,
            protocol,
        )
        .await;
    let mut browser = browser;
    let mut server = server;
    let Some(tap) = tap else {
        return tokio::io::copy_bidirectional(&mut browser, &mut server)
            .await
            .map(|_| ());
    };
    let tap = Mutex::new(tap);
    let (mut br, mut bw) = tokio::io::split(browser);
    let (mut sr, mut sw) = tokio::io::split(server);
    // The client's direction holds the tap from its write until its read of those bytes, so a
    // request is always read before the reply the kernel sends to it.
    let upstream = async {
        let mut buf = vec![0u8; BUF];
        loop {
            let n = br.read(&mut buf).await?;
            if n == 0 {
                sw.shutdown().await?;
                return Ok::<_, std::io::Error>(());
            }
            let mut t = tap.lock().await;
            sw.write_all(&buf[..n]).await?;
            t.inspect(Direction::FromClient, &buf[..n]);
        }
    };
    let downstream = async {
        let mut buf = vec![0u8; BUF];
        loop {
            let n = sr.read(&mut buf).await?;
            if n == 0 {
                bw.shutdown().await?;
                return Ok::<_, std::io::Error>(());
            }
            bw.write_all(&buf[..n]).await?;
            tap.lock().await.inspect(Direction::FromKernel, &buf[..n]);
        }
    };
    tokio::try_join!(upstream, downstream).map(|_| ())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kernel_channel_paths_name_their_session() {
        let s = |p: &str, q: Option<&str>| kernel_channel_session(p, q);
        assert_eq!(
            s(
                "/user/alice/api/kernels/k-1/channels",
                Some("session_id=abc-1")
            ),
            Some("abc-1".into())
        );
        assert_eq!(
            s(
                "/user/alice/api/kernels/k-1/channels",
                Some("token=x&session_id=a%20b")
            ),
            Some("a b".into())
        );
        for (p, q) in [
            ("/user/alice/api/kernels/k-1/channels", None),
            ("/user/alice/api/kernels/k-1/channels", Some("session_id=")),
            ("/user/alice/api/kernels/k-1/iopub", Some("session_id=a")),
            ("/user/alice/api/kernels//channels", Some("session_id=a")),
            ("/user/alice/terminals/websocket/1", Some("session_id=a")),
            ("/hub/api/kernels/k/channels", Some("session_id=a")),
        ] {
            assert_eq!(s(p, q), None, "{p} {q:?}");
        }
    }

    #[test]
    fn the_extension_offer_is_taken_out() {
        let mut h = HeaderMap::new();
        h.insert(
            SEC_WEBSOCKET_EXTENSIONS,
            HeaderValue::from_static("permessage-deflate; client_max_window_bits"),
        );
        prepare_request(&mut h);
        assert!(h.get(SEC_WEBSOCKET_EXTENSIONS).is_none());
    }
}
