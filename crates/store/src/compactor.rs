//! Automatic compaction: like kube-apiserver, every interval compact to the revision that was
//! current one interval ago, so watches can resume across short disconnects while history
//! never grows without bound.

use std::sync::Arc;
use std::time::Duration;

use crate::Store;

/// Spawns the compaction loop on the current tokio runtime.
pub fn spawn_compactor(store: Arc<dyn Store>, interval: Duration) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut previous = None;
        let mut tick = tokio::time::interval(interval);
        tick.tick().await;
        loop {
            tick.tick().await;
            let current = match store.current_revision().await {
                Ok(r) => r,
                Err(e) => {
                    tracing::warn!(error = %e, "compactor: reading revision failed");
                    continue;
                }
            };
            if let Some(target) = previous {
                if let Err(e) = store.compact(target).await {
                    tracing::warn!(error = %e, revision = target, "compaction failed");
                } else {
                    tracing::debug!(revision = target, "compacted");
                }
            }
            previous = Some(current);
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::MemoryStore;
    use bytes::Bytes;

    #[tokio::test(start_paused = true)]
    async fn compacts_to_the_revision_of_the_previous_tick() {
        let store = Arc::new(MemoryStore::new());
        store.create("/a", Bytes::new()).await.unwrap();
        let _h = spawn_compactor(store.clone(), Duration::from_secs(300));
        tokio::time::sleep(Duration::from_secs(301)).await;
        store.create("/b", Bytes::new()).await.unwrap();
        assert_eq!(store.compacted_revision().await.unwrap(), 0);
        tokio::time::sleep(Duration::from_secs(300)).await;
        assert_eq!(store.compacted_revision().await.unwrap(), 1);
    }
}
