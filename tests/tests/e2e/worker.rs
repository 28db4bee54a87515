//! The worker loop (`push::worker::Worker`) on both inboxes: two workers
//! split one inbox, each message handled once; a handler that fails gets
//! its message again once the lease ends; one that panics does not stop the
//! loop; a message whose batch's lease ran out before its turn is left for
//! the next claim; bytes that are not an order message are set aside; bad
//! settings are refused.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use pandapon_gen::push::inbox::{
    Inbox, InboxError, Listing, NewMessage, PostgresInbox, SqliteInbox,
};
use pandapon_gen::push::worker::{Worked, Worker};
use pandapon_tests::postgres::{fresh_database, server};

const MESSAGES: u64 = 40;
/// The message whose first handling fails.
const FAILS_ONCE: u64 = 7;

fn order_message(n: u64) -> NewMessage {
    let body = format!(
        r#"{{"messageType":"ORDER_PAY_SUCCESS","messageBody":"{{\"orderId\":\"{}\",\"orderStatus\":\"WAITING_FOR_SENT\"}}","messagePlatform":1,"timestamp":"1779263269913"}}"#,
        2_542_285_634_920_000_000_u64 + n
    );
    let event = pandapon_gen::PushEvent::parse(body.as_bytes()).expect("an order message");
    NewMessage::of_event(&event, body.into_bytes())
}

/// Two workers on `inbox` until every message is handled: returns the
/// handlings per order id and what each worker reported.
async fn split<I: Inbox + Clone + 'static>(
    inbox: I,
) -> (BTreeMap<String, Vec<usize>>, [Worked; 2]) {
    // First, so it is in the first batch claimed: set aside before the
    // last message is handled.
    inbox
        .store_if_absent(NewMessage::new("not-json", b"<html>".to_vec()))
        .await
        .expect("stored");
    for n in 0..MESSAGES {
        inbox
            .store_if_absent(order_message(n))
            .await
            .expect("stored");
    }
    let handlings: Arc<Mutex<BTreeMap<String, Vec<usize>>>> = Arc::default();
    let failed_once = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let succeeded: Arc<Mutex<std::collections::BTreeSet<String>>> = Arc::default();
    let (all_done, done) = tokio::sync::watch::channel(false);
    let all_done = Arc::new(all_done);
    let mut workers = Vec::new();
    for worker in 0..2 {
        let (inbox, handlings, failed_once, succeeded, all_done) = (
            inbox.clone(),
            handlings.clone(),
            failed_once.clone(),
            succeeded.clone(),
            all_done.clone(),
        );
        let mut done = done.clone();
        workers.push(tokio::spawn(async move {
            Worker::new(&inbox)
                .batch(3)
                .lease(Duration::from_millis(400))
                .idle_wait(Duration::from_millis(50))
                .run(
                    |event: pandapon_gen::PushEvent| {
                        let (handlings, failed_once, succeeded, all_done) = (
                            handlings.clone(),
                            failed_once.clone(),
                            succeeded.clone(),
                            all_done.clone(),
                        );
                        async move {
                            let order = event.order_id().expect("an order id");
                            handlings
                                .lock()
                                .expect("lock")
                                .entry(order.clone())
                                .or_default()
                                .push(worker);
                            if order.ends_with(&format!("{FAILS_ONCE:03}"))
                                && !failed_once.swap(true, std::sync::atomic::Ordering::AcqRel)
                            {
                                return Err("a handler's failure");
                            }
                            let mut succeeded = succeeded.lock().expect("lock");
                            succeeded.insert(order);
                            if succeeded.len() as u64 == MESSAGES {
                                all_done.send_replace(true);
                            }
                            Ok(())
                        }
                    },
                    async move {
                        let _ = done.wait_for(|d| *d).await;
                    },
                )
                .await
                .expect("the worker ends when stopped")
        }));
    }
    let mut worked = [Worked::default(); 2];
    for (i, w) in workers.into_iter().enumerate() {
        worked[i] = tokio::time::timeout(Duration::from_secs(60), w)
            .await
            .expect("the workers stop")
            .expect("joined");
    }
    let handlings = handlings.lock().expect("lock").clone();
    (handlings, worked)
}

async fn assert_split<I: Inbox + Clone + 'static>(inbox: I) {
    let (handlings, worked) = split(inbox.clone()).await;
    assert_eq!(handlings.len() as u64, MESSAGES, "every message handled");
    for (order, workers) in &handlings {
        let expected = if order.ends_with(&format!("{FAILS_ONCE:03}")) {
            2
        } else {
            1
        };
        assert_eq!(workers.len(), expected, "{order} handled {workers:?}");
    }
    let handled: u64 = worked.iter().map(|w| w.handled).sum();
    let failed: u64 = worked.iter().map(|w| w.failed).sum();
    let skipped: u64 = worked.iter().map(|w| w.skipped).sum();
    assert_eq!((handled, failed, skipped), (MESSAGES, 1, 1), "{worked:?}");
    assert!(
        inbox
            .messages(Listing::Pending, 10)
            .await
            .expect("read")
            .is_empty(),
        "nothing left pending"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_workers_split_a_sqlite_inbox() {
    assert_split(inbox_with("worker", 0).await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_workers_split_a_postgres_inbox() {
    let Some(server) = server("two_workers_split_a_postgres_inbox") else {
        return;
    };
    let url = fresh_database(&server, "worker_split").await;
    assert_split(PostgresInbox::connect(&url).await.expect("connects")).await;
}

#[tokio::test]
async fn a_worker_refuses_a_batch_or_lease_of_zero() {
    let inbox = inbox_with("worker-zero", 0).await;
    let never = |_: pandapon_gen::PushEvent| async { Ok::<(), &str>(()) };
    for worker in [
        Worker::new(&inbox).batch(0),
        Worker::new(&inbox).lease(Duration::ZERO),
    ] {
        let error = worker
            .run(never, std::future::pending::<()>())
            .await
            .expect_err("refused");
        assert!(matches!(error, InboxError::Invalid(_)), "{error:?}");
        assert!(!error.to_string().is_empty());
    }
}

/// A SQLite inbox in a directory of its own, holding the order messages
/// `0..n`.
async fn inbox_with(name: &str, n: u64) -> SqliteInbox {
    let dir = std::env::temp_dir().join(format!("pandapon-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("temp dir");
    let inbox = SqliteInbox::open(dir.join("inbox.sqlite")).expect("inbox");
    for i in 0..n {
        inbox
            .store_if_absent(order_message(i))
            .await
            .expect("stored");
    }
    inbox
}

/// A handler that panics is a handler that failed: its message stays to be
/// claimed again, and the worker goes on with the others.
#[tokio::test]
async fn a_handler_that_panics_does_not_stop_the_worker() {
    let inbox = inbox_with("worker-panic", 3).await;
    let handled = Arc::new(std::sync::atomic::AtomicU64::new(0));
    let (all_done, mut done) = tokio::sync::watch::channel(false);
    let counter = handled.clone();
    let worked = Worker::new(&inbox)
        .run(
            move |event: pandapon_gen::PushEvent| {
                let (counter, all_done) = (counter.clone(), all_done.clone());
                async move {
                    let order = event.order_id().expect("an order id");
                    assert!(!order.ends_with("001"), "a handler's bug");
                    if counter.fetch_add(1, std::sync::atomic::Ordering::AcqRel) == 1 {
                        all_done.send_replace(true);
                    }
                    Ok::<(), &str>(())
                }
            },
            async move {
                let _ = done.wait_for(|d| *d).await;
            },
        )
        .await
        .expect("the worker ends when stopped");
    assert_eq!((worked.handled, worked.failed), (2, 1), "{worked:?}");
    let pending = inbox.messages(Listing::Pending, 10).await.expect("read");
    assert_eq!(pending.len(), 1, "the panicked message is kept");
    let event = pending[0].event().expect("an order message");
    assert!(event.order_id().expect("an order id").ends_with("001"));
}

/// A batch shares one lease. A message whose turn comes after it ran out is
/// not handled then (another worker may hold it by now): the next claim
/// gets it.
#[tokio::test]
async fn a_message_whose_lease_ran_out_before_its_turn_waits_for_the_next_claim() {
    let inbox = inbox_with("worker-lease", 2).await;
    let lease = Duration::from_millis(200);
    let handlings: Arc<Mutex<Vec<String>>> = Arc::default();
    let (all_done, mut done) = tokio::sync::watch::channel(false);
    let seen = handlings.clone();
    let worked = Worker::new(&inbox)
        .batch(2)
        .lease(lease)
        .idle_wait(Duration::from_millis(50))
        .run(
            move |event: pandapon_gen::PushEvent| {
                let (seen, all_done) = (seen.clone(), all_done.clone());
                async move {
                    let first = seen.lock().expect("lock").is_empty();
                    if first {
                        // Outlasts the batch's lease: at least twice it.
                        tokio::time::sleep(2 * lease).await;
                    }
                    let mut seen = seen.lock().expect("lock");
                    seen.push(event.order_id().expect("an order id"));
                    if seen.len() == 2 {
                        all_done.send_replace(true);
                    }
                    Ok::<(), &str>(())
                }
            },
            async move {
                let _ = done.wait_for(|d| *d).await;
            },
        )
        .await
        .expect("the worker ends when stopped");
    assert_eq!((worked.handled, worked.expired), (2, 1), "{worked:?}");
    let handlings = handlings.lock().expect("lock").clone();
    assert_eq!(handlings.len(), 2);
    assert_ne!(
        handlings[0], handlings[1],
        "each handled once: {handlings:?}"
    );
    assert!(
        inbox
            .messages(Listing::Pending, 10)
            .await
            .expect("read")
            .is_empty(),
        "both done"
    );
}
