//! The Swarm backend: the [`Runtime`](lticontainer_core::Runtime) trait on Docker Swarm
//! services, beside the Docker backend whose client and conversions it shares.
//!
//! `config.rs` the `[swarm]` settings, `homes.rs` where homes live on a cluster (`[swarm.homes]`), `spec.rs` a server as a service and a network as a Swarm
//! network (pure), `tasks.rs` what a service's tasks say (pure), `runtime.rs` the trait,
//! `events.rs` the event stream. See `docs/cluster.md` for running a hub on a cluster.

mod config;
mod events;
mod homes;
mod runtime;
mod spec;
mod tasks;

pub use config::SwarmConfig;
pub use homes::{HomesVolumes, PATH_PLACEHOLDER};
pub use runtime::SwarmRuntime;
