//! The embedded inbox: one SQLite file, written by one thread of its own.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use rusqlite::{Connection, OptionalExtension, params};
use tokio::sync::{Notify, oneshot};

use super::{
    Claimed, Inbox, InboxError, Lease, Listing, NewMessage, Source, Stored, StoredMessage,
    check_claim, new_token,
};

/// The embedded inbox: one SQLite file (WAL, `synchronous=FULL`), written
/// by a thread of its own that commits the messages arriving together in
/// one transaction, so that one sync to disk covers them all.
///
/// Why SQLite: nothing to install (the library is built in), the file can
/// be read and changed by another process while a receiver runs (`pandapon
/// push inbox list`, `claim` and `done` beside `push serve`), and its format
/// is readable with the `sqlite3` tool. It is for receivers on one host:
/// receivers on several hosts need one inbox they all share
/// (`PostgresInbox`).
///
/// Its schema (made when missing):
///
/// ```sql
/// CREATE TABLE pandapon_inbox (
///     id INTEGER PRIMARY KEY AUTOINCREMENT,
///     key TEXT NOT NULL UNIQUE,            -- PushEvent::dedupe_key
///     received_at_ms INTEGER NOT NULL,
///     body BLOB NOT NULL,                  -- the message as received
///     source TEXT NOT NULL DEFAULT 'push', -- or 'reconcile'
///     order_id TEXT,                       -- the order or refund it names
///     lease_until_ms INTEGER,              -- claimed until
///     lease_token INTEGER,
///     claims INTEGER NOT NULL DEFAULT 0,
///     done_at_ms INTEGER
/// );
/// ```
#[derive(Debug, Clone)]
pub struct SqliteInbox {
    ops: mpsc::Sender<Op>,
    path: PathBuf,
    /// Wakes [`Inbox::wait_for_new`] in this process when a message is
    /// stored.
    stored: Arc<Notify>,
    /// Transactions of stores committed so far (read by the tests).
    #[cfg_attr(not(test), allow(dead_code))]
    commits: Arc<AtomicU64>,
}

/// Work for the inbox's thread.
enum Op {
    Store(NewMessage, Reply<Stored>),
    Claim(usize, Duration, Reply<Vec<Claimed>>),
    List(Listing, usize, Reply<Vec<StoredMessage>>),
    LastFor(String, Reply<Option<StoredMessage>>),
    Done(u64, Reply<()>),
    Prune(SystemTime, Reply<u64>),
}

type Reply<T> = oneshot::Sender<Result<T, InboxError>>;

/// Most messages committed in one transaction.
const BATCH: usize = 256;

/// How long a write waits for another process's lock (`pandapon push inbox
/// done` beside a receiver) before it fails: well inside the 1000 ms
/// PandaPon waits for its 200, so that a receiver answers 503 in time.
const BUSY_TIMEOUT: Duration = Duration::from_millis(500);

impl SqliteInbox {
    /// Opens the inbox file at `path`, creating it if it does not exist.
    ///
    /// # Errors
    ///
    /// [`InboxError::Database`] when the file cannot be opened or made, and
    /// [`InboxError::ForeignSchema`] when it holds a table of the inbox's
    /// name that is not an inbox.
    pub fn open(path: impl AsRef<Path>) -> Result<Self, InboxError> {
        Self::start(path.as_ref())
    }

    /// Opens the inbox file at `path`, which must exist: a mistyped path is
    /// an error, not a new empty inbox. For reading and marking an inbox
    /// a receiver writes.
    ///
    /// # Errors
    ///
    /// [`InboxError::Missing`] when there is no file at `path`, and as
    /// [`open`](Self::open).
    pub fn open_existing(path: impl AsRef<Path>) -> Result<Self, InboxError> {
        let path = path.as_ref();
        if !path.is_file() {
            return Err(InboxError::Missing(path.display().to_string()));
        }
        Self::start(path)
    }

    fn start(path: &Path) -> Result<Self, InboxError> {
        let connection = open_connection(path)?;
        let (ops, queue) = mpsc::channel();
        let stored = Arc::new(Notify::new());
        let commits = Arc::default();
        let (wake, counted) = (Arc::clone(&stored), Arc::clone(&commits));
        std::thread::Builder::new()
            .name("pandapon-inbox".to_owned())
            .spawn(move || work(connection, &queue, &wake, &counted))
            .map_err(|e| InboxError::Database(format!("starting the inbox's thread: {e}")))?;
        Ok(Self {
            ops,
            path: path.to_path_buf(),
            stored,
            commits,
        })
    }

    /// The file it writes.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Every stored message, oldest first, done or not:
    /// `messages(Listing::All, usize::MAX)`.
    ///
    /// # Errors
    ///
    /// [`InboxError`] when the database cannot be read.
    pub async fn all(&self) -> Result<Vec<StoredMessage>, InboxError> {
        self.messages(Listing::All, usize::MAX).await
    }

    async fn ask<T>(&self, op: impl FnOnce(Reply<T>) -> Op) -> Result<T, InboxError> {
        let (reply, answer) = oneshot::channel();
        self.ops.send(op(reply)).map_err(|_| InboxError::Closed)?;
        answer.await.map_err(|_| InboxError::Closed)?
    }
}

impl Inbox for SqliteInbox {
    async fn store_if_absent(&self, message: NewMessage) -> Result<Stored, InboxError> {
        self.ask(|reply| Op::Store(message, reply)).await
    }

    async fn claim(&self, max: usize, lease: Duration) -> Result<Vec<Claimed>, InboxError> {
        check_claim(max, lease)?;
        self.ask(move |reply| Op::Claim(max, lease, reply)).await
    }

    async fn mark_done(&self, id: u64) -> Result<(), InboxError> {
        self.ask(move |reply| Op::Done(id, reply)).await
    }

    async fn messages(
        &self,
        listing: Listing,
        max: usize,
    ) -> Result<Vec<StoredMessage>, InboxError> {
        self.ask(move |reply| Op::List(listing, max, reply)).await
    }

    async fn prune(&self, done_before: SystemTime) -> Result<u64, InboxError> {
        self.ask(move |reply| Op::Prune(done_before, reply)).await
    }

    async fn last_for_order(&self, order_id: &str) -> Result<Option<StoredMessage>, InboxError> {
        let order_id = order_id.to_owned();
        self.ask(move |reply| Op::LastFor(order_id, reply)).await
    }

    async fn wait_for_new(&self, timeout: Duration) {
        // Stores by this process wake it at once; another process's only
        // when the timeout ends.
        let _ = tokio::time::timeout(timeout, self.stored.notified()).await;
    }

    fn location(&self) -> String {
        self.path.display().to_string()
    }
}

impl From<rusqlite::Error> for InboxError {
    fn from(e: rusqlite::Error) -> Self {
        Self::Database(e.to_string())
    }
}

/// The columns an inbox table has, by name and declared type.
const COLUMNS: &[(&str, &str)] = &[
    ("id", "INTEGER"),
    ("key", "TEXT"),
    ("received_at_ms", "INTEGER"),
    ("body", "BLOB"),
    ("source", "TEXT"),
    ("order_id", "TEXT"),
    ("lease_until_ms", "INTEGER"),
    ("lease_token", "INTEGER"),
    ("claims", "INTEGER"),
    ("done_at_ms", "INTEGER"),
];

fn open_connection(path: &Path) -> Result<Connection, InboxError> {
    let connection = Connection::open(path)
        .map_err(|e| InboxError::Database(format!("opening {}: {e}", path.display())))?;
    connection.busy_timeout(BUSY_TIMEOUT)?;
    connection.pragma_update(None, "journal_mode", "WAL")?;
    // FULL: every commit is on disk (the WAL synced) before it returns.
    connection.pragma_update(None, "synchronous", "FULL")?;
    connection.execute_batch(
        "CREATE TABLE IF NOT EXISTS pandapon_inbox (
             id INTEGER PRIMARY KEY AUTOINCREMENT,
             key TEXT NOT NULL UNIQUE,
             received_at_ms INTEGER NOT NULL,
             body BLOB NOT NULL,
             source TEXT NOT NULL DEFAULT 'push',
             order_id TEXT,
             lease_until_ms INTEGER,
             lease_token INTEGER,
             claims INTEGER NOT NULL DEFAULT 0,
             done_at_ms INTEGER
         );",
    )?;
    check_schema(&connection)?;
    connection.execute_batch(
        "CREATE INDEX IF NOT EXISTS pandapon_inbox_pending
             ON pandapon_inbox (id) WHERE done_at_ms IS NULL;
         CREATE INDEX IF NOT EXISTS pandapon_inbox_order ON pandapon_inbox (order_id, id);",
    )?;
    Ok(connection)
}

/// Fails unless the `pandapon_inbox` table has every column an inbox has.
fn check_schema(connection: &Connection) -> Result<(), InboxError> {
    let mut statement =
        connection.prepare("SELECT name, type FROM pragma_table_info('pandapon_inbox')")?;
    let found: Vec<(String, String)> = statement
        .query_map([], |row| Ok((row.get(0)?, row.get(1)?)))?
        .collect::<Result<_, _>>()?;
    let missing: Vec<String> = COLUMNS
        .iter()
        .filter(|(name, ty)| {
            !found
                .iter()
                .any(|(n, t)| n == name && t.eq_ignore_ascii_case(ty))
        })
        .map(|(name, ty)| format!("{name} {ty}"))
        .collect();
    if missing.is_empty() {
        Ok(())
    } else {
        Err(InboxError::ForeignSchema(format!(
            "its pandapon_inbox table lacks {}",
            missing.join(", ")
        )))
    }
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
    queue: &mpsc::Receiver<Op>,
    stored: &Notify,
    commits: &AtomicU64,
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
                if store_batch(&mut connection, batch) {
                    stored.notify_waiters();
                    stored.notify_one();
                }
                commits.fetch_add(1, Ordering::Relaxed);
            }
            Op::Claim(max, lease, reply) => {
                let _ = reply.send(claim(&mut connection, max, lease));
            }
            Op::List(listing, max, reply) => {
                let _ = reply.send(select(&connection, listing, max));
            }
            Op::LastFor(order_id, reply) => {
                let _ = reply.send(last_for(&connection, &order_id));
            }
            Op::Done(id, reply) => {
                let _ = reply.send(mark_done(&connection, id));
            }
            Op::Prune(before, reply) => {
                let _ = reply.send(prune(&connection, before));
            }
        }
    }
}

/// Stores a batch in one transaction and answers each; true when a new
/// message was stored.
fn store_batch(connection: &mut Connection, batch: Vec<(NewMessage, Reply<Stored>)>) -> bool {
    let stored: Result<Vec<Stored>, InboxError> = (|| {
        let tx = connection.transaction()?;
        let mut stored = Vec::with_capacity(batch.len());
        {
            let mut insert = tx.prepare_cached(
                "INSERT INTO pandapon_inbox (key, received_at_ms, body, source, order_id)
                 VALUES (?1, ?2, ?3, ?4, ?5)
                 ON CONFLICT (key) DO NOTHING",
            )?;
            let mut find = tx.prepare_cached("SELECT id FROM pandapon_inbox WHERE key = ?1")?;
            for (message, _) in &batch {
                let inserted = insert.execute(params![
                    message.key,
                    millis(message.received_at),
                    message.body,
                    message.source.as_str(),
                    message.order_id,
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
            let any_new = stored.iter().any(|s| matches!(s, Stored::New(_)));
            for ((_, reply), stored) in batch.into_iter().zip(stored) {
                let _ = reply.send(Ok(stored));
            }
            any_new
        }
        Err(e) => {
            let text = e.to_string();
            for (_, reply) in batch {
                let _ = reply.send(Err(InboxError::Database(text.clone())));
            }
            false
        }
    }
}

/// The columns [`row`] reads, in its order.
const SELECTED: &str = "id, key, received_at_ms, body, source, order_id, done_at_ms, claims, lease_until_ms, lease_token";

fn row(row: &rusqlite::Row<'_>) -> rusqlite::Result<StoredMessage> {
    Ok(StoredMessage {
        id: u64::try_from(row.get::<_, i64>(0)?).unwrap_or_default(),
        key: row.get(1)?,
        received_at: from_millis(row.get(2)?),
        body: row.get(3)?,
        source: Source::parse(&row.get::<_, String>(4)?),
        order_id: row.get(5)?,
        done: row.get::<_, Option<i64>>(6)?.is_some(),
        claims: u32::try_from(row.get::<_, i64>(7)?).unwrap_or(u32::MAX),
    })
}

fn claim(
    connection: &mut Connection,
    max: usize,
    lease: Duration,
) -> Result<Vec<Claimed>, InboxError> {
    let now = millis(SystemTime::now());
    let until = now.saturating_add(i64::try_from(lease.as_millis()).unwrap_or(i64::MAX));
    let token = new_token();
    let limit = i64::try_from(max).unwrap_or(i64::MAX);
    // One transaction: another process claiming at once waits for it (the
    // busy timeout), then sees these leases.
    let tx = connection.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
    let claimed = {
        let mut statement = tx.prepare_cached(&format!(
            "UPDATE pandapon_inbox
             SET lease_until_ms = ?1, lease_token = ?2, claims = claims + 1
             WHERE id IN (SELECT id FROM pandapon_inbox
                          WHERE done_at_ms IS NULL
                            AND (lease_until_ms IS NULL OR lease_until_ms <= ?3)
                          ORDER BY id LIMIT ?4)
             RETURNING {SELECTED}"
        ))?;
        let rows = statement.query_map(
            params![until, i64::try_from(token).unwrap_or(0), now, limit],
            |r| {
                Ok(Claimed {
                    message: row(r)?,
                    lease: Lease {
                        token,
                        until: from_millis(until),
                    },
                })
            },
        )?;
        rows.collect::<Result<Vec<_>, _>>()?
    };
    tx.commit()?;
    let mut claimed = claimed;
    claimed.sort_by_key(|c| c.message.id);
    Ok(claimed)
}

fn select(
    connection: &Connection,
    listing: Listing,
    max: usize,
) -> Result<Vec<StoredMessage>, InboxError> {
    let filter = match listing {
        Listing::Pending => "WHERE done_at_ms IS NULL",
        Listing::All => "",
    };
    let limit = i64::try_from(max).unwrap_or(i64::MAX);
    let mut statement = connection.prepare_cached(&format!(
        "SELECT {SELECTED} FROM pandapon_inbox {filter} ORDER BY id LIMIT ?1"
    ))?;
    let rows = statement.query_map(params![limit], row)?;
    Ok(rows.collect::<Result<_, _>>()?)
}

fn last_for(connection: &Connection, order_id: &str) -> Result<Option<StoredMessage>, InboxError> {
    let mut statement = connection.prepare_cached(&format!(
        "SELECT {SELECTED} FROM pandapon_inbox WHERE order_id = ?1 ORDER BY id DESC LIMIT 1"
    ))?;
    Ok(statement.query_row(params![order_id], row).optional()?)
}

fn mark_done(connection: &Connection, id: u64) -> Result<(), InboxError> {
    let row = i64::try_from(id).map_err(|_| InboxError::NoSuchMessage(id))?;
    let changed = connection.execute(
        "UPDATE pandapon_inbox SET done_at_ms = ?1 WHERE id = ?2 AND done_at_ms IS NULL",
        params![millis(SystemTime::now()), row],
    )?;
    if changed == 0 {
        let exists: Option<i64> = connection
            .query_row(
                "SELECT id FROM pandapon_inbox WHERE id = ?1",
                params![row],
                |r| r.get(0),
            )
            .optional()?;
        if exists.is_none() {
            return Err(InboxError::NoSuchMessage(id));
        }
    }
    Ok(())
}

fn prune(connection: &Connection, before: SystemTime) -> Result<u64, InboxError> {
    let removed = connection.execute(
        "DELETE FROM pandapon_inbox WHERE done_at_ms IS NOT NULL AND done_at_ms < ?1",
        params![millis(before)],
    )?;
    Ok(u64::try_from(removed).unwrap_or(u64::MAX))
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
        let pending = inbox.messages(Listing::Pending, 10).await.expect("pending");
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
        let pending = inbox.messages(Listing::Pending, 10).await.expect("pending");
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
        assert_eq!(
            inbox
                .messages(Listing::Pending, 100)
                .await
                .expect("pending")
                .len(),
            49
        );
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
        other
            .busy_timeout(Duration::from_secs(10))
            .expect("busy timeout");
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

    #[tokio::test]
    async fn a_claim_hands_each_message_to_one_claimer_until_its_lease_ends() {
        let inbox = SqliteInbox::open(temp("claims")).expect("opens");
        for i in 0..5 {
            inbox
                .store_if_absent(NewMessage::new(format!("k{i}"), b"m".to_vec()))
                .await
                .expect("stored");
        }
        let first = inbox
            .claim(3, Duration::from_secs(60))
            .await
            .expect("claim");
        let second = inbox
            .claim(3, Duration::from_secs(60))
            .await
            .expect("claim");
        let ids = |c: &[Claimed]| c.iter().map(|c| c.message.id).collect::<Vec<_>>();
        assert_eq!(ids(&first), [1, 2, 3]);
        assert_eq!(ids(&second), [4, 5], "the first three are leased");
        assert!(
            inbox
                .claim(3, Duration::from_secs(60))
                .await
                .expect("claim")
                .is_empty()
        );
        assert_ne!(first[0].lease.token, second[0].lease.token);
        assert_eq!(first[0].message.claims, 1);
        // Done: never handed out again, whatever the lease.
        inbox.mark_done(1).await.expect("done");
        // A lease that has run out: claimed again, under another token.
        let short = SqliteInbox::open(temp("short")).expect("opens");
        short
            .store_if_absent(NewMessage::new("k", b"m".to_vec()))
            .await
            .expect("stored");
        let a = short
            .claim(1, Duration::from_millis(1))
            .await
            .expect("claim");
        let mut b = Vec::new();
        while b.is_empty() {
            // The lease is a millisecond; the next claim after it ends
            // gets the message (each try is a round trip to the thread).
            b = short
                .claim(1, Duration::from_secs(60))
                .await
                .expect("claim");
        }
        assert_eq!((a[0].message.id, b[0].message.id), (1, 1));
        assert_ne!(a[0].lease.token, b[0].lease.token);
        assert_eq!(b[0].message.claims, 2);
    }

    #[tokio::test]
    async fn bad_claims_are_refused() {
        let inbox = SqliteInbox::open(temp("bad-claims")).expect("opens");
        for (max, lease) in [(0, Duration::from_secs(1)), (1, Duration::ZERO)] {
            assert!(matches!(
                inbox.claim(max, lease).await,
                Err(InboxError::Invalid(_))
            ));
        }
    }

    #[tokio::test]
    async fn done_messages_are_pruned_after_the_resend_window_and_not_before() {
        let inbox = SqliteInbox::open(temp("prune")).expect("opens");
        for i in 0..3 {
            inbox
                .store_if_absent(NewMessage::new(format!("k{i}"), b"m".to_vec()))
                .await
                .expect("stored");
        }
        inbox.mark_done(1).await.expect("done");
        inbox.mark_done(2).await.expect("done");
        let refused = super::super::prune_older_than(&inbox, Duration::from_secs(60)).await;
        assert!(
            matches!(refused, Err(InboxError::Invalid(_))),
            "{refused:?}"
        );
        assert_eq!(
            super::super::prune_older_than(&inbox, super::super::RESEND_WINDOW)
                .await
                .expect("prune"),
            0,
            "done just now: kept"
        );
        // Done before a moment from now: both go, the pending one stays.
        let later = SystemTime::now() + Duration::from_secs(1);
        assert_eq!(inbox.prune(later).await.expect("prune"), 2);
        let left = inbox.all().await.expect("all");
        assert_eq!(left.len(), 1);
        assert!(!left[0].done);
    }

    #[tokio::test]
    async fn the_last_message_about_an_order_is_found_by_its_id() {
        let inbox = SqliteInbox::open(temp("orders")).expect("opens");
        for (key, order) in [
            ("a", Some("1")),
            ("b", Some("2")),
            ("c", Some("1")),
            ("d", None),
        ] {
            inbox
                .store_if_absent(
                    NewMessage::new(key, key.as_bytes().to_vec())
                        .about(order.map(str::to_owned))
                        .from_source(Source::Reconcile),
                )
                .await
                .expect("stored");
        }
        let last = inbox
            .last_for_order("1")
            .await
            .expect("read")
            .expect("found");
        assert_eq!((last.key.as_str(), last.source), ("c", Source::Reconcile));
        assert!(inbox.last_for_order("3").await.expect("read").is_none());
    }

    #[test]
    fn a_missing_file_or_a_foreign_table_is_not_taken_for_an_inbox() {
        let missing = temp("missing");
        assert!(matches!(
            SqliteInbox::open_existing(&missing),
            Err(InboxError::Missing(_))
        ));
        assert!(!missing.exists(), "nothing made");
        let foreign = temp("foreign");
        Connection::open(&foreign)
            .expect("file")
            .execute_batch("CREATE TABLE pandapon_inbox (id INTEGER PRIMARY KEY, note TEXT);")
            .expect("another program's table");
        let err = SqliteInbox::open_existing(&foreign).expect_err("foreign");
        assert!(
            matches!(&err, InboxError::ForeignSchema(m) if m.contains("key TEXT")),
            "{err}"
        );
    }

    #[tokio::test]
    async fn a_store_wakes_a_waiting_worker_of_the_same_process() {
        let inbox = SqliteInbox::open(temp("wake")).expect("opens");
        let waiter = {
            let inbox = inbox.clone();
            tokio::spawn(async move { inbox.wait_for_new(Duration::from_secs(600)).await })
        };
        tokio::task::yield_now().await;
        inbox
            .store_if_absent(NewMessage::new("k", b"m".to_vec()))
            .await
            .expect("stored");
        // Woken by the store: the wait's own timeout is ten minutes.
        tokio::time::timeout(Duration::from_secs(60), waiter)
            .await
            .expect("woken by the store")
            .expect("joined");
    }
}
