//! The thin wrapper that supplies "now" and a fresh nonce to the pure core.

use std::str::FromStr;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::{Credentials, Nonce, SignedHeaders, Timestamp, sign};

/// Unit of the `timestamp` header.
///
/// PandaPon's manual shows milliseconds (`1715669977082`); a public
/// third-party client sends seconds. Milliseconds is the default.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum TimestampUnit {
    /// Milliseconds since the Unix epoch (13 digits today).
    #[default]
    Millis,
    /// Seconds since the Unix epoch (10 digits today).
    Seconds,
}

impl TimestampUnit {
    /// The timestamp for `time` in this unit. Times before the epoch give 0.
    pub fn timestamp(self, time: SystemTime) -> Timestamp {
        let since = time.duration_since(UNIX_EPOCH).unwrap_or(Duration::ZERO);
        let count = match self {
            Self::Millis => u64::try_from(since.as_millis()).unwrap_or(u64::MAX),
            Self::Seconds => since.as_secs(),
        };
        Timestamp::from_count(count)
    }

    /// Reads a timestamp in this unit back into a point in time.
    pub fn to_time(self, timestamp: &Timestamp) -> Option<SystemTime> {
        let count: u64 = timestamp.as_str().parse().ok()?;
        let since = match self {
            Self::Millis => Duration::from_millis(count),
            Self::Seconds => Duration::from_secs(count),
        };
        UNIX_EPOCH.checked_add(since)
    }
}

/// An unrecognised timestamp unit name.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown timestamp unit {0:?}: use \"ms\" or \"s\"")]
pub struct UnknownUnit(String);

impl FromStr for TimestampUnit {
    type Err = UnknownUnit;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "ms" | "millis" | "milliseconds" => Ok(Self::Millis),
            "s" | "secs" | "seconds" => Ok(Self::Seconds),
            _ => Err(UnknownUnit(s.to_owned())),
        }
    }
}

/// Signs requests at the current time with a fresh nonce from a CSPRNG.
///
/// The nonce comes from `rand`'s thread-local generator, a ChaCha-based CSPRNG
/// seeded and periodically reseeded from the operating system.
#[derive(Debug, Clone)]
pub struct Signer {
    credentials: Credentials,
    unit: TimestampUnit,
    clock_offset_ms: i64,
}

impl Signer {
    /// A signer sending millisecond timestamps.
    pub fn new(credentials: Credentials) -> Self {
        Self {
            credentials,
            unit: TimestampUnit::default(),
            clock_offset_ms: 0,
        }
    }

    /// Shifts "now" by `offset_ms` milliseconds when signing (positive when
    /// the local clock is behind the server's).
    pub fn with_clock_offset_millis(mut self, offset_ms: i64) -> Self {
        self.clock_offset_ms = offset_ms;
        self
    }

    /// The clock offset, in milliseconds.
    pub fn clock_offset_millis(&self) -> i64 {
        self.clock_offset_ms
    }

    /// Chooses the timestamp unit.
    pub fn with_timestamp_unit(mut self, unit: TimestampUnit) -> Self {
        self.unit = unit;
        self
    }

    /// The same signer (credentials, unit, clock offset) for another
    /// (sub-)account's `user-id`.
    ///
    /// # Errors
    ///
    /// [`CredentialsError`](crate::CredentialsError) when `user_id` is
    /// empty or cannot be sent in a header.
    pub fn with_user_id(&self, user_id: impl AsRef<str>) -> Result<Self, crate::CredentialsError> {
        Ok(Self {
            credentials: self.credentials.with_user_id(user_id)?,
            ..self.clone()
        })
    }

    /// The credentials this signer uses.
    pub fn credentials(&self) -> &Credentials {
        &self.credentials
    }

    /// The timestamp unit this signer uses.
    pub fn timestamp_unit(&self) -> TimestampUnit {
        self.unit
    }

    /// Signs at `time` with a nonce from `rng`: the deterministic form, for tests.
    pub fn sign_at<R: rand::Rng + ?Sized>(&self, time: SystemTime, rng: &mut R) -> SignedHeaders {
        sign(
            &self.credentials,
            &self.unit.timestamp(time),
            &Nonce::random(rng),
        )
    }

    /// Signs now (shifted by the clock offset), with a fresh nonce. Call
    /// once per attempt.
    pub fn sign_now(&self) -> SignedHeaders {
        let offset = Duration::from_millis(self.clock_offset_ms.unsigned_abs());
        let now = SystemTime::now();
        let now = if self.clock_offset_ms >= 0 {
            now.checked_add(offset)
        } else {
            now.checked_sub(offset)
        };
        self.sign_at(now.unwrap_or(UNIX_EPOCH), &mut rand::rng())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::StringToSign;

    fn signer() -> Signer {
        Signer::new(Credentials::new("ak", "sk", "u1").unwrap())
    }

    #[test]
    fn units_format_the_same_instant() {
        let t = UNIX_EPOCH + Duration::from_millis(1_715_669_977_082);
        assert_eq!(TimestampUnit::Millis.timestamp(t).as_str(), "1715669977082");
        assert_eq!(TimestampUnit::Seconds.timestamp(t).as_str(), "1715669977");
        let ts = TimestampUnit::Seconds.timestamp(t);
        assert_eq!(
            TimestampUnit::Seconds.to_time(&ts),
            Some(UNIX_EPOCH + Duration::from_secs(1_715_669_977))
        );
    }

    #[test]
    fn parses_unit_names() {
        assert_eq!("s".parse(), Ok(TimestampUnit::Seconds));
        assert_eq!("MS".parse(), Ok(TimestampUnit::Millis));
        assert!("minutes".parse::<TimestampUnit>().is_err());
    }

    #[test]
    fn signs_the_string_that_is_sent() {
        use rand::SeedableRng;
        let s = signer().with_timestamp_unit(TimestampUnit::Seconds);
        let t = UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        let h = s.sign_at(t, &mut rand::rngs::StdRng::seed_from_u64(1));
        assert_eq!(h.timestamp().as_str(), "1700000000");
        let expected =
            StringToSign::new(s.credentials(), h.timestamp().as_str(), h.nonce().as_str())
                .signature();
        assert_eq!(*h.signature(), expected);
    }

    #[test]
    fn sign_now_draws_a_new_nonce_each_time() {
        let s = signer();
        let a = s.sign_now();
        let b = s.sign_now();
        assert_ne!(a.nonce(), b.nonce());
        assert_eq!(a.timestamp().as_str().len(), 13);
    }

    #[test]
    fn the_clock_offset_shifts_the_timestamp() {
        let ahead = signer().with_clock_offset_millis(3_600_000).sign_now();
        let plain = signer().sign_now();
        let ts = |h: &SignedHeaders| h.timestamp().as_str().parse::<i64>().unwrap();
        let shift = ts(&ahead) - ts(&plain);
        assert!((3_599_000..=3_601_000).contains(&shift), "{shift}");
    }

    #[test]
    fn signer_debug_hides_the_secret() {
        let s = Signer::new(Credentials::new("ak", "hunter2hunter2", "u1").unwrap());
        assert_eq!(
            format!("{s:?}"),
            r#"Signer { credentials: Credentials { access_key: "ak", access_secret: "***", user_id: "u1" }, unit: Millis, clock_offset_ms: 0 }"#
        );
    }
}
