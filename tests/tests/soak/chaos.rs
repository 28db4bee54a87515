//! The chaos soak in its bounded form: 10,000 mixed calls at concurrency 256
//! against a fake that injects seeded random faults. (`cargo run --release
//! -p pandapon-tests --example chaos -- [CALLS] [CONCURRENCY] [SEED]` prints
//! the figures of a longer run.)

use pandapon_tests::chaos::{self, ChaosConfig};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ten_thousand_mixed_calls_under_random_faults() {
    let report = chaos::run(ChaosConfig::default()).await;
    eprintln!("{report:#?}");
    assert_eq!(report.hung, 0, "calls past their budget");
    assert_eq!(report.panicked, 0);
    assert_eq!(report.writes_resent, 0, "a write reached the fake twice");
    assert!(report.retried_reads > 0, "no read was retried");
    assert_eq!(
        report.distinct_nonces, report.requests,
        "a nonce was reused"
    );
    assert!(
        report.mismatches.is_empty(),
        "{} results disagree with their faults, first: {:?}",
        report.mismatches.len(),
        &report.mismatches[..report.mismatches.len().min(5)]
    );
    // Every kind of call and of fault was exercised.
    assert_eq!(report.calls_by_kind.len(), 5, "{:?}", report.calls_by_kind);
    assert!(report.faults.len() >= 12, "{:?}", report.faults);
    assert!(report.requests > 10_000, "{}", report.requests);
    for class in ["ok", "refused", "unknown"] {
        assert!(
            report.results.get(class).is_some_and(|n| *n > 0),
            "{:?}",
            report.results
        );
    }
    // Memory stays bounded: the run may not grow the process past 512 MiB.
    let (before, peak) = report.rss_kib;
    assert!(peak.saturating_sub(before) < 512 * 1024, "{report:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_same_seed_meets_the_same_faults_whatever_the_scheduling() {
    // Run at two concurrencies, the calls interleave differently; the faults
    // each request meets, and so every count, must not change.
    let run = |concurrency| {
        chaos::run(ChaosConfig {
            calls: 600,
            concurrency,
            seed: 11,
            ..ChaosConfig::default()
        })
    };
    let (wide, narrow) = (run(256).await, run(32).await);
    assert!(wide.passed() && narrow.passed(), "{wide:#?}\n{narrow:#?}");
    assert_eq!(wide.faults, narrow.faults);
    assert_eq!(wide.results, narrow.results);
    assert_eq!(wide.requests, narrow.requests);
    assert_eq!(wide.calls_by_kind, narrow.calls_by_kind);
}
