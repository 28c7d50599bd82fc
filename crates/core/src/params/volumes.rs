//! The `lms_vol_*`, `lms_prs_*`, `lms_sub_*` and `lms_sub_*_close` parameters.

use super::sanitize::{in_set, without};
use super::{ParamWarning, UserList};

/// The longest volume `<name>` accepted (Moodle's form allows 30 characters).
pub const MAX_VOLUME_NAME_LEN: usize = 64;

/// The three kinds of course volume (see docs/original-system.md, "The three kinds").
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum VolumeKind {
    /// `lms_vol_<name>`: teacher-distributed material, a shared engine volume.
    Task,
    /// `lms_sub_<name>`: a drop box, a shared engine volume with a deadline.
    Submit,
    /// `lms_prs_<name>`: a private directory in the user's home, seeded from the task volume of
    /// the same name. Not an engine volume.
    Personal,
}

impl VolumeKind {
    /// The parameter prefix (after `custom_`), which is also the prefix of the physical name.
    pub fn prefix(self) -> &'static str {
        match self {
            Self::Task => "lms_vol_",
            Self::Submit => "lms_sub_",
            Self::Personal => "lms_prs_",
        }
    }
}

/// When a submit volume closes (`lms_sub_<name>_close`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SubmitClose {
    /// Closed for students once the clock passes this Unix time (seconds).
    At(i64),
    /// The value was present but not a Unix time: treated as already closed for students
    /// (see the module docs of [`crate::params`]).
    Malformed,
}

impl SubmitClose {
    /// True when the volume is closed (for students) at `now_unix`.
    pub fn is_closed(self, now_unix: i64) -> bool {
        match self {
            Self::At(t) => now_unix > t,
            Self::Malformed => true,
        }
    }
}

/// One `lms_{vol,sub,prs}_<name>` parameter, checked.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct VolumeParam {
    /// Which kind of volume.
    pub kind: VolumeKind,
    /// The volume `<name>`, `[a-z0-9]+`.
    pub name: String,
    /// The link name shown to the user, without the `-` marker; never empty, `.`, `..`, never
    /// starting with `.`, never holding `/`, `:`, whitespace or shell metacharacters.
    pub display: String,
    /// True when `display` had the leading `-` ("link only for teachers"). Always false for
    /// submit volumes, whose `-` is stripped and which every permitted user sees.
    pub teachers_only: bool,
    /// The per-volume user list (`display:users`), `None` when absent or empty.
    pub users: Option<UserList>,
    /// The submit deadline (`lms_sub_<name>_close`); always `None` for other kinds.
    pub close: Option<SubmitClose>,
}

impl VolumeParam {
    /// The display name as the container's `start.sh` expects it in `NB_VOLUMES`/`NB_PRSNALS`/
    /// `NB_SUBMITS`: with the `-` marker when the link is for teachers only.
    pub fn link_name(&self) -> String {
        [self.link_marker(), &self.display].concat()
    }

    /// The `-` marker that [`VolumeParam::link_name`] puts before the display name of a
    /// teachers-only link, else nothing.
    pub(crate) fn link_marker(&self) -> &'static str {
        if self.teachers_only { "-" } else { "" }
    }
}

/// True when `name` is a usable volume `<name>`.
pub(crate) fn valid_volume_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= MAX_VOLUME_NAME_LEN
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
}

/// Parses the value `display[:users]` of a volume parameter. `Ok(None)` means "no volume" (an
/// empty display, as in the original); `Err` carries the warning for a rejected value.
pub(crate) fn parse_volume(
    key: &str,
    kind: VolumeKind,
    name: &str,
    value: &str,
    warnings: &mut Vec<ParamWarning>,
) -> Result<Option<VolumeParam>, ParamWarning> {
    if !valid_volume_name(name) {
        return Err(ParamWarning::new(
            key,
            format!(
                "volume name {name:?} is not 1-{MAX_VOLUME_NAME_LEN} lowercase letters or digits; \
                 the volume is ignored"
            ),
        ));
    }
    let (display_raw, users_raw) = value.split_once(':').unwrap_or((value, ""));
    let display_raw = display_raw.trim();
    if display_raw.is_empty() {
        return Ok(None);
    }
    let (marked, rest) = match display_raw.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, display_raw),
    };
    let display = without(rest, |c| {
        in_set(c, true) || c.is_whitespace() || matches!(c, ':' | '*')
    });
    if display != rest {
        warnings.push(ParamWarning::new(
            key,
            format!("display name {rest:?} held forbidden characters; using {display:?}"),
        ));
    }
    if display.is_empty() || display.starts_with('.') {
        return Err(ParamWarning::new(
            key,
            format!(
                "display name {display_raw:?} is empty or starts with `.` once cleaned; the volume \
                 is ignored"
            ),
        ));
    }
    let users = UserList::parse(key, users_raw, warnings);
    Ok(Some(VolumeParam {
        kind,
        name: name.to_owned(),
        display: display.into_owned(),
        teachers_only: marked && kind != VolumeKind::Submit,
        users: (!users.is_empty()).then_some(users),
        close: None,
    }))
}

/// Parses the value of `lms_sub_<name>_close`. `None` means "no deadline".
pub(crate) fn parse_close(
    key: &str,
    value: &str,
    warnings: &mut Vec<ParamWarning>,
) -> Option<SubmitClose> {
    let value = value.trim();
    if value.is_empty() {
        warnings.push(ParamWarning::new(
            key,
            "empty submit deadline; the submit volume has no deadline",
        ));
        return None;
    }
    match value.parse::<i64>() {
        Ok(t) if value.bytes().all(|b| b.is_ascii_digit()) => Some(SubmitClose::At(t)),
        _ => {
            warnings.push(ParamWarning::new(
                key,
                format!(
                    "submit deadline {value:?} is not a Unix time in seconds; the submit volume is \
                     treated as closed for students"
                ),
            ));
            Some(SubmitClose::Malformed)
        }
    }
}
