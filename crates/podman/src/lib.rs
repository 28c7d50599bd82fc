#![doc = include_str!("../README.md")]

mod builder;
mod config;
mod convert;
mod error;
mod rest;
mod runtime;

pub use builder::{CONTAINER_HOST_ENV, PodmanRuntimeBuilder};
pub use config::{DEFAULT_SOCKET, PodmanConfig};
pub use lticontainer_core::network::NetworkMode;
pub use runtime::PodmanRuntime;
