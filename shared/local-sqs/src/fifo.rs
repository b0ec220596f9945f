//! One batch per message group at a time on a FIFO queue.
//!
//! SQS already holds back a group's later messages while earlier ones are in flight, so two
//! batches with the same group normally cannot exist. They can when a batch outlives its
//! visibility timeout: SQS then hands the group out again while the first invocation still
//! runs. Lambda keeps one batch per group in flight even then, and so does this gate: a batch
//! waits until no batch in flight shares a group with it. Batches acquire the gate in the
//! order they were received, so a group's records reach the function in queue order.

use std::collections::HashSet;
use std::sync::{Arc, Mutex, PoisonError};

use tokio::sync::Notify;

/// The message groups in flight on one FIFO queue.
#[derive(Debug, Default, Clone)]
pub struct GroupGate {
    inner: Arc<Inner>,
}

#[derive(Debug, Default)]
struct Inner {
    held: Mutex<HashSet<String>>,
    released: Notify,
}

/// The groups of one batch, held until dropped.
#[derive(Debug)]
pub struct GroupGuard {
    inner: Arc<Inner>,
    groups: Vec<String>,
}

impl GroupGate {
    /// A gate with no group in flight.
    pub fn new() -> Self {
        Self::default()
    }

    /// Waits until none of `groups` is in flight, then holds them all.
    pub async fn acquire(&self, groups: Vec<String>) -> GroupGuard {
        loop {
            let released = self.inner.released.notified();
            tokio::pin!(released);
            released.as_mut().enable();
            {
                let mut held = self
                    .inner
                    .held
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner);
                if groups.iter().all(|g| !held.contains(g)) {
                    held.extend(groups.iter().cloned());
                    return GroupGuard {
                        inner: self.inner.clone(),
                        groups,
                    };
                }
            }
            released.await;
        }
    }

    /// Whether `group` is in flight.
    pub fn is_held(&self, group: &str) -> bool {
        self.inner
            .held
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .contains(group)
    }
}

impl Drop for GroupGuard {
    fn drop(&mut self) {
        let mut held = self
            .inner
            .held
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        for g in &self.groups {
            held.remove(g);
        }
        drop(held);
        self.inner.released.notify_waiters();
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    fn groups(g: &[&str]) -> Vec<String> {
        g.iter().map(|s| s.to_string()).collect()
    }

    #[tokio::test(start_paused = true)]
    async fn a_batch_waits_for_the_batch_in_flight_with_its_group() {
        let gate = GroupGate::new();
        let first = gate.acquire(groups(&["a", "b"])).await;
        assert!(gate.is_held("a"));
        let waiter = {
            let gate = gate.clone();
            tokio::spawn(async move { gate.acquire(groups(&["b"])).await })
        };
        tokio::time::sleep(Duration::from_secs(1)).await;
        assert!(!waiter.is_finished(), "acquired a group in flight");
        // Other groups are not held up.
        let other = gate.acquire(groups(&["c"])).await;
        drop(first);
        let second = waiter.await.unwrap();
        assert!(gate.is_held("b"));
        assert!(!gate.is_held("a"));
        drop(second);
        drop(other);
        assert!(!gate.is_held("b") && !gate.is_held("c"));
    }
}
