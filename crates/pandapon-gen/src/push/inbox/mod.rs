//! Where a receiver puts pushed messages before it answers 200: an
//! [`Inbox`] stores each message durably, once per dedupe key, and hands
//! the messages not yet done to workers, each to one worker at a time under
//! a lease ([`Inbox::claim`]).
//!
//! PandaPon re-sends a message only while it gets no 200 (after half an
//! hour, at most five times), so a receiver that answers 200 and then loses
//! the message loses that order event for good. Hence the rule: store
//! first, durably, then acknowledge; process later, and mark done after.
//!
//! Two inboxes come with the SDK:
//!
//! - [`SqliteInbox`], one file, for a receiver on one host (the default);
//! - `PostgresInbox` (the `postgres` feature), for receivers on several
//!   hosts behind a load balancer and workers anywhere: every receiver
//!   stores into the same table, so a message PandaPon re-sends to another
//!   instance is still stored once, and workers on any host split the
//!   messages between them.
//!
//! [`AnyInbox::open`] opens either from a location (a file path, or a
//! `postgres://` URL), as the CLI's `--inbox` does. The guide's chapter
//! [Pushed order messages](crate::guide::push) says which to choose and
//! shows the worker loop ([`super::worker`]).
//!
//! # Another database
//!
//! Implement [`Inbox`] over it: the SQL of `PostgresInbox` (in its module
//! documentation) is a starting point. `store_if_absent` must be durable
//! before it resolves, and `claim` must hand a message to one claimer at a
//! time.

use std::future::Future;
use std::time::{Duration, SystemTime};

use crate::PushEvent;
use crate::push::PushError;

#[cfg(feature = "postgres")]
#[cfg_attr(docsrs, doc(cfg(feature = "postgres")))]
mod postgres;
mod sqlite;

#[cfg(feature = "postgres")]
pub use postgres::PostgresInbox;
pub use sqlite::SqliteInbox;

/// How long PandaPon may still re-send a message after it first pushed
/// it: five more tries, half an hour apart. A dedupe key must be kept at
/// least this long, or a re-send is stored as a new message.
pub const RESEND_WINDOW: Duration = Duration::from_secs(5 * 30 * 60);

/// How long [`Inbox::prune`] keeps a done message by default: a day, well
/// past [`RESEND_WINDOW`].
pub const DEFAULT_RETENTION: Duration = Duration::from_secs(24 * 60 * 60);

/// Where a stored message came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Source {
    /// PandaPon pushed it.
    Push,
    /// [`reconcile`](super::reconcile) stored it after it found an order
    /// whose state the inbox did not hold.
    Reconcile,
}

impl Source {
    /// `push` or `reconcile`, as stored.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Push => "push",
            Self::Reconcile => "reconcile",
        }
    }

    pub(crate) fn parse(text: &str) -> Self {
        match text {
            "reconcile" => Self::Reconcile,
            _ => Self::Push,
        }
    }
}

impl std::fmt::Display for Source {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A message to store: its key (see [`PushEvent::dedupe_key`]) and its
/// bytes as received.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct NewMessage {
    /// What recognises the same message delivered again.
    pub key: String,
    /// The body as received, byte for byte.
    pub body: Vec<u8>,
    /// When it arrived.
    pub received_at: SystemTime,
    /// Where it came from.
    pub source: Source,
    /// The order (or refund) it is about, when it names one: what
    /// [`Inbox::last_for_order`] looks messages up by.
    pub order_id: Option<String>,
}

impl NewMessage {
    /// A message pushed now, about no order in particular.
    pub fn new(key: impl Into<String>, body: impl Into<Vec<u8>>) -> Self {
        Self {
            key: key.into(),
            body: body.into(),
            received_at: SystemTime::now(),
            source: Source::Push,
            order_id: None,
        }
    }

    /// A pushed message received now, keyed and indexed by its event: its
    /// [`dedupe_key`](PushEvent::dedupe_key), and the refund it names, or
    /// else the order (a refund message is about the refund: its state is
    /// the refund's).
    pub fn of_event(event: &PushEvent, body: impl Into<Vec<u8>>) -> Self {
        Self::new(event.dedupe_key(), body).about(event.refund_id().or_else(|| event.order_id()))
    }

    /// Marks it as coming from `source`.
    pub fn from_source(mut self, source: Source) -> Self {
        self.source = source;
        self
    }

    /// Records the order (or refund) it is about.
    pub fn about(mut self, order_id: Option<String>) -> Self {
        self.order_id = order_id;
        self
    }
}

/// What storing a message did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stored {
    /// Stored under this id.
    New(u64),
    /// A message with the same key was already stored, under this id;
    /// nothing was stored.
    Duplicate(u64),
}

impl Stored {
    /// The message's id, new or not.
    pub fn id(self) -> u64 {
        match self {
            Self::New(id) | Self::Duplicate(id) => id,
        }
    }
}

/// A stored message.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct StoredMessage {
    /// The inbox's id for it, in arrival order.
    pub id: u64,
    /// Its key.
    pub key: String,
    /// When it arrived.
    pub received_at: SystemTime,
    /// The body as received.
    pub body: Vec<u8>,
    /// Where it came from.
    pub source: Source,
    /// The order (or refund) it is about, when it names one.
    pub order_id: Option<String>,
    /// Whether it was marked done.
    pub done: bool,
    /// How many times it was claimed.
    pub claims: u32,
}

impl StoredMessage {
    /// The message, typed.
    ///
    /// # Errors
    ///
    /// [`PushError::Malformed`] if the stored bytes are not an order
    /// message (a receiver stores only messages that parse).
    pub fn event(&self) -> Result<PushEvent, PushError> {
        PushEvent::parse(&self.body)
    }
}

/// A claimed message: no other claimer gets it until the lease runs out or
/// it is marked done.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Claimed {
    /// The message.
    pub message: StoredMessage,
    /// The claim on it.
    pub lease: Lease,
}

/// One claim on a message: a token no other claim shares, and when the
/// claim lapses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct Lease {
    /// Different for every claim, of any message.
    pub token: u64,
    /// When the message may be claimed again, if it is not done by then
    /// (the inbox's clock: the database's, for PostgreSQL).
    pub until: SystemTime,
}

/// Which messages [`Inbox::messages`] lists.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum Listing {
    /// Every stored message, done or not.
    #[default]
    All,
    /// Only the messages not marked done (claimed or not).
    Pending,
}

/// Why the inbox could not do what was asked.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum InboxError {
    /// The database failed (opening, reading, writing, syncing) or could
    /// not be reached.
    #[error("inbox database: {0}")]
    Database(String),
    /// The database has a table of the inbox's name that is not an inbox
    /// (another program's, or an older layout it cannot read).
    #[error("not a pandapon inbox: {0}")]
    ForeignSchema(String),
    /// The inbox does not exist and was not to be created.
    #[error("no inbox at {0}: the file does not exist (a mistyped path?)")]
    Missing(String),
    /// A value the inbox cannot use: a lease of 0, a `max` of 0, a
    /// retention shorter than PandaPon's re-send window, a location that is
    /// neither a path nor a `postgres://` URL.
    #[error("invalid inbox argument: {0}")]
    Invalid(String),
    /// No message has this id.
    #[error("no message {0} in the inbox")]
    NoSuchMessage(u64),
    /// The inbox's worker is gone (the inbox was dropped, or it panicked).
    #[error("the inbox is closed")]
    Closed,
}

/// Stores pushed messages durably and once, and hands them out to workers
/// under leases. Implemented by [`SqliteInbox`] and `PostgresInbox`, and by
/// [`AnyInbox`] over either.
pub trait Inbox: Send + Sync + 'static {
    /// Stores `message` unless one with the same key is stored, and
    /// resolves only once it is durable (through a crash): a receiver
    /// answers 200 after this.
    fn store_if_absent(
        &self,
        message: NewMessage,
    ) -> impl Future<Output = Result<Stored, InboxError>> + Send;

    /// Claims up to `max` messages, oldest first, that are neither done nor
    /// under a live lease, each for `lease`: no other claim gets them until
    /// the lease runs out or they are marked done. A worker that dies
    /// holding a message leaves it to be claimed again once its lease runs
    /// out, so a message is handled at least once and by one worker at a
    /// time.
    ///
    /// # Errors
    ///
    /// [`InboxError::Invalid`] for a `max` or `lease` of 0, and the
    /// database's failures.
    fn claim(
        &self,
        max: usize,
        lease: Duration,
    ) -> impl Future<Output = Result<Vec<Claimed>, InboxError>> + Send;

    /// Marks a message done: it is never handed out again. Marking one
    /// twice is not an error.
    fn mark_done(&self, id: u64) -> impl Future<Output = Result<(), InboxError>> + Send;

    /// Up to `max` messages, oldest first: all of them or the pending ones.
    /// A listing claims nothing.
    fn messages(
        &self,
        listing: Listing,
        max: usize,
    ) -> impl Future<Output = Result<Vec<StoredMessage>, InboxError>> + Send;

    /// Removes the messages marked done before `done_before`, dedupe keys
    /// and all; returns how many. A key must outlive PandaPon's
    /// re-sends: use [`prune_older_than`] with a retention of at least
    /// [`RESEND_WINDOW`] rather than calling this directly.
    fn prune(
        &self,
        done_before: SystemTime,
    ) -> impl Future<Output = Result<u64, InboxError>> + Send;

    /// The newest message about `order_id` (an order or refund id), if any:
    /// what [`reconcile`](super::reconcile) compares the order's current
    /// state with.
    fn last_for_order(
        &self,
        order_id: &str,
    ) -> impl Future<Output = Result<Option<StoredMessage>, InboxError>> + Send;

    /// Resolves when a message may have been stored, or after `timeout`:
    /// what a worker waits on when a claim came back empty. The default
    /// waits for the timeout; the SDK's inboxes wake sooner (PostgreSQL on
    /// `NOTIFY`, from any host; SQLite on a store in the same process).
    fn wait_for_new(&self, timeout: Duration) -> impl Future<Output = ()> + Send {
        tokio::time::sleep(timeout)
    }

    /// Where the inbox is, for log lines: a file path, or a database URL
    /// without its password.
    fn location(&self) -> String {
        "an inbox".to_owned()
    }

    /// Up to `max` messages not marked done, oldest first. Every caller
    /// gets the same messages: two workers would each handle every one.
    #[deprecated(
        since = "0.1.0",
        note = "use claim(max, lease), which hands each message to one worker at a time, or \
                messages(Listing::Pending, max) to look without claiming"
    )]
    fn take_pending(
        &self,
        max: usize,
    ) -> impl Future<Output = Result<Vec<StoredMessage>, InboxError>> + Send {
        self.messages(Listing::Pending, max)
    }
}

/// Removes the done messages older than `retention` from `inbox`; refuses
/// a retention shorter than [`RESEND_WINDOW`], which would forget dedupe
/// keys PandaPon may still re-send. Returns how many were removed.
///
/// # Errors
///
/// [`InboxError::Invalid`] for a retention under [`RESEND_WINDOW`], and the
/// database's failures.
pub async fn prune_older_than<I: Inbox>(inbox: &I, retention: Duration) -> Result<u64, InboxError> {
    if retention < RESEND_WINDOW {
        return Err(InboxError::Invalid(format!(
            "a retention of {} s forgets dedupe keys PandaPon may still re-send: keep done \
             messages at least {} s",
            retention.as_secs(),
            RESEND_WINDOW.as_secs()
        )));
    }
    let before = SystemTime::now()
        .checked_sub(retention)
        .unwrap_or(SystemTime::UNIX_EPOCH);
    inbox.prune(before).await
}

/// Checks a claim's arguments.
pub(crate) fn check_claim(max: usize, lease: Duration) -> Result<(), InboxError> {
    if max == 0 {
        return Err(InboxError::Invalid(
            "claim at least one message (max 0)".into(),
        ));
    }
    if lease.is_zero() {
        return Err(InboxError::Invalid(
            "a lease of 0 would hand every message to every claimer".into(),
        ));
    }
    Ok(())
}

/// A random lease token.
pub(crate) fn new_token() -> u64 {
    // Positive in a signed 64-bit column.
    rand::random::<u64>() >> 1
}

/// Either inbox, chosen by its location at run time: what `pandapon push
/// serve --inbox` opens.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum AnyInbox {
    /// A SQLite file.
    Sqlite(SqliteInbox),
    /// A PostgreSQL database.
    #[cfg(feature = "postgres")]
    #[cfg_attr(docsrs, doc(cfg(feature = "postgres")))]
    Postgres(PostgresInbox),
}

impl AnyInbox {
    /// Opens the inbox at `location`: a `postgres://` (or `postgresql://`)
    /// URL, or a file path. With `create`, a missing SQLite file is made
    /// (a PostgreSQL inbox makes its tables whenever they are missing);
    /// without it, a missing file is an error, so that a mistyped path is
    /// not taken for an empty inbox.
    ///
    /// # Errors
    ///
    /// [`InboxError::Missing`] for a file that does not exist (without
    /// `create`), [`InboxError::Invalid`] for a URL this build cannot open
    /// (a `postgres://` URL without the `postgres` feature, or a malformed
    /// one), and what opening each inbox can fail with.
    pub async fn open(location: &str, create: bool) -> Result<Self, InboxError> {
        let is_url = location.starts_with("postgres://") || location.starts_with("postgresql://");
        if is_url {
            #[cfg(feature = "postgres")]
            return Ok(Self::Postgres(PostgresInbox::connect(location).await?));
            #[cfg(not(feature = "postgres"))]
            return Err(InboxError::Invalid(
                "a postgres:// inbox needs pandapon-gen's `postgres` feature".into(),
            ));
        }
        if location.contains("://") {
            return Err(InboxError::Invalid(format!(
                "{:?} is neither a file path nor a postgres:// URL",
                crate::escape_controls(location)
            )));
        }
        let inbox = if create {
            SqliteInbox::open(location)?
        } else {
            SqliteInbox::open_existing(location)?
        };
        Ok(Self::Sqlite(inbox))
    }
}

/// Calls `$method` on whichever inbox this is.
macro_rules! each {
    ($self:ident, $inbox:ident => $body:expr) => {
        match $self {
            AnyInbox::Sqlite($inbox) => $body,
            #[cfg(feature = "postgres")]
            AnyInbox::Postgres($inbox) => $body,
        }
    };
}

impl Inbox for AnyInbox {
    async fn store_if_absent(&self, message: NewMessage) -> Result<Stored, InboxError> {
        each!(self, inbox => inbox.store_if_absent(message).await)
    }

    async fn claim(&self, max: usize, lease: Duration) -> Result<Vec<Claimed>, InboxError> {
        each!(self, inbox => inbox.claim(max, lease).await)
    }

    async fn mark_done(&self, id: u64) -> Result<(), InboxError> {
        each!(self, inbox => inbox.mark_done(id).await)
    }

    async fn messages(
        &self,
        listing: Listing,
        max: usize,
    ) -> Result<Vec<StoredMessage>, InboxError> {
        each!(self, inbox => inbox.messages(listing, max).await)
    }

    async fn prune(&self, done_before: SystemTime) -> Result<u64, InboxError> {
        each!(self, inbox => inbox.prune(done_before).await)
    }

    async fn last_for_order(&self, order_id: &str) -> Result<Option<StoredMessage>, InboxError> {
        each!(self, inbox => inbox.last_for_order(order_id).await)
    }

    async fn wait_for_new(&self, timeout: Duration) {
        each!(self, inbox => inbox.wait_for_new(timeout).await)
    }

    fn location(&self) -> String {
        each!(self, inbox => inbox.location())
    }
}
