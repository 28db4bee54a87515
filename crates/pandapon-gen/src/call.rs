//! The call surface, written once: [`Call`], the builder every operation
//! returns, with `call()`, `send()`, `call_with()`, `send_with()` and, for
//! the paginated operations, `pages()` and `items()`. What differs from one
//! operation to the next (its arguments, their setters, how its request is
//! built, its response type and its row of the operation table) is
//! generated: each operation's arguments implement [`Arguments`], and its
//! builder (`builder::AlibabaOrderCancel<'a>`, say) is `Call<'a, _>` over
//! them. The any-path call ([`Client::request`]) is another implementation
//! of [`Arguments`], so it shares the same methods.

use std::fmt;
use std::future::Future;

use serde::de::DeserializeOwned;

use crate::envelope::Envelope;
use crate::step::{self, Built, Rules};
use crate::{CallOptions, Client, Error, Items, Page, Pages, Reply, ResponseValue};

/// One call of an operation, being built: the client it goes through and the
/// operation's arguments. Nothing is sent until the future of
/// [`call`](Self::call) or [`send`](Self::send) is polled.
///
/// Every operation's builder is a `Call`: `client.alibaba_order_cancel()`
/// returns a [`builder::AlibabaOrderCancel`](crate::builder::AlibabaOrderCancel),
/// which is `Call<'_, builder::args::AlibabaOrderCancel>`. Its setters
/// (`.body(..)`, `.order_id(..)`) are the operation's own; the methods here
/// are the same for all of them.
#[must_use = "a call does nothing until `call()` or `send()` is awaited"]
pub struct Call<'a, A> {
    pub(crate) client: &'a Client,
    pub(crate) args: A,
}

impl<'a, A> Call<'a, A> {
    /// A call through `client` with `args`.
    #[doc(hidden)]
    #[inline]
    pub fn of(client: &'a Client, args: A) -> Self {
        Self { client, args }
    }
}

impl<A: Clone> Clone for Call<'_, A> {
    fn clone(&self) -> Self {
        Self {
            client: self.client,
            args: self.args.clone(),
        }
    }
}

impl<A: fmt::Debug> fmt::Debug for Call<'_, A> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Call").field("args", &self.args).finish()
    }
}

/// The `data` an operation's [`Call::call`] returns.
pub type Data<A> = <<A as Arguments>::Response as Envelope>::Data;

/// The arguments of one operation: what its builder's setters set, and how
/// they become a signed request. Implemented by `cargo xtask codegen` for
/// every operation of the spec, and for the any-path call; it cannot be
/// implemented elsewhere.
///
/// They are `Clone` so that each attempt of a call builds its request
/// afresh from them: nothing of a request is kept for a retry that may
/// never come.
pub trait Arguments: sealed::Sealed + Sized + Clone + Send {
    /// The operation's answer: PandaPon's envelope, as [`Call::send`]
    /// returns it.
    type Response: Envelope + DeserializeOwned;

    /// What the call step needs to know of the operation: its name, and
    /// whether it is read-only and signed in the query too.
    #[doc(hidden)]
    fn rules(&self) -> Rules;

    /// The request these arguments make through `client` (or why none can
    /// be made: then nothing is sent).
    #[doc(hidden)]
    fn request(self, client: &Client) -> Result<reqwest::Request, Error>;
}

/// The arguments of a paginated operation: the page to start from, and the
/// same arguments at another page. Implemented by `cargo xtask codegen` for
/// the operations the spec marks `x-pandapon-paginated`.
pub trait Paginated: Arguments<Response: Envelope<Data: Page>> {
    /// The page the body asks for, if it sets one.
    #[doc(hidden)]
    fn first_page(&self) -> Option<i64>;

    /// These arguments at page `page`.
    #[doc(hidden)]
    fn at_page(&self, page: i64) -> Self;
}

/// Each attempt's request, built from the arguments: from a copy while
/// another attempt may follow, from the arguments themselves for the last.
struct Requests<'a, A> {
    client: &'a Client,
    args: Option<A>,
}

impl<A: Arguments> step::Requests for Requests<'_, A> {
    #[inline]
    fn next(&mut self, last: bool) -> Result<reqwest::Request, Error> {
        let args = if last {
            self.args.take()
        } else {
            self.args.clone()
        };
        match args {
            Some(args) => args.request(self.client),
            // The step asks for none after the last.
            None => Err(Error::InvalidRequest(
                "no attempt is left to build a request for".to_owned(),
            )),
        }
    }
}

/// What generated code hands the step when its request could not be built.
#[doc(hidden)]
#[inline]
pub(crate) fn built(request: Built) -> Result<reqwest::Request, Error> {
    request.map_err(step::unbuilt)
}

pub(crate) mod sealed {
    /// Only this crate implements [`Arguments`](super::Arguments).
    pub trait Sealed {}
}

impl<'a, A> Call<'a, A>
where
    A: Arguments + 'a,
    A::Response: 'a,
{
    /// Sends the call and unwraps PandaPon's envelope: `Ok` only when `code`
    /// is 200, with the `data` and the request id.
    ///
    /// Every attempt is signed afresh, and retried per the client's policy:
    /// a read-only operation after any failure worth another attempt, a write
    /// only when the connection failed before anything was sent (see the
    /// guide's [reliability chapter](crate::guide::reliability)).
    /// [`send`](Self::send) returns the raw envelope instead, leaving the
    /// `code` check to the caller.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidRequest`] when a value is missing or invalid (nothing
    /// is sent); otherwise the business error, HTTP error, transport failure
    /// or undecodable answer the call ended with. [`Error::outcome`] says
    /// whether it may have taken effect.
    ///
    /// # Cancel safety
    ///
    /// The future does nothing until polled; dropping it (or a timeout
    /// around it) stops the call where it is. Dropped before its first poll,
    /// nothing was sent. Dropped later, the request may have reached
    /// PandaPon and no answer will say what happened: a read can simply be
    /// sent again; a write's outcome is unknown, as after a timeout, so look
    /// it up as the operation's documentation says before repeating it. The
    /// attempt in progress ends without
    /// [`Interceptor::after_attempt`](crate::Interceptor::after_attempt).
    #[inline]
    pub fn call(self) -> impl Future<Output = Result<Reply<Data<A>>, Error>> + 'a {
        self.call_with(CallOptions::default())
    }

    /// Like [`call`](Self::call), with per-call options: retries, the
    /// attempt timeout, extra query parameters, headers and body fields.
    ///
    /// # Errors
    ///
    /// As [`call`](Self::call).
    ///
    /// # Cancel safety
    ///
    /// As [`call`](Self::call).
    #[inline]
    pub fn call_with(
        self,
        options: CallOptions,
    ) -> impl Future<Output = Result<Reply<Data<A>>, Error>> + 'a {
        let Self { client, args } = self;
        let rules = args.rules();
        let requests = Requests {
            client,
            args: Some(args),
        };
        step::call::<A::Response>(&client.client, &client.inner, rules, requests, options)
    }

    /// Sends the call and returns PandaPon's envelope as it came, with the
    /// status and headers: the `code` check is the caller's
    /// ([`call`](Self::call) does it).
    ///
    /// It goes through the same step as [`call`](Self::call): signed afresh
    /// for each attempt, retried per the client's policy, read within its
    /// limits and judged by the same classifier.
    ///
    /// # Errors
    ///
    /// As [`call`](Self::call), except that a business error inside HTTP 200
    /// is an `Ok` envelope.
    ///
    /// # Cancel safety
    ///
    /// As [`call`](Self::call).
    #[inline]
    pub fn send(self) -> impl Future<Output = Result<ResponseValue<A::Response>, Error>> + 'a {
        self.send_with(CallOptions::default())
    }

    /// Like [`send`](Self::send), with per-call options.
    ///
    /// # Errors
    ///
    /// As [`send`](Self::send).
    ///
    /// # Cancel safety
    ///
    /// As [`call`](Self::call).
    #[inline]
    pub fn send_with(
        self,
        options: CallOptions,
    ) -> impl Future<Output = Result<ResponseValue<A::Response>, Error>> + 'a {
        let Self { client, args } = self;
        let rules = args.rules();
        let requests = Requests {
            client,
            args: Some(args),
        };
        step::send::<A::Response>(&client.client, &client.inner, rules, requests, options)
    }
}

impl<'a, A> Call<'a, A>
where
    A: Paginated + Send + 'a,
    A::Response: Send + 'a,
    Data<A>: Send,
{
    /// Every page of the operation, as a [`Stream`](crate::Stream) of
    /// replies: from the page the body asks for (1 if it sets none), each
    /// next page asked for when the stream is polled for it, up to
    /// `totalPage` (or the first empty page when the server sends no
    /// totals). The page size is the body's. Pages are read-only calls,
    /// retried as reads are; a page that fails ends the stream with its
    /// error. A page that repeats the one before, counts that cannot be
    /// right, or the cap of pages ([`DEFAULT_MAX_PAGES`](crate::DEFAULT_MAX_PAGES),
    /// or [`max_pages`](crate::Pages::max_pages)) reached with pages left
    /// end it with [`Error::Paging`](crate::Error::Paging) (the guide's
    /// pagination chapter).
    ///
    /// # Cancel safety
    ///
    /// As [`Pages`]': dropping a `next()` future loses no page.
    #[inline]
    pub fn pages(self) -> Pages<'a, Data<A>> {
        let Self { client, args } = self;
        let first = args.first_page().unwrap_or(1);
        Pages::new(first, move |page| {
            let call = Self {
                client,
                args: args.at_page(page),
            };
            Box::pin(call.call())
        })
    }

    /// The items of every page, in order, as a [`Stream`](crate::Stream):
    /// see [`pages`](Self::pages). [`max_items`](crate::Items::max_items)
    /// caps it.
    ///
    /// # Cancel safety
    ///
    /// As [`Items`]': dropping a `next()` future loses no item.
    #[inline]
    pub fn items(self) -> Items<'a, Data<A>> {
        self.pages().items()
    }
}
