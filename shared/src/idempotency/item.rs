//! The DynamoDB item: its attribute names, and reading them back.
//!
//! One item per key holds both the state machine's facts and the delivery ledger (the module
//! docs list every attribute). The names follow Powertools' idempotency layout where the two
//! overlap (`id`, `expiration`, `status`, `in_progress_expiration`, `validation`), so an
//! operator who knows one knows the other. Times are epoch milliseconds, except `expiration`,
//! which DynamoDB's TTL requires in epoch seconds.

use std::collections::HashMap;

use aws_sdk_dynamodb::types::AttributeValue;

use super::error::IdempotencyError;
use super::state::{Status, Stored, StoredState};

/// Partition key (S): [`super::key`].
pub const ID: &str = "id";
/// TTL (N, epoch seconds): last write + the record TTL.
pub const EXPIRATION: &str = "expiration";
/// State (S): `INPROGRESS`, `COMPLETED` or `FAILED`.
pub const STATUS: &str = "status";
/// When the lock expires (N, epoch ms); present only while `INPROGRESS`.
pub const IN_PROGRESS_EXPIRATION: &str = "in_progress_expiration";
/// The payload hash (S, hex SHA-256 of `data`).
pub const VALIDATION: &str = "validation";
/// The integration (S), as given to the layer.
pub const INTEGRATION: &str = "integration";
/// The envelope's `source` (S).
pub const SOURCE: &str = "source";
/// The envelope's `type` (S).
pub const EVENT_TYPE: &str = "event_type";
/// The envelope's `id` (S).
pub const EVENT_ID: &str = "event_id";
/// Locks taken for the key (N): one per delivery attempt, abandoned ones included.
pub const ATTEMPTS: &str = "attempts";
/// Calls whose outcome is unknown (N): calls that timed out or lost their answer after the
/// request went out, and attempts abandoned mid-delivery (a crash, a cut-off), counted by the
/// attempts that followed. At least this many; absent when none.
pub const UNKNOWN_OUTCOMES: &str = "unknown_outcomes";
/// `true` (BOOL) when the event was delivered after a call whose outcome is unknown, to a
/// destination that does not make repeats harmless: it may show there twice.
pub const POSSIBLE_DUPLICATE: &str = "possible_duplicate";
/// How it completed (S): `delivered`, `skipped` or `duplicate` (the handler's own verdict).
pub const OUTCOME: &str = "outcome";
/// The destination's id for what the delivery made (S, e.g. Slack's `ts`), when it gave one.
pub const DESTINATION_ID: &str = "destination_id";
/// What a delivery left out and why (S), when the handler said so.
pub const NOTE: &str = "note";
/// Why there was nothing to do (S), for a skipped event.
pub const SKIP_REASON: &str = "skip_reason";
/// The last failed attempt's class (S): `throttled`, `transient`, `permanent`, `auth`.
pub const LAST_ERROR_CLASS: &str = "last_error_class";
/// The last failed attempt's reason (S): the error's `Display`, truncated; no payload values.
pub const LAST_ERROR_REASON: &str = "last_error_reason";
/// The Lambda request id of the last invocation that took the lock (S).
pub const REQUEST_ID: &str = "request_id";
/// The SQS message id of the last attempt (S).
pub const MESSAGE_ID: &str = "message_id";
/// When the first lock was taken (N, epoch ms).
pub const CREATED_AT: &str = "created_at";
/// When the item was last written (N, epoch ms).
pub const UPDATED_AT: &str = "updated_at";
/// When the outcome was recorded (N, epoch ms); present only while `COMPLETED`.
pub const COMPLETED_AT: &str = "completed_at";

/// An item as the SDK holds it.
pub(crate) type Item = HashMap<String, AttributeValue>;

/// A string attribute, if present.
///
/// # Errors
/// [`IdempotencyError::Unreadable`] if it holds another type.
pub(crate) fn string<'a>(item: &'a Item, name: &str) -> Result<Option<&'a str>, IdempotencyError> {
    match item.get(name) {
        None => Ok(None),
        Some(AttributeValue::S(s)) => Ok(Some(s)),
        Some(_) => Err(unreadable(name, "not a string")),
    }
}

/// A non-negative whole number attribute, if present.
///
/// # Errors
/// [`IdempotencyError::Unreadable`] if it holds another type or another kind of number.
pub(crate) fn number(item: &Item, name: &str) -> Result<Option<u64>, IdempotencyError> {
    match item.get(name) {
        None => Ok(None),
        Some(AttributeValue::N(n)) => n
            .parse::<u64>()
            .map(Some)
            .map_err(|_| unreadable(name, "not a whole number")),
        Some(_) => Err(unreadable(name, "not a number")),
    }
}

/// A string attribute that must be present.
pub(crate) fn required_string<'a>(item: &'a Item, name: &str) -> Result<&'a str, IdempotencyError> {
    string(item, name)?.ok_or_else(|| unreadable(name, "missing"))
}

/// A number attribute that must be present.
pub(crate) fn required_number(item: &Item, name: &str) -> Result<u64, IdempotencyError> {
    number(item, name)?.ok_or_else(|| unreadable(name, "missing"))
}

/// A boolean attribute, `false` when absent.
///
/// # Errors
/// [`IdempotencyError::Unreadable`] if it holds another type.
pub(crate) fn flag(item: &Item, name: &str) -> Result<bool, IdempotencyError> {
    match item.get(name) {
        None => Ok(false),
        Some(AttributeValue::Bool(b)) => Ok(*b),
        Some(_) => Err(unreadable(name, "not a boolean")),
    }
}

/// The record's status.
pub(crate) fn status(item: &Item) -> Result<Status, IdempotencyError> {
    let value = required_string(item, STATUS)?;
    Status::parse(value).ok_or_else(|| unreadable(STATUS, "not INPROGRESS, COMPLETED or FAILED"))
}

/// What the state machine needs of a stored item.
///
/// # Errors
/// [`IdempotencyError::Unreadable`] when `status`, `validation`, `updated_at` (or, for a
/// completed record, `completed_at`) is missing or of the wrong type.
pub(crate) fn stored(item: &Item) -> Result<Stored<'_>, IdempotencyError> {
    let state = match status(item)? {
        Status::InProgress => StoredState::InProgress {
            lock_expires_ms: number(item, IN_PROGRESS_EXPIRATION)?,
        },
        Status::Completed => StoredState::Completed {
            completed_at_ms: required_number(item, COMPLETED_AT)?,
        },
        Status::Failed => StoredState::Failed,
    };
    Ok(Stored {
        state,
        payload_hash: required_string(item, VALIDATION)?,
        updated_at_ms: required_number(item, UPDATED_AT)?,
        holder: item
            .get(REQUEST_ID)
            .and_then(|v| v.as_s().ok())
            .map(String::as_str),
    })
}

fn unreadable(name: &str, what: &str) -> IdempotencyError {
    IdempotencyError::Unreadable(format!("attribute `{name}` is {what}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::taxonomy::{Classify, ErrorClass};

    fn item(pairs: &[(&str, AttributeValue)]) -> Item {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.clone()))
            .collect()
    }

    fn s(v: &str) -> AttributeValue {
        AttributeValue::S(v.into())
    }

    fn n(v: u64) -> AttributeValue {
        AttributeValue::N(v.to_string())
    }

    #[test]
    fn the_state_machine_facts_are_read_per_status() {
        let in_progress = item(&[
            (STATUS, s("INPROGRESS")),
            (VALIDATION, s("h")),
            (UPDATED_AT, n(10)),
            (IN_PROGRESS_EXPIRATION, n(20)),
        ]);
        assert_eq!(
            stored(&in_progress).unwrap(),
            Stored {
                state: StoredState::InProgress {
                    lock_expires_ms: Some(20)
                },
                payload_hash: "h",
                updated_at_ms: 10,
                holder: None,
            }
        );
        let completed = item(&[
            (STATUS, s("COMPLETED")),
            (VALIDATION, s("h")),
            (UPDATED_AT, n(10)),
            (COMPLETED_AT, n(10)),
        ]);
        assert_eq!(
            stored(&completed).unwrap().state,
            StoredState::Completed {
                completed_at_ms: 10
            }
        );
        let failed = item(&[
            (STATUS, s("FAILED")),
            (VALIDATION, s("h")),
            (UPDATED_AT, n(10)),
        ]);
        assert_eq!(stored(&failed).unwrap().state, StoredState::Failed);
    }

    #[test]
    fn damaged_items_are_unreadable_and_say_which_attribute() {
        let cases = [
            (item(&[(VALIDATION, s("h")), (UPDATED_AT, n(1))]), STATUS),
            (
                item(&[
                    (STATUS, s("EXPIRED")),
                    (VALIDATION, s("h")),
                    (UPDATED_AT, n(1)),
                ]),
                STATUS,
            ),
            (
                item(&[(STATUS, s("FAILED")), (UPDATED_AT, n(1))]),
                VALIDATION,
            ),
            (
                item(&[
                    (STATUS, s("FAILED")),
                    (VALIDATION, n(1)),
                    (UPDATED_AT, n(1)),
                ]),
                VALIDATION,
            ),
            (
                item(&[
                    (STATUS, s("FAILED")),
                    (VALIDATION, s("h")),
                    (UPDATED_AT, s("yesterday")),
                ]),
                UPDATED_AT,
            ),
            (
                item(&[
                    (STATUS, s("FAILED")),
                    (VALIDATION, s("h")),
                    (UPDATED_AT, AttributeValue::N("1.5".into())),
                ]),
                UPDATED_AT,
            ),
            (
                item(&[
                    (STATUS, s("COMPLETED")),
                    (VALIDATION, s("h")),
                    (UPDATED_AT, n(1)),
                ]),
                COMPLETED_AT,
            ),
        ];
        for (item, attribute) in cases {
            let error = stored(&item).unwrap_err();
            assert_eq!(error.class(), ErrorClass::Permanent);
            assert!(
                error.to_string().contains(&format!("`{attribute}`")),
                "{error}"
            );
        }
    }
}
