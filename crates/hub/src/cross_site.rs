//! The `_xsrf` cookie of servers shown in a cross-site iframe (an LMS page).
//!
//! In cross-site mode the browser drops a `SameSite=Lax` cookie inside the LMS page, so
//! JupyterLab's `_xsrf` cookie must be `SameSite=None; Secure` like the others, or every form post
//! and API call fails with "'_xsrf' argument missing from POST". `JUPYTERHUB_COOKIE_OPTIONS` does
//! not reach that cookie; `ServerApp.tornado_settings.xsrf_cookie_kwargs` does. The hub writes a
//! `jupyter_server_config.json` saying so into `<state_dir>/jupyter-cross-site/`, mounts that
//! directory read-only at [`CONTAINER_DIR`] and points `JUPYTER_CONFIG_PATH` at it.

use std::io;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use lticontainer_core::container::{ContainerSpec, Mount, MountSource};

/// Where the configuration directory appears inside the container.
pub const CONTAINER_DIR: &str = "/etc/lticontainer/jupyter-cross-site";

/// The directory under the hub's `state_dir` that holds the configuration.
const HOST_SUBDIR: &str = "jupyter-cross-site";

/// The file Jupyter Server reads from each directory of `JUPYTER_CONFIG_PATH`.
const FILE: &str = "jupyter_server_config.json";

/// The configuration: the `_xsrf` cookie with `SameSite=None; Secure`.
pub(crate) fn config_json() -> String {
    serde_json::json!({
        "ServerApp": {
            "tornado_settings": {
                "xsrf_cookie_kwargs": { "samesite": "None", "secure": true }
            }
        }
    })
    .to_string()
}

/// Writes the configuration under `state_dir` unless it is already there as it should be, and
/// returns its directory. The directory is world-readable (`0755`, file `0644`): servers run as
/// the students' uids.
///
/// # Errors
/// The file system's, e.g. when `state_dir` cannot be written.
pub fn ensure_host_dir(state_dir: &Path) -> io::Result<PathBuf> {
    let dir = state_dir.join(HOST_SUBDIR);
    std::fs::create_dir_all(&dir)?;
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755))?;
    let file = dir.join(FILE);
    let want = config_json();
    if std::fs::read_to_string(&file).ok().as_deref() == Some(want.as_str()) {
        return Ok(dir);
    }
    // Written aside and renamed, so a server starting meanwhile never reads half a file.
    crate::state_file::write_atomically(&file, want.as_bytes())?;
    std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o644))?;
    Ok(dir)
}

/// Mounts `host_dir` read-only at [`CONTAINER_DIR`] and sets `JUPYTER_CONFIG_PATH` to it.
pub(crate) fn apply(spec: &mut ContainerSpec, host_dir: PathBuf) {
    spec.mounts.push(Mount {
        source: MountSource::Bind(host_dir),
        target: CONTAINER_DIR.to_owned(),
        read_only: true,
    });
    spec.env
        .insert("JUPYTER_CONFIG_PATH".into(), CONTAINER_DIR.to_owned());
}

/// Writes the configuration for `user`'s cross-site server and returns its directory. When it
/// cannot be written the server still starts (only its `_xsrf` cookie stays `SameSite=Lax`), and
/// the admin log says why.
pub(crate) async fn prepare(state_dir: &Path, user: &str) -> Option<PathBuf> {
    let state_dir = state_dir.to_owned();
    let shown = state_dir.display().to_string();
    match tokio::task::spawn_blocking(move || ensure_host_dir(&state_dir)).await {
        Ok(Ok(dir)) => Some(dir),
        Ok(Err(e)) => {
            tracing::error!(
                %user, state_dir = %shown, error = %e,
                "cannot write the cross-site Jupyter config under hub.state_dir; this server's _xsrf cookie stays SameSite=Lax, so JupyterLab inside the LMS iframe may fail to save"
            );
            None
        }
        Err(e) => {
            tracing::error!(%user, error = %e, "the cross-site Jupyter config task failed");
            None
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn writes_the_config_once_and_repairs_it() {
        let state = tempfile::tempdir().unwrap();
        let dir = ensure_host_dir(state.path()).unwrap();
        let file = dir.join(FILE);
        let text = std::fs::read_to_string(&file).unwrap();
        let v: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(
            v["ServerApp"]["tornado_settings"]["xsrf_cookie_kwargs"],
            serde_json::json!({"samesite": "None", "secure": true})
        );
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&dir), 0o755);
        assert_eq!(mode(&file), 0o644);

        std::fs::write(&file, "{}").unwrap();
        assert_eq!(ensure_host_dir(state.path()).unwrap(), dir);
        assert_eq!(std::fs::read_to_string(&file).unwrap(), config_json());
        let leftovers: Vec<_> = std::fs::read_dir(&dir).unwrap().collect();
        assert_eq!(leftovers.len(), 1, "no temporary file is left behind");
    }

    #[test]
    fn an_unwritable_state_dir_is_an_error() {
        let state = tempfile::tempdir().unwrap();
        let not_a_dir = state.path().join("file");
        std::fs::write(&not_a_dir, "x").unwrap();
        assert!(ensure_host_dir(&not_a_dir).is_err());
    }
}
