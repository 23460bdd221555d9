//! A JSON value with a deterministic key order and a bounded nesting depth.
//!
//! Every payload the edge accepts (XDM, free-form `data`, handles) is held as a [`Value`]. It is
//! the same type whether it was parsed from bytes at the edge (`serde_json`), converted from a
//! JavaScript object in the browser (`serde-wasm-bindgen`) or decoded from a sync batch
//! (`rmp-serde`), so every host sees the same tree and the same sizes.
//!
//! Objects are `BTreeMap`s: iteration order is the same on every host, which keeps hashes,
//! encodings and decisions byte-identical across the browser, the edge and the origin.

use std::fmt;

use serde::de::{self, DeserializeSeed, MapAccess, SeqAccess, Visitor};
use serde::ser::{SerializeMap, SerializeSeq};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A JSON object: keys sorted, so encodings are the same on every host.
pub type Map = crate::map::ObjectMap<Value>;

/// Nesting depth that no decoder goes beyond, whatever the configured limits say.
///
/// It protects the recursive decoders' stacks (a Wasm stack is small); the configurable
/// [`Limits::max_depth`](crate::limits::Limits::max_depth) is checked on top of it with an error
/// that names the field.
pub const HARD_MAX_DEPTH: usize = 128;

/// A JSON value.
#[derive(Debug, Clone, PartialEq, Default)]
pub enum Value {
    /// `null`.
    #[default]
    Null,
    /// `true` or `false`.
    Bool(bool),
    /// A number, integer or not.
    Number(Number),
    /// A string.
    String(String),
    /// An array.
    Array(Vec<Value>),
    /// An object with sorted keys.
    Object(Map),
}

/// A JSON number, kept as an integer when it is one.
///
/// Equality is numeric: `1` equals `1.0` (JavaScript hands every number over as a double).
#[derive(Debug, Clone, Copy)]
pub enum Number {
    /// A non-negative integer.
    PosInt(u64),
    /// A negative integer.
    NegInt(i64),
    /// Any other number (finite when it came from JSON text; hosts converting from JavaScript
    /// can hand over NaN or infinity, which validation rejects).
    Float(f64),
}

impl Number {
    /// The number as an `f64` (integers beyond 2^53 lose precision).
    #[must_use]
    #[allow(clippy::cast_precision_loss)]
    pub fn as_f64(self) -> f64 {
        match self {
            Number::PosInt(n) => n as f64,
            Number::NegInt(n) => n as f64,
            Number::Float(f) => f,
        }
    }

    /// The number as an `i64` when it is an integer that fits.
    #[must_use]
    pub fn as_i64(self) -> Option<i64> {
        match self {
            Number::PosInt(n) => i64::try_from(n).ok(),
            Number::NegInt(n) => Some(n),
            Number::Float(f) => float_as_i64(f),
        }
    }

    /// Whether the number is finite (JSON cannot carry NaN or infinity).
    #[must_use]
    pub fn is_finite(self) -> bool {
        match self {
            Number::Float(f) => f.is_finite(),
            _ => true,
        }
    }
}

impl PartialEq for Number {
    fn eq(&self, other: &Number) -> bool {
        match (*self, *other) {
            (Number::PosInt(a), Number::PosInt(b)) => a == b,
            (Number::NegInt(a), Number::NegInt(b)) => a == b,
            (Number::PosInt(_), Number::NegInt(_)) | (Number::NegInt(_), Number::PosInt(_)) => false,
            (a, b) => a.as_f64() == b.as_f64(),
        }
    }
}

/// JavaScript has only doubles: `3` arrives from the browser as `3.0`. Accept those as integers.
#[allow(clippy::cast_possible_truncation, clippy::cast_precision_loss)]
fn float_as_i64(f: f64) -> Option<i64> {
    const LIMIT: f64 = 9_007_199_254_740_992.0; // 2^53: beyond it doubles are not exact integers
    if f.fract() == 0.0 && f.abs() <= LIMIT { Some(f as i64) } else { None }
}

impl From<&str> for Value {
    fn from(s: &str) -> Self {
        Value::String(s.to_owned())
    }
}

impl From<String> for Value {
    fn from(s: String) -> Self {
        Value::String(s)
    }
}

impl From<bool> for Value {
    fn from(b: bool) -> Self {
        Value::Bool(b)
    }
}

impl From<i64> for Value {
    fn from(n: i64) -> Self {
        match u64::try_from(n) {
            Ok(u) => Value::Number(Number::PosInt(u)),
            Err(_) => Value::Number(Number::NegInt(n)),
        }
    }
}

impl From<u64> for Value {
    fn from(n: u64) -> Self {
        Value::Number(Number::PosInt(n))
    }
}

impl From<f64> for Value {
    fn from(f: f64) -> Self {
        Value::Number(Number::Float(f))
    }
}

impl From<Map> for Value {
    fn from(m: Map) -> Self {
        Value::Object(m)
    }
}

impl From<Vec<Value>> for Value {
    fn from(v: Vec<Value>) -> Self {
        Value::Array(v)
    }
}

impl Value {
    /// The name of this value's JSON type, for error messages ("expected a string, found an array").
    #[must_use]
    pub fn kind(&self) -> &'static str {
        match self {
            Value::Null => "null",
            Value::Bool(_) => "a boolean",
            Value::Number(_) => "a number",
            Value::String(_) => "a string",
            Value::Array(_) => "an array",
            Value::Object(_) => "an object",
        }
    }

    /// Whether this is `null`.
    #[must_use]
    pub fn is_null(&self) -> bool {
        matches!(self, Value::Null)
    }

    /// The string, if this is one.
    #[must_use]
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::String(s) => Some(s),
            _ => None,
        }
    }

    /// The object, if this is one.
    #[must_use]
    pub fn as_object(&self) -> Option<&Map> {
        match self {
            Value::Object(m) => Some(m),
            _ => None,
        }
    }

    /// The array, if this is one.
    #[must_use]
    pub fn as_array(&self) -> Option<&[Value]> {
        match self {
            Value::Array(a) => Some(a),
            _ => None,
        }
    }

    /// Follows a dotted path of object keys (`"web.webPageDetails.URL"`).
    #[must_use]
    pub fn pointer(&self, dotted: &str) -> Option<&Value> {
        dotted.split('.').try_fold(self, |v, key| v.as_object()?.get(key))
    }

    /// The size of this value in bytes, as every limit measures it on every host: the length of
    /// its compact JSON encoding (strings count their UTF-8 bytes plus JSON escapes), except
    /// that a number that is not an integer counts as 8 bytes, its binary size.
    ///
    /// The exception keeps the measure exact and identical in the browser, at the edge and at
    /// the origin without formatting floats (whose shortest decimal form would add ~20 KB of
    /// float-printing code to the browser core); it is computed without encoding anything.
    #[must_use]
    pub fn json_len(&self) -> usize {
        match self {
            Value::Null => 4,
            Value::Bool(true) => 4,
            Value::Bool(false) => 5,
            Value::Number(n) => number_len(*n),
            Value::String(s) => string_json_len(s),
            Value::Array(items) => 2 + items.iter().map(Value::json_len).sum::<usize>() + items.len().saturating_sub(1),
            Value::Object(map) => {
                2 + map.iter().map(|(k, v)| string_json_len(k) + 1 + v.json_len()).sum::<usize>()
                    + map.len().saturating_sub(1)
            }
        }
    }

    /// A total order on values, the same on every host: by type (null, booleans, numbers,
    /// strings, arrays, objects), then by content (numbers numerically with `total_cmp`, arrays
    /// and objects element by element). Used to break ties deterministically.
    #[must_use]
    pub fn canonical_cmp(&self, other: &Value) -> std::cmp::Ordering {
        fn rank(v: &Value) -> u8 {
            match v {
                Value::Null => 0,
                Value::Bool(_) => 1,
                Value::Number(_) => 2,
                Value::String(_) => 3,
                Value::Array(_) => 4,
                Value::Object(_) => 5,
            }
        }
        match (self, other) {
            (Value::Bool(a), Value::Bool(b)) => a.cmp(b),
            (Value::Number(a), Value::Number(b)) => a.as_f64().total_cmp(&b.as_f64()),
            (Value::String(a), Value::String(b)) => a.cmp(b),
            (Value::Array(a), Value::Array(b)) => a
                .iter()
                .zip(b)
                .map(|(x, y)| x.canonical_cmp(y))
                .find(|o| o.is_ne())
                .unwrap_or_else(|| a.len().cmp(&b.len())),
            (Value::Object(a), Value::Object(b)) => a
                .iter()
                .zip(b.iter())
                .map(|((ka, va), (kb, vb))| ka.cmp(kb).then_with(|| va.canonical_cmp(vb)))
                .find(|o| o.is_ne())
                .unwrap_or_else(|| a.len().cmp(&b.len())),
            (a, b) => rank(a).cmp(&rank(b)),
        }
    }

    /// The deepest nesting of arrays and objects below and including this value (a scalar is 0).
    #[must_use]
    pub fn depth(&self) -> usize {
        match self {
            Value::Array(items) => 1 + items.iter().map(Value::depth).max().unwrap_or(0),
            Value::Object(map) => 1 + map.values().map(Value::depth).max().unwrap_or(0),
            _ => 0,
        }
    }
}

/// The length of `s` encoded as a JSON string literal, quotes included.
#[must_use]
pub fn string_json_len(s: &str) -> usize {
    2 + s
        .bytes()
        .map(|b| match b {
            b'"' | b'\\' | b'\n' | b'\r' | b'\t' | 0x08 | 0x0c => 2,
            0..=0x1f => 6,
            _ => 1,
        })
        .sum::<usize>()
}

/// Decimal digits of `n` (at least 1).
fn digits(mut n: u64) -> usize {
    let mut d = 1;
    while n >= 10 {
        n /= 10;
        d += 1;
    }
    d
}

fn number_len(n: Number) -> usize {
    match n {
        Number::PosInt(u) => digits(u),
        Number::NegInt(i) => 1 + digits(i.unsigned_abs()),
        // An integral double (JavaScript's 3 is 3.0) counts as the integer it is.
        Number::Float(f) => match float_as_i64(f) {
            Some(i) if i < 0 => 1 + digits(i.unsigned_abs()),
            Some(i) => digits(i.unsigned_abs()),
            None => 8,
        },
    }
}

impl Serialize for Value {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            Value::Null => serializer.serialize_unit(),
            Value::Bool(b) => serializer.serialize_bool(*b),
            Value::Number(Number::PosInt(u)) => serializer.serialize_u64(*u),
            Value::Number(Number::NegInt(i)) => serializer.serialize_i64(*i),
            Value::Number(Number::Float(f)) => serializer.serialize_f64(*f),
            Value::String(s) => serializer.serialize_str(s),
            Value::Array(items) => {
                let mut seq = serializer.serialize_seq(Some(items.len()))?;
                for item in items {
                    seq.serialize_element(item)?;
                }
                seq.end()
            }
            Value::Object(map) => {
                let mut m = serializer.serialize_map(Some(map.len()))?;
                for (k, v) in map {
                    m.serialize_entry(k, v)?;
                }
                m.end()
            }
        }
    }
}

/// Decodes a [`Value`] refusing nesting deeper than a limit, so that no input can exhaust the
/// decoder's stack.
#[derive(Debug, Clone, Copy)]
pub struct ValueSeed {
    remaining: usize,
    limit: usize,
}

impl ValueSeed {
    /// A decoder allowing `max_depth` levels of arrays and objects (capped at [`HARD_MAX_DEPTH`]).
    #[must_use]
    pub const fn new(max_depth: usize) -> Self {
        let limit = if max_depth < HARD_MAX_DEPTH { max_depth } else { HARD_MAX_DEPTH };
        ValueSeed { remaining: limit, limit }
    }
}

impl Default for ValueSeed {
    fn default() -> Self {
        ValueSeed::new(HARD_MAX_DEPTH)
    }
}

impl<'de> Deserialize<'de> for Value {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        ValueSeed::default().deserialize(deserializer)
    }
}

impl<'de> DeserializeSeed<'de> for ValueSeed {
    type Value = Value;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Value, D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl ValueSeed {
    fn nested<E: de::Error>(self) -> Result<ValueSeed, E> {
        match self.remaining.checked_sub(1) {
            Some(remaining) => Ok(ValueSeed { remaining, ..self }),
            None => Err(E::custom(format_args!("nesting is deeper than the limit of {} levels", self.limit))),
        }
    }
}

impl<'de> Visitor<'de> for ValueSeed {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_bool<E>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }

    fn visit_i64<E>(self, v: i64) -> Result<Value, E> {
        Ok(Value::from(v))
    }

    fn visit_u64<E>(self, v: u64) -> Result<Value, E> {
        Ok(Value::Number(Number::PosInt(v)))
    }

    fn visit_f64<E>(self, v: f64) -> Result<Value, E> {
        Ok(Value::Number(Number::Float(v)))
    }

    fn visit_str<E>(self, v: &str) -> Result<Value, E> {
        Ok(Value::String(v.to_owned()))
    }

    fn visit_string<E>(self, v: String) -> Result<Value, E> {
        Ok(Value::String(v))
    }

    fn visit_bytes<E: de::Error>(self, _: &[u8]) -> Result<Value, E> {
        Err(E::custom("binary data is not a JSON value"))
    }

    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_none<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        self.deserialize(d)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let inner = self.nested()?;
        // The size hint comes from the input: never trust it for an allocation.
        let mut items = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(64));
        while let Some(item) = seq.next_element_seed(inner)? {
            items.push(item);
        }
        Ok(Value::Array(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut access: A) -> Result<Value, A::Error> {
        let inner = self.nested()?;
        let mut map = Map::new();
        while let Some(key) = access.next_key::<String>()? {
            let value = access.next_value_seed(inner)?;
            // JSON allows repeated keys; like most parsers the last one wins.
            map.insert(key, value);
        }
        Ok(Value::Object(map))
    }
}

/// Builds a [`Value::Object`] from `key => value` pairs.
#[macro_export]
macro_rules! object {
    ($($key:expr => $value:expr),* $(,)?) => {{
        #[allow(unused_mut)]
        let mut map = $crate::value::Map::new();
        $( map.insert(::std::string::String::from($key), $crate::value::Value::from($value)); )*
        $crate::value::Value::Object(map)
    }};
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn arb_value() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            any::<u64>().prop_map(Value::from),
            any::<i64>().prop_map(Value::from),
            (-1.0e12f64..1.0e12).prop_map(Value::from),
            ".{0,12}".prop_map(Value::String),
        ];
        leaf.prop_recursive(4, 64, 6, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
                prop::collection::btree_map(".{0,6}", inner, 0..6).prop_map(|m| Value::Object(m.into_iter().collect())),
            ]
        })
    }

    proptest! {
        #[test]
        fn json_len_is_the_length_of_the_compact_encoding(v in arb_value()) {
            // Non-integer numbers count 8 bytes by definition; compare on a tree without them,
            // where the measure is exactly serde_json's output length.
            fn strip_floats(v: &Value) -> Value {
                match v {
                    Value::Number(Number::Float(_)) => Value::Null,
                    Value::Array(a) => Value::Array(a.iter().map(strip_floats).collect()),
                    Value::Object(m) => Value::Object(m.iter().map(|(k, v)| (k.clone(), strip_floats(v))).collect()),
                    other => other.clone(),
                }
            }
            let v = strip_floats(&v);
            let encoded = serde_json::to_vec(&v).unwrap();
            prop_assert_eq!(v.json_len(), encoded.len());
        }

        #[test]
        fn json_round_trips(v in arb_value()) {
            let encoded = serde_json::to_string(&v).unwrap();
            let back: Value = serde_json::from_str(&encoded).unwrap();
            prop_assert_eq!(back, v);
        }
    }

    #[test]
    fn deep_nesting_is_refused_with_a_sentence() {
        let deep = "[".repeat(20) + &"]".repeat(20);
        let mut de = serde_json::Deserializer::from_str(&deep);
        let err = ValueSeed::new(10).deserialize(&mut de).unwrap_err();
        assert!(err.to_string().contains("nesting is deeper than the limit of 10 levels"), "{err}");
    }

    #[test]
    fn seed_limits_depth_exactly() {
        let two = "[[1]]";
        let mut de = serde_json::Deserializer::from_str(two);
        assert!(ValueSeed::new(2).deserialize(&mut de).is_ok());
        let mut de = serde_json::Deserializer::from_str(two);
        assert!(ValueSeed::new(1).deserialize(&mut de).is_err());
    }

    #[test]
    fn pointer_follows_dotted_keys() {
        let v = object! { "web" => object! { "webPageDetails" => object! { "URL" => "https://x" } } };
        assert_eq!(v.pointer("web.webPageDetails.URL").and_then(Value::as_str), Some("https://x"));
        assert!(v.pointer("web.nope").is_none());
    }

    #[test]
    fn numbers_are_measured_without_formatting_floats() {
        assert_eq!(Value::from(0u64).json_len(), 1);
        assert_eq!(Value::from(-120i64).json_len(), 4);
        assert_eq!(Value::from(u64::MAX).json_len(), 20);
        assert_eq!(Value::from(i64::MIN).json_len(), 20);
        assert_eq!(Value::from(3.0).json_len(), 1, "JavaScript's 3");
        assert_eq!(Value::from(-59.5).json_len(), 8);
        assert_eq!(Value::from(0.1).json_len(), 8);
    }

    #[test]
    fn javascript_doubles_count_as_integers() {
        assert_eq!(Number::Float(3.0).as_i64(), Some(3));
        assert_eq!(Number::Float(3.5).as_i64(), None);
        assert_eq!(Number::Float(f64::NAN).as_i64(), None);
    }
}
