//! Shared helpers: the runtime under test, the test image, labelled specs, log polling.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use lticontainer_core::Runtime;
use lticontainer_core::container::ContainerSpec;
use lticontainer_core::testkit::{self, TESTKIT_LABEL};
use lticontainer_podman::{PodmanRuntime, PodmanRuntimeBuilder};

/// The test image (`scripts/build-busybox-image.sh`); Podman stores it as `localhost/…`.
pub(crate) const IMAGE: &str = "lticontainer-test/busybox:latest";

/// The runtime under test: `$CONTAINER_HOST` or the default socket, host networking.
pub(crate) fn runtime() -> PodmanRuntime {
    PodmanRuntimeBuilder::from_env()
        .build()
        .expect("the Podman runtime builds from the environment")
}

/// A labelled spec running `script` under `sh -c` (host networking, like every test container).
pub(crate) fn shell(prefix: &str, suffix: &str, script: &str) -> ContainerSpec {
    let mut spec = testkit::sleeper(prefix, suffix, IMAGE);
    spec.cmd = vec!["sh".into(), "-c".into(), script.into()];
    spec
}

/// The label selector of the containers a test made.
pub(crate) fn selector(prefix: &str) -> BTreeMap<String, String> {
    BTreeMap::from([(TESTKIT_LABEL.to_owned(), prefix.to_owned())])
}

/// Polls the container's logs until they contain `needle` (at most 20 s), returning them.
pub(crate) async fn wait_for_log(rt: &dyn Runtime, id: &str, needle: &str) -> String {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let logs = rt.logs(id, 100).await.unwrap();
        if logs.contains(needle) {
            return logs;
        }
        assert!(
            Instant::now() < deadline,
            "no {needle:?} in the logs of {id} within 20 s; logs so far:\n{logs}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Removes a test volume with the Podman CLI (the `Runtime` trait never deletes volumes).
pub(crate) fn remove_volume(name: &str) {
    let status = std::process::Command::new("podman")
        .args(["volume", "rm", "--force", name])
        .stdout(std::process::Stdio::null())
        .status()
        .unwrap();
    assert!(status.success(), "podman volume rm {name}: {status}");
}
