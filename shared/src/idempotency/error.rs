//! Why idempotency bookkeeping refused or could not decide a record, each reason classified so
//! the batch runner knows what to do with it.

use crate::taxonomy::{Classification, Classify};

/// Why the idempotency layer did not let a record through to the handler, or could not read the
/// ledger.
///
/// Messages name the problem, never payload values: they go to logs and to the dead-letter
/// attributes. The record's span already carries its event id.
#[derive(Debug, thiserror::Error)]
pub enum IdempotencyError {
    /// The ledger holds this event (same integration, `source` and `id`) with another payload.
    /// A provider must not reuse an id for a different event, so one of the two is wrong, and
    /// retrying cannot tell which: permanent, dead-lettered for an operator to look at.
    #[error(
        "same event id, different payload: an earlier delivery of this event (same source and id) carried another payload"
    )]
    PayloadMismatch,
    /// Another invocation holds the event's lock and it has not expired: that invocation is
    /// delivering it right now. Transient: the runner hands the record back, and by its next
    /// delivery the event is either done (a duplicate) or free again.
    #[error(
        "another invocation is delivering this event (its lock expires in {remaining_ms} ms); handing it back"
    )]
    InProgress {
        /// Milliseconds until the lock expires, as the store's clock saw it.
        remaining_ms: u64,
    },
    /// The store refused the lock although the record it returned allows one: the record
    /// changed in between. Transient: the next try decides again.
    #[error("the idempotency record changed while taking its lock; trying again later")]
    Contended,
    /// The outcome could not be recorded because the lock is no longer this invocation's: it
    /// expired and another invocation took it. Only logged: the handler's result stands.
    #[error("the lock expired and another invocation took it before the outcome was recorded")]
    LockLost,
    /// A DynamoDB call failed: unavailable, throttled, denied, or the table is missing. No
    /// record is delivered without its lock, so the record fails with this classification.
    #[error("the idempotency table could not {operation}: {detail}")]
    Store {
        /// What was being done: `take the lock`, `record the outcome`, `read the ledger`, ...
        operation: &'static str,
        /// The verdict on the SDK failure.
        classification: Classification,
        /// The service's code and message, or the transport failure.
        detail: String,
    },
    /// A stored record lacks an attribute the state machine needs, or holds one it cannot read
    /// (an item written by hand, or by another tool). Permanent: it will not fix itself; the
    /// operator repairs or deletes the item and replays the dead letter.
    #[error("the idempotency record is unreadable: {0}")]
    Unreadable(String),
}

impl Classify for IdempotencyError {
    fn classification(&self) -> Classification {
        match self {
            IdempotencyError::PayloadMismatch | IdempotencyError::Unreadable(_) => {
                Classification::permanent()
            }
            IdempotencyError::InProgress { .. }
            | IdempotencyError::Contended
            | IdempotencyError::LockLost => Classification::transient(),
            IdempotencyError::Store { classification, .. } => *classification,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::taxonomy::ErrorClass;

    #[test]
    fn each_refusal_has_the_class_the_runner_needs() {
        assert_eq!(
            IdempotencyError::PayloadMismatch.class(),
            ErrorClass::Permanent
        );
        assert_eq!(
            IdempotencyError::Unreadable("no `status`".into()).class(),
            ErrorClass::Permanent
        );
        assert_eq!(
            IdempotencyError::InProgress { remaining_ms: 5 }.class(),
            ErrorClass::Transient
        );
        assert_eq!(IdempotencyError::Contended.class(), ErrorClass::Transient);
        assert_eq!(IdempotencyError::LockLost.class(), ErrorClass::Transient);
        let throttled = IdempotencyError::Store {
            operation: "take the lock",
            classification: Classification::throttled(None),
            detail: "ProvisionedThroughputExceededException".into(),
        };
        assert_eq!(throttled.class(), ErrorClass::Throttled);
        assert!(
            IdempotencyError::PayloadMismatch
                .to_string()
                .starts_with("same event id, different payload")
        );
    }
}
