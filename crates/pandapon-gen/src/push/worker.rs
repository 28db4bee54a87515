//! The worker loop: claim messages from an [`Inbox`], handle each, mark it
//! done. Run one or many, in one process or on several hosts sharing one
//! inbox: a claim hands each message to one worker at a time.
//!
//! ```no_run
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! use pandapon_gen::push::inbox::SqliteInbox;
//! use pandapon_gen::push::worker::Worker;
//! use pandapon_gen::PushEvent;
//!
//! let inbox = SqliteInbox::open("pushes.sqlite")?;
//! Worker::new(&inbox)
//!     .run(
//!         |event: PushEvent| async move {
//!             // Idempotent: a message can come twice (a lease that ran out,
//!             // a crash before `done`), and out of order.
//!             println!("{:?} {:?}", event.message_type(), event.order_id());
//!             Ok::<(), std::io::Error>(())
//!         },
//!         tokio::signal::ctrl_c(),
//!     )
//!     .await?;
//! # Ok(()) }
//! ```
//!
//! The loop, to copy when it does not fit:
//!
//! ```text
//! loop {
//!     let claimed = inbox.claim(16, lease).await?;   // each to this worker alone
//!     if claimed.is_empty() {
//!         inbox.wait_for_new(idle).await;            // NOTIFY (PostgreSQL), or a timeout
//!         continue;
//!     }
//!     for c in claimed {
//!         if lease_ran_out() { continue }            // another worker may hold it now
//!         if handle(c.message.event()?).await.is_ok() {   // a panic counts as a failure
//!             inbox.mark_done(c.message.id).await?;  // never handed out again
//!         }                                         // else: claimed again once the lease ends
//!     }
//! }
//! ```

use std::fmt::Display;
use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::time::{Duration, Instant};

use futures_util::FutureExt as _;

use super::inbox::{Claimed, Inbox, InboxError};
use crate::PushEvent;

/// A worker's settings and the inbox it claims from.
#[derive(Debug, Clone, Copy)]
pub struct Worker<'i, I> {
    inbox: &'i I,
    batch: usize,
    lease: Duration,
    idle: Duration,
}

/// What a worker did before it stopped.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Worked {
    /// Messages handled and marked done.
    pub handled: u64,
    /// Messages whose handler failed or panicked: left to be claimed again.
    pub failed: u64,
    /// Messages of a batch whose lease ran out before their turn: not
    /// handled (another worker may hold them by then), left to be claimed
    /// again.
    pub expired: u64,
    /// Stored bytes that were not an order message: marked done, so that
    /// they do not come back.
    pub skipped: u64,
}

impl<'i, I: Inbox> Worker<'i, I> {
    /// A worker on `inbox`: claims up to 16 messages at a time, each for 30
    /// seconds, and waits up to 5 seconds for new ones when there are none.
    pub fn new(inbox: &'i I) -> Self {
        Self {
            inbox,
            batch: 16,
            lease: Duration::from_secs(30),
            idle: Duration::from_secs(5),
        }
    }

    /// Claims up to `n` messages at a time. 0 is refused: [`run`](Self::run)
    /// returns [`InboxError::Invalid`].
    pub fn batch(mut self, n: usize) -> Self {
        self.batch = n;
        self
    }

    /// Holds each claim for `lease`: make it longer than handling a whole
    /// batch takes. A message whose turn comes after the lease ran out is
    /// left for the next claim; one whose handling outlasts it may be
    /// claimed by another worker meanwhile (so handlers are idempotent). 0
    /// is refused: [`run`](Self::run) returns [`InboxError::Invalid`].
    pub fn lease(mut self, lease: Duration) -> Self {
        self.lease = lease;
        self
    }

    /// Waits up to `idle` for a new message when a claim comes back empty
    /// (a PostgreSQL inbox wakes the worker sooner, on `NOTIFY`).
    pub fn idle_wait(mut self, idle: Duration) -> Self {
        self.idle = idle;
        self
    }

    /// Claims, handles and marks done until `stop` resolves; then finishes
    /// the batch in hand and returns. A handler that fails leaves its
    /// message to be claimed again when its lease runs out (logged at WARN);
    /// one that panics too (logged at ERROR), and the loop goes on. A
    /// message whose turn in the batch comes after the batch's lease ran out
    /// (measured on this host's monotonic clock, from before the claim) is
    /// not handled: it is left for the next claim, by any worker;
    /// an inbox that fails (a database outage) is retried after the idle
    /// wait (logged at ERROR), so the loop outlives the outage.
    ///
    /// # Errors
    ///
    /// Only [`InboxError::Invalid`] (settings the inbox refuses) and
    /// [`InboxError::Closed`] (the inbox is gone) end it.
    pub async fn run<H, F, E>(self, mut handle: H, stop: impl Future) -> Result<Worked, InboxError>
    where
        H: FnMut(PushEvent) -> F,
        F: Future<Output = Result<(), E>>,
        E: Display,
    {
        let mut worked = Worked::default();
        let mut stop = std::pin::pin!(stop);
        loop {
            // The inbox's lease starts when it claims, after this: so the
            // batch's lease surely lasts until `deadline`.
            let deadline = Instant::now() + self.lease;
            let claimed = tokio::select! {
                _ = &mut stop => return Ok(worked),
                claimed = self.inbox.claim(self.batch, self.lease) => claimed,
            };
            let claimed = match claimed {
                Ok(claimed) => claimed,
                Err(e @ (InboxError::Invalid(_) | InboxError::Closed)) => return Err(e),
                Err(e) => {
                    tracing::error!(inbox = %self.inbox.location(), error = %e, "claiming failed; trying again");
                    tokio::select! {
                        _ = &mut stop => return Ok(worked),
                        () = tokio::time::sleep(self.idle) => continue,
                    }
                }
            };
            if claimed.is_empty() {
                tokio::select! {
                    _ = &mut stop => return Ok(worked),
                    () = self.inbox.wait_for_new(self.idle) => continue,
                }
            }
            for message in claimed {
                self.one(&mut handle, message, deadline, &mut worked)
                    .await?;
            }
        }
    }

    async fn one<H, F, E>(
        &self,
        handle: &mut H,
        claimed: Claimed,
        deadline: Instant,
        worked: &mut Worked,
    ) -> Result<(), InboxError>
    where
        H: FnMut(PushEvent) -> F,
        F: Future<Output = Result<(), E>>,
        E: Display,
    {
        let id = claimed.message.id;
        if Instant::now() >= deadline {
            tracing::warn!(
                id,
                "the batch's lease ran out before this message's turn; left for the next claim"
            );
            worked.expired += 1;
            return Ok(());
        }
        match claimed.message.event() {
            Ok(event) => match AssertUnwindSafe(async { handle(event).await })
                .catch_unwind()
                .await
            {
                Ok(Ok(())) => {
                    self.mark_done(id).await?;
                    worked.handled += 1;
                }
                Ok(Err(e)) => {
                    tracing::warn!(id, error = %e, "handling a pushed message failed; it will be claimed again");
                    worked.failed += 1;
                }
                Err(panic) => {
                    tracing::error!(
                        id,
                        panic = %crate::error::panic_shown(panic.as_ref()),
                        "the handler panicked on a pushed message; it will be claimed again"
                    );
                    worked.failed += 1;
                }
            },
            Err(e) => {
                tracing::error!(id, error = %e, "a stored message is not an order message; marked done");
                self.mark_done(id).await?;
                worked.skipped += 1;
            }
        }
        Ok(())
    }

    async fn mark_done(&self, id: u64) -> Result<(), InboxError> {
        match self.inbox.mark_done(id).await {
            Err(e @ InboxError::Closed) => Err(e),
            Err(e) => {
                // Handled, not marked: it comes back once its lease ends.
                tracing::error!(id, error = %e, "marking a handled message done failed");
                Ok(())
            }
            Ok(()) => Ok(()),
        }
    }
}
