//! Every `lms_*` parameter (docs/original-system.md, "Parameters"), and what happens to bad
//! values.

use lticontainer_core::params::{
    LmsParams, ParamWarning, SessionInfo, SubmitClose, VolumeKind, VolumeParam,
};

use lticontainer_core::launch::{DEFAULT_USERNAME_KEY, LtiLaunch};

use crate::launch::{moodle_launch, moodle_params};

fn read(extra: &[(&str, &str)]) -> (LmsParams, Vec<ParamWarning>) {
    LmsParams::from_launch(&moodle_launch("alice", "123", "Learner", extra))
}

/// Reads one parameter that must produce no warning.
fn clean(extra: &[(&str, &str)]) -> LmsParams {
    let (p, w) = read(extra);
    assert!(w.is_empty(), "unexpected warnings for {extra:?}: {w:?}");
    p
}

/// Reads parameters that must produce a warning about `param`.
fn warned(extra: &[(&str, &str)], param: &str) -> LmsParams {
    let (p, w) = read(extra);
    assert!(
        w.iter().any(|w| w.param == param),
        "expected a warning about {param} for {extra:?}, got {w:?}"
    );
    p
}

#[test]
fn nothing_given_means_defaults() {
    let p = clean(&[]);
    assert_eq!(p.image, None);
    assert!(p.users.is_empty() && p.teachers.is_empty());
    assert_eq!((p.cpu_limit, p.mem_limit, p.act_limit), (None, None, None));
    assert_eq!((p.cpu_guarantee, p.mem_guarantee), (None, None));
    assert_eq!(p.default_url, None);
    assert_eq!(p.options, None);
    assert!(p.volumes.is_empty());
    assert!(!p.iframe);
    assert_eq!(p.session, None);
    assert_eq!(p.course_id.as_deref(), Some("219"));
    assert_eq!(p.lms_host, "el.mml.tuis.ac.jp");
}

#[test]
fn lms_image() {
    let p = clean(&[("custom_lms_image", "jupyter/scipy-notebook : 2024-01")]);
    assert_eq!(p.image.as_deref(), Some("jupyter/scipy-notebook:2024-01"));
    let p = clean(&[("custom_lms_image", "img;rm -rf /`id`$(x)")]);
    assert_eq!(p.image.as_deref(), Some("imgrm-rf/idx"));
    assert_eq!(clean(&[("custom_lms_image", "")]).image, None);
}

#[test]
fn lms_users_and_teachers_split_on_commas_and_whitespace() {
    let p = clean(&[
        ("custom_lms_users", "alice bob,carol\t dave,,"),
        ("custom_lms_teachers", "Teacher1, teacher2\nteacher1"),
    ]);
    assert_eq!(p.users.names, vec!["alice", "bob", "carol", "dave"]);
    assert!(!p.users.everybody);
    assert_eq!(p.teachers.names, vec!["teacher1", "teacher2"]);
    let p = clean(&[("custom_lms_users", "*")]);
    assert!(p.users.everybody && p.users.admits("anyone"));
    let p = warned(&[("custom_lms_users", "alice,山田,..")], "custom_lms_users");
    assert_eq!(p.users.names, vec!["alice"]);
}

#[test]
fn numbers() {
    let p = clean(&[
        ("custom_lms_cpulimit", "0.5"),
        ("custom_lms_memlimit", "524,288,000"),
        ("custom_lms_actlimit", "3600"),
        ("custom_lms_cpugrnt", "0.2"),
        ("custom_lms_memgrnt", "209,715,200"),
    ]);
    assert_eq!(p.cpu_limit, Some(0.5));
    assert_eq!(p.mem_limit, Some(524_288_000));
    assert_eq!(p.act_limit, Some(3600));
    assert_eq!(p.cpu_guarantee, Some(0.2));
    assert_eq!(p.mem_guarantee, Some(209_715_200));
    let p = clean(&[("custom_lms_cpulimit", "0.0"), ("custom_lms_memlimit", "0")]);
    assert_eq!((p.cpu_limit, p.mem_limit), (Some(0.0), Some(0)));
    let p = clean(&[("custom_lms_cpulimit", ""), ("custom_lms_memlimit", "")]);
    assert_eq!((p.cpu_limit, p.mem_limit), (None, None));
}

#[test]
fn bad_numbers_warn_and_fall_back() {
    for (k, v) in [
        ("custom_lms_memlimit", "99999999999999999999999999"),
        ("custom_lms_memlimit", "lots"),
        ("custom_lms_actlimit", "18446744073709551616"),
        ("custom_lms_cpulimit", "1.2.3"),
        ("custom_lms_cpulimit", "fast"),
        ("custom_lms_cpugrnt", "."),
        ("custom_lms_memgrnt", "x"),
    ] {
        let p = warned(&[(k, v)], k);
        assert_eq!(
            (
                p.cpu_limit,
                p.mem_limit,
                p.act_limit,
                p.cpu_guarantee,
                p.mem_guarantee
            ),
            (None, None, None, None, None),
            "{k}={v}"
        );
    }
}

#[test]
fn lms_defurl() {
    assert_eq!(
        clean(&[("custom_lms_defurl", "/tree")])
            .default_url
            .as_deref(),
        Some("/tree")
    );
    assert_eq!(
        clean(&[("custom_lms_defurl", "/lab")])
            .default_url
            .as_deref(),
        Some("/lab")
    );
    assert_eq!(clean(&[("custom_lms_defurl", "")]).default_url, None);
    for bad in [
        "//evil.example",
        "/../hub/admin",
        "lab",
        "https://evil.example/",
    ] {
        let p = warned(&[("custom_lms_defurl", bad)], "custom_lms_defurl");
        assert_eq!(p.default_url, None, "{bad}");
    }
}

#[test]
fn lms_options() {
    let p = clean(&[("custom_lms_options", "doubleargs")]);
    assert_eq!(p.options.as_deref(), Some("doubleargs"));
    let p = clean(&[("custom_lms_options", "a/b;c d$(e)")]);
    assert_eq!(p.options.as_deref(), Some("abcde"));
}

#[test]
fn volumes_of_three_kinds() {
    let p = clean(&[
        ("custom_lms_vol_rsa", "-RSA課題用"),
        ("custom_lms_vol_notes", "Notes:alice, bob"),
        ("custom_lms_sub_rsa", "-提出"),
        ("custom_lms_prs_rsa", "-mywork:*"),
        ("custom_lms_prs_open", "work"),
    ]);
    let find = |kind, name: &str| -> &VolumeParam {
        p.volumes
            .iter()
            .find(|v| v.kind == kind && v.name == name)
            .expect("volume present")
    };
    let rsa = find(VolumeKind::Task, "rsa");
    assert_eq!(rsa.display, "RSA課題用");
    assert!(rsa.teachers_only);
    assert_eq!(rsa.link_name(), "-RSA課題用");
    assert_eq!(rsa.users, None);
    let notes = find(VolumeKind::Task, "notes");
    assert!(!notes.teachers_only);
    assert_eq!(
        notes.users.as_ref().map(|u| u.names.clone()),
        Some(vec!["alice".to_owned(), "bob".to_owned()])
    );
    let sub = find(VolumeKind::Submit, "rsa");
    assert_eq!(sub.display, "提出");
    assert!(
        !sub.teachers_only,
        "`-` is stripped without effect on submit volumes"
    );
    assert_eq!(sub.link_name(), "提出");
    let prs = find(VolumeKind::Personal, "rsa");
    assert!(prs.teachers_only);
    assert!(prs.users.as_ref().is_some_and(|u| u.everybody));
    assert!(!find(VolumeKind::Personal, "open").teachers_only);
    // Sorted by kind, then name.
    let order: Vec<_> = p
        .volumes
        .iter()
        .map(|v| (v.kind, v.name.as_str()))
        .collect();
    assert_eq!(
        order,
        vec![
            (VolumeKind::Task, "notes"),
            (VolumeKind::Task, "rsa"),
            (VolumeKind::Submit, "rsa"),
            (VolumeKind::Personal, "open"),
            (VolumeKind::Personal, "rsa"),
        ]
    );
}

#[test]
fn empty_display_means_no_volume() {
    let p = clean(&[("custom_lms_vol_rsa", ""), ("custom_lms_sub_x", ":alice")]);
    assert!(p.volumes.is_empty());
}

#[test]
fn hostile_volume_names_are_rejected() {
    for key in [
        "custom_lms_vol_..",
        "custom_lms_vol_../../etc",
        "custom_lms_vol_a/b",
        "custom_lms_vol_RSA",
        "custom_lms_vol_a_b",
        "custom_lms_vol_",
        "custom_lms_sub_x;rm",
        "custom_lms_prs_a\0b",
    ] {
        let p = warned(&[(key, "Display")], key);
        assert!(p.volumes.is_empty(), "{key}");
    }
    let long = format!("custom_lms_vol_{}", "a".repeat(65));
    assert!(warned(&[(&long, "D")], &long).volumes.is_empty());
}

#[test]
fn hostile_display_names() {
    for bad in [
        ".",
        "..",
        "-..",
        ".hidden",
        "../../etc",
        "/",
        "-",
        " ; ",
        "\0",
    ] {
        let p = warned(&[("custom_lms_vol_rsa", bad)], "custom_lms_vol_rsa");
        assert!(p.volumes.is_empty(), "{bad:?} gave {:?}", p.volumes);
    }
    // Cleaned but kept, with a warning.
    let p = warned(
        &[("custom_lms_vol_rsa", "a b;c$(d)/e")],
        "custom_lms_vol_rsa",
    );
    assert_eq!(p.volumes[0].display, "abcde");
    let p = warned(&[("custom_lms_vol_rsa", "x\u{7}*y")], "custom_lms_vol_rsa");
    assert_eq!(p.volumes[0].display, "xy");
}

#[test]
fn submit_deadlines() {
    let p = clean(&[
        ("custom_lms_sub_rsa", "提出"),
        ("custom_lms_sub_rsa_close", "1700000000"),
    ]);
    let close = p.volumes[0].close.expect("deadline");
    assert_eq!(close, SubmitClose::At(1_700_000_000));
    assert!(!close.is_closed(1_700_000_000));
    assert!(close.is_closed(1_700_000_001));

    let p = warned(
        &[
            ("custom_lms_sub_rsa", "提出"),
            ("custom_lms_sub_rsa_close", "tomorrow"),
        ],
        "custom_lms_sub_rsa_close",
    );
    assert_eq!(p.volumes[0].close, Some(SubmitClose::Malformed));
    assert!(SubmitClose::Malformed.is_closed(i64::MIN));

    let p = warned(
        &[
            ("custom_lms_sub_rsa", "提出"),
            ("custom_lms_sub_rsa_close", "99999999999999999999999"),
        ],
        "custom_lms_sub_rsa_close",
    );
    assert_eq!(p.volumes[0].close, Some(SubmitClose::Malformed));

    let p = warned(
        &[
            ("custom_lms_sub_rsa", "提出"),
            ("custom_lms_sub_rsa_close", ""),
        ],
        "custom_lms_sub_rsa_close",
    );
    assert_eq!(p.volumes[0].close, None, "empty = no deadline");

    // A deadline for a volume that does not exist changes nothing.
    let p = clean(&[("custom_lms_sub_other_close", "1")]);
    assert!(p.volumes.is_empty());

    // The form's order does not matter: a deadline sent before its volume still applies, and
    // only to the submit volume of that name.
    let p = clean(&[
        ("custom_lms_sub_rsa_close", "1700000000"),
        ("custom_lms_vol_rsa", "課題"),
        ("custom_lms_sub_rsa", "提出"),
        ("custom_lms_sub_rsa2", "提出2"),
    ]);
    let closes: Vec<_> = p
        .volumes
        .iter()
        .map(|v| (v.name.as_str(), v.close))
        .collect();
    assert_eq!(
        closes,
        [
            ("rsa", None),
            ("rsa", Some(SubmitClose::At(1_700_000_000))),
            ("rsa2", None)
        ]
    );
}

#[test]
fn lms_iframe() {
    assert!(clean(&[("custom_lms_iframe", "1")]).iframe);
    assert!(!clean(&[("custom_lms_iframe", "")]).iframe);
    assert!(!clean(&[("custom_lms_iframe", "yes")]).iframe);
}

#[test]
fn lms_sessioninfo() {
    // The launch comes from LTI activity 76 (its resource_link_id).
    let p = clean(&[("custom_lms_sessioninfo", "12,76")]);
    assert_eq!(
        p.session,
        Some(SessionInfo {
            ltictr_id: 12,
            lti_id: 76
        })
    );
    assert_eq!(clean(&[("custom_lms_sessioninfo", " ")]).session, None);
    for bad in ["12", "abc", "1,99999999999999999999999"] {
        let p = warned(&[("custom_lms_sessioninfo", bad)], "custom_lms_sessioninfo");
        assert_eq!(p.session, None, "{bad}");
    }
}

#[test]
fn lms_sessioninfo_naming_another_activity_is_ignored() {
    // A teacher wrote another course's activity (34) into their own activity's (76) custom
    // parameters: its dashboard and analytics must not become theirs.
    let p = warned(
        &[("custom_lms_sessioninfo", "12,34")],
        "custom_lms_sessioninfo",
    );
    assert_eq!(p.session, None);
    // Another LMS's resource link ids are not numbers: nothing to compare with.
    let mut params = moodle_params(
        "alice",
        "123",
        "Learner",
        &[("custom_lms_sessioninfo", "12,34")],
    );
    for (k, v) in &mut params {
        if k == "resource_link_id" {
            *v = "a1b2-link".to_owned();
        }
    }
    let launch =
        LtiLaunch::from_params("moodle", &params, DEFAULT_USERNAME_KEY).expect("a valid launch");
    let (p, w) = LmsParams::from_launch(&launch);
    assert!(w.is_empty(), "{w:?}");
    assert_eq!(p.session.map(|s| s.lti_id), Some(34));
}

#[test]
fn server_parameters() {
    let p = clean(&[
        ("custom_lms_serverurl", "https://moodle.example:443"),
        ("custom_lms_serverpath", "/moodle"),
        ("custom_lms_rpctoken", " 0123abcd "),
    ]);
    assert_eq!(p.server_url.as_deref(), Some("https://moodle.example:443"));
    assert_eq!(p.server_path.as_deref(), Some("/moodle"));
    assert_eq!(p.rpc_token.as_deref(), Some("0123abcd"));
    // The outcome URL's host wins over the server URL's.
    assert_eq!(p.lms_host, "el.mml.tuis.ac.jp");
}

#[test]
fn lms_host_falls_back_to_serverurl_then_localhost() {
    let launch = |outcome: &str, server: &str| {
        let mut extra = vec![("lis_outcome_service_url", outcome)];
        if !server.is_empty() {
            extra.push(("custom_lms_serverurl", server));
        }
        LmsParams::from_launch(&moodle_launch("alice", "1", "Learner", &extra))
    };
    assert_eq!(
        launch("http://localhost/x", "https://Moodle.Example:8443")
            .0
            .lms_host,
        "moodle.example"
    );
    assert_eq!(
        launch("", "https://moodle.example").0.lms_host,
        "moodle.example"
    );
    assert_eq!(launch("", "").0.lms_host, "localhost");
    let (p, w) = launch("http://[::1]/x", "");
    assert_eq!(p.lms_host, "localhost");
    assert!(
        w.iter().any(|w| w.param == "lis_outcome_service_url"),
        "{w:?}"
    );
}

#[test]
fn course_and_activity_names() {
    let p = clean(&[
        ("custom_lms_course", "暗号理論\\ 2026\r\n"),
        ("custom_lms_ltiname", "RSA\0 exercises"),
    ]);
    assert_eq!(p.course_name.as_deref(), Some("暗号理論 2026"));
    assert_eq!(p.lti_name.as_deref(), Some("RSA exercises"));
}

#[test]
fn identity_parameters() {
    let p = clean(&[
        ("ext_user_userid", "5001"),
        ("ext_user_groupid", "5000"),
        ("ext_user_groupname", "Students"),
    ]);
    assert_eq!(p.ext_user_id, Some(5001));
    assert_eq!(p.ext_group_id, Some(5000));
    assert_eq!(p.ext_group_name.as_deref(), Some("students"));
    let p = warned(&[("ext_user_userid", "4294967296")], "ext_user_userid");
    assert_eq!(p.ext_user_id, None);
    let p = warned(&[("ext_user_groupid", "none")], "ext_user_groupid");
    assert_eq!(p.ext_group_id, None);
    let p = warned(&[("ext_user_groupname", "..")], "ext_user_groupname");
    assert_eq!(p.ext_group_name, None);
    // S2 strips `/`; what remains (`..staff`) still starts with `.` and is refused.
    let p = warned(&[("ext_user_groupname", "../staff")], "ext_user_groupname");
    assert_eq!(p.ext_group_name, None);
}

#[test]
fn course_id() {
    let mut params = crate::launch::moodle_params("alice", "1", "Learner", &[]);
    params.retain(|(k, _)| k != "context_id");
    let l = lticontainer_core::launch::LtiLaunch::from_params("k", &params, "ext_user_username")
        .expect("valid");
    assert_eq!(LmsParams::from_launch(&l).0.course_id.as_deref(), Some("0"));
    let p = warned(&[("context_id", "../219")], "context_id");
    assert_eq!(p.course_id, None);
    let p = warned(&[("context_id", "2 19")], "context_id");
    assert_eq!(p.course_id, None);
}

#[test]
fn unknown_and_prefix_names_warn() {
    for key in [
        "custom_lms_teachersx",
        "custom_lms_foo",
        "custom_lms_imagex",
    ] {
        let p = warned(&[(key, "alice")], key);
        assert!(p.teachers.is_empty() && p.image.is_none(), "{key}");
    }
    // Custom parameters of other tools are not ours to judge.
    clean(&[("custom_next", "/hub/home"), ("custom_something", "x")]);
}

#[test]
fn warnings_read_well() {
    let (_, w) = read(&[("custom_lms_memlimit", "lots")]);
    assert_eq!(w.len(), 1);
    let text = w[0].to_string();
    assert!(text.starts_with("custom_lms_memlimit: "), "{text}");
    assert!(text.contains("lots"), "{text}");
}
