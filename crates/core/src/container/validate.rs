//! [`ContainerSpec::validate`]: the checks every [`Runtime`](crate::Runtime) makes before it
//! creates a container, so bad input fails early, the same way, on every engine.

use super::{ContainerSpec, MountSource, is_valid_image_reference};
use crate::engine_name::is_valid_engine_name;
use crate::network::NetworkMode;
use crate::{Error, Result};

impl ContainerSpec {
    /// Checks what engines would refuse late, misread, or what must never reach them.
    ///
    /// * [`name`](Self::name) is a valid engine name, `[a-zA-Z0-9][a-zA-Z0-9_.-]*`;
    /// * [`image`](Self::image) is not empty and is a valid image reference: at most 255 bytes of
    ///   `[A-Za-z0-9._/:@-]`, not starting with `-`, `/`, `.`, `:` or `@`, without `..`;
    /// * environment names are non-empty without `=` or NUL, values without NUL;
    /// * mount targets are absolute paths without `:`; bind sources are absolute UTF-8 paths
    ///   without `:`; volume names are valid ([`check_volume_name`]), and every mounted volume
    ///   is declared in [`volumes`](Self::volumes) (whose names must be valid too);
    /// * CPU limits and guarantees are positive, finite numbers of CPUs;
    /// * a named [`network`](Self::network) is a valid engine name.
    ///
    /// Limits that depend on one engine's API (e.g. a byte count that must fit an `i64`) are
    /// that backend's to check.
    ///
    /// # Errors
    /// [`Error::InvalidInput`] saying what is wrong and what would be right.
    ///
    /// # Example
    /// ```
    /// use lticontainer_core::container::ContainerSpec;
    /// assert!(ContainerSpec::new("lticontainer-alice", "busybox:latest").validate().is_ok());
    /// let err = ContainerSpec::new("a b", "busybox:latest").validate().unwrap_err();
    /// assert!(err.to_string().contains("container name \"a b\""), "{err}");
    /// ```
    pub fn validate(&self) -> Result<()> {
        check_container_name(&self.name)?;
        self.check_image()?;
        self.check_env()?;
        self.check_mounts()?;
        self.check_cpus()?;
        self.check_network()
    }

    fn check_network(&self) -> Result<()> {
        if let NetworkMode::Named(name) = &self.network
            && !is_valid_engine_name(name)
        {
            return Err(Error::invalid(format!(
                "network {name:?} of container {:?} is not a valid engine name \
                 ([a-zA-Z0-9][a-zA-Z0-9_.-]*)",
                self.name
            )));
        }
        Ok(())
    }

    fn check_image(&self) -> Result<()> {
        if self.image.trim().is_empty() {
            return Err(Error::invalid(format!(
                "container {:?} has no image",
                self.name
            )));
        }
        if !is_valid_image_reference(&self.image) {
            return Err(Error::invalid(format!(
                "image {:?} of container {:?} is not a valid image reference (1-255 of \
                 [A-Za-z0-9._/:@-], not starting with '-', '/', '.', ':' or '@', without '..')",
                self.image, self.name
            )));
        }
        Ok(())
    }

    fn check_env(&self) -> Result<()> {
        for (name, value) in self.env.iter() {
            if name.is_empty() || name.contains('=') || name.contains('\0') {
                return Err(Error::invalid(format!(
                    "environment variable name {name:?} must be non-empty without '=' or NUL"
                )));
            }
            if value.contains('\0') {
                return Err(Error::invalid(format!(
                    "environment variable {name:?} has a value containing NUL"
                )));
            }
        }
        Ok(())
    }

    fn check_mounts(&self) -> Result<()> {
        for v in &self.volumes {
            check_volume_name(&v.name)?;
        }
        for m in &self.mounts {
            if !m.target.starts_with('/') || m.target.contains(':') {
                return Err(Error::invalid(format!(
                    "mount target {:?} must be an absolute path without ':'",
                    m.target
                )));
            }
            match &m.source {
                MountSource::Bind(path) => {
                    let usable = path.is_absolute()
                        && path
                            .to_str()
                            .is_some_and(|p| !p.is_empty() && !p.contains(':'));
                    if !usable {
                        return Err(Error::invalid(format!(
                            "bind mount source {} (for {:?}) is not usable: a bind source must \
                             be an absolute UTF-8 path without ':'",
                            path.display(),
                            m.target
                        )));
                    }
                }
                MountSource::Volume(name) => {
                    check_volume_name(name)?;
                    if !self.volumes.iter().any(|v| v.name == *name) {
                        return Err(Error::invalid(format!(
                            "volume {name:?} is mounted at {:?} but not declared in the spec's \
                             volumes; declare it there with its labels (the caller creates it \
                             with Runtime::ensure_volume before create_and_start)",
                            m.target
                        )));
                    }
                }
            }
        }
        Ok(())
    }

    fn check_cpus(&self) -> Result<()> {
        for (what, cpus) in [
            ("CPU limit (cpu_limit)", self.limits.cpu_limit),
            ("CPU guarantee (cpu_guarantee)", self.limits.cpu_guarantee),
        ] {
            if let Some(c) = cpus
                && !(c.is_finite() && c > 0.0)
            {
                return Err(Error::invalid(format!(
                    "{what} {c} must be a positive number of CPUs"
                )));
            }
        }
        Ok(())
    }
}

/// Checks a container name against the engines' rule `[a-zA-Z0-9][a-zA-Z0-9_.-]*`.
///
/// # Errors
/// [`Error::InvalidInput`] naming the container.
pub(crate) fn check_container_name(name: &str) -> Result<()> {
    if is_valid_engine_name(name) {
        Ok(())
    } else {
        Err(Error::invalid(format!(
            "container name {name:?} must start with a letter or digit and contain only letters, \
             digits, '_', '.' and '-'"
        )))
    }
}

/// Checks a named volume's name against the engines' rule `[a-zA-Z0-9][a-zA-Z0-9_.-]*`.
/// Every backend's [`Runtime::ensure_volume`](crate::Runtime::ensure_volume) calls it first.
///
/// # Errors
/// [`Error::InvalidInput`] naming the volume.
pub fn check_volume_name(name: &str) -> Result<()> {
    if is_valid_engine_name(name) {
        Ok(())
    } else {
        Err(Error::invalid(format!(
            "volume name {name:?} must match [a-zA-Z0-9][a-zA-Z0-9_.-]* (use a bind mount for \
             paths)"
        )))
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;
    use std::path::PathBuf;

    use super::*;
    use crate::container::{Mount, VolumeSpec, labels};

    fn spec() -> ContainerSpec {
        let mut s = ContainerSpec::new("lticontainer-alice", "lticontainer-test/busybox:latest");
        s.cmd = vec!["sleep".into(), "300".into()];
        s.env.insert("NB_USER".into(), "alice".into());
        s.labels.insert(labels::USER.into(), "alice".into());
        s.mounts = vec![
            Mount {
                source: MountSource::Bind(PathBuf::from("/srv/course")),
                target: "/home/alice/course".into(),
                read_only: true,
            },
            Mount {
                source: MountSource::Volume("lms_vol_rsa_2_host".into()),
                target: "/home/alice/work".into(),
                read_only: false,
            },
        ];
        s.volumes = vec![VolumeSpec::new("lms_vol_rsa_2_host", BTreeMap::new())];
        s.limits.cpu_limit = Some(1.5);
        s.limits.cpu_guarantee = Some(0.5);
        s.limits.mem_limit = Some(u64::MAX);
        s
    }

    #[test]
    fn a_valid_spec_passes() {
        spec().validate().expect("valid");
        ContainerSpec::new("a", "i").validate().expect("minimal");
    }

    /// Breaks one part of a valid spec.
    type Breaker = fn(&mut ContainerSpec);

    #[test]
    fn bad_specs_are_refused_with_the_reason() {
        let cases: Vec<(&str, Breaker)> = vec![
            ("container name \"-bad\"", |s| s.name = "-bad".into()),
            ("container name \"a b\"", |s| s.name = "a b".into()),
            ("container name \"\"", |s| s.name = String::new()),
            ("container name \"a/b\"", |s| s.name = "a/b".into()),
            ("no image", |s| s.image = " ".into()),
            ("not a valid image reference", |s| s.image = "a b".into()),
            ("not a valid image reference", |s| s.image = "-x".into()),
            ("environment variable name \"A=B\"", |s| {
                s.env.insert("A=B".into(), "x".into());
            }),
            ("environment variable name \"\"", |s| {
                s.env.insert("".into(), "x".into());
            }),
            ("environment variable name \"A\\0\"", |s| {
                s.env.insert("A\0".into(), "x".into());
            }),
            ("value containing NUL", |s| {
                s.env.insert("A".into(), "x\0y".into());
            }),
            ("mount target \"rel\"", |s| {
                s.mounts[0].target = "rel".into()
            }),
            ("mount target \"/a:b\"", |s| {
                s.mounts[0].target = "/a:b".into()
            }),
            ("bind mount source rel/dir", |s| {
                s.mounts[0].source = MountSource::Bind("rel/dir".into());
            }),
            ("bind source must be", |s| {
                s.mounts[0].source = MountSource::Bind("/a:b".into());
            }),
            ("volume name \"a/b\"", |s| {
                s.mounts[1].source = MountSource::Volume("a/b".into());
            }),
            ("volume name \"../etc\"", |s| {
                s.mounts[1].source = MountSource::Volume("../etc".into());
            }),
            ("volume name \"\"", |s| {
                s.mounts[1].source = MountSource::Volume(String::new());
            }),
            ("volume name \"a b\"", |s| {
                s.volumes.push(VolumeSpec::new("a b", BTreeMap::new()));
            }),
            (
                "volume \"other\" is mounted at \"/home/alice/work\" but not declared",
                |s| {
                    s.mounts[1].source = MountSource::Volume("other".into());
                },
            ),
            ("not declared in the spec's volumes", |s| s.volumes.clear()),
            ("CPU limit (cpu_limit) -1", |s| {
                s.limits.cpu_limit = Some(-1.0)
            }),
            ("CPU limit (cpu_limit) NaN", |s| {
                s.limits.cpu_limit = Some(f64::NAN);
            }),
            ("CPU limit (cpu_limit) inf", |s| {
                s.limits.cpu_limit = Some(f64::INFINITY);
            }),
            ("CPU guarantee (cpu_guarantee) 0", |s| {
                s.limits.cpu_guarantee = Some(0.0);
            }),
        ];
        for (want, break_it) in cases {
            let mut s = spec();
            break_it(&mut s);
            let err = s.validate().expect_err(want);
            assert!(matches!(err, Error::InvalidInput { .. }), "{want}: {err:?}");
            assert!(err.to_string().contains(want), "{want}: {err}");
        }
    }

    #[test]
    fn engine_names() {
        for ok in ["a", "A9", "lms_vol_rsa_219_el.mml.tuis.ac.jp", "0-x_y.z"] {
            assert!(check_volume_name(ok).is_ok(), "{ok}");
            assert!(check_container_name(ok).is_ok(), "{ok}");
        }
        for bad in ["", "_a", ".a", "-a", "a/b", "a b", "a:b", "é"] {
            assert!(check_volume_name(bad).is_err(), "{bad:?}");
            assert!(check_container_name(bad).is_err(), "{bad:?}");
        }
    }
}
