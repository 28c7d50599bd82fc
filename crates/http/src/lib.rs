#![doc = include_str!("../README.md")]

mod app;
pub mod config;
pub mod error;
pub mod extract;
pub mod frame;
pub mod hostdirs;
pub mod hubapi;
pub mod identity;
mod launch;
pub mod pages;
mod pending;
pub mod ports;
pub mod progress;
pub mod proxy;
pub mod session;
pub mod spawn;
pub mod state;
mod user_proxy;

pub use app::app;
pub use config::HubConfig;
pub use error::ApiError;
pub use extract::Session;
pub use state::{AppParts, AppState};
