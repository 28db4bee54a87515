//! Receives the order messages PandaPon pushes: verifies each, acknowledges
//! at once with HTTP 200, and hands it to the application on a channel.
//!
//! ```text
//! cargo run --example callback_receiver -- [--port 8080]
//! ```
//!
//! Credentials come from `PANDAPON_ACCESS_KEY`, `PANDAPON_ACCESS_SECRET` and
//! `PANDAPON_USER_ID` (demo ones when unset). The first line on stdout is the
//! URL; each accepted message is then printed as one JSON line, with
//! `signedBase` saying which reading of the signature matched. Answers:
//! 200 accepted (and to a GET, for the console's "Verify" button), 401 bad
//! or missing `Authorization`, 400 not an order message, 413 body over 1 MiB.
//! In production, put it behind HTTPS: PandaPon only pushes to HTTPS URLs.

use std::convert::Infallible;
use std::sync::Arc;

use bytes::Bytes;
use clap::Parser;
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use pandapon_gen::auth::CallbackBase;
use pandapon_gen::callback::{PushError, verify_message};
use pandapon_gen::types::OrderMessage;
use pandapon_gen::{ClientBuilder, Credentials};
use tokio::net::TcpListener;
use tokio::sync::mpsc;

#[derive(Parser)]
struct Args {
    /// Port on 127.0.0.1; 0 picks a free one.
    #[arg(long, default_value_t = 0)]
    port: u16,
}

fn text(status: StatusCode, body: &'static str) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(Bytes::from_static(body.as_bytes())));
    *response.status_mut() = status;
    response
}

/// Verifies and queues one push; never waits for the application.
async fn receive(
    credentials: Arc<Credentials>,
    queue: mpsc::UnboundedSender<(OrderMessage, CallbackBase)>,
    request: Request<Incoming>,
) -> Result<Response<Full<Bytes>>, Infallible> {
    if request.method() == Method::GET {
        return Ok(text(StatusCode::OK, "ok"));
    }
    let authorization = request
        .headers()
        .get(hyper::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let Ok(body) = Limited::new(request.into_body(), 1 << 20).collect().await else {
        return Ok(text(StatusCode::PAYLOAD_TOO_LARGE, "body too large"));
    };
    let body = body.to_bytes();
    Ok(
        match verify_message(&credentials, &body, authorization.as_deref()) {
            Ok(verified) => {
                // The application may be slow; PandaPon must not wait for it.
                let _ = queue.send((verified.message, verified.base));
                text(StatusCode::OK, "success")
            }
            Err(PushError::Signature(_)) => text(StatusCode::UNAUTHORIZED, "bad signature"),
            Err(_) => text(StatusCode::BAD_REQUEST, "not an order message"),
        },
    )
}

/// The application side: here it just prints each message.
async fn application(mut queue: mpsc::UnboundedReceiver<(OrderMessage, CallbackBase)>) {
    while let Some((message, base)) = queue.recv().await {
        let line = serde_json::json!({
            "messageType": message.message_type.as_ref().map(|t| t.as_str()),
            "messagePlatform": message.message_platform.code(),
            "timestamp": message.timestamp,
            "messageBody": message.message_body.as_ref().map(|b| b.as_value()),
            "signedBase": base.to_string(),
        });
        println!("{line}");
    }
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args = Args::parse();
    let credentials = match ClientBuilder::from_env() {
        Ok(builder) => builder.credentials().clone(),
        Err(_) => {
            eprintln!("no PANDAPON_* credentials set: verifying with demo-access-secret");
            Credentials::new("demo-access-key", "demo-access-secret", "demo-user")?
        }
    };
    let credentials = Arc::new(credentials);
    let listener = TcpListener::bind(("127.0.0.1", args.port)).await?;
    println!("http://{}", listener.local_addr()?);
    let (queue, inbox) = mpsc::unbounded_channel();
    tokio::spawn(application(inbox));
    loop {
        let (stream, _) = listener.accept().await?;
        let (credentials, queue) = (credentials.clone(), queue.clone());
        tokio::spawn(async move {
            let service = service_fn(move |req| receive(credentials.clone(), queue.clone(), req));
            let _ = http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
    }
}
