//! The core conformance suite against real Podman.

use lticontainer_core::testkit::volume_labels_from_cli;
use lticontainer_podman::PodmanRuntime;

use crate::util::{IMAGE, remove_volume, runtime};

lticontainer_core::runtime_conformance! {
    runtime: runtime(),
    image: IMAGE,
    prefix: |key: &str| format!("ltc-pm-{key}"),
    volume_labels: |_: &PodmanRuntime, name: &str| volume_labels_from_cli("podman", name),
    ignore: "needs Podman (scripts/test-all starts it)",
    remove_volume: remove_volume,
    subnet: "10.213.254.16/28",
}
