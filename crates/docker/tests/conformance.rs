//! The core conformance suite against the real Docker engine.

use lticontainer_core::testkit::volume_labels_from_cli;
use lticontainer_docker::DockerRuntime;

use crate::util::{IMAGE, docker_cli, prefix, runtime};

lticontainer_core::runtime_conformance! {
    runtime: runtime(),
    image: IMAGE,
    prefix: prefix,
    volume_labels: |_: &DockerRuntime, name: &str| volume_labels_from_cli("docker", name),
    ignore: "needs Docker (scripts/test-all starts it)",
    remove_volume: |name: &str| {
        docker_cli(&["volume", "rm", "--force", name]);
    },
    subnet: "10.213.254.0/28",
}
