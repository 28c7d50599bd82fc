//! The Swarm runtime's event stream: the labelled services' tasks, listed every
//! `events_poll_millis` and compared with the previous listing.
//!
//! Swarm reports no task events through the Engine API, and a manager's container events cover
//! only its own node; the manager's task list covers every node, so it is the one source that
//! sees a server end wherever it ran (a student's "Shut Down", a crash, a lost node).

use std::collections::{HashMap, VecDeque};
use std::future::Future;
use std::time::Duration;

use lticontainer_core::Result;
use lticontainer_core::container::{ContainerEvent, ContainerEventKind, ContainerState};
use lticontainer_core::runtime::EventStream;

/// Where a service's server stands, as far as events go.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Phase {
    /// Its task is on its way.
    Starting,
    /// Its task runs.
    Running,
    /// Its task ended, or it has none.
    Ended,
}

impl From<&ContainerState> for Phase {
    fn from(s: &ContainerState) -> Self {
        match s {
            ContainerState::Running => Self::Running,
            ContainerState::Created => Self::Starting,
            _ => Self::Ended,
        }
    }
}

/// The events that lead from the listing `before` to `after`: a server that runs now and did
/// not is `Started`; one that ran and does not, or whose service is gone, `Died`; a service that
/// is gone, `Removed`. Sorted by service id, so the order is the same for the same change.
pub(crate) fn changes(
    before: &HashMap<String, Phase>,
    after: &HashMap<String, Phase>,
) -> Vec<ContainerEvent> {
    let mut ids: Vec<&String> = before.keys().chain(after.keys()).collect();
    ids.sort();
    ids.dedup();
    let mut out = Vec::new();
    for id in ids {
        let was = before.get(id).copied();
        let is = after.get(id).copied();
        match (was, is) {
            (Some(Phase::Running), Some(Phase::Running)) => {}
            (_, Some(Phase::Running)) => {
                out.push(ContainerEvent::new(id, ContainerEventKind::Started))
            }
            (Some(Phase::Running), Some(Phase::Ended) | None) => {
                out.push(ContainerEvent::new(id, ContainerEventKind::Died));
            }
            // A server that started and ended between two listings.
            (None, Some(Phase::Ended)) | (Some(Phase::Starting), Some(Phase::Ended)) => {
                out.push(ContainerEvent::new(id, ContainerEventKind::Died));
            }
            _ => {}
        }
        if was.is_some() && is.is_none() {
            out.push(ContainerEvent::new(id, ContainerEventKind::Removed));
        }
    }
    out
}

/// The stream's state between items.
struct Watch<L> {
    list: L,
    every: Duration,
    known: HashMap<String, Phase>,
    queue: VecDeque<ContainerEvent>,
    ended: bool,
}

/// Subscribes: `list` gives the phase of every watched service by id; the first listing is taken
/// before this returns, so every change after it is reported; then one every `every`. A failed
/// listing is the stream's last item.
pub(crate) async fn subscribe<L, F>(list: L, every: Duration) -> Result<EventStream>
where
    L: Fn() -> F + Send + 'static,
    F: Future<Output = Result<HashMap<String, Phase>>> + Send + 'static,
{
    let known = list().await?;
    let watch = Watch {
        list,
        every,
        known,
        queue: VecDeque::new(),
        ended: false,
    };
    let stream = futures_util::stream::unfold(watch, |mut w| async move {
        loop {
            if let Some(ev) = w.queue.pop_front() {
                return Some((Ok(ev), w));
            }
            if w.ended {
                return None;
            }
            tokio::time::sleep(w.every).await;
            match (w.list)().await {
                Ok(now) => {
                    w.queue.extend(changes(&w.known, &now));
                    w.known = now;
                }
                Err(e) => {
                    w.ended = true;
                    return Some((Err(e), w));
                }
            }
        }
    });
    Ok(Box::pin(stream))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(pairs: &[(&str, Phase)]) -> HashMap<String, Phase> {
        pairs.iter().map(|(k, v)| ((*k).to_owned(), *v)).collect()
    }

    fn kinds(evs: &[ContainerEvent]) -> Vec<(&str, ContainerEventKind)> {
        evs.iter().map(|e| (e.id.as_str(), e.kind)).collect()
    }

    #[test]
    fn listings_become_start_death_and_removal_events() {
        use ContainerEventKind::{Died, Removed, Started};
        let none = at(&[]);
        let starting = at(&[("a", Phase::Starting)]);
        let running = at(&[("a", Phase::Running)]);
        let ended = at(&[("a", Phase::Ended)]);
        assert!(changes(&none, &starting).is_empty());
        assert_eq!(kinds(&changes(&starting, &running)), [("a", Started)]);
        assert_eq!(kinds(&changes(&none, &running)), [("a", Started)]);
        assert!(changes(&running, &running).is_empty());
        assert_eq!(kinds(&changes(&running, &ended)), [("a", Died)]);
        assert_eq!(kinds(&changes(&starting, &ended)), [("a", Died)]);
        assert!(changes(&ended, &ended).is_empty());
        assert_eq!(
            kinds(&changes(&running, &none)),
            [("a", Died), ("a", Removed)]
        );
        assert_eq!(kinds(&changes(&ended, &none)), [("a", Removed)]);
        let two = at(&[("b", Phase::Running), ("a", Phase::Ended)]);
        assert_eq!(
            kinds(&changes(
                &at(&[("a", Phase::Running), ("b", Phase::Starting)]),
                &two
            )),
            [("a", Died), ("b", Started)]
        );
    }
}
