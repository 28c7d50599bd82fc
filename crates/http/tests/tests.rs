//! Integration tests of lticontainer-http's public API: `app(state)` driven with `oneshot`, plus
//! one server bound on 127.0.0.1:0.
