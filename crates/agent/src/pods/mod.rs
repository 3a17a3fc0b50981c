//! Running the Pods bound to this node: a watch on them (`spec.nodeName=<node>`) feeds one
//! [`worker`] per Pod; [`actions`] and [`status`] are the pure decisions, [`model`] the
//! runtime interface ([`real`] on skiff-runtime and skiff-net), [`convert`] and [`volumes`]
//! the translation of a Pod into runtime requests and host directories.

pub mod actions;
pub mod convert;
pub mod events;
pub mod index;
pub mod model;
pub mod prober;
pub mod probes;
pub mod pullsecrets;
pub mod real;
pub mod sources;
pub mod status;
pub mod volumes;
pub mod worker;

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;

use futures::StreamExt;
use k8s_openapi::api::core::v1::Pod;
use kube::api::Api;
use kube::runtime::watcher::{self, Event};
use kube::runtime::WatchStreamExt;
use tokio::sync::{mpsc, watch};

pub use worker::WorkerContext;

/// Watches the node's Pods and keeps one worker per Pod until the process ends.
pub async fn run(ctx: Arc<WorkerContext>, node: String) {
    let api: Api<Pod> = Api::all(ctx.client.clone());
    let config = watcher::Config::default().fields(&format!("spec.nodeName={node}"));
    let mut events = watcher::watcher(api, config).default_backoff().boxed();
    let mut workers: HashMap<String, watch::Sender<Option<Pod>>> = HashMap::new();
    let (done_tx, mut done_rx) = mpsc::unbounded_channel::<String>();
    let mut listed = BTreeSet::new();
    let spawn = |uid: String, pod: Option<Pod>, workers: &mut HashMap<String, watch::Sender<Option<Pod>>>| {
        let (tx, rx) = watch::channel(pod);
        workers.insert(uid.clone(), tx);
        let (ctx, done) = (ctx.clone(), done_tx.clone());
        tokio::spawn(async move {
            worker::run(ctx, uid.clone(), rx).await;
            let _ = done.send(uid);
        });
    };
    loop {
        tokio::select! {
            Some(uid) = done_rx.recv() => {
                workers.remove(&uid);
            }
            event = events.next() => {
                let Some(event) = event else { return };
                match event {
                    Ok(Event::Init) => listed.clear(),
                    Ok(Event::Apply(pod)) | Ok(Event::InitApply(pod)) => {
                        let uid = pod.metadata.uid.clone().unwrap_or_default();
                        listed.insert(uid.clone());
                        match workers.get(&uid) {
                            Some(tx) => { tx.send_replace(Some(pod)); }
                            None => spawn(uid, Some(pod), &mut workers),
                        }
                    }
                    Ok(Event::Delete(pod)) => {
                        let uid = pod.metadata.uid.clone().unwrap_or_default();
                        match workers.get(&uid) {
                            Some(tx) => { tx.send_replace(None); }
                            None => spawn(uid, None, &mut workers),
                        }
                    }
                    Ok(Event::InitDone) => {
                        // Pods that vanished while the watch was down, and leftovers on the node.
                        for (uid, tx) in &workers {
                            if !listed.contains(uid) {
                                tx.send_replace(None);
                            }
                        }
                        let runtime = ctx.runtime.clone();
                        let on_node = tokio::task::spawn_blocking(move || runtime.pods()).await;
                        for uid in on_node.ok().and_then(Result::ok).unwrap_or_default() {
                            if !listed.contains(&uid) && !workers.contains_key(&uid) {
                                tracing::info!(uid, "removing a Pod that is no longer bound here");
                                spawn(uid, None, &mut workers);
                            }
                        }
                    }
                    Err(e) => tracing::warn!(error = %e, "watching Pods"),
                }
            }
        }
    }
}
