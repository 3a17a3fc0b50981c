//! The scheduling loop (`ScheduleOne`): pop a Pod, run the algorithm on a fresh snapshot,
//! assume it on the chosen node and hand the binding to the async runtime; or record why it
//! does not fit (and carry out what preemption decided).

use std::collections::HashMap;
use std::sync::Arc;

use skiff_client::events::EventType;
use tokio::runtime::Handle;
use tokio::sync::Semaphore;

use super::{Shared, Writer};
use crate::framework::runtime::Framework;
use crate::framework::{Code, CycleState, PodInfo, Snapshot};
use crate::schedule::{Algorithm, ScheduleError};

pub(super) struct Loop {
    pub shared: Arc<Shared>,
    pub frameworks: HashMap<String, Arc<Framework>>,
    pub writers: HashMap<String, Writer>,
    pub handle: Handle,
    pub binds: Arc<Semaphore>,
    pub percentage_of_nodes_to_score: i32,
}

fn scheduler_name(pod: &PodInfo) -> &str {
    pod.pod.spec.as_ref().and_then(|s| s.scheduler_name.as_deref()).unwrap_or("default-scheduler")
}

impl Loop {
    pub fn run(self) {
        let mut snapshot = Snapshot::default();
        let mut algorithm = Algorithm::new(self.percentage_of_nodes_to_score);
        while let Some(queued) = self.shared.queue.pop() {
            let info = queued.info;
            let name = scheduler_name(&info).to_string();
            let (Some(fw), Some(writer)) = (self.frameworks.get(&name), self.writers.get(&name)) else {
                self.shared.queue.delete(&info.uid);
                continue;
            };
            let _span = tracing::debug_span!("schedule", pod = %info.key(), attempt = queued.attempts).entered();
            self.shared.lock_cache().update_snapshot(&mut snapshot);
            let nominated = self.shared.queue.nominated();
            let mut state = CycleState::default();
            match algorithm.schedule(fw, &mut state, &info, &snapshot, &nominated) {
                Ok(result) => self.assume_and_bind(fw, writer, state, info, result.node),
                Err(e) => self.failed(writer, &info, e, &snapshot),
            }
        }
    }

    fn assume_and_bind(
        &self,
        fw: &Arc<Framework>,
        writer: &Writer,
        mut state: CycleState,
        info: Arc<PodInfo>,
        node: String,
    ) {
        let reserved = fw.run_reserve(&mut state, &info, &node);
        if !reserved.is_success() {
            self.failed(writer, &info, ScheduleError::Internal(reserved), &Snapshot::default());
            return;
        }
        let (permit, wait) = fw.run_permit(&state, &info, &node);
        if permit.is_rejected() || permit.code() == Code::Error {
            fw.run_unreserve(&mut state, &info, &node);
            self.failed(writer, &info, ScheduleError::Internal(permit), &Snapshot::default());
            return;
        }
        self.shared.lock_cache().assume(info.clone(), &node);
        self.shared.queue.clear_nomination(&info.uid);
        let Ok(permit_to_bind) = self.handle.block_on(self.binds.clone().acquire_owned()) else { return };
        let (shared, fw, writer) = (self.shared.clone(), fw.clone(), writer.clone());
        self.handle.spawn(async move {
            let _permit = permit_to_bind;
            let status = if permit.code() == Code::Wait {
                // Nothing in-tree allows a waiting Pod: it is rejected when the wait ends.
                tokio::time::sleep(wait).await;
                crate::framework::Status::unschedulable("rejected due to timeout after waiting at permit")
            } else {
                fw.run_bind(&info, &node).await
            };
            if status.is_success() {
                shared.queue.done(&info.uid);
                let msg = format!("Successfully assigned {}/{} to {node}", info.namespace, info.name);
                writer.event(&info, EventType::Normal, "Scheduled", "Binding", &msg);
                return;
            }
            shared.lock_cache().forget(&info.uid);
            fw.run_unreserve(&mut state, &info, &node);
            let msg = format!("Binding rejected: {}", status.message());
            tracing::debug!(pod = %info.key(), %node, error = %msg, "binding failed");
            writer.event(&info, EventType::Warning, "FailedScheduling", "Scheduling", &msg);
            writer.mark_unschedulable(&info, "SchedulerError", &msg, None).await;
            shared.queue.retry(&info.uid);
        });
    }

    /// Records a failed cycle: the queue, the Event, the PodScheduled condition, and
    /// preemption's nomination and evictions.
    fn failed(&self, writer: &Writer, info: &Arc<PodInfo>, error: ScheduleError, snapshot: &Snapshot) {
        let message = error.message();
        tracing::debug!(pod = %info.key(), %message, "unschedulable");
        let (reason, nominated) = match &error {
            ScheduleError::Fit(fit) => {
                let nominated = match &fit.preemption {
                    Some(p) => {
                        let node = p.nominated_node.clone().unwrap_or_default();
                        self.shared.queue.nominate(info, &node);
                        let victims: Vec<_> = p
                            .victims
                            .iter()
                            .map(|v| {
                                let found =
                                    snapshot.get(&node).and_then(|n| n.pods.iter().find(|p| p.uid == v.uid).cloned());
                                (v.clone(), found)
                            })
                            .collect();
                        let (writer, preemptor, at) = (writer.clone(), info.clone(), node.clone());
                        self.handle.spawn(async move {
                            for (victim, found) in victims {
                                writer.preempt(&victim, found.as_ref(), &preemptor, &at).await;
                            }
                        });
                        Some(node)
                    }
                    None => None,
                };
                self.shared.queue.unschedulable(&info.uid, fit.unschedulable_plugins.clone());
                ("Unschedulable", nominated)
            }
            ScheduleError::NoNodes => {
                self.shared.queue.unschedulable(&info.uid, Default::default());
                ("Unschedulable", None)
            }
            ScheduleError::Internal(_) => {
                self.shared.queue.retry(&info.uid);
                ("SchedulerError", None)
            }
        };
        writer.event(info, EventType::Warning, "FailedScheduling", "Scheduling", &message);
        let (writer, info) = (writer.clone(), info.clone());
        self.handle.spawn(async move {
            writer.mark_unschedulable(&info, reason, &message, nominated.as_deref()).await;
        });
    }
}
