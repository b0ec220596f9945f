//! One SQS record as handlers see it: the message, what SQS says about its deliveries, and its
//! CloudEvents envelope, parsed once.
//!
//! Every queue a deliverer reads carries CloudEvents envelopes, and several parties want the
//! parsed envelope of the same record: the runner (to put the event id on the record's log
//! span), an idempotency layer (its key is `source` + `id`), the mapping and the handler. A
//! [`Record`] parses on first use and keeps the result, so a 10 KB event is scanned once per
//! invocation however many layers look at it.

use std::sync::OnceLock;
use std::time::{Duration, SystemTime};

use aws_lambda_events::sqs::SqsMessage;

use super::fifo::MESSAGE_GROUP_ID;
use super::visibility::receive_count;
use crate::envelope::CloudEvent;
use crate::error::Error;

/// The SQS attribute with the time (Unix epoch milliseconds) SQS first delivered the message.
pub const FIRST_RECEIVE_TIMESTAMP: &str = "ApproximateFirstReceiveTimestamp";
/// The SQS attribute with the time (Unix epoch milliseconds) the message was sent.
pub const SENT_TIMESTAMP: &str = "SentTimestamp";

/// One record of a batch. Cheap to create; the envelope is parsed lazily, once.
#[derive(Debug)]
pub struct Record<'a> {
    message: &'a SqsMessage,
    index: usize,
    envelope: OnceLock<Result<CloudEvent, String>>,
}

impl<'a> Record<'a> {
    /// The `index`-th record of a batch.
    pub fn new(index: usize, message: &'a SqsMessage) -> Self {
        Self {
            message,
            index,
            envelope: OnceLock::new(),
        }
    }

    /// Its position in the batch (0-based).
    pub fn index(&self) -> usize {
        self.index
    }

    /// The SQS message as Lambda delivered it.
    pub fn message(&self) -> &'a SqsMessage {
        self.message
    }

    /// SQS's message id (what a partial batch response names), if present and not empty.
    pub fn message_id(&self) -> Option<&'a str> {
        self.message
            .message_id
            .as_deref()
            .filter(|id| !id.is_empty())
    }

    /// The message body (empty when absent).
    pub fn body(&self) -> &'a str {
        self.message.body.as_deref().unwrap_or_default()
    }

    /// How many times SQS has delivered the record, this delivery included (at least 1).
    pub fn receive_count(&self) -> u32 {
        receive_count(self.message)
    }

    /// When SQS first delivered the record (else when it was sent), if SQS said.
    pub fn first_received(&self) -> Option<SystemTime> {
        [FIRST_RECEIVE_TIMESTAMP, SENT_TIMESTAMP]
            .iter()
            .filter_map(|name| self.message.attributes.get(*name))
            .find_map(|v| v.trim().parse::<u64>().ok())
            .and_then(|ms| SystemTime::UNIX_EPOCH.checked_add(Duration::from_millis(ms)))
    }

    /// How long ago the record was first delivered, measured against `now`.
    pub fn age(&self, now: SystemTime) -> Option<Duration> {
        self.first_received()
            .map(|first| now.duration_since(first).unwrap_or(Duration::ZERO))
    }

    /// The FIFO message group, for records of FIFO queues.
    pub fn message_group(&self) -> Option<&'a str> {
        self.message
            .attributes
            .get(MESSAGE_GROUP_ID)
            .map(String::as_str)
    }

    /// The record's CloudEvents envelope, parsed on first use.
    ///
    /// # Errors
    /// A body that is not a valid envelope is a permanent error (the same bytes never become
    /// valid): the runner dead-letters the record with the reason, which names the problem but
    /// never quotes the payload.
    pub fn envelope(&self) -> Result<&CloudEvent, Error> {
        self.envelope
            .get_or_init(|| CloudEvent::from_json(self.body()).map_err(|e| e.to_string()))
            .as_ref()
            .map_err(|reason| Error::permanent(reason.clone()))
    }

    /// The envelope's `id`, when the body is a valid envelope.
    pub fn event_id(&self) -> Option<&str> {
        self.envelope().ok().map(CloudEvent::id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::taxonomy::{Classify, ErrorClass};
    use std::collections::HashMap;

    fn message(body: &str, attributes: &[(&str, &str)]) -> SqsMessage {
        let mut m = SqsMessage::default();
        m.message_id = Some("m-1".into());
        m.body = Some(body.into());
        m.attributes = attributes
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect::<HashMap<_, _>>();
        m
    }

    const ENVELOPE: &str = r#"{"specversion":"1.0","id":"evt_1","source":"stripe","type":"invoice.paid","data":{"amount":100}}"#;

    #[test]
    fn the_envelope_is_parsed_once_and_its_id_is_known() {
        let m = message(ENVELOPE, &[]);
        let record = Record::new(3, &m);
        assert_eq!(record.index(), 3);
        assert_eq!(record.event_id(), Some("evt_1"));
        let first = record.envelope().unwrap() as *const CloudEvent;
        let second = record.envelope().unwrap() as *const CloudEvent;
        assert_eq!(first, second, "one parse, kept");
        assert_eq!(record.envelope().unwrap().ty(), "invoice.paid");
    }

    #[test]
    fn a_body_that_is_no_envelope_is_permanent_and_not_quoted() {
        let m = message(r#"{"email":"jane@example.com"}"#, &[]);
        let record = Record::new(0, &m);
        let error = record.envelope().unwrap_err();
        assert_eq!(error.class(), ErrorClass::Permanent);
        assert!(!error.to_string().contains("jane@example.com"), "{error}");
        assert_eq!(record.event_id(), None);
    }

    #[test]
    fn delivery_facts_come_from_the_sqs_attributes() {
        let m = message(
            "x",
            &[
                ("ApproximateReceiveCount", "4"),
                ("ApproximateFirstReceiveTimestamp", "1700000000000"),
                ("SentTimestamp", "1600000000000"),
                ("MessageGroupId", "g"),
            ],
        );
        let record = Record::new(0, &m);
        assert_eq!(record.receive_count(), 4);
        let first = SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        assert_eq!(record.first_received(), Some(first));
        assert_eq!(
            record.age(first + Duration::from_secs(90)),
            Some(Duration::from_secs(90))
        );
        assert_eq!(
            record.age(first - Duration::from_secs(1)),
            Some(Duration::ZERO)
        );
        assert_eq!(record.message_group(), Some("g"));

        let sent_only = message("x", &[("SentTimestamp", "1600000000000")]);
        assert_eq!(
            Record::new(0, &sent_only).first_received(),
            Some(SystemTime::UNIX_EPOCH + Duration::from_secs(1_600_000_000))
        );
        let none = message("x", &[("ApproximateFirstReceiveTimestamp", "soon")]);
        assert_eq!(Record::new(0, &none).first_received(), None);
        assert_eq!(Record::new(0, &none).receive_count(), 1);
    }

    #[test]
    fn empty_message_ids_are_none() {
        let mut m = message("x", &[]);
        m.message_id = Some(String::new());
        assert_eq!(Record::new(0, &m).message_id(), None);
    }
}
