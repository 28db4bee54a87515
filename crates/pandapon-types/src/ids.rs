//! Identifiers that do not fit a float: accepted as JSON strings or integers,
//! digit for digit.
//!
//! PandaPon's 1688 order ids are about 2.5e18 and its developer id has 19
//! digits; a float keeps only 15–17 significant digits, and the docs' own JSON
//! view shows such an id rounded. Both types here parse from either JSON form
//! and refuse numbers with a fraction or exponent, whose digits may already be
//! lost. They differ only in how they are written back.

use std::fmt;
use std::str::FromStr;

use serde::de::{self, Visitor};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// An id that PandaPon documents as a string (`"2019601741959504495"`).
/// Accepts a JSON string or integer; writes a string.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct StringId(String);

/// PandaPon's developer id: a [`StringId`].
pub type DevelopId = StringId;

/// An id that PandaPon documents as an integer (`2542285634920880794`).
/// Accepts a JSON integer or a string of digits; writes an integer.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct IntegerId(u64);

/// Text that is not an id: empty, or not all decimal digits.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("an id must be decimal digits, got {0:?}")]
pub struct InvalidId(String);

impl StringId {
    /// The id as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl IntegerId {
    /// The id as a number.
    pub fn get(self) -> u64 {
        self.0
    }
}

impl From<u64> for IntegerId {
    fn from(v: u64) -> Self {
        Self(v)
    }
}

impl From<IntegerId> for StringId {
    fn from(v: IntegerId) -> Self {
        Self(v.0.to_string())
    }
}

impl From<u64> for StringId {
    fn from(v: u64) -> Self {
        Self(v.to_string())
    }
}

fn digits(s: &str) -> Result<&str, InvalidId> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return Err(InvalidId(s.to_owned()));
    }
    Ok(s)
}

impl FromStr for StringId {
    type Err = InvalidId;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        digits(s).map(|d| Self(d.to_owned()))
    }
}

impl TryFrom<&str> for StringId {
    type Error = InvalidId;
    fn try_from(s: &str) -> Result<Self, Self::Error> {
        s.parse()
    }
}

impl TryFrom<String> for StringId {
    type Error = InvalidId;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        digits(&s)?;
        Ok(Self(s))
    }
}

impl TryFrom<&str> for IntegerId {
    type Error = InvalidId;
    fn try_from(s: &str) -> Result<Self, Self::Error> {
        s.parse()
    }
}

impl FromStr for IntegerId {
    type Err = InvalidId;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        digits(s)?
            .parse()
            .map(Self)
            .map_err(|_| InvalidId(s.to_owned()))
    }
}

macro_rules! text_impls {
    ($t:ty) => {
        impl fmt::Debug for $t {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                fmt::Debug::fmt(&self.0, f)
            }
        }
        impl fmt::Display for $t {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                fmt::Display::fmt(&self.0, f)
            }
        }
    };
}
text_impls!(StringId);
text_impls!(IntegerId);

impl Serialize for StringId {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.0)
    }
}

impl Serialize for IntegerId {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_u64(self.0)
    }
}

/// Reads either JSON form into the digits of a non-negative integer.
struct IdVisitor;

impl Visitor<'_> for IdVisitor {
    type Value = String;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an id as a string of digits or an integer")
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<String, E> {
        digits(v).map(str::to_owned).map_err(E::custom)
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<String, E> {
        Ok(v.to_string())
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<String, E> {
        u64::try_from(v)
            .map(|v| v.to_string())
            .map_err(|_| E::custom(format!("an id must not be negative, got {v}")))
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<String, E> {
        Err(E::custom(format!(
            "id {v} is not an exact integer (too large or fractional); send it as a string"
        )))
    }
}

impl<'de> Deserialize<'de> for StringId {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(IdVisitor).map(Self)
    }
}

impl<'de> Deserialize<'de> for IntegerId {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let digits = deserializer.deserialize_any(IdVisitor)?;
        digits.parse().map(Self).map_err(|_| {
            de::Error::custom(format!(
                "id {digits} does not fit an unsigned 64-bit integer"
            ))
        })
    }
}

#[cfg(feature = "schemars")]
#[cfg_attr(docsrs, doc(cfg(feature = "schemars")))]
impl schemars::JsonSchema for StringId {
    fn schema_name() -> String {
        "StringId".to_owned()
    }
    fn json_schema(generator: &mut schemars::r#gen::SchemaGenerator) -> schemars::schema::Schema {
        String::json_schema(generator)
    }
}

#[cfg(feature = "schemars")]
#[cfg_attr(docsrs, doc(cfg(feature = "schemars")))]
impl schemars::JsonSchema for IntegerId {
    fn schema_name() -> String {
        "IntegerId".to_owned()
    }
    fn json_schema(generator: &mut schemars::r#gen::SchemaGenerator) -> schemars::schema::Schema {
        u64::json_schema(generator)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn string_id(json: &str) -> Result<StringId, serde_json::Error> {
        serde_json::from_str(json)
    }

    fn integer_id(json: &str) -> Result<IntegerId, serde_json::Error> {
        serde_json::from_str(json)
    }

    #[test]
    fn string_ids_keep_every_digit_from_either_form() {
        assert_eq!(
            string_id(r#""1110890638347337996""#).unwrap().as_str(),
            "1110890638347337996"
        );
        assert_eq!(
            string_id("1110890638347337996").unwrap().as_str(),
            "1110890638347337996"
        );
        assert_eq!(
            string_id("18446744073709551615").unwrap().as_str(),
            "18446744073709551615"
        );
        assert_eq!(
            serde_json::to_string(&string_id("1014533973088404335").unwrap()).unwrap(),
            r#""1014533973088404335""#
        );
    }

    #[test]
    fn integer_ids_keep_every_digit_from_either_form() {
        for json in ["2542285634920880794", r#""2542285634920880794""#] {
            let id = integer_id(json).unwrap();
            assert_eq!(id.get(), 2_542_285_634_920_880_794);
            assert_eq!(serde_json::to_string(&id).unwrap(), "2542285634920880794");
        }
    }

    #[test]
    fn oversized_fractional_negative_and_junk_are_errors() {
        let e = string_id("18446744073709551616").unwrap_err().to_string();
        assert!(e.contains("not an exact integer"), "{e}");
        let e = integer_id(r#""18446744073709551616""#)
            .unwrap_err()
            .to_string();
        assert!(e.contains("does not fit"), "{e}");
        for bad in ["1.5", "-3", r#""12a""#, r#""""#, "true", "null"] {
            assert!(string_id(bad).is_err(), "{bad}");
            assert!(integer_id(bad).is_err(), "{bad}");
        }
    }
}
