//! An engine that is not there: every call is `Unavailable`, names the socket, and fails at once.
//! Bad specs are refused before any request. These need no Podman.

use std::collections::BTreeMap;
use std::time::Duration;

use lticontainer_core::container::ContainerSpec;
use lticontainer_core::{Error, Runtime};
use lticontainer_podman::PodmanRuntimeBuilder;

fn assert_unavailable(err: Error, socket: &str) {
    assert!(
        std::error::Error::source(&err).is_some(),
        "the connection failure is kept as the source: {err:?}"
    );
    match err {
        Error::Unavailable {
            backend, detail, ..
        } => {
            assert_eq!(backend, "podman");
            assert!(detail.contains(socket), "{detail}");
        }
        other => panic!("expected Unavailable naming {socket}, got {other:?}"),
    }
}

async fn every_call_is_unavailable(socket: &str) {
    let rt = PodmanRuntimeBuilder::new()
        .with_socket(socket)
        .with_request_timeout(Duration::from_secs(5))
        .build()
        .unwrap();
    assert_unavailable(rt.ping().await.unwrap_err(), socket);
    assert_unavailable(
        rt.ensure_image("lticontainer-test/busybox:latest", &|_| {})
            .await
            .unwrap_err(),
        socket,
    );
    assert_unavailable(
        rt.ensure_volume("v", &BTreeMap::new()).await.unwrap_err(),
        socket,
    );
    let spec = ContainerSpec::new("ltc-pm-down", "lticontainer-test/busybox:latest");
    assert_unavailable(rt.create_and_start(&spec).await.unwrap_err(), socket);
    assert_unavailable(rt.inspect("x").await.unwrap_err(), socket);
    assert_unavailable(
        rt.stop("x", Duration::from_secs(1)).await.unwrap_err(),
        socket,
    );
    assert_unavailable(rt.remove("x").await.unwrap_err(), socket);
    assert_unavailable(rt.list(&BTreeMap::new()).await.unwrap_err(), socket);
    assert_unavailable(rt.logs("x", 10).await.unwrap_err(), socket);
}

#[tokio::test]
async fn a_missing_socket_is_unavailable_naming_it() {
    every_call_is_unavailable("/nonexistent/lticontainer/podman.sock").await;
}

#[tokio::test]
async fn a_socket_nobody_listens_on_is_unavailable_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("podman.sock");
    // Bind and drop: the socket file stays, but connecting to it is refused.
    drop(std::os::unix::net::UnixListener::bind(&path).unwrap());
    every_call_is_unavailable(path.to_str().unwrap()).await;
}

#[tokio::test]
async fn bad_specs_are_refused_before_reaching_the_engine() {
    // The socket does not exist, so reaching the engine would be Unavailable, not InvalidInput.
    let rt = PodmanRuntimeBuilder::new()
        .with_socket("/nonexistent/lticontainer/podman.sock")
        .build()
        .unwrap();
    let spec = ContainerSpec::new("bad name", "lticontainer-test/busybox:latest");
    let err = rt.create_and_start(&spec).await.unwrap_err();
    assert!(matches!(err, Error::InvalidInput { .. }), "{err:?}");
    assert!(err.to_string().contains("bad name"), "{err}");
    let err = rt.ensure_volume("", &BTreeMap::new()).await.unwrap_err();
    assert!(matches!(err, Error::InvalidInput { .. }), "{err:?}");
    let err = rt.ensure_image(" ", &|_| {}).await.unwrap_err();
    assert!(matches!(err, Error::InvalidInput { .. }), "{err:?}");
}
