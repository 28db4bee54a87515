//! xtask's commands run as a maintainer runs them: one test binary, so that
//! `cargo test` links xtask's dependencies once for all of them.

mod closed_pipe;
mod release;
mod semver_checks;
