#![doc = include_str!("../README.md")]

pub mod cli;
pub mod conv;
pub mod deploy;
pub mod diff;
pub mod error;
pub mod extract;
pub mod fsutil;
pub mod notebook;
pub mod submit;
pub mod sys;
pub mod tocsv;
pub mod volumes;

pub use error::{Error, Result};

/// The message of an error followed by its causes (`a: b: c`), for the user's terminal.
pub fn report(e: &(dyn std::error::Error + 'static)) -> String {
    let mut text = e.to_string();
    let mut cause = e.source();
    while let Some(c) = cause {
        text.push_str(": ");
        text.push_str(&c.to_string());
        cause = c.source();
    }
    text
}
