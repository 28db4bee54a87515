//! Calls per second through the generated client, next to a hand-written
//! reqwest call sending the same headers and body to the same local server,
//! at concurrency 1 and 64.

use std::sync::Arc;
use std::time::Duration;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use pandapon_gen::Client;
use pandapon_gen::auth::Signer;
use pandapon_httpmock::{FakePandaPon, SignatureCheck};
use pandapon_tests::credentials;
use tokio::runtime::Runtime;

struct Setup {
    rt: Runtime,
    sdk: Arc<Client>,
    http: reqwest::Client,
    signer: Arc<Signer>,
    url: String,
    _fake: FakePandaPon,
}

fn setup() -> Setup {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let fake = rt
        .block_on(FakePandaPon::start(
            ([127, 0, 0, 1], 0).into(),
            SignatureCheck::new(credentials()),
        ))
        .expect("fake");
    // The client as shipped: default retry policy (so each write keeps an
    // unsent copy for a retry after a refused connection), tracing on.
    let sdk = Client::builder(credentials())
        .base_url(fake.base_url())
        .build()
        .expect("client");
    let http = pandapon_tests::baseline::client();
    Setup {
        url: format!("{}/v2/alibaba/order/cancel", fake.base_url()),
        rt,
        sdk: Arc::new(sdk),
        http,
        signer: Arc::new(Signer::new(credentials())),
        _fake: fake,
    }
}

async fn via_sdk(client: Arc<Client>) {
    pandapon_tests::baseline::cancel_via_sdk(&client).await;
}

/// The raw `send()`: the same step, no envelope unwrapping.
async fn via_send(client: Arc<Client>) {
    let r = client
        .alibaba_order_cancel()
        .body(pandapon_tests::cancel_body())
        .send()
        .await
        .expect("send");
    assert_eq!(r.into_inner().data, Some(true));
}

/// What a careful user writes without the SDK.
async fn by_hand(http: reqwest::Client, signer: Arc<Signer>, url: String) {
    pandapon_tests::baseline::cancel(&http, &signer, &url).await;
}

/// Runs `total` calls with at most `concurrency` in flight; returns the time.
fn timed<F, Fut>(s: &Setup, total: u64, concurrency: usize, call: F) -> Duration
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = ()> + Send + 'static,
{
    s.rt.block_on(pandapon_tests::baseline::run_calls(
        total,
        concurrency,
        call,
    ))
}

fn client_overhead(c: &mut Criterion) {
    let mut group = c.benchmark_group("client");
    group.throughput(Throughput::Elements(1));
    group.sample_size(30);
    for concurrency in [1usize, 64] {
        // A fresh server (with an empty request log) for each measurement,
        // so neither side inherits the other's state.
        let s = setup();
        group.bench_with_input(
            BenchmarkId::new("sdk", concurrency),
            &concurrency,
            |b, &k| b.iter_custom(|iters| timed(&s, iters, k, || via_sdk(s.sdk.clone()))),
        );
        drop(s);
        let s = setup();
        group.bench_with_input(
            BenchmarkId::new("sdk_send", concurrency),
            &concurrency,
            |b, &k| b.iter_custom(|iters| timed(&s, iters, k, || via_send(s.sdk.clone()))),
        );
        drop(s);
        let s = setup();
        group.bench_with_input(
            BenchmarkId::new("by_hand", concurrency),
            &concurrency,
            |b, &k| {
                b.iter_custom(|iters| {
                    timed(&s, iters, k, || {
                        by_hand(s.http.clone(), s.signer.clone(), s.url.clone())
                    })
                })
            },
        );
    }
    group.finish();
}

criterion_group!(benches, client_overhead);
criterion_main!(benches);
