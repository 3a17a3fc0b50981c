//! The work queue of client-go (`workqueue`): keys wait in FIFO order, a key is never handed
//! to two workers at once (one added while it is being processed waits until `done`), the same
//! key added twice waits once, and failed keys come back after a per-key exponential back-off
//! (5 ms doubling up to 1,000 s, client-go's default controller rate limiter).

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::Notify;
use tokio::time::Instant;

const BASE_DELAY: Duration = Duration::from_millis(5);
const MAX_DELAY: Duration = Duration::from_secs(1000);

#[derive(Default)]
struct State {
    queue: VecDeque<String>,
    dirty: HashSet<String>,
    processing: HashSet<String>,
    failures: HashMap<String, u32>,
    /// Keys waiting for a delay, with the earliest time they are due.
    waiting: HashMap<String, Instant>,
    shut_down: bool,
}

/// A deduplicating queue of keys.
#[derive(Default)]
pub struct WorkQueue {
    state: Mutex<State>,
    notify: Notify,
}

impl WorkQueue {
    pub fn new() -> Arc<WorkQueue> {
        Arc::new(WorkQueue::default())
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Queues `key` unless it is already waiting.
    pub fn add(&self, key: impl Into<String>) {
        let key = key.into();
        let mut st = self.lock();
        if st.shut_down || !st.dirty.insert(key.clone()) {
            return;
        }
        if !st.processing.contains(&key) {
            st.queue.push_back(key);
            drop(st);
            self.notify.notify_one();
        }
    }

    /// Queues `key` after `delay`; a key already due earlier keeps its earlier time.
    pub fn add_after(self: &Arc<Self>, key: impl Into<String>, delay: Duration) {
        let key = key.into();
        if delay.is_zero() {
            return self.add(key);
        }
        let at = Instant::now() + delay;
        {
            let mut st = self.lock();
            if st.waiting.get(&key).is_some_and(|due| *due <= at) {
                return;
            }
            st.waiting.insert(key.clone(), at);
        }
        let q = self.clone();
        tokio::spawn(async move {
            tokio::time::sleep_until(at).await;
            let due = {
                let mut st = q.lock();
                let ours = st.waiting.get(&key) == Some(&at);
                if ours {
                    st.waiting.remove(&key);
                }
                ours
            };
            if due {
                q.add(key);
            }
        });
    }

    /// Queues `key` after its back-off, which doubles with each failure until [`forget`].
    ///
    /// [`forget`]: WorkQueue::forget
    pub fn add_rate_limited(self: &Arc<Self>, key: impl Into<String>) {
        let key = key.into();
        let failures = {
            let mut st = self.lock();
            let n = st.failures.entry(key.clone()).or_default();
            *n += 1;
            *n
        };
        self.add_after(key, backoff(failures));
    }

    /// Clears `key`'s failure count.
    pub fn forget(&self, key: &str) {
        self.lock().failures.remove(key);
    }

    /// How many times `key` failed since it was last forgotten.
    pub fn failures(&self, key: &str) -> u32 {
        self.lock().failures.get(key).copied().unwrap_or(0)
    }

    /// The next key, marked as being processed; None once shut down.
    pub async fn get(&self) -> Option<String> {
        loop {
            let notified = self.notify.notified();
            {
                let mut st = self.lock();
                if let Some(key) = st.queue.pop_front() {
                    st.dirty.remove(&key);
                    st.processing.insert(key.clone());
                    if !st.queue.is_empty() {
                        self.notify.notify_one();
                    }
                    return Some(key);
                }
                if st.shut_down {
                    return None;
                }
            }
            notified.await;
        }
    }

    /// Ends the processing of `key`; if it was added meanwhile, it is queued again.
    pub fn done(&self, key: &str) {
        let mut st = self.lock();
        st.processing.remove(key);
        if st.dirty.contains(key) {
            st.queue.push_back(key.to_string());
            drop(st);
            self.notify.notify_one();
        }
    }

    /// Keys waiting (not being processed).
    pub fn len(&self) -> usize {
        self.lock().queue.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Stops handing out keys; waiting workers get None.
    pub fn shut_down(&self) {
        self.lock().shut_down = true;
        self.notify.notify_waiters();
    }
}

/// The back-off after `failures` failures.
pub fn backoff(failures: u32) -> Duration {
    let exp = failures.saturating_sub(1).min(30);
    BASE_DELAY.saturating_mul(1u32 << exp).min(MAX_DELAY)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_key_waits_once_and_never_runs_twice_at_once() {
        let q = WorkQueue::new();
        q.add("a");
        q.add("b");
        q.add("a");
        assert_eq!(q.len(), 2);
        let a = q.get().await.unwrap();
        assert_eq!(a, "a");
        // Added while being processed: held back until done.
        q.add("a");
        assert_eq!(q.get().await.unwrap(), "b");
        assert!(q.is_empty());
        q.done("a");
        assert_eq!(q.get().await.unwrap(), "a");
        q.done("a");
        q.done("b");
        assert!(q.is_empty());
    }

    #[tokio::test]
    async fn waiting_workers_wake_for_new_keys_and_for_shutdown() {
        let q = WorkQueue::new();
        let q2 = q.clone();
        let worker = tokio::spawn(async move { q2.get().await });
        tokio::task::yield_now().await;
        q.add("x");
        assert_eq!(worker.await.unwrap().as_deref(), Some("x"));
        let q3 = q.clone();
        let idle = tokio::spawn(async move { q3.get().await });
        tokio::task::yield_now().await;
        q.shut_down();
        assert_eq!(idle.await.unwrap(), None);
    }

    #[tokio::test(start_paused = true)]
    async fn failures_back_off_exponentially_until_forgotten() {
        assert_eq!(backoff(1), Duration::from_millis(5));
        assert_eq!(backoff(3), Duration::from_millis(20));
        assert_eq!(backoff(40), MAX_DELAY);
        let q = WorkQueue::new();
        q.add_rate_limited("k");
        q.add_rate_limited("k");
        assert_eq!(q.failures("k"), 2);
        assert!(q.is_empty());
        tokio::time::sleep(Duration::from_millis(11)).await;
        assert_eq!(q.get().await.as_deref(), Some("k"));
        q.forget("k");
        assert_eq!(q.failures("k"), 0);
    }

    #[tokio::test(start_paused = true)]
    async fn a_delayed_key_is_due_at_its_earliest_time_and_comes_once() {
        let q = WorkQueue::new();
        q.add_after("k", Duration::from_secs(60));
        q.add_after("k", Duration::from_secs(10));
        q.add_after("k", Duration::from_secs(30));
        tokio::time::sleep(Duration::from_secs(11)).await;
        assert_eq!(q.len(), 1);
        assert_eq!(q.get().await.as_deref(), Some("k"));
        q.done("k");
        tokio::time::sleep(Duration::from_secs(60)).await;
        assert!(q.is_empty(), "the later times were covered by the earlier one");
    }
}
