//! What tracing shows of a call: a `pandapon.call` span around the whole
//! call (operation, requestId, outcome), a `pandapon.attempt` span around
//! each attempt (attempt number, status), and debug events with the elapsed
//! time. With no subscriber interested, none of it costs a clock read.

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
            "pandapon.call",
            operation,
            request_id = field::Empty,
            outcome = field::Empty
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
                    span.record("outcome", "ok");
                }
                tracing::debug!(parent: span, elapsed_ms = elapsed_ms(), "call succeeded");
            }
            Err(e) => {
                if enabled {
                    span.record("outcome", "error");
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

/// The `pandapon.attempt` span of attempt `attempt`.
pub(crate) fn attempt_span(attempt: u32) -> tracing::Span {
    tracing::debug_span!("pandapon.attempt", attempt, status = field::Empty)
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
    match happened {
        Happened::Answered { status, .. } => {
            if !span.is_disabled() {
                span.record("status", status.as_u16());
            }
            tracing::debug!(parent: span, elapsed_ms = millis_since(started), "answered");
        }
        Happened::BodyFailed { status, error } => {
            if !span.is_disabled() {
                span.record("status", status.as_u16());
            }
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

/// Reports that attempt `attempt` starts after `delay`.
pub(crate) fn retrying(attempt: u32, delay: Duration) {
    let delay_ms = u64::try_from(delay.as_millis()).unwrap_or(u64::MAX);
    tracing::debug!(attempt, delay_ms, "retrying");
}

/// Whole milliseconds since `t`, for trace fields.
fn millis_since(t: Instant) -> u64 {
    u64::try_from(t.elapsed().as_millis()).unwrap_or(u64::MAX)
}
