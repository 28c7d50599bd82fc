//! Integration tests of lticontainer-store's public API: the core store suite on a real file,
//! persistence, and the failures an admin must be told about.

mod sqlite;
