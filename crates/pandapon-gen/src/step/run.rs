//! The attempts of one call: sign afresh, send, read within the limits,
//! classify, and try again when the rules, the policy and the budget allow;
//! then decode the answer.

use std::future::Future;
use std::ops::ControlFlow;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use reqwest::StatusCode;

use super::body::{self, BodyLimits, ERROR_BODY_LIMIT};
use super::classify::{self, Answer, Happened};
use super::retry::{self, Plan};
use super::{CallOptions, ClientState, Requests, Rules, intercept, span, wire};
use crate::Error;

/// Starts a call of the operation `rules` describes: each attempt's
/// request from `requests` through [`run`], then `decode` on the answer.
pub(crate) fn start<'a, D, T>(
    http: &'a reqwest::Client,
    state: &'a ClientState,
    rules: Rules,
    requests: impl Requests + Send + 'a,
    options: CallOptions,
    decode: D,
) -> impl Future<Output = Result<T, Error>> + 'a
where
    D: FnOnce(Answer) -> Result<T, Error> + 'a,
    T: 'a,
{
    let running = run(http, state, rules, requests, options);
    span::Traced::new(rules.id, Finish::new(running, decode))
}

pin_project_lite::pin_project! {
    /// The step's attempts, then `decode` on the answer they end with. A
    /// hand-written future, so that the attempts' future is held once
    /// rather than moved into an `async` wrapper beside its own slot.
    pub(crate) struct Finish<F, D> {
        #[pin]
        running: F,
        decode: Option<D>,
    }
}

impl<F, D> Finish<F, D> {
    fn new(running: F, decode: D) -> Self {
        Self {
            running,
            decode: Some(decode),
        }
    }
}

impl<F, D, T> Future for Finish<F, D>
where
    F: Future<Output = Result<Answer, Error>>,
    D: FnOnce(Answer) -> Result<T, Error>,
{
    type Output = Result<T, Error>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let answer = std::task::ready!(this.running.poll(cx));
        let decode = this
            .decode
            .take()
            .expect("a call's future polled after it completed");
        Poll::Ready(answer.and_then(decode))
    }
}

/// Runs the attempts of one call: builds each attempt's request afresh from
/// `requests`, signs it, sends it, reads its body within the limits,
/// classifies what happened, and tries again when the rules and the policy
/// allow. Returns the 200 answer to decode, or the error the last attempt
/// ended with (or why no request could be built: then nothing was sent).
///
/// A function returning an `async move` block rather than an `async fn`: an
/// `async fn` moves its arguments from their captured slots into locals,
/// and the call's future would hold both; the block uses its captures in
/// place. No request is held across an attempt: each is built when it is
/// sent, so none is copied in case of a retry that never comes.
///
/// The attempts' loop is not generic: it takes the requests as a trait
/// object, so a program compiles it once rather than once for every
/// operation it calls. It is compiled in the program's crate, not in this
/// one: the future it returns has no name, so this crate cannot export its
/// `poll` (boxing it would, at an allocation per call).
#[allow(
    clippy::manual_async_fn,
    reason = "an async fn holds its arguments twice"
)]
fn run<'a>(
    http: &'a reqwest::Client,
    state: &'a ClientState,
    rules: Rules,
    mut requests: impl Requests + Send + 'a,
    options: CallOptions,
) -> impl Future<Output = Result<Answer, Error>> + 'a {
    async move { attempts(http, state, rules, &mut requests, options).await }
}

/// [`run`]'s loop, over any [`Requests`].
#[allow(
    clippy::manual_async_fn,
    reason = "an async fn holds its arguments twice"
)]
fn attempts<'a>(
    http: &'a reqwest::Client,
    state: &'a ClientState,
    rules: Rules,
    requests: &'a mut (dyn Requests + Send),
    options: CallOptions,
) -> impl Future<Output = Result<Answer, Error>> + 'a {
    async move {
        let policy = &state.policy;
        let plan = Plan::new(rules.read_only, options.retry);
        let watched = !state.interceptors.is_empty();
        let call = if watched { intercept::next_call() } else { 0 };
        let mut attempt = 1;
        loop {
            let last = plan.is_last(policy, attempt) || state.dry_run.is_some();
            let t0 = if attempt == 1 {
                plan.started()
            } else {
                Instant::now()
            };
            let span = span::attempt_span(rules.id, attempt);
            // The request lives in this block only: once it is handed to
            // the HTTP client, nothing of it stays in the call's future.
            let sent = {
                let mut request = requests.next(last)?;
                if let Some(extras) = &options.extras {
                    extras.apply(&mut request, rules.query_signed)?;
                }
                if let Some(show) = &state.dry_run {
                    state.sign(&mut request, rules.query_signed);
                    show(&request);
                    return Err(Error::DryRun);
                }
                if let Some(timeout) = options.timeout {
                    *request.timeout_mut() = Some(timeout);
                }
                state.sign(&mut request, rules.query_signed);
                span::attempt_request(&span, attempt, &request);
                if wire::wanted() {
                    wire::request(rules.id, attempt, &request);
                }
                if watched {
                    let before = intercept::BeforeAttempt {
                        operation: rules.id,
                        call,
                        attempt,
                        request: &request,
                    };
                    intercept::each(&state.interceptors, rules.id, |i| i.before_attempt(&before));
                }
                send_once(http.execute(request), &state.limits)
            };
            let happened = span::InSpan::new(&span, sent).await;
            let attempted = Attempted {
                rules,
                call,
                attempt,
                t0,
                watched,
                last,
            };
            let delay = match attempted.judge(state, &plan, &span, happened) {
                ControlFlow::Break(result) => return result,
                ControlFlow::Continue(delay) => delay,
            };
            attempt += 1;
            span::retrying(attempt, delay);
            // Boxed: a rare path, kept out of every call's future.
            Box::pin(tokio::time::sleep(delay)).await;
        }
    }
}

/// One attempt that has ended, as [`Attempted::judge`] needs it.
struct Attempted {
    rules: Rules,
    /// The call's number for the interceptors (0 when none watch).
    call: u64,
    attempt: u32,
    t0: Instant,
    watched: bool,
    /// No attempt may follow it (the policy's last, or a dry run).
    last: bool,
}

impl Attempted {
    /// What `happened` on this attempt comes to: the call's result
    /// (`Break`), or the delay before the next attempt (`Continue`). Classifies it, judges the failure once (the plan and the
    /// budget read the same verdict), and shows the interceptors. A plain
    /// function, so that none of its values are kept in the call's future.
    fn judge(
        self,
        state: &ClientState,
        plan: &Plan,
        span: &tracing::Span,
        happened: Happened,
    ) -> ControlFlow<Result<Answer, Error>, Duration> {
        let Self {
            rules,
            call,
            attempt,
            t0,
            watched,
            last,
        } = self;
        span::attempt_ended(span, t0, &happened);
        if wire::wanted() {
            wire::answer(rules.id, attempt, &happened);
        }
        let retry_after = match &happened {
            Happened::Answered {
                status, headers, ..
            } if *status != StatusCode::OK => retry::retry_after(headers),
            _ => None,
        };
        let status = happened.status();
        // For the interceptors: the body as read (a shared handle, not a
        // copy) and the headers.
        let body = watched.then(|| happened.body().cloned()).flatten();
        let headers = watched.then(|| happened.headers().cloned()).flatten();
        let result = classify::attempt(happened);
        if let Err(e) = &result {
            span::attempt_failed(span, e);
        }
        let judged = result.as_ref().err().map(classify::verdict);
        // The delay, if another attempt may start in time and the client's
        // budget pays for it.
        let mut budget_spent = false;
        let next = match judged {
            Some(verdict) if !last && plan.allows(&verdict) => {
                match plan.delay(&state.policy, attempt + 1, retry_after) {
                    Some(delay) if state.bucket.try_spend(&verdict) => Some(delay),
                    Some(_) => {
                        budget_spent = true;
                        None
                    }
                    None => None,
                }
            }
            _ => None,
        };
        if watched {
            let after = intercept::AfterAttempt {
                operation: rules.id,
                call,
                attempt,
                status,
                elapsed: t0.elapsed(),
                body: body.as_deref(),
                headers: headers.as_ref(),
                error: result.as_ref().err(),
                retrying: next.is_some(),
            };
            intercept::each(&state.interceptors, rules.id, |i| i.after_attempt(&after));
        }
        if next.is_none() {
            span::call_ended(attempt, status);
        }
        match next {
            Some(next) => ControlFlow::Continue(next),
            None if budget_spent => {
                tracing::info!(
                    pandapon.operation = rules.id,
                    attempt,
                    "retry not made: the client's retry budget is spent"
                );
                ControlFlow::Break(result.map_err(|last| Error::RetryBudgetSpent {
                    last: Box::new(last),
                }))
            }
            None => {
                if result.is_ok() {
                    state.bucket.refill();
                }
                ControlFlow::Break(result)
            }
        }
    }
}

/// Sends one attempt and reads its body: a 200's within the size limit and
/// the stall rule, another status's up to 64 KiB (what arrived, if reading
/// it fails: the status is the news).
#[allow(
    clippy::manual_async_fn,
    reason = "an async fn holds its arguments twice"
)]
fn send_once<'a>(
    sending: impl Future<Output = reqwest::Result<reqwest::Response>> + 'a,
    limits: &'a BodyLimits,
) -> impl Future<Output = Happened> + 'a {
    async move {
        let mut response = match sending.await {
            Ok(response) => response,
            Err(e) => return Happened::Failed(wire::unsigned_error(e)),
        };
        let status = response.status();
        let mut partial = Vec::new();
        if status == StatusCode::OK {
            let read = body::read(
                &mut response,
                limits.max_bytes,
                false,
                limits.stall,
                &mut partial,
            );
            return match read.await {
                Ok(body) => Happened::Answered {
                    status,
                    headers: std::mem::take(response.headers_mut()),
                    body,
                },
                Err(error) => Happened::BodyFailed {
                    status,
                    error: error.map_transport(wire::unsigned_error),
                },
            };
        }
        // Boxed: a rare path, kept out of every call's future.
        let read = body::read(
            &mut response,
            ERROR_BODY_LIMIT,
            true,
            limits.stall,
            &mut partial,
        );
        let body = Box::pin(read).await.unwrap_or_else(|_| partial.into());
        Happened::Answered {
            status,
            headers: std::mem::take(response.headers_mut()),
            body,
        }
    }
}
