//! Seeing what a command did: `--record` and `mock --replay`, `--verbose`,
//! server text on stdout and stderr, pagers that do not end, and a proxy
//! URL's password.

use std::io::{BufRead, BufReader};
use std::process::{Child, Output, Stdio};

use bytes::Bytes;
use pandapon_httpmock::{FakePandaPon, Fault, SignatureCheck};
use pandapon_tests::process::text;

use super::{KEY, SECRET, USER, clean, configured, creds, pandapon, run};

/// `pandapon mock` with `args`, and the URL it prints.
fn mock(args: &[&str]) -> (Child, String) {
    let mut child = pandapon()
        .env("PANDAPON_ACCESS_KEY", KEY)
        .env("PANDAPON_ACCESS_SECRET", SECRET)
        .env("PANDAPON_USER_ID", USER)
        .arg("mock")
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("mock starts");
    let mut url = String::new();
    BufReader::new(child.stdout.take().expect("stdout"))
        .read_line(&mut url)
        .expect("the URL line");
    (child, url.trim().to_owned())
}

fn stop(mut child: Child) {
    child.kill().expect("stop the mock");
    let _ = child.wait();
}

/// The commands a session runs: a read, a write, a refused write, a read
/// that fails twice with an HTML page, and every page of a search up to a
/// cap (which fails, saying so).
fn session() -> Vec<Vec<&'static str>> {
    vec![
        vec!["taobao-product-get", "--item-id", "681234567890"],
        vec![
            "alibaba-order-cancel",
            "--web-site",
            "1688",
            "--order-id",
            "2542285634920880794",
        ],
        vec![
            "alibaba-order-cancel",
            "--web-site",
            "1688",
            "--order-id",
            "1",
        ],
        vec![
            "--max-attempts",
            "2",
            "taobao-product-get",
            "--item-id",
            "bad",
        ],
        vec![
            "alibaba-product-keyword-search",
            "--all",
            "--max-pages",
            "2",
        ],
    ]
}

fn same(a: &Output, b: &Output) -> bool {
    a.stdout == b.stdout && a.stderr == b.stderr && a.status.code() == b.status.code()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_recorded_session_replays_byte_for_byte_and_holds_no_secret() {
    let check = SignatureCheck::new(creds());
    let live = FakePandaPon::builder(check.clone())
        .plan(|arrival| {
            let body = String::from_utf8_lossy(arrival.body);
            if body.contains(r#""orderId":1}"#) || body.contains(r#""orderId":1,"#) {
                Some(Fault::Business(3001, "订单已支付".into()))
            } else if arrival.query == Some("itemId=bad") {
                Some(Fault::Answer(
                    502,
                    Bytes::from_static(b"<html>bad gateway</html>"),
                ))
            } else {
                None
            }
        })
        .start(([127, 0, 0, 1], 0).into())
        .await
        .expect("fake");
    let dir = std::env::temp_dir().join(format!("pandapon-record-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("dir");
    let cassette = dir.join("session.jsonl");
    let cassette_arg = cassette.to_str().expect("utf-8").to_owned();

    let mut recorded = Vec::new();
    for args in session() {
        let mut cmd = configured(&live.base_url(), SECRET);
        cmd.args(["--record", &cassette_arg]).args(&args);
        recorded.push(run(cmd).await);
    }
    let codes: Vec<Option<i32>> = recorded.iter().map(|o| clean(o).status.code()).collect();
    assert_eq!(codes, [Some(0), Some(0), Some(1), Some(1), Some(1)]);

    // Nothing that signs a request is in the cassette.
    let file = std::fs::read_to_string(&cassette).expect("cassette");
    assert!(!file.contains(SECRET));
    assert!(
        !file.contains("timestamp") && !file.contains("\"sign\""),
        "{file:.400}"
    );
    pandapon_tests::process::assert_no_signing_values(&file, &creds(), &check.seen());
    // One exchange per attempt: 1 + 1 + 1 + 2 + 2 pages.
    assert_eq!(file.lines().count(), 7, "{file}");
    live.stop().await;

    // The same commands against the replay: the same bytes, the same exits.
    let (replay, url) = mock(&["--replay", &cassette_arg]);
    for (args, before) in session().into_iter().zip(&recorded) {
        let mut cmd = configured(&url, SECRET);
        cmd.args(&args);
        let again = run(cmd).await;
        assert!(
            same(before, &again),
            "{args:?}\nrecorded: {}{}\nreplayed: {}{}",
            text(&before.stdout),
            text(&before.stderr),
            text(&again.stdout),
            text(&again.stderr)
        );
    }
    // A call that was not recorded: a clear error naming the nearest.
    let mut cmd = configured(&url, SECRET);
    cmd.args(["taobao-product-get", "--item-id", "999"]);
    let out = run(cmd).await;
    assert_eq!(clean(&out).status.code(), Some(1));
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("no recorded exchange matches GET /v2/taobao/product/get?itemId=999"),
        "{stderr}"
    );
    assert!(
        stderr.contains("the nearest is exchange 1 of 7"),
        "{stderr}"
    );
    assert!(stderr.contains("whose query differs"), "{stderr}");
    // The replay checks signatures like PandaPon.
    let mut cmd = configured(&url, "not-the-secret");
    cmd.args(["taobao-product-get", "--item-id", "681234567890"]);
    let out = run(cmd).await;
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("signature verification failed"),
        "{}",
        text(&out.stderr)
    );
    stop(replay);
    std::fs::remove_dir_all(dir).expect("cleanup");
}

#[tokio::test(flavor = "multi_thread")]
async fn verbose_writes_each_attempt_redacted_and_escaped() {
    let check = SignatureCheck::new(creds());
    let answer = Bytes::from(
        "{\"code\":200,\"msg\":\"ok\u{9b}[2J\",\"requestId\":\"r\",\"data\":{}}".as_bytes(),
    );
    let fake = FakePandaPon::builder(check.clone())
        .faults([Fault::Status(503, None), Fault::Answer(200, answer)])
        .start(([127, 0, 0, 1], 0).into())
        .await
        .expect("fake");
    let mut cmd = configured(&fake.base_url(), SECRET);
    cmd.args(["--verbose", "taobao-product-get", "--item-id", "1"]);
    let out = run(cmd).await;
    assert!(clean(&out).status.success(), "{}", text(&out.stderr));
    let stderr = text(&out.stderr);
    let url = format!("{}/v2/taobao/product/get?itemId=1", fake.base_url());
    for needle in [
        format!("> GET {url} (taobao_product_get, attempt 1)\n"),
        format!("> GET {url} (taobao_product_get, attempt 2)\n"),
        format!("> access-key: {KEY}\n"),
        format!("> user-id: {USER}\n"),
        "> signature: <redacted>\n".to_owned(),
        "> nonce-str: <redacted>\n".to_owned(),
        "< 503 Service Unavailable (taobao_product_get, attempt 1)\n".to_owned(),
        "< 200 OK (taobao_product_get, attempt 2)\n".to_owned(),
        "< content-type: application/json\n".to_owned(),
        "< {\"code\":200,\"msg\":\"ok\\x9b[2J\"".to_owned(),
    ] {
        assert!(stderr.contains(&needle), "{needle:?} not in:\n{stderr}");
    }
    assert!(!stderr.contains('\u{9b}'), "escaped");
    pandapon_tests::process::assert_no_signing_values(&stderr, &creds(), &check.seen());
    // Without --verbose, none of it.
    let mut cmd = configured(&fake.base_url(), SECRET);
    cmd.args(["taobao-product-get", "--item-id", "1"]);
    let out = run(cmd).await;
    assert!(text(&out.stderr).is_empty(), "{}", text(&out.stderr));
}

#[tokio::test(flavor = "multi_thread")]
async fn server_text_is_escaped_on_stdout_and_capped_on_stderr() {
    // Strings holding C1 CSI, a bidi override, DEL, a line separator, an
    // Arabic letter mark and a zero-width space, sent raw in the JSON.
    let tricky = "a\u{9b}2J b\u{202e}c d\u{7f}e f\u{2028}g h\u{61c}i j\u{200b}k";
    let body = serde_json::json!({
        "code": 200, "msg": "ok", "requestId": "r",
        "data": {"title": tricky, "categoryPath": tricky},
    });
    let raw = Bytes::from(serde_json::to_vec(&body).expect("json"));
    assert!(
        String::from_utf8_lossy(&raw).contains('\u{202e}'),
        "sent raw"
    );
    let huge = format!("\u{2028}{}", "x".repeat(5 * 1024 * 1024));
    let fake = FakePandaPon::builder(SignatureCheck::new(creds()))
        .faults([Fault::Answer(200, raw), Fault::Business(3001, huge)])
        .start(([127, 0, 0, 1], 0).into())
        .await
        .expect("fake");

    let mut cmd = configured(&fake.base_url(), SECRET);
    cmd.args(["taobao-product-get", "--item-id", "1"]);
    let out = run(cmd).await;
    assert!(clean(&out).status.success(), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    assert!(
        !stdout
            .chars()
            .filter(|c| *c != '\n')
            .any(pandapon_gen::is_unsafe_char),
        "{stdout}"
    );
    for escaped in [
        r"\u009b", r"\u202e", r"\u007f", r"\u2028", r"\u061c", r"\u200b",
    ] {
        assert!(stdout.contains(escaped), "{escaped} in {stdout}");
    }
    // Still the same JSON, faithfully.
    let printed: serde_json::Value = serde_json::from_str(&stdout).expect("valid JSON");
    assert_eq!(printed["data"]["categoryPath"], tricky);

    let mut cmd = configured(&fake.base_url(), SECRET);
    cmd.args([
        "alibaba-order-cancel",
        "--web-site",
        "1688",
        "--order-id",
        "1",
    ]);
    let out = run(cmd).await;
    assert_eq!(clean(&out).status.code(), Some(1));
    let stderr = text(&out.stderr);
    assert!(
        stderr.len() < 4096 + 300,
        "{} bytes on stderr",
        stderr.len()
    );
    assert!(stderr.contains(r"\u{2028}xxx"), "{stderr:.200}");
    assert!(stderr.contains("more bytes not shown"), "{stderr:.200}");
    assert_eq!(stderr.lines().count(), 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn all_stops_at_a_page_that_repeats_itself() {
    // A server that ignores the page number: page 1, whatever is asked.
    let page = serde_json::json!({
        "code": 200, "msg": "ok", "requestId": "r",
        "data": {"totalPage": 100000, "currentPage": 1, "pageSize": 2,
                 "data": [{"offerId": 1, "subject": "a"}, {"offerId": 2, "subject": "b"}]},
    });
    let page = Bytes::from(serde_json::to_vec(&page).expect("json"));
    let fake = FakePandaPon::builder(SignatureCheck::new(creds()))
        .plan(move |_| Some(Fault::Answer(200, page.clone())))
        .start(([127, 0, 0, 1], 0).into())
        .await
        .expect("fake");
    let mut cmd = configured(&fake.base_url(), SECRET);
    cmd.args(["alibaba-product-keyword-search", "--all"]);
    let out = run(cmd).await;
    assert_eq!(clean(&out).status.code(), Some(1));
    assert_eq!(text(&out.stdout).lines().count(), 2, "page 1's items only");
    let stderr = text(&out.stderr);
    assert!(stderr.contains("page 2 repeats page 1"), "{stderr}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_proxy_password_never_shows() {
    for proxy in [
        "http://alice:hunter2@[::1",
        "http://alice:hunter2@127.0.0.1:9",
        "http://alice:hun/ter2@127.0.0.1:9",
        "http://alice:hunter2#x@127.0.0.1:9",
    ] {
        let mut cmd = configured("http://127.0.0.1:9", SECRET);
        cmd.args([
            "--proxy",
            proxy,
            "--max-attempts",
            "1",
            "taobao-product-get",
            "--item-id",
            "1",
        ]);
        let out = run(cmd).await;
        assert_eq!(clean(&out).status.code(), Some(1), "{proxy}");
        let all = format!("{}{}", text(&out.stdout), text(&out.stderr));
        assert!(
            !all.contains("hunter2") && !all.contains("ter2"),
            "{proxy}: {all}"
        );
        assert!(!all.contains("alice"), "{proxy}: {all}");
    }
}
