//! Verifying the `Authorization` header of messages PandaPon pushes.
//!
//! PandaPon's manual: `Authorization = HEX_ENCODE(HMAC-SHA256(Base, Secret))`
//! with the access secret as the key, and says the platform signs "the
//! message body". It does not define "Base" exactly, and its Java sample
//! descends from a scheme where Base is the access key followed by the body.
//! So both readings are accepted ([`CallbackBase`]), each compared in
//! constant time, and [`verify_callback`] reports which one matched. Hex case
//! is not specified either, so both cases are accepted.

use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::Credentials;

type HmacSha256 = Hmac<Sha256>;

/// Why a pushed message's signature was rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CallbackError {
    /// No `Authorization` header, or an empty one.
    #[error("missing Authorization header")]
    Missing,
    /// The header is not hex.
    #[error("Authorization is not a hex HMAC-SHA256")]
    NotHex,
    /// The HMAC matches neither reading of the signed base.
    #[error("Authorization does not match the body (neither body nor access key + body)")]
    Mismatch,
}

/// What the HMAC of a pushed message covers: the two readings of PandaPon's
/// undefined "Base".
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum CallbackBase {
    /// The raw request body, exactly as received (PandaPon's wording).
    Body,
    /// The access key, then the raw body (the scheme PandaPon's Java sample
    /// comes from).
    AccessKeyAndBody,
}

impl CallbackBase {
    /// Both readings, in the order they are tried.
    pub const ALL: [CallbackBase; 2] = [CallbackBase::Body, CallbackBase::AccessKeyAndBody];

    fn mac(self, credentials: &Credentials, body: &[u8]) -> HmacSha256 {
        // HMAC accepts keys of any length, so this cannot fail.
        let mut mac = HmacSha256::new_from_slice(credentials.secret().expose().as_bytes())
            .unwrap_or_else(|_| unreachable!("HMAC takes keys of any length"));
        if self == CallbackBase::AccessKeyAndBody {
            mac.update(credentials.access_key().as_bytes());
        }
        mac.update(body);
        mac
    }
}

impl std::fmt::Display for CallbackBase {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            CallbackBase::Body => "body",
            CallbackBase::AccessKeyAndBody => "access key + body",
        })
    }
}

/// The `Authorization` value PandaPon would send for `body` if it signs the
/// raw body (lowercase hex). For tests and tools that play PandaPon; see
/// [`callback_signature_with`] for the other reading.
pub fn callback_signature(credentials: &Credentials, body: &[u8]) -> String {
    callback_signature_with(credentials, CallbackBase::Body, body)
}

/// The `Authorization` value for `body` under the given reading of the base.
pub fn callback_signature_with(
    credentials: &Credentials,
    base: CallbackBase,
    body: &[u8],
) -> String {
    hex::encode(base.mac(credentials, body).finalize().into_bytes())
}

/// Checks `authorization` against the raw `body` under both readings of the
/// signed base, each in constant time, ignoring hex case and surrounding
/// whitespace. Returns the reading that matched.
///
/// Both HMACs are always computed, so the time taken does not say which
/// reading was tried first.
///
/// # Errors
///
/// [`CallbackError::Missing`] when `authorization` is `None` or blank,
/// [`CallbackError::NotHex`] when it is not hex, and
/// [`CallbackError::Mismatch`] when it matches neither reading of the
/// signed base.
pub fn verify_callback(
    credentials: &Credentials,
    body: &[u8],
    authorization: Option<&str>,
) -> Result<CallbackBase, CallbackError> {
    let value = authorization
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .ok_or(CallbackError::Missing)?;
    let expected = hex::decode(value).map_err(|_| CallbackError::NotHex)?;
    let mut matched = None;
    for base in CallbackBase::ALL {
        let ok = base.mac(credentials, body).verify_slice(&expected).is_ok();
        if ok && matched.is_none() {
            matched = Some(base);
        }
    }
    matched.ok_or(CallbackError::Mismatch)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn creds() -> Credentials {
        Credentials::new("ak", "key", "u").unwrap()
    }

    #[test]
    fn known_hmac_vector() {
        // RFC 4231-style check with a well-known pair: HMAC-SHA256("key",
        // "The quick brown fox jumps over the lazy dog").
        let body = b"The quick brown fox jumps over the lazy dog";
        assert_eq!(
            callback_signature(&creds(), body),
            "f7bc83f430538424b13298e6aa6fb143ef4d59a14946175997479dbc2d1a3cd8"
        );
    }

    #[test]
    fn verifies_either_case_and_rejects_tampering() {
        let body = br#"{"messageType":"ORDER_CREATE"}"#;
        let sig = callback_signature(&creds(), body);
        let body_only = Ok(CallbackBase::Body);
        assert_eq!(verify_callback(&creds(), body, Some(&sig)), body_only);
        assert_eq!(
            verify_callback(&creds(), body, Some(&sig.to_uppercase())),
            body_only
        );
        assert_eq!(
            verify_callback(&creds(), body, Some(&format!(" {sig}\n"))),
            body_only
        );
        let tampered = br#"{"messageType":"ORDER_CANCEL"}"#;
        assert_eq!(
            verify_callback(&creds(), tampered, Some(&sig)),
            Err(CallbackError::Mismatch)
        );
        assert_eq!(
            verify_callback(&creds(), body, Some("zz")),
            Err(CallbackError::NotHex)
        );
        assert_eq!(
            verify_callback(&creds(), body, Some(&sig[..10])),
            Err(CallbackError::Mismatch)
        );
        assert_eq!(
            verify_callback(&creds(), body, None),
            Err(CallbackError::Missing)
        );
        assert_eq!(
            verify_callback(&creds(), body, Some("  ")),
            Err(CallbackError::Missing)
        );
    }

    #[test]
    fn accepts_the_access_key_reading_and_reports_it() {
        let body = br#"{"messageType":"ORDER_CREATE"}"#;
        let keyed = callback_signature_with(&creds(), CallbackBase::AccessKeyAndBody, body);
        // HMAC-SHA256("key", "ak" ++ body), the same as signing the
        // concatenation as one body.
        let mut joined = b"ak".to_vec();
        joined.extend_from_slice(body);
        assert_eq!(keyed, callback_signature(&creds(), &joined));
        assert_ne!(keyed, callback_signature(&creds(), body));
        assert_eq!(
            verify_callback(&creds(), body, Some(&keyed)),
            Ok(CallbackBase::AccessKeyAndBody)
        );
        // A signature over access key + body does not verify another body.
        assert_eq!(
            verify_callback(&creds(), b"{}", Some(&keyed)),
            Err(CallbackError::Mismatch)
        );
        // A different access key with the same secret changes the keyed reading only.
        let other = Credentials::new("ak2", "key", "u").unwrap();
        assert_eq!(
            verify_callback(&other, body, Some(&keyed)),
            Err(CallbackError::Mismatch)
        );
        assert_eq!(
            CallbackBase::AccessKeyAndBody.to_string(),
            "access key + body"
        );
    }
}
