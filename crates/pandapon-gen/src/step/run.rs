//! The attempts of one call: sign afresh, send, read within the limits,
//! classify, and try again when the rules, the policy and the budget allow;
//! then decode the answer.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Instant;

use reqwest::StatusCode;

use super::body::{self, BodyLimits, ERROR_BODY_LIMIT};
use super::classify::{self, Answer, Happened};
use super::retry::{self, Plan};
use super::{CallOptions, ClientState, Rules, intercept, span};
use crate::Error;

/// Starts a call of the operation `rules` describes: `request` (or why it
/// cannot be sent) through [`run`], then `decode` on the answer.
pub(crate) fn start<'a, D, T>(
    http: &'a reqwest::Client,
    state: &'a ClientState,
    rules: Rules,
    request: Result<reqwest::Request, Error>,
    options: CallOptions,
    decode: D,
) -> impl Future<Output = Result<T, Error>> + 'a
where
    D: FnOnce(Answer) -> Result<T, Error> + 'a,
    T: 'a,
{
    let running = request.map(|request| run(http, state, rules, request, options));
    span::Traced::new(rules.id, Finish::new(running, decode))
}

pin_project_lite::pin_project! {
    /// The step's attempts, then `decode` on the answer they end with (or
    /// the reason the request could not be sent). A hand-written future, so
    /// that the attempts' future is held once rather than moved into an
    /// `async` wrapper beside its own slot.
    pub(crate) struct Finish<F, D> {
        #[pin]
        running: Option<F>,
        refused: Option<Error>,
        decode: Option<D>,
    }
}

impl<F, D> Finish<F, D> {
    fn new(running: Result<F, Error>, decode: D) -> Self {
        let (running, refused) = match running {
            Ok(running) => (Some(running), None),
            Err(refused) => (None, Some(refused)),
        };
        Self {
            running,
            refused,
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
        let mut this = self.project();
        if let Some(refused) = this.refused.take() {
            return Poll::Ready(Err(refused));
        }
        let answer = match this.running.as_mut().as_pin_mut() {
            Some(running) => std::task::ready!(running.poll(cx)),
            None => panic!("a call's future polled after it completed"),
        };
        this.running.set(None);
        let decode = this.decode.take();
        Poll::Ready(answer.and_then(|answer| match decode {
            Some(decode) => decode(answer),
            None => panic!("a call's future polled after it completed"),
        }))
    }
}

/// Runs the attempts of one call: signs each afresh, sends it, reads its
/// body within the limits, classifies what happened, and tries again when
/// the rules and the policy allow. Returns the 200 answer to decode, or the
/// error the last attempt ended with.
pub(crate) async fn run(
    http: &reqwest::Client,
    state: &ClientState,
    rules: Rules,
    mut request: reqwest::Request,
    options: CallOptions,
) -> Result<Answer, Error> {
    if let Some(extras) = &options.extras {
        extras.apply(&mut request, rules.query_signed)?;
    }
    if let Some(show) = &state.dry_run {
        state.sign(&mut request, rules.query_signed);
        show(&request);
        return Err(Error::DryRun);
    }
    let policy = &state.policy;
    let plan = Plan::new(rules.read_only, options.retry);
    let watched = !state.interceptors.is_empty();
    let mut attempt = 1;
    loop {
        // Keep an unsent copy for the next attempt (bodies here are bytes),
        // boxed: it is rarely used, and the call's future stays small.
        let spare = if plan.is_last(policy, attempt) {
            None
        } else {
            unsent_copy(&request).map(Box::new)
        };
        if let Some(timeout) = options.timeout {
            *request.timeout_mut() = Some(timeout);
        }
        state.sign(&mut request, rules.query_signed);
        let t0 = if attempt == 1 {
            plan.started()
        } else {
            Instant::now()
        };
        if watched {
            let before = intercept::BeforeAttempt {
                operation: rules.id,
                attempt,
                request: &request,
            };
            for interceptor in state.interceptors.iter() {
                interceptor.before_attempt(&before);
            }
        }
        let span = span::attempt_span(attempt);
        let sent = send_once(http.execute(request), &state.limits);
        let happened = span::InSpan::new(&span, sent).await;
        span::attempt_ended(&span, t0, &happened);
        let retry_after = match &happened {
            Happened::Answered {
                status, headers, ..
            } if *status != StatusCode::OK => retry::retry_after(headers),
            _ => None,
        };
        let status = happened.status();
        // For the interceptors: the body as read (a shared handle, not a copy).
        let body = watched.then(|| happened.body().cloned()).flatten();
        let result = classify::attempt(happened);
        // Judged once: the plan and the budget read the same verdict.
        let judged = result.as_ref().err().map(classify::verdict);
        let next = match (judged, spare) {
            (Some(verdict), Some(next)) if plan.allows(&verdict) => {
                // The delay, if another attempt may start in time and the
                // client's budget pays for it.
                plan.delay(policy, attempt + 1, retry_after)
                    .filter(|_| state.bucket.try_spend(&verdict))
                    .map(|delay| (next, delay))
            }
            _ => None,
        };
        if watched {
            let after = intercept::AfterAttempt {
                operation: rules.id,
                attempt,
                status,
                elapsed: t0.elapsed(),
                body: body.as_deref(),
                error: result.as_ref().err(),
                retrying: next.is_some(),
            };
            for interceptor in state.interceptors.iter() {
                interceptor.after_attempt(&after);
            }
        }
        let Some((next, delay)) = next else {
            if result.is_ok() {
                state.bucket.refill();
            }
            return result;
        };
        drop(result);
        attempt += 1;
        span::retrying(attempt, delay);
        // Boxed: a rare path, kept out of every call's future.
        Box::pin(tokio::time::sleep(delay)).await;
        request = *next;
    }
}

/// Sends one attempt and reads its body: a 200's within the size limit and
/// the stall rule, another status's up to 64 KiB (what arrived, if reading
/// it fails: the status is the news).
async fn send_once(
    sending: impl Future<Output = reqwest::Result<reqwest::Response>>,
    limits: &BodyLimits,
) -> Happened {
    let mut response = match sending.await {
        Ok(response) => response,
        Err(e) => return Happened::Failed(e),
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
            Err(error) => Happened::BodyFailed { status, error },
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

/// A copy of an unsent request for another attempt: what
/// [`reqwest::Request::try_clone`] copies, without the timeout slot it
/// allocates and then throws away. The step sets no request extensions,
/// and each attempt's timeout is set afresh, so nothing is lost.
fn unsent_copy(request: &reqwest::Request) -> Option<reqwest::Request> {
    let body = match request.body() {
        None => None,
        Some(body) => Some(reqwest::Body::from(body.as_bytes()?.to_vec())),
    };
    let mut copy = reqwest::Request::new(request.method().clone(), request.url().clone());
    *copy.headers_mut() = request.headers().clone();
    *copy.version_mut() = request.version();
    *copy.body_mut() = body;
    Some(copy)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_unsent_copy_is_the_same_request() {
        let http = reqwest::Client::new();
        let original = http
            .post("http://127.0.0.1:1/v2/alibaba/order/cancel?x=1")
            .header("accept", "application/json")
            .json(&serde_json::json!({"orderId": 2542285634920880794_u64}))
            .build()
            .expect("request");
        let copy = unsent_copy(&original).expect("a byte body can be copied");
        assert_eq!(copy.method(), original.method());
        assert_eq!(copy.url(), original.url());
        assert_eq!(copy.headers(), original.headers());
        assert_eq!(copy.version(), original.version());
        assert_eq!(copy.timeout(), None);
        assert_eq!(
            copy.body().and_then(reqwest::Body::as_bytes),
            original.body().and_then(reqwest::Body::as_bytes)
        );

        let bodiless = http.get("http://127.0.0.1:1/").build().expect("request");
        assert!(unsent_copy(&bodiless).expect("copy").body().is_none());
    }
}
