//! Delivery of events to watchers: one broadcast channel per store, filtered per watcher.

use std::collections::VecDeque;
use std::sync::Arc;

use tokio::sync::broadcast;

use crate::types::{Event, Revision, WatchStream};
use crate::StoreError;

/// How many events a watcher may fall behind before it is dropped with [`StoreError::Lagged`].
const CAPACITY: usize = 1 << 16;

/// The sending side of a store's event feed.
pub(crate) struct Fanout {
    tx: broadcast::Sender<Arc<Event>>,
}

impl Fanout {
    pub(crate) fn new() -> Self {
        let (tx, _) = broadcast::channel(CAPACITY);
        Fanout { tx }
    }

    pub(crate) fn subscribe(&self) -> broadcast::Receiver<Arc<Event>> {
        self.tx.subscribe()
    }

    /// Publishes one event; events must be published in revision order.
    pub(crate) fn publish(&self, ev: Arc<Event>) {
        // No receivers is fine: nobody is watching.
        let _ = self.tx.send(ev);
    }

    /// Ends every current watch (their streams finish); new subscriptions work as before.
    pub(crate) fn reset(&mut self) {
        let (tx, _) = broadcast::channel(CAPACITY);
        self.tx = tx;
    }
}

struct State {
    history: VecDeque<Arc<Event>>,
    rx: broadcast::Receiver<Arc<Event>>,
    prefix: String,
    last: Revision,
    done: bool,
}

/// A watch: first `history` (already filtered, in order), then live events from `rx` under
/// `prefix` newer than both `after` and the history. `rx` must have been subscribed before the
/// history was read, so that nothing falls between the two.
pub(crate) fn watch_stream(
    history: Vec<Arc<Event>>,
    rx: broadcast::Receiver<Arc<Event>>,
    prefix: &str,
    after: Revision,
) -> WatchStream {
    let st = State { history: history.into(), rx, prefix: prefix.to_string(), last: after, done: false };
    Box::pin(futures::stream::unfold(st, |mut st| async move {
        if st.done {
            return None;
        }
        if let Some(ev) = st.history.pop_front() {
            st.last = st.last.max(ev.revision());
            return Some((Ok(ev), st));
        }
        loop {
            match st.rx.recv().await {
                Ok(ev) => {
                    if ev.revision() > st.last && ev.kv.key.starts_with(st.prefix.as_str()) {
                        st.last = ev.revision();
                        return Some((Ok(ev), st));
                    }
                }
                Err(broadcast::error::RecvError::Lagged(_)) => {
                    st.done = true;
                    return Some((Err(StoreError::Lagged), st));
                }
                Err(broadcast::error::RecvError::Closed) => return None,
            }
        }
    }))
}

/// The smallest string greater than every string that starts with `prefix`
/// (None: no upper bound).
pub(crate) fn prefix_end(prefix: &str) -> Option<String> {
    let mut bytes = prefix.as_bytes().to_vec();
    while let Some(last) = bytes.pop() {
        if last < 0x7f {
            bytes.push(last + 1);
            return String::from_utf8(bytes).ok();
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefix_end_increments_last_ascii_byte() {
        assert_eq!(prefix_end("/registry/pods/").as_deref(), Some("/registry/pods0"));
        assert_eq!(prefix_end("").as_deref(), None);
    }
}
