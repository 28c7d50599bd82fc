//! Conversions between core's container types and bollard's Engine API types. Pure: no I/O.

use std::collections::{BTreeMap, HashMap};
use std::net::{IpAddr, Ipv4Addr, SocketAddr};

use bollard::models::{
    ContainerCreateBody, ContainerInspectResponse, ContainerMemoryStats, ContainerStateStatusEnum,
    ContainerSummary, ContainerSummaryStateEnum, CreateImageInfo, EndpointSettings, EventMessage,
    EventMessageTypeEnum, HostConfig, Ipam, IpamConfig, Network, NetworkCreateRequest,
    RestartPolicy, RestartPolicyNameEnum,
};
use lticontainer_core::container::{
    CPU_PERIOD_US, ContainerEvent, ContainerEventKind, ContainerInfo, ContainerSpec,
    ContainerState, MemoryUsage, MountSource, PullProgress, labels,
};
use lticontainer_core::network::{NetworkInfo, NetworkSpec};

use crate::error::{Error, Object};

/// Docker's bridge driver option naming the host's bridge interface.
pub(crate) const BRIDGE_NAME_OPTION: &str = "com.docker.network.bridge.name";

/// Docker's CPU shares for one whole CPU.
const SHARES_PER_CPU: f64 = 1024.0;
/// The smallest CPU shares value Docker accepts.
const MIN_SHARES: i64 = 2;

/// The create-container body for `spec` (on the network it names), for a spec that
/// [`ContainerSpec::validate`] accepted (which makes every mount a valid `Binds` entry).
///
/// Mounts become `Binds` entries (`source:target:ro|rw`): host directories that do not exist are
/// created by the engine, as DockerSpawner's `volumes` did. Named volumes are the caller's to
/// create first ([`ContainerSpec::volumes`]); the engine would create a missing one unlabelled. The spec's port is recorded in the [`labels::PORT`] label when the spec lacks it, so that
/// [`info_from_inspect`] can rebuild the address of a re-adopted container.
///
/// Security: the container is never privileged and keeps Docker's default capability set with
/// `no-new-privileges` unset, because the image's `start.sh` starts as root to create the user
/// (needs `CHOWN`, `SETUID`, `SETGID`, `DAC_OVERRIDE`, `FOWNER`), then drops to the user with
/// `sudo`, and teachers keep passwordless `sudo` inside — which setuid needs.
pub(crate) fn create_body(spec: &ContainerSpec) -> Result<ContainerCreateBody, Error> {
    let labels: HashMap<String, String> = container_labels(spec).into_iter().collect();

    let env = env_list(spec);

    let binds: Vec<String> = spec
        .mounts
        .iter()
        .map(|m| {
            let source = match &m.source {
                MountSource::Bind(path) => path.to_string_lossy(),
                MountSource::Volume(name) => name.as_str().into(),
            };
            let mode = if m.read_only { "ro" } else { "rw" };
            format!("{source}:{}:{mode}", m.target)
        })
        .collect();

    let limits = &spec.limits;
    let memory = limits
        .mem_limit
        .map(|b| bytes("memory limit", b))
        .transpose()?;
    let memory_reservation = limits
        .mem_guarantee
        .map(|b| bytes("memory reservation", b))
        .transpose()?;
    let cpu_quota = limits.cpu_quota_us();
    let cpu_shares = limits
        .cpu_guarantee
        .map(|c| ((c * SHARES_PER_CPU).round() as i64).max(MIN_SHARES));

    let host_config = HostConfig {
        binds: (!binds.is_empty()).then_some(binds),
        memory,
        memory_reservation,
        cpu_quota,
        cpu_period: cpu_quota.map(|_| CPU_PERIOD_US),
        cpu_shares,
        network_mode: Some(spec.network.as_str().to_owned()),
        restart_policy: Some(RestartPolicy {
            name: Some(RestartPolicyNameEnum::NO),
            maximum_retry_count: None,
        }),
        privileged: Some(false),
        ..Default::default()
    };

    Ok(ContainerCreateBody {
        image: Some(spec.image.clone()),
        cmd: (!spec.cmd.is_empty()).then(|| spec.cmd.clone()),
        env: (!env.is_empty()).then_some(env),
        user: spec.user.clone(),
        working_dir: spec.working_dir.clone(),
        labels: Some(labels),
        tty: Some(false),
        attach_stdin: Some(false),
        attach_stdout: Some(false),
        attach_stderr: Some(false),
        open_stdin: Some(false),
        host_config: Some(host_config),
        ..Default::default()
    })
}

/// The spec's environment as the engine takes it: `NAME=value` entries.
pub(crate) fn env_list(spec: &ContainerSpec) -> Vec<String> {
    spec.env.iter().map(|(k, v)| format!("{k}={v}")).collect()
}

/// The labels a container from `spec` carries: the spec's, plus [`labels::PORT`] when missing.
pub(crate) fn container_labels(spec: &ContainerSpec) -> BTreeMap<String, String> {
    let mut labels = spec.labels.clone();
    labels
        .entry(labels::PORT.to_owned())
        .or_insert_with(|| spec.port.to_string());
    labels
}

/// What a just-started host-network container is, known without asking the engine again:
/// running, reached on `127.0.0.1:<port>`. (Other networks need an inspect for the address.)
pub(crate) fn started_on_host(id: String, spec: &ContainerSpec) -> ContainerInfo {
    let labels = container_labels(spec);
    let address = address(Some("host"), None, &labels);
    let mut info = ContainerInfo::new(
        id,
        spec.name.clone(),
        spec.image.clone(),
        ContainerState::Running,
    );
    info.labels = labels;
    info.address = address;
    info
}

/// `b` bytes as the engine's signed integer, or an error naming `what` when it does not fit.
pub(crate) fn bytes(what: &str, b: u64) -> Result<i64, Error> {
    i64::try_from(b).map_err(|_| {
        Error::InvalidSpec(format!("{what} of {b} bytes is larger than Docker allows"))
    })
}

/// The create-network request for `spec`: a bridge on `spec.subnet` whose host interface is
/// `spec.interface` holding `spec.gateway`, marked internal (with iptables, Docker then drops
/// what the network's containers send elsewhere; the gateway stays, so they reach the host),
/// without IPv6.
pub(crate) fn network_request(spec: &NetworkSpec) -> NetworkCreateRequest {
    NetworkCreateRequest {
        name: spec.name.clone(),
        driver: Some("bridge".to_owned()),
        internal: Some(true),
        attachable: Some(false),
        enable_ipv6: Some(false),
        ipam: Some(Ipam {
            driver: Some("default".to_owned()),
            config: Some(vec![IpamConfig {
                subnet: Some(spec.subnet.to_string()),
                gateway: Some(spec.gateway.to_string()),
                ..Default::default()
            }]),
            options: None,
        }),
        options: Some(HashMap::from([(
            BRIDGE_NAME_OPTION.to_owned(),
            spec.interface.clone(),
        )])),
        labels: Some(
            spec.labels
                .iter()
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
        ),
        ..Default::default()
    }
}

/// A [`NetworkInfo`] from an inspect or list reply; `asked` names it when the reply does not.
pub(crate) fn network_info(n: Network, asked: &str) -> Result<NetworkInfo, Error> {
    let id = n.id.ok_or_else(|| Error::Reply {
        object: Object::Network(asked.to_owned()),
        field: "Id",
    })?;
    let mut info = NetworkInfo::new(id, n.name.unwrap_or_else(|| asked.to_owned()));
    info.labels = n.labels.unwrap_or_default().into_iter().collect();
    let first_v4 = n
        .ipam
        .and_then(|i| i.config)
        .unwrap_or_default()
        .into_iter()
        .find(|c| {
            c.subnet
                .as_deref()
                .is_some_and(|s| s.parse::<lticontainer_core::network::Ipv4Subnet>().is_ok())
        });
    if let Some(c) = first_v4 {
        info.subnet = c.subnet.as_deref().and_then(|s| s.parse().ok());
        info.gateway = c.gateway.as_deref().and_then(|g| g.parse().ok());
    }
    info.interface = n
        .options
        .and_then(|mut o| o.remove(BRIDGE_NAME_OPTION))
        .filter(|i| !i.is_empty());
    Ok(info)
}

/// Docker's memory figures as core's: the use without the reclaimable page cache
/// (`inactive_file` on cgroup v2, `total_inactive_file` on v1), as `docker stats` shows it.
pub(crate) fn memory_usage(m: &ContainerMemoryStats) -> MemoryUsage {
    let cache = m.stats.as_ref().and_then(|s| {
        s.get("inactive_file")
            .or_else(|| s.get("total_inactive_file"))
            .copied()
    });
    MemoryUsage {
        used_bytes: m
            .usage
            .unwrap_or_default()
            .saturating_sub(cache.unwrap_or_default()),
        limit_bytes: m.limit.filter(|l| *l > 0),
    }
}

/// One pull-progress event in core's terms.
pub(crate) fn progress(info: &CreateImageInfo) -> PullProgress {
    let detail = info.progress_detail.as_ref();
    let status = match (&info.id, &info.status) {
        (Some(id), Some(s)) => format!("{id}: {s}"),
        (None, Some(s)) => s.clone(),
        (Some(id), None) => id.clone(),
        (None, None) => String::new(),
    };
    PullProgress {
        status,
        current: detail
            .and_then(|d| d.current)
            .and_then(|v| u64::try_from(v).ok()),
        total: detail
            .and_then(|d| d.total)
            .and_then(|v| u64::try_from(v).ok()),
    }
}

/// Docker's `label` filter for listing containers that carry every label in `labels`.
pub(crate) fn label_filters(labels: &BTreeMap<String, String>) -> HashMap<String, Vec<String>> {
    let mut filters = HashMap::new();
    if !labels.is_empty() {
        filters.insert(
            "label".to_owned(),
            labels.iter().map(|(k, v)| format!("{k}={v}")).collect(),
        );
    }
    filters
}

/// The engine actions [`event`] maps, as the events filter asks for them.
const EVENT_ACTIONS: [&str; 5] = ["start", "die", "stop", "oom", "destroy"];

/// Docker's events filter for the lifecycle events ([`event`]) of containers carrying every
/// label in `labels`.
pub(crate) fn event_filters(labels: &BTreeMap<String, String>) -> HashMap<String, Vec<String>> {
    let mut filters = label_filters(labels);
    filters.insert("type".to_owned(), vec!["container".to_owned()]);
    filters.insert(
        "event".to_owned(),
        EVENT_ACTIONS.iter().map(|a| (*a).to_owned()).collect(),
    );
    filters
}

/// The events request's `since`: one second before `now`, in Docker's `seconds.nanoseconds`.
///
/// The request is only sent when the stream is first polled; asking for the events since just
/// before the subscription makes the engine replay (from its recent-events log) what happened
/// in between, so the subscription is in place when [`Runtime::events`] returns.
///
/// [`Runtime::events`]: lticontainer_core::Runtime::events
pub(crate) fn events_since(now: std::time::SystemTime) -> String {
    let since = now
        .checked_sub(std::time::Duration::from_secs(1))
        .unwrap_or(now)
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    format!("{}.{:09}", since.as_secs(), since.subsec_nanos())
}

/// A container lifecycle event in core's terms; `None` for other objects and other actions.
pub(crate) fn event(msg: &EventMessage) -> Option<ContainerEvent> {
    if msg.typ != Some(EventMessageTypeEnum::CONTAINER) {
        return None;
    }
    let kind = match msg.action.as_deref()? {
        "start" => ContainerEventKind::Started,
        "die" => ContainerEventKind::Died,
        "stop" => ContainerEventKind::Stopped,
        "oom" => ContainerEventKind::OutOfMemory,
        "destroy" => ContainerEventKind::Removed,
        _ => return None,
    };
    let id = msg
        .actor
        .as_ref()?
        .id
        .as_deref()
        .filter(|id| !id.is_empty())?;
    Some(ContainerEvent::new(id, kind))
}

/// A [`ContainerInfo`] from an inspect reply.
pub(crate) fn info_from_inspect(
    resp: ContainerInspectResponse,
    asked: &str,
) -> Result<ContainerInfo, Error> {
    let id = resp.id.ok_or_else(|| Error::Reply {
        object: Object::Container(asked.to_owned()),
        field: "Id",
    })?;
    let name = resp
        .name
        .map(|n| n.trim_start_matches('/').to_owned())
        .unwrap_or_default();
    let config = resp.config.unwrap_or_default();
    let image = config.image.or(resp.image).unwrap_or_default();
    let labels: BTreeMap<String, String> = config.labels.unwrap_or_default().into_iter().collect();
    let state = match resp.state {
        Some(s) => state_from_status(s.status, s.exit_code),
        None => ContainerState::Other("unknown".into()),
    };
    let network_mode = resp.host_config.and_then(|h| h.network_mode);
    let networks = resp.network_settings.and_then(|n| n.networks);
    let address = address(network_mode.as_deref(), networks.as_ref(), &labels);
    let mut info = ContainerInfo::new(id, name, image, state);
    info.labels = labels;
    info.address = address;
    Ok(info)
}

/// A [`ContainerInfo`] from one entry of a list reply.
pub(crate) fn info_from_summary(s: ContainerSummary) -> Result<ContainerInfo, Error> {
    let id = s.id.ok_or(Error::Reply {
        object: Object::Engine,
        field: "Id of a listed container",
    })?;
    let name = s
        .names
        .and_then(|n| n.into_iter().next())
        .map(|n| n.trim_start_matches('/').to_owned())
        .unwrap_or_default();
    let labels: BTreeMap<String, String> = s.labels.unwrap_or_default().into_iter().collect();
    let state = match s.state {
        Some(ContainerSummaryStateEnum::CREATED) => ContainerState::Created,
        Some(ContainerSummaryStateEnum::RUNNING) => ContainerState::Running,
        Some(ContainerSummaryStateEnum::EXITED) => ContainerState::Exited {
            code: s.status.as_deref().and_then(exit_code_from_status),
        },
        Some(other) => ContainerState::Other(other.to_string()),
        None => ContainerState::Other("unknown".into()),
    };
    let network_mode = s.host_config.and_then(|h| h.network_mode);
    let networks = s.network_settings.and_then(|n| n.networks);
    let address = address(network_mode.as_deref(), networks.as_ref(), &labels);
    let mut info = ContainerInfo::new(id, name, s.image.unwrap_or_default(), state);
    info.labels = labels;
    info.address = address;
    Ok(info)
}

fn state_from_status(
    status: Option<ContainerStateStatusEnum>,
    code: Option<i64>,
) -> ContainerState {
    match status {
        Some(ContainerStateStatusEnum::CREATED) => ContainerState::Created,
        Some(ContainerStateStatusEnum::RUNNING) => ContainerState::Running,
        Some(ContainerStateStatusEnum::EXITED) => ContainerState::Exited { code },
        Some(other) => ContainerState::Other(other.to_string()),
        None => ContainerState::Other("unknown".into()),
    }
}

/// The exit code in a list entry's status text, e.g. `Exited (137) 5 seconds ago` → 137.
fn exit_code_from_status(status: &str) -> Option<i64> {
    let rest = status.strip_prefix("Exited (")?;
    rest.split(')').next()?.parse().ok()
}

/// Where the Jupyter server of a container listens, seen from the hub.
///
/// Host networking: `127.0.0.1:<port>`; otherwise the container's address on its network
/// (the one named by `network_mode`, else the first with an address) and the port. The port
/// comes from the [`labels::PORT`] label; without it the address is unknown.
fn address(
    network_mode: Option<&str>,
    networks: Option<&HashMap<String, EndpointSettings>>,
    labels: &BTreeMap<String, String>,
) -> Option<SocketAddr> {
    let port: u16 = labels.get(labels::PORT)?.parse().ok()?;
    if network_mode == Some("host") {
        return Some(SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), port));
    }
    let networks = networks?;
    let key = match network_mode {
        Some("default") | None => "bridge",
        Some(name) => name,
    };
    let ip_of = |e: &EndpointSettings| {
        e.ip_address
            .as_deref()
            .filter(|s| !s.is_empty())
            .and_then(|s| s.parse::<IpAddr>().ok())
    };
    let ip = networks.get(key).and_then(ip_of).or_else(|| {
        let mut names: Vec<&String> = networks.keys().collect();
        names.sort();
        names
            .into_iter()
            .find_map(|n| networks.get(n).and_then(ip_of))
    })?;
    Some(SocketAddr::new(ip, port))
}

#[cfg(test)]
mod tests {
    use super::*;
    use bollard::models::{ContainerConfig, ContainerState as DockerState, NetworkSettings};
    use lticontainer_core::container::{Mount, VolumeSpec};
    use lticontainer_core::network::NetworkMode;

    fn spec() -> ContainerSpec {
        let mut s = ContainerSpec::new("lticontainer-alice", "jupyter/base:1");
        s.cmd = vec!["start-notebook.sh".into(), "--ip=127.0.0.1".into()];
        s.env.insert("NB_USER".into(), "alice".into());
        s.user = Some("root".into());
        s.working_dir = Some("/home/alice".into());
        s.mounts = vec![
            Mount {
                source: MountSource::Bind("/home/g/alice".into()),
                target: "/home/g/alice".into(),
                read_only: false,
            },
            Mount {
                source: MountSource::Volume("lms_vol_rsa_2_host".into()),
                target: "/home/g/alice/jupyter/works/.volumes/lms_vol_rsa_2_host".into(),
                read_only: true,
            },
        ];
        s.volumes = vec![VolumeSpec::new("lms_vol_rsa_2_host", BTreeMap::new())];
        s.limits.cpu_limit = Some(1.5);
        s.limits.mem_limit = Some(512 << 20);
        s.limits.cpu_guarantee = Some(0.5);
        s.limits.mem_guarantee = Some(256 << 20);
        s.labels.insert(labels::USER.into(), "alice".into());
        s.port = 9000;
        s
    }

    #[test]
    fn engine_events_become_container_events() {
        let msg = |typ: &str, action: &str, id: &str| -> EventMessage {
            serde_json::from_value(serde_json::json!({
                "Type": typ, "Action": action,
                "Actor": {"ID": id, "Attributes": {"lticontainer.hub": "h"}},
                "time": 1, "timeNano": 1
            }))
            .expect("an event message")
        };
        for (action, kind) in [
            ("start", ContainerEventKind::Started),
            ("die", ContainerEventKind::Died),
            ("stop", ContainerEventKind::Stopped),
            ("oom", ContainerEventKind::OutOfMemory),
            ("destroy", ContainerEventKind::Removed),
        ] {
            assert_eq!(
                event(&msg("container", action, "abc")),
                Some(ContainerEvent::new("abc", kind)),
                "{action}"
            );
        }
        assert_eq!(event(&msg("container", "exec_start", "abc")), None);
        assert_eq!(event(&msg("network", "destroy", "abc")), None);
        assert_eq!(event(&msg("container", "die", "")), None);

        let filters = event_filters(&BTreeMap::from([("lticontainer.hub".into(), "h".into())]));
        assert_eq!(filters["type"], ["container"]);
        assert_eq!(filters["label"], ["lticontainer.hub=h"]);
        assert_eq!(filters["event"], EVENT_ACTIONS);

        let now = std::time::UNIX_EPOCH + std::time::Duration::new(1_000, 5);
        assert_eq!(events_since(now), "999.000000005");
    }

    #[test]
    fn spec_becomes_a_create_body() {
        let body = checked_body(&spec()).expect("valid spec");
        assert_eq!(body.image.as_deref(), Some("jupyter/base:1"));
        assert_eq!(body.cmd.as_ref().map(Vec::len), Some(2));
        assert_eq!(body.env, Some(vec!["NB_USER=alice".to_owned()]));
        assert_eq!(body.user.as_deref(), Some("root"));
        assert_eq!(body.working_dir.as_deref(), Some("/home/alice"));
        let labels = body.labels.expect("labels");
        assert_eq!(labels.get(labels::USER).map(String::as_str), Some("alice"));
        assert_eq!(labels.get(labels::PORT).map(String::as_str), Some("9000"));
        let host = body.host_config.expect("host config");
        assert_eq!(
            host.binds,
            Some(vec![
                "/home/g/alice:/home/g/alice:rw".to_owned(),
                "lms_vol_rsa_2_host:/home/g/alice/jupyter/works/.volumes/lms_vol_rsa_2_host:ro"
                    .to_owned(),
            ])
        );
        assert_eq!(host.memory, Some(512 << 20));
        assert_eq!(host.memory_reservation, Some(256 << 20));
        assert_eq!(host.cpu_quota, Some(150_000));
        assert_eq!(host.cpu_period, Some(100_000));
        assert_eq!(host.cpu_shares, Some(512));
        assert_eq!(host.network_mode.as_deref(), Some("host"));
        assert_eq!(host.privileged, Some(false));
        assert_eq!(host.security_opt, None);
        assert_eq!(host.cap_drop, None);
        assert_eq!(
            host.restart_policy.and_then(|r| r.name),
            Some(RestartPolicyNameEnum::NO)
        );
    }

    #[test]
    fn an_explicit_port_label_is_kept_and_empty_parts_are_omitted() {
        let mut s = ContainerSpec::new("n", "i");
        s.labels.insert(labels::PORT.into(), "8000".into());
        s.network = NetworkMode::Named("jnet".into());
        let body = create_body(&s).expect("valid");
        assert_eq!(
            body.labels.and_then(|l| l.get(labels::PORT).cloned()),
            Some("8000".into())
        );
        assert_eq!(body.cmd, None);
        assert_eq!(body.env, None);
        let host = body.host_config.expect("host config");
        assert_eq!(host.binds, None);
        assert_eq!(host.cpu_quota, None);
        assert_eq!(host.cpu_period, None);
        assert_eq!(host.network_mode.as_deref(), Some("jnet"));
    }

    /// Breaks one part of a valid spec.
    type Breaker = fn(&mut ContainerSpec);

    /// What `create_and_start` does before it contacts the engine: validate, then convert.
    fn checked_body(s: &ContainerSpec) -> lticontainer_core::Result<ContainerCreateBody> {
        s.validate()?;
        Ok(create_body(s)?)
    }

    #[test]
    fn bad_specs_are_rejected_with_the_reason() {
        let cases: Vec<(&str, Breaker)> = vec![
            ("environment", |s| {
                s.env.insert("A=B".into(), "x".into());
            }),
            ("mount target", |s| s.mounts[0].target = "relative".into()),
            ("bind source", |s| {
                s.mounts[0].source = MountSource::Bind("home/x".into());
            }),
            ("bind source", |s| {
                s.mounts[0].source = MountSource::Bind("/a:b".into());
            }),
            ("volume name", |s| {
                s.mounts[1].source = MountSource::Volume("../etc".into());
            }),
            ("CPU limit", |s| s.limits.cpu_limit = Some(-1.0)),
            ("CPU limit", |s| s.limits.cpu_limit = Some(f64::NAN)),
            ("CPU guarantee", |s| s.limits.cpu_guarantee = Some(0.0)),
            ("memory limit", |s| s.limits.mem_limit = Some(u64::MAX)),
        ];
        for (want, break_it) in cases {
            let mut s = spec();
            break_it(&mut s);
            let err = checked_body(&s).expect_err(want);
            assert!(
                matches!(err, lticontainer_core::Error::InvalidInput { .. }),
                "{want}: {err:?}"
            );
            assert!(err.to_string().contains(want), "{want}: {err}");
        }
    }

    #[test]
    fn a_started_host_container_is_described_from_its_spec() {
        let info = started_on_host("abc".into(), &spec());
        assert_eq!(info.id, "abc");
        assert_eq!(info.name, "lticontainer-alice");
        assert_eq!(info.image, "jupyter/base:1");
        assert_eq!(info.state, ContainerState::Running);
        assert_eq!(info.address, Some("127.0.0.1:9000".parse().expect("addr")));
        assert_eq!(
            info.labels.get(labels::USER).map(String::as_str),
            Some("alice")
        );
        assert_eq!(
            info.labels.get(labels::PORT).map(String::as_str),
            Some("9000")
        );
    }

    #[test]
    fn exit_codes_are_read_from_list_status() {
        assert_eq!(
            exit_code_from_status("Exited (137) 5 seconds ago"),
            Some(137)
        );
        assert_eq!(exit_code_from_status("Up 3 minutes"), None);
        assert_eq!(exit_code_from_status("Exited (x)"), None);
    }

    fn inspected(mode: &str, ip: &str) -> ContainerInspectResponse {
        ContainerInspectResponse {
            id: Some("abc".into()),
            name: Some("/lticontainer-alice".into()),
            image: Some("sha256:1".into()),
            state: Some(DockerState {
                status: Some(ContainerStateStatusEnum::EXITED),
                exit_code: Some(3),
                ..Default::default()
            }),
            config: Some(ContainerConfig {
                image: Some("jupyter/base:1".into()),
                labels: Some(HashMap::from([(labels::PORT.into(), "8888".into())])),
                ..Default::default()
            }),
            host_config: Some(HostConfig {
                network_mode: Some(mode.into()),
                ..Default::default()
            }),
            network_settings: Some(NetworkSettings {
                networks: Some(HashMap::from([(
                    if mode == "default" { "bridge" } else { mode }.to_owned(),
                    EndpointSettings {
                        ip_address: Some(ip.into()),
                        ..Default::default()
                    },
                )])),
                ..Default::default()
            }),
            ..Default::default()
        }
    }

    #[test]
    fn inspect_reply_becomes_info_with_address() {
        let info = info_from_inspect(inspected("host", ""), "x").expect("complete reply");
        assert_eq!(info.id, "abc");
        assert_eq!(info.name, "lticontainer-alice");
        assert_eq!(info.image, "jupyter/base:1");
        assert_eq!(info.state, ContainerState::Exited { code: Some(3) });
        assert_eq!(info.address, Some("127.0.0.1:8888".parse().expect("addr")));

        let info = info_from_inspect(inspected("default", "172.17.0.5"), "x").expect("reply");
        assert_eq!(info.address, Some("172.17.0.5:8888".parse().expect("addr")));
        let info = info_from_inspect(inspected("jnet", ""), "x").expect("reply");
        assert_eq!(info.address, None, "no IP yet means no address");

        let mut broken = inspected("host", "");
        broken.id = None;
        let err = info_from_inspect(broken, "alice").expect_err("no id");
        assert!(err.to_string().contains("Id"), "{err}");
    }

    #[test]
    fn network_specs_become_internal_bridges_and_read_back() {
        let mut spec = NetworkSpec::new(
            "lticontainer-alice-net",
            "10.213.0.16/28".parse().expect("subnet"),
        );
        spec.labels.insert(labels::USER.into(), "alice".into());
        let req = network_request(&spec);
        assert_eq!(req.name, "lticontainer-alice-net");
        assert_eq!(req.driver.as_deref(), Some("bridge"));
        assert_eq!(req.internal, Some(true));
        assert_eq!(req.enable_ipv6, Some(false));
        let ipam = req
            .ipam
            .clone()
            .and_then(|i| i.config)
            .expect("ipam config");
        assert_eq!(ipam[0].subnet.as_deref(), Some("10.213.0.16/28"));
        assert_eq!(ipam[0].gateway.as_deref(), Some("10.213.0.17"));
        assert_eq!(
            req.options
                .as_ref()
                .and_then(|o| o.get(BRIDGE_NAME_OPTION))
                .map(String::as_str),
            Some("ltc0ad50010")
        );

        let reply = Network {
            id: Some("n1".into()),
            name: Some(req.name.clone()),
            ipam: req.ipam,
            options: req.options,
            labels: req.labels,
            ..Default::default()
        };
        let info = network_info(reply, "asked").expect("complete reply");
        assert_eq!(info, NetworkInfo::from_spec("n1", &spec));

        let err = network_info(Network::default(), "lost").expect_err("no id");
        assert!(err.to_string().contains("lost"), "{err}");
    }
}
