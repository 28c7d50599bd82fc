//! Tests of the `lticontainer` binary as an admin runs it.
#![allow(clippy::unwrap_used)]

mod cli;
mod install;
