//! The behaviour suite every [`Store`] runs (feature `testkit`).
//!
//! Each function runs one scenario against a store and panics (as tests do) when the store breaks
//! the [`Store`] contract. The scenarios use disjoint user names, so they may share one store;
//! [`run_all`] runs them in turn.

#![allow(clippy::unwrap_used, clippy::panic)]

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::Error;
use crate::store::{
    OAuthClient, OAuthCode, ServerRecord, ServerState, Store, TokenKind, TokenRecord, UserRecord,
    hash_token,
};

/// A time with nanoseconds, to show that times round-trip exactly.
pub fn at(secs: u64, nanos: u32) -> SystemTime {
    UNIX_EPOCH + Duration::new(secs, nanos)
}

/// A user record called `name` created at `at(1_700_000_000, 1)`.
pub fn user(name: &str) -> UserRecord {
    UserRecord {
        name: name.into(),
        lti_user_id: format!("lti-{name}"),
        consumer_key: "moodle".into(),
        is_admin: false,
        last_launch: None,
        created: at(1_700_000_000, 1),
        last_activity: None,
    }
}

/// A pending server record for `user` on `port`.
pub fn server(user: &str, port: u16) -> ServerRecord {
    ServerRecord {
        user: user.into(),
        container_id: None,
        container_name: format!("jupyter-{user}"),
        address: None,
        port,
        state: ServerState::Pending,
        started: Some(at(1_700_000_100, 123_456_789)),
        last_activity: None,
    }
}

/// An API token record for `user` with plaintext `plain`.
pub fn token(plain: &str, user: &str, client_id: Option<&str>) -> TokenRecord {
    TokenRecord {
        hash: hash_token(plain),
        user: user.into(),
        kind: TokenKind::Api,
        client_id: client_id.map(Into::into),
        scopes: vec![format!("access:servers!server={user}/")],
        created: at(1_700_000_200, 5),
        expires: None,
    }
}

/// Runs every scenario of the suite on `store`.
pub async fn run_all(store: &dyn Store) {
    users_round_trip(store).await;
    users_are_listed_and_deleted(store).await;
    activity_only_moves_forward(store).await;
    servers_round_trip(store).await;
    ports_are_unique(store).await;
    tokens_by_hash(store).await;
    oauth_clients_round_trip(store).await;
    oauth_codes_are_single_use(store).await;
    expired_secrets_are_purged(store).await;
    concurrent_writers(store).await;
    concurrent_code_takes(store).await;
}

/// `purge_expired` deletes expired tokens and codes and keeps the rest.
pub async fn expired_secrets_are_purged(store: &dyn Store) {
    let now = at(1_750_000_000, 0);
    let mut old = token("suite-x-old", "suite-x", None);
    old.expires = Some(now);
    let mut fresh = token("suite-x-fresh", "suite-x", None);
    fresh.expires = Some(at(1_750_000_000, 1));
    let forever = token("suite-x-forever", "suite-x", None);
    for t in [&old, &fresh, &forever] {
        store.insert_token(t.clone()).await.unwrap();
    }
    let code = |plain: &str, expires| OAuthCode {
        code_hash: hash_token(plain),
        client_id: "jupyterhub-user-suite-x".into(),
        user: "suite-x".into(),
        redirect_uri: "/user/suite-x/oauth_callback".into(),
        expires,
    };
    store
        .put_oauth_code(code("suite-x-c-old", at(1_749_999_999, 0)))
        .await
        .unwrap();
    store
        .put_oauth_code(code("suite-x-c-new", at(1_750_000_300, 0)))
        .await
        .unwrap();
    assert_eq!(store.purge_expired(now).await.unwrap(), 2);
    assert!(store.token(&old.hash).await.unwrap().is_none());
    assert!(store.token(&fresh.hash).await.unwrap().is_some());
    assert!(store.token(&forever.hash).await.unwrap().is_some());
    assert!(
        store
            .take_oauth_code(&hash_token("suite-x-c-old"))
            .await
            .unwrap()
            .is_none()
    );
    assert!(
        store
            .take_oauth_code(&hash_token("suite-x-c-new"))
            .await
            .unwrap()
            .is_some()
    );
    assert_eq!(store.purge_expired(now).await.unwrap(), 0);
    store.delete_tokens("suite-x", None).await.unwrap();
}

/// Polls every future in `futures` together until all are done (no runtime needed), so the
/// store sees the calls concurrently.
async fn join_all<'a, T>(futures: Vec<Pin<Box<dyn Future<Output = T> + Send + 'a>>>) -> Vec<T> {
    struct JoinAll<'a, T> {
        pending: Vec<Option<Pin<Box<dyn Future<Output = T> + Send + 'a>>>>,
        done: Vec<Option<T>>,
    }
    // Outputs are moved, never pinned, so the struct may move.
    impl<T> Unpin for JoinAll<'_, T> {}
    impl<T> Future for JoinAll<'_, T> {
        type Output = Vec<T>;
        fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Vec<T>> {
            let this = self.get_mut();
            for (slot, out) in this.pending.iter_mut().zip(this.done.iter_mut()) {
                if let Some(f) = slot {
                    if let Poll::Ready(v) = f.as_mut().poll(cx) {
                        *out = Some(v);
                        *slot = None;
                    }
                }
            }
            if this.pending.iter().all(Option::is_none) {
                Poll::Ready(this.done.iter_mut().map(|d| d.take().unwrap()).collect())
            } else {
                Poll::Pending
            }
        }
    }
    let done = futures.iter().map(|_| None).collect();
    JoinAll {
        pending: futures.into_iter().map(Some).collect(),
        done,
    }
    .await
}

/// 16 writers at once, each recording a user, a server on its own port, a token and activity:
/// every write lands.
pub async fn concurrent_writers(store: &dyn Store) {
    const WRITERS: u16 = 16;
    let work = (0..WRITERS)
        .map(|i| -> Pin<Box<dyn Future<Output = ()> + Send + '_>> {
            Box::pin(async move {
                let name = format!("suite-w-{i}");
                store.upsert_user(user(&name)).await.unwrap();
                store.put_server(server(&name, 43000 + i)).await.unwrap();
                store.insert_token(token(&name, &name, None)).await.unwrap();
                store
                    .touch_activity(&name, at(5_000, u32::from(i)))
                    .await
                    .unwrap();
            })
        })
        .collect();
    join_all(work).await;
    let ports = store.used_ports().await.unwrap();
    for i in 0..WRITERS {
        let name = format!("suite-w-{i}");
        let u = store.user(&name).await.unwrap().unwrap();
        assert_eq!(u.last_activity, Some(at(5_000, u32::from(i))));
        assert!(ports.contains(&(43000 + i)));
        assert!(store.token(&hash_token(&name)).await.unwrap().is_some());
        store.delete_server(&name).await.unwrap();
        store.delete_tokens(&name, None).await.unwrap();
    }
}

/// Eight concurrent takes of one code: exactly one gets it.
pub async fn concurrent_code_takes(store: &dyn Store) {
    let code = OAuthCode {
        code_hash: hash_token("suite-race"),
        client_id: "jupyterhub-user-suite-r".into(),
        user: "suite-r".into(),
        redirect_uri: "/user/suite-r/oauth_callback".into(),
        expires: at(1_700_000_300, 0),
    };
    store.put_oauth_code(code.clone()).await.unwrap();
    let takes = (0..8)
        .map(|_| -> Pin<Box<dyn Future<Output = _> + Send + '_>> {
            Box::pin(store.take_oauth_code(&code.code_hash))
        })
        .collect();
    let got: Vec<_> = join_all(takes)
        .await
        .into_iter()
        .map(Result::unwrap)
        .collect();
    assert_eq!(got.iter().filter(|c| c.is_some()).count(), 1, "{got:?}");
}

/// Upsert inserts, updates every field but `created`, and keeps the last launch as JSON.
pub async fn users_round_trip(store: &dyn Store) {
    assert!(store.user("suite-u-missing").await.unwrap().is_none());
    let mut u = user("suite-u");
    store.upsert_user(u.clone()).await.unwrap();
    assert_eq!(store.user("suite-u").await.unwrap(), Some(u.clone()));

    u.is_admin = true;
    u.lti_user_id = "lti-2".into();
    u.last_launch = Some(serde_json::json!({"lms_defurl": "/lab", "n": [1, 2], "ok": true}));
    u.last_activity = Some(at(1_700_000_500, 999_999_999));
    let mut update = u.clone();
    update.created = at(1_800_000_000, 0);
    store.upsert_user(update).await.unwrap();
    assert_eq!(
        store.user("suite-u").await.unwrap(),
        Some(u),
        "an update keeps the first `created` and replaces the rest"
    );
}

/// `users` lists users in name order; `delete_user` forgets a user with their server, tokens,
/// OAuth clients and the codes and tokens issued to those clients, and nothing of anyone else.
pub async fn users_are_listed_and_deleted(store: &dyn Store) {
    for name in ["suite-d-b", "suite-d-a", "suite-d-c"] {
        store.upsert_user(user(name)).await.unwrap();
    }
    let names = |users: Vec<UserRecord>| -> Vec<String> {
        users
            .into_iter()
            .map(|u| u.name)
            .filter(|n| n.starts_with("suite-d-"))
            .collect()
    };
    assert_eq!(
        names(store.users().await.unwrap()),
        ["suite-d-a", "suite-d-b", "suite-d-c"]
    );

    let client = |owner: &str| OAuthClient {
        id: format!("jupyterhub-user-{owner}"),
        secret_hash: hash_token(&format!("secret-{owner}")),
        redirect_uri: format!("/user/{owner}/oauth_callback"),
        user: owner.into(),
        description: format!("Server at /user/{owner}/"),
    };
    let code = |plain: &str, client: &str, by: &str| OAuthCode {
        code_hash: hash_token(plain),
        client_id: client.into(),
        user: by.into(),
        redirect_uri: "/cb".into(),
        expires: at(4_000_000_000, 0),
    };
    for owner in ["suite-d-a", "suite-d-b"] {
        store.put_oauth_client(client(owner)).await.unwrap();
    }
    store.put_server(server("suite-d-a", 41031)).await.unwrap();
    store.put_server(server("suite-d-b", 41032)).await.unwrap();
    let a_client = Some("jupyterhub-user-suite-d-a");
    let b_client = Some("jupyterhub-user-suite-d-b");
    // a's own tokens, b's token for a's server, and b's own token.
    store
        .insert_token(token("d-a-api", "suite-d-a", a_client))
        .await
        .unwrap();
    store
        .insert_token(token("d-a-any", "suite-d-a", None))
        .await
        .unwrap();
    store
        .insert_token(token("d-b-on-a", "suite-d-b", a_client))
        .await
        .unwrap();
    store
        .insert_token(token("d-b-api", "suite-d-b", b_client))
        .await
        .unwrap();
    store
        .put_oauth_code(code("d-code-a", "jupyterhub-user-suite-d-a", "suite-d-b"))
        .await
        .unwrap();
    store
        .put_oauth_code(code("d-code-b", "jupyterhub-user-suite-d-b", "suite-d-b"))
        .await
        .unwrap();

    assert!(store.delete_user("suite-d-a").await.unwrap());
    assert!(store.user("suite-d-a").await.unwrap().is_none());
    assert!(store.server("suite-d-a").await.unwrap().is_none());
    assert!(!store.used_ports().await.unwrap().contains(&41031));
    assert!(
        store
            .oauth_client("jupyterhub-user-suite-d-a")
            .await
            .unwrap()
            .is_none()
    );
    for gone in ["d-a-api", "d-a-any", "d-b-on-a"] {
        assert!(
            store.token(&hash_token(gone)).await.unwrap().is_none(),
            "{gone}"
        );
    }
    assert!(
        store
            .take_oauth_code(&hash_token("d-code-a"))
            .await
            .unwrap()
            .is_none()
    );
    // b keeps everything of its own.
    assert!(store.user("suite-d-b").await.unwrap().is_some());
    assert!(store.server("suite-d-b").await.unwrap().is_some());
    assert!(
        store
            .oauth_client("jupyterhub-user-suite-d-b")
            .await
            .unwrap()
            .is_some()
    );
    assert!(store.token(&hash_token("d-b-api")).await.unwrap().is_some());
    assert!(
        store
            .take_oauth_code(&hash_token("d-code-b"))
            .await
            .unwrap()
            .is_some()
    );
    assert_eq!(
        names(store.users().await.unwrap()),
        ["suite-d-b", "suite-d-c"]
    );

    // A missing user is `false`, and leftovers under the name still go.
    store
        .insert_token(token("d-a-late", "suite-d-a", None))
        .await
        .unwrap();
    assert!(!store.delete_user("suite-d-a").await.unwrap());
    assert!(
        store
            .token(&hash_token("d-a-late"))
            .await
            .unwrap()
            .is_none()
    );

    for name in ["suite-d-b", "suite-d-c"] {
        assert!(store.delete_user(name).await.unwrap());
    }
    assert!(names(store.users().await.unwrap()).is_empty());
}

/// `touch_activity` raises the user's and the server's activity and never lowers it.
pub async fn activity_only_moves_forward(store: &dyn Store) {
    let err = store
        .touch_activity("suite-a-missing", at(1, 0))
        .await
        .unwrap_err();
    assert!(err.is_not_found(), "{err:?}");

    store.upsert_user(user("suite-a")).await.unwrap();
    store.touch_activity("suite-a", at(2_000, 7)).await.unwrap();
    let got = store.user("suite-a").await.unwrap().unwrap();
    assert_eq!(got.last_activity, Some(at(2_000, 7)));

    store.put_server(server("suite-a", 41001)).await.unwrap();
    store.touch_activity("suite-a", at(3_000, 0)).await.unwrap();
    store.touch_activity("suite-a", at(2_500, 0)).await.unwrap();
    let got = store.user("suite-a").await.unwrap().unwrap();
    assert_eq!(
        got.last_activity,
        Some(at(3_000, 0)),
        "older activity ignored"
    );
    let srv = store.server("suite-a").await.unwrap().unwrap();
    assert_eq!(srv.last_activity, Some(at(3_000, 0)));
    store.delete_server("suite-a").await.unwrap();
}

/// Servers are stored, replaced, listed in name order and deleted (twice without error).
pub async fn servers_round_trip(store: &dyn Store) {
    assert!(store.server("suite-s-missing").await.unwrap().is_none());
    let mut b = server("suite-s-b", 41012);
    store.put_server(b.clone()).await.unwrap();
    let a = server("suite-s-a", 41011);
    store.put_server(a.clone()).await.unwrap();
    assert_eq!(store.server("suite-s-b").await.unwrap(), Some(b.clone()));

    b.container_id = Some("c0ffee".into());
    b.address = Some("127.0.0.1:41013".into());
    b.port = 41013;
    b.state = ServerState::Failed("image \"x\" not found".into());
    store.put_server(b.clone()).await.unwrap();
    assert_eq!(store.server("suite-s-b").await.unwrap(), Some(b.clone()));

    for state in [ServerState::Running, ServerState::Stopped] {
        b.state = state;
        store.put_server(b.clone()).await.unwrap();
        assert_eq!(store.server("suite-s-b").await.unwrap(), Some(b.clone()));
    }

    let ours: Vec<ServerRecord> = store
        .servers()
        .await
        .unwrap()
        .into_iter()
        .filter(|s| s.user.starts_with("suite-s-"))
        .collect();
    assert_eq!(ours, vec![a, b]);
    let ports = store.used_ports().await.unwrap();
    assert!(
        ports.contains(&41011) && ports.contains(&41013),
        "{ports:?}"
    );
    assert!(
        !ports.contains(&41012),
        "a replaced server frees its old port"
    );

    store.delete_server("suite-s-a").await.unwrap();
    store.delete_server("suite-s-a").await.unwrap();
    store.delete_server("suite-s-b").await.unwrap();
    assert!(store.server("suite-s-a").await.unwrap().is_none());
    assert!(!store.used_ports().await.unwrap().contains(&41011));
}

/// A port held by another user's server is refused as `AlreadyExists`, changing nothing.
pub async fn ports_are_unique(store: &dyn Store) {
    store.put_server(server("suite-p-a", 41021)).await.unwrap();
    let err = store
        .put_server(server("suite-p-b", 41021))
        .await
        .unwrap_err();
    assert!(matches!(err, Error::AlreadyExists { .. }), "{err:?}");
    assert!(err.to_string().contains("41021"), "{err}");
    assert!(store.server("suite-p-b").await.unwrap().is_none());
    // The owner may write its own port again.
    store.put_server(server("suite-p-a", 41021)).await.unwrap();
    store.delete_server("suite-p-a").await.unwrap();
    store.put_server(server("suite-p-b", 41021)).await.unwrap();
    store.delete_server("suite-p-b").await.unwrap();
}

/// Tokens are found by hash, unique, and deleted per client or all at once.
pub async fn tokens_by_hash(store: &dyn Store) {
    assert!(store.token(&hash_token("nope")).await.unwrap().is_none());
    let api = token("suite-t-1", "suite-t", Some("jupyterhub-user-suite-t"));
    let mut oauth = token("suite-t-2", "suite-t", Some("jupyterhub-user-suite-t"));
    oauth.kind = TokenKind::OAuthAccess;
    oauth.expires = Some(at(1_900_000_000, 42));
    oauth.scopes = vec![
        "access:servers!server=suite-t/".into(),
        "read:users:name!user=suite-t".into(),
    ];
    let other_client = token("suite-t-3", "suite-t", None);
    let other_user = token(
        "suite-t-4",
        "suite-t-other",
        Some("jupyterhub-user-suite-t"),
    );
    for t in [&api, &oauth, &other_client, &other_user] {
        store.insert_token(t.clone()).await.unwrap();
    }
    assert_eq!(store.token(&oauth.hash).await.unwrap(), Some(oauth.clone()));
    assert_eq!(store.token(&api.hash).await.unwrap(), Some(api.clone()));

    let err = store.insert_token(api.clone()).await.unwrap_err();
    assert!(matches!(err, Error::AlreadyExists { .. }), "{err:?}");

    let n = store
        .delete_tokens("suite-t", Some("jupyterhub-user-suite-t"))
        .await
        .unwrap();
    assert_eq!(n, 2);
    assert!(store.token(&api.hash).await.unwrap().is_none());
    assert!(store.token(&oauth.hash).await.unwrap().is_none());
    assert!(store.token(&other_client.hash).await.unwrap().is_some());
    assert!(
        store.token(&other_user.hash).await.unwrap().is_some(),
        "other users keep theirs"
    );

    assert_eq!(store.delete_tokens("suite-t", None).await.unwrap(), 1);
    assert!(store.token(&other_client.hash).await.unwrap().is_none());
    assert_eq!(store.delete_tokens("suite-t", None).await.unwrap(), 0);
    store.delete_tokens("suite-t-other", None).await.unwrap();
}

/// OAuth clients are stored and replaced by id.
pub async fn oauth_clients_round_trip(store: &dyn Store) {
    assert!(
        store
            .oauth_client("suite-c-missing")
            .await
            .unwrap()
            .is_none()
    );
    let mut c = OAuthClient {
        id: "jupyterhub-user-suite-c".into(),
        secret_hash: hash_token("s1"),
        redirect_uri: "/user/suite-c/oauth_callback".into(),
        user: "suite-c".into(),
        description: "Server at /user/suite-c/".into(),
    };
    store.put_oauth_client(c.clone()).await.unwrap();
    assert_eq!(store.oauth_client(&c.id).await.unwrap(), Some(c.clone()));
    c.secret_hash = hash_token("s2");
    store.put_oauth_client(c.clone()).await.unwrap();
    assert_eq!(store.oauth_client(&c.id).await.unwrap(), Some(c));
}

/// A code can be taken exactly once; a duplicate hash is refused.
pub async fn oauth_codes_are_single_use(store: &dyn Store) {
    let code = OAuthCode {
        code_hash: hash_token("suite-code"),
        client_id: "jupyterhub-user-suite-o".into(),
        user: "suite-o".into(),
        redirect_uri: "/user/suite-o/oauth_callback".into(),
        expires: at(1_700_000_300, 300),
    };
    store.put_oauth_code(code.clone()).await.unwrap();
    let err = store.put_oauth_code(code.clone()).await.unwrap_err();
    assert!(matches!(err, Error::AlreadyExists { .. }), "{err:?}");
    assert_eq!(
        store.take_oauth_code(&code.code_hash).await.unwrap(),
        Some(code.clone())
    );
    assert!(
        store
            .take_oauth_code(&code.code_hash)
            .await
            .unwrap()
            .is_none()
    );
    assert!(
        store
            .take_oauth_code(&hash_token("never"))
            .await
            .unwrap()
            .is_none()
    );
}

/// The [`AnalyticsStore`](crate::store::AnalyticsStore) contract: targets are replaced and
/// forgotten, the outbox keeps its order, ids only grow (also past removals), removing a missing
/// entry succeeds. Run it on an empty store: it counts the outbox.
pub async fn analytics_outbox(store: &dyn crate::store::AnalyticsStore) {
    use crate::analytics::{LmsTarget, NbLog};
    use crate::params::SessionInfo;
    use crate::store::OutboxItem;

    let target = |token: &str| LmsTarget {
        session: SessionInfo {
            ltictr_id: 3,
            lti_id: 76,
        },
        endpoint: "https://m.example/webservice/rest/server.php".into(),
        token: token.into(),
    };
    assert_eq!(store.lms_target("suite-a").await.unwrap(), None);
    store
        .put_lms_target("suite-a", Some(target("t1")))
        .await
        .unwrap();
    store
        .put_lms_target("suite-a", Some(target("t2")))
        .await
        .unwrap();
    assert_eq!(
        store.lms_target("suite-a").await.unwrap(),
        Some(target("t2"))
    );
    store.put_lms_target("suite-a", None).await.unwrap();
    assert_eq!(store.lms_target("suite-a").await.unwrap(), None);

    let item = |n: u32| OutboxItem {
        user: "suite-a".into(),
        endpoint: "https://m.example/webservice/rest/server.php".into(),
        token: "t1".into(),
        log: NbLog::session_binding(
            SessionInfo {
                ltictr_id: 1,
                lti_id: u64::from(n),
            },
            &format!("s{n}"),
        ),
        captured: at(1_700_000_000 + u64::from(n), n),
    };
    assert_eq!(store.outbox_len().await.unwrap(), 0);
    store.outbox_push((0..5).map(item).collect()).await.unwrap();
    let pending = store.outbox_pending(3).await.unwrap();
    assert_eq!(pending.len(), 3);
    assert!(pending.windows(2).all(|w| w[0].id < w[1].id));
    assert_eq!(pending[0].item, item(0));
    assert_eq!(pending[2].item, item(2));
    store.outbox_remove(pending[1].id).await.unwrap();
    store.outbox_remove(pending[1].id).await.unwrap();
    let all = store.outbox_pending(100).await.unwrap();
    let items: Vec<OutboxItem> = all.iter().map(|e| e.item.clone()).collect();
    assert_eq!(items, vec![item(0), item(2), item(3), item(4)]);
    let last = all.last().unwrap().id;
    store.outbox_remove(last).await.unwrap();
    store.outbox_push(vec![item(9)]).await.unwrap();
    let newest = store.outbox_pending(100).await.unwrap();
    assert!(newest.last().unwrap().id > last, "ids are never reused");
    assert_eq!(store.outbox_len().await.unwrap(), 4);
    for e in newest {
        store.outbox_remove(e.id).await.unwrap();
    }
    assert_eq!(store.outbox_len().await.unwrap(), 0);

    // The history keeps every record pushed, delivered or not, with its outbox id.
    let history = store.history(0, 100).await.unwrap();
    let logs: Vec<NbLog> = history.iter().map(|e| e.log.clone()).collect();
    assert_eq!(
        logs,
        [0, 1, 2, 3, 4, 9].map(|n| item(n).log).to_vec(),
        "in push order"
    );
    assert!(history.iter().all(|e| e.user == "suite-a"));
    assert!(history[5].id > last, "the outbox id");
    assert_eq!(history[3].captured, item(3).captured);
    let after = store.history(history[2].id, 2).await.unwrap();
    assert_eq!(after, history[3..5].to_vec(), "paged by id");
}

/// The [`GradeStore`](crate::store::GradeStore) contract: targets are kept per activity and
/// user, replaced and removed; what was sent is replaced per activity, column and user; each
/// activity sees only its own. Run it on an empty store.
pub async fn grades(store: &dyn crate::store::GradeStore) {
    use crate::grades::GradeTarget;
    use crate::store::{GradeSent, GradeTargetRecord};

    let target = |activity: &str, user: &str, sourcedid: &str| GradeTargetRecord {
        activity: activity.into(),
        user: user.into(),
        login: Some(format!("{user}-login")),
        target: GradeTarget::V11 {
            service_url: "https://m.example/mod/lti/service.php".into(),
            sourcedid: sourcedid.into(),
            consumer_key: "moodle".into(),
        },
        updated: at(1_700_000_000, 5),
    };
    assert!(store.grade_targets("7").await.unwrap().is_empty());
    store
        .put_grade_target(target("7", "bob", "s1"))
        .await
        .unwrap();
    store
        .put_grade_target(target("7", "amy", "s2"))
        .await
        .unwrap();
    store
        .put_grade_target(target("7", "bob", "s3"))
        .await
        .unwrap();
    store
        .put_grade_target(target("8", "amy", "s4"))
        .await
        .unwrap();
    assert_eq!(
        store.grade_targets("7").await.unwrap(),
        vec![target("7", "amy", "s2"), target("7", "bob", "s3")],
        "replaced, ordered by user, this activity's only"
    );
    store.remove_grade_target("7", "amy").await.unwrap();
    store.remove_grade_target("7", "amy").await.unwrap();
    assert_eq!(
        store.grade_targets("7").await.unwrap(),
        vec![target("7", "bob", "s3")]
    );
    assert_eq!(store.grade_targets("8").await.unwrap().len(), 1);

    let sent = |column: &str, user: &str, score: f64, success: bool| GradeSent {
        activity: "7".into(),
        column: column.into(),
        user: user.into(),
        score,
        max: 10.0,
        success,
        answer: if success {
            "ok".into()
        } else {
            "refused".into()
        },
        sent: at(1_700_000_100, 7),
    };
    store
        .put_grade_sent(sent("Total", "bob", 3.0, false))
        .await
        .unwrap();
    store
        .put_grade_sent(sent("P001", "bob", 1.5, true))
        .await
        .unwrap();
    store
        .put_grade_sent(sent("Total", "bob", 7.5, true))
        .await
        .unwrap();
    store
        .put_grade_sent(sent("Total", "amy", 9.0, true))
        .await
        .unwrap();
    assert_eq!(
        store.grades_sent("7").await.unwrap(),
        vec![
            sent("P001", "bob", 1.5, true),
            sent("Total", "amy", 9.0, true),
            sent("Total", "bob", 7.5, true),
        ],
        "a re-send replaces; ordered by column, then user"
    );
    assert!(store.grades_sent("8").await.unwrap().is_empty());
}

/// The teachers' activities of the [`AnalyticsStore`](crate::store::AnalyticsStore): added,
/// replaced by LTI id, listed per user by LTI id, removed (also when missing).
pub async fn taught_activities(store: &dyn crate::store::AnalyticsStore) {
    use crate::params::SessionInfo;
    use crate::store::TaughtActivity;

    let activity = |lti_id: u64, title: &str| TaughtActivity {
        session: SessionInfo {
            ltictr_id: lti_id + 100,
            lti_id,
        },
        title: title.into(),
    };
    assert_eq!(store.taught("suite-t").await.unwrap(), vec![]);
    store.add_taught("suite-t", activity(9, "B")).await.unwrap();
    store.add_taught("suite-t", activity(2, "A")).await.unwrap();
    store
        .add_taught("suite-t", activity(9, "B, renamed"))
        .await
        .unwrap();
    store
        .add_taught("suite-u", activity(5, "other"))
        .await
        .unwrap();
    assert_eq!(
        store.taught("suite-t").await.unwrap(),
        vec![activity(2, "A"), activity(9, "B, renamed")]
    );
    store.remove_taught("suite-t", 2).await.unwrap();
    store.remove_taught("suite-t", 2).await.unwrap();
    store.remove_taught("suite-t", 5).await.unwrap();
    assert_eq!(
        store.taught("suite-t").await.unwrap(),
        vec![activity(9, "B, renamed")]
    );
    assert_eq!(
        store.taught("suite-u").await.unwrap(),
        vec![activity(5, "other")]
    );
}
