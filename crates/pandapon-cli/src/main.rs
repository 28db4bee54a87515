//! `pandapon`: every PandaPon operation from a terminal, the signature
//! debugger and a local fake PandaPon.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod curl;
#[allow(missing_docs, unused_imports, unused_variables, unused_mut, dead_code, clippy::all)]
#[rustfmt::skip]
mod generated;
mod output;
mod push;

use std::net::{Ipv4Addr, SocketAddr};
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{Context, Result};
use clap::{Arg, ArgAction, ArgMatches, Command};
use pandapon_gen::auth::StringToSign;
use pandapon_gen::{ClientBuilder, Credentials, TimestampUnit};
use pandapon_httpmock::{FakePandaPon, SignatureCheck};

use crate::generated::{Cli, CliCommand};

/// What the generated commands see as "the SDK".
mod sdk {
    pub use pandapon_gen::{Client, builder, types};
}

/// Credentials the `mock` command uses when none are configured.
const DEMO: (&str, &str, &str) = ("demo-access-key", "demo-access-secret", "demo-user");

/// The global option for an environment variable of
/// [`pandapon_gen::ENV_VARS`]: its name without `PANDAPON_`, in kebab-case
/// (`PANDAPON_ACCESS_KEY` is `--access-key`).
fn flag_of(var: &str) -> String {
    var.trim_start_matches("PANDAPON_")
        .to_lowercase()
        .replace('_', "-")
}

/// The help of a global option: the variable's meaning, capitalised.
fn help_of(var: &pandapon_gen::EnvVar) -> String {
    let mut chars = var.meaning.chars();
    let mut help: String = chars
        .next()
        .map(|c| c.to_uppercase().collect())
        .unwrap_or_default();
    help.push_str(chars.as_str());
    if var.name == pandapon_gen::ENV_ACCESS_SECRET {
        help.push_str(" (prefer the environment variable: flags show in process lists)");
    }
    help
}

/// Where `--help` lists the options every command takes.
const GLOBAL_HEADING: &str = "Global options";

fn kebab(operation_id: &str) -> String {
    operation_id.replace('_', "-")
}

fn command() -> Command {
    let mut root = Command::new("pandapon")
        .version(env!("CARGO_PKG_VERSION"))
        .about("Call the PandaPon OpenAPI, debug signatures, run a local fake PandaPon")
        .after_help(
            "Credentials come from the flags or from PANDAPON_ACCESS_KEY, \
             PANDAPON_ACCESS_SECRET and PANDAPON_USER_ID.\n\
             Exit status: 0 on success, 1 when the call or PandaPon failed, 2 on bad usage.",
        )
        .subcommand_required(true)
        .arg_required_else_help(true);
    for var in pandapon_gen::ENV_VARS {
        let flag = flag_of(var.name);
        root = root.arg(
            Arg::new(flag.clone())
                .long(flag)
                .global(true)
                .value_name(var.name)
                .allow_negative_numbers(true)
                .help_heading(GLOBAL_HEADING)
                .help(format!("{} (env: {})", help_of(var), var.name)),
        );
    }
    root = root
        .arg(
            Arg::new("dry-run")
                .long("dry-run")
                .global(true)
                .help_heading(GLOBAL_HEADING)
                .action(ArgAction::SetTrue)
                .help("Print the signed request as a curl command and send nothing"),
        )
        .arg(
            Arg::new("verbose")
                .long("verbose")
                .short('v')
                .global(true)
                .help_heading(GLOBAL_HEADING)
                .action(ArgAction::SetTrue)
                .help(
                    "Write each attempt to stderr: the request line, headers and body, then \
                     the status, headers and body (signature and nonce-str redacted, \
                     everything escaped, bodies cut at 4 KiB)",
                ),
        )
        .arg(
            Arg::new("record")
                .long("record")
                .global(true)
                .help_heading(GLOBAL_HEADING)
                .value_name("FILE")
                .value_parser(clap::value_parser!(std::path::PathBuf))
                .help(
                    "Append each exchange with PandaPon to this cassette file, for `pandapon \
                     mock --replay` (no secret, signature or nonce is written)",
                ),
        )
        .arg(
            Arg::new("timeout")
                .long("timeout")
                .global(true)
                .help_heading(GLOBAL_HEADING)
                .value_name("SECONDS")
                .value_parser(clap::value_parser!(u64))
                .help("Time allowed for each attempt of the call [default: 30]"),
        )
        .arg(
            Arg::new("proxy")
                .long("proxy")
                .global(true)
                .help_heading(GLOBAL_HEADING)
                .value_name("URL")
                .help(
                    "Send every request through this HTTP proxy (without it, HTTPS_PROXY, \
                     HTTP_PROXY and NO_PROXY are honoured)",
                ),
        )
        .arg(
            Arg::new("max-attempts")
                .long("max-attempts")
                .global(true)
                .help_heading(GLOBAL_HEADING)
                .value_name("N")
                .value_parser(clap::value_parser!(u32).range(1..))
                .help(
                    "Attempts in all, the first included, for a call that may be retried \
                     [default: 4]; 1 turns retries off",
                ),
        );
    for cmd in CliCommand::iter() {
        let mut sub = Cli::get_command(cmd).name(kebab(cmd.operation_id()));
        // progenitor puts summary and description together in `about`; keep
        // the listing to the summary and show everything under --help.
        if let Some(about) = sub.get_about().map(|a| a.to_string()) {
            let summary = about.split("\n\n").next().unwrap_or_default().to_owned();
            sub = sub.about(summary).long_about(about);
        }
        // progenitor adds this flag with placeholder help and never reads it.
        if sub
            .get_arguments()
            .any(|a| a.get_id() == "json-body-template")
        {
            sub = sub.mut_arg("json-body-template", |a| a.hide(true));
        }
        if pandapon_gen::operation(cmd.operation_id()).is_some_and(|op| op.paginated) {
            sub = sub
                .arg(Arg::new("all").long("all").action(ArgAction::SetTrue).help(
                    "Print the items of every page, one JSON line each, asking for \
                             page after page until the last",
                ))
                .arg(
                    Arg::new("max-items")
                        .long("max-items")
                        .value_name("N")
                        .requires("all")
                        .value_parser(clap::value_parser!(usize))
                        .help("With --all: stop after N items"),
                )
                .arg(
                    Arg::new("max-pages")
                        .long("max-pages")
                        .value_name("N")
                        .requires("all")
                        .value_parser(clap::value_parser!(usize))
                        .help(
                            "With --all: ask for N pages at most [default: 1000]; if the \
                             server says more remain, fail saying so",
                        ),
                );
        }
        root = root.subcommand(sub);
    }
    root.subcommand(
        Command::new("sign")
            .about(
                "Print the signature of the configured credentials for a timestamp and \
                 nonce, and the string that was hashed with the secret masked",
            )
            .arg(
                Arg::new("timestamp")
                    .long("timestamp")
                    .required(true)
                    .help("The timestamp header value"),
            )
            .arg(
                Arg::new("nonce")
                    .long("nonce")
                    .required(true)
                    .help("The nonce-str header value"),
            ),
    )
    .subcommand(push::command())
    .subcommand(
        Command::new("request")
            .about(
                "Send a signed call to any PandaPon path, for endpoints without a command \
                 of their own, and print the response envelope",
            )
            .long_about(
                "Send a signed call to any PandaPon path, for endpoints without a command \
                 of their own, and print the response envelope.\n\n\
                 The call is signed, checked and reported as every command's is. It is a \
                 write unless --read-only says re-sending it is harmless: a write is \
                 re-sent only when the connection failed before anything was sent.",
            )
            .arg(
                Arg::new("method")
                    .required(true)
                    .value_name("METHOD")
                    .value_parser(|m: &str| {
                        pandapon_gen::Method::from_bytes(m.to_ascii_uppercase().as_bytes())
                            .map_err(|e| e.to_string())
                    })
                    .help("The HTTP method: GET, POST, …"),
            )
            .arg(
                Arg::new("path")
                    .required(true)
                    .value_name("PATH")
                    .help("The path after the base URL, starting with /"),
            )
            .arg(
                Arg::new("query")
                    .long("query")
                    .value_name("NAME=VALUE")
                    .action(ArgAction::Append)
                    .value_parser(|kv: &str| {
                        kv.split_once('=')
                            .map(|(k, v)| (k.to_owned(), v.to_owned()))
                            .ok_or_else(|| format!("expected NAME=VALUE, got {kv:?}"))
                    })
                    .help("A query parameter; repeat for more"),
            )
            .arg(
                Arg::new("json")
                    .long("json")
                    .value_name("TEXT")
                    .conflicts_with("json-body")
                    .help("The JSON body"),
            )
            .arg(
                Arg::new("json-body")
                    .long("json-body")
                    .value_name("FILE")
                    .value_parser(clap::value_parser!(std::path::PathBuf))
                    .help("A file holding the JSON body"),
            )
            .arg(
                Arg::new("read-only")
                    .long("read-only")
                    .action(ArgAction::SetTrue)
                    .help("Re-sending the call is harmless: retry it like a read"),
            ),
    )
    .subcommand(
        Command::new("mock")
            .about(
                "Run a local fake PandaPon that checks signatures with the configured \
                 credentials (or demo ones) and answers every operation with its \
                 documented example",
            )
            .arg(
                Arg::new("port")
                    .long("port")
                    .value_parser(clap::value_parser!(u16))
                    .default_value("0")
                    .help("Port on 127.0.0.1; 0 picks a free one"),
            )
            .arg(
                Arg::new("replay")
                    .long("replay")
                    .value_name("FILE")
                    .value_parser(clap::value_parser!(std::path::PathBuf))
                    .conflicts_with("push-to")
                    .help(
                        "Serve the exchanges of a cassette written with --record instead of \
                         the documented examples: each request, signature checked, gets the \
                         recorded answer of the exchange it matches (method, path, query, \
                         body); one that matches none gets HTTP 404 naming the nearest",
                    ),
            )
            .arg(Arg::new("push-to").long("push-to").value_name("URL").help(
                "After each call that creates, cancels or pays an order, push the \
                         order message PandaPon would to URL (a receiver, such as `pandapon \
                         push serve`), signed with the same credentials",
            )),
    )
}

/// A global option's value: the flag, else the environment variable.
fn setting(matches: &ArgMatches, flag: &str, var: &str) -> Option<String> {
    matches
        .get_one::<String>(flag)
        .cloned()
        .or_else(|| std::env::var(var).ok())
        .filter(|v| !v.is_empty())
}

fn builder(matches: &ArgMatches) -> Result<ClientBuilder> {
    let lookup = |var: &str| setting(matches, &flag_of(var), var);
    let mut builder = ClientBuilder::from_lookup(lookup)?;
    if let Some(secs) = matches.get_one::<u64>("timeout") {
        builder = builder.timeout(Duration::from_secs(*secs));
    }
    if let Some(n) = matches.get_one::<u32>("max-attempts") {
        builder = builder.retry_policy(pandapon_gen::RetryPolicy::default().max_attempts(*n));
    }
    if let Some(file) = matches.get_one::<std::path::PathBuf>("record") {
        let recorder = pandapon_gen::cassette::Recorder::append_to(file)
            .with_context(|| format!("opening the cassette {}", file.display()))?;
        builder = builder.interceptor(recorder);
    }
    if let Some(proxy) = matches.get_one::<String>("proxy") {
        builder = builder.http_client(reqwest::Client::builder().proxy(proxy_of(proxy)?));
    }
    Ok(builder)
}

/// The global `--proxy`, for every request the CLI sends. The URL may hold a
/// password: errors show it with its user information replaced, and never
/// show reqwest's own text of it.
pub(crate) fn proxy_of(proxy: &str) -> Result<reqwest::Proxy> {
    reqwest::Proxy::all(proxy).map_err(|e| {
        let shown = redact_userinfo(proxy);
        let why = std::error::Error::source(&e)
            .map_or_else(|| e.to_string(), ToString::to_string)
            .replace(proxy, &shown);
        anyhow::anyhow!("--proxy {shown:?} is not a proxy URL: {why}")
    })
}

/// A URL with its user information (`user:password@`) replaced by `***@`,
/// whether or not the rest of it parses: everything between the scheme and
/// the last `@` goes (a password may hold `/`, `?` or `#`; a path holding
/// `@` is cut too, which hides more than needed, never less).
pub(crate) fn redact_userinfo(url: &str) -> String {
    let after_scheme = url.find("://").map_or(0, |i| i + 3);
    match url[after_scheme..].rfind('@') {
        Some(at) => format!("{}***{}", &url[..after_scheme], &url[after_scheme + at..]),
        None => url.to_owned(),
    }
}

fn credentials(matches: &ArgMatches) -> Option<Result<Credentials>> {
    let [key, secret, user] = [
        pandapon_gen::ENV_ACCESS_KEY,
        pandapon_gen::ENV_ACCESS_SECRET,
        pandapon_gen::ENV_USER_ID,
    ]
    .map(|var| setting(matches, &flag_of(var), var));
    if key.is_none() && secret.is_none() && user.is_none() {
        return None;
    }
    Some(builder(matches).map(|b| b.credentials().clone()))
}

fn sign(matches: &ArgMatches, sub: &ArgMatches) -> Result<()> {
    let creds = match credentials(matches) {
        Some(creds) => creds?,
        None => anyhow::bail!(
            "no credentials: set {}, {} and {} (or the flags)",
            pandapon_gen::ENV_ACCESS_KEY,
            pandapon_gen::ENV_ACCESS_SECRET,
            pandapon_gen::ENV_USER_ID
        ),
    };
    let ts = sub
        .get_one::<String>("timestamp")
        .map_or("", String::as_str);
    let nonce = sub.get_one::<String>("nonce").map_or("", String::as_str);
    let string = StringToSign::new(&creds, ts, nonce);
    println!("string to sign: {}", string.masked());
    println!("signature:      {}", string.signature());
    if nonce.len() != pandapon_gen::auth::NONCE_LEN
        || !nonce.bytes().all(|b| b.is_ascii_alphanumeric())
    {
        eprintln!("note: PandaPon expects nonce-str to be 32 characters of [A-Za-z0-9]");
    }
    if !ts.bytes().all(|b| b.is_ascii_digit()) || ts.is_empty() {
        eprintln!("note: the timestamp should be digits (milliseconds or seconds since 1970)");
    }
    Ok(())
}

async fn mock(matches: &ArgMatches, sub: &ArgMatches) -> Result<()> {
    let (creds, unit) = match credentials(matches) {
        Some(creds) => {
            let unit = setting(matches, "timestamp-unit", pandapon_gen::ENV_TIMESTAMP_UNIT)
                .map(|u| u.parse::<TimestampUnit>())
                .transpose()?
                .unwrap_or_default();
            (creds?, unit)
        }
        None => {
            let (key, secret, user) = DEMO;
            eprintln!(
                "no credentials configured; the fake accepts these demo ones:\n  \
                 export {}={key} {}={secret} {}={user}",
                pandapon_gen::ENV_ACCESS_KEY,
                pandapon_gen::ENV_ACCESS_SECRET,
                pandapon_gen::ENV_USER_ID
            );
            (Credentials::new(key, secret, user)?, TimestampUnit::Millis)
        }
    };
    let port = sub.get_one::<u16>("port").copied().unwrap_or(0);
    let check = SignatureCheck::new(creds).with_timestamp_unit(unit);
    let mut fake = FakePandaPon::builder(check);
    if let Some(url) = sub.get_one::<String>("push-to") {
        fake = fake.push_to(url.as_str());
    }
    if let Some(file) = sub.get_one::<std::path::PathBuf>("replay") {
        let exchanges = pandapon_gen::cassette::read(file)?;
        eprintln!(
            "replaying {} recorded exchange(s) from {}",
            exchanges.len(),
            file.display()
        );
        fake = fake.replay(exchanges);
    }
    let fake = fake
        .start(SocketAddr::from((Ipv4Addr::LOCALHOST, port)))
        .await
        .with_context(|| format!("listening on port {port}"))?;
    // The first line on stdout is the URL, so scripts can read it.
    println!("{}", fake.base_url());
    eprintln!(
        "fake PandaPon listening; point a client at it with {}={} (Ctrl-C stops it)",
        pandapon_gen::ENV_BASE_URL,
        fake.base_url()
    );
    tokio::signal::ctrl_c()
        .await
        .context("waiting for Ctrl-C")?;
    fake.stop().await;
    Ok(())
}

/// A client from the global options, printing the signed request as a curl
/// command instead of sending it when `--dry-run` is given.
fn client(matches: &ArgMatches) -> Result<pandapon_gen::Client> {
    let mut builder = builder(matches)?;
    if matches.get_flag("dry-run") {
        builder = builder.dry_run(|req| println!("{}", curl::render(req)));
    }
    Ok(builder.build()?)
}

/// `pandapon request METHOD PATH …`. Returns whether the call succeeded.
async fn request(matches: &ArgMatches, sub: &ArgMatches) -> Result<bool> {
    let method = sub
        .get_one::<pandapon_gen::Method>("method")
        .context("METHOD")?
        .clone();
    let path = sub.get_one::<String>("path").context("PATH")?;
    let body: Option<serde_json::Value> = match (
        sub.get_one::<String>("json"),
        sub.get_one::<std::path::PathBuf>("json-body"),
    ) {
        (Some(text), _) => Some(serde_json::from_str(text).context("--json is not JSON")?),
        (None, Some(file)) => {
            let text = std::fs::read_to_string(file)
                .with_context(|| format!("reading {}", file.display()))?;
            Some(
                serde_json::from_str(&text)
                    .with_context(|| format!("{} is not JSON", file.display()))?,
            )
        }
        (None, None) => None,
    };
    let client = client(matches)?;
    let mut call = client.request(method, path.as_str());
    for (name, value) in sub
        .get_many::<(String, String)>("query")
        .into_iter()
        .flatten()
    {
        call = call.query(name, value);
    }
    if let Some(body) = &body {
        call = call.json(body);
    }
    if sub.get_flag("read-only") {
        call = call.read_only();
    }
    Ok(output::reply(call.call::<serde_json::Value>().await))
}

async fn operation(matches: &ArgMatches, name: &str, sub: &ArgMatches) -> Result<bool> {
    let cmd = CliCommand::iter()
        .find(|c| kebab(c.operation_id()) == name)
        .with_context(|| format!("unknown command {name}"))?;
    generated::dispatch(&client(matches)?, cmd, sub).await
}

/// What goes to stderr: the warnings and errors the SDK logs (a receiver's
/// inbox failing, a worker's handler failing), nothing below WARN; with
/// `--verbose`, also the SDK's wire log (TRACE on `pandapon::wire`), as it
/// is: the SDK redacts and escapes it.
fn logging(verbose: bool) {
    use tracing_subscriber::Layer as _;
    use tracing_subscriber::filter::{LevelFilter, Targets};
    use tracing_subscriber::layer::SubscriberExt as _;
    use tracing_subscriber::util::SubscriberInitExt as _;
    let warnings = tracing_subscriber::fmt::layer()
        .with_writer(std::io::stderr)
        .with_target(false)
        .with_filter(LevelFilter::WARN);
    let wire = verbose.then(|| {
        tracing_subscriber::fmt::layer()
            .with_writer(std::io::stderr)
            .without_time()
            .with_level(false)
            .with_target(false)
            .with_filter(Targets::new().with_target("pandapon::wire", LevelFilter::TRACE))
    });
    tracing_subscriber::registry()
        .with(warnings)
        .with(wire)
        .init();
}

#[tokio::main]
async fn main() -> ExitCode {
    let matches = command().get_matches();
    logging(matches.get_flag("verbose"));
    let outcome = match matches.subcommand() {
        Some(("sign", sub)) => sign(&matches, sub).map(|()| true),
        Some(("push", sub)) => {
            push::run(sub, &|| credentials(&matches), &|| client(&matches)).await
        }
        Some(("mock", sub)) => mock(&matches, sub).await.map(|()| true),
        Some(("request", sub)) => request(&matches, sub).await,
        Some((name, sub)) => operation(&matches, name, sub).await,
        None => Ok(false),
    };
    match outcome {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(e) => {
            output::fail(&format!("{e:#}"));
            ExitCode::FAILURE
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_proxy_url_shows_without_its_user_information() {
        assert_eq!(
            redact_userinfo("http://alice:s3cr3t@proxy.example:3128/x?y"),
            "http://***@proxy.example:3128/x?y"
        );
        assert_eq!(redact_userinfo("http://a:b@c@[::1"), "http://***@[::1");
        assert_eq!(
            redact_userinfo("socks5://p@ss:w@rd@host"),
            "socks5://***@host"
        );
        assert_eq!(redact_userinfo("http://proxy:3128"), "http://proxy:3128");
        assert_eq!(
            redact_userinfo("http://alice:pa/ss@proxy:3128"),
            "http://***@proxy:3128"
        );
        assert_eq!(
            redact_userinfo("http://alice:p#?x@proxy:3128/"),
            "http://***@proxy:3128/"
        );
        assert_eq!(redact_userinfo("nonsense"), "nonsense");
    }

    #[test]
    fn the_command_tree_is_valid() {
        command().debug_assert();
    }

    #[test]
    fn every_operation_is_a_kebab_case_subcommand() {
        let cmd = command();
        let mut names: Vec<&str> = cmd.get_subcommands().map(|s| s.get_name()).collect();
        names.sort_unstable();
        // Each operation's id with its underscores as hyphens, spelled out
        // here rather than through `kebab`, and the four hand-written
        // commands: nothing else, nothing missing.
        let mut expected: Vec<String> = pandapon_gen::OPERATIONS
            .iter()
            .map(|op| op.id.split('_').collect::<Vec<_>>().join("-"))
            .chain(["mock", "push", "request", "sign"].map(str::to_owned))
            .collect();
        expected.sort_unstable();
        assert_eq!(names, expected);
        assert_eq!(names.len(), 42 + 4);
        for name in &names {
            assert!(
                name.chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-'),
                "{name}"
            );
        }
    }

    #[test]
    fn exactly_the_paginated_operations_have_all() {
        let cmd = command();
        let with_all: Vec<String> = cmd
            .get_subcommands()
            .filter(|s| s.get_arguments().any(|a| a.get_id() == "all"))
            .map(|s| s.get_name().to_owned())
            .collect();
        let expected: Vec<String> = pandapon_gen::OPERATIONS
            .iter()
            .filter(|op| op.paginated)
            .map(|op| kebab(op.id))
            .collect();
        let mut sorted = with_all.clone();
        sorted.sort();
        assert_eq!(sorted, expected);
    }
}
