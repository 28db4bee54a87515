//! Rust SDK for the PandaPon OpenAPI.
#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]
#![warn(missing_docs)]

// Generated code names hand-written types as `::pandapon_gen::…`, so that the
// same paths work here and in the generated CLI and mocks.
extern crate self as pandapon_gen;

mod body;
mod call;
pub mod callback;
mod client;
mod enums;
mod envelope;
mod error;
#[allow(missing_docs, unused_imports, clippy::all)]
#[rustfmt::skip]
mod generated;
mod ids;
mod json;
mod pages;
mod request;

pub use body::{DEFAULT_MAX_RESPONSE_BYTES, StallPolicy, error_body};
pub use call::{CallOptions, Retry, RetryPolicy, is_read_only};
#[doc(hidden)]
pub use client::ClientState;
pub use client::{
    ClientBuilder, DEFAULT_BASE_URL, DEFAULT_CONNECT_TIMEOUT, DEFAULT_TIMEOUT, ENV_ACCESS_KEY,
    ENV_ACCESS_SECRET, ENV_BASE_URL, ENV_CLOCK_OFFSET_MS, ENV_MAX_RESPONSE_BYTES,
    ENV_TIMESTAMP_UNIT, ENV_USER_ID, USER_AGENT,
};
pub use enums::{MessagePlatform, MessageType, OrderStatus};
pub use envelope::{Envelope, Meta, Reply, SUCCESS_CODE, decode_response};
pub use error::{ApiError, BodyExcerpt, ConfigError, EXCERPT_LIMIT, Error, Outcome};
/// The stream trait of [`Pages`] and [`Items`] (poll them with
/// `futures_util::StreamExt::next` or any stream adapter).
pub use futures_core::Stream;
pub use generated::{Client, PAGINATED_OPERATIONS, builder, types};
pub use ids::{DevelopId, IntegerId, InvalidId, StringId};
pub use json::{JsonString, MessageBody};
pub use pages::{Items, Page, Pages};
pub use request::{
    ANY_PATH_OPERATION, AnyEnvelope, AnyRequest, QUERY_SIGNED_PATH_PREFIXES, is_query_signed_path,
};
/// The HTTP method of an any-path call ([`Client::request`]).
pub use reqwest::Method;

/// The signing layer, re-exported so that one dependency is enough.
pub use pandapon_auth as auth;
pub use pandapon_auth::{Credentials, TimestampUnit};

/// What the raw `send()` of each builder returns, from `progenitor-client`.
pub use progenitor_client::{Error as SendError, ResponseValue};

/// True when a raw `send()` failed only because the client is a dry run
/// ([`ClientBuilder::dry_run`]): the request was signed and shown, not sent.
pub fn is_dry_run_stop<E>(error: &SendError<E>) -> bool {
    matches!(error, SendError::Custom(msg) if msg == client::DRY_RUN_STOP)
}
