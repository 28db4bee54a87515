//! Pushed order messages end to end: the receiver answers as documented,
//! stores before it acknowledges and never twice, cuts off slow clients, and
//! the fake PandaPon pushes what a flow would make PandaPon push.

use std::time::Duration;

use pandapon_gen::auth::push_signature;
use pandapon_gen::push::inbox::{
    Claimed, Inbox, InboxError, Listing, NewMessage, SqliteInbox, Stored, StoredMessage,
};
use pandapon_gen::push::receiver::{Receiver, serve};
use pandapon_gen::{Credentials, PushEvent};
use pandapon_httpmock::{FakePandaPon, SignatureCheck};
use pandapon_tests::{cancel_body, credentials};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

fn inbox_path(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("pandapon-push-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("temp dir");
    dir.join("inbox.sqlite")
}

/// Serves `router` on a free port with `header_timeout`; returns its URL.
async fn start(router: axum::Router, header_timeout: Duration) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let url = format!("http://{}", listener.local_addr().expect("address"));
    tokio::spawn(serve(listener, router, header_timeout));
    url
}

const PAID: &[u8] = br#"{"messageType":"ORDER_PAY_SUCCESS","messageBody":"{\"orderId\":\"2542285634920880794\",\"orderStatus\":\"WAITING_FOR_SENT\"}","messagePlatform":1,"timestamp":"1779263269913"}"#;

#[tokio::test]
async fn the_receiver_stores_before_it_acknowledges_and_answers_as_documented() {
    let creds = credentials();
    let inbox = SqliteInbox::open(inbox_path("answers")).expect("inbox");
    let router = Receiver::new(creds.clone(), inbox.clone())
        .max_body_bytes(4096)
        .router();
    let url = start(router, Duration::from_secs(5)).await;
    let http = reqwest::Client::new();
    let post = async |path: &str, body: Vec<u8>, auth: Option<String>| {
        let mut req = http.post(format!("{url}{path}")).body(body);
        if let Some(a) = auth {
            req = req.header("authorization", a);
        }
        req.send().await.expect("answer").status().as_u16()
    };
    let signed = |body: &[u8]| Some(push_signature(&creds, body));
    // Any path is the receiver.
    assert_eq!(
        post("/pandapon/callback", PAID.to_vec(), signed(PAID)).await,
        200
    );
    // Stored before the 200 arrived: it is there now.
    let stored = inbox.all().await.expect("read");
    assert_eq!(stored.len(), 1);
    assert_eq!(stored[0].body, PAID);
    assert_eq!(
        stored[0].key,
        PushEvent::parse(PAID).expect("event").dedupe_key()
    );
    // Again: acknowledged, not stored twice.
    assert_eq!(post("/", PAID.to_vec(), signed(PAID)).await, 200);
    assert_eq!(inbox.all().await.expect("read").len(), 1);

    let forged = Credentials::new("ak", "not-the-secret", "u").expect("creds");
    let big = [b' '; 5000];
    let answers = [
        post("/", PAID.to_vec(), Some(push_signature(&forged, PAID))).await,
        post("/", PAID.to_vec(), None).await,
        post("/", b"{not json".to_vec(), signed(b"{not json")).await,
        post(
            "/",
            br#"{"messageType":"X"}"#.to_vec(),
            signed(br#"{"messageType":"X"}"#),
        )
        .await,
        post("/", big.to_vec(), signed(&big)).await,
        http.put(&url)
            .send()
            .await
            .expect("answer")
            .status()
            .as_u16(),
        http.get(&url)
            .send()
            .await
            .expect("answer")
            .status()
            .as_u16(),
    ];
    assert_eq!(answers, [401, 401, 400, 400, 413, 405, 200]);
    assert_eq!(
        inbox.all().await.expect("read").len(),
        1,
        "nothing else stored"
    );
}

/// An inbox whose disk is gone.
struct Broken;

impl Inbox for Broken {
    async fn store_if_absent(&self, _: NewMessage) -> Result<Stored, InboxError> {
        Err(InboxError::Database("disk full".into()))
    }
    async fn claim(&self, _: usize, _: Duration) -> Result<Vec<Claimed>, InboxError> {
        Err(InboxError::Database("disk full".into()))
    }
    async fn mark_done(&self, _: u64) -> Result<(), InboxError> {
        Ok(())
    }
    async fn messages(&self, _: Listing, _: usize) -> Result<Vec<StoredMessage>, InboxError> {
        Ok(Vec::new())
    }
    async fn prune(&self, _: std::time::SystemTime) -> Result<u64, InboxError> {
        Ok(0)
    }
    async fn last_for_order(&self, _: &str) -> Result<Option<StoredMessage>, InboxError> {
        Ok(None)
    }
}

#[tokio::test]
async fn a_message_that_cannot_be_stored_is_not_acknowledged() {
    let creds = credentials();
    let url = start(
        Receiver::new(creds.clone(), Broken).router(),
        Duration::from_secs(5),
    )
    .await;
    let status = reqwest::Client::new()
        .post(&url)
        .header("authorization", push_signature(&creds, PAID))
        .body(PAID.to_vec())
        .send()
        .await
        .expect("answer")
        .status();
    // Not 200: PandaPon sends it again later.
    assert_eq!(status.as_u16(), 503);
}

/// Reads from `stream` until the server closes it, for at most `within`:
/// true when it closed.
async fn closed_within(stream: &mut tokio::net::TcpStream, within: Duration) -> bool {
    let mut buf = [0u8; 1024];
    tokio::time::timeout(within, async {
        loop {
            match stream.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(_) => {}
            }
        }
    })
    .await
    .is_ok()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_clients_are_cut_off() {
    let inbox = SqliteInbox::open(inbox_path("slow")).expect("inbox");
    let router = Receiver::new(credentials(), inbox)
        .body_timeout(Duration::from_millis(300))
        .router();
    let url = start(router, Duration::from_millis(300)).await;
    let addr = url.trim_start_matches("http://").to_owned();
    // Fifty connections that start a request's headers and never finish.
    let mut slow = Vec::new();
    for _ in 0..50 {
        let mut stream = tokio::net::TcpStream::connect(&addr)
            .await
            .expect("connects");
        stream
            .write_all(b"POST / HTTP/1.1\r\nhost: x\r\n")
            .await
            .expect("writes");
        slow.push(stream);
    }
    for (i, stream) in slow.iter_mut().enumerate() {
        assert!(
            closed_within(stream, Duration::from_secs(20)).await,
            "connection {i} left open"
        );
    }
    // A body that stops, under a header that could be a signature (one that
    // could not is refused before the body is read): answered 408.
    let mut stream = tokio::net::TcpStream::connect(&addr)
        .await
        .expect("connects");
    let head = format!(
        "POST / HTTP/1.1\r\nhost: x\r\nauthorization: {}\r\ncontent-length: 100\r\n\r\n{{\"messageType\"",
        "0".repeat(64)
    );
    stream.write_all(head.as_bytes()).await.expect("writes");
    let mut answer = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(20), stream.read_to_end(&mut answer)).await;
    let answer = String::from_utf8_lossy(&answer);
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
}

#[tokio::test]
async fn the_fake_pushes_what_a_flow_makes_pandapon_push() {
    let creds = credentials();
    let inbox = SqliteInbox::open(inbox_path("flow")).expect("inbox");
    let receiver_url = start(
        Receiver::new(creds.clone(), inbox.clone()).router(),
        Duration::from_secs(5),
    )
    .await;
    let check = SignatureCheck::new(creds.clone());
    let fake = FakePandaPon::builder(check)
        .push_to(format!("{receiver_url}/pandapon"))
        .start(([127, 0, 0, 1], 0).into())
        .await
        .expect("fake starts");
    let client = pandapon_gen::Client::builder(creds)
        .base_url(fake.base_url())
        .build()
        .expect("client");
    client
        .alibaba_order_cancel()
        .body(cancel_body())
        .call()
        .await
        .expect("cancelled");
    client
        .alibaba_order_batch_submit_to_pay()
        .body(
            pandapon_gen::types::AlibabaOrderBatchSubmitToPayRequest::builder().order_ids(vec![
                "2542285634920880794".parse().expect("id"),
                "2542285634920880795".parse().expect("id"),
            ]),
        )
        .call()
        .await
        .expect("paid");
    let pushed = tokio::time::timeout(Duration::from_secs(20), fake.wait_for_pushes(3))
        .await
        .expect("three pushes");
    assert!(pushed.iter().all(|p| p.status == Some(200)), "{pushed:?}");
    let stored = inbox.all().await.expect("read");
    assert_eq!(stored.len(), 3);
    let events: Vec<PushEvent> = stored.iter().map(|m| m.event().expect("event")).collect();
    let kinds: Vec<&str> = events
        .iter()
        .map(|e| e.message_type().map_or("", |t| t.as_str()))
        .collect();
    assert_eq!(
        kinds.iter().filter(|k| **k == "ORDER_PAY_SUCCESS").count(),
        2
    );
    assert!(kinds.contains(&"ORDER_CANCEL"));
    let cancel = events
        .iter()
        .find_map(|e| match e {
            PushEvent::OrderCancel(push) => Some(push),
            _ => None,
        })
        .expect("the cancel message");
    assert_eq!(
        cancel
            .body()
            .order_id
            .as_ref()
            .map(|id| id.to_string())
            .as_deref(),
        Some("2542285634920880794")
    );
}

/// Sends a request's head (and `body`) on a new connection and reads its
/// answer's status line without sending anything more: the answer comes
/// before the declared body, or never.
async fn head_only(addr: &str, head: &str, body: &[u8]) -> (String, tokio::net::TcpStream) {
    let mut stream = tokio::net::TcpStream::connect(addr)
        .await
        .expect("connects");
    stream.write_all(head.as_bytes()).await.expect("head");
    stream.write_all(body).await.expect("body");
    let mut line = Vec::new();
    let mut byte = [0u8; 1];
    tokio::time::timeout(Duration::from_secs(20), async {
        while !line.ends_with(b"\r\n") {
            if stream.read(&mut byte).await.expect("reads") == 0 {
                break;
            }
            line.push(byte[0]);
        }
    })
    .await
    .expect("answered before the body was sent");
    (String::from_utf8_lossy(&line).trim().to_owned(), stream)
}

/// Starts a request declaring `length` bytes with `expect: 100-continue`
/// and returns once the receiver's 100 says its handler is reading the
/// body (so the request holds its share of the bounds).
async fn hold_open(addr: &str, authorization: &str, length: usize) -> tokio::net::TcpStream {
    let mut stream = tokio::net::TcpStream::connect(addr)
        .await
        .expect("connects");
    let head = format!(
        "POST / HTTP/1.1\r\nhost: x\r\nauthorization: {authorization}\r\n\
         content-length: {length}\r\nexpect: 100-continue\r\n\r\n"
    );
    stream.write_all(head.as_bytes()).await.expect("head");
    let mut interim = [0u8; 25];
    stream.read_exact(&mut interim).await.expect("100 Continue");
    assert_eq!(&interim, b"HTTP/1.1 100 Continue\r\n\r\n");
    stream
}

fn post_head(authorization: Option<&str>, length: usize) -> String {
    let authorization = authorization.map_or(String::new(), |a| format!("authorization: {a}\r\n"));
    format!("POST / HTTP/1.1\r\nhost: x\r\n{authorization}content-length: {length}\r\n\r\n")
}

#[tokio::test]
async fn a_request_that_cannot_be_genuine_is_refused_before_its_body_is_read() {
    let inbox = SqliteInbox::open(inbox_path("early")).expect("inbox");
    let url = start(
        Receiver::new(credentials(), inbox.clone()).router(),
        Duration::from_secs(5),
    )
    .await;
    let addr = url.trim_start_matches("http://");
    // Each declares a 1 MiB body and sends none of it: the answer comes
    // anyway, so the receiver did not wait to read it.
    for (authorization, expected) in [
        (None, "HTTP/1.1 401 Unauthorized"),
        (Some("Bearer token"), "HTTP/1.1 401 Unauthorized"),
        (Some(&*"g".repeat(64)), "HTTP/1.1 401 Unauthorized"),
        (Some(&*"a".repeat(63)), "HTTP/1.1 401 Unauthorized"),
    ] {
        let (status, _) = head_only(addr, &post_head(authorization, 1 << 20), b"").await;
        assert_eq!(status, expected, "{authorization:?}");
    }
    // A well-formed header declaring more than the limit: 413 at once.
    let signature = "0".repeat(64);
    let (status, _) = head_only(addr, &post_head(Some(&signature), (1 << 20) + 1), b"").await;
    assert_eq!(status, "HTTP/1.1 413 Payload Too Large");
    assert!(inbox.all().await.expect("read").is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bodies_in_flight_share_one_budget_and_small_ones_keep_a_reserve() {
    let creds = credentials();
    let inbox = SqliteInbox::open(inbox_path("budget")).expect("inbox");
    let url = start(
        Receiver::new(creds.clone(), inbox.clone())
            .max_body_bytes_in_flight(1 << 20)
            .router(),
        Duration::from_secs(5),
    )
    .await;
    let addr = url.trim_start_matches("http://");
    let forged = "0".repeat(64);
    // 600 KiB declared: charged before its handler reads the body, which
    // the 100 (`expect: 100-continue`) says it has started to do.
    let big = 600 << 10;
    let mut holding = hold_open(addr, &forged, big).await;
    // A second one does not fit: 503 without a byte of its body read.
    let (status, _) = head_only(addr, &post_head(Some(&forged), big), b"").await;
    assert_eq!(status, "HTTP/1.1 503 Service Unavailable");
    // PandaPon's messages are small: they still fit, in the reserve.
    let status = reqwest::Client::new()
        .post(&url)
        .header("authorization", push_signature(&creds, PAID))
        .body(PAID.to_vec())
        .send()
        .await
        .expect("answer")
        .status();
    assert_eq!(status.as_u16(), 200);
    assert_eq!(inbox.all().await.expect("read").len(), 1);
    // The first body finishes (and fails verification); its charge is
    // given back, so another large body is read again.
    holding.write_all(&vec![b' '; big]).await.expect("the body");
    let mut answer = [0u8; 12];
    holding.read_exact(&mut answer).await.expect("answer");
    assert_eq!(&answer, b"HTTP/1.1 401");
    let body = vec![b' '; big];
    let (status, _) = head_only(addr, &post_head(Some(&forged), big), &body).await;
    assert_eq!(status, "HTTP/1.1 401 Unauthorized", "read, then refused");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn past_the_bound_on_bodies_in_flight_a_request_gets_503() {
    let creds = credentials();
    let inbox = SqliteInbox::open(inbox_path("requests")).expect("inbox");
    let url = start(
        Receiver::new(creds.clone(), inbox.clone())
            .max_requests(1)
            .router(),
        Duration::from_secs(5),
    )
    .await;
    let addr = url.trim_start_matches("http://");
    let forged = "0".repeat(64);
    let mut holding = hold_open(addr, &forged, 10).await;
    let (status, _) = head_only(addr, &post_head(Some(&forged), 10), b"").await;
    assert_eq!(status, "HTTP/1.1 503 Service Unavailable");
    // Once it is answered, the next is read.
    holding.write_all(b"0123456789").await.expect("body");
    let mut answer = [0u8; 12];
    holding.read_exact(&mut answer).await.expect("answer");
    assert_eq!(&answer, b"HTTP/1.1 401");
    let status = reqwest::Client::new()
        .post(&url)
        .header("authorization", push_signature(&creds, PAID))
        .body(PAID.to_vec())
        .send()
        .await
        .expect("answer")
        .status();
    assert_eq!(status.as_u16(), 200);
}
