//! Placeholder: filled in by the auth work.
#![allow(missing_docs)]
