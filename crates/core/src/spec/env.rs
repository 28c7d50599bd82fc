//! The container environment (ORIGINAL §5.4): the configured `spawner_environment`, then the
//! computed `NB_*`, `LTI_*`, directory and limit variables, which win over configured ones.

use std::borrow::Cow;

use crate::container::{EnvVars, ResourceLimits};
use crate::params::LmsParams;

use super::layout::Layout;
use super::volumes::VolumeLists;
use super::{Identity, SpecConfig};

/// What the environment is computed from.
pub(crate) struct EnvInput<'a> {
    pub(crate) cfg: &'a SpecConfig,
    pub(crate) params: &'a LmsParams,
    pub(crate) username: &'a str,
    pub(crate) identity: &'a Identity,
    pub(crate) layout: &'a Layout,
    pub(crate) lists: VolumeLists,
    pub(crate) is_teacher: bool,
    pub(crate) act_limit: u64,
    pub(crate) limits: &'a ResourceLimits,
    pub(crate) image: &'a str,
}

pub(crate) fn build(input: EnvInput<'_>) -> EnvVars {
    let EnvInput {
        cfg,
        params,
        username,
        identity,
        layout,
        lists,
        is_teacher,
        act_limit,
        limits,
        image,
    } = input;
    let home = layout.home();
    let session = params.session;
    let owned = |s: &str| Some(s.to_owned());
    let under_home = |rest: &str| Some([home, rest].concat());
    // Teachers always get 0033; a student keeps a configured NB_UMASK, else 0037.
    let umask = if is_teacher {
        Some("0033")
    } else if cfg.spawner_environment.contains_key("NB_UMASK") {
        None
    } else {
        Some("0037")
    };
    // Sorted by name (checked in debug builds) for the merge below. `None` leaves the variable
    // out.
    let computed: [(&'static str, Option<String>); 36] = [
        (
            "CPU_GUARANTEE",
            limits.cpu_guarantee.map(|c| format!("{c:?}")),
        ),
        ("CPU_LIMIT", limits.cpu_limit.map(|c| format!("{c:?}"))),
        ("JUPYTER_CONFIG_DIR", under_home("/.jupyter")),
        ("JUPYTER_DATA_DIR", under_home("/.local/share/jupyter")),
        ("JUPYTER_IMAGE", owned(image)),
        ("JUPYTER_IMAGE_SPEC", owned(image)),
        ("JUPYTER_RUNTIME_DIR", under_home(RUNTIME_DIR)),
        (
            "LTI_COURSE",
            owned(params.course_name.as_deref().unwrap_or_default()),
        ),
        (
            "LTI_CTR_ID",
            Some(session.map_or(0, |s| s.ltictr_id).to_string()),
        ),
        ("LTI_ID", Some(session.map_or(0, |s| s.lti_id).to_string())),
        (
            "LTI_NAME",
            owned(params.lti_name.as_deref().unwrap_or_default()),
        ),
        ("MEM_GUARANTEE", limits.mem_guarantee.map(|m| m.to_string())),
        ("MEM_LIMIT", limits.mem_limit.map(|m| m.to_string())),
        ("NB_ACTLIMIT", Some(act_limit.to_string())),
        ("NB_DIR", owned(home)),
        ("NB_GID", Some(identity.gid.to_string())),
        ("NB_GROUP", owned(&identity.group)),
        ("NB_HOSTNAME", owned(&params.lms_host)),
        (
            "NB_OPTION",
            owned(params.options.as_deref().unwrap_or_default()),
        ),
        ("NB_PRSNALS", Some(lists.personal)),
        ("NB_SUBMITS", Some(lists.submit)),
        ("NB_TEACHER", owned(if is_teacher { username } else { "" })),
        ("NB_THRGID", Some(cfg.teacher_gid.to_string())),
        ("NB_THRGROUP", owned(&cfg.teacher_group)),
        ("NB_UID", Some(identity.uid.to_string())),
        ("NB_UMASK", umask.and_then(owned)),
        ("NB_USER", owned(username)),
        ("NB_VOLUMES", Some(lists.task)),
        ("NB_WRKDIR", owned(layout.works())),
        ("PRJCT_DIR", owned(&cfg.projects_dir)),
        ("TZ", owned(&cfg.time_zone)),
        ("USER_HOME", owned(home)),
        ("VOLUME_DIR", owned(&cfg.volumes_dir)),
        ("WORK_DIR", owned(&cfg.works_dir)),
        ("XDG_CACHE_HOME", under_home("/.cache")),
        ("XDG_RUNTIME_DIR", under_home(RUNTIME_DIR)),
    ];
    debug_assert!(computed.is_sorted_by_key(|(k, _)| *k));
    // The configured variables (sorted, as map keys) and the computed ones merged by name, a
    // computed variable replacing a configured one of the same name: the list is then sorted
    // and free of repeats, so building the map checks the order once and sorts nothing.
    // `=` and NUL are ASCII, so a byte scan finds them in a name (UTF-8 never hides them in a
    // character); no computed name holds them.
    let mut configured = cfg
        .spawner_environment
        .iter()
        .filter(|(k, _)| !k.is_empty() && !k.bytes().any(|b| b == b'=' || b == 0));
    let mut pending = configured.next();
    let copy = |(k, v): (&String, &String)| (Cow::Owned(k.clone()), without_nul(v.clone()));
    // Of the computed values only the home paths (from the admin's templates), the teacher
    // group and the time zone can hold NUL: every other one is a number or was checked or
    // filtered where it was read. When those three are clean, no computed value needs a scan.
    let computed_clean = ![layout.volumes(), &cfg.teacher_group, &cfg.time_zone]
        .iter()
        .any(|s| has_nul(s));
    let mut env: Vec<(Cow<'static, str>, String)> =
        Vec::with_capacity(cfg.spawner_environment.len() + computed.len());
    for (name, value) in computed.into_iter().filter_map(|(k, v)| Some((k, v?))) {
        while let Some((k, v)) = pending.filter(|(k, _)| k.as_str() <= name) {
            if k != name {
                env.push(copy((k, v)));
            }
            pending = configured.next();
        }
        let value = if computed_clean {
            debug_assert!(!has_nul(&value), "{name} holds NUL");
            value
        } else {
            without_nul(value)
        };
        env.push((Cow::Borrowed(name), value));
    }
    env.extend(pending.into_iter().chain(configured).map(copy));
    EnvVars::from_vec(env)
}

/// The runtime directory under the home (`JUPYTER_RUNTIME_DIR`, `XDG_RUNTIME_DIR`).
const RUNTIME_DIR: &str = "/.local/share/jupyter/runtime";

/// True when `value` holds a NUL character.
fn has_nul(value: &str) -> bool {
    value.as_bytes().contains(&0)
}

/// `value` without NUL characters, which environment values cannot carry.
fn without_nul(mut value: String) -> String {
    if has_nul(&value) {
        value.retain(|c| c != '\0');
    }
    value
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::params::LmsParams;

    /// The environment of a student or teacher with `configured` as `spawner_environment`.
    fn env_with(configured: &[(&str, &str)], is_teacher: bool) -> EnvVars {
        let cfg = SpecConfig {
            spawner_environment: configured
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect(),
            ..SpecConfig::default()
        };
        let identity = Identity {
            uid: 30007,
            gid: 30000,
            group: "others".to_owned(),
        };
        let layout = Layout::new(&cfg, "alice", &identity).expect("layout");
        let limits = ResourceLimits {
            cpu_limit: Some(1.0),
            mem_limit: None,
            cpu_guarantee: None,
            mem_guarantee: Some(1 << 20),
        };
        build(EnvInput {
            cfg: &cfg,
            params: &LmsParams::default(),
            username: "alice",
            identity: &identity,
            layout: &layout,
            lists: VolumeLists::default(),
            is_teacher,
            act_limit: 60,
            limits: &limits,
            image: "img:1",
        })
    }

    #[test]
    fn configured_names_before_between_and_after_computed_ones_merge() {
        let configured = [
            ("AAA", "first"),
            ("JUPYTER_IMAGE", "configured"),
            ("MEM_LIMIT", "kept: no computed value"),
            ("NB_UMASK", "0077"),
            ("NB_ZZZ", "between"),
            ("ZZZ", "last\0"),
            ("A=B", "dropped"),
        ];
        for is_teacher in [false, true] {
            let env = env_with(&configured, is_teacher);
            assert_eq!(env["AAA"], "first");
            assert_eq!(env["JUPYTER_IMAGE"], "img:1");
            assert_eq!(env["MEM_LIMIT"], "kept: no computed value");
            assert_eq!(env["NB_UMASK"], if is_teacher { "0033" } else { "0077" });
            assert_eq!(env["NB_ZZZ"], "between");
            assert_eq!(env["ZZZ"], "last");
            assert_eq!(env["CPU_LIMIT"], "1.0");
            assert_eq!(env["MEM_GUARANTEE"], "1048576");
            assert!(!env.contains_key("A=B") && !env.contains_key("CPU_GUARANTEE"));
            // 31 always computed, CPU_LIMIT, MEM_GUARANTEE, NB_UMASK, and 5 configured names
            // that no computed variable replaces.
            assert_eq!(env.len(), 31 + 3 + 4, "{env:?}");
        }
        assert_eq!(env_with(&[], false)["NB_UMASK"], "0037");
    }

    #[test]
    fn computed_values_lose_nul_from_the_configuration() {
        let cfg = SpecConfig {
            time_zone: "UTC\0".to_owned(),
            home_template: "/home/x\0y/{user}".to_owned(),
            ..SpecConfig::default()
        };
        let identity = Identity {
            uid: 30007,
            gid: 30000,
            group: "others".to_owned(),
        };
        let layout = Layout::new(&cfg, "alice", &identity).expect("layout");
        let env = build(EnvInput {
            cfg: &cfg,
            params: &LmsParams::default(),
            username: "alice",
            identity: &identity,
            layout: &layout,
            lists: VolumeLists::default(),
            is_teacher: false,
            act_limit: 0,
            limits: &ResourceLimits::default(),
            image: "img:1",
        });
        assert_eq!(env["TZ"], "UTC");
        assert_eq!(env["NB_WRKDIR"], "/home/xy/alice/jupyter/works");
        assert!(env.iter().all(|(_, v)| !has_nul(v)));
    }
}
