//! 10,000 signed calls at concurrency 256 against the fake PandaPon: no
//! failure, every nonce distinct, memory bounded. (`cargo run --release -p
//! pandapon-tests --example load` prints the figures.)

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ten_thousand_calls_at_concurrency_256() {
    let report = pandapon_tests::load::run(10_000, 256).await;
    eprintln!("{report:?}");
    assert_eq!(report.failures, 0, "{report:?}");
    assert_eq!(report.verified, 10_000, "{report:?}");
    assert_eq!(report.distinct_nonces, 10_000, "{report:?}");
    // Bounded: the run may not grow the process by more than 256 MiB.
    let (before, after) = report.rss_kib;
    assert!(after.saturating_sub(before) < 256 * 1024, "{report:?}");
}
