//! The one step every call goes through, whatever made it: a generated
//! operation's `call()` or raw `send()`, an any-path call, a page of a
//! stream, or the CLI.
//!
//! ```text
//! builder ─► request (progenitor: types, arguments; path values via
//!            path::segment, query values via query; or Unbuilt)
//!   ─► run: the caller's extra fields (extras.rs) ─ dry run?
//!        ─ per attempt: copy ─ sign ─ interceptors' before_attempt
//!          ─ send ─ read (body.rs) ─ classify::attempt
//!          ─ retry? (retry.rs: the plan, then the client's retry budget)
//!          ─ interceptors' after_attempt (intercept.rs) ─ ...
//!   ─► classify::decode (pandapon_types::decode: within the memory budget)
//!   ─► classify::envelope (call() only)
//! ```
//!
//! Everything a call needs travels as values: the client's [`ClientState`],
//! the operation's [`Rules`], the caller's [`CallOptions`]. Nothing here
//! imports the client or the crate root's call surface; the generated code
//! and the any-path call call down into it.

pub(crate) mod body;
pub(crate) mod classify;
pub(crate) use pandapon_types::decode;
pub(crate) mod extras;
pub(crate) mod intercept;
pub(crate) mod path;
pub(crate) mod retry;
mod span;

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use pandapon_auth::{QuerySigner, Signer};
use reqwest::StatusCode;
use serde::de::DeserializeOwned;

use self::body::{BodyLimits, ERROR_BODY_LIMIT};
use self::classify::{Answer, Happened};
use self::retry::{Plan, Retry, RetryPolicy};
use crate::Error;
use crate::ResponseValue;
use crate::envelope::{Envelope, Reply};
use crate::operations::Operation;

/// Options for one call (`call_with` and `send_with` on any builder, and on
/// an any-path call).
///
/// ```
/// use std::time::Duration;
/// use pandapon_gen::{CallOptions, Retry};
///
/// let options = CallOptions::default()
///     .retry(Retry::Never)
///     .timeout(Duration::from_secs(5))
///     // A field PandaPon added after this SDK was generated.
///     .extra_body_field("newFlag", serde_json::json!(true))
///     .extra_header("x-trace-id", "7f3a")
///     .extra_query("lang", "en");
/// # let _ = options;
/// ```
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct CallOptions {
    /// Retry behaviour.
    pub retry: Retry,
    /// Time allowed for each attempt, instead of the client's per-attempt
    /// timeout.
    pub timeout: Option<Duration>,
    /// Extra query parameters, headers and body fields (boxed: most calls
    /// have none).
    extras: Option<Box<extras::Extras>>,
}

impl CallOptions {
    /// Sets the retry behaviour.
    pub fn retry(mut self, retry: Retry) -> Self {
        self.retry = retry;
        self
    }

    /// Sets the time allowed for each attempt.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = Some(timeout);
        self
    }

    /// Adds a query parameter to the call, after the operation's own.
    pub fn extra_query(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.extras_mut().query.push((name.into(), value.into()));
        self
    }

    /// Adds a header to the call. The five signing headers (`access-key`,
    /// `timestamp`, `nonce-str`, `user-id`, `signature`), `content-type`
    /// and the headers that frame the request (`content-length`, `host`,
    /// `transfer-encoding`) cannot be set this way: the call fails with
    /// [`Error::InvalidRequest`] and nothing is sent. So does a name or
    /// value HTTP does not allow.
    pub fn extra_header(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.extras_mut().headers.push((name.into(), value.into()));
        self
    }

    /// Adds a field to the top level of the call's JSON body, before it is
    /// signed: for a field PandaPon added that the typed body does not have
    /// yet. A field the typed body already sets, or a call without a JSON
    /// object body, fails with [`Error::InvalidRequest`] and nothing is
    /// sent.
    pub fn extra_body_field(mut self, name: impl Into<String>, value: serde_json::Value) -> Self {
        self.extras_mut().body.push((name.into(), value));
        self
    }

    fn extras_mut(&mut self) -> &mut extras::Extras {
        self.extras.get_or_insert_with(Box::default)
    }
}

/// What the step needs to know of the operation being called.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Rules {
    /// The operationId (or `request` for an any-path call).
    pub(crate) id: &'static str,
    /// Safe to re-send after a failure that may have reached the server.
    pub(crate) read_only: bool,
    /// Signed with `timestamp` and `sign` query parameters too.
    pub(crate) query_signed: bool,
}

impl From<&Operation> for Rules {
    fn from(op: &Operation) -> Self {
        Self {
            id: op.id,
            read_only: op.read_only,
            query_signed: op.query_signed,
        }
    }
}

/// Receives each signed request instead of the network.
pub(crate) type DryRun = Arc<dyn Fn(&reqwest::Request) + Send + Sync>;

/// What a [`Client`](crate::Client) carries besides its HTTP client and
/// base URL: the signers, the retry policy, the body limits and the dry-run
/// callback.
///
/// It is public only because the generated `Client` names it; it is not part
/// of the documented API. It has no public constructor, so every
/// [`Client`](crate::Client) is built through
/// [`ClientBuilder`](crate::ClientBuilder) and every request it sends is
/// signed.
#[doc(hidden)]
#[derive(Clone)]
pub struct ClientState {
    /// The base URL, parsed once.
    pub(crate) base: reqwest::Url,
    pub(crate) signer: Signer,
    pub(crate) query_signer: Arc<dyn QuerySigner>,
    pub(crate) dry_run: Option<DryRun>,
    pub(crate) policy: RetryPolicy,
    pub(crate) limits: BodyLimits,
    /// Shared by every call through the client and by its sub-account clients.
    pub(crate) bucket: Arc<retry::TokenBucket>,
    pub(crate) interceptors: Arc<[Arc<dyn intercept::Interceptor>]>,
}

impl std::fmt::Debug for ClientState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientState")
            .field("base", &self.base.as_str())
            .field("signer", &self.signer)
            .field("query_signer", &self.query_signer)
            .field("dry_run", &self.dry_run.is_some())
            .field("policy", &self.policy)
            .field("limits", &self.limits)
            .field("retry_budget", &self.bucket.budget())
            .field("interceptors", &self.interceptors.len())
            .finish()
    }
}

impl ClientState {
    /// Signs one attempt: the five headers, and when `query_signed` (the
    /// warehouse-logistics operations) the `timestamp` and `sign` query
    /// parameters, replacing any left from an earlier attempt.
    fn sign(&self, request: &mut reqwest::Request, query_signed: bool) {
        let headers = self.signer.sign_now();
        headers.apply(request.headers_mut());
        if query_signed {
            let params = self.query_signer.query(&headers);
            let url = request.url_mut();
            let kept: Vec<(String, String)> = url
                .query_pairs()
                .filter(|(k, _)| !params.iter().any(|(name, _)| k == name))
                .map(|(k, v)| (k.into_owned(), v.into_owned()))
                .collect();
            url.query_pairs_mut()
                .clear()
                .extend_pairs(kept)
                .extend_pairs(params);
        }
    }
}

/// The URL of `path` (which starts with `/`) under the client's base URL:
/// the base was parsed when the client was built, so only the path is
/// parsed here. The generated requests and the any-path call build their
/// URLs with it.
pub(crate) fn url(state: &ClientState, path: &str) -> reqwest::Url {
    let mut url = state.base.clone();
    match state.base.path() {
        "/" => url.set_path(path),
        base => url.set_path(&format!("{base}{path}")),
    }
    url
}

/// A request as the generated code builds it: the request, or why it could
/// not be built.
pub(crate) type Built = Result<reqwest::Request, Unbuilt>;

/// Why the generated code could not build a request: nothing was sent.
#[derive(Debug)]
pub(crate) enum Unbuilt {
    /// A value missing or invalid, or a path value that would leave its
    /// segment.
    InvalidRequest(String),
    /// reqwest refused the request (a URL or header it cannot send).
    Build(reqwest::Error),
}

impl From<reqwest::Error> for Unbuilt {
    fn from(error: reqwest::Error) -> Self {
        Self::Build(error)
    }
}

/// The error for a request that could not be built: nothing was sent.
/// Generated requests and any-path requests both end here.
pub(crate) fn unbuilt(error: Unbuilt) -> Error {
    match error {
        Unbuilt::InvalidRequest(message) => Error::InvalidRequest(message),
        Unbuilt::Build(e) => Error::InvalidRequest(format!("building the request: {e}")),
    }
}

/// Appends `name=value` to the query of a request the generated code built,
/// `value` as PandaPon reads it: a string as it is, an integer or boolean as
/// written in JSON, nothing for `None`. Codegen admits only query parameters
/// of those types; anything else (a list, an object, a float, whose text
/// PandaPon does not document) is refused here rather than guessed.
pub(crate) fn query<T: serde::Serialize>(
    request: &mut reqwest::Request,
    name: &str,
    value: &T,
) -> Result<(), Unbuilt> {
    let value =
        serde_json::to_value(value).map_err(|e| Unbuilt::InvalidRequest(format!("{name}: {e}")))?;
    let text = match value {
        serde_json::Value::Null => return Ok(()),
        serde_json::Value::String(text) => text,
        serde_json::Value::Number(n) if !n.is_f64() => n.to_string(),
        serde_json::Value::Bool(b) => b.to_string(),
        other => {
            return Err(Unbuilt::InvalidRequest(format!(
                "{name}: a query value must be a string, integer or boolean, not {other}"
            )));
        }
    };
    request.url_mut().query_pairs_mut().append_pair(name, &text);
    Ok(())
}

/// `call()`: the step, then the response decoded as `R` and its envelope's
/// `code` checked.
pub(crate) fn call<'a, R>(
    http: &'a reqwest::Client,
    state: &'a ClientState,
    rules: Rules,
    request: Result<reqwest::Request, Error>,
    options: CallOptions,
) -> impl Future<Output = Result<Reply<R::Data>, Error>> + 'a
where
    R: Envelope + DeserializeOwned + 'a,
{
    let ratio = state.limits.decode_ratio;
    start(http, state, rules, request, options, move |answer| {
        classify::envelope(classify::decode::<R>(answer, ratio)?)
    })
}

/// The raw `send()`: the step, then the response decoded as `R`, its `code`
/// left to the caller.
pub(crate) fn send<'a, R>(
    http: &'a reqwest::Client,
    state: &'a ClientState,
    rules: Rules,
    request: Result<reqwest::Request, Error>,
    options: CallOptions,
) -> impl Future<Output = Result<ResponseValue<R>, Error>> + 'a
where
    R: DeserializeOwned + 'a,
{
    let ratio = state.limits.decode_ratio;
    start(http, state, rules, request, options, move |answer| {
        classify::decode::<R>(answer, ratio)
    })
}

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

    #[test]
    fn a_request_that_could_not_be_built_was_not_sent() {
        let e = unbuilt(Unbuilt::InvalidRequest("no order_id".into()));
        assert!(matches!(&e, Error::InvalidRequest(m) if m == "no order_id"));
        assert_eq!(e.outcome(), crate::Outcome::NotSent);
        let refused = reqwest::Client::new()
            .get("http://[::1/")
            .build()
            .expect_err("an unclosed IPv6 host is no URL");
        let e = unbuilt(Unbuilt::from(refused));
        assert!(
            matches!(&e, Error::InvalidRequest(m) if m.starts_with("building the request: ")),
            "{e:?}"
        );
        assert_eq!(e.outcome(), crate::Outcome::NotSent);
    }

    #[test]
    fn query_values_are_appended_as_pandapon_reads_them() {
        let http = reqwest::Client::new();
        let mut request = http
            .get("http://127.0.0.1:1/v2/x")
            .build()
            .expect("request");
        let id: crate::StringId = "2542285634920880794".parse().expect("id");
        query(&mut request, "orderId", &id).expect("string id");
        query(&mut request, "itemId", &crate::IntegerId::from(7_u64)).expect("integer id");
        query(&mut request, "all", &true).expect("bool");
        query(&mut request, "missing", &None::<String>).expect("none");
        query(&mut request, "note", &"a&b=c d").expect("text");
        assert_eq!(
            request.url().query(),
            Some("orderId=2542285634920880794&itemId=7&all=true&note=a%26b%3Dc+d")
        );
        for e in [
            query(&mut request, "list", &[1, 2]).expect_err("a list"),
            query(&mut request, "float", &0.1_f32).expect_err("a float"),
        ] {
            assert!(
                matches!(&e, Unbuilt::InvalidRequest(m) if m.contains(": a query value must be")),
                "{e:?}"
            );
        }
        assert_eq!(
            request.url().query(),
            Some("orderId=2542285634920880794&itemId=7&all=true&note=a%26b%3Dc+d"),
            "a refused value adds nothing"
        );
    }
}
