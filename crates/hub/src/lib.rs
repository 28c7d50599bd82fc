#![doc = include_str!("../README.md")]

pub mod accounts;
pub mod admin_client;
pub mod admin_token;
pub mod analytics;
pub mod config;
pub mod credentials;
pub mod cross_site;
pub mod forwarding;
pub mod grades;
pub mod host_accounts;
mod host_dirs;
pub mod html;
mod https_client;
pub mod listener_owner;
pub mod lti13;
pub mod metrics;
pub mod origin;
mod ports;
pub mod progress;
pub mod scopes;
pub mod server_network;
pub mod server_spec;
pub mod spawner;
pub mod state_file;

pub use config::{HubConfig, LogFormat, Networking};
