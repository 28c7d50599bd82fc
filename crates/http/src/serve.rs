//! [`serve`]: the hub's own accept loop, with what a client may hold: a deadline for each
//! request's head, a cap on open connections in total and per client address, and bounded
//! buffers. Request bodies have their own limits ([`crate::app`]'s body gate).
//!
//! Each accepted connection takes a slot before a byte is read. Over either cap, the connection
//! gets a fixed `503` (written once, without waiting) and is closed at once, so a flood costs
//! an accept and a write. The slot lives as long as the socket, WebSockets included: an upgraded
//! connection keeps the slot until the bridge closes it.
//!
//! Connections speak HTTP/1.1 only, through hyper's HTTP/1 server with upgrades (the proxy
//! bridges WebSockets to Jupyter). hyper-util's `auto` builder, which would also take h2c, first
//! sniffs the protocol without any deadline, so a client that connects and says nothing would be
//! held forever; and HTTP/2 has no header deadline of its own. axum's `serve` also spoke
//! HTTP/1.1 to every real client (browsers use HTTP/2 only over TLS; a proxy in front terminates
//! it, or [`serve_tls`] does, offering only `http/1.1` by ALPN).
//!
//! Memory a stalled client can pin: at most [`MAX_HEAD_BYTES`] of request head plus one read
//! buffer of the same size, plus what the body gate buffers for the endpoint (256 KiB for a
//! launch, 64 KiB elsewhere, nothing for the proxy, which streams through buffers of 64 KiB), for
//! at most the header or body deadline; so about 320 KiB per connection, and the caps bound the
//! total: `max_connections` × 320 KiB (about 1.3 GiB at the default 4096), `max_connections_per_ip`
//! × 320 KiB from one address.

use std::collections::HashMap;
use std::future::Future;
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::pin::Pin;
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll};
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::ConnectInfo;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use lticontainer_core::auth::{IpCidr, PublicUrlConfig};
use lticontainer_hub::HubConfig;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tower::ServiceExt;

use crate::peer::ServedOverTls;
use crate::tls::HubTls;

/// The largest request head (request line and headers) a client may send; more is answered
/// `431`. It is also hyper's largest read and write buffer per connection. Browsers send a few
/// kilobytes; Node.js allows 16 KiB, nginx 32 KiB.
pub const MAX_HEAD_BYTES: usize = 32 * 1024;

/// The answer to a connection over a cap, written once without waiting.
const BUSY: &[u8] =
    b"HTTP/1.1 503 Service Unavailable\r\nContent-Type: text/plain; charset=utf-8\r\n\
Content-Length: 48\r\nRetry-After: 5\r\nConnection: close\r\n\r\n\
The hub is busy. Please try again in a moment.\r\n";

/// How long the accept loop pauses after an error that is not one connection's (e.g. out of file
/// descriptors), so it does not spin.
const ACCEPT_ERROR_PAUSE: Duration = Duration::from_millis(200);

/// How often, at most, refused connections (or accept errors) are logged as a warning.
const REFUSAL_LOG_EVERY: Duration = Duration::from_secs(10);

/// What connections a client may open and how long it may take to send a request's head.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct ServeLimits {
    /// The time a client has to send a request's head; also the keep-alive idle time.
    pub header_timeout: Duration,
    /// Client connections open at once.
    pub max_connections: usize,
    /// Client connections open at once from one address (an IPv6 client: its /64).
    pub max_connections_per_ip: usize,
    /// Peers whose connections count only toward the total (the reverse proxies in front).
    pub exempt: Vec<IpCidr>,
}

impl ServeLimits {
    /// The limits of `hub`, with the trusted proxies of `public_url` exempt from the per-address
    /// cap (behind a proxy every client has the proxy's address).
    pub fn from_config(hub: &HubConfig, public_url: &PublicUrlConfig) -> Self {
        Self {
            header_timeout: hub.header_timeout(),
            max_connections: hub.max_connections,
            max_connections_per_ip: hub.max_connections_per_ip,
            exempt: public_url.trusted_proxies.clone(),
        }
    }
}

/// Connections one single-user server may hold open at once to the servers' hub API at its
/// network's gateway. A server makes a few at a time (token checks, activity reports); code in a
/// student's notebook could open thousands, each costing the hub memory until its deadline.
pub const CONNECTIONS_PER_SERVER: usize = 32;

impl ServeLimits {
    /// The limits of the servers' hub API listener (isolated networking): these, with at most
    /// [`CONNECTIONS_PER_SERVER`] connections from one server and no peer exempt.
    #[must_use]
    pub fn for_servers(self) -> Self {
        Self {
            max_connections_per_ip: self.max_connections_per_ip.min(CONNECTIONS_PER_SERVER),
            exempt: Vec::new(),
            ..self
        }
    }
}

impl Default for ServeLimits {
    fn default() -> Self {
        Self::from_config(&HubConfig::default(), &PublicUrlConfig::default())
    }
}

/// Where [`serve`] takes its connections from: a [`TcpListener`], or a listener that hands on only
/// some of the connections it accepts ([`crate::ServerNetworkListener`]).
pub trait AcceptTcp: Send {
    /// The next connection and its peer's address; an error is the listener's (e.g. out of file
    /// descriptors), never one connection's refusal.
    fn accept_tcp(&mut self) -> impl Future<Output = io::Result<(TcpStream, SocketAddr)>> + Send;
}

impl AcceptTcp for TcpListener {
    fn accept_tcp(&mut self) -> impl Future<Output = io::Result<(TcpStream, SocketAddr)>> + Send {
        self.accept()
    }
}

/// Serves `router` on `listener` until `shutdown` completes, then lets open requests finish
/// (idle connections close at once) and returns when every connection is done. Requests carry
/// [`ConnectInfo<SocketAddr>`] with the peer's address, as axum's `serve` with connect info does.
/// WebSocket upgrades are served; an upgraded connection no longer delays the return.
///
/// # Errors
/// None today: accept errors are logged and retried. The `Result` leaves room for fatal ones.
///
/// # Example
/// ```no_run
/// # async fn demo(router: axum::Router) -> std::io::Result<()> {
/// use lticontainer_http::serve::{ServeLimits, serve};
/// let listener = tokio::net::TcpListener::bind("127.0.0.1:8000").await?;
/// serve(listener, router, ServeLimits::default(), async {
///     let _ = tokio::signal::ctrl_c().await;
/// })
/// .await
/// # }
/// ```
pub async fn serve<L, F>(
    listener: L,
    router: Router,
    limits: ServeLimits,
    shutdown: F,
) -> io::Result<()>
where
    L: AcceptTcp,
    F: Future<Output = ()> + Send,
{
    serve_with(listener, router, limits, None, shutdown).await
}

/// [`serve`] over HTTPS: each connection first completes a TLS handshake with the pair `tls`
/// holds at that moment ([`HubTls::reload`] changes it for the next ones), within
/// [`ServeLimits::header_timeout`] (a client that stalls it loses its slot then). Requests carry a
/// mark that they came over TLS, so the public URL's scheme is `https` and the session cookie
/// `Secure`.
///
/// # Errors
/// As [`serve`].
pub async fn serve_tls<L, F>(
    listener: L,
    router: Router,
    limits: ServeLimits,
    tls: HubTls,
    shutdown: F,
) -> io::Result<()>
where
    L: AcceptTcp,
    F: Future<Output = ()> + Send,
{
    serve_with(listener, router, limits, Some(tls), shutdown).await
}

async fn serve_with<L, F>(
    mut listener: L,
    router: Router,
    limits: ServeLimits,
    tls: Option<HubTls>,
    shutdown: F,
) -> io::Result<()>
where
    L: AcceptTcp,
    F: Future<Output = ()> + Send,
{
    let slots = Slots::new(&limits);
    let mut builder = hyper::server::conn::http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_timeout)
        .max_buf_size(MAX_HEAD_BYTES)
        .keep_alive(true);
    // Told to every connection at shutdown; each holds a receiver until it is done.
    let (stop_tx, stop_rx) = watch::channel(false);
    let mut shutdown = std::pin::pin!(shutdown);
    let mut refusals = RefusalLog::default();
    let mut last_accept_warning: Option<tokio::time::Instant> = None;
    loop {
        let (stream, peer) = tokio::select! {
            biased;
            () = &mut shutdown => break,
            accepted = listener.accept_tcp() => match accepted {
                Ok(a) => a,
                Err(e) if is_connection_error(&e) => continue,
                Err(e) => {
                    let now = tokio::time::Instant::now();
                    if last_accept_warning.is_none_or(|t| now - t >= REFUSAL_LOG_EVERY) {
                        tracing::warn!(error = %e, "cannot accept connections (out of file descriptors?); retrying");
                        last_accept_warning = Some(now);
                    }
                    tokio::time::sleep(ACCEPT_ERROR_PAUSE).await;
                    continue;
                }
            },
        };
        let slot = match slots.take(peer.ip()) {
            Ok(slot) => slot,
            Err(cap) => {
                refusals.note(peer.ip(), cap);
                // Best effort, never waiting: a flood costs one write per connection.
                let _ = stream.try_write(BUSY);
                drop(stream);
                continue;
            }
        };
        let io = SlotIo {
            stream,
            _slot: slot,
        };
        let conn = Connection {
            builder: builder.clone(),
            router: router.clone(),
            peer,
            stop: stop_rx.clone(),
        };
        let handshake = tls.as_ref().map(HubTls::acceptor);
        let handshake_deadline = limits.header_timeout;
        tokio::spawn(async move {
            let Some(acceptor) = handshake else {
                return conn.run(io, false).await;
            };
            match tokio::time::timeout(handshake_deadline, acceptor.accept(io)).await {
                Ok(Ok(tls_io)) => conn.run(tls_io, true).await,
                Ok(Err(e)) => tracing::debug!(%peer, error = %e, "TLS handshake failed"),
                Err(_) => {
                    tracing::debug!(%peer, "TLS handshake not done within hub.header_timeout_secs; closing")
                }
            }
        });
    }
    drop(listener);
    let _ = stop_tx.send(true);
    drop(stop_rx);
    stop_tx.closed().await;
    Ok(())
}

fn is_connection_error(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::ConnectionRefused
            | io::ErrorKind::ConnectionAborted
            | io::ErrorKind::ConnectionReset
    )
}

/// What one accepted connection is served with.
struct Connection {
    builder: hyper::server::conn::http1::Builder,
    router: Router,
    peer: SocketAddr,
    /// Turns `true` at shutdown; held until the connection is done.
    stop: watch::Receiver<bool>,
}

impl Connection {
    /// Serves HTTP/1.1 (with upgrades) on `io` until the client or the shutdown ends it; `tls`
    /// marks each request as having come over the hub's own TLS.
    async fn run<I>(mut self, io: I, tls: bool)
    where
        I: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    {
        let (router, peer) = (self.router, self.peer);
        let service = hyper::service::service_fn(move |mut req: hyper::Request<Incoming>| {
            req.extensions_mut().insert(ConnectInfo(peer));
            if tls {
                req.extensions_mut().insert(ServedOverTls);
            }
            router.clone().oneshot(req.map(Body::new))
        });
        let conn = self
            .builder
            .serve_connection(TokioIo::new(io), service)
            .with_upgrades();
        let mut conn = std::pin::pin!(conn);
        let stop = &mut self.stop;
        let stopping = async {
            let _ = stop.wait_for(|s| *s).await;
        };
        let result = tokio::select! {
            r = conn.as_mut() => r,
            () = stopping => {
                conn.as_mut().graceful_shutdown();
                conn.await
            }
        };
        if let Err(e) = result {
            tracing::debug!(%peer, error = %e, "connection ended with an error");
        }
    }
}

/// Which cap refused a connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Cap {
    Total,
    PerIp,
}

/// The address a per-address cap counts by: IPv4 as is (IPv4-mapped IPv6 too), IPv6 by its /64,
/// which is what one client (one home, one phone) gets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum IpKey {
    V4(std::net::Ipv4Addr),
    V6Net(u64),
}

impl IpKey {
    fn of(ip: IpAddr) -> Self {
        match ip {
            IpAddr::V4(v4) => Self::V4(v4),
            IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
                Some(v4) => Self::V4(v4),
                None => Self::V6Net((u128::from(v6) >> 64) as u64),
            },
        }
    }
}

/// The open connections, in total and per address.
#[derive(Debug)]
struct Slots {
    inner: Arc<Mutex<Counts>>,
    max_total: usize,
    max_per_ip: usize,
    exempt: Vec<IpCidr>,
}

#[derive(Debug, Default)]
struct Counts {
    total: usize,
    /// Only addresses with an open connection: at most `max_total` entries.
    per_ip: HashMap<IpKey, usize>,
}

impl Slots {
    fn new(limits: &ServeLimits) -> Self {
        Self {
            inner: Arc::default(),
            max_total: limits.max_connections,
            max_per_ip: limits.max_connections_per_ip,
            exempt: limits.exempt.clone(),
        }
    }

    /// A slot for a connection from `ip`, or the cap it would exceed.
    fn take(&self, ip: IpAddr) -> Result<Slot, Cap> {
        let key = (!self.exempt.iter().any(|c| c.contains(ip))).then(|| IpKey::of(ip));
        let mut counts = self.inner.lock().unwrap_or_else(PoisonError::into_inner);
        if counts.total >= self.max_total {
            return Err(Cap::Total);
        }
        if let Some(key) = key {
            let n = counts.per_ip.entry(key).or_insert(0);
            if *n >= self.max_per_ip {
                return Err(Cap::PerIp);
            }
            *n += 1;
        }
        counts.total += 1;
        Ok(Slot {
            counts: Arc::clone(&self.inner),
            key,
        })
    }

    #[cfg(test)]
    fn open(&self) -> usize {
        self.inner
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .total
    }
}

/// One open connection's place in [`Slots`], given back when dropped.
#[derive(Debug)]
struct Slot {
    counts: Arc<Mutex<Counts>>,
    key: Option<IpKey>,
}

impl Drop for Slot {
    fn drop(&mut self) {
        let mut counts = self.counts.lock().unwrap_or_else(PoisonError::into_inner);
        counts.total = counts.total.saturating_sub(1);
        if let Some(key) = self.key {
            if let Some(n) = counts.per_ip.get_mut(&key) {
                *n -= 1;
                if *n == 0 {
                    counts.per_ip.remove(&key);
                }
            }
        }
    }
}

/// A client socket that holds its [`Slot`]: the slot is given back when the socket closes,
/// whether hyper or a WebSocket bridge (after an upgrade) owns it last.
#[derive(Debug)]
struct SlotIo {
    stream: TcpStream,
    _slot: Slot,
}

impl AsyncRead for SlotIo {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_read(cx, buf)
    }
}

impl AsyncWrite for SlotIo {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.stream).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_shutdown(cx)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.stream).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.stream.is_write_vectored()
    }
}

/// Logs refused connections as a warning at most every [`REFUSAL_LOG_EVERY`], with a count, so a
/// flood does not flood the log.
#[derive(Debug, Default)]
struct RefusalLog {
    last: Option<tokio::time::Instant>,
    since: u64,
}

impl RefusalLog {
    fn note(&mut self, ip: IpAddr, cap: Cap) {
        self.since += 1;
        let now = tokio::time::Instant::now();
        if self.last.is_some_and(|t| now - t < REFUSAL_LOG_EVERY) {
            tracing::debug!(%ip, ?cap, "connection refused: over the cap");
            return;
        }
        let which = match cap {
            Cap::Total => "hub.max_connections",
            Cap::PerIp => "hub.max_connections_per_ip",
        };
        tracing::warn!(%ip, refused = self.since, "connections over {which}: refusing new ones with 503 (a flood, or raise {which})");
        self.last = Some(now);
        self.since = 0;
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn limits(total: usize, per_ip: usize, exempt: &[&str]) -> ServeLimits {
        ServeLimits {
            header_timeout: Duration::from_secs(1),
            max_connections: total,
            max_connections_per_ip: per_ip,
            exempt: exempt.iter().map(|c| c.parse().unwrap()).collect(),
        }
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn the_per_address_cap_counts_each_address_and_gives_slots_back() {
        let slots = Slots::new(&limits(10, 2, &[]));
        let a1 = slots.take(ip("10.0.0.1")).unwrap();
        let _a2 = slots.take(ip("10.0.0.1")).unwrap();
        assert_eq!(slots.take(ip("10.0.0.1")).unwrap_err(), Cap::PerIp);
        let _b = slots.take(ip("10.0.0.2")).unwrap();
        drop(a1);
        let _a3 = slots.take(ip("10.0.0.1")).unwrap();
        assert_eq!(slots.open(), 3);
    }

    #[test]
    fn the_total_cap_holds_for_everyone_and_exempt_peers_count_only_there() {
        let slots = Slots::new(&limits(3, 1, &["192.168.1.0/24"]));
        let _p1 = slots.take(ip("192.168.1.5")).unwrap();
        let _p2 = slots.take(ip("192.168.1.5")).unwrap();
        let _c = slots.take(ip("10.0.0.1")).unwrap();
        assert_eq!(slots.take(ip("10.0.0.2")).unwrap_err(), Cap::Total);
        assert_eq!(slots.take(ip("192.168.1.5")).unwrap_err(), Cap::Total);
    }

    #[test]
    fn ipv6_counts_by_its_64_and_mapped_ipv4_as_ipv4() {
        let slots = Slots::new(&limits(10, 1, &[]));
        let _a = slots.take(ip("2001:db8:1:2::1")).unwrap();
        assert_eq!(
            slots.take(ip("2001:db8:1:2:ffff::9")).unwrap_err(),
            Cap::PerIp
        );
        let _b = slots.take(ip("2001:db8:1:3::1")).unwrap();
        let _c = slots.take(ip("10.1.1.1")).unwrap();
        assert_eq!(slots.take(ip("::ffff:10.1.1.1")).unwrap_err(), Cap::PerIp);
    }

    #[test]
    fn the_busy_answer_is_well_formed() {
        let text = std::str::from_utf8(BUSY).unwrap();
        let (head, body) = text.split_once("\r\n\r\n").unwrap();
        assert!(head.starts_with("HTTP/1.1 503 "));
        assert!(
            head.contains(&format!("Content-Length: {}", body.len())),
            "{head}"
        );
    }
}
