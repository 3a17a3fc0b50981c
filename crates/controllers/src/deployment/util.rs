//! Pure helpers of the Deployment controller (`pkg/controller/deployment/util`): the
//! template hash, surge and unavailability bounds, revisions and their annotations, which
//! ReplicaSet is new, replica counts, orderings and proportions.

use std::cmp::Ordering;
use std::collections::BTreeMap;

use k8s_openapi::api::apps::v1::{Deployment, ReplicaSet};
use k8s_openapi::api::core::v1::PodTemplateSpec;
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;

/// The label and selector key that tells a Deployment's ReplicaSets apart.
pub const HASH_LABEL: &str = "pod-template-hash";
pub const REVISION: &str = "deployment.kubernetes.io/revision";
pub const REVISION_HISTORY: &str = "deployment.kubernetes.io/revision-history";
pub const DESIRED_REPLICAS: &str = "deployment.kubernetes.io/desired-replicas";
pub const MAX_REPLICAS: &str = "deployment.kubernetes.io/max-replicas";
/// Longest revision-history annotation (`--deployment-controller-max-revision-history...`).
const MAX_REVISION_HISTORY_CHARS: usize = 2000;

/// Annotations a Deployment does not pass on to its ReplicaSets.
fn skip_copy(key: &str) -> bool {
    matches!(
        key,
        "kubectl.kubernetes.io/last-applied-configuration"
            | REVISION
            | REVISION_HISTORY
            | DESIRED_REPLICAS
            | MAX_REPLICAS
            | "deprecated.deployment.rollback.to"
    )
}

/// The hash of a Pod template and collision count (`ComputeHash`: FNV-32a, its decimal
/// digits spelled in the alphabet of `rand.SafeEncodeString`).
pub fn template_hash(template: &PodTemplateSpec, collision_count: Option<i32>) -> String {
    let mut h: u32 = 0x811c_9dc5;
    let mut write = |bytes: &[u8]| {
        for b in bytes {
            h ^= u32::from(*b);
            h = h.wrapping_mul(0x0100_0193);
        }
    };
    write(&serde_json::to_vec(template).unwrap_or_default());
    if let Some(c) = collision_count {
        let mut bytes = [0u8; 8];
        bytes[..4].copy_from_slice(&(c as u32).to_le_bytes());
        write(&bytes);
    }
    const ALPHABET: &[u8] = b"bcdfghjklmnpqrstvwxz2456789";
    h.to_string().bytes().map(|b| ALPHABET[b as usize % ALPHABET.len()] as char).collect()
}

/// Templates equal but for the hash label (`EqualIgnoreHash`); no labels equals empty labels.
pub fn equal_ignore_hash(a: &PodTemplateSpec, b: &PodTemplateSpec) -> bool {
    let strip = |t: &PodTemplateSpec| {
        let mut t = t.clone();
        let meta = t.metadata.get_or_insert_with(Default::default);
        if let Some(l) = meta.labels.as_mut() {
            l.remove(HASH_LABEL);
        }
        if meta.labels.as_ref().is_some_and(BTreeMap::is_empty) {
            meta.labels = None;
        }
        if meta.annotations.as_ref().is_some_and(BTreeMap::is_empty) {
            meta.annotations = None;
        }
        t
    };
    strip(a) == strip(b)
}

pub fn replicas(d: &Deployment) -> i32 {
    d.spec.as_ref().and_then(|s| s.replicas).unwrap_or(1)
}

pub fn rs_replicas(rs: &ReplicaSet) -> i32 {
    rs.spec.as_ref().and_then(|s| s.replicas).unwrap_or(1)
}

pub fn rs_available(rs: &ReplicaSet) -> i32 {
    rs.status.as_ref().and_then(|s| s.available_replicas).unwrap_or(0)
}

pub fn is_rolling(d: &Deployment) -> bool {
    let t = d.spec.as_ref().and_then(|s| s.strategy.as_ref()).and_then(|s| s.type_.as_deref());
    t != Some("Recreate")
}

/// An int or a percentage of `total`, rounded up or down (`GetScaledValueFromIntOrPercent`).
pub fn scaled_value(v: Option<&IntOrString>, total: i32, round_up: bool, default: &str) -> i32 {
    let s = match v {
        Some(IntOrString::Int(i)) => return *i,
        Some(IntOrString::String(s)) => s.as_str(),
        None => default,
    };
    let Some(pct) = s.strip_suffix('%').and_then(|p| p.parse::<i64>().ok()) else { return 0 };
    let x = pct * i64::from(total);
    (if round_up { (x + 99).div_euclid(100) } else { x.div_euclid(100) }) as i32
}

/// maxSurge and maxUnavailable as Pod counts; both zero would stall, so unavailable is then 1
/// (`ResolveFenceposts`).
pub fn fenceposts(d: &Deployment) -> (i32, i32) {
    let ru = d.spec.as_ref().and_then(|s| s.strategy.as_ref()).and_then(|s| s.rolling_update.as_ref());
    let desired = replicas(d);
    let surge = scaled_value(ru.and_then(|r| r.max_surge.as_ref()), desired, true, "25%");
    let unavailable = scaled_value(ru.and_then(|r| r.max_unavailable.as_ref()), desired, false, "25%");
    if surge == 0 && unavailable == 0 {
        return (0, 1);
    }
    (surge, unavailable)
}

pub fn max_surge(d: &Deployment) -> i32 {
    if is_rolling(d) {
        fenceposts(d).0
    } else {
        0
    }
}

pub fn max_unavailable(d: &Deployment) -> i32 {
    if !is_rolling(d) || replicas(d) == 0 {
        return 0;
    }
    fenceposts(d).1.min(replicas(d))
}

fn annotation<'a>(rs: &'a ReplicaSet, key: &str) -> Option<&'a str> {
    rs.metadata.annotations.as_ref()?.get(key).map(String::as_str)
}

/// The ReplicaSet's revision (0 when it has none).
pub fn revision(rs: &ReplicaSet) -> i64 {
    annotation(rs, REVISION).and_then(|r| r.parse().ok()).unwrap_or(0)
}

pub fn max_revision(sets: &[ReplicaSet]) -> i64 {
    sets.iter().map(revision).max().unwrap_or(0)
}

pub fn desired_annotation(rs: &ReplicaSet) -> Option<i32> {
    annotation(rs, DESIRED_REPLICAS)?.parse().ok()
}

fn max_annotation(rs: &ReplicaSet) -> Option<i32> {
    annotation(rs, MAX_REPLICAS)?.parse().ok()
}

/// Oldest first, then by name (`ReplicaSetsByCreationTimestamp`).
pub fn by_creation(a: &ReplicaSet, b: &ReplicaSet) -> Ordering {
    let t = |rs: &ReplicaSet| rs.metadata.creation_timestamp.as_ref().map(|t| t.0);
    t(a).cmp(&t(b)).then_with(|| a.metadata.name.cmp(&b.metadata.name))
}

/// Larger first; among equals older first (`ReplicaSetsBySizeOlder`) or newer first.
pub fn by_size(a: &ReplicaSet, b: &ReplicaSet, newer_first: bool) -> Ordering {
    let by_age = if newer_first { by_creation(b, a) } else { by_creation(a, b) };
    rs_replicas(b).cmp(&rs_replicas(a)).then(by_age)
}

/// Lowest revision first (`ReplicaSetsByRevision`).
pub fn by_revision(a: &ReplicaSet, b: &ReplicaSet) -> Ordering {
    revision(a).cmp(&revision(b)).then_with(|| by_creation(a, b))
}

/// The oldest ReplicaSet whose template is the Deployment's (`FindNewReplicaSet`).
pub fn find_new(d: &Deployment, sets: &[ReplicaSet]) -> Option<usize> {
    let template = d.spec.as_ref().map(|s| s.template.clone()).unwrap_or_default();
    let mut order: Vec<usize> = (0..sets.len()).collect();
    order.sort_by(|&a, &b| by_creation(&sets[a], &sets[b]));
    order.into_iter().find(|&i| {
        let t = sets[i].spec.as_ref().and_then(|s| s.template.as_ref()).cloned().unwrap_or_default();
        equal_ignore_hash(&t, &template)
    })
}

pub fn sum_replicas<'a>(sets: impl IntoIterator<Item = &'a ReplicaSet>) -> i32 {
    sets.into_iter().map(rs_replicas).sum()
}

pub fn sum_available<'a>(sets: impl IntoIterator<Item = &'a ReplicaSet>) -> i32 {
    sets.into_iter().map(rs_available).sum()
}

/// Sum of `status.replicas` (`GetActualReplicaCountForReplicaSets`).
pub fn sum_actual<'a>(sets: impl IntoIterator<Item = &'a ReplicaSet>) -> i32 {
    sets.into_iter().map(|rs| rs.status.as_ref().map_or(0, |s| s.replicas)).sum()
}

pub fn sum_ready<'a>(sets: impl IntoIterator<Item = &'a ReplicaSet>) -> i32 {
    sets.into_iter().map(|rs| rs.status.as_ref().and_then(|s| s.ready_replicas).unwrap_or(0)).sum()
}

/// How many replicas the new ReplicaSet should have now (`NewRSNewReplicas`).
pub fn new_rs_replicas(d: &Deployment, all: &[&ReplicaSet], new: &ReplicaSet) -> i32 {
    if !is_rolling(d) {
        return replicas(d);
    }
    let max_total = replicas(d) + max_surge(d);
    let current = sum_replicas(all.iter().copied());
    if current >= max_total {
        return rs_replicas(new);
    }
    let up = (max_total - current).min(replicas(d) - rs_replicas(new));
    rs_replicas(new) + up
}

/// Sets the desired-replicas and max-replicas annotations; true when they changed.
pub fn set_replicas_annotations(rs: &mut ReplicaSet, desired: i32, max: i32) -> bool {
    let a = rs.metadata.annotations.get_or_insert_with(BTreeMap::new);
    let mut changed = false;
    for (k, v) in [(DESIRED_REPLICAS, desired), (MAX_REPLICAS, max)] {
        let v = v.to_string();
        if a.get(k) != Some(&v) {
            a.insert(k.to_string(), v);
            changed = true;
        }
    }
    changed
}

pub fn replicas_annotations_need_update(rs: &ReplicaSet, desired: i32, max: i32) -> bool {
    desired_annotation(rs) != Some(desired) || max_annotation(rs) != Some(max)
}

/// Copies the Deployment's annotations, the revision (keeping earlier ones in the history
/// when an old ReplicaSet becomes new again: a rollback) and, for a new ReplicaSet, the
/// replica annotations (`SetNewReplicaSetAnnotations`). True when anything changed.
pub fn set_new_rs_annotations(d: &Deployment, rs: &mut ReplicaSet, new_revision: i64, exists: bool) -> bool {
    let mut changed = false;
    let from = d.metadata.annotations.clone().unwrap_or_default();
    let a = rs.metadata.annotations.get_or_insert_with(BTreeMap::new);
    for (k, v) in from {
        if !skip_copy(&k) && a.get(&k) != Some(&v) {
            a.insert(k, v);
            changed = true;
        }
    }
    let old = a.get(REVISION).cloned();
    let old_revision = match old.as_deref() {
        Some(r) => match r.parse::<i64>() {
            Ok(n) => n,
            Err(_) => return changed,
        },
        None => 0,
    };
    if old_revision < new_revision {
        a.insert(REVISION.into(), new_revision.to_string());
        changed = true;
        if let Some(old) = old {
            let history = a.get(REVISION_HISTORY).cloned().unwrap_or_default();
            a.insert(REVISION_HISTORY.into(), append_history(&history, &old));
        }
    }
    if !exists && set_replicas_annotations(rs, replicas(d), replicas(d) + max_surge(d)) {
        changed = true;
    }
    changed
}

/// `history` with `revision` appended, oldest entries dropped to stay within the limit.
fn append_history(history: &str, revision: &str) -> String {
    if history.is_empty() {
        return revision.to_string();
    }
    let mut parts: Vec<&str> = history.split(',').collect();
    let mut total = history.len() + revision.len() + 1;
    let mut start = 0;
    while total > MAX_REVISION_HISTORY_CHARS && start < parts.len() {
        total -= parts[start].len() + 1;
        start += 1;
    }
    if total > MAX_REVISION_HISTORY_CHARS {
        return history.to_string();
    }
    parts.drain(..start);
    parts.push(revision);
    parts.join(",")
}

/// The new ReplicaSet has all the Deployment's replicas, all available (`IsSaturated`).
pub fn is_saturated(d: &Deployment, rs: Option<&ReplicaSet>) -> bool {
    let Some(rs) = rs else { return false };
    desired_annotation(rs) == Some(replicas(d)) && rs_available(rs) == replicas(d) && rs_replicas(rs) == replicas(d)
}

/// The share of `to_add` (positive or negative) this ReplicaSet takes when a Deployment in
/// the middle of a rollout is scaled (`GetReplicaSetProportion`).
pub fn proportion(rs: &ReplicaSet, d: &Deployment, to_add: i32, added: i32) -> i32 {
    if rs_replicas(rs) == 0 || to_add == 0 || to_add == added {
        return 0;
    }
    let fraction = if replicas(d) == 0 {
        -rs_replicas(rs)
    } else {
        let deployment_replicas = replicas(d) + max_surge(d);
        let annotated = max_annotation(rs).unwrap_or_else(|| d.status.as_ref().and_then(|s| s.replicas).unwrap_or(0));
        if annotated == 0 {
            0
        } else {
            let size = f64::from(rs_replicas(rs)) * f64::from(deployment_replicas) / f64::from(annotated);
            size.round() as i32 - rs_replicas(rs)
        }
    };
    let allowed = to_add - added;
    if to_add > 0 {
        fraction.min(allowed)
    } else {
        fraction.max(allowed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn deployment(replicas: i32, surge: serde_json::Value, unavailable: serde_json::Value) -> Deployment {
        serde_json::from_value(json!({"metadata": {"name": "d"}, "spec": {"replicas": replicas,
            "selector": {}, "strategy": {"type": "RollingUpdate",
            "rollingUpdate": {"maxSurge": surge, "maxUnavailable": unavailable}}}}))
        .unwrap()
    }

    #[test]
    fn surge_rounds_up_and_unavailability_down_and_both_zero_allows_one() {
        let d = deployment(10, json!("25%"), json!("25%"));
        assert_eq!(fenceposts(&d), (3, 2));
        let d = deployment(2, json!("25%"), json!("25%"));
        assert_eq!((max_surge(&d), max_unavailable(&d)), (1, 0));
        let d = deployment(3, json!(0), json!(0));
        assert_eq!(fenceposts(&d), (0, 1));
        let d = deployment(2, json!(1), json!(5));
        assert_eq!(max_unavailable(&d), 2, "never more than the replicas");
    }

    #[test]
    fn hashes_use_the_safe_alphabet_and_change_with_the_collision_count() {
        let t: PodTemplateSpec = serde_json::from_value(json!({"metadata": {"labels": {"app": "x"}}})).unwrap();
        let h = template_hash(&t, None);
        assert!(h.chars().all(|c| "bcdfghjklmnpqrstvwxz2456789".contains(c)), "{h}");
        assert_eq!(h, template_hash(&t, None));
        assert_ne!(h, template_hash(&t, Some(1)));
    }

    #[test]
    fn templates_compare_without_the_hash_label() {
        let a: PodTemplateSpec =
            serde_json::from_value(json!({"metadata": {"labels": {"app": "x", HASH_LABEL: "abc"}}})).unwrap();
        let b: PodTemplateSpec = serde_json::from_value(json!({"metadata": {"labels": {"app": "x"}}})).unwrap();
        assert!(equal_ignore_hash(&a, &b));
        let only_hash: PodTemplateSpec =
            serde_json::from_value(json!({"metadata": {"labels": {HASH_LABEL: "abc"}}})).unwrap();
        assert!(equal_ignore_hash(&only_hash, &PodTemplateSpec::default()));
    }

    #[test]
    fn a_rollback_keeps_the_old_revision_in_the_history() {
        let d = deployment(1, json!(1), json!(0));
        let mut rs: ReplicaSet = serde_json::from_value(json!({"metadata": {"annotations": {REVISION: "1"}}})).unwrap();
        assert!(set_new_rs_annotations(&d, &mut rs, 3, true));
        let a = rs.metadata.annotations.as_ref().unwrap();
        assert_eq!((a[REVISION].as_str(), a[REVISION_HISTORY].as_str()), ("3", "1"));
        assert!(set_new_rs_annotations(&d, &mut rs, 5, true));
        assert_eq!(rs.metadata.annotations.as_ref().unwrap()[REVISION_HISTORY], "1,3");
        assert!(!set_new_rs_annotations(&d, &mut rs, 5, true), "nothing new");
        assert!(append_history(&"9,".repeat(1000), "10").len() <= MAX_REVISION_HISTORY_CHARS);
    }
}
