//! [`SpecConfig`]: the admin's settings for building containers, with their defaults (see
//! docs/original-system.md, "Configuration", for the original's names).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// The original's default image (`c.DockerSpawner.image`).
pub const DEFAULT_IMAGE: &str = "ghcr.io/jupyter-fumihax/jupyterhub-ltictr.singleuser";

/// How containers are built from launches. Every field has a documented default; a config file
/// names only what it changes.
///
/// # Example
/// ```
/// use lticontainer_core::spec::SpecConfig;
/// let cfg: SpecConfig = serde_json::from_str(r#"{ "default_group": "students", "cpu_limit": 2.0 }"#)
///     .expect("valid config");
/// assert_eq!(cfg.default_group, "students");
/// assert_eq!(cfg.teacher_gid, 7000); // untouched fields keep their defaults
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
#[non_exhaustive]
pub struct SpecConfig {
    /// The image used when a launch names none. Default: the original's
    /// `ghcr.io/jupyter-fumihax/jupyterhub-ltictr.singleuser` (`:latest` is implied).
    pub default_image: String,
    /// Image patterns a launch's `lms_image` may match, besides the default image (always
    /// allowed). `*` matches any run of characters, everything else matches itself:
    /// `lticontainer/*`, `jupyter/scipy-notebook:*`. A reference without a tag is matched as
    /// `<ref>:latest`. Default: empty (only the default image).
    pub allowed_images: Vec<String>,
    /// Accept an `lms_image` outside `allowed_images` when the engine already has it locally
    /// (an admin pulled or built it; mod_lticontainer's LTI Edit tab offers the host's images).
    /// Such an image is never pulled: only the default and `allowed_images` are. Default: true.
    pub allow_local_images: bool,
    /// Resolve and use group names (`spawner_use_group`). When false, `{group}` in the home
    /// templates expands to nothing and the empty path segment is dropped. Default: true.
    pub use_group: bool,
    /// The home directory template (`user_home_dir`); `{group}` and `{user}` are replaced.
    /// The same path is used inside the container. Default: `/home/{group}/{user}`.
    pub home_template: String,
    /// The group home template (`group_home_dir`), created `0755 root:<gid>` when `use_group` is
    /// on. Default: `/home/{group}`.
    pub group_home_template: String,
    /// The projects directory inside the home (`projects_dir`). Default: `jupyter`.
    pub projects_dir: String,
    /// The works directory inside the projects directory (`works_dir`). Default: `works`.
    pub works_dir: String,
    /// Where course volumes are mounted inside the works directory (`volumes_dir`).
    /// Default: `.volumes`.
    pub volumes_dir: String,
    /// The group of users unknown to the host (`default_group`). Default: `others`.
    pub default_group: String,
    /// The gid of the teacher group inside containers (`teacher_gid`). Default: 7000.
    pub teacher_gid: u32,
    /// The teacher group's name (`teacher_gname`). Default: `TEACHER`.
    pub teacher_group: String,
    /// The uid (and fallback gid) base for users unknown to the host: uid = `base_id` + LMS
    /// `user_id`. Default: 30000.
    pub base_id: u32,
    /// The smallest uid a container user may get; lower ones (root, system accounts) are refused.
    /// Default: 1000.
    pub min_uid: u32,
    /// The smallest gid a container user may get. Default: 100 (`users`).
    pub min_gid: u32,
    /// The default activity limit in seconds; 0 = none. Default: 6000.
    pub act_limit: u64,
    /// The default CPU limit; 0 = none. Default: 1.0.
    pub cpu_limit: f64,
    /// The default memory limit in bytes; 0 = none. Default: 1 GiB.
    pub mem_limit: u64,
    /// The largest CPU limit a launch may ask for; `None` = no cap. A launch asking for more, or
    /// for "no limit", gets this. Default: 4.0.
    pub max_cpu_limit: Option<f64>,
    /// The largest memory limit a launch may ask for, bytes; `None` = no cap. Default: 8 GiB.
    pub max_mem_limit: Option<u64>,
    /// The largest activity limit a launch may ask for, seconds; `None` = no cap. Default: none.
    pub max_act_limit: Option<u64>,
    /// The default URL path when a launch names none. Default: `/lab`.
    pub default_url: String,
    /// The container time zone (`TZ`). Default: `UTC` (the original's example was `JST-9`).
    pub time_zone: String,
    /// Extra environment for every container (`spawner_environment`). Computed variables (see
    /// docs/original-system.md, "Environment") win over these. Default: `GRANT_SUDO=no`,
    /// `NB_UMASK=0037`, `CONDA_DIR=/opt/conda`, `CHOWN_HOME=yes`, `CHOWN_HOME_OPTS=-R`.
    pub spawner_environment: BTreeMap<String, String>,
    /// Also treat LTI roles Instructor/Administrator as teachers, besides `lms_teachers`.
    /// Default: true.
    pub teachers_from_roles: bool,
    /// Mount task volumes read-only for students (the original relied on file modes only).
    /// Default: true.
    pub task_volumes_read_only_for_students: bool,
    /// The container name prefix; the name is `<prefix><username>`. Default: `lticontainer-`.
    pub container_prefix: String,
    /// The value of the [`labels::MANAGED_BY`](crate::container::labels::MANAGED_BY) label, so a
    /// restarted hub finds its own containers. Default: `lticontainer`.
    pub hub_instance: String,
    /// Start the container as root so the image's `start.sh` can create the user, then drop to
    /// it (the original's way). When false the container starts as `uid:gid`. Never privileged.
    /// Default: true.
    pub run_as_root: bool,
    /// A host directory holding `notice_memory.txt`, `notice_active.txt` and
    /// `notice_sticky.txt`, mounted read-only into the works directory (see
    /// docs/original-system.md, "Mounts" and "Notices").
    /// Default: none.
    pub notice_dir: Option<String>,
}

impl Default for SpecConfig {
    fn default() -> Self {
        let env = [
            ("GRANT_SUDO", "no"),
            ("NB_UMASK", "0037"),
            ("CONDA_DIR", "/opt/conda"),
            ("CHOWN_HOME", "yes"),
            ("CHOWN_HOME_OPTS", "-R"),
        ];
        Self {
            default_image: DEFAULT_IMAGE.to_owned(),
            allowed_images: Vec::new(),
            allow_local_images: true,
            use_group: true,
            home_template: "/home/{group}/{user}".to_owned(),
            group_home_template: "/home/{group}".to_owned(),
            projects_dir: "jupyter".to_owned(),
            works_dir: "works".to_owned(),
            volumes_dir: ".volumes".to_owned(),
            default_group: "others".to_owned(),
            teacher_gid: 7000,
            teacher_group: "TEACHER".to_owned(),
            base_id: 30000,
            min_uid: 1000,
            min_gid: 100,
            act_limit: 6000,
            cpu_limit: 1.0,
            mem_limit: 1 << 30,
            max_cpu_limit: Some(4.0),
            max_mem_limit: Some(8 << 30),
            max_act_limit: None,
            default_url: "/lab".to_owned(),
            time_zone: "UTC".to_owned(),
            spawner_environment: env
                .into_iter()
                .map(|(k, v)| (k.to_owned(), v.to_owned()))
                .collect(),
            teachers_from_roles: true,
            task_volumes_read_only_for_students: true,
            container_prefix: "lticontainer-".to_owned(),
            hub_instance: "lticontainer".to_owned(),
            run_as_root: true,
            notice_dir: None,
        }
    }
}
