//! The PostgreSQL inbox against a real server (`.ci/run` starts one; see
//! `tests/src/postgres.rs`): stored once across receivers, claimed by one
//! worker at a time, woken by `NOTIFY`, through an outage and back, and
//! refusing what it cannot use.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use pandapon_gen::push::inbox::{
    AnyInbox, Inbox, InboxError, Listing, NewMessage, PostgresInbox, Source, Stored,
};
use pandapon_tests::postgres::{Switch, fresh_database, host_port, server, through};

/// A fresh database for `test`, or `None` when no server is configured.
async fn database(test: &str) -> Option<String> {
    match server(test) {
        Some(server) => Some(fresh_database(&server, test).await),
        None => None,
    }
}

/// Each message's handlings: the worker and the lease token.
type Handlings = BTreeMap<u64, Vec<(usize, u64)>>;

fn message(n: usize) -> NewMessage {
    NewMessage::new(format!("k{n}"), format!("m{n}").into_bytes())
        .about(Some(format!("o{}", n % 3)))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn receivers_on_two_hosts_store_each_message_once() {
    let Some(url) = database("store_once").await else {
        return;
    };
    // Two inboxes, two pools: two receivers' hosts.
    let a = PostgresInbox::connect(&url).await.expect("connects");
    let b = PostgresInbox::connect(&url).await.expect("connects");
    let mut tasks = Vec::new();
    for n in 0..200 {
        // Every message to both, as PandaPon's re-sends land anywhere.
        for inbox in [a.clone(), b.clone()] {
            tasks.push(tokio::spawn(async move {
                inbox.store_if_absent(message(n)).await
            }));
        }
    }
    let mut new = 0;
    for task in tasks {
        if let Stored::New(_) = task.await.expect("joined").expect("stored") {
            new += 1;
        }
    }
    assert_eq!(new, 200, "each key stored once across both");
    let all = a.messages(Listing::All, usize::MAX).await.expect("read");
    assert_eq!(all.len(), 200);
    let keys: BTreeSet<&str> = all.iter().map(|m| m.key.as_str()).collect();
    assert_eq!(keys.len(), 200);
    // The newest about an order is the one with the highest id.
    let newest = all
        .iter()
        .filter(|m| m.order_id.as_deref() == Some("o1"))
        .map(|m| m.id)
        .max();
    let last = b.last_for_order("o1").await.expect("read").expect("found");
    assert_eq!(Some(last.id), newest);
    assert_eq!(last.source, Source::Push);
}

/// A stored message is committed synchronously (on disk before the
/// receiver answers 200) even where the database's default is
/// `synchronous_commit = off`: a trigger records the setting each insert
/// ran under.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_store_commits_synchronously_whatever_the_default() {
    let Some(url) = database("sync_commit").await else {
        return;
    };
    let connect = || async {
        let (client, connection) = tokio_postgres::connect(&url, tokio_postgres::NoTls)
            .await
            .expect("connects");
        tokio::spawn(connection);
        client
    };
    let admin = connect().await;
    let name: String = admin
        .query_one("SELECT current_database()", &[])
        .await
        .expect("its name")
        .get(0);
    admin
        .batch_execute(&format!(
            "ALTER DATABASE {name} SET synchronous_commit = off"
        ))
        .await
        .expect("the default off");
    let session = connect().await;
    let default: String = session
        .query_one("SHOW synchronous_commit", &[])
        .await
        .expect("shown")
        .get(0);
    assert_eq!(default, "off", "a new session takes the database's default");

    let inbox = PostgresInbox::connect(&url).await.expect("connects");
    admin
        .batch_execute(
            "CREATE TABLE commit_modes (mode text);
             CREATE FUNCTION record_commit_mode() RETURNS trigger LANGUAGE plpgsql AS $$
             BEGIN
                 INSERT INTO commit_modes VALUES (current_setting('synchronous_commit'));
                 RETURN NEW;
             END $$;
             CREATE TRIGGER record_commit_mode AFTER INSERT ON pandapon_inbox
                 FOR EACH ROW EXECUTE FUNCTION record_commit_mode();",
        )
        .await
        .expect("the trigger");
    for n in 0..3 {
        inbox.store_if_absent(message(n)).await.expect("stored");
    }
    let modes: Vec<String> = admin
        .query("SELECT mode FROM commit_modes", &[])
        .await
        .expect("read")
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert_eq!(modes, ["on", "on", "on"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn claims_from_four_workers_never_share_a_live_lease() {
    let Some(url) = database("claims").await else {
        return;
    };
    let inbox = PostgresInbox::connect(&url).await.expect("connects");
    for n in 0..100 {
        inbox.store_if_absent(message(n)).await.expect("stored");
    }
    let handled: Arc<Mutex<Handlings>> = Arc::default();
    let mut workers = Vec::new();
    for worker in 0..4 {
        let inbox = PostgresInbox::connect(&url).await.expect("connects");
        let handled = handled.clone();
        workers.push(tokio::spawn(async move {
            loop {
                let claimed = inbox
                    .claim(5, Duration::from_secs(60))
                    .await
                    .expect("claim");
                if claimed.is_empty() {
                    return;
                }
                for c in claimed {
                    handled
                        .lock()
                        .expect("lock")
                        .entry(c.message.id)
                        .or_default()
                        .push((worker, c.lease.token));
                    inbox.mark_done(c.message.id).await.expect("done");
                }
            }
        }));
    }
    for worker in workers {
        worker.await.expect("worker");
    }
    let handled = handled.lock().expect("lock").clone();
    assert_eq!(handled.len(), 100, "every message handled");
    assert!(
        handled.values().all(|h| h.len() == 1),
        "a message handled twice: {handled:?}"
    );
    let workers: BTreeSet<usize> = handled.values().map(|h| h[0].0).collect();
    assert!(workers.len() > 1, "the work was split: {workers:?}");
    assert!(
        inbox
            .messages(Listing::Pending, 10)
            .await
            .expect("read")
            .is_empty()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lease_that_runs_out_is_claimed_again_under_another_token() {
    let Some(url) = database("lease").await else {
        return;
    };
    let inbox = PostgresInbox::connect(&url).await.expect("connects");
    inbox.store_if_absent(message(1)).await.expect("stored");
    let first = inbox
        .claim(1, Duration::from_millis(1))
        .await
        .expect("claim");
    assert_eq!(first.len(), 1);
    let mut again = Vec::new();
    while again.is_empty() {
        // The database's clock ends the millisecond lease.
        again = inbox
            .claim(1, Duration::from_secs(60))
            .await
            .expect("claim");
    }
    assert_eq!(again[0].message.id, first[0].message.id);
    assert_ne!(again[0].lease.token, first[0].lease.token);
    assert_eq!(again[0].message.claims, 2);
    assert!(
        inbox
            .claim(1, Duration::from_secs(60))
            .await
            .expect("claim")
            .is_empty(),
        "held by the live lease"
    );
    inbox.mark_done(again[0].message.id).await.expect("done");
    inbox
        .mark_done(again[0].message.id)
        .await
        .expect("twice is fine");
    assert!(matches!(
        inbox.mark_done(999).await,
        Err(InboxError::NoSuchMessage(999))
    ));
    // Done long enough ago: pruned, key and all.
    let later = std::time::SystemTime::now() + Duration::from_secs(60);
    assert_eq!(inbox.prune(later).await.expect("prune"), 1);
    assert!(
        inbox
            .messages(Listing::All, 10)
            .await
            .expect("read")
            .is_empty()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_store_on_one_host_wakes_a_worker_on_another() {
    let Some(url) = database("notify").await else {
        return;
    };
    let worker = PostgresInbox::connect(&url).await.expect("connects");
    let receiver = PostgresInbox::connect(&url).await.expect("connects");
    // The listener wakes one wait when its LISTEN is in place: after this,
    // every store is heard.
    tokio::time::timeout(
        Duration::from_secs(60),
        worker.wait_for_new(Duration::from_secs(600)),
    )
    .await
    .expect("the listener connects");
    let waiting = {
        let worker = worker.clone();
        tokio::spawn(async move { worker.wait_for_new(Duration::from_secs(600)).await })
    };
    receiver.store_if_absent(message(1)).await.expect("stored");
    // Its own timeout is ten minutes: only the store's NOTIFY ends it here.
    tokio::time::timeout(Duration::from_secs(60), waiting)
        .await
        .expect("woken by a store on another host")
        .expect("joined");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn through_an_outage_stores_fail_and_then_succeed_without_a_restart() {
    let Some(url) = database("outage").await else {
        return;
    };
    let switch = Switch::start(host_port(&url)).await;
    let inbox = PostgresInbox::connect(&through(&url, switch.addr))
        .await
        .expect("connects");
    inbox.store_if_absent(message(1)).await.expect("stored");
    switch.off();
    let failed = inbox.store_if_absent(message(2)).await;
    assert!(matches!(failed, Err(InboxError::Database(_))), "{failed:?}");
    assert!(matches!(
        inbox.claim(1, Duration::from_secs(1)).await,
        Err(InboxError::Database(_))
    ));
    switch.on();
    // The pool replaces its broken connections: the same inbox stores
    // again, at the first try.
    let stored = inbox.store_if_absent(message(2)).await;
    assert!(matches!(stored, Ok(Stored::New(_))), "{stored:?}");
    let claimed = inbox.claim(1, Duration::from_secs(1)).await;
    assert!(matches!(&claimed, Ok(c) if c.len() == 1), "{claimed:?}");
    assert_eq!(
        inbox.messages(Listing::All, 10).await.expect("read").len(),
        2
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn what_the_inbox_cannot_use_is_refused_clearly() {
    let Some(url) = database("refusals").await else {
        return;
    };
    for bad in ["postgres://", "postgres://user@host:notaport/db"] {
        let err = PostgresInbox::connect(bad).await.expect_err(bad);
        assert!(matches!(err, InboxError::Invalid(_)), "{bad}: {err}");
    }
    let err = AnyInbox::open("mysql://localhost/db", true)
        .await
        .expect_err("not ours");
    assert!(matches!(err, InboxError::Invalid(_)), "{err}");
    let inbox = PostgresInbox::connect(&url).await.expect("connects");
    for (max, lease) in [(0, Duration::from_secs(1)), (1, Duration::ZERO)] {
        assert!(matches!(
            inbox.claim(max, lease).await,
            Err(InboxError::Invalid(_))
        ));
    }
    // Another program's table of the same name.
    let (client, connection) = tokio_postgres::connect(&url, tokio_postgres::NoTls)
        .await
        .expect("connects");
    tokio::spawn(connection);
    client
        .batch_execute(
            "CREATE SCHEMA other; CREATE TABLE other.pandapon_inbox (id BIGINT, note TEXT);",
        )
        .await
        .expect("a foreign table");
    let foreign = format!("{url}?options=-csearch_path%3Dother");
    let err = PostgresInbox::connect(&foreign)
        .await
        .expect_err("foreign schema");
    assert!(
        matches!(&err, InboxError::ForeignSchema(m) if m.contains("key text")),
        "{err}"
    );
    // The password never shows in a location.
    assert!(!inbox.location().contains("password"));
}
