//! Field sets (sigs.k8s.io/structured-merge-diff `fieldpath.Set`) and their FieldsV1 form.

use std::cmp::Ordering;
use std::collections::{BTreeMap, BTreeSet};

use serde_json::{Map, Value};

/// One step of a field path.
#[derive(Debug, Clone, PartialEq)]
pub enum PathElement {
    /// A field of an object or a key of a map: `f:name`.
    Field(String),
    /// An item of a list-map, by its key fields (sorted by name): `k:{"name":"x"}`.
    Key(Vec<(String, Value)>),
    /// An item of a set by value: `v:"x"`.
    Value(Value),
    /// An item of a list by position: `i:0`.
    Index(usize),
}

impl Eq for PathElement {}

impl PartialOrd for PathElement {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for PathElement {
    fn cmp(&self, other: &Self) -> Ordering {
        use PathElement::*;
        let rank = |p: &PathElement| match p {
            Field(_) => 0,
            Key(_) => 1,
            Value(_) => 2,
            Index(_) => 3,
        };
        match (self, other) {
            (Field(a), Field(b)) => a.cmp(b),
            (Key(a), Key(b)) => {
                for ((an, av), (bn, bv)) in a.iter().zip(b.iter()) {
                    let c = an.cmp(bn).then_with(|| cmp_values(av, bv));
                    if c != Ordering::Equal {
                        return c;
                    }
                }
                a.len().cmp(&b.len())
            }
            (Value(a), Value(b)) => cmp_values(a, b),
            (Index(a), Index(b)) => a.cmp(b),
            _ => rank(self).cmp(&rank(other)),
        }
    }
}

/// A total order over JSON values (type first, then content).
pub(crate) fn cmp_values(a: &Value, b: &Value) -> Ordering {
    let rank = |v: &Value| match v {
        Value::Null => 0,
        Value::Bool(_) => 1,
        Value::Number(_) => 2,
        Value::String(_) => 3,
        Value::Array(_) => 4,
        Value::Object(_) => 5,
    };
    match (a, b) {
        (Value::Bool(x), Value::Bool(y)) => x.cmp(y),
        (Value::Number(x), Value::Number(y)) => {
            let (x, y) = (x.as_f64().unwrap_or(0.0), y.as_f64().unwrap_or(0.0));
            x.total_cmp(&y)
        }
        (Value::String(x), Value::String(y)) => x.cmp(y),
        (Value::Array(x), Value::Array(y)) => {
            for (i, j) in x.iter().zip(y.iter()) {
                let c = cmp_values(i, j);
                if c != Ordering::Equal {
                    return c;
                }
            }
            x.len().cmp(&y.len())
        }
        (Value::Object(_), Value::Object(_)) => a.to_string().cmp(&b.to_string()),
        _ => rank(a).cmp(&rank(b)),
    }
}

impl PathElement {
    /// The FieldsV1 key: `f:name`, `k:{"name":"x"}`, `v:"x"`, `i:0`.
    pub fn to_key(&self) -> String {
        match self {
            PathElement::Field(f) => format!("f:{f}"),
            PathElement::Key(k) => {
                let m: Map<String, Value> = k.iter().cloned().collect();
                format!("k:{}", Value::Object(m))
            }
            PathElement::Value(v) => format!("v:{v}"),
            PathElement::Index(i) => format!("i:{i}"),
        }
    }

    /// Parses a FieldsV1 key.
    pub fn from_key(s: &str) -> Option<PathElement> {
        let (prefix, rest) = s.split_at_checked(2)?;
        match prefix {
            "f:" => Some(PathElement::Field(rest.to_string())),
            "k:" => match serde_json::from_str::<Value>(rest).ok()? {
                Value::Object(m) => {
                    let mut k: Vec<(String, Value)> = m.into_iter().collect();
                    k.sort_by(|a, b| a.0.cmp(&b.0));
                    Some(PathElement::Key(k))
                }
                _ => None,
            },
            "v:" => serde_json::from_str(rest).ok().map(PathElement::Value),
            "i:" => rest.parse().ok().map(PathElement::Index),
            _ => None,
        }
    }
}

impl std::fmt::Display for PathElement {
    /// structured-merge-diff's `PathElement.String()`: `.name`, `[name="x",port=80]`,
    /// `[="x"]`, `[0]`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            PathElement::Field(n) => write!(f, ".{n}"),
            PathElement::Key(k) => {
                let parts: Vec<String> = k.iter().map(|(n, v)| format!("{n}={v}")).collect();
                write!(f, "[{}]", parts.join(","))
            }
            PathElement::Value(v) => write!(f, "[={v}]"),
            PathElement::Index(i) => write!(f, "[{i}]"),
        }
    }
}

/// Formats a path like structured-merge-diff: `.spec.containers[name="x"].image`.
pub fn path_string(path: &[PathElement]) -> String {
    path.iter().map(ToString::to_string).collect()
}

/// A set of field paths: `members` are paths ending here, `children` the subsets below.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FieldSet {
    members: BTreeSet<PathElement>,
    children: BTreeMap<PathElement, FieldSet>,
}

impl FieldSet {
    /// The empty set.
    pub fn new() -> Self {
        Self::default()
    }

    /// True when no path is in the set.
    pub fn is_empty(&self) -> bool {
        self.members.is_empty() && self.children.values().all(FieldSet::is_empty)
    }

    /// Adds `path` (the empty path is ignored).
    pub fn insert(&mut self, path: &[PathElement]) {
        let Some((last, parents)) = path.split_last() else {
            return;
        };
        let mut node = self;
        for pe in parents {
            // Clone the path element only when the level is new (inserts walk the same
            // levels again and again).
            if !node.children.contains_key(pe) {
                node.children.insert(pe.clone(), FieldSet::new());
            }
            node = match node.children.get_mut(pe) {
                Some(child) => child,
                None => return,
            };
        }
        if !node.members.contains(last) {
            node.members.insert(last.clone());
        }
    }

    /// True when `path` itself is in the set.
    pub fn has(&self, path: &[PathElement]) -> bool {
        let Some((last, parents)) = path.split_last() else {
            return false;
        };
        let mut node = self;
        for pe in parents {
            match node.children.get(pe) {
                Some(c) => node = c,
                None => return false,
            }
        }
        node.members.contains(last)
    }

    /// True when `pe` is a member at this level.
    pub(crate) fn has_member(&self, pe: &PathElement) -> bool {
        self.members.contains(pe)
    }

    /// The subset below `pe`.
    pub(crate) fn child(&self, pe: &PathElement) -> Option<&FieldSet> {
        self.children.get(pe)
    }

    /// Paths in either set.
    pub fn union(&self, other: &FieldSet) -> FieldSet {
        let mut out = self.clone();
        out.union_in_place(other);
        out
    }

    pub(crate) fn union_in_place(&mut self, other: &FieldSet) {
        self.members.extend(other.members.iter().cloned());
        for (pe, c) in &other.children {
            self.children.entry(pe.clone()).or_default().union_in_place(c);
        }
    }

    /// True when some path is in both sets.
    pub(crate) fn intersects(&self, other: &FieldSet) -> bool {
        let (small, large) = if self.members.len() <= other.members.len() { (self, other) } else { (other, self) };
        small.members.iter().any(|m| large.members.contains(m))
            || self.children.iter().any(|(pe, c)| other.children.get(pe).is_some_and(|o| c.intersects(o)))
    }

    /// True when every path of `other` is in `self`.
    pub(crate) fn contains_all(&self, other: &FieldSet) -> bool {
        other.members.iter().all(|m| self.members.contains(m))
            && other.children.iter().all(|(pe, o)| match self.children.get(pe) {
                Some(c) => c.contains_all(o),
                None => o.is_empty(),
            })
    }

    /// Paths of `self` not in `other` (a member of `other` does not remove the paths below it).
    pub fn difference(&self, other: &FieldSet) -> FieldSet {
        let members = self.members.difference(&other.members).cloned().collect();
        let mut children = BTreeMap::new();
        for (pe, c) in &self.children {
            let d = match other.children.get(pe) {
                Some(o) => c.difference(o),
                None => c.clone(),
            };
            if !d.is_empty() {
                children.insert(pe.clone(), d);
            }
        }
        FieldSet { members, children }
    }

    /// Removes the paths of `other` from `self`, as [`FieldSet::difference`] without a copy.
    pub(crate) fn subtract(&mut self, other: &FieldSet) {
        self.members.retain(|m| !other.members.contains(m));
        self.children.retain(|pe, c| {
            if let Some(o) = other.children.get(pe) {
                c.subtract(o);
            }
            !c.is_empty()
        });
    }

    /// Paths in both sets.
    pub fn intersection(&self, other: &FieldSet) -> FieldSet {
        let members = self.members.intersection(&other.members).cloned().collect();
        let mut children = BTreeMap::new();
        for (pe, c) in &self.children {
            if let Some(o) = other.children.get(pe) {
                let i = c.intersection(o);
                if !i.is_empty() {
                    children.insert(pe.clone(), i);
                }
            }
        }
        FieldSet { members, children }
    }

    /// All paths, members of a level before the levels below (structured-merge-diff's
    /// `Set.Iterate` order).
    pub fn paths(&self) -> Vec<Vec<PathElement>> {
        let mut out = Vec::new();
        self.collect_paths(&mut Vec::new(), &mut out);
        out
    }

    fn collect_paths(&self, prefix: &mut Vec<PathElement>, out: &mut Vec<Vec<PathElement>>) {
        for m in &self.members {
            let mut p = prefix.clone();
            p.push(m.clone());
            out.push(p);
        }
        for (pe, c) in &self.children {
            prefix.push(pe.clone());
            c.collect_paths(prefix, out);
            prefix.pop();
        }
    }

    /// The FieldsV1 JSON form.
    pub fn to_fields_v1(&self) -> Value {
        Value::Object(self.emit(false))
    }

    fn emit(&self, include_self: bool) -> Map<String, Value> {
        self.emit_nonempty(include_self).unwrap_or_default()
    }

    /// The FieldsV1 map of this level, None when no path is in the set. Members and children
    /// are merged in their (shared) order, each subtree visited once.
    fn emit_nonempty(&self, include_self: bool) -> Option<Map<String, Value>> {
        let mut out = Map::new();
        if include_self {
            out.insert(".".into(), Value::Object(Map::new()));
        }
        let mut members = self.members.iter().peekable();
        let mut children = self.children.iter().peekable();
        loop {
            let member_first = match (members.peek(), children.peek()) {
                (None, None) => break,
                (Some(m), Some((c, _))) => *m <= *c,
                (Some(_), None) => true,
                (None, Some(_)) => false,
            };
            let (pe, member, child) = if member_first {
                let Some(m) = members.next() else { break };
                (m, true, children.next_if(|(c, _)| *c == m).map(|(_, set)| set))
            } else {
                let Some((c, set)) = children.next() else { break };
                (c, false, Some(set))
            };
            let below = child.and_then(|c| c.emit_nonempty(member));
            match below {
                Some(m) => {
                    out.insert(pe.to_key(), Value::Object(m));
                }
                None if member => {
                    out.insert(pe.to_key(), Value::Object(Map::new()));
                }
                None => {}
            }
        }
        let empty = out.len() == usize::from(include_self);
        (!empty).then_some(out)
    }

    /// Parses the FieldsV1 JSON form; None when malformed.
    pub fn from_fields_v1(v: &Value) -> Option<FieldSet> {
        Self::parse(v, 0)
    }

    fn parse(v: &Value, depth: usize) -> Option<FieldSet> {
        if depth > 256 {
            return None;
        }
        let m = v.as_object()?;
        let mut set = FieldSet::new();
        for (k, child) in m {
            if k == "." {
                continue;
            }
            let pe = PathElement::from_key(k)?;
            let cm = child.as_object()?;
            if cm.is_empty() || cm.contains_key(".") {
                set.members.insert(pe.clone());
            }
            if cm.keys().any(|k| k != ".") {
                set.children.insert(pe, Self::parse(child, depth + 1)?);
            }
        }
        Some(set)
    }
}
