//! The container environment (ORIGINAL §5.4): the configured `spawner_environment`, then the
//! computed `NB_*`, `LTI_*`, directory and limit variables, which win over configured ones.

use std::collections::BTreeMap;

use crate::container::ResourceLimits;
use crate::params::LmsParams;

use super::layout::Layout;
use super::volumes::Granted;
use super::{Identity, SpecConfig};

/// What the environment is computed from.
pub(crate) struct EnvInput<'a> {
    pub(crate) cfg: &'a SpecConfig,
    pub(crate) params: &'a LmsParams,
    pub(crate) username: &'a str,
    pub(crate) identity: &'a Identity,
    pub(crate) layout: &'a Layout,
    pub(crate) granted: &'a Granted,
    pub(crate) is_teacher: bool,
    pub(crate) act_limit: u64,
    pub(crate) limits: &'a ResourceLimits,
    pub(crate) image: &'a str,
}

pub(crate) fn build(input: &EnvInput<'_>) -> BTreeMap<String, String> {
    let EnvInput {
        cfg,
        params,
        username,
        identity,
        layout,
        granted,
        is_teacher,
        act_limit,
        limits,
        image,
    } = *input;
    let home = layout.home.as_str();
    let session = params.session;
    let runtime_dir = [home, "/.local/share/jupyter/runtime"].concat();
    let computed: [(&str, String); 31] = [
        ("PRJCT_DIR", cfg.projects_dir.clone()),
        ("WORK_DIR", cfg.works_dir.clone()),
        ("VOLUME_DIR", cfg.volumes_dir.clone()),
        ("USER_HOME", home.to_owned()),
        ("JUPYTER_CONFIG_DIR", [home, "/.jupyter"].concat()),
        ("JUPYTER_DATA_DIR", [home, "/.local/share/jupyter"].concat()),
        ("JUPYTER_RUNTIME_DIR", runtime_dir.clone()),
        ("XDG_RUNTIME_DIR", runtime_dir),
        ("XDG_CACHE_HOME", [home, "/.cache"].concat()),
        ("TZ", cfg.time_zone.clone()),
        ("NB_UID", identity.uid.to_string()),
        ("NB_GID", identity.gid.to_string()),
        ("NB_USER", username.to_owned()),
        ("NB_GROUP", identity.group.clone()),
        ("NB_DIR", home.to_owned()),
        ("NB_WRKDIR", layout.works.clone()),
        ("NB_ACTLIMIT", act_limit.to_string()),
        ("NB_THRGID", cfg.teacher_gid.to_string()),
        ("NB_THRGROUP", cfg.teacher_group.clone()),
        ("NB_OPTION", params.options.clone().unwrap_or_default()),
        ("NB_HOSTNAME", params.lms_host.clone()),
        (
            "NB_TEACHER",
            if is_teacher {
                username.to_owned()
            } else {
                String::new()
            },
        ),
        ("NB_VOLUMES", granted.task.join(" ")),
        ("NB_SUBMITS", granted.submit.join(" ")),
        ("NB_PRSNALS", granted.personal.join(" ")),
        ("LTI_CTR_ID", session.map_or(0, |s| s.ltictr_id).to_string()),
        ("LTI_ID", session.map_or(0, |s| s.lti_id).to_string()),
        ("LTI_COURSE", params.course_name.clone().unwrap_or_default()),
        ("LTI_NAME", params.lti_name.clone().unwrap_or_default()),
        ("JUPYTER_IMAGE_SPEC", image.to_owned()),
        ("JUPYTER_IMAGE", image.to_owned()),
    ];
    // Configured variables first, computed ones after: a later entry wins over an earlier one
    // with the same name when the map is built.
    let mut env: Vec<(String, String)> =
        Vec::with_capacity(cfg.spawner_environment.len() + computed.len() + 5);
    env.extend(
        cfg.spawner_environment
            .iter()
            .map(|(k, v)| (k.clone(), v.clone())),
    );
    env.extend(computed.into_iter().map(|(k, v)| (k.to_owned(), v)));
    // Teachers always get 0033; a student keeps a configured NB_UMASK, else 0037.
    if is_teacher {
        env.push(("NB_UMASK".to_owned(), "0033".to_owned()));
    } else if !cfg.spawner_environment.contains_key("NB_UMASK") {
        env.push(("NB_UMASK".to_owned(), "0037".to_owned()));
    }
    if let Some(cpu) = limits.cpu_limit {
        env.push(("CPU_LIMIT".to_owned(), format!("{cpu:?}")));
    }
    if let Some(mem) = limits.mem_limit {
        env.push(("MEM_LIMIT".to_owned(), mem.to_string()));
    }
    if let Some(cpu) = limits.cpu_guarantee {
        env.push(("CPU_GUARANTEE".to_owned(), format!("{cpu:?}")));
    }
    if let Some(mem) = limits.mem_guarantee {
        env.push(("MEM_GUARANTEE".to_owned(), mem.to_string()));
    }
    // Environment values cannot carry NUL; every input above is already free of it, but a
    // configured value is the admin's text, so make the guarantee local.
    for (_, v) in &mut env {
        if v.contains('\0') {
            v.retain(|c| c != '\0');
        }
    }
    // `=` and NUL are ASCII, so a byte scan finds them (UTF-8 never hides them in a character).
    env.retain(|(k, _)| !k.is_empty() && !k.bytes().any(|b| b == b'=' || b == 0));
    // `BTreeMap::from_iter` sorts stably and keeps the last value of a repeated name.
    env.into_iter().collect()
}
