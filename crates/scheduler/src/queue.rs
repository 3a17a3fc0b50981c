//! The scheduling queue (`internal/queue`): an active queue in QueueSort order, a back-off
//! queue for Pods that just failed, and the unschedulable Pods, which go back when a cluster
//! event could make them fit, and after at most five minutes. Also the nominated Pods.

use std::cmp::Ordering;
use std::collections::{BinaryHeap, HashMap, HashSet};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use crate::framework::{PodInfo, QueueSortPlugin, QueuedPod};
use crate::schedule::Nominated;

/// Unschedulable Pods go back to the active queue after this long at the latest.
pub const MAX_IN_UNSCHEDULABLE: Duration = Duration::from_secs(5 * 60);

/// A cluster change that may let unschedulable Pods fit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClusterEvent {
    NodeAdd,
    NodeUpdate,
    AssignedPodAdd,
    AssignedPodUpdate,
    AssignedPodDelete,
    /// The periodic flush of Pods unschedulable for too long.
    Timeout,
}

impl ClusterEvent {
    /// Whether a Pod rejected by `plugins` could fit after this event (a coarse form of
    /// Kubernetes' queueing hints).
    fn may_help(self, plugins: &HashSet<&'static str>) -> bool {
        match self {
            ClusterEvent::AssignedPodAdd | ClusterEvent::AssignedPodUpdate => {
                plugins.contains("InterPodAffinity") || plugins.contains("PodTopologySpread") || plugins.is_empty()
            }
            _ => true,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Place {
    Active,
    Backoff,
    Unschedulable,
    InFlight,
}

struct Entry {
    pod: QueuedPod,
    place: Place,
    /// Which heap item is current (older items are skipped when popped).
    seq: u64,
    since: Instant,
    unschedulable_plugins: HashSet<&'static str>,
    /// Whether a cluster event or an update came while it was being scheduled.
    moved_in_flight: bool,
}

struct ActiveItem {
    pod: QueuedPod,
    seq: u64,
    sort: Arc<dyn QueueSortPlugin>,
}

impl PartialEq for ActiveItem {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}
impl Eq for ActiveItem {}
impl PartialOrd for ActiveItem {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for ActiveItem {
    fn cmp(&self, other: &Self) -> Ordering {
        // BinaryHeap pops the greatest: "less" in QueueSort terms is "greater" here.
        if self.sort.less(&self.pod, &other.pod) {
            Ordering::Greater
        } else if self.sort.less(&other.pod, &self.pod) {
            Ordering::Less
        } else {
            Ordering::Equal
        }
    }
}

struct Inner {
    entries: HashMap<String, Entry>,
    active: BinaryHeap<ActiveItem>,
    /// (ready at, uid, seq), earliest first.
    backoff: BinaryHeap<std::cmp::Reverse<(Instant, String, u64)>>,
    nominated: Nominated,
    /// Uids of the unschedulable Pods and of those being scheduled, so that cluster events
    /// touch only them.
    unschedulable: HashSet<String>,
    in_flight: HashSet<String>,
    next_seq: u64,
    next_timestamp: u64,
    closed: bool,
    last_flush: Instant,
}

/// The queue, shared by the informers (pushing) and the scheduling thread (popping).
pub struct SchedulingQueue {
    inner: Mutex<Inner>,
    ready: Condvar,
    sort: Arc<dyn QueueSortPlugin>,
    initial_backoff: Duration,
    max_backoff: Duration,
}

impl SchedulingQueue {
    pub fn new(sort: Arc<dyn QueueSortPlugin>, initial_backoff: Duration, max_backoff: Duration) -> SchedulingQueue {
        SchedulingQueue {
            inner: Mutex::new(Inner {
                entries: HashMap::new(),
                active: BinaryHeap::new(),
                backoff: BinaryHeap::new(),
                nominated: Nominated::new(),
                unschedulable: HashSet::new(),
                in_flight: HashSet::new(),
                next_seq: 0,
                next_timestamp: 0,
                closed: false,
                last_flush: Instant::now(),
            }),
            ready: Condvar::new(),
            sort,
            initial_backoff,
            max_backoff,
        }
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn backoff_for(&self, attempts: u32) -> Duration {
        let shift = attempts.saturating_sub(1).min(16);
        (self.initial_backoff * (1u32 << shift)).min(self.max_backoff)
    }

    fn push_active(&self, inner: &mut Inner, uid: &str) {
        inner.next_seq += 1;
        let seq = inner.next_seq;
        inner.unschedulable.remove(uid);
        inner.in_flight.remove(uid);
        if let Some(e) = inner.entries.get_mut(uid) {
            e.place = Place::Active;
            e.seq = seq;
            inner.active.push(ActiveItem { pod: e.pod.clone(), seq, sort: self.sort.clone() });
        }
        self.ready.notify_one();
    }

    fn push_backoff(&self, inner: &mut Inner, uid: &str, now: Instant) {
        inner.next_seq += 1;
        let seq = inner.next_seq;
        inner.unschedulable.remove(uid);
        inner.in_flight.remove(uid);
        if let Some(e) = inner.entries.get_mut(uid) {
            let ready = e.since + self.backoff_for(e.pod.attempts);
            if ready <= now {
                self.push_active(inner, uid);
                return;
            }
            e.place = Place::Backoff;
            e.seq = seq;
            inner.backoff.push(std::cmp::Reverse((ready, uid.to_string(), seq)));
        }
        self.ready.notify_one();
    }

    fn set_nominated(inner: &mut Inner, info: &Arc<PodInfo>) {
        for pods in inner.nominated.values_mut() {
            pods.retain(|p| p.uid != info.uid);
        }
        inner.nominated.retain(|_, pods| !pods.is_empty());
        let node = info.pod.status.as_ref().and_then(|s| s.nominated_node_name.as_deref()).unwrap_or("");
        if !node.is_empty() {
            inner.nominated.entry(node.to_string()).or_default().push(info.clone());
        }
    }

    /// A new or changed Pod that waits for a node.
    pub fn add_or_update(&self, info: Arc<PodInfo>) {
        let mut inner = self.lock();
        let inner = &mut *inner;
        Self::set_nominated(inner, &info);
        let uid = info.uid.clone();
        match inner.entries.get_mut(&uid) {
            None => {
                inner.next_timestamp += 1;
                let pod = QueuedPod { info, timestamp: inner.next_timestamp, attempts: 0 };
                inner.entries.insert(
                    uid.clone(),
                    Entry {
                        pod,
                        place: Place::Active,
                        seq: 0,
                        since: Instant::now(),
                        unschedulable_plugins: HashSet::new(),
                        moved_in_flight: false,
                    },
                );
                self.push_active(inner, &uid);
            }
            Some(e) => {
                let changed =
                    e.pod.info.pod.spec != info.pod.spec || e.pod.info.pod.metadata.labels != info.pod.metadata.labels;
                e.pod.info = info;
                match e.place {
                    Place::InFlight => e.moved_in_flight |= changed,
                    Place::Unschedulable if changed => {
                        let now = Instant::now();
                        self.push_backoff(inner, &uid, now);
                    }
                    Place::Active => self.push_active(inner, &uid),
                    _ => {}
                }
            }
        }
    }

    /// A Pod that no longer waits (deleted, or bound by someone else).
    pub fn delete(&self, uid: &str) {
        let mut inner = self.lock();
        inner.entries.remove(uid);
        inner.unschedulable.remove(uid);
        inner.in_flight.remove(uid);
        for pods in inner.nominated.values_mut() {
            pods.retain(|p| p.uid != uid);
        }
        inner.nominated.retain(|_, pods| !pods.is_empty());
    }

    pub fn contains(&self, uid: &str) -> bool {
        self.lock().entries.contains_key(uid)
    }

    pub fn uids(&self) -> Vec<String> {
        self.lock().entries.keys().cloned().collect()
    }

    /// Moves back-off Pods whose time has come, and Pods unschedulable for too long.
    fn flush(&self, inner: &mut Inner, now: Instant) {
        while let Some(std::cmp::Reverse((ready, uid, seq))) = inner.backoff.peek().cloned() {
            if ready > now {
                break;
            }
            inner.backoff.pop();
            if inner.entries.get(&uid).is_some_and(|e| e.seq == seq && e.place == Place::Backoff) {
                self.push_active(inner, &uid);
            }
        }
        if now.duration_since(inner.last_flush) >= Duration::from_secs(30) {
            inner.last_flush = now;
            let stale: Vec<String> = inner
                .unschedulable
                .iter()
                .filter(|u| inner.entries.get(*u).is_some_and(|e| now.duration_since(e.since) >= MAX_IN_UNSCHEDULABLE))
                .cloned()
                .collect();
            for uid in stale {
                self.push_active(inner, &uid);
            }
        }
    }

    /// The next Pod to schedule; blocks until there is one. `None` once closed.
    pub fn pop(&self) -> Option<QueuedPod> {
        let mut inner = self.lock();
        loop {
            if inner.closed {
                return None;
            }
            let now = Instant::now();
            self.flush(&mut inner, now);
            while let Some(item) = inner.active.pop() {
                let uid = item.pod.info.uid.clone();
                let Some(e) = inner.entries.get_mut(&uid) else { continue };
                if e.seq != item.seq || e.place != Place::Active {
                    continue;
                }
                e.place = Place::InFlight;
                e.moved_in_flight = false;
                e.pod.attempts += 1;
                let pod = e.pod.clone();
                inner.in_flight.insert(uid);
                return Some(pod);
            }
            let wait = inner
                .backoff
                .peek()
                .map(|std::cmp::Reverse((ready, _, _))| ready.saturating_duration_since(now))
                .unwrap_or(Duration::from_secs(1))
                .clamp(Duration::from_millis(1), Duration::from_secs(1));
            inner = self.ready.wait_timeout(inner, wait).unwrap_or_else(|e| e.into_inner()).0;
        }
    }

    /// A scheduled Pod leaves the queue.
    pub fn done(&self, uid: &str) {
        let mut inner = self.lock();
        if inner.entries.get(uid).is_some_and(|e| e.place == Place::InFlight) {
            inner.entries.remove(uid);
            inner.in_flight.remove(uid);
        }
    }

    /// A Pod that did not fit: unschedulable until an event may help, or straight to back-off
    /// if one came while it was being scheduled.
    pub fn unschedulable(&self, uid: &str, plugins: HashSet<&'static str>) {
        let mut inner = self.lock();
        let inner = &mut *inner;
        let now = Instant::now();
        let Some(e) = inner.entries.get_mut(uid) else { return };
        if e.place != Place::InFlight {
            return;
        }
        e.since = now;
        e.unschedulable_plugins = plugins;
        if e.moved_in_flight {
            self.push_backoff(inner, uid, now);
        } else {
            e.place = Place::Unschedulable;
            inner.in_flight.remove(uid);
            inner.unschedulable.insert(uid.to_string());
        }
    }

    /// A Pod that failed for another reason (an error, a failed binding): back-off.
    pub fn retry(&self, uid: &str) {
        let mut inner = self.lock();
        let now = Instant::now();
        if let Some(e) = inner.entries.get_mut(uid) {
            e.since = now;
            self.push_backoff(&mut inner, uid, now);
        }
    }

    /// A cluster event: unschedulable Pods it may help go to back-off (or active).
    pub fn move_on(&self, event: ClusterEvent) {
        let mut inner = self.lock();
        let inner = &mut *inner;
        let now = Instant::now();
        for uid in &inner.in_flight {
            if let Some(e) = inner.entries.get_mut(uid) {
                e.moved_in_flight = true;
            }
        }
        let moving: Vec<String> = inner
            .unschedulable
            .iter()
            .filter(|u| inner.entries.get(*u).is_some_and(|e| event.may_help(&e.unschedulable_plugins)))
            .cloned()
            .collect();
        for uid in moving {
            self.push_backoff(inner, &uid, now);
        }
    }

    /// Nominated Pods by node (for filters), copied.
    pub fn nominated(&self) -> Nominated {
        self.lock().nominated.clone()
    }

    /// Records that `info` is nominated to `node` (after preemption).
    pub fn nominate(&self, info: &Arc<PodInfo>, node: &str) {
        let mut inner = self.lock();
        for pods in inner.nominated.values_mut() {
            pods.retain(|p| p.uid != info.uid);
        }
        inner.nominated.entry(node.to_string()).or_default().push(info.clone());
    }

    pub fn clear_nomination(&self, uid: &str) {
        let mut inner = self.lock();
        for pods in inner.nominated.values_mut() {
            pods.retain(|p| p.uid != uid);
        }
        inner.nominated.retain(|_, pods| !pods.is_empty());
    }

    /// How many Pods wait (active, back-off, unschedulable, in flight).
    pub fn len(&self) -> usize {
        self.lock().entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Wakes `pop` for good.
    pub fn close(&self) {
        self.lock().closed = true;
        self.ready.notify_all();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plugins::queuesort::PrioritySort;
    use crate::plugins::testing::pod;
    use serde_json::json;

    fn q() -> SchedulingQueue {
        SchedulingQueue::new(Arc::new(PrioritySort), Duration::from_millis(20), Duration::from_millis(40))
    }

    fn p(name: &str, priority: i32) -> Arc<PodInfo> {
        Arc::new(pod(json!({"metadata": {"name": name}, "spec": {"priority": priority, "containers": []}})))
    }

    #[test]
    fn pops_by_priority_then_age() {
        let q = q();
        q.add_or_update(p("old-low", 0));
        q.add_or_update(p("high", 100));
        q.add_or_update(p("new-low", 0));
        let order: Vec<String> = (0..3).map(|_| q.pop().unwrap().info.name.clone()).collect();
        assert_eq!(order, ["high", "old-low", "new-low"]);
    }

    #[test]
    fn unschedulable_pods_wait_for_an_event_then_back_off() {
        let q = q();
        q.add_or_update(p("a", 0));
        let a = q.pop().unwrap();
        q.unschedulable(&a.info.uid, HashSet::from(["NodeResourcesFit"]));
        // An assigned Pod's arrival does not help a Pod that lacked resources.
        q.move_on(ClusterEvent::AssignedPodAdd);
        assert!(q.lock().active.is_empty() && q.lock().backoff.is_empty());
        q.move_on(ClusterEvent::NodeAdd);
        let again = q.pop().unwrap();
        assert_eq!(again.info.name, "a");
        assert_eq!(again.attempts, 2);
    }

    #[test]
    fn an_event_during_the_cycle_sends_the_pod_to_back_off() {
        let q = q();
        q.add_or_update(p("a", 0));
        let a = q.pop().unwrap();
        q.move_on(ClusterEvent::NodeUpdate);
        q.unschedulable(&a.info.uid, HashSet::new());
        assert_eq!(q.pop().unwrap().info.name, "a");
        q.done(&a.info.uid);
        assert!(q.is_empty());
    }

    #[test]
    fn deleted_pods_are_never_popped() {
        let q = q();
        q.add_or_update(p("a", 0));
        q.add_or_update(p("b", 0));
        q.delete("uid-a");
        assert_eq!(q.pop().unwrap().info.name, "b");
        q.close();
        assert!(q.pop().is_none());
    }
}
