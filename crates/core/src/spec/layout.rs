//! The user's directories: home path, works directory, and the host directories to create (ORIGINAL §4).

use super::{Identity, SpecConfig, SpecError};

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

/// The paths of one user's home.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Layout {
    /// The home directory (same path on the host and in the container).
    pub(crate) home: String,
    /// `<home>/<projects_dir>`.
    pub(crate) projects: String,
    /// `<home>/<projects_dir>/<works_dir>` (`NB_WRKDIR`).
    pub(crate) works: String,
    /// `<works>/<volumes_dir>`.
    pub(crate) volumes: String,
    /// The group home, when groups are used.
    pub(crate) group_home: Option<String>,
}

/// Expands a template and normalises it: `{user}`/`{group}` replaced, empty segments dropped.
/// The result must be absolute and free of `.`/`..` segments.
fn expand(what: &str, template: &str, user: &str, group: &str) -> Result<String, SpecError> {
    let raw = template.replace("{user}", user).replace("{group}", group);
    let mut path = String::with_capacity(raw.len());
    for segment in raw.split('/').filter(|s| !s.is_empty()) {
        if segment == "." || segment == ".." {
            path.clear();
            break;
        }
        path.push('/');
        path.push_str(segment);
    }
    if !raw.starts_with('/') || path.is_empty() {
        return Err(SpecError::Config(format!(
            "{what} {template:?} gives {raw:?}, which is not an absolute path without `.`/`..`"
        )));
    }
    Ok(path)
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
        if !cfg.home_template.contains("{user}") {
            return Err(SpecError::Config(format!(
                "home_template {:?} must contain {{user}} so every user gets their own home",
                cfg.home_template
            )));
        }
        let group = if cfg.use_group { id.group.as_str() } else { "" };
        let home = expand("home_template", &cfg.home_template, user, group)?;
        let group_home = if cfg.use_group {
            let g = expand("group_home_template", &cfg.group_home_template, user, group)?;
            // Only a proper ancestor of the home is a group home worth creating.
            home.strip_prefix(&g)
                .is_some_and(|rest| rest.starts_with('/'))
                .then_some(g)
        } else {
            None
        };
        let projects = [home.as_str(), "/", &cfg.projects_dir].concat();
        let works = [projects.as_str(), "/", &cfg.works_dir].concat();
        let volumes = [works.as_str(), "/", &cfg.volumes_dir].concat();
        Ok(Self {
            home,
            projects,
            works,
            volumes,
            group_home,
        })
    }

    /// The host directories to create, parents first (ORIGINAL §4 table).
    pub(crate) fn host_dirs(&self, id: &Identity) -> Vec<HostDir> {
        let dir = |path: &str, uid, mode| HostDir {
            path: path.to_owned(),
            uid,
            gid: id.gid,
            mode,
        };
        let mut dirs = Vec::with_capacity(4);
        if let Some(g) = &self.group_home {
            dirs.push(dir(g, 0, 0o755));
        }
        dirs.push(dir(&self.home, id.uid, 0o700));
        dirs.push(dir(&self.projects, id.uid, 0o700));
        dirs.push(dir(&self.works, id.uid, 0o700));
        dirs
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
        assert_eq!(l.group_home.as_deref(), Some("/home/staff"));
        assert_eq!(l.volumes, "/home/staff/alice/jupyter/works/.volumes");
        cfg.home_template = "/users/{user}".into();
        let l = Layout::new(&cfg, "alice", &id).expect("layout");
        assert_eq!(l.group_home, None);
        assert_eq!(l.host_dirs(&id).len(), 3);
    }
}
