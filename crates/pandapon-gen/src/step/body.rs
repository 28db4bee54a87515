//! Reading a response body within bounds: no more than the client's size
//! limit, and failing early when the body stops arriving.
//!
//! Every response is read here, inside the attempt, before anything
//! decodes it. So a read that fails part-way is retried like any other
//! transient failure of a read-only call, and the classifier only ever sees
//! a body that is already in memory (or the reason it is not).

use std::future::Future;
use std::pin::Pin;
use std::task::Poll;
use std::time::Duration;

use tokio::time::Instant;

/// Default limit on the bytes read from one response: 16 MiB, far above the
/// largest documented PandaPon answer (a page of search results or an
/// order list is tens of kilobytes).
pub const DEFAULT_MAX_RESPONSE_BYTES: usize = 16 << 20;

/// Most bytes read from an answer that is not HTTP 200 (an error page), and
/// kept for the error.
pub(crate) const ERROR_BODY_LIMIT: usize = 64 * 1024;

/// When a response body counts as stalled: fewer than
/// `grace × min_bytes_per_sec` bytes (at least one) arrived within a
/// `grace`-long stretch of reading it.
///
/// The default fails a body that stops arriving after its grace period
/// rather than at the end of the attempt's timeout. The guide's
/// [reliability chapter](crate::guide::reliability) has the rule and what a
/// stall means for the call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct StallPolicy {
    /// How long a stretch of reading is measured over; also the time a body
    /// may be silent before it counts as stalled.
    pub grace: Duration,
    /// The slowest acceptable rate over each stretch; 0 turns the check off.
    pub min_bytes_per_sec: u64,
}

impl Default for StallPolicy {
    /// 5 s grace, 1 byte per second.
    fn default() -> Self {
        Self {
            grace: Duration::from_secs(5),
            min_bytes_per_sec: 1,
        }
    }
}

impl StallPolicy {
    /// No stall check: a slow body is bounded by the attempt timeout only.
    pub fn disabled() -> Self {
        Self {
            min_bytes_per_sec: 0,
            ..Self::default()
        }
    }

    /// Sets the grace period (and the stretch the rate is measured over).
    pub fn grace(mut self, grace: Duration) -> Self {
        self.grace = grace;
        self
    }

    /// Sets the slowest acceptable rate, in bytes per second.
    pub fn min_bytes_per_sec(mut self, rate: u64) -> Self {
        self.min_bytes_per_sec = rate;
        self
    }

    fn enabled(&self) -> bool {
        self.min_bytes_per_sec > 0 && !self.grace.is_zero()
    }

    /// Bytes that must arrive in each stretch.
    fn needed(&self) -> u64 {
        let per_stretch = u128::from(self.min_bytes_per_sec) * self.grace.as_millis() / 1000;
        u64::try_from(per_stretch).unwrap_or(u64::MAX).max(1)
    }
}

/// The bounds a client reads and decodes responses within.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct BodyLimits {
    /// Most bytes read from a success answer.
    pub(crate) max_bytes: usize,
    /// When a body that stops arriving fails.
    pub(crate) stall: StallPolicy,
    /// Most memory a decoded body may take, as a multiple of its size.
    pub(crate) decode_ratio: usize,
}

impl Default for BodyLimits {
    fn default() -> Self {
        Self {
            max_bytes: DEFAULT_MAX_RESPONSE_BYTES,
            stall: StallPolicy::default(),
            decode_ratio: super::decode::DEFAULT_DECODE_RATIO,
        }
    }
}

/// Why a body was not read to its end although the connection held: a
/// bound was crossed.
#[derive(Debug, Clone)]
pub(crate) enum BodyFault {
    TooLarge {
        limit: usize,
        /// The `Content-Length`, when the server declared one.
        declared: Option<u64>,
    },
    Stalled {
        policy: StallPolicy,
        /// Bytes that arrived in the last stretch.
        received: u64,
    },
}

/// What [`Error::TooLarge`](crate::Error::TooLarge) says.
pub(crate) fn too_large_message(limit: usize, declared: Option<u64>) -> String {
    let declared = declared.map_or(String::new(), |n| format!(" (Content-Length {n})"));
    format!(
        "response body over the {limit}-byte limit{declared}; the rest was not read \
         (raise the limit with ClientBuilder::max_response_bytes or PANDAPON_MAX_RESPONSE_BYTES)"
    )
}

/// What [`Error::Stalled`](crate::Error::Stalled) says.
pub(crate) fn stalled_message(policy: &StallPolicy, received: u64) -> String {
    format!(
        "response body stalled: {received} bytes in {} ms, under {} bytes/s \
         (see ClientBuilder::stall_protection)",
        policy.grace.as_millis(),
        policy.min_bytes_per_sec
    )
}

/// A body read failure: a bound was crossed, or the connection failed.
#[derive(Debug)]
pub(crate) enum ReadError {
    Fault(BodyFault),
    Transport(reqwest::Error),
}

impl ReadError {
    /// The same error, with `f` applied to a transport error.
    pub(crate) fn map_transport(self, f: impl FnOnce(reqwest::Error) -> reqwest::Error) -> Self {
        match self {
            Self::Transport(e) => Self::Transport(f(e)),
            fault => fault,
        }
    }
}

/// Reads up to `limit` bytes of `response`'s body. Past `limit`: with
/// `truncate`, stops there; without, [`BodyFault::TooLarge`]. On an error,
/// `partial` holds what arrived before it.
///
/// The stall clock starts only when the body first makes the reader wait:
/// a body that is already in (the usual small answer) reads no clock and
/// sets no timer, and a body that arrives in one piece is not copied.
///
/// A function returning an `async move` block, not an `async fn`, so that
/// its arguments are not held twice in every call's future (see
/// `run.rs`).
#[allow(
    clippy::manual_async_fn,
    reason = "an async fn holds its arguments twice"
)]
pub(crate) fn read<'r>(
    response: &'r mut reqwest::Response,
    limit: usize,
    truncate: bool,
    stall: StallPolicy,
    partial: &'r mut Vec<u8>,
) -> impl Future<Output = Result<bytes::Bytes, ReadError>> + 'r {
    async move {
        let declared = response.content_length();
        let too_large = |declared| ReadError::Fault(BodyFault::TooLarge { limit, declared });
        if !truncate && declared.is_some_and(|n| n > limit as u64) {
            return Err(too_large(declared));
        }
        let mut first: Option<bytes::Bytes> = None;
        let mut stretch = Stretch::new(stall);
        loop {
            let Some(chunk) = stretch.next(response).await? else {
                return Ok(match first {
                    Some(only) if partial.is_empty() => only,
                    _ => std::mem::take(partial).into(),
                });
            };
            let held = partial.len() + first.as_ref().map_or(0, bytes::Bytes::len);
            let room = limit - held;
            if chunk.len() > room {
                if !truncate {
                    return Err(too_large(declared));
                }
                collect(partial, &mut first);
                partial.extend_from_slice(&chunk[..room]);
                return Ok(std::mem::take(partial).into());
            }
            if first.is_none() && partial.is_empty() {
                first = Some(chunk);
            } else {
                if partial.is_empty() {
                    // A body in pieces: room for all the server declared (within
                    // the limit), so the buffer is not regrown as it fills.
                    let whole =
                        declared.map_or(0, |n| usize::try_from(n).unwrap_or(limit).min(limit));
                    partial.reserve(whole.max(held + chunk.len()));
                }
                collect(partial, &mut first);
                partial.extend_from_slice(&chunk);
            }
        }
    }
}

/// Moves a first chunk kept aside into `partial`, once a second arrives.
fn collect(partial: &mut Vec<u8>, first: &mut Option<bytes::Bytes>) {
    if let Some(first) = first.take() {
        partial.extend_from_slice(&first);
    }
}

/// The stall rule's state while one body is read.
struct Stretch {
    policy: StallPolicy,
    needed: u64,
    /// When the current stretch ends; `None` until the body first makes the
    /// reader wait.
    end: Option<Instant>,
    bytes: u64,
}

impl Stretch {
    fn new(policy: StallPolicy) -> Self {
        Self {
            policy,
            needed: policy.needed(),
            end: None,
            bytes: 0,
        }
    }

    fn stalled(&self) -> ReadError {
        ReadError::Fault(BodyFault::Stalled {
            policy: self.policy,
            received: self.bytes,
        })
    }

    /// The next chunk, or the stall error when a stretch ends with too
    /// little received.
    async fn next(
        &mut self,
        response: &mut reqwest::Response,
    ) -> Result<Option<bytes::Bytes>, ReadError> {
        if !self.policy.enabled() {
            return response.chunk().await.map_err(ReadError::Transport);
        }
        let mut chunk = std::pin::pin!(response.chunk());
        let mut timer: Option<Pin<Box<tokio::time::Sleep>>> = None;
        let polled = std::future::poll_fn(|cx| {
            loop {
                if let Poll::Ready(chunk) = chunk.as_mut().poll(cx) {
                    return Poll::Ready(Some(chunk));
                }
                let end = *self
                    .end
                    .get_or_insert_with(|| Instant::now() + self.policy.grace);
                let sleep = timer.get_or_insert_with(|| Box::pin(tokio::time::sleep_until(end)));
                if sleep.as_mut().poll(cx).is_pending() {
                    return Poll::Pending;
                }
                // The stretch is over while waiting.
                if self.bytes < self.needed {
                    return Poll::Ready(None);
                }
                self.end = Some(end + self.policy.grace);
                self.bytes = 0;
                timer = None;
            }
        })
        .await;
        let Some(chunk) = polled else {
            return Err(self.stalled());
        };
        let chunk = chunk.map_err(ReadError::Transport)?;
        if let (Some(end), Some(bytes)) = (self.end, &chunk) {
            self.bytes += bytes.len() as u64;
            let now = Instant::now();
            if now >= end {
                if self.bytes < self.needed {
                    return Err(self.stalled());
                }
                self.end = Some(now + self.policy.grace);
                self.bytes = 0;
            }
        }
        Ok(chunk)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bytes_needed_per_stretch() {
        let p = StallPolicy::default();
        assert_eq!(p.needed(), 5);
        assert_eq!(p.grace(Duration::from_millis(100)).needed(), 1);
        assert_eq!(
            p.grace(Duration::from_secs(2))
                .min_bytes_per_sec(1024)
                .needed(),
            2048
        );
        assert!(!StallPolicy::disabled().enabled());
        assert!(!p.grace(Duration::ZERO).enabled());
    }
}
