#![doc = include_str!("../README.md")]

mod builder;
mod config;
mod convert;
mod error;
mod rest;
mod runtime;

pub use builder::{CONTAINER_HOST_ENV, PodmanRuntimeBuilder};
pub use config::{DEFAULT_SOCKET, NetworkMode, PodmanConfig};
pub use runtime::PodmanRuntime;
