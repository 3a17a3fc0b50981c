//! Label and field selectors, with the syntax, validation, error messages and matching rules of
//! kube-apiserver.
//!
//! * [`LabelSelector`]: `k8s.io/apimachinery/pkg/labels` (`labels.Parse`) and
//!   `metav1.LabelSelectorAsSelector` for `metav1.LabelSelector` objects.
//! * [`FieldSelector`]: `k8s.io/apimachinery/pkg/fields` (`fields.ParseSelector`), the per-kind field
//!   label conversion funcs registered by kube-apiserver (`pkg/apis/*/v1/conversion.go`) and the
//!   per-kind selectable fields (`pkg/registry/*/strategy.go` `ToSelectableFields`).
//!
//! Both are parsed once and matched without allocating (except field values that Kubernetes
//! renders from numbers).

mod field;
mod label;
mod label_parse;
mod names;

pub use field::{FieldSelector, FieldTerm};
pub use label::{LabelSelector, Labels, Operator, Requirement};

/// Quotes a string as Go's `%q` does for the common cases (ASCII escapes, `\xNN` for other
/// control characters, printable Unicode kept as is).
pub(crate) fn go_quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            '\u{7}' => out.push_str("\\a"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            '\u{b}' => out.push_str("\\v"),
            c if (c as u32) < 0x20 || c as u32 == 0x7f => {
                out.push_str(&format!("\\x{:02x}", c as u32));
            }
            c if c.is_control() => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use super::go_quote;

    #[test]
    fn go_quote_escapes_like_go() {
        assert_eq!(go_quote("a\"b\\c"), r#""a\"b\\c""#);
        assert_eq!(go_quote("x\ny\u{1}"), r#""x\ny\x01""#);
        assert_eq!(go_quote("é"), "\"é\"");
    }
}
