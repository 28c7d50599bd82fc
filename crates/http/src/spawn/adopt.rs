//! Re-adoption after a hub restart: running containers with this hub's label become running
//! servers again, half-created or stopped ones are removed, and servers whose container
//! vanished are marked stopped.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use lticontainer_core::container::labels;
use lticontainer_core::store::ServerState;

use super::{DEFAULT_URL_LABEL, RunningServer, SlotState, Spawner, server_url};

/// What [`Spawner::adopt`] found.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct AdoptReport {
    /// Users whose running server was re-adopted.
    pub adopted: Vec<String>,
    /// Containers removed because they were not running (half-created or exited) or duplicates.
    pub removed: Vec<String>,
    /// Users whose recorded server had no container any more.
    pub stopped: Vec<String>,
}

impl Spawner {
    /// Finds this hub's containers and brings the slots and the store in line with them.
    ///
    /// # Errors
    /// The engine cannot list containers or the store cannot be read.
    pub async fn adopt(self: &Arc<Self>) -> lticontainer_core::Result<AdoptReport> {
        let mut report = AdoptReport::default();
        let filter = BTreeMap::from([(
            labels::MANAGED_BY.to_owned(),
            self.spec.hub_instance.clone(),
        )]);
        let containers = self.runtime.list(&filter).await?;
        let records = self.store.servers().await?;
        let recorded_id: BTreeMap<&str, &str> = records
            .iter()
            .filter_map(|r| Some((r.user.as_str(), r.container_id.as_deref()?)))
            .collect();

        // Prefer the container the store names for each user; the others are duplicates.
        let mut chosen: BTreeMap<String, lticontainer_core::container::ContainerInfo> =
            BTreeMap::new();
        let mut doomed = Vec::new();
        for c in containers {
            let (Some(user), Some(_), Some(_)) = (
                c.labels.get(labels::USER).cloned(),
                c.labelled_port(),
                c.address,
            ) else {
                doomed.push(c);
                continue;
            };
            if !c.state.is_running() {
                doomed.push(c);
                continue;
            }
            match chosen.remove(&user) {
                None => {
                    chosen.insert(user, c);
                }
                Some(prev) => {
                    let keep_new = recorded_id.get(user.as_str()) == Some(&c.id.as_str());
                    let (keep, drop) = if keep_new { (c, prev) } else { (prev, c) };
                    doomed.push(drop);
                    chosen.insert(user, keep);
                }
            }
        }
        for c in doomed {
            match self.runtime.remove(&c.id).await {
                Ok(()) => report.removed.push(c.name.clone()),
                Err(e) => {
                    tracing::warn!(container = %c.name, error = %e, "cannot remove a leftover container")
                }
            }
        }

        let mut live = BTreeSet::new();
        for (user, c) in &chosen {
            let (Some(port), Some(addr)) = (c.labelled_port(), c.address) else {
                continue;
            };
            let default_url = c
                .labels
                .get(DEFAULT_URL_LABEL)
                .map_or(self.spec.default_url.as_str(), String::as_str);
            let server = RunningServer {
                container_id: c.id.clone(),
                addr,
                port,
                url: server_url(user, default_url),
            };
            self.ports.hold(port);
            self.slot(user).update(|s| *s = SlotState::Running(server));
            let mut rec = records
                .iter()
                .find(|r| &r.user == user)
                .cloned()
                .unwrap_or_else(|| {
                    Self::server_record(user, &c.name, port, ServerState::Running, Some(c))
                });
            rec.container_id = Some(c.id.clone());
            rec.container_name = c.name.clone();
            rec.address = Some(addr.to_string());
            rec.port = port;
            rec.state = ServerState::Running;
            self.store.put_server(rec).await?;
            live.insert(user.clone());
            report.adopted.push(user.clone());
        }

        for mut rec in records {
            let active = matches!(rec.state, ServerState::Running | ServerState::Pending);
            if active && !live.contains(&rec.user) {
                rec.state = ServerState::Stopped;
                rec.address = None;
                report.stopped.push(rec.user.clone());
                self.store.put_server(rec).await?;
            }
        }
        tracing::info!(
            adopted = report.adopted.len(),
            removed = report.removed.len(),
            stopped = report.stopped.len(),
            "re-adopted servers after start"
        );
        Ok(report)
    }
}
