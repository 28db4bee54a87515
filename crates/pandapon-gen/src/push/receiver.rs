//! A receiver for the messages PandaPon pushes: an axum [`Router`] that
//! verifies each message, stores it in an [`Inbox`], and answers 200 only
//! once it is stored; and [`serve`], which runs it with read timeouts, a
//! bound on each connection's buffers and a graceful drain.
//!
//! | answer | when |
//! |---|---|
//! | 200 | stored (or already stored: a duplicate is acknowledged, not stored twice); or a `GET` (the console's check) |
//! | 401 | no `Authorization` header, or not 64 hex digits (refused before the body is read); or a signature that does not verify (either reading of the signed base) |
//! | 400 | the verified body is not an order message |
//! | 413 | a declared `Content-Length` over the limit (refused at once), or a body that grows past it |
//! | 408 | the body did not arrive within the body timeout |
//! | 405 | another method |
//! | 503 | the inbox could not store it (PandaPon will send it again), or the receiver is at its bound on requests or on body bytes in flight |
//!
//! # What a flood can take
//!
//! A request is read only if its `Authorization` header could be a
//! signature; its body is refused at once when it declares more than the
//! body limit; at most [`Receiver::max_requests`] bodies are read at once;
//! and the bytes of all the bodies being read share one budget
//! ([`Receiver::max_body_bytes_in_flight`]), with a reserve only small
//! bodies (PandaPon's messages are a few hundred bytes) may use. A declared
//! length is charged at once, before its bytes arrive; a chunked body as
//! its buffer grows. [`serve`] caps each connection's read buffer. So the
//! memory a flood can take is bounded whatever arrives, and PandaPon's own
//! messages still fit beside a flood that sends its bodies.
//!
//! What the bounds do not stop: no signature can be checked before a body
//! has arrived, so a sender that declares bodies (or holds requests open)
//! and then sends nothing can keep the budget or the request slots taken
//! for up to the body timeout each, at a few dozen requests a second.
//! PandaPon's messages then get 503 and are sent again later; kept up past
//! PandaPon's re-sends, they are lost. Put the receiver behind a proxy that
//! terminates TLS (PandaPon pushes over HTTPS) and buffers request bodies
//! before passing them on, as nginx does by default: then only whole bodies
//! reach it.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use axum::Router;
use axum::extract::{Request, State};
use axum::http::{Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use http_body_util::BodyExt;
use pandapon_auth::Credentials;
use tokio::sync::Semaphore;

use crate::PushEvent;
use crate::push::inbox::{Inbox, NewMessage};
use crate::push::{PushError, verify_message};

/// The default largest body accepted: 1 MiB.
pub const DEFAULT_MAX_BODY_BYTES: usize = 1 << 20;
/// The default time allowed for a request's headers, and for its body.
pub const DEFAULT_READ_TIMEOUT: Duration = Duration::from_secs(5);
/// The default bound on request bodies being read at once.
pub const DEFAULT_MAX_REQUESTS: usize = 1024;
/// The default budget for the bytes of all the bodies being read at once:
/// 32 MiB, with 8 MiB more that only bodies of at most
/// [`SMALL_BODY_BYTES`] may use.
pub const DEFAULT_MAX_BODY_BYTES_IN_FLIGHT: usize = 32 << 20;
/// A body this small (or declared this small) may use the reserve of the
/// body budget: PandaPon's messages are a few hundred bytes.
pub const SMALL_BODY_BYTES: usize = 64 << 10;
/// The reserve of the body budget for small bodies.
const SMALL_RESERVE: usize = 8 << 20;

/// A receiver's settings: the credentials messages are verified with, the
/// inbox they go to, and its bounds.
#[derive(Debug)]
pub struct Receiver<I> {
    credentials: Credentials,
    inbox: I,
    max_body_bytes: usize,
    body_timeout: Duration,
    max_requests: usize,
    budget_bytes: usize,
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
            max_requests: DEFAULT_MAX_REQUESTS,
            budget_bytes: DEFAULT_MAX_BODY_BYTES_IN_FLIGHT,
        }
    }

    /// A receiver verifying with the credentials of the `PANDAPON_*`
    /// environment variables, the ones
    /// [`Client::from_env`](crate::Client::from_env) reads, so that a
    /// program's client and receiver are configured in one place.
    ///
    /// # Errors
    ///
    /// [`ConfigError`](crate::ConfigError) when a variable is missing or
    /// invalid, as for the client.
    pub fn from_env(inbox: I) -> Result<Self, crate::ConfigError> {
        let builder = crate::ClientBuilder::from_env()?;
        Ok(Self::new(builder.credentials().clone(), inbox))
    }

    /// A receiver verifying with `client`'s credentials: the messages
    /// PandaPon pushes about that account's orders.
    pub fn for_client(client: &crate::Client, inbox: I) -> Self {
        Self::new(client.credentials().clone(), inbox)
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

    /// Sets how many bodies may be read at once (503 past it).
    pub fn max_requests(mut self, requests: usize) -> Self {
        self.max_requests = requests.max(1);
        self
    }

    /// Sets the budget for the bytes of all the bodies being read at once
    /// (503 to a body that would pass it). Small bodies (at most
    /// [`SMALL_BODY_BYTES`]) may go 8 MiB past it, so that PandaPon's
    /// messages are still read while large bodies hold the budget.
    pub fn max_body_bytes_in_flight(mut self, bytes: usize) -> Self {
        self.budget_bytes = bytes;
        self
    }

    /// The receiver as an axum [`Router`] answering on every path: serve it
    /// with [`serve`], or nest it in your own app (then give your server a
    /// header read timeout and a bound on its read buffers too).
    pub fn router(self) -> Router {
        let shared = Shared {
            requests: Semaphore::new(self.max_requests),
            in_flight: AtomicUsize::new(0),
            failing: AtomicBool::new(false),
            location: self.inbox.location(),
            receiver: self,
        };
        Router::new()
            .fallback(receive::<I>)
            .with_state(Arc::new(shared))
    }
}

/// A receiver with its shared state.
struct Shared<I> {
    receiver: Receiver<I>,
    /// Bodies being read.
    requests: Semaphore,
    /// Their bytes.
    in_flight: AtomicUsize,
    /// The last store failed: the next success says the inbox is back.
    failing: AtomicBool,
    /// The inbox, for log lines.
    location: String,
}

/// Bytes charged to the shared budget by one body, given back when it is
/// dropped.
struct Charge<'a> {
    in_flight: &'a AtomicUsize,
    bytes: usize,
}

impl Charge<'_> {
    /// Charges `more` bytes if the budget allows: up to `budget`, or up to
    /// `budget` plus the reserve for a small body.
    fn add(&mut self, more: usize, budget: usize, small: bool) -> bool {
        let limit = if small {
            budget.saturating_add(SMALL_RESERVE)
        } else {
            budget
        };
        let charged = self
            .in_flight
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |now| {
                now.checked_add(more).filter(|total| *total <= limit)
            })
            .is_ok();
        if charged {
            self.bytes += more;
        }
        charged
    }
}

impl Drop for Charge<'_> {
    fn drop(&mut self) {
        self.in_flight.fetch_sub(self.bytes, Ordering::AcqRel);
    }
}

/// Whether `value` could be a signature: 64 hex digits (HMAC-SHA256).
fn well_formed(value: &str) -> bool {
    let value = value.trim();
    value.len() == 64 && value.bytes().all(|b| b.is_ascii_hexdigit())
}

/// One pushed message: refuse early, read within the bounds, verify,
/// parse, store, then answer.
async fn receive<I: Inbox>(State(shared): State<Arc<Shared<I>>>, request: Request) -> Response {
    let receiver = &shared.receiver;
    match *request.method() {
        Method::POST => {}
        // The console's check of a new URL.
        Method::GET | Method::HEAD => return (StatusCode::OK, "ok").into_response(),
        _ => return StatusCode::METHOD_NOT_ALLOWED.into_response(),
    }
    let (parts, mut body) = request.into_parts();
    let Some(authorization) = parts
        .headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .filter(|v| well_formed(v))
        .map(str::to_owned)
    else {
        // Refused before a byte of the body is read.
        return (StatusCode::UNAUTHORIZED, "no signature").into_response();
    };
    let declared = parts
        .headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok());
    if declared.is_some_and(|n| n > receiver.max_body_bytes as u64) {
        return (StatusCode::PAYLOAD_TOO_LARGE, "body too large").into_response();
    }
    let Ok(_reading) = shared.requests.try_acquire() else {
        return (StatusCode::SERVICE_UNAVAILABLE, "busy").into_response();
    };
    let mut charge = Charge {
        in_flight: &shared.in_flight,
        bytes: 0,
    };
    // The budget is charged for the memory a body takes, before it takes
    // it: a declared length at once (refused without reading a byte when it
    // does not fit), a chunked body as its buffer grows.
    let mut bytes = Vec::new();
    if let Some(declared) = declared.and_then(|n| usize::try_from(n).ok()) {
        if !charge.add(
            declared,
            receiver.budget_bytes,
            declared <= SMALL_BODY_BYTES,
        ) {
            return (StatusCode::SERVICE_UNAVAILABLE, "busy").into_response();
        }
        bytes.reserve_exact(declared);
    }
    let read = async {
        while let Some(frame) = body.frame().await {
            let Ok(data) = frame.map(|f| f.into_data()) else {
                return Err((StatusCode::BAD_REQUEST, "body unreadable"));
            };
            let Ok(data) = data else { continue };
            let needed = bytes.len() + data.len();
            if needed > receiver.max_body_bytes {
                return Err((StatusCode::PAYLOAD_TOO_LARGE, "body too large"));
            }
            if needed > bytes.capacity() {
                let grown = needed
                    .max(bytes.capacity() * 2)
                    .max(1024)
                    .min(receiver.max_body_bytes);
                let more = grown - bytes.capacity();
                if !charge.add(more, receiver.budget_bytes, grown <= SMALL_BODY_BYTES) {
                    return Err((StatusCode::SERVICE_UNAVAILABLE, "busy"));
                }
                bytes.reserve_exact(grown - bytes.len());
            }
            bytes.extend_from_slice(&data);
        }
        Ok(())
    };
    match tokio::time::timeout(receiver.body_timeout, read).await {
        Err(_) => return (StatusCode::REQUEST_TIMEOUT, "body too slow").into_response(),
        Ok(Err(refusal)) => return refusal.into_response(),
        Ok(Ok(())) => {}
    }
    // The same check and parse as `push::verify_message`: the
    // signature first, then the message.
    let event = match verify_message(&receiver.credentials, &bytes, Some(&authorization)) {
        Ok(verified) => PushEvent::from_message(verified.message),
        Err(PushError::Signature(_)) => {
            return (StatusCode::UNAUTHORIZED, "bad signature").into_response();
        }
        Err(PushError::Malformed(_)) => {
            return (StatusCode::BAD_REQUEST, "not an order message").into_response();
        }
    };
    let message = NewMessage::of_event(&event, bytes);
    drop(charge);
    match receiver.inbox.store_if_absent(message).await {
        Ok(_) => {
            if shared.failing.swap(false, Ordering::AcqRel) {
                tracing::warn!(inbox = %shared.location, "the inbox stores again");
            }
            (StatusCode::OK, "success").into_response()
        }
        Err(e) => {
            shared.failing.store(true, Ordering::Release);
            tracing::error!(
                inbox = %shared.location,
                error = %e,
                "a pushed message could not be stored; answered 503, so PandaPon will send it again"
            );
            (StatusCode::SERVICE_UNAVAILABLE, "not stored").into_response()
        }
    }
}

/// The smallest read buffer hyper allows each connection: 8 KiB of headers
/// and body at a time, however many connections a flood holds open.
const READ_BUFFER: usize = 8 * 1024;

/// The most connections [`serve`] and [`serve_until`] hold open at once;
/// past it they accept no more until one closes (the others wait in the
/// listen backlog). With the header and body timeouts, a connection that
/// sends nothing is closed within seconds, so PandaPon's pushes get their
/// turn.
pub const MAX_CONNECTIONS: usize = 2048;

/// Serves `router` on `listener` until the process ends: [`serve_until`]
/// with a shutdown that never comes.
///
/// # Errors
///
/// Only when accepting connections fails for good.
pub async fn serve(
    listener: tokio::net::TcpListener,
    router: Router,
    header_timeout: Duration,
) -> std::io::Result<()> {
    serve_until(
        listener,
        router,
        header_timeout,
        std::future::pending(),
        Duration::ZERO,
    )
    .await
}

/// Serves `router` on `listener`, giving each connection `header_timeout`
/// to send a request's headers (and to send the next request's, on a
/// kept-alive connection): a client that holds a connection open without
/// sending is cut off. Each connection reads at most 8 KiB at a time, and
/// at most [`MAX_CONNECTIONS`] are open at once.
///
/// When `shutdown` resolves (a SIGTERM in a rolling deploy, say), it stops
/// accepting, lets the requests in flight finish (each connection closes
/// after its current answer), and returns once they have or once `drain`
/// has passed, whichever is first.
///
/// # Errors
///
/// Only when accepting connections fails for good.
pub async fn serve_until(
    listener: tokio::net::TcpListener,
    router: Router,
    header_timeout: Duration,
    shutdown: impl std::future::Future<Output = ()>,
    drain: Duration,
) -> std::io::Result<()> {
    use hyper_util::rt::{TokioIo, TokioTimer};
    use hyper_util::server::graceful::GracefulShutdown;
    use hyper_util::service::TowerToHyperService;
    let graceful = GracefulShutdown::new();
    let open = Arc::new(Semaphore::new(MAX_CONNECTIONS));
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        let accepted = tokio::select! {
            accepted = async {
                let permit = open.clone().acquire_owned().await;
                (permit, listener.accept().await)
            } => accepted,
            () = &mut shutdown => break,
        };
        // The semaphore is never closed: an error here cannot happen.
        let (Ok(permit), accepted) = accepted else {
            break;
        };
        let (stream, _) = match accepted {
            Ok(accepted) => accepted,
            // Too many open files and the like: wait, and accept again.
            Err(e) if is_transient(&e) => {
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
            Err(e) => return Err(e),
        };
        let service = TowerToHyperService::new(router.clone());
        let connection = hyper::server::conn::http1::Builder::new()
            .timer(TokioTimer::new())
            .header_read_timeout(header_timeout)
            .max_buf_size(READ_BUFFER)
            .serve_connection(TokioIo::new(stream), service);
        let watched = graceful.watch(connection);
        tokio::spawn(async move {
            let _ = watched.await;
            drop(permit);
        });
    }
    drop(listener);
    let _ = tokio::time::timeout(drain, graceful.shutdown()).await;
    Ok(())
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_signature_is_64_hex_digits() {
        assert!(well_formed(&"a1".repeat(32)));
        assert!(well_formed(&format!(" {} ", "AF".repeat(32))));
        assert!(!well_formed(&"a1".repeat(31)));
        assert!(!well_formed(&"zz".repeat(32)));
        assert!(!well_formed(""));
    }

    #[test]
    fn the_budget_refuses_past_its_bound_and_keeps_a_reserve_for_small_bodies() {
        let in_flight = AtomicUsize::new(0);
        let mut large = Charge {
            in_flight: &in_flight,
            bytes: 0,
        };
        assert!(large.add(1000, 1000, false));
        assert!(!large.add(1, 1000, false), "over the budget");
        let mut small = Charge {
            in_flight: &in_flight,
            bytes: 0,
        };
        assert!(small.add(500, 1000, true), "the reserve");
        assert_eq!(in_flight.load(Ordering::Acquire), 1500);
        drop(large);
        drop(small);
        assert_eq!(in_flight.load(Ordering::Acquire), 0, "given back");
    }
}
