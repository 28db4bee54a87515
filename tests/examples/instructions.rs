//! One side of the client comparison alone, on one thread (client and fake
//! server share it), so that a counting tool sees only that side's work:
//! `scripts/bench-instructions.sh` runs it under cachegrind.
//!
//! `instructions sdk|intercepted|hand [CALLS]` makes CALLS calls of
//! `alibaba_order_cancel` (default 1,000) through the generated client as
//! shipped, through the same client with one interceptor registered (which
//! counts attempts), or through the hand-written reqwest call.
//! `instructions sizes` prints the size in bytes of each side's call
//! future, which is copied as the future moves.

use pandapon_gen::Client;
use pandapon_gen::auth::Signer;
use pandapon_httpmock::{FakePandaPon, SignatureCheck};
use pandapon_tests::baseline;
use pandapon_tests::{cancel_body, credentials};

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let mut args = std::env::args().skip(1);
    let side = args.next().unwrap_or_else(|| "sdk".to_owned());
    let calls: u64 = args.next().and_then(|n| n.parse().ok()).unwrap_or(1_000);
    let fake = FakePandaPon::start(
        ([127, 0, 0, 1], 0).into(),
        SignatureCheck::new(credentials()),
    )
    .await
    .expect("fake");
    let sdk = Client::builder(credentials())
        .base_url(fake.base_url())
        .build()
        .expect("client");
    /// An interceptor that counts attempts, as a metrics one would.
    struct Counter(std::sync::atomic::AtomicU64);
    impl pandapon_gen::Interceptor for Counter {
        fn after_attempt(&self, _: &pandapon_gen::AfterAttempt<'_>) {
            self.0.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        }
    }
    let intercepted = Client::builder(credentials())
        .base_url(fake.base_url())
        .interceptor(Counter(std::sync::atomic::AtomicU64::new(0)))
        .build()
        .expect("client");
    let http = baseline::client();
    let signer = Signer::new(credentials());
    let url = format!("{}/v2/alibaba/order/cancel", fake.base_url());
    match side.as_str() {
        "sizes" => {
            let call = sdk.alibaba_order_cancel().body(cancel_body()).call();
            println!("sdk call future: {} bytes", std::mem::size_of_val(&call));
            let hand = baseline::cancel(&http, &signer, &url);
            println!("hand call future: {} bytes", std::mem::size_of_val(&hand));
        }
        "sdk" => {
            for _ in 0..calls {
                baseline::cancel_via_sdk(&sdk).await;
            }
        }
        "intercepted" => {
            for _ in 0..calls {
                baseline::cancel_via_sdk(&intercepted).await;
            }
        }
        "hand" => {
            for _ in 0..calls {
                baseline::cancel(&http, &signer, &url).await;
            }
        }
        other => {
            eprintln!("usage: instructions sdk|intercepted|hand [CALLS] | sizes (not {other:?})");
            std::process::exit(2);
        }
    }
}
