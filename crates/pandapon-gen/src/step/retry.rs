//! When a call is tried again: the per-call choice ([`Retry`]), the client's
//! bounds ([`RetryPolicy`]), which failures are worth another attempt, and
//! the backoff between attempts.

use std::time::{Duration, Instant};

use rand::Rng;

use super::classify::{Again, Verdict};

/// Whether a call may be re-sent after a failure. Which failures are worth
/// another attempt is in the guide's
/// [reliability chapter](crate::guide::reliability).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Retry {
    /// By the operation: a read-only operation is retried after any failure
    /// worth another attempt; a write only when the connection failed
    /// before anything was sent.
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

/// A client's allowance of retries, shared by all its calls, as in
/// aws-sdk-rust's standard retry mode: each retry spends tokens from a
/// bucket, each success puts one back. In a brownout, when every call
/// fails, the bucket empties after a few retries and calls stop retrying,
/// instead of multiplying the traffic on a struggling server by the number
/// of attempts; as calls succeed again it refills.
///
/// On by default ([`RetryBudget::default`]); shared by every call made
/// through a client (share it across tasks with an `Arc`) and by the clients [`Client::with_user_id`](crate::Client::with_user_id)
/// makes from it; set with
/// [`ClientBuilder::retry_budget`](crate::ClientBuilder::retry_budget). The
/// guide's chapter [Fitting into your stack](crate::guide::stack) shows what
/// it does in a brownout.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct RetryBudget {
    /// Tokens in a full bucket; 0 turns the budget off (retries are bound
    /// only by the [`RetryPolicy`]).
    pub capacity: u32,
    /// Tokens one retry spends.
    pub retry_cost: u32,
    /// Tokens a retry after a timeout or stalled body spends.
    pub timeout_retry_cost: u32,
    /// Tokens a success puts back.
    pub success_refill: u32,
}

impl Default for RetryBudget {
    /// aws-sdk-rust's figures: 500 tokens; a retry spends 5, one after a
    /// timeout 10; a success puts 1 back. So at most 100 retries in a row
    /// when nothing succeeds.
    fn default() -> Self {
        Self {
            capacity: 500,
            retry_cost: 5,
            timeout_retry_cost: 10,
            success_refill: 1,
        }
    }
}

impl RetryBudget {
    /// No budget: every retry the policy allows is made.
    pub fn unlimited() -> Self {
        Self {
            capacity: 0,
            ..Self::default()
        }
    }

    /// Sets the tokens in a full bucket (0: no budget).
    pub fn capacity(mut self, tokens: u32) -> Self {
        self.capacity = tokens;
        self
    }

    /// Sets what one retry spends, and one after a timeout.
    pub fn retry_cost(mut self, tokens: u32, after_timeout: u32) -> Self {
        self.retry_cost = tokens;
        self.timeout_retry_cost = after_timeout;
        self
    }

    /// Sets what a success puts back.
    pub fn success_refill(mut self, tokens: u32) -> Self {
        self.success_refill = tokens;
        self
    }
}

/// The tokens left of a [`RetryBudget`], shared by the calls of a client.
#[derive(Debug)]
pub(crate) struct TokenBucket {
    budget: RetryBudget,
    tokens: std::sync::atomic::AtomicU32,
}

impl TokenBucket {
    pub(crate) fn new(budget: RetryBudget) -> Self {
        Self {
            budget,
            tokens: std::sync::atomic::AtomicU32::new(budget.capacity),
        }
    }

    /// The budget this bucket follows.
    pub(crate) fn budget(&self) -> RetryBudget {
        self.budget
    }

    /// Spends the cost of a retry after a failure judged `verdict`; false
    /// when the bucket cannot pay it (then no retry is made).
    pub(crate) fn try_spend(&self, verdict: &Verdict) -> bool {
        use std::sync::atomic::Ordering;
        if self.budget.capacity == 0 {
            return true;
        }
        let cost = if verdict.timed_out {
            self.budget.timeout_retry_cost
        } else {
            self.budget.retry_cost
        };
        self.tokens
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |left| {
                left.checked_sub(cost)
            })
            .is_ok()
    }

    /// Puts a success's tokens back. A full bucket (the usual case) costs
    /// one shared read.
    pub(crate) fn refill(&self) {
        use std::sync::atomic::Ordering;
        let capacity = self.budget.capacity;
        if self.tokens.load(Ordering::Relaxed) >= capacity {
            return;
        }
        let _ = self
            .tokens
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |left| {
                Some(
                    left.saturating_add(self.budget.success_refill)
                        .min(capacity),
                )
            });
    }

    /// Tokens left.
    #[cfg(test)]
    pub(crate) fn tokens(&self) -> u32 {
        self.tokens.load(std::sync::atomic::Ordering::Relaxed)
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

    /// Whether a failure judged `verdict` is worth another attempt under
    /// these rules.
    pub(crate) fn allows(&self, verdict: &Verdict) -> bool {
        match verdict.again {
            Again::Never => false,
            Again::Reconnect => self.reconnect,
            Again::Resend => self.resend,
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
        // Spread over the whole range, not one fixed delay: 400 draws land
        // in both the lowest and the highest quarter of [100, 200] ms and
        // take many values. (A miss of either quarter by chance has a
        // probability of 0.75^400, about 1e-50.)
        let draws: Vec<u128> = (0..400).map(|_| p.delay(2, None).as_millis()).collect();
        assert!(draws.iter().any(|&d| d < 125), "{draws:?}");
        assert!(draws.iter().any(|&d| d > 175), "{draws:?}");
        let distinct: std::collections::BTreeSet<_> = draws.iter().collect();
        assert!(distinct.len() > 40, "{distinct:?}");
        assert_eq!(
            p.delay(2, Some(Duration::from_secs(2))),
            Duration::from_secs(2)
        );
        assert_eq!(p.delay(2, Some(Duration::from_secs(60))), p.max_backoff);
    }

    #[test]
    fn what_each_choice_allows() {
        let verdict = |again| Verdict {
            outcome: crate::Outcome::Unknown,
            again,
            timed_out: false,
        };
        let read = Plan::new(true, Retry::Auto);
        let write = Plan::new(false, Retry::Auto);
        let always = Plan::new(false, Retry::Always);
        let never = Plan::new(true, Retry::Never);
        let resend = verdict(Again::Resend);
        assert!(read.allows(&resend) && always.allows(&resend));
        assert!(!write.allows(&resend) && !never.allows(&resend));
        let reconnect = verdict(Again::Reconnect);
        assert!(read.allows(&reconnect) && write.allows(&reconnect));
        assert!(!never.allows(&reconnect));
        for plan in [read, write, always, never] {
            assert!(!plan.allows(&verdict(Again::Never)));
        }
    }

    #[test]
    fn the_budget_empties_on_failures_and_refills_on_successes() {
        let bucket = TokenBucket::new(RetryBudget::default().capacity(20));
        let busy = Verdict {
            outcome: crate::Outcome::Refused,
            again: Again::Resend,
            timed_out: false,
        };
        assert!((0..4).all(|_| bucket.try_spend(&busy)));
        assert_eq!(bucket.tokens(), 0);
        assert!(!bucket.try_spend(&busy), "an empty bucket pays for nothing");
        for _ in 0..12 {
            bucket.refill();
        }
        assert_eq!(bucket.tokens(), 12);
        assert!(bucket.try_spend(&busy));
        for _ in 0..100 {
            bucket.refill();
        }
        assert_eq!(bucket.tokens(), 20, "never past its capacity");
        let unlimited = TokenBucket::new(RetryBudget::unlimited());
        assert!((0..10_000).all(|_| unlimited.try_spend(&busy)));
        // A retry after a timeout costs twice as much.
        let timed_out = Verdict {
            timed_out: true,
            ..busy
        };
        let bucket = TokenBucket::new(RetryBudget::default().capacity(20));
        assert!(bucket.try_spend(&timed_out) && bucket.try_spend(&timed_out));
        assert!(!bucket.try_spend(&busy), "two timeouts spent 20 tokens");
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
