//! [`InMemoryStore`]: a [`Store`] that keeps its records in maps. For unit tests only.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Mutex;
use std::time::SystemTime;

use async_trait::async_trait;

use super::{
    AnalyticsStore, GradeSent, GradeStore, GradeTargetRecord, HISTORY_MAX, HistoryEntry,
    OAuthClient, OAuthCode, OutboxEntry, OutboxItem, ServerRecord, ServerState, Store,
    TaughtActivity, TokenRecord, UserRecord,
};
use crate::analytics::LmsTarget;
use crate::{Error, Result};

/// A [`Store`] in memory: everything is lost when it is dropped.
#[derive(Debug, Default)]
pub struct InMemoryStore {
    state: Mutex<State>,
    /// Server records in this state are refused, as a full disk would ([`Self::fail_server_records_in`]).
    failing_server_state: Mutex<Option<ServerState>>,
}

#[derive(Debug, Default)]
struct State {
    users: BTreeMap<String, UserRecord>,
    servers: BTreeMap<String, ServerRecord>,
    tokens: BTreeMap<String, TokenRecord>,
    clients: BTreeMap<String, OAuthClient>,
    codes: BTreeMap<String, OAuthCode>,
    targets: BTreeMap<String, LmsTarget>,
    outbox: BTreeMap<u64, OutboxItem>,
    history: BTreeMap<u64, HistoryEntry>,
    next_id: u64,
    /// By (activity, user).
    grade_targets: BTreeMap<(String, String), GradeTargetRecord>,
    /// By (activity, column, user).
    grades_sent: BTreeMap<(String, String, String), GradeSent>,
    taught: BTreeMap<(String, u64), TaughtActivity>,
}

impl InMemoryStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    /// From now on, `put_server` fails for records in `state` (as a full disk would) until
    /// called with `None`: for testing what a failed write leaves behind.
    pub fn fail_server_records_in(&self, state: Option<ServerState>) {
        *self
            .failing_server_state
            .lock()
            .unwrap_or_else(|p| p.into_inner()) = state;
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        // Every method updates the maps in one step, so a poisoned lock holds consistent data.
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }
}

fn later(old: Option<SystemTime>, new: SystemTime) -> Option<SystemTime> {
    Some(old.map_or(new, |o| o.max(new)))
}

#[async_trait]
impl Store for InMemoryStore {
    async fn upsert_user(&self, mut user: UserRecord) -> Result<()> {
        let mut s = self.lock();
        if let Some(old) = s.users.get(&user.name) {
            user.created = old.created;
        }
        s.users.insert(user.name.clone(), user);
        Ok(())
    }

    async fn user(&self, name: &str) -> Result<Option<UserRecord>> {
        Ok(self.lock().users.get(name).cloned())
    }

    async fn users(&self) -> Result<Vec<UserRecord>> {
        Ok(self.lock().users.values().cloned().collect())
    }

    async fn delete_user(&self, name: &str) -> Result<bool> {
        let mut s = self.lock();
        let clients: BTreeSet<String> = s
            .clients
            .values()
            .filter(|c| c.user == name)
            .map(|c| c.id.clone())
            .collect();
        let issued_to_them = |user: &str, client: Option<&str>| {
            user == name || client.is_some_and(|c| clients.contains(c))
        };
        s.tokens
            .retain(|_, t| !issued_to_them(&t.user, t.client_id.as_deref()));
        s.codes
            .retain(|_, c| !issued_to_them(&c.user, Some(&c.client_id)));
        s.clients.retain(|_, c| c.user != name);
        s.servers.remove(name);
        Ok(s.users.remove(name).is_some())
    }

    async fn touch_activity(&self, name: &str, time: SystemTime) -> Result<()> {
        let mut s = self.lock();
        let user = s
            .users
            .get_mut(name)
            .ok_or_else(|| Error::not_found(format!("user {name:?}")))?;
        user.last_activity = later(user.last_activity, time);
        if let Some(server) = s.servers.get_mut(name) {
            server.last_activity = later(server.last_activity, time);
        }
        Ok(())
    }

    async fn put_server(&self, server: ServerRecord) -> Result<()> {
        let failing = self
            .failing_server_state
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone();
        if failing.is_some_and(|f| f == server.state) {
            return Err(Error::unavailable(
                "memory",
                "the store refuses this write (a test fault)",
            ));
        }
        let mut s = self.lock();
        if let Some(other) = s
            .servers
            .values()
            .find(|o| o.port == server.port && o.user != server.user)
        {
            return Err(Error::already_exists(format!(
                "port {} (used by the server of {:?})",
                server.port, other.user
            )));
        }
        s.servers.insert(server.user.clone(), server);
        Ok(())
    }

    async fn server(&self, user: &str) -> Result<Option<ServerRecord>> {
        Ok(self.lock().servers.get(user).cloned())
    }

    async fn servers(&self) -> Result<Vec<ServerRecord>> {
        Ok(self.lock().servers.values().cloned().collect())
    }

    async fn delete_server(&self, user: &str) -> Result<()> {
        self.lock().servers.remove(user);
        Ok(())
    }

    async fn used_ports(&self) -> Result<BTreeSet<u16>> {
        Ok(self.lock().servers.values().map(|s| s.port).collect())
    }

    async fn insert_token(&self, token: TokenRecord) -> Result<()> {
        let mut s = self.lock();
        if s.tokens.contains_key(&token.hash) {
            return Err(Error::already_exists("token with this hash"));
        }
        s.tokens.insert(token.hash.clone(), token);
        Ok(())
    }

    async fn token(&self, hash: &str) -> Result<Option<TokenRecord>> {
        Ok(self.lock().tokens.get(hash).cloned())
    }

    async fn delete_tokens(&self, user: &str, client_id: Option<&str>) -> Result<u64> {
        let mut s = self.lock();
        let before = s.tokens.len();
        s.tokens.retain(|_, t| {
            !(t.user == user && client_id.is_none_or(|c| t.client_id.as_deref() == Some(c)))
        });
        Ok((before - s.tokens.len()) as u64)
    }

    async fn put_oauth_client(&self, client: OAuthClient) -> Result<()> {
        self.lock().clients.insert(client.id.clone(), client);
        Ok(())
    }

    async fn oauth_client(&self, id: &str) -> Result<Option<OAuthClient>> {
        Ok(self.lock().clients.get(id).cloned())
    }

    async fn put_oauth_code(&self, code: OAuthCode) -> Result<()> {
        let mut s = self.lock();
        if s.codes.contains_key(&code.code_hash) {
            return Err(Error::already_exists("OAuth code with this hash"));
        }
        s.codes.insert(code.code_hash.clone(), code);
        Ok(())
    }

    async fn take_oauth_code(&self, code_hash: &str) -> Result<Option<OAuthCode>> {
        Ok(self.lock().codes.remove(code_hash))
    }

    async fn purge_expired(&self, now: SystemTime) -> Result<u64> {
        let mut s = self.lock();
        let before = s.tokens.len() + s.codes.len();
        s.tokens.retain(|_, t| !t.is_expired(now));
        s.codes.retain(|_, c| c.expires > now);
        Ok((before - s.tokens.len() - s.codes.len()) as u64)
    }
}

#[async_trait]
impl AnalyticsStore for InMemoryStore {
    async fn put_lms_target(&self, user: &str, target: Option<LmsTarget>) -> Result<()> {
        let mut s = self.lock();
        match target {
            Some(t) => s.targets.insert(user.to_owned(), t),
            None => s.targets.remove(user),
        };
        Ok(())
    }

    async fn lms_target(&self, user: &str) -> Result<Option<LmsTarget>> {
        Ok(self.lock().targets.get(user).cloned())
    }

    async fn outbox_push(&self, items: Vec<OutboxItem>) -> Result<()> {
        let mut s = self.lock();
        for item in items {
            s.next_id += 1;
            let id = s.next_id;
            s.history.insert(
                id,
                HistoryEntry {
                    id,
                    user: item.user.clone(),
                    log: item.log.clone(),
                    captured: item.captured,
                },
            );
            s.outbox.insert(id, item);
        }
        let keep_from = s.next_id.saturating_sub(HISTORY_MAX - 1);
        s.history = s.history.split_off(&keep_from);
        Ok(())
    }

    async fn outbox_pending(&self, limit: usize) -> Result<Vec<OutboxEntry>> {
        Ok(self
            .lock()
            .outbox
            .iter()
            .take(limit)
            .map(|(id, item)| OutboxEntry {
                id: *id,
                item: item.clone(),
            })
            .collect())
    }

    async fn history(&self, after: u64, limit: usize) -> Result<Vec<HistoryEntry>> {
        Ok(self
            .lock()
            .history
            .range(after.saturating_add(1)..)
            .take(limit)
            .map(|(_, e)| e.clone())
            .collect())
    }

    async fn outbox_remove(&self, id: u64) -> Result<()> {
        self.lock().outbox.remove(&id);
        Ok(())
    }

    async fn outbox_len(&self) -> Result<u64> {
        Ok(self.lock().outbox.len() as u64)
    }

    async fn add_taught(&self, user: &str, activity: TaughtActivity) -> Result<()> {
        let key = (user.to_owned(), activity.session.lti_id);
        self.lock().taught.insert(key, activity);
        Ok(())
    }

    async fn remove_taught(&self, user: &str, lti_id: u64) -> Result<()> {
        self.lock().taught.remove(&(user.to_owned(), lti_id));
        Ok(())
    }

    async fn taught(&self, user: &str) -> Result<Vec<TaughtActivity>> {
        Ok(self
            .lock()
            .taught
            .iter()
            .filter(|((u, _), _)| u == user)
            .map(|(_, a)| a.clone())
            .collect())
    }
}

#[async_trait]
impl GradeStore for InMemoryStore {
    async fn put_grade_target(&self, record: GradeTargetRecord) -> Result<()> {
        let key = (record.activity.clone(), record.user.clone());
        self.lock().grade_targets.insert(key, record);
        Ok(())
    }

    async fn remove_grade_target(&self, activity: &str, user: &str) -> Result<()> {
        self.lock()
            .grade_targets
            .remove(&(activity.to_owned(), user.to_owned()));
        Ok(())
    }

    async fn grade_targets(&self, activity: &str) -> Result<Vec<GradeTargetRecord>> {
        Ok(self
            .lock()
            .grade_targets
            .values()
            .filter(|r| r.activity == activity)
            .cloned()
            .collect())
    }

    async fn put_grade_sent(&self, sent: GradeSent) -> Result<()> {
        let key = (
            sent.activity.clone(),
            sent.column.clone(),
            sent.user.clone(),
        );
        self.lock().grades_sent.insert(key, sent);
        Ok(())
    }

    async fn grades_sent(&self, activity: &str) -> Result<Vec<GradeSent>> {
        Ok(self
            .lock()
            .grades_sent
            .values()
            .filter(|r| r.activity == activity)
            .cloned()
            .collect())
    }
}
