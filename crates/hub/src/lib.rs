#![doc = include_str!("../README.md")]

pub mod admin_token;
pub mod config;
pub mod credentials;
pub mod host_accounts;
pub mod host_dirs;
pub mod html;
pub mod origin;
pub mod ports;
pub mod progress;
pub mod scopes;
pub mod server_spec;
pub mod spawner;

pub use config::HubConfig;
