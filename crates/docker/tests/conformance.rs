//! The core conformance suite against the real Docker engine.

use crate::util::{IMAGE, docker_cli, prefix, runtime};

lticontainer_core::runtime_conformance! {
    runtime: runtime(),
    image: IMAGE,
    prefix: prefix,
    ignore: "needs Docker (scripts/test-all starts it)",
    remove_volume: |name: &str| {
        docker_cli(&["volume", "rm", name]);
    },
    subnet: "10.213.254.0/28",
}
