//! Placeholder: filled in by the launch work.
#![allow(missing_docs)]
