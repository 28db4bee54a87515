//! `POST /v2/alibaba/order/cancel` end to end against a strict local PandaPon.

use std::collections::HashSet;
use std::time::Duration;

use pandapon_gen::types::{AlibabaOrderCancelRequest, WebSite};
use pandapon_gen::{Client, Credentials, Error, TimestampUnit};
use pandapon_httpmock::httpmock::Method::POST;
use pandapon_httpmock::{
    DEVELOP_ID, REQUEST_ID, SIGNATURE_ERROR_CODE, SignatureCheck, business_error, success,
};
use pandapon_tests::{CANARY_SECRET, Harness, USER_ID, credentials};
use serde_json::json;

const PATH: &str = "/v2/alibaba/order/cancel";
const ORDER_ID: u64 = 2542285634920880794;

fn body() -> pandapon_gen::types::builder::AlibabaOrderCancelRequest {
    AlibabaOrderCancelRequest::builder()
        .web_site(WebSite::X1688)
        .order_id(ORDER_ID)
        .cancel_reason("不想要了".to_owned())
}

/// Mounts the cancel route: signed requests with `body()` get `answer`.
async fn mount<'a>(
    h: &'a Harness,
    answer: impl FnOnce(pandapon_httpmock::httpmock::Then),
) -> pandapon_httpmock::httpmock::Mock<'a> {
    h.server
        .mock_async(|when, then| {
            when.method(POST)
                .path(PATH)
                .header("content-type", "application/json")
                .header("user-agent", pandapon_gen::USER_AGENT)
                .json_body(json!({
                    "webSite": "1688",
                    "orderId": ORDER_ID,
                    "cancelReason": "不想要了"
                }))
                // Every digit on the wire, not a float's rounding (…880600).
                .body_includes("\"orderId\":2542285634920880794")
                .is_true(h.check.signed());
            answer(then);
        })
        .await
}

async fn cancel(client: &Client) -> Result<pandapon_gen::Reply<bool>, Error> {
    client.alibaba_order_cancel().body(body()).call().await
}

#[tokio::test]
async fn signed_request_with_exact_body_succeeds() {
    let h = Harness::start().await;
    let route = mount(&h, |then| {
        then.status(200).json_body(success(true));
    })
    .await;

    let reply = cancel(&h.client()).await.expect("cancel succeeds");
    assert!(reply.data);
    assert_eq!(reply.request_id.as_deref(), Some(REQUEST_ID));
    assert_eq!(
        reply.develop_id.map(|d| d.to_string()).as_deref(),
        Some(DEVELOP_ID)
    );
    route.assert_calls_async(1).await;

    let seen = h.check.seen();
    let accepted: Vec<_> = seen.iter().filter(|s| s.verdict.is_ok()).collect();
    assert_eq!(accepted.len(), 1, "{seen:?}");
    assert_eq!(accepted[0].user_id.as_deref(), Some(USER_ID));
    assert_eq!(accepted[0].timestamp.as_ref().map(String::len), Some(13));
}

#[tokio::test]
async fn a_required_field_left_unset_is_an_error_naming_it() {
    let h = Harness::start().await;
    let route = mount(&h, |then| {
        then.status(200).json_body(success(true));
    })
    .await;
    let err = h
        .client()
        .alibaba_order_cancel()
        .body(AlibabaOrderCancelRequest::builder().web_site(WebSite::X1688))
        .call()
        .await
        .expect_err("orderId is required");
    let Error::InvalidRequest(msg) = &err else {
        panic!("expected InvalidRequest, got {err:?}");
    };
    assert!(msg.contains("AlibabaOrderCancelRequest"), "{msg}");
    assert!(msg.contains("no value supplied for order_id"), "{msg}");
    assert_eq!(err.status(), None);
    // Nothing was sent.
    route.assert_calls_async(0).await;
    assert!(h.check.seen().is_empty());

    // `build()` says the same before any call.
    let early = AlibabaOrderCancelRequest::builder()
        .order_id(ORDER_ID)
        .build()
        .expect_err("webSite is required");
    assert_eq!(early.to_string(), "no value supplied for web_site");
}

#[tokio::test]
async fn every_call_has_a_fresh_nonce() {
    let h = Harness::start().await;
    let route = mount(&h, |then| {
        then.status(200).json_body(success(true));
    })
    .await;
    let client = h.client();
    for _ in 0..5 {
        cancel(&client).await.expect("cancel succeeds");
    }
    route.assert_calls_async(5).await;
    let nonces: Vec<_> = h
        .check
        .seen()
        .into_iter()
        .filter(|s| s.verdict.is_ok())
        .filter_map(|s| s.nonce)
        .collect();
    assert_eq!(nonces.len(), 5);
    assert_eq!(nonces.iter().collect::<HashSet<_>>().len(), 5, "{nonces:?}");
    assert!(
        nonces
            .iter()
            .all(|n| n.len() == 32 && n.bytes().all(|b| b.is_ascii_alphanumeric()))
    );
}

#[tokio::test]
async fn seconds_unit_is_signed_and_sent_alike() {
    let server = pandapon_httpmock::httpmock::MockServer::start_async().await;
    let check = SignatureCheck::new(credentials()).with_timestamp_unit(TimestampUnit::Seconds);
    let route = server
        .mock_async(|when, then| {
            when.method(POST).path(PATH).is_true(check.signed());
            then.status(200).json_body(success(true));
        })
        .await;
    let client = Client::builder(credentials())
        .base_url(server.base_url())
        .timestamp_unit(TimestampUnit::Seconds)
        .build()
        .expect("client");
    cancel(&client).await.expect("seconds accepted");
    route.assert_calls_async(1).await;
    let ts = check.seen()[0].timestamp.clone().expect("timestamp");
    assert_eq!(ts.len(), 10, "{ts}");
}

#[tokio::test]
async fn a_wrong_secret_is_rejected_by_the_server() {
    let h = Harness::start().await;
    let route = mount(&h, |then| {
        then.status(200).json_body(success(true));
    })
    .await;
    let wrong = Credentials::new(credentials().access_key(), "not-the-secret", USER_ID)
        .expect("credentials");
    let client = Client::builder(wrong)
        .base_url(h.server.base_url())
        .build()
        .expect("client");
    let err = cancel(&client).await.expect_err("rejected");
    assert_eq!(err.api().map(|a| a.code), Some(SIGNATURE_ERROR_CODE));
    route.assert_calls_async(0).await;
}

#[tokio::test]
async fn raw_send_is_signed_too() {
    // `send()` skips the envelope check but not the signing hook.
    let h = Harness::start().await;
    let route = mount(&h, |then| {
        then.status(200).json_body(success(true));
    })
    .await;
    let raw = h
        .client()
        .alibaba_order_cancel()
        .body(body())
        .send()
        .await
        .expect("raw send");
    assert_eq!(raw.into_inner().code, Some(200));
    route.assert_calls_async(1).await;
}

#[tokio::test]
async fn business_error_inside_http_200_is_an_api_error() {
    let h = Harness::start().await;
    mount(&h, |then| {
        then.status(200)
            .json_body(business_error(500, "订单状态不允许取消"));
    })
    .await;
    let err = cancel(&h.client()).await.expect_err("business error");
    let api = err.api().expect("api error");
    assert_eq!(api.code, 500);
    assert_eq!(api.msg.as_deref(), Some("订单状态不允许取消"));
    assert_eq!(api.request_id.as_deref(), Some(REQUEST_ID));
    assert_eq!(
        api.develop_id.as_ref().map(|d| d.as_str()),
        Some(DEVELOP_ID)
    );
    assert_eq!(api.http_status, 200);
    let shown = err.to_string();
    assert!(
        shown.contains("500") && shown.contains(REQUEST_ID),
        "{shown}"
    );
}

#[tokio::test]
async fn html_502_is_an_http_error_and_is_not_resent() {
    let h = Harness::start().await;
    let route = mount(&h, |then| {
        then.status(502)
            .header("content-type", "text/html")
            .body("<html><body><h1>502 Bad Gateway</h1></body></html>");
    })
    .await;
    let err = cancel(&h.client()).await.expect_err("502");
    match &err {
        Error::Http { status, body } => {
            assert_eq!(*status, 502);
            assert!(body.as_str().contains("502 Bad Gateway"), "{body}");
        }
        other => panic!("expected Error::Http, got {other:?}"),
    }
    // A failed write is never re-sent.
    route.assert_calls_async(1).await;
}

#[tokio::test]
async fn a_huge_error_page_is_kept_as_a_bounded_excerpt() {
    let h = Harness::start().await;
    let page = format!("<html>{}</html>", "x".repeat(200_000));
    mount(&h, move |then| {
        then.status(503).body(page);
    })
    .await;
    let err = cancel(&h.client()).await.expect_err("503");
    let Error::Http { body, .. } = &err else {
        panic!("expected Error::Http, got {err:?}");
    };
    assert!(body.is_truncated());
    assert_eq!(body.as_str().len(), pandapon_gen::EXCERPT_LIMIT);
}

#[tokio::test]
async fn malformed_json_empty_and_wrong_types_are_typed_errors() {
    type Expect = fn(&Error) -> bool;
    let cases: [(&str, Expect); 5] = [
        (
            "{\"code\": 200, \"data\": tru",
            |e| matches!(e, Error::Decode { status, .. } if *status == 200),
        ),
        ("", |e| matches!(e, Error::EmptyBody { .. })),
        (
            "<html>maintenance</html>",
            |e| matches!(e, Error::Decode { body, .. } if body.as_str().contains("maintenance")),
        ),
        (r#"{"code": 200, "data": "yes"}"#, |e| {
            matches!(e, Error::Decode { .. })
        }),
        // An error envelope whose data has an unexpected shape is still the business error.
        (r#"{"code": 4001, "msg": "bad", "data": {"x": 1}}"#, |e| {
            e.api().is_some_and(|a| a.code == 4001)
        }),
    ];
    for (body, expected) in cases {
        let h = Harness::start().await;
        mount(&h, move |then| {
            then.status(200)
                .header("content-type", "application/json")
                .body(body);
        })
        .await;
        let err = cancel(&h.client()).await.expect_err(body);
        assert!(expected(&err), "body {body:?} gave {err:?}");
    }
}

#[tokio::test]
async fn success_without_data_or_code_is_incomplete() {
    for body in [
        json!({"code": 200, "msg": "成功"}),
        json!({"msg": "?", "data": true}),
    ] {
        let h = Harness::start().await;
        let b = body.clone();
        mount(&h, move |then| {
            then.status(200).json_body(b);
        })
        .await;
        let err = cancel(&h.client()).await.expect_err("incomplete");
        assert!(matches!(err, Error::Incomplete { .. }), "{body}: {err:?}");
    }
}

#[tokio::test]
async fn develop_id_as_string_number_or_oversized() {
    for (develop_id, expected) in [
        (json!("1110890638347337996"), Some("1110890638347337996")),
        (json!(1110890638347337996u64), Some("1110890638347337996")),
        (json!(null), None),
    ] {
        let h = Harness::start().await;
        let answer = json!({"requestId": REQUEST_ID, "code": 200, "developId": develop_id, "msg": "成功", "data": true});
        mount(&h, move |then| {
            then.status(200).json_body(answer);
        })
        .await;
        let reply = cancel(&h.client()).await.expect("accepted");
        assert_eq!(reply.develop_id.as_ref().map(|d| d.as_str()), expected);
    }

    let h = Harness::start().await;
    mount(&h, |then| {
        then.status(200)
            .body(r#"{"code":200,"developId":111089063834733799612345,"data":true}"#);
    })
    .await;
    let err = cancel(&h.client()).await.expect_err("oversized id");
    assert!(matches!(err, Error::Decode { .. }), "{err:?}");
    assert!(err.to_string().contains("developId"), "{err}");
}

#[tokio::test]
async fn a_hung_server_times_out_once() {
    let h = Harness::start().await;
    let route = mount(&h, |then| {
        then.status(200)
            .json_body(success(true))
            .delay(Duration::from_secs(5));
    })
    .await;
    let client = h
        .builder()
        .timeout(Duration::from_millis(300))
        .build()
        .expect("client");
    let err = cancel(&client).await.expect_err("timeout");
    assert!(err.is_timeout(), "{err:?}");
    route.assert_calls_async(1).await;
}

#[tokio::test]
async fn connection_refused_is_a_transport_error() {
    let client = Client::builder(credentials())
        .base_url(pandapon_tests::closed_port_url())
        .build()
        .expect("client");
    let err = cancel(&client).await.expect_err("refused");
    assert!(matches!(err, Error::Transport(_)), "{err:?}");
}

#[tokio::test]
async fn no_output_of_a_failed_call_contains_the_secret() {
    let h = Harness::start().await;
    mount(&h, |then| {
        then.status(401).body("unauthorized");
    })
    .await;
    let client = h.client();
    let err = cancel(&client).await.expect_err("401");
    for text in [
        format!("{err}"),
        format!("{err:?}"),
        format!("{client:?}"),
        format!("{:?}", client.signer()),
    ] {
        assert!(!text.contains(CANARY_SECRET), "secret leaked: {text}");
    }
}

#[tokio::test]
async fn a_dry_run_signs_shows_and_sends_nothing() {
    let h = Harness::start().await;
    let route = mount(&h, |then| {
        then.status(200).json_body(success(true));
    })
    .await;
    let shown = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let keep = shown.clone();
    let client = h
        .builder()
        .dry_run(move |req| {
            let body = req
                .body()
                .and_then(|b| b.as_bytes())
                .unwrap_or_default()
                .to_vec();
            keep.lock()
                .expect("lock")
                .push((req.headers().clone(), body));
        })
        .build()
        .expect("client");
    let err = cancel(&client).await.expect_err("dry run");
    assert!(matches!(err, Error::DryRun), "{err:?}");
    route.assert_calls_async(0).await;
    let shown = shown.lock().expect("lock");
    let (headers, body) = &shown[0];
    // The five signing headers and the body's type, nothing else: no
    // `api-version` (the generator's default, which PandaPon does not
    // document). The user agent is a client default, added on sending.
    let mut names: Vec<&str> = headers.keys().map(|k| k.as_str()).collect();
    names.sort_unstable();
    assert_eq!(
        names,
        [
            "accept",
            "access-key",
            "content-type",
            "nonce-str",
            "signature",
            "timestamp",
            "user-id"
        ]
    );
    let verifier = pandapon_gen::auth::Verifier::new(credentials());
    assert_eq!(
        verifier.verify_headers(headers, std::time::SystemTime::now()),
        Ok(())
    );
    assert!(String::from_utf8_lossy(body).contains("2542285634920880794"));
}
