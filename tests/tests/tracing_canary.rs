//! What tracing shows of calls, with a canary secret — in its own test
//! binary, so that no concurrent test touches tracing's per-callsite state
//! while the subscriber is installed.

use std::sync::{Arc, Mutex};

use pandapon_gen::Error;
use pandapon_httpmock::Fault;
use pandapon_tests::{CANARY_SECRET, cancel_body, start_fake};

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

            let (_fake, _check, client) =
                start_fake(|fake| fake.faults([Fault::Status(503, None)])).await;
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
        });
    });
    let text = captured.text();
    assert!(!text.contains(CANARY_SECRET), "secret in traces");
    // Nothing was sent, so even a write is tried the policy's 4 times.
    let refused = text
        .lines()
        .filter(|l| l.contains("attempt failed"))
        .count();
    assert_eq!(refused, 4, "{text}");
    for needle in [
        "operation=\"alibaba_order_cancel\"",
        "operation=\"taobao_product_get\"",
        "attempt=2",
        "status=503",
        "status=200",
        "request_id=\"0d1de79d9f4540308d14c558f86cb3da\"",
        "elapsed_ms=",
    ] {
        assert!(
            text.contains(needle),
            "{needle} missing from traces:\n{text}"
        );
    }
}
