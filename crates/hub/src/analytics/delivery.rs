//! Delivery: the outbox to the LMS, exactly as mod_lticontainer's web service expects it.
//!
//! * One record per request (the plugin stores only `nb_logs[0]`).
//! * Records of one notebook session go in the order they were captured, one at a time, so a
//!   client record is stored before its reply (else the plugin marks the reply `/nc`); different
//!   sessions go in parallel (up to [`PARALLEL`]).
//! * The answer's body decides ([`lticontainer_core::analytics::classify`]): stored → removed
//!   from the outbox; the record's parameters refused → removed, counted, logged; the destination
//!   refused (bad token, function not in the token's service, web services off) → removed,
//!   counted, and logged once per destination and error as an error for the admin: retrying
//!   cannot help; anything else (Moodle down, slow, a non-Moodle answer, a temporary exception)
//!   → kept, and the session's later records wait; the next round comes after a backoff that
//!   doubles from 1 s to 60 s.
//! * A record leaves the outbox only after Moodle stored it, so a restart loses nothing. A record
//!   is sent twice only when the hub stops between Moodle's answer and the removal (a single
//!   SQLite write), a window of microseconds per record.

use std::collections::{BTreeMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

use futures_util::StreamExt;
use lticontainer_core::analytics::Answer;
use lticontainer_core::store::OutboxEntry;

use super::Analytics;
use super::client::LmsClient;
use super::counters::AnalyticsCounters;

/// Sessions delivered at once.
pub const PARALLEL: usize = 8;

/// Records read from the outbox per round.
const ROUND: usize = 512;

/// The first wait after a round that left records to retry; doubles up to [`MAX_BACKOFF`].
const FIRST_BACKOFF: Duration = Duration::from_secs(1);

/// The longest wait between rounds while the LMS fails.
const MAX_BACKOFF: Duration = Duration::from_secs(60);

/// How often an idle delivery looks at the outbox without being woken (records pushed by
/// another process, or left from before a restart are found at start anyway).
const IDLE_POLL: Duration = Duration::from_secs(30);

/// Delivers the outbox with `client` until the process ends.
pub async fn run(analytics: Arc<Analytics>, client: LmsClient) {
    let mut backoff = FIRST_BACKOFF;
    let mut reported: HashSet<(String, String)> = HashSet::new();
    loop {
        let pending = match analytics.store.outbox_pending(ROUND).await {
            Ok(p) => p,
            Err(e) => {
                tracing::error!(error = %e, "analytics: cannot read the outbox");
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(MAX_BACKOFF);
                continue;
            }
        };
        if pending.is_empty() {
            let _ = tokio::time::timeout(IDLE_POLL, analytics.stored.notified()).await;
            continue;
        }
        let outcome = deliver_round(&analytics, &client, pending, &mut reported).await;
        if let Some(why) = outcome.retry {
            tracing::warn!(endpoint = %why.0, reason = %why.1, waiting = ?backoff, "analytics: the LMS did not store notebook logs; they stay in the outbox and are sent again");
            tokio::time::sleep(backoff).await;
            backoff = (backoff * 2).min(MAX_BACKOFF);
        } else {
            backoff = FIRST_BACKOFF;
        }
    }
}

/// What a round left to do.
#[derive(Debug, Default)]
struct RoundOutcome {
    /// A destination and the reason its records must be retried, when any must.
    retry: Option<(String, String)>,
}

/// Delivers one round: every (destination, session) group in order, groups in parallel.
async fn deliver_round(
    analytics: &Arc<Analytics>,
    client: &LmsClient,
    pending: Vec<OutboxEntry>,
    reported: &mut HashSet<(String, String)>,
) -> RoundOutcome {
    let mut groups: BTreeMap<(String, String), Vec<OutboxEntry>> = BTreeMap::new();
    let mut order = Vec::new();
    for e in pending {
        let key = (e.item.endpoint.clone(), e.item.log.session().to_owned());
        if !groups.contains_key(&key) {
            order.push(key.clone());
        }
        groups.entry(key).or_default().push(e);
    }
    let jobs = order
        .into_iter()
        .filter_map(|k| groups.remove(&k))
        .map(|group| deliver_group(analytics, client, group));
    let results: Vec<GroupResult> = futures_util::stream::iter(jobs)
        .buffer_unordered(PARALLEL)
        .collect()
        .await;
    let mut outcome = RoundOutcome::default();
    for r in results {
        for (endpoint, errorcode, message, user) in r.refused {
            if reported.insert((endpoint.clone(), errorcode.clone())) {
                tracing::error!(%endpoint, %errorcode, %message, %user, "analytics: the LMS refuses notebook logs for this destination (check the web-service token and that mod_lticontainer_write_nblogs is in its service); its records are dropped until a launch brings a working token");
            }
        }
        if outcome.retry.is_none() {
            outcome.retry = r.retry;
        }
    }
    outcome
}

#[derive(Debug, Default)]
struct GroupResult {
    refused: Vec<(String, String, String, String)>,
    retry: Option<(String, String)>,
}

/// Delivers one session's records in order; stops at the first that must be retried.
async fn deliver_group(
    analytics: &Arc<Analytics>,
    client: &LmsClient,
    group: Vec<OutboxEntry>,
) -> GroupResult {
    let counters = &analytics.counters;
    let mut result = GroupResult::default();
    for entry in group {
        let item = &entry.item;
        let done = match client.post(&item.endpoint, &item.token, &item.log).await {
            Answer::Stored => {
                AnalyticsCounters::add(&counters.delivered, 1);
                true
            }
            Answer::Invalid { errorcode, message } => {
                AnalyticsCounters::add(&counters.invalid, 1);
                tracing::warn!(endpoint = %item.endpoint, user = %item.user, %errorcode, %message, host = item.log.host.as_str(), "analytics: the LMS refused a record; it is dropped");
                true
            }
            Answer::Refused { errorcode, message } => {
                AnalyticsCounters::add(&counters.refused, 1);
                result
                    .refused
                    .push((item.endpoint.clone(), errorcode, message, item.user.clone()));
                true
            }
            Answer::Retry(why) => {
                AnalyticsCounters::add(&counters.retries, 1);
                result.retry = Some((item.endpoint.clone(), why));
                false
            }
        };
        if !done {
            break;
        }
        if let Err(e) = analytics.store.outbox_remove(entry.id).await {
            tracing::error!(error = %e, id = entry.id, "analytics: a delivered record could not be removed from the outbox; it will be sent again");
            result.retry = Some((item.endpoint.clone(), format!("outbox: {e}")));
            break;
        }
    }
    result
}
