//! The `lms_*` custom parameters of LTIContainerSpawner, read from one launch (see
//! docs/original-system.md, "Parameters").
//!
//! [`LmsParams::from_launch`] reads every `custom_lms_*` parameter plus the identity parameters
//! (`ext_user_userid`, `ext_user_groupid`, `ext_user_groupname`), the course (`context_id`) and
//! the LMS host (`lis_outcome_service_url`, else `lms_serverurl`). It never fails: a value it
//! cannot use is dropped with a [`ParamWarning`] for the admin's log, and the spec builder
//! ([`crate::spec`]) then applies the configured default.
//!
//! # Decisions on the original's quirks
//!
//! The original's rules are in docs/original-system.md, "Parsing rules" and "Quirks and
//! decisions".
//!
//! * **Names match exactly.** The original matched most names by prefix (`lms_teachersfoo`
//!   counted as `lms_teachers`). Moodle only ever sends the exact names, so exact matching loses
//!   nothing and stops typos from silently taking effect. An unknown `lms_*` name gives a warning.
//! * **User lists** (`lms_users`, `lms_teachers`, per-volume `display:users`) split on commas
//!   *and* whitespace (the original deleted spaces first, so `alice bob` became `alicebob`). Each
//!   entry is normalised exactly like the launch username
//!   ([`crate::launch::normalize_username`]), so `Alice` in a list matches the user `alice`.
//!   `*` means everybody. An entry that cannot be a username is dropped with a warning.
//! * **No sticky overrides.** Every field is an `Option` (or empty) that holds only what *this*
//!   launch said; the spec builder starts from the configured defaults on every spawn. The
//!   original kept an override from an earlier launch until the hub restarted.
//! * **Empty means default.** An empty value (Moodle's "default" choice) is silently the same as
//!   an absent parameter; the one exception is an empty submit deadline (below).
//! * **Numbers.** `lms_cpulimit`/`lms_cpugrnt` keep `[0-9.]`, `lms_memlimit`/`lms_memgrnt`/
//!   `lms_actlimit` keep digits (Moodle sends `524,288,000`), as in the original. A value that is
//!   then empty, unparsable (`1.2.3`) or too large for the type gives a warning and the default.
//!   Caps are applied by the spec builder.
//! * **Submit deadlines** (`lms_sub_<name>_close`): a Unix time in seconds (digits only). An
//!   empty value means "no deadline", with a warning. Any other malformed value **closes** the
//!   submit volume for students, with a warning: the teacher clearly meant a deadline, and
//!   accepting late work silently is the worse failure (teachers still see the volume and can fix
//!   the value). The original crashed the spawn on both.
//! * **`lms_sessioninfo`**: non-digits become separators and the first two numbers are the
//!   mod_lticontainer instance id and the LTI activity id. Fewer than two numbers, or a number
//!   too large, gives a warning and the default `0`/`0` (the original crashed the spawn). Its
//!   LTI id must be the launch's `resource_link_id` when that is a number (Moodle's activity id,
//!   which Moodle signs): a teacher could otherwise write another course's activity into it and
//!   see that activity's dashboard; a mismatch is ignored the same way, with a warning.
//! * **Volumes.** `<name>` must be 1-64 of `[a-z0-9]` (what Moodle produces); anything else (path
//!   traversal, `/`, `_`, upper case) drops that volume with a warning. The display name loses
//!   the S2 characters, whitespace, `:`, `*` and control characters (with a warning when it
//!   changed); it must then be non-empty and must not start with `.`, else the volume is dropped.
//!   A leading `-` marks a teachers-only link for task and personal volumes and is stripped
//!   without effect for submit volumes. An empty display means "no volume", silently.
//! * **Strings.** `lms_image`, `lms_defurl`, `lms_serverurl`, `lms_serverpath` lose the S1 set
//!   (shell metacharacters and spaces — so Moodle's `repo : tag` becomes `repo:tag`), plus the
//!   backslash, backtick and every control character (NUL included); `lms_options` and
//!   `ext_user_groupname` lose S2 (S1 plus `/`). `lms_defurl` must then be a path (`/…`, no `//`,
//!   no `..`) or it is ignored with a warning. `lms_course`/`lms_ltiname` lose control
//!   characters and backslashes.
//! * **Identity parameters.** `ext_user_userid`/`ext_user_groupid` keep digits (as the original)
//!   and must fit a `u32`; `ext_user_groupname` must be a safe group name (the rules of usernames,
//!   without mapping) because it becomes a directory of the home path.
//! * **Course and host.** `context_id` becomes part of volume names, so it must be 1-64 of
//!   `[A-Za-z0-9_.-]` not starting with `.`/`-`; when it is missing it is `0` (the original's
//!   default); when it is unusable, [`LmsParams::course_id`] is `None` and the spec builder mounts
//!   no course volumes. The LMS host is the host of `lis_outcome_service_url`, else of
//!   `lms_serverurl`, else `localhost` (the original's default); it must be a DNS name or an
//!   IPv4 address.

mod sanitize;
mod volumes;

use std::fmt;

pub use volumes::{MAX_VOLUME_NAME_LEN, SubmitClose, VolumeKind, VolumeParam};

use crate::launch::{LtiLaunch, is_safe_username, normalize_username};
pub(crate) use sanitize::find_str;
use sanitize::{Num, decimal_f64, digits_u64, strip_controls, strip_set, url_host};

/// The LMS host used when the launch names none (the original's default).
pub const DEFAULT_LMS_HOST: &str = "localhost";

/// The course id used when the launch carries no `context_id` (the original's default).
pub const DEFAULT_COURSE_ID: &str = "0";

/// A value that was dropped or changed, for the admin's log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParamWarning {
    /// The launch parameter concerned, e.g. `custom_lms_memlimit`.
    pub param: String,
    /// What was wrong and what the hub did instead.
    pub message: String,
}

impl ParamWarning {
    pub(crate) fn new(param: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            param: param.into(),
            message: message.into(),
        }
    }
}

impl fmt::Display for ParamWarning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.param, self.message)
    }
}

/// A list of usernames (normalised) where `*` means everybody.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UserList {
    /// True when the list held `*`.
    pub everybody: bool,
    /// The normalised usernames, in order, without duplicates.
    pub names: Vec<String>,
}

impl UserList {
    /// Parses a comma- and/or whitespace-separated list; bad entries become warnings for `param`.
    pub(crate) fn parse(param: &str, value: &str, warnings: &mut Vec<ParamWarning>) -> Self {
        let mut list = Self::default();
        for entry in value
            .split(|c: char| c == ',' || c.is_whitespace())
            .filter(|s| !s.is_empty())
        {
            if entry == "*" {
                list.everybody = true;
            } else if let Some(name) = normalize_username(entry) {
                if !list.names.contains(&name) {
                    list.names.push(name);
                }
            } else {
                warnings.push(ParamWarning::new(
                    param,
                    format!("{entry:?} cannot be a username; it is ignored"),
                ));
            }
        }
        list
    }

    /// True when the list holds `*` or `username`.
    pub fn admits(&self, username: &str) -> bool {
        self.everybody || self.names.iter().any(|n| n == username)
    }

    /// True when the list holds neither `*` nor any name.
    pub fn is_empty(&self) -> bool {
        !self.everybody && self.names.is_empty()
    }
}

/// `lms_sessioninfo`: which mod_lticontainer instance and LTI activity launched.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SessionInfo {
    /// The mod_lticontainer instance id (env `LTI_CTR_ID`).
    pub ltictr_id: u64,
    /// The LTI activity id (env `LTI_ID`).
    pub lti_id: u64,
}

/// Every `lms_*` parameter of one launch, checked. `None`/empty means "not given by this launch":
/// the spec builder uses the configured default.
#[derive(Debug, Clone, Default, PartialEq)]
#[non_exhaustive]
pub struct LmsParams {
    /// The course id (`context_id`), safe for volume names; `None` when it was unusable.
    pub course_id: Option<String>,
    /// The LMS host name (volume names, `NB_HOSTNAME`).
    pub lms_host: String,
    /// `ext_user_userid`: the uid the LMS host knows for the user.
    pub ext_user_id: Option<u32>,
    /// `ext_user_groupid`: the gid the LMS host knows for the user.
    pub ext_group_id: Option<u32>,
    /// `ext_user_groupname`: the group name the LMS host knows for the user.
    pub ext_group_name: Option<String>,
    /// `lms_image`: the requested image (`repo:tag`), still to be checked against the allowlist.
    pub image: Option<String>,
    /// `lms_users`: who may mount volumes that have no per-volume user list.
    pub users: UserList,
    /// `lms_teachers`: the teachers of this course.
    pub teachers: UserList,
    /// `lms_cpugrnt`: CPUs reserved.
    pub cpu_guarantee: Option<f64>,
    /// `lms_memgrnt`: memory reserved, bytes.
    pub mem_guarantee: Option<u64>,
    /// `lms_actlimit`: activity (wall-clock) limit in seconds; `0` = none.
    pub act_limit: Option<u64>,
    /// `lms_cpulimit`: CPU limit; `0` = none.
    pub cpu_limit: Option<f64>,
    /// `lms_memlimit`: memory limit in bytes; `0` = none.
    pub mem_limit: Option<u64>,
    /// `lms_defurl`: the default URL path (`/lab`, `/tree`).
    pub default_url: Option<String>,
    /// `lms_options`: passed through as `NB_OPTION`.
    pub options: Option<String>,
    /// `lms_vol_*`, `lms_sub_*` (with their `_close` deadlines) and `lms_prs_*`, sorted by kind
    /// and name.
    pub volumes: Vec<VolumeParam>,
    /// `lms_iframe`: the LMS embeds the tool in an iframe (`1`).
    pub iframe: bool,
    /// `lms_sessioninfo`: instance and activity ids.
    pub session: Option<SessionInfo>,
    /// `lms_serverurl`: `<scheme>://<moodle-host>:<port>`.
    pub server_url: Option<String>,
    /// `lms_serverpath`: Moodle's wwwroot path.
    pub server_path: Option<String>,
    /// `lms_rpctoken`: the Moodle web-service token (used by the activity recorder, not here).
    pub rpc_token: Option<String>,
    /// `lms_course`: the course's full name (`LTI_COURSE`).
    pub course_name: Option<String>,
    /// `lms_ltiname`: the LTI activity's name (`LTI_NAME`).
    pub lti_name: Option<String>,
}

impl LmsParams {
    /// Reads the `lms_*` and identity parameters of `launch`. Never fails; see the module docs
    /// for what happens to each kind of bad value.
    pub fn from_launch(launch: &LtiLaunch) -> (Self, Vec<ParamWarning>) {
        let mut w = Vec::new();
        let mut p = Self {
            course_id: course_id(launch.context_id.as_deref(), &mut w),
            ..Self::default()
        };
        // The full `custom_lms_*` keys, so warnings name them without building them again.
        for (key, value) in launch.params.with_prefix("custom_lms_") {
            if let Some(name) = key.strip_prefix("custom_") {
                p.read_custom(key, name, value, &mut w);
            }
        }
        p.read_identity(launch, &mut w);
        p.session = p
            .session
            .filter(|s| session_of_this_activity(s, &launch.resource_link_id, &mut w));
        p.lms_host = launch
            .outcome_service_url
            .as_deref()
            .and_then(|u| host_or_warn("lis_outcome_service_url", u, &mut w))
            .filter(|h| h != DEFAULT_LMS_HOST)
            .or_else(|| {
                let url = p.server_url.as_deref()?;
                host_or_warn("custom_lms_serverurl", url, &mut w)
            })
            .unwrap_or_else(|| DEFAULT_LMS_HOST.to_owned());
        p.volumes
            .sort_by(|a, b| (a.kind, &a.name).cmp(&(b.kind, &b.name)));
        (p, w)
    }

    fn read_custom(&mut self, key: &str, name: &str, value: &str, w: &mut Vec<ParamWarning>) {
        let text = |slash: bool| {
            let kept = strip_set(value, slash);
            (!kept.is_empty()).then(|| kept.into_owned())
        };
        match name {
            "lms_image" => self.image = text(false),
            "lms_users" => self.users = UserList::parse(key, value, w),
            "lms_teachers" => self.teachers = UserList::parse(key, value, w),
            "lms_cpugrnt" => self.cpu_guarantee = number(key, value, decimal_f64, w),
            "lms_memgrnt" => self.mem_guarantee = number(key, value, digits_u64, w),
            "lms_actlimit" => self.act_limit = number(key, value, digits_u64, w),
            "lms_cpulimit" => self.cpu_limit = number(key, value, decimal_f64, w),
            "lms_memlimit" => self.mem_limit = number(key, value, digits_u64, w),
            "lms_defurl" => self.default_url = text(false).and_then(|u| url_path(key, u, w)),
            "lms_options" => self.options = text(true),
            "lms_iframe" => self.iframe = value.trim() == "1",
            "lms_sessioninfo" => self.session = session_info(key, value, w),
            "lms_serverurl" => self.server_url = text(false),
            "lms_serverpath" => self.server_path = text(false),
            "lms_rpctoken" => self.rpc_token = Some(strip_controls(value.trim()).into_owned()),
            "lms_course" => self.course_name = Some(strip_controls(value).into_owned()),
            "lms_ltiname" => self.lti_name = Some(strip_controls(value).into_owned()),
            _ => {
                let rest = [VolumeKind::Task, VolumeKind::Submit, VolumeKind::Personal]
                    .into_iter()
                    .find_map(|k| Some((k, name.strip_prefix(k.prefix())?)));
                match rest {
                    Some((VolumeKind::Submit, vol)) if vol.ends_with("_close") => {
                        let vol = vol.strip_suffix("_close").unwrap_or(vol);
                        // Names come in sorted order and `lms_sub_<name>` sorts before
                        // `lms_sub_<name>_close`, so the volume (when usable) is read already.
                        if let Some(c) = volumes::parse_close(key, value, w)
                            && let Some(v) = self
                                .volumes
                                .iter_mut()
                                .find(|v| v.kind == VolumeKind::Submit && v.name == vol)
                        {
                            v.close = Some(c);
                        }
                    }
                    Some((kind, vol)) => match volumes::parse_volume(key, kind, vol, value, w) {
                        Ok(Some(v)) => self.volumes.push(v),
                        Ok(None) => {}
                        Err(warning) => w.push(warning),
                    },
                    None => w.push(ParamWarning::new(
                        key,
                        "unknown lms_* parameter; it is ignored (check its spelling)",
                    )),
                }
            }
        }
    }

    fn read_identity(&mut self, launch: &LtiLaunch, w: &mut Vec<ParamWarning>) {
        // One search for the three names, which share the prefix.
        let (mut user_id, mut group_id, mut group_name) = (None, None, None);
        for (key, value) in launch.params.with_prefix("ext_user_") {
            match key {
                "ext_user_userid" => user_id = Some(value),
                "ext_user_groupid" => group_id = Some(value),
                "ext_user_groupname" => group_name = Some(value),
                _ => {}
            }
        }
        let id = |k: &str, raw: Option<&str>, w: &mut Vec<ParamWarning>| -> Option<u32> {
            let raw = raw?;
            match digits_u64(raw) {
                Num::Empty => None,
                Num::Value(v) => u32::try_from(v).ok().or_else(|| {
                    w.push(ParamWarning::new(k, format!("{v} is too large for an id")));
                    None
                }),
                Num::Invalid => {
                    w.push(ParamWarning::new(k, format!("{raw:?} is not a number")));
                    None
                }
            }
        };
        self.ext_user_id = id("ext_user_userid", user_id, w);
        self.ext_group_id = id("ext_user_groupid", group_id, w);
        if let Some(raw) = group_name {
            let mut name = strip_set(raw, true).into_owned();
            name.make_ascii_lowercase();
            if is_safe_username(&name) {
                self.ext_group_name = Some(name);
            } else if !name.is_empty() {
                w.push(ParamWarning::new(
                    "ext_user_groupname",
                    format!("{raw:?} is not a safe group name; it is ignored"),
                ));
            }
        }
    }
}

fn number<T>(
    key: &str,
    value: &str,
    parse: fn(&str) -> Num<T>,
    w: &mut Vec<ParamWarning>,
) -> Option<T> {
    match parse(value) {
        Num::Empty => None,
        Num::Value(v) => Some(v),
        Num::Invalid => {
            w.push(ParamWarning::new(
                key,
                format!("{value:?} is not a usable number; the configured default applies"),
            ));
            None
        }
    }
}

fn url_path(key: &str, path: String, w: &mut Vec<ParamWarning>) -> Option<String> {
    let ok = path.starts_with('/')
        && !path.starts_with("//")
        && !path.split('/').any(|seg| seg == "..")
        && path
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'/' | b'.' | b'_' | b'-'));
    if ok {
        Some(path)
    } else {
        w.push(ParamWarning::new(
            key,
            format!("{path:?} is not a plain URL path like /lab; the configured default applies"),
        ));
        None
    }
}

/// Whether `session` names the activity the launch came from. Moodle signs `resource_link_id`
/// (the LTI activity's id) but `lms_sessioninfo` is a custom parameter any editing teacher can
/// write: naming another course's activity there would make its teacher's launches count as
/// that activity's (its dashboard, its learning analytics). A numeric `resource_link_id` (every
/// Moodle launch, 1.1 and 1.3) must equal the LTI id; another LMS's ids (not numbers) cannot be
/// checked and are taken as they are.
fn session_of_this_activity(
    session: &SessionInfo,
    resource_link_id: &str,
    w: &mut Vec<ParamWarning>,
) -> bool {
    match resource_link_id.trim().parse::<u64>() {
        Ok(link) if link != session.lti_id => {
            w.push(ParamWarning::new(
                "custom_lms_sessioninfo",
                format!(
                    "names LTI activity {} but the launch comes from activity {link} \
                     (resource_link_id, signed by the LMS); it is ignored: no learning analytics \
                     and no dashboard for this launch, LTI_CTR_ID and LTI_ID stay 0",
                    session.lti_id
                ),
            ));
            false
        }
        _ => true,
    }
}

fn session_info(key: &str, value: &str, w: &mut Vec<ParamWarning>) -> Option<SessionInfo> {
    if value.trim().is_empty() {
        return None;
    }
    let mut nums = value
        .split(|c: char| !c.is_ascii_digit())
        .filter(|s| !s.is_empty())
        .map(str::parse::<u64>);
    match (nums.next(), nums.next()) {
        (Some(Ok(ltictr_id)), Some(Ok(lti_id))) => Some(SessionInfo { ltictr_id, lti_id }),
        _ => {
            w.push(ParamWarning::new(
                key,
                format!("{value:?} is not `<instance id>,<lti id>`; LTI_CTR_ID and LTI_ID stay 0"),
            ));
            None
        }
    }
}

fn course_id(context_id: Option<&str>, w: &mut Vec<ParamWarning>) -> Option<String> {
    let Some(id) = context_id else {
        return Some(DEFAULT_COURSE_ID.to_owned());
    };
    let ok = id.len() <= 64
        && !id.starts_with(['.', '-'])
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-'));
    if ok {
        Some(id.to_owned())
    } else {
        w.push(ParamWarning::new(
            "context_id",
            format!(
                "{id:?} cannot be part of a volume name (1-64 of [A-Za-z0-9_.-]); no course \
                 volumes are mounted"
            ),
        ));
        None
    }
}

fn host_or_warn(key: &str, url: &str, w: &mut Vec<ParamWarning>) -> Option<String> {
    let host = url_host(url);
    if host.is_none() {
        w.push(ParamWarning::new(
            key,
            format!("{url:?} has no usable host name; it is ignored"),
        ));
    }
    host
}
