//! Server-side check of the signed headers, as PandaPon would do it.
//!
//! Used by local mock servers and tests so that a misconfigured client fails
//! there, not in production.

use std::time::{Duration, SystemTime};

use crate::sign::{ACCESS_KEY, NONCE, SIGNATURE, TIMESTAMP, USER_ID};
use crate::{Credentials, Nonce, StringToSign, Timestamp, TimestampUnit};

/// How far the request time may be from the server's clock (PandaPon: 600 s).
pub const DEFAULT_WINDOW: Duration = Duration::from_secs(600);

/// Why a request's signature headers were rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum VerifyError {
    /// A required header is absent or not valid text.
    #[error("missing header {0}")]
    MissingHeader(&'static str),
    /// The access key is not the expected one.
    #[error("unknown access-key")]
    AccessKey,
    /// The user id is not the expected one.
    #[error("user-id does not match")]
    UserId,
    /// The timestamp is not digits.
    #[error("timestamp is not a number")]
    MalformedTimestamp,
    /// The timestamp is outside the allowed window.
    #[error("timestamp is {skew_secs} s away from server time (allowed: {window_secs} s)")]
    TimestampOutOfWindow {
        /// Signed distance from the server clock, in seconds (positive: in the future).
        skew_secs: i64,
        /// The allowed distance.
        window_secs: u64,
    },
    /// The nonce is not 32 characters of `[A-Za-z0-9]`.
    #[error("nonce-str must be 32 characters of [A-Za-z0-9]")]
    MalformedNonce,
    /// The signature does not match the one computed from the secret.
    #[error("signature does not match")]
    Signature,
}

/// Checks the five PandaPon headers against known credentials.
#[derive(Debug, Clone)]
pub struct Verifier {
    credentials: Credentials,
    unit: TimestampUnit,
    window: Duration,
    /// User ids accepted besides the credentials' own.
    sub_accounts: Vec<String>,
}

impl Verifier {
    /// A verifier expecting millisecond timestamps within 600 s.
    pub fn new(credentials: Credentials) -> Self {
        Self {
            credentials,
            unit: TimestampUnit::Millis,
            window: DEFAULT_WINDOW,
            sub_accounts: Vec::new(),
        }
    }

    /// Also accepts these user ids: the sub-accounts the same access key
    /// acts for (the `user-id` header is not signed; PandaPon checks it
    /// against the developer's accounts).
    pub fn with_sub_accounts(
        mut self,
        user_ids: impl IntoIterator<Item = impl Into<String>>,
    ) -> Self {
        self.sub_accounts
            .extend(user_ids.into_iter().map(Into::into));
        self
    }

    /// The credentials requests are checked against.
    pub fn credentials(&self) -> &Credentials {
        &self.credentials
    }

    /// Expects timestamps in `unit`.
    pub fn with_timestamp_unit(mut self, unit: TimestampUnit) -> Self {
        self.unit = unit;
        self
    }

    /// Sets the allowed clock distance.
    pub fn with_window(mut self, window: Duration) -> Self {
        self.window = window;
        self
    }

    /// Verifies headers given by a lookup function (header name → value).
    ///
    /// # Errors
    ///
    /// The first check that fails, in this order:
    /// [`VerifyError::MissingHeader`] when one of the five headers is absent;
    /// [`VerifyError::AccessKey`] for another access key;
    /// [`VerifyError::UserId`] for a user id that is neither the
    /// credentials' own nor one of the sub-accounts;
    /// [`VerifyError::MalformedTimestamp`] for a timestamp that is not
    /// digits or cannot be a time in the verifier's unit;
    /// [`VerifyError::TimestampOutOfWindow`] for one farther from `now` than
    /// the window; [`VerifyError::MalformedNonce`] for a nonce that is not 32
    /// characters of `[A-Za-z0-9]`; [`VerifyError::Signature`] when the
    /// signature is not the one the secret gives.
    pub fn verify<'h>(
        &self,
        header: impl Fn(&str) -> Option<&'h str>,
        now: SystemTime,
    ) -> Result<(), VerifyError> {
        let get = |name: &http::HeaderName| {
            header(name.as_str()).ok_or(VerifyError::MissingHeader(static_name(name)))
        };
        let access_key = get(&ACCESS_KEY)?;
        let timestamp = get(&TIMESTAMP)?;
        let nonce = get(&NONCE)?;
        let user_id = get(&USER_ID)?;
        let signature = get(&SIGNATURE)?;

        if access_key != self.credentials.access_key() {
            return Err(VerifyError::AccessKey);
        }
        if user_id != self.credentials.user_id()
            && !self.sub_accounts.iter().any(|id| id == user_id)
        {
            return Err(VerifyError::UserId);
        }
        let ts = Timestamp::parse(timestamp).map_err(|_| VerifyError::MalformedTimestamp)?;
        let sent = self
            .unit
            .to_time(&ts)
            .ok_or(VerifyError::MalformedTimestamp)?;
        let skew_secs = match sent.duration_since(now) {
            Ok(ahead) => i64::try_from(ahead.as_secs()).unwrap_or(i64::MAX),
            Err(behind) => -i64::try_from(behind.duration().as_secs()).unwrap_or(i64::MAX),
        };
        if skew_secs.unsigned_abs() > self.window.as_secs() {
            return Err(VerifyError::TimestampOutOfWindow {
                skew_secs,
                window_secs: self.window.as_secs(),
            });
        }
        Nonce::parse(nonce).map_err(|_| VerifyError::MalformedNonce)?;
        let expected = StringToSign::new(&self.credentials, timestamp, nonce).signature();
        if !expected.matches(signature) {
            return Err(VerifyError::Signature);
        }
        Ok(())
    }

    /// Verifies an [`http::HeaderMap`].
    ///
    /// # Errors
    ///
    /// As [`verify`](Self::verify); a header whose value is not printable
    /// ASCII text counts as missing ([`VerifyError::MissingHeader`]).
    pub fn verify_headers(
        &self,
        headers: &http::HeaderMap,
        now: SystemTime,
    ) -> Result<(), VerifyError> {
        self.verify(|name| headers.get(name).and_then(|v| v.to_str().ok()), now)
    }
}

fn static_name(name: &http::HeaderName) -> &'static str {
    [ACCESS_KEY, TIMESTAMP, NONCE, USER_ID, SIGNATURE]
        .into_iter()
        .zip([
            "access-key",
            "timestamp",
            "nonce-str",
            "user-id",
            "signature",
        ])
        .find(|(n, _)| n == name)
        .map_or("?", |(_, s)| s)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Signer;
    use rand::SeedableRng;
    use std::time::UNIX_EPOCH;

    fn creds() -> Credentials {
        Credentials::new("ak", "sk", "u1").unwrap()
    }

    fn signed_at(t: SystemTime) -> http::HeaderMap {
        let mut map = http::HeaderMap::new();
        Signer::new(creds())
            .sign_at(t, &mut rand::rngs::StdRng::seed_from_u64(3))
            .apply(&mut map);
        map
    }

    #[test]
    fn accepts_a_fresh_signature() {
        let now = UNIX_EPOCH + Duration::from_secs(1_800_000_000);
        let v = Verifier::new(creds());
        assert_eq!(v.verify_headers(&signed_at(now), now), Ok(()));
        assert_eq!(
            v.verify_headers(&signed_at(now - Duration::from_secs(599)), now),
            Ok(())
        );
    }

    #[test]
    fn rejects_each_kind_of_fault() {
        let now = UNIX_EPOCH + Duration::from_secs(1_800_000_000);
        let v = Verifier::new(creds());

        let old = signed_at(now - Duration::from_secs(601));
        assert_eq!(
            v.verify_headers(&old, now),
            Err(VerifyError::TimestampOutOfWindow {
                skew_secs: -601,
                window_secs: 600
            })
        );

        for name in [
            "access-key",
            "timestamp",
            "nonce-str",
            "user-id",
            "signature",
        ] {
            let mut m = signed_at(now);
            m.remove(name);
            assert_eq!(
                v.verify_headers(&m, now),
                Err(VerifyError::MissingHeader(name))
            );
        }

        let mut m = signed_at(now);
        m.insert(
            NONCE,
            http::HeaderValue::from_static("abcdefghijklmnopqrstuvwxyz012345"),
        );
        assert_eq!(v.verify_headers(&m, now), Err(VerifyError::Signature));

        let mut m = signed_at(now);
        m.insert(USER_ID, http::HeaderValue::from_static("someone-else"));
        assert_eq!(v.verify_headers(&m, now), Err(VerifyError::UserId));

        let other = Verifier::new(Credentials::new("ak", "other-secret", "u1").unwrap());
        assert_eq!(
            other.verify_headers(&signed_at(now), now),
            Err(VerifyError::Signature)
        );

        let seconds = Verifier::new(creds()).with_timestamp_unit(TimestampUnit::Seconds);
        assert!(matches!(
            seconds.verify_headers(&signed_at(now), now),
            Err(VerifyError::TimestampOutOfWindow { .. })
        ));
    }
}
