//! Putting an accepted event on its queues.
//!
//! A receiver answers 200 only after SQS has accepted the event, so a provider whose delivery
//! we could not queue retries it (providers retry on 5xx and time-outs, for hours to days).
//!
//! FIFO queues (URL ending in `.fifo`) get a `MessageGroupId` (the event's subject, else its
//! source: events about one thing stay in order) and a `MessageDeduplicationId` derived from
//! the CloudEvents dedup key (`source` + `id`), so SQS itself drops a provider's redelivery
//! within its 5-minute window.

use futures::future::BoxFuture;
use sha2::{Digest, Sha256};

use crate::taxonomy::{Classification, Classify};

/// One message for a queue.
#[derive(Debug, Clone, Copy)]
pub struct Outgoing<'a> {
    /// The envelope's JSON.
    pub body: &'a str,
    /// The envelope's `source` and `id` (the dedup key).
    pub dedup_key: (&'a str, &'a str),
    /// The FIFO message group.
    pub group: &'a str,
}

/// SQS did not take the message.
#[derive(Debug, thiserror::Error)]
#[error("queue {queue_url} did not accept the event: {detail}")]
pub struct PublishError {
    /// The queue.
    pub queue_url: String,
    /// What the SDK said (its error's display text, never the message body).
    pub detail: String,
    /// Its class (throttled, transient, ...).
    pub classification: Classification,
    /// The queue refused the message as larger than its `MaximumMessageSize`: retrying the same
    /// delivery can never succeed, so the receiver answers 413 rather than 503.
    pub too_large: bool,
}

impl Classify for PublishError {
    fn classification(&self) -> Classification {
        self.classification
    }
}

/// Where accepted events are sent: SQS in production; tests may substitute their own.
pub trait EventSink: Send + Sync {
    /// Sends one message to one queue.
    fn send<'a>(
        &'a self,
        queue_url: &'a str,
        message: Outgoing<'a>,
    ) -> BoxFuture<'a, Result<(), PublishError>>;
}

/// The SQS sink.
#[derive(Debug, Clone)]
pub struct SqsSink {
    client: aws_sdk_sqs::Client,
}

impl SqsSink {
    /// A sink over a client built once at cold start.
    pub fn new(client: aws_sdk_sqs::Client) -> Self {
        Self { client }
    }
}

/// The FIFO deduplication id for an event: hex SHA-256 of `source` NUL `id` (SQS allows 128
/// characters of a limited alphabet; provider ids may be longer or use other characters).
pub fn dedup_id(source: &str, id: &str) -> String {
    let mut h = Sha256::new();
    h.update(source.as_bytes());
    h.update([0]);
    h.update(id.as_bytes());
    hex::encode(h.finalize())
}

/// A FIFO message group id: SQS allows 128 characters of `[A-Za-z0-9!-/:-@[-`{-~]`; anything
/// else is replaced, and long values are hashed.
pub fn group_id(group: &str) -> String {
    let clean: String = group
        .chars()
        .map(|c| if c.is_ascii_graphic() { c } else { '_' })
        .collect();
    if clean.is_empty() {
        "default".to_owned()
    } else if clean.len() > 128 {
        hex::encode(Sha256::digest(clean.as_bytes()))
    } else {
        clean
    }
}

impl EventSink for SqsSink {
    fn send<'a>(
        &'a self,
        queue_url: &'a str,
        message: Outgoing<'a>,
    ) -> BoxFuture<'a, Result<(), PublishError>> {
        Box::pin(async move {
            let mut request = self
                .client
                .send_message()
                .queue_url(queue_url)
                .message_body(message.body);
            if queue_url.ends_with(".fifo") {
                request = request
                    .message_group_id(group_id(message.group))
                    .message_deduplication_id(dedup_id(message.dedup_key.0, message.dedup_key.1));
            }
            request.send().await.map(|_| ()).map_err(|e| {
                let detail = aws_sdk_sqs::error::DisplayErrorContext(&e).to_string();
                PublishError {
                    queue_url: queue_url.to_owned(),
                    too_large: is_too_large(&detail),
                    classification: crate::aws::errors::sdk_classification(&e),
                    detail,
                }
            })
        })
    }
}

/// SQS (and the emulator) refuse an oversized body with `InvalidParameterValue` and this
/// reason; there is no dedicated error code to match instead.
fn is_too_large(detail: &str) -> bool {
    detail.contains("Message must be shorter than")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dedup_id_is_stable_and_fits_sqs() {
        let a = dedup_id("stripe", "evt_1");
        assert_eq!(a, dedup_id("stripe", "evt_1"));
        assert_ne!(a, dedup_id("stripe", "evt_2"));
        assert_ne!(
            dedup_id("a", "bc"),
            dedup_id("ab", "c"),
            "separator keeps parts apart"
        );
        assert_eq!(a.len(), 64);
    }

    #[test]
    fn oversized_messages_are_recognised() {
        assert!(is_too_large(
            "InvalidParameterValue: One or more parameters are invalid. Reason: Message must be shorter than 1024 bytes."
        ));
        assert!(!is_too_large("AWS.SimpleQueueService.NonExistentQueue"));
    }

    #[test]
    fn group_id_is_cleaned_and_bounded() {
        assert_eq!(group_id("acme/repo"), "acme/repo");
        assert_eq!(group_id("a b\u{e9}"), "a_b_");
        assert_eq!(group_id(""), "default");
        assert_eq!(group_id(&"x".repeat(200)).len(), 64);
    }
}
