//! What goes wrong, and how it is reported: missing images, containers and networks, failed
//! starts, invalid specs, and an engine that is not there.

use std::collections::BTreeMap;
use std::time::Duration;

use lticontainer_core::container::{Mount, MountSource};
use lticontainer_core::{Error, Runtime, testkit};
use lticontainer_docker::{DockerRuntimeBuilder, NetworkMode};

use crate::util::{IMAGE, prefix, runtime};

/// Guards against a hang; speed itself is measured by the benchmark, not here.
async fn within<T>(what: &str, fut: impl std::future::Future<Output = T>) -> T {
    tokio::time::timeout(Duration::from_secs(60), fut)
        .await
        .unwrap_or_else(|_| panic!("{what} hung for 60s"))
}

#[tokio::test]
#[ignore = "needs Docker (scripts/test-all starts it)"]
async fn a_missing_image_is_not_found_after_a_failed_pull() {
    let rt = runtime();
    let image = "lticontainer-test/never-built:nope";
    let err = within("ensure_image", rt.ensure_image(image, &|_| {}))
        .await
        .expect_err("no such image anywhere");
    assert!(err.is_not_found(), "{err:?}");
    assert!(err.to_string().contains(image), "{err}");
    assert!(err.to_string().contains("pulling it failed"), "{err}");
}

#[tokio::test]
#[ignore = "needs Docker (scripts/test-all starts it)"]
async fn with_pulling_disabled_a_missing_image_is_not_found_at_once() {
    let rt = DockerRuntimeBuilder::from_env()
        .with_pull(false)
        .build()
        .expect("engine");
    let err = rt
        .ensure_image("lticontainer-test/never-built:nope", &|_| {
            panic!("no pull may start")
        })
        .await
        .expect_err("missing");
    assert!(err.is_not_found(), "{err:?}");
    assert!(err.to_string().contains("pulling is disabled"), "{err}");
    // A present image needs no pull either.
    rt.ensure_image(IMAGE, &|_| panic!("no pull may start"))
        .await
        .expect("present");
}

#[tokio::test]
#[ignore = "needs Docker (scripts/test-all starts it)"]
async fn a_failed_start_leaves_no_container_behind() {
    let rt = runtime();
    let p = prefix("badstart");
    testkit::cleanup(&rt, &p).await;
    let mut spec = testkit::sleeper(&p, "nocmd", IMAGE);
    spec.cmd = vec!["/no/such/program".into()];
    let err = rt.create_and_start(&spec).await.expect_err("cannot exec");
    // The engine rejects the command as a bad request; the reason names container and program.
    assert!(matches!(err, Error::InvalidInput { .. }), "{err:?}");
    let text = err.to_string();
    assert!(text.contains(&spec.name), "{text}");
    assert!(text.contains("/no/such/program"), "{text}");
    assert!(
        rt.inspect(&spec.name)
            .await
            .expect_err("removed")
            .is_not_found()
    );
}

#[tokio::test]
#[ignore = "needs Docker (scripts/test-all starts it)"]
async fn a_missing_network_is_not_found_naming_it() {
    let rt = runtime();
    let p = prefix("nonet");
    let mut spec = testkit::sleeper(&p, "x", IMAGE);
    spec.network = NetworkMode::Named("ltc-no-such-network".into());
    let err = rt.create_and_start(&spec).await.expect_err("no network");
    assert!(err.is_not_found(), "{err:?}");
    assert!(err.to_string().contains("ltc-no-such-network"), "{err}");
    // Docker 20.10 creates the container and fails the start: nothing may be left behind.
    assert!(
        rt.inspect(&spec.name)
            .await
            .expect_err("removed")
            .is_not_found()
    );
}

#[tokio::test]
#[ignore = "needs Docker (scripts/test-all starts it)"]
async fn invalid_specs_are_refused_before_anything_is_created() {
    let rt = runtime();
    let p = prefix("invalid");
    let mut spec = testkit::sleeper(&p, "x", IMAGE);
    spec.mounts = vec![Mount {
        source: MountSource::Bind("relative/dir".into()),
        target: "/mnt".into(),
        read_only: false,
    }];
    let err = rt.create_and_start(&spec).await.expect_err("relative bind");
    assert!(matches!(err, Error::InvalidInput { .. }), "{err:?}");
    assert!(
        rt.inspect(&spec.name)
            .await
            .expect_err("none")
            .is_not_found()
    );
    let err = rt
        .ensure_volume("bad/name", &BTreeMap::new())
        .await
        .expect_err("bad volume name");
    assert!(matches!(err, Error::InvalidInput { .. }), "{err:?}");
}

#[tokio::test]
#[ignore = "needs Docker (scripts/test-all starts it)"]
async fn stop_of_a_missing_container_is_not_found_and_remove_succeeds() {
    let rt = runtime();
    let ghost = prefix("ghost");
    let err = rt
        .stop(&ghost, Duration::from_secs(1))
        .await
        .expect_err("missing");
    assert!(err.is_not_found(), "{err:?}");
    assert!(err.to_string().contains(&ghost), "{err}");
    rt.remove(&ghost)
        .await
        .expect("removing a missing container succeeds");
    let err = rt.logs(&ghost, 5).await.expect_err("missing");
    assert!(err.is_not_found(), "{err:?}");
}

#[test]
fn an_absent_socket_is_unavailable_naming_the_path() {
    let path = "/nonexistent/lticontainer/docker.sock";
    let err = DockerRuntimeBuilder::new()
        .with_socket(path)
        .build()
        .expect_err("no socket");
    assert!(
        matches!(
            err,
            Error::Unavailable {
                backend: "docker",
                ..
            }
        ),
        "{err:?}"
    );
    assert!(err.to_string().contains(path), "{err}");
}

#[tokio::test]
async fn a_socket_nobody_listens_on_is_unavailable_naming_the_path() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("dead.sock");
    // Bind and drop: the socket file stays, but connecting is refused.
    drop(std::os::unix::net::UnixListener::bind(&path).expect("bind"));
    let rt = DockerRuntimeBuilder::new()
        .with_socket(path.to_str().expect("utf-8 path"))
        .build()
        .expect("the file exists");
    let calls: Vec<(&str, Result<(), Error>)> = vec![
        (
            "ensure_image",
            within("ensure_image", rt.ensure_image(IMAGE, &|_| {})).await,
        ),
        (
            "inspect",
            within("inspect", rt.inspect("x")).await.map(|_| ()),
        ),
        (
            "list",
            within("list", rt.list(&BTreeMap::new())).await.map(|_| ()),
        ),
        ("remove", within("remove", rt.remove("x")).await),
    ];
    for (op, result) in calls {
        let err = result.expect_err(op);
        assert!(matches!(err, Error::Unavailable { .. }), "{op}: {err:?}");
        assert!(
            err.to_string().contains(path.to_str().expect("utf-8")),
            "{op}: {err}"
        );
    }
}
