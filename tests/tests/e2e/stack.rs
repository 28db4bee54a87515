//! Fitting into a production back-end: the caller's HTTP client (through a
//! real forward proxy), interceptors, extra fields on typed calls,
//! sub-accounts on one connection pool, the retry budget and the
//! application's name in the user agent.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use pandapon_gen::types::{AlibabaOrderCancelRequest, WebSite};
use pandapon_gen::{
    AfterAttempt, BeforeAttempt, CallOptions, Client, Error, Interceptor, Outcome, RetryBudget,
};
use pandapon_httpmock::httpmock::Method::POST;
use pandapon_httpmock::{Arrival, FakePandaPon, Fault, SignatureCheck};
use pandapon_tests::proxy::ForwardProxy;
use pandapon_tests::{Harness, cancel_body, credentials, quick_retries};

async fn fake_with(
    plan: impl Fn(&Arrival<'_>) -> Option<Fault> + Send + Sync + 'static,
) -> (FakePandaPon, SignatureCheck) {
    let check = SignatureCheck::new(credentials()).with_sub_accounts(["2100007341208"]);
    let fake = FakePandaPon::builder(check.clone())
        .plan(plan)
        .start(([127, 0, 0, 1], 0).into())
        .await
        .expect("fake starts");
    (fake, check)
}

#[tokio::test]
async fn the_callers_http_client_is_used_with_the_sdks_rules() {
    let (fake, check) = fake_with(|_| None).await;
    let proxy = ForwardProxy::start().await;
    // The caller's own reqwest settings: a proxy, and a redirect policy the
    // SDK must override.
    let http = reqwest::Client::builder()
        .proxy(reqwest::Proxy::http(&proxy.url).expect("proxy"))
        .redirect(reqwest::redirect::Policy::limited(5));
    let client = Client::builder(credentials())
        .base_url(fake.base_url())
        .http_client(http)
        .build()
        .expect("client");
    let reply = client
        .taobao_product_get()
        .item_id("x")
        .call()
        .await
        .expect("through the proxy");
    assert_eq!(reply.data.quantity, Some(400));
    let lines = proxy.request_lines();
    assert_eq!(lines.len(), 1, "{lines:?}");
    assert!(
        lines[0].starts_with(&format!("GET {}/v2/taobao/product/get", fake.base_url())),
        "the proxy saw an absolute-form request: {lines:?}"
    );
    assert!(check.seen()[0].verdict.is_ok(), "signed as ever");

    // Redirects stay off: a 302 is an answer, not a hop.
    let h = Harness::start().await;
    h.server
        .mock_async(|when, then| {
            when.method(POST).path("/v2/alibaba/order/cancel");
            then.status(302)
                .header("location", "/v2/elsewhere")
                .body("");
        })
        .await;
    let client = Client::builder(credentials())
        .base_url(h.server.base_url())
        .http_client(reqwest::Client::builder().redirect(reqwest::redirect::Policy::limited(5)))
        .build()
        .expect("client");
    let err = client
        .alibaba_order_cancel()
        .body(cancel_body())
        .call()
        .await
        .unwrap_err();
    assert_eq!(err.status().map(|s| s.as_u16()), Some(302), "{err}");

    // A timeout the caller set is kept: 200 ms, not the SDK's 30 s.
    let (slow, _) = fake_with(|_| Some(Fault::Delay(Duration::from_secs(5)))).await;
    let client = Client::builder(credentials())
        .base_url(slow.base_url())
        .retry_policy(pandapon_gen::RetryPolicy::none())
        .http_client(reqwest::Client::builder().timeout(Duration::from_millis(200)))
        .build()
        .expect("client");
    let err = client
        .taobao_product_get()
        .item_id("x")
        .call()
        .await
        .unwrap_err();
    assert!(err.is_timeout(), "{err}");
}

/// Records what the hooks see.
#[derive(Default)]
struct Recorder(Mutex<Vec<String>>);

impl Interceptor for Recorder {
    fn before_attempt(&self, a: &BeforeAttempt<'_>) {
        let signed = a.request.headers().contains_key("signature")
            && a.request.headers().contains_key("nonce-str");
        self.0.lock().expect("lock").push(format!(
            "before {} #{} {} {} signed={signed}",
            a.operation,
            a.attempt,
            a.request.method(),
            a.request.url().path()
        ));
    }

    fn after_attempt(&self, a: &AfterAttempt<'_>) {
        let code = a
            .body
            .and_then(|b| serde_json::from_slice::<serde_json::Value>(b).ok())
            .and_then(|v| v["code"].as_i64());
        self.0.lock().expect("lock").push(format!(
            "after {} #{} status={:?} outcome={:?} code={code:?} retrying={}",
            a.operation,
            a.attempt,
            a.status.map(|s| s.as_u16()),
            a.outcome(),
            a.retrying
        ));
    }
}

#[tokio::test]
async fn interceptors_see_every_attempt_signed_and_its_end() {
    // The read's first attempt meets a 503, its second none; the write is
    // refused inside HTTP 200.
    let faults = Arc::new(Mutex::new(std::collections::VecDeque::from([
        Some(Fault::Status(503, None)),
        None,
        Some(Fault::Business(401, "no".into())),
    ])));
    let (fake, _) = fake_with(move |_| faults.lock().expect("lock").pop_front().flatten()).await;
    let recorder = Arc::new(Recorder::default());
    let client = Client::builder(credentials())
        .base_url(fake.base_url())
        .retry_policy(quick_retries())
        .interceptor(recorder.clone())
        .build()
        .expect("client");
    // A read: 503, then retried and answered.
    client
        .taobao_product_get()
        .item_id("x")
        .call()
        .await
        .expect("read");
    // A write refused inside HTTP 200.
    let err = client
        .alibaba_order_cancel()
        .body(cancel_body())
        .call()
        .await
        .unwrap_err();
    assert_eq!(err.outcome(), Outcome::Refused);
    let seen = recorder.0.lock().expect("lock").clone();
    assert_eq!(
        seen,
        [
            "before taobao_product_get #1 GET /v2/taobao/product/get signed=true",
            "after taobao_product_get #1 status=Some(503) outcome=Some(Refused) code=None retrying=true",
            "before taobao_product_get #2 GET /v2/taobao/product/get signed=true",
            "after taobao_product_get #2 status=Some(200) outcome=None code=Some(200) retrying=false",
            "before alibaba_order_cancel #1 POST /v2/alibaba/order/cancel signed=true",
            "after alibaba_order_cancel #1 status=Some(200) outcome=None code=Some(401) retrying=false",
        ]
    );
}

#[tokio::test]
async fn extra_fields_reach_the_server_merged_and_signed() {
    let h = Harness::start().await;
    let merged = h
        .server
        .mock_async(|when, then| {
            when.method(POST)
                .path("/v2/alibaba/order/cancel")
                .query_param("lang", "en")
                .header("x-trace-id", "7f3a")
                .json_body(serde_json::json!({
                    "webSite": "1688",
                    "orderId": 2542285634920880794_u64,
                    "newFlag": true
                }))
                .is_true(h.check.signed());
            then.status(200)
                .json_body(serde_json::json!({"code": 200, "data": true}));
        })
        .await;
    let client = h.client();
    let options = || {
        CallOptions::default()
            .extra_query("lang", "en")
            .extra_header("x-trace-id", "7f3a")
            .extra_body_field("newFlag", serde_json::json!(true))
    };
    let reply = client
        .alibaba_order_cancel()
        .body(cancel_body())
        .call_with(options())
        .await
        .expect("merged and signed");
    assert!(reply.data);
    merged.assert_calls_async(1).await;

    // The raw form takes the same options: the mock above answers only a
    // request that carries all three extras and is signed.
    let raw = client
        .alibaba_order_cancel()
        .body(cancel_body())
        .send_with(options())
        .await
        .expect("merged and signed, sent raw");
    assert_eq!(raw.status(), 200);
    merged.assert_calls_async(2).await;
}

#[tokio::test]
async fn what_the_sdk_sets_is_refused_by_extras_and_sent_nowhere() {
    // The fake's signature check logs every request that arrives, forged
    // or not: what it has not seen was not sent.
    let (fake, check) = fake_with(|_| None).await;
    let client = Client::builder(credentials())
        .base_url(fake.base_url())
        .build()
        .expect("client");
    let options = || CallOptions::default().extra_header("x-trace-id", "7f3a");
    client
        .alibaba_order_cancel()
        .body(cancel_body())
        .call_with(options())
        .await
        .expect("a call with extras is sent");
    assert_eq!(check.seen().len(), 1);

    // The SDK's own headers and fields the typed body sets.
    let refused = [
        options().extra_header("signature", "forged"),
        options().extra_header("User-Id", "someone-else"),
        options().extra_header("content-type", "text/plain"),
        options().extra_body_field("orderId", serde_json::json!(1)),
    ];
    for options in refused {
        let err = client
            .alibaba_order_cancel()
            .body(cancel_body())
            .call_with(options)
            .await
            .unwrap_err();
        assert!(matches!(err, Error::InvalidRequest(_)), "{err}");
        assert_eq!(err.outcome(), Outcome::NotSent);
    }
    // A GET has no body to add a field to.
    let err = client
        .taobao_product_get()
        .item_id("x")
        .call_with(CallOptions::default().extra_body_field("x", serde_json::json!(1)))
        .await
        .unwrap_err();
    assert!(matches!(err, Error::InvalidRequest(_)), "{err}");
    assert_eq!(check.seen().len(), 1, "a refused call reached the fake");

    // The count would have seen a forged request: one sent by hand with a
    // forged signature is logged, and refused.
    let forged = reqwest::Client::new()
        .post(format!("{}/v2/alibaba/order/cancel", fake.base_url()))
        .header("access-key", "58c0201dfdf148eca63cbf6bb5e7cf03")
        .header("timestamp", "1700000000000")
        .header("nonce-str", "a".repeat(32))
        .header("user-id", pandapon_tests::USER_ID)
        .header("signature", "forged")
        .body("{}")
        .send()
        .await
        .expect("the fake answers");
    assert!(forged.status().is_success() || forged.status().is_client_error());
    let seen = check.seen();
    assert_eq!(seen.len(), 2);
    assert!(seen[1].verdict.is_err(), "{seen:?}");
}

#[tokio::test]
async fn sub_accounts_share_one_kept_alive_connection() {
    let (fake, check) = fake_with(|_| None).await;
    let agent = Client::builder(credentials())
        .base_url(fake.base_url())
        .build()
        .expect("client");
    let shop_a = agent.with_user_id("2100007341207").expect("a");
    let shop_b = agent.with_user_id("2100007341208").expect("b");
    for _ in 0..3 {
        for shop in [&shop_a, &shop_b] {
            shop.taobao_product_get()
                .item_id("x")
                .call()
                .await
                .expect("call");
        }
    }
    let users: Vec<String> = check
        .seen()
        .iter()
        .filter_map(|s| s.user_id.clone())
        .collect();
    assert_eq!(
        users,
        ["2100007341207", "2100007341208"].repeat(3),
        "each call signed for its own sub-account"
    );
    assert_eq!(fake.connections(), 1, "one pool, one connection");
    assert!(matches!(
        agent.with_user_id("bad id\n"),
        Err(pandapon_gen::ConfigError::Credentials(_))
    ));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_brownout_spends_the_retry_budget_instead_of_quadrupling_traffic() {
    const CALLS: usize = 1_000;
    let (fake, check) = fake_with(|_| Some(Fault::Status(503, None))).await;
    let policy = pandapon_gen::RetryPolicy::default()
        .initial_backoff(Duration::from_millis(1))
        .max_backoff(Duration::from_millis(5));
    let client = Arc::new(
        Client::builder(credentials())
            .base_url(fake.base_url())
            .retry_policy(policy)
            .build()
            .expect("client"),
    );
    // With no budget the same brownout costs four requests a call, ...
    let unlimited = Client::builder(credentials())
        .base_url(fake.base_url())
        .retry_policy(policy)
        .retry_budget(RetryBudget::unlimited())
        .build()
        .expect("client");
    for _ in 0..10 {
        let _ = unlimited.taobao_product_get().item_id("x").call().await;
    }
    assert_eq!(check.seen().len(), 40);
    // ... and with the default budget, at most 1.5 over 1,000 reads at
    // concurrency 64 (the tasks share one client through an `Arc`).
    let before = check.seen().len();
    pandapon_tests::baseline::run_calls(CALLS as u64, 64, || {
        let client = client.clone();
        async move {
            let err = client
                .taobao_product_get()
                .item_id("x")
                .call()
                .await
                .unwrap_err();
            assert_eq!(err.status().map(|s| s.as_u16()), Some(503));
        }
    })
    .await;
    let requests = check.seen().len() - before;
    assert!(
        requests as f64 <= 1.5 * CALLS as f64,
        "{requests} requests for {CALLS} calls"
    );
    assert!(
        requests > CALLS,
        "the budget allowed some retries: {requests}"
    );
}

/// A sub-account client spends from the budget of the client it was made
/// from: once the first spent it, the second retries nothing.
#[tokio::test]
async fn sub_account_clients_share_the_retry_budget() {
    let (fake, check) = fake_with(|_| Some(Fault::Status(503, None))).await;
    let agent = Client::builder(credentials())
        .base_url(fake.base_url())
        .retry_policy(
            pandapon_gen::RetryPolicy::default()
                .max_attempts(2)
                .initial_backoff(Duration::from_millis(1)),
        )
        // Room for one retry.
        .retry_budget(RetryBudget::default().capacity(5).retry_cost(5, 5))
        .build()
        .expect("client");
    let shop = agent.with_user_id("2100007341208").expect("sub-account");
    let _ = agent.taobao_product_get().item_id("x").call().await;
    assert_eq!(check.seen().len(), 2, "the first read retried once");
    let _ = shop.taobao_product_get().item_id("x").call().await;
    assert_eq!(check.seen().len(), 3, "the sub-account had no budget left");
}

/// A retry after a timeout costs what the budget charges for timeouts, and
/// one after any other failure what it charges for that: the budget reads
/// each attempt's verdict. With 10 tokens, 1 a retry and 10 after a
/// timeout, a read that keeps stalling is retried once, and one that keeps
/// answering 503 as often as the policy allows.
#[tokio::test]
async fn a_retry_after_a_timeout_costs_the_timeout_price() {
    let client_of = |fake: &FakePandaPon| {
        Client::builder(credentials())
            .base_url(fake.base_url())
            .retry_policy(
                pandapon_gen::RetryPolicy::default()
                    .max_attempts(4)
                    .initial_backoff(Duration::from_millis(1)),
            )
            .stall_protection(
                pandapon_gen::StallPolicy::default().grace(Duration::from_millis(200)),
            )
            .retry_budget(RetryBudget::default().capacity(10).retry_cost(1, 10))
            .build()
            .expect("client")
    };

    let (fake, check) = fake_with(|_| Some(Fault::Stall(Duration::from_secs(20)))).await;
    let err = client_of(&fake)
        .taobao_product_get()
        .item_id("x")
        .call()
        .await
        .expect_err("every attempt stalls");
    assert!(
        matches!(&err, Error::RetryBudgetSpent { last } if matches!(**last, Error::Stalled { .. })),
        "{err:?}"
    );
    assert!(err.is_timeout());
    assert_eq!(check.seen().len(), 2, "one retry, paid with all 10 tokens");

    let (fake, check) = fake_with(|_| Some(Fault::Status(503, None))).await;
    let err = client_of(&fake)
        .taobao_product_get()
        .item_id("x")
        .call()
        .await
        .expect_err("every attempt is turned away");
    assert_eq!(err.status().map(|s| s.as_u16()), Some(503), "{err:?}");
    assert_eq!(check.seen().len(), 4, "three retries, 1 token each");
}

#[tokio::test]
async fn with_no_faults_the_budget_changes_nothing_and_refills() {
    let failing = Arc::new(std::sync::atomic::AtomicBool::new(true));
    let flag = failing.clone();
    let (fake, check) = fake_with(move |_| {
        flag.load(std::sync::atomic::Ordering::Relaxed)
            .then_some(Fault::Status(503, None))
    })
    .await;
    let client = Client::builder(credentials())
        .base_url(fake.base_url())
        .retry_policy(quick_retries())
        .retry_budget(RetryBudget::default().capacity(10))
        .build()
        .expect("client");
    // Two retries empty a bucket of 10 (5 each): the first call is tried
    // three times, the second once.
    for _ in 0..2 {
        let _ = client.taobao_product_get().item_id("x").call().await;
    }
    let spent = check.seen().len();
    assert_eq!(spent, 3 + 1, "two retries, then none");
    // Successes: one request each, and each puts a token back.
    failing.store(false, std::sync::atomic::Ordering::Relaxed);
    for _ in 0..5 {
        client
            .taobao_product_get()
            .item_id("x")
            .call()
            .await
            .expect("ok");
    }
    assert_eq!(check.seen().len(), spent + 5);
    // Five tokens back: one retry's worth.
    failing.store(true, std::sync::atomic::Ordering::Relaxed);
    let before = check.seen().len();
    let _ = client.taobao_product_get().item_id("x").call().await;
    assert_eq!(
        check.seen().len() - before,
        2,
        "one retry, paid by the refill"
    );
}

#[tokio::test]
async fn the_application_is_named_in_the_user_agent() {
    let h = Harness::start().await;
    let named = h
        .server
        .mock_async(|when, then| {
            when.header(
                "user-agent",
                format!("{} shop-backend/2.3.1", pandapon_gen::USER_AGENT),
            );
            then.status(200)
                .json_body(serde_json::json!({"code": 200, "data": true}));
        })
        .await;
    let client = h
        .builder()
        .application("shop-backend", "2.3.1")
        .build()
        .expect("client");
    client
        .alibaba_order_cancel()
        .body(
            AlibabaOrderCancelRequest::builder()
                .web_site(WebSite::X1688)
                .order_id(1_u64),
        )
        .call()
        .await
        .expect("call");
    named.assert_calls_async(1).await;
}
