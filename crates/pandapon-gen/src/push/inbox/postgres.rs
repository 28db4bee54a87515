//! The inbox receivers on several hosts share: one PostgreSQL table.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use deadpool_postgres::{Manager, ManagerConfig, Pool, RecyclingMethod};
use tokio::sync::Notify;
use tokio_postgres::{AsyncMessage, NoTls, Row};

use super::{
    Claimed, Inbox, InboxError, Lease, Listing, NewMessage, Source, Stored, StoredMessage,
    check_claim, new_token,
};

/// The inbox for receivers on several hosts: one PostgreSQL table that every
/// receiver stores into and every worker claims from (the `postgres`
/// feature).
///
/// - **Stored once across the fleet.** The dedupe key is the table's unique
///   key, so a message PandaPon re-sends to another receiver is a duplicate
///   there too.
/// - **Durable before the 200.** Each store is committed (PostgreSQL's
///   default `synchronous_commit = on` syncs the WAL) before
///   `store_if_absent` resolves.
/// - **Each message to one worker at a time.** A claim takes the oldest
///   messages that are neither done nor leased, with `FOR UPDATE SKIP
///   LOCKED`, and leases them by the database's clock, so workers on
///   several hosts neither wait on each other nor get the same message.
/// - **Workers wake on new messages.** Each store sends `NOTIFY
///   pandapon_inbox`; [`Inbox::wait_for_new`] listens on a connection of
///   its own (and still wakes after its timeout if the listener is down).
/// - **Outages pass.** Connections come from a pool (deadpool-postgres)
///   that replaces broken ones: while the database is down, each call fails
///   with [`InboxError::Database`] (a receiver answers 503, so PandaPon
///   sends again), and once it is back the same process stores again.
///
/// Why tokio-postgres with deadpool rather than sqlx: the inbox runs a
/// handful of fixed statements, so sqlx's query macros (and the database
/// they need at build time) buy nothing; tokio-postgres is the driver sqlx
/// itself competes with, with `LISTEN` notifications on its connection
/// type, and deadpool the small pool it is usually paired with. The
/// connections are plain TCP (`NoTls`): run it next to its database, or
/// tunnel (a TLS connector would be a dependency every user pays for).
///
/// Its schema, made when missing (concurrent receivers starting at once
/// take an advisory lock, so only one makes it):
///
/// ```sql
/// CREATE TABLE pandapon_inbox (
///     id          BIGSERIAL PRIMARY KEY,
///     key         TEXT NOT NULL UNIQUE,            -- PushEvent::dedupe_key
///     received_at TIMESTAMPTZ NOT NULL,
///     body        BYTEA NOT NULL,                  -- the message as received
///     source      TEXT NOT NULL DEFAULT 'push',    -- or 'reconcile'
///     order_id    TEXT,                            -- the order or refund it names
///     lease_until TIMESTAMPTZ,                     -- claimed until
///     lease_token BIGINT,
///     claims      INTEGER NOT NULL DEFAULT 0,
///     done_at     TIMESTAMPTZ
/// );
/// CREATE INDEX pandapon_inbox_pending ON pandapon_inbox (id) WHERE done_at IS NULL;
/// CREATE INDEX pandapon_inbox_order ON pandapon_inbox (order_id, id);
/// ```
///
/// A claim is one statement:
///
/// ```sql
/// UPDATE pandapon_inbox
/// SET lease_until = now() + $2 * interval '1 millisecond', lease_token = $3, claims = claims + 1
/// WHERE id IN (SELECT id FROM pandapon_inbox
///              WHERE done_at IS NULL AND (lease_until IS NULL OR lease_until <= now())
///              ORDER BY id LIMIT $1 FOR UPDATE SKIP LOCKED)
/// RETURNING …;
/// ```
#[derive(Clone)]
pub struct PostgresInbox {
    pool: Pool,
    /// Wakes [`Inbox::wait_for_new`]: fed by the listener task.
    notified: Arc<Notify>,
    /// The URL without its password, for log lines.
    location: String,
    /// Stops the listener task when the last handle is dropped.
    _listener: Arc<ListenerGuard>,
}

impl std::fmt::Debug for PostgresInbox {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PostgresInbox")
            .field("location", &self.location)
            .finish_non_exhaustive()
    }
}

/// Aborts the listener task on drop.
struct ListenerGuard(tokio::task::AbortHandle);

impl Drop for ListenerGuard {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// The channel stores notify on.
const CHANNEL: &str = "pandapon_inbox";

/// The columns an inbox table has, by name and type (as
/// `information_schema.columns.data_type` names them).
const COLUMNS: &[(&str, &str)] = &[
    ("id", "bigint"),
    ("key", "text"),
    ("received_at", "timestamp with time zone"),
    ("body", "bytea"),
    ("source", "text"),
    ("order_id", "text"),
    ("lease_until", "timestamp with time zone"),
    ("lease_token", "bigint"),
    ("claims", "integer"),
    ("done_at", "timestamp with time zone"),
];

/// The columns [`row`] reads, in its order.
const SELECTED: &str =
    "id, key, received_at, body, source, order_id, done_at, claims, lease_until, lease_token";

impl PostgresInbox {
    /// Connects to the database at `url` (`postgres://user:password@host:port/db`)
    /// and makes the inbox's table if it is missing.
    ///
    /// # Errors
    ///
    /// [`InboxError::Invalid`] for a URL that is not a PostgreSQL URL,
    /// [`InboxError::Database`] when the database cannot be reached or the
    /// table cannot be made, and [`InboxError::ForeignSchema`] when a
    /// `pandapon_inbox` table exists that is not an inbox.
    pub async fn connect(url: &str) -> Result<Self, InboxError> {
        let config: tokio_postgres::Config = url.parse().map_err(|e| {
            InboxError::Invalid(format!("{} is not a PostgreSQL URL: {e}", redact(url)))
        })?;
        if config.get_hosts().is_empty() {
            return Err(InboxError::Invalid(format!(
                "{} names no host",
                redact(url)
            )));
        }
        let location = redact(url);
        let manager = Manager::from_config(
            config.clone(),
            NoTls,
            ManagerConfig {
                recycling_method: RecyclingMethod::Fast,
            },
        );
        let pool = Pool::builder(manager)
            .max_size(16)
            .wait_timeout(Some(Duration::from_secs(5)))
            .create_timeout(Some(Duration::from_secs(5)))
            .runtime(deadpool_postgres::Runtime::Tokio1)
            .build()
            .map_err(|e| InboxError::Database(format!("{location}: {e}")))?;
        let inbox_location = location.clone();
        let notified = Arc::new(Notify::new());
        let listener = tokio::spawn(listen(config, Arc::clone(&notified)));
        let inbox = Self {
            pool,
            notified,
            location: inbox_location,
            _listener: Arc::new(ListenerGuard(listener.abort_handle())),
        };
        inbox.create().await?;
        Ok(inbox)
    }

    async fn client(&self) -> Result<deadpool_postgres::Object, InboxError> {
        self.pool
            .get()
            .await
            .map_err(|e| InboxError::Database(format!("{}: {e}", self.location)))
    }

    /// Makes the table and its indexes if they are missing, then checks
    /// the table is an inbox.
    async fn create(&self) -> Result<(), InboxError> {
        let mut client = self.client().await?;
        let tx = client.transaction().await.map_err(db)?;
        // One receiver at a time: CREATE … IF NOT EXISTS races with itself.
        tx.execute(
            "SELECT pg_advisory_xact_lock(hashtext('pandapon_inbox'))",
            &[],
        )
        .await
        .map_err(db)?;
        tx.batch_execute(
            "CREATE TABLE IF NOT EXISTS pandapon_inbox (
                 id BIGSERIAL PRIMARY KEY,
                 key TEXT NOT NULL UNIQUE,
                 received_at TIMESTAMPTZ NOT NULL,
                 body BYTEA NOT NULL,
                 source TEXT NOT NULL DEFAULT 'push',
                 order_id TEXT,
                 lease_until TIMESTAMPTZ,
                 lease_token BIGINT,
                 claims INTEGER NOT NULL DEFAULT 0,
                 done_at TIMESTAMPTZ
             )",
        )
        .await
        .map_err(db)?;
        let found = tx
            .query(
                "SELECT column_name::text, data_type::text FROM information_schema.columns
                 WHERE table_schema = current_schema() AND table_name = 'pandapon_inbox'",
                &[],
            )
            .await
            .map_err(db)?;
        let missing: Vec<String> = COLUMNS
            .iter()
            .filter(|(name, ty)| {
                !found
                    .iter()
                    .any(|r| r.get::<_, String>(0) == *name && r.get::<_, String>(1) == *ty)
            })
            .map(|(name, ty)| format!("{name} {ty}"))
            .collect();
        if !missing.is_empty() {
            return Err(InboxError::ForeignSchema(format!(
                "the pandapon_inbox table at {} lacks {}",
                self.location,
                missing.join(", ")
            )));
        }
        tx.batch_execute(
            "CREATE INDEX IF NOT EXISTS pandapon_inbox_pending
                 ON pandapon_inbox (id) WHERE done_at IS NULL;
             CREATE INDEX IF NOT EXISTS pandapon_inbox_order ON pandapon_inbox (order_id, id);",
        )
        .await
        .map_err(db)?;
        tx.commit().await.map_err(db)
    }
}

/// A database error, as the inbox reports it.
fn db(e: tokio_postgres::Error) -> InboxError {
    InboxError::Database(match e.as_db_error() {
        Some(db) => format!("{}: {}", db.code().code(), db.message()),
        None => e.to_string(),
    })
}

/// `url` without its password.
fn redact(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return "a PostgreSQL URL".to_owned();
    };
    let (authority, tail) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
    let host = match authority.rsplit_once('@') {
        Some((user, host)) => {
            let user = user.split(':').next().unwrap_or("");
            format!("{user}@{host}")
        }
        None => authority.to_owned(),
    };
    let tail = tail.split('?').next().unwrap_or("");
    crate::escape_controls(&format!("{scheme}://{host}{tail}")).into_owned()
}

fn row(row: &Row) -> StoredMessage {
    StoredMessage {
        id: u64::try_from(row.get::<_, i64>(0)).unwrap_or_default(),
        key: row.get(1),
        received_at: row.get(2),
        body: row.get(3),
        source: Source::parse(row.get(4)),
        order_id: row.get(5),
        done: row.get::<_, Option<SystemTime>>(6).is_some(),
        claims: u32::try_from(row.get::<_, i32>(7)).unwrap_or_default(),
    }
}

/// Why a query failed: no connection from the pool, or the query itself.
enum Failure {
    Pool(InboxError),
    Query(tokio_postgres::Error),
}

impl From<InboxError> for Failure {
    fn from(e: InboxError) -> Self {
        Self::Pool(e)
    }
}

impl From<tokio_postgres::Error> for Failure {
    fn from(e: tokio_postgres::Error) -> Self {
        Self::Query(e)
    }
}

impl From<Failure> for InboxError {
    fn from(f: Failure) -> Self {
        match f {
            Failure::Pool(e) => e,
            Failure::Query(e) => db(e),
        }
    }
}

/// Whether `result` failed on a broken connection rather than in the
/// database (no database error came back): after an outage the pool may
/// hand out a connection that was cut before it noticed, so the operation
/// is worth one more try. The operations tried again are idempotent (a
/// store is keyed, marking done twice is once, a claim whose answer was
/// lost leaves its messages leased until the lease ends).
fn broken<T>(result: &Result<T, Failure>) -> bool {
    matches!(result, Err(Failure::Query(e)) if e.as_db_error().is_none())
}

impl PostgresInbox {
    async fn store_once(&self, message: &NewMessage) -> Result<Stored, Failure> {
        let mut client = self.client().await?;
        let tx = client.transaction().await?;
        // On disk before the receiver answers 200, whatever the server's,
        // the database's or the role's default (`off` is a common tuning).
        tx.batch_execute("SET LOCAL synchronous_commit = on")
            .await?;
        let inserted = tx
            .query_opt(
                "INSERT INTO pandapon_inbox (key, received_at, body, source, order_id)
                 VALUES ($1, $2, $3, $4, $5)
                 ON CONFLICT (key) DO NOTHING RETURNING id",
                &[
                    &message.key,
                    &message.received_at,
                    &message.body,
                    &message.source.as_str(),
                    &message.order_id,
                ],
            )
            .await?;
        let stored = match inserted {
            Some(r) => {
                tx.execute("SELECT pg_notify($1, '')", &[&CHANNEL]).await?;
                Stored::New(u64::try_from(r.get::<_, i64>(0)).unwrap_or_default())
            }
            None => {
                let r = tx
                    .query_one(
                        "SELECT id FROM pandapon_inbox WHERE key = $1",
                        &[&message.key],
                    )
                    .await?;
                Stored::Duplicate(u64::try_from(r.get::<_, i64>(0)).unwrap_or_default())
            }
        };
        // Synchronous commit (set above): on disk when this returns.
        tx.commit().await?;
        Ok(stored)
    }

    async fn mark_done_once(&self, row_id: i64) -> Result<Option<Row>, Failure> {
        let client = self.client().await?;
        Ok(client
            .query_opt(
                "UPDATE pandapon_inbox SET done_at = COALESCE(done_at, now())
                 WHERE id = $1 RETURNING id",
                &[&row_id],
            )
            .await?)
    }

    async fn claim_once(&self, max: usize, lease: Duration) -> Result<Vec<Claimed>, Failure> {
        let client = self.client().await?;
        let token = new_token();
        let rows = client
            .query(
                &format!(
                    "UPDATE pandapon_inbox
                     SET lease_until = now() + $2 * interval '1 millisecond',
                         lease_token = $3, claims = claims + 1
                     WHERE id IN (SELECT id FROM pandapon_inbox
                                  WHERE done_at IS NULL
                                    AND (lease_until IS NULL OR lease_until <= now())
                                  ORDER BY id LIMIT $1 FOR UPDATE SKIP LOCKED)
                     RETURNING {SELECTED}"
                ),
                &[
                    &i64::try_from(max).unwrap_or(i64::MAX),
                    &(lease.as_millis() as f64),
                    &i64::try_from(token).unwrap_or(0),
                ],
            )
            .await?;
        let mut claimed: Vec<Claimed> = rows
            .iter()
            .map(|r| Claimed {
                message: row(r),
                lease: Lease {
                    token,
                    until: r.get(8),
                },
            })
            .collect();
        claimed.sort_by_key(|c| c.message.id);
        Ok(claimed)
    }
}

impl Inbox for PostgresInbox {
    async fn store_if_absent(&self, message: NewMessage) -> Result<Stored, InboxError> {
        let first = self.store_once(&message).await;
        if broken(&first) {
            return Ok(self.store_once(&message).await?);
        }
        Ok(first?)
    }

    async fn claim(&self, max: usize, lease: Duration) -> Result<Vec<Claimed>, InboxError> {
        check_claim(max, lease)?;
        let first = self.claim_once(max, lease).await;
        if broken(&first) {
            return Ok(self.claim_once(max, lease).await?);
        }
        Ok(first?)
    }

    async fn mark_done(&self, id: u64) -> Result<(), InboxError> {
        let row_id = i64::try_from(id).map_err(|_| InboxError::NoSuchMessage(id))?;
        let mut found = self.mark_done_once(row_id).await;
        if broken(&found) {
            found = self.mark_done_once(row_id).await;
        }
        match found? {
            Some(_) => Ok(()),
            None => Err(InboxError::NoSuchMessage(id)),
        }
    }

    async fn messages(
        &self,
        listing: Listing,
        max: usize,
    ) -> Result<Vec<StoredMessage>, InboxError> {
        let filter = match listing {
            Listing::Pending => "WHERE done_at IS NULL",
            Listing::All => "",
        };
        let client = self.client().await?;
        let rows = client
            .query(
                &format!("SELECT {SELECTED} FROM pandapon_inbox {filter} ORDER BY id LIMIT $1"),
                &[&i64::try_from(max).unwrap_or(i64::MAX)],
            )
            .await
            .map_err(db)?;
        Ok(rows.iter().map(row).collect())
    }

    async fn prune(&self, done_before: SystemTime) -> Result<u64, InboxError> {
        let client = self.client().await?;
        client
            .execute(
                "DELETE FROM pandapon_inbox WHERE done_at IS NOT NULL AND done_at < $1",
                &[&done_before],
            )
            .await
            .map_err(db)
    }

    async fn last_for_order(&self, order_id: &str) -> Result<Option<StoredMessage>, InboxError> {
        let client = self.client().await?;
        let found = client
            .query_opt(
                &format!(
                    "SELECT {SELECTED} FROM pandapon_inbox WHERE order_id = $1
                     ORDER BY id DESC LIMIT 1"
                ),
                &[&order_id],
            )
            .await
            .map_err(db)?;
        Ok(found.as_ref().map(row))
    }

    async fn wait_for_new(&self, timeout: Duration) {
        let _ = tokio::time::timeout(timeout, self.notified.notified()).await;
    }

    fn location(&self) -> String {
        self.location.clone()
    }
}

/// Listens for stores on a connection of its own, and wakes a waiting
/// worker for each; reconnects after a second when the connection fails.
async fn listen(config: tokio_postgres::Config, notified: Arc<Notify>) {
    loop {
        if let Ok((client, mut connection)) = config.connect(NoTls).await {
            let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
            // The connection's messages, notifications among them, come
            // from polling it.
            let driver = tokio::spawn(async move {
                while let Some(message) =
                    std::future::poll_fn(|cx| connection.poll_message(cx)).await
                {
                    match message {
                        Ok(AsyncMessage::Notification(_)) => {
                            if tx.send(()).is_err() {
                                return;
                            }
                        }
                        Ok(_) => {}
                        Err(_) => return,
                    }
                }
            });
            if client
                .batch_execute(&format!("LISTEN {CHANNEL}"))
                .await
                .is_ok()
            {
                // A store may have come while no one listened.
                notified.notify_one();
                while rx.recv().await.is_some() {
                    notified.notify_one();
                }
            }
            driver.abort();
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_are_logged_without_their_password() {
        assert_eq!(
            redact("postgres://app:s3cret@db.internal:5432/orders?sslmode=disable"),
            "postgres://app@db.internal:5432/orders"
        );
        assert_eq!(redact("postgres://localhost/db"), "postgres://localhost/db");
        assert_eq!(redact("nonsense"), "a PostgreSQL URL");
    }
}
