//! Tests of lticontainer-podman's public API.
//!
//! Tests marked `#[ignore = "needs Podman …"]` talk to the real engine on
//! `$CONTAINER_HOST` or `/run/podman/podman.sock`; `scripts/test-all` starts Podman and runs them
//! with `--include-ignored`. They fail (never skip) when Podman is absent. The rest run against a
//! loopback mock of the libpod API (`libpod_mock`) or a socket that is not there.

#![allow(clippy::unwrap_used, clippy::panic)]

mod conformance;
mod engine;
mod engine_down;
mod libpod_mock;
mod mocked;
mod security;
mod util;
