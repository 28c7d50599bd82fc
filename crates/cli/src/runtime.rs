//! Picks the container engine named by the configuration (`engine = "docker" | "podman" |
//! "swarm"`).

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
        #[cfg(feature = "docker")]
        EngineKind::Swarm => {
            let table = cfg.swarm.clone().unwrap_or_default();
            let sc: lticontainer_docker::SwarmConfig =
                table.try_into().map_err(|e| format!("[swarm]: {e}"))?;
            let rt = lticontainer_docker::SwarmRuntime::from_config(sc)
                .map_err(|e| format!("cannot set up the Swarm manager's engine: {e}"))?;
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
        // The Swarm runtime lives in the Docker backend's crate.
        EngineKind::Docker | EngineKind::Swarm => "docker",
        EngineKind::Podman => "podman",
    }
}

#[cfg(all(test, feature = "docker"))]
mod tests {
    use super::*;

    #[test]
    fn the_examples_swarm_table_is_the_default_and_builds_a_swarm_runtime() {
        let mut cfg: Config = toml::from_str(crate::config::EXAMPLE).expect("the example parses");
        let table = cfg.swarm.clone().expect("the example has a [swarm] table");
        let sc: lticontainer_docker::SwarmConfig = table.try_into().expect("[swarm] fits");
        assert_eq!(sc, lticontainer_docker::SwarmConfig::default());
        cfg.engine = EngineKind::Swarm;
        // A tcp address builds without contacting the engine.
        let mut table = toml::Table::new();
        table.insert("host".into(), "tcp://127.0.0.1:1".into());
        cfg.swarm = Some(table);
        let rt = build_runtime(&cfg).expect("builds lazily");
        assert_eq!(rt.backend(), "swarm");
        cfg.swarm = Some(toml::from_str("constraint = []").expect("toml"));
        let err = build_runtime(&cfg).expect_err("a typo");
        assert!(
            err.contains("[swarm]") && err.contains("constraint"),
            "{err}"
        );
    }
}
