//! A receiver for the messages PandaPon pushes: an axum [`Router`] that
//! verifies each message, stores it in an [`Inbox`], and answers 200 only
//! once it is stored; and [`serve`], which runs it with read timeouts.
//!
//! | answer | when |
//! |---|---|
//! | 200 | stored (or already stored: a duplicate is acknowledged, not stored twice); or a `GET` (the console's check) |
//! | 401 | the `Authorization` header is missing or does not verify (either reading of the signed base) |
//! | 400 | the verified body is not an order message |
//! | 413 | the body is over the limit (1 MiB by default) |
//! | 408 | the body did not arrive within the body timeout |
//! | 405 | another method |
//! | 503 | the inbox could not store it: PandaPon will send it again |

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::{Request, State};
use axum::http::{Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use http_body_util::{BodyExt, Limited};
use pandapon_auth::Credentials;

use crate::PushEvent;
use crate::push::inbox::{Inbox, NewMessage};
use crate::push::{PushError, verify_message};

/// The default largest body accepted: 1 MiB.
pub const DEFAULT_MAX_BODY_BYTES: usize = 1 << 20;
/// The default time allowed for a request's headers, and for its body.
pub const DEFAULT_READ_TIMEOUT: Duration = Duration::from_secs(5);

/// A receiver's settings: the credentials messages are verified with, the
/// inbox they go to, the body limit and the body timeout.
#[derive(Debug)]
pub struct Receiver<I> {
    credentials: Credentials,
    inbox: I,
    max_body_bytes: usize,
    body_timeout: Duration,
}

impl<I: Inbox> Receiver<I> {
    /// A receiver verifying with `credentials` (their secret) and storing in
    /// `inbox`.
    pub fn new(credentials: Credentials, inbox: I) -> Self {
        Self {
            credentials,
            inbox,
            max_body_bytes: DEFAULT_MAX_BODY_BYTES,
            body_timeout: DEFAULT_READ_TIMEOUT,
        }
    }

    /// Sets the largest body accepted (413 past it).
    pub fn max_body_bytes(mut self, bytes: usize) -> Self {
        self.max_body_bytes = bytes;
        self
    }

    /// Sets the time allowed for a body to arrive once its headers have
    /// (408 past it).
    pub fn body_timeout(mut self, timeout: Duration) -> Self {
        self.body_timeout = timeout;
        self
    }

    /// The receiver as an axum [`Router`] answering on every path: serve it
    /// with [`serve`], or nest it in your own app (then give your server a
    /// header read timeout too).
    pub fn router(self) -> Router {
        Router::new()
            .fallback(receive::<I>)
            .with_state(Arc::new(self))
    }
}

/// One pushed message: verify, parse, store, then answer.
async fn receive<I: Inbox>(State(receiver): State<Arc<Receiver<I>>>, request: Request) -> Response {
    match *request.method() {
        Method::POST => {}
        // The console's check of a new callback URL.
        Method::GET | Method::HEAD => return (StatusCode::OK, "ok").into_response(),
        _ => return StatusCode::METHOD_NOT_ALLOWED.into_response(),
    }
    let (parts, body) = request.into_parts();
    let authorization = parts
        .headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let read = Limited::new(body, receiver.max_body_bytes).collect();
    let body = match tokio::time::timeout(receiver.body_timeout, read).await {
        Err(_) => return (StatusCode::REQUEST_TIMEOUT, "body too slow").into_response(),
        Ok(Err(e)) if e.is::<http_body_util::LengthLimitError>() => {
            return (StatusCode::PAYLOAD_TOO_LARGE, "body too large").into_response();
        }
        Ok(Err(_)) => return (StatusCode::BAD_REQUEST, "body unreadable").into_response(),
        Ok(Ok(collected)) => collected.to_bytes(),
    };
    // The same check and parse as `push::verify_message`: the
    // signature first, then the message.
    let event = match verify_message(&receiver.credentials, &body, authorization.as_deref()) {
        Ok(verified) => PushEvent::from_message(verified.message),
        Err(PushError::Signature(_)) => {
            return (StatusCode::UNAUTHORIZED, "bad signature").into_response();
        }
        Err(PushError::Malformed(_)) => {
            return (StatusCode::BAD_REQUEST, "not an order message").into_response();
        }
    };
    let message = NewMessage::new(event.dedupe_key(), body.to_vec());
    match receiver.inbox.store_if_absent(message).await {
        Ok(_) => (StatusCode::OK, "success").into_response(),
        Err(e) => {
            tracing::error!(error = %e, "a pushed message could not be stored; PandaPon will send it again");
            (StatusCode::SERVICE_UNAVAILABLE, "not stored").into_response()
        }
    }
}

/// Serves `router` on `listener`, giving each connection `header_timeout`
/// to send a request's headers (and to send the next request's, on a
/// kept-alive connection): a client that holds a connection open without
/// sending is cut off.
///
/// Dropping the future stops accepting connections. Connections already
/// accepted run on their own tasks for as long as the runtime runs: a
/// kept-alive one goes on serving requests, each within `header_timeout`
/// of the last.
///
/// # Errors
///
/// Only when accepting connections fails for good.
pub async fn serve(
    listener: tokio::net::TcpListener,
    router: Router,
    header_timeout: Duration,
) -> std::io::Result<()> {
    use hyper_util::rt::{TokioIo, TokioTimer};
    use hyper_util::service::TowerToHyperService;
    loop {
        let (stream, _) = match listener.accept().await {
            Ok(accepted) => accepted,
            // Too many open files and the like: wait, and accept again.
            Err(e) if is_transient(&e) => {
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
            Err(e) => return Err(e),
        };
        let service = TowerToHyperService::new(router.clone());
        tokio::spawn(async move {
            let _ = hyper::server::conn::http1::Builder::new()
                .timer(TokioTimer::new())
                .header_read_timeout(header_timeout)
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
    }
}

fn is_transient(e: &std::io::Error) -> bool {
    matches!(
        e.kind(),
        std::io::ErrorKind::ConnectionAborted
            | std::io::ErrorKind::ConnectionReset
            | std::io::ErrorKind::Interrupted
            | std::io::ErrorKind::WouldBlock
    ) || e.raw_os_error() == Some(24)
}
