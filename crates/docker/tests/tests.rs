//! Integration tests of lticontainer-docker's public API.
//!
//! Tests that need a running Docker engine (and the `lticontainer-test/busybox:latest` image) are
//! ignored by plain `cargo test`; `scripts/test-all` starts Docker (a single-node Swarm manager
//! for the `swarm` suite) and runs them with
//! `--include-ignored`, where they fail (not skip) when the engine is missing. The `mock_engine`
//! tests run the runtime against a loopback mock of the Engine API and need no daemon.

mod conformance;
mod env_labels;
mod failures;
mod limits;
mod mock;
mod mock_engine;
mod mounts;
mod readoption;
mod security;
mod swarm;
mod swarm_nodes;
mod util;
