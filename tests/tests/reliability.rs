//! Retries that cannot double-spend, timeouts, the clock offset, and what
//! tracing shows — against a fake PandaPon that injects faults.

use std::collections::HashSet;
use std::time::Duration;

use pandapon_gen::{CallOptions, Client, Retry};
use pandapon_httpmock::{Fault, SignatureCheck};
use pandapon_tests::{cancel_body, credentials, faulty_fake, quick_retries};

fn nonces(check: &SignatureCheck) -> Vec<String> {
    check.seen().into_iter().filter_map(|s| s.nonce).collect()
}

#[tokio::test]
async fn a_read_is_retried_through_two_503s_with_fresh_signatures() {
    let (_fake, check, client) =
        faulty_fake(vec![Fault::Status(503, None), Fault::Status(503, None)]).await;
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
    let (_fake, check, client) = faulty_fake(vec![Fault::Status(503, None)]).await;
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
    let (_fake, check, client) = faulty_fake(vec![Fault::Status(502, None)]).await;
    client
        .alibaba_order_cancel()
        .body(cancel_body())
        .call_with(CallOptions::default().retry(Retry::Always))
        .await
        .expect("retried by request");
    assert_eq!(check.seen().len(), 2);

    let (_fake, check, client) = faulty_fake(vec![Fault::Status(504, None)]).await;
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
    let (_fake, check, client) = faulty_fake(vec![Fault::Status(429, Some(1))]).await;
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
    let (_fake, check, client) = faulty_fake(hang()).await;
    let per_call = CallOptions::default().timeout(Duration::from_millis(300));
    client
        .taobao_product_get()
        .item_id("x")
        .call_with(per_call.clone())
        .await
        .expect("second attempt");
    assert_eq!(check.seen().len(), 2);

    let (_fake, check, client) = faulty_fake(hang()).await;
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
    let (_fake, check, client) = faulty_fake(vec![Fault::Status(503, Some(1)); 5]).await;
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
    let (fake, _check, _) = faulty_fake(vec![]).await;
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
    let (_fake, check, client) = faulty_fake(vec![fault]).await;
    let err = client
        .alibaba_order_cancel()
        .body(cancel_body())
        .call_with(CallOptions::default().timeout(Duration::from_millis(200)))
        .await
        .expect_err("the fault fails the call");
    (err.outcome(), check.seen().len())
}

#[tokio::test]
async fn every_failure_says_whether_the_request_may_have_taken_effect() {
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
    let client = Client::builder(credentials())
        .base_url(pandapon_tests::closed_port_url())
        .retry_policy(quick_retries())
        .build()
        .expect("client");
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
