//! Money in the unit each field uses, so that the compiler sees a 100× error.
//!
//! PandaPon writes Taobao prices, order totals and message amounts as whole
//! **fen** (分, 1/100 yuan): `purchaseAmount` 400, a cart `price` 689. The
//! 1688 search filters `priceStart` and `priceEnd` are **yuan** as decimal
//! strings (`"633.69"`). Both used to be plain numbers or strings; here they
//! are [`Fen`] and [`Yuan`], which do not convert into each other silently.
//!
//! | Type | Holds | On the wire | Where |
//! |---|---|---|---|
//! | [`Fen`] | whole fen, `i64` | a JSON integer, `689` | `purchaseAmount`, cart `price`, message `totalAmount` … |
//! | [`FenString`] | whole fen, `i64` | a string of an integer, `"1"` | Taobao order line `price` |
//! | [`Yuan`] | exact decimal yuan, to 1/10000 | a decimal string, `"12.30"` | 1688 `priceStart`, `priceEnd` |
//!
//! The spec chooses the wire form of each field through `x-pandapon-type`,
//! as it does for the id types. Reading is a little wider than writing: a
//! fen amount is read from an integer or a string of an integer, a yuan
//! amount from a decimal string or an integer. A JSON number with a
//! fraction is refused for both: a float may already have lost digits, and
//! a fractional fen amount is a unit error.
//!
//! No floating point is used anywhere: `Yuan` is a count of 1/10000 yuan.
//! Arithmetic is checked (`checked_add`, `checked_sub`, `checked_mul`) and
//! returns `None` on overflow; there are no operators that could wrap.
//!
//! ```
//! use pandapon_gen::money::{Fen, Yuan};
//!
//! let price: Yuan = "12.30".parse()?;
//! assert_eq!(Fen::try_from(price)?, Fen::new(1230));
//! assert_eq!(Yuan::from(Fen::new(689)).to_string(), "6.89");
//! assert!(Fen::try_from("12.305".parse::<Yuan>()?).is_err()); // not whole fen
//! assert!("1.2e3".parse::<Yuan>().is_err());
//! # Ok::<(), pandapon_gen::money::AmountError>(())
//! ```
//!
//! A yuan amount cannot stand where fen are expected:
//!
//! ```compile_fail,E0277
//! use pandapon_gen::money::Yuan;
//! use pandapon_gen::types::TaobaoCartAddRequest;
//!
//! let price: Yuan = "6.89".parse().unwrap();
//! // `price` is fen: this does not compile. Write `Fen::try_from(price)?`.
//! let _ = TaobaoCartAddRequest::builder().price(price);
//! ```
//!
//! ```compile_fail,E0308
//! use pandapon_gen::money::{Fen, Yuan};
//!
//! fn charge(amount: Fen) -> i64 {
//!     amount.get()
//! }
//! let price: Yuan = "6.89".parse().unwrap();
//! charge(price);
//! ```

use std::fmt;
use std::str::FromStr;

use serde::de::{self, Visitor};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// How many decimals a [`Yuan`] keeps: 1/10000 yuan (毫). PandaPon's
/// examples show two (`"633.69"`); four keep a 1688 price quoted to the 厘
/// (1/1000 yuan) exact, and [`Fen::try_from`] says when an amount is not a
/// whole number of fen.
pub const YUAN_DECIMALS: u32 = 4;

/// 1/10000 yuan per fen.
const PER_FEN: i128 = 100;
/// 1/10000 yuan per yuan.
const PER_YUAN: i128 = 10_000;

/// A whole number of fen (分, 1/100 yuan), written as a JSON integer.
///
/// Taobao prices, order totals and pushed message amounts are fen.
/// `Fen::new(689)` is 6.89 yuan. Parsed from text (`"689"`, `"-5"`) by
/// [`FromStr`]; `"6.89"` is refused, because it is yuan.
#[derive(Clone, Copy, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Fen(i64);

/// A whole number of fen written as a JSON string of an integer (`"689"`),
/// as the Taobao order line's `price` is.
///
/// It converts both ways with [`Fen`]; builders take a `Fen` where a field
/// is a `FenString`.
#[derive(Clone, Copy, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct FenString(Fen);

/// An exact decimal amount of yuan (元), written as a JSON string
/// (`"12.30"`).
///
/// It keeps up to [`YUAN_DECIMALS`] decimals and no floating point:
/// `"12.30".parse::<Yuan>()`. Malformed text, a sign other than a leading
/// `-`, exponents, `NaN`, infinities and more decimals than it keeps are
/// errors.
///
/// It prints with the decimals it was written with, so text PandaPon sent
/// goes back as sent (`"10"` stays `"10"`, `"12.30"` stays `"12.30"`;
/// leading zeros and the sign of zero are not kept). An amount made from
/// [`Fen`] or [`Yuan::whole`] has two decimals, PandaPon's usual form; a
/// sum has the larger of its parts' decimals. Equality, order and hashing
/// go by the amount: `10 == 10.00`.
#[derive(Clone, Copy, Default)]
pub struct Yuan {
    /// The amount in 1/10000 yuan.
    value: i128,
    /// Decimals to print, `0..=YUAN_DECIMALS`; the digits beyond are zero.
    decimals: u8,
}

/// Text or a value that is not an amount of the unit asked for.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum AmountError {
    /// Not written the way the unit is written.
    #[error("{text} is not {unit}: expected {expected}")]
    Malformed {
        /// The text, quoted and shortened.
        text: String,
        /// `"fen"` or `"yuan"`.
        unit: &'static str,
        /// What was expected, with an example.
        expected: &'static str,
    },
    /// A yuan amount with more decimals than [`YUAN_DECIMALS`].
    #[error(
        "{text} has more than {YUAN_DECIMALS} decimals; a yuan amount is kept exact to 1/10000 yuan"
    )]
    TooPrecise {
        /// The text, quoted and shortened.
        text: String,
    },
    /// Beyond what the type holds.
    #[error("{text} is out of range for {unit}")]
    OutOfRange {
        /// The text or value, shortened.
        text: String,
        /// `"fen"` or `"yuan"`.
        unit: &'static str,
    },
    /// A yuan amount that is not a whole number of fen (`12.305`).
    #[error("{0} yuan is not a whole number of fen")]
    NotWholeFen(Yuan),
}

/// `text` quoted for an error message: escaped, and at most 40 characters
/// (also for `time::TimeError`).
pub(crate) fn quoted(text: &str) -> String {
    const MAX: usize = 40;
    match text.char_indices().nth(MAX) {
        Some((cut, _)) => format!("{:?}…", &text[..cut]),
        None => format!("{text:?}"),
    }
}

const FEN_EXPECTED: &str = "a whole number of fen, such as 1230 for 12.30 yuan";
const YUAN_EXPECTED: &str = "a decimal number of yuan, such as 12.30";

impl Fen {
    /// Zero fen.
    pub const ZERO: Fen = Fen(0);

    /// `fen` fen: `Fen::new(689)` is 6.89 yuan.
    pub const fn new(fen: i64) -> Self {
        Self(fen)
    }

    /// The amount in fen.
    pub const fn get(self) -> i64 {
        self.0
    }

    /// `self + other`, or `None` on overflow.
    pub const fn checked_add(self, other: Fen) -> Option<Fen> {
        match self.0.checked_add(other.0) {
            Some(v) => Some(Fen(v)),
            None => None,
        }
    }

    /// `self - other`, or `None` on overflow.
    pub const fn checked_sub(self, other: Fen) -> Option<Fen> {
        match self.0.checked_sub(other.0) {
            Some(v) => Some(Fen(v)),
            None => None,
        }
    }

    /// `self × quantity` (a line total), or `None` on overflow.
    pub const fn checked_mul(self, quantity: i64) -> Option<Fen> {
        match self.0.checked_mul(quantity) {
            Some(v) => Some(Fen(v)),
            None => None,
        }
    }
}

impl FenString {
    /// The amount as [`Fen`].
    pub const fn fen(self) -> Fen {
        self.0
    }

    /// The amount in fen.
    pub const fn get(self) -> i64 {
        self.0.0
    }
}

impl From<Fen> for FenString {
    fn from(fen: Fen) -> Self {
        Self(fen)
    }
}

impl From<FenString> for Fen {
    fn from(fen: FenString) -> Self {
        fen.0
    }
}

/// So that a builder's optional `FenString` field takes a [`Fen`].
impl From<Fen> for Option<FenString> {
    fn from(fen: Fen) -> Self {
        Some(FenString(fen))
    }
}

impl Yuan {
    /// Zero yuan.
    pub const ZERO: Yuan = Yuan {
        value: 0,
        decimals: 2,
    };

    /// A whole number of yuan, printed with two decimals (`12.00`).
    pub const fn whole(yuan: i64) -> Self {
        Self {
            value: yuan as i128 * PER_YUAN,
            decimals: 2,
        }
    }

    /// `self + other`, or `None` when the sum is out of range.
    pub fn checked_add(self, other: Yuan) -> Option<Yuan> {
        let decimals = self.decimals.max(other.decimals);
        self.value
            .checked_add(other.value)
            .and_then(|v| Self::in_range(v, decimals))
    }

    /// `self - other`, or `None` when the difference is out of range.
    pub fn checked_sub(self, other: Yuan) -> Option<Yuan> {
        let decimals = self.decimals.max(other.decimals);
        self.value
            .checked_sub(other.value)
            .and_then(|v| Self::in_range(v, decimals))
    }

    /// `self × quantity`, or `None` when the product is out of range.
    pub fn checked_mul(self, quantity: i64) -> Option<Yuan> {
        self.value
            .checked_mul(i128::from(quantity))
            .and_then(|v| Self::in_range(v, self.decimals))
    }

    /// Whether the amount is a whole number of fen (`12.30` is, `12.305`
    /// is not).
    pub const fn is_whole_fen(self) -> bool {
        self.value % PER_FEN == 0
    }

    /// The amount in 1/10000 yuan: its exact value.
    pub const fn ten_thousandths(self) -> i128 {
        self.value
    }

    /// Amounts below 10^30 yuan in size: far beyond any price, and so far
    /// inside `i128` that a sum of two never overflows before this check.
    fn in_range(value: i128, decimals: u8) -> Option<Yuan> {
        const LIMIT: u128 = 10_u128.pow(30) * PER_YUAN as u128;
        (value.unsigned_abs() < LIMIT).then_some(Yuan { value, decimals })
    }
}

impl PartialEq for Yuan {
    fn eq(&self, other: &Self) -> bool {
        self.value == other.value
    }
}

impl Eq for Yuan {}

impl std::hash::Hash for Yuan {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.value.hash(state);
    }
}

impl PartialOrd for Yuan {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Yuan {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.value.cmp(&other.value)
    }
}

impl From<Fen> for Yuan {
    /// Exact: one fen is 0.01 yuan.
    fn from(fen: Fen) -> Self {
        Yuan {
            value: i128::from(fen.0) * PER_FEN,
            decimals: 2,
        }
    }
}

impl TryFrom<Yuan> for Fen {
    type Error = AmountError;
    /// Exact, or [`AmountError::NotWholeFen`] for `12.305`, or
    /// [`AmountError::OutOfRange`] beyond `i64` fen.
    fn try_from(yuan: Yuan) -> Result<Self, Self::Error> {
        if !yuan.is_whole_fen() {
            return Err(AmountError::NotWholeFen(yuan));
        }
        i64::try_from(yuan.value / PER_FEN)
            .map(Fen)
            .map_err(|_| AmountError::OutOfRange {
                text: yuan.to_string(),
                unit: "fen",
            })
    }
}

impl TryFrom<Yuan> for FenString {
    type Error = AmountError;
    fn try_from(yuan: Yuan) -> Result<Self, Self::Error> {
        Fen::try_from(yuan).map(Self)
    }
}

impl FromStr for Fen {
    type Err = AmountError;
    /// An optional `-` and decimal digits: `"689"`.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let digits = s.strip_prefix('-').unwrap_or(s);
        if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return Err(AmountError::Malformed {
                text: quoted(s),
                unit: "fen",
                expected: FEN_EXPECTED,
            });
        }
        s.parse().map(Fen).map_err(|_| AmountError::OutOfRange {
            text: quoted(s),
            unit: "fen",
        })
    }
}

impl FromStr for FenString {
    type Err = AmountError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        s.parse().map(Self)
    }
}

impl FromStr for Yuan {
    type Err = AmountError;
    /// An optional `-`, digits, and optionally a `.` and one to four
    /// digits: `"12.30"`, `"7"`, `"0.005"`.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let malformed = || AmountError::Malformed {
            text: quoted(s),
            unit: "yuan",
            expected: YUAN_EXPECTED,
        };
        let (negative, unsigned) = match s.strip_prefix('-') {
            Some(rest) => (true, rest),
            None => (false, s),
        };
        let (whole, fraction) = match unsigned.split_once('.') {
            Some((w, f)) => (w, Some(f)),
            None => (unsigned, None),
        };
        let all_digits = |t: &str| !t.is_empty() && t.bytes().all(|b| b.is_ascii_digit());
        if !all_digits(whole) || fraction.is_some_and(|f| !all_digits(f)) {
            return Err(malformed());
        }
        let fraction = fraction.unwrap_or("");
        if fraction.len() > YUAN_DECIMALS as usize {
            return Err(AmountError::TooPrecise { text: quoted(s) });
        }
        let out_of_range = || AmountError::OutOfRange {
            text: quoted(s),
            unit: "yuan",
        };
        // Leading zeros do not count towards the range.
        let whole = whole.trim_start_matches('0');
        if whole.len() > 30 {
            return Err(out_of_range());
        }
        // At most 30 and 4 ASCII digits: no overflow, no error.
        let number = |digits: &str| {
            digits
                .bytes()
                .fold(0_i128, |n, d| n * 10 + i128::from(d - b'0'))
        };
        let whole = number(whole);
        let mut fraction_value = number(fraction);
        for _ in fraction.len()..YUAN_DECIMALS as usize {
            fraction_value *= 10;
        }
        let value = whole * PER_YUAN + fraction_value;
        // The length check above keeps this within `u8` and YUAN_DECIMALS.
        let decimals = fraction.len() as u8;
        Yuan::in_range(if negative { -value } else { value }, decimals).ok_or_else(out_of_range)
    }
}

impl fmt::Display for Fen {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0, f)
    }
}

impl fmt::Debug for Fen {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Fen({})", self.0)
    }
}

impl fmt::Display for FenString {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0, f)
    }
}

impl fmt::Debug for FenString {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "FenString({:?})", self.0.0.to_string())
    }
}

impl fmt::Display for Yuan {
    /// With the decimals it was written with: `12.30`, `10`, `12.305`,
    /// `-0.01`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let abs = self.value.unsigned_abs();
        let whole = abs / PER_YUAN as u128;
        let sign = if self.value < 0 { "-" } else { "" };
        if self.decimals == 0 {
            return f.pad(&format!("{sign}{whole}"));
        }
        let fraction = format!("{:04}", abs % PER_YUAN as u128);
        let fraction = &fraction[..usize::from(self.decimals)];
        f.pad(&format!("{sign}{whole}.{fraction}"))
    }
}

impl fmt::Debug for Yuan {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Yuan({self})")
    }
}

impl Serialize for Fen {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_i64(self.0)
    }
}

impl Serialize for FenString {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(&self.0.0)
    }
}

impl Serialize for Yuan {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

/// Reads fen from a JSON integer or a string of an integer.
struct FenVisitor;

impl Visitor<'_> for FenVisitor {
    type Value = Fen;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a whole number of fen, as an integer or a string of digits")
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Fen, E> {
        Ok(Fen(v))
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Fen, E> {
        i64::try_from(v).map(Fen).map_err(|_| {
            E::custom(AmountError::OutOfRange {
                text: v.to_string(),
                unit: "fen",
            })
        })
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Fen, E> {
        Err(E::custom(format!(
            "{v} is not a whole number of fen (a JSON number with a fraction or exponent)"
        )))
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Fen, E> {
        v.parse().map_err(E::custom)
    }
}

/// Reads yuan from a decimal string or a JSON integer.
struct YuanVisitor;

impl Visitor<'_> for YuanVisitor {
    type Value = Yuan;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an amount of yuan as a decimal string such as \"12.30\"")
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Yuan, E> {
        Yuan::in_range(i128::from(v) * PER_YUAN, 0).ok_or_else(|| {
            E::custom(AmountError::OutOfRange {
                text: v.to_string(),
                unit: "yuan",
            })
        })
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Yuan, E> {
        Yuan::in_range(i128::from(v) * PER_YUAN, 0).ok_or_else(|| {
            E::custom(AmountError::OutOfRange {
                text: v.to_string(),
                unit: "yuan",
            })
        })
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Yuan, E> {
        Err(E::custom(format!(
            "yuan amount {v} came as a JSON number with a fraction, which may have lost digits; \
             it must be a decimal string such as \"12.30\""
        )))
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Yuan, E> {
        v.parse().map_err(E::custom)
    }
}

impl<'de> Deserialize<'de> for Fen {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(FenVisitor)
    }
}

impl<'de> Deserialize<'de> for FenString {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(FenVisitor).map(Self)
    }
}

impl<'de> Deserialize<'de> for Yuan {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(YuanVisitor)
    }
}

#[cfg(feature = "schemars")]
#[cfg_attr(docsrs, doc(cfg(feature = "schemars")))]
impl schemars::JsonSchema for Fen {
    fn schema_name() -> String {
        "Fen".to_owned()
    }
    fn json_schema(generator: &mut schemars::r#gen::SchemaGenerator) -> schemars::schema::Schema {
        i64::json_schema(generator)
    }
}

#[cfg(feature = "schemars")]
#[cfg_attr(docsrs, doc(cfg(feature = "schemars")))]
impl schemars::JsonSchema for FenString {
    fn schema_name() -> String {
        "FenString".to_owned()
    }
    fn json_schema(generator: &mut schemars::r#gen::SchemaGenerator) -> schemars::schema::Schema {
        String::json_schema(generator)
    }
}

#[cfg(feature = "schemars")]
#[cfg_attr(docsrs, doc(cfg(feature = "schemars")))]
impl schemars::JsonSchema for Yuan {
    fn schema_name() -> String {
        "Yuan".to_owned()
    }
    fn json_schema(generator: &mut schemars::r#gen::SchemaGenerator) -> schemars::schema::Schema {
        String::json_schema(generator)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn yuan(s: &str) -> Yuan {
        s.parse().unwrap_or_else(|e| panic!("{s}: {e}"))
    }

    #[test]
    fn yuan_parses_and_prints_exact_decimals() {
        for (text, printed, ten_thousandths) in [
            ("12.30", "12.30", 123_000),
            ("12.3", "12.3", 123_000),
            ("12", "12", 120_000),
            ("10.0000", "10.0000", 100_000),
            ("633.69", "633.69", 6_336_900),
            ("647.60", "647.60", 6_476_000),
            ("12.305", "12.305", 123_050),
            ("0.0001", "0.0001", 1),
            ("0.01", "0.01", 100),
            ("-0.01", "-0.01", -100),
            ("-0", "0", 0),
            ("007.50", "7.50", 75_000),
            (
                "99999999999999999999.99",
                "99999999999999999999.99",
                999_999_999_999_999_999_999_900,
            ),
        ] {
            let y = yuan(text);
            assert_eq!(y.ten_thousandths(), ten_thousandths, "{text}");
            assert_eq!(y.to_string(), printed, "{text}");
            // What it prints parses back to the same amount.
            assert_eq!(yuan(printed), y, "{text}");
        }
        assert_eq!(yuan("12.3"), yuan("12.300"));
        assert_eq!(yuan("10"), yuan("10.00"));
        let mut seen = std::collections::HashSet::new();
        assert!(seen.insert(yuan("10")) && !seen.insert(yuan("10.00")));
        assert!(yuan("9.99") < yuan("10"));
    }

    #[test]
    fn malformed_yuan_text_is_refused_with_what_was_expected() {
        for bad in [
            "", "-", ".5", "5.", "1.2.3", "+1", " 1", "1 ", "1,5", "1e3", "1.2E-1", "NaN", "nan",
            "inf", "-inf", "Infinity", "0x10", "１２", "12.3a", "--1",
        ] {
            let e = bad.parse::<Yuan>().unwrap_err();
            assert!(
                matches!(e, AmountError::Malformed { unit: "yuan", .. }),
                "{bad:?}: {e:?}"
            );
            assert!(e.to_string().contains("such as 12.30"), "{e}");
        }
        let e = "12.30001".parse::<Yuan>().unwrap_err();
        assert!(matches!(e, AmountError::TooPrecise { .. }), "{e:?}");
        assert!(e.to_string().contains("more than 4 decimals"), "{e}");
        let e = "1".repeat(31).parse::<Yuan>().unwrap_err();
        assert!(matches!(e, AmountError::OutOfRange { .. }), "{e:?}");
        // Long junk is quoted short and escaped.
        let e = format!("\u{1b}[31m{}", "9".repeat(100))
            .parse::<Yuan>()
            .unwrap_err();
        let shown = e.to_string();
        assert!(!shown.contains('\u{1b}') && shown.len() < 160, "{shown}");
    }

    #[test]
    fn fen_and_yuan_convert_only_exactly() {
        assert_eq!(Fen::try_from(yuan("12.30")), Ok(Fen::new(1230)));
        assert_eq!(Fen::try_from(yuan("-0.07")), Ok(Fen::new(-7)));
        assert_eq!(
            Fen::try_from(yuan("12.305")),
            Err(AmountError::NotWholeFen(yuan("12.305")))
        );
        assert_eq!(
            Fen::try_from(yuan("12.305")).unwrap_err().to_string(),
            "12.305 yuan is not a whole number of fen"
        );
        assert!(Fen::try_from(yuan("0.0001")).is_err());
        assert_eq!(Yuan::from(Fen::new(689)), yuan("6.89"));
        assert_eq!(Yuan::from(Fen::new(-1)).to_string(), "-0.01");
        // Every fen amount, to the ends of i64, goes to yuan and back.
        for fen in [i64::MIN, i64::MIN + 1, -1, 0, 1, 99, 100, 101, i64::MAX] {
            let there = Yuan::from(Fen::new(fen));
            assert_eq!(Fen::try_from(there), Ok(Fen::new(fen)), "{fen}");
            assert_eq!(yuan(&there.to_string()), there, "{fen}");
        }
        // A whole-fen yuan amount beyond i64 fen is out of range, not wrapped.
        let big = yuan("92233720368547758.08"); // i64::MAX + 1 fen
        assert!(matches!(
            Fen::try_from(big),
            Err(AmountError::OutOfRange { unit: "fen", .. })
        ));
    }

    #[test]
    fn fen_text_is_whole_numbers_and_says_what_it_expected() {
        assert_eq!("689".parse::<Fen>(), Ok(Fen::new(689)));
        assert_eq!("-5".parse::<Fen>(), Ok(Fen::new(-5)));
        assert_eq!("9223372036854775807".parse::<Fen>(), Ok(Fen::new(i64::MAX)));
        for bad in ["", "-", "12.30", "1e3", "+1", " 1", "abc", "1_000"] {
            let e = bad.parse::<Fen>().unwrap_err();
            assert!(
                e.to_string()
                    .contains("a whole number of fen, such as 1230 for 12.30 yuan"),
                "{bad:?}: {e}"
            );
        }
        assert!(matches!(
            "9223372036854775808".parse::<Fen>(),
            Err(AmountError::OutOfRange { unit: "fen", .. })
        ));
    }

    #[test]
    fn arithmetic_is_checked() {
        assert_eq!(Fen::new(200).checked_mul(2), Some(Fen::new(400)));
        assert_eq!(Fen::new(i64::MAX).checked_add(Fen::new(1)), None);
        assert_eq!(Fen::new(i64::MIN).checked_sub(Fen::new(1)), None);
        assert_eq!(Fen::new(i64::MAX).checked_mul(2), None);
        assert_eq!(Fen::new(5).checked_sub(Fen::new(7)), Some(Fen::new(-2)));
        assert_eq!(yuan("0.1").checked_add(yuan("0.2")), Some(yuan("0.3")));
        assert_eq!(yuan("1").checked_sub(yuan("1.0001")), Some(yuan("-0.0001")));
        assert_eq!(yuan("6.89").checked_mul(3), Some(yuan("20.67")));
        // A sum prints with the larger of its parts' decimals.
        assert_eq!(
            yuan("10").checked_add(yuan("0.5")).unwrap().to_string(),
            "10.5"
        );
        assert_eq!(
            yuan("1.25").checked_sub(yuan("0.005")).unwrap().to_string(),
            "1.245"
        );
        let max = yuan(&format!("{}.9999", "9".repeat(30)));
        assert_eq!(max.checked_add(yuan("0.0001")), None);
        assert_eq!(max.checked_mul(i64::MAX), None);
        assert_eq!(Yuan::whole(i64::MIN).to_string(), "-9223372036854775808.00");
    }

    #[test]
    fn each_wire_form_reads_and_writes_as_pandapon_sends_it() {
        // Fen: an integer; also read from a string of an integer.
        let fen: Fen = serde_json::from_str("689").unwrap();
        assert_eq!(fen, Fen::new(689));
        assert_eq!(serde_json::to_string(&fen).unwrap(), "689");
        assert_eq!(
            serde_json::from_str::<Fen>(r#""400""#).unwrap(),
            Fen::new(400)
        );
        // FenString: a string of an integer; also read from an integer.
        let line: FenString = serde_json::from_str(r#""1""#).unwrap();
        assert_eq!(line.get(), 1);
        assert_eq!(serde_json::to_string(&line).unwrap(), r#""1""#);
        assert_eq!(
            serde_json::from_str::<FenString>("6400").unwrap().get(),
            6400
        );
        // Yuan: a decimal string; also read from an integer.
        let price: Yuan = serde_json::from_str(r#""633.69""#).unwrap();
        assert_eq!(serde_json::to_string(&price).unwrap(), r#""633.69""#);
        assert_eq!(serde_json::from_str::<Yuan>("12").unwrap(), yuan("12"));
        // Text goes back as it came, decimals and all.
        for text in ["10", "633.69", "647.60", "0.5", "12.305"] {
            let json = format!("\"{text}\"");
            let read: Yuan = serde_json::from_str(&json).unwrap();
            assert_eq!(serde_json::to_string(&read).unwrap(), json);
        }

        for (json, needle) in [
            ("6.89", "not a whole number of fen"),
            ("1e3", "not a whole number of fen"),
            (r#""6.89""#, "is not fen"),
            ("9223372036854775808", "out of range"),
            ("true", "whole number of fen"),
            ("null", "whole number of fen"),
        ] {
            let e = serde_json::from_str::<Fen>(json).unwrap_err().to_string();
            assert!(e.contains(needle), "{json}: {e}");
            assert!(serde_json::from_str::<FenString>(json).is_err(), "{json}");
        }
        for (json, needle) in [
            ("12.3", "may have lost digits"),
            (r#""12.3e1""#, "is not yuan"),
            (r#""NaN""#, "is not yuan"),
            (r#""1.23456""#, "more than 4 decimals"),
            ("[]", "decimal string"),
        ] {
            let e = serde_json::from_str::<Yuan>(json).unwrap_err().to_string();
            assert!(e.contains(needle), "{json}: {e}");
        }
    }

    #[test]
    fn debug_names_the_unit() {
        assert_eq!(format!("{:?}", Fen::new(689)), "Fen(689)");
        assert_eq!(
            format!("{:?}", FenString::from(Fen::new(1))),
            "FenString(\"1\")"
        );
        assert_eq!(format!("{:?}", yuan("12.3")), "Yuan(12.3)");
        assert_eq!(format!("{:>8}|", yuan("1.50")), "    1.50|");
    }
}
