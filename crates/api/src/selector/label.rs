//! Label selectors: a port of `k8s.io/apimachinery/pkg/labels/selector.go` (lexer, parser,
//! `NewRequirement` validation, matching and `String()`), plus `metav1.LabelSelectorAsSelector`.

use std::collections::{BTreeMap, HashMap};
use std::fmt;

use serde_json::Value;

use super::go_quote;
use super::label_parse::parse;
use super::names::{aggregate, go_string_slice, label_value_errors, validate_label_key};
use crate::status::ApiError;

/// A selector operator (`selection.Operator`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Operator {
    /// `key=value`.
    Equals,
    /// `key==value`.
    DoubleEquals,
    /// `key!=value` (also true when the key is absent).
    NotEquals,
    /// `key in (a,b)`.
    In,
    /// `key notin (a,b)` (also true when the key is absent).
    NotIn,
    /// `key`.
    Exists,
    /// `!key`.
    DoesNotExist,
    /// `key>5` (integer comparison).
    GreaterThan,
    /// `key<5` (integer comparison).
    LessThan,
}

impl Operator {
    /// The Go spelling of the operator (`selection.Operator` string value).
    pub fn as_str(self) -> &'static str {
        match self {
            Operator::Equals => "=",
            Operator::DoubleEquals => "==",
            Operator::NotEquals => "!=",
            Operator::In => "in",
            Operator::NotIn => "notin",
            Operator::Exists => "exists",
            Operator::DoesNotExist => "!",
            Operator::GreaterThan => "gt",
            Operator::LessThan => "lt",
        }
    }
}

/// A set of labels a selector can be matched against.
pub trait Labels {
    /// The value of the label `key`, if present.
    fn label(&self, key: &str) -> Option<&str>;
}

impl Labels for serde_json::Map<String, Value> {
    fn label(&self, key: &str) -> Option<&str> {
        self.get(key).and_then(Value::as_str)
    }
}

impl Labels for BTreeMap<String, String> {
    fn label(&self, key: &str) -> Option<&str> {
        self.get(key).map(String::as_str)
    }
}

impl<S: std::hash::BuildHasher> Labels for HashMap<String, String, S> {
    fn label(&self, key: &str) -> Option<&str> {
        self.get(key).map(String::as_str)
    }
}

impl Labels for [(&str, &str)] {
    fn label(&self, key: &str) -> Option<&str> {
        self.iter().find(|(k, _)| *k == key).map(|(_, v)| *v)
    }
}

/// One requirement of a label selector (`labels.Requirement`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Requirement {
    key: String,
    op: Operator,
    values: Vec<String>,
}

impl Requirement {
    /// `labels.NewRequirement`: validates the key, the values and their number for the operator.
    /// Errors use Kubernetes' field paths from a nil root: `key`, `values`, `values[0][k]`.
    pub(super) fn new(key: &str, op: Operator, values: Vec<String>) -> Result<Requirement, String> {
        let mut errs: Vec<String> = Vec::new();
        if let Some(e) = validate_label_key(key, "key") {
            errs.push(e);
        }
        match op {
            Operator::In | Operator::NotIn => {
                if values.is_empty() {
                    errs.push(format!(
                        "values: Invalid value: {}: for 'in', 'notin' operators, values set can't be empty",
                        go_string_slice(&values)
                    ));
                }
            }
            Operator::Equals | Operator::DoubleEquals | Operator::NotEquals => {
                if values.len() != 1 {
                    errs.push(format!(
                        "values: Invalid value: {}: exact-match compatibility requires one single value",
                        go_string_slice(&values)
                    ));
                }
            }
            Operator::Exists | Operator::DoesNotExist => {
                if !values.is_empty() {
                    errs.push(format!(
                        "values: Invalid value: {}: values set must be empty for exists and does not exist",
                        go_string_slice(&values)
                    ));
                }
            }
            Operator::GreaterThan | Operator::LessThan => {
                if values.len() != 1 {
                    errs.push(format!(
                        "values: Invalid value: {}: for 'Gt', 'Lt' operators, exactly one value is required",
                        go_string_slice(&values)
                    ));
                }
                for (i, v) in values.iter().enumerate() {
                    if v.parse::<i64>().is_err() {
                        errs.push(format!(
                            "values[{i}]: Invalid value: {}: for 'Gt', 'Lt' operators, the value must be an integer",
                            go_quote(v)
                        ));
                    }
                }
            }
        }
        for (i, v) in values.iter().enumerate() {
            let msgs = label_value_errors(v);
            if !msgs.is_empty() {
                errs.push(format!("values[{i}][{key}]: Invalid value: {}: {}", go_quote(v), msgs.join("; ")));
            }
        }
        if errs.is_empty() {
            Ok(Requirement { key: key.to_string(), op, values })
        } else {
            Err(aggregate(errs))
        }
    }

    /// The label key.
    pub fn key(&self) -> &str {
        &self.key
    }

    /// The operator.
    pub fn operator(&self) -> Operator {
        self.op
    }

    /// The values (sorted and de-duplicated when parsed from a string).
    pub fn values(&self) -> &[String] {
        &self.values
    }

    fn has_value(&self, v: &str) -> bool {
        self.values.iter().any(|x| x == v)
    }

    /// `Requirement.Matches`.
    pub fn matches<L: Labels + ?Sized>(&self, labels: &L) -> bool {
        match self.op {
            Operator::In | Operator::Equals | Operator::DoubleEquals => {
                labels.label(&self.key).is_some_and(|v| self.has_value(v))
            }
            Operator::NotIn | Operator::NotEquals => labels.label(&self.key).is_none_or(|v| !self.has_value(v)),
            Operator::Exists => labels.label(&self.key).is_some(),
            Operator::DoesNotExist => labels.label(&self.key).is_none(),
            Operator::GreaterThan | Operator::LessThan => {
                let Some(Ok(have)) = labels.label(&self.key).map(str::parse::<i64>) else {
                    return false;
                };
                let [want] = self.values.as_slice() else {
                    return false;
                };
                let Ok(want) = want.parse::<i64>() else {
                    return false;
                };
                if self.op == Operator::GreaterThan {
                    have > want
                } else {
                    have < want
                }
            }
        }
    }
}

impl fmt::Display for Requirement {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.op == Operator::DoesNotExist {
            f.write_str("!")?;
        }
        f.write_str(&self.key)?;
        let op = match self.op {
            Operator::Equals => "=",
            Operator::DoubleEquals => "==",
            Operator::NotEquals => "!=",
            Operator::In => " in ",
            Operator::NotIn => " notin ",
            Operator::GreaterThan => ">",
            Operator::LessThan => "<",
            Operator::Exists | Operator::DoesNotExist => return Ok(()),
        };
        f.write_str(op)?;
        let set = matches!(self.op, Operator::In | Operator::NotIn);
        if set {
            f.write_str("(")?;
        }
        if self.values.windows(2).all(|w| w[0] <= w[1]) {
            f.write_str(&self.values.join(","))?;
        } else {
            let mut sorted: Vec<&str> = self.values.iter().map(String::as_str).collect();
            sorted.sort_unstable();
            f.write_str(&sorted.join(","))?;
        }
        if set {
            f.write_str(")")?;
        }
        Ok(())
    }
}

/// A parsed label selector: an AND of requirements, sorted by key.
///
/// The empty selector matches everything; [`LabelSelector::nothing`] (a nil `metav1.LabelSelector`)
/// matches nothing.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct LabelSelector {
    requirements: Vec<Requirement>,
    nothing: bool,
}

impl LabelSelector {
    /// The selector matching every object.
    pub fn everything() -> Self {
        LabelSelector::default()
    }

    /// A selector from requirements, sorted by key as Kubernetes does.
    pub(super) fn from_requirements(mut requirements: Vec<Requirement>) -> Self {
        requirements.sort_by(|a, b| a.key.cmp(&b.key));
        LabelSelector { requirements, nothing: false }
    }

    /// The selector matching no object (`labels.Nothing()`).
    pub fn nothing() -> Self {
        LabelSelector { requirements: Vec::new(), nothing: true }
    }

    /// Parses the `labelSelector` query syntax exactly as `labels.Parse` does; errors are
    /// 400 BadRequest with Kubernetes' messages.
    pub fn parse(selector: &str) -> Result<LabelSelector, ApiError> {
        parse(selector).map_err(ApiError::bad_request)
    }

    /// Builds a selector from a `metav1.LabelSelector` JSON object (`matchLabels` and
    /// `matchExpressions` with `In`, `NotIn`, `Exists`, `DoesNotExist`), as
    /// `metav1.LabelSelectorAsSelector`: `null`/absent gives [`LabelSelector::nothing`], `{}` gives
    /// [`LabelSelector::everything`].
    pub fn from_label_selector(value: &Value) -> Result<LabelSelector, ApiError> {
        from_label_selector(value).map_err(ApiError::bad_request)
    }

    /// The selector of a typed `metav1.LabelSelector` field (a workload's `spec.selector`, an
    /// affinity term's): absent or invalid selects nothing.
    pub fn from_meta(sel: Option<&k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector>) -> LabelSelector {
        match sel.and_then(|s| serde_json::to_value(s).ok()) {
            Some(v) => from_label_selector(&v).unwrap_or_else(|_| LabelSelector::nothing()),
            None => LabelSelector::nothing(),
        }
    }

    /// Whether the selector places no restriction (`Selector.Empty()`; false for `nothing`).
    pub fn is_empty(&self) -> bool {
        !self.nothing && self.requirements.is_empty()
    }

    /// Whether the selector can never match (`labels.Nothing()`).
    pub fn is_nothing(&self) -> bool {
        self.nothing
    }

    /// The requirements, sorted by key.
    pub fn requirements(&self) -> &[Requirement] {
        &self.requirements
    }

    /// Whether every requirement matches the labels.
    pub fn matches<L: Labels + ?Sized>(&self, labels: &L) -> bool {
        !self.nothing && self.requirements.iter().all(|r| r.matches(labels))
    }

    /// Matches against `metadata.labels` of an object (a missing map is an empty label set).
    pub fn matches_object(&self, obj: &Value) -> bool {
        if self.nothing {
            return false;
        }
        if self.requirements.is_empty() {
            return true;
        }
        match obj.get("metadata").and_then(|m| m.get("labels")).and_then(Value::as_object) {
            Some(labels) => self.matches(labels),
            None => self.matches(&serde_json::Map::new()),
        }
    }

    /// `RequiresExactMatch`: the value a `=`, `==` or single-value `in` requirement on `key`
    /// demands, if any.
    pub fn requires_exact_match(&self, key: &str) -> Option<&str> {
        let r = self.requirements.iter().find(|r| r.key == key)?;
        match (r.op, r.values.as_slice()) {
            (Operator::Equals | Operator::DoubleEquals | Operator::In, [v]) => Some(v),
            _ => None,
        }
    }
}

impl fmt::Display for LabelSelector {
    /// The canonical form Kubernetes prints (`a=b,c in (x,y),!d`), sorted by key.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, r) in self.requirements.iter().enumerate() {
            if i > 0 {
                f.write_str(",")?;
            }
            write!(f, "{r}")?;
        }
        Ok(())
    }
}

fn from_label_selector(value: &Value) -> Result<LabelSelector, String> {
    let obj = match value {
        Value::Null => return Ok(LabelSelector::nothing()),
        Value::Object(o) => o,
        other => return Err(format!("invalid label selector: {other}")),
    };
    let match_labels = obj.get("matchLabels").and_then(Value::as_object);
    let exprs = obj.get("matchExpressions").and_then(Value::as_array);
    let mut requirements = Vec::new();
    for (k, v) in match_labels.into_iter().flatten() {
        let v = v.as_str().unwrap_or_default();
        requirements.push(Requirement::new(k, Operator::Equals, vec![v.to_string()])?);
    }
    for expr in exprs.into_iter().flatten() {
        let op_str = expr.get("operator").and_then(Value::as_str).unwrap_or_default();
        let op = match op_str {
            "In" => Operator::In,
            "NotIn" => Operator::NotIn,
            "Exists" => Operator::Exists,
            "DoesNotExist" => Operator::DoesNotExist,
            other => return Err(format!("{} is not a valid label selector operator", go_quote(other))),
        };
        let key = expr.get("key").and_then(Value::as_str).unwrap_or_default();
        let values: Vec<String> = expr
            .get("values")
            .and_then(Value::as_array)
            .map(|vs| vs.iter().map(|v| v.as_str().unwrap_or_default().to_string()).collect())
            .unwrap_or_default();
        requirements.push(Requirement::new(key, op, values)?);
    }
    Ok(LabelSelector::from_requirements(requirements))
}

#[cfg(test)]
#[path = "label_tests.rs"]
mod tests;
