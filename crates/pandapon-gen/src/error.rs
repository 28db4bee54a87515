//! Errors of a call: business errors from the envelope, HTTP and decoding
//! failures with a bounded excerpt of what the server sent, and transport;
//! and whether each may have taken effect ([`Outcome`]).
//!
//! Every message says its cause once: an error that shows a cause in its
//! text does not also return it from `source()`, so printing the chain
//! (`{:#}` with anyhow) repeats nothing. Text that came from the server is
//! shown with control characters escaped, so that an error page cannot
//! drive the terminal it is printed on.

use std::borrow::Cow;
use std::fmt;

use reqwest::StatusCode;

use crate::{DevelopId, StallPolicy};

/// Longest body excerpt kept in an error, in bytes.
pub const EXCERPT_LIMIT: usize = 512;

/// Everything that can go wrong with a call.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// PandaPon answered with an envelope whose `code` is not 200.
    #[error(transparent)]
    Api(#[from] ApiError),

    /// A non-2xx HTTP answer that is not a PandaPon envelope (a proxy's HTML
    /// error page, for example).
    #[error("http {status}: {body}")]
    Http {
        /// The HTTP status.
        status: StatusCode,
        /// The start of the body.
        body: BodyExcerpt,
    },

    /// The response body is empty.
    #[error("http {status} with an empty body")]
    EmptyBody {
        /// The HTTP status.
        status: StatusCode,
    },

    /// The body is not the JSON this operation returns: malformed, HTML, or
    /// a field of the wrong type.
    #[error("undecodable response (http {status}): {}; body: {body}", escape(&error.to_string()))]
    Decode {
        /// The HTTP status.
        status: StatusCode,
        /// The start of the body.
        body: BodyExcerpt,
        /// What the JSON decoder said.
        error: serde_json::Error,
    },

    /// A success envelope (`code` 200) without `data`, or an envelope without
    /// `code`.
    #[error(
        "incomplete envelope: {what} (requestId {})",
        shown(request_id.as_deref().unwrap_or("<none>"))
    )]
    Incomplete {
        /// What is missing.
        what: &'static str,
        /// The request id, when the envelope had one.
        request_id: Option<String>,
    },

    /// A success answer's body is larger than the client's limit
    /// ([`ClientBuilder::max_response_bytes`]); nothing past the limit was
    /// read.
    ///
    /// [`ClientBuilder::max_response_bytes`]: crate::ClientBuilder::max_response_bytes
    #[error("{}", crate::step::body::too_large_message(*limit, *declared))]
    TooLarge {
        /// The HTTP status.
        status: StatusCode,
        /// The limit in force.
        limit: usize,
        /// The `Content-Length` the server declared, if it did.
        declared: Option<u64>,
    },

    /// A success answer's body would take more memory once decoded than the
    /// client allows: `limit` bytes, a multiple of its `size`
    /// ([`ClientBuilder::max_decode_ratio`], 8 by default). It was not
    /// decoded.
    ///
    /// [`ClientBuilder::max_decode_ratio`]: crate::ClientBuilder::max_decode_ratio
    #[error(
        "response body of {size} bytes would take more than {limit} bytes of memory once \
         decoded; it was not decoded (raise the ratio with ClientBuilder::max_decode_ratio)"
    )]
    TooLargeDecoded {
        /// The HTTP status.
        status: StatusCode,
        /// The body's size in bytes.
        size: usize,
        /// The memory allowed for the decoded body, in bytes.
        limit: usize,
    },

    /// The response body stopped arriving: under the client's minimum rate
    /// over its grace period ([`ClientBuilder::stall_protection`]). A
    /// timeout, retried for read-only calls like one.
    ///
    /// [`ClientBuilder::stall_protection`]: crate::ClientBuilder::stall_protection
    #[error("{}", crate::step::body::stalled_message(policy, *received))]
    Stalled {
        /// The HTTP status.
        status: StatusCode,
        /// The stall rule that fired.
        policy: StallPolicy,
        /// Bytes that arrived in the last grace period.
        received: u64,
    },

    /// The request could not be sent or the response not received:
    /// connection refused, DNS, TLS, timeout. The message gives reqwest's
    /// error with its causes.
    #[error("transport error: {}", chain(.0))]
    Transport(reqwest::Error),

    /// The request could not be built from the given values; nothing was
    /// sent.
    #[error("invalid request: {}", escape(.0))]
    InvalidRequest(String),

    /// A failed attempt the retry policy would have tried again, but the
    /// client's retry budget ([`RetryBudget`](crate::RetryBudget)) was spent:
    /// the last attempt's error, not retried. Its outcome, status and request
    /// id are the last attempt's.
    #[error("{last}; not retried: the client's retry budget is spent (RetryBudget)")]
    RetryBudgetSpent {
        /// How the last attempt failed.
        last: Box<Error>,
    },

    /// A page stream (or the CLI's `--all`) stopped because the pages
    /// cannot be right, or its cap was reached with pages left. The pages
    /// before were yielded; nothing further was asked for.
    #[error(transparent)]
    Paging(#[from] PagingError),

    /// The client is a dry run ([`ClientBuilder::dry_run`]): the request was
    /// signed and shown, not sent.
    ///
    /// [`ClientBuilder::dry_run`]: crate::ClientBuilder::dry_run
    #[error("dry run: the request was not sent")]
    DryRun,
}

impl Error {
    /// The HTTP status, when a response arrived.
    pub fn status(&self) -> Option<StatusCode> {
        match self {
            Self::Api(e) => Some(e.http_status),
            Self::Http { status, .. }
            | Self::EmptyBody { status }
            | Self::Decode { status, .. }
            | Self::TooLarge { status, .. }
            | Self::TooLargeDecoded { status, .. }
            | Self::Stalled { status, .. } => Some(*status),
            Self::Transport(e) => e.status(),
            Self::RetryBudgetSpent { last } => last.status(),
            Self::Incomplete { .. } | Self::InvalidRequest(_) | Self::Paging(_) | Self::DryRun => {
                None
            }
        }
    }

    /// PandaPon's request id, on every error whose answer carried one: a
    /// business error, an envelope without `data`, and an answer whose body
    /// failed its type or its status but still had a `requestId`. Quote it
    /// when asking PandaPon about the call.
    pub fn request_id(&self) -> Option<&str> {
        match self {
            Self::Api(e) => e.request_id.as_deref(),
            Self::Incomplete { request_id, .. } => request_id.as_deref(),
            Self::Http { body, .. } | Self::Decode { body, .. } => body.request_id.as_deref(),
            Self::RetryBudgetSpent { last } => last.request_id(),
            _ => None,
        }
    }

    /// A short, stable name for the kind of failure: what a metric or a
    /// trace's `error.type` groups by. `api` (a business error), `http`,
    /// `empty_body`, `decode`, `incomplete`, `too_large`, `too_large_decoded`,
    /// `timeout` (a transport timeout or a stalled body), `transport`,
    /// `invalid_request`, `paging`, `dry_run`; a retry the budget refused
    /// has its last attempt's kind.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Api(_) => "api",
            Self::Http { .. } => "http",
            Self::EmptyBody { .. } => "empty_body",
            Self::Decode { .. } => "decode",
            Self::Incomplete { .. } => "incomplete",
            Self::TooLarge { .. } => "too_large",
            Self::TooLargeDecoded { .. } => "too_large_decoded",
            Self::Stalled { .. } => "timeout",
            Self::Transport(e) if e.is_timeout() => "timeout",
            Self::Transport(_) => "transport",
            Self::InvalidRequest(_) => "invalid_request",
            Self::RetryBudgetSpent { last } => last.kind(),
            Self::Paging(_) => "paging",
            Self::DryRun => "dry_run",
        }
    }

    /// Whether a retry the policy allowed was not made because the client's
    /// retry budget was spent ([`Error::RetryBudgetSpent`]).
    pub fn retry_budget_spent(&self) -> bool {
        matches!(self, Self::RetryBudgetSpent { .. })
    }

    /// The business error, when PandaPon returned one.
    pub fn api(&self) -> Option<&ApiError> {
        match self {
            Self::Api(e) => Some(e),
            Self::RetryBudgetSpent { last } => last.api(),
            _ => None,
        }
    }

    /// True when the call ran out of time: the connect or attempt timeout,
    /// or a body that stalled.
    pub fn is_timeout(&self) -> bool {
        match self {
            Self::Transport(e) => e.is_timeout(),
            Self::Stalled { .. } => true,
            Self::RetryBudgetSpent { last } => last.is_timeout(),
            _ => false,
        }
    }

    /// Whether the request may have taken effect at PandaPon: what a caller
    /// must know before trying a write again. The same answer always gets
    /// the same outcome, whichever way the call was made (the guide's
    /// [reliability chapter](crate::guide::reliability) has the table).
    pub fn outcome(&self) -> Outcome {
        crate::step::classify::verdict(self).outcome
    }
}

/// Whether a failed call's request may have taken effect
/// ([`Error::outcome`]). Which failure gets which outcome is the table in
/// the guide's [reliability chapter](crate::guide::reliability).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Outcome {
    /// Certainly not sent: invalid values, a dry run, or a connection that
    /// could not be made. Trying again cannot duplicate it.
    NotSent,
    /// It reached PandaPon (or an HTTP server in front of it) and was
    /// refused: a business error, a client error status, or a server that
    /// said it did not take the request on. Nothing happened, as far as the
    /// answer says.
    Refused,
    /// It may have reached PandaPon and the result is not known: no answer
    /// came after it was sent, or the answer does not say what happened.
    /// Before repeating a write, look up whether it happened.
    Unknown,
}

impl fmt::Display for Outcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::NotSent => "not sent",
            Self::Refused => "refused",
            Self::Unknown => "unknown",
        })
    }
}

/// Why a page stream stopped before its last page ([`Error::Paging`]).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PagingError {
    /// Page `page` was the page before it again, items and page info alike:
    /// a server that ignores the page number would repeat it for ever.
    #[error("page {page} repeats page {previous}: the server ignores the page number; stopped")]
    Repeated {
        /// The page that repeated.
        page: i64,
        /// The page it repeated.
        previous: i64,
    },
    /// The page counts the server reported cannot be right: a negative
    /// `totalPage`, or items on a page past the `totalPage` it reported.
    #[error(
        "page {page} reports totalPage {total} with {items} item(s) on it, which cannot be \
         right; stopped"
    )]
    ImpossibleCount {
        /// The page that reported it.
        page: i64,
        /// The `totalPage` it reported.
        total: i64,
        /// The items it held.
        items: usize,
    },
    /// The stream asked for its cap of pages and the server says more
    /// remain. The cap is [`DEFAULT_MAX_PAGES`](crate::DEFAULT_MAX_PAGES)
    /// unless set with `max_pages` (the CLI's `--max-pages`).
    #[error(
        "stopped after {pages} pages, the cap, with more pages left; raise it with max_pages \
         (--max-pages)"
    )]
    CapReached {
        /// The cap.
        pages: usize,
    },
}

/// A business error: PandaPon's envelope with a `code` other than 200.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub struct ApiError {
    /// PandaPon's return code.
    pub code: i64,
    /// PandaPon's message for the code.
    pub msg: Option<String>,
    /// The request id; quote it when asking PandaPon about the call.
    pub request_id: Option<String>,
    /// The developer id.
    pub develop_id: Option<DevelopId>,
    /// The HTTP status the envelope arrived with (usually 200).
    pub http_status: StatusCode,
}

impl ApiError {
    /// Whether PandaPon's message is about the request time (its window is
    /// 600 seconds), which usually means the host clock is off.
    pub fn is_timestamp_rejection(&self) -> bool {
        self.msg.as_deref().is_some_and(|m| {
            let m = m.to_lowercase();
            m.contains("timestamp") || m.contains("时间戳")
        })
    }
}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.http_status != StatusCode::OK {
            write!(f, "http {}: ", self.http_status)?;
        }
        write!(
            f,
            "pandapon error {}: {} (requestId {})",
            self.code,
            shown(self.msg.as_deref().unwrap_or("<no msg>")),
            shown(self.request_id.as_deref().unwrap_or("<none>"))
        )?;
        if self.is_timestamp_rejection() {
            f.write_str(
                "; the request time must be within 600 s of PandaPon's clock: check this \
                 host's clock, or set ClientBuilder::clock_offset_millis \
                 (PANDAPON_CLOCK_OFFSET_MS)",
            )?;
        }
        Ok(())
    }
}

/// The first [`EXCERPT_LIMIT`] bytes of a response body, as lossy UTF-8.
#[derive(Clone, PartialEq, Eq)]
pub struct BodyExcerpt {
    text: String,
    truncated: bool,
    /// The body's `requestId`, when it was JSON with one.
    request_id: Option<String>,
}

impl BodyExcerpt {
    /// Takes the start of `bytes`, cut at a character boundary.
    pub fn new(bytes: &[u8]) -> Self {
        let truncated = bytes.len() > EXCERPT_LIMIT;
        let head = &bytes[..bytes.len().min(EXCERPT_LIMIT)];
        let mut text = String::from_utf8_lossy(head).into_owned();
        if truncated {
            // A multi-byte character cut in half decodes as U+FFFD at the end.
            while text.ends_with('\u{FFFD}') {
                text.pop();
            }
        }
        Self {
            text,
            truncated,
            request_id: None,
        }
    }

    /// With the `requestId` the whole body carried.
    pub(crate) fn with_request_id(mut self, request_id: Option<String>) -> Self {
        self.request_id = request_id;
        self
    }

    /// The excerpt text.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// True when the body was longer than the excerpt.
    pub fn is_truncated(&self) -> bool {
        self.truncated
    }
}

impl fmt::Display for BodyExcerpt {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Debug quoting escapes what Rust deems unprintable; the escape
        // after it covers the rest of what `is_unsafe_char` names.
        f.write_str(&escape(&format!("{:?}", self.text)))?;
        if self.truncated {
            f.write_str(" (truncated)")?;
        }
        Ok(())
    }
}

impl fmt::Debug for BodyExcerpt {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

/// Why a client could not be built.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// A required environment variable is unset or empty.
    #[error("environment variable {0} is not set")]
    MissingVar(&'static str),
    /// An environment variable has an unusable value.
    #[error("environment variable {name} is invalid: {reason}")]
    InvalidVar {
        /// The variable.
        name: &'static str,
        /// What is wrong with it (never its value).
        reason: String,
    },
    /// The credentials are unusable (the message names which one).
    #[error(transparent)]
    Credentials(#[from] pandapon_auth::CredentialsError),
    /// The base URL is unusable.
    #[error("invalid base URL {url:?}: {reason}")]
    BaseUrl {
        /// The URL given.
        url: String,
        /// What is wrong with it.
        reason: String,
    },
    /// The HTTP client could not be built.
    #[error("building the HTTP client: {}", chain(.0))]
    Http(reqwest::Error),
}

/// Longest server text an error shows, in bytes: longer text is cut (at a
/// character boundary) with a note of how many bytes were left out.
pub const SHOWN_LIMIT: usize = 4096;

/// Whether `c` could drive or deceive the terminal it is printed on: a
/// control character (C0, DEL, C1), a character that reorders text (the
/// bidirectional marks, embeddings, overrides and isolates, U+061C
/// included), a line or paragraph separator (U+2028, U+2029), or an
/// invisible one (U+180E, U+200B, U+2060 to U+2064, the deprecated format
/// characters U+206A to U+206F, U+FEFF, the interlinear annotation marks
/// U+FFF9 to U+FFFB, and the tag characters U+E0000 to U+E007F, which can
/// carry hidden text). [`escape_controls`] escapes exactly these, and the
/// CLI writes them as `\u` escapes in JSON.
pub fn is_unsafe_char(c: char) -> bool {
    c.is_control()
        || matches!(
            c,
            '\u{061c}'
                | '\u{180e}'
                | '\u{200b}'
                | '\u{200e}'
                | '\u{200f}'
                | '\u{2028}'
                | '\u{2029}'
                | '\u{202a}'..='\u{202e}'
                | '\u{2060}'..='\u{2064}'
                | '\u{2066}'..='\u{206f}'
                | '\u{feff}'
                | '\u{fff9}'..='\u{fffb}'
                | '\u{e0000}'..='\u{e007f}'
        )
}

/// `text` with every character [`is_unsafe_char`] names escaped, `\x1b` or
/// `\u{202e}`, so that text from a server cannot move the cursor, recolour,
/// retitle or clear the terminal it is printed on, nor reorder or hide
/// what is around it. Text without them is returned as it is.
///
/// ```
/// assert_eq!(pandapon_gen::escape_controls("ok\u{1b}[2J"), r"ok\x1b[2J");
/// assert_eq!(pandapon_gen::escape_controls("a\u{2028}b\u{200b}"), r"a\u{2028}b\u{200b}");
/// assert_eq!(pandapon_gen::escape_controls("订单不存在"), "订单不存在");
/// ```
pub fn escape_controls(text: &str) -> Cow<'_, str> {
    if !text.chars().any(is_unsafe_char) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        match c {
            c if !is_unsafe_char(c) => out.push(c),
            c if u32::from(c) <= 0xff => out.push_str(&format!("\\x{:02x}", u32::from(c))),
            c => out.push_str(&format!("\\u{{{:x}}}", u32::from(c))),
        }
    }
    Cow::Owned(out)
}

/// Server text as an error shows it: at most [`SHOWN_LIMIT`] bytes of it,
/// cut at a character boundary with a note of the bytes left out, then
/// escaped ([`escape_controls`]).
///
/// ```
/// let long = "x".repeat(5 * 1024 * 1024);
/// let shown = pandapon_gen::escape_shown(&long);
/// assert!(shown.len() < 4200);
/// assert!(shown.ends_with("… (5238784 more bytes not shown)"));
/// ```
pub fn escape_shown(text: &str) -> String {
    if text.len() <= SHOWN_LIMIT {
        return escape_controls(text).into_owned();
    }
    let mut end = SHOWN_LIMIT;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!(
        "{}… ({} more bytes not shown)",
        escape_controls(&text[..end]),
        text.len() - end
    )
}

use escape_shown as shown;

/// What a caught panic said (its `&str` or `String` payload), as a log line
/// shows it: bounded and escaped ([`escape_shown`]).
pub(crate) fn panic_shown(panic: &(dyn std::any::Any + Send)) -> String {
    let message = panic
        .downcast_ref::<&str>()
        .copied()
        .or_else(|| panic.downcast_ref::<String>().map(String::as_str))
        .unwrap_or("a panic without a message");
    escape_shown(message)
}

pub(crate) use escape_controls as escape;

/// An error's text with the text of every cause after it, once each.
pub(crate) fn chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        if !text.contains(&cause_text) {
            text.push_str(": ");
            text.push_str(&cause_text);
        }
        source = cause.source();
    }
    escape(&text).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn excerpt_is_bounded_and_cut_on_a_char_boundary() {
        let body = "错".repeat(400); // 1200 bytes, 3 per char
        let e = BodyExcerpt::new(body.as_bytes());
        assert!(e.is_truncated());
        assert_eq!(e.as_str().len(), 510);
        assert!(e.as_str().chars().all(|c| c == '错'));
        assert_eq!(BodyExcerpt::new(b"<html>").to_string(), r#""<html>""#);
    }

    #[test]
    fn api_error_displays_code_msg_and_request_id() {
        let e = ApiError {
            code: 500,
            msg: Some("订单不存在".into()),
            request_id: Some("4cfda0b725184ab8a1e3ee3b9051ec35".into()),
            develop_id: None,
            http_status: StatusCode::OK,
        };
        assert_eq!(
            e.to_string(),
            "pandapon error 500: 订单不存在 (requestId 4cfda0b725184ab8a1e3ee3b9051ec35)"
        );
    }

    /// A caught panic's message, whichever form its payload takes, escaped.
    #[test]
    fn a_panic_is_shown_by_its_message_escaped() {
        let caught = |f: fn()| std::panic::catch_unwind(f).expect_err("it panics");
        let literal = caught(|| panic!("a \u{1b}[2J bug"));
        let formatted = caught(|| panic!("bug {}", 7));
        let other = caught(|| std::panic::panic_any(7_u8));
        assert_eq!(panic_shown(literal.as_ref()), "a \\x1b[2J bug");
        assert_eq!(panic_shown(formatted.as_ref()), "bug 7");
        assert_eq!(panic_shown(other.as_ref()), "a panic without a message");
    }

    /// An envelope's request id is server text: shown like `ApiError`'s,
    /// escaped and cut at `SHOWN_LIMIT`, however long it is.
    #[test]
    fn an_incomplete_envelope_shows_its_request_id_bounded_and_escaped() {
        let e = Error::Incomplete {
            what: "no data",
            request_id: Some("4cfda0b7".into()),
        };
        assert_eq!(
            e.to_string(),
            "incomplete envelope: no data (requestId 4cfda0b7)"
        );
        let e = Error::Incomplete {
            what: "no code",
            request_id: None,
        };
        assert_eq!(
            e.to_string(),
            "incomplete envelope: no code (requestId <none>)"
        );
        let e = Error::Incomplete {
            what: "no data",
            request_id: Some(format!("\u{1b}]52;c;x\u{7}{}", "r".repeat(1 << 20))),
        };
        let text = e.to_string();
        assert!(text.len() < SHOWN_LIMIT + 200, "{} bytes", text.len());
        assert!(
            !text.contains('\u{1b}') && text.contains("\\x1b]52"),
            "{}",
            &text[..80]
        );
        assert!(
            text.ends_with("more bytes not shown))"),
            "{}",
            &text[text.len() - 80..]
        );
    }
}
