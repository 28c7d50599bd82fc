//! Bind mounts and named volumes, with their modes, and the labels of created volumes.
//!
//! Named volumes are declared in the spec's `volumes` and created by the caller with
//! `ensure_volume` first, as the hub does; `create_and_start` creates none.

use std::collections::BTreeMap;

use lticontainer_core::Runtime;
use lticontainer_core::container::{Mount, MountSource, VolumeSpec, labels};
use lticontainer_core::testkit;

use crate::util::{docker_cli, prefix, run_to_exit, runtime, script_spec};

#[tokio::test]
#[ignore = "needs Docker (scripts/test-all starts it)"]
async fn bind_mounts_honour_their_mode() {
    let rt = runtime();
    let p = prefix("binds");
    testkit::cleanup(&rt, &p).await;
    let rw = tempfile::tempdir().expect("tempdir");
    let ro = tempfile::tempdir().expect("tempdir");
    std::fs::write(ro.path().join("given.txt"), "from the host").expect("write");
    let mut spec = script_spec(
        &p,
        "binds",
        "echo written > /mnt/rw/out.txt && echo rw-ok; cat /mnt/ro/given.txt; echo; \
         if touch /mnt/ro/new 2>/dev/null; then echo ro-WRITABLE; else echo ro-refused; fi",
    );
    spec.mounts = vec![
        Mount {
            source: MountSource::Bind(rw.path().to_path_buf()),
            target: "/mnt/rw".into(),
            read_only: false,
        },
        Mount {
            source: MountSource::Bind(ro.path().to_path_buf()),
            target: "/mnt/ro".into(),
            read_only: true,
        },
    ];
    let (code, out) = run_to_exit(&rt, &spec).await;
    assert_eq!(code, Some(0), "{out}");
    assert!(out.contains("rw-ok"), "{out}");
    assert!(out.contains("from the host"), "{out}");
    assert!(out.contains("ro-refused"), "{out}");
    let written = std::fs::read_to_string(rw.path().join("out.txt")).expect("file from container");
    assert_eq!(written.trim(), "written");
    assert!(!ro.path().join("new").exists());
}

#[tokio::test]
#[ignore = "needs Docker (scripts/test-all starts it)"]
async fn named_volumes_are_created_labelled_and_honour_their_mode() {
    let rt = runtime();
    let p = prefix("volumes");
    testkit::cleanup(&rt, &p).await;
    let volume = format!("{p}-data");
    let _ = std::process::Command::new("docker")
        .args(["volume", "rm", "-f", &volume])
        .output();
    let mut spec = script_spec(
        &p,
        "vol",
        "echo shared > /data/rw/f && cat /data/ro/f && \
         if touch /data/ro/g 2>/dev/null; then echo ro-WRITABLE; else echo ro-refused; fi",
    );
    spec.labels.insert(labels::MANAGED_BY.into(), p.clone());
    let declared = VolumeSpec::new(
        volume.clone(),
        BTreeMap::from([(labels::MANAGED_BY.to_owned(), p.clone())]),
    );
    rt.ensure_volume(&declared.name, &declared.labels)
        .await
        .expect("ensure_volume");
    spec.volumes = vec![declared];
    spec.mounts = vec![
        Mount {
            source: MountSource::Volume(volume.clone()),
            target: "/data/rw".into(),
            read_only: false,
        },
        Mount {
            source: MountSource::Volume(volume.clone()),
            target: "/data/ro".into(),
            read_only: true,
        },
    ];
    let (code, out) = run_to_exit(&rt, &spec).await;
    assert_eq!(code, Some(0), "{out}");
    assert!(out.contains("shared"), "{out}");
    assert!(out.contains("ro-refused"), "{out}");
    let label = docker_cli(&[
        "volume",
        "inspect",
        "--format",
        &format!("{{{{index .Labels \"{}\"}}}}", labels::MANAGED_BY),
        &volume,
    ]);
    assert_eq!(label, p);

    // An existing volume is left as it is: its content and labels stay.
    let other = BTreeMap::from([("other".to_owned(), "x".to_owned())]);
    rt.ensure_volume(&volume, &other)
        .await
        .expect("ensure_volume");
    let labels_now = docker_cli(&["volume", "inspect", "--format", "{{json .Labels}}", &volume]);
    assert!(!labels_now.contains("other"), "{labels_now}");
    docker_cli(&["volume", "rm", &volume]);
}
