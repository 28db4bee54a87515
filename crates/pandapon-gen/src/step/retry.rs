//! When a call is tried again: the per-call choice ([`Retry`]), the client's
//! bounds ([`RetryPolicy`]), which failures are worth another attempt, and
//! the backoff between attempts.

use std::time::{Duration, Instant};

use rand::Rng;

use crate::Error;

/// Whether a call may be re-sent after a failure.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Retry {
    /// By the operation: read-only operations are retried on connection
    /// errors, timeouts, stalled or broken bodies, 429 and 502/503/504;
    /// writes only when the connection failed before anything was sent.
    #[default]
    Auto,
    /// Retry like a read-only operation. Use it for a write you know is
    /// idempotent.
    Always,
    /// Never re-send, not even after a refused connection.
    Never,
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

    /// The delay before attempt `next` (2, 3, …): equal jitter (a random
    /// delay between half the exponential ceiling and all of it), or the
    /// server's `Retry-After`, capped either way.
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

/// The retry rules of one call: what its operation and options allow.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Plan {
    /// Re-send after a failure that may have reached the server.
    resend: bool,
    /// Re-send after a connection that could not be made.
    reconnect: bool,
    started: Instant,
}

impl Plan {
    /// The rules for a call whose operation is `read_only` or not, with the
    /// caller's `retry` choice.
    pub(crate) fn new(read_only: bool, retry: Retry) -> Self {
        Self {
            resend: match retry {
                Retry::Auto => read_only,
                Retry::Always => true,
                Retry::Never => false,
            },
            reconnect: retry != Retry::Never,
            started: Instant::now(),
        }
    }

    /// When the call started.
    pub(crate) fn started(&self) -> Instant {
        self.started
    }

    /// Whether attempt `attempt` is the policy's last.
    pub(crate) fn is_last(&self, policy: &RetryPolicy, attempt: u32) -> bool {
        attempt >= policy.max_attempts
            || (attempt > 1 && self.started.elapsed() >= policy.max_elapsed)
    }

    /// Whether `error` is worth another attempt under these rules.
    pub(crate) fn allows(&self, error: &Error) -> bool {
        match error {
            // A refused or failed connection sent nothing.
            Error::Transport(e) if e.is_connect() => self.reconnect,
            // A timeout or reset after sending, or a body cut short.
            Error::Transport(_) | Error::Stalled { .. } => self.resend,
            Error::Api(_) | Error::Http { .. } | Error::EmptyBody { .. } => {
                self.resend && error.status().is_some_and(retryable_status)
            }
            _ => false,
        }
    }

    /// The delay before attempt `next`, or `None` when it would start after
    /// the policy's `max_elapsed`.
    pub(crate) fn delay(
        &self,
        policy: &RetryPolicy,
        next: u32,
        retry_after: Option<Duration>,
    ) -> Option<Duration> {
        let delay = policy.delay(next, retry_after);
        (self.started.elapsed() + delay <= policy.max_elapsed).then_some(delay)
    }
}

/// Statuses worth another attempt of a read-only call.
fn retryable_status(status: reqwest::StatusCode) -> bool {
    matches!(status.as_u16(), 429 | 502 | 503 | 504)
}

/// `Retry-After` in seconds (the HTTP-date form is not used by APIs like this
/// one and is ignored).
pub(crate) fn retry_after(headers: &reqwest::header::HeaderMap) -> Option<Duration> {
    let value = headers.get(reqwest::header::RETRY_AFTER)?;
    value
        .to_str()
        .ok()?
        .trim()
        .parse()
        .ok()
        .map(Duration::from_secs)
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::StatusCode;

    #[test]
    fn backoff_doubles_with_equal_jitter_and_honours_retry_after() {
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
    fn statuses_worth_retrying() {
        for s in [429, 502, 503, 504] {
            assert!(retryable_status(StatusCode::from_u16(s).unwrap()));
        }
        for s in [200, 400, 401, 404, 500, 501] {
            assert!(!retryable_status(StatusCode::from_u16(s).unwrap()));
        }
    }

    #[test]
    fn what_each_choice_allows() {
        let http = |status: u16| Error::Http {
            status: StatusCode::from_u16(status).unwrap(),
            body: crate::BodyExcerpt::new(b"<html>"),
        };
        let read = Plan::new(true, Retry::Auto);
        let write = Plan::new(false, Retry::Auto);
        let always = Plan::new(false, Retry::Always);
        let never = Plan::new(true, Retry::Never);
        assert!(read.allows(&http(503)) && always.allows(&http(503)));
        assert!(!write.allows(&http(503)) && !never.allows(&http(503)));
        assert!(!read.allows(&http(500)));
        assert!(!read.allows(&Error::InvalidRequest("x".into())));
        assert!(!read.allows(&Error::DryRun));
    }

    #[test]
    fn retry_after_is_read_in_seconds() {
        let mut headers = reqwest::header::HeaderMap::new();
        assert_eq!(retry_after(&headers), None);
        headers.insert(reqwest::header::RETRY_AFTER, " 3 ".parse().unwrap());
        assert_eq!(retry_after(&headers), Some(Duration::from_secs(3)));
        headers.insert(
            reqwest::header::RETRY_AFTER,
            "Wed, 21 Oct 2015 07:28:00 GMT".parse().unwrap(),
        );
        assert_eq!(retry_after(&headers), None);
    }
}
