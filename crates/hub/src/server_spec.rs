//! [`server_spec`]: the exact container a spawn starts — the spawn plan's container plus the hub's
//! part (the `JUPYTERHUB_*` environment, the default URL, the command, the default-URL label, the
//! network and the cross-site Jupyter config) — as one pure function, so the whole value is
//! testable without an engine, a store or a file system.

use std::path::PathBuf;

use lticontainer_core::container::ContainerSpec;
use lticontainer_core::network::NetworkMode;
use lticontainer_core::spec::SpawnPlan;

use crate::credentials::ServerEnv;
use crate::cross_site;

/// The label that records the URL path a server opens on (`/lab`), so a re-adopted server
/// keeps it.
pub const DEFAULT_URL_LABEL: &str = "lticontainer.default_url";

/// The label that records the server's activity limit in seconds (`NB_ACTLIMIT`, `0` for none),
/// so the hub enforces it on a re-adopted server too.
pub const ACT_LIMIT_LABEL: &str = "lticontainer.act_limit";

/// The activity limit the [`ACT_LIMIT_LABEL`] in `labels` records; `None` for none (missing, `0`
/// or unreadable).
pub fn act_limit_of(
    labels: &std::collections::BTreeMap<String, String>,
) -> Option<std::time::Duration> {
    labels.get(ACT_LIMIT_LABEL).and_then(|v| parse_act_limit(v))
}

/// An activity limit as `NB_ACTLIMIT` writes it (seconds); `None` for `0` or unreadable.
pub fn parse_act_limit(value: &str) -> Option<std::time::Duration> {
    value
        .parse::<u64>()
        .ok()
        .filter(|&secs| secs > 0)
        .map(std::time::Duration::from_secs)
}

/// What the hub adds to a [`SpawnPlan`]'s container.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct HubAdditions<'a> {
    /// The server's `JUPYTERHUB_*` environment (see
    /// [`ServerCredentials::server_env`](crate::credentials::ServerCredentials::server_env)).
    pub hub_env: ServerEnv,
    /// The command to run instead of the image's (`hub.cmd`); empty keeps the image's.
    pub cmd: &'a [String],
    /// The network the container joins: the user's own network (isolated networking) or the
    /// host's ([`NetworkMode::Host`]).
    pub network: NetworkMode,
    /// The host directory with the cross-site Jupyter config (see [`cross_site`]), when the
    /// server is shown inside an LMS iframe and the config could be written.
    pub cross_site_config: Option<PathBuf>,
}

impl<'a> HubAdditions<'a> {
    /// Additions with `hub_env`, the hub's command `cmd` and the `network` to join, without
    /// cross-site config.
    pub fn new(hub_env: ServerEnv, cmd: &'a [String], network: NetworkMode) -> Self {
        Self {
            hub_env,
            cmd,
            network,
            cross_site_config: None,
        }
    }

    /// The same, with the cross-site Jupyter config in `dir`.
    #[must_use]
    pub fn with_cross_site_config(mut self, dir: Option<PathBuf>) -> Self {
        self.cross_site_config = dir;
        self
    }
}

/// The container a spawn creates and starts for `plan`:
///
/// * the plan's container (image, user, `NB_*`/`LTI_*` environment, mounts, volumes with their
///   labels, limits, labels);
/// * the `JUPYTERHUB_*` environment, `JUPYTERHUB_DEFAULT_URL` (the plan's default URL) and
///   `JUPYTERHUB_ROOT_DIR` (the working directory, when there is one);
/// * `hub.cmd` instead of the image's command, when configured;
/// * the network it joins (its own network with isolated networking, else the host's);
/// * the [`DEFAULT_URL_LABEL`] label, so a re-adopted server opens where it did, and the
///   [`ACT_LIMIT_LABEL`] (the plan's `NB_ACTLIMIT`), so its activity limit holds after a restart;
/// * the cross-site Jupyter config mounted read-only with `JUPYTER_CONFIG_PATH`, when given.
pub fn server_spec(plan: &SpawnPlan, additions: HubAdditions<'_>) -> ContainerSpec {
    let HubAdditions {
        hub_env,
        cmd,
        network,
        cross_site_config,
    } = additions;
    let mut spec = plan.container.clone();
    spec.env
        .extend(hub_env.into_iter().map(|(k, v)| (k.into(), v)));
    spec.env
        .insert("JUPYTERHUB_DEFAULT_URL".into(), plan.default_url.clone());
    if let Some(dir) = &spec.working_dir {
        spec.env.insert("JUPYTERHUB_ROOT_DIR".into(), dir.clone());
    }
    if !cmd.is_empty() {
        spec.cmd = cmd.to_vec();
    }
    spec.network = network;
    spec.labels
        .insert(DEFAULT_URL_LABEL.to_owned(), plan.default_url.clone());
    if let Some(limit) = plan.container.env.get("NB_ACTLIMIT") {
        spec.labels
            .insert(ACT_LIMIT_LABEL.to_owned(), limit.to_owned());
    }
    if let Some(dir) = cross_site_config {
        cross_site::apply(&mut spec, dir);
    }
    spec
}

/// `/user/<name><default_url>`: where the browser goes once the server answers.
pub fn server_url(user: &str, default_url: &str) -> String {
    let path = default_url.trim_start_matches('/');
    format!("/user/{user}/{path}")
}
