//! `serve_tls`: the hub's own HTTPS with a certificate made in the test — a client trusting the
//! test's CA gets the hub's pages, the session cookie is `Secure`, a reload switches to a new
//! certificate, a bad new file keeps the old one, and a client that never finishes the handshake
//! loses its connection at the header deadline.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use lticontainer_http::app;
use lticontainer_http::serve::{ServeLimits, serve_tls};
use lticontainer_http::tls::HubTls;
use rcgen::{CertificateParams, IsCa, KeyPair};
use rustls_pki_types::{CertificateDer, ServerName};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::util::*;

/// A CA made for the test, which signs server certificates for 127.0.0.1.
struct TestCa {
    cert: rcgen::Certificate,
    key: KeyPair,
}

impl TestCa {
    fn new() -> Self {
        let key = KeyPair::generate().unwrap();
        let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
        params.is_ca = IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        let cert = params.self_signed(&key).unwrap();
        Self { cert, key }
    }

    /// Writes a new server certificate and key for 127.0.0.1 to `dir`; returns the certificate.
    fn issue(&self, dir: &Path) -> CertificateDer<'static> {
        let key = KeyPair::generate().unwrap();
        let cert = CertificateParams::new(vec!["127.0.0.1".to_owned()])
            .unwrap()
            .signed_by(&key, &self.cert, &self.key)
            .unwrap();
        std::fs::write(dir.join("cert.pem"), cert.pem()).unwrap();
        std::fs::write(dir.join("key.pem"), key.serialize_pem()).unwrap();
        cert.der().clone()
    }

    fn client(&self) -> tokio_rustls::TlsConnector {
        let mut roots = rustls::RootCertStore::empty();
        roots.add(self.cert.der().clone()).unwrap();
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let config = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_root_certificates(roots)
            .with_no_client_auth();
        tokio_rustls::TlsConnector::from(Arc::new(config))
    }
}

/// `GET path` over TLS: the certificate the hub presented and the whole answer.
async fn get(
    ca: &TestCa,
    addr: std::net::SocketAddr,
    path: &str,
) -> (CertificateDer<'static>, String) {
    let tcp = TcpStream::connect(addr).await.unwrap();
    let name = ServerName::try_from("127.0.0.1").unwrap();
    let mut tls = ca.client().connect(name, tcp).await.unwrap();
    let presented = tls.get_ref().1.peer_certificates().unwrap()[0].clone();
    let request = format!("GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n");
    tls.write_all(request.as_bytes()).await.unwrap();
    let mut answer = Vec::new();
    // The hub may close without close_notify after `Connection: close`; what came counts.
    let _ = tls.read_to_end(&mut answer).await;
    (presented, String::from_utf8_lossy(&answer).into_owned())
}

fn paths(dir: &Path) -> (PathBuf, PathBuf) {
    (dir.join("cert.pem"), dir.join("key.pem"))
}

async fn start(tls: HubTls, limits: ServeLimits) -> std::net::SocketAddr {
    let hub = test_hub();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let _hub = &hub;
        serve_tls(
            listener,
            app(hub.state.clone()),
            limits,
            tls,
            std::future::pending(),
        )
        .await
    });
    addr
}

#[tokio::test]
async fn https_serves_the_hub_with_secure_cookies_and_reloads_the_certificate() {
    let dir = tempfile::tempdir().unwrap();
    let ca = TestCa::new();
    let first = ca.issue(dir.path());
    let (cert, key) = paths(dir.path());
    let tls = HubTls::load(&cert, &key).unwrap();
    let addr = start(tls.clone(), ServeLimits::default()).await;

    let (presented, answer) = get(&ca, addr, "/hub/logout").await;
    assert_eq!(presented, first);
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    let cookie = answer
        .lines()
        .find(|l| l.to_ascii_lowercase().starts_with("set-cookie:"))
        .unwrap_or_else(|| panic!("no cookie in {answer}"));
    assert!(cookie.contains("; Secure"), "{cookie}");

    // A new pair on disk, then a reload: new connections get it.
    let second = ca.issue(dir.path());
    assert_ne!(first, second);
    tls.reload().unwrap();
    assert_eq!(get(&ca, addr, "/hub/logout").await.0, second);

    // A broken new file: the reload says so and the pair in use stays.
    std::fs::write(&cert, "not a certificate").unwrap();
    let e = tls.reload().unwrap_err().to_string();
    assert!(e.contains("hub.ssl_cert") && e.contains("cert.pem"), "{e}");
    assert_eq!(get(&ca, addr, "/hub/logout").await.0, second);
}

#[test]
fn a_key_that_does_not_match_or_a_missing_file_is_refused_with_the_file_named() {
    let dir = tempfile::tempdir().unwrap();
    let ca = TestCa::new();
    ca.issue(dir.path());
    let (cert, key) = paths(dir.path());
    std::fs::write(&key, KeyPair::generate().unwrap().serialize_pem()).unwrap();
    let e = HubTls::load(&cert, &key).unwrap_err().to_string();
    assert!(e.contains("key.pem"), "{e}");
    let e = HubTls::load(dir.path().join("none.pem"), &key)
        .unwrap_err()
        .to_string();
    assert!(e.contains("hub.ssl_cert") && e.contains("none.pem"), "{e}");
}

#[tokio::test]
async fn a_client_that_never_finishes_the_handshake_is_closed_at_the_header_deadline() {
    let dir = tempfile::tempdir().unwrap();
    let ca = TestCa::new();
    ca.issue(dir.path());
    let (cert, key) = paths(dir.path());
    let mut limits = ServeLimits::default();
    limits.header_timeout = Duration::from_millis(300);
    let addr = start(HubTls::load(&cert, &key).unwrap(), limits).await;
    let mut silent = TcpStream::connect(addr).await.unwrap();
    let mut buf = [0u8; 64];
    // Closed by the hub (EOF or reset), long before the test's own bound.
    let read = tokio::time::timeout(Duration::from_secs(20), silent.read(&mut buf))
        .await
        .expect("the hub closed the silent connection");
    assert!(matches!(read, Ok(0) | Err(_)), "{read:?}");
}
