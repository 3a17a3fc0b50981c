//! Messages with non-object JSON forms: times, durations, quantities, int-or-strings, embedded
//! JSON, string lists and the apiextensions schema unions. Fields are found by their prost names
//! in the generated table (the generator checks they exist), so tags still come from k8s-pb.

use serde_json::Value;

use crate::decode::{self, Failure, Res};
use crate::schema::{Kind, Message, Special};
use crate::wire::{self, WireValue};

/// Seconds of Go's zero `time.Time` (0001-01-01T00:00:00Z), which marshals as JSON `null`.
const GO_ZERO_TIME: i64 = -62_135_596_800;

/// The decoded fields of a small special message.
struct Fields<'a> {
    def: &'static Message,
    values: Vec<(u32, WireValue<'a>)>,
}

impl<'a> Fields<'a> {
    fn new(def: &'static Message, bytes: &'a [u8]) -> Res<Self> {
        Ok(Fields { def, values: wire::fields(bytes)? })
    }

    fn field(&self, name: &str) -> Res<&'static crate::schema::Field> {
        self.def.named(name).ok_or_else(|| Failure::new(format!("{} has no field {name}", self.def.name)))
    }

    /// Every value of the named field, in order.
    fn all(&self, name: &str) -> Res<Vec<WireValue<'a>>> {
        let tag = self.field(name)?.tag;
        Ok(self.values.iter().filter(|(t, _)| *t == tag).map(|(_, v)| *v).collect())
    }

    /// The last value of a singular scalar field, converted.
    fn scalar(&self, name: &str) -> Res<Option<Value>> {
        let field = self.field(name)?;
        let Kind::Scalar(s) = field.kind else {
            return Err(Failure::new(format!("{}.{name} is not a scalar", self.def.name)));
        };
        match self.all(name)?.pop() {
            Some(v) => decode::scalar(s, v).map(Some).map_err(|e| e.at(field.json)),
            None => Ok(None),
        }
    }

    fn int(&self, name: &str) -> Res<Option<i64>> {
        Ok(self.scalar(name)?.and_then(|v| v.as_i64()))
    }

    fn bytes(&self, name: &str) -> Res<Option<&'a [u8]>> {
        match self.all(name)?.pop() {
            Some(WireValue::Len(b)) => Ok(Some(b)),
            Some(_) => Err(Failure::new(format!("{name}: expected bytes"))),
            None => Ok(None),
        }
    }

    /// Every value of a message-typed field, decoded.
    fn messages(&self, name: &str, depth: usize) -> Res<Vec<Value>> {
        let field = self.field(name)?;
        let Kind::Message(index) = field.kind else {
            return Err(Failure::new(format!("{}.{name} is not a message", self.def.name)));
        };
        let def = decode::def(index)?;
        self.all(name)?
            .into_iter()
            .map(|v| match v {
                WireValue::Len(b) => decode::message(def, b, depth + 1),
                _ => Err(Failure::new("expected an embedded message")),
            })
            .map(|r| r.map_err(|e| e.at(field.json)))
            .collect()
    }

    fn strings(&self, name: &str) -> Res<Vec<Value>> {
        self.all(name)?.into_iter().map(|v| decode::scalar(crate::schema::Scalar::String, v)).collect()
    }
}

/// Converts a special message to its JSON form (`Null` for Go zero/nil values).
pub(crate) fn convert(def: &'static Message, special: Special, bytes: &[u8], depth: usize) -> Res<Value> {
    let f = Fields::new(def, bytes)?;
    match special {
        Special::None => Err(Failure::new("not a special message")),
        Special::Time | Special::MicroTime => {
            let seconds = f.int("seconds")?;
            let nanos = f.int("nanos")?.unwrap_or(0);
            match seconds {
                None if nanos == 0 => Ok(Value::Null),
                Some(GO_ZERO_TIME) if nanos == 0 => Ok(Value::Null),
                seconds => rfc3339(seconds.unwrap_or(0), nanos, special == Special::MicroTime).map(Value::String),
            }
        }
        Special::Duration => Ok(Value::String(go_duration(f.int("duration")?.unwrap_or(0)))),
        Special::Quantity => Ok(f
            .scalar("string")?
            .filter(|v| v.as_str().is_some_and(|s| !s.is_empty()))
            .unwrap_or_else(|| Value::String("0".into()))),
        Special::IntOrString => match f.int("type")?.unwrap_or(0) {
            0 => Ok(Value::from(f.int("int_val")?.unwrap_or(0))),
            1 => Ok(f.scalar("str_val")?.unwrap_or_else(|| Value::String(String::new()))),
            t => Err(Failure::new(format!("IntOrString has unknown type {t}"))),
        },
        Special::RawJson => match f.bytes("raw")? {
            None | Some([]) => Ok(Value::Null),
            Some(raw) if raw.starts_with(crate::MAGIC) => {
                crate::envelope(raw, depth + 1).map_err(|e| Failure::new(format!("embedded object: {e}")))
            }
            Some(raw) => {
                serde_json::from_slice(raw).map_err(|e| Failure::new(format!("embedded JSON is invalid: {e}")))
            }
        },
        Special::StringList => Ok(Value::Array(f.strings("items")?)),
        Special::SchemaOrArray => {
            let items = f.messages("j_son_schemas", depth)?;
            if !items.is_empty() {
                return Ok(Value::Array(items));
            }
            Ok(f.messages("schema", depth)?.pop().unwrap_or(Value::Null))
        }
        Special::SchemaOrBool => match f.messages("schema", depth)?.pop() {
            Some(schema) => Ok(schema),
            None => Ok(Value::Bool(f.scalar("allows")?.and_then(|v| v.as_bool()).unwrap_or(false))),
        },
        Special::SchemaOrStringArray => {
            let property = f.strings("property")?;
            if !property.is_empty() {
                return Ok(Value::Array(property));
            }
            Ok(f.messages("schema", depth)?.pop().unwrap_or(Value::Null))
        }
    }
}

/// Formats a Unix time like Go's `time.RFC3339` (`2024-01-01T00:00:00Z`) or, with `micro`,
/// `metav1.RFC3339Micro` (`2024-01-01T00:00:00.000000Z`), in UTC. Years outside 0..=9999 fail.
pub(crate) fn rfc3339(seconds: i64, nanos: i64, micro: bool) -> Res<String> {
    let seconds =
        seconds.checked_add(nanos.div_euclid(1_000_000_000)).ok_or_else(|| Failure::new("time out of range"))?;
    let nanos = nanos.rem_euclid(1_000_000_000);
    // 0000-01-01T00:00:00Z ..= 9999-12-31T23:59:59Z
    if !(-62_167_219_200..=253_402_300_799).contains(&seconds) {
        return Err(Failure::new(format!("time {seconds}s is out of range")));
    }
    let days = seconds.div_euclid(86_400);
    let secs = seconds.rem_euclid(86_400);
    let (y, m, d) = civil_from_days(days);
    let (hh, mm, ss) = (secs / 3600, secs / 60 % 60, secs % 60);
    Ok(if micro {
        format!("{y:04}-{m:02}-{d:02}T{hh:02}:{mm:02}:{ss:02}.{:06}Z", nanos / 1000)
    } else {
        format!("{y:04}-{m:02}-{d:02}T{hh:02}:{mm:02}:{ss:02}Z")
    })
}

/// Days since 1970-01-01 → (year, month, day), proleptic Gregorian (H. Hinnant's algorithm).
fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

/// Go's `time.Duration.String()`: `1h0m0s`, `1.5s`, `300ms`, `2µs`, `0s`.
pub(crate) fn go_duration(d: i64) -> String {
    if d == 0 {
        return "0s".into();
    }
    let sign = if d < 0 { "-" } else { "" };
    let u = d.unsigned_abs();
    if u < 1_000 {
        return format!("{sign}{u}ns");
    }
    if u < 1_000_000_000 {
        let (scale, unit) = if u < 1_000_000 { (1_000, "µs") } else { (1_000_000, "ms") };
        return format!("{sign}{}{unit}", frac(u, scale));
    }
    let secs = u / 1_000_000_000;
    let (h, m, s) = (secs / 3600, secs / 60 % 60, secs % 60);
    let seconds = frac(s * 1_000_000_000 + u % 1_000_000_000, 1_000_000_000);
    match (h, m) {
        (0, 0) => format!("{sign}{seconds}s"),
        (0, m) => format!("{sign}{m}m{seconds}s"),
        (h, m) => format!("{sign}{h}h{m}m{seconds}s"),
    }
}

/// `u / scale` with the remainder as trimmed decimal digits (`1500, 1000` → `1.5`).
fn frac(u: u64, scale: u64) -> String {
    let whole = u / scale;
    let rem = u % scale;
    if rem == 0 {
        return whole.to_string();
    }
    let width = scale.ilog10() as usize;
    let digits = format!("{rem:0width$}");
    format!("{whole}.{}", digits.trim_end_matches('0'))
}
