//! One call: per-call options, the retry loop that signs every attempt
//! afresh, and the tracing spans around both.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use rand::Rng;
use reqwest::StatusCode;
use tokio::task::futures::TaskLocalFuture;
use tracing::{Instrument, field};

use crate::body::{self, BodyLimits, ERROR_BODY_LIMIT, StallPolicy};

/// Whether a call may be re-sent after a failure.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Retry {
    /// By the operation: read-only operations are retried on connection
    /// errors, timeouts, 429 and 502/503/504; writes only when the connection
    /// failed before anything was sent.
    #[default]
    Auto,
    /// Retry like a read-only operation. Use it for a write you know is
    /// idempotent.
    Always,
    /// Never re-send, not even after a refused connection.
    Never,
}

/// Options for one call ([`call_with`](crate::builder) on any builder).
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct CallOptions {
    /// Retry behaviour.
    pub retry: Retry,
    /// Time allowed for each attempt, instead of the client's per-attempt
    /// timeout.
    pub timeout: Option<Duration>,
}

impl CallOptions {
    /// Sets the retry behaviour.
    pub fn retry(mut self, retry: Retry) -> Self {
        self.retry = retry;
        self
    }

    /// Sets the time allowed for each attempt.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = Some(timeout);
        self
    }
}

/// Bounds on automatic retries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct RetryPolicy {
    /// Attempts in all, the first included.
    pub max_attempts: u32,
    /// Delay before the second attempt; doubled for each further one.
    pub initial_backoff: Duration,
    /// Longest delay between attempts (a `Retry-After` above it is capped).
    pub max_backoff: Duration,
    /// No attempt starts after this much time since the first.
    pub max_elapsed: Duration,
}

impl Default for RetryPolicy {
    /// 4 attempts, 200 ms doubling to at most 5 s, none started after 20 s.
    fn default() -> Self {
        Self {
            max_attempts: 4,
            initial_backoff: Duration::from_millis(200),
            max_backoff: Duration::from_secs(5),
            max_elapsed: Duration::from_secs(20),
        }
    }
}

impl RetryPolicy {
    /// A policy that never retries.
    pub fn none() -> Self {
        Self {
            max_attempts: 1,
            ..Self::default()
        }
    }

    /// Sets the number of attempts in all.
    pub fn max_attempts(mut self, n: u32) -> Self {
        self.max_attempts = n.max(1);
        self
    }

    /// Sets the first backoff delay.
    pub fn initial_backoff(mut self, d: Duration) -> Self {
        self.initial_backoff = d;
        self
    }

    /// Sets the longest backoff delay.
    pub fn max_backoff(mut self, d: Duration) -> Self {
        self.max_backoff = d;
        self
    }

    /// Sets the time after which no attempt starts.
    pub fn max_elapsed(mut self, d: Duration) -> Self {
        self.max_elapsed = d;
        self
    }

    /// The delay before attempt `next` (2, 3, …): full jitter over an
    /// exponential ceiling, or the server's `Retry-After`, capped either way.
    fn delay(&self, next: u32, retry_after: Option<Duration>) -> Duration {
        if let Some(after) = retry_after {
            return after.min(self.max_backoff);
        }
        let ceiling = self
            .initial_backoff
            .saturating_mul(1 << next.saturating_sub(2).min(16))
            .min(self.max_backoff);
        let millis = u64::try_from(ceiling.as_millis()).unwrap_or(u64::MAX);
        Duration::from_millis(rand::rng().random_range(millis / 2..=millis.max(1)))
    }
}

tokio::task_local! {
    static OPTIONS: CallOptions;
}

/// Runs `call` with `options` in scope (for a raw `send()` that is not run
/// through [`run_call`]).
pub(crate) fn with_options<F: Future>(
    options: CallOptions,
    call: F,
) -> TaskLocalFuture<CallOptions, F> {
    OPTIONS.scope(options, call)
}

/// Whether `operation` is read-only by the spec (`false` for a name the
/// spec does not have).
pub fn is_read_only(operation: &str) -> bool {
    crate::operation(operation).is_some_and(|op| op.read_only)
}

/// Runs a generated `call_with` body with its options in scope, in a span
/// carrying the operation, the final status and PandaPon's requestId.
///
/// A hand-written future rather than an `async fn`: the generated body is
/// held once, not copied into each layer of a nest of `async` wrappers, so a
/// call's future stays small and cheap to move.
pub(crate) fn run_call<F, T>(operation: &'static str, options: CallOptions, call: F) -> Call<F>
where
    F: Future<Output = Result<T, crate::Error>>,
{
    let span = tracing::info_span!(
        "pandapon.call",
        operation,
        request_id = field::Empty,
        outcome = field::Empty
    );
    Call {
        inner: OPTIONS.scope(options, call),
        span,
        started: None,
    }
}

pin_project_lite::pin_project! {
    /// The future of one call (see [`run_call`]).
    pub(crate) struct Call<F> {
        #[pin]
        inner: TaskLocalFuture<CallOptions, F>,
        span: tracing::Span,
        started: Option<Instant>,
    }
}

impl<F, T> Future for Call<F>
where
    F: Future<Output = Result<T, crate::Error>>,
{
    type Output = F::Output;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        // The clock is read only for the debug events that report it.
        if this.started.is_none() && tracing::level_enabled!(tracing::Level::DEBUG) {
            *this.started = Some(Instant::now());
        }
        let span = &*this.span;
        // The body runs inside the call span. A disabled span (no subscriber
        // wants it) is neither entered on every poll nor recorded into.
        let enabled = !span.is_disabled();
        let entered = enabled.then(|| span.enter());
        let result = std::task::ready!(this.inner.poll(cx));
        drop(entered);
        let started = *this.started;
        let elapsed_ms = || started.map_or(0, millis_since);
        match &result {
            Ok(_) => {
                if enabled {
                    span.record("outcome", "ok");
                }
                tracing::debug!(parent: span, elapsed_ms = elapsed_ms(), "call succeeded");
            }
            Err(e) => {
                if enabled {
                    span.record("outcome", "error");
                }
                tracing::debug!(parent: span, elapsed_ms = elapsed_ms(), error = %e, "call failed");
            }
        }
        Poll::Ready(result)
    }
}

/// Whole milliseconds since `t`, for trace fields.
fn millis_since(t: Instant) -> u64 {
    u64::try_from(t.elapsed().as_millis()).unwrap_or(u64::MAX)
}

/// Statuses worth another attempt of a read-only call.
fn retryable_status(status: StatusCode) -> bool {
    matches!(status.as_u16(), 429 | 502 | 503 | 504)
}

/// `Retry-After` in seconds (the HTTP-date form is not used by APIs like this
/// one and is ignored).
fn retry_after(response: &reqwest::Response) -> Option<Duration> {
    let value = response.headers().get(reqwest::header::RETRY_AFTER)?;
    value
        .to_str()
        .ok()?
        .trim()
        .parse()
        .ok()
        .map(Duration::from_secs)
}

/// A copy of an unsent request for another attempt: what
/// [`reqwest::Request::try_clone`] copies, without the timeout slot it
/// allocates and then throws away. The generated `send()` sets no request
/// extensions, and each attempt's timeout is set afresh, so nothing is lost.
fn unsent_copy(request: &reqwest::Request) -> Option<reqwest::Request> {
    let body = match request.body() {
        None => None,
        Some(body) => Some(reqwest::Body::from(body.as_bytes()?.to_vec())),
    };
    let mut copy = reqwest::Request::new(request.method().clone(), request.url().clone());
    *copy.headers_mut() = request.headers().clone();
    *copy.version_mut() = request.version();
    *copy.body_mut() = body;
    Some(copy)
}

/// Sends `request` per the policy: each attempt is a fresh copy, signed by
/// `sign` just before it goes out, and its response body is read within
/// `limits` before the attempt counts as answered.
pub(crate) async fn execute(
    http: &reqwest::Client,
    policy: &RetryPolicy,
    limits: &BodyLimits,
    read_only: bool,
    mut request: reqwest::Request,
    sign: impl Fn(&mut reqwest::Request),
) -> reqwest::Result<reqwest::Response> {
    let options = OPTIONS.try_with(Clone::clone).unwrap_or_default();
    let resend = match options.retry {
        Retry::Auto => read_only,
        Retry::Always => true,
        Retry::Never => false,
    };
    let connect_retry = options.retry != Retry::Never;
    let started = Instant::now();
    let mut attempt = 1;
    loop {
        let last = attempt >= policy.max_attempts
            || (attempt > 1 && started.elapsed() >= policy.max_elapsed);
        // Keep an unsent copy for the next attempt (bodies here are bytes).
        let spare = if last { None } else { unsent_copy(&request) };
        if let Some(timeout) = options.timeout {
            *request.timeout_mut() = Some(timeout);
        }
        sign(&mut request);
        let span = tracing::debug_span!("pandapon.attempt", attempt, status = field::Empty);
        let t0 = if attempt == 1 {
            started
        } else {
            Instant::now()
        };
        // Only an enabled span is worth entering on every poll.
        let sent = attempt_once(http, request, limits);
        let result = if span.is_disabled() {
            sent.await
        } else {
            sent.instrument(span.clone()).await
        };
        let (again, wait) = match &result {
            Attempt::Answered(response) => {
                if !span.is_disabled() {
                    span.record("status", response.status().as_u16());
                }
                tracing::debug!(parent: &span, elapsed_ms = millis_since(t0), "answered");
                (
                    resend && retryable_status(response.status()),
                    retry_after(response),
                )
            }
            Attempt::BodyFailed(_, error) => {
                tracing::debug!(
                    parent: &span,
                    elapsed_ms = millis_since(t0),
                    error = %error,
                    "reading the body failed"
                );
                (resend && error.transient(), None)
            }
            Attempt::Failed(e) => {
                tracing::debug!(
                    parent: &span,
                    elapsed_ms = millis_since(t0),
                    error = %e,
                    "attempt failed"
                );
                // A refused or failed connection sent nothing; anything else
                // may have reached the server.
                let nothing_sent = e.is_connect();
                let transient = e.is_timeout() || e.is_request();
                (
                    (nothing_sent && connect_retry) || (resend && transient),
                    None,
                )
            }
        };
        let Some(next) = spare.filter(|_| again) else {
            return result.finish(limits.stall).await;
        };
        attempt += 1;
        let delay = policy.delay(attempt, wait);
        if started.elapsed() + delay > policy.max_elapsed {
            return result.finish(limits.stall).await;
        }
        drop(result);
        let delay_ms = u64::try_from(delay.as_millis()).unwrap_or(u64::MAX);
        tracing::debug!(attempt, delay_ms, "retrying");
        tokio::time::sleep(delay).await;
        request = next;
    }
}

/// How one attempt ended.
enum Attempt {
    /// A 200 with its body read, or another status with its body unread
    /// (read only if no further attempt follows).
    Answered(reqwest::Response),
    /// A 200 whose body could not be read whole.
    BodyFailed(reqwest::Response, body::ReadError),
    /// No answer.
    Failed(reqwest::Error),
}

/// Sends one attempt and, for a 200, reads its body within `limits`.
async fn attempt_once(
    http: &reqwest::Client,
    request: reqwest::Request,
    limits: &BodyLimits,
) -> Attempt {
    let mut response = match http.execute(request).await {
        Ok(response) => response,
        Err(e) => return Attempt::Failed(e),
    };
    if response.status() != StatusCode::OK {
        return Attempt::Answered(response);
    }
    let mut partial = Vec::new();
    let limit = limits.max_bytes;
    match body::read(&mut response, limit, false, limits.stall, &mut partial).await {
        Ok(bytes) => {
            response.extensions_mut().insert(body::ReadBody(bytes));
            Attempt::Answered(response)
        }
        Err(e) => Attempt::BodyFailed(response, e),
    }
}

impl Attempt {
    /// What the generated code receives from the last attempt. An error
    /// answer's body is read here (up to 64 KiB) and kept on the response,
    /// so that error reports can show it.
    async fn finish(self, stall: StallPolicy) -> reqwest::Result<reqwest::Response> {
        match self {
            Self::Answered(mut response) if response.status() != StatusCode::OK => {
                let mut partial = Vec::new();
                // A failure part-way keeps what arrived: the status is the news.
                // Boxed: a rare path, kept out of every call's future.
                let read = body::read(&mut response, ERROR_BODY_LIMIT, true, stall, &mut partial);
                let kept = Box::pin(read).await.unwrap_or_else(|_| partial.into());
                let mut response = body::with_body(response, kept.clone());
                response.extensions_mut().insert(body::ErrorBody(kept));
                Ok(response)
            }
            Self::Answered(response) => Ok(response),
            Self::BodyFailed(response, error) => Ok(body::failing(response, error)),
            Self::Failed(e) => Err(e),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_with_jitter_and_honours_retry_after() {
        let p = RetryPolicy::default();
        for _ in 0..50 {
            let d2 = p.delay(2, None);
            assert!(
                d2 >= Duration::from_millis(100) && d2 <= Duration::from_millis(200),
                "{d2:?}"
            );
            let d4 = p.delay(4, None);
            assert!(
                d4 >= Duration::from_millis(400) && d4 <= Duration::from_millis(800),
                "{d4:?}"
            );
            assert!(p.delay(30, None) <= p.max_backoff);
        }
        assert_eq!(
            p.delay(2, Some(Duration::from_secs(2))),
            Duration::from_secs(2)
        );
        assert_eq!(p.delay(2, Some(Duration::from_secs(60))), p.max_backoff);
    }

    #[test]
    fn an_unsent_copy_is_the_same_request() {
        let http = reqwest::Client::new();
        let original = http
            .post("http://127.0.0.1:1/v2/alibaba/order/cancel?x=1")
            .header("accept", "application/json")
            .json(&serde_json::json!({"orderId": 2542285634920880794_u64}))
            .build()
            .expect("request");
        let copy = unsent_copy(&original).expect("a byte body can be copied");
        assert_eq!(copy.method(), original.method());
        assert_eq!(copy.url(), original.url());
        assert_eq!(copy.headers(), original.headers());
        assert_eq!(copy.version(), original.version());
        assert_eq!(copy.timeout(), None);
        assert_eq!(
            copy.body().and_then(reqwest::Body::as_bytes),
            original.body().and_then(reqwest::Body::as_bytes)
        );

        let bodiless = http.get("http://127.0.0.1:1/").build().expect("request");
        assert!(unsent_copy(&bodiless).expect("copy").body().is_none());
    }

    #[test]
    fn statuses_worth_retrying() {
        for s in [429, 502, 503, 504] {
            assert!(retryable_status(StatusCode::from_u16(s).unwrap()));
        }
        for s in [200, 400, 401, 404, 500, 501] {
            assert!(!retryable_status(StatusCode::from_u16(s).unwrap()));
        }
    }
}
