//! What tracing shows of a call: a `pandapon.call` span around the whole
//! call and a `pandapon.attempt` span around each attempt, with
//! OpenTelemetry's HTTP client attribute names (so that
//! tracing-opentelemetry exports them as a tracing backend expects: span
//! kind client, `http.request.method`, `server.address`, `server.port`,
//! `url.full` without the signing values, `http.response.status_code`,
//! `http.request.resend_count`, `error.type`) and PandaPon's own
//! (`pandapon.operation`, `pandapon.request_id`, `pandapon.outcome`), and
//! debug events with the elapsed time. With no subscriber interested, none
//! of it costs a clock read or a field recorded.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use tracing::field;

use super::classify::Happened;

pin_project_lite::pin_project! {
    /// A call's future inside its `pandapon.call` span.
    ///
    /// A hand-written future rather than an `async` wrapper: the call is
    /// held once, not copied into each layer of a nest of `async` blocks,
    /// so the future stays small and cheap to move.
    pub(crate) struct Traced<F> {
        #[pin]
        inner: F,
        span: tracing::Span,
        started: Option<Instant>,
    }
}

impl<F> Traced<F> {
    /// `inner` in a span for `operation`.
    pub(crate) fn new(operation: &'static str, inner: F) -> Self {
        let span = tracing::info_span!(
            CALL,
            otel.kind = "client",
            otel.name = operation,
            pandapon.operation = operation,
            pandapon.request_id = field::Empty,
            pandapon.outcome = field::Empty,
            http.request.method = field::Empty,
            server.address = field::Empty,
            server.port = field::Empty,
            url.full = field::Empty,
            http.response.status_code = field::Empty,
            http.request.resend_count = field::Empty,
            error.type = field::Empty,
        );
        Self {
            inner,
            span,
            started: None,
        }
    }
}

impl<F, T> Future for Traced<F>
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
        // The call runs inside its span. A disabled span (no subscriber
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
                    span.record("pandapon.outcome", "ok");
                }
                tracing::debug!(parent: span, elapsed_ms = elapsed_ms(), "call succeeded");
            }
            Err(e) => {
                if enabled {
                    span.record("pandapon.outcome", outcome_name(e.outcome()));
                    span.record("error.type", e.kind());
                    // (A successful envelope's id is recorded as it is read.)
                    if let Some(id) = e.request_id() {
                        span.record("pandapon.request_id", crate::escape_shown(id).as_str());
                    }
                }
                tracing::debug!(
                    parent: span,
                    elapsed_ms = elapsed_ms(),
                    error = %e,
                    outcome = %e.outcome(),
                    "call failed"
                );
            }
        }
        Poll::Ready(result)
    }
}

/// `pandapon.outcome` of a failed call: `not_sent`, `refused`, `unknown`.
fn outcome_name(outcome: crate::Outcome) -> &'static str {
    match outcome {
        crate::Outcome::NotSent => "not_sent",
        crate::Outcome::Refused => "refused",
        crate::Outcome::Unknown => "unknown",
    }
}

/// The `pandapon.attempt` span of attempt `attempt` of `operation`.
pub(crate) fn attempt_span(operation: &'static str, attempt: u32) -> tracing::Span {
    tracing::debug_span!(
        "pandapon.attempt",
        otel.kind = "client",
        otel.name = operation,
        pandapon.operation = operation,
        pandapon.attempt = i64::from(attempt),
        http.request.method = field::Empty,
        server.address = field::Empty,
        server.port = field::Empty,
        url.full = field::Empty,
        http.request.resend_count = field::Empty,
        http.response.status_code = field::Empty,
        error.type = field::Empty,
    )
}

/// Records what is known of an attempt's request before it is sent: on
/// its own span and, when the call's span is wanted (it is the current
/// one), on the call's. `url.full` leaves out the query's signing values
/// (`timestamp`, `sign`).
pub(crate) fn attempt_request(span: &tracing::Span, attempt: u32, request: &reqwest::Request) {
    // The call's span gets them once, from the first attempt (a field
    // recorded twice is two attributes in OpenTelemetry).
    let call = (attempt == 1).then(call_span).flatten();
    if span.is_disabled() && call.is_none() {
        return;
    }
    let url = request.url();
    let full = super::wire::url_without_signing(url);
    let resends = attempt.saturating_sub(1);
    for span in std::iter::once(span).chain(call.as_ref()) {
        if span.is_disabled() {
            continue;
        }
        span.record("http.request.method", request.method().as_str());
        if let Some(host) = url.host_str() {
            span.record("server.address", host);
        }
        if let Some(port) = url.port_or_known_default() {
            span.record("server.port", i64::from(port));
        }
        span.record("url.full", full.as_str());
    }
    if resends > 0 && !span.is_disabled() {
        span.record("http.request.resend_count", i64::from(resends));
    }
}

/// The call's `pandapon.call` span, when a subscriber wants it: the current
/// span inside a call. Checked by name, so that the fields are never
/// written into a span of the application's (the current one when the
/// call's span is filtered out).
pub(crate) fn call_span() -> Option<tracing::Span> {
    if !tracing::level_enabled!(tracing::Level::INFO) {
        return None;
    }
    let span = tracing::Span::current();
    (span.metadata().map(tracing::Metadata::name) == Some(CALL)).then_some(span)
}

/// The name of a call's span.
const CALL: &str = "pandapon.call";

/// Records on the call's span how its last attempt, `attempt`, ended: its
/// status and the resends before it.
pub(crate) fn call_ended(attempt: u32, status: Option<reqwest::StatusCode>) {
    let Some(call) = call_span() else {
        return;
    };
    if let Some(status) = status {
        call.record("http.response.status_code", i64::from(status.as_u16()));
    }
    if attempt > 1 {
        call.record("http.request.resend_count", i64::from(attempt - 1));
    }
}

pin_project_lite::pin_project! {
    /// An attempt's future inside its span, entered on each poll only when
    /// a subscriber wants the span.
    pub(crate) struct InSpan<'s, F> {
        #[pin]
        inner: F,
        span: &'s tracing::Span,
    }
}

impl<'s, F> InSpan<'s, F> {
    pub(crate) fn new(span: &'s tracing::Span, inner: F) -> Self {
        Self { inner, span }
    }
}

impl<F: Future> Future for InSpan<'_, F> {
    type Output = F::Output;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        let this = self.project();
        let _entered = (!this.span.is_disabled()).then(|| this.span.enter());
        this.inner.poll(cx)
    }
}

/// Reports how an attempt that began at `started` ended.
pub(crate) fn attempt_ended(span: &tracing::Span, started: Instant, happened: &Happened) {
    if let Some(status) = happened.status() {
        record_status(span, status);
    }
    match happened {
        Happened::Answered { .. } => {
            tracing::debug!(parent: span, elapsed_ms = millis_since(started), "answered");
        }
        Happened::BodyFailed { error, .. } => {
            tracing::debug!(
                parent: span,
                elapsed_ms = millis_since(started),
                error = ?error,
                "reading the body failed"
            );
        }
        Happened::Failed(e) => {
            tracing::debug!(
                parent: span,
                elapsed_ms = millis_since(started),
                error = %e,
                "attempt failed"
            );
        }
    }
}

/// Records an attempt's status on its span.
fn record_status(span: &tracing::Span, status: reqwest::StatusCode) {
    if !span.is_disabled() {
        span.record("http.response.status_code", i64::from(status.as_u16()));
    }
}

/// Records a failed attempt's `error.type` on its span.
pub(crate) fn attempt_failed(span: &tracing::Span, error: &crate::Error) {
    if !span.is_disabled() {
        span.record("error.type", error.kind());
    }
}

/// Reports that attempt `attempt` starts after `delay`.
pub(crate) fn retrying(attempt: u32, delay: Duration) {
    let delay_ms = u64::try_from(delay.as_millis()).unwrap_or(u64::MAX);
    tracing::debug!(attempt, delay_ms, "retrying");
}

/// Whole milliseconds since `t`, for trace fields.
fn millis_since(t: Instant) -> u64 {
    u64::try_from(t.elapsed().as_millis()).unwrap_or(u64::MAX)
}
