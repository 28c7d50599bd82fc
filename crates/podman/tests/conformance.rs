//! The core conformance suite against real Podman.

use lticontainer_core::testkit;

use crate::util::{IMAGE, runtime};

#[tokio::test]
#[ignore = "needs Podman (scripts/test-all starts it)"]
async fn create_start_stop_remove() {
    testkit::create_start_stop_remove(&runtime(), IMAGE, "ltc-pm-lifecycle").await;
}

#[tokio::test]
#[ignore = "needs Podman (scripts/test-all starts it)"]
async fn duplicate_name_is_already_exists() {
    testkit::duplicate_name_is_already_exists(&runtime(), IMAGE, "ltc-pm-dup").await;
}

#[tokio::test]
#[ignore = "needs Podman (scripts/test-all starts it)"]
async fn missing_image_is_not_found() {
    testkit::missing_image_is_not_found(&runtime(), "ltc-pm-noimage").await;
}

#[tokio::test]
#[ignore = "needs Podman (scripts/test-all starts it)"]
async fn missing_container_semantics() {
    testkit::missing_container_semantics(&runtime()).await;
}

#[tokio::test]
#[ignore = "needs Podman (scripts/test-all starts it)"]
async fn list_by_labels() {
    testkit::list_by_labels(&runtime(), IMAGE, "ltc-pm-list").await;
}

#[tokio::test]
#[ignore = "needs Podman (scripts/test-all starts it)"]
async fn ensure_volume_is_idempotent() {
    let rt = runtime();
    testkit::ensure_volume_is_idempotent(&rt, "ltc-pm-vol").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs Podman (scripts/test-all starts it)"]
async fn twenty_concurrent_starts() {
    testkit::concurrent_starts(&runtime(), IMAGE, "ltc-pm-conc", 20).await;
}
