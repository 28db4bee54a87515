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
use crate::{ApiError, Error, Outcome};

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

    /// The headers, when an answer arrived and its body was read.
    pub(crate) fn headers(&self) -> Option<&HeaderMap> {
        match self {
            Self::Answered { headers, .. } => Some(headers),
            _ => None,
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
    let meta = decode::from_slice::<Meta>(
        body,
        decode::budget(body.len(), decode::DEFAULT_DECODE_RATIO),
    )
    .ok();
    let request_id = match meta {
        Some(meta) => match meta.code.filter(|c| *c != SUCCESS_CODE) {
            Some(code) => return api_error(meta, code, status),
            None => meta.request_id,
        },
        None => None,
    };
    Error::Http {
        status,
        body: BodyExcerpt::new(body).with_request_id(request_id),
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
            meta => Error::Decode {
                status,
                body: BodyExcerpt::new(body).with_request_id(meta.ok().and_then(|m| m.request_id)),
                error: source,
            },
        }),
    }
}

/// Who may send a failed call again: the retry class of a [`Verdict`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Again {
    /// Nothing to gain from another attempt.
    Never,
    /// Nothing was sent (the connection failed): any call may try again,
    /// a write too, unless the caller said [`Retry::Never`](crate::Retry::Never).
    Reconnect,
    /// Worth another attempt of a call that is safe to re-send (a
    /// read-only operation, or [`Retry::Always`](crate::Retry::Always)).
    Resend,
}

/// What one failed attempt comes to, decided once: whether the request may
/// have taken effect ([`Error::outcome`]), who may try again (the retry
/// plan), and whether it ran out of time (what the retry budget charges).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Verdict {
    pub(crate) outcome: Outcome,
    pub(crate) again: Again,
    pub(crate) timed_out: bool,
}

/// The one table: every kind of failure and its verdict. The guide's
/// outcome table is this one, row for row; `Error::outcome`, the retry
/// plan and the retry budget all read its answer.
pub(crate) fn verdict(error: &Error) -> Verdict {
    use Again::{Never, Reconnect, Resend};
    use Outcome::{NotSent, Refused, Unknown};
    let (outcome, again) = match error {
        // The last attempt's verdict: the budget only stopped a retry.
        Error::RetryBudgetSpent { last } => return verdict(last),
        // The stream stopped before asking for another page.
        Error::InvalidRequest(_) | Error::DryRun | Error::Paging(_) => (NotSent, Never),
        // Not built: nothing was sent, and sending it again cannot help.
        Error::Transport(e) if e.is_builder() => (NotSent, Never),
        // A connection that failed (or timed out) while connecting carried
        // no request.
        Error::Transport(e) if e.is_connect() => (NotSent, Reconnect),
        // A timeout or reset after sending, or a body cut short.
        Error::Transport(_) => (Unknown, Resend),
        Error::Stalled { .. } => (Unknown, Resend),
        // PandaPon answered HTTP 200 with a business error: it refused.
        Error::Api(e) if e.http_status == StatusCode::OK => (Refused, Never),
        Error::Api(e) => by_status(e.http_status, Some(e.code)),
        Error::Http { status, .. } | Error::EmptyBody { status } => by_status(*status, None),
        // A 200 whose body is cut short, undecodable, too large or without
        // `code`/`data`: PandaPon answered, but what it did is not known.
        Error::Decode { .. }
        | Error::Incomplete { .. }
        | Error::TooLarge { .. }
        | Error::TooLargeDecoded { .. } => (Unknown, Never),
    };
    Verdict {
        outcome,
        again,
        timed_out: error.is_timeout(),
    }
}

/// An answer that is not a readable HTTP 200, by its status and, when the
/// body was PandaPon's envelope, its `code`.
fn by_status(status: StatusCode, code: Option<i64>) -> (Outcome, Again) {
    use Again::{Never, Resend};
    use Outcome::{Refused, Unknown};
    match status.as_u16() {
        // Too many requests, or the service unavailable: turned away before
        // it was taken on, worth another try.
        429 | 503 => (Refused, Resend),
        // A gateway's 502 or 504 says the server behind it failed or did not
        // answer in time: the request may have reached PandaPon.
        502 | 504 => (Unknown, Resend),
        // Not implemented: the server did not take the request on.
        501 => (Refused, Never),
        // A server error after the request arrived: unknown, unless the
        // body is an envelope whose code is not itself a server error,
        // which says PandaPon examined the request and turned it down.
        500..=599 => match code {
            Some(code) if !(500..=599).contains(&code) => (Refused, Never),
            _ => (Unknown, Never),
        },
        // Another success status (201, 204, …): something answered, and
        // what it did is not known.
        200..=299 => (Unknown, Never),
        // 1xx, 3xx (redirects are not followed) and 4xx: turned down.
        _ => (Refused, Never),
    }
}

/// Stage 3: a decoded envelope's `code`: `Ok` only for 200 with `data`.
pub(crate) fn envelope<R: Envelope>(value: ResponseValue<R>) -> Result<Reply<R::Data>, Error> {
    let status = value.status();
    let (meta, data) = value.into_inner().into_parts();
    match meta.code {
        Some(SUCCESS_CODE) => match data {
            Some(data) => {
                // The call's span gets a success's id here, an error's when
                // the call ends (once: a field recorded twice is two
                // attributes in OpenTelemetry).
                if let Some(id) = &meta.request_id
                    && let Some(call) = super::span::call_span()
                {
                    call.record("pandapon.request_id", crate::escape_shown(id).as_str());
                }
                Ok(Reply {
                    data,
                    request_id: meta.request_id,
                    develop_id: meta.develop_id,
                    msg: meta.msg,
                })
            }
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

    /// A resolver that never answers: a connection that times out while
    /// connecting, with no network needed.
    struct NeverResolves;

    impl reqwest::dns::Resolve for NeverResolves {
        fn resolve(&self, _: reqwest::dns::Name) -> reqwest::dns::Resolving {
            Box::pin(std::future::pending())
        }
    }

    /// One row of the guide's outcome table (`guide/reliability.md`): the
    /// errors it names, its outcome, and what a read-only call does next.
    struct GuideRow {
        errors: Vec<String>,
        /// `None`: the last attempt's.
        outcome: Option<String>,
        retried: &'static str,
    }

    fn guide_rows() -> Vec<GuideRow> {
        let guide = include_str!("../../guide/reliability.md");
        let ticked = |cell: &str| -> Vec<String> {
            cell.split('`')
                .skip(1)
                .step_by(2)
                .map(str::to_owned)
                .collect()
        };
        guide
            .lines()
            .skip_while(|l| !l.starts_with("| what happened | error |"))
            .skip(2)
            .take_while(|l| l.starts_with('|'))
            .map(|line| {
                let cells: Vec<&str> = line.split('|').map(str::trim).collect();
                let [_, _, errors, outcome, retried, _] = cells[..] else {
                    panic!("a row of the guide's outcome table with other columns: {line}");
                };
                GuideRow {
                    errors: ticked(errors),
                    outcome: ticked(outcome).into_iter().next(),
                    retried: if retried == "not retried" {
                        "not retried"
                    } else if retried.starts_with("retried (a write too)") {
                        "retried, a write too"
                    } else if retried.starts_with("retried") {
                        "retried"
                    } else {
                        panic!("the guide's outcome table: what is {retried:?}?")
                    },
                }
            })
            .collect()
    }

    /// An error's variant name, as the guide names it.
    fn variant(error: &Error) -> String {
        format!("{error:?}")
            .chars()
            .take_while(char::is_ascii_alphanumeric)
            .collect()
    }

    /// The one table, row by row: every kind of answer the guide's outcome
    /// table lists, with its outcome, who may try again, and whether it
    /// counts as a timeout. Transport failures are made for real. Each row
    /// names its row of the guide's table, and the guide is read to check
    /// them: every row of it is covered, by errors it names, with its
    /// outcome and its retry. The retry plan and the retry budget are asked
    /// about each error's verdict, as a call asks them.
    #[tokio::test]
    async fn every_answer_has_one_verdict() {
        use Again::{Never, Reconnect, Resend};
        use Outcome::{NotSent, Refused, Unknown};
        use tokio::io::AsyncReadExt;

        // A refused connection; a request that gets no answer in time; one
        // whose connection is closed after it arrived; one never built.
        let closed = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let closed_url = format!("http://{}/", closed.local_addr().expect("address"));
        drop(closed);
        let refused = reqwest::get(&closed_url).await.expect_err("refused");
        let silent = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let silent_url = format!("http://{}/", silent.local_addr().expect("address"));
        let closing = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let closing_url = format!("http://{}/", closing.local_addr().expect("address"));
        tokio::spawn(async move {
            let mut held = Vec::new();
            while let Ok((stream, _)) = silent.accept().await {
                held.push(stream);
            }
        });
        tokio::spawn(async move {
            while let Ok((mut stream, _)) = closing.accept().await {
                let mut request = [0_u8; 1024];
                let _ = stream.read(&mut request).await;
            }
        });
        let timed_out = reqwest::Client::new()
            .get(&silent_url)
            .timeout(std::time::Duration::from_millis(100))
            .send()
            .await
            .expect_err("no answer");
        let reset = reqwest::get(&closing_url).await.expect_err("closed");
        let connect_timed_out = reqwest::Client::builder()
            .no_proxy()
            .dns_resolver(NeverResolves)
            .connect_timeout(std::time::Duration::from_millis(100))
            .build()
            .expect("client")
            .get("http://pandapon.invalid/")
            .send()
            .await
            .expect_err("no address in time");
        let unbuilt = reqwest::Client::new()
            .get("http://[::1/")
            .build()
            .expect_err("no URL");

        let status = |code: u16| StatusCode::from_u16(code).expect("status");
        let http = |code: u16| Error::Http {
            status: status(code),
            body: BodyExcerpt::new(b"<html>"),
        };
        let api = |http_status: u16, code: i64| {
            Error::Api(ApiError {
                code,
                msg: None,
                request_id: None,
                develop_id: None,
                http_status: status(http_status),
            })
        };
        let empty = |code: u16| Error::EmptyBody {
            status: status(code),
        };
        let stalled = || Error::Stalled {
            status: StatusCode::OK,
            policy: crate::StallPolicy::default(),
            received: 0,
        };
        let decode = Error::Decode {
            status: StatusCode::OK,
            body: BodyExcerpt::new(b"{"),
            error: serde_json::from_slice::<u8>(b"{").expect_err("bad"),
        };
        let paging = Error::Paging(crate::PagingError::Repeated {
            page: 2,
            previous: 1,
        });
        let spent = |last: Error| Error::RetryBudgetSpent {
            last: Box::new(last),
        };
        // (the guide's row, from 1; name; error; outcome; who may try
        // again; timed out)
        let rows: Vec<(usize, &str, Error, Outcome, Again, bool)> = vec![
            (
                1,
                "invalid values",
                Error::InvalidRequest("x".into()),
                NotSent,
                Never,
                false,
            ),
            (1, "a dry run", Error::DryRun, NotSent, Never, false),
            (
                1,
                "a request reqwest would not build",
                Error::Transport(unbuilt),
                NotSent,
                Never,
                false,
            ),
            (
                2,
                "a refused connection",
                Error::Transport(refused),
                NotSent,
                Reconnect,
                false,
            ),
            (
                2,
                "a connect timeout",
                Error::Transport(connect_timed_out),
                NotSent,
                Reconnect,
                true,
            ),
            (
                3,
                "a business error in HTTP 200",
                api(200, 500),
                Refused,
                Never,
                false,
            ),
            (4, "429 page", http(429), Refused, Resend, false),
            (4, "429 empty", empty(429), Refused, Resend, false),
            (4, "503 page", http(503), Refused, Resend, false),
            (4, "503 envelope", api(503, 503), Refused, Resend, false),
            (5, "404 page", http(404), Refused, Never, false),
            (5, "400 envelope", api(400, 400), Refused, Never, false),
            (5, "404 empty", empty(404), Refused, Never, false),
            (5, "a redirect", http(302), Refused, Never, false),
            (5, "501 page", http(501), Refused, Never, false),
            (
                6,
                "500 turning the request down",
                api(500, 400),
                Refused,
                Never,
                false,
            ),
            (7, "502 page", http(502), Unknown, Resend, false),
            (7, "504 envelope", api(504, 504), Unknown, Resend, false),
            (7, "502 empty", empty(502), Unknown, Resend, false),
            (8, "500 page", http(500), Unknown, Never, false),
            (8, "500 empty", empty(500), Unknown, Never, false),
            (
                8,
                "500 server-error envelope",
                api(500, 500),
                Unknown,
                Never,
                false,
            ),
            (
                9,
                "no answer in time",
                Error::Transport(timed_out),
                Unknown,
                Resend,
                true,
            ),
            (
                9,
                "closed before the answer",
                Error::Transport(reset),
                Unknown,
                Resend,
                false,
            ),
            (10, "a stalled body", stalled(), Unknown, Resend, true),
            (11, "201 success envelope", http(201), Unknown, Never, false),
            (
                11,
                "202 business error",
                api(202, 500),
                Unknown,
                Never,
                false,
            ),
            (11, "200 empty", empty(200), Unknown, Never, false),
            (11, "200 malformed", decode, Unknown, Never, false),
            (
                11,
                "200 without code",
                Error::Incomplete {
                    what: "no code",
                    request_id: None,
                },
                Unknown,
                Never,
                false,
            ),
            (
                11,
                "200 over the size limit",
                Error::TooLarge {
                    status: StatusCode::OK,
                    limit: 1,
                    declared: None,
                },
                Unknown,
                Never,
                false,
            ),
            (
                11,
                "200 over the memory budget",
                Error::TooLargeDecoded {
                    status: StatusCode::OK,
                    size: 1,
                    limit: 1,
                },
                Unknown,
                Never,
                false,
            ),
            (
                12,
                "a page stream that stopped",
                paging,
                NotSent,
                Never,
                false,
            ),
            (
                13,
                "the budget spent after a 503",
                spent(http(503)),
                Refused,
                Resend,
                false,
            ),
            (
                13,
                "the budget spent after a stall",
                spent(stalled()),
                Unknown,
                Resend,
                true,
            ),
        ];
        let guide = guide_rows();
        assert_eq!(guide.len(), 13, "the guide's outcome table has 13 rows");
        let read = super::super::retry::Plan::new(true, crate::Retry::Auto);
        let write = super::super::retry::Plan::new(false, crate::Retry::Auto);
        let mut wrong = Vec::new();
        for (row, name, error, outcome, again, timed_out) in &rows {
            let got = verdict(error);
            let want = Verdict {
                outcome: *outcome,
                again: *again,
                timed_out: *timed_out,
            };
            if got != want || error.outcome() != *outcome {
                wrong.push(format!("{name}: {got:?}, want {want:?} ({error:?})"));
            }
            // What the guide says of it.
            let says = &guide[row - 1];
            if !says.errors.contains(&variant(error)) {
                wrong.push(format!(
                    "{name}: the guide's row {row} does not name {}",
                    variant(error)
                ));
            }
            let guide_outcome = match (&says.outcome, error) {
                (Some(o), _) => o.clone(),
                (None, Error::RetryBudgetSpent { last }) => format!("{:?}", last.outcome()),
                (None, _) => "none".to_owned(),
            };
            if guide_outcome != format!("{:?}", got.outcome) {
                wrong.push(format!(
                    "{name}: the guide's row {row} says {guide_outcome}, the table {:?}",
                    got.outcome
                ));
            }
            // A spent budget is the one row the plan would retry and the
            // budget stops: its verdict is the last attempt's.
            if !matches!(error, Error::RetryBudgetSpent { .. }) {
                let plan_says = match (read.allows(&got), write.allows(&got)) {
                    (false, _) => "not retried",
                    (true, true) => "retried, a write too",
                    (true, false) => "retried",
                };
                if plan_says != says.retried {
                    wrong.push(format!(
                        "{name}: the plan: {plan_says}; the guide's row {row}: {}",
                        says.retried
                    ));
                }
            }
            // The budget charges what the verdict says: 10 tokens after a
            // timeout, 5 otherwise.
            let bucket = super::super::retry::TokenBucket::new(
                crate::RetryBudget::default().capacity(10).retry_cost(5, 10),
            );
            let paid = u32::from(bucket.try_spend(&got)) + u32::from(bucket.try_spend(&got));
            if paid != if *timed_out { 1 } else { 2 } {
                wrong.push(format!("{name}: ten tokens paid for {paid} retries"));
            }
        }
        for (i, says) in guide.iter().enumerate() {
            if !rows.iter().any(|r| r.0 == i + 1) {
                wrong.push(format!(
                    "the guide's row {} ({:?}) has no row here",
                    i + 1,
                    says.errors
                ));
            }
        }
        assert!(wrong.is_empty(), "{}", wrong.join("\n"));
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
