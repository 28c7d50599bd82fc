//! The exact container a spawn starts, for a teacher and for a student, built without I/O:
//! `build_spawn_plan` (core) + the hub's additions (`server_spec`), with the default `[hub]`
//! settings (isolated networking: the server's own network, its gateway as the hub API).

use std::path::PathBuf;

use lticontainer_core::container::ContainerSpec;
use lticontainer_core::launch::{DEFAULT_USERNAME_KEY, LtiLaunch};
use lticontainer_core::network::NetworkMode;
use lticontainer_core::params::LmsParams;
use lticontainer_core::spec::{NoHostAccounts, SpawnPlan, SpecConfig, build_spawn_plan};
use lticontainer_hub::HubConfig;
use lticontainer_hub::credentials::{HubApiConfig, ServerEnvOptions, hub_env};
use lticontainer_hub::server_network::{server_api_url, server_network};
use lticontainer_hub::server_spec::{HubAdditions, server_spec};

const NOW: i64 = 1_750_000_000;
const PORT: u16 = 20123;

fn launch(username: &str, user_id: &str, roles: &str) -> LtiLaunch {
    let params: Vec<(String, String)> = [
        ("user_id", user_id),
        ("ext_user_username", username),
        ("roles", roles),
        ("context_id", "219"),
        ("context_title", "Cryptography 2026"),
        ("resource_link_id", "76"),
        ("resource_link_title", "RSA exercises"),
        ("lti_message_type", "basic-lti-launch-request"),
        ("lti_version", "LTI-1p0"),
        (
            "lis_outcome_service_url",
            "https://el.mml.tuis.ac.jp/mod/lti/service.php",
        ),
        ("custom_lms_teachers", "teacher1"),
        ("custom_lms_vol_rsa", "RSA"),
        ("custom_lms_users", "alice bob"),
        ("custom_lms_vol_data", "Data"),
        ("custom_lms_sub_rsa", "Submit"),
        ("custom_lms_prs_rsa", "MyWork"),
        ("custom_lms_cpulimit", "1.5"),
        ("custom_lms_memlimit", "1073741824"),
        ("custom_lms_defurl", "/lab"),
        ("custom_lms_course", "Cryptography"),
    ]
    .iter()
    .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
    .collect();
    LtiLaunch::from_params("moodle", &params, DEFAULT_USERNAME_KEY).expect("a valid launch")
}

/// The spawn plan of a launch by `username` with the default configuration.
fn plan(username: &str, user_id: &str, roles: &str) -> SpawnPlan {
    let launch = launch(username, user_id, roles);
    let (params, _) = LmsParams::from_launch(&launch);
    build_spawn_plan(
        &SpecConfig::default(),
        &launch,
        &params,
        &NoHostAccounts,
        NOW,
        PORT,
    )
    .expect("a plan")
}

fn final_spec(username: &str, user_id: &str, roles: &str, cross_site: bool) -> ContainerSpec {
    let plan = plan(username, user_id, roles);
    let hub = HubConfig::default();
    let net = server_network(
        &hub,
        &SpecConfig::default().hub_instance,
        username,
        &plan.container.name,
        PORT,
    )
    .expect("isolated networking is the default");
    let env = hub_env(
        &HubApiConfig::default(),
        username,
        PORT,
        "t0ken".to_owned(),
        &ServerEnvOptions {
            bind_host: hub.server_bind_host(),
            api_url: Some(server_api_url(&hub, &net)),
            cross_site_cookies: cross_site,
        },
    );
    let cmd = vec!["jupyterhub-singleuser".to_owned()];
    let dir = cross_site.then(|| PathBuf::from("/var/lib/lticontainer/jupyter-cross-site"));
    server_spec(
        &plan,
        HubAdditions::new(env, &cmd, NetworkMode::Named(net.name)).with_cross_site_config(dir),
    )
}

/// The spec as JSON, compared with the reviewed file `tests/fixtures/<name>.json`.
fn assert_matches_fixture(spec: &ContainerSpec, name: &str) {
    let path = format!("{}/tests/fixtures/{name}.json", env!("CARGO_MANIFEST_DIR"));
    let want: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&path).expect("the fixture")).expect("JSON");
    let got = serde_json::to_value(spec).expect("a spec serialises");
    assert_eq!(
        got,
        want,
        "the final spec differs from {path}; if the change is intended, review it and update \
         the file:\n{}",
        serde_json::to_string_pretty(&got).unwrap_or_default()
    );
}

#[test]
fn a_teachers_final_container() {
    let spec = final_spec("teacher1", "2", "Instructor", false);
    assert_matches_fixture(&spec, "server_spec_teacher");
    // What matters, spelled out: the hub's command and environment, the default-URL label,
    // every course volume writable for a teacher, no cross-site config; the server on its own
    // network, listening on all its addresses, calling the hub at its network's gateway.
    assert_eq!(spec.cmd, ["jupyterhub-singleuser"]);
    assert_eq!(
        spec.network,
        NetworkMode::Named("lticontainer-teacher1-net".into())
    );
    assert_eq!(
        spec.env.get("JUPYTERHUB_SERVICE_URL"),
        Some("http://0.0.0.0:20123/user/teacher1/")
    );
    assert_eq!(
        spec.env.get("JUPYTERHUB_API_URL"),
        Some("http://10.213.7.177:8081/hub/api")
    );
    assert_eq!(spec.env.get("JUPYTERHUB_API_TOKEN"), Some("t0ken"));
    assert_eq!(spec.env.get("JUPYTERHUB_DEFAULT_URL"), Some("/lab"));
    assert_eq!(
        spec.env.get("JUPYTERHUB_ROOT_DIR"),
        Some("/home/others/teacher1")
    );
    assert_eq!(spec.env.get("NB_TEACHER"), Some("teacher1"));
    assert_eq!(spec.env.get("JUPYTER_CONFIG_PATH"), None);
    assert_eq!(spec.labels["lticontainer.default_url"], "/lab");
    assert_eq!(spec.user.as_deref(), Some("root"));
    assert!(spec.mounts.iter().all(|m| !m.read_only));
    assert_eq!(spec.limits.cpu_limit, Some(1.5));
    assert_eq!(spec.limits.mem_limit, Some(1 << 30));
}

#[test]
fn a_students_final_container() {
    let spec = final_spec("alice", "17", "Learner", true);
    assert_matches_fixture(&spec, "server_spec_student");
    // Task volumes read-only, the submit volume writable, the cross-site Jupyter config mounted
    // read-only with JUPYTER_CONFIG_PATH and SameSite=None cookies.
    let read_only: Vec<(&str, bool)> = spec
        .mounts
        .iter()
        .map(|m| (m.target.rsplit('/').next().unwrap_or_default(), m.read_only))
        .collect();
    assert_eq!(
        read_only,
        [
            ("alice", false),
            ("lms_vol_data_219_el.mml.tuis.ac.jp", true),
            ("lms_vol_rsa_219_el.mml.tuis.ac.jp", true),
            ("lms_sub_rsa_219_el.mml.tuis.ac.jp", false),
            ("jupyter-cross-site", true),
        ]
    );
    assert_eq!(
        spec.env.get("JUPYTER_CONFIG_PATH"),
        Some("/etc/lticontainer/jupyter-cross-site")
    );
    assert_eq!(
        spec.env.get("JUPYTERHUB_COOKIE_OPTIONS"),
        Some(r#"{"samesite": "None", "secure": true}"#)
    );
    assert_eq!(spec.env.get("NB_TEACHER"), Some(""));
    assert_eq!(spec.env.get("NB_UID"), Some("30017"));
    // Course volumes are shared by the class: they carry the hub and the course, never one
    // student's user or port.
    for v in &spec.volumes {
        let keys: Vec<&str> = v.labels.keys().map(String::as_str).collect();
        assert_eq!(
            keys,
            ["lticontainer.course", "lticontainer.hub"],
            "{}",
            v.name
        );
    }
    assert_eq!(spec.volumes.len(), 3);
}

#[test]
fn without_a_hub_command_the_image_keeps_its_own() {
    let plan = plan("alice", "17", "Learner");
    let spec = server_spec(
        &plan,
        HubAdditions::new(Default::default(), &[], NetworkMode::Host),
    );
    assert_eq!(spec.cmd, plan.container.cmd);
    assert_eq!(spec.env.get("JUPYTERHUB_DEFAULT_URL"), Some("/lab"));
}
