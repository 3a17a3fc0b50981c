//! Workers: each takes a key from the queue, reconciles it, and either forgets its failures
//! (requeueing it after a delay if the reconcile asked) or puts it back with back-off.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use tracing::Instrument;

use super::queue::WorkQueue;
use crate::ControllerError;

/// A controller's reconcile function over a key.
pub trait Reconcile: Send + Sync + 'static {
    /// The controller's name, for logs.
    fn name(&self) -> &'static str;

    /// The queue its keys come from.
    fn queue(&self) -> &Arc<WorkQueue>;

    /// Brings the object at `key` to its desired state; `Some(d)` asks to look again after `d`.
    fn reconcile(&self, key: &str) -> impl Future<Output = Result<Option<Duration>, ControllerError>> + Send;
}

/// Implements [`Reconcile`] for a controller with a `queue` field and a `sync(key)` method.
macro_rules! reconcile_by_sync {
    ($controller:ty, $name:literal) => {
        impl $crate::machinery::runner::Reconcile for $controller {
            fn name(&self) -> &'static str {
                $name
            }

            fn queue(&self) -> &std::sync::Arc<$crate::machinery::queue::WorkQueue> {
                &self.queue
            }

            async fn reconcile(&self, key: &str) -> Result<Option<std::time::Duration>, $crate::ControllerError> {
                self.sync(key).await
            }
        }
    };
}
pub(crate) use reconcile_by_sync;

/// Runs `workers` workers over the reconciler's queue until it shuts down.
pub async fn run<R: Reconcile>(reconciler: Arc<R>, workers: usize) {
    let queue = reconciler.queue().clone();
    let mut tasks = Vec::new();
    for _ in 0..workers.max(1) {
        let (r, q) = (reconciler.clone(), queue.clone());
        tasks.push(tokio::spawn(async move {
            while let Some(key) = q.get().await {
                let span = tracing::debug_span!("reconcile", controller = r.name(), key = %key);
                match r.reconcile(&key).instrument(span).await {
                    Ok(again) => {
                        q.forget(&key);
                        if let Some(d) = again {
                            q.add_after(key.clone(), d);
                        }
                    }
                    Err(e) => {
                        tracing::debug!(controller = r.name(), key = %key, error = %e, "reconcile failed; retrying");
                        q.add_rate_limited(key.clone());
                    }
                }
                q.done(&key);
            }
        }));
    }
    for t in tasks {
        let _ = t.await;
    }
}
