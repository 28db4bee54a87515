//! SDK throughput relative to a hand-written reqwest call, measured in
//! alternating rounds so that drift on a shared machine hits both sides:
//! `cargo run --release -p pandapon-tests --example overhead -- [ROUNDS] [CALLS] [CONCURRENCY]`.
//!
//! Each round makes CALLS calls through each side (order alternating between
//! rounds), each side against its own fake PandaPon, and records the ratio
//! of throughputs; the median and range over rounds are printed.

use std::sync::Arc;

use pandapon_gen::Client;
use pandapon_gen::auth::Signer;
use pandapon_httpmock::{FakePandaPon, SignatureCheck};
use pandapon_tests::baseline::run_calls;
use pandapon_tests::credentials;

async fn fake() -> FakePandaPon {
    FakePandaPon::start(
        ([127, 0, 0, 1], 0).into(),
        SignatureCheck::new(credentials()),
    )
    .await
    .expect("fake")
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let mut args = std::env::args()
        .skip(1)
        .map(|a| a.parse::<usize>().unwrap_or(0));
    let rounds = args.next().filter(|n| *n > 0).unwrap_or(20);
    let calls = args.next().filter(|n| *n > 0).unwrap_or(5_000);
    let concurrency = args.next().filter(|n| *n > 0).unwrap_or(64);

    let (sdk_fake, hand_fake) = (fake().await, fake().await);
    // The client as shipped: default retry policy (so each write keeps an
    // unsent copy for a retry after a refused connection), tracing on.
    let sdk = Arc::new(
        Client::builder(credentials())
            .base_url(sdk_fake.base_url())
            .build()
            .expect("client"),
    );
    let http = pandapon_tests::baseline::client();
    let signer = Arc::new(Signer::new(credentials()));
    let url = format!("{}/v2/alibaba/order/cancel", hand_fake.base_url());

    let via_sdk = || {
        let sdk = sdk.clone();
        async move { pandapon_tests::baseline::cancel_via_sdk(&sdk).await }
    };
    let by_hand = || {
        let (http, signer, url) = (http.clone(), signer.clone(), url.clone());
        async move { pandapon_tests::baseline::cancel(&http, &signer, &url).await }
    };

    // Warm up both sides (connections, allocator).
    run_calls(calls as u64, concurrency, via_sdk).await;
    run_calls(calls as u64, concurrency, by_hand).await;

    let mut ratios = Vec::with_capacity(rounds);
    for round in 0..rounds {
        let (s, h) = if round % 2 == 0 {
            let s = run_calls(calls as u64, concurrency, via_sdk).await;
            (s, run_calls(calls as u64, concurrency, by_hand).await)
        } else {
            let h = run_calls(calls as u64, concurrency, by_hand).await;
            (run_calls(calls as u64, concurrency, via_sdk).await, h)
        };
        // Throughput ratio SDK / hand = hand time / SDK time.
        ratios.push(h.as_secs_f64() / s.as_secs_f64());
    }
    ratios.sort_by(f64::total_cmp);
    let pct = |r: f64| r * 100.0;
    println!(
        "rounds={rounds} calls={calls} concurrency={concurrency} sdk/hand: median={:.1}% min={:.1}% p25={:.1}% p75={:.1}% max={:.1}%",
        pct(ratios[rounds / 2]),
        pct(ratios[0]),
        pct(ratios[rounds / 4]),
        pct(ratios[3 * rounds / 4]),
        pct(ratios[rounds - 1])
    );
}
