//! Decoding JSON with a bound on the memory the decoded value takes.
//!
//! Not part of the API (hidden from the docs, changed in any release):
//! `pandapon-gen`'s call step decodes every answer with it, and
//! [`JsonString`](crate::JsonString) the JSON inside a string.
//!
//! The size limit bounds the bytes read, not what they become: 15 MiB of
//! `[{"a":0},…]` decodes into about 1.4 GB of structs and maps. So every
//! body is decoded through `Metered`, a deserializer wrapper that charges
//! each allocation the decoded value can make against a budget (by default
//! [`DEFAULT_DECODE_RATIO`] times the body's size) and stops the decode, with
//! [`DecodeError::OverBudget`], as soon as the charges pass it.
//!
//! The charges are upper bounds worked out from the Rust types being built
//! (`size_of` of each element and map entry, as the seeds passed to
//! `SeqAccess`/`MapAccess` name them), not from the JSON alone, so a body of
//! large records costs what its records cost while a body of empty objects
//! decoding into wide structs is stopped:
//!
//! - a sequence element: three times its type's size while the sequence is
//!   read (a `Vec` doubling its buffer holds the old and the new one at
//!   once), twice once it is done;
//! - a string or byte string: its length, twice when the parser had to copy
//!   it (escapes), since a field kept by `#[serde(flatten)]` is copied again;
//! - a map (a JSON object decoded as a map, not as a struct, a
//!   `serde_json::Value` object included): one B-tree node of eleven slots at
//!   its first entry, and three times an entry's size (its key's and its
//!   value's) for each entry past eleven;
//! - an object buffered by `#[serde(flatten)]` (the unknown fields PandaPon
//!   sends, kept in `extra`): three times each buffered entry while the
//!   enclosing struct is read, plus the map it becomes, as above.
//!
//! Numbers, booleans and nulls live inside their parent's slot and cost
//! nothing more; so do a struct's own fields. `tests/charges.rs` checks
//! that the charges cover what decoding really allocates, measured with a
//! counting allocator, for hostile and ordinary bodies of every shape above.

use std::cell::Cell;
use std::fmt;
use std::mem::size_of;

use serde::de::{
    self, DeserializeOwned, DeserializeSeed, Deserializer, EnumAccess, MapAccess, SeqAccess,
    VariantAccess, Visitor,
};

/// Default bound on decoded memory, as a multiple of the body's size (on
/// top of [`DECODE_ALLOWANCE`]).
pub const DEFAULT_DECODE_RATIO: usize = 8;

/// Memory any body may take once decoded, whatever its size: a small answer
/// decoding into wide structs is never refused, and for a body near the
/// size limit it adds almost nothing.
pub const DECODE_ALLOWANCE: usize = 64 * 1024;

/// The memory budget for decoding `size` bytes at `ratio` times their size.
pub fn budget(size: usize, ratio: usize) -> usize {
    ratio.saturating_mul(size).saturating_add(DECODE_ALLOWANCE)
}

/// Slots in a node of the standard library's `BTreeMap`, which
/// `serde_json::Map` is.
const NODE_SLOTS: usize = 11;

/// A B-tree node of `serde_json::Map`: its slots and its header.
const MAP_NODE: usize = NODE_SLOTS * (size_of::<String>() + size_of::<serde_json::Value>()) + 16;

/// What the allocator keeps beside each allocation (glibc's chunk header),
/// charged for each string, which is an allocation of its own.
const ALLOCATION: usize = 16;

/// Keys at most this large are a struct's field names, which hold nothing.
const FIELD_NAME_SIZE: usize = 8;

/// The text serde reports when the budget runs out; the decode result is
/// recognised by the budget's own flag, never by this text.
const OVER_BUDGET: &str = "decoding would exceed the memory budget";

/// Why a body could not be decoded.
#[derive(Debug)]
pub enum DecodeError {
    /// Not the JSON the type expects.
    Json(serde_json::Error),
    /// Decoding would take more than `limit` bytes.
    OverBudget {
        /// The budget in bytes.
        limit: usize,
    },
}

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Json(e) => fmt::Display::fmt(e, f),
            Self::OverBudget { limit } => write!(f, "{OVER_BUDGET} of {limit} bytes"),
        }
    }
}

/// Decodes `bytes` as JSON into `T`, charging what it allocates against
/// `limit` bytes.
pub fn from_slice<T: DeserializeOwned>(bytes: &[u8], limit: usize) -> Result<T, DecodeError> {
    let budget = Budget::new(limit);
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let value = T::deserialize(Metered {
        de: &mut de,
        budget: &budget,
        field_name: false,
    })
    .and_then(|value| de.end().map(|()| value));
    match value {
        Ok(value) => Ok(value),
        Err(_) if budget.exceeded.get() => Err(DecodeError::OverBudget { limit }),
        Err(e) => Err(DecodeError::Json(e)),
    }
}

/// The budget of one decode.
struct Budget {
    left: Cell<usize>,
    exceeded: Cell<bool>,
    /// How many buffered objects (see [`MeterMap`]) enclose the value being
    /// read.
    buffering: Cell<usize>,
    /// Charges for buffers freed when the outermost buffered object ends.
    transient: Cell<usize>,
}

impl Budget {
    fn new(limit: usize) -> Self {
        Self {
            left: Cell::new(limit),
            exceeded: Cell::new(false),
            buffering: Cell::new(0),
            transient: Cell::new(0),
        }
    }

    fn charge<E: de::Error>(&self, bytes: usize) -> Result<(), E> {
        match self.left.get().checked_sub(bytes) {
            Some(left) => {
                self.left.set(left);
                Ok(())
            }
            None => {
                self.exceeded.set(true);
                Err(E::custom(OVER_BUDGET))
            }
        }
    }

    /// A charge for a buffer that lives until the outermost buffered object
    /// ends.
    fn charge_transient<E: de::Error>(&self, bytes: usize) -> Result<(), E> {
        self.charge(bytes)?;
        self.transient.set(self.transient.get() + bytes);
        Ok(())
    }

    fn refund(&self, bytes: usize) {
        self.left.set(self.left.get().saturating_add(bytes));
    }
}

/// A deserializer whose visitors are charged against a budget.
struct Metered<'b, D> {
    de: D,
    budget: &'b Budget,
    /// Reading a struct's field name, which is looked up, not kept.
    field_name: bool,
}

/// A visitor charged against a budget.
struct Meter<'b, V> {
    visitor: V,
    budget: &'b Budget,
    /// Reading a struct's field name: text the parser lends is looked up,
    /// not copied. (A key `#[serde(flatten)]` keeps is copied: charged.)
    identifier: bool,
    /// Read as whatever the JSON is (`deserialize_any`: a
    /// `serde_json::Value`, an untagged enum), where a number that does not
    /// fit 64 bits would become a rounded float.
    any: bool,
}

/// A seed whose deserializer is metered.
struct MeterSeed<'b, S> {
    seed: S,
    budget: &'b Budget,
    /// Deserializing a struct's field name.
    field_name: bool,
}

/// Sequence elements, charged as they are asked for.
struct MeterSeq<'b, A> {
    seq: A,
    budget: &'b Budget,
    /// Elements read so far.
    read: usize,
    /// What they were charged.
    charged: usize,
}

/// Map entries. A JSON object is read as a struct (its keys are field
/// names, which hold nothing), as a map (its keys are `String`s), or by
/// serde's buffer for `#[serde(flatten)]` (its keys are serde's own content
/// type, larger than a `String`), which is copied into a map when the struct
/// ends.
struct MeterMap<'b, A> {
    map: A,
    budget: &'b Budget,
    /// Entries read so far.
    entries: usize,
    /// The size of what the entry being read is charged at, once its key is
    /// known to hold data.
    slot: usize,
    /// Whether the entries are buffered (see above).
    buffered: bool,
}

/// An enum's variant, metered.
struct MeterEnum<'b, A> {
    data: A,
    budget: &'b Budget,
}

macro_rules! forward_deserialize {
    ($($method:ident($($arg:ident: $ty:ty),*)),* $(,)?) => {$(
        fn $method<V: Visitor<'de>>(self, $($arg: $ty,)* visitor: V) -> Result<V::Value, D::Error> {
            let budget = self.budget;
            self.de.$method($($arg,)* Meter { visitor, budget, identifier: false, any: false })
        }
    )*};
}

impl<'de, D: Deserializer<'de>> Deserializer<'de> for Metered<'_, D> {
    type Error = D::Error;

    forward_deserialize! {
        deserialize_bool(), deserialize_i8(), deserialize_i16(),
        deserialize_i32(), deserialize_i64(), deserialize_i128(), deserialize_u8(),
        deserialize_u16(), deserialize_u32(), deserialize_u64(), deserialize_u128(),
        deserialize_f32(), deserialize_f64(), deserialize_char(), deserialize_str(),
        deserialize_string(), deserialize_bytes(), deserialize_byte_buf(),
        deserialize_option(), deserialize_unit(), deserialize_seq(), deserialize_map(),
        deserialize_ignored_any(),
        deserialize_unit_struct(name: &'static str),
        deserialize_newtype_struct(name: &'static str),
        deserialize_tuple(len: usize),
        deserialize_tuple_struct(name: &'static str, len: usize),
        deserialize_struct(name: &'static str, fields: &'static [&'static str]),
        deserialize_enum(name: &'static str, variants: &'static [&'static str]),
    }

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, D::Error> {
        let budget = self.budget;
        self.de.deserialize_any(Meter {
            visitor,
            budget,
            identifier: false,
            any: true,
        })
    }

    fn deserialize_identifier<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, D::Error> {
        let budget = self.budget;
        self.de.deserialize_identifier(Meter {
            visitor,
            budget,
            identifier: self.field_name,
            any: false,
        })
    }

    fn is_human_readable(&self) -> bool {
        self.de.is_human_readable()
    }
}

macro_rules! forward_scalar {
    ($($method:ident($ty:ty)),* $(,)?) => {$(
        fn $method<E: de::Error>(self, v: $ty) -> Result<Self::Value, E> {
            self.visitor.$method(v)
        }
    )*};
}

macro_rules! charge_text {
    ($($method:ident($ty:ty) x $copies:literal, $lent:literal),* $(,)?) => {$(
        fn $method<E: de::Error>(self, v: $ty) -> Result<Self::Value, E> {
            if !($lent && self.identifier) {
                self.budget.charge(text_cost(v.len(), $copies))?;
            }
            self.visitor.$method(v)
        }
    )*};
}

/// What `len` bytes of text cost when copied `copies` times: the bytes, and
/// the allocator's own overhead for each copy (a non-empty string is an
/// allocation of its own).
fn text_cost(len: usize, copies: usize) -> usize {
    if len == 0 {
        0
    } else {
        copies * (len + ALLOCATION)
    }
}

impl<'de, V: Visitor<'de>> Visitor<'de> for Meter<'_, V> {
    type Value = V::Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.visitor.expecting(f)
    }

    forward_scalar! {
        visit_bool(bool), visit_i8(i8), visit_i16(i16), visit_i32(i32), visit_i64(i64),
        visit_i128(i128), visit_u8(u8), visit_u16(u16), visit_u32(u32), visit_u64(u64),
        visit_u128(u128), visit_f32(f32), visit_char(char),
    }

    /// A float. Read as any JSON (a `serde_json::Value`), a whole number
    /// beyond the 64-bit integers (an integer literal too long for `i64` and
    /// `u64`, which serde_json turns into a float, or one written as `1e20`)
    /// is refused rather than rounded: PandaPon's ids are 19-digit integers,
    /// and a rounded one names another order. A typed field (`u128`, a
    /// string id, an `f64`) reads it as its type says.
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Self::Value, E> {
        const BEYOND_U64: f64 = 18_446_744_073_709_551_616.0;
        // -2^63 itself is an `i64` and never arrives here; a literal below
        // it rounds to it.
        const BELOW_I64: f64 = -9_223_372_036_854_775_808.0;
        if self.any && v.fract() == 0.0 && (v >= BEYOND_U64 || v <= BELOW_I64) {
            return Err(E::custom(format_args!(
                "the number {v:e} is a whole number beyond 64 bits, which a JSON value cannot \
                 keep exact; it is refused rather than rounded (decode it into a typed field: \
                 a string, u128 or i128)"
            )));
        }
        self.visitor.visit_f64(v)
    }

    // Text the parser lends is copied at most once (and not at all as a
    // field name); text it had to unescape may be buffered and copied again.
    charge_text! {
        visit_borrowed_str(&'de str) x 1, true,
        visit_borrowed_bytes(&'de [u8]) x 1, true,
        visit_str(&str) x 2, false,
        visit_string(String) x 2, false,
        visit_bytes(&[u8]) x 2, false,
        visit_byte_buf(Vec<u8>) x 2, false,
    }

    fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
        self.visitor.visit_none()
    }

    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        self.visitor.visit_unit()
    }

    fn visit_some<D: Deserializer<'de>>(self, de: D) -> Result<Self::Value, D::Error> {
        let budget = self.budget;
        self.visitor.visit_some(Metered {
            de,
            budget,
            field_name: false,
        })
    }

    fn visit_newtype_struct<D: Deserializer<'de>>(self, de: D) -> Result<Self::Value, D::Error> {
        let budget = self.budget;
        self.visitor.visit_newtype_struct(Metered {
            de,
            budget,
            field_name: false,
        })
    }

    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Self::Value, A::Error> {
        let budget = self.budget;
        self.visitor.visit_seq(MeterSeq {
            seq,
            budget,
            read: 0,
            charged: 0,
        })
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
        let budget = self.budget;
        self.visitor.visit_map(MeterMap {
            map,
            budget,
            entries: 0,
            slot: 0,
            buffered: false,
        })
    }

    fn visit_enum<A: EnumAccess<'de>>(self, data: A) -> Result<Self::Value, A::Error> {
        let budget = self.budget;
        self.visitor.visit_enum(MeterEnum { data, budget })
    }
}

impl<'de, S: DeserializeSeed<'de>> DeserializeSeed<'de> for MeterSeed<'_, S> {
    type Value = S::Value;

    fn deserialize<D: Deserializer<'de>>(self, de: D) -> Result<Self::Value, D::Error> {
        let budget = self.budget;
        self.seed.deserialize(Metered {
            de,
            budget,
            field_name: self.field_name,
        })
    }
}

impl<'de, A: SeqAccess<'de>> SeqAccess<'de> for MeterSeq<'_, A> {
    type Error = A::Error;

    fn next_element_seed<T: DeserializeSeed<'de>>(
        &mut self,
        seed: T,
    ) -> Result<Option<T::Value>, A::Error> {
        let size = size_of::<T::Value>();
        // A `Vec`'s first buffer has room for four.
        let cost = if self.read == 0 { 4 } else { 3 } * size;
        self.budget.charge(cost)?;
        let budget = self.budget;
        let element = self.seq.next_element_seed(MeterSeed {
            seed,
            budget,
            field_name: false,
        })?;
        match element {
            Some(_) => {
                self.read += 1;
                self.charged += cost;
            }
            None => {
                // The end: the buffer has stopped growing, and holds at most
                // twice what it has (four at the least).
                let kept = if self.read == 0 {
                    0
                } else {
                    (2 * self.read).max(4) * size
                };
                self.budget.refund(self.charged + cost - kept);
            }
        }
        Ok(element)
    }

    fn size_hint(&self) -> Option<usize> {
        self.seq.size_hint()
    }
}

/// What one entry of a map of `String` keys and JSON values takes.
const MAP_ENTRY: usize = size_of::<String>() + size_of::<serde_json::Value>();

impl<'de, A: MapAccess<'de>> MapAccess<'de> for MeterMap<'_, A> {
    type Error = A::Error;

    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, A::Error> {
        let key_size = size_of::<K::Value>();
        let budget = self.budget;
        let key = self.map.next_key_seed(MeterSeed {
            seed,
            budget,
            field_name: key_size <= FIELD_NAME_SIZE,
        })?;
        if key.is_none() {
            if self.buffered {
                self.buffered = false;
                let depth = budget.buffering.get() - 1;
                budget.buffering.set(depth);
                if depth == 0 {
                    budget.refund(budget.transient.replace(0));
                }
            }
            return Ok(None);
        }
        // A struct's field name holds nothing: the field lives in the struct.
        self.slot = 0;
        if key_size <= FIELD_NAME_SIZE {
            return Ok(key);
        }
        let map_entry = if key_size > size_of::<String>() {
            // serde's buffer for unknown fields, copied into a map of
            // `String`s and JSON values when the struct ends.
            if !self.buffered {
                self.buffered = true;
                budget.buffering.set(budget.buffering.get() + 1);
            }
            MAP_ENTRY
        } else {
            key_size
        };
        if self.entries == 0 {
            budget.charge(MAP_NODE)?;
        } else if self.entries == NODE_SLOTS {
            // The first split: a second leaf and an internal root.
            budget.charge(2 * MAP_NODE + 3 * map_entry)?;
        } else if self.entries > NODE_SLOTS {
            // Split nodes are at least five-elevenths full.
            budget.charge(3 * map_entry)?;
        }
        if self.buffered {
            budget.charge_transient(3 * key_size)?;
        }
        self.entries += 1;
        self.slot = key_size;
        Ok(key)
    }

    fn next_value_seed<V: DeserializeSeed<'de>>(&mut self, seed: V) -> Result<V::Value, A::Error> {
        if self.buffered && self.slot > 0 {
            self.budget.charge_transient(3 * size_of::<V::Value>())?;
        } else if self.slot > 0 && self.entries > NODE_SLOTS {
            // A map's entry holds its value beside its key: the key's share
            // was charged with the key, the value's is charged here, as
            // large as the value's type (a `serde_json::Value`, 32 bytes,
            // for an object decoded as `Value`: its entries cost more than
            // their key alone, however short the key).
            self.budget.charge(3 * size_of::<V::Value>())?;
        }
        let budget = self.budget;
        self.map.next_value_seed(MeterSeed {
            seed,
            budget,
            field_name: false,
        })
    }

    fn size_hint(&self) -> Option<usize> {
        self.map.size_hint()
    }
}

impl<'de, 'b, A: EnumAccess<'de>> EnumAccess<'de> for MeterEnum<'b, A> {
    type Error = A::Error;
    type Variant = MeterEnum<'b, A::Variant>;

    fn variant_seed<V: DeserializeSeed<'de>>(
        self,
        seed: V,
    ) -> Result<(V::Value, Self::Variant), A::Error> {
        let budget = self.budget;
        let (value, data) = self.data.variant_seed(MeterSeed {
            seed,
            budget,
            field_name: true,
        })?;
        Ok((value, MeterEnum { data, budget }))
    }
}

impl<'de, A: VariantAccess<'de>> VariantAccess<'de> for MeterEnum<'_, A> {
    type Error = A::Error;

    fn unit_variant(self) -> Result<(), A::Error> {
        self.data.unit_variant()
    }

    fn newtype_variant_seed<T: DeserializeSeed<'de>>(self, seed: T) -> Result<T::Value, A::Error> {
        let budget = self.budget;
        self.data.newtype_variant_seed(MeterSeed {
            seed,
            budget,
            field_name: false,
        })
    }

    fn tuple_variant<V: Visitor<'de>>(self, len: usize, visitor: V) -> Result<V::Value, A::Error> {
        let budget = self.budget;
        self.data.tuple_variant(
            len,
            Meter {
                visitor,
                budget,
                identifier: false,
                any: false,
            },
        )
    }

    fn struct_variant<V: Visitor<'de>>(
        self,
        fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, A::Error> {
        let budget = self.budget;
        self.data.struct_variant(
            fields,
            Meter {
                visitor,
                budget,
                identifier: false,
                any: false,
            },
        )
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use serde::Deserialize;

    use super::*;

    /// The least budget `text` decodes into `T` within.
    fn cost<T: DeserializeOwned>(text: &str) -> usize {
        let (mut low, mut high) = (0, 1 << 24);
        assert!(from_slice::<T>(text.as_bytes(), high).is_ok(), "{text}");
        while low < high {
            let mid = (low + high) / 2;
            match from_slice::<T>(text.as_bytes(), mid) {
                Ok(_) => high = mid,
                Err(DecodeError::OverBudget { .. }) => low = mid + 1,
                Err(DecodeError::Json(e)) => panic!("{text}: {e}"),
            }
        }
        low
    }

    #[derive(Deserialize)]
    #[allow(dead_code)]
    struct Fields {
        a: u8,
        b: bool,
        c: Option<u64>,
    }

    #[derive(Deserialize)]
    #[allow(dead_code)]
    struct Open {
        a: Option<u8>,
        #[serde(flatten)]
        extra: serde_json::Map<String, serde_json::Value>,
    }

    #[test]
    fn a_struct_s_own_fields_and_numbers_cost_nothing() {
        assert_eq!(
            cost::<Fields>(r#"{"a":1,"b":true,"c":null,"unknown":[1,2]}"#),
            0
        );
    }

    #[test]
    fn text_costs_its_length_and_an_allocation_and_twice_when_unescaped() {
        assert_eq!(cost::<String>(r#""abc""#), 3 + ALLOCATION);
        assert_eq!(cost::<String>(r#""a\nc""#), 2 * (3 + ALLOCATION));
        assert_eq!(cost::<String>(r#""""#), 0);
    }

    #[test]
    fn a_sequence_costs_its_buffer() {
        let one = size_of::<u64>();
        // While reading, 4 slots for the first and 3 for each further
        // element (the old and new buffer at a doubling) ...
        assert_eq!(cost::<Vec<u64>>("[1]"), 4 * one + 3 * one);
        assert_eq!(cost::<Vec<u64>>("[1,2,3]"), (4 + 3 + 3) * one + 3 * one);
        // ... and an empty one only the look for a first element. (A tuple
        // is charged as a sequence too: the generated types have none.)
        assert_eq!(cost::<Vec<u64>>("[]"), 4 * one);
    }

    #[test]
    fn a_map_costs_a_node_and_each_entry_past_eleven() {
        let eleven: String = (0..11)
            .map(|i| format!(r#""k{i:02}":1"#))
            .collect::<Vec<_>>()
            .join(",");
        let keys = 11 * (3 + ALLOCATION);
        assert_eq!(
            cost::<BTreeMap<String, u8>>(&format!("{{{eleven}}}")),
            MAP_NODE + keys
        );
        // The twelfth entry splits the node; it is charged its key's share
        // and its value's.
        let twelve = format!(r#"{{{eleven},"k11":1}}"#);
        let split = 2 * MAP_NODE + 3 * size_of::<String>() + 3 * size_of::<u8>();
        assert_eq!(
            cost::<BTreeMap<String, u8>>(&twelve),
            MAP_NODE + split + keys + 3 + ALLOCATION
        );
    }

    #[test]
    fn fields_kept_by_flatten_are_buffered_then_kept() {
        // Every key of a flatten struct goes through serde's buffer (its
        // keys are larger than a `String`, which is how they are told from
        // a map's), and the kept ones cost a node of the map they end in.
        let one = cost::<Open>(r#"{"x":1}"#);
        assert!(one >= MAP_NODE, "{one}");
        assert_eq!(cost::<Open>("{}"), 0);
        // A thousand unknown fields cost at least their slots.
        let many: String = (0..1000)
            .map(|i| format!(r#""k{i}":{i}"#))
            .collect::<Vec<_>>()
            .join(",");
        assert!(cost::<Open>(&format!("{{{many}}}")) > 1000 * MAP_ENTRY);
    }

    #[test]
    fn a_value_object_of_a_million_short_keys_is_held_to_the_ratio() {
        // 1.3 million 8-character keys: each entry is 13 bytes of JSON and
        // takes a B-tree slot of a String and a Value (56 bytes) in nodes
        // about half full, and its key's allocation: over 8 times its size.
        // Charging the key's slot alone let it through at 13 times.
        let body = format!(
            "{{{}}}",
            (0..1_300_000)
                .map(|i| format!(r#""k{i:07}":0"#))
                .collect::<Vec<_>>()
                .join(",")
        );
        let limit = budget(body.len(), DEFAULT_DECODE_RATIO);
        match from_slice::<serde_json::Value>(body.as_bytes(), limit) {
            Err(DecodeError::OverBudget { limit: l }) => assert_eq!(l, limit),
            Err(DecodeError::Json(e)) => panic!("valid JSON: {e}"),
            Ok(_) => panic!("decoded past the {DEFAULT_DECODE_RATIO}x budget"),
        }
    }

    #[test]
    fn numbers_beyond_64_bits_are_kept_exact_or_refused_never_rounded() {
        let limit = 1 << 20;
        let value = |text: &str| from_slice::<serde_json::Value>(text.as_bytes(), limit);
        // The 64-bit edges are exact.
        let edges = value(r#"[18446744073709551615,-9223372036854775808,2542285634920880794]"#)
            .expect("within 64 bits");
        assert_eq!(edges[0].as_u64(), Some(u64::MAX));
        assert_eq!(edges[1].as_i64(), Some(i64::MIN));
        assert_eq!(edges[2].as_u64(), Some(2_542_285_634_920_880_794));
        // One past them, or written as a float, is refused with a reason.
        for text in [
            r#"{"orderId":18446744073709551616}"#,
            r#"{"orderId":-9223372036854775809}"#,
            r#"[123456789012345678901234567890]"#,
            r#"{"a":{"b":[1e20]}}"#,
        ] {
            match value(text) {
                Err(DecodeError::Json(e)) => {
                    assert!(e.to_string().contains("beyond 64 bits"), "{text}: {e}")
                }
                other => panic!("{text}: {other:?}"),
            }
        }
        // Fractions and small floats are floats, as they were.
        assert_eq!(
            value("[1.5,2e3]").expect("floats")[1].as_f64(),
            Some(2000.0)
        );
        // A typed field reads the number as its type says.
        #[derive(serde::Deserialize)]
        struct Typed {
            big: u128,
            float: f64,
        }
        let typed: Typed = from_slice(
            br#"{"big":123456789012345678901234567890,"float":1e20}"#,
            limit,
        )
        .expect("typed");
        assert_eq!(typed.big, 123_456_789_012_345_678_901_234_567_890);
        assert_eq!(typed.float, 1e20);
    }

    #[test]
    fn bad_json_is_a_json_error_and_over_budget_is_not() {
        assert!(matches!(
            from_slice::<Vec<u8>>(b"[1,", 1 << 20),
            Err(DecodeError::Json(_))
        ));
        assert!(matches!(
            from_slice::<Vec<u8>>(b"[1] x", 1 << 20),
            Err(DecodeError::Json(_))
        ));
        assert!(matches!(
            from_slice::<Vec<String>>(br#"["abc"]"#, 10),
            Err(DecodeError::OverBudget { limit: 10 })
        ));
    }

    #[test]
    fn the_budget_is_a_ratio_plus_an_allowance() {
        assert_eq!(budget(1000, 8), 8000 + DECODE_ALLOWANCE);
        assert_eq!(budget(usize::MAX, 8), usize::MAX);
    }
}
