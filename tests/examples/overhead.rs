//! SDK throughput relative to a hand-written reqwest call, measured in
//! alternating rounds so that drift on a shared machine hits both sides:
//! `cargo run --release -p pandapon-tests --example overhead -- [ROUNDS] [CALLS] [CONCURRENCY]`.
//!
//! Each round makes CALLS calls through each side (order alternating between
//! rounds, and which of two fake PandaPons each side calls swapping every
//! two rounds), and records the ratio of throughputs; the median and range
//! over rounds are printed. `OVERHEAD_SELF=1` runs the hand-written call on
//! both sides, to show the harness's own bias.

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

    // Two fakes; each round, the sides swap fakes as well as order, so that
    // neither server nor slot favours a side. (With fixed fakes, the same
    // hand-written call measured against itself came out at 101.4% and
    // 101.8%.)
    let fakes = [fake().await, fake().await];
    // The client as shipped: default retry policy (so each write keeps an
    // unsent copy for a retry after a refused connection), tracing on.
    let sdks: Vec<Arc<Client>> = fakes
        .iter()
        .map(|f| {
            Arc::new(
                Client::builder(credentials())
                    .base_url(f.base_url())
                    .build()
                    .expect("client"),
            )
        })
        .collect();
    let http = pandapon_tests::baseline::client();
    let signer = Arc::new(Signer::new(credentials()));
    let urls: Vec<String> = fakes
        .iter()
        .map(|f| format!("{}/v2/alibaba/order/cancel", f.base_url()))
        .collect();
    // `OVERHEAD_SELF=1` measures the hand-written call against itself: the
    // harness's own bias, which should be nil.
    let against_itself = std::env::var_os("OVERHEAD_SELF").is_some();

    let via_sdk = |fake: usize| {
        let sdk = sdks[fake].clone();
        let (http, signer, url) = (http.clone(), signer.clone(), urls[fake].clone());
        async move {
            if against_itself {
                pandapon_tests::baseline::cancel(&http, &signer, &url).await
            } else {
                pandapon_tests::baseline::cancel_via_sdk(&sdk).await
            }
        }
    };
    let by_hand = |fake: usize| {
        let (http, signer, url) = (http.clone(), signer.clone(), urls[fake].clone());
        async move { pandapon_tests::baseline::cancel(&http, &signer, &url).await }
    };

    if let Ok(side) = std::env::var("ONLY") {
        let n = calls as u64;
        let t = if side == "sdk" {
            run_calls(n, concurrency, || via_sdk(0)).await
        } else {
            run_calls(n, concurrency, || by_hand(0)).await
        };
        println!("{side}: {t:?}");
        return;
    }
    // Warm up both sides on both fakes (connections, allocator).
    for fake in 0..2 {
        run_calls(calls as u64, concurrency, || via_sdk(fake)).await;
        run_calls(calls as u64, concurrency, || by_hand(fake)).await;
    }

    let mut ratios = Vec::with_capacity(rounds);
    for round in 0..rounds {
        let sdk_fake = (round / 2) % 2;
        let hand_fake = 1 - sdk_fake;
        let sdk_side = || run_calls(calls as u64, concurrency, || via_sdk(sdk_fake));
        let hand_side = || run_calls(calls as u64, concurrency, || by_hand(hand_fake));
        let (s, h) = if round % 2 == 0 {
            let s = sdk_side().await;
            (s, hand_side().await)
        } else {
            let h = hand_side().await;
            (sdk_side().await, h)
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
