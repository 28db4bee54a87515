//! Unwrapping PandaPon's `{requestId, code, developId, msg, data}` envelope,
//! and turning every other outcome into a typed [`Error`].

use progenitor_client::ResponseValue;
use reqwest::StatusCode;
use serde::{Deserialize, Serialize};

use crate::body::BodyFault;
use crate::error::BodyExcerpt;
use crate::{ApiError, DevelopId, Error};

/// Code of a successful envelope.
pub const SUCCESS_CODE: i64 = 200;

/// The envelope fields every response shares.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[non_exhaustive]
pub struct Meta {
    /// Request id.
    #[serde(rename = "requestId")]
    pub request_id: Option<String>,
    /// Return code; 200 is success.
    pub code: Option<i64>,
    /// Developer id.
    #[serde(rename = "developId")]
    pub develop_id: Option<DevelopId>,
    /// Message for the code.
    pub msg: Option<String>,
}

/// A generated response type that is a PandaPon envelope.
///
/// Implemented by `cargo xtask codegen` for every operation's response.
pub trait Envelope {
    /// The type of `data`; `()` for operations whose envelope has no `data`.
    type Data;
    /// Splits the envelope into its shared fields and `data`.
    fn into_parts(self) -> (Meta, Option<Self::Data>);
}

/// A successful call: `data` with the envelope's identifiers.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Reply<T> {
    /// The envelope's `data`.
    pub data: T,
    /// The request id.
    pub request_id: Option<String>,
    /// The developer id.
    pub develop_id: Option<DevelopId>,
    /// The envelope's message (for example "成功").
    pub msg: Option<String>,
}

impl<T> Reply<T> {
    /// Unwraps to `data`.
    pub fn into_data(self) -> T {
        self.data
    }
}

fn api_error(meta: Meta, code: i64, http_status: StatusCode) -> Error {
    Error::Api(ApiError {
        code,
        msg: meta.msg,
        request_id: meta.request_id,
        develop_id: meta.develop_id,
        http_status,
    })
}

/// Checks a decoded envelope.
pub(crate) fn unwrap_envelope<R: Envelope>(
    envelope: R,
    http_status: StatusCode,
) -> Result<Reply<R::Data>, Error> {
    let (meta, data) = envelope.into_parts();
    // The call span is at INFO: without a subscriber for it, skip the lookup.
    if let Some(id) = &meta.request_id
        && tracing::level_enabled!(tracing::Level::INFO)
    {
        tracing::Span::current().record("request_id", id.as_str());
    }
    match meta.code {
        Some(SUCCESS_CODE) => match data {
            Some(data) => Ok(Reply {
                data,
                request_id: meta.request_id,
                develop_id: meta.develop_id,
                msg: meta.msg,
            }),
            None => Err(Error::Incomplete {
                what: "code 200 without data",
                request_id: meta.request_id,
            }),
        },
        Some(code) => Err(api_error(meta, code, http_status)),
        None => Err(Error::Incomplete {
            what: "no code",
            request_id: meta.request_id,
        }),
    }
}

/// A body that failed the operation's type may still be a business error
/// (an error envelope whose `data` has another shape): prefer reporting that.
fn classify_body(status: StatusCode, bytes: &[u8], decode: Option<serde_json::Error>) -> Error {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Error::EmptyBody { status };
    }
    if let Ok(meta) = serde_json::from_slice::<Meta>(bytes)
        && let Some(code) = meta.code.filter(|c| *c != SUCCESS_CODE)
    {
        return api_error(meta, code, status);
    }
    let body = BodyExcerpt::new(bytes);
    let source = match decode {
        Some(e) => e,
        None => match serde_json::from_slice::<serde_json::Value>(bytes) {
            Err(e) => e,
            Ok(_) => return Error::Http { status, body },
        },
    };
    if status.is_success() {
        Error::Decode {
            status,
            body,
            source,
        }
    } else {
        Error::Http { status, body }
    }
}

/// Decodes a response body as operation response `R` would be decoded after
/// a call: the same checks, the same errors. For stored responses, replays
/// and tests.
///
/// ```
/// use pandapon_gen::{decode_response, types::AlibabaOrderCancelResponse};
/// let body = r#"{"code":200,"msg":"成功","developId":"1110890638347337996","data":true}"#;
/// let reply = decode_response::<AlibabaOrderCancelResponse>(200, body.as_bytes()).unwrap();
/// assert!(reply.data);
/// assert!(decode_response::<AlibabaOrderCancelResponse>(200, b"<html>").is_err());
/// ```
pub fn decode_response<R>(status: u16, body: &[u8]) -> Result<Reply<R::Data>, Error>
where
    R: Envelope + serde::de::DeserializeOwned,
{
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    if status != StatusCode::OK {
        return Err(classify_body(status, body, None));
    }
    match serde_json::from_slice::<R>(body) {
        Ok(envelope) => unwrap_envelope(envelope, status),
        Err(e) => Err(classify_body(status, body, Some(e))),
    }
}

/// A body read error as the SDK's error: a crossed bound with its typed
/// error, anything else as a transport error.
fn body_error(error: reqwest::Error) -> Error {
    match crate::body::fault_of(&error) {
        Some(BodyFault::TooLarge { limit, declared }) => Error::TooLarge {
            status: StatusCode::OK,
            limit: *limit,
            declared: *declared,
        },
        Some(BodyFault::Stalled { policy, received }) => Error::Stalled {
            status: StatusCode::OK,
            policy: *policy,
            received: *received,
        },
        None => Error::Transport(error),
    }
}

/// Turns the result of a generated `send()` into the SDK's result. Nothing
/// is left to read: the client read every body before `send()` returned.
pub(crate) fn finish<R: Envelope, E>(
    result: Result<ResponseValue<R>, progenitor_client::Error<E>>,
) -> Result<Reply<R::Data>, Error> {
    use progenitor_client::Error as P;
    match result {
        Ok(value) => {
            let status = value.status();
            unwrap_envelope(value.into_inner(), status)
        }
        // Only a 200 answer is decoded, so the status is known.
        Err(P::InvalidResponsePayload(bytes, e)) => {
            Err(classify_body(StatusCode::OK, &bytes, Some(e)))
        }
        // The client read (up to 64 KiB of) the body before handing it over.
        Err(P::UnexpectedResponse(response)) => Err(classify_body(
            response.status(),
            crate::body::error_body(&response).unwrap_or_default(),
            None,
        )),
        Err(P::ErrorResponse(value)) => Err(Error::Http {
            status: value.status(),
            body: BodyExcerpt::new(b""),
        }),
        Err(P::ResponseBodyError(e)) => Err(body_error(e)),
        Err(P::CommunicationError(e) | P::InvalidUpgrade(e)) => Err(Error::Transport(e)),
        Err(P::InvalidRequest(msg)) => Err(Error::InvalidRequest(msg)),
        Err(P::Custom(msg)) if msg == crate::client::DRY_RUN_STOP => Err(Error::DryRun),
        Err(P::Custom(msg)) => Err(Error::Hook(msg)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Env(Meta, Option<u8>);
    impl Envelope for Env {
        type Data = u8;
        fn into_parts(self) -> (Meta, Option<u8>) {
            (self.0, self.1)
        }
    }

    fn meta(code: Option<i64>) -> Meta {
        Meta {
            request_id: Some("r".into()),
            code,
            ..Meta::default()
        }
    }

    #[test]
    fn code_decides() {
        let ok = unwrap_envelope(Env(meta(Some(200)), Some(7)), StatusCode::OK).unwrap();
        assert_eq!((ok.data, ok.request_id.as_deref()), (7, Some("r")));
        let err = unwrap_envelope(Env(meta(Some(0)), Some(7)), StatusCode::OK).unwrap_err();
        assert_eq!(err.api().map(|a| a.code), Some(0));
        assert!(matches!(
            unwrap_envelope(Env(meta(Some(200)), None), StatusCode::OK),
            Err(Error::Incomplete {
                what: "code 200 without data",
                ..
            })
        ));
        assert!(matches!(
            unwrap_envelope(Env(meta(None), Some(1)), StatusCode::OK),
            Err(Error::Incomplete {
                what: "no code",
                ..
            })
        ));
    }

    #[test]
    fn bodies_are_classified() {
        let s502 = StatusCode::BAD_GATEWAY;
        assert!(matches!(
            classify_body(s502, b"  \n", None),
            Error::EmptyBody { .. }
        ));
        assert!(matches!(
            classify_body(s502, b"<html>bad gateway</html>", None),
            Error::Http { status, .. } if status == s502
        ));
        let e = classify_body(s502, br#"{"code":503,"msg":"busy"}"#, None);
        assert_eq!(e.api().map(|a| (a.code, a.http_status)), Some((503, s502)));
        let bad = serde_json::from_slice::<u8>(b"{").unwrap_err();
        assert!(matches!(
            classify_body(StatusCode::OK, b"{", Some(bad)),
            Error::Decode { .. }
        ));
    }
}
