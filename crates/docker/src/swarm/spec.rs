//! A server's [`ContainerSpec`] as a Swarm service, and a per-user network as a Swarm network.
//! Pure: no I/O.

use std::collections::{BTreeMap, HashMap};

use bollard::models::{
    ConfigReference, Limit, Mount, MountTypeEnum, MountVolumeOptions, NetworkAttachmentConfig,
    NetworkCreateRequest, ResourceObject, ServiceSpec, ServiceSpecMode, ServiceSpecModeReplicated,
    TaskSpec, TaskSpecContainerSpec, TaskSpecPlacement, TaskSpecPlacementPreferences,
    TaskSpecPlacementSpread, TaskSpecResources, TaskSpecRestartPolicy,
    TaskSpecRestartPolicyConditionEnum,
};
use lticontainer_core::container::{ContainerSpec, MountSource};
use lticontainer_core::network::{NetworkInfo, NetworkMode, NetworkSpec};

use crate::convert::{bytes, container_labels, env_list, network_request};
use crate::error::Error;
use crate::swarm::config::SwarmConfig;
use crate::swarm::homes::HomesVolumes;

/// The service label naming the network a server's service joins ([`NetworkMode::as_str`]), so
/// `inspect` knows where its address comes from.
pub(crate) const NETWORK_LABEL: &str = "lticontainer.swarm.network";

/// The suffix of the node-local configuration network behind a per-user Swarm network.
pub(crate) const CONFIG_SUFFIX: &str = ".config";

/// Nanoseconds per second: Swarm counts CPUs in billionths and durations in nanoseconds.
const NANOS: f64 = 1e9;

/// Where the service of a server may run, beyond the configured placement: a named network is
/// a bridge on the manager's node only, so its services are pinned to that node.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Pin<'a> {
    /// The manager's node id (`docker info`'s `Swarm.NodeID`).
    pub(crate) manager_node: &'a str,
}

/// The service that runs `spec`: one replica, restart condition `none`, the spec's image,
/// arguments (the image's entrypoint is kept, as the Docker backend's `Cmd`), environment, user,
/// working directory, mounts, limits and reservations, labels (on the service and its
/// container), its network, the configured placement, and `config`'s stop grace period.
///
/// Bind mounts name a directory of the node that runs the task (which must exist there, see
/// `docs/cluster.md`); named volumes carry their declared labels and are created by the node.
pub(crate) fn service_spec(
    spec: &ContainerSpec,
    config: &SwarmConfig,
    pin: &Pin<'_>,
) -> Result<ServiceSpec, Error> {
    let labels = container_labels(spec);
    let mut service_labels: HashMap<String, String> = labels.clone().into_iter().collect();
    service_labels.insert(NETWORK_LABEL.to_owned(), spec.network.as_str().to_owned());

    let mut constraints = config.constraints.clone();
    if matches!(spec.network, NetworkMode::Named(_)) {
        constraints.push(format!("node.id=={}", pin.manager_node));
    }
    let preferences: Vec<TaskSpecPlacementPreferences> = config
        .spread
        .iter()
        .map(|d| TaskSpecPlacementPreferences {
            spread: Some(TaskSpecPlacementSpread {
                spread_descriptor: Some(d.clone()),
            }),
        })
        .collect();

    let env = env_list(spec);
    let grace = i64::try_from(config.stop_grace().as_nanos()).unwrap_or(i64::MAX);
    let container = TaskSpecContainerSpec {
        image: Some(spec.image.clone()),
        labels: Some(labels.into_iter().collect()),
        args: (!spec.cmd.is_empty()).then(|| spec.cmd.clone()),
        env: (!env.is_empty()).then_some(env),
        user: spec.user.clone(),
        dir: spec.working_dir.clone(),
        mounts: Some(mounts(spec, config.homes.as_ref())),
        tty: Some(false),
        open_stdin: Some(false),
        stop_grace_period: Some(grace),
        ..Default::default()
    };
    let limits = &spec.limits;
    let resources = TaskSpecResources {
        limits: Some(Limit {
            nano_cpus: limits.cpu_limit.map(|c| (c * NANOS).round() as i64),
            memory_bytes: limits
                .mem_limit
                .map(|b| bytes("memory limit", b))
                .transpose()?,
            pids: None,
        }),
        reservations: Some(ResourceObject {
            nano_cpus: limits.cpu_guarantee.map(|c| (c * NANOS).round() as i64),
            memory_bytes: limits
                .mem_guarantee
                .map(|b| bytes("memory reservation", b))
                .transpose()?,
            generic_resources: None,
        }),
    };
    Ok(ServiceSpec {
        name: Some(spec.name.clone()),
        labels: Some(service_labels),
        mode: Some(ServiceSpecMode {
            replicated: Some(ServiceSpecModeReplicated { replicas: Some(1) }),
            ..Default::default()
        }),
        task_template: Some(TaskSpec {
            container_spec: Some(container),
            resources: Some(resources),
            restart_policy: Some(TaskSpecRestartPolicy {
                condition: Some(TaskSpecRestartPolicyConditionEnum::NONE),
                ..Default::default()
            }),
            placement: Some(TaskSpecPlacement {
                constraints: (!constraints.is_empty()).then_some(constraints),
                preferences: (!preferences.is_empty()).then_some(preferences),
                ..Default::default()
            }),
            networks: Some(vec![NetworkAttachmentConfig {
                target: Some(spec.network.as_str().to_owned()),
                ..Default::default()
            }]),
            ..Default::default()
        }),
        ..Default::default()
    })
}

/// The spec's mounts in Swarm's terms: binds of node directories (or, under `homes`' root,
/// volumes of its driver), named volumes with the labels the spec declares for them.
fn mounts(spec: &ContainerSpec, homes: Option<&HomesVolumes>) -> Vec<Mount> {
    spec.mounts
        .iter()
        .map(|m| match &m.source {
            MountSource::Bind(path) => homes
                .and_then(|h| h.mount(path, &m.target, m.read_only))
                .unwrap_or_else(|| Mount {
                    typ: Some(MountTypeEnum::BIND),
                    source: Some(path.to_string_lossy().into_owned()),
                    target: Some(m.target.clone()),
                    read_only: Some(m.read_only),
                    ..Default::default()
                }),
            MountSource::Volume(name) => {
                let labels: Option<HashMap<String, String>> = spec
                    .volumes
                    .iter()
                    .find(|v| &v.name == name)
                    .map(|v| v.labels.clone().into_iter().collect());
                Mount {
                    typ: Some(MountTypeEnum::VOLUME),
                    source: Some(name.clone()),
                    target: Some(m.target.clone()),
                    read_only: Some(m.read_only),
                    volume_options: Some(MountVolumeOptions {
                        labels,
                        ..Default::default()
                    }),
                    ..Default::default()
                }
            }
        })
        .collect()
}

/// The node-local configuration network behind the Swarm network for `spec`: the subnet,
/// gateway, bridge name and labels of the Docker backend's network, marked configuration-only
/// (the engine refuses operator fields such as `internal` there).
pub(crate) fn config_network_request(spec: &NetworkSpec) -> NetworkCreateRequest {
    NetworkCreateRequest {
        name: format!("{}{CONFIG_SUFFIX}", spec.name),
        driver: None,
        internal: None,
        attachable: None,
        config_only: Some(true),
        ..network_request(spec)
    }
}

/// The Swarm-scoped bridge network services join, built from the configuration network of
/// [`config_network_request`], internal. (The engine refuses labels here: they are on the
/// configuration network, and listing by label finds both.)
pub(crate) fn swarm_network_request(spec: &NetworkSpec) -> NetworkCreateRequest {
    NetworkCreateRequest {
        name: spec.name.clone(),
        driver: Some("bridge".to_owned()),
        scope: Some("swarm".to_owned()),
        internal: Some(true),
        config_from: Some(ConfigReference {
            network: Some(format!("{}{CONFIG_SUFFIX}", spec.name)),
        }),
        ..Default::default()
    }
}

/// The per-user networks in a listing, each once, named as the hub made it and described by its
/// configuration network (which holds the subnet, gateway, bridge and labels, and is the one a
/// label filter finds before a server has joined); other networks as they are listed.
pub(crate) fn by_configuration(listed: Vec<NetworkInfo>) -> Vec<NetworkInfo> {
    let configured: Vec<String> = listed
        .iter()
        .filter_map(|n| n.name.strip_suffix(CONFIG_SUFFIX).map(str::to_owned))
        .collect();
    listed
        .into_iter()
        .filter(|n| !configured.contains(&n.name))
        .map(|mut n| {
            if let Some(name) = n.name.strip_suffix(CONFIG_SUFFIX) {
                n.name = name.to_owned();
            }
            n
        })
        .collect()
}

/// The labels of a listed service (the spec's labels, plus [`labels::PORT`]), without the
/// backend's own [`NETWORK_LABEL`].
///
/// [`labels::PORT`]: lticontainer_core::container::labels::PORT
pub(crate) fn labels_of(service: Option<&ServiceSpec>) -> BTreeMap<String, String> {
    let mut labels: BTreeMap<String, String> = service
        .and_then(|s| s.labels.clone())
        .unwrap_or_default()
        .into_iter()
        .collect();
    labels.remove(NETWORK_LABEL);
    labels
}

/// The network a service joins, from its [`NETWORK_LABEL`].
pub(crate) fn network_of(service: Option<&ServiceSpec>) -> Option<String> {
    service?.labels.as_ref()?.get(NETWORK_LABEL).cloned()
}

/// The image a service runs, without the digest Swarm pins to it (`image@sha256:…`).
pub(crate) fn image_of(service: Option<&ServiceSpec>) -> String {
    let image = service
        .and_then(|s| s.task_template.as_ref())
        .and_then(|t| t.container_spec.as_ref())
        .and_then(|c| c.image.clone())
        .unwrap_or_default();
    match image.split_once('@') {
        Some((name, _digest)) => name.to_owned(),
        None => image,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use lticontainer_core::container::{Mount as CoreMount, VolumeSpec, labels};

    fn spec() -> ContainerSpec {
        let mut s = ContainerSpec::new("lticontainer-alice", "jupyter/base:1");
        s.cmd = vec!["start-notebook.sh".into()];
        s.env.insert("NB_USER".into(), "alice".into());
        s.user = Some("root".into());
        s.working_dir = Some("/home/alice".into());
        s.mounts = vec![
            CoreMount {
                source: MountSource::Bind("/home/g/alice".into()),
                target: "/home/g/alice".into(),
                read_only: false,
            },
            CoreMount {
                source: MountSource::Volume("lms_vol_x".into()),
                target: "/mnt/x".into(),
                read_only: true,
            },
        ];
        s.volumes = vec![VolumeSpec::new(
            "lms_vol_x",
            BTreeMap::from([(labels::COURSE.to_owned(), "c1".to_owned())]),
        )];
        s.limits.cpu_limit = Some(1.5);
        s.limits.mem_limit = Some(512 << 20);
        s.limits.cpu_guarantee = Some(0.25);
        s.limits.mem_guarantee = Some(256 << 20);
        s.labels.insert(labels::USER.into(), "alice".into());
        s.port = 9000;
        s
    }

    fn config() -> SwarmConfig {
        SwarmConfig {
            constraints: vec!["node.labels.pool==lab".into()],
            ..SwarmConfig::default()
        }
    }

    #[test]
    fn a_server_is_one_replica_never_restarted_with_its_spec() {
        let pin = Pin { manager_node: "m1" };
        let svc = service_spec(&spec(), &config(), &pin).expect("valid");
        assert_eq!(svc.name.as_deref(), Some("lticontainer-alice"));
        let replicas = svc.mode.and_then(|m| m.replicated).and_then(|r| r.replicas);
        assert_eq!(replicas, Some(1));
        let labels = svc.labels.expect("labels");
        assert_eq!(labels.get(labels::PORT).map(String::as_str), Some("9000"));
        assert_eq!(labels.get(NETWORK_LABEL).map(String::as_str), Some("host"));
        let task = svc.task_template.expect("task");
        assert_eq!(
            task.restart_policy.and_then(|r| r.condition),
            Some(TaskSpecRestartPolicyConditionEnum::NONE)
        );
        let c = task.container_spec.expect("container");
        assert_eq!(c.image.as_deref(), Some("jupyter/base:1"));
        assert_eq!(c.args, Some(vec!["start-notebook.sh".to_owned()]));
        assert_eq!(c.command, None, "the image's entrypoint is kept");
        assert_eq!(c.env, Some(vec!["NB_USER=alice".to_owned()]));
        assert_eq!(c.user.as_deref(), Some("root"));
        assert_eq!(c.dir.as_deref(), Some("/home/alice"));
        assert_eq!(c.stop_grace_period, Some(1_000_000_000));
        let clabels = c.labels.expect("container labels");
        assert_eq!(clabels.get(labels::USER).map(String::as_str), Some("alice"));
        let mounts = c.mounts.expect("mounts");
        assert_eq!(mounts[0].typ, Some(MountTypeEnum::BIND));
        assert_eq!(mounts[0].source.as_deref(), Some("/home/g/alice"));
        assert_eq!(mounts[0].read_only, Some(false));
        assert_eq!(mounts[1].typ, Some(MountTypeEnum::VOLUME));
        assert_eq!(mounts[1].read_only, Some(true));
        let vlabels = mounts[1]
            .volume_options
            .as_ref()
            .and_then(|o| o.labels.clone())
            .expect("volume labels");
        assert_eq!(vlabels.get(labels::COURSE).map(String::as_str), Some("c1"));
        let res = task.resources.expect("resources");
        let limits = res.limits.expect("limits");
        assert_eq!(limits.nano_cpus, Some(1_500_000_000));
        assert_eq!(limits.memory_bytes, Some(512 << 20));
        let reservations = res.reservations.expect("reservations");
        assert_eq!(reservations.nano_cpus, Some(250_000_000));
        assert_eq!(reservations.memory_bytes, Some(256 << 20));
        let placement = task.placement.expect("placement");
        assert_eq!(
            placement.constraints,
            Some(vec!["node.labels.pool==lab".to_owned()])
        );
        let spread = placement.preferences.expect("preferences")[0]
            .spread
            .clone()
            .and_then(|s| s.spread_descriptor);
        assert_eq!(spread.as_deref(), Some("node.id"));
        let nets = task.networks.expect("networks");
        assert_eq!(nets[0].target.as_deref(), Some("host"));
    }

    #[test]
    fn a_server_on_a_named_network_is_pinned_to_the_managers_node() {
        let mut s = spec();
        s.network = NetworkMode::Named("lticontainer-alice-net".into());
        let pin = Pin { manager_node: "m1" };
        let svc = service_spec(&s, &config(), &pin).expect("valid");
        let task = svc.task_template.expect("task");
        assert_eq!(
            task.placement.and_then(|p| p.constraints),
            Some(vec![
                "node.labels.pool==lab".to_owned(),
                "node.id==m1".to_owned()
            ])
        );
        assert_eq!(
            task.networks.expect("networks")[0].target.as_deref(),
            Some("lticontainer-alice-net")
        );
        let mut read_back = ServiceSpec {
            labels: svc.labels,
            ..Default::default()
        };
        assert_eq!(
            network_of(Some(&read_back)).as_deref(),
            Some("lticontainer-alice-net")
        );
        assert!(!labels_of(Some(&read_back)).contains_key(NETWORK_LABEL));
        read_back.task_template = Some(TaskSpec {
            container_spec: Some(TaskSpecContainerSpec {
                image: Some("jupyter/base:1@sha256:abc".into()),
                ..Default::default()
            }),
            ..Default::default()
        });
        assert_eq!(image_of(Some(&read_back)), "jupyter/base:1");
    }

    #[test]
    fn a_network_is_a_configuration_and_a_swarm_bridge_made_from_it() {
        let mut net = NetworkSpec::new("u-net", "10.213.0.16/28".parse().expect("subnet"));
        net.labels.insert(labels::USER.into(), "u".into());
        let cfg = config_network_request(&net);
        assert_eq!(cfg.name, "u-net.config");
        assert_eq!(cfg.config_only, Some(true));
        assert_eq!(cfg.internal, None);
        assert!(cfg.ipam.is_some() && cfg.options.is_some());
        assert_eq!(
            cfg.labels.and_then(|l| l.get(labels::USER).cloned()),
            Some("u".to_owned())
        );
        let swarm = swarm_network_request(&net);
        assert_eq!(swarm.name, "u-net");
        assert_eq!(swarm.scope.as_deref(), Some("swarm"));
        assert_eq!(swarm.internal, Some(true));
        assert_eq!(
            swarm.config_from.and_then(|c| c.network).as_deref(),
            Some("u-net.config")
        );
        assert_eq!(swarm.labels, None);
    }

    #[test]
    fn a_listing_names_each_network_once_from_its_configuration() {
        let net = NetworkSpec::new("u-net", "10.213.0.16/28".parse().expect("subnet"));
        let mut config = NetworkInfo::from_spec("c1", &net);
        config.name = "u-net.config".into();
        let bare = NetworkInfo::new("s1", "u-net");
        let other = NetworkInfo::new("o1", "host");
        let listed = by_configuration(vec![bare.clone(), config.clone(), other.clone()]);
        assert_eq!(listed.len(), 2, "{listed:?}");
        assert_eq!(listed[0], NetworkInfo::from_spec("c1", &net));
        assert_eq!(listed[1], other);
        // Before a server joins, only the configuration matches a label filter.
        assert_eq!(
            by_configuration(vec![config]),
            [NetworkInfo::from_spec("c1", &net)]
        );
    }
}
