//! Each server's own network (isolated networking): which one it is, creating it before the
//! container (a leftover of the same user's, or of a stopped server on the same subnet, is
//! removed first), turning off the host's forwarding on its bridge, and removing it with the
//! server.

use std::collections::{BTreeMap, BTreeSet};

use lticontainer_core::Error;
use lticontainer_core::container::labels;
use lticontainer_core::network::{NetworkInfo, NetworkSpec};

use super::failure::SpawnFailure;
use super::{SlotState, SpawnStep, Spawner};
use crate::config::Networking;
use crate::server_network::{server_api_url, server_network, user_labels};

impl Spawner {
    /// The network of `user`'s server on `port` ([`server_network`]); `None` with host
    /// networking.
    pub(super) fn server_network(
        &self,
        user: &str,
        container_name: &str,
        port: u16,
    ) -> Option<NetworkSpec> {
        server_network(
            &self.hub,
            &self.spec.hub_instance,
            user,
            container_name,
            port,
        )
    }

    /// `JUPYTERHUB_API_URL` of a server on `net` ([`server_api_url`]).
    pub(super) fn api_url_on(&self, net: &NetworkSpec) -> String {
        server_api_url(&self.hub, net)
    }

    pub(super) fn user_labels(&self, user: &str) -> BTreeMap<String, String> {
        user_labels(&self.spec.hub_instance, user)
    }

    /// Creates `net` for `user`'s server. A network of the same name this hub made for the user
    /// (left by a hub that stopped, or a server that ended on its own) is removed first; so is
    /// one of this hub's networks on the same subnet whose user has no server now.
    pub(super) async fn create_server_network(
        &self,
        user: &str,
        net: &NetworkSpec,
    ) -> Result<NetworkInfo, SpawnFailure> {
        let step = SpawnStep::Network.admin_text();
        let err = match self.runtime.create_network(net).await {
            Ok(info) => return Ok(info),
            Err(e) => e,
        };
        if matches!(err, Error::AlreadyExists { .. }) {
            tracing::info!(%user, network = %net.name, "removing a leftover network before creating it again");
            self.remove_server_networks(user).await;
        } else {
            let stale = self.stale_networks_on(net).await;
            if stale.is_empty() {
                return Err(SpawnFailure::engine(step, &err));
            }
            for other in stale {
                tracing::info!(%user, network = %net.name, stale_user = %other, "removing a stopped server's network on the same subnet");
                self.remove_server_networks(&other).await;
            }
        }
        self.runtime.create_network(net).await.map_err(|e| {
            if matches!(e, Error::AlreadyExists { .. }) {
                SpawnFailure::new(
                    "A network with your server's name already exists and was not made by this hub. Please tell your teacher.",
                    format!(
                        "{step}: network name {:?} is taken by a network without this hub's labels (or one that cannot be removed); remove or rename it",
                        net.name
                    ),
                )
            } else {
                SpawnFailure::engine(step, &e)
            }
        })
    }

    /// The users whose networks of this hub overlap `net`'s subnet while they have no server.
    async fn stale_networks_on(&self, net: &NetworkSpec) -> Vec<String> {
        let mine = BTreeMap::from([(
            labels::MANAGED_BY.to_owned(),
            self.spec.hub_instance.clone(),
        )]);
        let Ok(networks) = self.runtime.list_networks(&mine).await else {
            return Vec::new();
        };
        let mut users: Vec<String> = networks
            .into_iter()
            .filter(|n| n.name != net.name && n.subnet.is_some_and(|s| s.overlaps(&net.subnet)))
            .filter_map(|n| n.labels.get(labels::USER).cloned())
            .filter(|u| matches!(self.state(u), SlotState::Idle { .. }))
            .collect();
        users.sort();
        users.dedup();
        if users.is_empty() {
            tracing::warn!(network = %net.name, subnet = %net.subnet, "the subnet is in use by a network this hub cannot free");
        }
        users
    }

    /// Turns off the host's forwarding on `net`'s bridge (it exists once a container joined).
    pub(super) fn isolate_server_network(&self, net: &NetworkSpec) -> Result<(), SpawnFailure> {
        self.forwarding.disable(&net.interface).map_err(|e| {
            SpawnFailure::new(
                "The hub could not make your server's network private, so your server was not started. Please tell your teacher.",
                format!(
                    "{}: bridge {} of network {:?}: {e}; the hub must run as root in the host's network namespace to isolate servers (or set hub.network = \"host\", see docs/security.md)",
                    SpawnStep::IsolatingNetwork.admin_text(),
                    net.interface,
                    net.name
                ),
            )
        })
    }

    /// After re-adoption: this hub's networks whose user has no server in `live` are removed
    /// (returned by name), and forwarding is turned off again on the others' bridges (the engine
    /// may have recreated a bridge while the hub was down). Failures are logged.
    pub(super) async fn tidy_networks(&self, live: &BTreeSet<String>) -> Vec<String> {
        let mine = BTreeMap::from([(
            labels::MANAGED_BY.to_owned(),
            self.spec.hub_instance.clone(),
        )]);
        let networks = match self.runtime.list_networks(&mine).await {
            Ok(n) => n,
            Err(e) => {
                tracing::error!(error = %e, "cannot list the servers' networks after re-adoption");
                return Vec::new();
            }
        };
        let mut removed = Vec::new();
        for n in networks {
            let user = n.labels.get(labels::USER).cloned().unwrap_or_default();
            if !live.contains(&user) {
                match self.runtime.remove_network(&n.name).await {
                    Ok(()) => removed.push(n.name),
                    Err(e) => {
                        tracing::warn!(network = %n.name, error = %e, "cannot remove a leftover network")
                    }
                }
                continue;
            }
            if self.hub.network != Networking::Isolated {
                continue;
            }
            let Some(interface) = n.interface.as_deref() else {
                continue;
            };
            if let Err(e) = self.forwarding.disable(interface) {
                tracing::error!(%user, network = %n.name, %interface, error = %e, "cannot turn off forwarding on a running server's network bridge; its container may reach other networks through the host");
            }
        }
        removed
    }

    /// After `user`'s server stopped: removes their networks, unless a new spawn of theirs has
    /// begun meanwhile (it replaces leftovers itself). Holds the user's network lock, as a spawn
    /// does from making its network until its container is on it, so this never removes the
    /// network (or the container) of a server started again while the stop was being cleaned up.
    pub(super) async fn remove_stopped_server_networks(&self, user: &str) {
        let slot = self.slot(user);
        let _networks = slot.networks.lock().await;
        if matches!(slot.get(), SlotState::Idle { .. }) {
            self.remove_server_networks(user).await;
        } else {
            tracing::debug!(%user, "a new spawn began; its networks stay");
        }
    }

    /// Removes `user`'s networks; a stopped container of the user's that still holds one is
    /// removed first. A running container is never touched. Failures are logged.
    pub(super) async fn remove_server_networks(&self, user: &str) {
        let theirs = self.user_labels(user);
        let networks = match self.runtime.list_networks(&theirs).await {
            Ok(n) => n,
            Err(e) => {
                tracing::warn!(%user, error = %e, "cannot list the user's networks to remove them");
                return;
            }
        };
        for n in networks {
            if self.runtime.remove_network(&n.name).await.is_ok() {
                continue;
            }
            // Podman keeps a stopped container attached: remove the user's stopped ones.
            for c in self.runtime.list(&theirs).await.unwrap_or_default() {
                if !c.state.is_running()
                    && let Err(e) = self.runtime.remove(&c.id).await
                {
                    tracing::warn!(%user, container = %c.name, error = %e, "cannot remove a stopped container");
                }
            }
            if let Err(e) = self.runtime.remove_network(&n.name).await {
                tracing::warn!(%user, network = %n.name, error = %e, "cannot remove the server's network");
            }
        }
    }
}
