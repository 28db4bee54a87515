//! The pure signing core: (credentials, timestamp, nonce) in, header values out.
//!
//! Nothing here reads a clock or a random number generator; see
//! [`Signer`](crate::Signer) for the wrapper that does.

use std::fmt;

use http::{HeaderMap, HeaderName, HeaderValue};
use md5::{Digest, Md5};

use crate::Credentials;

/// Header carrying the access key.
pub const ACCESS_KEY: HeaderName = HeaderName::from_static("access-key");
/// Header carrying the timestamp that was signed.
pub const TIMESTAMP: HeaderName = HeaderName::from_static("timestamp");
/// Header carrying the nonce that was signed.
pub const NONCE: HeaderName = HeaderName::from_static("nonce-str");
/// Header carrying the user id (sent, not signed).
pub const USER_ID: HeaderName = HeaderName::from_static("user-id");
/// Header carrying the signature.
pub const SIGNATURE: HeaderName = HeaderName::from_static("signature");

/// Length of a nonce, in characters.
pub const NONCE_LEN: usize = 32;

/// A value that cannot be used as a timestamp or nonce.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ParamError {
    /// The timestamp is not a non-empty run of ASCII digits.
    #[error("timestamp must be ASCII digits, got {0:?}")]
    Timestamp(String),
    /// The nonce is not 32 characters of `[A-Za-z0-9]`.
    #[error("nonce must be {NONCE_LEN} characters of [A-Za-z0-9], got {0:?}")]
    Nonce(String),
}

/// The `timestamp` header value, exactly as it is signed and sent.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Timestamp(HeaderValue);

impl Timestamp {
    /// Parses a timestamp string (ASCII digits, any unit).
    ///
    /// # Errors
    ///
    /// [`ParamError::Timestamp`] when `s` is empty, longer than 20
    /// characters, or not all ASCII digits.
    pub fn parse(s: &str) -> Result<Self, ParamError> {
        if s.is_empty() || s.len() > 20 || !s.bytes().all(|b| b.is_ascii_digit()) {
            return Err(ParamError::Timestamp(s.to_owned()));
        }
        HeaderValue::from_str(s)
            .map(Self)
            .map_err(|_| ParamError::Timestamp(s.to_owned()))
    }

    /// A timestamp from an integer count (milliseconds or seconds; the caller chooses).
    pub fn from_count(count: u64) -> Self {
        Self(HeaderValue::from(count))
    }

    /// The timestamp as sent.
    pub fn as_str(&self) -> &str {
        ascii(self.0.as_bytes())
    }
}

impl fmt::Debug for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.as_str(), f)
    }
}

/// The `nonce-str` header value: 32 characters of `[A-Za-z0-9]`.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Nonce([u8; NONCE_LEN]);

impl Nonce {
    /// Parses a nonce, checking length and alphabet.
    ///
    /// # Errors
    ///
    /// [`ParamError::Nonce`] when `s` is not exactly 32 characters of
    /// `[A-Za-z0-9]`.
    pub fn parse(s: &str) -> Result<Self, ParamError> {
        let bytes: [u8; NONCE_LEN] = s
            .as_bytes()
            .try_into()
            .map_err(|_| ParamError::Nonce(s.to_owned()))?;
        if !bytes.iter().all(u8::is_ascii_alphanumeric) {
            return Err(ParamError::Nonce(s.to_owned()));
        }
        Ok(Self(bytes))
    }

    /// Draws a fresh nonce from `rng`, which should be a CSPRNG.
    pub fn random<R: rand::Rng + ?Sized>(rng: &mut R) -> Self {
        let mut bytes = [0u8; NONCE_LEN];
        for b in &mut bytes {
            *b = rng.sample(rand::distr::Alphanumeric);
        }
        Self(bytes)
    }

    /// The nonce as sent.
    pub fn as_str(&self) -> &str {
        ascii(&self.0)
    }
}

impl fmt::Debug for Nonce {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.as_str(), f)
    }
}

/// An MD5 signature as 32 uppercase hex characters.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Signature([u8; 32]);

impl Signature {
    /// The signature as sent in the `signature` header.
    pub fn as_str(&self) -> &str {
        ascii(&self.0)
    }

    pub(crate) fn from_digest(digest: &[u8; 16]) -> Self {
        const HEX: &[u8; 16] = b"0123456789ABCDEF";
        let mut out = [0u8; 32];
        for (i, byte) in digest.iter().enumerate() {
            out[2 * i] = HEX[usize::from(byte >> 4)];
            out[2 * i + 1] = HEX[usize::from(byte & 0x0f)];
        }
        Self(out)
    }

    /// Compares with a received header value in constant time, ignoring hex case.
    pub fn matches(&self, received: &str) -> bool {
        let received = received.as_bytes();
        if received.len() != self.0.len() {
            return false;
        }
        let diff = self
            .0
            .iter()
            .zip(received)
            .fold(0u8, |acc, (a, b)| acc | (a ^ b.to_ascii_uppercase()));
        diff == 0
    }
}

/// Redacted: a signature lets anyone replay its request within
/// PandaPon's timestamp window, so it is kept out of logs as the secret is
/// (and as the `signature` header is marked sensitive).
/// [`Display`](fmt::Display) and [`as_str`](Self::as_str) give the value
/// where it is meant to be shown.
impl fmt::Debug for Signature {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Signature(<redacted>)")
    }
}

impl fmt::Display for Signature {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

fn ascii(bytes: &[u8]) -> &str {
    // Every constructor above only admits ASCII.
    std::str::from_utf8(bytes).unwrap_or_default()
}

/// The string that is hashed: `access_key + timestamp + nonce + access_secret`.
///
/// It contains the secret, so it is never produced as a plain `String`.
/// `Display` and `Debug` show it with the secret replaced by `***`, which is
/// what to compare with the server's expectation when signatures disagree.
#[derive(Clone, Copy)]
pub struct StringToSign<'a> {
    credentials: &'a Credentials,
    timestamp: &'a str,
    nonce: &'a str,
}

impl<'a> StringToSign<'a> {
    /// Assembles the parts of the string to sign. Any strings are accepted
    /// here, so that mismatches can be explored with odd inputs.
    pub fn new(credentials: &'a Credentials, timestamp: &'a str, nonce: &'a str) -> Self {
        Self {
            credentials,
            timestamp,
            nonce,
        }
    }

    /// MD5 over the concatenation, as 32 uppercase hex characters.
    pub fn signature(&self) -> Signature {
        let mut md5 = Md5::new();
        md5.update(self.credentials.access_key().as_bytes());
        md5.update(self.timestamp.as_bytes());
        md5.update(self.nonce.as_bytes());
        md5.update(self.credentials.secret().expose().as_bytes());
        Signature::from_digest(&md5.finalize().into())
    }

    /// The string to sign with the secret replaced by `***`.
    pub fn masked(&self) -> String {
        self.to_string()
    }
}

impl fmt::Display for StringToSign<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}{}{}***",
            self.credentials.access_key(),
            self.timestamp,
            self.nonce
        )
    }
}

impl fmt::Debug for StringToSign<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("StringToSign").field(&self.masked()).finish()
    }
}

/// The five headers PandaPon expects on every request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedHeaders {
    access_key: HeaderValue,
    timestamp: Timestamp,
    nonce: Nonce,
    user_id: HeaderValue,
    signature: Signature,
}

impl SignedHeaders {
    /// The timestamp that was signed.
    pub fn timestamp(&self) -> &Timestamp {
        &self.timestamp
    }

    /// The nonce that was signed.
    pub fn nonce(&self) -> &Nonce {
        &self.nonce
    }

    /// The signature.
    pub fn signature(&self) -> &Signature {
        &self.signature
    }

    /// The header name/value pairs, in the order the manual lists them.
    pub fn iter(&self) -> impl Iterator<Item = (HeaderName, HeaderValue)> + '_ {
        let mut signature = HeaderValue::from_bytes(&self.signature.0)
            .unwrap_or_else(|_| HeaderValue::from_static(""));
        signature.set_sensitive(true);
        [
            (ACCESS_KEY, self.access_key.clone()),
            (TIMESTAMP, self.timestamp.0.clone()),
            (
                NONCE,
                HeaderValue::from_bytes(&self.nonce.0)
                    .unwrap_or_else(|_| HeaderValue::from_static("")),
            ),
            (USER_ID, self.user_id.clone()),
            (SIGNATURE, signature),
        ]
        .into_iter()
    }

    /// Sets the five headers on `headers`, replacing any earlier values
    /// (so re-signing a retried request leaves exactly one of each).
    pub fn apply(&self, headers: &mut HeaderMap) {
        for (name, value) in self.iter() {
            headers.insert(name, value);
        }
    }
}

/// Signs one request: the pure core of the scheme.
///
/// `signature = UPPER(HEX(MD5(access_key + timestamp + nonce + access_secret)))`;
/// the body, path and `user-id` are not signed.
pub fn sign(credentials: &Credentials, timestamp: &Timestamp, nonce: &Nonce) -> SignedHeaders {
    let signature = StringToSign::new(credentials, timestamp.as_str(), nonce.as_str()).signature();
    SignedHeaders {
        access_key: credentials.access_key_header().clone(),
        timestamp: timestamp.clone(),
        nonce: *nonce,
        user_id: credentials.user_id_header().clone(),
        signature,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn creds() -> Credentials {
        Credentials::new("ak", "sk", "2100007341207").unwrap()
    }

    #[test]
    fn known_vector() {
        let ts = Timestamp::parse("1700000000").unwrap();
        let nonce = Nonce::parse("abcdefghijklmnopqrstuvwxyz012345").unwrap();
        let headers = sign(&creds(), &ts, &nonce);
        assert_eq!(
            headers.signature().as_str(),
            "138C588C7D5F483C99D06530E8E87A7D"
        );
    }

    /// The signature is shown where it is asked for, never in Debug: a
    /// logged `SignedHeaders` or `Signature` does not give a request away.
    #[test]
    fn debug_output_does_not_show_the_signature() {
        let ts = Timestamp::parse("1700000000").unwrap();
        let nonce = Nonce::parse("abcdefghijklmnopqrstuvwxyz012345").unwrap();
        let headers = sign(&creds(), &ts, &nonce);
        let value = "138C588C7D5F483C99D06530E8E87A7D";
        assert_eq!(headers.signature().to_string(), value);
        for shown in [
            format!("{headers:?}"),
            format!("{headers:#?}"),
            format!("{:?}", headers.signature()),
        ] {
            assert!(!shown.contains(value), "{shown}");
            assert!(shown.contains("Signature(<redacted>)"), "{shown}");
        }
        // The headers themselves still carry it, marked sensitive.
        let signature = headers
            .iter()
            .find(|(name, _)| *name == SIGNATURE)
            .expect("signature");
        assert_eq!(signature.1, value);
        assert!(signature.1.is_sensitive());
    }

    #[test]
    fn masked_string_hides_the_secret() {
        let c = Credentials::new("ak", "SECRETVALUE", "u").unwrap();
        let s = StringToSign::new(&c, "1700000000", "n0nce");
        assert_eq!(s.masked(), "ak1700000000n0nce***");
        assert_eq!(format!("{s:?}"), r#"StringToSign("ak1700000000n0nce***")"#);
    }

    #[test]
    fn apply_sets_exactly_five_headers_and_replaces_old_ones() {
        let mut map = HeaderMap::new();
        map.insert(SIGNATURE, HeaderValue::from_static("stale"));
        map.insert("content-type", HeaderValue::from_static("application/json"));
        let ts = Timestamp::from_count(1_700_000_000_000);
        let nonce = Nonce::parse("ABCDEFGHIJKLMNOPQRSTUVWXYZ012345").unwrap();
        sign(&creds(), &ts, &nonce).apply(&mut map);
        assert_eq!(map.len(), 6);
        assert_eq!(map.get_all(SIGNATURE).iter().count(), 1);
        assert_eq!(map[TIMESTAMP], "1700000000000");
        assert_eq!(map[NONCE], "ABCDEFGHIJKLMNOPQRSTUVWXYZ012345");
        assert_eq!(map[USER_ID], "2100007341207");
        assert_eq!(map[ACCESS_KEY], "ak");
        assert!(map[SIGNATURE].is_sensitive());
    }

    #[test]
    fn nonce_and_timestamp_are_validated() {
        assert!(Nonce::parse("short").is_err());
        assert!(Nonce::parse("abcdefghijklmnopqrstuvwxyz01234-").is_err());
        assert!(Nonce::parse("abcdefghijklmnopqrstuvwxyz0123456").is_err());
        assert!(Timestamp::parse("").is_err());
        assert!(Timestamp::parse("17e9").is_err());
        assert!(Timestamp::parse("-1").is_err());
    }

    #[test]
    fn random_nonces_are_alphanumeric_and_distinct() {
        use rand::SeedableRng;
        let mut rng = rand::rngs::StdRng::seed_from_u64(7);
        let mut seen = std::collections::HashSet::new();
        for _ in 0..1000 {
            let n = Nonce::random(&mut rng);
            assert!(Nonce::parse(n.as_str()).is_ok());
            assert!(seen.insert(n));
        }
    }

    #[test]
    fn signature_match_is_case_insensitive_and_exact() {
        let sig = Signature::from_digest(&[0xab; 16]);
        assert!(sig.matches(&"AB".repeat(16)));
        assert!(sig.matches(&"ab".repeat(16)));
        assert!(!sig.matches(&"AB".repeat(15)));
        assert!(!sig.matches(&format!("{}AC", "AB".repeat(15))));
    }
}
