//! The store behaviour suite against [`InMemoryStore`], directly and through `Arc<dyn Store>`.

#![allow(clippy::unwrap_used)]

use std::sync::Arc;

use lticontainer_core::store::{InMemoryStore, Store};
use lticontainer_core::store_suite;

#[tokio::test]
async fn in_memory_store_passes_the_suite() {
    store_suite::run_all(&InMemoryStore::new()).await;
}

#[tokio::test]
async fn a_shared_store_through_arc_passes_the_suite() {
    let store: Arc<dyn Store> = Arc::new(InMemoryStore::new());
    store_suite::run_all(&store).await;
}

#[tokio::test]
async fn in_memory_store_passes_the_analytics_suite() {
    store_suite::analytics_outbox(&InMemoryStore::new()).await;
}
