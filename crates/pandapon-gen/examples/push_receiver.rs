//! Receives the order messages PandaPon pushes: the library's receiver
//! verifies each, stores it in an inbox file and only then answers 200; a
//! worker (the library's worker loop) claims the stored messages, prints
//! each as one JSON line and marks it done.
//!
//! ```text
//! cargo run --example push_receiver --features receiver -- [--port 8080] [--inbox FILE]
//! ```
//!
//! Credentials come from `PANDAPON_ACCESS_KEY`, `PANDAPON_ACCESS_SECRET` and
//! `PANDAPON_USER_ID`. If any `PANDAPON_*` variable is set, all of them must
//! be valid, or it refuses to start; only when none is set at all does it
//! verify with the public demo credentials, and it says so. The first line
//! on stdout is the URL. Answers: 200 once stored (a message delivered again
//! is acknowledged, not stored twice; a `GET`, the console's check, gets 200
//! too), 401 bad or missing `Authorization`, 400 not an order message, 413
//! body over 1 MiB, 408 a body slower than 5 s; a connection that sends no
//! headers for 5 s is closed. In production, put it behind HTTPS: PandaPon
//! only pushes to HTTPS URLs.

use std::path::PathBuf;

use clap::Parser;
use pandapon_gen::push::inbox::SqliteInbox;
use pandapon_gen::push::receiver::{DEFAULT_READ_TIMEOUT, Receiver, serve};
use pandapon_gen::push::worker::Worker;
use pandapon_gen::{ClientBuilder, Credentials, ENV_VARS, PushEvent};
use tokio::net::TcpListener;

#[derive(Parser)]
struct Args {
    /// Port on 127.0.0.1; 0 picks a free one.
    #[arg(long, default_value_t = 0)]
    port: u16,
    /// The inbox file (default: a new one in the temporary directory).
    #[arg(long)]
    inbox: Option<PathBuf>,
}

/// The credentials to verify with: the configured ones, the demo ones only
/// when nothing is configured.
fn credentials() -> Result<Credentials, Box<dyn std::error::Error>> {
    if ENV_VARS
        .iter()
        .any(|var| std::env::var_os(var.name).is_some())
    {
        // Any setting given: all must be valid, or nothing runs.
        return Ok(ClientBuilder::from_env()?.credentials().clone());
    }
    eprintln!("no PANDAPON_* variable set: verifying with the demo credentials");
    Ok(Credentials::new(
        "demo-access-key",
        "demo-access-secret",
        "demo-user",
    )?)
}

/// The application's handling of one message: print it as one JSON line.
/// A store in this process wakes the worker at once.
async fn handle(event: PushEvent) -> Result<(), std::io::Error> {
    let message = event.message();
    let line = serde_json::json!({
        "key": event.dedupe_key(),
        "messageType": message.message_type.as_ref().map(|t| t.as_str()),
        "messagePlatform": message.message_platform.code(),
        "orderId": event.order_id(),
        "timestamp": message.timestamp,
        "messageBody": message.message_body.as_ref().map(|b| b.as_value()),
    });
    println!("{line}");
    Ok(())
}

#[tokio::main]
async fn main() {
    if let Err(e) = run().await {
        eprintln!("error: {e}");
        std::process::exit(1);
    }
}

async fn run() -> Result<(), Box<dyn std::error::Error>> {
    let args = Args::parse();
    let credentials = credentials()?;
    let path = args.inbox.unwrap_or_else(|| {
        std::env::temp_dir().join(format!("pandapon-receiver-{}.sqlite", std::process::id()))
    });
    let inbox = SqliteInbox::open(&path)?;
    let listener = TcpListener::bind(("127.0.0.1", args.port)).await?;
    println!("http://{}", listener.local_addr()?);
    let router = Receiver::new(credentials, inbox.clone()).router();
    let worker = Worker::new(&inbox).run(handle, std::future::pending::<()>());
    tokio::select! {
        served = serve(listener, router, DEFAULT_READ_TIMEOUT) => served?,
        worked = worker => {
            worked?;
        }
    }
    Ok(())
}
