//! Verifying the `Authorization` header of messages PandaPon pushes.
//!
//! PandaPon's manual: `Authorization = HEX_ENCODE(HMAC-SHA256(Base, Secret))`
//! with the access secret as the key, and says the platform signs "the
//! message body". It does not define "Base" exactly, and its Java sample
//! descends from a scheme where Base is the access key followed by the body.
//! So both readings are accepted ([`PushSignatureBase`]), each compared in
//! constant time, and [`verify_push`] reports which one matched. Hex case
//! is not specified either, so both cases are accepted.

use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::Credentials;

type HmacSha256 = Hmac<Sha256>;

/// Why a pushed message's signature was rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PushSignatureError {
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
pub enum PushSignatureBase {
    /// The raw request body, exactly as received (PandaPon's wording).
    Body,
    /// The access key, then the raw body (the scheme PandaPon's Java sample
    /// comes from).
    AccessKeyAndBody,
}

impl PushSignatureBase {
    /// Both readings, in the order they are tried.
    pub const ALL: [PushSignatureBase; 2] =
        [PushSignatureBase::Body, PushSignatureBase::AccessKeyAndBody];

    fn mac(self, credentials: &Credentials, body: &[u8]) -> HmacSha256 {
        // HMAC accepts keys of any length, so this cannot fail.
        let mut mac = HmacSha256::new_from_slice(credentials.secret().expose().as_bytes())
            .unwrap_or_else(|_| unreachable!("HMAC takes keys of any length"));
        if self == PushSignatureBase::AccessKeyAndBody {
            mac.update(credentials.access_key().as_bytes());
        }
        mac.update(body);
        mac
    }
}

impl std::fmt::Display for PushSignatureBase {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            PushSignatureBase::Body => "body",
            PushSignatureBase::AccessKeyAndBody => "access key + body",
        })
    }
}

/// The `Authorization` value PandaPon would send for `body` if it signs the
/// raw body (lowercase hex). For tests and tools that play PandaPon; see
/// [`push_signature_with`] for the other reading.
pub fn push_signature(credentials: &Credentials, body: &[u8]) -> String {
    push_signature_with(credentials, PushSignatureBase::Body, body)
}

/// The `Authorization` value for `body` under the given reading of the base.
pub fn push_signature_with(
    credentials: &Credentials,
    base: PushSignatureBase,
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
/// [`PushSignatureError::Missing`] when `authorization` is `None` or blank,
/// [`PushSignatureError::NotHex`] when it is not hex, and
/// [`PushSignatureError::Mismatch`] when it matches neither reading of the
/// signed base.
pub fn verify_push(
    credentials: &Credentials,
    body: &[u8],
    authorization: Option<&str>,
) -> Result<PushSignatureBase, PushSignatureError> {
    let value = authorization
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .ok_or(PushSignatureError::Missing)?;
    let expected = hex::decode(value).map_err(|_| PushSignatureError::NotHex)?;
    let mut matched = None;
    for base in PushSignatureBase::ALL {
        let ok = base.mac(credentials, body).verify_slice(&expected).is_ok();
        if ok && matched.is_none() {
            matched = Some(base);
        }
    }
    matched.ok_or(PushSignatureError::Mismatch)
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
            push_signature(&creds(), body),
            "f7bc83f430538424b13298e6aa6fb143ef4d59a14946175997479dbc2d1a3cd8"
        );
    }

    #[test]
    fn verifies_either_case_and_rejects_tampering() {
        let body = br#"{"messageType":"ORDER_CREATE"}"#;
        let sig = push_signature(&creds(), body);
        let body_only = Ok(PushSignatureBase::Body);
        assert_eq!(verify_push(&creds(), body, Some(&sig)), body_only);
        assert_eq!(
            verify_push(&creds(), body, Some(&sig.to_uppercase())),
            body_only
        );
        assert_eq!(
            verify_push(&creds(), body, Some(&format!(" {sig}\n"))),
            body_only
        );
        let tampered = br#"{"messageType":"ORDER_CANCEL"}"#;
        assert_eq!(
            verify_push(&creds(), tampered, Some(&sig)),
            Err(PushSignatureError::Mismatch)
        );
        assert_eq!(
            verify_push(&creds(), body, Some("zz")),
            Err(PushSignatureError::NotHex)
        );
        assert_eq!(
            verify_push(&creds(), body, Some(&sig[..10])),
            Err(PushSignatureError::Mismatch)
        );
        assert_eq!(
            verify_push(&creds(), body, None),
            Err(PushSignatureError::Missing)
        );
        assert_eq!(
            verify_push(&creds(), body, Some("  ")),
            Err(PushSignatureError::Missing)
        );
    }

    #[test]
    fn accepts_the_access_key_reading_and_reports_it() {
        let body = br#"{"messageType":"ORDER_CREATE"}"#;
        let keyed = push_signature_with(&creds(), PushSignatureBase::AccessKeyAndBody, body);
        // HMAC-SHA256("key", "ak" ++ body), the same as signing the
        // concatenation as one body.
        let mut joined = b"ak".to_vec();
        joined.extend_from_slice(body);
        assert_eq!(keyed, push_signature(&creds(), &joined));
        assert_ne!(keyed, push_signature(&creds(), body));
        assert_eq!(
            verify_push(&creds(), body, Some(&keyed)),
            Ok(PushSignatureBase::AccessKeyAndBody)
        );
        // A signature over access key + body does not verify another body.
        assert_eq!(
            verify_push(&creds(), b"{}", Some(&keyed)),
            Err(PushSignatureError::Mismatch)
        );
        // A different access key with the same secret changes the keyed reading only.
        let other = Credentials::new("ak2", "key", "u").unwrap();
        assert_eq!(
            verify_push(&other, body, Some(&keyed)),
            Err(PushSignatureError::Mismatch)
        );
        assert_eq!(
            PushSignatureBase::AccessKeyAndBody.to_string(),
            "access key + body"
        );
    }
}
