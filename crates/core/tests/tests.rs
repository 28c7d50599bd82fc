//! Integration tests of lticontainer-core's public API.

mod memory;
