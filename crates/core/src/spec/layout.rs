//! The user's directories: home path, works directory, and the host directories to create (see
//! docs/original-system.md, "Host directories").

use super::{Identity, SpecConfig, SpecError};
use crate::params::find_str;

/// A host directory the hub creates (when missing) before starting the container.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostDir {
    /// Absolute path on the host.
    pub path: String,
    /// Owner uid.
    pub uid: u32,
    /// Owner gid.
    pub gid: u32,
    /// Permission bits, e.g. `0o700`.
    pub mode: u32,
}

/// The paths of one user's home, held as one string: the volumes directory
/// `<home>/<projects_dir>/<works_dir>/<volumes_dir>`, whose prefixes are the other paths.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Layout {
    /// `<works>/<volumes_dir>`.
    path: String,
    /// The length of the home directory (same path on the host and in the container).
    home: usize,
    /// The length of `<home>/<projects_dir>`.
    projects: usize,
    /// The length of `<home>/<projects_dir>/<works_dir>` (`NB_WRKDIR`).
    works: usize,
    /// The length of the group home, when groups are used and it is an ancestor of the home.
    group_home: Option<usize>,
}

/// The placeholder for the username in the home templates.
const USER: &str = "{user}";

/// The placeholder for the group name in the home templates.
const GROUP: &str = "{group}";

/// Appends `template` to `out` with every `{user}` replaced by `user`, then every `{group}` of
/// that text replaced by `group` (the order of two `str::replace` calls).
fn substitute_into(out: &mut String, template: &str, user: &str, group: &str) {
    let start = out.len();
    let mut rest = template;
    while let Some(i) = find_str(rest, USER) {
        out.push_str(&rest[..i]);
        out.push_str(user);
        rest = &rest[i + USER.len()..];
    }
    out.push_str(rest);
    let mut from = start;
    while let Some(i) = find_str(&out[from..], GROUP) {
        let at = from + i;
        out.replace_range(at..at + GROUP.len(), group);
        from = at + group.len();
    }
}

/// True when `path` is already what [`expand_into`] makes of it: absolute, without empty, `.`
/// or `..` segments and without a trailing `/`.
fn is_normal(path: &str) -> bool {
    path.len() > 1
        && path.starts_with('/')
        && path[1..]
            .split('/')
            .all(|seg| !seg.is_empty() && seg != "." && seg != "..")
}

/// Appends the expanded, normalised template to `out`: `{user}`/`{group}` replaced, empty
/// segments dropped. The result must be absolute and free of `.`/`..` segments.
fn expand_into(
    out: &mut String,
    what: &str,
    template: &str,
    user: &str,
    group: &str,
) -> Result<(), SpecError> {
    let start = out.len();
    substitute_into(out, template, user, group);
    if is_normal(&out[start..]) {
        return Ok(());
    }
    let raw = out.split_off(start);
    for segment in raw.split('/').filter(|s| !s.is_empty()) {
        if segment == "." || segment == ".." {
            out.truncate(start);
            break;
        }
        out.push('/');
        out.push_str(segment);
    }
    if !raw.starts_with('/') || out.len() == start {
        return Err(SpecError::Config(format!(
            "{what} {template:?} gives {raw:?}, which is not an absolute path without `.`/`..`"
        )));
    }
    Ok(())
}

fn segment(what: &str, value: &str) -> Result<(), SpecError> {
    if value.is_empty() || value == "." || value == ".." || value.contains(['/', ':', ' ', '\0']) {
        return Err(SpecError::Config(format!(
            "{what} {value:?} must be one plain directory name"
        )));
    }
    Ok(())
}

impl Layout {
    pub(crate) fn new(cfg: &SpecConfig, user: &str, id: &Identity) -> Result<Self, SpecError> {
        segment("projects_dir", &cfg.projects_dir)?;
        segment("works_dir", &cfg.works_dir)?;
        segment("volumes_dir", &cfg.volumes_dir)?;
        if find_str(&cfg.home_template, USER).is_none() {
            return Err(SpecError::Config(format!(
                "home_template {:?} must contain {{user}} so every user gets their own home",
                cfg.home_template
            )));
        }
        let group = if cfg.use_group { id.group.as_str() } else { "" };
        // Room for the home and, after it, either the group home (expanded there to be compared,
        // then dropped) or the three directories below the home.
        let substituted = |template: &str| template.len() + user.len() + group.len();
        let dirs = 3 + cfg.projects_dir.len() + cfg.works_dir.len() + cfg.volumes_dir.len();
        let mut path = String::with_capacity(
            substituted(&cfg.home_template) + dirs.max(substituted(&cfg.group_home_template)),
        );
        expand_into(&mut path, "home_template", &cfg.home_template, user, group)?;
        let home = path.len();
        let group_home = if cfg.use_group {
            let (what, template) = ("group_home_template", &cfg.group_home_template);
            expand_into(&mut path, what, template, user, group)?;
            let (home_path, g) = path.split_at(home);
            // Only a proper ancestor of the home is a group home worth creating.
            let ancestor = home_path
                .strip_prefix(g)
                .is_some_and(|rest| rest.starts_with('/'));
            let len = g.len();
            path.truncate(home);
            ancestor.then_some(len)
        } else {
            None
        };
        let mut child = |dir: &str| {
            path.push('/');
            path.push_str(dir);
            path.len()
        };
        let projects = child(&cfg.projects_dir);
        let works = child(&cfg.works_dir);
        child(&cfg.volumes_dir);
        Ok(Self {
            path,
            home,
            projects,
            works,
            group_home,
        })
    }

    /// The home directory (same path on the host and in the container).
    pub(crate) fn home(&self) -> &str {
        &self.path[..self.home]
    }

    /// `<home>/<projects_dir>`.
    pub(crate) fn projects(&self) -> &str {
        &self.path[..self.projects]
    }

    /// `<home>/<projects_dir>/<works_dir>` (`NB_WRKDIR`).
    pub(crate) fn works(&self) -> &str {
        &self.path[..self.works]
    }

    /// `<works>/<volumes_dir>`.
    pub(crate) fn volumes(&self) -> &str {
        &self.path
    }

    /// The group home, when groups are used.
    pub(crate) fn group_home(&self) -> Option<&str> {
        self.group_home.map(|len| &self.path[..len])
    }

    /// The host directories to create, parents first (see docs/original-system.md, "Host
    /// directories").
    pub(crate) fn host_dirs(&self, id: &Identity) -> Vec<HostDir> {
        let dir = |path: &str, uid, mode| HostDir {
            path: path.to_owned(),
            uid,
            gid: id.gid,
            mode,
        };
        let mut dirs = Vec::with_capacity(4);
        if let Some(g) = self.group_home() {
            dirs.push(dir(g, 0, 0o755));
        }
        dirs.push(dir(self.home(), id.uid, 0o700));
        dirs.push(dir(self.projects(), id.uid, 0o700));
        dirs.push(dir(self.works(), id.uid, 0o700));
        dirs
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The expansion of `template` on its own.
    fn expand(what: &str, template: &str, user: &str, group: &str) -> Result<String, SpecError> {
        let mut out = String::new();
        expand_into(&mut out, what, template, user, group).map(|()| out)
    }

    #[test]
    fn expand_appends_after_what_the_buffer_holds() {
        let mut out = "/home/alice".to_owned();
        assert!(expand_into(&mut out, "t", "/x//{user}/", "bob", "").is_ok());
        assert_eq!(out, "/home/alice/x/bob");
        assert!(expand_into(&mut out, "t", "/x/../{user}", "bob", "").is_err());
    }

    #[test]
    fn expand_collapses_empty_segments_and_refuses_traversal() {
        assert_eq!(
            expand("t", "/home/{group}/{user}", "alice", "")
                .ok()
                .as_deref(),
            Some("/home/alice")
        );
        assert_eq!(
            expand("t", "/srv//{group}/{user}/", "alice", "staff")
                .ok()
                .as_deref(),
            Some("/srv/staff/alice")
        );
        assert!(expand("t", "/home/{group}/{user}", "alice", "..").is_err());
        assert!(expand("t", "{user}", "alice", "g").is_err());
        assert!(expand("t", "/{group}", "alice", "").is_err());
        assert!(expand("t", "/", "alice", "").is_err());
        assert!(expand("t", "/home/./{user}", "alice", "").is_err());
        assert_eq!(
            expand("t", "/home/{user}/{user}", "a", "").ok().as_deref(),
            Some("/home/a/a")
        );
    }

    #[test]
    fn substitution_follows_two_replace_calls() {
        for (template, user, group) in [
            ("/home/{group}/{user}", "alice", "staff"),
            ("/h/{{user}}/{group}{group}", "group", "g"),
            ("/{user}{group}/x", "", "{user}"),
            ("/{gr{user}oup}", "", "G"),
        ] {
            let mut out = String::new();
            substitute_into(&mut out, template, user, group);
            assert_eq!(
                out,
                template.replace("{user}", user).replace("{group}", group),
                "{template} {user} {group}"
            );
        }
    }

    #[test]
    fn group_home_only_when_it_is_an_ancestor() {
        let id = Identity {
            uid: 1500,
            gid: 1600,
            group: "staff".into(),
        };
        let mut cfg = SpecConfig::default();
        let l = Layout::new(&cfg, "alice", &id).expect("layout");
        assert_eq!(l.group_home(), Some("/home/staff"));
        assert_eq!(l.home(), "/home/staff/alice");
        assert_eq!(l.projects(), "/home/staff/alice/jupyter");
        assert_eq!(l.works(), "/home/staff/alice/jupyter/works");
        assert_eq!(l.volumes(), "/home/staff/alice/jupyter/works/.volumes");
        cfg.home_template = "/users/{user}".into();
        let l = Layout::new(&cfg, "alice", &id).expect("layout");
        assert_eq!(l.group_home(), None);
        assert_eq!(l.host_dirs(&id).len(), 3);
    }
}
