//! Shared helpers: a runtime on the local engine, unique prefixes, run-to-exit.

#![allow(clippy::unwrap_used)]

use std::time::{Duration, Instant};

use lticontainer_core::Runtime;
use lticontainer_core::container::{ContainerSpec, ContainerState};
use lticontainer_core::testkit;
use lticontainer_docker::{DockerRuntime, DockerRuntimeBuilder};

/// The test image `scripts/build-busybox-image.sh` imports.
pub(crate) const IMAGE: &str = "lticontainer-test/busybox:latest";

/// A runtime on the engine `DOCKER_HOST` names (default socket otherwise). Specs name their
/// network; the suite's specs use host networking unless a test says otherwise.
pub(crate) fn runtime() -> DockerRuntime {
    DockerRuntimeBuilder::from_env()
        .build()
        .expect("a Docker engine (start it with scripts/setup-engines.sh docker)")
}

/// A container-name prefix unique to this test and process.
pub(crate) fn prefix(test: &str) -> String {
    format!("ltc-docker-{test}-{}", std::process::id())
}

/// A labelled spec (removed by [`testkit::cleanup`]) that runs `script` with `sh -c`.
pub(crate) fn script_spec(prefix: &str, suffix: &str, script: &str) -> ContainerSpec {
    let mut spec = testkit::sleeper(prefix, suffix, IMAGE);
    spec.cmd = vec!["sh".into(), "-c".into(), script.into()];
    spec
}

/// Waits until the container has exited and returns its exit code.
pub(crate) async fn wait_exit(rt: &dyn Runtime, id: &str) -> Option<i64> {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let info = rt.inspect(id).await.unwrap();
        match info.state {
            ContainerState::Exited { code } => return code,
            _ if Instant::now() > deadline => panic!("{id} still {:?} after 60s", info.state),
            _ => tokio::time::sleep(Duration::from_millis(50)).await,
        }
    }
}

/// Runs `spec` to completion and returns its exit code and output.
pub(crate) async fn run_to_exit(rt: &dyn Runtime, spec: &ContainerSpec) -> (Option<i64>, String) {
    let info = rt.create_and_start(spec).await.unwrap();
    let code = wait_exit(rt, &info.id).await;
    let logs = rt.logs(&info.id, 1000).await.unwrap();
    rt.remove(&info.id).await.unwrap();
    (code, logs)
}

/// Runs `docker <args>` and returns stdout, panicking with stderr on failure.
pub(crate) fn docker_cli(args: &[&str]) -> String {
    let out = std::process::Command::new("docker")
        .args(args)
        .output()
        .expect("the docker CLI");
    assert!(
        out.status.success(),
        "docker {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}
