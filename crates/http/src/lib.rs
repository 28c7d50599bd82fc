#![doc = include_str!("../README.md")]

mod app;
pub mod container_api;
mod dashboard;
mod error;
mod extract;
mod form_token;
mod frame;
mod grades;
mod home;
pub mod hubapi;
mod lab_notice;
mod launch;
mod limits;
mod log_limit;
mod logout;
mod lti13;
mod lti13_tool;
mod pages;
mod peer;
mod pending;
mod progress_stream;
mod proxy;
mod public_url;
pub mod serve;
pub mod session;
mod session_revocations;
pub mod state;
mod stored_launch;
pub mod tls;
mod user_proxy;
mod ws_tap;

pub use app::app;
pub use container_api::{ServerNetworkListener, container_api};
pub use state::{AppParts, AppState};
