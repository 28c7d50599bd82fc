//! Turns a launch into a [`SpawnPlan`]: the [`ContainerSpec`] plus the host directories and
//! engine volumes to prepare. Pure and deterministic: no I/O (host accounts come through
//! [`IdentityLookup`]), no clock (the caller passes `now_unix`), no randomness.
//!
//! # What [`build_spawn_plan`] decides
//!
//! * **Teacher**: the username is in `lms_teachers` (names only — a `*` there does not make
//!   everybody a teacher), or, when [`SpecConfig::teachers_from_roles`] is on, an LTI role is
//!   Instructor/Administrator.
//! * **Identity** ([`Identity`]): the original's order (docs/original-system.md, "Identity"),
//!   see [`IdentityLookup`]; a uid below [`SpecConfig::min_uid`] or a gid below
//!   [`SpecConfig::min_gid`] is refused (the original would have run a Moodle user called
//!   `root` as uid 0), and so is a student whose primary gid is [`SpecConfig::teacher_gid`]
//!   (that group reads every submission).
//! * **Home**: [`SpecConfig::home_template`] with `{group}`/`{user}`; the same path inside the
//!   container, bind-mounted read-write. [`SpawnPlan::host_dirs`] lists the group home
//!   (`0755 root:<gid>`), home, projects and works directories (`0700 <uid>:<gid>`), parents
//!   first. With `use_group` off, `{group}` expands to nothing and `//` collapses (the original
//!   produced `/home//user`).
//! * **Volumes** (docs/original-system.md, "Volumes"): task and submit volumes are named engine
//!   volumes `lms_{vol,sub}_<name>_<course>_<lmshost>` mounted at
//!   `<works>/<volumes_dir>/<physical>`; task volumes are read-only for students when
//!   [`SpecConfig::task_volumes_read_only_for_students`] is on (the original used file modes
//!   only). [`ContainerSpec::volumes`] declares them, labelled [`labels::MANAGED_BY`] and
//!   [`labels::COURSE`] (never a user's labels: the volume is the course's). Personal volumes
//!   are directories the image's `start.sh` makes inside the home, so they appear only in
//!   `NB_PRSNALS`. A submit volume past its deadline (or with a malformed
//!   one) is left out for students, mount and `NB_SUBMITS` entry both.
//! * **Limits**: the launch's value, else the configured default; `0` means "no limit". A cap
//!   ([`SpecConfig::max_cpu_limit`], …) replaces both a larger value and "no limit", with a
//!   warning. A CPU limit below 0.01 or a memory limit below 6 MiB (what engines refuse) falls
//!   back to the default with a warning. Guarantees are kept at or below the limits.
//! * **Image**: see [`SpecError::ImageNotAllowed`]; a reference without a tag gets `:latest`
//!   ([`with_default_tag`](crate::container::with_default_tag)).
//! * **Name and labels**: `<container_prefix><username>` (one server per user); labels
//!   [`labels::MANAGED_BY`] (hub instance), [`labels::USER`], [`labels::PORT`] and
//!   [`labels::COURSE`].
//! * **User**: `root` when [`SpecConfig::run_as_root`] (so `start.sh` can create the user and
//!   drop to it), else `uid:gid`. Never privileged: [`ContainerSpec`] has no such field.
//!
//! The hub adds the `JUPYTERHUB_*` environment and the command afterwards.

mod config;
mod env;
mod identity;
mod image_policy;
mod layout;
mod volumes;

use std::collections::BTreeMap;

use crate::container::{
    ContainerSpec, Mount, MountSource, ResourceLimits, VolumeSpec, is_valid_engine_name, labels,
};
use crate::launch::LtiLaunch;
use crate::params::LmsParams;

pub use config::{DEFAULT_IMAGE, SpecConfig};
pub use identity::{Identity, IdentityLookup, NoHostAccounts};
pub use image_policy::{glob_match, is_allowed as image_is_allowed};
pub use layout::HostDir;
pub use volumes::{MAX_PHYSICAL_LEN, physical_name};

/// The smallest CPU limit engines accept (a CFS quota of 1 ms per 100 ms period).
pub const MIN_CPU_LIMIT: f64 = 0.01;

/// The smallest memory limit engines accept (Docker: 6 MiB).
pub const MIN_MEM_LIMIT: u64 = 6 << 20;

/// Why no container can be built for a launch. [`SpecError::ImageNotAllowed`],
/// [`SpecError::InvalidImage`], [`SpecError::NoIdentity`] and
/// [`SpecError::IdentityBelowMinimum`] and [`SpecError::StudentInTeacherGroup`] come from the launch (show the user a page, log for the
/// admin); [`SpecError::Config`] is the admin's configuration.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum SpecError {
    /// The launch asked for an image outside the allowlist.
    #[error(
        "the image {image:?} requested by the launch (lms_image) is not allowed: it is neither \
         the default image {default:?} nor matched by the allowlist {allowed:?}; add a pattern \
         to allowed_images or pick another image in the LMS"
    )]
    ImageNotAllowed {
        /// The requested image (with its implied tag).
        image: String,
        /// The configured default image.
        default: String,
        /// The configured allowlist patterns.
        allowed: Vec<String>,
    },
    /// The requested image is not a valid image reference.
    #[error(
        "the image {image:?} requested by the launch (lms_image) is not a valid image reference \
         ([A-Za-z0-9._/:@-], at most 255 characters)"
    )]
    InvalidImage {
        /// The requested image.
        image: String,
    },
    /// No uid can be derived for the user.
    #[error(
        "no uid for user {username:?}: no host account, no ext_user_userid, and the LTI user_id \
         {user_id:?} is not a number that fits base_id + user_id; create a host account or send \
         ext_user_userid"
    )]
    NoIdentity {
        /// The normalised username.
        username: String,
        /// The LTI `user_id`.
        user_id: String,
    },
    /// The resolved uid or gid is a system one.
    #[error(
        "refusing uid {uid} / gid {gid} for user {username:?}: below min_uid {min_uid} / min_gid \
         {min_gid} (system accounts must not run notebooks)"
    )]
    IdentityBelowMinimum {
        /// The normalised username.
        username: String,
        /// The resolved uid.
        uid: u32,
        /// The resolved gid.
        gid: u32,
        /// The configured minimum uid.
        min_uid: u32,
        /// The configured minimum gid.
        min_gid: u32,
    },
    /// A student would get the teacher group as primary group (and read every submission).
    #[error(
        "refusing gid {gid} for student {username:?}: it is the teacher group's gid \
         (teacher_gid); give the account another primary group or list it in lms_teachers"
    )]
    StudentInTeacherGroup {
        /// The normalised username.
        username: String,
        /// The resolved gid.
        gid: u32,
    },
    /// The configuration cannot produce a valid spec.
    #[error("invalid spec configuration: {0}")]
    Config(String),
}

impl From<SpecError> for crate::Error {
    fn from(e: SpecError) -> Self {
        crate::Error::invalid(e.to_string())
    }
}

/// Everything the hub does to start one user's server, decided up front.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct SpawnPlan {
    /// The container to create and start (the hub adds `JUPYTERHUB_*` env and the command).
    pub container: ContainerSpec,
    /// Host directories to create when missing, parents first.
    pub host_dirs: Vec<HostDir>,
    /// The URL path the user lands on (`/lab`, `/tree`).
    pub default_url: String,
    /// True when the user is a teacher of this launch.
    pub is_teacher: bool,
    /// The user's identity inside the container.
    pub identity: Identity,
    /// Things the builder changed or dropped, for the admin's log (the parameter warnings of
    /// [`LmsParams::from_launch`] are separate).
    pub warnings: Vec<String>,
}

/// True when the user is a teacher of this launch (see the module docs).
pub fn is_teacher(cfg: &SpecConfig, launch: &LtiLaunch, params: &LmsParams) -> bool {
    params.teachers.names.contains(&launch.username)
        || (cfg.teachers_from_roles && launch.is_instructor())
}

/// Builds the plan for one launch. See the module docs for every decision.
///
/// # Errors
/// [`SpecError`] when the image is refused, no safe identity exists, or the configuration is
/// unusable.
pub fn build_spawn_plan(
    cfg: &SpecConfig,
    launch: &LtiLaunch,
    params: &LmsParams,
    ids: &dyn IdentityLookup,
    now_unix: i64,
    port: u16,
) -> Result<SpawnPlan, SpecError> {
    let mut warnings = Vec::new();
    let image = image_policy::choose(cfg, params.image.as_deref())?;
    let identity = identity::resolve(cfg, launch, params, ids, &mut warnings)?;
    let username = launch.username.as_str();
    let layout = layout::Layout::new(cfg, username, &identity)?;
    let is_teacher = is_teacher(cfg, launch, params);
    if !is_teacher && identity.gid == cfg.teacher_gid {
        return Err(SpecError::StudentInTeacherGroup {
            username: username.to_owned(),
            gid: identity.gid,
        });
    }
    if params.teachers.everybody {
        warnings.push("`*` in lms_teachers is ignored: list teachers by name".to_owned());
    }
    let granted = volumes::grant(
        cfg,
        params,
        &layout,
        username,
        is_teacher,
        now_unix,
        &mut warnings,
    );
    let limits = limits(cfg, params, &mut warnings);
    let act_limit = capped_u64(
        "activity limit",
        params.act_limit.unwrap_or(cfg.act_limit),
        cfg.max_act_limit,
        &mut warnings,
    )
    .unwrap_or(0);

    let volumes::Granted {
        mounts: volume_mounts,
        create,
        lists,
    } = granted;
    let env = env::build(env::EnvInput {
        cfg,
        params,
        username,
        identity: &identity,
        layout: &layout,
        lists,
        is_teacher,
        act_limit,
        limits: &limits,
        image: &image,
    });

    let notices = cfg.notice_dir.as_deref().map_or(0, |_| NOTICES.len());
    let mut mounts = Vec::with_capacity(1 + volume_mounts.len() + notices);
    mounts.push(Mount {
        source: MountSource::Bind(layout.home().into()),
        target: layout.home().to_owned(),
        read_only: false,
    });
    mounts.extend(volume_mounts);
    if let Some(dir) = cfg.notice_dir.as_deref() {
        let dir = dir.trim_end_matches('/');
        for name in NOTICES {
            mounts.push(Mount {
                source: MountSource::Bind([dir, "/", name].concat().into()),
                target: [layout.works(), "/.", name].concat(),
                read_only: true,
            });
        }
    }

    let name = [cfg.container_prefix.as_str(), username].concat();
    if !is_valid_engine_name(&name) {
        return Err(SpecError::Config(format!(
            "container_prefix {:?} gives the container name {name:?}, which engines refuse \
             ([a-zA-Z0-9][a-zA-Z0-9_.-]*)",
            cfg.container_prefix
        )));
    }
    let mut container = ContainerSpec::new(name, image);
    container.env = env;
    container.user = Some(if cfg.run_as_root {
        "root".to_owned()
    } else {
        format!("{}:{}", identity.uid, identity.gid)
    });
    container.working_dir = Some(layout.home().to_owned());
    container.mounts = mounts;
    container.limits = limits;
    container.port = port;
    container.labels = [
        (labels::MANAGED_BY, Some(cfg.hub_instance.clone())),
        (labels::USER, Some(username.to_owned())),
        (labels::PORT, Some(port.to_string())),
        (labels::COURSE, params.course_id.clone()),
    ]
    .into_iter()
    .filter_map(|(k, v)| Some((k.to_owned(), v?)))
    .collect();
    container.volumes = volume_specs(cfg, params, create);

    Ok(SpawnPlan {
        container,
        host_dirs: layout.host_dirs(&identity),
        default_url: params
            .default_url
            .clone()
            .unwrap_or_else(|| cfg.default_url.clone()),
        is_teacher,
        identity,
        warnings,
    })
}

/// Reads the `lms_*` parameters of `launch` and builds its plan in one step; the parameter
/// warnings ([`LmsParams::from_launch`]) come first in [`SpawnPlan::warnings`].
///
/// # Errors
/// As [`build_spawn_plan`].
///
/// # Example
/// ```
/// use lticontainer_core::launch::LtiLaunch;
/// use lticontainer_core::spec::{NoHostAccounts, SpecConfig, plan_launch};
///
/// let form: Vec<(String, String)> = [
///     ("user_id", "123"),
///     ("ext_user_username", "alice"),
///     ("resource_link_id", "76"),
///     ("context_id", "219"),
///     ("custom_lms_users", "*"),
///     ("custom_lms_vol_rsa", "RSA"),
/// ]
/// .iter()
/// .map(|(k, v)| (k.to_string(), v.to_string()))
/// .collect();
/// let launch = LtiLaunch::from_params("moodle", &form, "ext_user_username").expect("valid launch");
/// let plan = plan_launch(&SpecConfig::default(), &launch, &NoHostAccounts, 1_750_000_000, 40000)
///     .expect("a plan");
/// assert_eq!(plan.container.name, "lticontainer-alice");
/// assert_eq!(plan.container.volumes[0].name, "lms_vol_rsa_219_localhost");
/// assert_eq!(&plan.container.env["NB_UID"], "30123");
/// ```
pub fn plan_launch(
    cfg: &SpecConfig,
    launch: &LtiLaunch,
    ids: &dyn IdentityLookup,
    now_unix: i64,
    port: u16,
) -> Result<SpawnPlan, SpecError> {
    let (params, param_warnings) = LmsParams::from_launch(launch);
    let mut plan = build_spawn_plan(cfg, launch, &params, ids, now_unix, port)?;
    let mut warnings: Vec<String> = param_warnings.iter().map(ToString::to_string).collect();
    warnings.append(&mut plan.warnings);
    plan.warnings = warnings;
    Ok(plan)
}

/// The task and submit volumes to create, each labelled [`labels::MANAGED_BY`] (the hub
/// instance) and [`labels::COURSE`] (when the launch has a course) — never with one user's
/// labels, since a course volume is shared.
fn volume_specs(cfg: &SpecConfig, params: &LmsParams, names: Vec<String>) -> Vec<VolumeSpec> {
    if names.is_empty() {
        return Vec::new();
    }
    let labels: BTreeMap<String, String> = [
        (labels::MANAGED_BY, Some(&cfg.hub_instance)),
        (labels::COURSE, params.course_id.as_ref()),
    ]
    .into_iter()
    .filter_map(|(k, v)| Some((k.to_owned(), v?.clone())))
    .collect();
    names
        .into_iter()
        .map(|name| VolumeSpec::new(name, labels.clone()))
        .collect()
}

/// The notice files mounted from [`SpecConfig::notice_dir`].
const NOTICES: [&str; 3] = [
    "notice_memory.txt",
    "notice_active.txt",
    "notice_sticky.txt",
];

/// Applies a cap to a value where `0` means "no limit"; returns `None` for "no limit".
fn capped_u64(what: &str, value: u64, cap: Option<u64>, warnings: &mut Vec<String>) -> Option<u64> {
    match cap {
        Some(cap) if value == 0 || value > cap => {
            warnings.push(format!(
                "{what} {} exceeds the cap {cap}; using the cap",
                if value == 0 {
                    "unlimited".to_owned()
                } else {
                    value.to_string()
                }
            ));
            Some(cap)
        }
        _ => (value != 0).then_some(value),
    }
}

fn capped_f64(what: &str, value: f64, cap: Option<f64>, warnings: &mut Vec<String>) -> Option<f64> {
    match cap {
        Some(cap) if value == 0.0 || value > cap => {
            warnings.push(format!(
                "{what} {} exceeds the cap {cap}; using the cap",
                if value == 0.0 {
                    "unlimited".to_owned()
                } else {
                    value.to_string()
                }
            ));
            Some(cap)
        }
        _ => (value != 0.0).then_some(value),
    }
}

fn limits(cfg: &SpecConfig, params: &LmsParams, warnings: &mut Vec<String>) -> ResourceLimits {
    let mut cpu = params.cpu_limit.unwrap_or(cfg.cpu_limit);
    if cpu > 0.0 && cpu < MIN_CPU_LIMIT {
        warnings.push(format!(
            "CPU limit {cpu} is below {MIN_CPU_LIMIT}; using the default {}",
            cfg.cpu_limit
        ));
        cpu = cfg.cpu_limit;
    }
    let mut mem = params.mem_limit.unwrap_or(cfg.mem_limit);
    if mem > 0 && mem < MIN_MEM_LIMIT {
        warnings.push(format!(
            "memory limit {mem} is below {MIN_MEM_LIMIT} bytes; using the default {}",
            cfg.mem_limit
        ));
        mem = cfg.mem_limit;
    }
    let cpu_limit = capped_f64("CPU limit", cpu, cfg.max_cpu_limit, warnings);
    let mem_limit = capped_u64("memory limit", mem, cfg.max_mem_limit, warnings);
    let cpu_guarantee = params
        .cpu_guarantee
        .filter(|g| *g > 0.0)
        .map(|g| cpu_limit.map_or(g, |l| g.min(l)));
    let mem_guarantee = params
        .mem_guarantee
        .filter(|g| *g > 0)
        .map(|g| mem_limit.map_or(g, |l| g.min(l)));
    ResourceLimits {
        cpu_limit,
        mem_limit,
        cpu_guarantee,
        mem_guarantee,
    }
}
