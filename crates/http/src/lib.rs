#![doc = include_str!("../README.md")]

mod app;
pub mod error;
pub mod extract;
pub mod frame;
pub mod hubapi;
mod launch;
pub mod pages;
mod pending;
pub mod progress_stream;
pub mod proxy;
pub mod session;
pub mod state;
mod user_proxy;

pub use app::app;
pub use error::PageError;
pub use extract::{Session, Sessions};
pub use state::{AppParts, AppState};
