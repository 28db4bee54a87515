//! A load run against the fake PandaPon: many signed calls at once.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::{Duration, Instant};

use pandapon_gen::Client;
use pandapon_gen::types::{AlibabaOrderCancelRequest, WebSite};
use pandapon_httpmock::{FakePandaPon, SignatureCheck};
use tokio::sync::Semaphore;

use crate::credentials;

/// What a run measured.
#[derive(Debug)]
pub struct LoadReport {
    /// Calls made.
    pub calls: usize,
    /// Calls in flight at once.
    pub concurrency: usize,
    /// Calls that failed.
    pub failures: usize,
    /// Requests the server accepted as correctly signed.
    pub verified: usize,
    /// Distinct nonces among them.
    pub distinct_nonces: usize,
    /// Wall time.
    pub elapsed: Duration,
    /// Resident memory before and after, in KiB (Linux; 0 elsewhere).
    pub rss_kib: (u64, u64),
}

/// Resident set size of this process, in KiB.
pub fn rss_kib() -> u64 {
    status_kib("VmRSS:")
}

/// Peak resident set size of this process, in KiB.
pub fn peak_rss_kib() -> u64 {
    status_kib("VmHWM:")
}

/// A KiB figure from `/proc/self/status` (Linux; 0 elsewhere).
fn status_kib(field: &str) -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with(field))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse().ok())
        })
        .unwrap_or(0)
}

/// Makes `calls` calls (alternating a read and a write) with at most
/// `concurrency` in flight, against a fresh fake.
pub async fn run(calls: usize, concurrency: usize) -> LoadReport {
    let check = SignatureCheck::new(credentials());
    let fake = FakePandaPon::start(([127, 0, 0, 1], 0).into(), check.clone())
        .await
        .expect("fake starts");
    let client = Arc::new(
        Client::builder(credentials())
            .base_url(fake.base_url())
            .build()
            .expect("client"),
    );
    let gate = Arc::new(Semaphore::new(concurrency));
    let before = rss_kib();
    let started = Instant::now();
    let mut tasks = Vec::with_capacity(calls);
    for i in 0..calls {
        let (client, gate) = (client.clone(), gate.clone());
        tasks.push(tokio::spawn(async move {
            let _permit = gate.acquire_owned().await.expect("semaphore open");
            if i % 2 == 0 {
                client
                    .taobao_product_get()
                    .item_id("x")
                    .call()
                    .await
                    .map(drop)
            } else {
                let body = AlibabaOrderCancelRequest::builder()
                    .web_site(WebSite::X1688)
                    .order_id(2542285634920880794 + i as u64);
                client
                    .alibaba_order_cancel()
                    .body(body)
                    .call()
                    .await
                    .map(drop)
            }
        }));
    }
    let mut failures = 0;
    for task in tasks {
        if !matches!(task.await, Ok(Ok(()))) {
            failures += 1;
        }
    }
    let elapsed = started.elapsed();
    let after = rss_kib();
    let seen = check.seen();
    let verified = seen.iter().filter(|s| s.verdict.is_ok()).count();
    let distinct_nonces = seen
        .iter()
        .filter_map(|s| s.nonce.as_deref())
        .collect::<HashSet<_>>()
        .len();
    LoadReport {
        calls,
        concurrency,
        failures,
        verified,
        distinct_nonces,
        elapsed,
        rss_kib: (before, after),
    }
}
