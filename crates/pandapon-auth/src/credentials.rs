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
    /// The value cannot be sent in an HTTP header: it has a control
    /// character, a non-ASCII character, or whitespace at either end.
    #[error("{field} cannot be sent in an HTTP header: {problem}")]
    NotHeaderSafe {
        /// Which credential field.
        field: &'static str,
        /// Which character and where.
        problem: String,
    },
}

/// What in `value` HTTP does not allow in a header value, if anything:
/// control characters (tab excepted), whitespace at either end, and, for the
/// header types used here, anything beyond ASCII. Inner spaces and tabs are
/// allowed.
fn header_problem(value: &str) -> Option<String> {
    let name = |c: char| format!("{:?} (U+{:04X})", c, u32::from(c));
    for (i, c) in value.char_indices() {
        if c.is_ascii_control() && c != '\t' {
            // Control characters are never part of a real value: naming the
            // code point leaks nothing.
            return Some(format!(
                "control character U+{:04X} at byte {i}",
                u32::from(c)
            ));
        }
        if !c.is_ascii() {
            return Some(format!("{} at byte {i} is not ASCII", name(c)));
        }
    }
    if value.starts_with([' ', '\t']) || value.ends_with([' ', '\t']) {
        return Some("whitespace at the start or end".to_owned());
    }
    None
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
    if let Some(problem) = header_problem(value) {
        return Err(CredentialsError::NotHeaderSafe { field, problem });
    }
    HeaderValue::from_str(value).map_err(|e| CredentialsError::NotHeaderSafe {
        field,
        problem: e.to_string(),
    })
}

impl Credentials {
    /// Builds credentials from the values shown in PandaPon's console.
    ///
    /// The access key and the user id travel in headers, so they must be
    /// non-empty ASCII that HTTP allows in a header value (no control
    /// characters, no whitespace at either end; inner spaces are fine).
    ///
    /// The secret never travels: it only goes into the signature, exactly
    /// as given, so it need only be non-empty. A secret with spaces at
    /// either end signs with those spaces, as other PandaPon clients sign
    /// it; trim it first if the spaces came from a copy-paste.
    ///
    /// # Errors
    ///
    /// [`CredentialsError::Empty`] when any of the three is empty, and
    /// [`CredentialsError::NotHeaderSafe`] when the access key or the user
    /// id has a control character, a character beyond ASCII, or whitespace
    /// at either end.
    pub fn new(
        access_key: impl AsRef<str>,
        access_secret: impl AsRef<str>,
        user_id: impl AsRef<str>,
    ) -> Result<Self, CredentialsError> {
        let access_key = header_value("access key", access_key.as_ref())?;
        let secret = access_secret.as_ref();
        if secret.is_empty() {
            return Err(CredentialsError::Empty {
                field: "access secret",
            });
        }
        let user_id = header_value("user id", user_id.as_ref())?;
        Ok(Self {
            access_key,
            access_secret: Secret(secret.into()),
            user_id,
        })
    }

    /// The same access key and secret for another (sub-)account: `user_id`
    /// is the `user-id` header PandaPon checks permissions by.
    ///
    /// # Errors
    ///
    /// [`CredentialsError`] when `user_id` is empty or cannot be sent in a
    /// header.
    pub fn with_user_id(&self, user_id: impl AsRef<str>) -> Result<Self, CredentialsError> {
        Ok(Self {
            access_key: self.access_key.clone(),
            access_secret: self.access_secret.clone(),
            user_id: header_value("user id", user_id.as_ref())?,
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
        let refused =
            |k: &str, s: &str, u: &str| Credentials::new(k, s, u).unwrap_err().to_string();
        assert_eq!(
            refused("a\n", "s", "u"),
            "access key cannot be sent in an HTTP header: control character U+000A at byte 1"
        );
        assert_eq!(
            refused("a", "s", " u"),
            "user id cannot be sent in an HTTP header: whitespace at the start or end"
        );
        assert_eq!(
            refused("ak\t", "s", "u"),
            "access key cannot be sent in an HTTP header: whitespace at the start or end"
        );
        assert_eq!(
            refused("akü", "s", "u"),
            "access key cannot be sent in an HTTP header: 'ü' (U+00FC) at byte 2 is not ASCII"
        );
    }

    #[test]
    fn the_secret_is_not_a_header_and_signs_as_given() {
        // It never travels, so header rules do not apply to it.
        for secret in [" leading and trailing space ", "sé", "tab\tinside"] {
            let c = Credentials::new("ak", secret, "u").expect("a usable secret");
            assert_eq!(c.secret().expose(), secret);
        }
    }

    #[test]
    fn inner_spaces_and_tabs_are_allowed_as_http_allows_them() {
        let c = Credentials::new("access key", "a\tsecret with spaces", "user 1").expect("valid");
        assert_eq!(c.access_key(), "access key");
        assert_eq!(c.user_id(), "user 1");
    }

    #[test]
    fn another_user_id_keeps_the_key_and_secret() {
        let c = Credentials::new("ak", "sk", "100").expect("credentials");
        let other = c.with_user_id("200").expect("valid");
        assert_eq!((other.access_key(), other.user_id()), ("ak", "200"));
        assert_eq!(other.secret().expose(), "sk");
        assert!(c.with_user_id(" 200").is_err());
        assert!(c.with_user_id("").is_err());
    }

    #[test]
    fn errors_never_carry_the_secret() {
        let e = Credentials::new("a\u{7f}", "topsecret", "u").unwrap_err();
        assert!(!format!("{e} {e:?}").contains("topsecret"));
    }
}
