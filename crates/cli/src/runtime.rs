//! Picks the container engine named by the configuration (`engine = "docker" | "podman"`).

use std::sync::Arc;

use lticontainer_core::Runtime;

use crate::config::{Config, EngineKind};

/// The engine the configuration names, built from its table.
///
/// # Errors
/// The table does not fit the engine's settings, the engine cannot be set up, or the binary was
/// built without the engine's cargo feature.
pub(crate) fn build_runtime(cfg: &Config) -> Result<Arc<dyn Runtime>, String> {
    match cfg.engine {
        #[cfg(feature = "docker")]
        EngineKind::Docker => {
            let table = cfg.docker.clone().unwrap_or_default();
            let dc: lticontainer_docker::DockerConfig =
                table.try_into().map_err(|e| format!("[docker]: {e}"))?;
            let rt = lticontainer_docker::DockerRuntimeBuilder::from_config(dc)
                .build()
                .map_err(|e| format!("cannot set up Docker: {e}"))?;
            Ok(Arc::new(rt))
        }
        #[cfg(feature = "podman")]
        EngineKind::Podman => {
            let table = cfg.podman.clone().unwrap_or_default();
            let pc: lticontainer_podman::PodmanConfig =
                table.try_into().map_err(|e| format!("[podman]: {e}"))?;
            let rt = lticontainer_podman::PodmanRuntimeBuilder::from_config(pc)
                .build()
                .map_err(|e| format!("cannot set up Podman: {e}"))?;
            Ok(Arc::new(rt))
        }
        #[allow(unreachable_patterns)]
        other => Err(format!(
            "engine = {other:?} needs the cargo feature \"{}\", which this binary was built without; \
             rebuild with `cargo build -p lticontainer --features {}`",
            feature_name(other),
            feature_name(other)
        )),
    }
}

fn feature_name(kind: EngineKind) -> &'static str {
    match kind {
        EngineKind::Docker => "docker",
        EngineKind::Podman => "podman",
    }
}
