//! Credentials issued by PandaPon, with a secret that never prints.

use std::fmt;

use http::HeaderValue;

/// What is wrong with a credential value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CredentialsError {
    /// The value is empty.
    #[error("{field} is empty")]
    Empty {
        /// Which credential field.
        field: &'static str,
    },
    /// The value cannot be sent in an HTTP header (only visible ASCII is allowed).
    #[error("{field} contains characters that cannot be sent in an HTTP header")]
    NotHeaderSafe {
        /// Which credential field.
        field: &'static str,
    },
}

/// The access key, access secret and user id that identify a PandaPon developer.
///
/// The secret is only ever used to compute signatures inside this crate; there
/// is no accessor for it, and `Debug` prints `***` in its place.
#[derive(Clone)]
pub struct Credentials {
    access_key: HeaderValue,
    access_secret: Secret,
    user_id: HeaderValue,
}

/// The access secret. Not printable, not comparable from outside the crate.
#[derive(Clone)]
pub(crate) struct Secret(Box<str>);

impl Secret {
    pub(crate) fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("\"***\"")
    }
}

fn header_value(field: &'static str, value: &str) -> Result<HeaderValue, CredentialsError> {
    if value.is_empty() {
        return Err(CredentialsError::Empty { field });
    }
    // `HeaderValue::from_str` accepts obs-text bytes; PandaPon's values are
    // plain ASCII, so anything else is a configuration mistake.
    if !value.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(CredentialsError::NotHeaderSafe { field });
    }
    HeaderValue::from_str(value).map_err(|_| CredentialsError::NotHeaderSafe { field })
}

impl Credentials {
    /// Builds credentials from the values shown in PandaPon's console.
    ///
    /// All three must be non-empty visible ASCII, since they travel in headers
    /// (the secret itself never does, but it is held to the same rule so that
    /// a stray newline from a copy-paste is caught here and not as a mismatch).
    pub fn new(
        access_key: impl AsRef<str>,
        access_secret: impl AsRef<str>,
        user_id: impl AsRef<str>,
    ) -> Result<Self, CredentialsError> {
        let access_key = header_value("access key", access_key.as_ref())?;
        let secret = access_secret.as_ref();
        header_value("access secret", secret)?;
        let user_id = header_value("user id", user_id.as_ref())?;
        Ok(Self {
            access_key,
            access_secret: Secret(secret.into()),
            user_id,
        })
    }

    /// The access key, as sent in the `access-key` header.
    pub fn access_key(&self) -> &str {
        header_str(&self.access_key)
    }

    /// The user id, as sent in the `user-id` header.
    pub fn user_id(&self) -> &str {
        header_str(&self.user_id)
    }

    pub(crate) fn access_key_header(&self) -> &HeaderValue {
        &self.access_key
    }

    pub(crate) fn user_id_header(&self) -> &HeaderValue {
        &self.user_id
    }

    pub(crate) fn secret(&self) -> &Secret {
        &self.access_secret
    }
}

fn header_str(value: &HeaderValue) -> &str {
    // Constructed from a checked ASCII `&str`, so this cannot fail.
    value.to_str().unwrap_or_default()
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Credentials")
            .field("access_key", &self.access_key())
            .field("access_secret", &self.access_secret)
            .field("user_id", &self.user_id())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_masks_the_secret_exactly() {
        let c = Credentials::new("ak-123", "s3cr3t-VALUE", "2100007341207").unwrap();
        assert_eq!(
            format!("{c:?}"),
            r#"Credentials { access_key: "ak-123", access_secret: "***", user_id: "2100007341207" }"#
        );
        assert!(!format!("{c:#?}").contains("s3cr3t"));
    }

    #[test]
    fn rejects_empty_and_unsafe_values() {
        assert_eq!(
            Credentials::new("", "s", "u").unwrap_err(),
            CredentialsError::Empty {
                field: "access key"
            }
        );
        assert_eq!(
            Credentials::new("a", "", "u").unwrap_err(),
            CredentialsError::Empty {
                field: "access secret"
            }
        );
        assert_eq!(
            Credentials::new("a", "s\n", "u").unwrap_err(),
            CredentialsError::NotHeaderSafe {
                field: "access secret"
            }
        );
        assert_eq!(
            Credentials::new("a", "s", "u ser").unwrap_err(),
            CredentialsError::NotHeaderSafe { field: "user id" }
        );
    }

    #[test]
    fn errors_never_carry_the_value() {
        let e = Credentials::new("a", "topsecret\u{7f}", "u").unwrap_err();
        assert!(!format!("{e} {e:?}").contains("topsecret"));
    }
}
