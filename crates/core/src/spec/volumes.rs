//! Which course volumes a user gets, their mounts and `NB_*` list entries (see
//! docs/original-system.md, "Who gets a volume" and "Submit deadline").

use crate::container::{Mount, MountSource};
use crate::params::{LmsParams, VolumeKind, VolumeParam};

use super::SpecConfig;
use super::layout::Layout;

/// The longest physical volume name (one directory name on the engine's disk).
pub const MAX_PHYSICAL_LEN: usize = 255;

/// The volumes one user gets.
#[derive(Debug, Default)]
pub(crate) struct Granted {
    /// Engine volume mounts (task and submit volumes).
    pub(crate) mounts: Vec<Mount>,
    /// Engine volumes to create (physical names).
    pub(crate) create: Vec<String>,
    /// The `NB_*` volume lists.
    pub(crate) lists: VolumeLists,
}

/// The `NB_*` volume lists of the environment, moved into it as they are.
#[derive(Debug, Default)]
pub(crate) struct VolumeLists {
    /// `NB_VOLUMES`: the entries, separated by spaces.
    pub(crate) task: String,
    /// `NB_SUBMITS`: the entries, separated by spaces.
    pub(crate) submit: String,
    /// `NB_PRSNALS`: the entries, separated by spaces.
    pub(crate) personal: String,
}

/// Appends the `NB_*` list entry `<volumes_dir>/<physical>:<link name>` to `list`, after a space
/// when the list is not empty.
fn push_entry(list: &mut String, volumes_dir: &str, physical: &str, v: &VolumeParam) {
    let parts = [volumes_dir, "/", physical, ":", v.link_marker(), &v.display];
    list.reserve(1 + parts.iter().map(|p| p.len()).sum::<usize>());
    if !list.is_empty() {
        list.push(' ');
    }
    for part in parts {
        list.push_str(part);
    }
}

/// The physical name `<prefix><name>_<course>_<host>`, shared with Moodle (see
/// docs/original-system.md, "Volume names").
pub fn physical_name(kind: VolumeKind, name: &str, course_id: &str, lms_host: &str) -> String {
    [kind.prefix(), name, "_", course_id, "_", lms_host].concat()
}

/// True when the user may mount `v` (see docs/original-system.md, "Who gets a volume"): a
/// per-volume list decides alone (teachers are not implicitly included); without one,
/// `lms_users` or being a teacher does.
fn permitted(v: &VolumeParam, params: &LmsParams, username: &str, is_teacher: bool) -> bool {
    match &v.users {
        Some(list) => list.admits(username),
        None => params.users.admits(username) || is_teacher,
    }
}

pub(crate) fn grant(
    cfg: &SpecConfig,
    params: &LmsParams,
    layout: &Layout,
    username: &str,
    is_teacher: bool,
    now_unix: i64,
    warnings: &mut Vec<String>,
) -> Granted {
    let mut g = Granted::default();
    let Some(course) = params.course_id.as_deref() else {
        if !params.volumes.is_empty() {
            warnings.push(
                "the launch's context_id cannot be part of a volume name; no course volumes are \
                 mounted"
                    .to_owned(),
            );
        }
        return g;
    };
    for v in &params.volumes {
        if !permitted(v, params, username, is_teacher) {
            continue;
        }
        // A teachers-only volume (`-` before its display name) is not mounted for students at
        // all: the original only hid its link, and a student could still open it under the
        // volumes directory.
        if v.teachers_only && !is_teacher {
            continue;
        }
        if v.kind == VolumeKind::Submit
            && !is_teacher
            && v.close.is_some_and(|c| c.is_closed(now_unix))
        {
            continue;
        }
        let physical = physical_name(v.kind, &v.name, course, &params.lms_host);
        if physical.len() > MAX_PHYSICAL_LEN {
            warnings.push(format!(
                "volume name {physical:?} is longer than {MAX_PHYSICAL_LEN} bytes; not mounted"
            ));
            continue;
        }
        let list = match v.kind {
            VolumeKind::Task => &mut g.lists.task,
            VolumeKind::Submit => &mut g.lists.submit,
            VolumeKind::Personal => &mut g.lists.personal,
        };
        push_entry(list, &cfg.volumes_dir, &physical, v);
        if v.kind == VolumeKind::Personal {
            continue;
        }
        let target = [layout.volumes(), "/", &physical].concat();
        let read_only =
            v.kind == VolumeKind::Task && !is_teacher && cfg.task_volumes_read_only_for_students;
        g.mounts.push(Mount {
            source: MountSource::Volume(physical.clone()),
            target,
            read_only,
        });
        g.create.push(physical);
    }
    g
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::params::UserList;

    fn vol(users: Option<UserList>) -> VolumeParam {
        let launch = crate::launch::LtiLaunch::from_params(
            "k",
            &[
                ("user_id".to_owned(), "1".to_owned()),
                ("resource_link_id".to_owned(), "1".to_owned()),
                ("custom_lms_vol_a".to_owned(), "A".to_owned()),
            ],
            "ext_user_username",
        )
        .expect("launch");
        let mut v = LmsParams::from_launch(&launch).0.volumes.remove(0);
        v.users = users;
        v
    }

    fn list(names: &[&str], everybody: bool) -> UserList {
        UserList {
            everybody,
            names: names.iter().map(|n| (*n).to_owned()).collect(),
        }
    }

    #[test]
    fn permission_rules() {
        let mut params = LmsParams::default();
        // No per-volume list: lms_users or teacher.
        let open = vol(None);
        assert!(!permitted(&open, &params, "alice", false));
        assert!(permitted(&open, &params, "alice", true));
        params.users = list(&["alice"], false);
        assert!(permitted(&open, &params, "alice", false));
        assert!(!permitted(&open, &params, "bob", false));
        params.users = list(&[], true);
        assert!(permitted(&open, &params, "bob", false));
        // A per-volume list decides alone.
        let only_carol = vol(Some(list(&["carol"], false)));
        assert!(permitted(&only_carol, &params, "carol", false));
        assert!(!permitted(&only_carol, &params, "bob", false));
        assert!(!permitted(&only_carol, &params, "teacher", true));
        assert!(permitted(&vol(Some(list(&[], true))), &params, "x", false));
    }

    #[test]
    fn physical_names_match_moodle() {
        assert_eq!(
            physical_name(VolumeKind::Task, "rsa", "219", "el.mml.tuis.ac.jp"),
            "lms_vol_rsa_219_el.mml.tuis.ac.jp"
        );
        assert_eq!(
            physical_name(VolumeKind::Submit, "rsa", "219", "h"),
            "lms_sub_rsa_219_h"
        );
        assert_eq!(
            physical_name(VolumeKind::Personal, "rsa", "219", "h"),
            "lms_prs_rsa_219_h"
        );
    }
}
