//! The extra query parameters, headers and body fields a call's options add
//! to its request, checked before anything is signed.

use reqwest::header::{HeaderName, HeaderValue};

use crate::Error;

/// What [`CallOptions`](crate::CallOptions)' `extra_*` methods collected.
#[derive(Clone, Default)]
pub(crate) struct Extras {
    pub(crate) query: Vec<(String, String)>,
    pub(crate) headers: Vec<(String, String)>,
    pub(crate) body: Vec<(String, serde_json::Value)>,
}

/// The extra headers' values are redacted: a caller may add a credential
/// (an `Authorization`, an API key) this way.
impl std::fmt::Debug for Extras {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let headers: Vec<(&str, &str)> = self
            .headers
            .iter()
            .map(|(name, _)| (name.as_str(), "<redacted>"))
            .collect();
        f.debug_struct("Extras")
            .field("query", &self.query)
            .field("headers", &headers)
            .field("body", &self.body)
            .finish()
    }
}

/// Headers an extra header may not set: the signing headers (set afresh for
/// each attempt), and those that say what the body is or frame the request.
const RESERVED_HEADERS: [HeaderName; 9] = [
    pandapon_auth::ACCESS_KEY,
    pandapon_auth::TIMESTAMP,
    pandapon_auth::NONCE,
    pandapon_auth::USER_ID,
    pandapon_auth::SIGNATURE,
    reqwest::header::CONTENT_TYPE,
    reqwest::header::CONTENT_LENGTH,
    reqwest::header::TRANSFER_ENCODING,
    reqwest::header::HOST,
];

/// Query parameters the warehouse-logistics operations are signed with.
const SIGNING_QUERY: &[&str] = &["timestamp", "sign"];

impl Extras {
    /// Adds the extras to `request`, or says why they cannot be added;
    /// nothing is added unless all can be.
    pub(crate) fn apply(
        &self,
        request: &mut reqwest::Request,
        query_signed: bool,
    ) -> Result<(), Error> {
        let refuse = |why: String| Err(Error::InvalidRequest(why));
        let mut headers = Vec::with_capacity(self.headers.len());
        for (name, value) in &self.headers {
            let Ok(header) = HeaderName::from_bytes(name.as_bytes()) else {
                return refuse(format!("extra header {name:?} is not a header name"));
            };
            if RESERVED_HEADERS.contains(&header) {
                return refuse(format!(
                    "extra header {header} cannot be set: the SDK sets it (signing, body, framing)"
                ));
            }
            let Ok(mut value) = HeaderValue::from_str(value) else {
                return refuse(format!(
                    "extra header {header}: its value cannot be sent in an HTTP header"
                ));
            };
            // It may be a credential: the wire log and `Debug` do not show
            // sensitive values.
            value.set_sensitive(true);
            headers.push((header, value));
        }
        if query_signed
            && let Some((name, _)) = self
                .query
                .iter()
                .find(|(n, _)| SIGNING_QUERY.contains(&n.as_str()))
        {
            return refuse(format!(
                "extra query parameter {name:?} cannot be set: this operation is signed with it"
            ));
        }
        let body = if self.body.is_empty() {
            None
        } else {
            Some(self.merged_body(request)?)
        };
        // Everything checked: apply.
        for (name, value) in headers {
            request.headers_mut().append(name, value);
        }
        if !self.query.is_empty() {
            request
                .url_mut()
                .query_pairs_mut()
                .extend_pairs(self.query.iter().map(|(k, v)| (k.as_str(), v.as_str())));
        }
        if let Some(body) = body {
            *request.body_mut() = Some(reqwest::Body::from(body));
        }
        Ok(())
    }

    /// The request's JSON object body with the extra fields at its top
    /// level.
    fn merged_body(&self, request: &reqwest::Request) -> Result<Vec<u8>, Error> {
        let refuse = |why: String| Err(Error::InvalidRequest(why));
        let bytes = request.body().and_then(reqwest::Body::as_bytes);
        let Some(Ok(serde_json::Value::Object(mut object))) =
            bytes.map(serde_json::from_slice::<serde_json::Value>)
        else {
            return refuse("extra body fields need a call whose body is a JSON object".to_owned());
        };
        for (name, value) in &self.body {
            if object.contains_key(name) {
                return refuse(format!(
                    "extra body field {name:?} is already set by the typed body: set it there"
                ));
            }
            object.insert(name.clone(), value.clone());
        }
        serde_json::to_vec(&object)
            .or_else(|e| refuse(format!("encoding the body with its extra fields: {e}")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn post(body: &str) -> reqwest::Request {
        reqwest::Client::new()
            .post("http://127.0.0.1:1/v2/x?a=1")
            .header("content-type", "application/json")
            .body(body.to_owned())
            .build()
            .expect("request")
    }

    fn refused(extras: &Extras, body: &str) -> String {
        let mut request = post(body);
        let before = (request.url().clone(), request.headers().clone());
        let e = extras.apply(&mut request, false).expect_err("refused");
        assert_eq!(
            (request.url().clone(), request.headers().clone()),
            before,
            "nothing applied"
        );
        e.to_string()
    }

    #[test]
    fn extras_are_added_in_place() {
        let extras = Extras {
            query: vec![("lang".into(), "en".into())],
            headers: vec![("X-Trace".into(), "7f".into())],
            body: vec![("newFlag".into(), serde_json::json!(true))],
        };
        let mut request = post(r#"{"orderId":1}"#);
        extras.apply(&mut request, false).expect("applied");
        assert_eq!(request.url().query(), Some("a=1&lang=en"));
        assert_eq!(request.headers()["x-trace"], "7f");
        let body: serde_json::Value = serde_json::from_slice(
            request
                .body()
                .and_then(reqwest::Body::as_bytes)
                .expect("body"),
        )
        .expect("json");
        assert_eq!(body, serde_json::json!({"orderId": 1, "newFlag": true}));
    }

    #[test]
    fn what_the_sdk_sets_cannot_be_set_again() {
        for name in [
            "access-key",
            "Timestamp",
            "NONCE-STR",
            "user-id",
            "signature",
            "content-type",
            "host",
        ] {
            let extras = Extras {
                headers: vec![(name.into(), "x".into())],
                ..Extras::default()
            };
            assert!(refused(&extras, "{}").contains("cannot be set"), "{name}");
        }
        let bad = Extras {
            headers: vec![("x".into(), "a\nb".into())],
            ..Extras::default()
        };
        assert!(refused(&bad, "{}").contains("cannot be sent"));
        let taken = Extras {
            body: vec![("orderId".into(), serde_json::json!(2))],
            ..Extras::default()
        };
        assert!(refused(&taken, r#"{"orderId":1}"#).contains("already set"));
        assert!(refused(&taken, "[1]").contains("JSON object"));
        let signing = Extras {
            query: vec![("sign".into(), "x".into())],
            ..Extras::default()
        };
        let mut request = post("{}");
        assert!(signing.apply(&mut request, true).is_err());
        assert!(signing.apply(&mut post("{}"), false).is_ok());
    }
}
