//! Podman-specific behaviour on the real engine: limits, mounts, env, labels, re-adoption,
//! start failures, logs and image resolution.

use std::collections::BTreeMap;
use std::time::Duration;

use lticontainer_core::container::{
    ContainerState, Mount, MountSource, ResourceLimits, VolumeSpec, labels,
};
use lticontainer_core::testkit::{self, TESTKIT_LABEL};
use lticontainer_core::{Error, Runtime};

use crate::util::{IMAGE, remove_volume, runtime, selector, shell, wait_for_log};

/// Prints `path=value` for each cgroup file that exists (v1 and v2 names), then sleeps.
const CGROUP_SCRIPT: &str = "for f in \
    /sys/fs/cgroup/memory/memory.limit_in_bytes /sys/fs/cgroup/memory/memory.soft_limit_in_bytes \
    /sys/fs/cgroup/memory.max /sys/fs/cgroup/memory.low \
    /sys/fs/cgroup/cpu/cpu.cfs_quota_us /sys/fs/cgroup/cpu,cpuacct/cpu.cfs_quota_us \
    /sys/fs/cgroup/cpu/cpu.cfs_period_us /sys/fs/cgroup/cpu,cpuacct/cpu.cfs_period_us \
    /sys/fs/cgroup/cpu/cpu.shares /sys/fs/cgroup/cpu,cpuacct/cpu.shares /sys/fs/cgroup/cpu.max; \
    do [ -f $f ] && echo \"$f=$(cat $f)\"; done; echo cgroups-done; sleep 300";

/// The value printed for the first of `files` that exists in the container.
fn cgroup_value<'a>(logs: &'a str, files: &[&str]) -> Option<&'a str> {
    files.iter().find_map(|f| {
        logs.lines()
            .find_map(|l| l.strip_prefix(&format!("{f}=")))
            .map(str::trim)
    })
}

#[tokio::test]
#[ignore = "needs Podman (scripts/test-all starts it)"]
async fn memory_and_cpu_limits_are_applied_in_the_cgroup() {
    let rt = runtime();
    let prefix = "ltc-pm-limits";
    testkit::cleanup(&rt, prefix).await;
    let mut spec = shell(prefix, "limits", CGROUP_SCRIPT);
    spec.limits = ResourceLimits {
        cpu_limit: Some(0.5),
        mem_limit: Some(64 * 1024 * 1024),
        cpu_guarantee: Some(0.25),
        mem_guarantee: Some(32 * 1024 * 1024),
    };
    let info = rt.create_and_start(&spec).await.unwrap();
    let logs = wait_for_log(&rt, &info.id, "cgroups-done").await;

    if let Some(max) = cgroup_value(&logs, &["/sys/fs/cgroup/memory.max"]) {
        // cgroup v2
        assert_eq!(max, "67108864", "{logs}");
        let cpu = cgroup_value(&logs, &["/sys/fs/cgroup/cpu.max"]).unwrap();
        assert_eq!(cpu, "50000 100000", "{logs}");
        assert_eq!(
            cgroup_value(&logs, &["/sys/fs/cgroup/memory.low"]),
            Some("33554432"),
            "{logs}"
        );
    } else {
        // cgroup v1
        let limit = cgroup_value(&logs, &["/sys/fs/cgroup/memory/memory.limit_in_bytes"]);
        assert_eq!(limit, Some("67108864"), "{logs}");
        let soft = cgroup_value(&logs, &["/sys/fs/cgroup/memory/memory.soft_limit_in_bytes"]);
        assert_eq!(soft, Some("33554432"), "{logs}");
        let cpu = |name: &str| {
            cgroup_value(
                &logs,
                &[
                    &format!("/sys/fs/cgroup/cpu/{name}"),
                    &format!("/sys/fs/cgroup/cpu,cpuacct/{name}"),
                ],
            )
        };
        assert_eq!(cpu("cpu.cfs_quota_us"), Some("50000"), "{logs}");
        assert_eq!(cpu("cpu.cfs_period_us"), Some("100000"), "{logs}");
        assert_eq!(cpu("cpu.shares"), Some("256"), "{logs}");
    }
    testkit::cleanup(&rt, prefix).await;
}

#[tokio::test]
#[ignore = "needs Podman (scripts/test-all starts it)"]
async fn read_only_mounts_refuse_writes_and_read_write_mounts_accept_them() {
    let rt = runtime();
    let prefix = "ltc-pm-mounts";
    testkit::cleanup(&rt, prefix).await;
    let ro_dir = tempfile::tempdir().unwrap();
    let rw_dir = tempfile::tempdir().unwrap();
    std::fs::write(ro_dir.path().join("given.txt"), "from the host\n").unwrap();
    let volume = format!("{prefix}-data");
    remove_volume(&volume);
    let mut spec = shell(
        prefix,
        "mounts",
        "cat /ro/given.txt; \
         touch /ro/new 2>/dev/null && echo ro-bind-writable || echo ro-bind-refused; \
         touch /rw/new && echo rw-bind-written; \
         touch /vol-ro/new 2>/dev/null && echo ro-volume-writable || echo ro-volume-refused; \
         echo mounts-done; sleep 300",
    );
    spec.mounts = vec![
        Mount {
            source: MountSource::Bind(ro_dir.path().to_owned()),
            target: "/ro".into(),
            read_only: true,
        },
        Mount {
            source: MountSource::Bind(rw_dir.path().to_owned()),
            target: "/rw".into(),
            read_only: false,
        },
        Mount {
            source: MountSource::Volume(volume.clone()),
            target: "/vol-ro".into(),
            read_only: true,
        },
    ];
    // The caller creates the declared volume first, as the hub does.
    spec.volumes = vec![VolumeSpec::new(volume, selector(prefix))];
    for v in &spec.volumes {
        rt.ensure_volume(&v.name, &v.labels).await.unwrap();
    }
    let info = rt.create_and_start(&spec).await.unwrap();
    let logs = wait_for_log(&rt, &info.id, "mounts-done").await;
    assert!(logs.contains("from the host"), "{logs}");
    assert!(logs.contains("ro-bind-refused"), "{logs}");
    assert!(logs.contains("rw-bind-written"), "{logs}");
    assert!(logs.contains("ro-volume-refused"), "{logs}");
    assert!(!ro_dir.path().join("new").exists());
    assert!(rw_dir.path().join("new").exists());
    testkit::cleanup(&rt, prefix).await;
    remove_volume(&format!("{prefix}-data"));
}

#[tokio::test]
#[ignore = "needs Podman (scripts/test-all starts it)"]
async fn env_user_workdir_and_labels_reach_the_container() {
    let rt = runtime();
    let prefix = "ltc-pm-env";
    testkit::cleanup(&rt, prefix).await;
    let mut spec = shell(
        prefix,
        "env",
        "echo \"GREETING=[$GREETING]\"; echo \"uid=$(id -u)\"; echo \"pwd=$(pwd)\"; \
         echo env-done; sleep 300",
    );
    spec.env
        .insert("GREETING".into(), "hello, world = 1".into());
    spec.user = Some("65534:65534".into());
    spec.working_dir = Some("/tmp".into());
    spec.labels
        .insert(labels::COURSE.into(), "course-42".into());
    let info = rt.create_and_start(&spec).await.unwrap();
    assert_eq!(
        info.labels.get(labels::COURSE).map(String::as_str),
        Some("course-42")
    );
    assert_eq!(info.address, Some("127.0.0.1:18888".parse().unwrap()));
    let logs = wait_for_log(&rt, &info.id, "env-done").await;
    assert!(logs.contains("GREETING=[hello, world = 1]"), "{logs}");
    assert!(logs.contains("uid=65534"), "{logs}");
    assert!(logs.contains("pwd=/tmp"), "{logs}");
    testkit::cleanup(&rt, prefix).await;
}

#[tokio::test]
#[ignore = "needs Podman (scripts/test-all starts it)"]
async fn a_restarted_hub_re_adopts_its_containers_by_label() {
    let prefix = "ltc-pm-adopt";
    let hub = "ltc-pm-adopt-hub";
    {
        let rt = runtime();
        testkit::cleanup(&rt, prefix).await;
        for user in ["ann", "bob"] {
            let mut spec = testkit::sleeper(prefix, user, IMAGE);
            spec.labels.insert(labels::MANAGED_BY.into(), hub.into());
            rt.create_and_start(&spec).await.unwrap();
        }
        // bob's container is stopped: re-adoption must still see it.
        rt.stop(&format!("{prefix}-bob"), Duration::from_secs(1))
            .await
            .unwrap();
    }
    // A fresh runtime stands for the restarted hub.
    let rt = runtime();
    let sel = BTreeMap::from([(labels::MANAGED_BY.to_owned(), hub.to_owned())]);
    let mut found = rt.list(&sel).await.unwrap();
    found.sort_by(|a, b| a.name.cmp(&b.name));
    let names: Vec<&str> = found.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(names, [format!("{prefix}-ann"), format!("{prefix}-bob")]);
    assert!(found[0].state.is_running(), "{:?}", found[0].state);
    assert!(
        matches!(found[1].state, ContainerState::Exited { .. }),
        "{:?}",
        found[1].state
    );
    assert_eq!(found[0].address, Some("127.0.0.1:18888".parse().unwrap()));
    assert_eq!(
        found[0].labels.get(labels::USER).map(String::as_str),
        Some("ann")
    );
    // Labels that match nothing find nothing; the selector is an AND of all labels.
    let mut none = sel.clone();
    none.insert(TESTKIT_LABEL.into(), "someone-else".into());
    assert!(rt.list(&none).await.unwrap().is_empty());
    testkit::cleanup(&rt, prefix).await;
    assert!(rt.list(&selector(prefix)).await.unwrap().is_empty());
}

#[tokio::test]
#[ignore = "needs Podman (scripts/test-all starts it)"]
async fn a_container_that_fails_to_start_is_removed() {
    let rt = runtime();
    let prefix = "ltc-pm-badstart";
    testkit::cleanup(&rt, prefix).await;
    let mut spec = testkit::sleeper(prefix, "bad", IMAGE);
    spec.cmd = vec!["/no/such/program".into()];
    let err = rt.create_and_start(&spec).await.unwrap_err();
    assert!(matches!(err, Error::Backend { .. }), "{err:?}");
    assert!(rt.inspect(&spec.name).await.unwrap_err().is_not_found());
    // The name is free again.
    spec.cmd = vec!["sleep".into(), "300".into()];
    rt.create_and_start(&spec).await.unwrap();
    testkit::cleanup(&rt, prefix).await;
}

#[tokio::test]
#[ignore = "needs Podman (scripts/test-all starts it)"]
async fn logs_return_the_last_lines_and_stopped_containers_report_their_exit_code() {
    let rt = runtime();
    let prefix = "ltc-pm-logs";
    testkit::cleanup(&rt, prefix).await;
    let spec = shell(
        prefix,
        "logs",
        "for i in 1 2 3 4 5; do echo line-$i; done; exit 3",
    );
    let info = rt.create_and_start(&spec).await.unwrap();
    let logs = wait_for_log(&rt, &info.id, "line-5").await;
    assert!(logs.contains("line-1"), "{logs}");
    let tail = rt.logs(&info.id, 2).await.unwrap();
    assert_eq!(tail.lines().collect::<Vec<_>>(), ["line-4", "line-5"]);
    let mut state = rt.inspect(&info.id).await.unwrap().state;
    for _ in 0..100 {
        if !state.is_running() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
        state = rt.inspect(&info.id).await.unwrap().state;
    }
    assert_eq!(state, ContainerState::Exited { code: Some(3) });
    // Stopping an exited container succeeds.
    rt.stop(&info.id, Duration::from_secs(1)).await.unwrap();
    testkit::cleanup(&rt, prefix).await;
}

#[tokio::test]
#[ignore = "needs Podman (scripts/test-all starts it)"]
async fn short_and_localhost_image_names_resolve_to_the_local_image() {
    let rt = runtime();
    let reported = std::sync::Mutex::new(Vec::new());
    let progress = |p: lticontainer_core::container::PullProgress| {
        if let Ok(mut r) = reported.lock() {
            r.push(p.status);
        }
    };
    rt.ensure_image(IMAGE, &progress).await.unwrap();
    rt.ensure_image(&format!("localhost/{IMAGE}"), &progress)
        .await
        .unwrap();
    assert!(
        reported.lock().unwrap().is_empty(),
        "a local image needs no pull"
    );
    let err = rt
        .ensure_image("localhost/lticontainer-test/absent:1", &progress)
        .await
        .unwrap_err();
    assert!(err.is_not_found(), "{err:?}");
    assert!(
        err.to_string().contains("lticontainer-test/absent:1"),
        "{err}"
    );
}

#[tokio::test]
#[ignore = "needs Podman (scripts/test-all starts it)"]
async fn stop_sends_term_first_and_kills_after_the_grace_period() {
    let rt = runtime();
    let prefix = "ltc-pm-stop";
    testkit::cleanup(&rt, prefix).await;
    // Exits cleanly on SIGTERM.
    let polite = shell(
        prefix,
        "polite",
        "trap 'echo got-term; exit 0' TERM; echo ready; while true; do sleep 1; done",
    );
    let polite = rt.create_and_start(&polite).await.unwrap();
    wait_for_log(&rt, &polite.id, "ready").await;
    rt.stop(&polite.id, Duration::from_secs(30)).await.unwrap();
    assert_eq!(
        rt.inspect(&polite.id).await.unwrap().state,
        ContainerState::Exited { code: Some(0) }
    );
    assert!(rt.logs(&polite.id, 10).await.unwrap().contains("got-term"));

    // `sleep` as PID 1 ignores SIGTERM, so only the kill after the grace period ends it. The
    // container's own stop timeout is an hour: were the 1 s grace not sent (Podman ignores
    // podman-api's `Timeout`), Podman would wait that hour, and `stop` would fail at the
    // runtime's request deadline instead of returning (no wall-clock bound in the test).
    let out = std::process::Command::new("podman")
        .args(["run", "-d", "--network", "host", "--stop-timeout", "3600"])
        .args(["--label", &format!("{}={prefix}", testkit::TESTKIT_LABEL)])
        .args([
            "--name",
            &format!("{prefix}-stubborn"),
            IMAGE,
            "sleep",
            "100000",
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "podman run: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stubborn = rt.inspect(&format!("{prefix}-stubborn")).await.unwrap();
    rt.stop(&stubborn.id, Duration::from_secs(1)).await.unwrap();
    assert_eq!(
        rt.inspect(&stubborn.id).await.unwrap().state,
        ContainerState::Exited { code: Some(137) }
    );
    testkit::cleanup(&rt, prefix).await;
}
