//! Examples of embedding the lticontainer crates; see the `examples/` folder.
