//! The bookkeeping around one delivery: identify the event, take its lock (or learn why not),
//! and afterwards record what happened. The layer ([`super::layer`]) arranges these steps
//! around a per-record or a batch handler; this module is what both share.

use std::time::{Instant, SystemTime};

use super::config::{DEFAULT_LOCK_TIMEOUT, IdempotencyConfig};
use super::error::IdempotencyError;
use super::fingerprint::payload_hash;
use super::inflight::{InFlight, Join, Leader};
use super::key::key;
use super::store::{Attempt, Lock, Marks, Store};
use crate::batch::dead_letter::truncate_reason;
use crate::batch::{Outcome, Record};
use crate::envelope::CloudEvent;
use crate::error::Error;
use crate::invocation::Invocation;
use crate::taxonomy::Classify;

/// The shared state of a layer: the table, the integration, the copies in flight.
#[derive(Debug)]
pub(crate) struct Keeper {
    store: Store,
    integration: String,
    inflight: InFlight,
    idempotent_destination: bool,
}

/// A record's event as the bookkeeping sees it.
#[derive(Debug)]
pub(crate) struct Identity<'r> {
    pub key: String,
    pub payload_hash: String,
    pub event: &'r CloudEvent,
}

/// Where a delivery stands after the lock was asked for.
#[derive(Debug)]
pub(crate) enum Begun<'k> {
    /// The lock is ours: run the handler, then [`Keeper::finish`].
    Locked(Held<'k>),
    /// Settled without the handler: a duplicate, or a refusal / store failure as an error.
    Settled(Result<Outcome, Error>),
}

/// A lock this invocation holds.
#[derive(Debug)]
pub(crate) struct Held<'k> {
    leader: Leader<'k>,
    key: String,
    request_id: String,
    attempt: u64,
    /// The lock was taken over from an attempt that never recorded its outcome.
    abandoned: bool,
    /// Unknown outcomes of the earlier attempts, the abandoned one included.
    unknown_before: u64,
}

impl Keeper {
    pub(crate) fn new(
        client: aws_sdk_dynamodb::Client,
        config: &IdempotencyConfig,
        integration: String,
    ) -> Self {
        Self {
            store: Store::new(client, config),
            integration,
            inflight: InFlight::default(),
            idempotent_destination: config.idempotent_destination(),
        }
    }

    pub(crate) fn integration(&self) -> &str {
        &self.integration
    }

    /// The record's key and payload hash; `None` when the body is not a valid envelope, which
    /// the layer passes through untouched (the handler fails it as permanent).
    pub(crate) fn identify<'r>(&self, record: &'r Record<'_>) -> Option<Identity<'r>> {
        let event = record.envelope().ok()?;
        Some(Identity {
            key: key(&self.integration, event.source(), event.id()),
            payload_hash: payload_hash(event),
            event,
        })
    }

    /// Leads the work on the event in this process, or follows the copy that does.
    pub(crate) fn join(&self, identity: &Identity<'_>) -> Join<'_> {
        self.inflight.join(&identity.key, &identity.payload_hash)
    }

    /// Takes the event's lock for this invocation, until its deadline. Anything but a taken
    /// lock settles the leader (and its followers) at once.
    pub(crate) async fn begin<'k>(
        &'k self,
        leader: Leader<'k>,
        identity: &Identity<'_>,
        record: &Record<'_>,
        invocation: &Invocation,
    ) -> Begun<'k> {
        let now = SystemTime::now();
        let now_ms = epoch_ms(now);
        let attempt = Attempt {
            key: &identity.key,
            integration: &self.integration,
            event: identity.event,
            payload_hash: &identity.payload_hash,
            request_id: invocation.request_id(),
            message_id: record.message_id(),
            now_ms,
            lock_expires_ms: lock_expiry_ms(invocation, now, Instant::now()),
        };
        let result = match self.store.take(&attempt).await {
            Ok(Lock::Taken {
                attempt,
                abandoned,
                unknown_before,
            }) => {
                tracing::debug!(
                    idempotency_key = %identity.key,
                    attempt,
                    abandoned,
                    unknown_before,
                    "lock taken"
                );
                return Begun::Locked(Held {
                    leader,
                    key: identity.key.clone(),
                    request_id: invocation.request_id().to_owned(),
                    attempt,
                    abandoned,
                    unknown_before,
                });
            }
            Ok(Lock::Duplicate) => {
                tracing::debug!(
                    idempotency_key = %identity.key,
                    "already completed within the dedup window; not delivering again"
                );
                Ok(Outcome::Duplicate)
            }
            Err(e) => Err(Error::from(e)),
        };
        leader.settle_with(&result);
        Begun::Settled(result)
    }

    /// Records the handler's `result` and releases the lock: `COMPLETED` with the outcome, or
    /// `FAILED` with the error's class and reason; either way with the attempt's calls whose
    /// outcome is unknown (`unknown`, from [`crate::unknown_outcome`]). A delivery that
    /// followed such a call, at a destination that does not make repeats harmless, is marked
    /// as possibly delivered twice, and said so in a warning. A write that fails is logged,
    /// and the result stands: the delivery happened (or did not) whatever the ledger says, and
    /// the lock expires with the invocation.
    pub(crate) async fn finish(
        &self,
        held: Held<'_>,
        result: &Result<Outcome, Error>,
        unknown: u32,
    ) {
        let now_ms = epoch_ms(SystemTime::now());
        let marks = self.marks(&held, result, unknown);
        if marks.possible_duplicate {
            tracing::warn!(
                idempotency_key = %held.key,
                attempt = held.attempt,
                unknown_outcomes = held.unknown_before + u64::from(unknown),
                possible_duplicate = true,
                "delivered after a call whose outcome is unknown (a timeout or a lost answer after sending, or an abandoned attempt): the destination may show this event twice; marked in the ledger"
            );
        }
        let written = match result {
            Ok(outcome) => {
                self.store
                    .complete(&held.key, &held.request_id, outcome, marks, now_ms)
                    .await
            }
            Err(error) => {
                self.store
                    .fail(
                        &held.key,
                        &held.request_id,
                        error.class(),
                        &truncate_reason(&error.to_string()),
                        marks,
                        now_ms,
                    )
                    .await
            }
        };
        match (written, result) {
            (Ok(()), _) => {}
            (Err(e @ IdempotencyError::LockLost), _) => tracing::warn!(
                idempotency_key = %held.key,
                attempt = held.attempt,
                error = %e,
                "not recorded: the lock had expired and another invocation holds it now; its record is kept"
            ),
            (Err(e), Ok(outcome)) => tracing::error!(
                idempotency_key = %held.key,
                attempt = held.attempt,
                outcome = outcome.as_str(),
                error = %e,
                "the outcome could not be recorded: the record stays locked until the invocation's deadline, and a copy delivered after that would be delivered again"
            ),
            (Err(e), Err(_)) => tracing::warn!(
                idempotency_key = %held.key,
                attempt = held.attempt,
                error = %e,
                "the failure could not be recorded: the lock frees at the invocation's deadline"
            ),
        }
        held.leader.settle_with(result);
    }
}

impl Keeper {
    /// What the outcome write adds: this attempt's unknown outcomes (plus the abandoned
    /// attempt it took over, counted once, here), and whether a delivery is possibly a
    /// second one.
    fn marks(&self, held: &Held<'_>, result: &Result<Outcome, Error>, unknown: u32) -> Marks {
        let delivered = matches!(result, Ok(Outcome::Delivered { .. }));
        Marks {
            unknown_outcomes: u64::from(unknown) + u64::from(held.abandoned),
            possible_duplicate: delivered
                && !self.idempotent_destination
                && held.unknown_before + u64::from(unknown) > 0,
        }
    }
}

/// Milliseconds since the Unix epoch.
pub(crate) fn epoch_ms(time: SystemTime) -> u64 {
    time.duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, super::state::millis)
}

/// When a lock taken now expires: at the invocation's deadline (Lambda stops the function then,
/// so a later holder cannot overlap a live one), or after [`DEFAULT_LOCK_TIMEOUT`] without one.
pub(crate) fn lock_expiry_ms(
    invocation: &Invocation,
    now: SystemTime,
    now_instant: Instant,
) -> u64 {
    let life = invocation
        .deadline()
        .map_or(DEFAULT_LOCK_TIMEOUT, |deadline| {
            deadline.saturating_duration_since(now_instant)
        });
    epoch_ms(now.checked_add(life).unwrap_or(now))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn locks_expire_with_the_invocation() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000);
        let instant = Instant::now();
        let bounded = Invocation::new("r", Some(instant + Duration::from_secs(30)));
        assert_eq!(
            lock_expiry_ms(&bounded, now, instant),
            1_800_000_030_000,
            "the deadline, not the cutoff"
        );
        let unbounded = Invocation::unbounded("r");
        assert_eq!(
            lock_expiry_ms(&unbounded, now, instant),
            1_800_000_000_000 + 15 * 60 * 1000
        );
        let past = Invocation::new("r", Some(instant));
        assert_eq!(
            lock_expiry_ms(&past, now, instant + Duration::from_secs(1)),
            1_800_000_000_000
        );
    }
}
