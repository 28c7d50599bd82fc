#![doc = include_str!("../README.md")]

pub mod analytics;
pub mod auth;
mod byte_order;
pub mod clock;
pub mod container;
mod engine_name;
pub mod error;
pub mod form;
pub mod grades;
pub mod launch;
pub mod lti13;
pub mod markup;
pub mod memory;
pub mod network;
pub mod params;
pub mod runtime;
pub mod spec;
pub mod store;
#[cfg(feature = "testkit")]
pub mod store_suite;
#[cfg(feature = "testkit")]
pub mod testkit;

pub use error::{BoxError, Error, Result};
pub use runtime::Runtime;
