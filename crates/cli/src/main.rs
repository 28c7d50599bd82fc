//! The `lticontainer` binary.

fn main() {
    println!("lticontainer {}", env!("CARGO_PKG_VERSION"));
}
