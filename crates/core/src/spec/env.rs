//! The container environment (see docs/original-system.md, "Environment"): the configured
//! `spawner_environment`, then the computed `NB_*`, `LTI_*`, directory and limit variables,
//! which win over configured ones.

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
    let text = Value::Text;
    let under_home = |rest| Some(Value::Concat(home, rest));
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
    let computed: [(&'static str, Option<Value<'_>>); 36] = [
        ("CPU_GUARANTEE", limits.cpu_guarantee.map(Value::Float)),
        ("CPU_LIMIT", limits.cpu_limit.map(Value::Float)),
        ("JUPYTER_CONFIG_DIR", under_home("/.jupyter")),
        ("JUPYTER_DATA_DIR", under_home("/.local/share/jupyter")),
        ("JUPYTER_IMAGE", Some(text(image))),
        ("JUPYTER_IMAGE_SPEC", Some(text(image))),
        ("JUPYTER_RUNTIME_DIR", under_home(RUNTIME_DIR)),
        (
            "LTI_COURSE",
            Some(text(params.course_name.as_deref().unwrap_or_default())),
        ),
        (
            "LTI_CTR_ID",
            Some(Value::Number(session.map_or(0, |s| s.ltictr_id))),
        ),
        (
            "LTI_ID",
            Some(Value::Number(session.map_or(0, |s| s.lti_id))),
        ),
        (
            "LTI_NAME",
            Some(text(params.lti_name.as_deref().unwrap_or_default())),
        ),
        ("MEM_GUARANTEE", limits.mem_guarantee.map(Value::Number)),
        ("MEM_LIMIT", limits.mem_limit.map(Value::Number)),
        ("NB_ACTLIMIT", Some(Value::Number(act_limit))),
        ("NB_DIR", Some(text(home))),
        ("NB_GID", Some(Value::Number(identity.gid.into()))),
        ("NB_GROUP", Some(text(&identity.group))),
        ("NB_HOSTNAME", Some(text(&params.lms_host))),
        (
            "NB_OPTION",
            Some(text(params.options.as_deref().unwrap_or_default())),
        ),
        ("NB_PRSNALS", Some(text(&lists.personal))),
        ("NB_SUBMITS", Some(text(&lists.submit))),
        (
            "NB_TEACHER",
            Some(text(if is_teacher { username } else { "" })),
        ),
        ("NB_THRGID", Some(Value::Number(cfg.teacher_gid.into()))),
        ("NB_THRGROUP", Some(text(&cfg.teacher_group))),
        ("NB_UID", Some(Value::Number(identity.uid.into()))),
        ("NB_UMASK", umask.map(text)),
        ("NB_USER", Some(text(username))),
        ("NB_VOLUMES", Some(text(&lists.task))),
        ("NB_WRKDIR", Some(text(layout.works()))),
        ("PRJCT_DIR", Some(text(&cfg.projects_dir))),
        ("TZ", Some(text(&cfg.time_zone))),
        ("USER_HOME", Some(text(home))),
        ("VOLUME_DIR", Some(text(&cfg.volumes_dir))),
        ("WORK_DIR", Some(text(&cfg.works_dir))),
        ("XDG_CACHE_HOME", under_home("/.cache")),
        ("XDG_RUNTIME_DIR", under_home(RUNTIME_DIR)),
    ];
    debug_assert!(computed.is_sorted_by_key(|(k, _)| *k));
    // The configured variables (sorted, as map keys) and the computed ones merged by name, a
    // computed variable replacing a configured one of the same name: the variables then come
    // in name order without repeats, and each value is written straight into the
    // environment's one value buffer.
    // `=` and NUL are ASCII, so a byte scan finds them in a name (UTF-8 never hides them in a
    // character); no computed name holds them.
    let mut configured = cfg
        .spawner_environment
        .iter()
        .filter(|(k, _)| !k.is_empty() && !k.bytes().any(|b| b == b'=' || b == 0));
    let mut pending = configured.next();
    // Of the computed values only the home paths (from the admin's templates), the teacher
    // group and the time zone can hold NUL: every other one is a number or was checked or
    // filtered where it was read. When those three are clean, no computed value needs a scan.
    let computed_clean = ![layout.volumes(), &cfg.teacher_group, &cfg.time_zone]
        .iter()
        .any(|s| has_nul(s));
    let text_len: usize = cfg
        .spawner_environment
        .values()
        .map(String::len)
        .sum::<usize>()
        + lists.task.len()
        + lists.submit.len()
        + lists.personal.len()
        + home.len() * 8
        + 256;
    let mut env = EnvVars::with_capacity(cfg.spawner_environment.len() + computed.len(), text_len);
    let push_configured = |env: &mut EnvVars, (k, v): (&String, &String)| {
        env.push_with(Cow::Owned(k.clone()), |out| push_without_nul(out, v));
    };
    for (name, value) in computed.into_iter().filter_map(|(k, v)| Some((k, v?))) {
        while let Some((k, v)) = pending.filter(|(k, _)| k.as_str() <= name) {
            if k != name {
                push_configured(&mut env, (k, v));
            }
            pending = configured.next();
        }
        env.push_with(Cow::Borrowed(name), |out| {
            let start = out.len();
            value.write(out);
            if computed_clean {
                debug_assert!(!has_nul(&out[start..]), "{name} holds NUL");
            } else {
                strip_nul_from(out, start);
            }
        });
    }
    for var in pending.into_iter().chain(configured) {
        push_configured(&mut env, var);
    }
    env
}

/// A computed value, written into the environment's value buffer without a string of its own.
#[derive(Clone, Copy)]
enum Value<'a> {
    /// Text as it is.
    Text(&'a str),
    /// Two texts one after the other (a path under the home).
    Concat(&'a str, &'a str),
    /// A whole number in decimal.
    Number(u64),
    /// A number of CPUs as Rust prints an `f64` with `{:?}` (`2.0`, `0.5`).
    Float(f64),
}

impl Value<'_> {
    /// Appends the value to `out`.
    fn write(self, out: &mut String) {
        use std::fmt::Write as _;
        // Writing to a String cannot fail.
        let _ = match self {
            Value::Text(text) => {
                out.push_str(text);
                Ok(())
            }
            Value::Concat(a, b) => {
                out.push_str(a);
                out.push_str(b);
                Ok(())
            }
            Value::Number(n) => write!(out, "{n}"),
            Value::Float(f) => write!(out, "{f:?}"),
        };
    }
}

/// Appends `value` to `out` without its NUL characters, which environment values cannot carry.
fn push_without_nul(out: &mut String, value: &str) {
    if has_nul(value) {
        out.extend(value.chars().filter(|&c| c != '\0'));
    } else {
        out.push_str(value);
    }
}

/// Removes the NUL characters from `out[start..]`.
fn strip_nul_from(out: &mut String, start: usize) {
    if has_nul(&out[start..]) {
        let clean: String = out[start..].chars().filter(|&c| c != '\0').collect();
        out.truncate(start);
        out.push_str(&clean);
    }
}

/// The runtime directory under the home (`JUPYTER_RUNTIME_DIR`, `XDG_RUNTIME_DIR`).
const RUNTIME_DIR: &str = "/.local/share/jupyter/runtime";

/// True when `value` holds a NUL character.
fn has_nul(value: &str) -> bool {
    value.as_bytes().contains(&0)
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
        env_for(&cfg, is_teacher)
    }

    /// The environment of `alice` under `cfg` (1 CPU, 1 MiB guaranteed, no volumes).
    fn env_for(cfg: &SpecConfig, is_teacher: bool) -> EnvVars {
        let identity = Identity {
            uid: 30007,
            gid: 30000,
            group: "others".to_owned(),
        };
        let layout = Layout::new(cfg, "alice", &identity).expect("layout");
        let limits = ResourceLimits {
            cpu_limit: Some(1.0),
            mem_limit: None,
            cpu_guarantee: None,
            mem_guarantee: Some(1 << 20),
        };
        build(EnvInput {
            cfg,
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
            assert_eq!(&env["AAA"], "first");
            assert_eq!(&env["JUPYTER_IMAGE"], "img:1");
            assert_eq!(&env["MEM_LIMIT"], "kept: no computed value");
            assert_eq!(&env["NB_UMASK"], if is_teacher { "0033" } else { "0077" });
            assert_eq!(&env["NB_ZZZ"], "between");
            assert_eq!(&env["ZZZ"], "last");
            assert_eq!(&env["CPU_LIMIT"], "1.0");
            assert_eq!(&env["MEM_GUARANTEE"], "1048576");
            assert!(!env.contains_key("A=B") && !env.contains_key("CPU_GUARANTEE"));
            // 31 always computed, CPU_LIMIT, MEM_GUARANTEE, NB_UMASK, and 5 configured names
            // that no computed variable replaces.
            assert_eq!(env.len(), 31 + 3 + 4, "{env:?}");
        }
        assert_eq!(&env_with(&[], false)["NB_UMASK"], "0037");
    }

    #[test]
    fn computed_values_lose_nul_from_the_configuration() {
        let cfg = SpecConfig {
            time_zone: "UTC\0".to_owned(),
            home_template: "/home/x\0y/{user}".to_owned(),
            ..SpecConfig::default()
        };
        let env = env_for(&cfg, false);
        assert_eq!(&env["TZ"], "UTC");
        assert_eq!(&env["NB_WRKDIR"], "/home/xy/alice/jupyter/works");
        assert!(env.iter().all(|(_, v)| !has_nul(v)));
    }
}
