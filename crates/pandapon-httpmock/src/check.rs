//! The signature check and envelopes that make an httpmock server behave like
//! PandaPon towards a client.

use std::sync::{Arc, Mutex, PoisonError};
use std::time::SystemTime;

use httpmock::{HttpMockRequest, Mock, MockServer};
use pandapon_auth::{Credentials, TimestampUnit, Verifier, VerifyError};
use serde_json::{Value, json};

/// A request id in PandaPon's format (32 lowercase hex characters), taken
/// from the docs' cancel example.
pub const REQUEST_ID: &str = "0d1de79d9f4540308d14c558f86cb3da";
/// A developer id in PandaPon's format (19 digits, beyond 2^53), taken from
/// the docs' cancel example.
pub const DEVELOP_ID: &str = "1110890638347337996";
/// The code the guard mock answers unsigned or badly signed requests with.
///
/// PandaPon's error-code table is not public; this value is the mock's own.
pub const SIGNATURE_ERROR_CODE: i64 = 401;

/// A request as the signature check saw it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Seen {
    /// The request path.
    pub path: String,
    /// The `timestamp` header.
    pub timestamp: Option<String>,
    /// The `nonce-str` header.
    pub nonce: Option<String>,
    /// The `user-id` header.
    pub user_id: Option<String>,
    /// The verdict.
    pub verdict: Result<(), VerifyError>,
}

/// Accepts only requests signed with known credentials, as PandaPon does:
/// all five headers, matching access key and user id, a timestamp within
/// 600 s of now, a 32-character alphanumeric nonce and the right signature.
///
/// Every request it judges is logged, so a test can check nonces and count
/// attempts.
#[derive(Debug, Clone)]
pub struct SignatureCheck {
    verifier: Verifier,
    log: Arc<Mutex<Vec<Seen>>>,
}

impl SignatureCheck {
    /// A check for `credentials`, expecting millisecond timestamps.
    pub fn new(credentials: Credentials) -> Self {
        Self {
            verifier: Verifier::new(credentials),
            log: Arc::default(),
        }
    }

    /// Expects timestamps in `unit`.
    pub fn with_timestamp_unit(mut self, unit: TimestampUnit) -> Self {
        self.verifier = self.verifier.with_timestamp_unit(unit);
        self
    }

    /// The credentials requests are checked against (and pushed messages
    /// signed with).
    pub fn credentials(&self) -> &Credentials {
        self.verifier.credentials()
    }

    /// Also accepts these user ids, the sub-accounts the same access key
    /// acts for (see `Client::with_user_id`).
    pub fn with_sub_accounts(
        mut self,
        user_ids: impl IntoIterator<Item = impl Into<String>>,
    ) -> Self {
        self.verifier = self.verifier.with_sub_accounts(user_ids);
        self
    }

    /// Judges one httpmock request against the current time, and logs it.
    ///
    /// # Errors
    ///
    /// Why PandaPon would refuse the request's signature, when it would.
    pub fn check(&self, request: &HttpMockRequest) -> Result<(), VerifyError> {
        self.check_headers(request.uri().path(), &request.headers())
    }

    /// Judges a request's headers against the current time, and logs it.
    ///
    /// # Errors
    ///
    /// Why PandaPon would refuse the request's signature, when it would.
    pub fn check_headers(&self, path: &str, headers: &http::HeaderMap) -> Result<(), VerifyError> {
        let verdict = self.verifier.verify_headers(headers, SystemTime::now());
        let header = |name: &str| {
            headers
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned)
        };
        let seen = Seen {
            path: path.to_owned(),
            timestamp: header("timestamp"),
            nonce: header("nonce-str"),
            user_id: header("user-id"),
            verdict: verdict.clone(),
        };
        self.log
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(seen);
        verdict
    }

    /// An httpmock matcher that is true for correctly signed requests
    /// (use with `when.is_true(..)`).
    pub fn signed(&self) -> impl Fn(&HttpMockRequest) -> bool + Send + Sync + 'static {
        let this = self.clone();
        move |req| this.check(req).is_ok()
    }

    /// An httpmock matcher that is true for unsigned or badly signed requests.
    /// It does not log, so each request appears once in [`seen`](Self::seen).
    pub fn unsigned(&self) -> impl Fn(&HttpMockRequest) -> bool + Send + Sync + 'static {
        let verifier = self.verifier.clone();
        move |req| {
            verifier
                .verify_headers(&req.headers(), SystemTime::now())
                .is_err()
        }
    }

    /// Every request judged so far, in order of arrival.
    pub fn seen(&self) -> Vec<Seen> {
        self.log
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Mounts a mock that answers any unsigned or badly signed request with a
    /// business-error envelope (code [`SIGNATURE_ERROR_CODE`]), so that a
    /// misconfigured client gets an error rather than a route-not-found.
    pub async fn guard<'a>(&self, server: &'a MockServer) -> Mock<'a> {
        let unsigned = self.unsigned();
        server
            .mock_async(|when, then| {
                when.is_true(unsigned);
                then.status(200)
                    .header("content-type", "application/json")
                    .json_body(business_error(
                        SIGNATURE_ERROR_CODE,
                        "signature verification failed",
                    ));
            })
            .await
    }

    /// Mounts a mock for any `method` and `path` (a path the spec may not
    /// have, as [`pandapon_gen::Client::request`] calls) that matches only
    /// requests this check accepts, and answers with `then`. Add more
    /// matchers in `when` (query, body); it already has the method, path
    /// and signature check.
    pub async fn route<'a>(
        &self,
        server: &'a MockServer,
        method: httpmock::Method,
        path: &str,
        when: impl FnOnce(httpmock::When) -> httpmock::When,
        then: impl FnOnce(httpmock::Then),
    ) -> Mock<'a> {
        let signed = self.signed();
        server
            .mock_async(|w, t| {
                when(w.method(method).path(path).is_true(signed));
                then(t);
            })
            .await
    }
}

/// A success envelope around `data`, shaped like PandaPon's.
pub fn success(data: impl Into<Value>) -> Value {
    json!({
        "requestId": REQUEST_ID,
        "code": 200,
        "developId": DEVELOP_ID,
        "msg": "成功",
        "data": data.into(),
    })
}

/// A business-error envelope: HTTP 200 with a non-200 `code`.
pub fn business_error(code: i64, msg: &str) -> Value {
    json!({
        "requestId": REQUEST_ID,
        "code": code,
        "developId": DEVELOP_ID,
        "msg": msg,
        "data": null,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use pandapon_auth::Signer;

    fn creds() -> Credentials {
        Credentials::new("ak", "sk", "u1").expect("credentials")
    }

    #[tokio::test]
    async fn accepts_signed_and_guards_unsigned() {
        let server = MockServer::start_async().await;
        let check = SignatureCheck::new(creds());
        let ok = server
            .mock_async(|when, then| {
                when.path("/x").is_true(check.signed());
                then.status(200).json_body(success(true));
            })
            .await;
        let guard = check.guard(&server).await;

        let http = reqwest::Client::new();
        let mut headers = reqwest::header::HeaderMap::new();
        Signer::new(creds()).sign_now().apply(&mut headers);
        let signed: Value = http
            .post(server.url("/x"))
            .headers(headers)
            .send()
            .await
            .expect("send")
            .json()
            .await
            .expect("json");
        assert_eq!(signed["code"], 200);

        let unsigned: Value = http
            .post(server.url("/x"))
            .send()
            .await
            .expect("send")
            .json()
            .await
            .expect("json");
        assert_eq!(unsigned["code"], SIGNATURE_ERROR_CODE);
        assert_eq!(unsigned["requestId"], REQUEST_ID);

        ok.assert_calls_async(1).await;
        guard.assert_calls_async(1).await;
        let seen = check.seen();
        assert_eq!(
            seen.last().map(|s| s.verdict.clone()),
            Some(Err(VerifyError::MissingHeader("access-key")))
        );
        assert!(
            seen.iter()
                .any(|s| s.verdict.is_ok() && s.user_id.as_deref() == Some("u1"))
        );
    }
}
