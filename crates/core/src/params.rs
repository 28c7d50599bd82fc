//! Placeholder: filled in by the params work.
#![allow(missing_docs)]
