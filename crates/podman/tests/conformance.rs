//! The core conformance suite against real Podman.

use crate::util::{IMAGE, remove_volume, runtime};

lticontainer_core::runtime_conformance! {
    runtime: runtime(),
    image: IMAGE,
    prefix: |key: &str| format!("ltc-pm-{key}"),
    ignore: "needs Podman (scripts/test-all starts it)",
    remove_volume: remove_volume,
    subnet: "10.213.254.16/28",
}
