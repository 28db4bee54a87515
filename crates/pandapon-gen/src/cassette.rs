//! Cassettes: a file of the exchanges a client had with PandaPon, written by
//! a [`Recorder`] and served again by `pandapon-httpmock`'s replay
//! (`FakeBuilder::replay`, the CLI's `pandapon mock --replay`), so that a
//! session captured once can be tested against for ever, offline.
//!
//! A cassette is JSON Lines: one [`Exchange`] per line, appended as each
//! attempt ends. An exchange is the request's method, path, query and
//! body, and the answer's status, the headers that matter (`content-type`,
//! `retry-after`) and body. No secret, signature or nonce is ever written:
//! the request's headers are not kept at all, and the query's signing
//! values (`timestamp`, `sign`: a custom
//! [`QuerySigner`](crate::auth::QuerySigner) with other names is not known
//! here) are left out. An attempt that got no answer (a refused connection,
//! a timeout) or whose body could not be read has nothing to replay and is
//! not written, so a session replays byte for byte when every attempt got
//! an answer. An answer that is not HTTP 200 is recorded as the SDK read it,
//! its first 64 KiB.
//!
//! ```no_run
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! use pandapon_gen::cassette::Recorder;
//!
//! let client = pandapon_gen::ClientBuilder::from_env()?
//!     .interceptor(Recorder::append_to("session.jsonl")?)
//!     .build()?;
//! // Every call's exchanges are appended to session.jsonl.
//! # Ok(()) }
//! ```

use std::collections::BTreeMap;
use std::fs::{File, OpenOptions};
use std::io::{self, BufRead, Write};
use std::path::{Path, PathBuf};
use std::sync::{Mutex, PoisonError};

use serde::{Deserialize, Serialize};

use crate::{AfterAttempt, BeforeAttempt, Interceptor};

/// The query parameters that sign a request: never written, never matched.
pub const SIGNING_QUERY: [&str; 2] = ["timestamp", "sign"];

/// The answer headers a cassette keeps: the ones a client reads.
pub const KEPT_HEADERS: [&str; 2] = ["content-type", "retry-after"];

/// One request and its answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct Exchange {
    /// The operationId the SDK called (`request` for an any-path call);
    /// for reading a cassette, not for matching.
    pub operation: String,
    /// The HTTP method.
    pub method: String,
    /// The path, as sent (percent-encoded).
    pub path: String,
    /// The query's name–value pairs in order, without the signing values.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub query: Vec<(String, String)>,
    /// The request body, when there was one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_body: Option<String>,
    /// The answer's status.
    pub status: u16,
    /// The answer's headers that a client reads ([`KEPT_HEADERS`]).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub headers: Vec<(String, String)>,
    /// The answer's body: its text, or, when it is not UTF-8, empty and the
    /// bytes in `body_hex`.
    pub body: String,
    /// The answer's body in hex, when it is not UTF-8.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body_hex: Option<String>,
}

impl Exchange {
    /// The answer's body as bytes.
    pub fn body_bytes(&self) -> Vec<u8> {
        match &self.body_hex {
            Some(hex) => (0..hex.len() / 2)
                .filter_map(|i| u8::from_str_radix(hex.get(2 * i..2 * i + 2)?, 16).ok())
                .collect(),
            None => self.body.as_bytes().to_vec(),
        }
    }

    /// `METHOD /path?query` as the exchange's request line.
    pub fn request_line(&self) -> String {
        let mut line = format!("{} {}", self.method, self.path);
        if !self.query.is_empty() {
            line.push('?');
            line.push_str(&query_text(&self.query));
        }
        line
    }
}

/// Name–value pairs as `a=1&b=2`, percent-encoded.
pub fn query_text(pairs: &[(String, String)]) -> String {
    reqwest::Url::parse("http://q/")
        .map(|mut url| {
            url.query_pairs_mut().extend_pairs(pairs);
            url.query().unwrap_or_default().to_owned()
        })
        .unwrap_or_default()
}

/// The pairs of a query string, without the signing values.
pub fn unsigned_query(query: Option<&str>) -> Vec<(String, String)> {
    let Some(query) = query.filter(|q| !q.is_empty()) else {
        return Vec::new();
    };
    reqwest::Url::parse(&format!("http://q/?{query}"))
        .map(|url| {
            url.query_pairs()
                .filter(|(k, _)| !SIGNING_QUERY.contains(&k.as_ref()))
                .map(|(k, v)| (k.into_owned(), v.into_owned()))
                .collect()
        })
        .unwrap_or_default()
}

/// Why a cassette could not be read.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CassetteError {
    /// The file could not be read.
    #[error("reading the cassette {path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// Why.
        source: io::Error,
    },
    /// A line is not an exchange.
    #[error("{path}, line {line}: not a recorded exchange: {reason}")]
    Line {
        /// The file.
        path: PathBuf,
        /// The line, from 1.
        line: usize,
        /// What the JSON decoder said.
        reason: String,
    },
}

/// Reads every exchange of the cassette at `path`, in the order they were
/// recorded. Blank lines are skipped.
///
/// # Errors
///
/// When the file cannot be read or a line is not an exchange.
pub fn read(path: impl AsRef<Path>) -> Result<Vec<Exchange>, CassetteError> {
    let path = path.as_ref();
    let io_error = |source| CassetteError::Io {
        path: path.to_owned(),
        source,
    };
    let file = File::open(path).map_err(io_error)?;
    let mut exchanges = Vec::new();
    for (n, line) in io::BufReader::new(file).lines().enumerate() {
        let line = line.map_err(io_error)?;
        if line.trim().is_empty() {
            continue;
        }
        let exchange = serde_json::from_str(&line).map_err(|e| CassetteError::Line {
            path: path.to_owned(),
            line: n + 1,
            reason: crate::escape_shown(&e.to_string()),
        })?;
        exchanges.push(exchange);
    }
    Ok(exchanges)
}

/// What a [`Recorder`] keeps of a request until its answer arrives.
struct Sent {
    method: String,
    path: String,
    query: Vec<(String, String)>,
    body: Option<String>,
}

/// An interceptor that appends every attempt's exchange to a cassette file
/// ([`ClientBuilder::interceptor`](crate::ClientBuilder::interceptor)). It
/// writes each exchange as one line, whole, when the attempt ends, so
/// several clients (or processes, with an `O_APPEND` file) may record into
/// one file. A write that fails is logged at ERROR and the call goes on.
pub struct Recorder {
    path: PathBuf,
    file: Mutex<File>,
    /// Each attempt's request until its answer arrives, by call and
    /// attempt. An attempt whose call was dropped never ends: past
    /// [`PENDING_LIMIT`] the oldest are let go.
    sent: Mutex<BTreeMap<(u64, u32), Sent>>,
}

/// Requests a [`Recorder`] keeps waiting for their answers, at most.
const PENDING_LIMIT: usize = 4096;

impl std::fmt::Debug for Recorder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Recorder")
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

impl Recorder {
    /// A recorder appending to `path`, which is created if it is missing.
    ///
    /// # Errors
    ///
    /// When the file cannot be opened for appending.
    pub fn append_to(path: impl AsRef<Path>) -> io::Result<Self> {
        let path = path.as_ref().to_owned();
        let file = OpenOptions::new().create(true).append(true).open(&path)?;
        Ok(Self {
            path,
            file: Mutex::new(file),
            sent: Mutex::new(BTreeMap::new()),
        })
    }

    /// The cassette file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn write(&self, exchange: &Exchange) -> io::Result<()> {
        let mut line = serde_json::to_vec(exchange).map_err(io::Error::other)?;
        line.push(b'\n');
        let mut file = self.file.lock().unwrap_or_else(PoisonError::into_inner);
        file.write_all(&line)?;
        file.flush()
    }
}

impl Interceptor for Recorder {
    fn before_attempt(&self, attempt: &BeforeAttempt<'_>) {
        let request = attempt.request;
        let body = request
            .body()
            .and_then(reqwest::Body::as_bytes)
            .map(|b| String::from_utf8_lossy(b).into_owned());
        let sent = Sent {
            method: request.method().as_str().to_owned(),
            path: request.url().path().to_owned(),
            query: unsigned_query(request.url().query()),
            body,
        };
        let mut pending = self.sent.lock().unwrap_or_else(PoisonError::into_inner);
        pending.insert((attempt.call, attempt.attempt), sent);
        while pending.len() > PENDING_LIMIT {
            pending.pop_first();
        }
    }

    fn after_attempt(&self, attempt: &AfterAttempt<'_>) {
        let sent = self
            .sent
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(&(attempt.call, attempt.attempt));
        let (Some(sent), Some(status), Some(body)) = (sent, attempt.status, attempt.body) else {
            return;
        };
        let headers = attempt
            .headers
            .map(|h| {
                KEPT_HEADERS
                    .iter()
                    .filter_map(|name| {
                        let value = h.get(*name)?.to_str().ok()?;
                        Some(((*name).to_owned(), value.to_owned()))
                    })
                    .collect()
            })
            .unwrap_or_default();
        let (text, hex) = match std::str::from_utf8(body) {
            Ok(text) => (text.to_owned(), None),
            Err(_) => (
                String::new(),
                Some(body.iter().map(|b| format!("{b:02x}")).collect()),
            ),
        };
        let exchange = Exchange {
            operation: attempt.operation.to_owned(),
            method: sent.method,
            path: sent.path,
            query: sent.query,
            request_body: sent.body,
            status: status.as_u16(),
            headers,
            body: text,
            body_hex: hex,
        };
        if let Err(e) = self.write(&exchange) {
            tracing::error!(
                cassette = %self.path.display(),
                error = %e,
                "the exchange could not be recorded"
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signing_values_are_left_out_of_the_query() {
        let q = unsigned_query(Some("timestamp=1&sign=ABC&page=2&q=a%26b"));
        assert_eq!(q, [("page".into(), "2".into()), ("q".into(), "a&b".into())]);
        assert_eq!(query_text(&q), "page=2&q=a%26b");
        assert!(unsigned_query(None).is_empty());
    }

    #[test]
    fn a_body_that_is_not_utf8_round_trips_in_hex() {
        let e = Exchange {
            operation: "x".into(),
            method: "GET".into(),
            path: "/x".into(),
            query: vec![],
            request_body: None,
            status: 200,
            headers: vec![],
            body: String::new(),
            body_hex: Some("ff00".into()),
        };
        assert_eq!(e.body_bytes(), [0xff, 0x00]);
        let line = serde_json::to_string(&e).expect("json");
        assert_eq!(serde_json::from_str::<Exchange>(&line).expect("back"), e);
        assert_eq!(e.request_line(), "GET /x");
    }
}
