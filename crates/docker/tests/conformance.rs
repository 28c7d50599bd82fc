//! The core conformance suite against the real Docker engine.

use lticontainer_core::testkit;

use crate::util::{IMAGE, docker_cli, prefix, runtime};

#[tokio::test]
#[ignore = "needs Docker (scripts/test-all starts it)"]
async fn create_start_stop_remove() {
    testkit::create_start_stop_remove(&runtime(), IMAGE, &prefix("lifecycle")).await;
}

#[tokio::test]
#[ignore = "needs Docker (scripts/test-all starts it)"]
async fn duplicate_name_is_already_exists() {
    testkit::duplicate_name_is_already_exists(&runtime(), IMAGE, &prefix("dup")).await;
}

#[tokio::test]
#[ignore = "needs Docker (scripts/test-all starts it)"]
async fn missing_image_is_not_found() {
    testkit::missing_image_is_not_found(&runtime(), &prefix("noimage")).await;
}

#[tokio::test]
#[ignore = "needs Docker (scripts/test-all starts it)"]
async fn missing_container_semantics() {
    testkit::missing_container_semantics(&runtime()).await;
}

#[tokio::test]
#[ignore = "needs Docker (scripts/test-all starts it)"]
async fn list_by_labels() {
    testkit::list_by_labels(&runtime(), IMAGE, &prefix("list")).await;
}

#[tokio::test]
#[ignore = "needs Docker (scripts/test-all starts it)"]
async fn ensure_volume_is_idempotent() {
    let p = prefix("vol");
    testkit::ensure_volume_is_idempotent(&runtime(), &p).await;
    docker_cli(&["volume", "rm", &format!("{p}-vol")]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs Docker (scripts/test-all starts it)"]
async fn twenty_concurrent_starts() {
    testkit::concurrent_starts(&runtime(), IMAGE, &prefix("many"), 20).await;
}
