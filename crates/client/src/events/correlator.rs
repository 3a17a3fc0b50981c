//! client-go's `EventCorrelator`, as pure logic over a clock passed in: which Events are
//! dropped as spam, which are folded into one "(combined from similar events)" Event, and which
//! only raise the count of an Event already sent.

use std::collections::{HashMap, HashSet};

use k8s_openapi::api::core::v1::{Event, ObjectReference};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, Time};
use k8s_openapi::jiff::{SignedDuration, Timestamp};

/// Events a source may send about one object at once…
const SPAM_BURST: f64 = 25.0;
/// …and how fast that allowance comes back: one Event per 5 minutes.
const SPAM_PER_SECOND: f64 = 1.0 / 300.0;
/// Distinct messages of one reason about one object before they are combined.
const AGGREGATE_MAX_EVENTS: usize = 10;
/// Similar Events further apart than this start a new group.
const AGGREGATE_INTERVAL: SignedDuration = SignedDuration::from_secs(600);
/// Entries each cache keeps (client-go's LRU size); a full cache starts over.
const MAX_ENTRIES: usize = 4096;

/// What to send for one occurrence.
#[derive(Debug, Clone, PartialEq)]
pub enum Write {
    /// A new Event.
    Create(Box<Event>),
    /// An Event sent before, with a new count, message and lastTimestamp (the whole Event, to
    /// create again if it has gone).
    Update(Box<Event>),
}

impl Write {
    pub fn event(&self) -> &Event {
        match self {
            Write::Create(e) | Write::Update(e) => e,
        }
    }
}

struct Bucket {
    tokens: f64,
    at: Timestamp,
}

struct Group {
    messages: HashSet<String>,
    last: Timestamp,
}

struct Seen {
    name: String,
    count: i32,
    first: Option<Time>,
}

/// The state of one recorder's Events.
#[derive(Default)]
pub struct Correlator {
    spam: HashMap<String, Bucket>,
    groups: HashMap<String, Group>,
    seen: HashMap<String, Seen>,
}

fn insert_bounded<V>(map: &mut HashMap<String, V>, key: String, value: V) {
    if map.len() >= MAX_ENTRIES && !map.contains_key(&key) {
        map.clear();
    }
    map.insert(key, value);
}

fn object_key(e: &Event) -> String {
    let source = e.source.as_ref();
    let o = &e.involved_object;
    let parts = [
        source.and_then(|s| s.component.as_deref()),
        source.and_then(|s| s.host.as_deref()),
        o.kind.as_deref(),
        o.namespace.as_deref(),
        o.name.as_deref(),
        o.uid.as_deref(),
        o.api_version.as_deref(),
    ];
    parts.map(Option::unwrap_or_default).join("\u{0}")
}

fn str_of(s: &Option<String>) -> &str {
    s.as_deref().unwrap_or_default()
}

/// The name of a new Event about `object`: `<name>.<hex nanoseconds>`, as client-go names them
/// (`seq` keeps two Events of one instant apart).
pub fn event_name(object: &ObjectReference, now: Timestamp, seq: u64) -> String {
    format!("{}.{:x}", str_of(&object.name), (now.as_nanosecond() as u64).wrapping_add(seq))
}

impl Correlator {
    /// The source-and-object spam filter: a token bucket per pair. False drops the Event.
    fn allow(&mut self, key: &str, now: Timestamp) -> bool {
        let bucket = match self.spam.get_mut(key) {
            Some(b) => b,
            None => {
                insert_bounded(&mut self.spam, key.to_string(), Bucket { tokens: SPAM_BURST, at: now });
                self.spam.get_mut(key).expect("just inserted")
            }
        };
        let elapsed = now.duration_since(bucket.at).as_secs_f64().max(0.0);
        bucket.tokens = (bucket.tokens + elapsed * SPAM_PER_SECOND).min(SPAM_BURST);
        bucket.at = now;
        if bucket.tokens < 1.0 {
            return false;
        }
        bucket.tokens -= 1.0;
        true
    }

    /// Decides what to send for `event` (a fresh Event with count 1 and both timestamps `now`),
    /// or None when it is dropped as spam.
    pub fn correlate(&mut self, mut event: Event, now: Timestamp, seq: u64) -> Option<Write> {
        let object = object_key(&event);
        if !self.allow(&object, now) {
            return None;
        }
        let group_key = [
            object.as_str(),
            str_of(&event.type_),
            str_of(&event.reason),
            str_of(&event.reporting_component),
            str_of(&event.reporting_instance),
        ]
        .join("\u{0}");
        let message = str_of(&event.message).to_string();
        let group = match self.groups.get_mut(&group_key) {
            Some(g) if now.duration_since(g.last) <= AGGREGATE_INTERVAL => g,
            _ => {
                insert_bounded(&mut self.groups, group_key.clone(), Group { messages: HashSet::new(), last: now });
                self.groups.get_mut(&group_key).expect("just inserted")
            }
        };
        group.messages.insert(message.clone());
        group.last = now;
        let key = if group.messages.len() < AGGREGATE_MAX_EVENTS {
            [group_key.as_str(), str_of(&event.involved_object.field_path), &message].join("\u{0}")
        } else {
            // Keep the set at its limit; from now on these Events are one, whatever their message.
            group.messages.remove(&message);
            event.message = Some(format!("(combined from similar events): {message}"));
            event.metadata.name = Some(event_name(&event.involved_object, now, seq));
            group_key
        };
        match self.seen.get_mut(&key) {
            Some(seen) => {
                seen.count += 1;
                event.metadata.name = Some(seen.name.clone());
                event.first_timestamp = seen.first.clone();
                event.count = Some(seen.count);
                Some(Write::Update(Box::new(event)))
            }
            None => {
                let name = event.metadata.name.clone().unwrap_or_default();
                insert_bounded(&mut self.seen, key, Seen { name, count: 1, first: event.first_timestamp.clone() });
                Some(Write::Create(Box::new(event)))
            }
        }
    }
}

/// Who records Events: `source.component` and `reportingComponent` (`default-scheduler`,
/// `replicaset-controller`, `kubelet`), and `source.host` and `reportingInstance` (the node).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Source {
    pub component: String,
    pub host: Option<String>,
}

/// A fresh Event (count 1, both timestamps `now`) about `object`.
pub fn new_event(
    source: &Source,
    object: ObjectReference,
    type_: &str,
    reason: &str,
    message: String,
    now: Timestamp,
    seq: u64,
) -> Event {
    let namespace = object.namespace.clone().filter(|n| !n.is_empty()).unwrap_or_else(|| "default".into());
    Event {
        metadata: ObjectMeta {
            name: Some(event_name(&object, now, seq)),
            namespace: Some(namespace),
            ..Default::default()
        },
        involved_object: object,
        reason: Some(reason.into()),
        message: Some(message),
        type_: Some(type_.into()),
        source: Some(k8s_openapi::api::core::v1::EventSource {
            component: Some(source.component.clone()),
            host: source.host.clone(),
        }),
        first_timestamp: Some(Time(now)),
        last_timestamp: Some(Time(now)),
        count: Some(1),
        reporting_component: Some(source.component.clone()),
        reporting_instance: source.host.clone(),
        ..Default::default()
    }
}
