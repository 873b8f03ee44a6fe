//! What generated types use to accept exactly what their schemas accept.
//!
//! The checks here mirror JSON Schema 2020-12 as the `jsonschema` crate applies it (formats
//! asserted): an integer is any number without a fractional part (`1.0` included), lengths count
//! Unicode scalar values, `pattern` searches rather than anchors, `date-time` is RFC 3339 with
//! leap-second rules, and `uuid` is the hyphenated form.

use std::fmt;

pub use base64::DecodeError as Base64Error;
pub use regex::Regex;
use serde::de::{self, Deserializer, Visitor};
use serde::{Deserialize, Serialize};
pub use serde_json::{Map, Number, Value};

/// A value that breaks a constraint of its schema.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConstraintError {
    /// The type whose constraint was broken.
    pub type_name: &'static str,
    /// What is wrong.
    pub message: String,
}

impl ConstraintError {
    /// A broken constraint of `type_name`.
    pub fn new(type_name: &'static str, message: impl Into<String>) -> Self {
        Self {
            type_name,
            message: message.into(),
        }
    }
}

impl fmt::Display for ConstraintError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.type_name, self.message)
    }
}

impl std::error::Error for ConstraintError {}

/// A frame that is not a message of a union.
#[derive(Debug)]
pub enum DecodeError {
    /// The text is not JSON.
    Json(serde_json::Error),
    /// No message of the union has the frame's discriminator values.
    UnknownMessage {
        /// The union, e.g. `ClientMessage`.
        union: &'static str,
        /// The frame's discriminator values, as found.
        tags: String,
    },
    /// The frame names a message but does not match its schema.
    Invalid {
        /// The message the discriminators selected.
        message: &'static str,
        /// What is wrong.
        source: serde_json::Error,
    },
}

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DecodeError::Json(e) => write!(f, "not JSON: {e}"),
            DecodeError::UnknownMessage { union, tags } => write!(f, "no {union} has {tags}"),
            DecodeError::Invalid { message, source } => write!(f, "invalid {message}: {source}"),
        }
    }
}

impl std::error::Error for DecodeError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            DecodeError::Json(e) | DecodeError::Invalid { source: e, .. } => Some(e),
            DecodeError::UnknownMessage { .. } => None,
        }
    }
}

/// A message type: one variant of a protocol's client or server union.
pub trait Message: Serialize + for<'de> Deserialize<'de> {
    /// The message's name in the protocol description, e.g. `session_create`.
    const NAME: &'static str;
}

/// Describes the discriminator values found in a frame, for error messages.
pub fn describe_tags(value: &Value, pointers: &[&str]) -> String {
    if !value.is_object() {
        return format!("a frame that is not an object ({})", kind_name(value));
    }
    let found: Vec<String> = pointers
        .iter()
        .map(|p| match value.pointer(p) {
            Some(v) => format!("{p} = {}", truncate(&v.to_string(), 60)),
            None => format!("no {p}"),
        })
        .collect();
    found.join(", ")
}

/// Whether the value at `pointer` is the string `expected`.
pub fn tag_is(value: &Value, pointer: &str, expected: &str) -> bool {
    lookup(value, pointer).and_then(Value::as_str) == Some(expected)
}

/// Whether the value at `pointer` equals `expected`, compared as JSON Schema does (numbers by
/// value).
pub fn tag_equals(value: &Value, pointer: &str, expected: &Value) -> bool {
    lookup(value, pointer).is_some_and(|found| json_equal(found, expected))
}

/// Whether an object has no value at `pointer`.
pub fn tag_absent(value: &Value, pointer: &str) -> bool {
    value.is_object() && lookup(value, pointer).is_none()
}

/// The value at a JSON Pointer, like [`Value::pointer`], but without allocating for tokens that
/// need no unescaping: discriminators are read on every frame.
pub fn lookup<'v>(value: &'v Value, pointer: &str) -> Option<&'v Value> {
    if pointer.is_empty() {
        return Some(value);
    }
    let rest = pointer.strip_prefix('/')?;
    let mut at = value;
    for token in rest.split('/') {
        at = if token.contains('~') {
            let token = token.replace("~1", "/").replace("~0", "~");
            step(at, &token)?
        } else {
            step(at, token)?
        };
    }
    Some(at)
}

fn step<'v>(value: &'v Value, token: &str) -> Option<&'v Value> {
    match value {
        Value::Object(map) => map.get(token),
        Value::Array(items) => {
            if token.len() > 1 && token.starts_with('0') {
                return None;
            }
            items.get(token.parse::<usize>().ok()?)
        }
        _ => None,
    }
}

/// JSON Schema equality: numbers compare by mathematical value (`1` equals `1.0`).
pub fn json_equal(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => number_equal(x, y),
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(a, b)| json_equal(a, b))
        }
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len()
                && x.iter()
                    .all(|(k, v)| y.get(k).is_some_and(|w| json_equal(v, w)))
        }
        _ => a == b,
    }
}

fn number_equal(x: &Number, y: &Number) -> bool {
    match (x.as_i64(), y.as_i64(), x.as_u64(), y.as_u64()) {
        (Some(a), Some(b), _, _) => a == b,
        (_, _, Some(a), Some(b)) => a == b,
        _ => x.as_f64() == y.as_f64(),
    }
}

/// Deserializes the string `expected` and nothing else (a constant, such as a message tag).
pub fn expect_str<'de, D: Deserializer<'de>>(
    deserializer: D,
    expected: &'static str,
) -> Result<(), D::Error> {
    struct Expect(&'static str);
    impl Visitor<'_> for Expect {
        type Value = ();
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            write!(f, "the string {:?}", self.0)
        }
        fn visit_str<E: de::Error>(self, found: &str) -> Result<(), E> {
            if found == self.0 {
                Ok(())
            } else {
                Err(E::invalid_value(de::Unexpected::Str(found), &self))
            }
        }
    }
    deserializer.deserialize_str(Expect(expected))
}

/// Deserializes one of a list of strings (an enumeration), returning its index. Only a string
/// is accepted: not the one-key object serde's derived enums also take.
pub fn expect_one_of<'de, D: Deserializer<'de>>(
    deserializer: D,
    values: &'static [&'static str],
) -> Result<usize, D::Error> {
    struct OneOf(&'static [&'static str]);
    impl Visitor<'_> for OneOf {
        type Value = usize;
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            write!(f, "one of {:?}", self.0)
        }
        fn visit_str<E: de::Error>(self, found: &str) -> Result<usize, E> {
            self.0
                .iter()
                .position(|value| *value == found)
                .ok_or_else(|| E::invalid_value(de::Unexpected::Str(found), &self))
        }
    }
    deserializer.deserialize_str(OneOf(values))
}

/// Deserializes a JSON object, refusing anything else. Closed structures decode through it,
/// because serde's derived structs also read arrays, field by field.
pub fn object<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Value, D::Error> {
    Map::<String, Value>::deserialize(deserializer).map(Value::Object)
}

/// Decodes a message from a frame, naming where in the frame a problem is.
pub fn decode<T: serde::de::DeserializeOwned>(
    value: Value,
    message: &'static str,
) -> Result<T, DecodeError> {
    serde_path_to_error::deserialize(value).map_err(|error| {
        let path = error.path().to_string();
        let source = error.into_inner();
        let source = if path == "." {
            source
        } else {
            <serde_json::Error as de::Error>::custom(format!("at {path}: {source}"))
        };
        DecodeError::Invalid { message, source }
    })
}

/// Deserializes one exact JSON value (a constant that is not a string).
pub fn expect_value<'de, D: Deserializer<'de>>(
    deserializer: D,
    expected: &Value,
) -> Result<(), D::Error> {
    let found = Value::deserialize(deserializer)?;
    if json_equal(&found, expected) {
        Ok(())
    } else {
        Err(de::Error::custom(format!(
            "expected {expected}, found {}",
            truncate(&found.to_string(), 60)
        )))
    }
}

/// For an optional property: present values (including `null`, where the type accepts it) are
/// `Some`; absence is handled by `#[serde(default)]`.
pub fn present<'de, D, T>(deserializer: D) -> Result<Option<T>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    T::deserialize(deserializer).map(Some)
}

/// For a required property that may be `null`: unlike a plain `Option`, absence is an error.
pub fn nullable<'de, D, T>(deserializer: D) -> Result<Option<T>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<T>::deserialize(deserializer)
}

/// A JSON integer: any number without a fractional part, as JSON Schema's `integer` (so `3.0`
/// is one). It keeps the number as written.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
#[serde(transparent)]
pub struct Integer(Number);

impl Integer {
    /// The number, as written.
    pub fn number(&self) -> &Number {
        &self.0
    }

    /// The value, if it fits an `i64`.
    pub fn as_i64(&self) -> Option<i64> {
        self.0.as_i64().or_else(|| {
            self.0
                .as_f64()
                .filter(|f| (-9.2e18..9.2e18).contains(f))
                .map(|f| f as i64)
        })
    }

    /// The value as a float (exact up to 2^53).
    pub fn as_f64(&self) -> f64 {
        self.0.as_f64().unwrap_or(f64::NAN)
    }
}

impl TryFrom<Number> for Integer {
    type Error = ConstraintError;
    fn try_from(number: Number) -> Result<Self, ConstraintError> {
        if is_integral(&number) {
            Ok(Self(number))
        } else {
            Err(ConstraintError::new(
                "integer",
                format!("{number} has a fractional part"),
            ))
        }
    }
}

impl From<i64> for Integer {
    fn from(value: i64) -> Self {
        Self(Number::from(value))
    }
}

impl From<u64> for Integer {
    fn from(value: u64) -> Self {
        Self(Number::from(value))
    }
}

impl From<i32> for Integer {
    fn from(value: i32) -> Self {
        Self(Number::from(value))
    }
}

impl From<u32> for Integer {
    fn from(value: u32) -> Self {
        Self(Number::from(value))
    }
}

impl fmt::Display for Integer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl<'de> Deserialize<'de> for Integer {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        Integer::try_from(Number::deserialize(deserializer)?).map_err(de::Error::custom)
    }
}

/// Whether a number has no fractional part.
pub fn is_integral(number: &Number) -> bool {
    number.is_i64()
        || number.is_u64()
        || number
            .as_f64()
            .is_some_and(|f| f.is_finite() && f.fract() == 0.0)
}

/// Checks a string's length in Unicode scalar values, as `minLength`/`maxLength` count.
pub fn check_length(
    type_name: &'static str,
    text: &str,
    min: Option<u64>,
    max: Option<u64>,
) -> Result<(), ConstraintError> {
    let length = text.chars().count() as u64;
    if min.is_some_and(|min| length < min) || max.is_some_and(|max| length > max) {
        let bounds = match (min, max) {
            (Some(min), Some(max)) => format!("between {min} and {max}"),
            (Some(min), None) => format!("at least {min}"),
            (None, Some(max)) => format!("at most {max}"),
            (None, None) => unreachable!("a bound was broken"),
        };
        return Err(ConstraintError::new(
            type_name,
            format!("{length} characters, {bounds} allowed"),
        ));
    }
    Ok(())
}

/// Checks that a string contains a match of a pattern (JSON Schema's `pattern` is not anchored).
pub fn check_pattern(
    type_name: &'static str,
    text: &str,
    pattern: &Regex,
) -> Result<(), ConstraintError> {
    if pattern.is_match(text) {
        Ok(())
    } else {
        Err(ConstraintError::new(
            type_name,
            format!(
                "{:?} does not match {}",
                truncate(text, 60),
                pattern.as_str()
            ),
        ))
    }
}

/// Compiles a pattern the generator has already checked.
pub fn compile_pattern(pattern: &str) -> Regex {
    Regex::new(pattern).expect("the generator only emits patterns that compile")
}

/// Checks an RFC 3339 `date-time`.
pub fn check_date_time(type_name: &'static str, text: &str) -> Result<(), ConstraintError> {
    if is_date_time(text) {
        Ok(())
    } else {
        Err(ConstraintError::new(
            type_name,
            format!("{:?} is not an RFC 3339 date-time", truncate(text, 60)),
        ))
    }
}

/// Checks a hyphenated UUID.
pub fn check_uuid(type_name: &'static str, text: &str) -> Result<(), ConstraintError> {
    if is_uuid(text) {
        Ok(())
    } else {
        Err(ConstraintError::new(
            type_name,
            format!("{:?} is not a hyphenated UUID", truncate(text, 60)),
        ))
    }
}

/// Checks a number against bounds and a divisor, as `minimum`, `maximum`, `exclusiveMinimum`,
/// `exclusiveMaximum` and `multipleOf` do.
pub fn check_number(
    type_name: &'static str,
    number: &Number,
    rules: &NumberRules,
) -> Result<(), ConstraintError> {
    use std::cmp::Ordering::{Greater, Less};
    let broken = |what: String| Err(ConstraintError::new(type_name, format!("{number} {what}")));
    if let Some(min) = rules
        .minimum
        .filter(|min| compare(number, *min) == Some(Less))
    {
        return broken(format!("is less than the minimum {min}"));
    }
    if let Some(max) = rules
        .maximum
        .filter(|max| compare(number, *max) == Some(Greater))
    {
        return broken(format!("is more than the maximum {max}"));
    }
    if let Some(min) = rules
        .exclusive_minimum
        .filter(|min| compare(number, *min) != Some(Greater))
    {
        return broken(format!("is not more than {min}"));
    }
    if let Some(max) = rules
        .exclusive_maximum
        .filter(|max| compare(number, *max) != Some(Less))
    {
        return broken(format!("is not less than {max}"));
    }
    if let Some(divisor) = rules
        .multiple_of
        .filter(|divisor| !is_multiple_of(number, *divisor))
    {
        return broken(format!("is not a multiple of {divisor}"));
    }
    Ok(())
}

/// Compares a number with a bound exactly: integers against integral bounds as integers (an
/// `f64` cannot tell 2^53 from 2^53 + 1), everything else as floats.
fn compare(number: &Number, bound: f64) -> Option<std::cmp::Ordering> {
    let integral_bound = bound.fract() == 0.0 && bound.abs() < 1.7e38;
    if integral_bound {
        let bound = bound as i128;
        if let Some(n) = number.as_i64() {
            return Some(i128::from(n).cmp(&bound));
        }
        if let Some(n) = number.as_u64() {
            return Some(i128::from(n).cmp(&bound));
        }
    }
    number.as_f64()?.partial_cmp(&bound)
}

/// Bounds of a number type.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct NumberRules {
    /// Inclusive lower bound.
    pub minimum: Option<f64>,
    /// Inclusive upper bound.
    pub maximum: Option<f64>,
    /// Exclusive lower bound.
    pub exclusive_minimum: Option<f64>,
    /// Exclusive upper bound.
    pub exclusive_maximum: Option<f64>,
    /// Required divisor.
    pub multiple_of: Option<f64>,
}

/// `multipleOf` as JSON Schema validators read it: integers by integer division; decimals by
/// exact arithmetic on the numbers as written (`0.07` is a multiple of `0.01`, although their
/// binary values are not); out of that range, on the float quotient.
fn is_multiple_of(number: &Number, divisor: f64) -> bool {
    if divisor.fract() == 0.0 && divisor > 0.0 && divisor <= 9_007_199_254_740_992.0 {
        if let Some(n) = number.as_u64() {
            return n % (divisor as u64) == 0;
        }
        if let Some(n) = number.as_i64() {
            return n % (divisor as i64) == 0;
        }
    }
    let Some(value) = number.as_f64() else {
        return false;
    };
    if value == 0.0 {
        return true;
    }
    if value.abs() < divisor {
        return false;
    }
    if let Some(answer) = decimal_divides(value, divisor) {
        return answer;
    }
    let quotient = value / divisor;
    quotient.is_finite() && quotient.fract() == 0.0
}

/// Whether `value / divisor` is an integer, computed on the shortest decimal forms of both
/// (`mantissa × 10^-places`); `None` when they do not fit `i128`.
fn decimal_divides(value: f64, divisor: f64) -> Option<bool> {
    let (value_mantissa, value_places) = decimal_parts(value)?;
    let (divisor_mantissa, divisor_places) = decimal_parts(divisor)?;
    if divisor_mantissa == 0 {
        return None;
    }
    // value / divisor = (value_mantissa × 10^divisor_places) / (divisor_mantissa × 10^value_places)
    let shared = value_places.min(divisor_places);
    let scale = |mantissa: i128, places: i32| {
        mantissa.checked_mul(10_i128.checked_pow(u32::try_from(places - shared).ok()?)?)
    };
    Some(scale(value_mantissa, divisor_places)? % scale(divisor_mantissa, value_places)? == 0)
}

/// The shortest decimal form of a float as an integer mantissa and a number of decimal places
/// (negative for powers of ten).
fn decimal_parts(value: f64) -> Option<(i128, i32)> {
    // `{:e}` prints the shortest representation that reads back as the same float.
    let text = format!("{value:e}");
    let (digits, exponent) = text.split_once('e')?;
    let exponent: i32 = exponent.parse().ok()?;
    let (whole, fraction) = digits.split_once('.').unwrap_or((digits, ""));
    let mantissa: i128 = format!("{whole}{fraction}").parse().ok()?;
    let places = i32::try_from(fraction.len()).ok()? - exponent;
    (places.abs() <= 36).then_some((mantissa, places))
}

/// Checks an array's length.
pub fn check_items(
    type_name: &'static str,
    count: usize,
    min: Option<u64>,
    max: Option<u64>,
) -> Result<(), ConstraintError> {
    let count = count as u64;
    if min.is_some_and(|min| count < min) || max.is_some_and(|max| count > max) {
        return Err(ConstraintError::new(
            type_name,
            format!(
                "{count} items, outside {}..={}",
                min.unwrap_or(0),
                max.map_or("∞".into(), |m| m.to_string())
            ),
        ));
    }
    Ok(())
}

/// Decodes standard base64 (RFC 4648, with padding).
pub fn decode_base64(text: &str) -> Result<Vec<u8>, Base64Error> {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.decode(text)
}

/// Encodes bytes as standard base64 (RFC 4648, with padding).
pub fn encode_base64(bytes: &[u8]) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// RFC 3339 `date-time`: `YYYY-MM-DD` `T` `HH:MM:SS[.frac]` then `Z` or `±HH:MM`; `t` and `z`
/// are accepted in lower case; second 60 only at 23:59 UTC.
pub fn is_date_time(text: &str) -> bool {
    let Some(split) = text.find(['T', 't']) else {
        return false;
    };
    is_full_date(&text[..split]) && is_full_time(&text[split + 1..])
}

fn is_full_date(date: &str) -> bool {
    let bytes = date.as_bytes();
    if bytes.len() != 10 || bytes[4] != b'-' || bytes[7] != b'-' {
        return false;
    }
    let (Some(year), Some(month), Some(day)) = (
        digits(&bytes[0..4]),
        digits(&bytes[5..7]),
        digits(&bytes[8..10]),
    ) else {
        return false;
    };
    let leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
    let days = match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if leap => 29,
        2 => 28,
        _ => return false,
    };
    (1..=days).contains(&day)
}

fn is_full_time(time: &str) -> bool {
    let bytes = time.as_bytes();
    if bytes.len() < 9 || bytes[2] != b':' || bytes[5] != b':' {
        return false;
    }
    let (Some(hour), Some(minute), Some(second)) = (
        digits(&bytes[0..2]),
        digits(&bytes[3..5]),
        digits(&bytes[6..8]),
    ) else {
        return false;
    };
    if hour > 23 || minute > 59 || second > 60 {
        return false;
    }
    let mut i = 8;
    if bytes.get(i) == Some(&b'.') {
        i += 1;
        let start = i;
        while bytes.get(i).is_some_and(u8::is_ascii_digit) {
            i += 1;
        }
        if i == start {
            return false;
        }
    }
    let offset_minutes: i64 = match bytes.get(i) {
        Some(b'Z' | b'z') if i + 1 == bytes.len() => 0,
        Some(sign @ (b'+' | b'-')) if bytes.len() - i == 6 && bytes[i + 3] == b':' => {
            let (Some(h), Some(m)) = (digits(&bytes[i + 1..i + 3]), digits(&bytes[i + 4..i + 6]))
            else {
                return false;
            };
            if h > 23 || m > 59 {
                return false;
            }
            let minutes = (h * 60 + m) as i64;
            if *sign == b'+' { minutes } else { -minutes }
        }
        _ => return false,
    };
    if second == 60 {
        // A leap second happens at 23:59:60 UTC only.
        let utc = ((hour * 60 + minute) as i64 - offset_minutes).rem_euclid(24 * 60);
        return utc == 23 * 60 + 59;
    }
    true
}

fn digits(bytes: &[u8]) -> Option<u32> {
    bytes.iter().try_fold(0u32, |n, b| {
        b.is_ascii_digit().then(|| n * 10 + u32::from(b - b'0'))
    })
}

/// A hyphenated UUID: 8-4-4-4-12 hexadecimal digits, either case.
pub fn is_uuid(text: &str) -> bool {
    let bytes = text.as_bytes();
    bytes.len() == 36
        && bytes.iter().enumerate().all(|(i, b)| match i {
            8 | 13 | 18 | 23 => *b == b'-',
            _ => b.is_ascii_hexdigit(),
        })
}

fn kind_name(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

fn truncate(text: &str, max: usize) -> String {
    match text.char_indices().nth(max) {
        Some((cut, _)) => format!("{}…", &text[..cut]),
        None => text.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn date_times_follow_rfc_3339() {
        for good in [
            "2024-01-01T10:00:00Z",
            "2024-02-29t10:00:00.5z",
            "1990-12-31T23:59:60Z",
            "1990-12-31T15:59:60-08:00",
            "2024-01-01T10:00:00+05:30",
        ] {
            assert!(is_date_time(good), "{good}");
        }
        for bad in [
            "2024-01-01 10:00:00Z",
            "2023-02-29T10:00:00Z",
            "2024-01-01T10:00:00",
            "2024-01-01T24:00:00Z",
            "2024-01-01T10:00:60Z",
            "2024-01-01T10:00:00.Z",
            "2024-01-01T10:00:00+5:30",
            "2025-10-01T20:00:00.000000",
        ] {
            assert!(!is_date_time(bad), "{bad}");
        }
    }

    #[test]
    fn integers_may_be_written_with_a_zero_fraction() {
        let from = |text: &str| serde_json::from_str::<Integer>(text);
        assert!(from("3").is_ok());
        assert!(from("-3").is_ok());
        assert!(from("3.0").is_ok());
        assert!(from("1e20").is_ok());
        assert!(from("3.5").is_err());
        assert!(from("\"3\"").is_err());
        assert_eq!(from("3.0").unwrap().as_i64(), Some(3));
    }

    #[test]
    fn uuids_are_hyphenated() {
        assert!(is_uuid("550e8400-e29b-41d4-a716-446655440000"));
        assert!(is_uuid("550E8400-E29B-41D4-A716-446655440000"));
        assert!(!is_uuid("550e8400e29b41d4a716446655440000"));
        assert!(!is_uuid("session-uuid"));
    }

    #[test]
    fn lookups_follow_json_pointers() {
        let value = serde_json::json!({"a": {"b/c": [10, {"~d": 1}]}, "": 2});
        for pointer in [
            "",
            "/a",
            "/a/b~1c",
            "/a/b~1c/0",
            "/a/b~1c/1/~0d",
            "/",
            "/x",
            "/a/b~1c/01",
            "/a/b~1c/9",
        ] {
            assert_eq!(lookup(&value, pointer), value.pointer(pointer), "{pointer}");
        }
    }

    #[test]
    fn numbers_check_bounds_and_divisors_exactly() {
        let number = |text: &str| serde_json::from_str::<Number>(text).unwrap();
        let rules = |multiple_of| NumberRules {
            multiple_of: Some(multiple_of),
            ..NumberRules::default()
        };
        for (value, divisor, multiple) in [
            ("0.07", 0.01, true),
            ("0.3", 0.1, true),
            ("19.99", 0.01, true),
            ("0.0075", 0.0001, true),
            ("5.35", 2.675, true),
            ("1070468.145", 0.01, false),
            ("7.5", 0.5, true),
            ("7.25", 0.5, false),
            ("12", 4.0, true),
            ("-12", 5.0, false),
            ("0", 0.3, true),
            ("0.1", 0.3, false),
        ] {
            assert_eq!(
                check_number("n", &number(value), &rules(divisor)).is_ok(),
                multiple,
                "{value} multipleOf {divisor}"
            );
        }
        let max = NumberRules {
            maximum: Some(9_007_199_254_740_992.0),
            ..NumberRules::default()
        };
        assert!(check_number("n", &number("9007199254740992"), &max).is_ok());
        assert!(check_number("n", &number("9007199254740993"), &max).is_err());
        let min = NumberRules {
            exclusive_minimum: Some(0.0),
            ..NumberRules::default()
        };
        assert!(check_number("n", &number("0"), &min).is_err());
        assert!(check_number("n", &number("1e-9"), &min).is_ok());
    }

    #[test]
    fn constants_compare_numbers_by_value() {
        assert!(json_equal(&serde_json::json!(1), &serde_json::json!(1.0)));
        assert!(!json_equal(&serde_json::json!("1"), &serde_json::json!(1)));
    }
}
