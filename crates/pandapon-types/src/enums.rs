//! Enumerations the server may extend: known values are variants, anything
//! else is kept in `Other` rather than failing the whole response.

use std::convert::Infallible;
use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

macro_rules! open_str_enum {
    ($(#[$meta:meta])* $name:ident { $($(#[$vmeta:meta])* $variant:ident = $value:literal,)* }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash)]
        #[non_exhaustive]
        pub enum $name {
            $($(#[$vmeta])* $variant,)*
            /// A value this version of the SDK does not know, kept as sent.
            Other(String),
        }

        impl $name {
            /// Every value this version of the SDK knows, as sent.
            pub const KNOWN: &'static [&'static str] = &[$($value),*];

            /// The value as sent on the wire.
            pub fn as_str(&self) -> &str {
                match self {
                    $(Self::$variant => $value,)*
                    Self::Other(raw) => raw,
                }
            }
        }

        impl From<&str> for $name {
            fn from(raw: &str) -> Self {
                match raw {
                    $($value => Self::$variant,)*
                    other => Self::Other(other.to_owned()),
                }
            }
        }

        impl FromStr for $name {
            type Err = Infallible;
            fn from_str(raw: &str) -> Result<Self, Infallible> {
                Ok(Self::from(raw))
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }

        #[cfg(feature = "schemars")]
        #[cfg_attr(docsrs, doc(cfg(feature = "schemars")))]
        impl schemars::JsonSchema for $name {
            fn schema_name() -> String {
                stringify!($name).to_owned()
            }
            fn json_schema(
                generator: &mut schemars::r#gen::SchemaGenerator,
            ) -> schemars::schema::Schema {
                String::json_schema(generator)
            }
        }

        impl Serialize for $name {
            fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.serialize_str(self.as_str())
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                let raw = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
                Ok(Self::from(raw.as_ref()))
            }
        }
    };
}

open_str_enum! {
    /// A pushed message's `messageType`.
    MessageType {
        /// PandaPon: a Taobao order's price was changed.
        TaobaoOrderBuyerViewOrderPriceModify = "TAOBAO_ORDER_BUYER_VIEW_ORDER_PRICE_MODIFY",
        /// PandaPon: a 1688 order's price was changed (the body is
        /// `types::AlibabaPriceModifyMessageBody`).
        AlibabaOrderBuyerViewOrderPriceModify = "1688_ORDER_BUYER_VIEW_ORDER_PRICE_MODIFY",
        /// An order was created (seen in the white-label clone's examples).
        OrderCreate = "ORDER_CREATE",
        /// An order was cancelled (clone's examples).
        OrderCancel = "ORDER_CANCEL",
        /// An order was paid (clone's examples).
        OrderPaySuccess = "ORDER_PAY_SUCCESS",
        /// An order's price was changed (clone's examples).
        OrderBuyerViewOrderPriceModify = "ORDER_BUYER_VIEW_ORDER_PRICE_MODIFY",
        /// A buyer refund on an order (clone's examples).
        OrderBuyerViewOrderBuyerRefund = "ORDER_BUYER_VIEW_ORDER_BUYER_REFUND",
    }
}

open_str_enum! {
    /// An order's status in a pushed status-change message.
    OrderStatus {
        /// Waiting for payment.
        WaitingForPayment = "WAITING_FOR_PAYMENT",
        /// Paid, waiting to be shipped.
        WaitingForSent = "WAITING_FOR_SENT",
        /// Cancelled.
        Cancel = "CANCEL",
    }
}

/// A pushed message's `messagePlatform`: 0 is Taobao, 1 is 1688.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum MessagePlatform {
    /// 0: Taobao.
    Taobao,
    /// 1: 1688.
    Alibaba1688,
    /// A code this version of the SDK does not know, kept as sent.
    Other(i64),
}

impl MessagePlatform {
    /// The code as sent on the wire.
    pub fn code(self) -> i64 {
        match self {
            Self::Taobao => 0,
            Self::Alibaba1688 => 1,
            Self::Other(code) => code,
        }
    }
}

impl From<i64> for MessagePlatform {
    fn from(code: i64) -> Self {
        match code {
            0 => Self::Taobao,
            1 => Self::Alibaba1688,
            other => Self::Other(other),
        }
    }
}

/// Parses the numeric code.
impl FromStr for MessagePlatform {
    type Err = std::num::ParseIntError;
    fn from_str(raw: &str) -> Result<Self, Self::Err> {
        raw.trim().parse::<i64>().map(Self::from)
    }
}

#[cfg(feature = "schemars")]
#[cfg_attr(docsrs, doc(cfg(feature = "schemars")))]
impl schemars::JsonSchema for MessagePlatform {
    fn schema_name() -> String {
        "MessagePlatform".to_owned()
    }
    fn json_schema(generator: &mut schemars::r#gen::SchemaGenerator) -> schemars::schema::Schema {
        i64::json_schema(generator)
    }
}

/// The numeric code, as sent.
impl fmt::Display for MessagePlatform {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.code())
    }
}

impl Serialize for MessagePlatform {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_i64(self.code())
    }
}

impl<'de> Deserialize<'de> for MessagePlatform {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        i64::deserialize(deserializer).map(Self::from)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_and_unknown_values_round_trip() {
        let known: MessageType = serde_json::from_str(r#""ORDER_CANCEL""#).unwrap();
        assert_eq!(known, MessageType::OrderCancel);
        let new: MessageType = serde_json::from_str(r#""ORDER_TELEPORTED""#).unwrap();
        assert_eq!(new, MessageType::Other("ORDER_TELEPORTED".into()));
        assert_eq!(
            serde_json::to_string(&new).unwrap(),
            r#""ORDER_TELEPORTED""#
        );
        let p: MessagePlatform = serde_json::from_str("7").unwrap();
        assert_eq!(
            (p, serde_json::to_string(&p).unwrap()),
            (MessagePlatform::Other(7), "7".into())
        );
        assert_eq!(
            serde_json::from_str::<MessagePlatform>("1").unwrap(),
            MessagePlatform::Alibaba1688
        );
        let s: OrderStatus = serde_json::from_str(r#""WAITING_FOR_SENT""#).unwrap();
        assert_eq!(s.as_str(), "WAITING_FOR_SENT");
    }

    #[test]
    fn wrong_json_types_are_still_errors() {
        assert!(serde_json::from_str::<MessageType>("3").is_err());
        assert!(serde_json::from_str::<MessagePlatform>(r#""1""#).is_err());
    }
}
