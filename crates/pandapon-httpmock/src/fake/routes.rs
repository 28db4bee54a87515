//! The routes the fake serves: every operation of the spec and any extra
//! path, each checked as PandaPon checks it (signature, query-signing,
//! body) and answered with its documented example.

use hyper::{Response, StatusCode};
use pandapon_auth::VerifyError;
use pandapon_gen::Operation;
use serde_json::{Value, json};

use super::State;
use super::faults::{Fault, Scripted, deliver, reply};
use crate::generated::EXAMPLES;
use crate::{REQUEST_ID, SIGNATURE_ERROR_CODE, business_error, success};

/// One route the fake serves: an operation of the spec ([`routes`],
/// [`Route::of`]) or a path the spec does not have ([`Route::extra`]),
/// answered with its example.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Route {
    serves: Serves,
    example: Option<&'static str>,
}

/// What a route serves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Serves {
    /// An operation of the spec, from `pandapon_gen::OPERATIONS`.
    Operation(&'static Operation),
    /// A path the spec does not have.
    Extra {
        method: &'static str,
        path: &'static str,
    },
}

/// Every operation of the spec as the fake serves it, in the order of
/// `pandapon_gen::OPERATIONS`, each with its documented example.
pub fn routes() -> Vec<Route> {
    pandapon_gen::OPERATIONS.iter().map(Route::of).collect()
}

impl Route {
    /// The route of one of the spec's operations, answered with its
    /// documented example: `Route::of(pandapon_gen::operation(id)?)`.
    pub fn of(operation: &'static Operation) -> Self {
        let example = EXAMPLES
            .binary_search_by(|(id, _)| id.cmp(&operation.id))
            .ok()
            .map(|i| EXAMPLES[i].1);
        Self {
            serves: Serves::Operation(operation),
            example,
        }
    }

    /// A route for a path the spec does not have, as
    /// `pandapon_gen::Client::request` calls it: `method` upper case,
    /// `path` a template like the spec's (`{name}` matches one non-empty
    /// segment), `example` the JSON text it answers with (`None`: an empty
    /// success envelope). It is checked like the spec's routes, with the
    /// `timestamp` and `sign` query parameters too where the client sends
    /// them (`pandapon_gen::is_query_signed_path`), and never pushes.
    pub const fn extra(
        method: &'static str,
        path: &'static str,
        example: Option<&'static str>,
    ) -> Self {
        Self {
            serves: Serves::Extra { method, path },
            example,
        }
    }

    /// The spec's operation it serves; `None` for an extra route.
    pub fn operation(&self) -> Option<&'static Operation> {
        match self.serves {
            Serves::Operation(operation) => Some(operation),
            Serves::Extra { .. } => None,
        }
    }

    /// The HTTP method, upper case.
    pub fn method(&self) -> &'static str {
        match self.serves {
            Serves::Operation(operation) => operation.method,
            Serves::Extra { method, .. } => method,
        }
    }

    /// The path template, with `{name}` for path parameters.
    pub fn path(&self) -> &'static str {
        match self.serves {
            Serves::Operation(operation) => operation.path,
            Serves::Extra { path, .. } => path,
        }
    }

    /// Whether a call must also carry `timestamp` and `sign` query
    /// parameters equal to the signed headers.
    pub fn query_signed(&self) -> bool {
        match self.serves {
            Serves::Operation(operation) => operation.query_signed,
            Serves::Extra { path, .. } => pandapon_gen::is_query_signed_path(path),
        }
    }

    /// The example it answers with, as JSON text.
    pub fn example(&self) -> Option<&'static str> {
        self.example
    }

    fn matches(&self, method: &str, path: &str) -> bool {
        if !self.method().eq_ignore_ascii_case(method) {
            return false;
        }
        let mut want = self.path().split('/');
        let mut got = path.split('/');
        loop {
            match (want.next(), got.next()) {
                (None, None) => return true,
                (Some(w), Some(g)) if w.starts_with('{') && !g.is_empty() => {}
                (Some(w), Some(g)) if w == g => {}
                _ => return false,
            }
        }
    }

    /// The success answer: the example with `code` 200 (examples that are
    /// placeholders carry 0), or an empty success envelope.
    pub fn answer(&self) -> Value {
        let Some(mut example) = self
            .example
            .and_then(|t| serde_json::from_str::<Value>(t).ok())
        else {
            return success(json!({}));
        };
        if let Some(envelope) = example.as_object_mut() {
            envelope.insert("code".into(), json!(200));
            envelope.insert("msg".into(), json!("成功"));
            if envelope.contains_key("requestId") {
                envelope.insert("requestId".into(), json!(REQUEST_ID));
            }
        }
        example
    }
}

/// Why the warehouse-logistics query does not match the headers, if it
/// does not: its `timestamp` and `sign`, percent-decoded, must equal the
/// `timestamp` and `signature` headers.
pub(super) fn query_mismatch(
    query: Option<&str>,
    headers: &http::HeaderMap,
) -> Option<&'static str> {
    let param = |name: &str| {
        form_urlencoded::parse(query.unwrap_or_default().as_bytes())
            .find(|(key, _)| key == name)
            .map(|(_, value)| value)
    };
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    let (Some(timestamp), Some(sign)) = (param("timestamp"), param("sign")) else {
        return Some("query parameters timestamp and sign are required");
    };
    if Some(&*timestamp) != header("timestamp") || Some(&*sign) != header("signature") {
        return Some("query timestamp/sign do not match the signed headers");
    }
    None
}

/// Serves a request as PandaPon would: its route, its signature, its body,
/// then the route's answer (and the push the call causes), delivered as a
/// body fault says.
pub(super) fn serve(
    state: &State,
    request: &http::request::Parts,
    verdict: Result<(), VerifyError>,
    body: &[u8],
    fault: Option<&Fault>,
) -> Response<Scripted> {
    let (method, path) = (request.method.as_str(), request.uri.path());
    let Some(route) = state.routes.iter().find(|r| r.matches(method, path)) else {
        let msg = format!("no operation at {method} {path}");
        return reply(StatusCode::NOT_FOUND, &business_error(404, &msg));
    };
    if let Err(why) = authenticate(route, request, verdict) {
        let refusal = business_error(SIGNATURE_ERROR_CODE, &why);
        return reply(StatusCode::OK, &refusal);
    }
    let Some(json) = request_json(route, body) else {
        let refusal = business_error(400, "request body is not JSON");
        return reply(StatusCode::OK, &refusal);
    };
    // The call took effect: push what PandaPon would push after it.
    if let (Some(pusher), Some(operation)) = (&state.push, route.operation()) {
        pusher.after(operation.id, &json);
    }
    let mut answer = route.answer();
    if let Some(field) = route.operation().and_then(|op| op.page_field) {
        turn_to_page(&mut answer, json[field].as_i64().unwrap_or(1));
    }
    deliver(&answer, fault)
}

/// The documented example of a page as page `page`: its `currentPage` set
/// to it, as PandaPon's pages say which they are (a page stream stops at a
/// page that repeats the previous one whole). Page 1 is the example itself.
fn turn_to_page(answer: &mut Value, page: i64) {
    if let Some(data) = answer.get_mut("data").and_then(Value::as_object_mut)
        && data.contains_key("currentPage")
    {
        data.insert("currentPage".into(), page.into());
    }
}

/// Why PandaPon would refuse the call's signature, if it would: the
/// headers' verdict, then for a query-signed route the query's.
fn authenticate(
    route: &Route,
    request: &http::request::Parts,
    verdict: Result<(), VerifyError>,
) -> Result<(), String> {
    verdict.map_err(|why| format!("signature verification failed: {why}"))?;
    if route.query_signed()
        && let Some(why) = query_mismatch(request.uri.query(), &request.headers)
    {
        return Err(why.to_owned());
    }
    Ok(())
}

/// The request body as JSON: required of a POST; `null` for another
/// method's body that is not JSON (an empty one).
fn request_json(route: &Route, body: &[u8]) -> Option<Value> {
    match serde_json::from_slice(body) {
        Ok(json) => Some(json),
        Err(_) if route.method().eq_ignore_ascii_case("POST") => None,
        Err(_) => Some(Value::Null),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes_match_templates_segment_by_segment() {
        let route = Route::of(pandapon_gen::operation("taobao_refund_cancel").expect("operation"));
        assert!(route.matches("GET", "/v2/taobao/order/refund/cancel/110000235001"));
        assert!(!route.matches("GET", "/v2/taobao/order/refund/cancel/"));
        assert!(!route.matches("GET", "/v2/taobao/order/refund/cancel/1/2"));
        assert!(!route.matches("POST", "/v2/taobao/order/refund/cancel/1"));
    }

    #[test]
    fn every_documented_example_is_an_envelope_of_a_spec_operation() {
        for (id, example) in EXAMPLES {
            assert!(
                pandapon_gen::operation(id).is_some(),
                "an example for {id}, which the spec lacks"
            );
            let json = serde_json::from_str::<Value>(example).expect("JSON");
            assert!(
                json.get("code").is_some(),
                "{id}: the example is not an envelope: {json}"
            );
        }
        // Served with code 200 whatever the example's placeholder code.
        for route in routes() {
            assert_eq!(route.answer()["code"], 200, "{}", route.path());
        }
    }

    #[test]
    fn an_extra_route_is_query_signed_as_the_client_signs_it() {
        let read = Route::extra("GET", "/v2/example/{id}", None);
        assert!(read.operation().is_none());
        assert!(read.matches("GET", "/v2/example/1"));
        assert!(!read.query_signed());
        assert_eq!(read.answer()["code"], 200);
        let logistics = Route::extra("POST", "/v2/open/pp/logistics/example", Some("{}"));
        assert!(logistics.query_signed());
    }

    fn signed_headers(timestamp: &str, signature: &str) -> http::HeaderMap {
        let mut headers = http::HeaderMap::new();
        headers.insert("timestamp", timestamp.parse().expect("header"));
        headers.insert("signature", signature.parse().expect("header"));
        headers
    }

    #[test]
    fn the_query_is_compared_percent_decoded() {
        let headers = signed_headers("1700000000000", "AB+/=C");
        let query = "orderId=1&timestamp=1700000000000&sign=AB%2B%2F%3DC";
        assert_eq!(query_mismatch(Some(query), &headers), None);
        let headers = signed_headers("1700000000000", "138C588C7D5F483C99D06530E8E87A7D");
        let query = "sign=%31%33%38C588C7D5F483C99D06530E8E87A7D&timestamp=17%30%30000000000";
        assert_eq!(query_mismatch(Some(query), &headers), None);
    }

    #[test]
    fn a_query_that_differs_or_lacks_a_parameter_is_refused() {
        let headers = signed_headers("1700000000000", "138C588C7D5F483C99D06530E8E87A7D");
        let other = "timestamp=1700000000000&sign=138C588C7D5F483C99D06530E8E87A7E";
        assert_eq!(
            query_mismatch(Some(other), &headers),
            Some("query timestamp/sign do not match the signed headers")
        );
        let encoded_other = "timestamp=1700000000000&sign=138C588C7D5F483C99D06530E8E87A7%45";
        assert!(query_mismatch(Some(encoded_other), &headers).is_some());
        for query in [None, Some("timestamp=1700000000000"), Some("sign=x")] {
            assert_eq!(
                query_mismatch(query, &headers),
                Some("query parameters timestamp and sign are required")
            );
        }
    }
}
