//! Times as PandaPon writes them.
//!
//! PandaPon writes wall-clock times as `"yyyy-MM-dd HH:mm:ss"` with no zone
//! (`tbCreateTime` in order messages, `time` in a Taobao logistics trace).
//! They are China Standard Time, UTC+08:00, which has had no daylight
//! saving since 1991. [`ChinaTime`] reads that form, writes back exactly the
//! text it read, and converts to and from [`SystemTime`].
//!
//! Times sent as numbers of seconds or milliseconds in a string (a pushed
//! message's `timestamp`, a shipment's `rtsTime`) keep their text; their
//! types have accessors that read them:
//! [`OrderMessage::pushed_at`](crate::types::OrderMessage::pushed_at) and
//! [`DomesticLogisticInfo::ready_to_ship_at`](crate::types::DomesticLogisticInfo::ready_to_ship_at).
//!
//! ```
//! use std::time::{Duration, UNIX_EPOCH};
//! use pandapon_gen::time::ChinaTime;
//!
//! let created: ChinaTime = "2023-12-14 21:39:11".parse()?;
//! // 21:39:11 at +08:00 is 13:39:11 UTC.
//! assert_eq!(
//!     created.to_system_time(),
//!     Some(UNIX_EPOCH + Duration::from_secs(1_702_561_151))
//! );
//! assert_eq!(created.to_string(), "2023-12-14 21:39:11");
//! assert!("2023-12-14T21:39:11Z".parse::<ChinaTime>().is_err());
//! # Ok::<(), pandapon_gen::time::TimeError>(())
//! ```

use std::fmt;
use std::str::FromStr;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use pandapon_auth::{Timestamp, TimestampUnit};
use serde::de::{self, Visitor};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// China Standard Time's offset from UTC, in seconds.
const OFFSET: i64 = 8 * 3600;

/// A wall-clock time in China (UTC+08:00), written `"yyyy-MM-dd HH:mm:ss"`.
///
/// It keeps the six fields, so it prints exactly the text PandaPon sent.
/// PandaPon's v2 logistics example writes `""` for a time it does not have;
/// that reads as a *blank* time, which prints `""` again and has no
/// [`SystemTime`], so one empty time does not fail a whole response.
/// Anything else (another layout, a zone, a date that does not exist) is
/// an error that quotes the text.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ChinaTime(Option<Fields>);

#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
struct Fields {
    year: u16,
    month: u8,
    day: u8,
    hour: u8,
    minute: u8,
    second: u8,
}

/// Text that is not a time in PandaPon's form, or fields that are not a
/// real date and time.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "{text} is not a China time: expected \"yyyy-MM-dd HH:mm:ss\", such as \"2023-12-14 21:39:11\""
)]
pub struct TimeError {
    text: String,
}

impl TimeError {
    fn new(text: &str) -> Self {
        Self {
            text: crate::money::quoted(text),
        }
    }
}

impl ChinaTime {
    /// The time with these fields, in China time.
    ///
    /// # Errors
    ///
    /// [`TimeError`] when they are not a real date and time (month 13,
    /// 30 February, hour 24, second 60, a year outside 1–9999).
    pub fn new(
        year: u16,
        month: u8,
        day: u8,
        hour: u8,
        minute: u8,
        second: u8,
    ) -> Result<Self, TimeError> {
        let fields = Fields {
            year,
            month,
            day,
            hour,
            minute,
            second,
        };
        if (1..=9999).contains(&year)
            && (1..=12).contains(&month)
            && (1..=days_in_month(year, month)).contains(&day)
            && hour < 24
            && minute < 60
            && second < 60
        {
            Ok(Self(Some(fields)))
        } else {
            Err(TimeError::new(&fields.to_string()))
        }
    }

    /// The blank time PandaPon writes as `""`.
    pub const fn blank() -> Self {
        Self(None)
    }

    /// Whether this is the blank time `""`.
    pub const fn is_blank(&self) -> bool {
        self.0.is_none()
    }

    /// The point in time, reading the fields at UTC+08:00; `None` for the
    /// blank time.
    pub fn to_system_time(&self) -> Option<SystemTime> {
        let f = self.0?;
        let days = days_from_civil(i64::from(f.year), f.month, f.day);
        let seconds = days * 86_400
            + i64::from(f.hour) * 3600
            + i64::from(f.minute) * 60
            + i64::from(f.second)
            - OFFSET;
        if seconds >= 0 {
            UNIX_EPOCH.checked_add(Duration::from_secs(seconds.unsigned_abs()))
        } else {
            UNIX_EPOCH.checked_sub(Duration::from_secs(seconds.unsigned_abs()))
        }
    }

    /// The China time of `at`, to the second (a fraction of a second is
    /// dropped, as PandaPon's form has none).
    ///
    /// # Errors
    ///
    /// [`TimeError`] when `at` is outside the years 1–9999 in China.
    pub fn from_system_time(at: SystemTime) -> Result<Self, TimeError> {
        let seconds: i64 = match at.duration_since(UNIX_EPOCH) {
            Ok(after) => i64::try_from(after.as_secs()).unwrap_or(i64::MAX),
            // Before 1970: round towards the past, so that 0.5 s before the
            // epoch is 23:59:59 UTC.
            Err(before) => {
                let d = before.duration();
                let whole = i64::try_from(d.as_secs()).unwrap_or(i64::MAX);
                -whole - i64::from(d.subsec_nanos() > 0)
            }
        };
        let out_of_range = || TimeError::new(&format!("{at:?}"));
        let local = seconds.checked_add(OFFSET).ok_or_else(out_of_range)?;
        let days = local.div_euclid(86_400);
        let of_day = local.rem_euclid(86_400);
        let (year, month, day) = civil_from_days(days);
        let year = u16::try_from(year).map_err(|_| out_of_range())?;
        // The cast keeps values below 24, 60 and 60.
        Self::new(
            year,
            month,
            day,
            (of_day / 3600) as u8,
            (of_day % 3600 / 60) as u8,
            (of_day % 60) as u8,
        )
        .map_err(|_| out_of_range())
    }
}

impl fmt::Display for Fields {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{:04}-{:02}-{:02} {:02}:{:02}:{:02}",
            self.year, self.month, self.day, self.hour, self.minute, self.second
        )
    }
}

impl fmt::Display for ChinaTime {
    /// The text as PandaPon writes it: `2023-12-14 21:39:11`, or nothing
    /// for the blank time.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.0 {
            Some(fields) => f.pad(&fields.to_string()),
            None => f.pad(""),
        }
    }
}

impl fmt::Debug for ChinaTime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.0 {
            Some(fields) => write!(f, "ChinaTime({fields} +08:00)"),
            None => f.write_str("ChinaTime(blank)"),
        }
    }
}

impl FromStr for ChinaTime {
    type Err = TimeError;
    /// Exactly `yyyy-MM-dd HH:mm:ss` (two digits for every field but the
    /// year's four), or `""` for the blank time.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if s.is_empty() {
            return Ok(Self::blank());
        }
        let b = s.as_bytes();
        let layout_ok = b.len() == 19
            && b.iter().enumerate().all(|(i, c)| match i {
                4 | 7 => *c == b'-',
                10 => *c == b' ',
                13 | 16 => *c == b':',
                _ => c.is_ascii_digit(),
            });
        if !layout_ok {
            return Err(TimeError::new(s));
        }
        // The layout check made every field ASCII digits.
        let number = |range: std::ops::Range<usize>| {
            b[range]
                .iter()
                .fold(0_u16, |n, d| n * 10 + u16::from(d - b'0'))
        };
        let two = |at: usize| number(at..at + 2) as u8;
        Self::new(number(0..4), two(5), two(8), two(11), two(14), two(17))
            .map_err(|_| TimeError::new(s))
    }
}

impl Serialize for ChinaTime {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

struct ChinaTimeVisitor;

impl Visitor<'_> for ChinaTimeVisitor {
    type Value = ChinaTime;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a China time as a string \"yyyy-MM-dd HH:mm:ss\"")
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<ChinaTime, E> {
        v.parse().map_err(E::custom)
    }
}

impl<'de> Deserialize<'de> for ChinaTime {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_str(ChinaTimeVisitor)
    }
}

#[cfg(feature = "schemars")]
#[cfg_attr(docsrs, doc(cfg(feature = "schemars")))]
impl schemars::JsonSchema for ChinaTime {
    fn schema_name() -> String {
        "ChinaTime".to_owned()
    }
    fn json_schema(generator: &mut schemars::r#gen::SchemaGenerator) -> schemars::schema::Schema {
        String::json_schema(generator)
    }
}

impl crate::types::OrderMessage {
    /// When PandaPon pushed the message: its `timestamp`, milliseconds
    /// since 1970 in a string (`"1779263269913"`); `None` when absent or
    /// not such a number. The field itself keeps the text as sent.
    pub fn pushed_at(&self) -> Option<SystemTime> {
        epoch_text(self.timestamp.as_deref(), TimestampUnit::Millis)
    }
}

impl crate::types::DomesticLogisticInfo {
    /// When the shipment was ready to ship: its `rtsTime`, seconds since
    /// 1970 in a string (`"1754342534"`); `None` when absent or not such a
    /// number. The field itself keeps the text as sent.
    pub fn ready_to_ship_at(&self) -> Option<SystemTime> {
        epoch_text(self.rts_time.as_deref(), TimestampUnit::Seconds)
    }
}

/// A point in time given as a decimal number of `unit`s since 1970 in a
/// string (`"1779263269913"`), read as the signing headers' timestamps are;
/// `None` when absent or not such a number.
pub(crate) fn epoch_text(text: Option<&str>, unit: TimestampUnit) -> Option<SystemTime> {
    unit.to_time(&Timestamp::parse(text?.trim()).ok()?)
}

fn is_leap(year: u16) -> bool {
    year.is_multiple_of(4) && (!year.is_multiple_of(100) || year.is_multiple_of(400))
}

fn days_in_month(year: u16, month: u8) -> u8 {
    match month {
        2 if is_leap(year) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days from 1970-01-01 to the given date of the proleptic Gregorian
/// calendar (negative before it): count in 400-year eras that start on
/// 1 March, so the leap day is the last day of an era's year.
fn days_from_civil(year: i64, month: u8, day: u8) -> i64 {
    let (month, day) = (i64::from(month), i64::from(day));
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let year_of_era = year.rem_euclid(400);
    let month_from_march = (month + 9) % 12;
    let day_of_year = (153 * month_from_march + 2) / 5 + day - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    // 719468 days from 0000-03-01 to 1970-01-01.
    era * 146_097 + day_of_era - 719_468
}

/// The inverse of [`days_from_civil`].
fn civil_from_days(days: i64) -> (i64, u8, u8) {
    let days = days + 719_468;
    let era = days.div_euclid(146_097);
    let day_of_era = days.rem_euclid(146_097);
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let month_from_march = (5 * day_of_year + 2) / 153;
    let day = (day_of_year - (153 * month_from_march + 2) / 5 + 1) as u8;
    let month = if month_from_march < 10 {
        month_from_march + 3
    } else {
        month_from_march - 9
    } as u8;
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(seconds: i64) -> SystemTime {
        if seconds >= 0 {
            UNIX_EPOCH + Duration::from_secs(seconds as u64)
        } else {
            UNIX_EPOCH - Duration::from_secs(seconds.unsigned_abs())
        }
    }

    #[test]
    fn documented_examples_read_at_plus_eight_and_print_as_sent() {
        // Values computed independently (`date -u -d '2023-12-14 13:39:11'
        // +%s` and so on) for the UTC equivalents.
        for (text, unix) in [
            ("2023-12-14 21:39:11", 1_702_561_151),
            ("1970-01-01 08:00:00", 0),
            ("1970-01-01 00:00:00", -28_800),
            ("2000-02-29 23:59:59", 951_839_999),
            ("2024-03-01 00:00:00", 1_709_222_400),
            ("2100-03-01 08:00:00", 4_107_542_400),
            ("0001-01-01 08:00:00", -62_135_596_800),
            ("9999-12-31 23:59:59", 253_402_271_999),
        ] {
            let t: ChinaTime = text.parse().unwrap();
            assert_eq!(t.to_system_time(), Some(at(unix)), "{text}");
            assert_eq!(t.to_string(), text);
            assert_eq!(ChinaTime::from_system_time(at(unix)).unwrap(), t, "{text}");
            let json = serde_json::to_string(&t).unwrap();
            assert_eq!(json, format!("\"{text}\""));
            assert_eq!(serde_json::from_str::<ChinaTime>(&json).unwrap(), t);
        }
    }

    #[test]
    fn every_day_of_four_centuries_converts_both_ways() {
        // 1900-03-01 to 2300-03-01, at noon China time: the calendar
        // arithmetic against a day counter.
        let first = ChinaTime::new(1900, 3, 1, 12, 0, 0).unwrap();
        let mut seconds = first
            .to_system_time()
            .unwrap()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_secs() as i64)
            .unwrap_or_else(|e| -(e.duration().as_secs() as i64));
        let mut previous = first;
        for _ in 0..146_097 {
            seconds += 86_400;
            let t = ChinaTime::from_system_time(at(seconds)).unwrap();
            assert!(t > previous, "{t:?} after {previous:?}");
            assert_eq!(t.to_system_time(), Some(at(seconds)));
            assert_eq!(t.to_string().parse::<ChinaTime>().unwrap(), t);
            previous = t;
        }
        assert_eq!(previous.to_string(), "2300-03-01 12:00:00");
    }

    #[test]
    fn before_the_epoch_rounds_to_the_past_second() {
        let t = ChinaTime::from_system_time(UNIX_EPOCH - Duration::from_millis(500)).unwrap();
        assert_eq!(t.to_string(), "1970-01-01 07:59:59");
    }

    #[test]
    fn blank_is_kept_and_has_no_instant() {
        let t: ChinaTime = serde_json::from_str(r#""""#).unwrap();
        assert!(t.is_blank());
        assert_eq!(t.to_system_time(), None);
        assert_eq!(serde_json::to_string(&t).unwrap(), r#""""#);
        assert_eq!(format!("{t:?}"), "ChinaTime(blank)");
    }

    #[test]
    fn other_forms_and_impossible_dates_are_refused() {
        for bad in [
            "2023-12-14T21:39:11",
            "2023-12-14 21:39:11Z",
            "2023-12-14 21:39:11+08:00",
            "2023-12-14 21:39",
            "2023-12-14",
            "2023-1-14 21:39:11",
            "23-12-14 21:39:11",
            " 2023-12-14 21:39:11",
            "2023-12-14 21:39:11.5",
            "1702561151000",
            "2023-13-01 00:00:00",
            "2023-00-01 00:00:00",
            "2023-02-29 00:00:00",
            "1900-02-29 00:00:00",
            "2023-04-31 00:00:00",
            "2023-12-14 24:00:00",
            "2023-12-14 23:60:00",
            "2023-12-14 23:59:60",
            "0000-01-01 00:00:00",
            "２０２３-12-14 21:39:11",
        ] {
            let e = bad.parse::<ChinaTime>().unwrap_err().to_string();
            assert!(e.contains("expected \"yyyy-MM-dd HH:mm:ss\""), "{bad}: {e}");
        }
        assert!("2024-02-29 00:00:00".parse::<ChinaTime>().is_ok());
        assert!("2000-02-29 00:00:00".parse::<ChinaTime>().is_ok());
        for json in ["1702561151000", "null", "true", "{}"] {
            assert!(serde_json::from_str::<ChinaTime>(json).is_err(), "{json}");
        }
        // Out of the four-digit years.
        assert!(ChinaTime::from_system_time(at(253_402_272_000)).is_err());
        assert!(ChinaTime::from_system_time(at(-62_135_625_601)).is_err());
    }

    #[test]
    fn epoch_text_reads_seconds_and_milliseconds() {
        let (ms, s) = (TimestampUnit::Millis, TimestampUnit::Seconds);
        assert_eq!(
            epoch_text(Some("1779263269913"), ms),
            Some(UNIX_EPOCH + Duration::from_millis(1_779_263_269_913))
        );
        assert_eq!(
            epoch_text(Some("1754342534"), s),
            Some(UNIX_EPOCH + Duration::from_secs(1_754_342_534))
        );
        for bad in [
            None,
            Some(""),
            Some("-1"),
            Some("1.5"),
            Some("12a"),
            Some("99999999999999999999"),
        ] {
            assert_eq!(epoch_text(bad, ms), None, "{bad:?}");
        }
    }
}
