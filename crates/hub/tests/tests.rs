//! Integration tests of lticontainer-hub.
