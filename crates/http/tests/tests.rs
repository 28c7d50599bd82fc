//! Integration tests of lticontainer-http's public API: `app(state)` driven with `oneshot` on a
//! fake engine, plus servers bound on 127.0.0.1:0 (the WebSocket test, `serve`).
#![allow(clippy::unwrap_used)]

mod admin_api;
mod admin_client;
mod analytics;
mod cross_site;
mod cull;
mod dashboard;
mod fake_kernel;
mod fake_moodle;
mod grades;
mod grades_ags;
mod home;
mod hubapi;
mod hubapi_singleuser;
mod lab_notice;
mod launch;
mod limits;
mod lti13;
mod lti13_registration;
mod metrics;
mod networks;
mod progress;
mod proxy;
mod serve;
mod session_cookies;
mod spawn;
mod takeover;
mod tls;
mod util;
