//! The Swarm backend: the [`Runtime`](lticontainer_core::Runtime) trait on Docker Swarm
//! services, beside the Docker backend whose client and conversions it shares.
//!
//! `config.rs` the `[swarm]` settings, `spec.rs` a server as a service and a network as a Swarm
//! network (pure), `tasks.rs` what a service's tasks say (pure), `runtime.rs` the trait,
//! `events.rs` the event stream. See `docs/cluster.md` for running a hub on a cluster.

mod config;
mod events;
mod runtime;
mod spec;
mod tasks;

pub use config::SwarmConfig;
pub use runtime::SwarmRuntime;
