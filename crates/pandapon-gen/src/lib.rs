//! The Rust SDK for the [PandaPon OpenAPI](https://api.pandapon.com), the
//! cross-border purchasing API in front of Taobao and 1688: product search,
//! carts, orders, payment, after-sales, logistics and pushed order messages.
//!
//! It is generated from a hand-written OpenAPI spec with progenitor and
//! wrapped by hand: every request is signed, PandaPon's envelope is unwrapped
//! into [`Reply`] or a typed [`Error`], 19-digit ids keep every digit, reads
//! are retried and writes are never re-sent once they may have arrived.
//!
//! ```
//! use pandapon_gen::types::{AlibabaOrderCancelRequest, WebSite};
//! use pandapon_gen::{Client, Credentials};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! # let credentials = Credentials::new("demo-access-key", "demo-access-secret", "demo-user")?;
//! # let check = pandapon_httpmock::SignatureCheck::new(credentials.clone());
//! # let fake = pandapon_httpmock::FakePandaPon::start(([127, 0, 0, 1], 0).into(), check).await?;
//! # let client = Client::builder(credentials).base_url(fake.base_url()).build()?;
//! // In an application: let client = Client::from_env()?;
//! let reply = client
//!     .alibaba_order_cancel()
//!     .body(
//!         AlibabaOrderCancelRequest::builder()
//!             .web_site(WebSite::X1688)
//!             .order_id(2542285634920880794_u64),
//!     )
//!     .call()
//!     .await?;
//! println!("cancelled: {} (requestId {:?})", reply.data, reply.request_id);
//! # Ok(()) }
//! ```
//!
//! # User guide
//!
//! 1. [Client setup and environment variables](guide::setup)
//! 2. [Making calls and reading errors](guide::calls)
//! 3. [PandaPon's traps: ids, money, times, JSON in strings, open enums](guide::traps)
//! 4. [Any path: endpoints the spec does not have yet](guide::any_path)
//! 5. [Every page: `pages()` and `items()`](guide::pagination)
//! 6. [Retries, timeouts, size limits and outcomes](guide::reliability)
//! 7. [Fitting into your stack: your HTTP client, interceptors, extra
//!    fields, sub-accounts, the retry budget](guide::stack)
//! 8. [Pushed order messages](guide::push)
//! 9. [Tracing](guide::tracing)
//! 10. [Testing your code without PandaPon](guide::testing)
//!
//! The operations are the methods of [`Client`]; their request and response
//! types are in [`types`], their builders in [`builder`]. The signing rule is
//! in the re-exported [`auth`] crate.
#![forbid(unsafe_code)]
#![warn(missing_docs)]
#![warn(clippy::missing_errors_doc)]
// docs.rs marks the items of each cargo feature.
#![cfg_attr(docsrs, feature(doc_cfg))]

// Generated code names hand-written types as `::pandapon_gen::…`, so that the
// same paths work here and in the generated CLI and mocks.
extern crate self as pandapon_gen;

mod call;
pub mod cassette;
mod client;
mod envelope;
mod error;
pub mod guide;
#[allow(missing_docs, unused_imports, clippy::all)]
#[rustfmt::skip]
mod generated;
pub mod inflight;
#[rustfmt::skip]
mod operations;
mod pages;
pub mod push;
mod request;
mod response;
mod step;

pub use call::{Arguments, Call, Data, Paginated};
pub use client::{
    ClientBuilder, DEFAULT_BASE_URL, DEFAULT_CONNECT_TIMEOUT, DEFAULT_TIMEOUT, ENV_ACCESS_KEY,
    ENV_ACCESS_SECRET, ENV_BASE_URL, ENV_CLOCK_OFFSET_MS, ENV_MAX_RESPONSE_BYTES,
    ENV_TIMESTAMP_UNIT, ENV_USER_ID, ENV_VARS, EnvVar, USER_AGENT,
};
pub use envelope::{Envelope, Meta, Reply, SUCCESS_CODE, decode_response};
pub use error::{
    ApiError, BodyExcerpt, ConfigError, EXCERPT_LIMIT, Error, Outcome, PagingError, SHOWN_LIMIT,
    escape_controls, escape_shown, is_unsafe_char,
};
/// The stream trait of [`Pages`] and [`Items`] (poll them with
/// `futures_util::StreamExt::next` or any stream adapter).
pub use futures_core::Stream;
pub use generated::{Client, PushEvent, builder, types};
pub use operations::{OPERATIONS, Operation, operation};
pub use pages::{DEFAULT_MAX_PAGES, Items, Page, Pages};
// The generated types and what they are made of live in `pandapon-types`,
// which needs serde but not reqwest, so that a program's build compiles them
// while it compiles the HTTP stack; here they keep their paths.
#[doc(inline)]
pub use pandapon_types::{
    DECODE_ALLOWANCE, DEFAULT_DECODE_RATIO, DevelopId, IntegerId, InvalidId, JsonString,
    MessageBody, MessagePlatform, MessageType, OrderStatus, StringId, money, time,
};
pub use request::{
    ANY_PATH_OPERATION, AnyArguments, AnyEnvelope, AnyRequest, QUERY_SIGNED_PATH_PREFIXES,
    is_query_signed_path,
};
/// The HTTP method of an any-path call ([`Client::request`]).
pub use reqwest::Method;
pub use step::CallOptions;
#[doc(hidden)]
pub use step::ClientState;
pub use step::body::{DEFAULT_MAX_RESPONSE_BYTES, StallPolicy};
pub use step::intercept::{AfterAttempt, BeforeAttempt, Interceptor};
pub use step::retry::{Retry, RetryBudget, RetryPolicy};

/// The signing layer, re-exported so that one dependency is enough.
pub use pandapon_auth as auth;
pub use pandapon_auth::{Credentials, TimestampUnit};

pub use response::ResponseValue;

/// Whether `operation` is read-only by the spec (`false` for a name the
/// spec does not have). The operation table, [`OPERATIONS`], is what the
/// retry rules read; this is a shortcut for looking an operation up.
pub fn is_read_only(operation: &str) -> bool {
    operations::operation(operation).is_some_and(|op| op.read_only)
}

// The crate README (the crates.io page) is tested too.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;

// So is the repository's README, whose example is the one a newcomer copies
// first. (Only in doctests: the file is not in the published crate.)
#[cfg(doctest)]
#[doc = include_str!("../../../README.md")]
struct RepositoryReadmeDoctests;
