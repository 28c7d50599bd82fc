//! The spawn plan: a teacher and students side by side, identity, image policy, limits, env.

use std::collections::BTreeMap;

use lticontainer_core::container::{Mount, MountSource, labels};
use lticontainer_core::launch::LtiLaunch;
use lticontainer_core::params::LmsParams;
use lticontainer_core::spec::{
    HostDir, IdentityLookup, NoHostAccounts, SpawnPlan, SpecConfig, SpecError, build_spawn_plan,
};

use crate::launch::moodle_launch;

const NOW: i64 = 1_750_000_000;
const PORT: u16 = 40123;
const HOST: &str = "el.mml.tuis.ac.jp";

/// The custom parameters of the RSA activity: a teachers-only task volume, an open task volume,
/// a submit volume with a deadline, a personal volume, limits and session info.
fn rsa_course(close: i64) -> Vec<(String, String)> {
    let close = close.to_string();
    [
        ("custom_lms_teachers", "teacher1"),
        ("custom_lms_users", "alice bob"),
        ("custom_lms_vol_rsa", "-RSA課題用"),
        ("custom_lms_vol_data", "Data"),
        ("custom_lms_sub_rsa", "-提出"),
        ("custom_lms_sub_rsa_close", close.as_str()),
        ("custom_lms_prs_rsa", "MyWork"),
        ("custom_lms_sessioninfo", "3,76"),
        ("custom_lms_course", "Cryptography"),
        ("custom_lms_ltiname", "RSA exercises"),
        ("custom_lms_options", "doubleargs"),
        ("custom_lms_actlimit", "3600"),
    ]
    .iter()
    .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
    .collect()
}

/// The default config with `f` applied (the struct is `#[non_exhaustive]`).
fn with(f: impl FnOnce(&mut SpecConfig)) -> SpecConfig {
    let mut cfg = SpecConfig::default();
    f(&mut cfg);
    cfg
}

fn launch_with(user: &str, id: &str, roles: &str, extra: &[(String, String)]) -> LtiLaunch {
    let extra: Vec<(&str, &str)> = extra
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    moodle_launch(user, id, roles, &extra)
}

fn plan_for(
    cfg: &SpecConfig,
    launch: &LtiLaunch,
    ids: &dyn IdentityLookup,
) -> Result<SpawnPlan, SpecError> {
    let (params, _) = LmsParams::from_launch(launch);
    build_spawn_plan(cfg, launch, &params, ids, NOW, PORT)
}

fn plan(user: &str, id: &str, extra: &[(String, String)]) -> SpawnPlan {
    plan_for(
        &SpecConfig::default(),
        &launch_with(user, id, "Learner", extra),
        &NoHostAccounts,
    )
    .expect("a plan")
}

fn env<'a>(p: &'a SpawnPlan, k: &str) -> &'a str {
    p.container
        .env
        .get(k)
        .unwrap_or_else(|| panic!("env {k} missing"))
}

fn volume_mount<'a>(p: &'a SpawnPlan, physical: &str) -> Option<&'a Mount> {
    p.container
        .mounts
        .iter()
        .find(|m| m.source == MountSource::Volume(physical.to_owned()))
}

fn phys(kind: &str, name: &str) -> String {
    format!("lms_{kind}_{name}_219_{HOST}")
}

#[test]
fn teacher_and_student_side_by_side() {
    let course = rsa_course(NOW + 3600);
    let teacher = plan("teacher1", "2", &course);
    let student = plan("alice", "123", &course);

    assert!(teacher.is_teacher);
    assert!(!student.is_teacher);

    // Identity: base_id + user_id, default group "others" (not on the host: gid base_id).
    assert_eq!((teacher.identity.uid, teacher.identity.gid), (30002, 30000));
    assert_eq!((student.identity.uid, student.identity.gid), (30123, 30000));
    assert_eq!(student.identity.group, "others");

    // Home bind, same path inside.
    let home = "/home/others/alice";
    assert_eq!(
        student.container.mounts[0],
        Mount {
            source: MountSource::Bind(home.into()),
            target: home.to_owned(),
            read_only: false
        }
    );

    // Task volumes: read-only for the student, read-write for the teacher; the teachers-only
    // one (`-RSA課題用`) is not mounted for the student at all.
    let vols = format!("{home}/jupyter/works/.volumes");
    assert!(volume_mount(&student, &phys("vol", "rsa")).is_none());
    let s = volume_mount(&student, &phys("vol", "data")).expect("student mounts the task volume");
    assert!(s.read_only);
    assert_eq!(s.target, format!("{vols}/{}", phys("vol", "data")));
    for name in ["rsa", "data"] {
        let t = volume_mount(&teacher, &phys("vol", name)).expect("teacher mounts the task volume");
        assert!(!t.read_only, "{name}");
        assert_eq!(
            t.target,
            format!(
                "/home/others/teacher1/jupyter/works/.volumes/{}",
                phys("vol", name)
            )
        );
    }
    // Submit volume: read-write for both before the deadline.
    assert!(
        !volume_mount(&student, &phys("sub", "rsa"))
            .expect("open")
            .read_only
    );
    assert!(
        !volume_mount(&teacher, &phys("sub", "rsa"))
            .expect("open")
            .read_only
    );
    // Personal volumes are no engine volumes.
    assert!(volume_mount(&student, &phys("prs", "rsa")).is_none());
    let declared = |p: &SpawnPlan| -> Vec<String> {
        p.container.volumes.iter().map(|v| v.name.clone()).collect()
    };
    assert_eq!(
        declared(&student),
        vec![phys("vol", "data"), phys("sub", "rsa")]
    );
    assert_eq!(
        declared(&teacher),
        vec![phys("vol", "data"), phys("vol", "rsa"), phys("sub", "rsa")]
    );
    // The container declares the same volumes, labelled for the hub and the course only (a
    // course volume is shared: no user or port label), and passes the backends' check.
    let course_labels = BTreeMap::from([
        (
            labels::MANAGED_BY.to_owned(),
            SpecConfig::default().hub_instance,
        ),
        (labels::COURSE.to_owned(), "219".to_owned()),
    ]);
    for p in [&student, &teacher] {
        // Every named volume the container mounts is declared, and nothing else.
        let mounted: Vec<String> = p
            .container
            .mounts
            .iter()
            .filter_map(|m| match &m.source {
                MountSource::Volume(v) => Some(v.clone()),
                MountSource::Bind(_) => None,
            })
            .collect();
        assert_eq!(declared(p), mounted);
        assert!(
            p.container
                .volumes
                .iter()
                .all(|v| v.labels == course_labels),
            "{:?}",
            p.container.volumes
        );
        p.container.validate().expect("a plan's container is valid");
    }

    // NB_* lists: the `-` marker stays for the teacher's task/personal links and is gone for
    // submit links; the student's list lacks the teachers-only volume.
    assert_eq!(
        env(&teacher, "NB_VOLUMES"),
        format!(
            ".volumes/{}:Data .volumes/{}:-RSA課題用",
            phys("vol", "data"),
            phys("vol", "rsa")
        )
    );
    assert_eq!(
        env(&student, "NB_VOLUMES"),
        format!(".volumes/{}:Data", phys("vol", "data"))
    );
    assert_eq!(
        env(&student, "NB_SUBMITS"),
        format!(".volumes/{}:提出", phys("sub", "rsa"))
    );
    assert_eq!(
        env(&student, "NB_PRSNALS"),
        format!(".volumes/{}:MyWork", phys("prs", "rsa"))
    );

    // Env differences.
    assert_eq!(env(&teacher, "NB_TEACHER"), "teacher1");
    assert_eq!(env(&student, "NB_TEACHER"), "");
    assert_eq!(env(&teacher, "NB_UMASK"), "0033");
    assert_eq!(env(&student, "NB_UMASK"), "0037");
    for p in [&teacher, &student] {
        assert_eq!(env(p, "NB_THRGID"), "7000");
        assert_eq!(env(p, "NB_THRGROUP"), "TEACHER");
        assert_eq!(env(p, "NB_ACTLIMIT"), "3600");
        assert_eq!(env(p, "LTI_CTR_ID"), "3");
        assert_eq!(env(p, "LTI_ID"), "76");
        assert_eq!(env(p, "NB_HOSTNAME"), HOST);
        assert_eq!(env(p, "NB_OPTION"), "doubleargs");
        assert_eq!(env(p, "GRANT_SUDO"), "no");
    }
}

#[test]
fn submit_deadline_before_and_after() {
    let closed = rsa_course(NOW - 1);
    let student = plan("alice", "123", &closed);
    let teacher = plan("teacher1", "2", &closed);
    assert!(volume_mount(&student, &phys("sub", "rsa")).is_none());
    assert_eq!(env(&student, "NB_SUBMITS"), "");
    assert!(
        !student
            .container
            .volumes
            .iter()
            .any(|v| v.name == phys("sub", "rsa"))
    );
    assert!(
        volume_mount(&teacher, &phys("sub", "rsa")).is_some(),
        "teachers ignore deadlines"
    );
    assert_ne!(env(&teacher, "NB_SUBMITS"), "");
    // Exactly at the deadline it is still open (closed only when now > close).
    let student = plan("alice", "123", &rsa_course(NOW));
    assert!(volume_mount(&student, &phys("sub", "rsa")).is_some());
}

#[test]
fn malformed_deadline_closes_for_students_only() {
    let mut course = rsa_course(0);
    for (k, v) in &mut course {
        if k == "custom_lms_sub_rsa_close" {
            *v = "next friday".to_owned();
        }
    }
    assert!(volume_mount(&plan("alice", "123", &course), &phys("sub", "rsa")).is_none());
    assert!(volume_mount(&plan("teacher1", "2", &course), &phys("sub", "rsa")).is_some());
}

#[test]
fn who_gets_a_volume() {
    let course = rsa_course(NOW + 10);
    // Not in lms_users, not a teacher: nothing.
    let carol = plan("carol", "55", &course);
    assert_eq!(carol.container.mounts.len(), 1, "home only");
    assert_eq!(env(&carol, "NB_VOLUMES"), "");
    assert_eq!(env(&carol, "NB_PRSNALS"), "");
    assert!(carol.container.volumes.is_empty());

    // A per-volume list decides alone: teachers are not implicitly included.
    let mut course = rsa_course(NOW + 10);
    course.push(("custom_lms_vol_extra".into(), "Extra:carol".into()));
    let carol = plan("carol", "55", &course);
    let teacher = plan("teacher1", "2", &course);
    assert!(volume_mount(&carol, &phys("vol", "extra")).is_some());
    assert!(volume_mount(&teacher, &phys("vol", "extra")).is_none());

    // `*` in lms_users admits everybody.
    let everyone = vec![
        ("custom_lms_users".to_owned(), "*".to_owned()),
        ("custom_lms_vol_rsa".to_owned(), "RSA".to_owned()),
    ];
    assert!(volume_mount(&plan("zed", "9", &everyone), &phys("vol", "rsa")).is_some());
}

#[test]
fn teachers_from_roles_is_configurable() {
    let course = rsa_course(NOW + 10);
    let l = launch_with("prof", "7", "Instructor", &course);
    let on = plan_for(&SpecConfig::default(), &l, &NoHostAccounts).expect("plan");
    assert!(on.is_teacher);
    assert_eq!(env(&on, "NB_TEACHER"), "prof");
    let cfg = with(|c| {
        c.teachers_from_roles = false;
    });
    let off = plan_for(&cfg, &l, &NoHostAccounts).expect("plan");
    assert!(!off.is_teacher);
    assert_eq!(env(&off, "NB_TEACHER"), "");
    // `*` in lms_teachers never makes everybody a teacher.
    let star = vec![("custom_lms_teachers".to_owned(), "*".to_owned())];
    let p = plan("alice", "1", &star);
    assert!(!p.is_teacher);
    assert!(
        p.warnings.iter().any(|w| w.contains("lms_teachers")),
        "{:?}",
        p.warnings
    );
}

#[test]
fn read_only_task_volumes_can_be_turned_off() {
    let cfg = with(|c| {
        c.task_volumes_read_only_for_students = false;
    });
    let l = launch_with("alice", "123", "Learner", &rsa_course(NOW + 10));
    let p = plan_for(&cfg, &l, &NoHostAccounts).expect("plan");
    assert!(
        !volume_mount(&p, &phys("vol", "data"))
            .expect("mounted")
            .read_only
    );
}

/// A fake host with a few accounts and groups.
#[derive(Debug, Default)]
struct Host {
    users: BTreeMap<String, (u32, u32)>,
    groups: BTreeMap<u32, String>,
}

impl Host {
    fn with_user(mut self, name: &str, uid: u32, gid: u32) -> Self {
        self.users.insert(name.to_owned(), (uid, gid));
        self
    }
    fn with_group(mut self, gid: u32, name: &str) -> Self {
        self.groups.insert(gid, name.to_owned());
        self
    }
}

impl IdentityLookup for Host {
    fn user(&self, name: &str) -> Option<(u32, u32)> {
        self.users.get(name).copied()
    }
    fn group_name(&self, gid: u32) -> Option<String> {
        self.groups.get(&gid).cloned()
    }
    fn group_gid(&self, name: &str) -> Option<u32> {
        self.groups
            .iter()
            .find(|(_, n)| *n == name)
            .map(|(g, _)| *g)
    }
}

fn ext(uid: &str, gid: &str, group: &str) -> Vec<(String, String)> {
    [
        ("ext_user_userid", uid),
        ("ext_user_groupid", gid),
        ("ext_user_groupname", group),
    ]
    .iter()
    .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
    .collect()
}

#[test]
fn identity_resolution_order() {
    let cfg = SpecConfig::default();
    let host = Host::default()
        .with_user("alice", 1500, 1600)
        .with_group(1600, "staff")
        .with_group(2000, "others");
    let with_ext = launch_with("alice", "123", "Learner", &ext("5001", "5000", "lmsgroup"));

    // 1. The host account wins over ext_* and base_id; the host names the group.
    let p = plan_for(&cfg, &with_ext, &host).expect("plan");
    assert_eq!(
        (p.identity.uid, p.identity.gid, p.identity.group.as_str()),
        (1500, 1600, "staff")
    );
    assert_eq!(env(&p, "NB_UID"), "1500");
    assert_eq!(env(&p, "NB_GID"), "1600");
    assert_eq!(env(&p, "NB_GROUP"), "staff");
    assert_eq!(env(&p, "NB_DIR"), "/home/staff/alice");

    // 2. Without a host account: ext_* ids, and the ext group name (the host has no gid 5000).
    let p = plan_for(&cfg, &with_ext, &NoHostAccounts).expect("plan");
    assert_eq!(
        (p.identity.uid, p.identity.gid, p.identity.group.as_str()),
        (5001, 5000, "lmsgroup")
    );

    // 2b. A host group for the ext gid names it.
    let host5000 = Host::default().with_group(5000, "lmshostgroup");
    let p = plan_for(&cfg, &with_ext, &host5000).expect("plan");
    assert_eq!(p.identity.group, "lmshostgroup");

    // 3. Neither: base_id + user_id, the default group's host gid.
    let plain = launch_with("alice", "123", "Learner", &[]);
    let groups_only = Host::default().with_group(2000, "others");
    let p = plan_for(&cfg, &plain, &groups_only).expect("plan");
    assert_eq!(
        (p.identity.uid, p.identity.gid, p.identity.group.as_str()),
        (30123, 2000, "others")
    );
    // 3b. …or base_id when the default group is not on the host.
    let p = plan_for(&cfg, &plain, &NoHostAccounts).expect("plan");
    assert_eq!((p.identity.uid, p.identity.gid), (30123, 30000));
}

#[test]
fn non_numeric_user_id_without_accounts_is_an_error() {
    let l = launch_with("alice", "f3a9-guid", "Learner", &[]);
    let err = plan_for(&SpecConfig::default(), &l, &NoHostAccounts).expect_err("no uid");
    assert!(matches!(err, SpecError::NoIdentity { .. }), "{err:?}");
    let msg = err.to_string();
    assert!(msg.contains("alice") && msg.contains("f3a9-guid"), "{msg}");
    // An ext_user_userid rescues it.
    let l = launch_with("alice", "f3a9-guid", "Learner", &ext("5001", "", ""));
    let p = plan_for(&SpecConfig::default(), &l, &NoHostAccounts).expect("plan");
    assert_eq!(p.identity.uid, 5001);
    // So does a host account.
    let l = launch_with("alice", "f3a9-guid", "Learner", &[]);
    let host = Host::default().with_user("alice", 1500, 1600);
    assert_eq!(
        plan_for(&SpecConfig::default(), &l, &host)
            .expect("plan")
            .identity
            .uid,
        1500
    );
    // A user_id that overflows base_id + user_id is an error too.
    let l = launch_with("alice", "4294967295", "Learner", &[]);
    assert!(matches!(
        plan_for(&SpecConfig::default(), &l, &NoHostAccounts),
        Err(SpecError::NoIdentity { .. })
    ));
}

#[test]
fn system_identities_are_refused() {
    let host = Host::default()
        .with_user("root", 0, 0)
        .with_group(0, "root");
    let l = launch_with("root", "1", "Learner", &[]);
    let err = plan_for(&SpecConfig::default(), &l, &host).expect_err("root");
    assert!(
        matches!(err, SpecError::IdentityBelowMinimum { uid: 0, .. }),
        "{err:?}"
    );
    let l = launch_with("alice", "1", "Learner", &ext("0", "0", "root"));
    assert!(matches!(
        plan_for(&SpecConfig::default(), &l, &NoHostAccounts),
        Err(SpecError::IdentityBelowMinimum { .. })
    ));
    let l = launch_with("alice", "1", "Learner", &ext("1001", "50", "staff"));
    assert!(matches!(
        plan_for(&SpecConfig::default(), &l, &NoHostAccounts),
        Err(SpecError::IdentityBelowMinimum { gid: 50, .. })
    ));
}

#[test]
fn unsafe_host_group_names_are_skipped() {
    let host = Host::default()
        .with_user("alice", 1500, 1600)
        .with_group(1600, "Domain Users");
    let l = launch_with("alice", "1", "Learner", &[]);
    let p = plan_for(&SpecConfig::default(), &l, &host).expect("plan");
    assert_eq!(p.identity.group, "others");
    assert!(
        p.warnings.iter().any(|w| w.contains("Domain Users")),
        "{:?}",
        p.warnings
    );
}

#[test]
fn host_dirs_in_creation_order() {
    let p = plan("alice", "123", &[]);
    let dir = |path: &str, uid, mode| HostDir {
        path: path.to_owned(),
        uid,
        gid: 30000,
        mode,
    };
    assert_eq!(
        p.host_dirs,
        vec![
            dir("/home/others", 0, 0o755),
            dir("/home/others/alice", 30123, 0o700),
            dir("/home/others/alice/jupyter", 30123, 0o700),
            dir("/home/others/alice/jupyter/works", 30123, 0o700),
        ]
    );
}

#[test]
fn without_groups_the_home_has_no_empty_segment() {
    let cfg = with(|c| {
        c.use_group = false;
    });
    let p = plan_for(
        &cfg,
        &launch_with("alice", "123", "Learner", &[]),
        &NoHostAccounts,
    )
    .expect("plan");
    assert_eq!(env(&p, "NB_DIR"), "/home/alice");
    assert_eq!(p.host_dirs[0].path, "/home/alice");
    assert_eq!(p.host_dirs.len(), 3);
    assert_eq!(
        env(&p, "NB_GROUP"),
        "others",
        "start.sh still needs a group name"
    );
}

#[test]
fn bad_layout_config_is_an_error() {
    for cfg in [
        with(|c| {
            c.home_template = "/home/shared".to_owned();
        }),
        with(|c| {
            c.home_template = "home/{user}".to_owned();
        }),
        with(|c| {
            c.home_template = "/home/../{user}".to_owned();
        }),
        with(|c| {
            c.works_dir = "../x".to_owned();
        }),
        with(|c| {
            c.default_group = "bad group".to_owned();
        }),
    ] {
        let err = plan_for(
            &cfg,
            &launch_with("alice", "1", "Learner", &[]),
            &NoHostAccounts,
        )
        .expect_err("bad config");
        assert!(matches!(err, SpecError::Config(_)), "{err:?}");
    }
}

fn image_plan(cfg: &SpecConfig, image: &str) -> Result<SpawnPlan, SpecError> {
    let extra = vec![("custom_lms_image".to_owned(), image.to_owned())];
    plan_for(
        cfg,
        &launch_with("alice", "1", "Learner", &extra),
        &NoHostAccounts,
    )
}

#[test]
fn image_policy() {
    let cfg = with(|c| {
        c.default_image = "lticontainer/jupyter".to_owned();
        c.allowed_images = vec!["jupyter/*".to_owned(), "course/rsa:*".to_owned()];
    });
    // Empty → default (with the implied tag).
    assert_eq!(
        image_plan(&cfg, "").expect("plan").container.image,
        "lticontainer/jupyter:latest"
    );
    assert_eq!(
        image_plan(&cfg, "lticontainer/jupyter")
            .expect("plan")
            .container
            .image,
        "lticontainer/jupyter:latest"
    );
    // Moodle's `repo : tag` form.
    let p = image_plan(&cfg, "jupyter/scipy-notebook : 2024").expect("plan");
    assert_eq!(p.container.image, "jupyter/scipy-notebook:2024");
    assert_eq!(env(&p, "JUPYTER_IMAGE_SPEC"), "jupyter/scipy-notebook:2024");
    assert_eq!(
        image_plan(&cfg, "course/rsa:v2")
            .expect("plan")
            .container
            .image,
        "course/rsa:v2"
    );
    // Refused, with a message naming the image and the allowlist.
    let err = image_plan(&cfg, "evil/miner:latest").expect_err("refused");
    let msg = err.to_string();
    assert!(
        msg.contains("evil/miner:latest")
            && msg.contains("jupyter/*")
            && msg.contains("course/rsa:*"),
        "{msg}"
    );
    assert!(matches!(err, SpecError::ImageNotAllowed { .. }));
    assert!(image_plan(&cfg, "course/rsa2:v1").is_err());
    // Invalid references.
    for bad in ["-rm", "a..b", &"x".repeat(300), "/etc/passwd"] {
        assert!(
            matches!(image_plan(&cfg, bad), Err(SpecError::InvalidImage { .. })),
            "{bad}"
        );
    }
    // A default image that is itself invalid is the admin's error.
    let broken = with(|c| {
        c.default_image = "bad image!".to_owned();
    });
    assert!(matches!(image_plan(&broken, ""), Err(SpecError::Config(_))));
}

fn limits_plan(cfg: &SpecConfig, extra: &[(&str, &str)]) -> SpawnPlan {
    let extra: Vec<(String, String)> = extra
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    plan_for(
        cfg,
        &launch_with("alice", "1", "Learner", &extra),
        &NoHostAccounts,
    )
    .expect("plan")
}

#[test]
fn limits_defaults_overrides_and_caps() {
    let cfg = SpecConfig::default();
    let p = limits_plan(&cfg, &[]);
    assert_eq!(p.container.limits.cpu_limit, Some(1.0));
    assert_eq!(p.container.limits.mem_limit, Some(1 << 30));
    assert_eq!(env(&p, "CPU_LIMIT"), "1.0");
    assert_eq!(env(&p, "MEM_LIMIT"), "1073741824");
    assert_eq!(env(&p, "NB_ACTLIMIT"), "6000");
    assert!(p.warnings.is_empty(), "{:?}", p.warnings);

    let p = limits_plan(
        &cfg,
        &[
            ("custom_lms_cpulimit", "2"),
            ("custom_lms_memlimit", "524,288,000"),
            ("custom_lms_cpugrnt", "0.5"),
            ("custom_lms_memgrnt", "209,715,200"),
        ],
    );
    assert_eq!(p.container.limits.cpu_limit, Some(2.0));
    assert_eq!(p.container.limits.mem_limit, Some(524_288_000));
    assert_eq!(p.container.limits.cpu_guarantee, Some(0.5));
    assert_eq!(p.container.limits.mem_guarantee, Some(209_715_200));
    assert_eq!(p.container.limits.cpu_quota_us(), Some(200_000));

    // Over the cap, or "no limit" under a cap → the cap, with a warning.
    for (cpu, mem) in [("16", "17,179,869,184"), ("0.0", "0")] {
        let p = limits_plan(
            &cfg,
            &[("custom_lms_cpulimit", cpu), ("custom_lms_memlimit", mem)],
        );
        assert_eq!(p.container.limits.cpu_limit, Some(4.0), "{cpu}");
        assert_eq!(p.container.limits.mem_limit, Some(8 << 30), "{mem}");
        assert_eq!(p.warnings.len(), 2, "{:?}", p.warnings);
    }
    // Guarantees never exceed the limits.
    let p = limits_plan(
        &cfg,
        &[("custom_lms_cpulimit", "1"), ("custom_lms_cpugrnt", "3")],
    );
    assert_eq!(p.container.limits.cpu_guarantee, Some(1.0));

    // Without caps, 0 means unlimited and no env is exported.
    let uncapped = with(|c| {
        c.max_cpu_limit = None;
        c.max_mem_limit = None;
    });
    let p = limits_plan(
        &uncapped,
        &[
            ("custom_lms_cpulimit", "0"),
            ("custom_lms_memlimit", "0"),
            ("custom_lms_actlimit", "0"),
        ],
    );
    assert_eq!(p.container.limits.cpu_limit, None);
    assert_eq!(p.container.limits.mem_limit, None);
    assert!(!p.container.env.contains_key("CPU_LIMIT"));
    assert!(!p.container.env.contains_key("MEM_LIMIT"));
    assert_eq!(env(&p, "NB_ACTLIMIT"), "0");

    // The activity limit has an optional cap too.
    let act_cap = with(|c| {
        c.max_act_limit = Some(7200);
    });
    assert_eq!(
        env(
            &limits_plan(&act_cap, &[("custom_lms_actlimit", "0")]),
            "NB_ACTLIMIT"
        ),
        "7200"
    );
    assert_eq!(
        env(
            &limits_plan(&act_cap, &[("custom_lms_actlimit", "600")]),
            "NB_ACTLIMIT"
        ),
        "600"
    );

    // Values engines refuse fall back to the default.
    let p = limits_plan(
        &cfg,
        &[
            ("custom_lms_cpulimit", "0.001"),
            ("custom_lms_memlimit", "1024"),
        ],
    );
    assert_eq!(p.container.limits.cpu_limit, Some(1.0));
    assert_eq!(p.container.limits.mem_limit, Some(1 << 30));
    assert_eq!(p.warnings.len(), 2, "{:?}", p.warnings);
}

#[test]
fn no_sticky_overrides() {
    let cfg = SpecConfig::default();
    let first = limits_plan(
        &cfg,
        &[
            ("custom_lms_cpulimit", "2"),
            ("custom_lms_defurl", "/tree"),
            ("custom_lms_actlimit", "60"),
        ],
    );
    assert_eq!(first.container.limits.cpu_limit, Some(2.0));
    assert_eq!(first.default_url, "/tree");
    let second = limits_plan(&cfg, &[]);
    assert_eq!(second.container.limits.cpu_limit, Some(1.0));
    assert_eq!(second.default_url, "/lab");
    assert_eq!(env(&second, "NB_ACTLIMIT"), "6000");
}

#[test]
fn environment_is_complete() {
    let p = plan("alice", "123", &rsa_course(NOW + 10));
    let home = "/home/others/alice";
    for (k, v) in [
        ("NB_UID", "30123"),
        ("NB_GID", "30000"),
        ("NB_USER", "alice"),
        ("NB_GROUP", "others"),
        ("NB_DIR", home),
        ("NB_WRKDIR", "/home/others/alice/jupyter/works"),
        ("PRJCT_DIR", "jupyter"),
        ("WORK_DIR", "works"),
        ("VOLUME_DIR", ".volumes"),
        ("USER_HOME", home),
        ("JUPYTER_CONFIG_DIR", "/home/others/alice/.jupyter"),
        (
            "JUPYTER_DATA_DIR",
            "/home/others/alice/.local/share/jupyter",
        ),
        (
            "JUPYTER_RUNTIME_DIR",
            "/home/others/alice/.local/share/jupyter/runtime",
        ),
        (
            "XDG_RUNTIME_DIR",
            "/home/others/alice/.local/share/jupyter/runtime",
        ),
        ("XDG_CACHE_HOME", "/home/others/alice/.cache"),
        ("TZ", "UTC"),
        ("CONDA_DIR", "/opt/conda"),
        ("CHOWN_HOME", "yes"),
        ("CHOWN_HOME_OPTS", "-R"),
        ("LTI_COURSE", "Cryptography"),
        ("LTI_NAME", "RSA exercises"),
    ] {
        assert_eq!(env(&p, k), v, "{k}");
    }
    // Defaults when the launch says nothing.
    let bare = plan("alice", "123", &[]);
    assert_eq!(env(&bare, "LTI_CTR_ID"), "0");
    assert_eq!(env(&bare, "LTI_ID"), "0");
    assert_eq!(env(&bare, "LTI_COURSE"), "");
    assert_eq!(env(&bare, "NB_OPTION"), "");
    assert!(
        !bare
            .container
            .env
            .keys()
            .any(|k| k.starts_with("JUPYTERHUB_")),
        "the hub adds those"
    );
}

#[test]
fn configured_environment_loses_nul_bytes_and_keys_engines_refuse() {
    let mut cfg = SpecConfig::default();
    cfg.spawner_environment
        .insert("WITH_NUL".into(), "a\0b\0".into());
    cfg.spawner_environment.insert("A=B".into(), "1".into());
    cfg.spawner_environment
        .insert("NUL\0KEY".into(), "1".into());
    cfg.spawner_environment.insert(String::new(), "1".into());
    cfg.spawner_environment.insert("Ünïcode".into(), "ü".into());
    let p = plan_for(
        &cfg,
        &launch_with("alice", "123", "Learner", &[]),
        &NoHostAccounts,
    )
    .expect("plan");
    assert_eq!(env(&p, "WITH_NUL"), "ab");
    assert_eq!(env(&p, "Ünïcode"), "ü");
    let keys: Vec<&str> = p.container.env.keys().collect();
    assert!(
        keys.iter()
            .all(|k| !k.is_empty() && !k.contains(['=', '\0'])),
        "{keys:?}"
    );
}

#[test]
fn spawner_environment_is_merged_but_computed_values_win() {
    let mut cfg = SpecConfig::default();
    cfg.spawner_environment.insert("EXTRA".into(), "1".into());
    cfg.spawner_environment.insert("NB_UID".into(), "0".into());
    cfg.spawner_environment
        .insert("GRANT_SUDO".into(), "yes".into());
    cfg.spawner_environment
        .insert("NB_UMASK".into(), "0077".into());
    cfg.time_zone = "JST-9".into();
    let l = launch_with("alice", "123", "Learner", &[]);
    let p = plan_for(&cfg, &l, &NoHostAccounts).expect("plan");
    assert_eq!(env(&p, "EXTRA"), "1");
    assert_eq!(env(&p, "NB_UID"), "30123");
    assert_eq!(env(&p, "GRANT_SUDO"), "yes");
    assert_eq!(
        env(&p, "NB_UMASK"),
        "0077",
        "the configured student umask is kept"
    );
    assert_eq!(env(&p, "TZ"), "JST-9");
    let t = plan_for(
        &cfg,
        &launch_with("t", "5", "Instructor", &[]),
        &NoHostAccounts,
    )
    .expect("plan");
    assert_eq!(env(&t, "NB_UMASK"), "0033");
}

#[test]
fn name_labels_user_port() {
    let p = plan("alice", "123", &[]);
    let c = &p.container;
    assert_eq!(c.name, "lticontainer-alice");
    assert_eq!(c.port, PORT);
    assert_eq!(c.user.as_deref(), Some("root"));
    assert_eq!(c.working_dir.as_deref(), Some("/home/others/alice"));
    assert!(c.cmd.is_empty());
    assert_eq!(
        c.labels.get(labels::MANAGED_BY).map(String::as_str),
        Some("lticontainer")
    );
    assert_eq!(
        c.labels.get(labels::USER).map(String::as_str),
        Some("alice")
    );
    assert_eq!(
        c.labels.get(labels::PORT).map(String::as_str),
        Some("40123")
    );
    assert_eq!(
        c.labels.get(labels::COURSE).map(String::as_str),
        Some("219")
    );
    assert_eq!(p.default_url, "/lab");

    let cfg = with(|c| {
        c.run_as_root = false;
        c.container_prefix = "hub1-".into();
        c.hub_instance = "hub1".into();
    });
    let p = plan_for(
        &cfg,
        &launch_with("alice", "123", "Learner", &[]),
        &NoHostAccounts,
    )
    .expect("plan");
    assert_eq!(p.container.name, "hub1-alice");
    assert_eq!(p.container.user.as_deref(), Some("30123:30000"));
    assert_eq!(
        p.container
            .labels
            .get(labels::MANAGED_BY)
            .map(String::as_str),
        Some("hub1")
    );
}

#[test]
fn notice_files_are_mounted_read_only() {
    let cfg = with(|c| {
        c.notice_dir = Some("/usr/local/etc/ltictr/".into());
    });
    let p = plan_for(
        &cfg,
        &launch_with("alice", "123", "Learner", &[]),
        &NoHostAccounts,
    )
    .expect("plan");
    let notices: Vec<_> = p.container.mounts.iter().filter(|m| m.read_only).collect();
    assert_eq!(notices.len(), 3);
    assert_eq!(
        notices[0].source,
        MountSource::Bind("/usr/local/etc/ltictr/notice_memory.txt".into())
    );
    assert_eq!(
        notices[0].target,
        "/home/others/alice/jupyter/works/.notice_memory.txt"
    );
}

#[test]
fn unusable_course_id_mounts_no_volumes() {
    let mut course = rsa_course(NOW + 10);
    course.push(("context_id".into(), "../219".into()));
    let p = plan("teacher1", "2", &course);
    assert_eq!(p.container.mounts.len(), 1);
    assert!(p.container.volumes.is_empty());
    assert!(!p.container.labels.contains_key(labels::COURSE));
    assert!(
        p.warnings.iter().any(|w| w.contains("context_id")),
        "{:?}",
        p.warnings
    );
}

#[test]
fn mapped_usernames_match_list_entries() {
    let course = vec![
        (
            "custom_lms_teachers".to_owned(),
            "Prof@Example.org".to_owned(),
        ),
        ("custom_lms_vol_rsa".to_owned(), "RSA".to_owned()),
    ];
    let p = plan("prof@example.org", "8", &course);
    assert!(p.is_teacher, "{}", p.container.name);
    assert!(volume_mount(&p, &phys("vol", "rsa")).is_some());
}

#[test]
fn bad_container_prefix_is_a_config_error() {
    let cfg = with(|c| c.container_prefix = String::new());
    let l = launch_with("_x", "1", "Learner", &[]);
    assert!(matches!(
        plan_for(&cfg, &l, &NoHostAccounts),
        Err(SpecError::Config(_))
    ));
    let cfg = with(|c| c.container_prefix = "a b-".into());
    let l = launch_with("alice", "1", "Learner", &[]);
    assert!(matches!(
        plan_for(&cfg, &l, &NoHostAccounts),
        Err(SpecError::Config(_))
    ));
}

#[test]
fn plans_are_deterministic() {
    let course = rsa_course(NOW + 10);
    assert_eq!(plan("alice", "123", &course), plan("alice", "123", &course));
}

#[test]
fn config_deserialises_with_defaults_and_rejects_typos() {
    let cfg: SpecConfig =
        serde_json::from_str(r#"{"allowed_images": ["a/*"], "max_mem_limit": null}"#)
            .expect("valid");
    assert_eq!(cfg.allowed_images, vec!["a/*"]);
    assert_eq!(cfg.max_mem_limit, None);
    assert_eq!(cfg.base_id, 30000);
    assert!(serde_json::from_str::<SpecConfig>(r#"{"defualt_group": "x"}"#).is_err());
}

mod prop {
    use proptest::prelude::*;

    use super::*;

    fn key() -> impl Strategy<Value = String> {
        prop_oneof![
            Just("user_id".to_owned()),
            Just("ext_user_username".to_owned()),
            Just("context_id".to_owned()),
            Just("roles".to_owned()),
            Just("lis_outcome_service_url".to_owned()),
            Just("ext_user_userid".to_owned()),
            Just("ext_user_groupid".to_owned()),
            Just("ext_user_groupname".to_owned()),
            "custom_lms_(image|users|teachers|cpulimit|memlimit|actlimit|cpugrnt|memgrnt|defurl|options|iframe|sessioninfo|serverurl|serverpath|rpctoken|course|ltiname)",
            "custom_lms_(vol|sub|prs)_[a-z0-9_./]{0,6}",
            "custom_lms_sub_[a-z0-9]{1,3}_close",
            "\\PC{0,12}",
        ]
    }

    fn value() -> impl Strategy<Value = String> {
        prop_oneof![
            "[0-9]{0,25}",
            "[0-9,.]{0,12}",
            "-?[a-zA-Z0-9 ._*:/-]{0,20}(:[a-z*, ]{0,10})?",
            "\\PC{0,24}",
            ".{0,24}",
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(512))]

        #[test]
        fn arbitrary_launches_never_panic(
            pairs in proptest::collection::vec((key(), value()), 0..24),
            now in any::<i64>(),
            port in any::<u16>(),
        ) {
            let mut params = vec![
                ("user_id".to_owned(), "42".to_owned()),
                ("resource_link_id".to_owned(), "1".to_owned()),
            ];
            params.extend(pairs);
            let Ok(launch) = LtiLaunch::from_params("k", &params, "ext_user_username") else {
                return Ok(());
            };
            let (lms, _) = LmsParams::from_launch(&launch);
            let cfg = with(|c| {c.allowed_images = vec!["*".to_owned()];});
            if let Ok(plan) = build_spawn_plan(&cfg, &launch, &lms, &NoHostAccounts, now, port) {
                if let Err(e) = plan.container.validate() {
                    prop_assert!(false, "the backends would refuse the plan's container: {e}");
                }
                let home = env(&plan, "NB_DIR").to_owned();
                prop_assert!(home.starts_with("/home/"));
                prop_assert!(!home.split('/').any(|s| s == ".." || s == "."));
                for m in &plan.container.mounts {
                    prop_assert!(m.target.starts_with(&home), "{} outside {}", m.target, home);
                    if let MountSource::Volume(v) = &m.source {
                        prop_assert!(!v.contains('/') && !v.contains(".."), "{v}");
                    }
                }
                for (k, v) in &plan.container.env {
                    prop_assert!(!k.contains('\0') && !v.contains('\0'));
                }
                for list in ["NB_VOLUMES", "NB_SUBMITS", "NB_PRSNALS"] {
                    for entry in env(&plan, list).split(' ').filter(|e| !e.is_empty()) {
                        let (dir, link) = entry.split_once(':').expect("dir:link");
                        prop_assert!(dir.starts_with(".volumes/lms_"));
                        prop_assert!(!link.is_empty() && !link.contains(['/', ':', ' ']));
                        prop_assert!(!link.trim_start_matches('-').starts_with('.'));
                    }
                }
                prop_assert!(plan.container.limits.cpu_limit.is_none_or(|c| c <= 4.0));
                prop_assert!(plan.identity.uid >= 1000);
            }
        }
    }
}

#[test]
fn plan_launch_merges_parameter_warnings_first() {
    let extra = vec![
        ("custom_lms_memlimit".to_owned(), "lots".to_owned()),
        ("custom_lms_cpulimit".to_owned(), "64".to_owned()),
    ];
    let l = launch_with("alice", "123", "Learner", &extra);
    let p = lticontainer_core::spec::plan_launch(
        &SpecConfig::default(),
        &l,
        &NoHostAccounts,
        NOW,
        PORT,
    )
    .expect("plan");
    assert_eq!(p.warnings.len(), 2, "{:?}", p.warnings);
    assert!(
        p.warnings[0].starts_with("custom_lms_memlimit: "),
        "{:?}",
        p.warnings
    );
    assert!(p.warnings[1].contains("cap"), "{:?}", p.warnings);
    assert_eq!(p, {
        let (params, _) = LmsParams::from_launch(&l);
        let mut direct = build_spawn_plan(
            &SpecConfig::default(),
            &l,
            &params,
            &NoHostAccounts,
            NOW,
            PORT,
        )
        .expect("plan");
        direct.warnings.insert(0, p.warnings[0].clone());
        direct
    });
}

#[test]
fn students_never_get_the_teacher_gid() {
    let l = launch_with("alice", "1", "Learner", &ext("5001", "7000", "staff"));
    let err = plan_for(&SpecConfig::default(), &l, &NoHostAccounts).expect_err("refused");
    assert!(
        matches!(err, SpecError::StudentInTeacherGroup { gid: 7000, .. }),
        "{err:?}"
    );
    assert!(err.to_string().contains("alice"));
    // A teacher with that primary group is fine.
    let l = launch_with("prof", "1", "Instructor", &ext("5001", "7000", "staff"));
    assert!(plan_for(&SpecConfig::default(), &l, &NoHostAccounts).is_ok());
}
