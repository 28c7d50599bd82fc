//! The conformance suite against the in-memory runtime.

use lticontainer_core::memory::InMemoryRuntime;
use lticontainer_core::testkit;

const IMAGE: &str = "busybox:latest";

fn rt() -> InMemoryRuntime {
    InMemoryRuntime::new().with_image(IMAGE)
}

#[tokio::test]
async fn create_start_stop_remove() {
    testkit::create_start_stop_remove(&rt(), IMAGE, "mem-lifecycle").await;
}

#[tokio::test]
async fn duplicate_name_is_already_exists() {
    testkit::duplicate_name_is_already_exists(&rt(), IMAGE, "mem-dup").await;
}

#[tokio::test]
async fn missing_image_is_not_found() {
    testkit::missing_image_is_not_found(&rt(), "mem-noimage").await;
}

#[tokio::test]
async fn missing_container_semantics() {
    testkit::missing_container_semantics(&rt()).await;
}

#[tokio::test]
async fn list_by_labels() {
    testkit::list_by_labels(&rt(), IMAGE, "mem-list").await;
}

#[tokio::test]
async fn ensure_volume_is_idempotent() {
    testkit::ensure_volume_is_idempotent(&rt(), "mem-vol").await;
}

#[tokio::test]
async fn concurrent_starts() {
    testkit::concurrent_starts(&rt(), IMAGE, "mem-conc", 20).await;
}
