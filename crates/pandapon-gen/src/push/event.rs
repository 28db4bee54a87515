//! Pushed order messages as typed events: [`PushEvent`] (generated from the
//! spec) holds a [`Push`] of the body its `messageType` documents; each event
//! has a key that recognises a message delivered twice, and round-trips
//! through serde as the message PandaPon sent.

use std::fmt::Write as _;
use std::time::SystemTime;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use sha2::{Digest, Sha256};

use crate::generated::PushEvent;
use crate::types::OrderMessage;
use crate::{MessagePlatform, MessageType};

/// A pushed message whose body is typed: `B` is the body schema its
/// `messageType` documents. The message as sent is kept with it.
#[derive(Debug, Clone)]
pub struct Push<B> {
    body: B,
    message: OrderMessage,
}

impl<B: DeserializeOwned> Push<B> {
    /// The message with its body as `B`, or the message back when the body
    /// is not of that shape (or absent).
    #[inline]
    pub(crate) fn parse(message: OrderMessage) -> Result<Self, OrderMessage> {
        let Some(body) = message.message_body.as_ref() else {
            return Err(message);
        };
        match body.parse::<B>() {
            Ok(body) => Ok(Self { body, message }),
            Err(_) => Err(message),
        }
    }
}

impl<B> Push<B> {
    /// The body, typed.
    pub fn body(&self) -> &B {
        &self.body
    }

    /// The platform the message is about.
    pub fn platform(&self) -> MessagePlatform {
        self.message.message_platform
    }

    /// When PandaPon pushed it: the message's `timestamp`, milliseconds
    /// since 1970 in a string (`"1779263269913"`); `None` when absent or
    /// not a number.
    pub fn pushed_at(&self) -> Option<SystemTime> {
        self.message.pushed_at()
    }

    /// The message as sent.
    pub fn message(&self) -> &OrderMessage {
        &self.message
    }

    /// The message as sent, taken out.
    pub fn into_message(self) -> OrderMessage {
        self.message
    }
}

/// Body fields that name what a message is about, in the order they are
/// looked for: the order, the refund, the Taobao sales order.
const SUBJECT_FIELDS: &[&str] = &["orderId", "refundId", "salesOrderId"];

impl PushEvent {
    /// Parses a pushed message's raw body (after its signature verified):
    /// `messageBody` may be an object or a JSON string.
    ///
    /// # Errors
    ///
    /// [`PushError::Malformed`](crate::push::PushError::Malformed) when
    /// the bytes are not an order message (not JSON, or no
    /// `messagePlatform`).
    // Inline, like the generated call surface: the typed decoding of every
    // message body is compiled in the programs that read pushes, not for
    // every user of the SDK.
    #[inline]
    pub fn parse(body: &[u8]) -> Result<Self, crate::push::PushError> {
        crate::push::parse_message(body).map(Self::from_message)
    }

    /// The message's type as sent (`None` when it had none).
    pub fn message_type(&self) -> Option<&MessageType> {
        self.message().message_type.as_ref()
    }

    /// The order the message is about: its body's `orderId`, or (in the
    /// Taobao price-change message) `salesOrderId`, as text whether it was
    /// sent as a string or a number; `None` when the body names neither.
    pub fn order_id(&self) -> Option<String> {
        self.body_text("orderId")
            .or_else(|| self.body_text("salesOrderId"))
    }

    /// The refund the message is about: its body's `refundId` (the refund
    /// message has it); `None` when the body has none.
    pub fn refund_id(&self) -> Option<String> {
        self.body_text("refundId")
    }

    /// The order's status the message reports: its body's `orderStatus`
    /// (`WAITING_FOR_PAYMENT`, `CANCEL`, …, kept as sent); `None` when the
    /// body has none.
    pub fn order_status(&self) -> Option<String> {
        self.body_text("orderStatus")
    }

    /// A field of the body as text: a string as it is, a number as written.
    fn body_text(&self, field: &str) -> Option<String> {
        let body = self.message().message_body.as_ref()?.as_value();
        match body.get(field)? {
            serde_json::Value::String(s) => Some(s.clone()),
            serde_json::Value::Number(n) => Some(n.to_string()),
            _ => None,
        }
    }

    /// When PandaPon pushed it (see [`Push::pushed_at`]).
    pub fn pushed_at(&self) -> Option<SystemTime> {
        self.message().pushed_at()
    }

    /// A key that is the same for the same message delivered twice, and
    /// different for different messages: PandaPon re-sends a message it
    /// got no 200 for, and a receiver that answered 200 and lost the answer
    /// on the way gets it again.
    ///
    /// It is `TYPE|PLATFORM|SUBJECT|HASH`: the `messageType`, the
    /// `messagePlatform` code, the first of the body's `orderId`, `refundId`
    /// and `salesOrderId` (or `-`), and the first 128 bits of the SHA-256 of
    /// the body as JSON with its keys sorted (so a body sent as an object
    /// and as a JSON string agree). The envelope's `timestamp` is left out:
    /// it is the push time, which a re-delivery may change. Two messages
    /// with the same type, platform and body are the same event.
    #[inline]
    pub fn dedupe_key(&self) -> String {
        let message = self.message();
        let body = message
            .message_body
            .as_ref()
            .map_or(&serde_json::Value::Null, crate::MessageBody::as_value);
        let subject = SUBJECT_FIELDS
            .iter()
            .find_map(|field| match body.get(field)? {
                serde_json::Value::String(s) => Some(s.clone()),
                serde_json::Value::Number(n) => Some(n.to_string()),
                _ => None,
            })
            .unwrap_or_else(|| "-".to_owned());
        let mut hasher = Sha256::new();
        hash_sorted(body, &mut hasher);
        let digest = hasher.finalize();
        let mut key = format!(
            "{}|{}|{}|",
            message
                .message_type
                .as_ref()
                .map_or("", MessageType::as_str),
            message.message_platform.code(),
            crate::escape_controls(&subject)
        );
        for byte in &digest[..16] {
            let _ = write!(key, "{byte:02x}");
        }
        key
    }
}

/// Feeds `value` to `hasher` as compact JSON with every object's keys
/// sorted, whatever order the map keeps them in (serde_json's
/// `preserve_order` feature, turned on anywhere in a build, keeps the
/// order they came in): a message re-delivered with its keys in another
/// order hashes the same.
fn hash_sorted(value: &serde_json::Value, hasher: &mut Sha256) {
    match value {
        serde_json::Value::Object(map) => {
            let mut entries: Vec<_> = map.iter().collect();
            entries.sort_unstable_by(|a, b| a.0.cmp(b.0));
            hasher.update(b"{");
            for (i, (key, value)) in entries.into_iter().enumerate() {
                if i > 0 {
                    hasher.update(b",");
                }
                hasher.update(serde_json::to_vec(key).unwrap_or_default());
                hasher.update(b":");
                hash_sorted(value, hasher);
            }
            hasher.update(b"}");
        }
        serde_json::Value::Array(items) => {
            hasher.update(b"[");
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    hasher.update(b",");
                }
                hash_sorted(item, hasher);
            }
            hasher.update(b"]");
        }
        scalar => hasher.update(serde_json::to_vec(scalar).unwrap_or_default()),
    }
}

/// Written as the message PandaPon sent, so that a queue holds what came.
impl Serialize for PushEvent {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.message().serialize(serializer)
    }
}

/// Read from a message as PandaPon sends it (or as [`Serialize`] wrote it).
impl<'de> Deserialize<'de> for PushEvent {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        OrderMessage::deserialize(deserializer).map(Self::from_message)
    }
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, UNIX_EPOCH};

    use super::*;
    use crate::{OrderStatus, types};

    /// The hash reads the body as compact JSON with sorted keys, nested
    /// objects and arrays included.
    #[test]
    fn the_body_is_hashed_with_its_keys_sorted() {
        let body = serde_json::json!({"b": [1, {"z": null, "y": "é"}], "a": {"d": 2.5, "c": true}});
        let mut hasher = Sha256::new();
        hash_sorted(&body, &mut hasher);
        let canonical = r#"{"a":{"c":true,"d":2.5},"b":[1,{"y":"é","z":null}]}"#;
        assert_eq!(hasher.finalize(), Sha256::digest(canonical.as_bytes()));
    }

    const PAID: &[u8] = br#"{"messageType":"ORDER_PAY_SUCCESS","messageBody":"{\"orderId\":\"2542285634920880794\",\"orderStatus\":\"WAITING_FOR_SENT\",\"totalAmount\":6400}","messagePlatform":1,"timestamp":"1779263269913"}"#;

    #[test]
    fn a_known_type_is_typed_and_an_unknown_one_kept() {
        let event = PushEvent::parse(PAID).expect("a message");
        let PushEvent::OrderPaySuccess(push) = &event else {
            panic!("{event:?}");
        };
        let body: &types::OrderStatusMessageBody = push.body();
        assert_eq!(body.order_status, Some(OrderStatus::WaitingForSent));
        assert_eq!(push.platform(), MessagePlatform::Alibaba1688);
        assert_eq!(
            push.pushed_at(),
            UNIX_EPOCH.checked_add(Duration::from_millis(1_779_263_269_913))
        );
        let new =
            br#"{"messageType":"ORDER_TELEPORTED","messageBody":{"x":1},"messagePlatform":0}"#;
        assert!(matches!(PushEvent::parse(new), Ok(PushEvent::Other(_))));
        // A known type whose body is not its documented shape is kept too.
        let odd = br#"{"messageType":"ORDER_CREATE","messageBody":[1,2],"messagePlatform":0}"#;
        assert!(matches!(PushEvent::parse(odd), Ok(PushEvent::Other(_))));
        assert!(PushEvent::parse(b"{}").is_err());
    }

    #[test]
    fn every_known_message_type_has_a_typed_event() {
        for kind in MessageType::KNOWN {
            let message =
                format!(r#"{{"messageType":"{kind}","messageBody":{{}},"messagePlatform":0}}"#);
            let event = PushEvent::parse(message.as_bytes()).expect("a message");
            assert!(
                !matches!(event, PushEvent::Other(_)),
                "{kind} has no PushEvent variant"
            );
        }
    }

    #[test]
    fn round_trips_through_serde_as_the_message_sent() {
        let event = PushEvent::parse(PAID).expect("a message");
        let queued = serde_json::to_string(&event).expect("serialises");
        let back: PushEvent = serde_json::from_str(&queued).expect("deserialises");
        assert!(matches!(back, PushEvent::OrderPaySuccess(_)));
        assert_eq!(back.dedupe_key(), event.dedupe_key());
        assert_eq!(
            serde_json::from_str::<serde_json::Value>(&queued).expect("json")["messageBody"]["totalAmount"],
            6400
        );
    }

    #[test]
    fn the_same_message_twice_has_one_key_and_others_another() {
        let event = PushEvent::parse(PAID).expect("a message");
        let key = event.dedupe_key();
        assert!(
            key.starts_with("ORDER_PAY_SUCCESS|1|2542285634920880794|"),
            "{key}"
        );
        // Re-delivered with another push time, and with the body as an
        // object instead of a string: the same event.
        let again = br#"{"messageType":"ORDER_PAY_SUCCESS","messageBody":{"totalAmount":6400,"orderStatus":"WAITING_FOR_SENT","orderId":"2542285634920880794"},"messagePlatform":1,"timestamp":"1779265069913"}"#;
        assert_eq!(PushEvent::parse(again).expect("again").dedupe_key(), key);
        // Another status of the same order is another event.
        let cancelled = br#"{"messageType":"ORDER_PAY_SUCCESS","messageBody":{"totalAmount":6400,"orderStatus":"CANCEL","orderId":"2542285634920880794"},"messagePlatform":1}"#;
        assert_ne!(
            PushEvent::parse(cancelled).expect("other").dedupe_key(),
            key
        );
    }
}
