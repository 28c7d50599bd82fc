#![doc = include_str!("../README.md")]

mod analytics;
mod convert;
mod error;
mod grades;
mod schema;
mod sqlite;

pub use sqlite::{DEFAULT_PATH, SqliteOptions, SqliteStore};
