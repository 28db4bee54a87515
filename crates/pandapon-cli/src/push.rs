//! `pandapon push …` (or `pandapon callback …`, PandaPon's name for the URL
//! it pushes to): the messages PandaPon pushes. Check or make a
//! signature (`verify`, `sign`), run a receiver that stores every verified
//! message in an inbox before answering 200 (`serve`), read, claim, mark and
//! prune that inbox (`inbox list`, `claim`, `done`, `prune`), catch up after
//! a long outage (`reconcile`), and push a message to a receiver the way
//! PandaPon does (`send`).

use std::path::PathBuf;
use std::time::{Duration, UNIX_EPOCH};

use anyhow::{Context, Result};
use clap::{Arg, ArgAction, ArgMatches, Command};
use pandapon_gen::Credentials;
use pandapon_gen::auth::PushSignatureBase;
use pandapon_gen::push::inbox::{AnyInbox, Inbox, Listing, StoredMessage, prune_older_than};

/// The credentials the CLI signs and verifies messages with, from the
/// global options and `PANDAPON_*` variables: `None` when none is set.
pub type Configured<'a> = &'a dyn Fn() -> Option<Result<Credentials>>;

fn body_file_arg() -> Arg {
    Arg::new("body-file")
        .long("body-file")
        .required(true)
        .value_parser(clap::value_parser!(PathBuf))
        .help("File holding the raw request body, byte for byte")
}

fn with_access_key_arg() -> Arg {
    Arg::new("with-access-key")
        .long("with-access-key")
        .action(ArgAction::SetTrue)
        .help("Sign the access key followed by the body instead of the body")
}

fn inbox_arg() -> Arg {
    Arg::new("inbox")
        .long("inbox")
        .required(true)
        .value_name("FILE|URL")
        .help(
            "The inbox: a SQLite file (one host), or a postgres:// URL (receivers on several \
             hosts); only `serve` creates a missing file",
        )
}

/// A duration flag: `30s`, `2h30m`, `500ms`.
fn duration_arg(name: &'static str, default: &'static str, help: &'static str) -> Arg {
    Arg::new(name)
        .long(name)
        .value_name("DURATION")
        .default_value(default)
        .value_parser(|text: &str| {
            humantime::parse_duration(text).map_err(|e| format!("{text:?}: {e} (say 30s, 2h30m)"))
        })
        .help(help)
}

fn json_arg(help: &'static str) -> Arg {
    Arg::new("json")
        .long("json")
        .action(ArgAction::SetTrue)
        .help(help)
}

/// The `push` command and its subcommands.
pub fn command() -> Command {
    Command::new("push")
        // PandaPon's console calls the URL it pushes to the callback URL.
        .visible_alias("callback")
        .about("Pushed order messages: check signatures, receive, read the inbox, send")
        .subcommand_required(true)
        .subcommand(
            Command::new("verify")
                .about(
                    "Exit 0 when AUTHORIZATION is the hex HMAC-SHA256 of the body file \
                     (or of the access key followed by it) under the configured secret, \
                     and say which; 1 when not",
                )
                .arg(body_file_arg())
                .arg(
                    Arg::new("authorization")
                        .long("authorization")
                        .required(true)
                        .help("The Authorization header value as received"),
                ),
        )
        .subcommand(
            Command::new("sign")
                .about("Print the Authorization header PandaPon would send for the body file")
                .arg(body_file_arg())
                .arg(with_access_key_arg()),
        )
        .subcommand(
            Command::new("serve")
                .about(
                    "Receive pushed messages on any path of ADDR: verify each, store it in the \
                     inbox, and answer 200 only once it is stored",
                )
                .long_about(
                    "Receive pushed messages on any path of ADDR: verify each with the \
                     configured secret (either reading of the signed base), store it in the \
                     inbox (a SQLite file, made if missing, or a postgres:// URL that \
                     receivers on several hosts share), and answer 200 only once it is \
                     stored durably. A message delivered again, to this receiver or another \
                     sharing the inbox, is acknowledged and not stored twice. Answers 401 to \
                     a missing or bad signature (before reading the body when the header \
                     could not be one), 400 to a body that is not an order message, 413 past \
                     1 MiB (at once when declared), 408 to a body slower than 5 s, and 503 \
                     while the inbox cannot store (PandaPon sends again; each failure is \
                     logged on stderr) or while the receiver is at its bound on bodies in \
                     flight; a connection that sends no headers for 5 s is closed. The first \
                     line on stdout is the URL. SIGTERM or SIGINT drains it: no new \
                     connections, the requests in flight finish (within --drain), then it \
                     exits 0.\n\n\
                     Needs PANDAPON_ACCESS_KEY, PANDAPON_ACCESS_SECRET and PANDAPON_USER_ID \
                     (or the flags); \
                     without them it refuses to start, unless --demo says to verify with \
                     the public demo credentials. Put it behind HTTPS: PandaPon pushes only \
                     to HTTPS URLs.",
                )
                .arg(inbox_arg())
                .arg(
                    Arg::new("addr")
                        .long("addr")
                        .required(true)
                        .value_name("HOST:PORT")
                        .value_parser(clap::value_parser!(std::net::SocketAddr))
                        .help("Where to listen, for example 127.0.0.1:8080 (port 0 picks one)"),
                )
                .arg(
                    Arg::new("demo")
                        .long("demo")
                        .action(ArgAction::SetTrue)
                        .help("Verify with the demo credentials (demo-access-key, demo-access-secret)"),
                )
                .arg(duration_arg(
                    "drain",
                    "10s",
                    "On SIGTERM or SIGINT: stop accepting, and give the requests in flight this \
                     long to finish",
                )),
        )
        .subcommand(
            Command::new("inbox")
                .about("Read the inbox a receiver stores messages in, claim them, mark them done, prune")
                .subcommand_required(true)
                .subcommand(
                    Command::new("list")
                        .about("Print the stored messages, oldest first")
                        .arg(inbox_arg())
                        .arg(json_arg(
                            "One JSON object per line: id, key, receivedAtMs, source, done, \
                             claims and the message as received",
                        ))
                        .arg(
                            Arg::new("pending")
                                .long("pending")
                                .action(ArgAction::SetTrue)
                                .help("Only the messages not marked done"),
                        ),
                )
                .subcommand(
                    Command::new("claim")
                        .about(
                            "Claim up to MAX messages that are neither done nor claimed, for \
                             LEASE: no other claim gets them until it runs out or they are \
                             marked done. Prints them as `list` does",
                        )
                        .arg(inbox_arg())
                        .arg(
                            Arg::new("max")
                                .long("max")
                                .value_name("N")
                                .default_value("1")
                                .value_parser(clap::value_parser!(usize))
                                .help("How many messages at most (at least 1)"),
                        )
                        .arg(duration_arg("lease", "30s", "How long the claim holds"))
                        .arg(json_arg(
                            "One JSON object per line, as `list --json`, with leaseToken and \
                             leaseUntilMs",
                        )),
                )
                .subcommand(
                    Command::new("done")
                        .about("Mark a message done: it is never handed out again")
                        .arg(inbox_arg())
                        .arg(
                            Arg::new("id")
                                .required(true)
                                .value_name("ID")
                                .value_parser(clap::value_parser!(u64))
                                .help("The message's id, as `inbox list` shows it"),
                        ),
                )
                .subcommand(
                    Command::new("prune")
                        .about(
                            "Remove the messages done longer ago than --older-than, dedupe \
                             keys and all; refuses less than 2h30m, PandaPon's re-send window",
                        )
                        .arg(inbox_arg())
                        .arg(duration_arg(
                            "older-than",
                            "24h",
                            "Keep done messages this long (at least 2h30m)",
                        )),
                ),
        )
        .subcommand(
            Command::new("reconcile")
                .about(
                    "After an outage longer than PandaPon's re-sends: fetch each order's (or \
                     refund's) current state and store it in the inbox where it is missing",
                )
                .long_about(
                    "After an outage longer than PandaPon's re-sends (five, half an hour \
                     apart): fetch each 1688 order's detail and each Taobao refund's state \
                     through the API, compare them with the last message the inbox holds \
                     for them, and store a message marked as coming from reconcile where \
                     they differ. Workers then handle it like a pushed one. Prints one line \
                     per id: stored, unchanged or failed. Needs the client's credentials.",
                )
                .arg(inbox_arg())
                .arg(
                    Arg::new("order-ids")
                        .long("order-ids")
                        .value_name("FILE")
                        .value_parser(clap::value_parser!(PathBuf))
                        .help("1688 order ids, one per line"),
                )
                .arg(
                    Arg::new("refund-ids")
                        .long("refund-ids")
                        .value_name("FILE")
                        .value_parser(clap::value_parser!(PathBuf))
                        .help("Taobao refund ids, one per line"),
                ),
        )
        .subcommand(
            Command::new("send")
                .about(
                    "Sign the body file with the configured secret and POST it to URL, as \
                     PandaPon pushes a message; exit 0 on HTTP 200",
                )
                .arg(
                    Arg::new("url")
                        .long("url")
                        .required(true)
                        .value_name("URL")
                        .help("Your receiver's URL"),
                )
                .arg(body_file_arg())
                .arg(with_access_key_arg()),
        )
}

/// Runs `pandapon push …`; returns whether it succeeded. `client` makes the
/// API client `reconcile` calls with.
pub async fn run(
    sub: &ArgMatches,
    configured: Configured<'_>,
    client: &dyn Fn() -> Result<pandapon_gen::Client>,
) -> Result<bool> {
    let require = || match configured() {
        Some(credentials) => credentials,
        None => anyhow::bail!(
            "no credentials: set {}, {} and {} (or the flags)",
            pandapon_gen::ENV_ACCESS_KEY,
            pandapon_gen::ENV_ACCESS_SECRET,
            pandapon_gen::ENV_USER_ID
        ),
    };
    match sub.subcommand().context("push needs a subcommand")? {
        ("sign", args) => {
            let body = read_body(args)?;
            let signature = pandapon_gen::auth::push_signature_with(&require()?, base(args), &body);
            println!("{signature}");
            Ok(true)
        }
        ("verify", args) => {
            let body = read_body(args)?;
            let authorization = args.get_one::<String>("authorization").map(String::as_str);
            match pandapon_gen::auth::verify_push(&require()?, &body, authorization) {
                Ok(base) => {
                    println!("valid (signed base: {base})");
                    Ok(true)
                }
                Err(e) => {
                    eprintln!("invalid: {e}");
                    Ok(false)
                }
            }
        }
        ("serve", args) => {
            let credentials = if args.get_flag("demo") {
                eprintln!(
                    "verifying with the demo credentials (--demo): not for PandaPon's pushes"
                );
                let (key, secret, user) = crate::DEMO;
                Credentials::new(key, secret, user)?
            } else {
                require()?
            };
            serve(args, credentials).await
        }
        ("inbox", args) => inbox(args).await,
        ("reconcile", args) => reconcile(args, client).await,
        ("send", args) => send(args, &require()?).await,
        (other, _) => anyhow::bail!("unknown push command {other}"),
    }
}

fn read_body(args: &ArgMatches) -> Result<Vec<u8>> {
    let path = args
        .get_one::<PathBuf>("body-file")
        .context("--body-file")?;
    std::fs::read(path).with_context(|| format!("reading {}", path.display()))
}

fn base(args: &ArgMatches) -> PushSignatureBase {
    if args.get_flag("with-access-key") {
        PushSignatureBase::AccessKeyAndBody
    } else {
        PushSignatureBase::Body
    }
}

/// The inbox `--inbox` names. Only `serve` makes a missing file: for the
/// other commands a missing file is a mistyped path, not an empty inbox.
async fn open_inbox(args: &ArgMatches, create: bool) -> Result<AnyInbox> {
    let location = args.get_one::<String>("inbox").context("--inbox")?;
    AnyInbox::open(location, create).await.with_context(|| {
        format!(
            "opening the inbox {}",
            pandapon_gen::escape_controls(location)
        )
    })
}

async fn serve(args: &ArgMatches, credentials: Credentials) -> Result<bool> {
    use pandapon_gen::push::receiver::{DEFAULT_READ_TIMEOUT, Receiver, serve_until};
    let inbox = open_inbox(args, true).await?;
    let location = inbox.location();
    let addr = *args
        .get_one::<std::net::SocketAddr>("addr")
        .context("--addr")?;
    let drain = *args.get_one::<Duration>("drain").context("--drain")?;
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .with_context(|| format!("listening on {addr}"))?;
    // The handlers are in place before the URL is out: a signal sent as
    // soon as a script reads it drains instead of killing the process.
    let signals = StopSignals::install()?;
    // The first line on stdout is the URL, so scripts can read it.
    println!("http://{}", listener.local_addr()?);
    eprintln!(
        "receiving on http://{}, storing in {}",
        listener.local_addr()?,
        pandapon_gen::escape_controls(&location)
    );
    let router = Receiver::new(credentials, inbox).router();
    let stop = async {
        let signal = signals.next().await;
        eprintln!(
            "{signal}: draining (no new connections; {} s for the requests in flight)",
            drain.as_secs_f64()
        );
    };
    serve_until(listener, router, DEFAULT_READ_TIMEOUT, stop, drain)
        .await
        .context("serving")?;
    eprintln!("stopped");
    Ok(true)
}

/// SIGTERM (a rolling deploy) and SIGINT (Ctrl-C), caught from the moment
/// they are installed.
struct StopSignals {
    #[cfg(unix)]
    term: tokio::signal::unix::Signal,
    #[cfg(unix)]
    int: tokio::signal::unix::Signal,
}

impl StopSignals {
    fn install() -> Result<Self> {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{SignalKind, signal};
            Ok(Self {
                term: signal(SignalKind::terminate()).context("catching SIGTERM")?,
                int: signal(SignalKind::interrupt()).context("catching SIGINT")?,
            })
        }
        #[cfg(not(unix))]
        Ok(Self {})
    }

    /// Resolves on the first of them, naming it.
    async fn next(mut self) -> &'static str {
        #[cfg(unix)]
        {
            tokio::select! {
                _ = self.term.recv() => "SIGTERM",
                _ = self.int.recv() => "SIGINT",
            }
        }
        #[cfg(not(unix))]
        {
            let _ = tokio::signal::ctrl_c().await;
            "SIGINT"
        }
    }
}

/// A stored message as one line: JSON (`--json`), or columns.
fn line(m: &StoredMessage, json: bool, lease: Option<&pandapon_gen::push::inbox::Lease>) -> String {
    let millis = |t: std::time::SystemTime| {
        t.duration_since(UNIX_EPOCH)
            .unwrap_or(Duration::ZERO)
            .as_millis()
    };
    let received = millis(m.received_at);
    if json {
        let message: serde_json::Value =
            serde_json::from_slice(&m.body).unwrap_or(serde_json::Value::Null);
        let mut value = serde_json::json!({
            "id": m.id,
            "key": m.key,
            "receivedAtMs": received,
            "source": m.source.as_str(),
            "done": m.done,
            "claims": m.claims,
            "message": message,
        });
        if let Some(lease) = lease {
            value["leaseToken"] = lease.token.into();
            value["leaseUntilMs"] = serde_json::Value::from(millis(lease.until) as u64);
        }
        crate::output::json_line(&value)
    } else {
        let kind = m
            .event()
            .ok()
            .and_then(|e| e.message_type().map(|t| t.as_str().to_owned()))
            .unwrap_or_else(|| "-".to_owned());
        format!(
            "{:>6}  {}  {:<7}  {:<9}  {}  {}",
            m.id,
            received,
            if m.done { "done" } else { "pending" },
            m.source.as_str(),
            pandapon_gen::escape_controls(&kind),
            pandapon_gen::escape_controls(&m.key)
        )
    }
}

/// Prints lines to stdout; a reader that goes away (`| head`) ends it
/// quietly.
fn print_lines(lines: impl IntoIterator<Item = String>) -> Result<()> {
    use std::io::Write;
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    for line in lines {
        if let Err(e) = writeln!(out, "{line}") {
            if e.kind() == std::io::ErrorKind::BrokenPipe {
                return Ok(());
            }
            return Err(e.into());
        }
    }
    let _ = out.flush();
    Ok(())
}

async fn inbox(args: &ArgMatches) -> Result<bool> {
    match args
        .subcommand()
        .context("inbox needs list, claim, done or prune")?
    {
        ("list", args) => {
            let inbox = open_inbox(args, false).await?;
            let listing = if args.get_flag("pending") {
                Listing::Pending
            } else {
                Listing::All
            };
            let messages = inbox.messages(listing, usize::MAX).await?;
            let json = args.get_flag("json");
            print_lines(messages.iter().map(|m| line(m, json, None)))?;
            Ok(true)
        }
        ("claim", args) => {
            let inbox = open_inbox(args, false).await?;
            let max = *args.get_one::<usize>("max").context("--max")?;
            let lease = *args.get_one::<Duration>("lease").context("--lease")?;
            let claimed = inbox.claim(max, lease).await?;
            let json = args.get_flag("json");
            print_lines(
                claimed
                    .iter()
                    .map(|c| line(&c.message, json, Some(&c.lease))),
            )?;
            Ok(true)
        }
        ("done", args) => {
            let inbox = open_inbox(args, false).await?;
            let id = *args.get_one::<u64>("id").context("ID")?;
            inbox.mark_done(id).await?;
            Ok(true)
        }
        ("prune", args) => {
            let retention = *args
                .get_one::<Duration>("older-than")
                .context("--older-than")?;
            let inbox = open_inbox(args, false).await?;
            let removed = prune_older_than(&inbox, retention).await?;
            println!(
                "removed {removed} done message(s) older than {}",
                humantime::format_duration(retention)
            );
            Ok(true)
        }
        (other, _) => anyhow::bail!("unknown inbox command {other}"),
    }
}

/// Reads ids, one per line (blank lines and `#` comments skipped).
fn ids(args: &ArgMatches, flag: &str) -> Result<Vec<String>> {
    let Some(path) = args.get_one::<PathBuf>(flag) else {
        return Ok(Vec::new());
    };
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    Ok(text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(str::to_owned)
        .collect())
}

async fn reconcile(
    args: &ArgMatches,
    client: &dyn Fn() -> Result<pandapon_gen::Client>,
) -> Result<bool> {
    use pandapon_gen::push::reconcile::{Checked, Subject, reconcile};
    let mut subjects: Vec<Subject> = ids(args, "order-ids")?
        .into_iter()
        .map(Subject::AlibabaOrder)
        .collect();
    subjects.extend(
        ids(args, "refund-ids")?
            .into_iter()
            .map(Subject::TaobaoRefund),
    );
    anyhow::ensure!(
        !subjects.is_empty(),
        "nothing to reconcile: give --order-ids or --refund-ids (a file of ids, one per line)"
    );
    let inbox = open_inbox(args, false).await?;
    let client = client()?;
    let checked = reconcile(&client, &inbox, &subjects).await?;
    let mut all_fetched = true;
    let lines = checked.iter().map(|(subject, checked)| {
        let what = match subject {
            Subject::AlibabaOrder(id) => {
                format!("1688 order {}", pandapon_gen::escape_controls(id))
            }
            Subject::TaobaoRefund(id) => {
                format!("Taobao refund {}", pandapon_gen::escape_controls(id))
            }
            _ => "?".to_owned(),
        };
        match checked {
            Checked::Stored(id) => format!("{what}: stored as message {id}"),
            Checked::Unchanged => format!("{what}: unchanged"),
            Checked::Failed(e) => {
                all_fetched = false;
                format!("{what}: failed: {e} [{}]", e.outcome())
            }
            _ => format!("{what}: ?"),
        }
    });
    let lines: Vec<String> = lines.collect();
    print_lines(lines)?;
    Ok(all_fetched)
}

async fn send(args: &ArgMatches, credentials: &Credentials) -> Result<bool> {
    let url = args.get_one::<String>("url").context("--url")?;
    let body = read_body(args)?;
    let authorization = pandapon_gen::auth::push_signature_with(credentials, base(args), &body);
    // The global --proxy, as for every other request.
    let mut client = reqwest::Client::builder();
    if let Some(proxy) = args.get_one::<String>("proxy") {
        client = client.proxy(crate::proxy_of(proxy)?);
    }
    let response = client
        .build()
        .context("building the HTTP client")?
        .post(url.as_str())
        .header(reqwest::header::CONTENT_TYPE, "application/json")
        .header(reqwest::header::AUTHORIZATION, authorization)
        .body(body)
        .send()
        .await
        // The URL may hold a password: said with it replaced, and not in
        // reqwest's own words.
        .map_err(reqwest::Error::without_url)
        .with_context(|| format!("sending to {}", crate::redact_userinfo(url)))?;
    let status = response.status();
    let text = response.text().await.unwrap_or_default();
    let excerpt: String = text.chars().take(200).collect();
    println!(
        "HTTP {} {}",
        status.as_u16(),
        pandapon_gen::escape_controls(excerpt.trim())
    );
    Ok(status == reqwest::StatusCode::OK)
}
