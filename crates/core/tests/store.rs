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
    store_suite::taught_activities(&InMemoryStore::new()).await;
}

#[tokio::test]
async fn the_history_keeps_only_the_latest_records() {
    use lticontainer_core::analytics::NbLog;
    use lticontainer_core::params::SessionInfo;
    use lticontainer_core::store::{AnalyticsStore, HISTORY_MAX, OutboxItem};

    let store = InMemoryStore::new();
    let info = SessionInfo {
        ltictr_id: 1,
        lti_id: 2,
    };
    let items: Vec<OutboxItem> = (0..HISTORY_MAX + 3)
        .map(|n| OutboxItem {
            user: "u".into(),
            endpoint: "http://m/webservice/rest/server.php".into(),
            token: "t".into(),
            log: NbLog::session_binding(info, &n.to_string()),
            captured: std::time::UNIX_EPOCH,
        })
        .collect();
    store.outbox_push(items).await.unwrap();
    let kept = store.history(0, usize::MAX).await.unwrap();
    assert_eq!(kept.len() as u64, HISTORY_MAX);
    assert_eq!(kept[0].log.session, "3", "the oldest went first");
    assert_eq!(
        store.outbox_len().await.unwrap(),
        HISTORY_MAX + 3,
        "the outbox loses nothing"
    );
}

#[tokio::test]
async fn in_memory_store_passes_the_grades_suite() {
    store_suite::grades(&InMemoryStore::new()).await;
    let shared: Arc<InMemoryStore> = Arc::new(InMemoryStore::new());
    store_suite::grades(&shared).await;
}
