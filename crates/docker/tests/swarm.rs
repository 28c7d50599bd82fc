//! The core conformance suite against a real Docker Swarm (a single-node swarm in CI:
//! `scripts/setup-engines.sh swarm`), through the Swarm runtime.

use lticontainer_core::testkit::volume_labels_from_cli;
use lticontainer_docker::{SwarmConfig, SwarmRuntime};

use crate::util::{IMAGE, docker_cli};

/// A runtime on the manager `DOCKER_HOST` names (default socket otherwise), polling events
/// often so the suite's event waits stay short.
fn runtime() -> SwarmRuntime {
    let mut config = SwarmConfig::default();
    config.events_poll_millis = 200;
    SwarmRuntime::from_config(config)
        .expect("a Docker engine that is a Swarm manager (scripts/setup-engines.sh swarm)")
}

/// A service-name prefix unique to this test and process.
fn prefix(test: &str) -> String {
    format!("ltc-swarm-{test}-{}", std::process::id())
}

lticontainer_core::runtime_conformance! {
    runtime: runtime(),
    image: IMAGE,
    prefix: prefix,
    volume_labels: |_: &SwarmRuntime, name: &str| volume_labels_from_cli("docker", name),
    ignore: "needs a Docker Swarm manager (scripts/test-all starts one)",
    remove_volume: |name: &str| {
        docker_cli(&["volume", "rm", "--force", name]);
    },
    subnet: "10.213.254.32/28",
}

/// A server's container on Swarm is never privileged either (Swarm keeps the engine's default
/// capabilities and leaves `no-new-privileges` unset, as the Docker backend does).
#[tokio::test]
#[ignore = "needs a Docker Swarm manager (scripts/test-all starts one)"]
async fn never_privileged() {
    lticontainer_core::testkit::never_privileged(&runtime(), IMAGE, &prefix("caps")).await;
}
