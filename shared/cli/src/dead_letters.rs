//! Reading a dead-letter queue without consuming it: each message received is held (invisible)
//! only while the command works, then made visible again unless the command moved it.
//!
//! SQS has no "peek". A receive with a visibility timeout of 0 leaves each message visible, so
//! the next receive may return the same ones again and a listing could neither finish nor be
//! complete. So a [`Peek`] receives with a short hold ([`LIST_HOLD`], [`REPLAY_HOLD`]),
//! which keeps the messages it has seen out of its own later receives, and at the end changes
//! every held message's visibility back to 0 in batches ([`Peek::release`]). If the command dies
//! before that, SQS makes them visible again when the hold runs out: nothing is consumed either
//! way. Each receive counts in a message's `ApproximateReceiveCount` on the dead-letter queue
//! (dead-letter queues have no redrive policy of their own, so that count moves nothing).
//!
//! What the runner writes on a dead letter (`switchyard::batch::dead_letter`): the original
//! body and attributes plus `switchyard.error.class`, `switchyard.error.reason`,
//! `switchyard.attempts`, `switchyard.source.message_id` and `switchyard.source.queue`. A
//! message the queue's redrive policy moved (after `maxReceiveCount`) has none of them.

use std::collections::HashMap;

use aws_sdk_sqs::error::DisplayErrorContext;
use aws_sdk_sqs::types::{
    ChangeMessageVisibilityBatchRequestEntry, Message, MessageAttributeValue,
    MessageSystemAttributeName,
};
use serde_json::{Value, json};
use switchyard::batch::dead_letter::{
    ATTR_ATTEMPTS, ATTR_CLASS, ATTR_REASON, ATTR_SOURCE_MESSAGE_ID, ATTR_SOURCE_QUEUE,
};
use switchyard::batch::visibility::MAX_BATCH_ENTRIES;

use crate::time_text;

/// How long `dlq` holds the messages it lists, in seconds: enough to finish the listing.
pub const LIST_HOLD: i32 = 30;
/// How long `replay` holds messages it is moving or leaving, in seconds.
pub const REPLAY_HOLD: i32 = 120;
/// How long one receive waits for messages (long polling asks every SQS server, so an empty
/// answer means the queue has nothing more to give).
const WAIT_SECONDS: i32 = 1;

/// Why a queue operation failed.
#[derive(Debug, thiserror::Error)]
pub enum QueueError {
    /// `ReceiveMessage` failed.
    #[error("could not receive from {url}: {message}")]
    Receive {
        /// The queue.
        url: String,
        /// The SDK's error, with its context.
        message: String,
    },
    /// `ChangeMessageVisibilityBatch` failed for some messages.
    #[error(
        "could not make {count} message(s) visible again in {url} ({message}); SQS does so when \
         their hold of {hold} s ends"
    )]
    Release {
        /// The queue.
        url: String,
        /// How many.
        count: usize,
        /// The SDK's error or SQS's codes.
        message: String,
        /// The hold, in seconds.
        hold: i32,
    },
}

/// One dead-lettered message, with what the runner and the envelope say about it.
#[derive(Debug, Clone)]
pub struct DeadLetter {
    /// The dead-letter message's id.
    pub message_id: String,
    /// The receipt handle of the latest receive.
    pub receipt_handle: String,
    /// The body: the original record's, unchanged.
    pub body: String,
    /// All message attributes, the `switchyard.*` ones included.
    pub attributes: HashMap<String, MessageAttributeValue>,
    /// The FIFO message group, if the queue is FIFO.
    pub message_group_id: Option<String>,
    /// `SentTimestamp` (epoch ms as text): when it was dead-lettered.
    pub sent_timestamp: Option<String>,
    /// `ApproximateFirstReceiveTimestamp` (epoch ms as text).
    pub first_receive_timestamp: Option<String>,
    /// `ApproximateReceiveCount`.
    pub receive_count: Option<String>,
}

impl DeadLetter {
    fn from_message(message: Message) -> Option<Self> {
        let system = message.attributes();
        let get = |name: MessageSystemAttributeName| system.and_then(|a| a.get(&name)).cloned();
        Some(Self {
            message_group_id: get(MessageSystemAttributeName::MessageGroupId),
            sent_timestamp: get(MessageSystemAttributeName::SentTimestamp),
            first_receive_timestamp: get(
                MessageSystemAttributeName::ApproximateFirstReceiveTimestamp,
            ),
            receive_count: get(MessageSystemAttributeName::ApproximateReceiveCount),
            message_id: message.message_id?,
            receipt_handle: message.receipt_handle?,
            body: message.body.unwrap_or_default(),
            attributes: message.message_attributes.unwrap_or_default(),
        })
    }

    /// A string message attribute.
    pub fn attribute(&self, name: &str) -> Option<&str> {
        self.attributes.get(name).and_then(|v| v.string_value())
    }

    /// The failure class the runner recorded (`permanent`, `auth`, ...).
    pub fn class(&self) -> Option<&str> {
        self.attribute(ATTR_CLASS)
    }

    /// The failure's reason the runner recorded.
    pub fn reason(&self) -> Option<&str> {
        self.attribute(ATTR_REASON)
    }

    /// The envelope's context attribute `name` (`id`, `type`, `source`), if the body is one.
    pub fn envelope(&self, name: &str) -> Option<String> {
        let body: Value = serde_json::from_str(&self.body).ok()?;
        body.get(name)?.as_str().map(str::to_owned)
    }

    /// The attributes to send when the message goes back to its queue: the originals, without
    /// the runner's `switchyard.*` verdict.
    pub fn original_attributes(&self) -> HashMap<String, MessageAttributeValue> {
        self.attributes
            .iter()
            .filter(|(name, _)| !name.starts_with("switchyard."))
            .map(|(name, value)| (name.clone(), value.clone()))
            .collect()
    }

    /// The letter as JSON, for `--json` and tests.
    pub fn to_json(&self) -> Value {
        json!({
            "message_id": self.message_id,
            "class": self.class(),
            "reason": self.reason(),
            "event_id": self.envelope("id"),
            "event_type": self.envelope("type"),
            "event_source": self.envelope("source"),
            "attempts": self.attribute(ATTR_ATTEMPTS),
            "source_message_id": self.attribute(ATTR_SOURCE_MESSAGE_ID),
            "source_queue": self.attribute(ATTR_SOURCE_QUEUE),
            "dead_lettered_at": self.sent_timestamp.as_deref().and_then(time_text::from_epoch_ms_text),
            "first_receive_at": self.first_receive_timestamp.as_deref().and_then(time_text::from_epoch_ms_text),
            "receive_count": self.receive_count,
        })
    }

    /// The letter as a few lines for a person.
    pub fn to_text(&self) -> String {
        let or_dash = |v: Option<&str>| v.unwrap_or("-").to_owned();
        let time = |v: &Option<String>| {
            v.as_deref()
                .and_then(time_text::from_epoch_ms_text)
                .unwrap_or_else(|| "-".into())
        };
        let mut lines = vec![format!("message {}", self.message_id)];
        let mut line = |label: &str, value: String| lines.push(format!("  {label:<15} {value}"));
        line("class", or_dash(self.class()));
        line("reason", or_dash(self.reason()));
        line("event id", or_dash(self.envelope("id").as_deref()));
        line("type", or_dash(self.envelope("type").as_deref()));
        line("source", or_dash(self.envelope("source").as_deref()));
        line("attempts", or_dash(self.attribute(ATTR_ATTEMPTS)));
        line("dead-lettered", time(&self.sent_timestamp));
        line("first receive", time(&self.first_receive_timestamp));
        line("receive count", or_dash(self.receive_count.as_deref()));
        if let Some(original) = self.attribute(ATTR_SOURCE_MESSAGE_ID) {
            line("source message", original.to_owned());
        }
        lines.join("\n")
    }
}

/// A pass over a queue that holds what it receives and gives it back at the end.
#[derive(Debug)]
pub struct Peek<'a> {
    sqs: &'a aws_sdk_sqs::Client,
    url: &'a str,
    hold: i32,
    /// Message id → the latest receipt handle, for every message held.
    held: HashMap<String, String>,
}

impl<'a> Peek<'a> {
    /// A pass over the queue at `url`, holding messages for `hold` seconds.
    pub fn new(sqs: &'a aws_sdk_sqs::Client, url: &'a str, hold: i32) -> Self {
        Self {
            sqs,
            url,
            hold,
            held: HashMap::new(),
        }
    }

    /// The next messages not seen before in this pass (at most ten); empty when the queue has
    /// no more. Every message returned is held until [`Peek::release`] or [`Peek::forget`].
    ///
    /// # Errors
    /// [`QueueError::Receive`].
    pub async fn next_page(&mut self) -> Result<Vec<DeadLetter>, QueueError> {
        let output = self
            .sqs
            .receive_message()
            .queue_url(self.url)
            .max_number_of_messages(MAX_BATCH_ENTRIES as i32)
            .visibility_timeout(self.hold)
            .wait_time_seconds(WAIT_SECONDS)
            .message_attribute_names("All")
            .message_system_attribute_names(MessageSystemAttributeName::All)
            .send()
            .await
            .map_err(|e| QueueError::Receive {
                url: self.url.to_owned(),
                message: DisplayErrorContext(&e).to_string(),
            })?;
        let mut fresh = Vec::new();
        for message in output.messages.unwrap_or_default() {
            let Some(letter) = DeadLetter::from_message(message) else {
                continue;
            };
            let seen = self
                .held
                .insert(letter.message_id.clone(), letter.receipt_handle.clone())
                .is_some();
            if !seen {
                fresh.push(letter);
            }
        }
        Ok(fresh)
    }

    /// Stops holding `letter`: it was deleted (moved).
    pub fn forget(&mut self, letter: &DeadLetter) {
        self.held.remove(&letter.message_id);
    }

    /// Makes every message still held visible again, in batches; answers how many.
    ///
    /// # Errors
    /// [`QueueError::Release`] naming how many could not be released (they become visible
    /// when their hold ends).
    pub async fn release(self) -> Result<usize, QueueError> {
        let receipts: Vec<String> = self.held.into_values().collect();
        let mut failed = 0;
        let mut messages = Vec::new();
        for chunk in receipts.chunks(MAX_BATCH_ENTRIES) {
            let entries: Vec<_> = chunk
                .iter()
                .enumerate()
                .filter_map(|(i, receipt)| {
                    ChangeMessageVisibilityBatchRequestEntry::builder()
                        .id(format!("r{i}"))
                        .receipt_handle(receipt)
                        .visibility_timeout(0)
                        .build()
                        .ok()
                })
                .collect();
            let result = self
                .sqs
                .change_message_visibility_batch()
                .queue_url(self.url)
                .set_entries(Some(entries))
                .send()
                .await;
            match result {
                Ok(output) if output.failed().is_empty() => {}
                Ok(output) => {
                    failed += output.failed().len();
                    messages.extend(output.failed().iter().map(|f| f.code().to_owned()));
                }
                Err(e) => {
                    failed += chunk.len();
                    messages.push(DisplayErrorContext(&e).to_string());
                }
            }
        }
        if failed > 0 {
            return Err(QueueError::Release {
                url: self.url.to_owned(),
                count: failed,
                message: messages.join("; "),
                hold: self.hold,
            });
        }
        Ok(receipts.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn letter(body: &str, attributes: &[(&str, &str)]) -> DeadLetter {
        DeadLetter {
            message_id: "m-1".into(),
            receipt_handle: "r".into(),
            body: body.into(),
            attributes: attributes
                .iter()
                .map(|(k, v)| {
                    (
                        k.to_string(),
                        MessageAttributeValue::builder()
                            .data_type("String")
                            .string_value(*v)
                            .build()
                            .unwrap(),
                    )
                })
                .collect(),
            message_group_id: None,
            sent_timestamp: Some("1763700000000".into()),
            first_receive_timestamp: None,
            receive_count: Some("1".into()),
        }
    }

    #[test]
    fn a_letter_reads_the_runners_verdict_and_the_envelope() {
        let l = letter(
            r#"{"id":"evt_1","type":"customer.created","source":"stripe","specversion":"1.0"}"#,
            &[(ATTR_CLASS, "permanent"), (ATTR_REASON, "HTTP 400")],
        );
        let j = l.to_json();
        assert_eq!(j["class"], "permanent");
        assert_eq!(j["reason"], "HTTP 400");
        assert_eq!(j["event_id"], "evt_1");
        assert_eq!(j["event_type"], "customer.created");
        assert_eq!(j["event_source"], "stripe");
        assert_eq!(j["dead_lettered_at"], "2025-11-21T04:40:00Z");
        let text = l.to_text();
        assert!(
            text.contains("permanent") && text.contains("evt_1"),
            "{text}"
        );
    }

    #[test]
    fn a_body_that_is_not_an_envelope_has_no_event_facts() {
        let l = letter("not json", &[]);
        assert_eq!(l.envelope("id"), None);
        assert_eq!(l.to_json()["class"], Value::Null);
        assert!(l.to_text().contains("class           -"), "{}", l.to_text());
    }

    #[test]
    fn replayed_attributes_leave_the_verdict_behind() {
        let l = letter(
            "{}",
            &[
                (ATTR_CLASS, "permanent"),
                (ATTR_SOURCE_QUEUE, "arn"),
                ("tenant", "acme"),
            ],
        );
        let kept = l.original_attributes();
        assert_eq!(kept.keys().collect::<Vec<_>>(), vec!["tenant"]);
    }
}
