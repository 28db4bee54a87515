//! The data types of the [PandaPon OpenAPI](https://api.pandapon.com), for
//! the [`pandapon-gen`](https://docs.rs/pandapon-gen) SDK: every request and
//! response type generated from the spec ([`types`]), and the hand-written
//! types they are made of: ids that keep all 19 digits ([`IntegerId`],
//! [`StringId`], [`DevelopId`]), amounts whose unit is in the type
//! ([`money`]), China time ([`time`]), JSON carried inside a string
//! ([`JsonString`], [`MessageBody`]) and open enums ([`OrderStatus`],
//! [`MessageType`], [`MessagePlatform`]).
//!
//! **Use them through `pandapon-gen`**, which re-exports every documented public item
//! of this crate at the same path (`pandapon_gen::types`,
//! `pandapon_gen::money::Fen`, `pandapon_gen::IntegerId`, …) and documents
//! them in its user guide. They are a crate of their own only for build
//! time: they need serde but not reqwest, so a program's build compiles
//! them while it compiles the HTTP stack instead of after it.
//!
//! ```
//! use pandapon_gen::money::{Fen, Yuan};
//!
//! let price: Yuan = "12.30".parse()?;
//! assert_eq!(Fen::try_from(price)?, Fen::new(1230));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
#![forbid(unsafe_code)]
#![warn(missing_docs)]
#![warn(clippy::missing_errors_doc)]
#![cfg_attr(docsrs, feature(doc_cfg))]

mod builders;
#[doc(hidden)]
pub mod decode;
mod enums;
#[allow(missing_docs, unused_imports, clippy::all)]
#[rustfmt::skip]
mod generated;
mod ids;
mod json;
pub mod money;
pub mod time;

pub use decode::{DECODE_ALLOWANCE, DEFAULT_DECODE_RATIO};
pub use enums::{MessagePlatform, MessageType, OrderStatus};
pub use generated::types;
pub use ids::{DevelopId, IntegerId, InvalidId, StringId};
pub use json::{JsonString, MessageBody};

// The crate README (the crates.io page) is tested too.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
