//! Interceptors: read-only hooks that see every attempt of every call, for
//! metrics, audit logs and tracing systems of the caller's own.

use std::time::Duration;

use reqwest::StatusCode;

use crate::{Error, Outcome};

/// Watches every attempt of every call a client makes: registered with
/// [`ClientBuilder::interceptor`](crate::ClientBuilder::interceptor).
///
/// The hooks get shared references only: an interceptor cannot change the
/// request (nothing the signature covers, nor anything else), the answer or
/// the result. They run on the task making the call, so they should be
/// quick: hand slow work (writing an audit log to disk, say) to a channel.
/// Both have empty defaults; implement the ones you need.
///
/// A hook that panics does not change the call: the panic is caught, logged
/// at ERROR through `tracing` (with the operation and the panic's message),
/// and the call goes on as if the hook had returned. A write that reached
/// PandaPon is still reported with its outcome, success included; the other
/// interceptors still run, and the panicking one is called again on the
/// next attempt. (Built with `panic = "abort"`, a panic aborts the process,
/// as anywhere else.)
///
/// ```
/// use std::sync::atomic::{AtomicU64, Ordering};
/// use pandapon_gen::{AfterAttempt, BeforeAttempt, Interceptor};
///
/// /// Counts attempts and failed attempts.
/// #[derive(Default)]
/// struct Counts {
///     attempts: AtomicU64,
///     failed: AtomicU64,
/// }
///
/// impl Interceptor for Counts {
///     fn before_attempt(&self, _: &BeforeAttempt<'_>) {
///         self.attempts.fetch_add(1, Ordering::Relaxed);
///     }
///     fn after_attempt(&self, attempt: &AfterAttempt<'_>) {
///         if attempt.error.is_some() {
///             self.failed.fetch_add(1, Ordering::Relaxed);
///         }
///     }
/// }
/// ```
pub trait Interceptor: Send + Sync {
    /// Called before each attempt is sent, after it was signed.
    fn before_attempt(&self, attempt: &BeforeAttempt<'_>) {
        let _ = attempt;
    }

    /// Called when each attempt has ended: answered and read, or failed.
    fn after_attempt(&self, attempt: &AfterAttempt<'_>) {
        let _ = attempt;
    }
}

/// An interceptor shared with the code that registered it (to read what it
/// gathered, say): `builder.interceptor(metrics.clone())` with `metrics` an
/// `Arc<YourInterceptor>`.
impl<T: Interceptor + ?Sized> Interceptor for std::sync::Arc<T> {
    fn before_attempt(&self, attempt: &BeforeAttempt<'_>) {
        (**self).before_attempt(attempt);
    }

    fn after_attempt(&self, attempt: &AfterAttempt<'_>) {
        (**self).after_attempt(attempt);
    }
}

/// An attempt about to be sent. Its `Debug` shows the request's method,
/// its URL without the query's signing values, and its header names, not
/// their values: they include the signature, and perhaps a credential added
/// with [`CallOptions`](crate::CallOptions).
#[non_exhaustive]
pub struct BeforeAttempt<'a> {
    /// The operationId (`request` for an any-path call).
    pub operation: &'static str,
    /// The call this attempt belongs to: the same for every attempt of one
    /// call, different for each call this process makes (to pair hooks
    /// when calls run at once).
    pub call: u64,
    /// 1 for the first attempt, 2 for the first retry, …
    pub attempt: u32,
    /// The request as it will be sent: method, URL, headers after signing
    /// (the secret is in none of them), body.
    pub request: &'a reqwest::Request,
}

impl std::fmt::Debug for BeforeAttempt<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let header_names: Vec<&str> = self
            .request
            .headers()
            .keys()
            .map(reqwest::header::HeaderName::as_str)
            .collect();
        f.debug_struct("BeforeAttempt")
            .field("operation", &self.operation)
            .field("call", &self.call)
            .field("attempt", &self.attempt)
            .field("method", self.request.method())
            .field("url", &super::wire::url_without_signing(self.request.url()))
            .field("header_names", &header_names)
            .finish_non_exhaustive()
    }
}

/// An attempt that has ended.
#[derive(Debug)]
#[non_exhaustive]
pub struct AfterAttempt<'a> {
    /// The operationId (`request` for an any-path call).
    pub operation: &'static str,
    /// The call this attempt belongs to (as [`BeforeAttempt::call`]).
    pub call: u64,
    /// 1 for the first attempt, 2 for the first retry, …
    pub attempt: u32,
    /// The HTTP status, when an answer arrived.
    pub status: Option<StatusCode>,
    /// From just before the attempt was sent to when its body was read or
    /// it failed.
    pub elapsed: Duration,
    /// The answer's body as read, when one arrived: a 200's whole, another
    /// status's start (at most 64 KiB). A business error inside HTTP 200 is
    /// found here (its `code`), not in `error`.
    pub body: Option<&'a [u8]>,
    /// The answer's headers, when one arrived and its body was read.
    pub headers: Option<&'a reqwest::header::HeaderMap>,
    /// Why the attempt failed, if it did.
    pub error: Option<&'a Error>,
    /// Whether another attempt follows.
    pub retrying: bool,
}

impl AfterAttempt<'_> {
    /// Whether a failed attempt's request may have taken effect; `None`
    /// for an attempt that was answered with HTTP 200.
    pub fn outcome(&self) -> Option<Outcome> {
        self.error.map(Error::outcome)
    }
}

/// A number for a call that interceptors watch, unique in this process.
pub(crate) fn next_call() -> u64 {
    use std::sync::atomic::{AtomicU64, Ordering};
    static CALLS: AtomicU64 = AtomicU64::new(1);
    CALLS.fetch_add(1, Ordering::Relaxed)
}

/// Runs `hook` on every interceptor. A hook that panics is caught and
/// logged: interceptors watch a call, they cannot change its result (a write
/// that reached PandaPon must still be reported with its outcome).
pub(crate) fn each(
    interceptors: &[std::sync::Arc<dyn Interceptor>],
    operation: &'static str,
    hook: impl Fn(&dyn Interceptor),
) {
    for interceptor in interceptors {
        let caught = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            hook(interceptor.as_ref());
        }));
        if let Err(panic) = caught {
            tracing::error!(
                pandapon.operation = operation,
                panic = %crate::error::panic_shown(panic.as_ref()),
                "an interceptor panicked; the call goes on and its result stands"
            );
        }
    }
}
