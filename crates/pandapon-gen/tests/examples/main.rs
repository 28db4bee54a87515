//! The examples run as a user runs them: one test binary for both, so that
//! `cargo test` links the dependency graph once for them.

mod cancel_order;
#[cfg(feature = "receiver")]
mod push_receiver;
