//! What an error says it knows, and what cannot hide a call's outcome: the
//! request id on every error whose answer carried one, a retry the budget
//! refused, a panicking interceptor, numbers beyond 64 bits, and server
//! text that is huge or holds characters that drive a terminal.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use bytes::Bytes;
use pandapon_gen::{AfterAttempt, BeforeAttempt, Client, Error, Interceptor, Method, Outcome};
use pandapon_httpmock::{Fault, Route};
use pandapon_tests::{cancel_body, credentials, quick_retries, start_fake};

#[tokio::test]
async fn every_error_whose_answer_carried_a_request_id_returns_it() {
    let answers = [
        // A business error.
        Fault::Business(7001, "no".into()),
        // A 200 whose data is the wrong type for a bool.
        Fault::Answer(
            200,
            Bytes::from_static(br#"{"code":200,"data":"yes","requestId":"rid-decode"}"#),
        ),
        // A 502 whose body is JSON with a request id but no code.
        Fault::Answer(502, Bytes::from_static(br#"{"requestId":"rid-502"}"#)),
        // A success envelope without data.
        Fault::Answer(
            200,
            Bytes::from_static(br#"{"code":200,"requestId":"rid-empty"}"#),
        ),
        // An HTML page: no request id to give.
        Fault::Answer(502, Bytes::from_static(b"<html>bad gateway</html>")),
    ];
    let (_fake, _check, client) = start_fake(|fake| fake.faults(answers)).await;
    let mut ids = Vec::new();
    for _ in 0..5 {
        let e = client
            .alibaba_order_cancel()
            .body(cancel_body())
            .call()
            .await
            .expect_err("each answer is an error");
        ids.push((e.kind(), e.request_id().map(str::to_owned)));
    }
    assert_eq!(
        ids,
        [
            ("api", Some(pandapon_httpmock::REQUEST_ID.to_owned())),
            ("decode", Some("rid-decode".to_owned())),
            ("http", Some("rid-502".to_owned())),
            ("incomplete", Some("rid-empty".to_owned())),
            ("http", None),
        ]
    );
    let refused = pandapon_tests::unreachable_client()
        .taobao_product_get()
        .item_id("x")
        .call()
        .await
        .expect_err("nothing listens");
    assert_eq!(refused.request_id(), None);
}

#[tokio::test]
async fn a_retry_the_budget_cannot_pay_for_says_so_and_keeps_the_last_verdict() {
    let busy = Bytes::from_static(br#"{"code":503,"msg":"busy","requestId":"rid-busy"}"#);
    let (fake, check, _) = start_fake(|fake| {
        fake.faults([
            Fault::Answer(503, busy.clone()),
            Fault::Answer(503, busy.clone()),
            Fault::Answer(503, busy),
        ])
    })
    .await;
    // Enough tokens for one retry.
    let client = Client::builder(credentials())
        .base_url(fake.base_url())
        .retry_policy(quick_retries())
        .retry_budget(
            pandapon_gen::RetryBudget::default()
                .capacity(5)
                .retry_cost(5, 10),
        )
        .build()
        .expect("client");
    let e = client
        .taobao_product_get()
        .item_id("x")
        .call()
        .await
        .expect_err("503, 503, then no token for a third attempt");
    assert_eq!(
        check.seen().len(),
        2,
        "one retry was paid for, the next was not"
    );
    assert!(e.retry_budget_spent(), "{e:?}");
    let text = e.to_string();
    assert!(
        text.ends_with("; not retried: the client's retry budget is spent (RetryBudget)"),
        "{text}"
    );
    assert!(text.contains("pandapon error 503: busy"), "{text}");
    // Everything else is the last attempt's.
    assert_eq!(e.outcome(), Outcome::Refused);
    assert_eq!(e.status().map(|s| s.as_u16()), Some(503));
    assert_eq!(e.api().map(|a| a.code), Some(503));
    assert_eq!(e.request_id(), Some("rid-busy"));
    assert_eq!(e.kind(), "api");

    // A call the policy would not retry anyway (a write after a 503) is
    // not said to be stopped by the budget, though the budget is empty.
    let e = client
        .alibaba_order_cancel()
        .body(cancel_body())
        .call()
        .await
        .expect_err("the third 503");
    assert!(!e.retry_budget_spent(), "{e}");
    assert!(matches!(e, Error::Api(_)), "{e:?}");
}

/// Panics in the hook it is told to.
struct Panics {
    before: bool,
    after: bool,
    calls: AtomicUsize,
}

impl Interceptor for Panics {
    fn before_attempt(&self, _: &BeforeAttempt<'_>) {
        self.calls.fetch_add(1, Ordering::SeqCst);
        assert!(!self.before, "the interceptor's own bug, before");
    }
    fn after_attempt(&self, _: &AfterAttempt<'_>) {
        self.calls.fetch_add(1, Ordering::SeqCst);
        assert!(!self.after, "the interceptor's own bug, after");
    }
}

#[tokio::test]
async fn a_panicking_interceptor_does_not_hide_a_writes_outcome() {
    for (before, after) in [(false, true), (true, false), (true, true)] {
        // The write reaches PandaPon and succeeds: the caller learns it.
        let (fake, check, _) = start_fake(|fake| fake).await;
        let panics = Arc::new(Panics {
            before,
            after,
            calls: AtomicUsize::new(0),
        });
        let client = Client::builder(credentials())
            .base_url(fake.base_url())
            .retry_policy(quick_retries())
            .interceptor(panics.clone())
            .build()
            .expect("client");
        let reply = client
            .alibaba_order_cancel()
            .body(cancel_body())
            .call()
            .await;
        assert!(reply.is_ok_and(|r| r.data), "({before}, {after})");
        assert_eq!(check.seen().len(), 1, "sent once");
        assert_eq!(panics.calls.load(Ordering::SeqCst), 2, "both hooks ran");

        // The write reaches a gateway that answers 502: unknown, and said.
        let (fake, check, _) = start_fake(|fake| fake.faults([Fault::Status(502, None)])).await;
        let client = Client::builder(credentials())
            .base_url(fake.base_url())
            .interceptor(panics.clone())
            .build()
            .expect("client");
        let e = client
            .alibaba_order_cancel()
            .body(cancel_body())
            .call()
            .await
            .expect_err("502");
        assert_eq!(e.outcome(), Outcome::Unknown, "({before}, {after}): {e}");
        assert_eq!(check.seen().len(), 1, "a write is not re-sent after a 502");
    }
}

#[tokio::test]
async fn any_path_numbers_beyond_64_bits_are_refused_not_rounded() {
    const PATH: &str = "/v2/example/numbers";
    let body = r#"{"code":200,"requestId":"rid-n","data":{"orderId":25422856349208807940,"max":18446744073709551615}}"#;
    // Answered as sent (the fake's own examples go through a JSON value).
    let answer = Bytes::from_static(body.as_bytes());
    let (_fake, _check, client) = start_fake(|fake| {
        fake.routes([Route::extra("GET", PATH, None)]).faults([
            Fault::Answer(200, answer.clone()),
            Fault::Answer(200, answer),
        ])
    })
    .await;
    let e = client
        .request(Method::GET, PATH)
        .read_only()
        .call::<serde_json::Value>()
        .await
        .expect_err("a 20-digit id cannot be a JSON value's number");
    assert!(matches!(e, Error::Decode { .. }), "{e:?}");
    assert!(e.to_string().contains("beyond 64 bits"), "{e}");
    assert_eq!(e.request_id(), Some("rid-n"));

    // Read into a type that holds it, it is exact.
    #[derive(serde::Deserialize)]
    #[serde(rename_all = "camelCase")]
    struct Numbers {
        order_id: u128,
        max: u64,
    }
    let reply = client
        .request(Method::GET, PATH)
        .read_only()
        .call::<Numbers>()
        .await
        .expect("typed");
    assert_eq!(reply.data.order_id, 25_422_856_349_208_807_940);
    assert_eq!(reply.data.max, u64::MAX);
}

#[tokio::test]
async fn a_huge_message_with_terminal_characters_is_shown_capped_and_escaped() {
    // A 5 MiB message, with a line separator, an Arabic letter mark and a
    // zero-width space near its start.
    let msg = format!(
        "a\u{2028}b\u{061c}c\u{200b}d\u{9b}2J{}",
        "x".repeat(5 * 1024 * 1024)
    );
    let length = msg.len();
    let (_fake, _check, client) =
        start_fake(|fake| fake.faults([Fault::Business(7002, msg)])).await;
    let e = client
        .alibaba_order_cancel()
        .body(cancel_body())
        .call()
        .await
        .expect_err("refused");
    let text = e.to_string();
    assert!(text.len() < 4096 + 200, "{} bytes", text.len());
    assert!(
        text.contains(r"a\u{2028}b\u{61c}c\u{200b}d\x9b2J"),
        "{:.120}",
        text
    );
    assert!(
        text.contains("more bytes not shown)"),
        "{}",
        &text[text.len() - 80..]
    );
    assert!(
        !text.chars().any(pandapon_gen::is_unsafe_char),
        "no character that drives a terminal"
    );
    // The whole message is still there for code that wants it.
    assert_eq!(
        e.api().and_then(|a| a.msg.as_ref()).map(String::len),
        Some(length)
    );
}

#[tokio::test]
async fn a_query_signed_call_that_gets_no_answer_does_not_show_its_sign() {
    // reqwest's error quotes the URL, whose query holds the signature for
    // the warehouse-logistics paths.
    let e = pandapon_tests::unreachable_client()
        .request(Method::POST, "/v2/open/pp/logistics/itemLogisticsPrice")
        .json(&serde_json::json!({}))
        .read_only()
        .call::<serde_json::Value>()
        .await
        .expect_err("nothing listens");
    let text = format!("{e} {e:?}");
    assert!(
        text.contains("/v2/open/pp/logistics/itemLogisticsPrice"),
        "{text}"
    );
    assert!(!text.contains("sign="), "{text}");
    assert!(!text.contains("timestamp="), "{text}");
}
