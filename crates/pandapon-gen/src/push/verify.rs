//! A pushed message's signature, checked over the raw body, then the
//! message parsed.

use pandapon_auth::{Credentials, PushSignatureBase, PushSignatureError, verify_push};

use crate::types::OrderMessage;

/// Why a pushed message was not accepted.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PushError {
    /// The `Authorization` header does not verify.
    #[error("push signature: {0}")]
    Signature(#[from] PushSignatureError),
    /// The body is not an order message.
    #[error("pushed body is not an order message: {0}")]
    Malformed(#[from] serde_json::Error),
}

/// Parses a pushed message without checking its signature. `messageBody`
/// may be an object or a JSON string; unknown `messageType` and
/// `messagePlatform` values are kept.
///
/// # Errors
///
/// [`PushError::Malformed`] when `body` is not JSON, or not an order
/// message (no `messagePlatform`, or a field of the wrong type).
pub fn parse_message(body: &[u8]) -> Result<OrderMessage, PushError> {
    Ok(serde_json::from_slice(body)?)
}

/// A pushed message whose signature verified.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Verified {
    /// The parsed message.
    pub message: OrderMessage,
    /// Which reading of PandaPon's signed base matched: the raw body, or the
    /// access key followed by the body. PandaPon's docs leave this open; log
    /// it once to learn which one your account's pushes use.
    pub base: PushSignatureBase,
}

/// Verifies the `Authorization` header over the raw body (HMAC-SHA256 with
/// the access secret; either reading of the base, see [`PushSignatureBase`]),
/// then parses the message.
///
/// # Errors
///
/// [`PushError::Signature`] when the header is missing, not hex or matches
/// neither reading of the base (the [`PushSignatureError`] says which); the
/// signature is checked first. Then [`PushError::Malformed`], as for
/// [`parse_message`].
pub fn verify_message(
    credentials: &Credentials,
    body: &[u8],
    authorization: Option<&str>,
) -> Result<Verified, PushError> {
    let base = verify_push(credentials, body, authorization)?;
    Ok(Verified {
        message: parse_message(body)?,
        base,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use pandapon_auth::push_signature;

    #[test]
    fn verify_then_parse() {
        let creds = Credentials::new("ak", "sk", "u").unwrap();
        let body = br#"{"messageType":"ORDER_CREATE","messageBody":"{\"orderId\":\"1\"}","messagePlatform":0,"timestamp":"1779263269913"}"#;
        let sig = push_signature(&creds, body);
        let verified = verify_message(&creds, body, Some(&sig)).unwrap();
        assert_eq!(
            verified.message.message_platform,
            crate::MessagePlatform::Taobao
        );
        assert_eq!(verified.base, PushSignatureBase::Body);
        let keyed =
            pandapon_auth::push_signature_with(&creds, PushSignatureBase::AccessKeyAndBody, body);
        let verified = verify_message(&creds, body, Some(&keyed)).unwrap();
        assert_eq!(verified.base, PushSignatureBase::AccessKeyAndBody);
        assert!(matches!(
            verify_message(&creds, body, Some("00")),
            Err(PushError::Signature(PushSignatureError::Mismatch))
        ));
        let junk = b"{\"messagePlatform\":\"x\"}";
        let sig = push_signature(&creds, junk);
        assert!(matches!(
            verify_message(&creds, junk, Some(&sig)),
            Err(PushError::Malformed(_))
        ));
    }
}
