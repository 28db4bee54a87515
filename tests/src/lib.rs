//! Shared set-up for the end-to-end tests: a strict local PandaPon and a
//! client pointed at it.

pub mod baseline;
pub mod chaos;
pub mod load;
pub mod postgres;
pub mod process;
pub mod proxy;

use pandapon_gen::{Client, ClientBuilder, Credentials};
use pandapon_httpmock::httpmock::MockServer;
use pandapon_httpmock::{FakeBuilder, FakePandaPon, SignatureCheck};

/// A secret that must never show up in any output.
pub const CANARY_SECRET: &str = "canary-SECRET-3f9a1c";
/// The user id the tests sign as.
pub const USER_ID: &str = "2100007341207";

/// Test credentials carrying [`CANARY_SECRET`].
pub fn credentials() -> Credentials {
    Credentials::new("58c0201dfdf148eca63cbf6bb5e7cf03", CANARY_SECRET, USER_ID)
        .expect("valid test credentials")
}

/// The order id the tests cancel (19 digits, beyond 2^53).
pub const ORDER_ID: u64 = 2542285634920880794;

/// A cancel body for [`ORDER_ID`].
pub fn cancel_body() -> pandapon_gen::types::AlibabaOrderCancelRequest {
    pandapon_gen::types::AlibabaOrderCancelRequest::builder()
        .web_site(pandapon_gen::types::WebSite::X1688)
        .order_id(ORDER_ID)
        .try_into()
        .expect("both required fields are set")
}

/// A local URL with nothing listening behind it (a port bound, then freed).
pub fn closed_port_url() -> String {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("free port")
        .port();
    format!("http://127.0.0.1:{port}")
}

/// A client aimed at [`closed_port_url`], with [`quick_retries`]: every
/// call fails to connect.
pub fn unreachable_client() -> Client {
    Client::builder(credentials())
        .base_url(closed_port_url())
        .retry_policy(quick_retries())
        .build()
        .expect("client")
}

/// The default retry policy with millisecond backoff, for quick tests.
pub fn quick_retries() -> pandapon_gen::RetryPolicy {
    pandapon_gen::RetryPolicy::default()
        .initial_backoff(std::time::Duration::from_millis(10))
        .max_backoff(std::time::Duration::from_secs(2))
}

/// A fake PandaPon set up by `setup` (faults, a plan, extra routes), its
/// signature check (which logs every request that arrives), and a client
/// with [`quick_retries`].
pub async fn start_fake(
    setup: impl FnOnce(FakeBuilder) -> FakeBuilder,
) -> (FakePandaPon, SignatureCheck, Client) {
    let check = SignatureCheck::new(credentials());
    let fake = setup(FakePandaPon::builder(check.clone()))
        .start(([127, 0, 0, 1], 0).into())
        .await
        .expect("fake starts");
    let client = Client::builder(credentials())
        .base_url(fake.base_url())
        .retry_policy(quick_retries())
        .build()
        .expect("client");
    (fake, check, client)
}

/// A local server that verifies signatures like PandaPon.
pub struct Harness {
    /// The mock server.
    pub server: MockServer,
    /// The signature check its mocks use.
    pub check: SignatureCheck,
}

impl Harness {
    /// Starts a server; badly signed requests get a business error.
    pub async fn start() -> Self {
        let server = MockServer::start_async().await;
        let check = SignatureCheck::new(credentials());
        check.guard(&server).await;
        Self { server, check }
    }

    /// A client builder aimed at this server.
    pub fn builder(&self) -> ClientBuilder {
        Client::builder(credentials()).base_url(self.server.base_url())
    }

    /// A client aimed at this server with default settings.
    pub fn client(&self) -> Client {
        self.builder().build().expect("client builds")
    }
}
