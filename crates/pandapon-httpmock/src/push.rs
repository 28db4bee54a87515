//! The fake's pushes: after a state-changing call, the order message
//! PandaPon would push, signed and POSTed to the URL the fake was given.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use pandapon_auth::{Credentials, push_signature};
use serde_json::{Value, json};
use tokio::sync::Notify;

/// The message type the fake pushes after a successful call of
/// `operation_id`, if it pushes one: `ORDER_CREATE` after the order and
/// cart create operations, `ORDER_CANCEL` after `alibaba_order_cancel`,
/// `ORDER_PAY_SUCCESS` (one per order id) after
/// `alibaba_order_batch_submit_to_pay`. The bodies have the fields the
/// white-label clone's examples show: `orderId`, `orderStatus` and
/// `payStatus`.
pub fn pushes(operation_id: &str) -> Option<&'static str> {
    match operation_id {
        "alibaba_order_create"
        | "alibaba_order_batch_create"
        | "alibaba_cart_create_order"
        | "taobao_order_create"
        | "taobao_cart_create_order" => Some("ORDER_CREATE"),
        "alibaba_order_cancel" => Some("ORDER_CANCEL"),
        "alibaba_order_batch_submit_to_pay" => Some("ORDER_PAY_SUCCESS"),
        _ => None,
    }
}

/// One push the fake made.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Pushed {
    /// The message as sent, byte for byte.
    pub body: Vec<u8>,
    /// The receiver's HTTP status, or `None` when it could not be reached.
    pub status: Option<u16>,
}

/// Pushes messages to one URL and remembers what happened.
#[derive(Clone)]
pub(crate) struct Pusher {
    url: String,
    credentials: Credentials,
    http: reqwest::Client,
    /// Order ids made up for created orders.
    next_order: Arc<AtomicU64>,
    pub(crate) log: Arc<(Mutex<Vec<Pushed>>, Notify)>,
}

impl std::fmt::Debug for Pusher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pusher")
            .field("url", &self.url)
            .finish_non_exhaustive()
    }
}

impl Pusher {
    pub(crate) fn new(url: String, credentials: Credentials) -> Self {
        Self {
            url,
            credentials,
            http: reqwest::Client::new(),
            next_order: Arc::new(AtomicU64::new(2_542_285_634_920_880_000)),
            log: Arc::default(),
        }
    }

    /// Pushes what a successful call of `operation_id` with `request` (its
    /// body as JSON) would make PandaPon push, in the background.
    pub(crate) fn after(&self, operation_id: &str, request: &Value) {
        let Some(kind) = pushes(operation_id) else {
            return;
        };
        let platform = if operation_id.starts_with("taobao") {
            0
        } else {
            1
        };
        let order_ids: Vec<String> = match kind {
            "ORDER_CANCEL" => vec![id_text(&request["orderId"])],
            "ORDER_PAY_SUCCESS" => request["orderIds"]
                .as_array()
                .map(|ids| ids.iter().map(id_text).collect())
                .unwrap_or_default(),
            _ => vec![self.next_order.fetch_add(1, Ordering::Relaxed).to_string()],
        };
        let (status, paid) = match kind {
            "ORDER_CANCEL" => ("CANCEL", 1),
            "ORDER_PAY_SUCCESS" => ("WAITING_FOR_SENT", 2),
            _ => ("WAITING_FOR_PAYMENT", 1),
        };
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default()
            .as_millis();
        for order_id in order_ids {
            let message = json!({
                "messageType": kind,
                "messageBody": {"orderId": order_id, "orderStatus": status, "payStatus": paid},
                "messagePlatform": platform,
                "timestamp": now.to_string(),
            });
            let body = message.to_string().into_bytes();
            let this = self.clone();
            tokio::spawn(async move { this.send(body).await });
        }
    }

    async fn send(&self, body: Vec<u8>) {
        let authorization = push_signature(&self.credentials, &body);
        let status = self
            .http
            .post(&self.url)
            .header("content-type", "application/json")
            .header("authorization", authorization)
            .body(body.clone())
            .send()
            .await
            .ok()
            .map(|r| r.status().as_u16());
        let (log, notify) = &*self.log;
        log.lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(Pushed { body, status });
        notify.notify_waiters();
    }
}

/// An id in a request body as the message writes it: a string of digits.
fn id_text(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::pushes;

    /// Only writes push, and every operation named pushing is in the spec.
    #[test]
    fn reads_push_nothing_and_every_pushing_operation_exists() {
        let mut pushing = 0;
        for op in pandapon_gen::OPERATIONS {
            if pushes(op.id).is_some() {
                assert!(!op.read_only, "{} is a read", op.id);
                pushing += 1;
            }
        }
        assert_eq!(pushing, 7, "an operation named in pushes() left the spec");
    }
}
