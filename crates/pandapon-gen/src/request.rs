//! A signed call to any PandaPon path, for endpoints the spec does not have
//! yet: the same signing, envelope, errors, retries, tracing and dry run as a
//! generated operation.

use std::fmt;
use std::future::Future;
use std::marker::PhantomData;

use reqwest::Method;
use reqwest::header::{ACCEPT, CONTENT_TYPE, HeaderValue};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::call::{Arguments, Call};
use crate::envelope::{Envelope, Meta};
use crate::step::Rules;
use crate::{CallOptions, Client, Error, Reply, ResponseValue};

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
///
/// Once `data`'s type is chosen, it is a [`Call`] like every generated
/// operation's builder ([`expecting`](Self::expecting)); `call::<T>()` and
/// its siblings are that [`Call`]'s methods.
#[derive(Debug)]
#[must_use = "a request does nothing until `call()` or `send()`"]
pub struct AnyRequest<'a> {
    client: &'a Client,
    args: AnyPath,
}

/// What an any-path call sends: the method, the path, the query and the
/// body, and whether it is safe to re-send.
#[derive(Debug, Clone)]
struct AnyPath {
    method: Method,
    path: String,
    query: Vec<(String, String)>,
    body: Option<Result<Vec<u8>, String>>,
    read_only: bool,
}

/// The arguments of an any-path call whose envelope's `data` is a `T`: the
/// [`Arguments`] of [`AnyRequest::expecting`].
pub struct AnyArguments<T> {
    path: AnyPath,
    data: PhantomData<fn() -> T>,
}

impl<T> Clone for AnyArguments<T> {
    fn clone(&self) -> Self {
        Self {
            path: self.path.clone(),
            data: PhantomData,
        }
    }
}

impl<T> fmt::Debug for AnyArguments<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.path.fmt(f)
    }
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
    /// [`Call::call`]'s `# Cancel safety`.
    pub fn request(&self, method: Method, path: impl Into<String>) -> AnyRequest<'_> {
        AnyRequest {
            client: self,
            args: AnyPath {
                method,
                path: path.into(),
                query: Vec::new(),
                body: None,
                read_only: false,
            },
        }
    }
}

impl<'a> AnyRequest<'a> {
    /// Adds a query parameter.
    pub fn query(mut self, name: impl Into<String>, value: impl ToString) -> Self {
        self.args.query.push((name.into(), value.to_string()));
        self
    }

    /// Sets the JSON body. A value that cannot be encoded makes the call fail
    /// with [`Error::InvalidRequest`] before anything is sent.
    pub fn json<B: Serialize + ?Sized>(mut self, body: &B) -> Self {
        self.args.body =
            Some(serde_json::to_vec(body).map_err(|e| format!("encoding the body: {e}")));
        self
    }

    /// Marks the call as safe to re-send (it reads, or repeating it is
    /// harmless): it is retried like a read-only operation.
    pub fn read_only(mut self) -> Self {
        self.args.read_only = true;
        self
    }

    /// The call, its envelope's `data` decoded as `T`: a [`Call`] like any
    /// operation's. Use `T = serde_json::Value` for `data` as it came, and
    /// `T = ()` for an envelope with no `data`.
    pub fn expecting<T: DeserializeOwned>(self) -> Call<'a, AnyArguments<T>> {
        Call::of(
            self.client,
            AnyArguments {
                path: self.args,
                data: PhantomData,
            },
        )
    }

    /// [`Call::call`] of [`expecting::<T>()`](Self::expecting).
    ///
    /// # Errors
    ///
    /// As [`Call::call`]; a path or body that cannot be sent is
    /// [`Error::InvalidRequest`] before anything is sent.
    pub fn call<T: DeserializeOwned + 'a>(
        self,
    ) -> impl Future<Output = Result<Reply<T>, Error>> + 'a {
        self.expecting::<T>().call()
    }

    /// [`Call::call_with`] of [`expecting::<T>()`](Self::expecting).
    ///
    /// # Errors
    ///
    /// As [`Call::call`].
    pub fn call_with<T: DeserializeOwned + 'a>(
        self,
        options: CallOptions,
    ) -> impl Future<Output = Result<Reply<T>, Error>> + 'a {
        self.expecting::<T>().call_with(options)
    }

    /// [`Call::send`] of [`expecting::<T>()`](Self::expecting).
    ///
    /// # Errors
    ///
    /// As [`Call::send`].
    pub fn send<T: DeserializeOwned + 'a>(
        self,
    ) -> impl Future<Output = Result<ResponseValue<AnyEnvelope<T>>, Error>> + 'a {
        self.expecting::<T>().send()
    }
}

impl<T> crate::call::sealed::Sealed for AnyArguments<T> {}

impl<T: DeserializeOwned> Arguments for AnyArguments<T> {
    type Response = AnyEnvelope<T>;

    fn rules(&self) -> Rules {
        Rules {
            id: ANY_PATH_OPERATION,
            read_only: self.path.read_only,
            query_signed: is_query_signed_path(&self.path.path),
        }
    }

    fn request(self, client: &Client) -> Result<reqwest::Request, Error> {
        self.path.build(client)
    }
}

impl AnyPath {
    /// The request: the path checked and joined to the base URL as written,
    /// the query and the body.
    fn build(self, client: &Client) -> Result<reqwest::Request, Error> {
        let Self {
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
