//! A signed call to any PandaPon path, for endpoints the spec does not have
//! yet: the same signing, envelope, errors, retries, tracing and dry run as a
//! generated operation.

use std::future::Future;

use crate::ResponseValue;
use reqwest::Method;
use reqwest::header::{ACCEPT, CONTENT_TYPE, HeaderValue};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::envelope::{Envelope, Meta};
use crate::step::{Rules, classify};
use crate::{CallOptions, Client, Error, Reply, Retry};

/// The operation name an any-path call carries in tracing spans and hooks.
pub const ANY_PATH_OPERATION: &str = "request";

/// Paths whose operations authenticate with `timestamp` and `sign` query
/// parameters as well as the headers (PandaPon's warehouse-logistics
/// endpoints, `/open/pp/logistics/*` and `/v2/open/pp/logistics/*`).
pub const QUERY_SIGNED_PATH_PREFIXES: &[&str] = &["/open/pp/logistics/", "/v2/open/pp/logistics/"];

/// Whether a call to `path` is signed with query parameters too.
pub fn is_query_signed_path(path: &str) -> bool {
    QUERY_SIGNED_PATH_PREFIXES
        .iter()
        .any(|prefix| path.starts_with(prefix))
}

/// A call to any method and path, built by [`Client::request`].
///
/// ```no_run
/// # async fn run(client: &pandapon_gen::Client) -> Result<(), pandapon_gen::Error> {
/// use pandapon_gen::Method;
/// // A path PandaPon gave you that the spec does not have yet: the reply's
/// // `data` as JSON.
/// let reply = client
///     .request(Method::GET, "/v2/your/new/path")
///     .query("orderId", "2542285634920880794")
///     .read_only()
///     .call::<serde_json::Value>()
///     .await?;
/// println!("{} (requestId {:?})", reply.data, reply.request_id);
/// # Ok(()) }
/// ```
#[derive(Debug)]
#[must_use = "a request does nothing until `call()` or `send()`"]
pub struct AnyRequest<'a> {
    client: &'a Client,
    method: Method,
    path: String,
    query: Vec<(String, String)>,
    body: Option<Result<Vec<u8>, String>>,
    read_only: bool,
}

impl Client {
    /// A signed call to `path` (starting with `/`, relative to the base URL)
    /// with `method`: for PandaPon endpoints the spec does not have yet.
    ///
    /// It counts as a write, never re-sent once it may have reached
    /// PandaPon, unless marked [`read_only`](AnyRequest::read_only) (see the
    /// guide's [reliability chapter](crate::guide::reliability)). Nothing is
    /// sent until the future of [`call`](AnyRequest::call) or
    /// [`send`](AnyRequest::send) is polled; what dropping it means is in
    /// their `# Cancel safety`.
    pub fn request(&self, method: Method, path: impl Into<String>) -> AnyRequest<'_> {
        AnyRequest {
            client: self,
            method,
            path: path.into(),
            query: Vec::new(),
            body: None,
            read_only: false,
        }
    }
}

impl<'a> AnyRequest<'a> {
    /// Adds a query parameter.
    pub fn query(mut self, name: impl Into<String>, value: impl ToString) -> Self {
        self.query.push((name.into(), value.to_string()));
        self
    }

    /// Sets the JSON body. A value that cannot be encoded makes the call fail
    /// with [`Error::InvalidRequest`] before anything is sent.
    pub fn json<B: Serialize + ?Sized>(mut self, body: &B) -> Self {
        self.body = Some(serde_json::to_vec(body).map_err(|e| format!("encoding the body: {e}")));
        self
    }

    /// Marks the call as safe to re-send (it reads, or repeating it is
    /// harmless): it is retried like a read-only operation.
    pub fn read_only(mut self) -> Self {
        self.read_only = true;
        self
    }

    /// Sends the call and unwraps PandaPon's envelope into `Reply<T>`: `Ok`
    /// only when `code` is 200. Use `T = serde_json::Value` for `data` as it
    /// came, and `T = ()` for an envelope with no `data`.
    ///
    /// # Errors
    ///
    /// As a generated operation's `call()`: the path or body is refused
    /// before sending ([`Error::InvalidRequest`]), or the call failed; see
    /// [`Error::outcome`] for whether it may have taken effect.
    ///
    /// # Cancel safety
    ///
    /// The future does nothing until polled; dropping it stops the call
    /// where it is. Dropped before its first poll, nothing was sent. Dropped
    /// later, the request may have reached PandaPon: a call marked
    /// [`read_only`](Self::read_only) can simply be made again, while a
    /// write's outcome is unknown, as after a timeout; look it up before
    /// repeating it. See the guide's
    /// [reliability chapter](crate::guide::reliability).
    pub fn call<T: DeserializeOwned + 'a>(
        self,
    ) -> impl Future<Output = Result<Reply<T>, Error>> + 'a {
        self.call_with(CallOptions::default())
    }

    /// Like [`call`](Self::call), with per-call options. A call marked
    /// [`read_only`](Self::read_only) with [`Retry::Auto`] retries as a read.
    ///
    /// # Errors
    ///
    /// As [`call`](Self::call).
    ///
    /// # Cancel safety
    ///
    /// As [`call`](Self::call).
    pub fn call_with<T: DeserializeOwned + 'a>(
        self,
        options: CallOptions,
    ) -> impl Future<Output = Result<Reply<T>, Error>> + 'a {
        let (client, rules, request, options) = self.into_parts(options);
        let ratio = client.inner.limits.decode_ratio;
        crate::step::start(
            &client.client,
            &client.inner,
            rules,
            request,
            options,
            move |answer| classify::envelope(classify::decode::<AnyEnvelope<T>>(answer, ratio)?),
        )
    }

    /// Sends the call and returns the envelope as it came; the `code`
    /// check is the caller's (as a generated operation's `send()`). Retries
    /// follow [`read_only`](Self::read_only) as for [`call`](Self::call).
    ///
    /// # Errors
    ///
    /// As [`call`](Self::call), except that a business error inside HTTP 200
    /// is an `Ok` envelope.
    ///
    /// # Cancel safety
    ///
    /// As [`call`](Self::call).
    pub fn send<T: DeserializeOwned + 'a>(
        self,
    ) -> impl Future<Output = Result<ResponseValue<AnyEnvelope<T>>, Error>> + 'a {
        let (client, rules, request, options) = self.into_parts(CallOptions::default());
        let ratio = client.inner.limits.decode_ratio;
        crate::step::start(
            &client.client,
            &client.inner,
            rules,
            request,
            options,
            move |answer| classify::decode::<AnyEnvelope<T>>(answer, ratio),
        )
    }

    /// The client, the rules, the request (or why it cannot be sent) and the
    /// options, with the retry rule of a read when the call is marked
    /// read-only and the options leave it to the operation.
    fn into_parts(
        self,
        options: CallOptions,
    ) -> (
        &'a Client,
        Rules,
        Result<reqwest::Request, Error>,
        CallOptions,
    ) {
        let options = if self.read_only && options.retry == Retry::Auto {
            options.retry(Retry::Always)
        } else {
            options
        };
        let rules = Rules {
            id: ANY_PATH_OPERATION,
            read_only: self.read_only,
            query_signed: is_query_signed_path(&self.path),
        };
        let client = self.client;
        (client, rules, self.build(), options)
    }

    /// The request: the path checked and joined to the base URL as written,
    /// the query and the body.
    fn build(self) -> Result<reqwest::Request, Error> {
        let Self {
            client,
            method,
            path,
            query,
            body,
            read_only: _,
        } = self;
        if let Some(problem) = crate::step::path::any_path_problem(&path) {
            return Err(Error::InvalidRequest(problem));
        }
        let body = body.transpose().map_err(Error::InvalidRequest)?;
        let mut url = crate::step::url(&client.inner, &path);
        if !query.is_empty() {
            url.query_pairs_mut()
                .extend_pairs(query.iter().map(|(k, v)| (k.as_str(), v.as_str())));
        }
        let mut builder = client
            .client
            .request(method, url)
            .header(ACCEPT, HeaderValue::from_static("application/json"));
        if let Some(bytes) = body {
            builder = builder
                .header(CONTENT_TYPE, HeaderValue::from_static("application/json"))
                .body(bytes);
        }
        let request = builder
            .build()
            .map_err(|e| crate::step::unbuilt(e.into()))?;
        // The checks above leave the parser nothing to rewrite; should it
        // still have, the signed request would go elsewhere: refuse it.
        if !request.url().path().ends_with(path.as_str()) {
            return Err(Error::InvalidRequest(format!(
                "the path {path:?} would be sent as {:?}",
                request.url().path()
            )));
        }
        Ok(request)
    }
}

/// PandaPon's envelope around a `data` of any type, as an any-path call
/// decodes it.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[non_exhaustive]
pub struct AnyEnvelope<T> {
    /// `requestId`, `code`, `developId` and `msg`.
    #[serde(flatten)]
    pub meta: Meta,
    /// The payload (absent or null: `None`).
    pub data: Option<T>,
}

impl<T: DeserializeOwned> Envelope for AnyEnvelope<T> {
    type Data = T;

    fn into_parts(self) -> (Meta, Option<T>) {
        let data = match self.data {
            Some(data) => Some(data),
            // No `data`: fine for `T = ()` and `T = Value` (null), which
            // decode from JSON null; anything else is "code 200 without data".
            None => serde_json::from_value(serde_json::Value::Null).ok(),
        };
        (self.meta, data)
    }
}
