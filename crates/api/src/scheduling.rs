//! Where a Pod may run, shared by the scheduler's plugins and the DaemonSet controller:
//! tolerations against taints (`v1helper`), node selector terms against nodes
//! (`component-helpers/scheduling/corev1/nodeaffinity`), and a Pod's nodeSelector plus
//! required node affinity against a node.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{NodeSelector, NodeSelectorRequirement, NodeSelectorTerm, PodSpec, Taint, Toleration};

/// `Toleration.ToleratesTaint`.
pub fn tolerates(t: &Toleration, taint: &Taint) -> bool {
    if t.effect.as_deref().is_some_and(|e| !e.is_empty() && e != taint.effect) {
        return false;
    }
    if t.key.as_deref().is_some_and(|k| !k.is_empty() && k != taint.key) {
        return false;
    }
    match t.operator.as_deref().unwrap_or("") {
        "" | "Equal" => t.value.as_deref().unwrap_or("") == taint.value.as_deref().unwrap_or(""),
        "Exists" => true,
        _ => false,
    }
}

/// The first taint (with an effect `wanted` accepts) that no toleration tolerates.
pub fn first_untolerated<'a>(
    taints: &'a [Taint],
    tolerations: &[Toleration],
    wanted: impl Fn(&str) -> bool,
) -> Option<&'a Taint> {
    taints.iter().filter(|t| wanted(&t.effect)).find(|taint| !tolerations.iter().any(|t| tolerates(t, taint)))
}

/// Whether one requirement holds for the node's labels (or, for `matchFields`, its name).
fn requirement_matches(r: &NodeSelectorRequirement, value: Option<&str>) -> bool {
    let values = r.values.as_deref().unwrap_or(&[]);
    match r.operator.as_str() {
        "In" => value.is_some_and(|v| values.iter().any(|x| x == v)),
        "NotIn" => !value.is_some_and(|v| values.iter().any(|x| x == v)),
        "Exists" => value.is_some(),
        "DoesNotExist" => value.is_none(),
        "Gt" | "Lt" => {
            let (Some(v), [bound]) = (value.and_then(|v| v.parse::<i64>().ok()), values) else { return false };
            let Ok(bound) = bound.parse::<i64>() else { return false };
            if r.operator == "Gt" {
                v > bound
            } else {
                v < bound
            }
        }
        _ => false,
    }
}

/// Whether a term matches: all of its expressions and fields; an empty term matches nothing.
pub fn term_matches(term: &NodeSelectorTerm, labels: &BTreeMap<String, String>, node_name: &str) -> bool {
    let exprs = term.match_expressions.as_deref().unwrap_or(&[]);
    let fields = term.match_fields.as_deref().unwrap_or(&[]);
    if exprs.is_empty() && fields.is_empty() {
        return false;
    }
    exprs.iter().all(|r| requirement_matches(r, labels.get(&r.key).map(String::as_str)))
        && fields.iter().all(|r| r.key == "metadata.name" && requirement_matches(r, Some(node_name)))
}

/// Whether any term of a node selector matches.
pub fn node_selector_matches(sel: &NodeSelector, labels: &BTreeMap<String, String>, node_name: &str) -> bool {
    sel.node_selector_terms.iter().any(|t| term_matches(t, labels, node_name))
}

/// The Pod's nodeSelector and required node affinity both admit the node
/// (`GetRequiredNodeAffinity(pod).Match(node)`).
pub fn fits_node_affinity(spec: &PodSpec, labels: &BTreeMap<String, String>, node_name: &str) -> bool {
    let selector_ok = spec.node_selector.as_ref().is_none_or(|sel| sel.iter().all(|(k, v)| labels.get(k) == Some(v)));
    let required = spec
        .affinity
        .as_ref()
        .and_then(|a| a.node_affinity.as_ref())
        .and_then(|n| n.required_during_scheduling_ignored_during_execution.as_ref());
    selector_ok && required.is_none_or(|r| node_selector_matches(r, labels, node_name))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn taint(key: &str, value: &str, effect: &str) -> Taint {
        Taint { key: key.into(), value: Some(value.into()), effect: effect.into(), time_added: None }
    }

    fn tol(v: serde_json::Value) -> Toleration {
        serde_json::from_value(v).unwrap()
    }

    #[test]
    fn tolerations_match_as_in_kubernetes() {
        let t = taint("gpu", "true", "NoSchedule");
        assert!(tolerates(&tol(json!({"key": "gpu", "value": "true", "effect": "NoSchedule"})), &t));
        assert!(tolerates(&tol(json!({"key": "gpu", "operator": "Exists"})), &t));
        assert!(tolerates(&tol(json!({"operator": "Exists"})), &t));
        assert!(!tolerates(&tol(json!({"key": "gpu", "value": "false"})), &t));
        assert!(!tolerates(&tol(json!({"key": "gpu", "operator": "Exists", "effect": "NoExecute"})), &t));
        let taints = [taint("a", "", "PreferNoSchedule"), t.clone()];
        assert_eq!(first_untolerated(&taints, &[], |e| e != "PreferNoSchedule"), Some(&t));
    }

    #[test]
    fn node_selector_terms_or_and_expressions_and() {
        let sel: NodeSelector = serde_json::from_value(json!({"nodeSelectorTerms": [
            {"matchExpressions": [{"key": "zone", "operator": "In", "values": ["a", "b"]},
                                  {"key": "cores", "operator": "Gt", "values": ["4"]}]},
            {"matchFields": [{"key": "metadata.name", "operator": "In", "values": ["special"]}]}]}))
        .unwrap();
        let labels =
            |z: &str, c: &str| BTreeMap::from([("zone".to_string(), z.to_string()), ("cores".into(), c.into())]);
        assert!(node_selector_matches(&sel, &labels("a", "8"), "n1"));
        assert!(!node_selector_matches(&sel, &labels("a", "4"), "n1"));
        assert!(!node_selector_matches(&sel, &labels("c", "8"), "n1"));
        assert!(node_selector_matches(&sel, &BTreeMap::new(), "special"));
        let empty: NodeSelector = serde_json::from_value(json!({"nodeSelectorTerms": [{}]})).unwrap();
        assert!(!node_selector_matches(&empty, &BTreeMap::new(), "n1"));
    }
}
