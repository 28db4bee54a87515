//! The one step every call goes through, whatever made it: a generated
//! operation's `call()` or raw `send()`, an any-path call, a page of a
//! stream, or the CLI.
//!
//! ```text
//! Call's arguments ─► run (run.rs), per attempt:
//!     a request from the arguments (a copy of them while another attempt
//!     may follow; path values via path::segment (path.rs), query values via
//!     query and the URL under the base (built.rs); or Unbuilt)
//!     ─ the caller's extra fields (extras.rs) ─ dry run?
//!     ─ sign (state.rs) ─ interceptors' before_attempt
//!     ─ send ─ read (body.rs) ─ classify::attempt ─ classify::verdict
//!     ─ retry? (retry.rs: the plan, then the client's retry budget)
//!     ─ interceptors' after_attempt (intercept.rs) ─ ...
//!   ─► classify::decode (pandapon_types::decode: within the memory budget)
//!   ─► classify::envelope (call() only)
//! ```
//!
//! The rooms: this file is the entry ([`call`] and [`send`]) and what the
//! step knows of an operation ([`Rules`]); `options.rs` the caller's
//! [`CallOptions`]; `state.rs` what a client carries ([`ClientState`]) and
//! signing an attempt; `built.rs` what the generated requests call;
//! `path.rs` path values; `run.rs` the attempts' loop; `extras.rs` the
//! caller's extra query parameters, headers and body fields; `body.rs`
//! reading within the limits; `classify.rs` the classifier and its verdict
//! table; `retry.rs` the policy and the retry budget; `intercept.rs` the
//! interceptors; `span.rs` tracing; `wire.rs` the redacted wire log.
//!
//! Everything a call needs travels as values: the client's [`ClientState`],
//! the operation's [`Rules`], the caller's [`CallOptions`]. Nothing here
//! imports the client or the crate root's call surface; the generated code
//! and the any-path call call down into it.

pub(crate) mod body;
mod built;
pub(crate) mod classify;
pub(crate) use pandapon_types::decode;
pub(crate) mod extras;
pub(crate) mod intercept;
mod options;
pub(crate) mod path;
pub(crate) mod retry;
mod run;
mod span;
mod state;
pub(crate) mod wire;

use std::future::Future;

use serde::de::DeserializeOwned;

pub(crate) use self::built::{Built, Unbuilt, query, unbuilt, url};
pub use self::options::CallOptions;
use self::run::start;
pub use self::state::ClientState;
pub(crate) use self::state::DryRun;
use crate::Error;
use crate::ResponseValue;
use crate::envelope::{Envelope, Reply};
use crate::operations::Operation;

/// What the step needs to know of the operation being called. Public only
/// because [`Arguments`](crate::Arguments) names it; not part of the
/// documented API, and it cannot be made outside the crate.
#[doc(hidden)]
#[derive(Debug, Clone, Copy)]
pub struct Rules {
    /// The operationId (or `request` for an any-path call).
    pub(crate) id: &'static str,
    /// Safe to re-send after a failure that may have reached the server.
    pub(crate) read_only: bool,
    /// Signed with `timestamp` and `sign` query parameters too.
    pub(crate) query_signed: bool,
}

impl Rules {
    /// The rules of one of the spec's operations, from its row of the table.
    #[inline]
    pub(crate) const fn of(op: &Operation) -> Self {
        Self {
            id: op.id,
            read_only: op.read_only,
            query_signed: op.query_signed,
        }
    }
}

/// Where each attempt's request comes from: built afresh for every attempt,
/// so that nothing of a request is kept for a retry that may never come.
/// `last` says no attempt will follow this one.
pub(crate) trait Requests {
    fn next(&mut self, last: bool) -> Result<reqwest::Request, Error>;
}

/// `call()`: the step, then the response decoded as `R` and its envelope's
/// `code` checked.
pub(crate) fn call<'a, R>(
    http: &'a reqwest::Client,
    state: &'a ClientState,
    rules: Rules,
    requests: impl Requests + Send + 'a,
    options: CallOptions,
) -> impl Future<Output = Result<Reply<R::Data>, Error>> + 'a
where
    R: Envelope + DeserializeOwned + 'a,
{
    let ratio = state.limits.decode_ratio;
    start(http, state, rules, requests, options, move |answer| {
        classify::envelope(classify::decode::<R>(answer, ratio)?)
    })
}

/// The raw `send()`: the step, then the response decoded as `R`, its `code`
/// left to the caller.
pub(crate) fn send<'a, R>(
    http: &'a reqwest::Client,
    state: &'a ClientState,
    rules: Rules,
    requests: impl Requests + Send + 'a,
    options: CallOptions,
) -> impl Future<Output = Result<ResponseValue<R>, Error>> + 'a
where
    R: DeserializeOwned + 'a,
{
    let ratio = state.limits.decode_ratio;
    start(http, state, rules, requests, options, move |answer| {
        classify::decode::<R>(answer, ratio)
    })
}
