//! A chaos soak: many mixed calls at once against a fake PandaPon that
//! injects faults at random (seeded), then every call's result is checked
//! against the faults its requests actually met.
//!
//! Each call carries a marker the fake can see (an item id, an order id, a
//! keyword, a query parameter), and the fault plan draws each request's
//! fault from the seed, the marker and the attempt number. So a run's faults
//! do not depend on scheduling, and the expected result of every call is
//! known: the last request's fault decides it, every earlier request must
//! have met a fault worth retrying, and a write must reach the fake once.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use pandapon_gen::types::{AlibabaOrderCancelRequest, AlibabaProductKeywordSearchRequest, WebSite};
use pandapon_gen::{Client, Error, Method, Outcome, RetryBudget, RetryPolicy, StallPolicy, Stream};
use pandapon_httpmock::{Arrival, FakePandaPon, Fault, Route, SignatureCheck};
use rand::{Rng, SeedableRng};

use crate::credentials;
use crate::load::peak_rss_kib;

/// How a soak runs.
#[derive(Debug, Clone)]
pub struct ChaosConfig {
    /// Calls in all (a paginated call counts once, however many pages).
    pub calls: usize,
    /// Calls in flight at once.
    pub concurrency: usize,
    /// Seed of the fault plan.
    pub seed: u64,
    /// Share of requests that meet a fault, in percent.
    pub fault_percent: u32,
}

impl Default for ChaosConfig {
    /// 10,000 calls at concurrency 256, seed 7, a fault for 40% of requests.
    fn default() -> Self {
        Self {
            calls: 10_000,
            concurrency: 256,
            seed: 7,
            fault_percent: 40,
        }
    }
}

/// The client's bounds during a soak, chosen so that every fault resolves
/// well within a call's budget, and so that the timing faults sit far from
/// the stall rule's line on a loaded machine: a slow answer takes at most
/// [`SLOWEST_MS`] in all (ten times inside the grace period, so that even a
/// busy scheduler's late timers cannot stretch one gap past it), and a
/// stall lasts [`STALL`] (ten times past it).
const MAX_RESPONSE_BYTES: usize = 256 * 1024;
const GRACE: Duration = Duration::from_secs(2);
/// The longest a slow answer takes to arrive, all its pieces together, in
/// milliseconds.
const SLOWEST_MS: u64 = 200;
/// Wide: with 256 calls in flight on two cores that other work shares, a
/// slow answer's attempt once took over 5 s from start to end.
const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(15);
const MAX_ELAPSED: Duration = Duration::from_secs(30);
/// Attempts a read may make in all.
const MAX_ATTEMPTS: usize = 4;
/// The longest wait between two attempts (a `Retry-After` is capped to it).
const MAX_BACKOFF: Duration = Duration::from_secs(2);
/// Past this, a call counts as hung: the last attempt starts before
/// `MAX_ELAPSED` and lasts at most `ATTEMPT_TIMEOUT`.
pub const CALL_BUDGET: Duration = Duration::from_secs(90);
/// How long an injected stall lasts: far past the grace period, so only
/// the stall rule can end it early.
const STALL: Duration = Duration::from_secs(20);

/// What a soak saw.
#[derive(Debug)]
pub struct ChaosReport {
    /// The configuration.
    pub config: ChaosConfig,
    /// Calls by kind.
    pub calls_by_kind: BTreeMap<&'static str, usize>,
    /// Requests that reached the fake.
    pub requests: usize,
    /// Faults injected, by kind.
    pub faults: BTreeMap<&'static str, usize>,
    /// Results (a page is a result) by outcome: "ok", "not sent",
    /// "refused", "unknown".
    pub results: BTreeMap<String, usize>,
    /// Calls that did not end within [`CALL_BUDGET`].
    pub hung: usize,
    /// Calls whose task panicked.
    pub panicked: usize,
    /// Write calls whose request reached the fake more than once.
    pub writes_resent: usize,
    /// Read results (a page is a result) whose request was sent more than
    /// once: zero would mean reads are not retried at all.
    pub retried_reads: usize,
    /// Distinct nonces among the requests (equal to `requests` when none
    /// was reused).
    pub distinct_nonces: usize,
    /// Results that disagree with the faults their requests met, described.
    pub mismatches: Vec<String>,
    /// The longest call.
    pub slowest: Duration,
    /// Wall time.
    pub elapsed: Duration,
    /// Resident memory at the start and at its peak (Linux; 0 elsewhere).
    pub rss_kib: (u64, u64),
}

impl ChaosReport {
    /// True when every check held.
    pub fn passed(&self) -> bool {
        self.hung == 0
            && self.panicked == 0
            && self.writes_resent == 0
            && self.retried_reads > 0
            && self.distinct_nonces == self.requests
            && self.mismatches.is_empty()
    }
}

/// One kind of call in the mix.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Read,
    Write,
    Pages,
    AnyRead,
    AnyWrite,
}

impl Kind {
    const ALL: [Kind; 5] = [
        Kind::Read,
        Kind::Write,
        Kind::Pages,
        Kind::AnyRead,
        Kind::AnyWrite,
    ];

    fn name(self) -> &'static str {
        match self {
            Kind::Read => "read",
            Kind::Write => "write",
            Kind::Pages => "pages",
            Kind::AnyRead => "any-path read",
            Kind::AnyWrite => "any-path write",
        }
    }

    fn writes(self) -> bool {
        matches!(self, Kind::Write | Kind::AnyWrite)
    }
}

const ANY_READ: &str = "/v2/chaos/echo";
const ANY_WRITE: &str = "/v2/chaos/submit";
/// Order ids of the write calls: this plus the call number (19 digits).
const ORDER_BASE: u64 = 9_100_000_000_000_000_000;

/// The key of a request: call number and page (0 for unpaginated calls).
type Key = (usize, i64);

/// Reads the call number (and page) a request carries.
fn key_of(arrival: &Arrival<'_>) -> Option<Key> {
    let query_value = |name: &str| {
        arrival.query?.split('&').find_map(|kv| {
            let (k, v) = kv.split_once('=')?;
            (k == name).then(|| v.to_owned())
        })
    };
    let body: serde_json::Value = serde_json::from_slice(arrival.body).unwrap_or_default();
    let number = |text: &str| {
        text.trim_start_matches(|c: char| c.is_alphabetic())
            .parse()
            .ok()
    };
    match arrival.path {
        "/v2/taobao/product/get" => Some((number(&query_value("itemId")?)?, 0)),
        ANY_READ => Some((number(&query_value("marker")?)?, 0)),
        ANY_WRITE => Some((number(body["marker"].as_str()?)?, 0)),
        "/v2/alibaba/order/cancel" => {
            let id = body["orderId"].as_u64()?;
            Some((usize::try_from(id.checked_sub(ORDER_BASE)?).ok()?, 0))
        }
        "/v2/alibaba/product/keywords/query" => Some((
            number(body["keyword"].as_str()?)?,
            body["beginPage"].as_i64().unwrap_or(1),
        )),
        _ => None,
    }
}

/// FNV-1a, to mix a key into the seed the same way on every platform.
fn mix(seed: u64, key: Key, attempt: usize) -> u64 {
    let mut h = 0xcbf2_9ce4_8422_2325_u64 ^ seed;
    for part in [key.0 as u64, key.1 as u64, attempt as u64] {
        for byte in part.to_le_bytes() {
            h ^= u64::from(byte);
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
    }
    h
}

/// The fault for the `attempt`-th request (0-based) of `key`.
fn draw(config: &ChaosConfig, key: Key, attempt: usize) -> Option<Fault> {
    let mut rng = rand::rngs::StdRng::seed_from_u64(mix(config.seed, key, attempt));
    if rng.random_range(0..100) >= config.fault_percent {
        return None;
    }
    Some(match rng.random_range(0..12) {
        0 => Fault::Reset,
        1 => Fault::Truncate,
        2 => Fault::Status(429, Some(1)),
        3 => Fault::Status(502, None),
        4 => Fault::Status(503, None),
        5 => Fault::Status(504, None),
        6 => Fault::Malformed,
        7 => Fault::Oversized {
            bytes: MAX_RESPONSE_BYTES * 4,
            declared: rng.random(),
        },
        8 => Fault::Stall(STALL),
        9 => Fault::Slow(Duration::from_millis(rng.random_range(20..=SLOWEST_MS))),
        10 => Fault::Business(500, "订单状态不允许此操作".to_owned()),
        _ => Fault::Status(503, Some(0)),
    })
}

fn fault_name(fault: Option<&Fault>) -> &'static str {
    match fault {
        None => "none",
        Some(Fault::Reset) => "reset before the response",
        Some(Fault::Truncate) => "reset inside the body",
        Some(Fault::Status(429, _)) => "429 with Retry-After",
        Some(Fault::Status(502, _)) => "502",
        Some(Fault::Status(503, _)) => "503",
        Some(Fault::Status(504, _)) => "504",
        Some(Fault::Malformed) => "malformed JSON",
        Some(Fault::Oversized { .. }) => "oversized body",
        Some(Fault::Stall(_)) => "stalled body",
        Some(Fault::Slow(_)) => "slow answer",
        Some(Fault::Business(..)) => "business error",
        Some(_) => "other",
    }
}

/// What a call must end in after its last request met `fault`: `None` for
/// success, else the outcome class.
fn expected(fault: Option<&Fault>) -> Option<Outcome> {
    match fault {
        None | Some(Fault::Slow(_)) => None,
        Some(Fault::Business(..)) => Some(Outcome::Refused),
        Some(Fault::Status(502 | 504, _)) => Some(Outcome::Unknown),
        Some(Fault::Status(..)) => Some(Outcome::Refused),
        Some(_) => Some(Outcome::Unknown),
    }
}

/// Whether a read is tried again after `fault`.
fn retried(fault: Option<&Fault>) -> bool {
    matches!(
        fault,
        Some(
            Fault::Reset
                | Fault::Truncate
                | Fault::Stall(_)
                | Fault::Status(429 | 502 | 503 | 504, _)
        )
    )
}

/// One call's results: one per page for a paginated call, else one.
type Results = Vec<Result<(), Error>>;

async fn call(client: &Client, kind: Kind, n: usize) -> Results {
    let marker = format!("m{n:06}");
    let one = |r: Result<(), Error>| vec![r];
    match kind {
        Kind::Read => one(client
            .taobao_product_get()
            .item_id(marker)
            .call()
            .await
            .map(drop)),
        Kind::Write => {
            let body = AlibabaOrderCancelRequest::builder()
                .web_site(WebSite::X1688)
                .order_id(ORDER_BASE + n as u64);
            one(client
                .alibaba_order_cancel()
                .body(body)
                .call()
                .await
                .map(drop))
        }
        Kind::AnyRead => one(client
            .request(Method::GET, ANY_READ)
            .query("marker", marker)
            .read_only()
            .call::<serde_json::Value>()
            .await
            .map(drop)),
        Kind::AnyWrite => one(client
            .request(Method::POST, ANY_WRITE)
            .json(&serde_json::json!({ "marker": marker }))
            .call::<serde_json::Value>()
            .await
            .map(drop)),
        Kind::Pages => {
            let body = AlibabaProductKeywordSearchRequest::builder().keyword(marker);
            let mut pages = client
                .alibaba_product_keyword_search()
                .body(body)
                .pages()
                .max_pages(2);
            let mut results = Vec::new();
            while let Some(page) =
                std::future::poll_fn(|cx| std::pin::Pin::new(&mut pages).poll_next(cx)).await
            {
                match page {
                    // The two pages asked for, with more left: the stream
                    // says so, and no request was made for it.
                    Err(Error::Paging(pandapon_gen::PagingError::CapReached { pages: 2 })) => break,
                    page => results.push(page.map(drop)),
                }
            }
            results
        }
    }
}

/// Runs a soak.
pub async fn run(config: ChaosConfig) -> ChaosReport {
    // Every request's key and fault, in arrival order per key.
    let log: Arc<Mutex<HashMap<Key, Vec<Option<Fault>>>>> = Arc::default();
    let plan = {
        let (log, config) = (log.clone(), config.clone());
        move |arrival: &Arrival<'_>| {
            let key = key_of(arrival)?;
            let mut log = log.lock().unwrap_or_else(PoisonError::into_inner);
            let faults = log.entry(key).or_default();
            let fault = draw(&config, key, faults.len());
            faults.push(fault.clone());
            fault
        }
    };
    let check = SignatureCheck::new(credentials());
    let example = Some(r#"{"code":200,"msg":"成功","data":{"ok":true}}"#);
    let routes = [("GET", ANY_READ), ("POST", ANY_WRITE)]
        .map(|(method, path)| Route::extra(method, path, example));
    let fake = FakePandaPon::builder(check.clone())
        .plan(plan)
        .routes(routes)
        .start(([127, 0, 0, 1], 0).into())
        .await
        .expect("fake starts");
    let client = Arc::new(
        Client::builder(credentials())
            .base_url(fake.base_url())
            .timeout(ATTEMPT_TIMEOUT)
            .max_response_bytes(MAX_RESPONSE_BYTES)
            .stall_protection(StallPolicy::default().grace(GRACE))
            .retry_policy(
                RetryPolicy::default()
                    .max_attempts(MAX_ATTEMPTS as u32)
                    .initial_backoff(Duration::from_millis(20))
                    .max_backoff(MAX_BACKOFF)
                    .max_elapsed(MAX_ELAPSED),
            )
            // No retry budget: with 40% of requests failing, a shared budget
            // would empty and stop retries at random, and then a read ending
            // on a retryable fault could not be told from one that was never
            // retried. The budget is tested on its own (the stack tests).
            .retry_budget(RetryBudget::unlimited())
            .build()
            .expect("client"),
    );

    let rss_before = peak_rss_kib();
    let started = Instant::now();
    let mut calls_by_kind = BTreeMap::new();
    let mut kinds = rand::rngs::StdRng::seed_from_u64(config.seed);
    let (mut panicked, mut slowest) = (0, Duration::ZERO);
    let mut verdicts = Vec::with_capacity(config.calls);
    // At most `concurrency` calls exist at once, and a finished one is
    // collected before the next starts: a task that is done but not joined
    // keeps its whole future's memory, which would measure the harness, not
    // the client.
    let mut running = tokio::task::JoinSet::new();
    let mut collect = |joined: Option<Result<(Option<Verdict>, Duration), _>>| match joined {
        Some(Ok((verdict, took))) => {
            slowest = slowest.max(took);
            verdicts.push(verdict);
        }
        Some(Err(_)) => panicked += 1,
        None => {}
    };
    for n in 0..config.calls {
        let kind = Kind::ALL[kinds.random_range(0..Kind::ALL.len())];
        *calls_by_kind.entry(kind.name()).or_insert(0) += 1;
        if running.len() >= config.concurrency {
            collect(running.join_next().await);
        }
        let (client, log) = (client.clone(), log.clone());
        running.spawn(async move {
            let t0 = Instant::now();
            let results = tokio::time::timeout(CALL_BUDGET, call(&client, kind, n)).await;
            let took = t0.elapsed();
            // Every request of the call has been answered: judge it now and
            // keep only the verdict.
            let log = log.lock().unwrap_or_else(PoisonError::into_inner);
            (judge(&log, n, kind, results.ok(), took), took)
        });
    }
    while !running.is_empty() {
        collect(running.join_next().await);
    }
    let elapsed = started.elapsed();
    let rss_peak = peak_rss_kib();

    let mut report = ChaosReport {
        config,
        calls_by_kind,
        requests: 0,
        faults: BTreeMap::new(),
        results: BTreeMap::new(),
        hung: 0,
        panicked,
        writes_resent: 0,
        retried_reads: 0,
        distinct_nonces: 0,
        mismatches: Vec::new(),
        slowest,
        elapsed,
        rss_kib: (rss_before, rss_peak),
    };
    for faults in log.lock().unwrap_or_else(PoisonError::into_inner).values() {
        for fault in faults {
            *report.faults.entry(fault_name(fault.as_ref())).or_insert(0) += 1;
        }
    }
    for verdict in verdicts {
        let Some(verdict) = verdict else {
            report.hung += 1;
            continue;
        };
        for class in verdict.classes {
            *report.results.entry(class.to_owned()).or_insert(0) += 1;
        }
        report.writes_resent += usize::from(verdict.resent);
        report.retried_reads += verdict.retried_reads;
        report.mismatches.extend(verdict.mismatches);
    }
    let seen = check.seen();
    report.requests = seen.len();
    report.distinct_nonces = seen
        .iter()
        .filter_map(|s| s.nonce.as_deref())
        .collect::<HashSet<_>>()
        .len();
    fake.stop().await;
    report
}

/// What one call came to, judged against the faults its requests met.
struct Verdict {
    /// "ok" or the outcome class, per result.
    classes: Vec<&'static str>,
    /// A write that reached the fake more than once.
    resent: bool,
    /// Read results whose request was sent more than once.
    retried_reads: usize,
    mismatches: Vec<String>,
}

/// Judges call `n` from its results (`None`: it hung) and the fault log.
fn judge(
    log: &HashMap<Key, Vec<Option<Fault>>>,
    n: usize,
    kind: Kind,
    results: Option<Results>,
    took: Duration,
) -> Option<Verdict> {
    let results = results?;
    let mut verdict = Verdict {
        classes: Vec::with_capacity(results.len()),
        resent: false,
        retried_reads: 0,
        mismatches: Vec::new(),
    };
    for (page, result) in results.iter().enumerate() {
        let key = (
            n,
            if kind == Kind::Pages {
                page as i64 + 1
            } else {
                0
            },
        );
        let faults = log.get(&key).map_or(&[][..], Vec::as_slice);
        verdict.classes.push(match result {
            Ok(()) => "ok",
            Err(e) => match e.outcome() {
                Outcome::NotSent => "not sent",
                Outcome::Refused => "refused",
                Outcome::Unknown => "unknown",
                // A class added later is shown, not folded into another.
                _ => "other",
            },
        });
        verdict.resent |= kind.writes() && faults.len() > 1;
        verdict.retried_reads += usize::from(!kind.writes() && faults.len() > 1);
        if let Some(why) = disagreement(kind, faults, result, took) {
            verdict
                .mismatches
                .push(format!("call {n} ({}) page {}: {why}", kind.name(), key.1));
        }
    }
    Some(verdict)
}

/// Why `result` is not what the faults of its requests call for, if it is not.
fn disagreement(
    kind: Kind,
    faults: &[Option<Fault>],
    result: &Result<(), Error>,
    took: Duration,
) -> Option<String> {
    let Some((last, earlier)) = faults.split_last() else {
        return Some(format!(
            "no request reached the fake, yet the result is {result:?}"
        ));
    };
    if !kind.writes()
        && let Some(bad) = earlier.iter().find(|f| !retried(f.as_ref()))
    {
        return Some(format!("retried after {:?}, which is final", bad));
    }
    if kind.writes() && !earlier.is_empty() {
        return Some(format!("a write reached the fake {} times", faults.len()));
    }
    // A read that ended on a fault worth retrying must have run out of
    // attempts, or of time: the next attempt would have started after
    // `MAX_ELAPSED`, which is only so once the call has run for more than
    // `MAX_ELAPSED` less the longest wait.
    if !kind.writes()
        && retried(last.as_ref())
        && faults.len() < MAX_ATTEMPTS
        && took < MAX_ELAPSED.saturating_sub(MAX_BACKOFF)
    {
        return Some(format!(
            "a read ended on {last:?} after {} of {MAX_ATTEMPTS} attempts and {took:?}",
            faults.len()
        ));
    }
    let want = expected(last.as_ref());
    let got = result.as_ref().err().map(Error::outcome);
    if want != got {
        return Some(format!(
            "last fault {last:?} calls for {want:?}, got {:?}",
            result.as_ref().err()
        ));
    }
    // The typed error matches the fault, too: every fault names the one
    // error it must end in.
    let status = |e: &Error, want: u16| e.status().map(|s| s.as_u16()) == Some(want);
    let typed = match (last, result) {
        (None | Some(Fault::Slow(_)), result) => result.is_ok(),
        (Some(Fault::Oversized { .. }), Err(e)) => matches!(e, Error::TooLarge { .. }),
        (Some(Fault::Stall(_)), Err(e)) => matches!(e, Error::Stalled { .. }) && e.is_timeout(),
        (Some(Fault::Malformed), Err(e)) => matches!(e, Error::Decode { .. }),
        (Some(Fault::Business(..)), Err(e)) => e.api().is_some() && status(e, 200),
        (Some(Fault::Reset | Fault::Truncate), Err(e)) => matches!(e, Error::Transport(_)),
        (Some(Fault::Status(code, _)), Err(e)) => {
            matches!(e, Error::Http { .. }) && status(e, *code)
        }
        (Some(_), _) => false,
    };
    (!typed).then(|| format!("last fault {last:?}, but the error is {result:?}"))
}
