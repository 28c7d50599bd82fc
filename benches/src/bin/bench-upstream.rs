//! The upstream that the proxy benchmark (`benches/peer/run.sh`) puts behind each hub's proxy: a
//! small HTTP GET answer and a WebSocket echo, on one loopback port, fast enough not to be what
//! is measured.
//!
//! It is started as a user's "server" (in a container from `lticontainer-bench/upstream`), so it
//! takes its port the way `jupyterhub-singleuser` does: from `JUPYTERHUB_SERVICE_URL`, unless
//! `--port` is given. It binds 127.0.0.1 — or, when `JUPYTERHUB_SERVICE_URL` names `0.0.0.0`
//! (isolated networking: the container's own network namespace, on a network of its own), every
//! address of that namespace, as the Jupyter server does.
//!
//! Usage: `bench-upstream [--port N] [--threads N]`

use std::convert::Infallible;
use std::net::{Ipv4Addr, SocketAddr};
use std::process::ExitCode;

use futures_util::{SinkExt, StreamExt};
use http_body_util::Full;
use hyper::body::{Bytes, Incoming};
use hyper::header::{
    CONNECTION, CONTENT_TYPE, HeaderValue, SEC_WEBSOCKET_ACCEPT, SEC_WEBSOCKET_KEY, UPGRADE,
};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::handshake::derive_accept_key;
use tokio_tungstenite::tungstenite::protocol::Role;

/// The body of every plain GET: small, like a Jupyter API answer.
const BODY: &str = "{\"upstream\":\"lticontainer-bench\",\"ok\":true}\n";

fn main() -> ExitCode {
    let (port, threads) = match parse_args(std::env::args().skip(1)) {
        Ok(v) => v,
        Err(why) => {
            eprintln!("bench-upstream: {why}\nusage: bench-upstream [--port N] [--threads N]");
            return ExitCode::from(2);
        }
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(threads)
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("bench-upstream: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let service_url = std::env::var("JUPYTERHUB_SERVICE_URL").unwrap_or_default();
    match runtime.block_on(serve(bind_ip(&service_url), port)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(why) => {
            eprintln!("bench-upstream: {why}");
            ExitCode::FAILURE
        }
    }
}

/// Reads `--port` (else the port of `JUPYTERHUB_SERVICE_URL`) and `--threads` (default 1).
fn parse_args(mut args: impl Iterator<Item = String>) -> Result<(u16, usize), String> {
    let mut port = None;
    let mut threads = 1;
    while let Some(arg) = args.next() {
        let value = args.next().ok_or_else(|| format!("{arg} needs a value"))?;
        match arg.as_str() {
            "--port" => port = Some(value.parse().map_err(|e| format!("--port {value}: {e}"))?),
            "--threads" => {
                threads = value
                    .parse()
                    .map_err(|e| format!("--threads {value}: {e}"))?
            }
            _ => return Err(format!("unknown argument {arg}")),
        }
    }
    let port = match port {
        Some(p) => p,
        None => {
            let url = std::env::var("JUPYTERHUB_SERVICE_URL")
                .map_err(|_| "neither --port nor JUPYTERHUB_SERVICE_URL is set".to_owned())?;
            port_of_url(&url)
                .ok_or_else(|| format!("JUPYTERHUB_SERVICE_URL={url} names no port"))?
        }
    };
    Ok((port, threads.max(1)))
}

/// The explicit port of an `http://host:port/…` URL.
fn port_of_url(url: &str) -> Option<u16> {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    let authority = rest.split('/').next()?;
    authority.rsplit_once(':')?.1.parse().ok()
}

/// `0.0.0.0` when the service URL names it (a server alone in its network namespace), else
/// 127.0.0.1.
fn bind_ip(service_url: &str) -> Ipv4Addr {
    let rest = service_url
        .split_once("://")
        .map_or(service_url, |(_, r)| r);
    match rest.split('/').next().and_then(|a| a.rsplit_once(':')) {
        Some(("0.0.0.0", _)) => Ipv4Addr::UNSPECIFIED,
        _ => Ipv4Addr::LOCALHOST,
    }
}

async fn serve(ip: Ipv4Addr, port: u16) -> Result<(), String> {
    let addr = SocketAddr::from((ip, port));
    let listener = TcpListener::bind(addr)
        .await
        .map_err(|e| format!("cannot listen on {addr}: {e}"))?;
    eprintln!("bench-upstream: listening on http://{addr}/ (GET: small JSON; WebSocket: echo)");
    loop {
        let (stream, _) = match listener.accept().await {
            Ok(conn) => conn,
            Err(e) => {
                eprintln!("bench-upstream: accept failed: {e}");
                continue;
            }
        };
        let _ = stream.set_nodelay(true);
        tokio::spawn(async move {
            let conn = http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service_fn(answer))
                .with_upgrades();
            // A client that goes away mid-request is normal under load; nothing to report.
            let _ = conn.await;
        });
    }
}

async fn answer(req: Request<Incoming>) -> Result<Response<Full<Bytes>>, Infallible> {
    let wants_ws = req
        .headers()
        .get(UPGRADE)
        .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"websocket"));
    if !wants_ws {
        let mut resp = Response::new(Full::new(Bytes::from_static(BODY.as_bytes())));
        resp.headers_mut()
            .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
        return Ok(resp);
    }
    let Some(key) = req.headers().get(SEC_WEBSOCKET_KEY) else {
        return Ok(plain(
            StatusCode::BAD_REQUEST,
            "WebSocket upgrade without Sec-WebSocket-Key\n",
        ));
    };
    let accept = derive_accept_key(key.as_bytes());
    let Ok(accept) = HeaderValue::from_str(&accept) else {
        return Ok(plain(StatusCode::INTERNAL_SERVER_ERROR, "bad accept key\n"));
    };
    tokio::spawn(async move {
        match hyper::upgrade::on(req).await {
            Ok(upgraded) => {
                let ws =
                    WebSocketStream::from_raw_socket(TokioIo::new(upgraded), Role::Server, None)
                        .await;
                echo(ws).await;
            }
            Err(e) => eprintln!("bench-upstream: upgrade failed: {e}"),
        }
    });
    let mut resp = Response::new(Full::new(Bytes::new()));
    *resp.status_mut() = StatusCode::SWITCHING_PROTOCOLS;
    let h = resp.headers_mut();
    h.insert(UPGRADE, HeaderValue::from_static("websocket"));
    h.insert(CONNECTION, HeaderValue::from_static("Upgrade"));
    h.insert(SEC_WEBSOCKET_ACCEPT, accept);
    Ok(resp)
}

/// Sends every text or binary message back until the peer closes.
async fn echo<S>(mut ws: WebSocketStream<S>)
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
{
    while let Some(Ok(msg)) = ws.next().await {
        if (msg.is_text() || msg.is_binary()) && ws.send(msg).await.is_err() {
            return;
        }
    }
}

fn plain(status: StatusCode, text: &'static str) -> Response<Full<Bytes>> {
    let mut resp = Response::new(Full::new(Bytes::from_static(text.as_bytes())));
    *resp.status_mut() = status;
    resp
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn port_comes_from_the_service_url() {
        assert_eq!(port_of_url("http://127.0.0.1:41234/user/a/"), Some(41234));
        assert_eq!(port_of_url("127.0.0.1:80"), Some(80));
        assert_eq!(port_of_url("http://127.0.0.1/user/a/"), None);
        assert_eq!(port_of_url("http://127.0.0.1:http/"), None);
    }

    #[test]
    fn binds_loopback_unless_the_service_url_names_all_addresses() {
        assert_eq!(
            bind_ip("http://0.0.0.0:41234/user/a/"),
            Ipv4Addr::UNSPECIFIED
        );
        assert_eq!(
            bind_ip("http://127.0.0.1:41234/user/a/"),
            Ipv4Addr::LOCALHOST
        );
        assert_eq!(
            bind_ip("http://10.0.0.5:41234/user/a/"),
            Ipv4Addr::LOCALHOST
        );
        assert_eq!(bind_ip(""), Ipv4Addr::LOCALHOST);
    }

    #[test]
    fn arguments_are_checked() {
        let args = |v: &[&str]| parse_args(v.iter().map(|s| (*s).to_owned()));
        assert_eq!(args(&["--port", "9000", "--threads", "2"]), Ok((9000, 2)));
        assert!(
            args(&["--port"])
                .expect_err("no value")
                .contains("needs a value")
        );
        assert!(
            args(&["--port", "x"])
                .expect_err("bad port")
                .contains("--port x")
        );
        assert!(
            args(&["--bogus", "1"])
                .expect_err("unknown flag")
                .contains("unknown argument")
        );
    }
}
