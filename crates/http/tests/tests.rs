//! Integration tests of lticontainer-http's public API: `app(state)` driven with `oneshot` on a
//! fake engine, plus one server bound on 127.0.0.1:0 (the WebSocket test).
#![allow(clippy::unwrap_used)]

mod admin_api;
mod cross_site;
mod hubapi;
mod hubapi_singleuser;
mod launch;
mod networks;
mod progress;
mod proxy;
mod spawn;
mod util;
