//! [`LmsClient`] verifies the LMS's certificate: a certificate from an unknown CA is not
//! trusted (the record stays for a retry), the same CA given as `hub.analytics_ca_file` is.

#![allow(clippy::unwrap_used)]

use std::sync::Arc;

use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use lticontainer_core::analytics::{Answer, NbLog};
use lticontainer_core::params::SessionInfo;
use lticontainer_hub::analytics::{ClientError, LmsClient};
use rcgen::{CertificateParams, KeyPair};

/// A private CA and an HTTPS "Moodle" on 127.0.0.1 with a certificate it signed, answering
/// every request `[]`. Returns the endpoint and the CA's PEM.
async fn moodle_with_private_ca() -> (String, String) {
    let ca_key = KeyPair::generate().unwrap();
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    let ca = ca_params.self_signed(&ca_key).unwrap();
    let key = KeyPair::generate().unwrap();
    let cert = CertificateParams::new(vec!["127.0.0.1".to_owned()])
        .unwrap()
        .signed_by(&key, &ca, &ca_key)
        .unwrap();
    let _ = rustls::crypto::ring::default_provider().install_default();
    let config = rustls::ServerConfig::builder()
        .with_no_client_auth()
        .with_single_cert(
            vec![cert.der().clone()],
            rustls_pki_types::PrivateKeyDer::Pkcs8(key.serialize_der().into()),
        )
        .unwrap();
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        loop {
            let Ok((tcp, _)) = listener.accept().await else {
                return;
            };
            let acceptor = acceptor.clone();
            tokio::spawn(async move {
                let Ok(tls) = acceptor.accept(tcp).await else {
                    return;
                };
                let svc = service_fn(|_req| async {
                    Ok::<_, std::convert::Infallible>(hyper::Response::new(
                        http_body_util::Full::new(bytes::Bytes::from_static(b"[]")),
                    ))
                });
                let _ = http1::Builder::new()
                    .serve_connection(TokioIo::new(tls), svc)
                    .await;
            });
        }
    });
    (
        format!("https://{addr}/moodle/webservice/rest/server.php"),
        ca.pem(),
    )
}

fn record() -> NbLog {
    NbLog::session_binding(
        SessionInfo {
            ltictr_id: 1,
            lti_id: 2,
        },
        "s",
    )
}

#[tokio::test]
async fn an_unknown_ca_is_not_trusted_and_a_configured_one_is() {
    let (endpoint, ca_pem) = moodle_with_private_ca().await;
    let answer = LmsClient::new(None)
        .unwrap()
        .post(&endpoint, "secret-token", &record())
        .await;
    let Answer::Retry(why) = answer else {
        panic!("an unverified certificate was accepted: {answer:?}")
    };
    assert!(why.to_lowercase().contains("certificate"), "{why}");
    assert!(!why.contains("secret-token"), "{why}");

    let dir = tempfile::tempdir().unwrap();
    let ca_file = dir.path().join("ca.pem");
    std::fs::write(&ca_file, ca_pem).unwrap();
    let client = LmsClient::new(Some(&ca_file)).unwrap();
    assert_eq!(
        client.post(&endpoint, "secret-token", &record()).await,
        Answer::Stored
    );
}

#[tokio::test]
async fn a_ca_file_without_certificates_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let ca_file = dir.path().join("ca.pem");
    std::fs::write(&ca_file, "not a certificate").unwrap();
    let err = LmsClient::new(Some(&ca_file)).unwrap_err();
    assert!(matches!(err, ClientError::CaFile { .. }), "{err}");
    assert!(err.to_string().contains("ca.pem"), "{err}");
    let missing = LmsClient::new(Some(&dir.path().join("missing.pem"))).unwrap_err();
    assert!(missing.to_string().contains("missing.pem"), "{missing}");
}
