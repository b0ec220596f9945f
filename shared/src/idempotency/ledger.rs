//! The delivery ledger: one event's record, read back for an operator.
//!
//! The idempotency record is kept longer than the dedup window (the record TTL, 7 days by
//! default) and says what became of the event: its status, how many attempts it took, the last
//! error's class and reason, the destination's id for what the delivery made, when, and which
//! invocation and SQS message tried last. [`Ledger::get`] reads one; the operator CLI uses it
//! to trace an event.

use std::time::{Duration, SystemTime};

use super::config::{IdempotencyConfig, IdempotencyConfigError};
use super::error::IdempotencyError;
use super::item::{self, Item};
use super::key::key;
use super::state::Status;
use super::store::Store;
use crate::batch::Outcome;
use crate::taxonomy::ErrorClass;

/// Reads the ledger of an idempotency table. Cheap to clone.
#[derive(Debug, Clone)]
pub struct Ledger {
    store: Store,
}

/// One event's record: what became of it at one integration.
#[derive(Debug, Clone, PartialEq)]
pub struct LedgerEntry {
    /// The record's key (`integration#source#event_id`).
    pub key: String,
    /// The integration that delivered (or tried to deliver) the event.
    pub integration: String,
    /// The envelope's `source`.
    pub source: String,
    /// The envelope's `type`.
    pub event_type: String,
    /// The envelope's `id`.
    pub event_id: String,
    /// Where the event stands.
    pub status: Status,
    /// Delivery attempts: locks taken for the event, an abandoned one (a crash, a timeout)
    /// included.
    pub attempts: u64,
    /// How it completed (`Delivered` with the destination's id, `Skipped` with the reason),
    /// for a completed event.
    pub outcome: Option<Outcome>,
    /// Calls whose outcome is unknown, over all attempts (at least this many): timeouts or
    /// lost answers after the request went out, and attempts abandoned mid-delivery.
    pub unknown_outcomes: u64,
    /// Delivered after a call whose outcome is unknown, to a destination that does not make
    /// repeats harmless: the destination may show the event twice.
    pub possible_duplicate: bool,
    /// The last failed attempt's class, if one failed (kept after a later success).
    pub last_error_class: Option<ErrorClass>,
    /// The last failed attempt's reason (no payload values).
    pub last_error_reason: Option<String>,
    /// The payload hash the event was recorded with.
    pub payload_hash: String,
    /// The Lambda request id of the last invocation that took the lock.
    pub request_id: Option<String>,
    /// The SQS message id of the last attempt.
    pub message_id: Option<String>,
    /// When the first attempt took the lock.
    pub created_at: Option<SystemTime>,
    /// When the record was last written.
    pub updated_at: SystemTime,
    /// When the outcome was recorded, for a completed event.
    pub completed_at: Option<SystemTime>,
    /// When the current lock expires, while in progress.
    pub lock_expires_at: Option<SystemTime>,
    /// When DynamoDB's TTL may delete the record (within about 48 hours after).
    pub expires_at: Option<SystemTime>,
}

impl Ledger {
    /// The ledger in `table`.
    pub fn new(client: aws_sdk_dynamodb::Client, table: impl Into<String>) -> Self {
        Self {
            store: Store::new(client, &IdempotencyConfig::new(table)),
        }
    }

    /// The ledger in the table `IDEMPOTENCY_TABLE` names.
    ///
    /// # Errors
    /// As [`IdempotencyConfig::from_env`].
    pub fn from_env(client: aws_sdk_dynamodb::Client) -> Result<Self, IdempotencyConfigError> {
        let config = IdempotencyConfig::from_env()?;
        Ok(Self {
            store: Store::new(client, &config),
        })
    }

    /// The record of the event `source` + `event_id` at `integration`, if there is one.
    ///
    /// # Errors
    /// [`IdempotencyError::Store`] when DynamoDB fails; [`IdempotencyError::Unreadable`] when
    /// the item lacks an attribute every record has.
    pub async fn get(
        &self,
        integration: &str,
        source: &str,
        event_id: &str,
    ) -> Result<Option<LedgerEntry>, IdempotencyError> {
        self.store
            .get(&key(integration, source, event_id))
            .await?
            .map(|item| LedgerEntry::from_item(&item))
            .transpose()
    }
}

impl LedgerEntry {
    /// The entry an item holds.
    ///
    /// # Errors
    /// [`IdempotencyError::Unreadable`] when an attribute is missing or of the wrong type.
    pub(crate) fn from_item(item: &Item) -> Result<Self, IdempotencyError> {
        let text = |name| item::string(item, name).map(|v| v.map(str::to_owned));
        let required = |name| item::required_string(item, name).map(str::to_owned);
        let time = |name| Ok::<_, IdempotencyError>(item::number(item, name)?.map(from_ms));
        let status = item::status(item)?;
        let outcome = match item::string(item, item::OUTCOME)? {
            None => None,
            Some("delivered") => Some(Outcome::Delivered {
                destination_id: text(item::DESTINATION_ID)?,
                note: text(item::NOTE)?.map(Into::into),
            }),
            Some("skipped") => Some(Outcome::skipped(
                text(item::SKIP_REASON)?.unwrap_or_default(),
            )),
            Some("duplicate") => Some(Outcome::Duplicate),
            Some(_) => {
                return Err(IdempotencyError::Unreadable(format!(
                    "attribute `{}` is not delivered, skipped or duplicate",
                    item::OUTCOME
                )));
            }
        };
        let last_error_class = match item::string(item, item::LAST_ERROR_CLASS)? {
            None => None,
            Some(name) => Some(error_class(name).ok_or_else(|| {
                IdempotencyError::Unreadable(format!(
                    "attribute `{}` is not an error class",
                    item::LAST_ERROR_CLASS
                ))
            })?),
        };
        Ok(Self {
            key: required(item::ID)?,
            integration: required(item::INTEGRATION)?,
            source: required(item::SOURCE)?,
            event_type: required(item::EVENT_TYPE)?,
            event_id: required(item::EVENT_ID)?,
            status,
            attempts: item::number(item, item::ATTEMPTS)?.unwrap_or(0),
            outcome,
            unknown_outcomes: item::number(item, item::UNKNOWN_OUTCOMES)?.unwrap_or(0),
            possible_duplicate: item::flag(item, item::POSSIBLE_DUPLICATE)?,
            last_error_class,
            last_error_reason: text(item::LAST_ERROR_REASON)?,
            payload_hash: required(item::VALIDATION)?,
            request_id: text(item::REQUEST_ID)?,
            message_id: text(item::MESSAGE_ID)?,
            created_at: time(item::CREATED_AT)?,
            updated_at: from_ms(item::required_number(item, item::UPDATED_AT)?),
            completed_at: time(item::COMPLETED_AT)?,
            lock_expires_at: time(item::IN_PROGRESS_EXPIRATION)?,
            expires_at: item::number(item, item::EXPIRATION)?
                .map(|s| SystemTime::UNIX_EPOCH + Duration::from_secs(s)),
        })
    }

    /// The destination's id for what the delivery made, if it completed with one.
    pub fn destination_id(&self) -> Option<&str> {
        self.outcome.as_ref().and_then(Outcome::destination_id)
    }
}

fn from_ms(ms: u64) -> SystemTime {
    SystemTime::UNIX_EPOCH + Duration::from_millis(ms)
}

fn error_class(name: &str) -> Option<ErrorClass> {
    [
        ErrorClass::Throttled,
        ErrorClass::Transient,
        ErrorClass::Permanent,
        ErrorClass::Auth,
    ]
    .into_iter()
    .find(|c| c.as_str() == name)
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_dynamodb::types::AttributeValue;

    fn s(v: &str) -> AttributeValue {
        AttributeValue::S(v.into())
    }

    fn n(v: u64) -> AttributeValue {
        AttributeValue::N(v.to_string())
    }

    fn completed() -> Item {
        [
            (item::ID, s("slack-notify#stripe#evt_1")),
            (item::INTEGRATION, s("slack-notify")),
            (item::SOURCE, s("stripe")),
            (item::EVENT_TYPE, s("invoice.paid")),
            (item::EVENT_ID, s("evt_1")),
            (item::STATUS, s("COMPLETED")),
            (item::ATTEMPTS, n(2)),
            (item::OUTCOME, s("delivered")),
            (item::DESTINATION_ID, s("1763700000.000100")),
            (item::LAST_ERROR_CLASS, s("transient")),
            (item::LAST_ERROR_REASON, s("HTTP 503")),
            (item::VALIDATION, s("abc")),
            (item::REQUEST_ID, s("req-2")),
            (item::MESSAGE_ID, s("m-1")),
            (item::CREATED_AT, n(1_000)),
            (item::UPDATED_AT, n(2_000)),
            (item::COMPLETED_AT, n(2_000)),
            (item::EXPIRATION, n(604_802)),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v))
        .collect()
    }

    #[test]
    fn an_entry_reads_every_ledger_attribute() {
        let entry = LedgerEntry::from_item(&completed()).unwrap();
        assert_eq!(entry.key, "slack-notify#stripe#evt_1");
        assert_eq!(entry.status, Status::Completed);
        assert_eq!(entry.attempts, 2);
        assert_eq!(entry.destination_id(), Some("1763700000.000100"));
        assert_eq!(entry.last_error_class, Some(ErrorClass::Transient));
        assert_eq!(entry.last_error_reason.as_deref(), Some("HTTP 503"));
        assert_eq!(entry.request_id.as_deref(), Some("req-2"));
        assert_eq!(entry.created_at, Some(from_ms(1_000)));
        assert_eq!(entry.updated_at, from_ms(2_000));
        assert_eq!(entry.completed_at, Some(from_ms(2_000)));
        assert_eq!(entry.lock_expires_at, None);
        assert_eq!(
            entry.expires_at,
            Some(SystemTime::UNIX_EPOCH + Duration::from_secs(604_802))
        );
    }

    #[test]
    fn skipped_and_duplicate_outcomes_read_back() {
        let mut skipped = completed();
        skipped.insert(item::OUTCOME.into(), s("skipped"));
        skipped.insert(item::SKIP_REASON.into(), s("no rule for invoice.paid"));
        let entry = LedgerEntry::from_item(&skipped).unwrap();
        assert_eq!(
            entry.outcome,
            Some(Outcome::skipped("no rule for invoice.paid"))
        );
        assert_eq!(entry.destination_id(), None);
        let mut duplicate = completed();
        duplicate.insert(item::OUTCOME.into(), s("duplicate"));
        assert_eq!(
            LedgerEntry::from_item(&duplicate).unwrap().outcome,
            Some(Outcome::Duplicate)
        );
    }

    #[test]
    fn unknown_values_are_unreadable() {
        for (name, value) in [
            (item::OUTCOME, s("posted")),
            (item::LAST_ERROR_CLASS, s("fatal")),
            (item::STATUS, s("DONE")),
            (item::ATTEMPTS, s("two")),
        ] {
            let mut bad = completed();
            bad.insert(name.into(), value);
            let error = LedgerEntry::from_item(&bad).unwrap_err();
            assert!(error.to_string().contains(name), "{error}");
        }
        let mut no_source = completed();
        no_source.remove(item::SOURCE);
        assert!(LedgerEntry::from_item(&no_source).is_err());
    }
}
