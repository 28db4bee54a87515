//! Where a receiver puts pushed messages before it answers 200: an
//! [`Inbox`] stores each message durably, once, and hands the application
//! the ones not yet marked done. [`SqliteInbox`] is the embedded default.
//!
//! PandaPon re-sends a message only while it gets no 200 (after half an
//! hour, at most five times), so a receiver that answers 200 and then loses
//! the message loses that order event for good. Hence the rule: store
//! first, durably, then acknowledge; process later, and mark done after.
//!
//! # Another database
//!
//! Implement [`Inbox`] over your own database. With Postgres (through
//! `sqlx`, say), one table does it:
//!
//! ```sql
//! CREATE TABLE pandapon_inbox (
//!     id          BIGSERIAL PRIMARY KEY,
//!     key         TEXT NOT NULL UNIQUE,   -- PushEvent::dedupe_key
//!     received_at TIMESTAMPTZ NOT NULL,
//!     body        BYTEA NOT NULL,         -- the message as received
//!     done_at     TIMESTAMPTZ
//! );
//! -- store_if_absent: one statement, committed before the 200.
//! INSERT INTO pandapon_inbox (key, received_at, body) VALUES ($1, $2, $3)
//!     ON CONFLICT (key) DO NOTHING RETURNING id;
//! -- (no row back: a duplicate; SELECT id FROM pandapon_inbox WHERE key = $1)
//! -- take_pending:
//! SELECT id, key, received_at, body FROM pandapon_inbox
//!     WHERE done_at IS NULL ORDER BY id LIMIT $1;
//! -- mark_done:
//! UPDATE pandapon_inbox SET done_at = now() WHERE id = $1;
//! ```
//!
//! The commit of the insert must be durable before `store_if_absent`
//! resolves (Postgres' default `synchronous_commit = on`).

use std::future::Future;
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use rusqlite::{Connection, OptionalExtension, params};
use tokio::sync::oneshot;

use crate::PushEvent;
use crate::push::PushError;

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
}

impl NewMessage {
    /// A message received now.
    pub fn new(key: impl Into<String>, body: impl Into<Vec<u8>>) -> Self {
        Self {
            key: key.into(),
            body: body.into(),
            received_at: SystemTime::now(),
        }
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
    /// Whether it was marked done.
    pub done: bool,
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

/// Why the inbox could not do what was asked.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum InboxError {
    /// The database failed (opening, reading, writing, syncing).
    #[error("inbox database: {0}")]
    Database(String),
    /// No message has this id.
    #[error("no message {0} in the inbox")]
    NoSuchMessage(u64),
    /// The inbox's worker is gone (the inbox was dropped, or it panicked).
    #[error("the inbox is closed")]
    Closed,
}

impl From<rusqlite::Error> for InboxError {
    fn from(e: rusqlite::Error) -> Self {
        Self::Database(e.to_string())
    }
}

/// Stores pushed messages durably and once, and hands out the ones not yet
/// done. Implement it over your own database (the module docs sketch one
/// for Postgres); [`SqliteInbox`] is the embedded default.
pub trait Inbox: Send + Sync + 'static {
    /// Stores `message` unless one with the same key is stored, and
    /// resolves only once it is on disk (durable through a crash): a
    /// receiver answers 200 after this.
    fn store_if_absent(
        &self,
        message: NewMessage,
    ) -> impl Future<Output = Result<Stored, InboxError>> + Send;

    /// Up to `max` messages not marked done, oldest first. They stay
    /// pending until marked done: a crash between taking and marking means
    /// they are handed out again, never lost.
    fn take_pending(
        &self,
        max: usize,
    ) -> impl Future<Output = Result<Vec<StoredMessage>, InboxError>> + Send;

    /// Marks a message done: it is never handed out again. Marking one
    /// twice is not an error.
    fn mark_done(&self, id: u64) -> impl Future<Output = Result<(), InboxError>> + Send;
}

/// The embedded inbox: one SQLite file (WAL, `synchronous=FULL`), written
/// by a worker thread that commits the messages arriving together in one
/// transaction, so that one sync to disk covers them all.
///
/// Why SQLite: the file can be read and changed by another process while a
/// receiver runs (`pandapon push inbox list` and `done` beside
/// `push serve`), its format is readable with the `sqlite3` tool, and
/// the bundled build needs nothing installed.
#[derive(Debug, Clone)]
pub struct SqliteInbox {
    ops: mpsc::Sender<Op>,
    path: PathBuf,
    /// Transactions of stores committed so far (read by the tests).
    #[cfg_attr(not(test), allow(dead_code))]
    commits: std::sync::Arc<std::sync::atomic::AtomicU64>,
}

/// Work for the inbox's thread.
enum Op {
    Store(NewMessage, oneshot::Sender<Result<Stored, InboxError>>),
    Pending(
        usize,
        oneshot::Sender<Result<Vec<StoredMessage>, InboxError>>,
    ),
    All(oneshot::Sender<Result<Vec<StoredMessage>, InboxError>>),
    Done(u64, oneshot::Sender<Result<(), InboxError>>),
}

/// Most messages committed in one transaction.
const BATCH: usize = 256;

impl SqliteInbox {
    /// Opens (creating it if needed) the inbox file at `path`.
    ///
    /// # Errors
    ///
    /// [`InboxError::Database`] when the file cannot be opened or is not an
    /// inbox.
    pub fn open(path: impl AsRef<Path>) -> Result<Self, InboxError> {
        let path = path.as_ref().to_path_buf();
        let connection = open_connection(&path)?;
        let (ops, queue) = mpsc::channel();
        let commits = std::sync::Arc::default();
        let counted = std::sync::Arc::clone(&commits);
        std::thread::Builder::new()
            .name("pandapon-inbox".to_owned())
            .spawn(move || work(connection, queue, &counted))
            .map_err(|e| InboxError::Database(format!("starting the inbox's thread: {e}")))?;
        Ok(Self { ops, path, commits })
    }

    /// The file it writes.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Every stored message, oldest first, done or not.
    ///
    /// # Errors
    ///
    /// [`InboxError`] when the database cannot be read.
    pub async fn all(&self) -> Result<Vec<StoredMessage>, InboxError> {
        self.ask(Op::All).await
    }

    async fn ask<T>(
        &self,
        op: impl FnOnce(oneshot::Sender<Result<T, InboxError>>) -> Op,
    ) -> Result<T, InboxError> {
        let (reply, answer) = oneshot::channel();
        self.ops.send(op(reply)).map_err(|_| InboxError::Closed)?;
        answer.await.map_err(|_| InboxError::Closed)?
    }
}

impl Inbox for SqliteInbox {
    fn store_if_absent(
        &self,
        message: NewMessage,
    ) -> impl Future<Output = Result<Stored, InboxError>> + Send {
        self.ask(|reply| Op::Store(message, reply))
    }

    fn take_pending(
        &self,
        max: usize,
    ) -> impl Future<Output = Result<Vec<StoredMessage>, InboxError>> + Send {
        self.ask(move |reply| Op::Pending(max, reply))
    }

    fn mark_done(&self, id: u64) -> impl Future<Output = Result<(), InboxError>> + Send {
        self.ask(move |reply| Op::Done(id, reply))
    }
}

fn open_connection(path: &Path) -> Result<Connection, InboxError> {
    let connection = Connection::open(path)?;
    // Another process (the CLI) may hold a lock for a moment.
    connection.busy_timeout(Duration::from_secs(10))?;
    connection.pragma_update(None, "journal_mode", "WAL")?;
    // FULL: every commit is on disk (the WAL synced) before it returns.
    connection.pragma_update(None, "synchronous", "FULL")?;
    connection.execute_batch(
        "CREATE TABLE IF NOT EXISTS messages (
             id INTEGER PRIMARY KEY AUTOINCREMENT,
             key TEXT NOT NULL UNIQUE,
             received_at_ms INTEGER NOT NULL,
             body BLOB NOT NULL,
             done_at_ms INTEGER
         );
         CREATE INDEX IF NOT EXISTS pending ON messages (id) WHERE done_at_ms IS NULL;",
    )?;
    Ok(connection)
}

fn millis(time: SystemTime) -> i64 {
    let since = time.duration_since(UNIX_EPOCH).unwrap_or_default();
    i64::try_from(since.as_millis()).unwrap_or(i64::MAX)
}

fn from_millis(ms: i64) -> SystemTime {
    UNIX_EPOCH + Duration::from_millis(u64::try_from(ms).unwrap_or(0))
}

/// The inbox's thread: stores arriving together are written in one
/// transaction; everything else one at a time, in order.
fn work(
    mut connection: Connection,
    queue: mpsc::Receiver<Op>,
    commits: &std::sync::atomic::AtomicU64,
) {
    let mut waiting = std::collections::VecDeque::new();
    loop {
        let op = match waiting.pop_front() {
            Some(op) => op,
            None => match queue.recv() {
                Ok(op) => op,
                Err(_) => return,
            },
        };
        match op {
            Op::Store(message, reply) => {
                let mut batch = vec![(message, reply)];
                while batch.len() < BATCH {
                    match queue.try_recv() {
                        Ok(Op::Store(m, r)) => batch.push((m, r)),
                        Ok(other) => {
                            waiting.push_back(other);
                            break;
                        }
                        Err(_) => break,
                    }
                }
                store_batch(&mut connection, batch);
                commits.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            }
            Op::Pending(max, reply) => {
                let _ = reply.send(select(&connection, true, max));
            }
            Op::All(reply) => {
                let _ = reply.send(select(&connection, false, usize::MAX));
            }
            Op::Done(id, reply) => {
                let _ = reply.send(mark_done(&connection, id));
            }
        }
    }
}

type StoreReply = oneshot::Sender<Result<Stored, InboxError>>;

fn store_batch(connection: &mut Connection, batch: Vec<(NewMessage, StoreReply)>) {
    let stored: Result<Vec<Stored>, InboxError> = (|| {
        let tx = connection.transaction()?;
        let mut stored = Vec::with_capacity(batch.len());
        {
            let mut insert = tx.prepare_cached(
                "INSERT INTO messages (key, received_at_ms, body) VALUES (?1, ?2, ?3)
                 ON CONFLICT (key) DO NOTHING",
            )?;
            let mut find = tx.prepare_cached("SELECT id FROM messages WHERE key = ?1")?;
            for (message, _) in &batch {
                let inserted = insert.execute(params![
                    message.key,
                    millis(message.received_at),
                    message.body
                ])?;
                // A new row's id is known; only a duplicate's is looked up.
                let id: i64 = if inserted == 1 {
                    tx.last_insert_rowid()
                } else {
                    find.query_row(params![message.key], |row| row.get(0))?
                };
                let id = u64::try_from(id).unwrap_or_default();
                stored.push(if inserted == 1 {
                    Stored::New(id)
                } else {
                    Stored::Duplicate(id)
                });
            }
        }
        // With synchronous=FULL, on disk when this returns.
        tx.commit()?;
        Ok(stored)
    })();
    match stored {
        Ok(stored) => {
            for ((_, reply), stored) in batch.into_iter().zip(stored) {
                let _ = reply.send(Ok(stored));
            }
        }
        Err(e) => {
            let text = e.to_string();
            for (_, reply) in batch {
                let _ = reply.send(Err(InboxError::Database(text.clone())));
            }
        }
    }
}

fn select(
    connection: &Connection,
    pending: bool,
    max: usize,
) -> Result<Vec<StoredMessage>, InboxError> {
    let sql = if pending {
        "SELECT id, key, received_at_ms, body, done_at_ms FROM messages
         WHERE done_at_ms IS NULL ORDER BY id LIMIT ?1"
    } else {
        "SELECT id, key, received_at_ms, body, done_at_ms FROM messages ORDER BY id LIMIT ?1"
    };
    let limit = i64::try_from(max).unwrap_or(i64::MAX);
    let mut statement = connection.prepare_cached(sql)?;
    let rows = statement.query_map(params![limit], |row| {
        Ok(StoredMessage {
            id: u64::try_from(row.get::<_, i64>(0)?).unwrap_or_default(),
            key: row.get(1)?,
            received_at: from_millis(row.get(2)?),
            body: row.get(3)?,
            done: row.get::<_, Option<i64>>(4)?.is_some(),
        })
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

fn mark_done(connection: &Connection, id: u64) -> Result<(), InboxError> {
    let row = i64::try_from(id).map_err(|_| InboxError::NoSuchMessage(id))?;
    let changed = connection.execute(
        "UPDATE messages SET done_at_ms = ?1 WHERE id = ?2 AND done_at_ms IS NULL",
        params![millis(SystemTime::now()), row],
    )?;
    if changed == 0 {
        let exists: Option<i64> = connection
            .query_row("SELECT id FROM messages WHERE id = ?1", params![row], |r| {
                r.get(0)
            })
            .optional()?;
        if exists.is_none() {
            return Err(InboxError::NoSuchMessage(id));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn temp(name: &str) -> PathBuf {
        let dir =
            std::env::temp_dir().join(format!("pandapon-inbox-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("temp dir");
        dir.join("inbox.sqlite")
    }

    #[tokio::test]
    async fn stores_once_hands_out_pending_and_forgets_done() {
        let inbox = SqliteInbox::open(temp("once")).expect("opens");
        let first = inbox
            .store_if_absent(NewMessage::new("k1", b"one".to_vec()))
            .await
            .expect("stored");
        let again = inbox
            .store_if_absent(NewMessage::new("k1", b"one".to_vec()))
            .await
            .expect("stored");
        let second = inbox
            .store_if_absent(NewMessage::new("k2", b"two".to_vec()))
            .await
            .expect("stored");
        assert!(matches!(first, Stored::New(_)));
        assert_eq!(again, Stored::Duplicate(first.id()));
        assert!(second.id() > first.id());
        let pending = inbox.take_pending(10).await.expect("pending");
        assert_eq!(
            pending
                .iter()
                .map(|m| m.body.as_slice())
                .collect::<Vec<_>>(),
            [b"one", b"two"]
        );
        inbox.mark_done(first.id()).await.expect("done");
        inbox
            .mark_done(first.id())
            .await
            .expect("done twice is fine");
        let pending = inbox.take_pending(10).await.expect("pending");
        assert_eq!(pending.len(), 1);
        assert_eq!(pending[0].key, "k2");
        assert!(matches!(
            inbox.mark_done(999).await,
            Err(InboxError::NoSuchMessage(999))
        ));
        assert_eq!(inbox.all().await.expect("all").len(), 2);
    }

    #[tokio::test]
    async fn reopened_it_has_what_was_stored() {
        let path = temp("reopen");
        {
            let inbox = SqliteInbox::open(&path).expect("opens");
            for i in 0..50 {
                inbox
                    .store_if_absent(NewMessage::new(format!("k{i}"), vec![b'x'; i]))
                    .await
                    .expect("stored");
            }
            inbox.mark_done(3).await.expect("done");
        }
        let inbox = SqliteInbox::open(&path).expect("reopens");
        let all = inbox.all().await.expect("all");
        assert_eq!(all.len(), 50);
        assert_eq!(all.iter().filter(|m| m.done).count(), 1);
        assert_eq!(inbox.take_pending(100).await.expect("pending").len(), 49);
    }

    #[test]
    fn the_connection_syncs_every_commit_to_disk() {
        // What durability through a machine crash rests on: the WAL, and
        // synchronous=FULL (2), which syncs the WAL at every commit.
        let connection = open_connection(&temp("pragmas")).expect("opens");
        let mode: String = connection
            .query_row("PRAGMA journal_mode", [], |r| r.get(0))
            .expect("journal mode");
        let synchronous: i64 = connection
            .query_row("PRAGMA synchronous", [], |r| r.get(0))
            .expect("synchronous");
        assert_eq!((mode.as_str(), synchronous), ("wal", 2));
    }

    #[tokio::test]
    async fn stores_queued_together_are_committed_in_one_transaction() {
        let path = temp("batch");
        let inbox = SqliteInbox::open(&path).expect("opens");
        // Another connection holds the write lock, so the inbox's first
        // transaction waits while every store below is queued.
        let other = Connection::open(&path).expect("second connection");
        other.execute_batch("BEGIN IMMEDIATE").expect("locks");
        let replies: Vec<_> = (0..200)
            .map(|i| {
                let (reply, answer) = oneshot::channel();
                let message = NewMessage::new(format!("k{}", i / 2), b"m".to_vec());
                inbox.ops.send(Op::Store(message, reply)).expect("queued");
                answer
            })
            .collect();
        other.execute_batch("COMMIT").expect("unlocks");
        let mut new = 0;
        for answer in replies {
            if let Stored::New(_) = answer.await.expect("answered").expect("stored") {
                new += 1;
            }
        }
        assert_eq!(new, 100);
        assert_eq!(inbox.all().await.expect("all").len(), 100);
        // The first message's transaction (which may have taken others
        // queued by then), and one for all the rest.
        let commits = inbox.commits.load(std::sync::atomic::Ordering::Relaxed);
        assert!((1..=2).contains(&commits), "{commits} transactions");
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn concurrent_stores_store_each_key_once() {
        let inbox = SqliteInbox::open(temp("concurrent")).expect("opens");
        let mut tasks = Vec::new();
        for i in 0..200 {
            let inbox = inbox.clone();
            // Every message twice.
            tasks.push(tokio::spawn(async move {
                inbox
                    .store_if_absent(NewMessage::new(format!("k{}", i / 2), b"m".to_vec()))
                    .await
            }));
        }
        let mut new = 0;
        for task in tasks {
            if let Stored::New(_) = task.await.expect("joined").expect("stored") {
                new += 1;
            }
        }
        assert_eq!(new, 100);
        assert_eq!(inbox.all().await.expect("all").len(), 100);
    }
}
