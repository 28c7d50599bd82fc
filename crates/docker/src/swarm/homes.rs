//! Where homes live on a cluster: the `[swarm.homes]` seam. Pure: no I/O.
//!
//! The hub makes every student's directories on its own disk and bind-mounts them. On a cluster
//! a bind mount names a directory of whichever node runs the server, so the files would not
//! follow the student. With `[swarm.homes]`, every bind mount under `root` becomes a named
//! volume of a volume driver instead, created by the node that runs the task with the
//! configured options: e.g. the local driver's NFS mount of the same directory from a file
//! server that the hub's host mounts at `root` too.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

use bollard::models::{Mount, MountTypeEnum, MountVolumeOptions, MountVolumeOptionsDriverConfig};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// The placeholder in [`HomesVolumes::options`] values replaced by the mounted directory's path
/// below [`HomesVolumes::root`] (starting with `/`).
pub const PATH_PLACEHOLDER: &str = "{path}";

/// The volume label naming the host directory a home volume stands for.
pub(crate) const HOME_LABEL: &str = "lticontainer.swarm.home";

/// `[swarm.homes]`: bind mounts under `root` become volumes of `driver` with `options`.
///
/// ```
/// use lticontainer_docker::HomesVolumes;
///
/// let homes: HomesVolumes = serde_json::from_str(r#"{
///     "root": "/srv/lticontainer/home",
///     "options": { "type": "nfs", "o": "addr=10.0.0.5,rw,nfsvers=4.1",
///                  "device": ":/export/home{path}" }
/// }"#).unwrap();
/// assert_eq!(homes.driver, "local");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct HomesVolumes {
    /// The host directory the hub makes the students' directories in (the common root of
    /// `[spec] home_template` and `group_home_template`). Bind mounts below it (or of it) become
    /// volumes; others stay bind mounts.
    pub root: PathBuf,
    /// The volume driver. Default: `local` (Docker's own, which mounts NFS, CIFS or a bind).
    #[serde(default = "local_driver")]
    pub driver: String,
    /// The driver's options; in each value [`PATH_PLACEHOLDER`] is replaced by the directory's
    /// path below `root`. For NFS with the local driver: `type = "nfs"`, `o =
    /// "addr=<server>,rw"`, `device = ":<export>{path}"`.
    #[serde(default)]
    pub options: BTreeMap<String, String>,
}

fn local_driver() -> String {
    "local".to_owned()
}

impl HomesVolumes {
    /// The volume mount standing for a bind mount of `source` at `target`, when `source` lies
    /// under [`Self::root`]; `None` otherwise. The volume's name is derived from the path, so
    /// the same directory is the same volume on every node and at every start.
    pub(crate) fn mount(&self, source: &Path, target: &str, read_only: bool) -> Option<Mount> {
        let below = source.strip_prefix(&self.root).ok()?;
        let path = format!("/{}", below.to_string_lossy());
        let path = if path == "/" { String::new() } else { path };
        let options: HashMap<String, String> = self
            .options
            .iter()
            .map(|(k, v)| (k.clone(), v.replace(PATH_PLACEHOLDER, &path)))
            .collect();
        Some(Mount {
            typ: Some(MountTypeEnum::VOLUME),
            source: Some(volume_name(source)),
            target: Some(target.to_owned()),
            read_only: Some(read_only),
            volume_options: Some(MountVolumeOptions {
                labels: Some(HashMap::from([(
                    HOME_LABEL.to_owned(),
                    source.to_string_lossy().into_owned(),
                )])),
                driver_config: Some(MountVolumeOptionsDriverConfig {
                    name: Some(self.driver.clone()),
                    options: Some(options),
                }),
                ..Default::default()
            }),
            ..Default::default()
        })
    }
}

/// The volume that stands for host directory `source`: `lticontainer-home-` and 16 hex digits of
/// the path's SHA-256 (a valid engine name for any path).
fn volume_name(source: &Path) -> String {
    let digest = Sha256::digest(source.as_os_str().as_encoded_bytes());
    let hex: String = digest[..8].iter().map(|b| format!("{b:02x}")).collect();
    format!("lticontainer-home-{hex}")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn nfs() -> HomesVolumes {
        HomesVolumes {
            root: "/srv/home".into(),
            driver: local_driver(),
            options: BTreeMap::from([
                ("type".to_owned(), "nfs".to_owned()),
                ("o".to_owned(), "addr=10.0.0.5,rw".to_owned()),
                ("device".to_owned(), ":/export/home{path}".to_owned()),
            ]),
        }
    }

    #[test]
    fn a_home_under_the_root_becomes_an_nfs_volume_of_the_same_directory() {
        let m = nfs()
            .mount(Path::new("/srv/home/c1/alice"), "/home/c1/alice", false)
            .expect("under the root");
        assert_eq!(m.typ, Some(MountTypeEnum::VOLUME));
        assert_eq!(m.target.as_deref(), Some("/home/c1/alice"));
        assert_eq!(m.read_only, Some(false));
        let name = m.source.clone().expect("a name");
        assert!(
            name.starts_with("lticontainer-home-") && name.len() == 34,
            "{name}"
        );
        lticontainer_core::container::check_volume_name(&name).expect("a valid engine name");
        let opts = m.volume_options.expect("options");
        let driver = opts.driver_config.expect("driver");
        assert_eq!(driver.name.as_deref(), Some("local"));
        let o = driver.options.expect("driver options");
        assert_eq!(o["device"], ":/export/home/c1/alice");
        assert_eq!(o["type"], "nfs");
        assert_eq!(o["o"], "addr=10.0.0.5,rw");
        assert_eq!(
            opts.labels.expect("labels")[HOME_LABEL],
            "/srv/home/c1/alice"
        );
        // The root itself maps to the export itself.
        let root = nfs()
            .mount(Path::new("/srv/home"), "/mnt", true)
            .expect("the root");
        let o = root
            .volume_options
            .and_then(|v| v.driver_config)
            .and_then(|d| d.options);
        assert_eq!(o.expect("options")["device"], ":/export/home");
    }

    #[test]
    fn other_binds_stay_and_names_differ_per_directory() {
        assert!(
            nfs()
                .mount(Path::new("/srv/homework"), "/x", false)
                .is_none()
        );
        assert!(nfs().mount(Path::new("/etc"), "/x", true).is_none());
        let a = volume_name(Path::new("/srv/home/c1/alice"));
        assert_eq!(a, volume_name(Path::new("/srv/home/c1/alice")));
        assert_ne!(a, volume_name(Path::new("/srv/home/c1/bob")));
    }
}
