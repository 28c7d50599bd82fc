//! The `lticontainer-tools` binary (submit, extract, tocsv).

fn main() {}
