//! Table-driven decoding of a message into its Kubernetes JSON form.

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine as _;
use serde_json::{Map, Value};

use crate::schema::{self, Kind, MapValue, Message, Scalar, Special};
use crate::special;
use crate::wire::{Reader, WireError, WireValue};

/// Nesting limit for embedded messages (Kubernetes objects nest ~15 deep; CRD schemas more).
pub(crate) const MAX_DEPTH: usize = 100;

/// A decoding failure with the JSON path where it happened (innermost segment first).
#[derive(Debug)]
pub(crate) struct Failure {
    pub reason: String,
    pub path: Vec<&'static str>,
}

impl Failure {
    /// A failure at the current position.
    pub fn new(reason: impl Into<String>) -> Self {
        Failure { reason: reason.into(), path: Vec::new() }
    }

    /// Adds the enclosing field's JSON name.
    pub fn at(mut self, segment: &'static str) -> Self {
        self.path.push(segment);
        self
    }

    /// The dotted path, outermost first.
    pub fn path_string(&self) -> String {
        let mut segs = self.path.clone();
        segs.reverse();
        segs.join(".")
    }
}

impl From<WireError> for Failure {
    fn from(e: WireError) -> Self {
        Failure::new(e.to_string())
    }
}

/// Result of internal decoding steps.
pub(crate) type Res<T> = Result<T, Failure>;

/// The message at `index`, or a failure for a dangling index (not expected: the table is
/// generated with resolved indices).
pub(crate) fn def(index: u16) -> Res<&'static Message> {
    schema::message(index).ok_or_else(|| Failure::new(format!("unknown message index {index}")))
}

/// Decodes `bytes` as `def` into its JSON form.
pub(crate) fn message(def: &'static Message, bytes: &[u8], depth: usize) -> Res<Value> {
    if depth > MAX_DEPTH {
        return Err(Failure::new(format!("messages nested deeper than {MAX_DEPTH} levels")));
    }
    match def.special {
        Special::None => object(def, bytes, depth).map(Value::Object),
        special => special::convert(def, special, bytes, depth),
    }
}

/// A plain message: an object of its present fields (zero scalars dropped unless kept).
fn object(def: &'static Message, bytes: &[u8], depth: usize) -> Res<Map<String, Value>> {
    let mut out = Map::new();
    let mut reader = Reader::new(bytes);
    while let Some((tag, value)) = reader.field()? {
        let Some(field) = def.field(tag) else {
            continue; // unknown field: skipped, like proto2 decoders do
        };
        apply(field, value, &mut out, depth).map_err(|e| e.at(field.json))?;
    }
    Ok(out)
}

fn wrong_type(expected: &str, got: &WireValue<'_>) -> Failure {
    Failure::new(format!("expected {expected} but found a {} value", got.type_name()))
}

fn apply(field: &'static schema::Field, value: WireValue<'_>, out: &mut Map<String, Value>, depth: usize) -> Res<()> {
    let key = field.json;
    match field.kind {
        Kind::Map(key_type, value_type) => {
            let WireValue::Len(entry) = value else {
                return Err(wrong_type("a map entry", &value));
            };
            let (k, v) = map_entry(key_type, value_type, entry, depth)?;
            let slot = out.entry(key).or_insert_with(|| Value::Object(Map::new()));
            if !slot.is_object() {
                *slot = Value::Object(Map::new());
            }
            if let Value::Object(map) = slot {
                map.insert(k, v);
            }
        }
        Kind::Message(index) => {
            let WireValue::Len(bytes) = value else {
                return Err(wrong_type("an embedded message", &value));
            };
            let v = message(def(index)?, bytes, depth + 1)?;
            if field.inline {
                if let Value::Object(fields) = v {
                    out.extend(fields);
                }
            } else if field.repeated {
                push(out, key, v);
            } else if v.is_null() && !field.keep_zero {
                out.remove(key);
            } else {
                match (out.get_mut(key), v) {
                    // A repeated singular message merges into the earlier one.
                    (Some(Value::Object(old)), Value::Object(new)) => old.extend(new),
                    (_, v) => {
                        out.insert(key.to_string(), v);
                    }
                }
            }
        }
        Kind::Scalar(scalar_type) => {
            if field.repeated {
                match (value, packed_width(scalar_type)) {
                    (WireValue::Len(bytes), Some(width)) => {
                        let mut reader = Reader::new(bytes);
                        while !reader.is_empty() {
                            let element = match width {
                                Width::Varint => WireValue::Varint(reader.varint()?),
                                Width::Fixed32 => WireValue::Fixed32(reader.fixed32()?),
                                Width::Fixed64 => WireValue::Fixed64(reader.fixed64()?),
                            };
                            push(out, key, scalar(scalar_type, element)?);
                        }
                    }
                    (value, _) => push(out, key, scalar(scalar_type, value)?),
                }
            } else {
                let v = scalar(scalar_type, value)?;
                if is_zero(&v) && !field.keep_zero {
                    out.remove(key);
                } else {
                    out.insert(key.to_string(), v);
                }
            }
        }
    }
    Ok(())
}

fn push(out: &mut Map<String, Value>, key: &str, v: Value) {
    let slot = out.entry(key).or_insert_with(|| Value::Array(Vec::new()));
    if !slot.is_array() {
        *slot = Value::Array(Vec::new());
    }
    if let Value::Array(items) = slot {
        items.push(v);
    }
}

enum Width {
    Varint,
    Fixed32,
    Fixed64,
}

fn packed_width(s: Scalar) -> Option<Width> {
    use Scalar::*;
    match s {
        String | Bytes => None,
        Bool | Int32 | Int64 | Uint32 | Uint64 | Sint32 | Sint64 => Some(Width::Varint),
        Fixed32 | Sfixed32 | Float => Some(Width::Fixed32),
        Fixed64 | Sfixed64 | Double => Some(Width::Fixed64),
    }
}

/// Whether a decoded scalar is its type's zero value.
fn is_zero(v: &Value) -> bool {
    match v {
        Value::Null => true,
        Value::Bool(b) => !b,
        Value::Number(n) => n.as_f64() == Some(0.0),
        Value::String(s) => s.is_empty(),
        Value::Array(_) | Value::Object(_) => false,
    }
}

/// The zero value of a scalar type (a map entry without a key or value).
fn zero(s: Scalar) -> Value {
    match s {
        Scalar::String | Scalar::Bytes => Value::String(String::new()),
        Scalar::Bool => Value::Bool(false),
        _ => Value::from(0),
    }
}

fn map_entry(key_type: Scalar, value_type: MapValue, bytes: &[u8], depth: usize) -> Res<(String, Value)> {
    let mut key = None;
    let mut value = None;
    let mut reader = Reader::new(bytes);
    while let Some((tag, wv)) = reader.field()? {
        match tag {
            1 => key = Some(scalar(key_type, wv)?),
            2 => {
                value = Some(match value_type {
                    MapValue::Scalar(s) => scalar(s, wv)?,
                    MapValue::Message(index) => {
                        let WireValue::Len(b) = wv else {
                            return Err(wrong_type("an embedded message", &wv));
                        };
                        message(def(index)?, b, depth + 1)?
                    }
                })
            }
            _ => {}
        }
    }
    let key = match key.unwrap_or_else(|| zero(key_type)) {
        Value::String(s) => s,
        other => other.to_string(),
    };
    let value = match (value, value_type) {
        (Some(v), _) => v,
        (None, MapValue::Scalar(s)) => zero(s),
        (None, MapValue::Message(index)) => message(def(index)?, &[], depth + 1)?,
    };
    Ok((key, value))
}

fn float(f: f64) -> Res<Value> {
    serde_json::Number::from_f64(f).map(Value::Number).ok_or_else(|| Failure::new("non-finite floating point value"))
}

/// Converts one scalar value (two's-complement truncation for 32-bit types, as protobuf does).
pub(crate) fn scalar(s: Scalar, v: WireValue<'_>) -> Res<Value> {
    use WireValue::{Fixed32, Fixed64, Len, Varint};
    Ok(match (s, v) {
        (Scalar::String, Len(b)) => {
            Value::String(std::str::from_utf8(b).map_err(|_| Failure::new("string is not valid UTF-8"))?.to_owned())
        }
        (Scalar::Bytes, Len(b)) => Value::String(BASE64.encode(b)),
        (Scalar::Bool, Varint(x)) => Value::Bool(x != 0),
        (Scalar::Int32, Varint(x)) => Value::from(x as i32),
        (Scalar::Int64, Varint(x)) => Value::from(x as i64),
        (Scalar::Uint32, Varint(x)) => Value::from(x as u32),
        (Scalar::Uint64, Varint(x)) => Value::from(x),
        (Scalar::Sint32, Varint(x)) => {
            let x = x as u32;
            Value::from(((x >> 1) as i32) ^ -((x & 1) as i32))
        }
        (Scalar::Sint64, Varint(x)) => Value::from(((x >> 1) as i64) ^ -((x & 1) as i64)),
        (Scalar::Fixed32, Fixed32(x)) => Value::from(x),
        (Scalar::Sfixed32, Fixed32(x)) => Value::from(x as i32),
        (Scalar::Float, Fixed32(x)) => float(f64::from(f32::from_bits(x)))?,
        (Scalar::Fixed64, Fixed64(x)) => Value::from(x),
        (Scalar::Sfixed64, Fixed64(x)) => Value::from(x as i64),
        (Scalar::Double, Fixed64(x)) => float(f64::from_bits(x))?,
        (s, v) => return Err(wrong_type(&format!("a {s:?} value"), &v)),
    })
}
