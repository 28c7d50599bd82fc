//! Tests of the tools' public API on committed notebooks (made with nbformat + nbclient, see
//! `fixtures/make_fixtures.py`), and in real Docker/Podman containers of the kit image.

mod util;

mod cli;
mod containers;
mod grading;
mod notebooks;
mod submitting;
