//! The one classifier: what happened on an attempt becomes either an answer
//! to decode or an [`Error`], whose [`Error::outcome`] then says whether the
//! request may have taken effect.
//!
//! Every way of making a call ends here — `call()`, the raw `send()`,
//! any-path calls, page streams and the CLI — in three stages that all of
//! them share:
//!
//! 1. [`attempt`]: the transport's result, the status and the body as read;
//! 2. [`decode`]: a 200 answer's body into the operation's response type,
//!    within the memory budget, preferring a business error when a body
//!    fails the type but carries an error envelope;
//! 3. [`envelope`]: the envelope's `code` (for `call()`; the raw `send()`
//!    leaves it to the caller).

use crate::ResponseValue;
use bytes::Bytes;
use reqwest::StatusCode;
use reqwest::header::HeaderMap;
use serde::de::DeserializeOwned;

use super::body::{BodyFault, ReadError};
use super::decode::{self, DecodeError};
use crate::envelope::{Envelope, Meta, Reply, SUCCESS_CODE};
use crate::error::BodyExcerpt;
use crate::{ApiError, Error};

/// How one attempt ended, as the step saw it.
#[derive(Debug)]
pub(crate) enum Happened {
    /// No answer: the connection failed, or timed out, or broke before the
    /// status arrived.
    Failed(reqwest::Error),
    /// An answer with its body: a 200's read whole within the size limit,
    /// another status's up to 64 KiB (what arrived, if reading it failed).
    Answered {
        status: StatusCode,
        headers: HeaderMap,
        body: Bytes,
    },
    /// A 200 whose body could not be read whole.
    BodyFailed {
        status: StatusCode,
        error: ReadError,
    },
}

impl Happened {
    /// The HTTP status, when an answer arrived.
    pub(crate) fn status(&self) -> Option<StatusCode> {
        match self {
            Self::Failed(_) => None,
            Self::Answered { status, .. } | Self::BodyFailed { status, .. } => Some(*status),
        }
    }

    /// The body as read, when an answer arrived and its body was read.
    pub(crate) fn body(&self) -> Option<&Bytes> {
        match self {
            Self::Answered { body, .. } => Some(body),
            _ => None,
        }
    }
}

/// A 200 answer, read whole within the client's limits.
#[derive(Debug)]
pub(crate) struct Answer {
    pub(crate) status: StatusCode,
    pub(crate) headers: HeaderMap,
    pub(crate) body: Bytes,
}

/// Stage 1: an answer worth decoding, or the error the attempt ended with.
pub(crate) fn attempt(happened: Happened) -> Result<Answer, Error> {
    match happened {
        Happened::Failed(e) => Err(Error::Transport(e)),
        Happened::Answered {
            status,
            headers,
            body,
        } if status == StatusCode::OK => Ok(Answer {
            status,
            headers,
            body,
        }),
        Happened::Answered { status, body, .. } => Err(error_answer(status, &body)),
        Happened::BodyFailed { status, error } => Err(match error {
            ReadError::Fault(BodyFault::TooLarge { limit, declared }) => Error::TooLarge {
                status,
                limit,
                declared,
            },
            ReadError::Fault(BodyFault::Stalled { policy, received }) => Error::Stalled {
                status,
                policy,
                received,
            },
            ReadError::Transport(e) => Error::Transport(e),
        }),
    }
}

/// An answer that is not HTTP 200: PandaPon's envelope when the body is one
/// with a `code` (it says more than the status), else the status with the
/// start of the body.
pub(crate) fn error_answer(status: StatusCode, body: &[u8]) -> Error {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Error::EmptyBody { status };
    }
    // The body is at most 64 KiB; its envelope fields are small.
    if let Ok(meta) = decode::from_slice::<Meta>(
        body,
        decode::budget(body.len(), decode::DEFAULT_DECODE_RATIO),
    ) && let Some(code) = meta.code.filter(|c| *c != SUCCESS_CODE)
    {
        return api_error(meta, code, status);
    }
    Error::Http {
        status,
        body: BodyExcerpt::new(body),
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

/// Stage 2: a 200 answer's body as `R`, decoded within `ratio` times its
/// size in memory (plus a small allowance). A body that fails `R` but is an
/// error envelope (its `data` shaped otherwise) is that business error.
pub(crate) fn decode<R: DeserializeOwned>(
    answer: Answer,
    ratio: usize,
) -> Result<ResponseValue<R>, Error> {
    let Answer {
        status,
        headers,
        body,
    } = answer;
    let value = decode_body::<R>(status, &body, ratio)?;
    Ok(ResponseValue::new(value, status, headers))
}

/// [`decode`] over borrowed bytes.
pub(crate) fn decode_body<R: DeserializeOwned>(
    status: StatusCode,
    body: &[u8],
    ratio: usize,
) -> Result<R, Error> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Err(Error::EmptyBody { status });
    }
    let limit = decode::budget(body.len(), ratio);
    match decode::from_slice::<R>(body, limit) {
        Ok(value) => Ok(value),
        Err(DecodeError::OverBudget { limit }) => Err(Error::TooLargeDecoded {
            status,
            size: body.len(),
            limit,
        }),
        Err(DecodeError::Json(source)) => Err(match decode::from_slice::<Meta>(body, limit) {
            Ok(meta) if meta.code.is_some_and(|c| c != SUCCESS_CODE) => {
                let code = meta.code.unwrap_or_default();
                api_error(meta, code, status)
            }
            _ => Error::Decode {
                status,
                body: BodyExcerpt::new(body),
                error: source,
            },
        }),
    }
}

/// Stage 3: a decoded envelope's `code`: `Ok` only for 200 with `data`.
pub(crate) fn envelope<R: Envelope>(value: ResponseValue<R>) -> Result<Reply<R::Data>, Error> {
    let status = value.status();
    let (meta, data) = value.into_inner().into_parts();
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
        Some(code) => Err(api_error(meta, code, status)),
        None => Err(Error::Incomplete {
            what: "no code",
            request_id: meta.request_id,
        }),
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

    fn value(code: Option<i64>, data: Option<u8>) -> ResponseValue<Env> {
        ResponseValue::new(Env(meta(code), data), StatusCode::OK, HeaderMap::new())
    }

    #[test]
    fn the_code_decides() {
        let ok = envelope(value(Some(200), Some(7))).unwrap();
        assert_eq!((ok.data, ok.request_id.as_deref()), (7, Some("r")));
        let err = envelope(value(Some(0), Some(7))).unwrap_err();
        assert_eq!(err.api().map(|a| a.code), Some(0));
        assert!(matches!(
            envelope(value(Some(200), None)),
            Err(Error::Incomplete {
                what: "code 200 without data",
                ..
            })
        ));
        assert!(matches!(
            envelope(value(None, Some(1))),
            Err(Error::Incomplete {
                what: "no code",
                ..
            })
        ));
    }

    #[test]
    fn error_answers_are_classified() {
        let s502 = StatusCode::BAD_GATEWAY;
        assert!(matches!(
            error_answer(s502, b"  \n"),
            Error::EmptyBody { .. }
        ));
        assert!(matches!(
            error_answer(s502, b"<html>bad gateway</html>"),
            Error::Http { status, .. } if status == s502
        ));
        let e = error_answer(s502, br#"{"code":503,"msg":"busy"}"#);
        assert_eq!(e.api().map(|a| (a.code, a.http_status)), Some((503, s502)));
    }

    fn answer(body: &'static [u8]) -> Answer {
        Answer {
            status: StatusCode::OK,
            headers: HeaderMap::new(),
            body: Bytes::from_static(body),
        }
    }

    #[test]
    fn a_body_that_fails_its_type_may_still_be_a_business_error() {
        let e = decode::<Vec<u8>>(answer(br#"{"code":500,"msg":"no"}"#), 8).unwrap_err();
        assert_eq!(e.api().map(|a| a.code), Some(500));
        let e = decode::<Vec<u8>>(answer(b"{"), 8).unwrap_err();
        assert!(matches!(e, Error::Decode { .. }), "{e:?}");
        let e = decode::<Vec<u8>>(answer(b" "), 8).unwrap_err();
        assert!(matches!(e, Error::EmptyBody { .. }), "{e:?}");
    }

    #[test]
    fn a_body_over_the_memory_budget_is_not_decoded() {
        // 40,000 empty objects: 120 kB that would take 1.3 MB as JSON values.
        let body: &'static [u8] = Box::leak(
            format!("[{}{{}}]", "{},".repeat(39_999))
                .into_bytes()
                .into_boxed_slice(),
        );
        let size = body.len();
        let e = decode::<Vec<serde_json::Value>>(answer(body), 8).unwrap_err();
        assert!(
            matches!(e, Error::TooLargeDecoded { size: s, limit, .. }
                if s == size && limit == 8 * size + super::decode::DECODE_ALLOWANCE),
            "{e:?}"
        );
        assert_eq!(e.outcome(), crate::Outcome::Unknown);
        assert!(decode::<Vec<serde_json::Value>>(answer(body), 64).is_ok());
    }
}
