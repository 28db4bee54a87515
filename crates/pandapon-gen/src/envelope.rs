//! PandaPon's `{requestId, code, developId, msg, data}` envelope: its shared
//! fields, the trait every response type implements, and [`Reply`], what a
//! successful call returns. The code check itself is the classifier's
//! (`step::classify`).

use reqwest::StatusCode;
use serde::{Deserialize, Serialize};

use crate::{DevelopId, Error};

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

/// A raw `send()`'s envelope judged as `call()` judges it: `Ok` only when
/// `code` is 200 with `data`.
///
/// ```no_run
/// # async fn run(client: &pandapon_gen::Client) -> Result<(), pandapon_gen::Error> {
/// use pandapon_gen::Reply;
/// let raw = client.taobao_product_get().item_id("x").send().await?;
/// println!("status {}", raw.status());
/// let reply = Reply::try_from(raw)?; // the same verdict call() gives
/// # let _ = reply; Ok(()) }
/// ```
impl<R: Envelope> TryFrom<crate::ResponseValue<R>> for Reply<R::Data> {
    type Error = Error;

    fn try_from(value: crate::ResponseValue<R>) -> Result<Self, Error> {
        crate::step::classify::envelope(value)
    }
}

/// A success is sent on as PandaPon's envelope: `code` 200 with `data`
/// and the identifiers (absent ones left out), so that a reply can be
/// printed, logged or queued as the server sent it.
impl<T: Serialize> Serialize for Reply<T> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut map = serializer.serialize_map(None)?;
        map.serialize_entry("code", &SUCCESS_CODE)?;
        map.serialize_entry("data", &self.data)?;
        if let Some(id) = &self.develop_id {
            map.serialize_entry("developId", id)?;
        }
        if let Some(msg) = &self.msg {
            map.serialize_entry("msg", msg)?;
        }
        if let Some(id) = &self.request_id {
            map.serialize_entry("requestId", id)?;
        }
        map.end()
    }
}

/// Decodes a response body as operation response `R` would be decoded after
/// a call: the same classifier, the same errors, the same memory budget.
/// For stored responses, replays and tests.
///
/// ```
/// use pandapon_gen::{decode_response, types::AlibabaOrderCancelResponse};
/// let body = r#"{"code":200,"msg":"成功","developId":"1110890638347337996","data":true}"#;
/// let reply = decode_response::<AlibabaOrderCancelResponse>(200, body.as_bytes()).unwrap();
/// assert!(reply.data);
/// assert!(decode_response::<AlibabaOrderCancelResponse>(200, b"<html>").is_err());
/// ```
///
/// # Errors
///
/// The [`Error`] a call answered with `status` and `body` would end with.
pub fn decode_response<R>(status: u16, body: &[u8]) -> Result<Reply<R::Data>, Error>
where
    R: Envelope + serde::de::DeserializeOwned,
{
    use crate::step::classify;
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    if status != StatusCode::OK {
        return Err(classify::error_answer(status, body));
    }
    let envelope = classify::decode_body::<R>(status, body, crate::DEFAULT_DECODE_RATIO)?;
    classify::envelope(crate::ResponseValue::new(
        envelope,
        status,
        reqwest::header::HeaderMap::new(),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_reply_is_written_as_its_envelope() {
        let reply = Reply {
            data: true,
            request_id: Some("r".to_owned()),
            develop_id: None,
            msg: Some("成功".to_owned()),
        };
        assert_eq!(
            serde_json::to_string(&reply).unwrap(),
            r#"{"code":200,"data":true,"msg":"成功","requestId":"r"}"#
        );
    }
}
