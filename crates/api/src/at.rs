//! JSON pointers into `serde_json::Value`s without allocating: serde_json's `Value::pointer`
//! copies every segment into a new String to unescape it, which made its lookups a visible
//! part of every Pod write.

use serde_json::Value;

/// `value.at("/metadata/name")`: what `Value::pointer` finds, without allocating.
pub trait At {
    fn at(&self, pointer: &str) -> Option<&Value>;
}

impl At for Value {
    fn at(&self, pointer: &str) -> Option<&Value> {
        if pointer.contains('~') {
            return self.pointer(pointer);
        }
        if pointer.is_empty() {
            return Some(self);
        }
        pointer.strip_prefix('/')?.split('/').try_fold(self, |cur, seg| match cur {
            Value::Object(map) => map.get(seg),
            Value::Array(items) => index(seg).and_then(|i| items.get(i)),
            _ => None,
        })
    }
}

/// An array index as RFC 6901 (and serde_json) reads one: digits, no `+`, no leading zero.
fn index(seg: &str) -> Option<usize> {
    if seg.starts_with('+') || (seg.starts_with('0') && seg.len() > 1) {
        return None;
    }
    seg.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::At;
    use serde_json::json;

    #[test]
    fn finds_what_pointer_finds() {
        let v = json!({"metadata": {"name": "a", "a/b": 1, "m~n": 2, "": 3},
                       "items": [{"x": 1}, {"x": 2}], "n": null});
        for p in [
            "",
            "/",
            "/metadata",
            "/metadata/name",
            "/metadata/name/x",
            "/metadata/a~1b",
            "/metadata/m~0n",
            "/metadata/",
            "/items/0/x",
            "/items/1",
            "/items/2",
            "/items/01",
            "/items/+1",
            "/items/-1",
            "/items/x",
            "/n",
            "/n/x",
            "metadata",
            "/missing/deeper",
        ] {
            assert_eq!(v.at(p), v.pointer(p), "{p}");
        }
    }
}
