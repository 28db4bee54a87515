//! A fake PandaPon: a local HTTP server that checks signatures like PandaPon
//! and answers every operation of the spec with its documented example.
//! The server is here; the routes and how they are checked are in
//! `routes.rs`, the faults it can inject in `faults.rs`, and serving a
//! recorded cassette in `replay.rs`.

mod faults;
mod replay;
mod routes;

use std::collections::VecDeque;
use std::io;
use std::net::SocketAddr;
use std::ops::ControlFlow;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use http_body_util::{BodyExt, Limited};
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

pub use self::faults::{Arrival, Fault};
use self::faults::{Plan, Scripted, inject, reply};
pub use self::replay::NO_MATCH_CODE;
use self::replay::Replay;
use self::routes::serve;
pub use self::routes::{Route, routes};
use crate::push::{Pushed, Pusher};
use crate::{SignatureCheck, business_error};

/// Largest request body the fake reads.
const BODY_LIMIT: usize = 1 << 20;

struct State {
    check: SignatureCheck,
    plan: Plan,
    /// The spec's routes, then the extra ones.
    routes: Vec<Route>,
    /// Where to push order messages after state-changing calls, if anywhere.
    push: Option<Pusher>,
    /// The cassette it serves instead of the spec's examples, if any.
    replay: Option<Replay>,
}

/// A running fake PandaPon. It stops when dropped.
///
/// Every operation in `openapi/pandapon.yaml` is served on its method and
/// path. A request must carry a valid signature for the fake's credentials
/// (and, for the warehouse-logistics operations, `timestamp` and `sign` query
/// parameters equal to the header timestamp and signature, the SDK's default
/// rule); otherwise the answer is a business error with code
/// [`SIGNATURE_ERROR_CODE`](crate::SIGNATURE_ERROR_CODE) and the reason in `msg`. A POST body must be
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
            replay: None,
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
    replay: Option<Vec<pandapon_gen::cassette::Exchange>>,
}

impl std::fmt::Debug for FakeBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FakeBuilder")
            .field("check", &self.check)
            .field("routes", &self.routes)
            .field("push_to", &self.push_to)
            .field("replay", &self.replay.as_ref().map(Vec::len))
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

    /// Serves the exchanges of a cassette (recorded with
    /// [`pandapon_gen::cassette::Recorder`], read with
    /// [`pandapon_gen::cassette::read`]) instead of the spec's examples.
    /// Each request's signature is checked as always (the headers, and the
    /// query's `timestamp` and `sign` where it has them); then it gets the
    /// recorded answer (status, kept headers, body) of the exchange it
    /// matches by method, path, query without the signing values, and body
    /// (as JSON values, so key order and spacing do not matter). Exchanges
    /// that match are served in the order they were recorded, so a retried
    /// call replays its attempts in turn; once all were served, the last
    /// again. A request that matches none gets HTTP 404 with a business
    /// error, code [`NO_MATCH_CODE`], whose `msg` names the nearest
    /// recorded exchange and what differs.
    pub fn replay(mut self, exchanges: Vec<pandapon_gen::cassette::Exchange>) -> Self {
        self.replay = Some(exchanges);
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
            replay: self.replay.map(Replay::new),
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
    if let Some(replay) = &state.replay {
        return Ok(replay.serve(&parts, verdict, &body));
    }
    Ok(serve(&state, &parts, verdict, &body, fault.as_ref()))
}
