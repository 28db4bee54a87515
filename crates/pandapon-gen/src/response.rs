//! [`ResponseValue`]: what a raw `send()` returns.

use std::ops::{Deref, DerefMut};

use reqwest::StatusCode;
use reqwest::header::HeaderMap;

/// A decoded answer with the status and headers it came with: what the raw
/// `send()` of each builder and an any-path `send()` return on success.
///
/// It dereferences to the decoded value (PandaPon's envelope), and
/// [`Reply::try_from`](crate::Reply) gives the verdict `call()` gives.
///
/// ```
/// use pandapon_gen::ResponseValue;
/// use reqwest::StatusCode;
/// use reqwest::header::HeaderMap;
///
/// let answer = ResponseValue::new(vec![1, 2], StatusCode::OK, HeaderMap::new());
/// assert_eq!(answer.len(), 2); // through Deref
/// assert_eq!(answer.status(), StatusCode::OK);
/// let answer = answer.map(|v| v.len());
/// assert_eq!(answer.into_inner(), 2);
/// ```
pub struct ResponseValue<T> {
    inner: T,
    status: StatusCode,
    headers: HeaderMap,
}

impl<T> ResponseValue<T> {
    /// A value with the status and headers of the answer it was decoded from.
    pub fn new(inner: T, status: StatusCode, headers: HeaderMap) -> Self {
        Self {
            inner,
            status,
            headers,
        }
    }

    /// The decoded value, without the status and headers.
    pub fn into_inner(self) -> T {
        self.inner
    }

    /// The HTTP status of the answer.
    pub fn status(&self) -> StatusCode {
        self.status
    }

    /// The headers of the answer.
    pub fn headers(&self) -> &HeaderMap {
        &self.headers
    }

    /// The answer's `Content-Length`, when it had a readable one.
    pub fn content_length(&self) -> Option<u64> {
        self.headers
            .get(reqwest::header::CONTENT_LENGTH)?
            .to_str()
            .ok()?
            .parse()
            .ok()
    }

    /// The same answer with its value turned into another.
    pub fn map<U>(self, f: impl FnOnce(T) -> U) -> ResponseValue<U> {
        ResponseValue {
            inner: f(self.inner),
            status: self.status,
            headers: self.headers,
        }
    }
}

impl<T> Deref for ResponseValue<T> {
    type Target = T;

    fn deref(&self) -> &T {
        &self.inner
    }
}

impl<T> DerefMut for ResponseValue<T> {
    fn deref_mut(&mut self) -> &mut T {
        &mut self.inner
    }
}

impl<T> AsRef<T> for ResponseValue<T> {
    fn as_ref(&self) -> &T {
        &self.inner
    }
}

impl<T: std::fmt::Debug> std::fmt::Debug for ResponseValue<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ResponseValue")
            .field("status", &self.status)
            .field("headers", &self.headers)
            .field("inner", &self.inner)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::{CONTENT_LENGTH, HeaderValue};

    #[test]
    fn content_length_is_read_from_the_headers_and_a_bad_one_is_none() {
        let mut headers = HeaderMap::new();
        headers.insert(CONTENT_LENGTH, HeaderValue::from_static("42"));
        let answer = ResponseValue::new((), StatusCode::OK, headers);
        assert_eq!(answer.content_length(), Some(42));
        let mut headers = HeaderMap::new();
        headers.insert(CONTENT_LENGTH, HeaderValue::from_static("forty"));
        let answer = ResponseValue::new((), StatusCode::OK, headers);
        assert_eq!(answer.content_length(), None);
        let answer = ResponseValue::new((), StatusCode::OK, HeaderMap::new());
        assert_eq!(answer.content_length(), None);
    }

    #[test]
    fn map_keeps_the_status_and_headers() {
        let mut headers = HeaderMap::new();
        headers.insert("x-request-id", HeaderValue::from_static("r1"));
        let answer = ResponseValue::new(2, StatusCode::ACCEPTED, headers).map(|n| n * 10);
        assert_eq!(answer.status(), StatusCode::ACCEPTED);
        assert_eq!(answer.headers()["x-request-id"], "r1");
        assert_eq!(*answer, 20);
    }
}
