//! What tracing shows of calls, with a canary secret — in its own test
//! binary, so that no concurrent test touches tracing's per-callsite state
//! while the subscriber is installed.

use std::sync::{Arc, Mutex};

use pandapon_gen::Error;
use pandapon_httpmock::Fault;
use pandapon_tests::{CANARY_SECRET, cancel_body, start_fake};

/// A credential a caller adds as an extra header: it must not be shown.
const CANARY_KEY: &str = "canary-api-key-7f3a9c";

/// Logs each attempt's `Debug`, as a careless interceptor would.
struct LogsAttempts;

impl pandapon_gen::Interceptor for LogsAttempts {
    fn before_attempt(&self, attempt: &pandapon_gen::BeforeAttempt<'_>) {
        tracing::info!(?attempt, "interceptor saw");
    }
}

/// Captures everything tracing emits, at every level.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().expect("lock").extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Captured {
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().expect("lock")).into_owned()
    }
}

#[test]
fn connection_refused_is_retried_for_writes_and_traced_without_the_secret() {
    let check_slot = Mutex::new(None);
    let captured = Captured::default();
    let writer = captured.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_writer(move || writer.clone())
        .with_ansi(false)
        .finish();
    tracing::subscriber::with_default(subscriber, || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        rt.block_on(async {
            let client = pandapon_tests::unreachable_client();
            let err = client
                .alibaba_order_cancel()
                .body(cancel_body())
                .call()
                .await;
            assert!(matches!(err, Err(Error::Transport(_))), "{err:?}");

            let (first_fake, fake_check, client) =
                start_fake(|fake| fake.faults([Fault::Status(503, None)])).await;
            *check_slot.lock().expect("lock") = Some(fake_check);
            client
                .taobao_product_get()
                .item_id("x")
                .call()
                .await
                .expect("ok");
            let _ = client
                .alibaba_order_cancel()
                .body(cancel_body())
                .call()
                .await;

            // A credential of the caller's as an extra header, with an
            // interceptor and the options themselves logged.
            let client = pandapon_gen::Client::builder(pandapon_tests::credentials())
                .base_url(first_fake.base_url())
                .interceptor(LogsAttempts)
                .build()
                .expect("client");
            let options =
                pandapon_gen::CallOptions::default().extra_header("x-api-key", CANARY_KEY);
            tracing::info!(?options, "calling with");
            client
                .taobao_product_get()
                .item_id("x")
                .call_with(options)
                .await
                .expect("ok");

            // A retry the budget cannot pay for: said in the error and in
            // an event.
            let (fake, _check, _) = start_fake(|fake| {
                fake.faults([Fault::Status(503, None), Fault::Status(503, None)])
            })
            .await;
            let client = pandapon_gen::Client::builder(pandapon_tests::credentials())
                .base_url(fake.base_url())
                .retry_policy(pandapon_tests::quick_retries())
                .retry_budget(
                    pandapon_gen::RetryBudget::default()
                        .capacity(5)
                        .retry_cost(5, 5),
                )
                .build()
                .expect("client");
            let e = client
                .taobao_product_get()
                .item_id("x")
                .call()
                .await
                .expect_err("the budget stops the second retry");
            assert!(e.retry_budget_spent(), "{e:?}");
            assert_eq!(e.status().map(|s| s.as_u16()), Some(503));
        });
    });
    let text = captured.text();
    let check = check_slot
        .lock()
        .expect("lock")
        .take()
        .expect("the fake's check");
    assert!(!text.contains(CANARY_SECRET), "secret in traces");
    assert!(
        !text.contains(CANARY_KEY),
        "an extra header's value in traces:\n{text}"
    );
    // No signature or nonce that was sent appears anywhere.
    pandapon_tests::process::assert_no_signing_values(
        &text,
        &pandapon_tests::credentials(),
        &check.seen(),
    );
    // Nothing was sent, so even a write is tried the policy's 4 times.
    let refused = text
        .lines()
        .filter(|l| l.contains("attempt failed"))
        .count();
    assert_eq!(refused, 4, "{text}");
    for needle in [
        "pandapon.operation=\"alibaba_order_cancel\"",
        "pandapon.operation=\"taobao_product_get\"",
        "pandapon.attempt=2",
        "http.response.status_code=503",
        "http.response.status_code=200",
        "http.request.resend_count=1",
        "pandapon.request_id=\"0d1de79d9f4540308d14c558f86cb3da\"",
        "elapsed_ms=",
        // The wire log, at TRACE: request and answer, signing values
        // redacted.
        "> POST http://127.0.0.1:",
        "> signature: <redacted>",
        "> nonce-str: <redacted>",
        "> x-api-key: <redacted>",
        // The interceptor's and the options' Debug: the name, not the value.
        "header_names: [",
        "(\"x-api-key\", \"<redacted>\")",
        "< 503 Service Unavailable (taobao_product_get, attempt 1)",
        "< 200 OK (taobao_product_get, attempt 2)",
        "retry not made: the client's retry budget is spent",
    ] {
        assert!(
            text.contains(needle),
            "{needle} missing from traces:\n{text}"
        );
    }
}

/// The spans as an OpenTelemetry backend receives them through
/// tracing-opentelemetry (the export the tracing guide shows): span kind
/// client, the HTTP client attributes under their OpenTelemetry names, and
/// PandaPon's own.
#[test]
fn spans_export_to_opentelemetry_with_http_client_attributes() {
    use opentelemetry::trace::{SpanKind, TracerProvider as _};
    use opentelemetry::{KeyValue, Value};
    use opentelemetry_sdk::trace::{InMemorySpanExporterBuilder, SdkTracerProvider, SpanData};
    use tracing_subscriber::Layer as _;
    use tracing_subscriber::layer::SubscriberExt as _;

    let exporter = InMemorySpanExporterBuilder::new().build();
    let provider = SdkTracerProvider::builder()
        .with_simple_exporter(exporter.clone())
        .build();
    let layer = tracing_opentelemetry::layer()
        .with_tracer(provider.tracer("pandapon-tests"))
        .with_filter(tracing_subscriber::filter::LevelFilter::DEBUG);
    let subscriber = tracing_subscriber::registry().with(layer);
    let mut port = 0;
    tracing::subscriber::with_default(subscriber, || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        rt.block_on(async {
            // A read answered 503, then 200; a write refused with a business
            // error; an any-path call to a path signed in the query too.
            let arrivals = std::sync::atomic::AtomicUsize::new(0);
            let (fake, _check, client) = start_fake(|fake| {
                fake.plan(move |_| {
                    match arrivals.fetch_add(1, std::sync::atomic::Ordering::SeqCst) {
                        0 => Some(Fault::Status(503, None)),
                        2 => Some(Fault::Business(7001, "refused".into())),
                        _ => None,
                    }
                })
            })
            .await;
            port = fake.addr().port();
            client
                .taobao_product_get()
                .item_id("x")
                .call()
                .await
                .expect("ok");
            let e = client
                .alibaba_order_cancel()
                .body(cancel_body())
                .call()
                .await
                .expect_err("refused");
            assert_eq!(e.api().map(|a| a.code), Some(7001));
            client
                .request(
                    pandapon_gen::Method::POST,
                    "/v2/open/pp/logistics/itemLogisticsPrice",
                )
                .json(&serde_json::json!({}))
                .read_only()
                .call::<serde_json::Value>()
                .await
                .expect("query-signed call");
        });
    });
    let spans = exporter.get_finished_spans().expect("spans");
    let attr = |span: &SpanData, key: &str| -> Option<Value> {
        span.attributes
            .iter()
            .find(|kv: &&KeyValue| kv.key.as_str() == key)
            .map(|kv| kv.value.clone())
    };
    let named =
        |name: &str| -> Vec<&SpanData> { spans.iter().filter(|s| s.name == name).collect() };
    let text = |v: Option<Value>| v.map(|v| v.as_str().into_owned());

    // The read: one call span, two attempt spans, all of kind client.
    let read = named("taobao_product_get");
    assert_eq!(read.len(), 3, "{spans:#?}");
    assert!(
        read.iter().all(|s| s.span_kind == SpanKind::Client),
        "{read:#?}"
    );
    let call = read
        .iter()
        .find(|s| attr(s, "pandapon.attempt").is_none())
        .expect("the call span");
    assert_eq!(
        text(attr(call, "pandapon.operation")).as_deref(),
        Some("taobao_product_get")
    );
    assert_eq!(text(attr(call, "pandapon.outcome")).as_deref(), Some("ok"));
    assert_eq!(
        text(attr(call, "pandapon.request_id")).as_deref(),
        Some(pandapon_httpmock::REQUEST_ID)
    );
    assert_eq!(
        text(attr(call, "http.request.method")).as_deref(),
        Some("GET")
    );
    assert_eq!(
        text(attr(call, "server.address")).as_deref(),
        Some("127.0.0.1")
    );
    assert_eq!(attr(call, "server.port"), Some(Value::I64(i64::from(port))));
    assert_eq!(
        attr(call, "http.response.status_code"),
        Some(Value::I64(200))
    );
    assert_eq!(attr(call, "http.request.resend_count"), Some(Value::I64(1)));
    let url = text(attr(call, "url.full")).expect("url.full");
    assert_eq!(
        url,
        format!("http://127.0.0.1:{port}/v2/taobao/product/get?itemId=x")
    );
    let attempt = |n: i64| {
        read.iter()
            .find(|s| attr(s, "pandapon.attempt") == Some(Value::I64(n)))
            .unwrap_or_else(|| {
                let shown: Vec<Vec<String>> = read
                    .iter()
                    .map(|s| {
                        s.attributes
                            .iter()
                            .map(|kv| format!("{}={}", kv.key, kv.value))
                            .collect()
                    })
                    .collect();
                panic!("attempt {n}: {shown:#?}")
            })
    };
    assert_eq!(
        attr(attempt(1), "http.response.status_code"),
        Some(Value::I64(503))
    );
    assert_eq!(
        text(attr(attempt(1), "error.type")).as_deref(),
        Some("http")
    );
    assert_eq!(attr(attempt(1), "http.request.resend_count"), None);
    assert_eq!(
        attr(attempt(2), "http.response.status_code"),
        Some(Value::I64(200))
    );
    assert_eq!(
        attr(attempt(2), "http.request.resend_count"),
        Some(Value::I64(1))
    );
    assert_eq!(attr(attempt(2), "error.type"), None);
    assert_eq!(
        text(attr(attempt(2), "http.request.method")).as_deref(),
        Some("GET")
    );

    // The refused write: its error's kind and its outcome.
    let write = named("alibaba_order_cancel");
    let call = write
        .iter()
        .find(|s| attr(s, "pandapon.attempt").is_none())
        .expect("the call span");
    assert_eq!(text(attr(call, "error.type")).as_deref(), Some("api"));
    // Every field once (a field recorded twice is two attributes), the
    // refused write's request id included.
    for span in spans.iter() {
        let mut keys: Vec<&str> = span.attributes.iter().map(|kv| kv.key.as_str()).collect();
        let all = keys.len();
        keys.sort_unstable();
        keys.dedup();
        assert_eq!(
            keys.len(),
            all,
            "a field recorded twice: {:?}",
            span.attributes
        );
    }
    assert_eq!(
        text(attr(call, "pandapon.request_id")).as_deref(),
        Some(pandapon_httpmock::REQUEST_ID)
    );
    assert_eq!(
        text(attr(call, "pandapon.outcome")).as_deref(),
        Some("refused")
    );
    assert_eq!(
        text(attr(call, "http.request.method")).as_deref(),
        Some("POST")
    );

    // The query-signed call: url.full without the signing values.
    let any = named("request");
    let call = any
        .iter()
        .find(|s| attr(s, "pandapon.attempt").is_none())
        .expect("the call span");
    let url = text(attr(call, "url.full")).expect("url.full");
    assert_eq!(
        url,
        format!("http://127.0.0.1:{port}/v2/open/pp/logistics/itemLogisticsPrice")
    );
}

/// When the SDK's own spans are filtered out, the span current during a
/// call is the application's: the SDK writes none of its fields into it,
/// though it declares fields of the same names.
#[test]
fn with_the_sdk_spans_filtered_out_the_application_s_span_is_left_alone() {
    use opentelemetry::trace::TracerProvider as _;
    use opentelemetry_sdk::trace::{InMemorySpanExporterBuilder, SdkTracerProvider};
    use tracing_subscriber::Layer as _;
    use tracing_subscriber::filter::{LevelFilter, Targets};
    use tracing_subscriber::layer::SubscriberExt as _;

    let exporter = InMemorySpanExporterBuilder::new().build();
    let provider = SdkTracerProvider::builder()
        .with_simple_exporter(exporter.clone())
        .build();
    let layer = tracing_opentelemetry::layer()
        .with_tracer(provider.tracer("app"))
        .with_filter(
            Targets::new()
                .with_default(LevelFilter::INFO)
                .with_target("pandapon_gen", LevelFilter::OFF),
        );
    let subscriber = tracing_subscriber::registry().with(layer);
    tracing::subscriber::with_default(subscriber, || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        rt.block_on(async {
            let (_fake, _check, client) = start_fake(|fake| fake).await;
            let span = tracing::info_span!(
                "app.handler",
                http.request.method = tracing::field::Empty,
                http.response.status_code = tracing::field::Empty,
                url.full = tracing::field::Empty,
                pandapon.request_id = tracing::field::Empty,
            );
            let call = client.taobao_product_get().item_id("x").call();
            tracing::Instrument::instrument(call, span)
                .await
                .expect("ok");
        });
    });
    let spans = exporter.get_finished_spans().expect("spans");
    let app = spans
        .iter()
        .find(|s| s.name == "app.handler")
        .expect("the application's span");
    let written: Vec<&str> = app
        .attributes
        .iter()
        .map(|kv| kv.key.as_str())
        .filter(|k| k.starts_with("http.") || k.starts_with("url.") || k.starts_with("pandapon."))
        .collect();
    assert!(
        written.is_empty(),
        "the SDK wrote into the application's span: {written:?}"
    );
    assert!(
        spans
            .iter()
            .all(|s| !s.name.starts_with("pandapon.") && s.name != "taobao_product_get")
    );
}
