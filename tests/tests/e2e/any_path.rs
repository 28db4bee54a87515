//! `Client::request`: a signed call to a path the spec does not have, against
//! the signature-checking fake, with the same envelope, errors, retries and
//! dry run as a generated operation.

use std::sync::{Arc, Mutex};

use pandapon_gen::{CallOptions, Client, Error, Method, Retry};
use pandapon_httpmock::{FakePandaPon, Fault, Route, SignatureCheck};
use pandapon_tests::credentials;
use pandapon_tests::start_fake;
use serde::Deserialize;

/// Paths no operation of the spec has, served by the fake as extra routes.
const READ: &str = "/v2/example/order/detail";
const WRITE: &str = "/v2/example/order/create";
const LOGISTICS: &str = "/v2/open/pp/logistics/example";

/// The extra routes; the one under a warehouse-logistics prefix is
/// query-signed, as the client signs it.
const EXTRA: [Route; 3] = [
    Route::extra(
        "GET",
        READ,
        Some(
            r#"{"code":0,"requestId":"x","data":{"orderId":"2542285634920880794","status":"WAIT_PAY"}}"#,
        ),
    ),
    Route::extra("POST", WRITE, Some(r#"{"code":0,"data":true}"#)),
    Route::extra(
        "POST",
        LOGISTICS,
        Some(r#"{"code":0,"data":{"fee":"12.00"}}"#),
    ),
];

async fn fake(faults: Vec<Fault>) -> (FakePandaPon, SignatureCheck, Client) {
    start_fake(|fake| fake.faults(faults).routes(EXTRA)).await
}

/// A client of `base_url` signing with the wrong secret.
fn wrong_client(base_url: &str) -> Client {
    let wrong = pandapon_gen::Credentials::new(
        "58c0201dfdf148eca63cbf6bb5e7cf03",
        "not-the-secret",
        pandapon_tests::USER_ID,
    )
    .expect("credentials");
    Client::builder(wrong)
        .base_url(base_url)
        .build()
        .expect("client")
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Detail {
    order_id: pandapon_gen::StringId,
    status: String,
}

#[tokio::test]
async fn a_read_marked_read_only_is_signed_decoded_and_retried() {
    let (_fake, check, client) = fake(vec![Fault::Status(503, None)]).await;
    let reply = client
        .request(Method::GET, READ)
        .query("orderId", 2542285634920880794_u64)
        .read_only()
        .call::<Detail>()
        .await
        .expect("the second attempt succeeds");
    assert_eq!(reply.data.order_id.to_string(), "2542285634920880794");
    assert_eq!(reply.data.status, "WAIT_PAY");
    assert_eq!(
        reply.request_id.as_deref(),
        Some(pandapon_httpmock::REQUEST_ID)
    );
    let seen = check.seen();
    assert_eq!(seen.len(), 2, "one 503, one retry: {seen:?}");
    assert!(
        seen.iter().all(|s| s.verdict.is_ok() && s.path == READ),
        "{seen:?}"
    );
    assert_ne!(seen[0].nonce, seen[1].nonce, "each attempt signed afresh");

    // The same read as JSON, untyped.
    let (_fake, _, client) = fake(Vec::new()).await;
    let reply = client
        .request(Method::GET, READ)
        .read_only()
        .call::<serde_json::Value>()
        .await
        .expect("read");
    assert_eq!(reply.data["status"], "WAIT_PAY");
}

#[tokio::test]
async fn a_read_not_marked_read_only_is_a_write_and_not_resent() {
    let (_fake, check, client) = fake(vec![Fault::Status(503, None)]).await;
    let err = client
        .request(Method::GET, READ)
        .call::<serde_json::Value>()
        .await
        .expect_err("503, not retried");
    assert_eq!(err.status().map(|s| s.as_u16()), Some(503));
    assert_eq!(check.seen().len(), 1);

    // Per-call options mark it too.
    let (_fake, check, client) = fake(vec![Fault::Status(503, None)]).await;
    client
        .request(Method::GET, READ)
        .call_with::<serde_json::Value>(CallOptions::default().retry(Retry::Always))
        .await
        .expect("retried by request");
    assert_eq!(check.seen().len(), 2);
}

#[tokio::test]
async fn a_write_sends_its_json_body_and_is_never_resent() {
    let (_fake, check, client) = fake(vec![Fault::Status(502, None)]).await;
    let body = serde_json::json!({"orderId": 2542285634920880794_u64, "remark": "x"});
    let err = client
        .request(Method::POST, WRITE)
        .json(&body)
        .call::<bool>()
        .await
        .expect_err("502, not re-sent");
    assert_eq!(err.status().map(|s| s.as_u16()), Some(502));
    assert_eq!(check.seen().len(), 1);

    let (_fake, check, client) = fake(Vec::new()).await;
    let reply = client
        .request(Method::POST, WRITE)
        .json(&body)
        .call::<bool>()
        .await
        .expect("created");
    assert!(reply.data);
    assert_eq!(check.seen().len(), 1);
}

#[tokio::test]
async fn a_business_error_is_an_api_error() {
    let (_fake, _check, client) = fake(vec![Fault::Business(500, "订单不存在".into())]).await;
    let err = client
        .request(Method::POST, WRITE)
        .json(&serde_json::json!({}))
        .call::<bool>()
        .await
        .expect_err("refused");
    let api = err.api().expect("business error");
    assert_eq!(api.code, 500);
    assert_eq!(api.msg.as_deref(), Some("订单不存在"));
    assert_eq!(
        api.request_id.as_deref(),
        Some(pandapon_httpmock::REQUEST_ID)
    );
}

#[tokio::test]
async fn a_bad_signature_is_refused_by_the_fake() {
    let (fake, _check, _) = fake(Vec::new()).await;
    let client = wrong_client(&fake.base_url());
    let err = client
        .request(Method::GET, READ)
        .read_only()
        .call::<serde_json::Value>()
        .await
        .expect_err("refused");
    assert_eq!(
        err.api().map(|e| e.code),
        Some(pandapon_httpmock::SIGNATURE_ERROR_CODE)
    );
}

#[tokio::test]
async fn warehouse_logistics_paths_are_query_signed() {
    let (_fake, check, client) = fake(Vec::new()).await;
    let reply = client
        .request(Method::POST, LOGISTICS)
        .json(&serde_json::json!({"itemId": "1"}))
        .call::<serde_json::Value>()
        .await
        .expect("the fake checks timestamp and sign in the query");
    assert_eq!(reply.data["fee"], "12.00");
    assert_eq!(check.seen().len(), 1);
    assert!(pandapon_gen::is_query_signed_path(LOGISTICS));
    assert!(!pandapon_gen::is_query_signed_path(READ));
}

#[test]
fn the_query_signed_paths_cover_exactly_the_spec_s_query_signed_operations() {
    for route in pandapon_gen::OPERATIONS {
        assert_eq!(
            pandapon_gen::is_query_signed_path(route.path),
            route.query_signed,
            "{} {}",
            route.id,
            route.path
        );
    }
}

#[tokio::test]
async fn a_dry_run_signs_and_shows_the_request_without_sending() {
    let shown = Arc::new(Mutex::new(Vec::new()));
    let keep = shown.clone();
    let client = Client::builder(credentials())
        .base_url("http://127.0.0.1:1")
        .dry_run(move |r: &reqwest::Request| keep.lock().expect("lock").push(r.url().to_string()))
        .build()
        .expect("client");
    let err = client
        .request(Method::POST, LOGISTICS)
        .query("lang", "en")
        .json(&serde_json::json!({}))
        .call::<serde_json::Value>()
        .await
        .expect_err("dry run");
    assert!(matches!(err, Error::DryRun), "{err:?}");
    let urls = shown.lock().expect("lock").clone();
    assert_eq!(urls.len(), 1);
    assert!(urls[0].contains("lang=en"), "{}", urls[0]);
    assert!(
        urls[0].contains("timestamp=") && urls[0].contains("sign="),
        "{}",
        urls[0]
    );
}

#[tokio::test]
async fn the_httpmock_route_helper_checks_the_signature_for_any_path() {
    let h = pandapon_tests::Harness::start().await;
    let route = h
        .check
        .route(
            &h.server,
            pandapon_httpmock::httpmock::Method::POST,
            WRITE,
            |when| when.json_body_includes(r#"{"remark":"x"}"#),
            |then| {
                then.status(200).json_body(pandapon_httpmock::success(true));
            },
        )
        .await;
    let reply = h
        .client()
        .request(Method::POST, WRITE)
        .json(&serde_json::json!({"remark": "x"}))
        .call::<bool>()
        .await
        .expect("signed call matches");
    assert!(reply.data);
    route.assert_calls_async(1).await;

    // A wrong secret misses the route and meets the guard's business error.
    let client = wrong_client(&h.server.base_url());
    let err = client
        .request(Method::POST, WRITE)
        .json(&serde_json::json!({"remark": "x"}))
        .call::<bool>()
        .await
        .expect_err("refused");
    assert_eq!(
        err.api().map(|e| e.code),
        Some(pandapon_httpmock::SIGNATURE_ERROR_CODE)
    );
    route.assert_calls_async(1).await;
}

#[tokio::test]
async fn a_path_without_a_leading_slash_is_an_invalid_request() {
    let (_fake, check, client) = fake(Vec::new()).await;
    let err = client
        .request(Method::GET, "v2/example/order/detail")
        .call::<serde_json::Value>()
        .await
        .expect_err("invalid");
    assert!(
        matches!(&err, Error::InvalidRequest(msg) if msg.contains("must start with `/`")),
        "{err:?}"
    );
    assert!(check.seen().is_empty());
}
