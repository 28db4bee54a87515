//! The `pandapon` binary end to end: against the in-process fake PandaPon, in
//! dry-run mode, and as a fake server itself. Text output is compared with
//! `tests/snapshots/` (refresh with `EXPECTORATE=overwrite cargo test`).

use std::io::{BufRead, BufReader};
use std::net::{Ipv4Addr, SocketAddr};
use std::process::{Command, Output, Stdio};

use pandapon_gen::Credentials;
use pandapon_gen::auth::Verifier;
use pandapon_httpmock::{FakePandaPon, Fault, SignatureCheck};
use pandapon_tests::process::{assert_clean, scrubbed, text};

mod observe;
mod receiver;
mod verdicts;

const KEY: &str = "cli-test-key";
const SECRET: &str = "cli-test-SECRET-91b2";
const USER: &str = "2100007341207";

fn pandapon() -> Command {
    scrubbed(env!("CARGO_BIN_EXE_pandapon"))
}

fn configured(base_url: &str, secret: &str) -> Command {
    let mut cmd = pandapon();
    cmd.env("PANDAPON_ACCESS_KEY", KEY)
        .env("PANDAPON_ACCESS_SECRET", secret)
        .env("PANDAPON_USER_ID", USER)
        .env("PANDAPON_BASE_URL", base_url);
    cmd
}

fn creds() -> Credentials {
    Credentials::new(KEY, SECRET, USER).expect("credentials")
}

async fn fake() -> (FakePandaPon, SignatureCheck) {
    let check = SignatureCheck::new(creds());
    let fake = FakePandaPon::start(SocketAddr::from((Ipv4Addr::LOCALHOST, 0)), check.clone())
        .await
        .expect("fake starts");
    (fake, check)
}

/// Runs a command without blocking the runtime the fake server lives on.
async fn run(mut cmd: Command) -> Output {
    tokio::task::spawn_blocking(move || cmd.output().expect("pandapon runs"))
        .await
        .expect("join")
}

/// No output of any run may contain the secret or a panic.
fn clean(out: &Output) -> &Output {
    assert_clean(out, SECRET)
}

fn snapshot(name: &str, actual: &str) {
    expectorate::assert_contents(format!("tests/snapshots/{name}"), actual);
}

#[test]
fn help_texts() {
    for (name, args) in [
        ("help.txt", vec!["--help"]),
        (
            "help-alibaba-order-cancel.txt",
            vec!["alibaba-order-cancel", "--help"],
        ),
        (
            "help-taobao-product-get.txt",
            vec!["taobao-product-get", "--help"],
        ),
        ("help-sign.txt", vec!["sign", "--help"]),
        ("help-mock.txt", vec!["mock", "--help"]),
        ("help-request.txt", vec!["request", "--help"]),
        ("help-push-verify.txt", vec!["push", "verify", "--help"]),
    ] {
        let out = pandapon().args(&args).output().expect("runs");
        assert!(out.status.success(), "{args:?}");
        snapshot(name, &text(&out.stdout));
    }
}

#[test]
fn sign_prints_the_signature_and_masks_the_secret() {
    let out = pandapon()
        .args([
            "--access-key",
            "ak",
            "--access-secret",
            "sk",
            "--user-id",
            "u",
        ])
        .args([
            "sign",
            "--timestamp",
            "1700000000",
            "--nonce",
            "abcdefghijklmnopqrstuvwxyz012345",
        ])
        .output()
        .expect("runs");
    assert!(out.status.success());
    snapshot("sign.txt", &text(&out.stdout));
    assert!(text(&out.stdout).contains("138C588C7D5F483C99D06530E8E87A7D"));

    let odd = pandapon()
        .args([
            "--access-key",
            "ak",
            "--access-secret",
            "sk",
            "--user-id",
            "u",
        ])
        .args(["sign", "--timestamp", "17e9", "--nonce", "short"])
        .output()
        .expect("runs");
    assert!(odd.status.success());
    snapshot("sign-odd-input.stderr.txt", &text(&odd.stderr));
}

#[test]
fn sign_without_credentials_names_the_variables() {
    let out = clean(
        &pandapon()
            .args(["sign", "--timestamp", "1", "--nonce", "n"])
            .output()
            .expect("runs"),
    )
    .clone();
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("PANDAPON_ACCESS_SECRET"),
        "{}",
        text(&out.stderr)
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn an_operation_prints_the_response_json() {
    let (fake, check) = fake().await;
    let mut cmd = configured(&fake.base_url(), SECRET);
    cmd.args([
        "alibaba-order-cancel",
        "--order-id",
        "2542285634920880794",
        "--web-site",
        "1688",
    ]);
    let out = run(cmd).await;
    clean(&out);
    assert!(out.status.success(), "{}", text(&out.stderr));
    snapshot("alibaba-order-cancel.stdout.json", &text(&out.stdout));
    assert_eq!(check.seen().iter().filter(|s| s.verdict.is_ok()).count(), 1);

    let mut cmd = configured(&fake.base_url(), SECRET);
    cmd.args(["taobao-refund-cancel", "--refund-id", "110000235001"]);
    let out = run(cmd).await;
    assert!(clean(&out).status.success(), "{}", text(&out.stderr));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON on stdout");
    assert_eq!(json["data"]["cancelSuccess"], true);
}

#[tokio::test(flavor = "multi_thread")]
async fn request_calls_any_path_signed() {
    let (fake, check) = fake().await;
    let mut cmd = configured(&fake.base_url(), SECRET);
    cmd.args(["request", "post", "/v2/alibaba/order/cancel"])
        .args([
            "--json",
            r#"{"webSite":"1688","orderId":2542285634920880794}"#,
        ]);
    let out = run(cmd).await;
    assert!(clean(&out).status.success(), "{}", text(&out.stderr));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON on stdout");
    assert_eq!(json["code"], 200);
    assert_eq!(json["data"], true);

    let mut cmd = configured(&fake.base_url(), SECRET);
    cmd.args(["request", "GET", "/v2/taobao/product/get"])
        .args(["--query", "itemId=WUnUC1cILiBjt-Jv3lDdlQ", "--read-only"]);
    let out = run(cmd).await;
    assert!(clean(&out).status.success(), "{}", text(&out.stderr));
    assert_eq!(check.seen().iter().filter(|s| s.verdict.is_ok()).count(), 2);

    // A path the fake does not serve: its 404 is reported, exit 1.
    let mut cmd = configured(&fake.base_url(), SECRET);
    cmd.args(["request", "GET", "/v2/no/such/path"]);
    let out = run(cmd).await;
    assert_eq!(clean(&out).status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("http 404") && text(&out.stderr).contains("[refused]"),
        "{}",
        text(&out.stderr)
    );

    // Bad usage exits 2.
    for args in [
        vec!["request", "GET", "/x", "--query", "no-equals-sign"],
        vec![
            "request",
            "GET",
            "/x",
            "--json",
            "{}",
            "--json-body",
            "f.json",
        ],
    ] {
        let mut cmd = configured(&fake.base_url(), SECRET);
        cmd.args(&args);
        let out = run(cmd).await;
        assert_eq!(clean(&out).status.code(), Some(2), "{args:?}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn all_prints_every_item_of_every_page_as_json_lines() {
    let (fake, check) = fake().await;
    // The fake answers each page with the documented example (totalPage
    // 401) as that page, so --max-pages bounds the run: the items of its
    // pages, then, with pages left, an error that says the cap was reached.
    for op in pandapon_gen::OPERATIONS.iter().filter(|op| op.paginated) {
        let route = pandapon_httpmock::Route::of(op);
        let op = op.id;
        let answer = route.answer();
        let per_page = answer["data"]["data"].as_array().map_or(0, Vec::len);
        // Two pages, unless the example ends it sooner (no items, or one page).
        let (pages, capped) = match answer["data"]["totalPage"].as_u64() {
            _ if per_page == 0 => (1, false),
            Some(total) => (total.min(2) as usize, total > 2),
            None => (2, true),
        };
        let before = check.seen().len();
        let mut cmd = configured(&fake.base_url(), SECRET);
        cmd.args([&op.replace('_', "-"), "--all", "--max-pages", "2"]);
        if op == "alibaba_product_image_search" {
            cmd.args(["--image-base64", "aGVsbG8="]);
        }
        let out = run(cmd).await;
        if capped {
            assert_eq!(clean(&out).status.code(), Some(1), "{op}");
            let stderr = text(&out.stderr);
            assert!(
                stderr.contains("stopped after 2 pages, the cap"),
                "{op}: {stderr}"
            );
        } else {
            assert!(clean(&out).status.success(), "{op}: {}", text(&out.stderr));
        }
        let lines: Vec<serde_json::Value> = text(&out.stdout)
            .lines()
            .map(|l| serde_json::from_str(l).expect("one JSON value a line"))
            .collect();
        assert_eq!(lines.len(), pages * per_page, "{op}");
        assert_eq!(
            check.seen().len() - before,
            pages,
            "{op}: one request a page"
        );
        if op == "alibaba_product_keyword_search" {
            snapshot(
                "all-alibaba-product-keyword-search.jsonl",
                &text(&out.stdout),
            );
        }
    }

    // --max-items stops within a page; the flags need --all.
    let mut cmd = configured(&fake.base_url(), SECRET);
    cmd.args([
        "alibaba-product-keyword-search",
        "--all",
        "--max-items",
        "1",
    ]);
    let out = run(cmd).await;
    assert!(clean(&out).status.success(), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout).lines().count(), 1);
    let mut cmd = configured(&fake.base_url(), SECRET);
    cmd.args(["alibaba-product-keyword-search", "--max-items", "1"]);
    assert_eq!(clean(&run(cmd).await).status.code(), Some(2));

    // A failing page: the error on stderr, exit 1.
    let mut cmd = configured(&fake.base_url(), "a-wrong-secret");
    cmd.args(["alibaba-product-keyword-search", "--all"]);
    let out = run(cmd).await;
    assert_eq!(clean(&out).status.code(), Some(1));
    assert!(out.stdout.is_empty());
    assert!(
        text(&out.stderr).contains("signature verification failed"),
        "{}",
        text(&out.stderr)
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn request_dry_run_prints_the_signed_call() {
    let (fake, check) = fake().await;
    let mut cmd = configured(&fake.base_url(), SECRET);
    cmd.args([
        "--dry-run",
        "request",
        "POST",
        "/v2/open/pp/logistics/example",
    ])
    .args(["--query", "lang=en", "--json", r#"{"itemId":"1"}"#]);
    let out = run(cmd).await;
    assert!(clean(&out).status.success(), "{}", text(&out.stderr));
    assert!(check.seen().is_empty(), "a dry run reached the server");
    let curl = text(&out.stdout);
    let masked = regex::Regex::new(
        r"(timestamp[:=] ?)\d+|(nonce-str: )[A-Za-z0-9]{32}|(signature: |sign=)[0-9A-F]{32}|(127\.0\.0\.1:)\d+",
    )
    .expect("regex")
    .replace_all(&curl, "$1$2$3$4<varies>");
    snapshot("dry-run-request.txt", &masked);
}

#[tokio::test(flavor = "multi_thread")]
async fn json_in_string_fields_are_flags_too() {
    let (fake, _check) = fake().await;
    let mut cmd = configured(&fake.base_url(), SECRET);
    cmd.args(["--dry-run", "taobao-product-batch-check"]).args([
        "--params",
        r#"[{"itemId":"672991141190","skuIds":["3452545926724"]}]"#,
    ]);
    let out = run(cmd).await;
    assert!(clean(&out).status.success(), "{}", text(&out.stderr));
    let curl = text(&out.stdout);
    assert!(
        curl.contains(r#"--data-raw '{"params":"[{\"itemId\":\"672991141190\",\"skuIds\":[\"3452545926724\"]}]"}'"#),
        "{curl}"
    );

    let mut cmd = configured(&fake.base_url(), SECRET);
    cmd.args(["taobao-product-batch-check", "--params", "[not json"]);
    let out = run(cmd).await;
    assert_eq!(clean(&out).status.code(), Some(2), "{}", text(&out.stderr));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_business_error_goes_to_stderr_with_code_msg_and_request_id() {
    let (fake, _check) = fake().await;
    let mut cmd = configured(&fake.base_url(), "a-wrong-secret");
    cmd.args(["alibaba-cart-list"]);
    let out = run(cmd).await;
    clean(&out);
    assert_eq!(out.status.code(), Some(1));
    assert!(out.stdout.is_empty());
    snapshot("wrong-secret.stderr.txt", &text(&out.stderr));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_dry_run_prints_a_verifiable_curl_command_and_sends_nothing() {
    let (fake, check) = fake().await;
    let mut cmd = configured(&fake.base_url(), SECRET);
    cmd.args([
        "--dry-run",
        "alibaba-order-cancel",
        "--order-id",
        "2542285634920880794",
    ])
    .args(["--web-site", "1688", "--cancel-reason", "不想要了"]);
    let out = run(cmd).await;
    clean(&out);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(check.seen().is_empty(), "a dry run reached the server");

    let curl = text(&out.stdout);
    let mut headers = http::HeaderMap::new();
    for line in curl.lines() {
        if let Some(h) = line
            .trim()
            .strip_prefix("-H '")
            .and_then(|h| h.strip_suffix("' \\"))
        {
            let (name, value) = h.split_once(": ").expect("name: value");
            headers.insert(
                http::HeaderName::from_bytes(name.as_bytes()).expect("name"),
                value.parse().expect("value"),
            );
        }
    }
    let verdict = Verifier::new(creds()).verify_headers(&headers, std::time::SystemTime::now());
    assert_eq!(verdict, Ok(()), "{curl}");

    let masked = regex::Regex::new(
        r"(timestamp: )\d+|(nonce-str: )[A-Za-z0-9]{32}|(signature: )[0-9A-F]{32}|(127\.0\.0\.1:)\d+",
    )
    .expect("regex")
    .replace_all(&curl, "$1$2$3$4<varies>");
    snapshot("dry-run-alibaba-order-cancel.txt", &masked);
}

#[tokio::test(flavor = "multi_thread")]
async fn failures_exit_non_zero_without_panicking() {
    // Nothing listens on a port we bound and released.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("port")
        .port();
    let mut cmd = configured(&format!("http://127.0.0.1:{port}"), SECRET);
    cmd.args(["taobao-product-get", "--item-id", "x"]);
    let out = run(cmd).await;
    assert_eq!(clean(&out).status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("transport error") && text(&out.stderr).contains("[not sent]"),
        "{}",
        text(&out.stderr)
    );

    let mut partial = pandapon();
    partial
        .env("PANDAPON_ACCESS_KEY", KEY)
        .args(["alibaba-cart-list"]);
    let out = run(partial).await;
    assert_eq!(clean(&out).status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("PANDAPON_ACCESS_SECRET"),
        "{}",
        text(&out.stderr)
    );

    let out = pandapon()
        .args(["alibaba-order-cancel", "--order-id", "12x"])
        .output()
        .expect("runs");
    assert_eq!(clean(&out).status.code(), Some(2));
    let out = pandapon().args(["no-such-command"]).output().expect("runs");
    assert_eq!(clean(&out).status.code(), Some(2));
}

#[tokio::test(flavor = "multi_thread")]
async fn http_errors_show_their_body_and_envelope_and_big_answers_the_limit() {
    let server = pandapon_httpmock::httpmock::MockServer::start_async().await;
    server
        .mock_async(|when, then| {
            when.path("/v2/alibaba/cart/list");
            then.status(500)
                .header("content-type", "application/json")
                .body(r#"{"code":500,"msg":"系统繁忙","requestId":"r-500"}"#);
        })
        .await;
    let mut cmd = configured(&server.base_url(), SECRET);
    cmd.args(["alibaba-cart-list"]);
    let out = run(cmd).await;
    assert_eq!(clean(&out).status.code(), Some(1));
    let stderr = text(&out.stderr);
    // A server error whose envelope code is a server error too: the
    // request arrived, and whether it took effect is not known.
    for part in [
        "http 500",
        "pandapon error 500",
        "系统繁忙",
        "requestId r-500",
        "[unknown]",
    ] {
        assert!(stderr.contains(part), "{part:?} missing from {stderr}");
    }

    let check = SignatureCheck::new(creds());
    let big = Fault::Oversized {
        bytes: 100_000,
        declared: false,
    };
    let fake = FakePandaPon::builder(check.clone())
        .faults([big])
        .start(SocketAddr::from((Ipv4Addr::LOCALHOST, 0)))
        .await
        .expect("fake starts");
    let mut cmd = configured(&fake.base_url(), SECRET);
    cmd.args([
        "--max-response-bytes",
        "4096",
        "taobao-product-get",
        "--item-id",
        "x",
    ]);
    let out = run(cmd).await;
    assert_eq!(clean(&out).status.code(), Some(1));
    let stderr = text(&out.stderr);
    assert!(stderr.contains("4096-byte limit"), "{stderr}");
    assert!(stderr.contains("PANDAPON_MAX_RESPONSE_BYTES"), "{stderr}");
    assert!(stderr.contains("[unknown]"), "{stderr}");
    assert_eq!(check.seen().len(), 1);
}

#[test]
fn the_mock_command_serves_the_cli() {
    let mut mock = pandapon()
        .env("PANDAPON_ACCESS_KEY", KEY)
        .env("PANDAPON_ACCESS_SECRET", SECRET)
        .env("PANDAPON_USER_ID", USER)
        .args(["mock"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("mock starts");
    let stdout = mock.stdout.take().expect("stdout");
    let mut url = String::new();
    BufReader::new(stdout)
        .read_line(&mut url)
        .expect("the URL line");
    let url = url.trim().to_owned();
    assert!(url.starts_with("http://127.0.0.1:"), "{url}");

    let good = configured(&url, SECRET)
        .args(["alibaba-product-keyword-search", "--keyword", "T恤"])
        .output()
        .expect("runs");
    let bad = configured(&url, "not-the-secret")
        .args(["alibaba-product-keyword-search", "--keyword", "T恤"])
        .output()
        .expect("runs");
    mock.kill().expect("stop the mock");
    let _ = mock.wait();

    assert!(clean(&good).status.success(), "{}", text(&good.stderr));
    let json: serde_json::Value = serde_json::from_slice(&good.stdout).expect("JSON");
    assert_eq!(json["data"]["totalRecords"], 2000);
    assert_eq!(clean(&bad).status.code(), Some(1));
    assert!(
        text(&bad.stderr).contains("pandapon error 401"),
        "{}",
        text(&bad.stderr)
    );
}

#[test]
fn push_verify_exits_by_the_signature() {
    let dir = std::env::temp_dir().join(format!("pandapon-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let body = dir.join("push.json");
    std::fs::write(
        &body,
        br#"{"messageType":"ORDER_CREATE","messagePlatform":1}"#,
    )
    .expect("write");
    let body_arg = body.to_str().expect("utf-8 path");
    let with_creds = |args: &[&str]| {
        let mut cmd = pandapon();
        cmd.env("PANDAPON_ACCESS_KEY", KEY)
            .env("PANDAPON_ACCESS_SECRET", SECRET)
            .env("PANDAPON_USER_ID", USER)
            .args(args);
        let out = cmd.output().expect("runs");
        clean(&out);
        out
    };
    // `callback`, PandaPon's name for the URL it pushes to, is `push` too.
    let signed = with_creds(&["callback", "sign", "--body-file", body_arg]);
    assert!(signed.status.success());
    let sig = text(&signed.stdout).trim().to_owned();
    assert_eq!(sig.len(), 64, "{sig}");

    let verify = |authorization: &str| {
        with_creds(&[
            "push",
            "verify",
            "--body-file",
            body_arg,
            "--authorization",
            authorization,
        ])
    };
    let ok = verify(&sig.to_uppercase());
    assert_eq!(ok.status.code(), Some(0));
    assert_eq!(text(&ok.stdout), "valid (signed base: body)\n");
    let keyed = with_creds(&["push", "sign", "--with-access-key", "--body-file", body_arg]);
    let keyed = text(&keyed.stdout).trim().to_owned();
    assert_ne!(keyed, sig);
    let ok = verify(&keyed);
    assert_eq!(ok.status.code(), Some(0));
    assert_eq!(text(&ok.stdout), "valid (signed base: access key + body)\n");

    std::fs::write(
        &body,
        br#"{"messageType":"ORDER_CANCEL","messagePlatform":1}"#,
    )
    .expect("write");
    let bad = verify(&sig);
    assert_eq!(bad.status.code(), Some(1));
    assert!(
        text(&bad.stderr).contains("does not match"),
        "{}",
        text(&bad.stderr)
    );
    std::fs::remove_dir_all(&dir).expect("cleanup");
}

#[tokio::test(flavor = "multi_thread")]
async fn server_text_cannot_drive_the_terminal() {
    // An escape sequence that would clear the screen, a carriage return that
    // would overwrite the line, and a bell, in every place a server's text
    // reaches stderr: an error page, an envelope's msg and requestId, a
    // business error inside HTTP 200, and a body that fails to decode.
    const NASTY: &str = "\u{1b}[2J\u{1b}]0;owned\u{7}\roops\u{9b}31m";
    let pages = [
        (502, format!("<html>{NASTY}</html>")),
        (
            500,
            serde_json::json!({"code": 500, "msg": NASTY, "requestId": NASTY}).to_string(),
        ),
        (
            200,
            serde_json::json!({"code": 401, "msg": NASTY, "requestId": "r"}).to_string(),
        ),
        (200, format!("{{\"code\":200,\"data\":{{\"{NASTY}\"")),
    ];
    for (status, body) in pages {
        let check = SignatureCheck::new(creds());
        let fault = Fault::Answer(status, bytes::Bytes::from(body));
        let fake = FakePandaPon::builder(check)
            .faults([fault])
            .start(SocketAddr::from((Ipv4Addr::LOCALHOST, 0)))
            .await
            .expect("fake starts");
        let mut cmd = configured(&fake.base_url(), SECRET);
        cmd.args(["--max-attempts", "1", "alibaba-cart-list"]);
        let out = run(cmd).await;
        assert_eq!(clean(&out).status.code(), Some(1));
        let stderr = text(&out.stderr);
        assert!(
            !stderr.chars().any(|c| c.is_control() && c != '\n'),
            "raw control characters reach the terminal: {stderr:?}"
        );
        assert_eq!(stderr.lines().count(), 1, "{stderr:?}");
        assert!(
            stderr.contains(r"\x1b[2J") || stderr.contains(r"\u{1b}[2J"),
            "{stderr:?}"
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_path_value_stays_in_its_segment() {
    let (fake, check) = fake().await;
    // A refund id is digits: anything else is refused before it is signed
    // (exit 2, bad usage), and nothing reaches the server.
    for bad in [r"..\..\..\..\admin\x", "..", "110000235001/../x", ""] {
        let mut cmd = configured(&fake.base_url(), SECRET);
        cmd.args(["--dry-run", "taobao-refund-cancel", "--refund-id", bad]);
        let out = run(cmd).await;
        assert_eq!(clean(&out).status.code(), Some(2), "{bad:?}");
        assert!(
            text(&out.stderr).contains("an id must be decimal digits"),
            "{bad:?}: {}",
            text(&out.stderr)
        );
        assert!(out.stdout.is_empty(), "{bad:?}");
    }
    let mut cmd = configured(&fake.base_url(), SECRET);
    cmd.args(["taobao-refund-cancel", "--refund-id", "110000235001"]);
    let out = run(cmd).await;
    assert!(clean(&out).status.success(), "{}", text(&out.stderr));
    let seen = check.seen();
    assert_eq!(seen.len(), 1);
    assert_eq!(seen[0].path, "/v2/taobao/order/refund/cancel/110000235001");

    // An any-path call refuses dot segments and backslashes rather than
    // letting the URL parser rewrite them.
    for bad in [
        "/v2/taobao/../../admin",
        r"/v2\..\admin",
        "/v2/%2e%2e/admin",
    ] {
        let mut cmd = configured(&fake.base_url(), SECRET);
        cmd.args(["request", "GET", bad]);
        let out = run(cmd).await;
        assert_eq!(clean(&out).status.code(), Some(1), "{bad:?}");
        assert!(
            text(&out.stderr).contains("invalid request")
                && text(&out.stderr).contains("[not sent]"),
            "{bad:?}: {}",
            text(&out.stderr)
        );
    }
    assert_eq!(check.seen().len(), 1, "nothing more reached the server");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_secret_signs_as_given_and_each_error_is_said_once() {
    // The secret never travels, so spaces at its ends are part of it: the
    // fake knows it with them, and the call verifies.
    const SPACED: &str = " leading and trailing space ";
    let check = SignatureCheck::new(Credentials::new(KEY, SPACED, USER).expect("credentials"));
    let fake = FakePandaPon::start(SocketAddr::from((Ipv4Addr::LOCALHOST, 0)), check.clone())
        .await
        .expect("fake starts");
    let mut cmd = configured(&fake.base_url(), SPACED);
    cmd.args(["alibaba-cart-list"]);
    let out = run(cmd).await;
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(check.seen()[0].verdict.is_ok());

    // The access key does travel: one clear message, said once.
    let mut cmd = configured(&fake.base_url(), SECRET);
    cmd.env("PANDAPON_ACCESS_KEY", " spaced-key");
    cmd.args(["alibaba-cart-list"]);
    let out = run(cmd).await;
    assert_eq!(clean(&out).status.code(), Some(1));
    let stderr = text(&out.stderr);
    assert_eq!(
        stderr.trim_end(),
        "error: access key cannot be sent in an HTTP header: whitespace at the start or end"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn calls_go_through_a_proxy_by_flag_or_environment() {
    let (fake, check) = fake().await;
    let proxy = pandapon_tests::proxy::ForwardProxy::start().await;
    let mut by_flag = configured(&fake.base_url(), SECRET);
    by_flag.args(["--proxy", &proxy.url, "alibaba-cart-list"]);
    let out = run(by_flag).await;
    assert!(clean(&out).status.success(), "{}", text(&out.stderr));
    let mut by_env = configured(&fake.base_url(), SECRET);
    by_env
        .env("HTTP_PROXY", &proxy.url)
        .args(["alibaba-cart-list"]);
    let out = run(by_env).await;
    assert!(clean(&out).status.success(), "{}", text(&out.stderr));
    let lines = proxy.request_lines();
    assert_eq!(lines.len(), 2, "{lines:?}");
    for line in lines {
        assert!(
            line.starts_with(&format!("GET {}/v2/alibaba/cart/list", fake.base_url())),
            "{line}"
        );
    }
    assert_eq!(check.seen().len(), 2);
    // `push send` takes the same flag.
    let body = std::env::temp_dir().join(format!("proxy-push-{}.json", std::process::id()));
    std::fs::write(
        &body,
        br#"{"messageType":"ORDER_CREATE","messagePlatform":1}"#,
    )
    .expect("body file");
    let url = format!("{}/pushed", fake.base_url());
    let mut send = configured(&fake.base_url(), SECRET);
    send.args([
        "--proxy",
        &proxy.url,
        "push",
        "send",
        "--url",
        &url,
        "--body-file",
    ])
    .arg(&body);
    clean(&run(send).await);
    let lines = proxy.request_lines();
    assert!(
        lines.iter().any(|l| l.starts_with(&format!("POST {url}"))),
        "{lines:?}"
    );
}

/// A password in a proxy URL or in `push send`'s URL is never written out,
/// whether the URL is refused or the request fails.
#[tokio::test(flavor = "multi_thread")]
async fn passwords_in_urls_are_not_shown() {
    let body = std::env::temp_dir().join(format!("userinfo-push-{}.json", std::process::id()));
    std::fs::write(&body, br#"{"messageType":"ORDER_CREATE"}"#).expect("body file");
    let closed = pandapon_tests::closed_port_url();
    let bad_proxy = "http://alice:s3cr3t-proxy@proxy.example:99999";
    let with_password = closed.replacen("http://", "http://bob:s3cr3t-url@", 1);
    let runs = [
        vec!["--proxy", bad_proxy, "alibaba-cart-list"],
        vec![
            "--proxy",
            bad_proxy,
            "push",
            "send",
            "--url",
            &closed,
            "--body-file",
        ],
        vec!["push", "send", "--url", &with_password, "--body-file"],
    ];
    for args in runs {
        let mut cmd = configured(&closed, SECRET);
        cmd.args(&args);
        if args.last() == Some(&"--body-file") {
            cmd.arg(&body);
        }
        let out = clean(&run(cmd).await).clone();
        let stderr = text(&out.stderr);
        assert!(!out.status.success(), "{args:?}: {stderr}");
        for shown in [&stderr, &text(&out.stdout)] {
            assert!(!shown.contains("s3cr3t"), "{args:?}: {shown}");
        }
        assert!(
            stderr.contains("***@"),
            "{args:?}: the URL is still named: {stderr}"
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn amounts_take_their_unit_and_ids_their_form() {
    let (fake, check) = fake().await;
    let dry_run = |args: &[&str]| {
        let mut cmd = configured(&fake.base_url(), SECRET);
        cmd.arg("--dry-run").args(args);
        cmd
    };
    // Yuan filters take decimals and go out as written.
    let out = run(dry_run(&[
        "alibaba-product-keyword-search",
        "--keyword",
        "鞋",
        "--price-start",
        "12.30",
        "--price-end",
        "647.60",
    ]))
    .await;
    assert!(clean(&out).status.success(), "{}", text(&out.stderr));
    let curl = text(&out.stdout);
    assert!(
        curl.contains(r#""priceStart":"12.30""#) && curl.contains(r#""priceEnd":"647.60""#),
        "{curl}"
    );
    // Fen take whole numbers and go out as integers.
    let out = run(dry_run(&[
        "taobao-cart-add",
        "--mp-id",
        "26",
        "--mp-sku-id",
        "65",
        "--price",
        "689",
    ]))
    .await;
    assert!(clean(&out).status.success(), "{}", text(&out.stderr));
    assert!(
        text(&out.stdout).contains(r#""price":689"#),
        "{}",
        text(&out.stdout)
    );

    // The wrong unit, or a malformed amount or id, is bad usage (exit 2)
    // that says what was expected, and nothing is printed or sent.
    for (args, expected) in [
        (
            &[
                "taobao-cart-add",
                "--mp-id",
                "26",
                "--mp-sku-id",
                "65",
                "--price",
                "6.89",
            ][..],
            "\"6.89\" is not fen: expected a whole number of fen, such as 1230 for 12.30 yuan",
        ),
        (
            &["alibaba-product-keyword-search", "--price-start", "1e3"][..],
            "\"1e3\" is not yuan: expected a decimal number of yuan, such as 12.30",
        ),
        (
            &["alibaba-product-keyword-search", "--price-start", "0.00001"][..],
            "more than 4 decimals",
        ),
        (
            &["taobao-refund-detail", "--refund-id", "TQ2026"][..],
            "an id must be decimal digits, got \"TQ2026\"",
        ),
        (
            &[
                "taobao-order-logistics-detail-get",
                "--sub-purchase-order-id",
                "2000 48",
            ][..],
            "an id must be decimal digits",
        ),
        (
            &["alibaba-order-pay-url", "--order-id=-1"][..],
            "an id must be decimal digits",
        ),
    ] {
        let out = run(dry_run(args)).await;
        assert_eq!(clean(&out).status.code(), Some(2), "{args:?}");
        assert!(
            text(&out.stderr).contains(expected),
            "{args:?}: {}",
            text(&out.stderr)
        );
        assert!(out.stdout.is_empty(), "{args:?}");
    }
    assert!(check.seen().is_empty(), "nothing reached the server");

    // Every amount flag's help names its unit.
    for (command, flag, unit) in [
        ("taobao-cart-add", "--price <price>", "fen"),
        (
            "taobao-order-create",
            "--purchase-amount <purchase-amount>",
            "fen",
        ),
        (
            "alibaba-product-image-search",
            "--price-end <price-end>",
            "yuan",
        ),
    ] {
        let mut cmd = pandapon();
        cmd.args([command, "--help"]);
        let out = run(cmd).await;
        let help = text(&out.stdout);
        let after = help
            .split(flag)
            .nth(1)
            .unwrap_or_else(|| panic!("{command}: {help}"));
        let line = after.lines().nth(1).unwrap_or_default();
        assert!(line.contains(unit), "{command} {flag}: {line:?}");
    }
}
