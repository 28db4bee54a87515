//! Identifiers that do not fit a float: accepted as JSON strings or integers.

use std::fmt;
use std::str::FromStr;

use serde::de::{self, Visitor};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// PandaPon's developer id, such as `"1110890638347337996"`.
///
/// The docs' schemas call it an integer while every example sends a 19-digit
/// string, beyond what a float holds exactly. Both forms are accepted and the
/// digits are kept as text; it is serialized as a string. A JSON number with a
/// fraction or exponent is refused, since its digits may already be lost.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct DevelopId(String);

impl DevelopId {
    /// The id as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for DevelopId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.0, f)
    }
}

impl fmt::Display for DevelopId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A developer id that is not a run of decimal digits.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("developId must be decimal digits, got {0:?}")]
pub struct InvalidDevelopId(String);

impl FromStr for DevelopId {
    type Err = InvalidDevelopId;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
            return Err(InvalidDevelopId(s.to_owned()));
        }
        Ok(Self(s.to_owned()))
    }
}

impl Serialize for DevelopId {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for DevelopId {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = DevelopId;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a developer id as a string or integer")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<DevelopId, E> {
                v.parse().map_err(E::custom)
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<DevelopId, E> {
                Ok(DevelopId(v.to_string()))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<DevelopId, E> {
                u64::try_from(v)
                    .map(|v| DevelopId(v.to_string()))
                    .map_err(|_| E::custom(format!("developId must not be negative, got {v}")))
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<DevelopId, E> {
                Err(E::custom(format!(
                    "developId {v} is not an exact integer (too large or fractional); \
                     send it as a string"
                )))
            }
        }
        deserializer.deserialize_any(V)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(json: &str) -> Result<DevelopId, serde_json::Error> {
        serde_json::from_str(json)
    }

    #[test]
    fn string_and_integer_keep_every_digit() {
        assert_eq!(
            parse(r#""1110890638347337996""#).unwrap().as_str(),
            "1110890638347337996"
        );
        assert_eq!(
            parse("1110890638347337996").unwrap().as_str(),
            "1110890638347337996"
        );
        assert_eq!(
            parse("18446744073709551615").unwrap().as_str(),
            "18446744073709551615"
        );
        assert_eq!(
            serde_json::to_string(&parse("1014533973088404335").unwrap()).unwrap(),
            r#""1014533973088404335""#
        );
    }

    #[test]
    fn oversized_fractional_and_junk_are_errors() {
        let e = parse("18446744073709551616").unwrap_err().to_string();
        assert!(e.contains("not an exact integer"), "{e}");
        assert!(parse("1.5").is_err());
        assert!(parse("-3").is_err());
        assert!(parse(r#""12a""#).is_err());
        assert!(parse(r#""""#).is_err());
        assert!(parse("true").is_err());
    }
}
