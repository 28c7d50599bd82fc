//! The conformance suite against the in-memory runtime.

use lticontainer_core::memory::InMemoryRuntime;

const IMAGE: &str = "busybox:latest";

fn rt() -> InMemoryRuntime {
    InMemoryRuntime::new().with_image(IMAGE)
}

lticontainer_core::runtime_conformance! {
    runtime: rt(),
    image: IMAGE,
    prefix: |key: &str| format!("mem-{key}"),
    volume_labels: |rt: &InMemoryRuntime, name: &str| rt.volume_labels(name),
}
