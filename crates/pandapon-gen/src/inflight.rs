//! Orders in flight: waiting for a change PandaPon will report
//! ([`poll_until`]), and settling a create whose outcome is unknown
//! ([`create_or_find`]).
//!
//! What PandaPon documents, and what it does not: the 1688 order details
//! (`alibaba_order_detail`) and the Taobao refund details
//! (`taobao_refund_detail`) can be read back by id, so a change to a known
//! order or refund can be polled for. No documented read finds an order by
//! the caller's own order number (`sellerOrderNumber`, which only the Taobao
//! create takes): the Taobao order queries have no public path, and the
//! 1688 order list's body is not public. So after a create ends with
//! [`Outcome::Unknown`], [`create_or_find`] asks a `find` you supply — an
//! any-path call to a query PandaPon gave you, or your inbox of pushed
//! `ORDER_CREATE` messages — and reports `StillUnknown` when nothing finds
//! it by the deadline, rather than guessing.

use std::future::Future;
use std::time::{Duration, Instant};

use crate::{Error, Outcome};

/// How often to ask again, and for how long.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct Polling {
    /// The wait before the second ask; doubled after each ask.
    pub first_delay: Duration,
    /// The longest wait between asks.
    pub max_delay: Duration,
    /// No ask starts after this much time since the first.
    pub deadline: Duration,
}

impl Default for Polling {
    /// 1 s, doubling to at most 30 s, for 10 minutes.
    fn default() -> Self {
        Self {
            first_delay: Duration::from_secs(1),
            max_delay: Duration::from_secs(30),
            deadline: Duration::from_secs(600),
        }
    }
}

impl Polling {
    /// Sets the first wait (and so the pace).
    pub fn first_delay(mut self, delay: Duration) -> Self {
        self.first_delay = delay;
        self
    }

    /// Sets the longest wait between asks.
    pub fn max_delay(mut self, delay: Duration) -> Self {
        self.max_delay = delay;
        self
    }

    /// Sets how long to keep asking.
    pub fn deadline(mut self, deadline: Duration) -> Self {
        self.deadline = deadline;
        self
    }
}

/// Why [`poll_until`] gave up.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PollError<T> {
    /// The deadline passed; `last` is what the last ask gave (a reply that
    /// was not final yet, or the error it failed with).
    #[error("still not done when the deadline passed")]
    Deadline {
        /// The last ask's result.
        last: Result<T, Error>,
    },
}

/// Asks with `ask` (a read-only call, say) until `done` says its answer is
/// final, waiting longer between asks each time, until the deadline. A
/// failed ask (after the call's own retries) counts as "not yet": the next
/// ask may succeed.
///
/// ```
/// # use std::time::Duration;
/// # use pandapon_gen::{Client, Credentials};
/// use pandapon_gen::inflight::{Polling, poll_until};
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// # let credentials = Credentials::new("demo-access-key", "demo-access-secret", "demo-user")?;
/// # let check = pandapon_httpmock::SignatureCheck::new(credentials.clone());
/// # let fake = pandapon_httpmock::FakePandaPon::start(([127, 0, 0, 1], 0).into(), check).await?;
/// # let client = Client::builder(credentials).base_url(fake.base_url()).build()?;
/// // Wait until a refund's details are there (in an application: until
/// // its status is the one you wait for).
/// let polling = Polling::default().first_delay(Duration::from_millis(10)).deadline(Duration::from_secs(5));
/// let detail = poll_until(
///     polling,
///     || client.taobao_refund_detail().refund_id("110000235001").call(),
///     |reply| reply.request_id.is_some(),
/// )
/// .await?;
/// # let _ = detail; Ok(()) }
/// ```
///
/// # Errors
///
/// [`PollError::Deadline`] with the last ask's result.
///
/// # Cancel safety
///
/// Dropping the future drops the ask in progress (see the `# Cancel safety`
/// of the call it makes); nothing else is lost, so with asks that read, a
/// new `poll_until` can simply start over.
pub async fn poll_until<T, F, Fut>(
    polling: Polling,
    mut ask: F,
    mut done: impl FnMut(&T) -> bool,
) -> Result<T, PollError<T>>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, Error>>,
{
    let started = Instant::now();
    let mut delay = polling.first_delay;
    loop {
        match ask().await {
            Ok(answer) if done(&answer) => return Ok(answer),
            last if started.elapsed() + delay > polling.deadline => {
                return Err(PollError::Deadline { last });
            }
            _ => {}
        }
        tokio::time::sleep(delay).await;
        delay = delay.saturating_mul(2).min(polling.max_delay);
    }
}

/// How a create settled.
#[derive(Debug)]
#[non_exhaustive]
pub enum Created<T, F> {
    /// The create call succeeded.
    Created(T),
    /// Its outcome was unknown, and `find` found the order.
    Found(F),
    /// Its outcome was unknown, and nothing found the order by the
    /// deadline: it may or may not exist. Do not create it again blindly.
    StillUnknown(Error),
}

/// Runs a create; if its outcome is unknown (it may have taken effect),
/// asks `find` — for the order, by your own order number, wherever you can
/// look it up — until it finds it or the deadline passes.
///
/// ```
/// use std::time::Duration;
/// use pandapon_gen::Error;
/// use pandapon_gen::inflight::{Created, Polling, create_or_find};
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// // A create whose answer was lost (an empty 200: the outcome is unknown),
/// // and a lookup that finds the order on its second ask.
/// let lost = async { Err::<(), _>(Error::EmptyBody { status: reqwest::StatusCode::OK }) };
/// let mut asks = 0;
/// let settled = create_or_find(
///     lost,
///     Polling::default().first_delay(Duration::from_millis(1)),
///     || {
///         asks += 1;
///         let found = (asks == 2).then_some("2542285634920880794");
///         async move { Ok(found) }
///     },
/// )
/// .await;
/// assert!(matches!(settled, Ok(Created::Found("2542285634920880794"))));
/// # }
/// ```
///
/// # Errors
///
/// The create's error when its outcome is known: `NotSent` (safe to try
/// again) or `Refused` (PandaPon turned it down).
///
/// # Cancel safety
///
/// Dropping the future while the create runs drops the create's call, and
/// dropping it while `find` is asked forgets that the create's outcome was
/// unknown: either way, the order may exist, so look it up before creating
/// it again, as after [`Created::StillUnknown`].
pub async fn create_or_find<T, F, L, Fut>(
    create: impl Future<Output = Result<T, Error>>,
    polling: Polling,
    mut find: L,
) -> Result<Created<T, F>, Error>
where
    L: FnMut() -> Fut,
    Fut: Future<Output = Result<Option<F>, Error>>,
{
    let error = match create.await {
        Ok(created) => return Ok(Created::Created(created)),
        Err(e) if e.outcome() != Outcome::Unknown => return Err(e),
        Err(e) => e,
    };
    let found = poll_until(polling, &mut find, Option::is_some).await;
    Ok(match found {
        Ok(Some(found)) => Created::Found(found),
        Ok(None) | Err(_) => Created::StillUnknown(error),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn quick() -> Polling {
        Polling::default()
            .first_delay(Duration::from_millis(1))
            .max_delay(Duration::from_millis(4))
            .deadline(Duration::from_millis(200))
    }

    fn unknown() -> Error {
        Error::EmptyBody {
            status: reqwest::StatusCode::OK,
        }
    }

    #[tokio::test]
    async fn polls_until_done_and_gives_up_at_the_deadline() {
        let mut asks = 0;
        let done = poll_until(
            quick(),
            || {
                asks += 1;
                let n = asks;
                async move { if n == 2 { Err(unknown()) } else { Ok(n) } }
            },
            |n| *n >= 4,
        )
        .await;
        assert_eq!(done.expect("done"), 4);
        let never = poll_until(quick(), || async { Ok(0) }, |_| false).await;
        assert!(matches!(never, Err(PollError::Deadline { last: Ok(0) })));
    }

    #[tokio::test]
    async fn a_create_settles_by_its_outcome() {
        let created = create_or_find(async { Ok(7) }, quick(), || async { Ok(None::<u8>) }).await;
        assert!(matches!(created, Ok(Created::Created(7))));
        // Refused: not looked for, the error comes back.
        let refused = Error::InvalidRequest("bad".into());
        let r = create_or_find(async { Err::<u8, _>(refused) }, quick(), || async {
            Ok(Some(1))
        })
        .await;
        assert!(matches!(r, Err(Error::InvalidRequest(_))));
        // Unknown: looked for until found, or until the deadline.
        let found = create_or_find(async { Err::<u8, _>(unknown()) }, quick(), || async {
            Ok(Some(9))
        })
        .await;
        assert!(matches!(found, Ok(Created::Found(9))));
        let lost = create_or_find(async { Err::<u8, _>(unknown()) }, quick(), || async {
            Ok(None::<u8>)
        })
        .await;
        assert!(matches!(
            lost,
            Ok(Created::StillUnknown(Error::EmptyBody { .. }))
        ));
    }
}
