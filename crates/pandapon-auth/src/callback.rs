//! Verifying the `Authorization` header of messages PandaPon pushes.
//!
//! PandaPon's manual: `Authorization = HEX_ENCODE(HMAC-SHA256(Base, Secret))`
//! with the access secret as the key. It does not define "Base"; this crate
//! takes it to be the raw request body, exactly as received. Hex case is not
//! specified either, so both cases are accepted.

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
    /// The HMAC does not match the body.
    #[error("Authorization does not match the body")]
    Mismatch,
}

fn mac(credentials: &Credentials) -> HmacSha256 {
    // HMAC accepts keys of any length, so this cannot fail.
    HmacSha256::new_from_slice(credentials.secret().expose().as_bytes())
        .unwrap_or_else(|_| unreachable!("HMAC takes keys of any length"))
}

/// The `Authorization` value PandaPon would send for `body` (lowercase hex).
/// For tests and tools that play PandaPon.
pub fn callback_signature(credentials: &Credentials, body: &[u8]) -> String {
    let mut mac = mac(credentials);
    mac.update(body);
    hex::encode(mac.finalize().into_bytes())
}

/// Checks `authorization` against the raw `body`, in constant time, ignoring
/// hex case and surrounding whitespace.
pub fn verify_callback(
    credentials: &Credentials,
    body: &[u8],
    authorization: Option<&str>,
) -> Result<(), CallbackError> {
    let value = authorization
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .ok_or(CallbackError::Missing)?;
    let expected = hex::decode(value).map_err(|_| CallbackError::NotHex)?;
    let mut mac = mac(credentials);
    mac.update(body);
    mac.verify_slice(&expected)
        .map_err(|_| CallbackError::Mismatch)
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
        assert_eq!(verify_callback(&creds(), body, Some(&sig)), Ok(()));
        assert_eq!(
            verify_callback(&creds(), body, Some(&sig.to_uppercase())),
            Ok(())
        );
        assert_eq!(
            verify_callback(&creds(), body, Some(&format!(" {sig}\n"))),
            Ok(())
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
}
