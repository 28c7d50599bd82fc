//! Re-adoption after a hub restart: running containers with this hub's label become running
//! servers again, half-created or stopped ones are removed, servers whose container vanished
//! are marked stopped, and networks without a server are removed.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use lticontainer_core::container::labels;
use lticontainer_core::store::ServerState;

use super::{DEFAULT_URL_LABEL, RunningServer, SlotState, Spawner, server_url};
use crate::progress::{ProgressEvent, SpawnProgress};
use crate::server_spec::act_limit_of;

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
    /// Containers of spawns the previous hub did not finish; they are waited for in the background.
    pub finishing: Vec<String>,
    /// Networks removed because their user has no server any more.
    pub removed_networks: Vec<String>,
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
                started_at: records
                    .iter()
                    .find(|r| &r.user == user)
                    .and_then(|r| r.started)
                    .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
                    .map_or_else(|| self.clock.now_secs(), |d| d.as_secs()),
                act_limit: act_limit_of(&c.labels),
                // Not vouched for by this hub yet: the proxy's first connection checks it.
                listener: None,
            };
            self.ports.hold(port);
            let was_pending = records
                .iter()
                .any(|r| &r.user == user && r.state == ServerState::Pending);
            if was_pending {
                // The hub stopped during this spawn: finish it (wait for the server) in the
                // background instead of trusting or killing a server that may still be starting.
                let progress = SpawnProgress::new();
                progress.push(ProgressEvent::step(
                    75,
                    "Waiting for your server to answer (the hub restarted during the start)",
                ));
                let slot = self.slot(user);
                slot.update(|s| *s = SlotState::Spawning(progress.clone()));
                live.insert(user.clone());
                report.finishing.push(c.name.clone());
                let this = Arc::clone(self);
                let user = user.clone();
                tokio::spawn(async move { this.finish_adopted(user, server, progress).await });
                continue;
            }
            self.slot(user).update(|s| *s = SlotState::Running(server));
            let mut rec = records
                .iter()
                .find(|r| &r.user == user)
                .cloned()
                .unwrap_or_else(|| {
                    self.server_record(user, &c.name, port, ServerState::Running, Some(c))
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
        report.removed_networks = self.tidy_networks(&live).await;
        tracing::info!(
            adopted = report.adopted.len(),
            finishing = report.finishing.len(),
            removed = report.removed.len(),
            stopped = report.stopped.len(),
            removed_networks = report.removed_networks.len(),
            "re-adopted servers after start"
        );
        Ok(report)
    }

    /// Waits for the server of a spawn the previous hub did not finish, then records the outcome.
    async fn finish_adopted(
        self: Arc<Self>,
        user: String,
        server: RunningServer,
        progress: SpawnProgress,
    ) {
        let slot = self.slot(&user);
        match self
            .wait_ready(&user, &server.container_id, server.addr)
            .await
        {
            Ok(sockets) => {
                let mut server = server;
                server.listener = Some(sockets);
                if let Ok(Some(mut rec)) = self.store.server(&user).await {
                    rec.state = ServerState::Running;
                    rec.address = Some(server.addr.to_string());
                    if let Err(e) = self.store.put_server(rec).await {
                        tracing::error!(%user, error = %e, "cannot record the finished spawn");
                    }
                }
                let url = server.url.clone();
                tracing::info!(%user, container = %server.container_id, "finished a spawn the previous hub started");
                slot.update(|s| *s = SlotState::Running(server));
                progress.push(ProgressEvent::ready(&url, "Your server is ready."));
            }
            Err(f) => {
                let logs = self
                    .runtime
                    .logs(&server.container_id, self.hub.failure_log_lines)
                    .await
                    .unwrap_or_default();
                tracing::error!(%user, cause = %f.admin, %logs, "a spawn the previous hub started failed");
                if let Err(e) = self.runtime.remove(&server.container_id).await {
                    tracing::warn!(%user, error = %e, "cannot remove the failed container");
                }
                self.remove_server_networks(&user).await;
                self.ports.release(server.port);
                if let Ok(Some(mut rec)) = self.store.server(&user).await {
                    rec.state = ServerState::Failed(f.admin.clone());
                    rec.address = None;
                    if let Err(e) = self.store.put_server(rec).await {
                        tracing::error!(%user, error = %e, "cannot record the failed spawn");
                    }
                }
                let p = progress.clone();
                slot.update(|s| *s = SlotState::Idle { last: Some(p) });
                progress.push(ProgressEvent::failed(f.student));
            }
        }
    }
}
