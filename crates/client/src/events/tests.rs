use k8s_openapi::api::core::v1::{Event, ObjectReference};
use k8s_openapi::jiff::Timestamp;

use super::*;

fn source() -> Source {
    Source { component: "replicaset-controller".into(), host: None }
}

fn rs(name: &str) -> ObjectReference {
    ObjectReference {
        api_version: Some("apps/v1".into()),
        kind: Some("ReplicaSet".into()),
        name: Some(name.into()),
        namespace: Some("prod".into()),
        uid: Some(format!("uid-{name}")),
        ..Default::default()
    }
}

fn at(secs: i64) -> Timestamp {
    Timestamp::from_second(1_800_000_000 + secs).unwrap()
}

struct Run {
    correlator: Correlator,
    seq: u64,
}

impl Run {
    fn new() -> Run {
        Run { correlator: Correlator::default(), seq: 0 }
    }

    fn say(&mut self, object: &str, reason: &str, message: &str, secs: i64) -> Option<Write> {
        self.seq += 1;
        let e = new_event(&source(), rs(object), "Normal", reason, message.into(), at(secs), self.seq);
        self.correlator.correlate(e, at(secs), self.seq)
    }
}

fn created(w: Option<Write>) -> Event {
    match w {
        Some(Write::Create(e)) => *e,
        other => panic!("expected a create, got {other:?}"),
    }
}

fn updated(w: Option<Write>) -> Event {
    match w {
        Some(Write::Update(e)) => *e,
        other => panic!("expected an update, got {other:?}"),
    }
}

#[test]
fn a_new_event_names_its_object_and_source() {
    let e = new_event(&source(), rs("web"), "Normal", "SuccessfulCreate", "Created pod: web-x".into(), at(0), 0);
    assert!(e.metadata.name.as_deref().unwrap().starts_with("web."));
    assert_eq!(e.metadata.namespace.as_deref(), Some("prod"));
    assert_eq!(e.source.as_ref().unwrap().component.as_deref(), Some("replicaset-controller"));
    assert_eq!(e.reporting_component.as_deref(), Some("replicaset-controller"));
    assert_eq!(e.count, Some(1));
    assert_eq!((e.first_timestamp.unwrap().0, e.last_timestamp.unwrap().0), (at(0), at(0)));
    // Events about cluster-scoped objects (Nodes) live in `default`.
    let node = ObjectReference { kind: Some("Node".into()), name: Some("a".into()), ..Default::default() };
    let e = new_event(&source(), node, "Normal", "NodeNotReady", "x".into(), at(0), 0);
    assert_eq!(e.metadata.namespace.as_deref(), Some("default"));
}

#[test]
fn a_repeat_raises_the_count_of_the_first_event() {
    let mut run = Run::new();
    let first = created(run.say("web", "BackOff", "Back-off", 0));
    let second = updated(run.say("web", "BackOff", "Back-off", 5));
    assert_eq!(second.metadata.name, first.metadata.name);
    assert_eq!(second.count, Some(2));
    assert_eq!(second.first_timestamp, first.first_timestamp);
    assert_eq!(second.last_timestamp.unwrap().0, at(5));
    assert_eq!(updated(run.say("web", "BackOff", "Back-off", 6)).count, Some(3));
    // Another message is another Event.
    created(run.say("web", "BackOff", "Back-off again", 7));
}

#[test]
fn ten_messages_of_one_reason_are_combined() {
    let mut run = Run::new();
    for i in 0..9 {
        let e = created(run.say("web", "SuccessfulCreate", &format!("Created pod: web-{i}"), 0));
        assert_eq!(e.message.as_deref(), Some(format!("Created pod: web-{i}").as_str()));
    }
    let combined = created(run.say("web", "SuccessfulCreate", "Created pod: web-9", 1));
    assert_eq!(combined.message.as_deref(), Some("(combined from similar events): Created pod: web-9"));
    let next = updated(run.say("web", "SuccessfulCreate", "Created pod: web-10", 2));
    assert_eq!(next.metadata.name, combined.metadata.name);
    assert_eq!(next.count, Some(2));
    assert_eq!(next.message.as_deref(), Some("(combined from similar events): Created pod: web-10"));
    // Another reason, or another object, is not combined with these.
    created(run.say("web", "SuccessfulDelete", "Deleted pod: web-0", 3));
    created(run.say("api", "SuccessfulCreate", "Created pod: api-0", 3));
    // Ten minutes later the group starts again.
    let later = created(run.say("web", "SuccessfulCreate", "Created pod: web-11", 700));
    assert_eq!(later.message.as_deref(), Some("Created pod: web-11"));
}

#[test]
fn a_source_says_25_things_about_an_object_then_one_per_five_minutes() {
    let mut run = Run::new();
    let sent = (0..40).filter(|i| run.say("web", "SuccessfulCreate", &format!("Created pod: web-{i}"), 0).is_some());
    assert_eq!(sent.count(), 25);
    assert!(run.say("web", "SuccessfulCreate", "Created pod: web-x", 100).is_none());
    assert!(run.say("web", "SuccessfulCreate", "Created pod: web-y", 301).is_some());
    assert!(run.say("web", "SuccessfulCreate", "Created pod: web-z", 302).is_none());
    // Other objects have their own allowance.
    assert!(run.say("api", "SuccessfulCreate", "Created pod: api-0", 302).is_some());
}

#[test]
fn event_names_stay_apart_within_one_instant() {
    let a = event_name(&rs("web"), at(0), 1);
    let b = event_name(&rs("web"), at(0), 2);
    assert_ne!(a, b);
}
