//! Copies of one event inside one process: the first leads, the others wait for its result.
//!
//! SQS may put two copies of a message in one batch, and a provider's retry can land next to
//! the original. Left to DynamoDB, the second copy would find the first's lock held by a live
//! invocation (this one) and be handed back, to come back later as a duplicate: correct, but a
//! wasted redelivery, and its fate would depend on timing. Here the second copy does not ask
//! DynamoDB at all: it waits for the first copy's result in memory and answers `Duplicate` if it
//! succeeded, or the same failure (class and reason) if it did not. A copy carrying another
//! payload is refused at once, as DynamoDB would refuse it.
//!
//! The table is per layer (shared by every handler it wraps), holds a key only while its leader
//! works, and never holds its mutex across an `.await`.

use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};

use tokio::sync::watch;

use super::error::IdempotencyError;
use crate::batch::Outcome;
use crate::error::Error;
use crate::taxonomy::Classification;

/// What a leader tells the copies waiting on it: success, or its failure's class and reason.
pub(crate) type Settled = Result<(), (Classification, String)>;

/// The keys being worked on in this process, with their payload hash and a channel to their
/// result.
#[derive(Debug, Default)]
pub(crate) struct InFlight {
    entries: Mutex<HashMap<String, Entry>>,
}

#[derive(Debug)]
struct Entry {
    payload_hash: String,
    settled: watch::Receiver<Option<Settled>>,
}

/// Whether a copy leads or follows.
#[derive(Debug)]
pub(crate) enum Join<'a> {
    /// No copy of the event is being worked on: this one does the work.
    Lead(Leader<'a>),
    /// Another copy is: wait for it.
    Follow(Follower),
}

/// The copy doing the work. Dropping it without [`Leader::settle`] (a cancelled or panicking
/// call) tells the followers it stopped.
#[derive(Debug)]
pub(crate) struct Leader<'a> {
    inflight: &'a InFlight,
    key: String,
    settled: watch::Sender<Option<Settled>>,
}

/// A copy waiting for its leader.
#[derive(Debug)]
pub(crate) struct Follower {
    same_payload: bool,
    settled: watch::Receiver<Option<Settled>>,
}

impl InFlight {
    /// Joins the work on `key`: leads it if nobody does, else follows the leader.
    pub(crate) fn join(&self, key: &str, payload_hash: &str) -> Join<'_> {
        let mut entries = self.entries.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(entry) = entries.get(key) {
            return Join::Follow(Follower {
                same_payload: entry.payload_hash == payload_hash,
                settled: entry.settled.clone(),
            });
        }
        let (tx, rx) = watch::channel(None);
        entries.insert(
            key.to_owned(),
            Entry {
                payload_hash: payload_hash.to_owned(),
                settled: rx,
            },
        );
        Join::Lead(Leader {
            inflight: self,
            key: key.to_owned(),
            settled: tx,
        })
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        self.entries
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .len()
    }
}

impl Leader<'_> {
    /// Tells the followers how it went, and leaves the table.
    pub(crate) fn settle(self, result: Settled) {
        // No receiver left is fine: nobody was waiting.
        let _ = self.settled.send(Some(result));
    }

    /// Settles with `result`'s verdict: success, or the error's class and reason.
    pub(crate) fn settle_with<T>(self, result: &Result<T, Error>) {
        use crate::taxonomy::Classify;
        self.settle(match result {
            Ok(_) => Ok(()),
            Err(e) => Err((e.classification(), e.to_string())),
        });
    }
}

impl Drop for Leader<'_> {
    fn drop(&mut self) {
        self.inflight
            .entries
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(&self.key);
    }
}

impl Follower {
    /// The copy's result: `Duplicate` if the leader succeeded (or found the event done), the
    /// leader's failure otherwise, a payload mismatch at once if the payloads differ.
    pub(crate) async fn outcome(self) -> Result<Outcome, Error> {
        if !self.same_payload {
            return Err(IdempotencyError::PayloadMismatch.into());
        }
        let mut settled = self.settled;
        match settled.wait_for(Option::is_some).await.as_deref() {
            Ok(Some(Ok(()))) => Ok(Outcome::Duplicate),
            Ok(Some(Err((classification, reason)))) => {
                Err(Error::classified(*classification, reason.clone()))
            }
            Ok(None) | Err(_) => Err(Error::transient(
                "a copy of this event being delivered in this invocation stopped before it finished",
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::taxonomy::{Classify, ErrorClass};

    fn lead<'a>(inflight: &'a InFlight, key: &str, hash: &str) -> Leader<'a> {
        match inflight.join(key, hash) {
            Join::Lead(leader) => leader,
            Join::Follow(_) => panic!("expected to lead"),
        }
    }

    fn follow(inflight: &InFlight, key: &str, hash: &str) -> Follower {
        match inflight.join(key, hash) {
            Join::Follow(follower) => follower,
            Join::Lead(_) => panic!("expected to follow"),
        }
    }

    #[tokio::test]
    async fn a_copy_of_a_delivered_event_is_a_duplicate() {
        let inflight = InFlight::default();
        let leader = lead(&inflight, "k", "h");
        let follower = follow(&inflight, "k", "h");
        leader.settle(Ok(()));
        assert_eq!(inflight.len(), 0, "the key leaves with its leader");
        assert_eq!(follower.outcome().await.unwrap(), Outcome::Duplicate);
        // The next copy leads again (and asks DynamoDB, which knows it is done).
        let _again = lead(&inflight, "k", "h");
    }

    #[tokio::test]
    async fn a_copy_shares_its_leaders_failure() {
        let inflight = InFlight::default();
        let leader = lead(&inflight, "k", "h");
        let follower = follow(&inflight, "k", "h");
        let waiting = tokio::spawn(follower.outcome());
        tokio::task::yield_now().await;
        leader.settle_with::<()>(&Err(Error::permanent("HTTP 422: invalid channel")));
        let error = waiting.await.unwrap().unwrap_err();
        assert_eq!(error.class(), ErrorClass::Permanent);
        assert_eq!(error.to_string(), "HTTP 422: invalid channel");
    }

    #[tokio::test]
    async fn a_copy_whose_leader_stopped_is_handed_back() {
        let inflight = InFlight::default();
        let leader = lead(&inflight, "k", "h");
        let follower = follow(&inflight, "k", "h");
        drop(leader);
        let error = follower.outcome().await.unwrap_err();
        assert_eq!(error.class(), ErrorClass::Transient);
        assert_eq!(inflight.len(), 0);
    }

    #[tokio::test]
    async fn a_copy_with_another_payload_is_refused_at_once() {
        let inflight = InFlight::default();
        let _leader = lead(&inflight, "k", "h");
        let error = follow(&inflight, "k", "other").outcome().await.unwrap_err();
        assert_eq!(error.class(), ErrorClass::Permanent);
        assert!(
            error
                .to_string()
                .starts_with("same event id, different payload")
        );
        let _other_key = lead(&inflight, "k2", "h");
        assert_eq!(inflight.len(), 2);
    }
}
