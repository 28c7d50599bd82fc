#![doc = include_str!("../README.md")]

mod builder;
mod config;
mod convert;
mod error;
mod runtime;
mod swarm;

pub use builder::DockerRuntimeBuilder;
pub use config::{DEFAULT_SOCKET, DockerConfig};
pub use lticontainer_core::network::NetworkMode;
pub use runtime::DockerRuntime;
pub use swarm::{HomesVolumes, PATH_PLACEHOLDER, SwarmConfig, SwarmRuntime};
