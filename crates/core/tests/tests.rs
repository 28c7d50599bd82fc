//! Integration tests of lticontainer-core's public API.

mod auth;
mod auth_fixtures;
mod auth_proptest;
mod auth_public_url;
mod auth_rejections;
mod launch;
mod memory;
mod params;
mod spec;
mod store;
