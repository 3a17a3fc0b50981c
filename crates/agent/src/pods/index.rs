//! Which sandboxes and containers belong to which Pod, so that observing one Pod reads only
//! that Pod's records (each worker observes its Pod every second: listing every record of the
//! node each time would cost O(Pods²) per second). Built from the records on disk on first
//! use, then kept by the runtime's own creates and removals.

use std::collections::{BTreeSet, HashMap};

/// Record ids by Pod uid.
#[derive(Debug, Default)]
pub struct PodIndex {
    sandboxes: HashMap<String, BTreeSet<String>>,
    containers: HashMap<String, BTreeSet<String>>,
}

impl PodIndex {
    /// An index of `(pod uid, id)` pairs of sandboxes and of containers.
    pub fn build(
        sandboxes: impl IntoIterator<Item = (String, String)>,
        containers: impl IntoIterator<Item = (String, String)>,
    ) -> PodIndex {
        let mut index = PodIndex::default();
        for (uid, id) in sandboxes {
            index.add_sandbox(&uid, &id);
        }
        for (uid, id) in containers {
            index.add_container(&uid, &id);
        }
        index
    }

    pub fn add_sandbox(&mut self, uid: &str, id: &str) {
        self.sandboxes.entry(uid.to_string()).or_default().insert(id.to_string());
    }

    pub fn add_container(&mut self, uid: &str, id: &str) {
        self.containers.entry(uid.to_string()).or_default().insert(id.to_string());
    }

    /// Forgets a sandbox or container id, whichever Pod it was of.
    pub fn forget(&mut self, id: &str) {
        for map in [&mut self.sandboxes, &mut self.containers] {
            map.retain(|_, ids| {
                ids.remove(id);
                !ids.is_empty()
            });
        }
    }

    /// The Pod's sandbox ids and container ids.
    pub fn of(&self, uid: &str) -> (Vec<String>, Vec<String>) {
        let ids =
            |m: &HashMap<String, BTreeSet<String>>| m.get(uid).map(|s| s.iter().cloned().collect()).unwrap_or_default();
        (ids(&self.sandboxes), ids(&self.containers))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_are_found_by_pod_and_forgotten_by_id() {
        let s = |u: &str, i: &str| (u.to_string(), i.to_string());
        let mut index = PodIndex::build([s("a", "a-0"), s("b", "b-0")], [s("a", "c1"), s("a", "c2"), s("b", "c3")]);
        assert_eq!(index.of("a"), (vec!["a-0".to_string()], vec!["c1".to_string(), "c2".to_string()]));
        index.add_container("a", "c4");
        index.forget("c1");
        index.forget("a-0");
        assert_eq!(index.of("a"), (vec![], vec!["c2".to_string(), "c4".to_string()]));
        index.forget("c3");
        assert_eq!(index.of("b").1, Vec::<String>::new());
        assert_eq!(index.of("nobody"), (vec![], vec![]));
    }
}
