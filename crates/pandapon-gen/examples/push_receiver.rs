//! Receives the order messages PandaPon pushes: the library's receiver
//! verifies each, stores it in an inbox file and only then answers 200; the
//! application takes the stored messages, prints each as one JSON line and
//! marks it done.
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
use std::sync::Arc;

use clap::Parser;
use pandapon_gen::push::inbox::{
    Inbox, InboxError, NewMessage, SqliteInbox, Stored, StoredMessage,
};
use pandapon_gen::push::receiver::{DEFAULT_READ_TIMEOUT, Receiver, serve};
use pandapon_gen::{ClientBuilder, Credentials, ENV_VARS};
use tokio::net::TcpListener;
use tokio::sync::Notify;

#[derive(Parser)]
struct Args {
    /// Port on 127.0.0.1; 0 picks a free one.
    #[arg(long, default_value_t = 0)]
    port: u16,
    /// The inbox file (default: a new one in the temporary directory).
    #[arg(long)]
    inbox: Option<PathBuf>,
}

/// An inbox that wakes the application when a new message is stored: the
/// [`Inbox`] trait lets any store (here the SQLite one) be wrapped.
#[derive(Clone)]
struct Announcing {
    inner: SqliteInbox,
    stored: Arc<Notify>,
}

impl Inbox for Announcing {
    async fn store_if_absent(&self, message: NewMessage) -> Result<Stored, InboxError> {
        let stored = self.inner.store_if_absent(message).await?;
        if let Stored::New(_) = stored {
            self.stored.notify_one();
        }
        Ok(stored)
    }

    async fn take_pending(&self, max: usize) -> Result<Vec<StoredMessage>, InboxError> {
        self.inner.take_pending(max).await
    }

    async fn mark_done(&self, id: u64) -> Result<(), InboxError> {
        self.inner.mark_done(id).await
    }
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

/// The application: takes what was stored, prints it, marks it done.
async fn application(inbox: Announcing) -> Result<(), InboxError> {
    loop {
        for stored in inbox.take_pending(64).await? {
            if let Ok(event) = stored.event() {
                let message = event.message();
                let line = serde_json::json!({
                    "id": stored.id,
                    "key": stored.key,
                    "messageType": message.message_type.as_ref().map(|t| t.as_str()),
                    "messagePlatform": message.message_platform.code(),
                    "timestamp": message.timestamp,
                    "messageBody": message.message_body.as_ref().map(|b| b.as_value()),
                });
                println!("{line}");
            }
            inbox.mark_done(stored.id).await?;
        }
        inbox.stored.notified().await;
    }
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
    let inbox = Announcing {
        inner: SqliteInbox::open(&path)?,
        stored: Arc::default(),
    };
    let listener = TcpListener::bind(("127.0.0.1", args.port)).await?;
    println!("http://{}", listener.local_addr()?);
    let app = tokio::spawn(application(inbox.clone()));
    let router = Receiver::new(credentials, inbox).router();
    tokio::select! {
        served = serve(listener, router, DEFAULT_READ_TIMEOUT) => served?,
        finished = app => finished??,
    }
    Ok(())
}
