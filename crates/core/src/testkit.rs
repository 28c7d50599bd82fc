//! The conformance suite every [`Runtime`] backend runs (feature `testkit`).
//!
//! Each function takes a runtime and an image that exists locally and runs a short scenario
//! against it, panicking (as tests do) when the runtime breaks the [`Runtime`] contract. The
//! image must keep running when started with `spec.cmd` = `["sleep", "300"]`.
//! Every container and network the suite creates carries the label `lticontainer.testkit=<prefix>`
//! and a name starting with the prefix, and is removed before the function returns.
//!
//! A backend runs the whole suite with one [`runtime_conformance!`](crate::runtime_conformance)
//! call in a test file.

#![allow(clippy::unwrap_used, clippy::panic)]

use std::collections::BTreeMap;
use std::time::Duration;

use std::net::IpAddr;

use crate::Error;
use crate::container::{ContainerEvent, ContainerEventKind, ContainerSpec, labels};
use crate::network::{Ipv4Subnet, NetworkMode, NetworkSpec};
use crate::runtime::{EventStream, Runtime};

/// The label that marks containers and networks created by this suite.
pub const TESTKIT_LABEL: &str = "lticontainer.testkit";

/// The subnet [`network_lifecycle`] uses when a backend names none (a private range the suite
/// keeps to itself; a backend whose host uses it passes another).
pub const DEFAULT_SUBNET: &str = "10.213.255.240/28";

/// A spec for a container that sleeps, labelled for the suite.
pub fn sleeper(prefix: &str, suffix: &str, image: &str) -> ContainerSpec {
    let mut spec = ContainerSpec::new(format!("{prefix}-{suffix}"), image);
    spec.cmd = vec!["sleep".into(), "300".into()];
    spec.labels.insert(TESTKIT_LABEL.into(), prefix.into());
    spec.labels.insert(labels::USER.into(), suffix.into());
    spec.labels.insert(labels::PORT.into(), "18888".into());
    spec.port = 18888;
    spec
}

/// Removes every container labelled with `prefix` (cleanup before and after a scenario).
pub async fn cleanup(rt: &dyn Runtime, prefix: &str) {
    let sel = BTreeMap::from([(TESTKIT_LABEL.to_owned(), prefix.to_owned())]);
    for c in rt.list(&sel).await.unwrap_or_default() {
        let _ = rt.remove(&c.id).await;
    }
}

/// Removes every container and then every network labelled with `prefix`.
pub async fn cleanup_networks(rt: &dyn Runtime, prefix: &str) {
    cleanup(rt, prefix).await;
    let sel = BTreeMap::from([(TESTKIT_LABEL.to_owned(), prefix.to_owned())]);
    for n in rt.list_networks(&sel).await.unwrap_or_default() {
        let _ = rt.remove_network(&n.name).await;
    }
}

/// create → inspect (running, labels kept) → stop (twice) → remove (twice) → inspect is NotFound.
pub async fn create_start_stop_remove(rt: &dyn Runtime, image: &str, prefix: &str) {
    cleanup(rt, prefix).await;
    let spec = sleeper(prefix, "lifecycle", image);
    let info = rt.create_and_start(&spec).await.unwrap();
    assert_eq!(info.name, spec.name);
    assert!(rt.has_image(image).await.unwrap(), "has_image({image})");
    let seen = rt.inspect(&info.id).await.unwrap();
    assert!(
        seen.state.is_running(),
        "state after start: {:?}",
        seen.state
    );
    assert_eq!(seen.labels.get(TESTKIT_LABEL), Some(&prefix.to_owned()));
    assert_eq!(seen.labelled_port(), Some(18888));
    let by_name = rt.inspect(&spec.name).await.unwrap();
    assert_eq!(by_name.id, info.id);
    rt.stop(&info.id, Duration::from_secs(1)).await.unwrap();
    assert!(!rt.inspect(&info.id).await.unwrap().state.is_running());
    rt.stop(&info.id, Duration::from_secs(1)).await.unwrap();
    rt.remove(&info.id).await.unwrap();
    rt.remove(&info.id).await.unwrap();
    assert!(rt.inspect(&info.id).await.unwrap_err().is_not_found());
}

/// A second container with the same name is AlreadyExists and leaves the first untouched.
pub async fn duplicate_name_is_already_exists(rt: &dyn Runtime, image: &str, prefix: &str) {
    cleanup(rt, prefix).await;
    let spec = sleeper(prefix, "dup", image);
    let first = rt.create_and_start(&spec).await.unwrap();
    let err = rt.create_and_start(&spec).await.unwrap_err();
    assert!(matches!(err, Error::AlreadyExists { .. }), "got {err:?}");
    assert!(rt.inspect(&first.id).await.unwrap().state.is_running());
    cleanup(rt, prefix).await;
}

/// A missing image is NotFound naming the image, and no container is left behind.
pub async fn missing_image_is_not_found(rt: &dyn Runtime, prefix: &str) {
    cleanup(rt, prefix).await;
    let image = "lticontainer-testkit/does-not-exist:never";
    assert!(!rt.has_image(image).await.unwrap(), "has_image({image})");
    let err = rt.ensure_image(image, &|_| {}).await.unwrap_err();
    assert!(err.is_not_found(), "ensure_image: {err:?}");
    assert!(err.to_string().contains("does-not-exist"), "{err}");
    let spec = sleeper(prefix, "noimage", image);
    let err = rt.create_and_start(&spec).await.unwrap_err();
    assert!(err.is_not_found(), "create_and_start: {err:?}");
    assert!(rt.inspect(&spec.name).await.unwrap_err().is_not_found());
}

/// Stop of a missing container is NotFound; remove of a missing container succeeds.
pub async fn missing_container_semantics(rt: &dyn Runtime) {
    let ghost = "lticontainer-testkit-ghost-0000";
    assert!(rt.inspect(ghost).await.unwrap_err().is_not_found());
    assert!(
        rt.stop(ghost, Duration::from_secs(1))
            .await
            .unwrap_err()
            .is_not_found()
    );
    rt.remove(ghost).await.unwrap();
    assert!(rt.logs(ghost, 10).await.unwrap_err().is_not_found());
    assert!(rt.memory_usage(ghost).await.unwrap_err().is_not_found());
}

/// A running container's memory use comes with the limit it was created with.
pub async fn memory_usage_reports_the_limit(rt: &dyn Runtime, image: &str, prefix: &str) {
    cleanup(rt, prefix).await;
    let mut spec = sleeper(prefix, "mem", image);
    spec.limits.mem_limit = Some(64 * 1024 * 1024);
    let info = rt.create_and_start(&spec).await.unwrap();
    let usage = rt.memory_usage(&info.id).await.unwrap();
    assert_eq!(usage.limit_bytes, Some(64 * 1024 * 1024), "{usage:?}");
    assert!(usage.used_bytes < 64 * 1024 * 1024, "{usage:?}");
    rt.remove(&info.id).await.unwrap();
}

/// Listing by labels finds exactly the labelled containers (what a restarted hub re-adopts).
pub async fn list_by_labels(rt: &dyn Runtime, image: &str, prefix: &str) {
    cleanup(rt, prefix).await;
    let a = rt
        .create_and_start(&sleeper(prefix, "a", image))
        .await
        .unwrap();
    let b = rt
        .create_and_start(&sleeper(prefix, "b", image))
        .await
        .unwrap();
    let sel = BTreeMap::from([(TESTKIT_LABEL.to_owned(), prefix.to_owned())]);
    let mut ids: Vec<String> = rt
        .list(&sel)
        .await
        .unwrap()
        .into_iter()
        .map(|c| c.id)
        .collect();
    ids.sort();
    let mut want = vec![a.id.clone(), b.id.clone()];
    want.sort();
    assert_eq!(ids, want);
    let only_a = BTreeMap::from([
        (TESTKIT_LABEL.to_owned(), prefix.to_owned()),
        (labels::USER.to_owned(), "a".to_owned()),
    ]);
    let found = rt.list(&only_a).await.unwrap();
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].id, a.id);
    cleanup(rt, prefix).await;
}

/// Capability bits of `/proc/self/status` ([`never_privileged`]).
const CAP_CHOWN: u32 = 0;
const CAP_DAC_OVERRIDE: u32 = 1;
const CAP_FOWNER: u32 = 3;
const CAP_SETGID: u32 = 6;
const CAP_SETUID: u32 = 7;
const CAP_NET_ADMIN: u32 = 12;
const CAP_SYS_MODULE: u32 = 16;
const CAP_SYS_ADMIN: u32 = 21;

/// A container started as root is never privileged: it keeps the engine's default capabilities
/// (those the image's `start.sh` needs to create the user: CHOWN, DAC_OVERRIDE, FOWNER, SETGID,
/// SETUID) and none of a privileged container's (NET_ADMIN, SYS_MODULE, SYS_ADMIN), and
/// `no-new-privileges` is unset (sudo needs setuid). Needs a real engine: `image` must run
/// `sh -c 'cat /proc/self/status'`.
pub async fn never_privileged(rt: &dyn Runtime, image: &str, prefix: &str) {
    cleanup(rt, prefix).await;
    let mut spec = sleeper(prefix, "caps", image);
    spec.user = Some("root".into());
    spec.cmd = vec!["sh".into(), "-c".into(), "cat /proc/self/status".into()];
    let info = rt.create_and_start(&spec).await.unwrap();
    // The engine's state is read until the process is done (no event stream is needed here).
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    let code = loop {
        match rt.inspect(&info.id).await.unwrap().state {
            crate::container::ContainerState::Exited { code } => break code,
            other => {
                assert!(
                    std::time::Instant::now() < deadline,
                    "{} still {other:?} after 60 s",
                    spec.name
                );
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
    };
    let status = rt.logs(&info.id, 1000).await.unwrap();
    cleanup(rt, prefix).await;
    assert_eq!(code, Some(0), "{status}");
    let field = |name: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name)?.strip_prefix(':'))
            .map(str::trim)
            .unwrap_or_else(|| panic!("no {name} in {status}"))
    };
    let caps = u64::from_str_radix(field("CapEff"), 16).expect("hex capability set");
    let has = |bit: u32| caps & (1 << bit) != 0;
    for (name, bit) in [
        ("CHOWN", CAP_CHOWN),
        ("DAC_OVERRIDE", CAP_DAC_OVERRIDE),
        ("FOWNER", CAP_FOWNER),
        ("SETGID", CAP_SETGID),
        ("SETUID", CAP_SETUID),
    ] {
        assert!(has(bit), "start.sh needs CAP_{name}: {caps:#x}");
    }
    for (name, bit) in [
        ("NET_ADMIN", CAP_NET_ADMIN),
        ("SYS_MODULE", CAP_SYS_MODULE),
        ("SYS_ADMIN", CAP_SYS_ADMIN),
    ] {
        assert!(
            !has(bit),
            "a privileged capability CAP_{name} is set: {caps:#x}"
        );
    }
    assert_eq!(field("NoNewPrivs"), "0", "sudo needs setuid to work");
}

/// The name of the volume [`ensure_volume_is_idempotent`] creates for `prefix` (for a backend's
/// cleanup afterwards: the [`Runtime`] trait never deletes volumes).
pub fn volume_name(prefix: &str) -> String {
    format!("{prefix}-vol")
}

/// Volumes are created once, with their labels, and reused: `volume_labels` reads the labels of
/// a volume from the engine itself (`None` when there is no such volume), so a backend whose
/// `ensure_volume` does nothing, or drops the labels, fails.
pub async fn ensure_volume_is_idempotent(
    rt: &dyn Runtime,
    prefix: &str,
    volume_labels: impl Fn(&str) -> Option<BTreeMap<String, String>>,
) {
    let name = volume_name(prefix);
    let labels = BTreeMap::from([(TESTKIT_LABEL.to_owned(), prefix.to_owned())]);
    assert_eq!(
        volume_labels(&name),
        None,
        "volume {name} exists before the test"
    );
    rt.ensure_volume(&name, &labels).await.unwrap();
    let created = volume_labels(&name)
        .unwrap_or_else(|| panic!("ensure_volume({name:?}) returned Ok but made no volume"));
    for (k, v) in &labels {
        assert_eq!(
            created.get(k),
            Some(v),
            "volume {name} lacks the label {k}={v}: {created:?}"
        );
    }
    rt.ensure_volume(&name, &labels).await.unwrap();
    assert_eq!(
        volume_labels(&name),
        Some(created),
        "a second ensure_volume changed volume {name}"
    );
}

/// The labels of volume `name` as the engine's command-line client `cli` (`docker` or `podman`)
/// reports them; `None` when it has no such volume. For the `volume_labels` argument of
/// [`ensure_volume_is_idempotent`] on a real engine.
pub fn volume_labels_from_cli(cli: &str, name: &str) -> Option<BTreeMap<String, String>> {
    let out = std::process::Command::new(cli)
        .args(["volume", "inspect", "--format"])
        .arg("{{range $k, $v := .Labels}}{{$k}}={{$v}}\n{{end}}")
        .arg(name)
        .output()
        .unwrap_or_else(|e| panic!("cannot run {cli}: {e}"));
    if !out.status.success() {
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            err.to_lowercase().contains("no such volume"),
            "{cli} volume inspect {name}: {err}"
        );
        return None;
    }
    Some(
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .filter_map(|l| l.split_once('='))
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect(),
    )
}

/// How long [`events_report_stop_and_remove`] waits for each event.
pub const EVENT_WAIT: Duration = Duration::from_secs(15);

/// The next event on `events` for which `wanted` holds, within [`EVENT_WAIT`]; no event seen on
/// the way may be about a container in `excluded` (one the subscription's label filter leaves
/// out). Events of other containers may pass: the engine is shared with tests running
/// alongside, and Podman 4.3 lets some of their `remove` events through its label filter (the
/// hub's watcher ignores containers it does not know).
async fn wait_for_event(
    events: &mut EventStream,
    excluded: &[&str],
    what: &str,
    wanted: impl Fn(&ContainerEvent) -> bool,
) -> ContainerEvent {
    let mut seen = Vec::new();
    let waiting = async {
        loop {
            let next = std::future::poll_fn(|cx| events.as_mut().poll_next(cx)).await;
            match next {
                Some(Ok(ev)) => {
                    assert!(
                        !excluded.contains(&ev.id.as_str()),
                        "an event for a container outside the label filter: {ev:?}"
                    );
                    if wanted(&ev) {
                        return ev;
                    }
                    seen.push(ev);
                }
                Some(Err(e)) => panic!("the event stream failed while waiting for {what}: {e}"),
                None => panic!("the event stream ended while waiting for {what}"),
            }
        }
    };
    match tokio::time::timeout(EVENT_WAIT, waiting).await {
        Ok(ev) => ev,
        Err(_) => panic!("no {what} within {EVENT_WAIT:?}; events seen: {seen:?}"),
    }
}

/// Events: subscribed to a label, a stop of a labelled running container gives `Died` or
/// `Stopped` with its id, and its removal `Removed`; a container without the label gives none.
pub async fn events_report_stop_and_remove(rt: &dyn Runtime, image: &str, prefix: &str) {
    let other = format!("{prefix}-x");
    cleanup(rt, prefix).await;
    cleanup(rt, &other).await;
    let watched = rt
        .create_and_start(&sleeper(prefix, "ev", image))
        .await
        .unwrap();
    let sel = BTreeMap::from([(TESTKIT_LABEL.to_owned(), prefix.to_owned())]);
    let mut events = rt.events(&sel).await.unwrap();

    // A container with another label value: none of its events may reach this subscriber.
    let unwatched = rt
        .create_and_start(&sleeper(&other, "ev", image))
        .await
        .unwrap();
    rt.stop(&unwatched.id, Duration::from_secs(1))
        .await
        .unwrap();

    rt.stop(&watched.id, Duration::from_secs(1)).await.unwrap();
    let excluded = [unwatched.id.as_str()];
    let ended = wait_for_event(&mut events, &excluded, "Died/Stopped", |ev| {
        ev.id == watched.id
            && matches!(
                ev.kind,
                ContainerEventKind::Died | ContainerEventKind::Stopped
            )
    })
    .await;
    assert_eq!(ended.id, watched.id);
    assert!(ended.kind.ends_container());

    rt.remove(&watched.id).await.unwrap();
    let removed = wait_for_event(&mut events, &excluded, "Removed", |ev| {
        ev.id == watched.id && ev.kind == ContainerEventKind::Removed
    })
    .await;
    assert_eq!(removed.id, watched.id);
    drop(events);
    cleanup(rt, prefix).await;
    cleanup(rt, &other).await;
}

/// A network is created as specified (name, labels, subnet, gateway, bridge interface), once;
/// listed by its labels; a container on it gets an address in its subnet (not the gateway); it
/// is not removed while the container runs; once the container is gone it is removed, twice.
pub async fn network_lifecycle(rt: &dyn Runtime, image: &str, prefix: &str, subnet: &str) {
    cleanup_networks(rt, prefix).await;
    let subnet: Ipv4Subnet = subnet.parse().unwrap();
    let mut net = NetworkSpec::new(format!("{prefix}-net"), subnet);
    net.labels = BTreeMap::from([
        (TESTKIT_LABEL.to_owned(), prefix.to_owned()),
        (labels::USER.to_owned(), "net".to_owned()),
    ]);
    let info = rt.create_network(&net).await.unwrap();
    assert_eq!(info.name, net.name);
    assert_eq!(info.subnet, Some(subnet));
    assert_eq!(info.gateway, Some(net.gateway));
    assert_eq!(info.interface.as_deref(), Some(net.interface.as_str()));
    assert_eq!(info.labels.get(TESTKIT_LABEL), Some(&prefix.to_owned()));
    let err = rt.create_network(&net).await.unwrap_err();
    assert!(matches!(err, Error::AlreadyExists { .. }), "got {err:?}");

    let sel = BTreeMap::from([(TESTKIT_LABEL.to_owned(), prefix.to_owned())]);
    let listed = rt.list_networks(&sel).await.unwrap();
    assert_eq!(
        listed.iter().map(|n| n.name.as_str()).collect::<Vec<_>>(),
        [net.name.as_str()]
    );
    assert_eq!(listed[0].subnet, Some(subnet));

    let mut spec = sleeper(prefix, "onnet", image);
    spec.network = NetworkMode::Named(net.name.clone());
    let c = rt.create_and_start(&spec).await.unwrap();
    for seen in [c.clone(), rt.inspect(&c.id).await.unwrap()] {
        let addr = seen
            .address
            .expect("a container on a network has an address");
        let IpAddr::V4(ip) = addr.ip() else {
            panic!("an IPv4 address on an IPv4 network, got {addr}");
        };
        assert!(subnet.contains(ip), "{ip} lies outside {subnet}");
        assert_ne!(ip, net.gateway, "the gateway is the host's address");
        assert_eq!(addr.port(), 18888);
    }
    assert!(
        rt.remove_network(&net.name).await.is_err(),
        "a network a running container uses is removed"
    );
    assert_eq!(rt.list_networks(&sel).await.unwrap().len(), 1);
    rt.remove(&c.id).await.unwrap();
    rt.remove_network(&net.name).await.unwrap();
    rt.remove_network(&net.name).await.unwrap();
    assert!(rt.list_networks(&sel).await.unwrap().is_empty());
}

/// A container on a network that does not exist is NotFound naming the network, and no
/// container is left behind.
pub async fn missing_network_is_not_found(rt: &dyn Runtime, image: &str, prefix: &str) {
    cleanup(rt, prefix).await;
    let network = format!("{prefix}-absent-net");
    let mut spec = sleeper(prefix, "nonet", image);
    spec.network = NetworkMode::Named(network.clone());
    let err = rt.create_and_start(&spec).await.unwrap_err();
    assert!(err.is_not_found(), "create_and_start: {err:?}");
    assert!(err.to_string().contains(&network), "{err}");
    assert!(rt.inspect(&spec.name).await.unwrap_err().is_not_found());
    cleanup(rt, prefix).await;
}

/// `n` create+start calls at once all succeed.
pub async fn concurrent_starts(rt: &dyn Runtime, image: &str, prefix: &str, n: usize) {
    cleanup(rt, prefix).await;
    let specs: Vec<ContainerSpec> = (0..n)
        .map(|i| sleeper(prefix, &format!("c{i}"), image))
        .collect();
    // The runtime is borrowed, so the calls run concurrently on this task.
    let futures = specs.iter().map(|s| rt.create_and_start(s));
    let results = futures_join_all(futures).await;
    let failures: Vec<String> = results
        .iter()
        .filter_map(|r| r.as_ref().err().map(|e| e.to_string()))
        .collect();
    assert!(
        failures.is_empty(),
        "{} of {n} failed: {failures:?}",
        failures.len()
    );
    cleanup(rt, prefix).await;
}

/// Runs futures concurrently on the current task and collects their outputs in order.
async fn futures_join_all<F: std::future::Future>(
    futs: impl IntoIterator<Item = F>,
) -> Vec<F::Output> {
    let mut pinned: Vec<std::pin::Pin<Box<F>>> = futs.into_iter().map(Box::pin).collect();
    let mut out: Vec<Option<F::Output>> = pinned.iter().map(|_| None).collect();
    std::future::poll_fn(|cx| {
        let mut pending = false;
        for (i, f) in pinned.iter_mut().enumerate() {
            if out[i].is_none() {
                match f.as_mut().poll(cx) {
                    std::task::Poll::Ready(v) => out[i] = Some(v),
                    std::task::Poll::Pending => pending = true,
                }
            }
        }
        if pending {
            std::task::Poll::Pending
        } else {
            std::task::Poll::Ready(())
        }
    })
    .await;
    out.into_iter().flatten().collect()
}

/// Expands to one test per function of the conformance suite ([`crate::testkit`]), so a
/// backend runs the whole suite with one call.
///
/// The tests are `create_start_stop_remove`, `duplicate_name_is_already_exists`,
/// `missing_image_is_not_found`, `missing_container_semantics`, `list_by_labels`,
/// `ensure_volume_is_idempotent`, `events_report_stop_and_remove`, `network_lifecycle`,
/// `missing_network_is_not_found` and `twenty_concurrent_starts` (on a two-worker multi-thread
/// runtime). The calling crate needs `tokio` (with the `macros` and `rt-multi-thread` features)
/// among its dev-dependencies.
///
/// * `runtime`: an expression that builds the runtime; evaluated once in each test.
/// * `image`: a local image that keeps running with `sleep 300`.
/// * `prefix`: a function or closure turning a short scenario key (`"lifecycle"`, `"dup"`,
///   `"noimage"`, `"list"`, `"vol"`, `"events"`, `"net"`, `"nonet"`, `"conc"`) into the prefix
///   of the containers and networks it makes.
/// * `volume_labels`: a function or closure `|rt: &R, name: &str| -> Option<BTreeMap<String,
///   String>>` reading a volume's labels from the engine itself (`None`: no such volume), for
///   `ensure_volume_is_idempotent`; [`volume_labels_from_cli`] for Docker and Podman.
/// * `ignore` (optional): every test is `#[ignore = <reason>]`, e.g. for tests that need an
///   engine `cargo test` does not start.
/// * `remove_volume` (optional): a function or closure called with the name of the volume
///   `ensure_volume_is_idempotent` creates, to remove a leftover before and the volume after it
///   (it must accept a missing volume); `volume_labels` must then find none.
/// * `subnet` (optional): the IPv4 subnet `network_lifecycle` creates its network on (default
///   [`DEFAULT_SUBNET`]); give each backend its own when their suites may run at once.
///
/// # Example
/// ```
/// use lticontainer_core::memory::InMemoryRuntime;
///
/// lticontainer_core::runtime_conformance! {
///     runtime: InMemoryRuntime::new().with_image("busybox:latest"),
///     image: "busybox:latest",
///     prefix: |key: &str| format!("mem-{key}"),
///     volume_labels: |rt: &InMemoryRuntime, name: &str| rt.volume_labels(name),
/// }
/// # fn main() {}
/// ```
///
/// A real engine's suite, ignored by plain `cargo test` and cleaning up its volume:
/// ```
/// # use lticontainer_core::memory::InMemoryRuntime;
/// # const IMAGE: &str = "lticontainer-test/busybox:latest";
/// # fn runtime() -> InMemoryRuntime { InMemoryRuntime::new() }
/// # fn prefix(key: &str) -> String { format!("ltc-docker-{key}") }
/// # fn docker_cli(_args: &[&str]) {}
/// lticontainer_core::runtime_conformance! {
///     runtime: runtime(),
///     image: IMAGE,
///     prefix: prefix,
///     volume_labels: |_: &InMemoryRuntime, name: &str| {
///         lticontainer_core::testkit::volume_labels_from_cli("docker", name)
///     },
///     ignore: "needs Docker (scripts/test-all starts it)",
///     remove_volume: |name: &str| { docker_cli(&["volume", "rm", "--force", name]); },
///     subnet: "10.213.254.0/28",
/// }
/// # fn main() {}
/// ```
#[macro_export]
macro_rules! runtime_conformance {
    (
        runtime: $runtime:expr,
        image: $image:expr,
        prefix: $prefix:expr,
        volume_labels: $volume_labels:expr
        $(, ignore: $reason:literal)?
        $(, remove_volume: $remove_volume:expr)?
        $(, subnet: $subnet:expr)?
        $(,)?
    ) => {
        #[::tokio::test]
        $(#[ignore = $reason])?
        async fn create_start_stop_remove() {
            let rt = $runtime;
            let prefix: ::std::string::String = ($prefix)("lifecycle");
            $crate::testkit::create_start_stop_remove(&rt, $image, &prefix).await;
        }

        #[::tokio::test]
        $(#[ignore = $reason])?
        async fn duplicate_name_is_already_exists() {
            let rt = $runtime;
            let prefix: ::std::string::String = ($prefix)("dup");
            $crate::testkit::duplicate_name_is_already_exists(&rt, $image, &prefix).await;
        }

        #[::tokio::test]
        $(#[ignore = $reason])?
        async fn missing_image_is_not_found() {
            let rt = $runtime;
            let prefix: ::std::string::String = ($prefix)("noimage");
            $crate::testkit::missing_image_is_not_found(&rt, &prefix).await;
        }

        #[::tokio::test]
        $(#[ignore = $reason])?
        async fn memory_usage_reports_the_limit() {
            let rt = $runtime;
            let prefix: ::std::string::String = ($prefix)("mem");
            $crate::testkit::memory_usage_reports_the_limit(&rt, $image, &prefix).await;
        }

        #[::tokio::test]
        $(#[ignore = $reason])?
        async fn missing_container_semantics() {
            let rt = $runtime;
            $crate::testkit::missing_container_semantics(&rt).await;
        }

        #[::tokio::test]
        $(#[ignore = $reason])?
        async fn list_by_labels() {
            let rt = $runtime;
            let prefix: ::std::string::String = ($prefix)("list");
            $crate::testkit::list_by_labels(&rt, $image, &prefix).await;
        }

        #[::tokio::test]
        $(#[ignore = $reason])?
        async fn ensure_volume_is_idempotent() {
            let rt = $runtime;
            let prefix: ::std::string::String = ($prefix)("vol");
            let name = $crate::testkit::volume_name(&prefix);
            let labels_of = $volume_labels;
            // A volume left by an earlier, interrupted run.
            $(($remove_volume)(&name);)?
            $crate::testkit::ensure_volume_is_idempotent(&rt, &prefix, |n: &str| labels_of(&rt, n)).await;
            $(
                ($remove_volume)(&name);
                assert_eq!(labels_of(&rt, &name), None, "volume {name} is still there after its removal");
            )?
        }

        #[::tokio::test]
        $(#[ignore = $reason])?
        async fn events_report_stop_and_remove() {
            let rt = $runtime;
            let prefix: ::std::string::String = ($prefix)("events");
            $crate::testkit::events_report_stop_and_remove(&rt, $image, &prefix).await;
        }

        #[::tokio::test]
        $(#[ignore = $reason])?
        async fn network_lifecycle() {
            let rt = $runtime;
            let prefix: ::std::string::String = ($prefix)("net");
            #[allow(unused_variables)]
            let subnet: &str = $crate::testkit::DEFAULT_SUBNET;
            $(let subnet: &str = $subnet;)?
            $crate::testkit::network_lifecycle(&rt, $image, &prefix, subnet).await;
        }

        #[::tokio::test]
        $(#[ignore = $reason])?
        async fn missing_network_is_not_found() {
            let rt = $runtime;
            let prefix: ::std::string::String = ($prefix)("nonet");
            $crate::testkit::missing_network_is_not_found(&rt, $image, &prefix).await;
        }

        #[::tokio::test(flavor = "multi_thread", worker_threads = 2)]
        $(#[ignore = $reason])?
        async fn twenty_concurrent_starts() {
            let rt = $runtime;
            let prefix: ::std::string::String = ($prefix)("conc");
            $crate::testkit::concurrent_starts(&rt, $image, &prefix, 20).await;
        }
    };
}
