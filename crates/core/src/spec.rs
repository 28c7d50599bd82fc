//! Placeholder: filled in by the spec work.
#![allow(missing_docs)]
