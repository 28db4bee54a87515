//! Retries that cannot double-spend, timeouts, the clock offset, and what
//! tracing shows — against a fake PandaPon that injects faults.

use std::collections::HashSet;
use std::time::Duration;

use pandapon_gen::{CallOptions, Client, Retry};
use pandapon_httpmock::{Fault, SignatureCheck};
use pandapon_tests::{cancel_body, credentials, quick_retries, start_fake};

fn nonces(check: &SignatureCheck) -> Vec<String> {
    check.seen().into_iter().filter_map(|s| s.nonce).collect()
}

#[tokio::test]
async fn a_read_is_retried_through_two_503s_with_fresh_signatures() {
    let (_fake, check, client) =
        start_fake(|fake| fake.faults([Fault::Status(503, None), Fault::Status(503, None)])).await;
    let reply = client
        .taobao_product_get()
        .item_id("x")
        .call()
        .await
        .expect("third attempt");
    assert_eq!(reply.data.quantity, Some(400));
    let seen = check.seen();
    assert_eq!(seen.len(), 3, "{seen:?}");
    assert!(
        seen.iter().all(|s| s.verdict.is_ok()),
        "every attempt signed: {seen:?}"
    );
    assert_eq!(nonces(&check).iter().collect::<HashSet<_>>().len(), 3);
}

#[tokio::test]
async fn a_write_is_not_resent_after_a_503() {
    let (_fake, check, client) = start_fake(|fake| fake.faults([Fault::Status(503, None)])).await;
    let err = client
        .alibaba_order_cancel()
        .body(cancel_body())
        .call()
        .await
        .expect_err("503");
    assert_eq!(err.status().map(|s| s.as_u16()), Some(503));
    assert_eq!(check.seen().len(), 1);
}

#[tokio::test]
async fn callers_can_opt_a_write_in_and_a_read_out() {
    let (_fake, check, client) = start_fake(|fake| fake.faults([Fault::Status(502, None)])).await;
    client
        .alibaba_order_cancel()
        .body(cancel_body())
        .call_with(CallOptions::default().retry(Retry::Always))
        .await
        .expect("retried by request");
    assert_eq!(check.seen().len(), 2);

    let (_fake, check, client) = start_fake(|fake| fake.faults([Fault::Status(504, None)])).await;
    let err = client
        .alibaba_cart_list()
        .call_with(CallOptions::default().retry(Retry::Never))
        .await
        .expect_err("not retried");
    assert_eq!(err.status().map(|s| s.as_u16()), Some(504));
    assert_eq!(check.seen().len(), 1);
}

#[tokio::test]
async fn retry_after_is_honoured() {
    let (_fake, check, client) =
        start_fake(|fake| fake.faults([Fault::Status(429, Some(1))])).await;
    let started = std::time::Instant::now();
    client
        .alibaba_cart_list()
        .call()
        .await
        .expect("after waiting");
    assert!(
        started.elapsed() >= Duration::from_secs(1),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(check.seen().len(), 2);
}

#[tokio::test]
async fn a_hang_past_the_timeout_is_retried_for_reads_only() {
    let hang = || vec![Fault::Delay(Duration::from_secs(3))];
    let (_fake, check, client) = start_fake(|fake| fake.faults(hang())).await;
    let per_call = CallOptions::default().timeout(Duration::from_millis(300));
    client
        .taobao_product_get()
        .item_id("x")
        .call_with(per_call.clone())
        .await
        .expect("second attempt");
    assert_eq!(check.seen().len(), 2);

    let (_fake, check, client) = start_fake(|fake| fake.faults(hang())).await;
    let err = client
        .alibaba_order_cancel()
        .body(cancel_body())
        .call_with(per_call)
        .await
        .expect_err("timeout");
    assert!(err.is_timeout(), "{err:?}");
    assert_eq!(
        check.seen().len(),
        1,
        "a write that may have arrived is not re-sent"
    );
}

#[tokio::test]
async fn an_attempt_is_bounded_by_the_total_time() {
    let (_fake, check, client) =
        start_fake(|fake| fake.faults(vec![Fault::Status(503, Some(1)); 5])).await;
    let client_short = Client::builder(credentials())
        .base_url(client.base_url())
        .retry_policy(quick_retries().max_elapsed(Duration::from_millis(500)))
        .build()
        .expect("client");
    let err = client_short
        .alibaba_cart_list()
        .call()
        .await
        .expect_err("gave up");
    assert_eq!(err.status().map(|s| s.as_u16()), Some(503));
    assert_eq!(
        check.seen().len(),
        1,
        "a 1 s Retry-After exceeds the 0.5 s budget"
    );
}

#[tokio::test]
async fn a_clock_off_by_more_than_600_s_is_rejected_and_the_offset_fixes_it() {
    let (fake, _check, _) = start_fake(|fake| fake).await;
    let skewed = |offset_ms| {
        Client::builder(credentials())
            .base_url(fake.base_url())
            .clock_offset_millis(offset_ms)
            .build()
            .expect("client")
    };
    let err = skewed(-700_000)
        .alibaba_cart_list()
        .call()
        .await
        .expect_err("skewed");
    let api = err.api().expect("business error");
    assert!(api.is_timestamp_rejection(), "{api}");
    assert!(err.to_string().contains("clock_offset_millis"), "{err}");
    skewed(-500_000)
        .alibaba_cart_list()
        .call()
        .await
        .expect("within the window");
}

#[test]
fn every_operation_is_classified_as_read_only_or_write() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../openapi/pandapon.yaml");
    let spec: serde_json::Value =
        serde_yaml::from_str(&std::fs::read_to_string(path).expect("spec")).expect("yaml");
    let mut count = 0;
    for item in spec["paths"].as_object().expect("paths").values() {
        for op in item.as_object().expect("item").values() {
            let id = op["operationId"].as_str().expect("id");
            let marked = op["x-pandapon-read-only"].as_bool();
            assert_eq!(marked, Some(pandapon_gen::is_read_only(id)), "{id}");
            count += 1;
        }
    }
    assert_eq!(count, 42);
    // Spot checks: a GET that writes, and a POST that only reads.
    assert!(!pandapon_gen::is_read_only("taobao_refund_cancel"));
    assert!(pandapon_gen::is_read_only("alibaba_product_keyword_search"));
}

/// The outcome of a cancel against a fake that injects `fault` first, and
/// how many requests reached the fake.
async fn outcome_after(fault: Fault) -> (pandapon_gen::Outcome, usize) {
    let (_fake, check, client) = start_fake(|fake| fake.faults([fault])).await;
    let err = client
        .alibaba_order_cancel()
        .body(cancel_body())
        .call_with(CallOptions::default().timeout(Duration::from_millis(200)))
        .await
        .expect_err("the fault fails the call");
    (err.outcome(), check.seen().len())
}

/// Each of the three outcomes, from real failed calls of a write, two or
/// three ways to each. Every kind of failure, row by row against the guide's
/// table, is `every_answer_has_one_verdict` in pandapon-gen's
/// `step/classify.rs`; through every way of calling, the CLI's `verdicts`
/// tests.
#[tokio::test]
async fn each_outcome_is_what_real_failures_of_a_write_report() {
    use pandapon_gen::{Error, Outcome};

    // Refused: a business error, an HTTP error status.
    assert_eq!(
        outcome_after(Fault::Business(500, "订单已支付".into())).await,
        (Outcome::Refused, 1)
    );
    assert_eq!(
        outcome_after(Fault::Status(503, None)).await,
        (Outcome::Refused, 1)
    );

    // Unknown: a gateway timeout, and a timeout after the request reached
    // the fake (a write is not re-sent, so one request each).
    assert_eq!(
        outcome_after(Fault::Status(504, None)).await,
        (Outcome::Unknown, 1)
    );
    assert_eq!(
        outcome_after(Fault::Delay(Duration::from_secs(5))).await,
        (Outcome::Unknown, 1)
    );

    // Not sent: nothing listening, invalid values, a dry run.
    let client = pandapon_tests::unreachable_client();
    let err = client
        .alibaba_order_cancel()
        .body(cancel_body())
        .call()
        .await
        .expect_err("refused connection");
    assert_eq!(err.outcome(), Outcome::NotSent, "{err}");
    let err = client
        .alibaba_order_cancel()
        .body(pandapon_gen::types::AlibabaOrderCancelRequest::builder())
        .call()
        .await
        .expect_err("invalid");
    assert_eq!(err.outcome(), Outcome::NotSent, "{err}");
    let dry = Client::builder(credentials())
        .base_url(pandapon_tests::closed_port_url())
        .dry_run(|_| {})
        .build()
        .expect("client");
    let err = dry
        .alibaba_order_cancel()
        .body(cancel_body())
        .call()
        .await
        .expect_err("dry run");
    assert!(matches!(err, Error::DryRun));
    assert_eq!(err.outcome(), Outcome::NotSent);
    assert_eq!(Outcome::Unknown.to_string(), "unknown");
}

/// A client for `fake` with quick retries and the given body bounds.
fn bounded(
    fake: &pandapon_httpmock::FakePandaPon,
    max_bytes: usize,
    stall: pandapon_gen::StallPolicy,
) -> Client {
    Client::builder(credentials())
        .base_url(fake.base_url())
        .retry_policy(quick_retries())
        .max_response_bytes(max_bytes)
        .stall_protection(stall)
        .build()
        .expect("client")
}

#[tokio::test]
async fn a_success_answer_over_the_size_limit_fails_typed_and_is_not_retried() {
    use futures_util::StreamExt;
    use pandapon_gen::{Error, Method, Outcome, StallPolicy, types};

    // Declared: refused on the headers, before any of the gigabyte is read.
    let huge = Fault::Oversized {
        bytes: 1 << 30,
        declared: true,
    };
    let (fake, check, _) = start_fake(|fake| fake.faults([huge])).await;
    let client = bounded(
        &fake,
        pandapon_gen::DEFAULT_MAX_RESPONSE_BYTES,
        StallPolicy::default(),
    );
    let err = client
        .taobao_product_get()
        .item_id("x")
        .call()
        .await
        .expect_err("over the limit");
    assert!(
        matches!(err, Error::TooLarge { limit, declared: Some(n), .. }
            if limit == 16 << 20 && n == 1 << 30),
        "{err:?}"
    );
    let text = err.to_string();
    assert!(text.contains("16777216-byte limit"), "{text}");
    assert!(text.contains("max_response_bytes"), "{text}");
    assert!(text.contains("PANDAPON_MAX_RESPONSE_BYTES"), "{text}");
    assert_eq!(err.outcome(), Outcome::Unknown);
    assert_eq!(
        check.seen().len(),
        1,
        "a read that is too large is not retried"
    );

    // Undeclared (chunked): counted as it arrives, for generated calls,
    // any-path calls and pages alike.
    let streamed = || Fault::Oversized {
        bytes: 200_000,
        declared: false,
    };
    let (fake, check, _) = start_fake(|fake| fake.faults(vec![streamed(); 3])).await;
    let client = bounded(&fake, 64 * 1024, StallPolicy::default());
    let err = client
        .alibaba_order_cancel()
        .body(cancel_body())
        .call()
        .await
        .expect_err("over the limit");
    assert!(
        matches!(
            err,
            Error::TooLarge {
                limit: 65536,
                declared: None,
                ..
            }
        ),
        "{err:?}"
    );
    let err = client
        .request(Method::GET, "/v2/taobao/product/get")
        .query("itemId", "x")
        .read_only()
        .call::<serde_json::Value>()
        .await
        .expect_err("over the limit");
    assert!(matches!(err, Error::TooLarge { .. }), "{err:?}");
    let first = client
        .alibaba_product_keyword_search()
        .body(types::AlibabaProductKeywordSearchRequest::builder().keyword("鞋".to_owned()))
        .items()
        .next()
        .await
        .expect("an item or an error");
    assert!(matches!(first, Err(Error::TooLarge { .. })), "{first:?}");
    assert_eq!(check.seen().len(), 3, "one request each, none retried");

    // Within the limit, the same client reads answers as usual.
    client
        .taobao_product_get()
        .item_id("x")
        .call()
        .await
        .expect("a normal answer");
}

#[tokio::test]
async fn a_stalled_body_fails_as_a_timeout_and_only_reads_are_retried() {
    use pandapon_gen::{Error, Outcome, StallPolicy};
    use std::time::Instant;

    let stall = StallPolicy::default().grace(Duration::from_millis(200));
    let stalled = || vec![Fault::Stall(Duration::from_secs(20))];

    // A read: the stalled attempt fails after the grace period and the
    // second attempt answers, long before the 20 s silence ends.
    let (fake, check, _) = start_fake(|fake| fake.faults(stalled())).await;
    let client = bounded(&fake, 1 << 20, stall);
    let started = Instant::now();
    let reply = client
        .taobao_product_get()
        .item_id("x")
        .call()
        .await
        .expect("second attempt");
    assert_eq!(reply.data.quantity, Some(400));
    assert_eq!(check.seen().len(), 2);
    assert!(
        started.elapsed() < Duration::from_secs(15),
        "{:?}",
        started.elapsed()
    );

    // A write: not re-sent, and the error is a timeout whose outcome is unknown.
    let (fake, check, _) = start_fake(|fake| fake.faults(stalled())).await;
    let client = bounded(&fake, 1 << 20, stall);
    let err = client
        .alibaba_order_cancel()
        .body(cancel_body())
        .call()
        .await
        .expect_err("stalled");
    assert!(
        matches!(err, Error::Stalled { policy, .. } if policy == stall),
        "{err:?}"
    );
    assert!(err.is_timeout());
    assert_eq!(err.outcome(), Outcome::Unknown);
    assert!(err.to_string().contains("stall_protection"), "{err}");
    assert_eq!(check.seen().len(), 1);

    // Slow but steady is not a stall: 16-byte pieces every few tens of ms.
    let (fake, check, _) =
        start_fake(|fake| fake.faults([Fault::Slow(Duration::from_millis(600))])).await;
    let client = bounded(&fake, 1 << 20, stall);
    client
        .alibaba_order_cancel()
        .body(cancel_body())
        .call()
        .await
        .expect("a slow answer is read whole");
    assert_eq!(check.seen().len(), 1);

    // With the check off, the attempt timeout is what ends a stall.
    let (fake, _, _) = start_fake(|fake| fake.faults(stalled())).await;
    let client = bounded(&fake, 1 << 20, StallPolicy::disabled());
    let err = client
        .alibaba_order_cancel()
        .body(cancel_body())
        .call_with(CallOptions::default().timeout(Duration::from_millis(500)))
        .await
        .expect_err("timed out");
    assert!(
        matches!(err, Error::Transport(_)) && err.is_timeout(),
        "{err:?}"
    );
}

#[tokio::test]
async fn resets_and_broken_bodies_are_retried_for_reads_and_unknown_for_writes() {
    use pandapon_gen::{Error, Outcome};

    for fault in [Fault::Reset, Fault::Truncate] {
        let (_fake, check, client) = start_fake(|fake| fake.faults([fault.clone()])).await;
        client
            .taobao_product_get()
            .item_id("x")
            .call()
            .await
            .unwrap_or_else(|e| panic!("{fault:?}: second attempt: {e}"));
        assert_eq!(check.seen().len(), 2, "{fault:?}");
        assert_eq!(
            outcome_after(fault.clone()).await,
            (Outcome::Unknown, 1),
            "{fault:?}"
        );
    }
    // Cut-off JSON is not retried: the server answered, wrongly.
    let (_fake, check, client) = start_fake(|fake| fake.faults([Fault::Malformed])).await;
    let err = client
        .taobao_product_get()
        .item_id("x")
        .call()
        .await
        .expect_err("malformed");
    assert!(matches!(err, Error::Decode { .. }), "{err:?}");
    assert_eq!(err.outcome(), Outcome::Unknown);
    assert_eq!(check.seen().len(), 1);
}

#[test]
fn the_size_limit_comes_from_the_environment_too() {
    use pandapon_gen::{ClientBuilder, ConfigError, ENV_MAX_RESPONSE_BYTES};
    fn vars(extra: Option<&'static str>) -> impl Fn(&str) -> Option<String> {
        move |name: &str| match name {
            "PANDAPON_ACCESS_KEY" => Some("ak".to_owned()),
            "PANDAPON_ACCESS_SECRET" => Some("sk".to_owned()),
            "PANDAPON_USER_ID" => Some("u".to_owned()),
            n if n == ENV_MAX_RESPONSE_BYTES => extra.map(str::to_owned),
            _ => None,
        }
    }
    let builder = ClientBuilder::from_lookup(vars(Some("1024"))).expect("valid");
    assert!(
        format!("{builder:?}").contains("max_bytes: 1024"),
        "{builder:?}"
    );
    for bad in ["0", "-1", "lots"] {
        let err = ClientBuilder::from_lookup(vars(Some(bad))).expect_err(bad);
        assert!(
            matches!(err, ConfigError::InvalidVar { name, .. } if name == ENV_MAX_RESPONSE_BYTES),
            "{bad}: {err}"
        );
    }
}

#[tokio::test]
async fn an_error_answer_is_read_up_to_64_kib_and_no_further() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    // A 503 whose body never ends: 100 KiB, then nothing, the connection
    // held open. A client that read it whole would wait out its attempt
    // timeout and fail with a transport timeout; one that stops at 64 KiB
    // has its answer.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let url = format!("http://{}", listener.local_addr().expect("address"));
    let (held_tx, held) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(async move {
        let (mut stream, _) = listener.accept().await.expect("a connection");
        let mut request = [0_u8; 4096];
        let _ = stream.read(&mut request).await;
        let head = "HTTP/1.1 503 Service Unavailable\r\ncontent-type: text/html\r\n\
                    transfer-encoding: chunked\r\n\r\n";
        let piece = format!("{:x}\r\n{}\r\n", 1024, "x".repeat(1024));
        stream.write_all(head.as_bytes()).await.expect("head");
        for _ in 0..100 {
            stream.write_all(piece.as_bytes()).await.expect("a piece");
        }
        // Held open until the test ends.
        let _ = held.await;
    });
    let client = Client::builder(credentials())
        .base_url(url)
        .timeout(Duration::from_secs(60))
        .retry_policy(pandapon_gen::RetryPolicy::none())
        .build()
        .expect("client");
    let err = client
        .taobao_product_get()
        .item_id("x")
        .call()
        .await
        .expect_err("503");
    drop(held_tx);
    assert!(
        matches!(&err, pandapon_gen::Error::Http { status, body } if status.as_u16() == 503 && body.is_truncated()),
        "{err:?}"
    );
}
