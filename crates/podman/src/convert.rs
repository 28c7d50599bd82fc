//! Conversions between core's container types and podman-api's options and models.
//!
//! Pure functions: no engine is contacted here, so everything is unit-tested without a daemon.

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};

use lticontainer_core::container::{
    ContainerEvent, ContainerEventKind, ContainerInfo, ContainerSpec, ContainerState, MountSource,
    PullProgress, ResourceLimits, labels,
};
use lticontainer_core::network::{Ipv4Subnet, NetworkInfo, NetworkMode, NetworkSpec};
use podman_api::models::{
    ContainerMount, InspectContainerData, LibpodImagesPullReport, LinuxCpu, LinuxMemory,
    LinuxResources, NamedVolume, Namespace, Network, Subnet,
};
use podman_api::opts::{ContainerCreateOpts, ContainerRestartPolicy, NetworkCreateOpts};

use crate::error::Error;

/// CPU shares that stand for one whole CPU (the cgroup v1 default weight).
const SHARES_PER_CPU: f64 = 1024.0;

/// Checks the limits libpod cannot take (core's [`ContainerSpec::validate`] has checked the
/// rest): at most 1024 CPUs, and byte counts from 1 to `i64::MAX`.
fn check_limits(limits: &ResourceLimits) -> Result<(), Error> {
    for (what, cpus) in [
        ("cpu_limit", limits.cpu_limit),
        ("cpu_guarantee", limits.cpu_guarantee),
    ] {
        if let Some(c) = cpus
            && c > 1024.0
        {
            return Err(Error::InvalidSpec(format!(
                "{what} {c} must be a number of CPUs above 0 and at most 1024"
            )));
        }
    }
    for (what, bytes) in [
        ("mem_limit", limits.mem_limit),
        ("mem_guarantee", limits.mem_guarantee),
    ] {
        if bytes.is_some_and(|b| i64::try_from(b).is_err() || b == 0) {
            return Err(Error::InvalidSpec(format!(
                "{what} must be between 1 byte and {} bytes",
                i64::MAX
            )));
        }
    }
    Ok(())
}

/// The libpod create options for `spec` (on the network it names), for a spec that
/// [`ContainerSpec::validate`] accepted: never privileged, no restart policy.
///
/// # Errors
/// [`Error::InvalidSpec`] when a limit is beyond what libpod takes.
pub(crate) fn create_opts(spec: &ContainerSpec) -> Result<ContainerCreateOpts, Error> {
    let network = &spec.network;
    check_limits(&spec.limits)?;
    let mut b = ContainerCreateOpts::builder()
        .name(&spec.name)
        .image(&spec.image)
        .env(spec.env.iter())
        .labels(spec.labels.iter())
        .privileged(false)
        .restart_policy(ContainerRestartPolicy::No)
        .net_namespace(namespace(network));
    if !spec.cmd.is_empty() {
        b = b.command(spec.cmd.iter());
    }
    if let Some(user) = &spec.user {
        b = b.user(user);
    }
    if let Some(dir) = &spec.working_dir {
        b = b.work_dir(dir);
    }
    if let NetworkMode::Named(name) = network {
        b = b.networks([(name.as_str(), serde_json::json!({}))]);
    }
    let mut binds = Vec::new();
    let mut volumes = Vec::new();
    for m in &spec.mounts {
        let mode = if m.read_only { "ro" } else { "rw" };
        match &m.source {
            MountSource::Bind(path) => binds.push(ContainerMount {
                destination: Some(m.target.clone()),
                source: Some(path.display().to_string()),
                _type: Some("bind".into()),
                options: Some(vec!["rbind".into(), mode.into()]),
                uid_mappings: None,
                gid_mappings: None,
            }),
            MountSource::Volume(name) => volumes.push(NamedVolume {
                name: Some(name.clone()),
                dest: Some(m.target.clone()),
                options: Some(vec![mode.into()]),
                is_anonymous: None,
            }),
        }
    }
    if !binds.is_empty() {
        b = b.mounts(binds);
    }
    if !volumes.is_empty() {
        b = b.volumes(volumes);
    }
    if let Some(resources) = resources(&spec.limits) {
        b = b.resource_limits(resources);
    }
    Ok(b.build())
}

/// The libpod create options of a network for `spec`: a bridge on `spec.subnet` whose host
/// interface is `spec.interface` holding `spec.gateway`, without DNS or IPv6.
///
/// Not `internal`: with the CNI backend (Podman 4.3) an internal network gives the bridge no
/// address (`isGateway: false`) and the host no route to it, so the hub could neither reach the
/// server nor be reached at the gateway. The container gets a default route through the
/// gateway instead, and whether the host forwards anything from the bridge is the host's to
/// decide (the hub turns forwarding off on the interface).
pub(crate) fn network_opts(spec: &NetworkSpec) -> NetworkCreateOpts {
    NetworkCreateOpts::builder()
        .name(&spec.name)
        .driver("bridge")
        .internal(false)
        .dns_enabled(false)
        .ipv6_enabled(false)
        .network_interface(&spec.interface)
        .subnets([Subnet {
            gateway: Some(spec.gateway.to_string()),
            lease_range: None,
            subnet: Some(spec.subnet.to_string()),
        }])
        .labels(spec.labels.iter())
        .build()
}

/// A [`NetworkInfo`] from libpod's network record; `asked` names it when the record does not.
///
/// # Errors
/// [`Error::Unexpected`] when the record has no id.
pub(crate) fn network_info(n: Network, asked: &str) -> Result<NetworkInfo, Error> {
    let id =
        n.id.filter(|id| !id.is_empty())
            .ok_or_else(|| Error::Unexpected {
                operation: "network",
                detail: format!("no id for network {asked:?}"),
            })?;
    let mut info = NetworkInfo::new(id, n.name.unwrap_or_else(|| asked.to_owned()));
    info.labels = n.labels.unwrap_or_default().into_iter().collect();
    let v4 = n.subnets.unwrap_or_default().into_iter().find_map(|s| {
        let subnet: Ipv4Subnet = s.subnet.as_deref()?.parse().ok()?;
        Some((subnet, s.gateway.as_deref().and_then(|g| g.parse().ok())))
    });
    if let Some((subnet, gateway)) = v4 {
        info.subnet = Some(subnet);
        info.gateway = gateway;
    }
    info.interface = n.network_interface.filter(|i| !i.is_empty());
    Ok(info)
}

/// The network namespace for a mode: the host's, or a private one joined to a bridge.
fn namespace(network: &NetworkMode) -> Namespace {
    let mode = match network {
        NetworkMode::Host => "host",
        NetworkMode::Bridge | NetworkMode::Named(_) => "bridge",
    };
    Namespace {
        nsmode: Some(mode.into()),
        value: None,
    }
}

/// Memory limit and reservation, CPU quota/period and shares; `None` when nothing is limited.
fn resources(limits: &ResourceLimits) -> Option<LinuxResources> {
    let memory =
        (limits.mem_limit.is_some() || limits.mem_guarantee.is_some()).then(|| LinuxMemory {
            limit: limits.mem_limit.and_then(|b| i64::try_from(b).ok()),
            reservation: limits.mem_guarantee.and_then(|b| i64::try_from(b).ok()),
            disable_oom_killer: None,
            kernel: None,
            kernel_tcp: None,
            swap: None,
            swappiness: None,
            use_hierarchy: None,
        });
    let quota = limits.cpu_quota_us();
    let shares = limits
        .cpu_guarantee
        .map(|c| (c * SHARES_PER_CPU).round().max(2.0) as u64);
    let cpu = (quota.is_some() || shares.is_some()).then(|| LinuxCpu {
        quota,
        period: quota.map(|_| lticontainer_core::container::CPU_PERIOD_US as u64),
        shares,
        cpus: None,
        mems: None,
        realtime_period: None,
        realtime_runtime: None,
    });
    if memory.is_none() && cpu.is_none() {
        return None;
    }
    Some(LinuxResources {
        block_io: None,
        cpu,
        devices: None,
        hugepage_limits: None,
        memory,
        network: None,
        pids: None,
        rdma: None,
        unified: None,
    })
}

/// Maps libpod's state name (and exit code) onto core's state.
pub(crate) fn state_of(status: &str, exit_code: Option<i32>) -> ContainerState {
    match status {
        "running" => ContainerState::Running,
        "created" | "configured" | "initialized" => ContainerState::Created,
        "exited" | "stopped" => ContainerState::Exited {
            code: exit_code.map(i64::from),
        },
        other => ContainerState::Other(other.to_owned()),
    }
}

/// Where the hub reaches the server: `127.0.0.1:<port>` on the host network, else the
/// container's own address; `None` when the port or address is unknown.
pub(crate) fn address(
    host_network: bool,
    ip: Option<&str>,
    port: Option<u16>,
) -> Option<SocketAddr> {
    let port = port?;
    if host_network {
        return Some(SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), port));
    }
    let ip: IpAddr = ip?.parse().ok()?;
    Some(SocketAddr::new(ip, port))
}

/// The libpod event actions [`event`] maps, as the events filter asks for them (Podman 4.3
/// names a container's exit `died` and its removal `remove`).
const EVENT_ACTIONS: [&str; 5] = ["start", "died", "stop", "oom", "remove"];

/// libpod's events filter (a JSON map) for the lifecycle events of containers carrying every
/// label in `labels`.
pub(crate) fn event_filters(labels: &BTreeMap<String, String>) -> String {
    let labels: Vec<String> = labels.iter().map(|(k, v)| format!("{k}={v}")).collect();
    let mut filters = serde_json::json!({
        "type": ["container"],
        "event": EVENT_ACTIONS,
    });
    if !labels.is_empty() {
        filters["label"] = serde_json::json!(labels);
    }
    filters.to_string()
}

/// The events request's `since`: one second before `now`, as Unix `seconds.nanoseconds`, so
/// an event between the call and Podman reading its event log is not missed.
pub(crate) fn events_since(now: std::time::SystemTime) -> String {
    let since = now
        .checked_sub(std::time::Duration::from_secs(1))
        .unwrap_or(now)
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    format!("{}.{:09}", since.as_secs(), since.subsec_nanos())
}

/// A container lifecycle event in core's terms; `None` for other objects and other actions.
pub(crate) fn event(typ: &str, action: &str, id: &str) -> Option<ContainerEvent> {
    if typ != "container" || id.is_empty() {
        return None;
    }
    let kind = match action {
        "start" => ContainerEventKind::Started,
        "died" => ContainerEventKind::Died,
        "stop" => ContainerEventKind::Stopped,
        "oom" => ContainerEventKind::OutOfMemory,
        "remove" => ContainerEventKind::Removed,
        _ => return None,
    };
    Some(ContainerEvent::new(id, kind))
}

/// Turns a libpod inspect reply into a [`ContainerInfo`].
///
/// # Errors
/// [`Error::Unexpected`] when the reply has no container id.
pub(crate) fn info_from_inspect(data: InspectContainerData) -> Result<ContainerInfo, Error> {
    let id = data
        .id
        .filter(|id| !id.is_empty())
        .ok_or(Error::Unexpected {
            operation: "inspect",
            detail: "the reply has no container Id".into(),
        })?;
    let name = data.name.unwrap_or_default();
    let image = data
        .image_name
        .or_else(|| data.config.as_ref().and_then(|c| c.image.clone()))
        .unwrap_or_default();
    let state = data
        .state
        .as_ref()
        .map(|s| state_of(s.status.as_deref().unwrap_or("unknown"), s.exit_code))
        .unwrap_or_else(|| ContainerState::Other("unknown".into()));
    let labels: BTreeMap<String, String> = data
        .config
        .and_then(|c| c.labels)
        .unwrap_or_default()
        .into_iter()
        .collect();
    let host_network = data
        .host_config
        .as_ref()
        .and_then(|h| h.network_mode.as_deref())
        .is_some_and(|m| m == "host");
    let ip = data.network_settings.as_ref().and_then(|n| {
        non_empty(n.ip_address.as_deref()).or_else(|| {
            n.networks.as_ref().and_then(|nets| {
                let mut names: Vec<&String> = nets.keys().collect();
                names.sort();
                names
                    .into_iter()
                    .find_map(|k| non_empty(nets.get(k)?.ip_address.as_deref()))
            })
        })
    });
    let port = labels.get(labels::PORT).and_then(|p| p.parse().ok());
    let mut info = ContainerInfo::new(id, name, image, state);
    info.address = address(host_network, ip, port);
    info.labels = labels;
    Ok(info)
}

fn non_empty(s: Option<&str>) -> Option<&str> {
    s.filter(|s| !s.is_empty())
}

/// One pull report as progress, or the engine's error message.
pub(crate) fn pull_report(report: LibpodImagesPullReport) -> Result<Option<PullProgress>, String> {
    if let Some(err) = report.error.filter(|e| !e.is_empty()) {
        return Err(err);
    }
    let status = match (report.stream, report.id) {
        (Some(line), _) if !line.trim().is_empty() => line.trim().to_owned(),
        (_, Some(id)) if !id.is_empty() => format!("Pulled {id}"),
        _ => return Ok(None),
    };
    Ok(Some(PullProgress {
        status,
        current: None,
        total: None,
    }))
}

/// libpod's one-shot stats of one container (`{"Stats": [{"MemUsage": …, "MemLimit": …}]}`)
/// as core's memory use; zeros when the answer names none.
pub(crate) fn memory_usage(stats: &serde_json::Value) -> lticontainer_core::container::MemoryUsage {
    let first = stats.pointer("/Stats/0");
    let field = |name: &str| {
        first
            .and_then(|s| s.get(name))
            .and_then(serde_json::Value::as_u64)
    };
    lticontainer_core::container::MemoryUsage {
        used_bytes: field("MemUsage").unwrap_or_default(),
        limit_bytes: field("MemLimit").filter(|l| *l > 0),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use std::path::PathBuf;

    use lticontainer_core::container::{Mount, VolumeSpec};
    use serde_json::{Value, json};

    use super::*;

    fn spec() -> ContainerSpec {
        let mut s = ContainerSpec::new("lticontainer-alice", "lticontainer-test/busybox:latest");
        s.cmd = vec!["sleep".into(), "300".into()];
        s.env.insert("NB_USER".into(), "alice".into());
        s.user = Some("root".into());
        s.working_dir = Some("/home/alice".into());
        s.labels.insert(labels::USER.into(), "alice".into());
        s.labels.insert(labels::PORT.into(), "8888".into());
        s.labels.insert("other".into(), "x".into());
        s.mounts = vec![
            Mount {
                source: MountSource::Bind(PathBuf::from("/srv/course")),
                target: "/home/alice/course".into(),
                read_only: true,
            },
            Mount {
                source: MountSource::Volume("lticontainer-alice-home".into()),
                target: "/home/alice/work".into(),
                read_only: false,
            },
        ];
        s.volumes = vec![VolumeSpec::new("lticontainer-alice-home", BTreeMap::new())];
        s.limits = ResourceLimits {
            cpu_limit: Some(1.5),
            mem_limit: Some(256 * 1024 * 1024),
            cpu_guarantee: Some(0.5),
            mem_guarantee: Some(64 * 1024 * 1024),
        };
        s
    }

    fn json_of(spec: &ContainerSpec, network: &NetworkMode) -> Value {
        let mut spec = spec.clone();
        spec.network = network.clone();
        spec.validate().unwrap();
        serde_json::from_str(&create_opts(&spec).unwrap().serialize().unwrap()).unwrap()
    }

    /// What `create_and_start` does before it contacts the engine: validate, then convert.
    fn checked_opts(s: &ContainerSpec) -> lticontainer_core::Result<ContainerCreateOpts> {
        s.validate()?;
        Ok(create_opts(s)?)
    }

    #[test]
    fn spec_becomes_libpod_create_body() {
        let body = json_of(&spec(), &NetworkMode::Host);
        assert_eq!(body["name"], "lticontainer-alice");
        assert_eq!(body["image"], "lticontainer-test/busybox:latest");
        assert_eq!(body["command"], json!(["sleep", "300"]));
        assert_eq!(body["env"], json!({"NB_USER": "alice"}));
        assert_eq!(body["user"], "root");
        assert_eq!(body["work_dir"], "/home/alice");
        assert_eq!(body["labels"]["lticontainer.user"], "alice");
        assert_eq!(body["privileged"], false);
        assert_eq!(body["restart_policy"], "no");
        assert_eq!(body["netns"], json!({"nsmode": "host"}));
        assert!(body.get("Networks").is_none());
        assert_eq!(
            body["mounts"],
            json!([{"destination": "/home/alice/course", "source": "/srv/course",
                    "type": "bind", "options": ["rbind", "ro"]}])
        );
        assert_eq!(
            body["volumes"],
            json!([{"Name": "lticontainer-alice-home", "Dest": "/home/alice/work",
                    "Options": ["rw"]}])
        );
        let r = &body["resource_limits"];
        assert_eq!(r["memory"]["limit"], 256 * 1024 * 1024);
        assert_eq!(r["memory"]["reservation"], 64 * 1024 * 1024);
        assert_eq!(r["cpu"]["quota"], 150_000);
        assert_eq!(r["cpu"]["period"], 100_000);
        assert_eq!(r["cpu"]["shares"], 512);
    }

    #[test]
    fn minimal_spec_sets_no_limits_mounts_or_command() {
        let s = ContainerSpec::new("a", "img");
        let body = json_of(&s, &NetworkMode::Bridge);
        assert_eq!(body["netns"], json!({"nsmode": "bridge"}));
        for absent in [
            "command",
            "user",
            "work_dir",
            "mounts",
            "volumes",
            "resource_limits",
        ] {
            assert!(
                body.get(absent).is_none(),
                "{absent} should be unset: {body}"
            );
        }
    }

    #[test]
    fn named_network_joins_it_on_a_bridge_namespace() {
        let body = json_of(&spec(), &NetworkMode::Named("jupyter".into()));
        assert_eq!(body["netns"], json!({"nsmode": "bridge"}));
        assert_eq!(body["Networks"], json!({"jupyter": {}}));
    }

    #[test]
    fn network_specs_become_plain_bridges_and_read_back() {
        let mut spec = NetworkSpec::new(
            "lticontainer-alice-net",
            "10.213.0.16/28".parse().expect("subnet"),
        );
        spec.labels.insert(labels::USER.into(), "alice".into());
        let body: Value = serde_json::from_str(&network_opts(&spec).serialize().unwrap()).unwrap();
        assert_eq!(body["name"], "lticontainer-alice-net");
        assert_eq!(body["driver"], "bridge");
        assert_eq!(
            body["internal"], false,
            "CNI internal networks lose the gateway"
        );
        assert_eq!(body["dns_enabled"], false);
        assert_eq!(body["network_interface"], "ltc0ad50010");
        assert_eq!(body["subnets"][0]["subnet"], "10.213.0.16/28");
        assert_eq!(body["subnets"][0]["gateway"], "10.213.0.17");
        assert_eq!(body["labels"]["lticontainer.user"], "alice");

        let reply: Network = serde_json::from_value(json!({
            "name": "lticontainer-alice-net", "id": "n1", "driver": "bridge",
            "network_interface": "ltc0ad50010",
            "subnets": [{"subnet": "10.213.0.16/28", "gateway": "10.213.0.17"}],
            "labels": {"lticontainer.user": "alice"}
        }))
        .unwrap();
        assert_eq!(
            network_info(reply, "asked").unwrap(),
            NetworkInfo::from_spec("n1", &spec)
        );
    }

    #[test]
    fn bad_specs_are_rejected_with_the_reason() {
        type Breaker = Box<dyn Fn(&mut ContainerSpec)>;
        let cases: Vec<(&str, Breaker)> = vec![
            ("name", Box::new(|s| s.name = "-bad".into())),
            ("name", Box::new(|s| s.name = "a b".into())),
            ("name", Box::new(|s| s.name = String::new())),
            ("no image", Box::new(|s| s.image = " ".into())),
            (
                "environment",
                Box::new(|s| {
                    s.env.insert("A=B".into(), "x".into());
                }),
            ),
            (
                "mount target",
                Box::new(|s| s.mounts[0].target = "rel".into()),
            ),
            (
                "bind mount source",
                Box::new(|s| {
                    s.mounts[0].source = MountSource::Bind(PathBuf::from("rel/dir"));
                }),
            ),
            (
                "volume name",
                Box::new(|s| {
                    s.mounts[1].source = MountSource::Volume("a/b".into());
                }),
            ),
            (
                "cpu_limit",
                Box::new(|s| s.limits.cpu_limit = Some(f64::NAN)),
            ),
            (
                "cpu_guarantee",
                Box::new(|s| s.limits.cpu_guarantee = Some(-1.0)),
            ),
            (
                "at most 1024",
                Box::new(|s| s.limits.cpu_limit = Some(2048.0)),
            ),
            ("mem_limit", Box::new(|s| s.limits.mem_limit = Some(0))),
            (
                "mem_guarantee",
                Box::new(|s| s.limits.mem_guarantee = Some(u64::MAX)),
            ),
        ];
        for (needle, break_it) in cases {
            let mut s = spec();
            break_it(&mut s);
            let err = checked_opts(&s).unwrap_err();
            assert!(
                matches!(err, lticontainer_core::Error::InvalidInput { .. }),
                "{needle}: {err:?}"
            );
            assert!(err.to_string().contains(needle), "{needle}: {err}");
        }
    }

    #[test]
    fn states_map_onto_core() {
        assert_eq!(state_of("running", Some(0)), ContainerState::Running);
        assert_eq!(state_of("created", None), ContainerState::Created);
        assert_eq!(
            state_of("exited", Some(137)),
            ContainerState::Exited { code: Some(137) }
        );
        assert_eq!(
            state_of("paused", None),
            ContainerState::Other("paused".into())
        );
    }

    #[test]
    fn libpod_events_become_container_events() {
        for (action, kind) in [
            ("start", ContainerEventKind::Started),
            ("died", ContainerEventKind::Died),
            ("stop", ContainerEventKind::Stopped),
            ("oom", ContainerEventKind::OutOfMemory),
            ("remove", ContainerEventKind::Removed),
        ] {
            assert_eq!(
                event("container", action, "abc"),
                Some(ContainerEvent::new("abc", kind)),
                "{action}"
            );
        }
        assert_eq!(event("container", "cleanup", "abc"), None);
        assert_eq!(event("image", "remove", "abc"), None);
        assert_eq!(event("container", "died", ""), None);
        let filters: serde_json::Value = serde_json::from_str(&event_filters(&BTreeMap::from([(
            "lticontainer.hub".into(),
            "h".into(),
        )])))
        .unwrap();
        assert_eq!(
            filters,
            json!({"type": ["container"], "event": EVENT_ACTIONS, "label": ["lticontainer.hub=h"]})
        );
        let now = std::time::UNIX_EPOCH + std::time::Duration::new(1_000, 5);
        assert_eq!(events_since(now), "999.000000005");
    }

    #[test]
    fn addresses_follow_the_network_mode() {
        assert_eq!(
            address(true, None, Some(8888)),
            Some("127.0.0.1:8888".parse().unwrap())
        );
        assert_eq!(
            address(false, Some("10.88.0.5"), Some(8888)),
            Some("10.88.0.5:8888".parse().unwrap())
        );
        assert_eq!(address(false, None, Some(8888)), None);
        assert_eq!(address(false, Some("garbage"), Some(8888)), None);
        assert_eq!(address(true, None, None), None);
    }

    #[test]
    fn inspect_reply_becomes_info() {
        let data: InspectContainerData = serde_json::from_value(json!({
            "Id": "abc", "Name": "lticontainer-alice",
            "ImageName": "localhost/lticontainer-test/busybox:latest",
            "State": {"Status": "exited", "ExitCode": 3},
            "Config": {"Labels": {"lticontainer.port": "8888"}},
            "HostConfig": {"NetworkMode": "bridge"},
            "NetworkSettings": {"IPAddress": "", "Networks": {"podman": {"IPAddress": "10.88.0.7"}}}
        }))
        .unwrap();
        let info = info_from_inspect(data).unwrap();
        assert_eq!(info.id, "abc");
        assert_eq!(info.name, "lticontainer-alice");
        assert_eq!(info.state, ContainerState::Exited { code: Some(3) });
        assert_eq!(info.address, Some("10.88.0.7:8888".parse().unwrap()));
        assert_eq!(info.labelled_port(), Some(8888));

        let no_id: InspectContainerData = serde_json::from_value(json!({"Name": "x"})).unwrap();
        assert!(matches!(
            info_from_inspect(no_id),
            Err(Error::Unexpected { .. })
        ));
    }

    #[test]
    fn pull_reports_become_progress_or_the_error() {
        let report = |v: Value| serde_json::from_value::<LibpodImagesPullReport>(v).unwrap();
        assert_eq!(
            pull_report(report(json!({"stream": "Copying blob 123\n"})))
                .unwrap()
                .map(|p| p.status),
            Some("Copying blob 123".into())
        );
        assert_eq!(pull_report(report(json!({}))).unwrap(), None);
        assert_eq!(
            pull_report(report(json!({"error": "no such host"}))).unwrap_err(),
            "no such host"
        );
    }
}
