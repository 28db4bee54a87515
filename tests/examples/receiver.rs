//! Figures for pushed messages (BENCHMARKS.md §7), against a `pandapon push
//! serve` this starts with a SQLite file or a PostgreSQL database as its
//! inbox. `scripts/bench-receiver.sh` runs them all.
//!
//! ```text
//! receiver rate  PANDAPON INBOX RATE SECONDS         RATE msg/s, each on a new connection:
//!                                                     acknowledgement p50, p99, max
//! receiver most  PANDAPON INBOX SENDERS SECONDS      as fast as SENDERS senders go: msg/s,
//!                                                     p50, p99
//! receiver flood PANDAPON INBOX CONNECTIONS SECONDS  CONNECTIONS connections sending 1 MiB
//!                                                     bodies over and over, half under a
//!                                                     well-formed but wrong Authorization,
//!                                                     half under none, while genuine pushes
//!                                                     go at 20/s: the receiver's RSS and
//!                                                     the genuine pushes' answers
//! ```
//!
//! PANDAPON is the `pandapon` binary; INBOX is `sqlite` (a new temporary
//! file) or a PostgreSQL server's URL (a new database on it).

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use pandapon_gen::auth::push_signature;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [mode, pandapon, inbox, n, seconds] = &args[..] else {
        eprintln!(
            "usage: receiver rate|most|flood PANDAPON sqlite|POSTGRES_URL N SECONDS (see the source)"
        );
        std::process::exit(2);
    };
    let n: usize = n.parse().expect("N is a number");
    let seconds = Duration::from_secs(seconds.parse().expect("SECONDS is a number"));
    let location = match inbox.as_str() {
        "sqlite" => {
            let dir = std::env::temp_dir().join(format!("pandapon-bench-{}", std::process::id()));
            let _ = std::fs::remove_dir_all(&dir);
            std::fs::create_dir_all(&dir).expect("temp dir");
            dir.join("inbox.sqlite").display().to_string()
        }
        server => pandapon_tests::postgres::fresh_database(server, mode).await,
    };
    let (mut child, url) = serve(pandapon, &location);
    let kind = if inbox == "sqlite" {
        "SQLite"
    } else {
        "PostgreSQL"
    };
    match mode.as_str() {
        "rate" => {
            let r = at_rate(&url, n, seconds).await;
            println!(
                "{kind} rate: asked {n} msg/s, sent {} in {:.1} s ({:.1} msg/s), {} not 200; \
                 ack p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms",
                r.sent,
                r.elapsed.as_secs_f64(),
                r.sent as f64 / r.elapsed.as_secs_f64(),
                r.failed,
                r.p(0.50),
                r.p(0.99),
                r.p(1.0)
            );
        }
        "most" => {
            let r = flat_out(&url, n, seconds).await;
            println!(
                "{kind} most: {n} senders, {} in {:.1} s = {:.0} msg/s, {} not 200; \
                 ack p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms",
                r.sent,
                r.elapsed.as_secs_f64(),
                r.sent as f64 / r.elapsed.as_secs_f64(),
                r.failed,
                r.p(0.50),
                r.p(0.99),
                r.p(1.0)
            );
        }
        "flood" => flood(&url, child.id(), n, seconds, kind).await,
        other => {
            eprintln!("unknown mode {other}");
            std::process::exit(2);
        }
    }
    let _ = child.kill();
    let _ = child.wait();
}

/// Starts `pandapon push serve` on `location`; returns it and its URL.
fn serve(pandapon: &str, location: &str) -> (Child, String) {
    let creds = pandapon_tests::credentials();
    let mut child = Command::new(pandapon)
        .env("PANDAPON_ACCESS_KEY", creds.access_key())
        .env("PANDAPON_ACCESS_SECRET", pandapon_tests::CANARY_SECRET)
        .env("PANDAPON_USER_ID", pandapon_tests::USER_ID)
        .args([
            "push",
            "serve",
            "--addr",
            "127.0.0.1:0",
            "--inbox",
            location,
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("pandapon push serve starts");
    let mut line = String::new();
    BufReader::new(child.stdout.take().expect("stdout"))
        .read_line(&mut line)
        .expect("the URL line");
    (child, line.trim().to_owned())
}

/// A distinct order message for `n`, and its signature.
fn message(n: u64) -> (Vec<u8>, String) {
    let body = format!(
        r#"{{"messageType":"ORDER_PAY_SUCCESS","messageBody":"{{\"orderId\":\"{}\",\"orderStatus\":\"WAITING_FOR_SENT\"}}","messagePlatform":1,"timestamp":"1779263269913"}}"#,
        2_542_285_634_920_000_000_u64 + n
    )
    .into_bytes();
    let signature = push_signature(&pandapon_tests::credentials(), &body);
    (body, signature)
}

/// A client that opens a new connection for every push, as a sender
/// across the internet would.
fn http() -> reqwest::Client {
    reqwest::Client::builder()
        .pool_max_idle_per_host(0)
        .timeout(Duration::from_secs(10))
        .build()
        .expect("client")
}

#[derive(Default)]
struct Figures {
    sent: usize,
    failed: usize,
    elapsed: Duration,
    /// Acknowledgement times of the 200s, in ms, sorted.
    acks: Vec<f64>,
}

impl Figures {
    fn p(&self, q: f64) -> f64 {
        if self.acks.is_empty() {
            return f64::NAN;
        }
        let i = ((self.acks.len() as f64 * q).ceil() as usize).clamp(1, self.acks.len());
        self.acks[i - 1]
    }
}

/// Pushes message `n` once; the time to its 200, or `None`.
async fn push(http: &reqwest::Client, url: &str, n: u64) -> Option<f64> {
    let (body, signature) = message(n);
    let started = Instant::now();
    let answer = http
        .post(url)
        .header("authorization", signature)
        .body(body)
        .send()
        .await;
    let took = started.elapsed().as_secs_f64() * 1000.0;
    answer
        .ok()
        .filter(|a| a.status().as_u16() == 200)
        .map(|_| took)
}

static NEXT: AtomicU64 = AtomicU64::new(0);

/// Open loop: one push every 1/`rate` s for `seconds`, whatever the
/// answers.
async fn at_rate(url: &str, rate: usize, seconds: Duration) -> Figures {
    let http = http();
    let acks = Arc::new(Mutex::new(Vec::new()));
    let failed = Arc::new(AtomicUsize::new(0));
    let mut tick = tokio::time::interval(Duration::from_secs_f64(1.0 / rate as f64));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
    let started = Instant::now();
    let mut tasks = Vec::new();
    while started.elapsed() < seconds {
        tick.tick().await;
        let (http, url, acks, failed) =
            (http.clone(), url.to_owned(), acks.clone(), failed.clone());
        tasks.push(tokio::spawn(async move {
            match push(&http, &url, NEXT.fetch_add(1, Ordering::Relaxed)).await {
                Some(ms) => acks.lock().expect("lock").push(ms),
                None => {
                    failed.fetch_add(1, Ordering::Relaxed);
                }
            }
        }));
    }
    let sent = tasks.len();
    for t in tasks {
        t.await.expect("push");
    }
    figures(
        sent,
        failed.load(Ordering::Relaxed),
        started.elapsed(),
        &acks,
    )
}

/// Closed loop: `senders` senders each pushing its next message as soon as
/// the last is answered, for `seconds`.
async fn flat_out(url: &str, senders: usize, seconds: Duration) -> Figures {
    let http = http();
    let acks = Arc::new(Mutex::new(Vec::new()));
    let failed = Arc::new(AtomicUsize::new(0));
    let sent = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..senders {
        let (http, url, acks, failed, sent) = (
            http.clone(),
            url.to_owned(),
            acks.clone(),
            failed.clone(),
            sent.clone(),
        );
        tasks.push(tokio::spawn(async move {
            while started.elapsed() < seconds {
                sent.fetch_add(1, Ordering::Relaxed);
                match push(&http, &url, NEXT.fetch_add(1, Ordering::Relaxed)).await {
                    Some(ms) => acks.lock().expect("lock").push(ms),
                    None => {
                        failed.fetch_add(1, Ordering::Relaxed);
                    }
                }
            }
        }));
    }
    for t in tasks {
        t.await.expect("sender");
    }
    figures(
        sent.load(Ordering::Relaxed),
        failed.load(Ordering::Relaxed),
        started.elapsed(),
        &acks,
    )
}

fn figures(sent: usize, failed: usize, elapsed: Duration, acks: &Mutex<Vec<f64>>) -> Figures {
    let mut acks = std::mem::take(&mut *acks.lock().expect("lock"));
    acks.sort_by(f64::total_cmp);
    Figures {
        sent,
        failed,
        elapsed,
        acks,
    }
}

/// A KiB figure of `pid` from `/proc/PID/status`.
fn status_kib(pid: u32, field: &str) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with(field))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse().ok())
        })
        .unwrap_or(0)
}

/// `connections` hostile connections for `seconds`, and genuine pushes at
/// 20/s meanwhile.
async fn flood(url: &str, pid: u32, connections: usize, seconds: Duration, kind: &str) {
    // Warm: a few genuine pushes first, so the baseline includes a
    // receiver that has served.
    let http = http();
    for _ in 0..20 {
        push(&http, url, NEXT.fetch_add(1, Ordering::Relaxed))
            .await
            .expect("a genuine push before the flood gets 200");
    }
    let before = status_kib(pid, "VmRSS:");
    let addr = url.trim_start_matches("http://").to_owned();
    let body: &'static [u8] = Box::leak(vec![b' '; 1 << 20].into_boxed_slice());
    let forged = "0".repeat(64);
    let started = Instant::now();
    let answers: Arc<Mutex<std::collections::BTreeMap<String, usize>>> = Arc::default();
    let mut hostile = Vec::new();
    for c in 0..connections {
        let authorization = if c % 2 == 0 {
            format!("authorization: {forged}\r\n")
        } else {
            String::new()
        };
        let head = format!(
            "POST / HTTP/1.1\r\nhost: {addr}\r\n{authorization}content-length: {}\r\n\r\n",
            body.len()
        );
        let (addr, answers) = (addr.clone(), answers.clone());
        hostile.push(tokio::spawn(async move {
            while started.elapsed() < seconds {
                let Ok(mut stream) = tokio::net::TcpStream::connect(&addr).await else {
                    *answers
                        .lock()
                        .expect("lock")
                        .entry("connect failed".into())
                        .or_default() += 1;
                    continue;
                };
                // Write the whole body while reading: the answer may come
                // before it is all sent.
                let (mut read, mut write) = stream.split();
                let sending = tokio::time::timeout(Duration::from_secs(15), async {
                    let _ = write.write_all(head.as_bytes()).await;
                    let _ = write.write_all(body).await;
                });
                let mut status = [0u8; 12];
                let reading =
                    tokio::time::timeout(Duration::from_secs(15), read.read_exact(&mut status));
                let (_, answer) = tokio::join!(sending, reading);
                let what = match answer {
                    Ok(Ok(_)) => String::from_utf8_lossy(&status[9..12]).into_owned(),
                    Ok(Err(_)) => "closed".into(),
                    Err(_) => "no answer in 15 s".into(),
                };
                *answers.lock().expect("lock").entry(what).or_default() += 1;
            }
        }));
    }
    // Genuine pushes at 20/s, and the RSS every 100 ms.
    // On a thread and runtime of their own, as PandaPon's sender is not
    // queued behind the flood's tasks.
    let genuine = {
        let url = url.to_owned();
        std::thread::spawn(move || {
            tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("runtime")
                .block_on(at_rate(&url, 20, seconds))
        })
    };
    let mut peak = before;
    while started.elapsed() < seconds {
        peak = peak.max(status_kib(pid, "VmRSS:"));
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let genuine = tokio::task::spawn_blocking(move || genuine.join().expect("genuine pushes"))
        .await
        .expect("joined");
    for h in hostile {
        h.await.expect("hostile connection");
    }
    // Once the flood has gone: what the receiver kept.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let after = status_kib(pid, "VmRSS:");
    let hwm = status_kib(pid, "VmHWM:");
    println!(
        "{kind} flood: {connections} connections for {:.0} s, hostile answers {:?}",
        seconds.as_secs_f64(),
        answers.lock().expect("lock")
    );
    println!(
        "  receiver RSS: before {} MiB, peak {} MiB (+{} MiB; VmHWM {} MiB), after {} MiB",
        before / 1024,
        peak / 1024,
        peak.saturating_sub(before) / 1024,
        hwm / 1024,
        after / 1024
    );
    println!(
        "  genuine pushes during it: {} sent, {} not 200; ack p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms",
        genuine.sent,
        genuine.failed,
        genuine.p(0.50),
        genuine.p(0.99),
        genuine.p(1.0)
    );
}
