//! Integration tests of lticontainer-hub's public API.

mod server_spec;
