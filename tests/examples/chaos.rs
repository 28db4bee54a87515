//! Prints the figures of a chaos soak: `cargo run --release -p
//! pandapon-tests --example chaos -- [CALLS] [CONCURRENCY] [SEED]`.
//! Exits 1 when any check fails.

use pandapon_tests::chaos::{self, ChaosConfig};

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let mut args = std::env::args().skip(1).map(|a| a.parse::<u64>().ok());
    let mut config = ChaosConfig::default();
    if let Some(Some(n)) = args.next() {
        config.calls = n as usize;
    }
    if let Some(Some(n)) = args.next() {
        config.concurrency = n as usize;
    }
    if let Some(Some(n)) = args.next() {
        config.seed = n;
    }
    let r = chaos::run(config).await;
    let secs = r.elapsed.as_secs_f64();
    println!(
        "calls={} concurrency={} seed={} requests={} elapsed={secs:.1}s rate={:.0}/s \
         slowest={:.2}s rss_start={}KiB rss_peak={}KiB",
        r.config.calls,
        r.config.concurrency,
        r.config.seed,
        r.requests,
        r.config.calls as f64 / secs,
        r.slowest.as_secs_f64(),
        r.rss_kib.0,
        r.rss_kib.1
    );
    println!("calls by kind: {:?}", r.calls_by_kind);
    println!("faults injected: {:?}", r.faults);
    println!("results: {:?}", r.results);
    println!(
        "hung={} panicked={} writes_resent={} retried_reads={} distinct_nonces={} mismatches={}",
        r.hung,
        r.panicked,
        r.writes_resent,
        r.retried_reads,
        r.distinct_nonces,
        r.mismatches.len()
    );
    for m in r.mismatches.iter().take(10) {
        println!("  {m}");
    }
    if !r.passed() {
        std::process::exit(1);
    }
}
