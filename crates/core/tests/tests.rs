//! Integration tests of lticontainer-core's public API.

mod memory;
mod launch;
mod params;
mod spec;
