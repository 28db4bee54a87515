//! The user guide: one chapter per module, in reading order. The examples
//! run as tests; those that make calls run against the local fake PandaPon
//! of `pandapon-httpmock`.

#[doc = include_str!("../guide/setup.md")]
pub mod setup {}

#[doc = include_str!("../guide/calls.md")]
pub mod calls {}

#[doc = include_str!("../guide/traps.md")]
pub mod traps {}

#[doc = include_str!("../guide/any_path.md")]
pub mod any_path {}

#[doc = include_str!("../guide/pagination.md")]
pub mod pagination {}

#[doc = include_str!("../guide/reliability.md")]
pub mod reliability {}

#[doc = include_str!("../guide/stack.md")]
pub mod stack {}

#[doc = include_str!("../guide/push.md")]
// The chapter links to the `receiver` feature's items, which exist only with
// it (docs.rs and the workspace build enable it, and check the links).
#[cfg_attr(not(feature = "receiver"), allow(rustdoc::broken_intra_doc_links))]
pub mod push {}

#[doc = include_str!("../guide/tracing.md")]
pub mod tracing {}

#[doc = include_str!("../guide/testing.md")]
pub mod testing {}
