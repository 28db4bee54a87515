//! Prints the figures of a load run: `cargo run --release -p pandapon-tests
//! --example load -- [CALLS] [CONCURRENCY]`.

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let mut args = std::env::args().skip(1).map(|a| a.parse().unwrap_or(0));
    let calls = args.next().filter(|n| *n > 0).unwrap_or(10_000);
    let concurrency = args.next().filter(|n| *n > 0).unwrap_or(256);
    let r = pandapon_tests::load::run(calls, concurrency).await;
    let secs = r.elapsed.as_secs_f64();
    println!(
        "calls={} concurrency={} failures={} verified={} distinct_nonces={} \
         elapsed={secs:.2}s rate={:.0}/s rss_before={}KiB rss_after={}KiB",
        r.calls,
        r.concurrency,
        r.failures,
        r.verified,
        r.distinct_nonces,
        r.calls as f64 / secs,
        r.rss_kib.0,
        r.rss_kib.1
    );
    if r.failures > 0 || r.distinct_nonces != r.calls {
        std::process::exit(1);
    }
}
