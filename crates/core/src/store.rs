//! Placeholder: filled in by the store work.
#![allow(missing_docs)]
