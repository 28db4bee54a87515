//! What an answer costs in memory once decoded, measured rather than
//! estimated: a counting allocator in this process for the SDK, and the
//! peak resident size of the `pandapon` binary for the CLI.
//!
//! The bodies are 15 MiB, under the default 16 MiB size limit: one of tiny
//! objects (`{"a":0}`, the hostile shape that used to take about 95 times
//! its size through the SDK and 190 times through the CLI) and one of
//! search results shaped like PandaPon's documented example. Decoding may
//! take at most 8 times a body's size (plus 64 KiB); a body that would take
//! more is refused with `Error::TooLargeDecoded` before it can. A whole
//! call, the SDK's `call()` or the CLI, also holds the body it read while
//! it decodes, so its bound is 9 times the body (plus 64 KiB): the body
//! once, and its decode.
//!
//! One test, run alone in its own binary: the allocator's counts and the
//! children's resource usage are process-wide. The CLI runs first, against
//! a server that makes its bodies as it sends them: a child's recorded peak
//! is never below this process's own at the moment the child starts, so
//! this process stays small until the CLI runs are done.

use std::process::{Command, Stdio};

use bytes::Bytes;
use nix::sys::resource::{UsageWho, getrusage};
use pandapon_gen::types::{AlibabaProductKeywordSearchRequest, AlibabaProductSearchResponse};
use pandapon_gen::{Client, Credentials, DECODE_ALLOWANCE, Error, decode_response};
use pandapon_httpmock::{FakePandaPon, Fault, SignatureCheck};
use peak_alloc::PeakAlloc;

#[global_allocator]
static ALLOCATOR: PeakAlloc = PeakAlloc;

const KEY: &str = "memory-test-key";
const SECRET: &str = "memory-test-SECRET";
const USER: &str = "2100007341207";
/// The bodies' size: 15 MiB.
const SIZE: usize = 15 << 20;
/// The decoded-memory bound, as a multiple of the body.
const RATIO: usize = 8;
/// A whole call's bound: the body as read, and its decode.
const CALL_RATIO: usize = RATIO + 1;

/// Tiny objects: the shape that costs most per byte.
const TINY: &str = r#"{"a":0}"#;

/// A product as PandaPon's search documents it (two named fields, the rest
/// kept as JSON).
const PRODUCT: &str = concat!(
    r#"{"imageUrl":"https://cbu01.alicdn.com/img/ibank/O1CN01Gf8JoQ20i0lN5N8v2_!!2207943566882-0-cib.jpg","#,
    r#""subject":"国潮男装t恤230g重磅短袖男女","subjectTrans":"National tide T-shirt 230g heavy","#,
    r#""offerId":681234567890,"isJxhy":false,"priceInfo":{"price":"12.30","jxhyPrice":null,"#,
    r#""consignPrice":"13.00"},"repurchaseRate":"32%","monthSold":1234,"#,
    r#""traceInfo":"object_id@681234567890^object_type@offer","isOnePsale":true}"#
);

/// A search page of about `size` bytes whose items are all `item`, in
/// pieces of about 64 KiB, made as they are asked for.
fn page_pieces(item: &'static str, size: usize) -> impl Iterator<Item = Bytes> {
    let head = r#"{"code":200,"msg":"成功","data":{"totalPage":1,"currentPage":1,"data":["#;
    let tail = "]}}";
    let count = (size - head.len() - tail.len()) / (item.len() + 1);
    let per_piece = (64 * 1024 / (item.len() + 1)).max(1);
    let pieces = count.div_ceil(per_piece);
    std::iter::once(Bytes::from_static(head.as_bytes()))
        .chain((0..pieces).map(move |p| {
            let n = per_piece.min(count - p * per_piece);
            let mut piece = String::with_capacity(n * (item.len() + 1));
            for i in 0..n {
                if p > 0 || i > 0 {
                    piece.push(',');
                }
                piece.push_str(item);
            }
            Bytes::from(piece)
        }))
        .chain(std::iter::once(Bytes::from_static(tail.as_bytes())))
}

/// The whole page, in memory.
fn page_of(item: &'static str) -> Bytes {
    Bytes::from(
        page_pieces(item, SIZE)
            .flat_map(|b| b.to_vec())
            .collect::<Vec<u8>>(),
    )
}

/// A server that answers every request with a page of `item`s (or, with
/// `None`, a small success), made as it is sent. Returns its base URL.
async fn streaming_server(item: Option<&'static str>) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let url = format!("http://{}", listener.local_addr().expect("address"));
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            tokio::spawn(async move {
                // The request: headers, then as many body bytes as declared.
                let mut request = Vec::new();
                let mut buf = [0u8; 4096];
                loop {
                    let Ok(n) = stream.read(&mut buf).await else {
                        return;
                    };
                    if n == 0 {
                        return;
                    }
                    request.extend_from_slice(&buf[..n]);
                    let text = String::from_utf8_lossy(&request).to_lowercase();
                    if let Some(end) = text.find("\r\n\r\n") {
                        let declared = text
                            .lines()
                            .find_map(|l| l.strip_prefix("content-length:"))
                            .and_then(|v| v.trim().parse::<usize>().ok())
                            .unwrap_or(0);
                        if request.len() >= end + 4 + declared {
                            break;
                        }
                    }
                }
                const SMALL: &[u8] = br#"{"code":200,"msg":"ok","data":{"totalPage":1,"data":[]}}"#;
                let pieces = || -> Box<dyn Iterator<Item = Bytes> + Send> {
                    match item {
                        Some(item) => Box::new(page_pieces(item, SIZE)),
                        None => Box::new(std::iter::once(Bytes::from_static(SMALL))),
                    }
                };
                // Made twice, once to count: never held whole.
                let length: usize = pieces().map(|p| p.len()).sum();
                let head = format!(
                    "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\n\
                     content-length: {length}\r\nconnection: close\r\n\r\n"
                );
                if stream.write_all(head.as_bytes()).await.is_err() {
                    return;
                }
                for piece in pieces() {
                    if stream.write_all(&piece).await.is_err() {
                        return;
                    }
                }
                let _ = stream.shutdown().await;
            });
        }
    });
    url
}

/// Peak bytes allocated while `run` runs, beyond what was allocated before.
fn peak_during<T>(run: impl FnOnce() -> T) -> (T, usize) {
    let base = ALLOCATOR.current_usage();
    ALLOCATOR.reset_peak_usage();
    let out = run();
    (out, ALLOCATOR.peak_usage().saturating_sub(base))
}

fn ratio(bytes: usize, size: usize) -> f64 {
    bytes as f64 / size as f64
}

/// The largest resident size of any child waited for so far, in bytes.
fn children_peak_rss() -> usize {
    let usage = getrusage(UsageWho::RUSAGE_CHILDREN).expect("getrusage");
    // Linux reports kilobytes.
    usize::try_from(usage.max_rss()).unwrap_or(0) * 1024
}

fn cli(base_url: &str) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_pandapon"))
        .env("PANDAPON_ACCESS_KEY", KEY)
        .env("PANDAPON_ACCESS_SECRET", SECRET)
        .env("PANDAPON_USER_ID", USER)
        .env("PANDAPON_BASE_URL", base_url)
        .args([
            "--max-attempts",
            "1",
            "alibaba-product-keyword-search",
            "--keyword",
            "x",
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .output()
        .expect("pandapon runs")
}

#[test]
fn decoding_takes_at_most_eight_times_the_body_and_a_whole_call_nine() {
    let bound = |size: usize| RATIO * size + DECODE_ALLOWANCE;
    let call_bound = |size: usize| CALL_RATIO * size + DECODE_ALLOWANCE;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("runtime");

    // The CLI: its peak resident size beyond that of a run with a small
    // answer (the binary, the runtime, the TLS roots).
    let small = runtime.block_on(streaming_server(None));
    let out = cli(&small);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let baseline = children_peak_rss();
    for (name, item, succeeds) in [
        ("ordinary results", PRODUCT, true),
        ("tiny objects", TINY, false),
    ] {
        let url = runtime.block_on(streaming_server(Some(item)));
        let out = cli(&url);
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        assert_eq!(out.status.success(), succeeds, "{name}: {stderr}");
        if !succeeds {
            assert!(stderr.contains("of memory once decoded"), "{stderr}");
        }
        let grown = children_peak_rss().saturating_sub(baseline);
        eprintln!(
            "CLI, {name}: peak RSS {:.2}x the body above the baseline of {} MiB",
            ratio(grown, SIZE),
            baseline >> 20
        );
        // The body as read, and its decode.
        assert!(grown <= call_bound(SIZE), "{name}: {grown} bytes");
    }

    // The classifier's decode, which every way of calling goes through.
    let hostile = page_of(TINY);
    let ordinary = page_of(PRODUCT);
    let (result, peak) =
        peak_during(|| decode_response::<AlibabaProductSearchResponse>(200, &hostile));
    eprintln!(
        "decode, tiny objects: refused at {:.2}x",
        ratio(peak, hostile.len())
    );
    assert!(
        matches!(result, Err(Error::TooLargeDecoded { .. })),
        "{result:?}"
    );
    assert!(peak <= bound(hostile.len()), "{peak} bytes");

    let (result, peak) =
        peak_during(|| decode_response::<AlibabaProductSearchResponse>(200, &ordinary));
    eprintln!(
        "decode, ordinary results: {:.2}x",
        ratio(peak, ordinary.len())
    );
    let items = result
        .expect("ordinary results decode")
        .data
        .data
        .map_or(0, |d| d.len());
    assert!(items > 30_000, "{items} items");
    assert!(peak <= bound(ordinary.len()), "{peak} bytes");

    // A whole call through the SDK: the body as read, then its decode.
    let credentials = Credentials::new(KEY, SECRET, USER).expect("credentials");
    let check = SignatureCheck::new(credentials.clone());
    let answer = hostile.clone();
    let plan = move |_: &pandapon_httpmock::Arrival<'_>| Some(Fault::Answer(200, answer.clone()));
    let fake = runtime
        .block_on(
            FakePandaPon::builder(check)
                .plan(plan)
                .start(([127, 0, 0, 1], 0).into()),
        )
        .expect("fake starts");
    let client = Client::builder(credentials)
        .base_url(fake.base_url())
        .build()
        .expect("client");
    let call = client
        .alibaba_product_keyword_search()
        .body(AlibabaProductKeywordSearchRequest::builder().keyword(Some("x".to_owned())))
        .call();
    let (result, peak) = peak_during(|| runtime.block_on(call));
    eprintln!(
        "call(), tiny objects: refused at {:.2}x",
        ratio(peak, hostile.len())
    );
    assert!(
        matches!(result, Err(Error::TooLargeDecoded { .. })),
        "{result:?}"
    );
    assert!(peak <= call_bound(hostile.len()), "{peak} bytes");
}
