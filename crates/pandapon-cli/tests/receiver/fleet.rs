//! The fleet soak: two receivers (`pandapon push serve`) share one
//! PostgreSQL inbox; every message goes to one and its duplicate to the
//! other, as PandaPon's re-sends land anywhere behind a load balancer; one
//! receiver is killed with SIGKILL twice mid-traffic and started again;
//! four workers claim the messages, and one of them is killed mid-message.
//! Then: no acknowledged message lost, none stored twice, none handled by
//! two workers under one lease, every one handled.
//!
//! Needs the PostgreSQL server `.ci/run` starts (`PANDAPON_TEST_POSTGRES_URL`);
//! without one it says so and passes. `PANDAPON_SOAK_MESSAGES` sets the
//! number of messages (600 by default; the figures in docs/reliability.md
//! are from 2,000).

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use pandapon_gen::push::inbox::{Inbox, Listing, PostgresInbox};
use pandapon_tests::postgres::{fresh_database, server};

use super::{assert_log_clean, message, serve_at};

/// One handling of a message: its id, the lease it was held under, the
/// worker.
type Handling = (u64, u64, usize);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_receivers_four_workers_one_inbox_through_kills() {
    let Some(server) = server("fleet soak") else {
        return;
    };
    let url = fresh_database(&server, "fleet").await;
    let total: usize = std::env::var("PANDAPON_SOAK_MESSAGES")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(600);
    let dir = std::env::temp_dir().join(format!("pandapon-fleet-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("temp dir");
    let log = dir.join("serve.log");
    let location = std::ffi::OsString::from(&url);
    let (a, url_a) = serve_at(&location, &log, "127.0.0.1:0");
    let (b, url_b) = serve_at(&location, &log, "127.0.0.1:0");
    let addr_a = url_a.trim_start_matches("http://").to_owned();
    let receivers = Arc::new(Mutex::new([a, b]));

    // The workers: four inboxes (four hosts' pools) claiming in a loop.
    let handled: Arc<Mutex<Vec<Handling>>> = Arc::default();
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let (held_tx, held_rx) = tokio::sync::oneshot::channel::<u64>();
    let mut held_tx = Some(held_tx);
    let mut workers = Vec::new();
    for worker in 0..4 {
        let inbox = PostgresInbox::connect(&url).await.expect("connects");
        let (handled, mut stopped) = (handled.clone(), stopped.clone());
        // Worker 3 dies holding the tenth message it claims.
        let mut dies_holding = if worker == 3 { held_tx.take() } else { None };
        workers.push(tokio::spawn(async move {
            let mut claimed_so_far = 0;
            loop {
                let claimed = tokio::select! {
                    _ = stopped.wait_for(|stop| *stop) => return,
                    claimed = inbox.claim(4, Duration::from_secs(2)) => claimed,
                };
                let Ok(claimed) = claimed else { continue };
                if claimed.is_empty() {
                    inbox.wait_for_new(Duration::from_millis(200)).await;
                    continue;
                }
                for c in claimed {
                    claimed_so_far += 1;
                    if claimed_so_far == 10
                        && let Some(tx) = dies_holding.take()
                    {
                        // Mid-message: claimed, being handled, never done.
                        let _ = tx.send(c.message.id);
                        std::future::pending::<()>().await;
                    }
                    handled
                        .lock()
                        .expect("lock")
                        .push((c.message.id, c.lease.token, worker));
                    inbox.mark_done(c.message.id).await.expect("done");
                }
            }
        }));
    }

    // The killer: SIGKILL to receiver A at a third and two thirds of the
    // messages settled, each time started again on the same address.
    let settled = Arc::new(tokio::sync::watch::Sender::new(0_usize));
    let killer = {
        let (receivers, mut seen, location, log) = (
            receivers.clone(),
            settled.subscribe(),
            location.clone(),
            log.clone(),
        );
        let runtime = tokio::runtime::Handle::current();
        tokio::task::spawn_blocking(move || {
            let mut kills = 0;
            for third in [1, 2] {
                let target = total * third / 3;
                let now = runtime
                    .block_on(seen.wait_for(|n| *n >= target))
                    .map_or(usize::MAX, |n| *n);
                if now >= total {
                    break;
                }
                let mut running = receivers.lock().expect("lock");
                running[0].kill().expect("SIGKILL");
                let _ = running[0].wait();
                running[0] = serve_at(&location, &log, &addr_a).0;
                kills += 1;
            }
            kills
        })
    };

    // The pushes: each message to one receiver, its duplicate to the other;
    // a push that gets no 200 is sent again, to either.
    let started = Instant::now();
    let next = Arc::new(Mutex::new(0_usize));
    let acknowledged: Arc<Mutex<BTreeSet<usize>>> = Arc::default();
    let resent = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let mut pushers = Vec::new();
    for _ in 0..16 {
        let (next, acknowledged, settled, resent) = (
            next.clone(),
            acknowledged.clone(),
            settled.clone(),
            resent.clone(),
        );
        let urls = [url_a.clone(), url_b.clone()];
        pushers.push(tokio::spawn(async move {
            let http = reqwest::Client::builder()
                .timeout(Duration::from_secs(5))
                .build()
                .expect("client");
            loop {
                let n = {
                    let mut next = next.lock().expect("lock");
                    let n = *next;
                    *next += 1;
                    n
                };
                if n >= total {
                    return;
                }
                let body = message(n);
                let authorization = pandapon_gen::auth::push_signature(&super::creds(), &body);
                let started = Instant::now();
                for copy in 0..2 {
                    let mut target = (n + copy) % 2;
                    loop {
                        let sent = http
                            .post(&urls[target])
                            .header("authorization", &authorization)
                            .body(body.clone())
                            .send()
                            .await;
                        if sent.is_ok_and(|r| r.status().as_u16() == 200) {
                            acknowledged.lock().expect("lock").insert(n);
                            break;
                        }
                        assert!(
                            started.elapsed() < Duration::from_secs(120),
                            "message {n} never acknowledged"
                        );
                        target = 1 - target;
                        resent.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                        tokio::task::yield_now().await;
                    }
                }
                settled.send_modify(|s| *s += 1);
            }
        }));
    }
    for pusher in pushers {
        pusher.await.expect("pusher");
    }
    let pushed_in = started.elapsed();
    let kills = killer.await.expect("killer");

    // Worker 3 died holding a message; the others finish everything,
    // that one included once its lease runs out.
    let held = tokio::time::timeout(Duration::from_secs(60), held_rx)
        .await
        .expect("worker 3 claimed ten messages")
        .expect("held");
    workers.pop().expect("worker 3").abort();
    let watcher = PostgresInbox::connect(&url).await.expect("connects");
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let pending = watcher.messages(Listing::Pending, 1).await.expect("read");
        if pending.is_empty() {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "messages left undone: {pending:?}"
        );
        watcher.wait_for_new(Duration::from_millis(200)).await;
    }
    stop.send_replace(true);
    for worker in workers {
        tokio::time::timeout(Duration::from_secs(30), worker)
            .await
            .expect("a worker stops when told")
            .expect("worker");
    }
    for receiver in receivers.lock().expect("lock").iter_mut() {
        receiver.kill().expect("stop");
        let _ = receiver.wait();
    }

    // No acknowledged message lost, none stored twice.
    let stored = watcher
        .messages(Listing::All, usize::MAX)
        .await
        .expect("read");
    let by_body: BTreeMap<Vec<u8>, usize> = stored.iter().fold(BTreeMap::new(), |mut m, s| {
        *m.entry(s.body.clone()).or_default() += 1;
        m
    });
    let acknowledged = acknowledged.lock().expect("lock").clone();
    let lost = acknowledged
        .iter()
        .filter(|n| !by_body.contains_key(&message(**n)))
        .count();
    let twice = by_body.values().filter(|count| **count > 1).count();
    // None handled by two workers under one lease; every one handled.
    let handled = handled.lock().expect("lock").clone();
    let mut by_lease: BTreeMap<(u64, u64), BTreeSet<usize>> = BTreeMap::new();
    for (id, token, worker) in &handled {
        by_lease.entry((*id, *token)).or_default().insert(*worker);
    }
    let shared = by_lease.values().filter(|w| w.len() > 1).count();
    let handled_ids: BTreeSet<u64> = handled.iter().map(|(id, _, _)| *id).collect();
    let reclaimed = handled
        .iter()
        .filter(|(id, _, worker)| *id == held && *worker != 3)
        .count();
    eprintln!(
        "fleet soak: {total} messages ({} pushes with duplicates, {} sent again after no 200) in \
         {pushed_in:.1?}, receiver killed {kills} times; {} stored, {} handled ({} handlings), \
         lost {lost}, stored twice {twice}, handled by two workers under one lease {shared}",
        total * 2,
        resent.load(std::sync::atomic::Ordering::Relaxed),
        stored.len(),
        handled_ids.len(),
        handled.len()
    );
    assert_eq!(kills, 2, "receiver A was killed twice during the pushes");
    assert_eq!(acknowledged.len(), total, "every message was acknowledged");
    assert_eq!(lost, 0, "acknowledged messages lost");
    assert_eq!(twice, 0, "messages stored twice");
    assert_eq!(stored.len(), total);
    assert_eq!(
        shared, 0,
        "a message handled by two workers under one lease"
    );
    assert_eq!(handled_ids.len(), total, "every stored message handled");
    assert_eq!(
        reclaimed, 1,
        "the message worker 3 died holding was handled by another"
    );
    assert_log_clean(&log);
}
