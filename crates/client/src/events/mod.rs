//! Events as Kubernetes components record them (client-go's `tools/record`): core/v1 Events about
//! an object, which `kubectl describe` and `kubectl get events` show. A [`Recorder`] correlates
//! them ([`Correlator`]: a source may say 25 things about one object and then one per 5 minutes;
//! ten different messages of one reason become one "(combined from similar events)" Event; a
//! repeat raises the count of the Event sent before) and background tasks send them, so
//! recording never waits on the API server.

mod correlator;
#[cfg(test)]
mod tests;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use k8s_openapi::api::core::v1::{Event, ObjectReference};
use k8s_openapi::jiff::Timestamp;
use kube::api::{Patch, PatchParams, PostParams};
use kube::Resource;
use tokio::sync::mpsc;

use crate::raw;

pub use correlator::{event_name, new_event, Correlator, Source, Write};

/// An Event's type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventType {
    Normal,
    Warning,
}

impl EventType {
    pub fn as_str(self) -> &'static str {
        match self {
            EventType::Normal => "Normal",
            EventType::Warning => "Warning",
        }
    }
}

/// Records the Events of one source.
pub struct Recorder {
    source: Source,
    correlator: Mutex<Correlator>,
    seq: AtomicU64,
    /// To the sending tasks; all writes of one Event go through the same one, in order.
    lanes: Vec<mpsc::UnboundedSender<Write>>,
}

fn lane_of(name: &str, lanes: usize) -> usize {
    let hash = name.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| (h ^ b as u64).wrapping_mul(0x100_0000_01b3));
    (hash % lanes.max(1) as u64) as usize
}

impl Recorder {
    /// A recorder whose Events `lanes` background tasks send through `client` (each task one
    /// request at a time). Needs a Tokio runtime.
    pub fn new(client: kube::Client, source: Source, lanes: usize) -> Arc<Recorder> {
        let lanes = (0..lanes.max(1))
            .map(|_| {
                let (tx, mut rx) = mpsc::unbounded_channel::<Write>();
                let client = client.clone();
                tokio::spawn(async move {
                    while let Some(write) = rx.recv().await {
                        send(&client, write).await;
                    }
                });
                tx
            })
            .collect();
        Arc::new(Recorder { source, correlator: Mutex::new(Correlator::default()), seq: AtomicU64::new(0), lanes })
    }

    pub fn source(&self) -> &Source {
        &self.source
    }

    /// Records an Event about `object`.
    pub fn event(&self, object: ObjectReference, type_: EventType, reason: &str, message: impl Into<String>) {
        self.record(object, type_, reason, None, message.into());
    }

    /// Records an Event about `object` that names the action taken (`Binding`, `Scheduling`).
    pub fn event_with_action(
        &self,
        object: ObjectReference,
        type_: EventType,
        reason: &str,
        action: &str,
        message: impl Into<String>,
    ) {
        self.record(object, type_, reason, Some(action), message.into());
    }

    fn record(&self, object: ObjectReference, type_: EventType, reason: &str, action: Option<&str>, message: String) {
        let now = Timestamp::now();
        let seq = self.seq.fetch_add(1, Ordering::Relaxed);
        let mut event = new_event(&self.source, object, type_.as_str(), reason, message, now, seq);
        event.action = action.map(Into::into);
        let write = self.correlator.lock().unwrap_or_else(|e| e.into_inner()).correlate(event, now, seq);
        if let Some(write) = write {
            let lane = lane_of(write.event().metadata.name.as_deref().unwrap_or_default(), self.lanes.len());
            let _ = self.lanes[lane].send(write);
        }
    }
}

/// Sends one write; failures are logged, never retried (Events are best effort).
async fn send(client: &kube::Client, write: Write) {
    let event = write.event();
    let events =
        kube::core::Request::new(Event::url_path(&(), Some(event.metadata.namespace.as_deref().unwrap_or("default"))));
    let create = |e: &Event| raw::create(&events, &PostParams::default(), e);
    let result = match &write {
        Write::Create(e) => raw::send(client, create(e)).await,
        Write::Update(e) => {
            let name = e.metadata.name.as_deref().unwrap_or_default();
            let patch = serde_json::json!({"message": e.message, "count": e.count, "lastTimestamp": e.last_timestamp});
            match raw::send(client, events.patch(name, &PatchParams::default(), &Patch::Merge(&patch))).await {
                // Gone (deleted, or its create failed): create it as it is now.
                Err(kube::Error::Api(s)) if s.code == 404 => raw::send(client, create(e)).await,
                other => other,
            }
        }
    };
    if let Err(err) = result {
        tracing::debug!(error = %err, reason = ?event.reason, "recording an event failed");
    }
}
