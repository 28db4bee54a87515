//! The faults the fake injects: a plan decides one for each request
//! ([`Arrival`]), and a [`Fault`] fails it in place of an answer or shapes
//! how the answer's body is sent ([`Scripted`]).

use std::collections::VecDeque;
use std::io;
use std::ops::ControlFlow;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use hyper::{Response, StatusCode};
use serde_json::Value;

use crate::business_error;

/// A failure the fake injects into a request, after reading it whole.
///
/// More kinds may be added: match with a wildcard arm.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Fault {
    /// Answer with this HTTP status and an HTML body, as a proxy would;
    /// with `Some(secs)`, also send `Retry-After: secs`.
    Status(u16, Option<u64>),
    /// Wait this long, then answer normally (to outlast a client's timeout).
    Delay(Duration),
    /// Answer a signed request with this business error (code, msg) inside
    /// HTTP 200, as PandaPon refuses a call.
    Business(i64, String),
    /// Close the connection without answering: a reset before the response
    /// starts.
    Reset,
    /// Send the status, the headers (with the full `Content-Length`) and
    /// half of the success answer, then close the connection: a reset after
    /// the response started.
    Truncate,
    /// Answer HTTP 200 with a body that is cut-off JSON.
    Malformed,
    /// Answer HTTP 200 with a body of this many bytes (the start of an
    /// envelope, then padding), declaring its `Content-Length` or not.
    Oversized {
        /// Body size in bytes.
        bytes: usize,
        /// Whether the headers carry `Content-Length`.
        declared: bool,
    },
    /// Send the headers and half of the success answer, go silent this long,
    /// then send the rest.
    Stall(Duration),
    /// Send the success answer in small pieces spread evenly over this long.
    Slow(Duration),
    /// Answer with this HTTP status and exactly these body bytes, whatever
    /// the request: an envelope inside a gateway's 504, an empty 200, a body
    /// no client should trust.
    Answer(u16, Bytes),
}

/// A request as a fault plan sees it ([`FakeBuilder::plan`](crate::FakeBuilder::plan)).
#[derive(Debug)]
#[non_exhaustive]
pub struct Arrival<'a> {
    /// The method, upper case.
    pub method: &'a str,
    /// The path.
    pub path: &'a str,
    /// The query string, if any.
    pub query: Option<&'a str>,
    /// The request body.
    pub body: &'a [u8],
}

/// Decides the fault (if any) for each request.
pub(super) type Plan = Box<dyn Fn(&Arrival<'_>) -> Option<Fault> + Send + Sync>;

/// One step of a scripted response body.
enum Step {
    Data(Bytes),
    Pause(Duration),
    Fail,
}

/// A response body sent as scripted: pieces, pauses and a failure that
/// makes the server drop the connection.
pub(crate) struct Scripted {
    steps: VecDeque<Step>,
    sleep: Option<Pin<Box<tokio::time::Sleep>>>,
}

impl Scripted {
    fn new(steps: impl IntoIterator<Item = Step>) -> Self {
        Self {
            steps: steps.into_iter().collect(),
            sleep: None,
        }
    }

    pub(super) fn full(bytes: impl Into<Bytes>) -> Self {
        Self::new([Step::Data(bytes.into())])
    }
}

impl hyper::body::Body for Scripted {
    type Data = Bytes;
    type Error = io::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<hyper::body::Frame<Bytes>, io::Error>>> {
        loop {
            if let Some(sleep) = self.sleep.as_mut() {
                std::task::ready!(sleep.as_mut().poll(cx));
                self.sleep = None;
            }
            match self.steps.pop_front() {
                None => return Poll::Ready(None),
                Some(Step::Data(bytes)) => {
                    return Poll::Ready(Some(Ok(hyper::body::Frame::data(bytes))));
                }
                Some(Step::Pause(pause)) => {
                    self.sleep = Some(Box::pin(tokio::time::sleep(pause)));
                }
                Some(Step::Fail) => {
                    return Poll::Ready(Some(Err(io::Error::other(
                        "connection reset by the fake",
                    ))));
                }
            }
        }
    }

    /// Exact for a whole answer, so that hyper sends `Content-Length` as
    /// for any plain body (a scripted one gets chunked encoding, or the
    /// header its fault sets).
    fn size_hint(&self) -> hyper::body::SizeHint {
        match (self.steps.front(), self.steps.len()) {
            (None, _) => hyper::body::SizeHint::with_exact(0),
            (Some(Step::Data(bytes)), 1) => hyper::body::SizeHint::with_exact(bytes.len() as u64),
            _ => hyper::body::SizeHint::default(),
        }
    }

    fn is_end_stream(&self) -> bool {
        self.steps.is_empty() && self.sleep.is_none()
    }
}

pub(super) fn reply(status: StatusCode, body: &Value) -> Response<Scripted> {
    scripted(status, Scripted::full(body.to_string()), None)
}

pub(super) fn scripted(
    status: StatusCode,
    body: Scripted,
    length: Option<usize>,
) -> Response<Scripted> {
    let mut response = Response::new(body);
    *response.status_mut() = status;
    let headers = response.headers_mut();
    headers.insert(
        http::header::CONTENT_TYPE,
        http::HeaderValue::from_static("application/json"),
    );
    if let Some(length) = length {
        headers.insert(
            http::header::CONTENT_LENGTH,
            http::HeaderValue::from(length),
        );
    }
    response
}

/// The success answer, sent as `fault` says (a body fault, or whole).
pub(super) fn deliver(answer: &Value, fault: Option<&Fault>) -> Response<Scripted> {
    let bytes = Bytes::from(answer.to_string());
    let half = bytes.len() / 2;
    let (body, length) = match fault {
        Some(Fault::Truncate) => (
            Scripted::new([Step::Data(bytes.slice(..half)), Step::Fail]),
            Some(bytes.len()),
        ),
        Some(Fault::Stall(pause)) => (
            Scripted::new([
                Step::Data(bytes.slice(..half)),
                Step::Pause(*pause),
                Step::Data(bytes.slice(half..)),
            ]),
            Some(bytes.len()),
        ),
        Some(Fault::Slow(over)) => {
            let pieces = bytes.len().div_ceil(16).max(1);
            let pause = *over / u32::try_from(pieces).unwrap_or(u32::MAX);
            let steps = (0..pieces).flat_map(|i| {
                let piece = bytes.slice(i * 16..((i + 1) * 16).min(bytes.len()));
                [Step::Pause(pause), Step::Data(piece)]
            });
            (Scripted::new(steps), Some(bytes.len()))
        }
        _ => (Scripted::full(bytes), None),
    };
    scripted(StatusCode::OK, body, length)
}

/// A 200 answer of `size` bytes: an envelope's start, then padding.
pub(super) fn oversized(size: usize, declared: bool) -> Response<Scripted> {
    const PIECE: usize = 64 * 1024;
    let head = Bytes::from_static(br#"{"code":200,"msg":"","data":""#);
    let pad = Bytes::from(vec![b'x'; PIECE]);
    let mut steps = vec![Step::Data(head.clone())];
    let mut left = size.saturating_sub(head.len());
    while left > 0 {
        let n = left.min(PIECE);
        steps.push(Step::Data(pad.slice(..n)));
        left -= n;
    }
    scripted(
        StatusCode::OK,
        Scripted::new(steps),
        declared.then_some(size),
    )
}

/// Fails the request as `fault` says, in place of any answer (`Break`: an
/// error makes hyper close the connection unanswered), or lets it through
/// (`Continue`), after a delay or with a body fault left to [`deliver`].
/// A business error only refuses a signed request.
pub(super) async fn inject(
    fault: Option<&Fault>,
    signed: bool,
) -> ControlFlow<Result<Response<Scripted>, io::Error>> {
    let response = match fault {
        None | Some(Fault::Truncate | Fault::Stall(_) | Fault::Slow(_)) => {
            return ControlFlow::Continue(());
        }
        Some(Fault::Business(..)) if !signed => return ControlFlow::Continue(()),
        Some(Fault::Delay(pause)) => {
            tokio::time::sleep(*pause).await;
            return ControlFlow::Continue(());
        }
        Some(Fault::Reset) => {
            return ControlFlow::Break(Err(io::Error::other("reset by the fake")));
        }
        Some(Fault::Status(status, retry_after)) => proxy_error(*status, *retry_after),
        Some(Fault::Business(code, msg)) => reply(StatusCode::OK, &business_error(*code, msg)),
        Some(Fault::Malformed) => {
            let body = Scripted::full(&br#"{"code":200,"msg":"","data":{"#[..]);
            scripted(StatusCode::OK, body, None)
        }
        Some(Fault::Oversized { bytes, declared }) => oversized(*bytes, *declared),
        Some(Fault::Answer(status, body)) => {
            let status = StatusCode::from_u16(*status).unwrap_or(StatusCode::OK);
            scripted(status, Scripted::full(body.clone()), None)
        }
    };
    ControlFlow::Break(Ok(response))
}

/// A proxy's error page: `status` (503 if invalid) with an HTML body and,
/// with `Some(secs)`, `Retry-After: secs`.
pub(super) fn proxy_error(status: u16, retry_after: Option<u64>) -> Response<Scripted> {
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::SERVICE_UNAVAILABLE);
    let mut response = Response::new(Scripted::full(format!(
        "<html><body><h1>{status}</h1>injected by the fake</body></html>"
    )));
    *response.status_mut() = status;
    if let Some(secs) = retry_after {
        response
            .headers_mut()
            .insert(http::header::RETRY_AFTER, http::HeaderValue::from(secs));
    }
    response
}
