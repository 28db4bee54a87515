//! Catching up after a long outage: PandaPon re-sends a push five times,
//! half an hour apart, then stops, so a receiver down for longer misses
//! messages for good. [`reconcile`] fetches each order's (or refund's)
//! current state through the API and, where the inbox does not hold it,
//! stores a message marked as coming from reconcile ([`Source::Reconcile`]),
//! which workers then handle like any other.
//!
//! What it can recover:
//!
//! - **1688 orders**, by id, through `alibaba_order_detail`. Its `data` is
//!   documented only in part, so the state compared is the whole `data`:
//!   the message is stored when no reconcile message for the order holds
//!   the same detail (the first reconcile of an order always stores one;
//!   the same detail again is a duplicate and is not stored twice).
//! - **Taobao refunds**, by refund id, through `taobao_refund_detail`: the
//!   state is the documented `refundStatus`, compared with the last
//!   message about that refund (a pushed one or a reconcile one).
//!
//! What it cannot: Taobao orders (PandaPon's docs mention a Taobao order
//! detail call but not its path, so the spec has none), 1688 refunds (no
//! detail operation), refunds known only by the `TQ…` ids refund messages
//! carry (the refund detail takes digits; such an id is reported as
//! failed, before any request), and the messages themselves: it
//! stores the state found now, not each change PandaPon would have pushed
//! in between. The order ids come from you (your own records of the orders
//! you placed): PandaPon has no "what did I miss" call.
//!
//! A reconcile message is an order message of the SDK's own making:
//!
//! ```json
//! {"messageType": "RECONCILE", "messagePlatform": 1, "timestamp": "1779263269913",
//!  "messageBody": {"orderId": "2542285634920880794", "detail": { … the order's data … },
//!                  "after": 41}}
//! ```
//!
//! with `refundId`, `refundStatus` and the refund's `detail` in the body
//! for a refund (`messagePlatform` 0). `after` is the id of the last
//! message about the order the inbox held (`null` if none): the same state
//! found twice after the same message is stored once (two hosts
//! reconciling at once store one message), a state seen again after
//! another is stored again. Its `messageType` is not one PandaPon sends, so
//! it parses as [`PushEvent::Other`](crate::PushEvent); its source in the
//! inbox is [`Source::Reconcile`].

use std::time::{SystemTime, UNIX_EPOCH};

use serde_json::{Value, json};

use super::inbox::{Inbox, InboxError, NewMessage, Source, Stored};
use crate::types::{AlibabaOrderDetailRequest, WebSite};
use crate::{Client, Error, PushEvent, StringId};

/// The `messageType` of a reconcile message.
pub const RECONCILE_TYPE: &str = "RECONCILE";

/// What reconcile did with one order or refund.
#[derive(Debug)]
#[non_exhaustive]
pub enum Checked {
    /// Its state was not in the inbox: a reconcile message was stored.
    Stored(u64),
    /// The inbox already holds its state: nothing stored.
    Unchanged,
    /// Its state could not be fetched: nothing stored.
    Failed(Error),
}

/// One order or refund to check.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Subject {
    /// A 1688 order, by its id.
    AlibabaOrder(String),
    /// A Taobao refund, by its refund id.
    TaobaoRefund(String),
}

impl Subject {
    /// The id the inbox knows it by.
    pub fn id(&self) -> &str {
        match self {
            Self::AlibabaOrder(id) | Self::TaobaoRefund(id) => id,
        }
    }
}

/// Fetches the current state of each of `subjects` through `client` and
/// stores a reconcile message in `inbox` for each whose state the inbox
/// does not hold. Returns what it did with each, in order: one that cannot
/// be fetched is reported and the others go on.
///
/// # Errors
///
/// Only the inbox's failures end it (nothing is lost: what was stored
/// stays, and reconciling again stores nothing twice).
pub async fn reconcile<I: Inbox>(
    client: &Client,
    inbox: &I,
    subjects: &[Subject],
) -> Result<Vec<(Subject, Checked)>, InboxError> {
    let mut checked = Vec::with_capacity(subjects.len());
    for subject in subjects {
        let state = match subject {
            Subject::AlibabaOrder(id) => alibaba_order(client, id).await,
            Subject::TaobaoRefund(id) => taobao_refund(client, id).await,
        };
        let result = match state {
            Err(e) => Checked::Failed(e),
            Ok(mut body) => {
                let last = inbox.last_for_order(subject.id()).await?;
                match last {
                    Some(m) if holds(subject, &m.body, &body) => Checked::Unchanged,
                    last => {
                        // What it follows is part of it: a state seen again
                        // after another (A, B, then A) is a new message, while
                        // two reconciles of the same state after the same
                        // message are one.
                        body["after"] = last.map_or(Value::Null, |m| json!(m.id));
                        store(inbox, subject, body).await?
                    }
                }
            }
        };
        checked.push((subject.clone(), result));
    }
    Ok(checked)
}

/// The message body (`messageBody`) for a 1688 order's current detail.
async fn alibaba_order(client: &Client, id: &str) -> Result<Value, Error> {
    let order: StringId = id.parse().map_err(|e| {
        Error::InvalidRequest(format!("order id {:?}: {e}", crate::escape_controls(id)))
    })?;
    let request = AlibabaOrderDetailRequest::builder()
        .web_site(WebSite::X1688)
        .order_id(Some(order));
    let reply = client.alibaba_order_detail().body(request).call().await?;
    Ok(json!({ "orderId": id, "detail": reply.data }))
}

/// The message body for a Taobao refund's current state.
async fn taobao_refund(client: &Client, id: &str) -> Result<Value, Error> {
    let reply = client
        .taobao_refund_detail()
        .refund_id(id.to_owned())
        .call()
        .await?;
    let status = reply
        .data
        .refund_order_aggregate
        .as_ref()
        .and_then(|a| a.refund_order.as_ref())
        .and_then(|o| o.refund_status);
    let detail = serde_json::to_value(&reply.data).unwrap_or(Value::Null);
    Ok(json!({ "refundId": id, "refundStatus": status, "detail": detail }))
}

/// Whether a stored message's `stored` bytes hold the state `body`
/// carries: the same refund status, or the same order detail.
fn holds(subject: &Subject, stored: &[u8], body: &Value) -> bool {
    let Ok(message) = serde_json::from_slice::<Value>(stored) else {
        return false;
    };
    // A pushed body may be an object or a JSON string.
    let stored_body = match &message["messageBody"] {
        Value::String(text) => serde_json::from_str(text).unwrap_or(Value::Null),
        other => other.clone(),
    };
    match subject {
        Subject::TaobaoRefund(_) => {
            let status = |v: &Value| match &v["refundStatus"] {
                Value::Number(n) => n.as_i64(),
                Value::String(s) => s.trim().parse().ok(),
                _ => None,
            };
            status(&stored_body).is_some() && status(&stored_body) == status(body)
        }
        Subject::AlibabaOrder(_) => {
            message["messageType"] == RECONCILE_TYPE && stored_body["detail"] == body["detail"]
        }
    }
}

async fn store<I: Inbox>(inbox: &I, subject: &Subject, body: Value) -> Result<Checked, InboxError> {
    let platform = match subject {
        Subject::AlibabaOrder(_) => 1,
        Subject::TaobaoRefund(_) => 0,
    };
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_millis();
    let message = json!({
        "messageType": RECONCILE_TYPE,
        "messagePlatform": platform,
        "timestamp": now.to_string(),
        "messageBody": body,
    });
    let bytes = serde_json::to_vec(&message).unwrap_or_default();
    let event = PushEvent::parse(&bytes).map_err(|e| {
        InboxError::Invalid(format!("a reconcile message that does not parse: {e}"))
    })?;
    let stored = inbox
        .store_if_absent(
            NewMessage::new(event.dedupe_key(), bytes)
                .from_source(Source::Reconcile)
                .about(Some(subject.id().to_owned())),
        )
        .await?;
    Ok(match stored {
        Stored::New(id) => Checked::Stored(id),
        Stored::Duplicate(_) => Checked::Unchanged,
    })
}
