//! [`SqliteStore`] against the store behaviour suite, across reopen, and under failure.

#![allow(clippy::unwrap_used)]

use std::sync::Arc;
use std::time::Duration;

use lticontainer_core::Error;
use lticontainer_core::store::{OAuthClient, OAuthCode, ServerState, Store, TokenKind, hash_token};
use lticontainer_core::store_suite::{self, at};
use lticontainer_store::{SqliteOptions, SqliteStore};

fn db(dir: &tempfile::TempDir) -> std::path::PathBuf {
    dir.path().join("state.sqlite")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_store_passes_the_suite() {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(db(&dir)).await.unwrap();
    store_suite::run_all(&store).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn creates_missing_directories_and_uses_wal_and_schema_version() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("a/b/state.sqlite");
    let store = SqliteStore::open(&path).await.unwrap();
    assert_eq!(store.path(), path);
    drop(store);
    let conn = rusqlite::Connection::open(&path).unwrap();
    let mode: String = conn
        .pragma_query_value(None, "journal_mode", |r| r.get(0))
        .unwrap();
    assert_eq!(mode, "wal");
    let version: i64 = conn
        .pragma_query_value(None, "user_version", |r| r.get(0))
        .unwrap();
    assert_eq!(version, 5);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn everything_survives_a_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let mut user = store_suite::user("carol");
    user.last_launch = Some(serde_json::json!({"lms_image": "jupyter/base", "lms_defurl": "/lab"}));
    user.last_activity = Some(at(1_700_001_000, 17));
    let mut server = store_suite::server("carol", 18888);
    server.container_id = Some("abc123".into());
    server.address = Some("127.0.0.1:18888".into());
    server.state = ServerState::Running;
    let mut token = store_suite::token("secret-token", "carol", Some("jupyterhub-user-carol"));
    token.kind = TokenKind::OAuthAccess;
    token.expires = Some(at(1_800_000_000, 3));
    let client = OAuthClient {
        id: "jupyterhub-user-carol".into(),
        secret_hash: hash_token("secret-token"),
        redirect_uri: "/user/carol/oauth_callback".into(),
        user: "carol".into(),
        description: "Server at /user/carol/".into(),
    };
    let code = OAuthCode {
        code_hash: hash_token("code"),
        client_id: client.id.clone(),
        user: "carol".into(),
        redirect_uri: client.redirect_uri.clone(),
        expires: at(1_700_000_300, 0),
    };
    {
        let store = SqliteStore::open(db(&dir)).await.unwrap();
        store.upsert_user(user.clone()).await.unwrap();
        store.put_server(server.clone()).await.unwrap();
        store.insert_token(token.clone()).await.unwrap();
        store.put_oauth_client(client.clone()).await.unwrap();
        store.put_oauth_code(code.clone()).await.unwrap();
    }
    let store = SqliteStore::open(db(&dir)).await.unwrap();
    assert_eq!(store.user("carol").await.unwrap(), Some(user));
    assert_eq!(store.server("carol").await.unwrap(), Some(server));
    assert_eq!(store.token(&token.hash).await.unwrap(), Some(token));
    assert_eq!(store.oauth_client(&client.id).await.unwrap(), Some(client));
    assert_eq!(
        store.take_oauth_code(&code.code_hash).await.unwrap(),
        Some(code)
    );
    assert_eq!(
        store
            .used_ports()
            .await
            .unwrap()
            .into_iter()
            .collect::<Vec<_>>(),
        vec![18888]
    );
    // The plaintext never reaches the file.
    drop(store);
    let bytes = std::fs::read(db(&dir)).unwrap();
    let wal = std::fs::read(dir.path().join("state.sqlite-wal")).unwrap_or_default();
    for haystack in [&bytes, &wal] {
        assert!(
            !haystack.windows(12).any(|w| w == b"secret-token"),
            "plaintext token found in the database"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_database_is_a_clear_error_and_keeps_what_was_written() {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open_with(db(&dir), SqliteOptions::new().max_pages(24))
        .await
        .unwrap();
    store.upsert_user(store_suite::user("dave")).await.unwrap();
    let mut failure = None;
    for i in 0..2_000 {
        let mut t = store_suite::token(&format!("t{i}"), "dave", None);
        t.scopes = vec!["x".repeat(2_000)];
        if let Err(e) = store.insert_token(t).await {
            failure = Some(e);
            break;
        }
    }
    let err = failure.expect("a 24-page database must fill up");
    assert!(
        matches!(
            err,
            Error::Unavailable {
                backend: "sqlite",
                ..
            }
        ),
        "{err:?}"
    );
    let text = err.to_string();
    assert!(
        text.contains("state.sqlite") && text.contains("full"),
        "{text}"
    );
    // Reads still work and the earlier data is intact.
    assert!(store.user("dave").await.unwrap().is_some());
    assert!(store.token(&hash_token("t0")).await.unwrap().is_some());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unusable_path_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("not-a-dir");
    std::fs::write(&file, b"x").unwrap();
    let err = SqliteStore::open(file.join("state.sqlite"))
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Unavailable { .. }), "{err:?}");
    let text = err.to_string();
    assert!(
        text.contains("not-a-dir") && text.contains("cannot create the directory"),
        "{text}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_foreign_file_is_refused_untouched() {
    let dir = tempfile::tempdir().unwrap();
    let junk = b"this is a CSV export, not a database\n".repeat(200);
    std::fs::write(db(&dir), &junk).unwrap();
    let err = SqliteStore::open(db(&dir)).await.unwrap_err();
    assert!(matches!(err, Error::Unavailable { .. }), "{err:?}");
    assert!(
        err.to_string()
            .contains("not a valid lticontainer database"),
        "{err}"
    );
    assert_eq!(std::fs::read(db(&dir)).unwrap(), junk);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_newer_schema_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    {
        let conn = rusqlite::Connection::open(db(&dir)).unwrap();
        conn.pragma_update(None, "user_version", 99).unwrap();
    }
    let err = SqliteStore::open(db(&dir)).await.unwrap_err();
    assert!(matches!(err, Error::Unavailable { .. }), "{err:?}");
    assert!(err.to_string().contains("upgrade lticontainer"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lock_held_by_another_process_times_out_clearly() {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open_with(
        db(&dir),
        SqliteOptions::new().busy_timeout(Duration::from_millis(100)),
    )
    .await
    .unwrap();
    let other = rusqlite::Connection::open(db(&dir)).unwrap();
    other.execute_batch("BEGIN EXCLUSIVE").unwrap();
    let err = store
        .upsert_user(store_suite::user("erin"))
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Unavailable { .. }), "{err:?}");
    assert!(err.to_string().contains("second hub"), "{err}");
    other.execute_batch("ROLLBACK").unwrap();
    store.upsert_user(store_suite::user("erin")).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_stores_on_one_file_write_concurrently() {
    let dir = tempfile::tempdir().unwrap();
    let a: Arc<dyn Store> = Arc::new(SqliteStore::open(db(&dir)).await.unwrap());
    let b: Arc<dyn Store> = Arc::new(SqliteStore::open(db(&dir)).await.unwrap());
    let mut tasks = Vec::new();
    for (k, store) in [a.clone(), b.clone()].into_iter().enumerate() {
        for i in 0..10u16 {
            let store = store.clone();
            tasks.push(tokio::spawn(async move {
                let name = format!("c{k}-{i}");
                store.upsert_user(store_suite::user(&name)).await.unwrap();
                let port = 44000 + u16::try_from(k).unwrap() * 100 + i;
                store
                    .put_server(store_suite::server(&name, port))
                    .await
                    .unwrap();
            }));
        }
    }
    for t in tasks {
        t.await.unwrap();
    }
    assert_eq!(a.servers().await.unwrap().len(), 20);
    assert_eq!(b.used_ports().await.unwrap().len(), 20);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hub_killed_without_closing_loses_no_committed_write() {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(db(&dir)).await.unwrap();
    for i in 0..50u16 {
        let name = format!("k{i}");
        store.upsert_user(store_suite::user(&name)).await.unwrap();
        store
            .put_server(store_suite::server(&name, 45000 + i))
            .await
            .unwrap();
    }
    // What a killed process leaves behind: the files as they are, no checkpoint, no close.
    let copy = tempfile::tempdir().unwrap();
    for suffix in ["", "-wal", "-shm"] {
        let from = dir.path().join(format!("state.sqlite{suffix}"));
        if from.exists() {
            std::fs::copy(&from, copy.path().join(format!("state.sqlite{suffix}"))).unwrap();
        }
    }
    let wal = std::fs::metadata(copy.path().join("state.sqlite-wal")).unwrap();
    assert!(wal.len() > 0, "the writes should still sit in the WAL");
    std::mem::forget(store);
    let reopened = SqliteStore::open(db(&copy)).await.unwrap();
    assert_eq!(reopened.servers().await.unwrap().len(), 50);
    assert!(reopened.user("k49").await.unwrap().is_some());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_store_passes_the_analytics_suite() {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(db(&dir)).await.unwrap();
    store_suite::analytics_outbox(&store).await;
    store_suite::taught_activities(&store).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_outbox_targets_and_teachers_activities_survive_a_reopen_in_a_private_file() {
    use lticontainer_core::analytics::{LmsTarget, NbLog};
    use lticontainer_core::params::SessionInfo;
    use lticontainer_core::store::{AnalyticsStore, OutboxItem, TaughtActivity};
    use std::os::unix::fs::PermissionsExt;

    let dir = tempfile::tempdir().unwrap();
    let info = SessionInfo {
        ltictr_id: 1,
        lti_id: 2,
    };
    let target = LmsTarget {
        session: info,
        endpoint: "http://127.0.0.1:1//webservice/rest/server.php".into(),
        token: "0123abcd".into(),
    };
    let item = OutboxItem {
        user: "carol".into(),
        endpoint: target.endpoint.clone(),
        token: target.token.clone(),
        log: NbLog::session_binding(info, "sess"),
        captured: at(1_700_000_000, 42),
    };
    {
        let store = SqliteStore::open(db(&dir)).await.unwrap();
        store
            .put_lms_target("carol", Some(target.clone()))
            .await
            .unwrap();
        store.outbox_push(vec![item.clone()]).await.unwrap();
        store
            .add_taught(
                "teacher1",
                TaughtActivity {
                    session: info,
                    title: "Course – Jupyter".into(),
                },
            )
            .await
            .unwrap();
    }
    let mode = std::fs::metadata(db(&dir)).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o600, "{mode:o}");
    let store = SqliteStore::open(db(&dir)).await.unwrap();
    assert_eq!(store.lms_target("carol").await.unwrap(), Some(target));
    let pending = store.outbox_pending(10).await.unwrap();
    assert_eq!(pending.len(), 1);
    assert_eq!(pending[0].item, item);
    let taught = store.taught("teacher1").await.unwrap();
    assert_eq!(taught.len(), 1);
    assert_eq!(
        (taught[0].session, taught[0].title.as_str()),
        (info, "Course – Jupyter")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_store_passes_the_grades_suite() {
    let dir = tempfile::tempdir().unwrap();
    store_suite::grades(&SqliteStore::open(db(&dir)).await.unwrap()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn grade_targets_and_grades_sent_survive_a_reopen() {
    use lticontainer_core::grades::GradeTarget;
    use lticontainer_core::store::{GradeSent, GradeStore, GradeTargetRecord};

    let dir = tempfile::tempdir().unwrap();
    let target = GradeTargetRecord {
        activity: "1".into(),
        user: "carol".into(),
        login: None,
        target: GradeTarget::V11 {
            service_url: "http://127.0.0.1:1/mod/lti/service.php".into(),
            sourcedid: "{\"data\":{},\"hash\":\"x\"}".into(),
            consumer_key: "moodle".into(),
        },
        updated: at(1_700_000_000, 42),
    };
    let sent = GradeSent {
        activity: "1".into(),
        column: "Total".into(),
        user: "carol".into(),
        score: 7.25,
        max: 10.0,
        success: true,
        answer: "success: Grade replace response".into(),
        sent: at(1_700_000_001, 43),
    };
    {
        let store = SqliteStore::open(db(&dir)).await.unwrap();
        store.put_grade_target(target.clone()).await.unwrap();
        store.put_grade_sent(sent.clone()).await.unwrap();
    }
    let reopened = SqliteStore::open(db(&dir)).await.unwrap();
    assert_eq!(reopened.grade_targets("1").await.unwrap(), vec![target]);
    assert_eq!(reopened.grades_sent("1").await.unwrap(), vec![sent]);
}
