//! Values PandaPon carries as JSON text inside a string field.
//!
//! Taobao's create-order `orderLineList` and `receiver`, batch-check `params`,
//! cart `properties` and 1688 search `sort` are strings that hold JSON. The
//! SDK lets callers set them from typed values and does the encoding.

use std::fmt;
use std::ops::Deref;
use std::str::FromStr;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::Value;

/// A `T` sent as a JSON string (`"[{\"itemId\":\"1\"}]"`).
///
/// Serializes `T` to compact JSON text and writes that text as a string.
/// Reads either such a string or, leniently, the JSON value itself.
#[derive(Clone, PartialEq, Eq, Default)]
pub struct JsonString<T>(pub T);

impl<T> JsonString<T> {
    /// Unwraps the typed value.
    pub fn into_inner(self) -> T {
        self.0
    }
}

impl<T> From<T> for JsonString<T> {
    fn from(value: T) -> Self {
        Self(value)
    }
}

impl<T> Deref for JsonString<T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.0
    }
}

impl<T: fmt::Debug> fmt::Debug for JsonString<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.0, f)
    }
}

/// Parses the JSON text of the value (as given on a command line).
impl<T: DeserializeOwned> FromStr for JsonString<T> {
    type Err = serde_json::Error;
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        serde_json::from_str(text).map(Self)
    }
}

/// The JSON text that is sent.
impl<T: Serialize> fmt::Display for JsonString<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let text = serde_json::to_string(&self.0).map_err(|_| fmt::Error)?;
        f.write_str(&text)
    }
}

#[cfg(feature = "schemars")]
#[cfg_attr(docsrs, doc(cfg(feature = "schemars")))]
impl<T> schemars::JsonSchema for JsonString<T> {
    fn schema_name() -> String {
        "JsonString".to_owned()
    }
    fn json_schema(generator: &mut schemars::r#gen::SchemaGenerator) -> schemars::schema::Schema {
        String::json_schema(generator)
    }
}

#[cfg(feature = "schemars")]
#[cfg_attr(docsrs, doc(cfg(feature = "schemars")))]
impl schemars::JsonSchema for MessageBody {
    fn schema_name() -> String {
        "MessageBody".to_owned()
    }
    fn json_schema(generator: &mut schemars::r#gen::SchemaGenerator) -> schemars::schema::Schema {
        Value::json_schema(generator)
    }
}

impl<T: Serialize> Serialize for JsonString<T> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let text = serde_json::to_string(&self.0).map_err(serde::ser::Error::custom)?;
        serializer.serialize_str(&text)
    }
}

/// Decodes JSON text held inside a string, within the same memory budget
/// as a response body of that size.
fn inner_json<T: DeserializeOwned>(text: &str) -> Result<T, String> {
    let limit = crate::decode::budget(text.len(), crate::decode::DEFAULT_DECODE_RATIO);
    crate::decode::from_slice(text.as_bytes(), limit).map_err(|e| e.to_string())
}

impl<'de, T: DeserializeOwned> Deserialize<'de> for JsonString<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        use serde::de::value::{MapAccessDeserializer, SeqAccessDeserializer};
        use serde::de::{IntoDeserializer, MapAccess, SeqAccess, Visitor};

        /// A string holding JSON, or (leniently) the JSON itself, read
        /// straight into `T` with no JSON tree in between.
        struct Text<T>(std::marker::PhantomData<T>);

        impl<'de, T: DeserializeOwned> Visitor<'de> for Text<T> {
            type Value = JsonString<T>;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("JSON inside a string, or the JSON itself")
            }

            fn visit_str<E: serde::de::Error>(self, text: &str) -> Result<Self::Value, E> {
                inner_json(text)
                    .map(JsonString)
                    .map_err(|e| E::custom(format!("JSON inside a string: {e}")))
            }

            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
                T::deserialize(MapAccessDeserializer::new(map)).map(JsonString)
            }

            fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Self::Value, A::Error> {
                T::deserialize(SeqAccessDeserializer::new(seq)).map(JsonString)
            }

            fn visit_bool<E: serde::de::Error>(self, v: bool) -> Result<Self::Value, E> {
                T::deserialize(v.into_deserializer()).map(JsonString)
            }

            fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<Self::Value, E> {
                T::deserialize(v.into_deserializer()).map(JsonString)
            }

            fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<Self::Value, E> {
                T::deserialize(v.into_deserializer()).map(JsonString)
            }

            fn visit_f64<E: serde::de::Error>(self, v: f64) -> Result<Self::Value, E> {
                T::deserialize(v.into_deserializer()).map(JsonString)
            }

            fn visit_unit<E: serde::de::Error>(self) -> Result<Self::Value, E> {
                T::deserialize(().into_deserializer()).map(JsonString)
            }
        }

        deserializer.deserialize_any(Text(std::marker::PhantomData))
    }
}

/// A pushed message's `messageBody`: an object in PandaPon's schema, a JSON-encoded
/// string in the examples of its white-label clone. Both are accepted; a
/// string that is not JSON is kept as a string.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct MessageBody(pub Value);

impl MessageBody {
    /// The body as JSON.
    pub fn as_value(&self) -> &Value {
        &self.0
    }

    /// Decodes the body into a typed message, such as
    /// `types::OrderStatusMessageBody`.
    ///
    /// # Errors
    ///
    /// The [`serde_json::Error`] of decoding the body as `T`: a required
    /// field missing, or a field of the wrong type.
    pub fn parse<T: DeserializeOwned>(&self) -> Result<T, serde_json::Error> {
        T::deserialize(&self.0)
    }
}

impl Serialize for MessageBody {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.0.serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for MessageBody {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        Ok(Self(match Value::deserialize(deserializer)? {
            Value::String(text) => inner_json(&text).unwrap_or(Value::String(text)),
            other => other,
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    #[test]
    fn encodes_as_a_string_and_reads_both_forms() {
        let sort: JsonString<BTreeMap<String, String>> =
            BTreeMap::from([("price".to_owned(), "desc".to_owned())]).into();
        let json = serde_json::to_string(&sort).unwrap();
        assert_eq!(json, r#""{\"price\":\"desc\"}""#);
        let back: JsonString<BTreeMap<String, String>> = serde_json::from_str(&json).unwrap();
        assert_eq!(back, sort);
        let lenient: JsonString<BTreeMap<String, String>> =
            serde_json::from_str(r#"{"price":"asc"}"#).unwrap();
        assert_eq!(lenient["price"], "asc");
    }

    #[test]
    fn parses_and_shows_the_json_text() {
        let sort: JsonString<BTreeMap<String, String>> = r#"{"price":"asc"}"#.parse().unwrap();
        assert_eq!(sort["price"], "asc");
        assert_eq!(sort.to_string(), r#"{"price":"asc"}"#);
        assert!("{".parse::<JsonString<BTreeMap<String, String>>>().is_err());
    }

    #[test]
    fn bad_inner_json_is_an_error_that_says_so() {
        let e = serde_json::from_str::<JsonString<Vec<u8>>>(r#""[1,""#).unwrap_err();
        assert!(e.to_string().contains("JSON inside a string"), "{e}");
        assert!(serde_json::from_str::<JsonString<Vec<u8>>>(r#""[\"x\"]""#).is_err());
    }

    #[test]
    fn message_body_accepts_object_string_and_plain_text() {
        let obj: MessageBody = serde_json::from_str(r#"{"orderId":"1"}"#).unwrap();
        let text: MessageBody = serde_json::from_str(r#""{\"orderId\":\"1\"}""#).unwrap();
        assert_eq!(obj, text);
        let plain: MessageBody = serde_json::from_str(r#""not json""#).unwrap();
        assert_eq!(plain.as_value(), &Value::String("not json".into()));
    }
}
