//! The hand-written call the benchmarks compare the SDK with: what a careful
//! user writes with reqwest alone (sign, typed body, typed envelope, `code`).

use pandapon_gen::auth::Signer;

/// The cancel body, hand-written.
#[derive(serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Cancel {
    /// Always "1688".
    pub web_site: &'static str,
    /// The order id.
    pub order_id: u64,
}

/// The envelope, hand-written.
#[derive(serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Envelope {
    /// Return code.
    pub code: i64,
    /// Message.
    pub msg: Option<String>,
    /// Request id.
    pub request_id: Option<String>,
    /// Developer id.
    pub develop_id: Option<String>,
    /// Payload.
    pub data: Option<bool>,
}

/// A reqwest client configured like the SDK's: same timeouts, no
/// redirects, no transparent retries, same user agent.
pub fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .connect_timeout(pandapon_gen::DEFAULT_CONNECT_TIMEOUT)
        .timeout(pandapon_gen::DEFAULT_TIMEOUT)
        .redirect(reqwest::redirect::Policy::none())
        .retry(reqwest::retry::never())
        .user_agent(pandapon_gen::USER_AGENT)
        .build()
        .expect("reqwest client")
}

/// Cancels [`crate::ORDER_ID`] at `url` by hand; panics unless PandaPon
/// answers `code` 200 with `data` true.
pub async fn cancel(http: &reqwest::Client, signer: &Signer, url: &str) {
    let mut headers = reqwest::header::HeaderMap::new();
    signer.sign_now().apply(&mut headers);
    let body = Cancel {
        web_site: "1688",
        order_id: crate::ORDER_ID,
    };
    let response = http
        .post(url)
        .header(reqwest::header::ACCEPT, "application/json")
        .headers(headers)
        .json(&body)
        .send()
        .await
        .expect("send");
    let envelope: Envelope = response.json().await.expect("json");
    assert_eq!(envelope.code, 200);
    assert_eq!(envelope.data, Some(true));
}

/// Cancels [`crate::ORDER_ID`] through the SDK's `call()`; panics unless it
/// succeeds with `data` true. The SDK side of every comparison.
pub async fn cancel_via_sdk(client: &pandapon_gen::Client) {
    let reply = client
        .alibaba_order_cancel()
        .body(crate::cancel_body())
        .call()
        .await
        .expect("call");
    assert!(reply.data);
}

/// Runs `calls` calls made by `call`, at most `concurrency` in flight, and
/// returns the wall time.
pub async fn run_calls<F, Fut>(calls: u64, concurrency: usize, call: F) -> std::time::Duration
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = ()> + Send + 'static,
{
    let start = std::time::Instant::now();
    let mut set = tokio::task::JoinSet::new();
    for _ in 0..calls {
        if set.len() >= concurrency {
            set.join_next().await.expect("task").expect("joined");
        }
        set.spawn(call());
    }
    while let Some(done) = set.join_next().await {
        done.expect("joined");
    }
    start.elapsed()
}
