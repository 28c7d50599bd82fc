//! Integration tests of lticontainer-hub's public API.

mod listener_owner;
mod server_spec;
