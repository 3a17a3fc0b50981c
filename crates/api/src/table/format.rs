//! Cell formatting shared by the printers: `duration.HumanDuration`, `translateTimestampSince`,
//! label and selector formatting, container cells, and tolerant JSON accessors.

use chrono::{DateTime, TimeDelta, Utc};
use serde_json::{Map, Value};

use crate::selector::LabelSelector;

/// `duration.HumanDuration` (k8s.io/apimachinery/pkg/util/duration): a succinct duration with
/// about 2–3 significant figures (`45s`, `5m3s`, `3h20m`, `2d`, `3y120d`), `0s` for up to 2 s in
/// the future and `<invalid>` beyond.
pub fn human_duration(d: TimeDelta) -> String {
    // Go: int(d.Seconds()) truncates toward zero; chrono's num_seconds does too.
    let seconds = d.num_seconds();
    if seconds < -1 {
        return "<invalid>".to_string();
    } else if seconds < 0 {
        return "0s".to_string();
    } else if seconds < 60 * 2 {
        return format!("{seconds}s");
    }
    let minutes = seconds / 60;
    if minutes < 10 {
        let s = seconds % 60;
        if s == 0 {
            return format!("{minutes}m");
        }
        return format!("{minutes}m{s}s");
    } else if minutes < 60 * 3 {
        return format!("{minutes}m");
    }
    let hours = seconds / 3600;
    if hours < 8 {
        let m = minutes % 60;
        if m == 0 {
            return format!("{hours}h");
        }
        format!("{hours}h{m}m")
    } else if hours < 48 {
        format!("{hours}h")
    } else if hours < 24 * 8 {
        let h = hours % 24;
        if h == 0 {
            return format!("{}d", hours / 24);
        }
        format!("{}d{h}h", hours / 24)
    } else if hours < 24 * 365 * 2 {
        format!("{}d", hours / 24)
    } else if hours < 24 * 365 * 8 {
        let dy = (hours / 24) % 365;
        if dy == 0 {
            return format!("{}y", hours / 24 / 365);
        }
        format!("{}y{dy}d", hours / 24 / 365)
    } else {
        format!("{}y", hours / 24 / 365)
    }
}

/// `translateTimestampSince`: `<unknown>` for a zero/absent time, else the human duration since.
pub fn translate_timestamp_since(ts: Option<DateTime<Utc>>, now: DateTime<Utc>) -> String {
    match ts {
        Some(t) => human_duration(now.signed_duration_since(t)),
        None => "<unknown>".to_string(),
    }
}

/// The value at a dotted path.
pub(crate) fn at<'a>(obj: &'a Value, path: &[&str]) -> Option<&'a Value> {
    let mut v = obj;
    for p in path {
        v = v.get(p)?;
    }
    Some(v)
}

/// String at a path, `""` when absent or not a string.
pub(crate) fn str_at<'a>(obj: &'a Value, path: &[&str]) -> &'a str {
    at(obj, path).and_then(Value::as_str).unwrap_or("")
}

/// Integer at a path, 0 when absent (Go zero value).
pub(crate) fn int_at(obj: &Value, path: &[&str]) -> i64 {
    at(obj, path).and_then(Value::as_i64).unwrap_or(0)
}

/// Integer at a path, `None` when absent or null (a Go pointer).
pub(crate) fn opt_int_at(obj: &Value, path: &[&str]) -> Option<i64> {
    at(obj, path).and_then(Value::as_i64)
}

/// Array at a path, empty when absent.
pub(crate) fn arr_at<'a>(obj: &'a Value, path: &[&str]) -> &'a [Value] {
    at(obj, path).and_then(Value::as_array).map(Vec::as_slice).unwrap_or(&[])
}

/// Map at a path.
pub(crate) fn map_at<'a>(obj: &'a Value, path: &[&str]) -> Option<&'a Map<String, Value>> {
    at(obj, path).and_then(Value::as_object)
}

/// Number of entries of a map at a path (0 when absent).
pub(crate) fn map_len(obj: &Value, path: &[&str]) -> usize {
    map_at(obj, path).map_or(0, Map::len)
}

/// Whether a Go pointer/struct field is set (present and not null).
pub(crate) fn is_set(obj: &Value, path: &[&str]) -> bool {
    at(obj, path).is_some_and(|v| !v.is_null())
}

/// `metadata.name`.
pub(crate) fn name(obj: &Value) -> &str {
    str_at(obj, &["metadata", "name"])
}

/// A `metav1.Time`/`MicroTime` at a path; `None` for absent, null, unparsable or the zero time.
pub(crate) fn time_at(obj: &Value, path: &[&str]) -> Option<DateTime<Utc>> {
    let s = at(obj, path)?.as_str()?;
    let t = DateTime::parse_from_rfc3339(s).ok()?.with_timezone(&Utc);
    // Go's zero time (0001-01-01T00:00:00Z) counts as unset.
    (t.timestamp() != -62_135_596_800 || t.timestamp_subsec_nanos() != 0).then_some(t)
}

/// The Age cell: `translateTimestampSince(metadata.creationTimestamp)`.
pub(crate) fn age(obj: &Value, now: DateTime<Utc>) -> String {
    translate_timestamp_since(time_at(obj, &["metadata", "creationTimestamp"]), now)
}

/// `labels.FormatLabels`: `k=v` sorted and comma-joined, `<none>` when empty.
pub(crate) fn format_labels(map: Option<&Map<String, Value>>) -> String {
    let mut pairs: Vec<String> =
        map.into_iter().flatten().map(|(k, v)| format!("{k}={}", v.as_str().unwrap_or_default())).collect();
    if pairs.is_empty() {
        return "<none>".to_string();
    }
    pairs.sort_unstable();
    pairs.join(",")
}

/// `metav1.FormatLabelSelector`: `<error>` for an invalid selector, `<none>` for an empty one.
pub(crate) fn format_label_selector(selector: Option<&Value>) -> String {
    match LabelSelector::from_label_selector(selector.unwrap_or(&Value::Null)) {
        Err(_) => "<error>".to_string(),
        Ok(s) => {
            let s = s.to_string();
            if s.is_empty() {
                "<none>".to_string()
            } else {
                s
            }
        }
    }
}

/// `metav1.LabelSelectorAsSelector(...).String()` as the deployment printer uses it: `""` for a
/// nil selector, `<invalid>` on error.
pub(crate) fn selector_string(selector: Option<&Value>) -> String {
    match LabelSelector::from_label_selector(selector.unwrap_or(&Value::Null)) {
        Err(_) => "<invalid>".to_string(),
        Ok(s) => s.to_string(),
    }
}

/// `layoutContainerCells`: container names and images, comma-joined.
pub(crate) fn layout_container_cells(containers: &[Value]) -> (String, String) {
    let mut names = Vec::with_capacity(containers.len());
    let mut images = Vec::with_capacity(containers.len());
    for c in containers {
        names.push(str_at(c, &["name"]));
        images.push(str_at(c, &["image"]));
    }
    (names.join(","), images.join(","))
}

/// Go's `net.JoinHostPort`.
pub(crate) fn join_host_port(host: &str, port: i64) -> String {
    if host.contains(':') {
        format!("[{host}]:{port}")
    } else {
        format!("{host}:{port}")
    }
}

/// `firstNonEmpty`.
pub(crate) fn first_non_empty<'a>(a: &'a str, b: &'a str) -> &'a str {
    if a.is_empty() {
        b
    } else {
        a
    }
}
