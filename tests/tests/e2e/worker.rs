//! The worker loop (`push::worker::Worker`) on both inboxes: two workers
//! split one inbox, each message handled once; a handler that fails gets
//! its message again once the lease ends; bytes that are not an order
//! message are set aside; bad settings are refused.

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
    let dir = std::env::temp_dir().join(format!("pandapon-worker-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("temp dir");
    assert_split(SqliteInbox::open(dir.join("inbox.sqlite")).expect("inbox")).await;
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
    let dir = std::env::temp_dir().join(format!("pandapon-worker-zero-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("temp dir");
    let inbox = SqliteInbox::open(dir.join("inbox.sqlite")).expect("inbox");
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
