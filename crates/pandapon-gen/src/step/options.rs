//! The caller's options for one call: retries, the attempt timeout, extra
//! query parameters, headers and body fields.

use std::time::Duration;

use super::extras;
use super::retry::Retry;

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
    pub(crate) extras: Option<Box<extras::Extras>>,
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
    /// [`Error::InvalidRequest`](crate::Error::InvalidRequest) and nothing is sent. So does a name or
    /// value HTTP does not allow.
    ///
    /// The value may be a credential, so it is never shown: the wire log,
    /// an interceptor's [`BeforeAttempt`](crate::BeforeAttempt) and these
    /// options' `Debug` write `<redacted>` or only the header's name.
    pub fn extra_header(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.extras_mut().headers.push((name.into(), value.into()));
        self
    }

    /// Adds a field to the top level of the call's JSON body, before it is
    /// signed: for a field PandaPon added that the typed body does not have
    /// yet. A field the typed body already sets, or a call without a JSON
    /// object body, fails with [`Error::InvalidRequest`](crate::Error::InvalidRequest) and nothing is
    /// sent.
    pub fn extra_body_field(mut self, name: impl Into<String>, value: serde_json::Value) -> Self {
        self.extras_mut().body.push((name.into(), value));
        self
    }

    fn extras_mut(&mut self) -> &mut extras::Extras {
        self.extras.get_or_insert_with(Box::default)
    }
}
