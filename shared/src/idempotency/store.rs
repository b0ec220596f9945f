//! The DynamoDB side: take a lock, record an outcome or a failure, read a record. One
//! `UpdateItem` (or `GetItem`) per call, each conditional where it must be.
//!
//! The lock is a conditional `UpdateItem` rather than Powertools' conditional `PutItem`: the
//! item is also the ledger, and a `PutItem` would replace it, losing the attempts, the first
//! write's time and the last error of every earlier attempt. The update takes the same lock, in
//! the same single round trip, at the same write cost, and keeps them (`ADD attempts`,
//! `if_not_exists(created_at)`). When the condition fails, DynamoDB returns the item that
//! failed it (`ReturnValuesOnConditionCheckFailure`), so the refusal is explained without a
//! second read. Outcomes are conditional on still holding the lock (`INPROGRESS` with this
//! invocation's request id): a writer whose lock expired and was taken over never overwrites
//! the new holder's record.

use std::collections::HashMap;
use std::time::Duration;

use aws_sdk_dynamodb::config::http::HttpResponse;
use aws_sdk_dynamodb::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use aws_sdk_dynamodb::operation::update_item::UpdateItemError;
use aws_sdk_dynamodb::types::{AttributeValue, ReturnValue, ReturnValuesOnConditionCheckFailure};

use super::config::IdempotencyConfig;
use super::error::IdempotencyError;
use super::item::{self, Item};
use super::state::{Decision, Status, TAKE_CONDITION, decide, millis};
use crate::aws::errors::sdk_classification;
use crate::batch::Outcome;
use crate::envelope::CloudEvent;
use crate::taxonomy::{Classification, ErrorClass};

/// The condition of every outcome write: the lock is still this invocation's.
const HOLDS_LOCK: &str = "#status = :in_progress AND #request_id = :request_id";

/// One delivery attempt's facts, as the lock records them.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Attempt<'a> {
    pub key: &'a str,
    pub integration: &'a str,
    pub event: &'a CloudEvent,
    pub payload_hash: &'a str,
    pub request_id: &'a str,
    pub message_id: Option<&'a str>,
    /// Now, epoch ms.
    pub now_ms: u64,
    /// When the lock expires, epoch ms.
    pub lock_expires_ms: u64,
}

/// What taking the lock gave.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Lock {
    /// Ours: deliver. `attempt` counts the locks ever taken for the key, this one included;
    /// `abandoned` says the lock was taken over from an attempt that never recorded an outcome
    /// (a crash, a cut-off: whatever it sent has an unknown outcome); `unknown_before` counts
    /// the unknown outcomes of earlier attempts, that one included.
    Taken {
        attempt: u64,
        abandoned: bool,
        unknown_before: u64,
    },
    /// Completed within the window: acknowledge without delivering.
    Duplicate,
}

/// What an outcome write adds to the record besides the outcome: the attempt's calls whose
/// outcome is unknown, and the "possibly delivered twice" mark.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Marks {
    /// Added to `unknown_outcomes` (the attempt's own, plus one for an abandoned attempt it
    /// took over).
    pub unknown_outcomes: u64,
    /// Sets `possible_duplicate`.
    pub possible_duplicate: bool,
}

impl Marks {
    /// The `ADD` clause for the unknown outcomes, with its name and value, when there are any.
    fn add_unknown(
        self,
        values: &mut Vec<(&str, AttributeValue)>,
        attributes: &mut Vec<&str>,
    ) -> Option<&'static str> {
        if self.unknown_outcomes == 0 {
            return None;
        }
        values.push((":unknown", n(self.unknown_outcomes)));
        attributes.push(item::UNKNOWN_OUTCOMES);
        Some("#unknown_outcomes :unknown")
    }
}

/// The lock just taken, from the record as it was before (`None`: there was none).
fn taken(old: Option<&HashMap<String, AttributeValue>>) -> Lock {
    let number = |name| {
        old.and_then(|o| item::number(o, name).ok().flatten())
            .unwrap_or(0)
    };
    let abandoned = old
        .and_then(|o| item::status(o).ok())
        .is_some_and(|status| status == Status::InProgress);
    Lock::Taken {
        attempt: number(item::ATTEMPTS) + 1,
        abandoned,
        unknown_before: number(item::UNKNOWN_OUTCOMES) + u64::from(abandoned),
    }
}

/// The idempotency table.
#[derive(Debug, Clone)]
pub(crate) struct Store {
    client: aws_sdk_dynamodb::Client,
    table: String,
    window: Duration,
    record_ttl: Duration,
}

impl Store {
    pub(crate) fn new(client: aws_sdk_dynamodb::Client, config: &IdempotencyConfig) -> Self {
        Self {
            client,
            table: config.table().to_owned(),
            window: config.window(),
            record_ttl: config.record_ttl(),
        }
    }

    /// Takes the event's lock, or says why not.
    ///
    /// # Errors
    /// [`IdempotencyError::PayloadMismatch`], [`IdempotencyError::InProgress`],
    /// [`IdempotencyError::Contended`], [`IdempotencyError::Unreadable`] when the record
    /// refuses the lock; [`IdempotencyError::Store`] when DynamoDB fails.
    pub(crate) async fn take(&self, a: &Attempt<'_>) -> Result<Lock, IdempotencyError> {
        let mut set = vec![
            "#status = :in_progress",
            "#lock = :lock_expires",
            "#expiration = :ttl",
            "#validation = :hash",
            "#integration = :integration",
            "#source = :source",
            "#event_type = :event_type",
            "#event_id = :event_id",
            "#request_id = :request_id",
            "#updated_at = :now",
            "#created_at = if_not_exists(#created_at, :now)",
        ];
        let mut remove = vec![
            "#completed_at",
            "#outcome",
            "#destination_id",
            "#note",
            "#skip_reason",
        ];
        let mut values = vec![
            (":in_progress", s(Status::InProgress.as_str())),
            (":completed", s(Status::Completed.as_str())),
            (":failed", s(Status::Failed.as_str())),
            (":lock_expires", n(a.lock_expires_ms)),
            (":ttl", n(self.expiration(a.now_ms))),
            (":hash", s(a.payload_hash)),
            (":integration", s(a.integration)),
            (":source", s(a.event.source())),
            (":event_type", s(a.event.ty())),
            (":event_id", s(a.event.id())),
            (":request_id", s(a.request_id)),
            (":now", n(a.now_ms)),
            (
                ":window_start",
                n(a.now_ms.saturating_sub(millis(self.window))),
            ),
            (":one", n(1)),
        ];
        match a.message_id {
            Some(id) => {
                set.push("#message_id = :message_id");
                values.push((":message_id", s(id)));
            }
            None => remove.push("#message_id"),
        }
        let expression = format!(
            "SET {} ADD #attempts :one REMOVE {}",
            set.join(", "),
            remove.join(", ")
        );
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .key(item::ID, s(a.key))
            .update_expression(expression)
            .condition_expression(TAKE_CONDITION)
            .set_expression_attribute_names(Some(names(&[
                item::ID,
                item::STATUS,
                item::IN_PROGRESS_EXPIRATION,
                item::EXPIRATION,
                item::VALIDATION,
                item::INTEGRATION,
                item::SOURCE,
                item::EVENT_TYPE,
                item::EVENT_ID,
                item::REQUEST_ID,
                item::UPDATED_AT,
                item::CREATED_AT,
                item::COMPLETED_AT,
                item::OUTCOME,
                item::DESTINATION_ID,
                item::NOTE,
                item::SKIP_REASON,
                item::MESSAGE_ID,
                item::ATTEMPTS,
            ])))
            .set_expression_attribute_values(Some(values_map(values)))
            // The record as it was: its attempts, and whether an earlier attempt was abandoned
            // in progress, come back with the lock, in the same round trip.
            .return_values(ReturnValue::AllOld)
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
            .send()
            .await;
        match result {
            Ok(output) => Ok(taken(output.attributes())),
            Err(e) => match e.as_service_error() {
                Some(UpdateItemError::ConditionalCheckFailedException(refusal)) => refused(
                    refusal.item(),
                    a.payload_hash,
                    a.request_id,
                    a.now_ms,
                    self.window,
                ),
                _ => Err(store_error("take the lock", &e)),
            },
        }
    }

    /// Records the handler's outcome and releases the lock: `COMPLETED`.
    ///
    /// # Errors
    /// [`IdempotencyError::LockLost`] if the lock is no longer this invocation's;
    /// [`IdempotencyError::Store`] when DynamoDB fails.
    pub(crate) async fn complete(
        &self,
        key: &str,
        request_id: &str,
        outcome: &Outcome,
        marks: Marks,
        now_ms: u64,
    ) -> Result<(), IdempotencyError> {
        let mut set = vec![
            "#status = :completed",
            "#outcome = :outcome",
            "#completed_at = :now",
            "#updated_at = :now",
            "#expiration = :ttl",
        ];
        let mut values = vec![
            (":completed", s(Status::Completed.as_str())),
            (":in_progress", s(Status::InProgress.as_str())),
            (":request_id", s(request_id)),
            (":outcome", s(outcome.as_str())),
            (":now", n(now_ms)),
            (":ttl", n(self.expiration(now_ms))),
        ];
        let mut attributes = vec![
            item::STATUS,
            item::REQUEST_ID,
            item::OUTCOME,
            item::COMPLETED_AT,
            item::UPDATED_AT,
            item::EXPIRATION,
            item::IN_PROGRESS_EXPIRATION,
        ];
        match outcome {
            Outcome::Delivered {
                destination_id,
                note,
            } => {
                if let Some(id) = destination_id {
                    set.push("#destination_id = :destination_id");
                    values.push((":destination_id", s(id)));
                    attributes.push(item::DESTINATION_ID);
                }
                if let Some(note) = note {
                    set.push("#note = :note");
                    values.push((":note", s(note.as_ref())));
                    attributes.push(item::NOTE);
                }
            }
            Outcome::Skipped { reason } if !reason.is_empty() => {
                set.push("#skip_reason = :skip_reason");
                values.push((":skip_reason", s(reason.as_ref())));
                attributes.push(item::SKIP_REASON);
            }
            _ => {}
        }
        if marks.possible_duplicate {
            set.push("#possible_duplicate = :true");
            values.push((":true", AttributeValue::Bool(true)));
            attributes.push(item::POSSIBLE_DUPLICATE);
        }
        let add = marks.add_unknown(&mut values, &mut attributes);
        self.release("record the outcome", key, &set, add, &attributes, values)
            .await
    }

    /// Records a failed attempt and releases the lock: `FAILED`, so the next delivery retries.
    ///
    /// # Errors
    /// As [`Store::complete`].
    pub(crate) async fn fail(
        &self,
        key: &str,
        request_id: &str,
        class: ErrorClass,
        reason: &str,
        marks: Marks,
        now_ms: u64,
    ) -> Result<(), IdempotencyError> {
        let set = [
            "#status = :failed",
            "#last_error_class = :class",
            "#last_error_reason = :reason",
            "#updated_at = :now",
            "#expiration = :ttl",
        ];
        let mut values = vec![
            (":failed", s(Status::Failed.as_str())),
            (":in_progress", s(Status::InProgress.as_str())),
            (":request_id", s(request_id)),
            (":class", s(class.as_str())),
            (":reason", s(reason)),
            (":now", n(now_ms)),
            (":ttl", n(self.expiration(now_ms))),
        ];
        let mut attributes = vec![
            item::STATUS,
            item::REQUEST_ID,
            item::LAST_ERROR_CLASS,
            item::LAST_ERROR_REASON,
            item::UPDATED_AT,
            item::EXPIRATION,
            item::IN_PROGRESS_EXPIRATION,
        ];
        let add = marks.add_unknown(&mut values, &mut attributes);
        self.release("record the failure", key, &set, add, &attributes, values)
            .await
    }

    /// One outcome write: `SET …` (and `ADD …`) plus the lock's removal, on condition of
    /// holding it.
    async fn release(
        &self,
        operation: &'static str,
        key: &str,
        set: &[&str],
        add: Option<&str>,
        attributes: &[&str],
        values: Vec<(&str, AttributeValue)>,
    ) -> Result<(), IdempotencyError> {
        let add = add.map(|a| format!(" ADD {a}")).unwrap_or_default();
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .key(item::ID, s(key))
            .update_expression(format!("SET {}{add} REMOVE #lock", set.join(", ")))
            .condition_expression(HOLDS_LOCK)
            .set_expression_attribute_names(Some(names(attributes)))
            .set_expression_attribute_values(Some(values_map(values)))
            .send()
            .await;
        match result {
            Ok(_) => Ok(()),
            Err(e) => match e.as_service_error() {
                Some(UpdateItemError::ConditionalCheckFailedException(_)) => {
                    Err(IdempotencyError::LockLost)
                }
                _ => Err(store_error(operation, &e)),
            },
        }
    }

    /// The item stored under `key`, read consistently (an operator wants the latest write).
    ///
    /// # Errors
    /// [`IdempotencyError::Store`] when DynamoDB fails.
    pub(crate) async fn get(&self, key: &str) -> Result<Option<Item>, IdempotencyError> {
        self.client
            .get_item()
            .table_name(&self.table)
            .key(item::ID, s(key))
            .consistent_read(true)
            .send()
            .await
            .map(|output| output.item)
            .map_err(|e| store_error("read the ledger", &e))
    }

    /// The TTL attribute's value for a write at `now_ms`: epoch seconds.
    fn expiration(&self, now_ms: u64) -> u64 {
        (now_ms / 1000).saturating_add(self.record_ttl.as_secs())
    }
}

/// Why the lock was refused, from the item that failed the condition.
///
/// # Errors
/// Every refusal but a duplicate, as [`Store::take`] describes.
pub(crate) fn refused(
    stored: Option<&Item>,
    payload_hash: &str,
    request_id: &str,
    now_ms: u64,
    window: Duration,
) -> Result<Lock, IdempotencyError> {
    // No item with a failed condition: it was deleted in between (TTL, an operator).
    let Some(stored) = stored else {
        return Err(IdempotencyError::Contended);
    };
    let stored = item::stored(stored)?;
    match decide(Some(&stored), payload_hash, request_id, now_ms, window) {
        Decision::Duplicate => Ok(Lock::Duplicate),
        Decision::PayloadMismatch => Err(IdempotencyError::PayloadMismatch),
        Decision::InProgress { lock_expires_ms } => Err(IdempotencyError::InProgress {
            remaining_ms: lock_expires_ms.saturating_sub(now_ms),
        }),
        Decision::Take => Err(IdempotencyError::Contended),
    }
}

/// A failed DynamoDB call, classified by the kit's rules ([`sdk_classification`], which knows
/// the SDK's own throttling codes such as `ProvisionedThroughputExceededException`) with one
/// DynamoDB specific first: a missing table is the function's configuration failing, not the
/// record (auth: handed back on the long end of the schedule, counted as a function failure,
/// instead of dead-lettering every record).
pub(crate) fn store_error<E>(
    operation: &'static str,
    error: &SdkError<E, HttpResponse>,
) -> IdempotencyError
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
{
    let code = error.as_service_error().and_then(|e| e.code());
    IdempotencyError::Store {
        operation,
        classification: classify(code).unwrap_or_else(|| sdk_classification(error)),
        detail: DisplayErrorContext(error).to_string(),
    }
}

/// The DynamoDB-specific verdict on a service error code, if there is one.
fn classify(code: Option<&str>) -> Option<Classification> {
    match code? {
        "ResourceNotFoundException" => Some(Classification::auth()),
        _ => None,
    }
}

fn s(value: impl Into<String>) -> AttributeValue {
    AttributeValue::S(value.into())
}

fn n(value: u64) -> AttributeValue {
    AttributeValue::N(value.to_string())
}

/// `#name → name` for each attribute; the placeholders are the names with a `#`, except
/// `in_progress_expiration`, which expressions call `#lock`.
fn names(attributes: &[&str]) -> HashMap<String, String> {
    attributes
        .iter()
        .map(|name| {
            let placeholder = if *name == item::IN_PROGRESS_EXPIRATION {
                "#lock".to_owned()
            } else {
                format!("#{name}")
            };
            (placeholder, (*name).to_owned())
        })
        .collect()
}

fn values_map(values: Vec<(&str, AttributeValue)>) -> HashMap<String, AttributeValue> {
    values.into_iter().map(|(k, v)| (k.to_owned(), v)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::taxonomy::Classify;

    const WINDOW: Duration = Duration::from_secs(3600);
    const NOW: u64 = 1_800_000_000_000;

    fn record(pairs: &[(&str, AttributeValue)]) -> Item {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.clone()))
            .collect()
    }

    #[test]
    fn a_refusal_is_explained_by_the_record_that_caused_it() {
        let completed = record(&[
            (item::STATUS, s("COMPLETED")),
            (item::VALIDATION, s("h")),
            (item::UPDATED_AT, n(NOW - 1)),
            (item::COMPLETED_AT, n(NOW - 1)),
        ]);
        assert_eq!(
            refused(Some(&completed), "h", "req", NOW, WINDOW).unwrap(),
            Lock::Duplicate
        );
        assert!(matches!(
            refused(Some(&completed), "other", "req", NOW, WINDOW),
            Err(IdempotencyError::PayloadMismatch)
        ));
        let live = record(&[
            (item::STATUS, s("INPROGRESS")),
            (item::VALIDATION, s("h")),
            (item::UPDATED_AT, n(NOW - 1)),
            (item::IN_PROGRESS_EXPIRATION, n(NOW + 900)),
        ]);
        assert!(matches!(
            refused(Some(&live), "h", "req", NOW, WINDOW),
            Err(IdempotencyError::InProgress { remaining_ms: 900 })
        ));
    }

    #[test]
    fn a_refusal_the_record_does_not_explain_is_contention() {
        // Deleted in between, or changed so that it would now allow the lock: decide again.
        assert!(matches!(
            refused(None, "h", "req", NOW, WINDOW),
            Err(IdempotencyError::Contended)
        ));
        let failed = record(&[
            (item::STATUS, s("FAILED")),
            (item::VALIDATION, s("h")),
            (item::UPDATED_AT, n(NOW - 1)),
        ]);
        let error = refused(Some(&failed), "h", "req", NOW, WINDOW).unwrap_err();
        assert!(matches!(error, IdempotencyError::Contended), "{error:?}");
        let damaged = record(&[(item::STATUS, s("FAILED"))]);
        assert_eq!(
            refused(Some(&damaged), "h", "req", NOW, WINDOW)
                .unwrap_err()
                .class(),
            ErrorClass::Permanent
        );
    }

    #[test]
    fn a_missing_table_is_a_failure_of_the_function_and_throttling_is_throttled() {
        let class = |code| classify(Some(code)).map(|c| c.class);
        assert_eq!(class("ResourceNotFoundException"), Some(ErrorClass::Auth));
        // DynamoDB's throttling codes are the kit's (the SDK's own list), answered with a 400.
        for code in [
            "ProvisionedThroughputExceededException",
            "ThrottlingException",
            "RequestLimitExceeded",
        ] {
            assert_eq!(class(code), None, "{code} is left to the kit's rules");
            assert_eq!(
                crate::aws::errors::service_classification(Some(code), 400).class,
                ErrorClass::Throttled,
                "{code}"
            );
        }
        assert_eq!(
            class("ValidationException"),
            None,
            "left to the kit's rules"
        );
        assert_eq!(classify(None), None);
    }

    #[test]
    fn placeholders_are_the_attribute_names() {
        let names = names(&[item::STATUS, item::IN_PROGRESS_EXPIRATION]);
        assert_eq!(names["#status"], "status");
        assert_eq!(names["#lock"], "in_progress_expiration");
    }
}
