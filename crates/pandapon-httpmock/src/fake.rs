//! A fake PandaPon: a local HTTP server that checks signatures like PandaPon
//! and answers every operation of the spec with its documented example.

use std::collections::VecDeque;
use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Limited};
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use serde_json::{Value, json};
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use crate::generated::EXAMPLES;
use crate::push::{Pushed, Pusher};
use crate::{REQUEST_ID, SIGNATURE_ERROR_CODE, SignatureCheck, business_error, success};

/// Largest request body the fake reads.
const BODY_LIMIT: usize = 1 << 20;

/// One operation as the fake serves it (see [`routes`]).
#[derive(Debug, Clone, Copy)]
pub struct Route {
    /// The operationId.
    pub operation_id: &'static str,
    /// The HTTP method, upper case.
    pub method: &'static str,
    /// The path template, with `{name}` for path parameters.
    pub path: &'static str,
    /// Whether the call carries `timestamp` and `sign` query parameters.
    pub query_signed: bool,
    /// The first documented response example, as JSON text.
    pub example: Option<&'static str>,
}

/// Every operation of the spec as the fake serves it: method, path and query
/// signing from `pandapon_gen::OPERATIONS`, with its documented example.
pub fn routes() -> Vec<Route> {
    pandapon_gen::OPERATIONS
        .iter()
        .map(|op| Route {
            operation_id: op.id,
            method: op.method,
            path: op.path,
            query_signed: op.query_signed,
            example: EXAMPLES
                .binary_search_by(|(id, _)| id.cmp(&op.id))
                .ok()
                .map(|i| EXAMPLES[i].1),
        })
        .collect()
}

impl Route {
    fn matches(&self, method: &str, path: &str) -> bool {
        if self.method != method {
            return false;
        }
        let mut want = self.path.split('/');
        let mut got = path.split('/');
        loop {
            match (want.next(), got.next()) {
                (None, None) => return true,
                (Some(w), Some(g)) if w.starts_with('{') && !g.is_empty() => {}
                (Some(w), Some(g)) if w == g => {}
                _ => return false,
            }
        }
    }

    /// The success answer: the documented example with `code` 200 (examples
    /// that are placeholders carry 0), or an empty success envelope.
    pub fn answer(&self) -> Value {
        let Some(mut example) = self
            .example
            .and_then(|t| serde_json::from_str::<Value>(t).ok())
        else {
            return success(json!({}));
        };
        if let Some(envelope) = example.as_object_mut() {
            envelope.insert("code".into(), json!(200));
            envelope.insert("msg".into(), json!("成功"));
            if envelope.contains_key("requestId") {
                envelope.insert("requestId".into(), json!(REQUEST_ID));
            }
        }
        example
    }
}

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

/// A request as a fault plan sees it ([`FakePandaPon::start_with_plan`]).
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
type Plan = Box<dyn Fn(&Arrival<'_>) -> Option<Fault> + Send + Sync>;

struct State {
    check: SignatureCheck,
    plan: Plan,
    /// The spec's routes, then the extra ones.
    routes: Vec<Route>,
    /// Where to push order messages after state-changing calls, if anywhere.
    push: Option<Pusher>,
}

/// A running fake PandaPon. It stops when dropped.
///
/// Every operation in `openapi/pandapon.yaml` is served on its method and
/// path. A request must carry a valid signature for the fake's credentials
/// (and, for the warehouse-logistics operations, `timestamp` and `sign` query
/// parameters equal to the header timestamp and signature, the SDK's default
/// rule); otherwise the answer is a business error with code
/// [`SIGNATURE_ERROR_CODE`] and the reason in `msg`. A POST body must be
/// JSON. Unknown routes get HTTP 404 with an error envelope.
#[derive(Debug)]
pub struct FakePandaPon {
    addr: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    task: JoinHandle<()>,
    connections: Arc<std::sync::atomic::AtomicUsize>,
    pushes: Option<Pusher>,
}

impl FakePandaPon {
    /// Listens on `addr` (port 0 picks a free port) and serves until dropped
    /// or [`stopped`](Self::stop).
    pub async fn start(addr: SocketAddr, check: SignatureCheck) -> io::Result<Self> {
        Self::start_with_faults(addr, check, Vec::new()).await
    }

    /// Like [`start`](Self::start), failing the first requests as `faults`
    /// says, one fault per request, in order. Every request, faulty or not,
    /// is logged by the signature check (see [`SignatureCheck::seen`]).
    pub async fn start_with_faults(
        addr: SocketAddr,
        check: SignatureCheck,
        faults: Vec<Fault>,
    ) -> io::Result<Self> {
        Self::start_with_routes(addr, check, faults, Vec::new()).await
    }

    /// Like [`start_with_faults`](Self::start_with_faults), also serving
    /// `extra` routes the spec does not have (for calls made with
    /// `pandapon_gen::Client::request`), checked and answered as the spec's.
    pub async fn start_with_routes(
        addr: SocketAddr,
        check: SignatureCheck,
        faults: Vec<Fault>,
        extra: Vec<Route>,
    ) -> io::Result<Self> {
        let faults = Mutex::new(VecDeque::from(faults));
        let plan = move |_: &Arrival<'_>| {
            faults
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .pop_front()
        };
        Self::start_with_plan(addr, check, plan, extra).await
    }

    /// Like [`start_with_routes`](Self::start_with_routes), asking `plan`
    /// for each request's fault (`None`: answer normally). The plan sees
    /// the request whole, so a test can pick faults per call, for example
    /// by an id in the body, at random with a fixed seed.
    pub async fn start_with_plan(
        addr: SocketAddr,
        check: SignatureCheck,
        plan: impl Fn(&Arrival<'_>) -> Option<Fault> + Send + Sync + 'static,
        extra: Vec<Route>,
    ) -> io::Result<Self> {
        Self::builder(check)
            .plan(plan)
            .routes(extra)
            .start(addr)
            .await
    }

    /// A fake to set up step by step: its signature check, then faults or
    /// a plan, extra routes and a URL to push order messages to, then
    /// [`FakeBuilder::start`].
    pub fn builder(check: SignatureCheck) -> FakeBuilder {
        FakeBuilder {
            check,
            plan: Box::new(|_: &Arrival<'_>| None),
            routes: Vec::new(),
            push_to: None,
        }
    }

    async fn launch(builder: FakeBuilder, addr: SocketAddr) -> io::Result<Self> {
        let FakeBuilder {
            check,
            plan,
            routes: extra,
            push_to,
        } = builder;
        let listener = TcpListener::bind(addr).await?;
        let addr = listener.local_addr()?;
        let (stop, mut stopped) = oneshot::channel();
        let push = push_to.map(|url| Pusher::new(url, check.credentials().clone()));
        let pushes = push.clone();
        let check = Arc::new(State {
            check,
            plan,
            routes: routes().into_iter().chain(extra).collect(),
            push,
        });
        let connections = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let accepted_count = connections.clone();
        let task = tokio::spawn(async move {
            loop {
                tokio::select! {
                    _ = &mut stopped => break,
                    accepted = listener.accept() => {
                        let Ok((stream, _)) = accepted else { continue };
                        accepted_count.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                        let check = check.clone();
                        tokio::spawn(async move {
                            let service = service_fn(move |req| answer(check.clone(), req));
                            // A client hanging up mid-request is its own business.
                            let _ = http1::Builder::new()
                                .serve_connection(TokioIo::new(stream), service)
                                .await;
                        });
                    }
                }
            }
        });
        Ok(Self {
            addr,
            stop: Some(stop),
            task,
            connections,
            pushes,
        })
    }

    /// The address it listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The order messages it has pushed so far (see
    /// [`FakeBuilder::push_to`]), in the order they finished.
    pub fn pushed(&self) -> Vec<Pushed> {
        self.pushes.as_ref().map_or_else(Vec::new, |p| {
            p.log
                .0
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .clone()
        })
    }

    /// Waits until at least `count` pushes have finished (answered or
    /// failed); returns them. Wrap it in a timeout: with no push URL, or
    /// fewer pushes made, it waits for ever.
    pub async fn wait_for_pushes(&self, count: usize) -> Vec<Pushed> {
        let Some(pusher) = &self.pushes else {
            return std::future::pending().await;
        };
        let (log, notify) = &*pusher.log;
        loop {
            let notified = notify.notified();
            {
                let done = log.lock().unwrap_or_else(PoisonError::into_inner);
                if done.len() >= count {
                    return done.clone();
                }
            }
            notified.await;
        }
    }

    /// How many connections it has accepted: with keep-alive, a client that
    /// reuses its connections opens few.
    pub fn connections(&self) -> usize {
        self.connections.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// `http://<addr>`, for `ClientBuilder::base_url`.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Stops accepting connections and waits for the accept loop to end.
    pub async fn stop(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        let _ = (&mut self.task).await;
    }
}

/// Sets up a [`FakePandaPon`] ([`FakePandaPon::builder`]).
pub struct FakeBuilder {
    check: SignatureCheck,
    plan: Plan,
    routes: Vec<Route>,
    push_to: Option<String>,
}

impl std::fmt::Debug for FakeBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FakeBuilder")
            .field("check", &self.check)
            .field("routes", &self.routes.len())
            .field("push_to", &self.push_to)
            .finish()
    }
}

impl FakeBuilder {
    /// Fails the first requests as `faults` says, one fault per request, in
    /// order (replacing any plan).
    pub fn faults(mut self, faults: Vec<Fault>) -> Self {
        let faults = Mutex::new(VecDeque::from(faults));
        self.plan = Box::new(move |_: &Arrival<'_>| {
            faults
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .pop_front()
        });
        self
    }

    /// Asks `plan` for each request's fault (replacing any faults).
    pub fn plan(
        mut self,
        plan: impl Fn(&Arrival<'_>) -> Option<Fault> + Send + Sync + 'static,
    ) -> Self {
        self.plan = Box::new(plan);
        self
    }

    /// Also serves `extra` routes the spec does not have.
    pub fn routes(mut self, extra: Vec<Route>) -> Self {
        self.routes = extra;
        self
    }

    /// After each state-changing call it answers normally (an order
    /// created, cancelled or paid), POSTs the matching order message to
    /// `url`, signed as PandaPon signs them ([`pushes`](crate::pushes) says which).
    pub fn push_to(mut self, url: impl Into<String>) -> Self {
        self.push_to = Some(url.into());
        self
    }

    /// Listens on `addr` (port 0 picks a free port) and serves until
    /// dropped or stopped.
    pub async fn start(self, addr: SocketAddr) -> io::Result<FakePandaPon> {
        FakePandaPon::launch(self, addr).await
    }
}

impl Drop for FakePandaPon {
    fn drop(&mut self) {
        self.task.abort();
    }
}

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

    fn full(bytes: impl Into<Bytes>) -> Self {
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

fn reply(status: StatusCode, body: &Value) -> Response<Scripted> {
    scripted(status, Scripted::full(body.to_string()), None)
}

fn scripted(status: StatusCode, body: Scripted, length: Option<usize>) -> Response<Scripted> {
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
fn deliver(answer: &Value, fault: Option<Fault>) -> Response<Scripted> {
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
                Step::Pause(pause),
                Step::Data(bytes.slice(half..)),
            ]),
            Some(bytes.len()),
        ),
        Some(Fault::Slow(over)) => {
            let pieces = bytes.len().div_ceil(16).max(1);
            let pause = over / u32::try_from(pieces).unwrap_or(u32::MAX);
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
fn oversized(size: usize, declared: bool) -> Response<Scripted> {
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

/// Why the warehouse-logistics query does not match the headers, if it does not.
fn query_mismatch(query: Option<&str>, headers: &http::HeaderMap) -> Option<&'static str> {
    let pairs: Vec<(String, String)> = query
        .map(|q| {
            q.split('&')
                .filter_map(|kv| kv.split_once('='))
                .map(|(k, v)| (k.to_owned(), v.to_owned()))
                .collect()
        })
        .unwrap_or_default();
    let get = |name: &str| {
        pairs
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    };
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    if get("timestamp").is_none() || get("sign").is_none() {
        return Some("query parameters timestamp and sign are required");
    }
    if get("timestamp") != header("timestamp") || get("sign") != header("signature") {
        return Some("query timestamp/sign do not match the signed headers");
    }
    None
}

async fn answer(
    state: Arc<State>,
    request: Request<Incoming>,
) -> Result<Response<Scripted>, io::Error> {
    let (parts, body) = request.into_parts();
    let path = parts.uri.path().to_owned();
    let verdict = state.check.check_headers(&path, &parts.headers);
    let bytes = match Limited::new(body, BODY_LIMIT).collect().await {
        Ok(collected) => collected.to_bytes(),
        Err(_) => {
            let msg = "request body unreadable or over 1 MiB";
            return Ok(reply(StatusCode::BAD_REQUEST, &business_error(400, msg)));
        }
    };
    let fault = (state.plan)(&Arrival {
        method: parts.method.as_str(),
        path: &path,
        query: parts.uri.query(),
        body: &bytes,
    });
    match &fault {
        Some(Fault::Status(status, retry_after)) => {
            let status = StatusCode::from_u16(*status).unwrap_or(StatusCode::SERVICE_UNAVAILABLE);
            let mut response = Response::new(Scripted::full(format!(
                "<html><body><h1>{status}</h1>injected by the fake</body></html>"
            )));
            *response.status_mut() = status;
            if let Some(secs) = retry_after {
                response
                    .headers_mut()
                    .insert(http::header::RETRY_AFTER, http::HeaderValue::from(*secs));
            }
            return Ok(response);
        }
        Some(Fault::Delay(pause)) => tokio::time::sleep(*pause).await,
        Some(Fault::Business(code, msg)) if verdict.is_ok() => {
            return Ok(reply(StatusCode::OK, &business_error(*code, msg)));
        }
        // An error from the service makes hyper close the connection
        // without an answer.
        Some(Fault::Reset) => return Err(io::Error::other("reset by the fake")),
        Some(Fault::Malformed) => {
            let body = Scripted::full(&br#"{"code":200,"msg":"","data":{"#[..]);
            return Ok(scripted(StatusCode::OK, body, None));
        }
        Some(Fault::Oversized { bytes, declared }) => return Ok(oversized(*bytes, *declared)),
        Some(Fault::Answer(status, body)) => {
            let status = StatusCode::from_u16(*status).unwrap_or(StatusCode::OK);
            return Ok(scripted(status, Scripted::full(body.clone()), None));
        }
        _ => {}
    }
    let Some(route) = state
        .routes
        .iter()
        .find(|r| r.matches(parts.method.as_str(), &path))
    else {
        let msg = format!("no operation at {} {path}", parts.method);
        return Ok(reply(StatusCode::NOT_FOUND, &business_error(404, &msg)));
    };
    if let Err(why) = verdict {
        let msg = format!("signature verification failed: {why}");
        return Ok(reply(
            StatusCode::OK,
            &business_error(SIGNATURE_ERROR_CODE, &msg),
        ));
    }
    if route.query_signed
        && let Some(why) = query_mismatch(parts.uri.query(), &parts.headers)
    {
        return Ok(reply(
            StatusCode::OK,
            &business_error(SIGNATURE_ERROR_CODE, why),
        ));
    }
    let request_json = serde_json::from_slice::<Value>(&bytes);
    if route.method == "POST" && request_json.is_err() {
        return Ok(reply(
            StatusCode::OK,
            &business_error(400, "request body is not JSON"),
        ));
    }
    // The call took effect: push what PandaPon would push after it.
    if let Some(pusher) = &state.push {
        pusher.after(route.operation_id, &request_json.unwrap_or(Value::Null));
    }
    Ok(deliver(&route.answer(), fault))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes_match_templates_segment_by_segment() {
        let route = routes()
            .into_iter()
            .find(|r| r.operation_id == "taobao_refund_cancel")
            .expect("route");
        assert!(route.matches("GET", "/v2/taobao/order/refund/cancel/110000235001"));
        assert!(!route.matches("GET", "/v2/taobao/order/refund/cancel/"));
        assert!(!route.matches("GET", "/v2/taobao/order/refund/cancel/1/2"));
        assert!(!route.matches("POST", "/v2/taobao/order/refund/cancel/1"));
    }

    #[test]
    fn every_route_answers_a_success_envelope() {
        assert_eq!(routes().len(), 42);
        for route in routes() {
            let answer = route.answer();
            assert_eq!(answer["code"], 200, "{}", route.operation_id);
        }
    }
}
