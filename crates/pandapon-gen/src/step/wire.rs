//! The wire log: each attempt's request and answer as text, at TRACE on the
//! `pandapon::wire` target (the CLI's `--verbose` shows it on stderr).
//!
//! The `signature` and `nonce-str` headers, the `sign` query value, the
//! usual credential headers and every value marked sensitive (the extra
//! headers a caller adds through `CallOptions` are) are redacted; the secret
//! is in no request, so it cannot appear. Everything
//! from the request or the answer is escaped
//! ([`escape_shown`](crate::escape_shown)), and each body is shown up to
//! [`SHOWN_LIMIT`](crate::SHOWN_LIMIT) bytes, with a note of what was cut.
//! Built only when a subscriber wants the target: otherwise no text is
//! made.

use std::fmt::Write as _;

use reqwest::header::HeaderMap;

use super::classify::Happened;
use crate::escape_shown;

/// The tracing target of the wire log.
pub(crate) const TARGET: &str = "pandapon::wire";

/// What a redacted value shows.
const REDACTED: &str = "<redacted>";

/// Headers whose values never show: the signing values (`signature`, and
/// `nonce-str`, which with the timestamp would let a reader check guesses
/// of the secret offline) and the usual credential headers. Values marked
/// sensitive never show either (see [`headers`]).
fn redacted_header(name: &str) -> bool {
    matches!(
        name,
        "signature"
            | "nonce-str"
            | "authorization"
            | "proxy-authorization"
            | "cookie"
            | "set-cookie"
    )
}

/// Query values that are signing values (the `sign` of the operations
/// signed in the query too, and its `timestamp`): the names cassettes leave
/// out too.
fn signing_query(name: &str) -> bool {
    crate::cassette::SIGNING_QUERY.contains(&name)
}

/// Whether a subscriber wants the wire log.
#[inline]
pub(crate) fn wanted() -> bool {
    tracing::enabled!(target: TARGET, tracing::Level::TRACE)
}

/// The URL without the query's signing values: what `url.full` shows.
pub(crate) fn url_without_signing(url: &reqwest::Url) -> String {
    if !url.query_pairs().any(|(k, _)| signing_query(&k)) {
        return url.as_str().to_owned();
    }
    let mut shown = url.clone();
    let kept = crate::cassette::unsigned_query(url.query());
    if kept.is_empty() {
        shown.set_query(None);
    } else {
        shown.query_pairs_mut().clear().extend_pairs(kept);
    }
    shown.to_string()
}

/// A transport error without the signing values in the URL it names:
/// reqwest's message quotes the request's URL, whose query holds `sign` for
/// the operations signed in the query too.
pub(crate) fn unsigned_error(mut error: reqwest::Error) -> reqwest::Error {
    if let Some(url) = error.url_mut()
        && url.query_pairs().any(|(k, _)| signing_query(&k))
        && let Ok(unsigned) = reqwest::Url::parse(&url_without_signing(url))
    {
        *url = unsigned;
    }
    error
}

/// The URL with the `sign` value redacted (the timestamp is no secret).
fn url_redacted(url: &reqwest::Url) -> String {
    if !url.query_pairs().any(|(k, _)| k == "sign") {
        return url.as_str().to_owned();
    }
    let mut shown = url.clone();
    let pairs: Vec<(String, String)> = url
        .query_pairs()
        .map(|(k, v)| {
            let v = if k == "sign" {
                REDACTED.to_owned()
            } else {
                v.into_owned()
            };
            (k.into_owned(), v)
        })
        .collect();
    shown.query_pairs_mut().clear().extend_pairs(pairs);
    shown.to_string()
}

fn headers(out: &mut String, mark: char, headers: &HeaderMap) {
    for (name, value) in headers {
        // Extra headers from `CallOptions` are marked sensitive: any of
        // them may carry a caller's credential.
        let value = if value.is_sensitive() || redacted_header(name.as_str()) {
            REDACTED.into()
        } else {
            escape_shown(&String::from_utf8_lossy(value.as_bytes()))
        };
        let _ = writeln!(out, "{mark} {}: {value}", name.as_str());
    }
}

fn body(out: &mut String, mark: char, bytes: &[u8]) {
    if !bytes.is_empty() {
        let _ = writeln!(out, "{mark}");
        let _ = writeln!(
            out,
            "{mark} {}",
            escape_shown(&String::from_utf8_lossy(bytes))
        );
    }
}

/// Logs an attempt's request as it is sent (signed).
pub(crate) fn request(operation: &'static str, attempt: u32, request: &reqwest::Request) {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "> {} {} ({operation}, attempt {attempt})",
        request.method(),
        escape_shown(&url_redacted(request.url()))
    );
    headers(&mut out, '>', request.headers());
    if let Some(bytes) = request.body().and_then(reqwest::Body::as_bytes) {
        body(&mut out, '>', bytes);
    }
    tracing::trace!(target: TARGET, "{}", out.trim_end());
}

/// Logs how an attempt ended: the answer's status, headers and body, or
/// why none came.
pub(crate) fn answer(operation: &'static str, attempt: u32, happened: &Happened) {
    let mut out = String::new();
    match happened {
        Happened::Answered {
            status,
            headers: h,
            body: b,
        } => {
            let _ = writeln!(out, "< {status} ({operation}, attempt {attempt})");
            headers(&mut out, '<', h);
            body(&mut out, '<', b);
        }
        Happened::BodyFailed { status, error } => {
            let _ = writeln!(
                out,
                "< {status} ({operation}, attempt {attempt}); reading the body failed: {}",
                escape_shown(&format!("{error:?}"))
            );
        }
        Happened::Failed(e) => {
            let _ = writeln!(
                out,
                "< no answer ({operation}, attempt {attempt}): {}",
                crate::error::chain(e)
            );
        }
    }
    tracing::trace!(target: TARGET, "{}", out.trim_end());
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signing_values_are_redacted_and_text_escaped() {
        let mut request = reqwest::Client::new()
            .post("http://127.0.0.1:1/logistics?timestamp=1&sign=ABCDEF&x=%E2%80%AE")
            .header("signature", "0123456789ABCDEF0123456789ABCDEF")
            .header("nonce-str", "abcdefghijabcdefghijabcdefghij12")
            .header("access-key", "key")
            .body("{\"a\":\"\u{1b}[2J\"}")
            .build()
            .expect("request");
        *request.timeout_mut() = None;
        assert_eq!(
            url_without_signing(request.url()),
            "http://127.0.0.1:1/logistics?x=%E2%80%AE"
        );
        let mut key = reqwest::header::HeaderValue::from_static("k-123");
        key.set_sensitive(true);
        request.headers_mut().insert("x-api-key", key);
        let mut out = String::new();
        headers(&mut out, '>', request.headers());
        assert!(out.contains("> x-api-key: <redacted>\n"), "{out}");
        assert!(!out.contains("k-123"), "{out}");
        assert!(out.contains("> signature: <redacted>\n"), "{out}");
        assert!(out.contains("> nonce-str: <redacted>\n"), "{out}");
        assert!(out.contains("> access-key: key\n"), "{out}");
        assert!(!out.contains("0123456789ABCDEF"), "{out}");
        assert_eq!(
            url_redacted(request.url()),
            "http://127.0.0.1:1/logistics?timestamp=1&sign=%3Credacted%3E&x=%E2%80%AE"
        );
        let mut b = String::new();
        body(
            &mut b,
            '>',
            request
                .body()
                .and_then(reqwest::Body::as_bytes)
                .expect("bytes"),
        );
        assert!(b.contains(r#"{"a":"\x1b[2J"}"#), "{b}");
        let url = reqwest::Url::parse("http://h/p?sign=1").expect("url");
        assert_eq!(url_without_signing(&url), "http://h/p");
    }
}
