//! One answer, one verdict: every row of the guide's outcome table through
//! every way of making a call — the typed `call()`, the raw `send()` judged
//! with `Reply::try_from`, the any-path `call()` and `send()`, a page
//! stream, and the CLI with and without `--all` — must end in the same
//! error variant and the same outcome.

use std::time::Duration;

use bytes::Bytes;
use pandapon_gen::types::AlibabaProductKeywordSearchRequest;
use pandapon_gen::{Client, Error, Method, Outcome, Reply, StallPolicy, Stream};
use pandapon_httpmock::{FakePandaPon, Fault, SignatureCheck};
use serde_json::Value;

use super::{configured, creds, run, text};

/// The search operation: paginated, so that the page stream meets the same
/// answer; read-only, but every client here makes one attempt.
const PATH: &str = "/v2/alibaba/product/keywords/query";
const COMMAND: &str = "alibaba-product-keyword-search";
/// The size limit every client here reads within.
const MAX_BYTES: usize = 64 * 1024;

/// What a row expects: `None` for success, else the variant and outcome.
type Verdict = Option<(&'static str, Outcome)>;

/// The variant of an error, by name.
fn variant(error: &Error) -> &'static str {
    match error {
        Error::Api(_) => "Api",
        Error::Http { .. } => "Http",
        Error::EmptyBody { .. } => "EmptyBody",
        Error::Decode { .. } => "Decode",
        Error::Incomplete { .. } => "Incomplete",
        Error::TooLarge { .. } => "TooLarge",
        Error::TooLargeDecoded { .. } => "TooLargeDecoded",
        Error::Stalled { .. } => "Stalled",
        Error::Transport(_) => "Transport",
        Error::InvalidRequest(_) => "InvalidRequest",
        Error::DryRun => "DryRun",
        _ => "other",
    }
}

/// What the CLI's message starts with, after `error: `, for the variants
/// whose text depends on timing or on the operating system.
fn cli_marker(variant: &str) -> &'static str {
    match variant {
        "Stalled" => "response body stalled:",
        "Transport" => "transport error:",
        _ => "?",
    }
}

fn verdict<T>(result: &Result<T, Error>) -> Verdict {
    result.as_ref().err().map(|e| (variant(e), e.outcome()))
}

fn body() -> AlibabaProductKeywordSearchRequest {
    AlibabaProductKeywordSearchRequest::builder()
        .keyword(Some("T恤".to_owned()))
        .try_into()
        .expect("a complete body")
}

/// A page of 20,000 empty products: 60 kB on the wire, within the size
/// limit, that would take megabytes once decoded.
fn costly_page() -> Bytes {
    let items = vec!["{}"; 20_000].join(",");
    Bytes::from(format!(
        r#"{{"code":200,"data":{{"totalPage":1,"data":[{items}]}}}}"#
    ))
}

/// The rows: the guide's outcome table, one answer each.
fn rows() -> Vec<(&'static str, Option<Fault>, Verdict)> {
    let answer =
        |status: u16, body: &str| Some(Fault::Answer(status, Bytes::from(body.to_owned())));
    vec![
        ("success", None, None),
        (
            "business error inside HTTP 200",
            Some(Fault::Business(500, "订单状态不允许此操作".into())),
            Some(("Api", Outcome::Refused)),
        ),
        (
            "a gateway's 504 with an envelope body",
            answer(504, r#"{"code":504,"msg":"Gateway Time-out"}"#),
            Some(("Api", Outcome::Unknown)),
        ),
        (
            "a gateway's 502 error page",
            Some(Fault::Status(502, None)),
            Some(("Http", Outcome::Unknown)),
        ),
        (
            "a gateway's 504 error page",
            Some(Fault::Status(504, None)),
            Some(("Http", Outcome::Unknown)),
        ),
        (
            "500 whose envelope is a server error",
            answer(500, r#"{"code":500,"msg":"系统异常","requestId":"r-500"}"#),
            Some(("Api", Outcome::Unknown)),
        ),
        (
            "500 whose envelope turns the request down",
            answer(500, r#"{"code":400,"msg":"参数错误","requestId":"r-400"}"#),
            Some(("Api", Outcome::Refused)),
        ),
        (
            "500 error page",
            answer(500, "<html>Internal Server Error</html>"),
            Some(("Http", Outcome::Unknown)),
        ),
        (
            "500 with an empty body",
            answer(500, ""),
            Some(("EmptyBody", Outcome::Unknown)),
        ),
        (
            "503",
            Some(Fault::Status(503, None)),
            Some(("Http", Outcome::Refused)),
        ),
        (
            "429",
            Some(Fault::Status(429, Some(1))),
            Some(("Http", Outcome::Refused)),
        ),
        (
            "503 with an envelope",
            answer(503, r#"{"code":503,"msg":"服务繁忙","requestId":"r-503"}"#),
            Some(("Api", Outcome::Refused)),
        ),
        (
            "429 with an empty body",
            answer(429, ""),
            Some(("EmptyBody", Outcome::Refused)),
        ),
        (
            "404 error page",
            answer(404, "<html>Not Found</html>"),
            Some(("Http", Outcome::Refused)),
        ),
        (
            "404 with an empty body",
            answer(404, ""),
            Some(("EmptyBody", Outcome::Refused)),
        ),
        (
            "a redirect (3xx), not followed",
            answer(302, "<html>Moved</html>"),
            Some(("Http", Outcome::Refused)),
        ),
        (
            "501 error page",
            answer(501, "<html>Not Implemented</html>"),
            Some(("Http", Outcome::Refused)),
        ),
        (
            "501 with an envelope",
            answer(501, r#"{"code":501,"msg":"not implemented"}"#),
            Some(("Api", Outcome::Refused)),
        ),
        (
            "400 with an envelope",
            answer(400, r#"{"code":400,"msg":"bad request"}"#),
            Some(("Api", Outcome::Refused)),
        ),
        (
            "502 with an empty body",
            answer(502, ""),
            Some(("EmptyBody", Outcome::Unknown)),
        ),
        (
            "200 with an empty body",
            answer(200, " "),
            Some(("EmptyBody", Outcome::Unknown)),
        ),
        (
            "200 cut-off JSON",
            Some(Fault::Malformed),
            Some(("Decode", Outcome::Unknown)),
        ),
        (
            "200 HTML",
            answer(200, "<html>maintenance</html>"),
            Some(("Decode", Outcome::Unknown)),
        ),
        (
            "200 envelope without code",
            answer(200, r#"{"msg":"?","data":{}}"#),
            Some(("Incomplete", Outcome::Unknown)),
        ),
        (
            "200 over the size limit",
            Some(Fault::Oversized {
                bytes: MAX_BYTES * 4,
                declared: false,
            }),
            Some(("TooLarge", Outcome::Unknown)),
        ),
        (
            "200 declared over the size limit",
            Some(Fault::Oversized {
                bytes: MAX_BYTES * 4,
                declared: true,
            }),
            Some(("TooLarge", Outcome::Unknown)),
        ),
        (
            "201 with a success envelope",
            answer(
                201,
                r#"{"code":200,"msg":"成功","data":{"totalPage":1,"data":[]}}"#,
            ),
            Some(("Http", Outcome::Unknown)),
        ),
        (
            "202 with a business error envelope",
            answer(202, r#"{"code":500,"msg":"处理中"}"#),
            Some(("Api", Outcome::Unknown)),
        ),
        (
            "204 with no body",
            answer(204, ""),
            Some(("EmptyBody", Outcome::Unknown)),
        ),
        (
            "200 over the memory budget",
            Some(Fault::Answer(200, costly_page())),
            Some(("TooLargeDecoded", Outcome::Unknown)),
        ),
        (
            "200 whose body stalls",
            Some(Fault::Stall(Duration::from_secs(30))),
            Some(("Stalled", Outcome::Unknown)),
        ),
        (
            "reset before the answer",
            Some(Fault::Reset),
            Some(("Transport", Outcome::Unknown)),
        ),
        (
            "reset inside the body",
            Some(Fault::Truncate),
            Some(("Transport", Outcome::Unknown)),
        ),
        (
            "no answer within the attempt timeout",
            Some(Fault::Delay(Duration::from_secs(30))),
            Some(("Transport", Outcome::Unknown)),
        ),
    ]
}

/// A client of `base_url` that tries once, gives each attempt 1 s and a
/// stalled body 300 ms. The CLI's flags set the same, but for the stall
/// grace, which the CLI leaves at its default (5 s).
fn client(base_url: &str) -> Client {
    Client::builder(creds())
        .base_url(base_url)
        .retry_policy(pandapon_gen::RetryPolicy::none())
        .timeout(Duration::from_secs(1))
        .stall_protection(StallPolicy::default().grace(Duration::from_millis(300)))
        .max_response_bytes(MAX_BYTES)
        .build()
        .expect("client")
}

/// Every in-process way of making the call, each with its verdict, and the
/// typed call's error as the CLI must print it.
async fn in_process(client: &Client) -> (Vec<(&'static str, Verdict)>, Option<String>) {
    let typed_call = client
        .alibaba_product_keyword_search()
        .body(body())
        .call()
        .await;
    let typed_send = client
        .alibaba_product_keyword_search()
        .body(body())
        .send()
        .await
        .and_then(Reply::try_from);
    let any_call = client
        .request(Method::POST, PATH)
        .json(&body())
        .call::<Value>()
        .await;
    let any_send = client
        .request(Method::POST, PATH)
        .json(&body())
        .send::<Value>()
        .await
        .and_then(Reply::try_from);
    let mut items = client.alibaba_product_keyword_search().body(body()).items();
    let first_item = std::future::poll_fn(|cx| std::pin::Pin::new(&mut items).poll_next(cx))
        .await
        .expect("a first item or an error");
    let line = typed_call.as_ref().err().map(cli_line);
    let verdicts = vec![
        ("typed call()", verdict(&typed_call)),
        ("typed send()", verdict(&typed_send)),
        ("any-path call()", verdict(&any_call)),
        ("any-path send()", verdict(&any_send)),
        ("items()", verdict(&first_item)),
    ];
    (verdicts, line)
}

/// What the CLI prints on stderr for `error`, whole: one line with the
/// error, escaped, and its outcome.
fn cli_line(error: &Error) -> String {
    format!(
        "error: {} [{}]\n",
        pandapon_gen::escape_controls(&error.to_string()),
        error.outcome()
    )
}

/// Whether the CLI's whole stderr is what the row calls for.
///
/// It must be exactly the line the SDK's own error gives, except for the
/// rows whose text depends on timing or on the operating system: a stalled
/// body names the bytes that arrived in the last grace period (and the
/// CLI's grace is its default), and a transport error carries the system's
/// words for the failure. Their whole line is then matched by its fixed
/// parts: the variant's opening words and the outcome.
fn cli_fits(stderr: &str, ok: bool, expected: Verdict, line: Option<&str>) -> bool {
    let Some((variant, outcome)) = expected else {
        return ok && stderr.is_empty();
    };
    if ok {
        return false;
    }
    match variant {
        "Stalled" | "Transport" => {
            let opening = format!("error: {} ", cli_marker(variant));
            stderr.starts_with(&opening)
                && stderr.ends_with(&format!(" [{outcome}]\n"))
                && stderr.lines().count() == 1
        }
        _ => line == Some(stderr),
    }
}

/// The CLI's verdict: exit status, and the variant's marker and the
/// outcome on stderr. A stalled body needs an attempt timeout well past the
/// CLI's stall grace (5 s), or the timeout ends the attempt first: the
/// stall clock starts only once the first half of the body is in, which on
/// a loaded machine can take seconds, so the timeout is four times the
/// grace (the stall still ends the attempt after about 5 s).
async fn cli(base_url: &str, all: bool, stalls: bool) -> (bool, String) {
    let mut cmd = configured(base_url, super::SECRET);
    cmd.args([
        "--max-attempts",
        "1",
        "--timeout",
        if stalls { "20" } else { "1" },
        "--max-response-bytes",
        &MAX_BYTES.to_string(),
        COMMAND,
        "--keyword",
        "T恤",
    ]);
    if all {
        cmd.arg("--all");
    }
    let out = run(cmd).await;
    (out.status.success(), text(&out.stderr))
}

#[tokio::test(flavor = "multi_thread")]
async fn every_path_gives_every_answer_the_same_verdict() {
    let mut rows_run = Vec::new();
    for (name, fault, expected) in rows() {
        rows_run.push(tokio::spawn(async move {
            let check = SignatureCheck::new(creds());
            let plan = move |_: &pandapon_httpmock::Arrival<'_>| fault.clone();
            let fake = FakePandaPon::builder(check)
                .plan(plan)
                .start(([127, 0, 0, 1], 0).into())
                .await
                .expect("fake starts");
            let url = fake.base_url();
            let mut mismatches = Vec::new();
            let (verdicts, line) = in_process(&client(&url)).await;
            for (path, got) in verdicts {
                if got != expected {
                    mismatches.push(format!(
                        "{name}: {path} gave {got:?}, expected {expected:?}"
                    ));
                }
            }
            let stalls = matches!(expected, Some(("Stalled", _)));
            for all in [false, true] {
                let (ok, stderr) = cli(&url, all, stalls).await;
                if !cli_fits(&stderr, ok, expected, line.as_deref()) {
                    mismatches.push(format!(
                        "{name}: the CLI{} printed {stderr:?}, expected {expected:?} as {line:?}",
                        if all { " with --all" } else { "" }
                    ));
                }
            }
            mismatches
        }));
    }
    let mut mismatches = Vec::new();
    for row in rows_run {
        mismatches.extend(row.await.expect("row runs"));
    }
    assert!(mismatches.is_empty(), "{}", mismatches.join("\n"));
}

#[tokio::test(flavor = "multi_thread")]
async fn not_sent_is_not_sent_on_every_path() {
    // Nothing listens: the connection is refused before anything is sent.
    let url = pandapon_tests::closed_port_url();
    let (verdicts, line) = in_process(&client(&url)).await;
    for (path, got) in verdicts {
        assert_eq!(got, Some(("Transport", Outcome::NotSent)), "{path}");
    }
    for all in [false, true] {
        let (ok, stderr) = cli(&url, all, false).await;
        assert!(
            cli_fits(
                &stderr,
                ok,
                Some(("Transport", Outcome::NotSent)),
                line.as_deref()
            ),
            "{stderr}"
        );
    }

    // A dry run: signed and shown, never sent.
    let dry = Client::builder(creds())
        .base_url(&url)
        .dry_run(|_| {})
        .build()
        .expect("client");
    for (path, got) in in_process(&dry).await.0 {
        assert_eq!(got, Some(("DryRun", Outcome::NotSent)), "{path}");
    }

    // Values that cannot be sent: refused before signing, on every path.
    let client = client(&url);
    let typed = client.taobao_refund_cancel().refund_id("..").call().await;
    let any = client
        .request(Method::GET, "/v2/taobao/order/refund/cancel/..")
        .call::<Value>()
        .await;
    for got in [verdict(&typed), verdict(&any)] {
        assert_eq!(got, Some(("InvalidRequest", Outcome::NotSent)));
    }
    // The CLI's typed commands refuse such an id as bad usage before any
    // call; its any-path call meets the step's refusal.
    let mut cmd = configured(&url, super::SECRET);
    cmd.args(["request", "GET", "/v2/taobao/order/refund/cancel/.."]);
    let out = run(cmd).await;
    let line = any.as_ref().err().map(cli_line);
    assert!(
        cli_fits(
            &text(&out.stderr),
            out.status.success(),
            Some(("InvalidRequest", Outcome::NotSent)),
            line.as_deref()
        ),
        "{}",
        text(&out.stderr)
    );
}
