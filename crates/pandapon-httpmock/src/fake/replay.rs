//! Serving a cassette ([`pandapon_gen::cassette`]): each request, once its
//! signature is checked, gets the recorded answer of the exchange it
//! matches by method, path, query (without the signing values) and body.

use std::sync::{Mutex, PoisonError};

use hyper::{Response, StatusCode};
use pandapon_auth::VerifyError;
use pandapon_gen::cassette::{Exchange, query_text, unsigned_query};
use serde_json::Value;

use super::faults::{Scripted, reply};
use super::routes::query_mismatch;
use crate::{SIGNATURE_ERROR_CODE, business_error};

/// The code of the answer to a request no exchange matches (HTTP 404).
pub const NO_MATCH_CODE: i64 = 404;

/// A cassette being served: its exchanges and which were served.
pub(super) struct Replay {
    exchanges: Vec<Exchange>,
    served: Mutex<Vec<bool>>,
}

/// A request as replay matches it.
struct Asked<'a> {
    method: &'a str,
    path: &'a str,
    query: Vec<(String, String)>,
    body: &'a [u8],
}

impl Asked<'_> {
    /// What differs between this request and `e`, in the order a reader
    /// checks them; empty when it matches.
    fn differences(&self, e: &Exchange) -> Vec<&'static str> {
        let mut differs = Vec::new();
        if !self.method.eq_ignore_ascii_case(&e.method) {
            differs.push("method");
        }
        if self.path != e.path {
            differs.push("path");
        }
        let (mut a, mut b) = (self.query.clone(), e.query.clone());
        a.sort();
        b.sort();
        if a != b {
            differs.push("query");
        }
        if !same_body(
            self.body,
            e.request_body.as_deref().unwrap_or_default().as_bytes(),
        ) {
            differs.push("body");
        }
        differs
    }
}

/// Bodies match as JSON values when both are JSON (key order and spacing
/// aside), else byte for byte (an empty body matching no body).
fn same_body(a: &[u8], b: &[u8]) -> bool {
    match (
        serde_json::from_slice::<Value>(a),
        serde_json::from_slice::<Value>(b),
    ) {
        (Ok(a), Ok(b)) => a == b,
        _ => a.trim_ascii() == b.trim_ascii(),
    }
}

impl Replay {
    pub(super) fn new(exchanges: Vec<Exchange>) -> Self {
        let served = Mutex::new(vec![false; exchanges.len()]);
        Self { exchanges, served }
    }

    /// The answer to a request whose headers' signature verdict is
    /// `verdict`.
    pub(super) fn serve(
        &self,
        request: &http::request::Parts,
        verdict: Result<(), VerifyError>,
        body: &[u8],
    ) -> Response<Scripted> {
        if let Err(why) = verdict {
            let msg = format!("signature verification failed: {why}");
            return reply(StatusCode::OK, &business_error(SIGNATURE_ERROR_CODE, &msg));
        }
        let query = request.uri.query();
        let signed_in_query = unsigned_query(query).len()
            != query.map_or(0, |q| form_urlencoded::parse(q.as_bytes()).count());
        if signed_in_query && let Some(why) = query_mismatch(query, &request.headers) {
            return reply(StatusCode::OK, &business_error(SIGNATURE_ERROR_CODE, why));
        }
        let asked = Asked {
            method: request.method.as_str(),
            path: request.uri.path(),
            query: unsigned_query(query),
            body,
        };
        match self.find(&asked) {
            Some(exchange) => answer(exchange),
            None => {
                let msg = self.no_match(&asked);
                reply(StatusCode::NOT_FOUND, &business_error(NO_MATCH_CODE, &msg))
            }
        }
    }

    /// The first matching exchange not yet served, in the order they were
    /// recorded (a retried call replays its attempts in turn); when all
    /// that match were served, the last of them again.
    fn find(&self, asked: &Asked<'_>) -> Option<&Exchange> {
        let mut served = self.served.lock().unwrap_or_else(PoisonError::into_inner);
        let matching: Vec<usize> = (0..self.exchanges.len())
            .filter(|&i| asked.differences(&self.exchanges[i]).is_empty())
            .collect();
        let pick = matching
            .iter()
            .copied()
            .find(|&i| !served[i])
            .or_else(|| matching.last().copied())?;
        served[pick] = true;
        Some(&self.exchanges[pick])
    }

    /// Why nothing matched, naming the nearest recorded exchange: the one
    /// with the fewest differences, the earliest of those.
    fn no_match(&self, asked: &Asked<'_>) -> String {
        let mut line = format!("{} {}", asked.method, asked.path);
        if !asked.query.is_empty() {
            line.push('?');
            line.push_str(&query_text(&asked.query));
        }
        let nearest = self
            .exchanges
            .iter()
            .enumerate()
            .map(|(i, e)| (asked.differences(e), i, e))
            .min_by_key(|(d, i, _)| (d.len(), *i));
        match nearest {
            Some((differs, i, e)) => format!(
                "no recorded exchange matches {line}; the nearest is exchange {} of {} ({}), \
                 whose {} {}",
                i + 1,
                self.exchanges.len(),
                e.request_line(),
                differs.join(" and "),
                if differs.len() == 1 {
                    "differs"
                } else {
                    "differ"
                }
            ),
            None => format!("no recorded exchange matches {line}: the cassette is empty"),
        }
    }
}

/// An exchange's recorded answer: its status, the headers it kept, its body.
fn answer(exchange: &Exchange) -> Response<Scripted> {
    let status = StatusCode::from_u16(exchange.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut response = Response::new(Scripted::full(exchange.body_bytes()));
    *response.status_mut() = status;
    for (name, value) in &exchange.headers {
        if let (Ok(name), Ok(value)) = (
            http::HeaderName::from_bytes(name.as_bytes()),
            http::HeaderValue::from_str(value),
        ) {
            response.headers_mut().insert(name, value);
        }
    }
    response
}
