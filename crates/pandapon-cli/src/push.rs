//! `pandapon push …` (or `pandapon callback …`, PandaPon's name for the URL
//! it pushes to): the messages PandaPon pushes. Check or make a
//! signature (`verify`, `sign`), run a receiver that stores every verified
//! message in an inbox file before answering 200 (`serve`), read and mark
//! that inbox (`inbox list`, `inbox done`), and push a message to a
//! receiver the way PandaPon does (`send`).

use std::path::PathBuf;
use std::time::{Duration, UNIX_EPOCH};

use anyhow::{Context, Result};
use clap::{Arg, ArgAction, ArgMatches, Command};
use pandapon_gen::Credentials;
use pandapon_gen::auth::PushSignatureBase;
use pandapon_gen::push::inbox::{Inbox, SqliteInbox};

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
        .value_name("FILE")
        .value_parser(clap::value_parser!(PathBuf))
        .help("The inbox file (SQLite; created if missing)")
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
                     inbox file, and answer 200 only once it is on disk. A message delivered \
                     again is acknowledged and not stored twice. Answers 401 to a bad \
                     signature, 400 to a body that is not an order message, 413 past 1 MiB, \
                     408 to a body slower than 5 s; a connection that sends no headers for \
                     5 s is closed. The first line on stdout is the URL.\n\n\
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
                ),
        )
        .subcommand(
            Command::new("inbox")
                .about("Read the inbox a receiver stores messages in, and mark them done")
                .subcommand_required(true)
                .subcommand(
                    Command::new("list")
                        .about("Print the stored messages, oldest first")
                        .arg(inbox_arg())
                        .arg(
                            Arg::new("json")
                                .long("json")
                                .action(ArgAction::SetTrue)
                                .help(
                                    "One JSON object per line: id, key, receivedAtMs, done and \
                                     the message as received",
                                ),
                        )
                        .arg(
                            Arg::new("pending")
                                .long("pending")
                                .action(ArgAction::SetTrue)
                                .help("Only the messages not marked done"),
                        ),
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

/// Runs `pandapon push …`; returns whether it succeeded.
pub async fn run(sub: &ArgMatches, configured: Configured<'_>) -> Result<bool> {
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

fn open_inbox(args: &ArgMatches) -> Result<SqliteInbox> {
    let path = args.get_one::<PathBuf>("inbox").context("--inbox")?;
    SqliteInbox::open(path).with_context(|| format!("opening the inbox {}", path.display()))
}

async fn serve(args: &ArgMatches, credentials: Credentials) -> Result<bool> {
    use pandapon_gen::push::receiver::{DEFAULT_READ_TIMEOUT, Receiver, serve};
    let inbox = open_inbox(args)?;
    let addr = *args
        .get_one::<std::net::SocketAddr>("addr")
        .context("--addr")?;
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .with_context(|| format!("listening on {addr}"))?;
    // The first line on stdout is the URL, so scripts can read it.
    println!("http://{}", listener.local_addr()?);
    let router = Receiver::new(credentials, inbox).router();
    tokio::select! {
        served = serve(listener, router, DEFAULT_READ_TIMEOUT) => {
            served.context("serving")?;
        }
        _ = tokio::signal::ctrl_c() => {}
    }
    Ok(true)
}

async fn inbox(args: &ArgMatches) -> Result<bool> {
    match args.subcommand().context("inbox needs list or done")? {
        ("list", args) => {
            let inbox = open_inbox(args)?;
            let messages = if args.get_flag("pending") {
                inbox.take_pending(usize::MAX).await?
            } else {
                inbox.all().await?
            };
            let json = args.get_flag("json");
            let mut out = std::io::BufWriter::new(std::io::stdout().lock());
            use std::io::Write;
            for m in messages {
                let received = m
                    .received_at
                    .duration_since(UNIX_EPOCH)
                    .unwrap_or(Duration::ZERO)
                    .as_millis();
                let line = if json {
                    let message: serde_json::Value =
                        serde_json::from_slice(&m.body).unwrap_or(serde_json::Value::Null);
                    serde_json::json!({
                        "id": m.id,
                        "key": m.key,
                        "receivedAtMs": received,
                        "done": m.done,
                        "message": message,
                    })
                    .to_string()
                } else {
                    let kind = m
                        .event()
                        .ok()
                        .and_then(|e| e.message_type().map(|t| t.as_str().to_owned()))
                        .unwrap_or_else(|| "-".to_owned());
                    format!(
                        "{:>6}  {}  {:<7}  {}  {}",
                        m.id,
                        received,
                        if m.done { "done" } else { "pending" },
                        pandapon_gen::escape_controls(&kind),
                        pandapon_gen::escape_controls(&m.key)
                    )
                };
                if let Err(e) = writeln!(out, "{line}") {
                    if e.kind() == std::io::ErrorKind::BrokenPipe {
                        return Ok(true);
                    }
                    return Err(e.into());
                }
            }
            let _ = out.flush();
            Ok(true)
        }
        ("done", args) => {
            let inbox = open_inbox(args)?;
            let id = *args.get_one::<u64>("id").context("ID")?;
            inbox.mark_done(id).await?;
            Ok(true)
        }
        (other, _) => anyhow::bail!("unknown inbox command {other}"),
    }
}

async fn send(args: &ArgMatches, credentials: &Credentials) -> Result<bool> {
    let url = args.get_one::<String>("url").context("--url")?;
    let body = read_body(args)?;
    let authorization = pandapon_gen::auth::push_signature_with(credentials, base(args), &body);
    // The global --proxy, as for every other request.
    let mut client = reqwest::Client::builder();
    if let Some(proxy) = args.get_one::<String>("proxy") {
        let proxy = reqwest::Proxy::all(proxy.as_str())
            .with_context(|| format!("--proxy {proxy:?} is not a proxy URL"))?;
        client = client.proxy(proxy);
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
        .with_context(|| format!("sending to {url}"))?;
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
