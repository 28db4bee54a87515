//! A fake PandaPon: a local HTTP server that checks signatures like PandaPon
//! and answers every operation of the spec with its documented example.

use std::collections::VecDeque;
use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::ops::ControlFlow;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
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
use pandapon_auth::VerifyError;
use pandapon_gen::Operation;
use serde_json::{Value, json};
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use crate::generated::EXAMPLES;
use crate::push::{Pushed, Pusher};
use crate::{REQUEST_ID, SIGNATURE_ERROR_CODE, SignatureCheck, business_error, success};

/// Largest request body the fake reads.
const BODY_LIMIT: usize = 1 << 20;

/// One route the fake serves: an operation of the spec ([`routes`],
/// [`Route::of`]) or a path the spec does not have ([`Route::extra`]),
/// answered with its example.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Route {
    serves: Serves,
    example: Option<&'static str>,
}

/// What a route serves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Serves {
    /// An operation of the spec, from `pandapon_gen::OPERATIONS`.
    Operation(&'static Operation),
    /// A path the spec does not have.
    Extra {
        method: &'static str,
        path: &'static str,
    },
}

/// Every operation of the spec as the fake serves it, in the order of
/// `pandapon_gen::OPERATIONS`, each with its documented example.
pub fn routes() -> Vec<Route> {
    pandapon_gen::OPERATIONS.iter().map(Route::of).collect()
}

impl Route {
    /// The route of one of the spec's operations, answered with its
    /// documented example: `Route::of(pandapon_gen::operation(id)?)`.
    pub fn of(operation: &'static Operation) -> Self {
        let example = EXAMPLES
            .binary_search_by(|(id, _)| id.cmp(&operation.id))
            .ok()
            .map(|i| EXAMPLES[i].1);
        Self {
            serves: Serves::Operation(operation),
            example,
        }
    }

    /// A route for a path the spec does not have, as
    /// `pandapon_gen::Client::request` calls it: `method` upper case,
    /// `path` a template like the spec's (`{name}` matches one non-empty
    /// segment), `example` the JSON text it answers with (`None`: an empty
    /// success envelope). It is checked like the spec's routes, with the
    /// `timestamp` and `sign` query parameters too where the client sends
    /// them (`pandapon_gen::is_query_signed_path`), and never pushes.
    pub const fn extra(
        method: &'static str,
        path: &'static str,
        example: Option<&'static str>,
    ) -> Self {
        Self {
            serves: Serves::Extra { method, path },
            example,
        }
    }

    /// The spec's operation it serves; `None` for an extra route.
    pub fn operation(&self) -> Option<&'static Operation> {
        match self.serves {
            Serves::Operation(operation) => Some(operation),
            Serves::Extra { .. } => None,
        }
    }

    /// The HTTP method, upper case.
    pub fn method(&self) -> &'static str {
        match self.serves {
            Serves::Operation(operation) => operation.method,
            Serves::Extra { method, .. } => method,
        }
    }

    /// The path template, with `{name}` for path parameters.
    pub fn path(&self) -> &'static str {
        match self.serves {
            Serves::Operation(operation) => operation.path,
            Serves::Extra { path, .. } => path,
        }
    }

    /// Whether a call must also carry `timestamp` and `sign` query
    /// parameters equal to the signed headers.
    pub fn query_signed(&self) -> bool {
        match self.serves {
            Serves::Operation(operation) => operation.query_signed,
            Serves::Extra { path, .. } => pandapon_gen::is_query_signed_path(path),
        }
    }

    /// The example it answers with, as JSON text.
    pub fn example(&self) -> Option<&'static str> {
        self.example
    }

    fn matches(&self, method: &str, path: &str) -> bool {
        if !self.method().eq_ignore_ascii_case(method) {
            return false;
        }
        let mut want = self.path().split('/');
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

    /// The success answer: the example with `code` 200 (examples that are
    /// placeholders carry 0), or an empty success envelope.
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

/// A request as a fault plan sees it ([`FakeBuilder::plan`]).
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
///
/// Set one up with [`FakePandaPon::builder`] (faults, a fault plan, extra
/// routes, a push URL), or [`FakePandaPon::start`] for none of these.
#[derive(Debug)]
pub struct FakePandaPon {
    addr: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    task: JoinHandle<()>,
    connections: Arc<AtomicUsize>,
    pushes: Option<Pusher>,
}

impl FakePandaPon {
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

    /// Listens on `addr` (port 0 picks a free port) and serves until dropped
    /// or [`stopped`](Self::stop): `builder(check).start(addr)`.
    ///
    /// # Errors
    ///
    /// When `addr` cannot be bound.
    pub async fn start(addr: SocketAddr, check: SignatureCheck) -> io::Result<Self> {
        Self::builder(check).start(addr).await
    }

    /// `builder(check).faults(faults).start(addr)`.
    ///
    /// # Errors
    ///
    /// When `addr` cannot be bound.
    #[deprecated(
        since = "0.1.0",
        note = "use FakePandaPon::builder(check).faults(faults).start(addr)"
    )]
    #[doc(hidden)]
    pub async fn start_with_faults(
        addr: SocketAddr,
        check: SignatureCheck,
        faults: Vec<Fault>,
    ) -> io::Result<Self> {
        Self::builder(check).faults(faults).start(addr).await
    }

    /// `builder(check).faults(faults).routes(extra).start(addr)`.
    ///
    /// # Errors
    ///
    /// When `addr` cannot be bound.
    #[deprecated(
        since = "0.1.0",
        note = "use FakePandaPon::builder(check).faults(faults).routes(extra).start(addr)"
    )]
    #[doc(hidden)]
    pub async fn start_with_routes(
        addr: SocketAddr,
        check: SignatureCheck,
        faults: Vec<Fault>,
        extra: Vec<Route>,
    ) -> io::Result<Self> {
        Self::builder(check)
            .faults(faults)
            .routes(extra)
            .start(addr)
            .await
    }

    /// `builder(check).plan(plan).routes(extra).start(addr)`.
    ///
    /// # Errors
    ///
    /// When `addr` cannot be bound.
    #[deprecated(
        since = "0.1.0",
        note = "use FakePandaPon::builder(check).plan(plan).routes(extra).start(addr)"
    )]
    #[doc(hidden)]
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
        self.connections.load(Ordering::Relaxed)
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

impl Drop for FakePandaPon {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Sets up a [`FakePandaPon`]: [`FakePandaPon::builder`] with its signature
/// check, then any of [`faults`](Self::faults) or [`plan`](Self::plan),
/// [`routes`](Self::routes) and [`push_to`](Self::push_to), then
/// [`start`](Self::start).
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
            .field("routes", &self.routes)
            .field("push_to", &self.push_to)
            .finish_non_exhaustive()
    }
}

impl FakeBuilder {
    /// Fails the first requests as `faults` says, one fault per request, in
    /// order, then answers normally (replacing any plan). Every request,
    /// faulty or not, is logged by the signature check (see
    /// [`SignatureCheck::seen`]).
    pub fn faults(mut self, faults: impl IntoIterator<Item = Fault>) -> Self {
        let faults = Mutex::new(faults.into_iter().collect::<VecDeque<_>>());
        self.plan = Box::new(move |_: &Arrival<'_>| {
            faults
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .pop_front()
        });
        self
    }

    /// Asks `plan` for each request's fault, `None` to answer normally
    /// (replacing any faults). The plan sees the request whole, so a test
    /// can pick faults per call, for example by an id in the body, at
    /// random with a fixed seed.
    pub fn plan(
        mut self,
        plan: impl Fn(&Arrival<'_>) -> Option<Fault> + Send + Sync + 'static,
    ) -> Self {
        self.plan = Box::new(plan);
        self
    }

    /// Also serves `extra` routes, usually paths the spec does not have
    /// ([`Route::extra`]), checked and answered as the spec's. The spec's
    /// routes come first: a request both match gets the spec's answer.
    pub fn routes(mut self, extra: impl IntoIterator<Item = Route>) -> Self {
        self.routes.extend(extra);
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
    /// dropped or [stopped](FakePandaPon::stop).
    ///
    /// # Errors
    ///
    /// When `addr` cannot be bound.
    pub async fn start(self, addr: SocketAddr) -> io::Result<FakePandaPon> {
        let listener = TcpListener::bind(addr).await?;
        let addr = listener.local_addr()?;
        let push = self
            .push_to
            .map(|url| Pusher::new(url, self.check.credentials().clone()));
        let pushes = push.clone();
        let state = Arc::new(State {
            check: self.check,
            plan: self.plan,
            routes: routes().into_iter().chain(self.routes).collect(),
            push,
        });
        let connections = Arc::new(AtomicUsize::new(0));
        let (stop, stopped) = oneshot::channel();
        let task = tokio::spawn(accept(listener, state, connections.clone(), stopped));
        Ok(FakePandaPon {
            addr,
            stop: Some(stop),
            task,
            connections,
            pushes,
        })
    }
}

/// Serves each connection `listener` accepts, counting them, until `stopped`.
async fn accept(
    listener: TcpListener,
    state: Arc<State>,
    connections: Arc<AtomicUsize>,
    mut stopped: oneshot::Receiver<()>,
) {
    loop {
        tokio::select! {
            _ = &mut stopped => break,
            accepted = listener.accept() => {
                let Ok((stream, _)) = accepted else { continue };
                connections.fetch_add(1, Ordering::Relaxed);
                let state = state.clone();
                tokio::spawn(async move {
                    let service = service_fn(move |req| answer(state.clone(), req));
                    // A client hanging up mid-request is its own business.
                    let _ = http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
        }
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
fn deliver(answer: &Value, fault: Option<&Fault>) -> Response<Scripted> {
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

/// Why the warehouse-logistics query does not match the headers, if it
/// does not: its `timestamp` and `sign`, percent-decoded, must equal the
/// `timestamp` and `signature` headers.
fn query_mismatch(query: Option<&str>, headers: &http::HeaderMap) -> Option<&'static str> {
    let param = |name: &str| {
        form_urlencoded::parse(query.unwrap_or_default().as_bytes())
            .find(|(key, _)| key == name)
            .map(|(_, value)| value)
    };
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    let (Some(timestamp), Some(sign)) = (param("timestamp"), param("sign")) else {
        return Some("query parameters timestamp and sign are required");
    };
    if Some(&*timestamp) != header("timestamp") || Some(&*sign) != header("signature") {
        return Some("query timestamp/sign do not match the signed headers");
    }
    None
}

/// Answers one request: it is judged by the signature check (and logged)
/// and read whole, then the fault plan may fail it ([`inject`]); otherwise
/// it is [`serve`]d.
async fn answer(
    state: Arc<State>,
    request: Request<Incoming>,
) -> Result<Response<Scripted>, io::Error> {
    let (parts, body) = request.into_parts();
    let verdict = state.check.check_headers(parts.uri.path(), &parts.headers);
    let Ok(body) = Limited::new(body, BODY_LIMIT).collect().await else {
        let msg = "request body unreadable or over 1 MiB";
        return Ok(reply(StatusCode::BAD_REQUEST, &business_error(400, msg)));
    };
    let body = body.to_bytes();
    let fault = (state.plan)(&Arrival {
        method: parts.method.as_str(),
        path: parts.uri.path(),
        query: parts.uri.query(),
        body: &body,
    });
    if let ControlFlow::Break(failed) = inject(fault.as_ref(), verdict.is_ok()).await {
        return failed;
    }
    Ok(serve(&state, &parts, verdict, &body, fault.as_ref()))
}

/// Fails the request as `fault` says, in place of any answer (`Break`: an
/// error makes hyper close the connection unanswered), or lets it through
/// (`Continue`), after a delay or with a body fault left to [`deliver`].
/// A business error only refuses a signed request.
async fn inject(
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
fn proxy_error(status: u16, retry_after: Option<u64>) -> Response<Scripted> {
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

/// Serves a request as PandaPon would: its route, its signature, its body,
/// then the route's answer (and the push the call causes), delivered as a
/// body fault says.
fn serve(
    state: &State,
    request: &http::request::Parts,
    verdict: Result<(), VerifyError>,
    body: &[u8],
    fault: Option<&Fault>,
) -> Response<Scripted> {
    let (method, path) = (request.method.as_str(), request.uri.path());
    let Some(route) = state.routes.iter().find(|r| r.matches(method, path)) else {
        let msg = format!("no operation at {method} {path}");
        return reply(StatusCode::NOT_FOUND, &business_error(404, &msg));
    };
    if let Err(why) = authenticate(route, request, verdict) {
        let refusal = business_error(SIGNATURE_ERROR_CODE, &why);
        return reply(StatusCode::OK, &refusal);
    }
    let Some(json) = request_json(route, body) else {
        let refusal = business_error(400, "request body is not JSON");
        return reply(StatusCode::OK, &refusal);
    };
    // The call took effect: push what PandaPon would push after it.
    if let (Some(pusher), Some(operation)) = (&state.push, route.operation()) {
        pusher.after(operation.id, &json);
    }
    deliver(&route.answer(), fault)
}

/// Why PandaPon would refuse the call's signature, if it would: the
/// headers' verdict, then for a query-signed route the query's.
fn authenticate(
    route: &Route,
    request: &http::request::Parts,
    verdict: Result<(), VerifyError>,
) -> Result<(), String> {
    verdict.map_err(|why| format!("signature verification failed: {why}"))?;
    if route.query_signed()
        && let Some(why) = query_mismatch(request.uri.query(), &request.headers)
    {
        return Err(why.to_owned());
    }
    Ok(())
}

/// The request body as JSON: required of a POST; `null` for another
/// method's body that is not JSON (an empty one).
fn request_json(route: &Route, body: &[u8]) -> Option<Value> {
    match serde_json::from_slice(body) {
        Ok(json) => Some(json),
        Err(_) if route.method().eq_ignore_ascii_case("POST") => None,
        Err(_) => Some(Value::Null),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes_match_templates_segment_by_segment() {
        let route = Route::of(pandapon_gen::operation("taobao_refund_cancel").expect("operation"));
        assert!(route.matches("GET", "/v2/taobao/order/refund/cancel/110000235001"));
        assert!(!route.matches("GET", "/v2/taobao/order/refund/cancel/"));
        assert!(!route.matches("GET", "/v2/taobao/order/refund/cancel/1/2"));
        assert!(!route.matches("POST", "/v2/taobao/order/refund/cancel/1"));
    }

    #[test]
    fn every_documented_example_is_an_envelope_of_a_spec_operation() {
        for (id, example) in EXAMPLES {
            assert!(
                pandapon_gen::operation(id).is_some(),
                "an example for {id}, which the spec lacks"
            );
            let json = serde_json::from_str::<Value>(example).expect("JSON");
            assert!(
                json.get("code").is_some(),
                "{id}: the example is not an envelope: {json}"
            );
        }
        // Served with code 200 whatever the example's placeholder code.
        for route in routes() {
            assert_eq!(route.answer()["code"], 200, "{}", route.path());
        }
    }

    #[test]
    fn an_extra_route_is_query_signed_as_the_client_signs_it() {
        let read = Route::extra("GET", "/v2/example/{id}", None);
        assert!(read.operation().is_none());
        assert!(read.matches("GET", "/v2/example/1"));
        assert!(!read.query_signed());
        assert_eq!(read.answer()["code"], 200);
        let logistics = Route::extra("POST", "/v2/open/pp/logistics/example", Some("{}"));
        assert!(logistics.query_signed());
    }

    #[tokio::test]
    #[allow(deprecated)]
    async fn the_deprecated_constructors_still_start_a_fake() {
        let credentials = pandapon_auth::Credentials::new("ak", "sk", "u1").expect("credentials");
        let check = SignatureCheck::new(credentials);
        let addr = SocketAddr::from(([127, 0, 0, 1], 0));
        let extra = Route::extra("GET", "/v2/example", None);
        FakePandaPon::start_with_faults(addr, check.clone(), vec![Fault::Reset])
            .await
            .expect("starts");
        FakePandaPon::start_with_routes(addr, check.clone(), vec![], vec![extra])
            .await
            .expect("starts");
        FakePandaPon::start_with_plan(addr, check, |_: &Arrival<'_>| None, vec![extra])
            .await
            .expect("starts");
    }

    fn signed_headers(timestamp: &str, signature: &str) -> http::HeaderMap {
        let mut headers = http::HeaderMap::new();
        headers.insert("timestamp", timestamp.parse().expect("header"));
        headers.insert("signature", signature.parse().expect("header"));
        headers
    }

    #[test]
    fn the_query_is_compared_percent_decoded() {
        let headers = signed_headers("1700000000000", "AB+/=C");
        let query = "orderId=1&timestamp=1700000000000&sign=AB%2B%2F%3DC";
        assert_eq!(query_mismatch(Some(query), &headers), None);
        let headers = signed_headers("1700000000000", "138C588C7D5F483C99D06530E8E87A7D");
        let query = "sign=%31%33%38C588C7D5F483C99D06530E8E87A7D&timestamp=17%30%30000000000";
        assert_eq!(query_mismatch(Some(query), &headers), None);
    }

    #[test]
    fn a_query_that_differs_or_lacks_a_parameter_is_refused() {
        let headers = signed_headers("1700000000000", "138C588C7D5F483C99D06530E8E87A7D");
        let other = "timestamp=1700000000000&sign=138C588C7D5F483C99D06530E8E87A7E";
        assert_eq!(
            query_mismatch(Some(other), &headers),
            Some("query timestamp/sign do not match the signed headers")
        );
        let encoded_other = "timestamp=1700000000000&sign=138C588C7D5F483C99D06530E8E87A7%45";
        assert!(query_mismatch(Some(encoded_other), &headers).is_some());
        for query in [None, Some("timestamp=1700000000000"), Some("sign=x")] {
            assert_eq!(
                query_mismatch(query, &headers),
                Some("query parameters timestamp and sign are required")
            );
        }
    }
}
