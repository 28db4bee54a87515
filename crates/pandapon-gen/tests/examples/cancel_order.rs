//! Runs the `cancel_order` example binary as a user would, with and without
//! `PANDAPON_*` variables, and checks its stdout, stderr and exit code.
//!
//! `cargo test` builds examples before it runs tests, so the binary is beside
//! this test's own executable.

use std::process::{Command, Output};

use pandapon_gen::Credentials;
use pandapon_httpmock::httpmock::{Method::POST, MockServer};
use pandapon_httpmock::{SignatureCheck, business_error, success};
use pandapon_tests::process::{self, scrubbed, text};

const SECRET: &str = "example-test-secret-77";

fn example() -> Command {
    scrubbed(process::example("cancel_order"))
}

fn configured<'a>(cmd: &'a mut Command, base_url: &str) -> &'a mut Command {
    cmd.env("PANDAPON_ACCESS_KEY", "it-key")
        .env("PANDAPON_ACCESS_SECRET", SECRET)
        .env("PANDAPON_USER_ID", "2100007341207")
        .env("PANDAPON_BASE_URL", base_url)
}

fn assert_clean(out: &Output) {
    process::assert_clean(out, SECRET);
}

#[test]
fn with_no_variables_it_uses_the_built_in_mock() {
    let out = example()
        .args(["--order-id", "2542285634920880794", "--reason", "不想要了"])
        .output()
        .expect("runs");
    assert_clean(&out);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    assert_eq!(stdout.lines().count(), 1, "{stdout}");
    let line: serde_json::Value = serde_json::from_str(stdout.trim()).expect("one JSON line");
    assert_eq!(line["data"], true);
    assert_eq!(line["requestId"].as_str().map(str::len), Some(32));
    assert!(text(&out.stderr).contains("local mock"));
}

async fn server(answer: serde_json::Value) -> (MockServer, SignatureCheck) {
    let server = MockServer::start_async().await;
    let check = SignatureCheck::new(
        Credentials::new("it-key", SECRET, "2100007341207").expect("credentials"),
    );
    server
        .mock_async(|when, then| {
            when.method(POST)
                .path("/v2/alibaba/order/cancel")
                .body(r#"{"orderId":2542285634920880794,"remark":"r","webSite":"1688"}"#)
                .is_true(check.signed());
            then.status(200).json_body(answer);
        })
        .await;
    check.guard(&server).await;
    (server, check)
}

#[tokio::test]
async fn with_variables_it_calls_that_server() {
    let (server, check) = server(success(true)).await;
    let out = configured(&mut example(), &server.base_url())
        .args(["--order-id", "2542285634920880794", "--remark", "r"])
        .output()
        .expect("runs");
    assert_clean(&out);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(text(&out.stdout).contains(r#""data":true"#));
    assert!(!text(&out.stderr).contains("local mock"));
    assert_eq!(check.seen().iter().filter(|s| s.verdict.is_ok()).count(), 1);
}

#[tokio::test]
async fn an_api_error_goes_to_stderr_with_a_failing_exit() {
    let (server, _check) = server(business_error(500, "订单已支付")).await;
    let out = configured(&mut example(), &server.base_url())
        .args(["--order-id", "2542285634920880794", "--remark", "r"])
        .output()
        .expect("runs");
    assert_clean(&out);
    assert_eq!(out.status.code(), Some(1));
    assert!(out.stdout.is_empty());
    let stderr = text(&out.stderr);
    for part in ["code 500", "订单已支付", pandapon_httpmock::REQUEST_ID] {
        assert!(stderr.contains(part), "{part} missing from {stderr}");
    }
}

#[test]
fn a_partial_configuration_names_the_missing_variable() {
    let out = example()
        .env("PANDAPON_ACCESS_KEY", "k")
        .env("PANDAPON_USER_ID", "u")
        .args(["--order-id", "1"])
        .output()
        .expect("runs");
    assert_clean(&out);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("PANDAPON_ACCESS_SECRET"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn a_bad_order_id_is_a_usage_error() {
    for bad in ["abc", "99999999999999999999"] {
        let out = example().args(["--order-id", bad]).output().expect("runs");
        assert_clean(&out);
        assert_eq!(out.status.code(), Some(2), "{bad}");
        assert!(
            text(&out.stderr).contains("--order-id"),
            "{}",
            text(&out.stderr)
        );
    }
}
