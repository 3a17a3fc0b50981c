//! Field sets (sigs.k8s.io/structured-merge-diff `fieldpath.Set`) and their FieldsV1 form.

use std::cmp::Ordering;

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
        if let PathElement::Field(f) = self {
            return field_key(f);
        }
        let mut b: Vec<u8> = Vec::with_capacity(24);
        match self {
            PathElement::Field(_) => {}
            PathElement::Key(k) => {
                b.extend_from_slice(b"k:{");
                for (i, (name, v)) in k.iter().enumerate() {
                    if i > 0 {
                        b.push(b',');
                    }
                    // Writing JSON into a Vec cannot fail.
                    let _ = serde_json::to_writer(&mut b, name);
                    b.push(b':');
                    let _ = serde_json::to_writer(&mut b, v);
                }
                b.push(b'}');
            }
            PathElement::Value(v) => {
                b.extend_from_slice(b"v:");
                let _ = serde_json::to_writer(&mut b, v);
            }
            PathElement::Index(i) => {
                b.extend_from_slice(b"i:");
                b.extend_from_slice(i.to_string().as_bytes());
            }
        }
        String::from_utf8(b).unwrap_or_default()
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

/// The FieldsV1 key of the field `name` (`f:name`): most keys, with no JSON to write.
pub(crate) fn field_key(name: &str) -> String {
    let mut key = String::with_capacity(2 + name.len());
    key.push_str("f:");
    key.push_str(name);
    key
}

/// Writes `s` as a JSON string.
pub(crate) fn write_str(out: &mut Vec<u8>, s: &str) {
    // Writing JSON into a Vec cannot fail.
    let _ = serde_json::to_writer(out, s);
}

/// Writes the key `"f:name"`, escaping `name` only when it needs it.
fn write_field_key(out: &mut Vec<u8>, name: &str) {
    if name.bytes().any(|b| b == b'"' || b == b'\\' || b < 0x20) {
        return write_str(out, &field_key(name));
    }
    out.extend_from_slice(b"\"f:");
    out.extend_from_slice(name.as_bytes());
    out.push(b'"');
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

/// A set of field paths, as a tree: each level a list of path elements, sorted and unique,
/// each a member (a path ends there), a parent of paths below, or both. Sorted vectors rather
/// than ordered maps: levels are small, and most sets are built, merged and written out once.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FieldSet {
    /// Never holds a node that is neither a member nor a parent.
    nodes: Vec<Node>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Node {
    pe: PathElement,
    member: bool,
    below: FieldSet,
}

impl Node {
    fn is_empty(&self) -> bool {
        !self.member && self.below.is_empty()
    }
}

impl FieldSet {
    /// The empty set.
    pub fn new() -> Self {
        Self::default()
    }

    /// True when no path is in the set.
    pub fn is_empty(&self) -> bool {
        self.nodes.iter().all(Node::is_empty)
    }

    fn find(&self, pe: &PathElement) -> Option<&Node> {
        self.nodes.binary_search_by(|n| n.pe.cmp(pe)).ok().map(|i| &self.nodes[i])
    }

    /// The node of `pe` at this level, made when missing.
    fn slot(&mut self, pe: &PathElement) -> &mut Node {
        let i = match self.nodes.binary_search_by(|n| n.pe.cmp(pe)) {
            Ok(i) => i,
            Err(i) => {
                self.nodes.insert(i, Node { pe: pe.clone(), member: false, below: FieldSet::new() });
                i
            }
        };
        &mut self.nodes[i]
    }

    /// Appends `pe` at this level — a member or not, with `below` under it — unless neither.
    /// Appending out of order is allowed until [`FieldSet::sort_level`]; each `pe` at most once.
    pub(crate) fn push_child(&mut self, pe: &PathElement, member: bool, below: FieldSet) {
        if member || !below.nodes.is_empty() {
            self.nodes.push(Node { pe: pe.clone(), member, below });
        }
    }

    /// Puts this level back in order after [`FieldSet::push_child`].
    pub(crate) fn sort_level(&mut self) {
        if !self.nodes.is_sorted_by(|a, b| a.pe < b.pe) {
            self.nodes.sort_by(|a, b| a.pe.cmp(&b.pe));
        }
    }

    /// Adds `path` (the empty path is ignored).
    pub fn insert(&mut self, path: &[PathElement]) {
        let Some((last, parents)) = path.split_last() else {
            return;
        };
        let mut level = self;
        for pe in parents {
            level = &mut level.slot(pe).below;
        }
        level.slot(last).member = true;
    }

    /// True when `path` itself is in the set.
    pub fn has(&self, path: &[PathElement]) -> bool {
        let Some((last, parents)) = path.split_last() else {
            return false;
        };
        let mut level = self;
        for pe in parents {
            match level.find(pe) {
                Some(n) => level = &n.below,
                None => return false,
            }
        }
        level.has_member(last)
    }

    /// True when `pe` is a member at this level.
    pub(crate) fn has_member(&self, pe: &PathElement) -> bool {
        self.find(pe).is_some_and(|n| n.member)
    }

    /// Whether paths through `pe` are left out of this set taken as an exclusion set
    /// (structured-merge-diff's `RecursiveDifference`): `Err(())` when `pe` itself is a member
    /// (everything below goes), else the exclusions below it.
    pub(crate) fn excluded_below(&self, pe: &PathElement) -> Result<Option<&FieldSet>, ()> {
        match self.find(pe) {
            Some(n) if n.member => Err(()),
            Some(n) => Ok(Some(&n.below)),
            None => Ok(None),
        }
    }

    /// [`FieldSet::excluded_below`] for the field `name`, without making its path element.
    pub(crate) fn excluded_below_field(&self, name: &str) -> Result<Option<&FieldSet>, ()> {
        match self.find_field(name) {
            Some(n) if n.member => Err(()),
            Some(n) => Ok(Some(&n.below)),
            None => Ok(None),
        }
    }

    /// The node of the field `name` at this level, found without making its path element.
    fn find_field(&self, name: &str) -> Option<&Node> {
        let i = self.nodes.binary_search_by(|n| match &n.pe {
            PathElement::Field(f) => f.as_str().cmp(name),
            _ => Ordering::Greater,
        });
        i.ok().map(|i| &self.nodes[i])
    }

    /// Whether the field `name` is a member at this level, and the subset below it (as
    /// [`FieldSet::has_member`] and [`FieldSet::child`]).
    pub(crate) fn field_member_and_child(&self, name: &str) -> (bool, Option<&FieldSet>) {
        match self.find_field(name) {
            Some(n) => (n.member, Some(&n.below).filter(|b| !b.nodes.is_empty())),
            None => (false, None),
        }
    }

    /// Removes every path that `other`'s members are a prefix of (or equal to)
    /// (structured-merge-diff's `RecursiveDifference`); true when something was removed.
    pub(crate) fn subtract_recursive(&mut self, other: &FieldSet) -> bool {
        if other.nodes.is_empty() {
            return false;
        }
        let before = self.nodes.len();
        let mut changed = false;
        self.nodes.retain_mut(|n| match other.find(&n.pe) {
            Some(o) if o.member => false,
            Some(o) => {
                changed |= n.below.subtract_recursive(&o.below);
                !n.is_empty()
            }
            None => true,
        });
        changed || self.nodes.len() != before
    }

    /// The subset below `pe`.
    pub(crate) fn child(&self, pe: &PathElement) -> Option<&FieldSet> {
        self.find(pe).map(|n| &n.below).filter(|b| !b.nodes.is_empty())
    }

    /// Paths in either set.
    pub fn union(&self, other: &FieldSet) -> FieldSet {
        let mut out = self.clone();
        out.union_in_place(other);
        out
    }

    pub(crate) fn union_in_place(&mut self, other: &FieldSet) {
        if other.nodes.is_empty() {
            return;
        }
        if self.nodes.is_empty() {
            self.nodes = other.nodes.iter().filter(|n| !n.is_empty()).cloned().collect();
            return;
        }
        let mine = std::mem::take(&mut self.nodes);
        let mut out = Vec::with_capacity(mine.len() + other.nodes.len());
        let mut theirs = other.nodes.iter().filter(|n| !n.is_empty()).peekable();
        for mut n in mine {
            while let Some(o) = theirs.next_if(|o| o.pe < n.pe) {
                out.push(o.clone());
            }
            if let Some(o) = theirs.next_if(|o| o.pe == n.pe) {
                n.member |= o.member;
                n.below.union_in_place(&o.below);
            }
            out.push(n);
        }
        out.extend(theirs.cloned());
        self.nodes = out;
    }

    /// Pairs of nodes with the same path element in both sets.
    fn common<'s>(&'s self, other: &'s FieldSet) -> impl Iterator<Item = (&'s Node, &'s Node)> {
        let mut theirs = other.nodes.iter().peekable();
        self.nodes.iter().filter_map(move |n| {
            while theirs.next_if(|o| o.pe < n.pe).is_some() {}
            theirs.next_if(|o| o.pe == n.pe).map(|o| (n, o))
        })
    }

    /// Whether the top level holds the field `name` (a member or a parent).
    pub(crate) fn has_top_field(&self, name: &str) -> bool {
        self.find_field(name).is_some()
    }

    /// True when some path is in both sets.
    pub(crate) fn intersects(&self, other: &FieldSet) -> bool {
        self.common(other).any(|(n, o)| (n.member && o.member) || n.below.intersects(&o.below))
    }

    /// True when every path of `other` is in `self`.
    pub(crate) fn contains_all(&self, other: &FieldSet) -> bool {
        other.nodes.iter().all(|o| match self.find(&o.pe) {
            Some(n) => (!o.member || n.member) && n.below.contains_all(&o.below),
            None => o.is_empty(),
        })
    }

    /// Paths of `self` not in `other` (a member of `other` does not remove the paths below it).
    pub fn difference(&self, other: &FieldSet) -> FieldSet {
        let mut out = self.clone();
        out.subtract(other);
        out
    }

    /// Removes the paths of `other` from `self`, as [`FieldSet::difference`] without a copy.
    pub(crate) fn subtract(&mut self, other: &FieldSet) {
        if other.nodes.is_empty() {
            return;
        }
        let mut theirs = other.nodes.iter().peekable();
        self.nodes.retain_mut(|n| {
            while theirs.next_if(|o| o.pe < n.pe).is_some() {}
            if let Some(o) = theirs.next_if(|o| o.pe == n.pe) {
                n.member &= !o.member;
                n.below.subtract(&o.below);
            }
            !n.is_empty()
        });
    }

    /// Paths in both sets.
    pub fn intersection(&self, other: &FieldSet) -> FieldSet {
        let nodes = self
            .common(other)
            .map(|(n, o)| Node {
                pe: n.pe.clone(),
                member: n.member && o.member,
                below: n.below.intersection(&o.below),
            })
            .filter(|n| !n.is_empty())
            .collect();
        FieldSet { nodes }
    }

    /// All paths, members of a level before the levels below (structured-merge-diff's
    /// `Set.Iterate` order).
    pub fn paths(&self) -> Vec<Vec<PathElement>> {
        let mut out = Vec::new();
        self.collect_paths(&mut Vec::new(), &mut out);
        out
    }

    fn collect_paths(&self, prefix: &mut Vec<PathElement>, out: &mut Vec<Vec<PathElement>>) {
        for n in self.nodes.iter().filter(|n| n.member) {
            let mut p = prefix.clone();
            p.push(n.pe.clone());
            out.push(p);
        }
        for n in self.nodes.iter().filter(|n| !n.below.nodes.is_empty()) {
            prefix.push(n.pe.clone());
            n.below.collect_paths(prefix, out);
            prefix.pop();
        }
    }

    /// The FieldsV1 JSON form.
    pub fn to_fields_v1(&self) -> Value {
        Value::Object(self.emit_nonempty(false).unwrap_or_default())
    }

    /// The FieldsV1 map of this level, None when no path is in the set.
    fn emit_nonempty(&self, include_self: bool) -> Option<Map<String, Value>> {
        let mut out = Map::with_capacity(self.nodes.len() + usize::from(include_self));
        if include_self {
            out.insert(".".into(), Value::Object(Map::new()));
        }
        for n in &self.nodes {
            match n.below.emit_nonempty(n.member) {
                Some(m) => {
                    out.insert(n.pe.to_key(), Value::Object(m));
                }
                None if n.member => {
                    out.insert(n.pe.to_key(), Value::Object(Map::new()));
                }
                None => {}
            }
        }
        let empty = out.len() == usize::from(include_self);
        (!empty).then_some(out)
    }

    /// Writes the FieldsV1 JSON form as [`FieldSet::to_fields_v1`] and serde_json would: keys
    /// in byte order, `.` first; without building the map.
    pub fn write_fields_v1(&self, out: &mut Vec<u8>) {
        if !self.write_level(out, false) {
            out.extend_from_slice(b"{}");
        }
    }

    /// Writes this level's map (`"."` first when `include_self`); false, with nothing
    /// written, when no path is below it.
    fn write_level(&self, out: &mut Vec<u8>, include_self: bool) -> bool {
        let start = out.len();
        out.push(b'{');
        if include_self {
            out.extend_from_slice(b"\".\":{}");
        }
        let mut below = false;
        // One member: its key, then its level; taken back when nothing is below it.
        let mut member = |out: &mut Vec<u8>, n: &Node, write_key: &dyn Fn(&mut Vec<u8>)| {
            let mark = out.len();
            if include_self || below {
                out.push(b',');
            }
            write_key(out);
            out.push(b':');
            if n.below.write_level(out, n.member) {
                below = true;
            } else if n.member {
                out.extend_from_slice(b"{}");
                below = true;
            } else {
                out.truncate(mark);
            }
        };
        // Fields sort first both ways ("f:" before "i:", "k:", "v:") and among themselves by
        // name; the other elements' keys are made and sorted as a map sorts them.
        let fields = self.nodes.partition_point(|n| matches!(n.pe, PathElement::Field(_)));
        let (named, rest) = self.nodes.split_at(fields);
        for n in named {
            if let PathElement::Field(name) = &n.pe {
                member(out, n, &|out| write_field_key(out, name));
            }
        }
        let mut keyed: Vec<(String, &Node)> = rest.iter().map(|n| (n.pe.to_key(), n)).collect();
        keyed.sort_by(|a, b| a.0.cmp(&b.0));
        for (key, n) in &keyed {
            member(out, n, &|out| write_str(out, key));
        }
        if !below {
            out.truncate(start);
            return false;
        }
        out.push(b'}');
        true
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
        let mut nodes = Vec::with_capacity(m.len());
        for (k, child) in m {
            if k == "." {
                continue;
            }
            let pe = PathElement::from_key(k)?;
            let cm = child.as_object()?;
            let member = cm.is_empty() || cm.contains_key(".");
            let below = if cm.keys().any(|k| k != ".") { Self::parse(child, depth + 1)? } else { FieldSet::new() };
            let node = Node { pe, member, below };
            if !node.is_empty() {
                nodes.push(node);
            }
        }
        // Kubernetes writes keys in order; anything else is put in order, equal keys merged.
        if !nodes.is_sorted_by(|a, b| a.pe < b.pe) {
            nodes.sort_by(|a, b| a.pe.cmp(&b.pe));
            let mut merged: Vec<Node> = Vec::with_capacity(nodes.len());
            for n in nodes {
                match merged.last_mut() {
                    Some(last) if last.pe == n.pe => {
                        last.member |= n.member;
                        last.below.union_in_place(&n.below);
                    }
                    _ => merged.push(n),
                }
            }
            nodes = merged;
        }
        Some(FieldSet { nodes })
    }
}
