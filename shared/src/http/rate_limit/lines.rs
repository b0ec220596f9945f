//! [`Lines`]: the callers waiting for a bucket's permits, served in arrival order.
//!
//! governor answers "may a call go now, and if not, when?" but does not hold a place for a
//! caller: with several calls waiting for one bucket (the batch runner runs records
//! concurrently), all would wake for the same permit, one would win and the others would sleep
//! again, in no particular order, each unable to tell up front whether its turn comes before
//! the cutoff. A line per bucket fixes both: a caller that cannot go at once joins the line
//! behind the ones already waiting, knows its turn within one interval per caller ahead, and
//! only the caller at the front asks governor. Lines exist only while someone waits.

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

/// The waiting lines of a limiter, one per bucket key.
#[derive(Debug)]
pub(super) struct Lines<K> {
    lines: Mutex<HashMap<K, Line>>,
}

#[derive(Debug)]
struct Line {
    /// Held by the caller at the front; tokio's mutex is fair, so it is handed on in the
    /// order callers asked for it.
    front: Arc<tokio::sync::Mutex<()>>,
    /// Callers in the line, the one at the front included.
    waiting: usize,
}

/// How a caller enters: through at once, or into the line.
#[derive(Debug)]
pub(super) enum Entry<'a, K: Hash + Eq + Clone> {
    /// Nobody was waiting and the bucket had a permit: it is taken.
    Now,
    /// In the line, with the callers that were ahead on entering.
    Queued {
        /// The caller's place; leaving (dropping it) gives it up.
        place: Place<'a, K>,
        /// Callers ahead.
        ahead: usize,
        /// When nobody was ahead: how long until the bucket's next permit.
        wait: Option<Duration>,
    },
}

impl<K: Hash + Eq + Clone> Lines<K> {
    pub(super) fn new() -> Self {
        Self {
            lines: Mutex::new(HashMap::new()),
        }
    }

    /// Lets the caller through if nobody waits for `key` and `try_now` takes a permit;
    /// otherwise puts it at the back of `key`'s line. `try_now` answers the wait for the next
    /// permit when there is none now.
    pub(super) fn enter(
        &self,
        key: &K,
        try_now: impl FnOnce() -> Result<(), Duration>,
    ) -> Entry<'_, K> {
        let mut lines = self.lock();
        let wait = match lines.get(key) {
            Some(_) => None,
            None => match try_now() {
                Ok(()) => return Entry::Now,
                Err(wait) => Some(wait),
            },
        };
        let line = lines.entry(key.clone()).or_insert_with(|| Line {
            front: Arc::new(tokio::sync::Mutex::new(())),
            waiting: 0,
        });
        let ahead = line.waiting;
        line.waiting += 1;
        Entry::Queued {
            place: Place {
                lines: self,
                key: key.clone(),
                front: line.front.clone(),
            },
            ahead,
            wait,
        }
    }

    /// Callers waiting for `key`.
    pub(super) fn waiting(&self, key: &K) -> usize {
        self.lock().get(key).map_or(0, |line| line.waiting)
    }

    /// Keys with someone waiting.
    #[cfg(test)]
    pub(super) fn len(&self) -> usize {
        self.lock().len()
    }

    fn lock(&self) -> MutexGuard<'_, HashMap<K, Line>> {
        // Nothing panics while the map is held; a poisoned map is still consistent.
        self.lines.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// A caller's place in a line.
#[derive(Debug)]
pub(super) struct Place<'a, K: Hash + Eq + Clone> {
    lines: &'a Lines<K>,
    key: K,
    front: Arc<tokio::sync::Mutex<()>>,
}

impl<K: Hash + Eq + Clone> Place<'_, K> {
    /// Waits until every caller ahead has gone or left; the caller is at the front while it
    /// holds the guard.
    pub(super) async fn front(&self) -> tokio::sync::MutexGuard<'_, ()> {
        self.front.lock().await
    }

    /// Callers in this line now, this one included.
    pub(super) fn waiting(&self) -> usize {
        self.lines.waiting(&self.key)
    }
}

impl<K: Hash + Eq + Clone> Drop for Place<'_, K> {
    /// Leaves the line (through or given up, or the call dropped), removing it when empty.
    fn drop(&mut self) {
        let mut lines = self.lines.lock();
        if let Some(line) = lines.get_mut(&self.key) {
            line.waiting = line.waiting.saturating_sub(1);
            if line.waiting == 0 {
                lines.remove(&self.key);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn queued<K: Hash + Eq + Clone>(
        entry: Entry<'_, K>,
    ) -> (Place<'_, K>, usize, Option<Duration>) {
        match entry {
            Entry::Queued { place, ahead, wait } => (place, ahead, wait),
            Entry::Now => panic!("expected to queue"),
        }
    }

    #[test]
    fn goes_at_once_only_when_nobody_waits_and_a_permit_is_free() {
        let lines = Lines::new();
        assert!(matches!(lines.enter(&"a", || Ok(())), Entry::Now));
        assert_eq!(lines.len(), 0, "no line for a caller that went at once");

        let (first, ahead, wait) = queued(lines.enter(&"a", || Err(Duration::from_secs(1))));
        assert_eq!((ahead, wait), (0, Some(Duration::from_secs(1))));
        // With a line, a newcomer queues without asking the bucket, even if it has a permit.
        let (second, ahead, wait) = queued(lines.enter(&"a", || panic!("must not jump the line")));
        assert_eq!((ahead, wait), (1, None));
        assert_eq!(second.waiting(), 2);
        // Another key has its own line.
        assert!(matches!(lines.enter(&"b", || Ok(())), Entry::Now));

        drop(first);
        assert_eq!(second.waiting(), 1);
        drop(second);
        assert_eq!(lines.len(), 0, "an empty line is removed");
        assert_eq!(lines.waiting(&"a"), 0);
    }

    #[tokio::test]
    async fn the_front_is_handed_on_in_arrival_order() {
        let lines = Lines::new();
        let (first, _, _) = queued(lines.enter(&"a", || Err(Duration::from_secs(1))));
        let (second, _, _) = queued(lines.enter(&"a", || Ok(())));
        let held = first.front().await;
        let mut waiting = Box::pin(second.front());
        assert!(
            futures::poll!(&mut waiting).is_pending(),
            "the first holds the front"
        );
        drop(held);
        drop(first);
        let _front = waiting.await;
        assert_eq!(lines.waiting(&"a"), 1);
    }
}
