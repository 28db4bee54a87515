//! A fake PandaPon: a local HTTP server that checks signatures like PandaPon
//! and answers every operation of the spec with its documented example.

use std::collections::VecDeque;
use std::convert::Infallible;
use std::io;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use serde_json::{Value, json};
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use crate::{REQUEST_ID, ROUTES, SIGNATURE_ERROR_CODE, SignatureCheck, business_error, success};

/// Largest request body the fake reads.
const BODY_LIMIT: usize = 1 << 20;

/// One operation of the spec, as the fake serves it (generated into `ROUTES`).
#[derive(Debug, Clone, Copy)]
pub struct Route {
    /// The operationId.
    pub operation_id: &'static str,
    /// The HTTP method, upper case.
    pub method: &'static str,
    /// The path template, with `{name}` for path parameters.
    pub path: &'static str,
    /// Whether the call carries `timestamp` and `sign` query parameters.
    pub query_signed: bool,
    /// The first documented response example, as JSON text.
    pub example: Option<&'static str>,
}

impl Route {
    fn matches(&self, method: &str, path: &str) -> bool {
        if self.method != method {
            return false;
        }
        let mut want = self.path.split('/');
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

    /// The success answer: the documented example with `code` 200 (examples
    /// that are placeholders carry 0), or an empty success envelope.
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

/// A failure the fake injects into the next request, before answering it.
///
/// More kinds may be added: match with a wildcard arm.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Fault {
    /// Answer with this HTTP status and an HTML body, as a proxy would;
    /// with `Some(secs)`, also send `Retry-After: secs`.
    Status(u16, Option<u64>),
    /// Wait this long, then answer normally (to outlast a client's timeout).
    Delay(Duration),
    /// Answer a signed request with this business error (code, msg) inside
    /// HTTP 200, as PandaPon refuses a call.
    Business(i64, String),
}

struct State {
    check: SignatureCheck,
    faults: Mutex<VecDeque<Fault>>,
    extra: Vec<Route>,
}

/// A running fake PandaPon. It stops when dropped.
///
/// Every operation in `openapi/pandapon.yaml` is served on its method and
/// path. A request must carry a valid signature for the fake's credentials
/// (and, for the warehouse-logistics operations, `timestamp` and `sign` query
/// parameters equal to the header timestamp and signature, the SDK's default
/// rule); otherwise the answer is a business error with code
/// [`SIGNATURE_ERROR_CODE`] and the reason in `msg`. A POST body must be
/// JSON. Unknown routes get HTTP 404 with an error envelope.
#[derive(Debug)]
pub struct FakePandaPon {
    addr: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    task: JoinHandle<()>,
}

impl FakePandaPon {
    /// Listens on `addr` (port 0 picks a free port) and serves until dropped
    /// or [`stopped`](Self::stop).
    pub async fn start(addr: SocketAddr, check: SignatureCheck) -> io::Result<Self> {
        Self::start_with_faults(addr, check, Vec::new()).await
    }

    /// Like [`start`](Self::start), failing the first requests as `faults`
    /// says, one fault per request, in order. Every request, faulty or not,
    /// is logged by the signature check (see [`SignatureCheck::seen`]).
    pub async fn start_with_faults(
        addr: SocketAddr,
        check: SignatureCheck,
        faults: Vec<Fault>,
    ) -> io::Result<Self> {
        Self::start_with_routes(addr, check, faults, Vec::new()).await
    }

    /// Like [`start_with_faults`](Self::start_with_faults), also serving
    /// `extra` routes the spec does not have (for calls made with
    /// `pandapon_gen::Client::request`), checked and answered as the spec's.
    pub async fn start_with_routes(
        addr: SocketAddr,
        check: SignatureCheck,
        faults: Vec<Fault>,
        extra: Vec<Route>,
    ) -> io::Result<Self> {
        let listener = TcpListener::bind(addr).await?;
        let addr = listener.local_addr()?;
        let (stop, mut stopped) = oneshot::channel();
        let check = Arc::new(State {
            check,
            faults: Mutex::new(faults.into()),
            extra,
        });
        let task = tokio::spawn(async move {
            loop {
                tokio::select! {
                    _ = &mut stopped => break,
                    accepted = listener.accept() => {
                        let Ok((stream, _)) = accepted else { continue };
                        let check = check.clone();
                        tokio::spawn(async move {
                            let service = service_fn(move |req| answer(check.clone(), req));
                            // A client hanging up mid-request is its own business.
                            let _ = http1::Builder::new()
                                .serve_connection(TokioIo::new(stream), service)
                                .await;
                        });
                    }
                }
            }
        });
        Ok(Self {
            addr,
            stop: Some(stop),
            task,
        })
    }

    /// The address it listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://<addr>`, for `ClientBuilder::base_url`.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Stops accepting connections and waits for the accept loop to end.
    pub async fn stop(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        let _ = (&mut self.task).await;
    }
}

impl Drop for FakePandaPon {
    fn drop(&mut self) {
        self.task.abort();
    }
}

fn reply(status: StatusCode, body: &Value) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(Bytes::from(body.to_string())));
    *response.status_mut() = status;
    response.headers_mut().insert(
        http::header::CONTENT_TYPE,
        http::HeaderValue::from_static("application/json"),
    );
    response
}

/// Why the warehouse-logistics query does not match the headers, if it does not.
fn query_mismatch(query: Option<&str>, headers: &http::HeaderMap) -> Option<&'static str> {
    let pairs: Vec<(String, String)> = query
        .map(|q| {
            q.split('&')
                .filter_map(|kv| kv.split_once('='))
                .map(|(k, v)| (k.to_owned(), v.to_owned()))
                .collect()
        })
        .unwrap_or_default();
    let get = |name: &str| {
        pairs
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    };
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    if get("timestamp").is_none() || get("sign").is_none() {
        return Some("query parameters timestamp and sign are required");
    }
    if get("timestamp") != header("timestamp") || get("sign") != header("signature") {
        return Some("query timestamp/sign do not match the signed headers");
    }
    None
}

async fn answer(
    state: Arc<State>,
    request: Request<Incoming>,
) -> Result<Response<Full<Bytes>>, Infallible> {
    let (parts, body) = request.into_parts();
    let path = parts.uri.path().to_owned();
    let verdict = state.check.check_headers(&path, &parts.headers);
    let fault = state
        .faults
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .pop_front();
    match fault {
        Some(Fault::Status(status, retry_after)) => {
            let status = StatusCode::from_u16(status).unwrap_or(StatusCode::SERVICE_UNAVAILABLE);
            let mut response = Response::new(Full::new(Bytes::from(format!(
                "<html><body><h1>{status}</h1>injected by the fake</body></html>"
            ))));
            *response.status_mut() = status;
            if let Some(secs) = retry_after {
                response
                    .headers_mut()
                    .insert(http::header::RETRY_AFTER, http::HeaderValue::from(secs));
            }
            return Ok(response);
        }
        Some(Fault::Delay(pause)) => tokio::time::sleep(pause).await,
        Some(Fault::Business(code, msg)) if verdict.is_ok() => {
            return Ok(reply(StatusCode::OK, &business_error(code, &msg)));
        }
        Some(Fault::Business(..)) | None => {}
    }
    let Some(route) = ROUTES
        .iter()
        .chain(&state.extra)
        .find(|r| r.matches(parts.method.as_str(), &path))
    else {
        let msg = format!("no operation at {} {path}", parts.method);
        return Ok(reply(StatusCode::NOT_FOUND, &business_error(404, &msg)));
    };
    if let Err(why) = verdict {
        let msg = format!("signature verification failed: {why}");
        return Ok(reply(
            StatusCode::OK,
            &business_error(SIGNATURE_ERROR_CODE, &msg),
        ));
    }
    if route.query_signed
        && let Some(why) = query_mismatch(parts.uri.query(), &parts.headers)
    {
        return Ok(reply(
            StatusCode::OK,
            &business_error(SIGNATURE_ERROR_CODE, why),
        ));
    }
    let bytes = match Limited::new(body, BODY_LIMIT).collect().await {
        Ok(collected) => collected.to_bytes(),
        Err(_) => {
            let msg = "request body unreadable or over 1 MiB";
            return Ok(reply(StatusCode::BAD_REQUEST, &business_error(400, msg)));
        }
    };
    if route.method == "POST" && serde_json::from_slice::<Value>(&bytes).is_err() {
        return Ok(reply(
            StatusCode::OK,
            &business_error(400, "request body is not JSON"),
        ));
    }
    Ok(reply(StatusCode::OK, &route.answer()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes_match_templates_segment_by_segment() {
        let route = ROUTES
            .iter()
            .find(|r| r.operation_id == "taobao_refund_cancel")
            .expect("route");
        assert!(route.matches("GET", "/v2/taobao/order/refund/cancel/110000235001"));
        assert!(!route.matches("GET", "/v2/taobao/order/refund/cancel/"));
        assert!(!route.matches("GET", "/v2/taobao/order/refund/cancel/1/2"));
        assert!(!route.matches("POST", "/v2/taobao/order/refund/cancel/1"));
    }

    #[test]
    fn every_route_answers_a_success_envelope() {
        assert_eq!(ROUTES.len(), 42);
        for route in ROUTES {
            let answer = route.answer();
            assert_eq!(answer["code"], 200, "{}", route.operation_id);
        }
    }
}
